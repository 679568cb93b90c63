/* libFuzzer target: the plain-C Mach-O and code-signature reader
 * (src/os/darwin/macho.c) on arbitrary bytes, under ASan and UBSan. The
 * input is read twice: as a SuperBlob, and as a (thin or universal) Mach-O
 * file whose every part the doctor looks at (signature, allowlist entries
 * through chained fixups, symbols, dylibs, rpaths, minimum OS). Any read outside the
 * input is an ASan report, which fails the run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/os/darwin/macho.h"

static void slice(void *arg, uint32_t cputype, const uint8_t *p, size_t n)
{
    (void)cputype;
    size_t *sum = arg;
    jb__macho m;
    const char *why;
    if (jb__macho_file(&m, p, n, &why) < 0)
        return;
    const uint8_t *s, *d;
    size_t sn, dn;
    uint64_t addr;
    jb__sig sig;
    if (jb__macho_signature(&m, &s, &sn, &why) == 0)
        *sum += (size_t)jb__sig_parse(s, sn, &sig, &why);
    if (jb__macho_section(&m, "__DATA_CONST", "__pth_jit_func", &d, &dn, &addr,
                          &why) == 0) {
        jb__allowlist a;
        jb__allowlist_scan(d, dn, &a, NULL, NULL);
        for (size_t k = 0; k + 8 <= dn && k < 64; k += 8) {
            uint64_t v, target;
            memcpy(&v, d + k, 8);
            const char *bound = NULL, *name = jb__macho_symbol_at(&m, v);
            *sum += name ? strlen(name) : 0;
            if (jb__macho_pointer(&m, addr + k, v, &target, &bound, &why) == 0)
                *sum += bound ? strlen(bound) : (size_t)target;
        }
    }
    const char *dep;
    for (int i = -1; (dep = jb__macho_dylib(&m, i)) || i < 0; i++)
        *sum += dep ? strlen(dep) : 0;
    for (int i = 0; (dep = jb__macho_rpath(&m, i)); i++)
        *sum += strlen(dep);
    uint32_t platform;
    *sum += jb__macho_minos(&m, &platform);
    uint64_t at;
    *sum += (size_t)jb__macho_symbol_addr(&m, "_jb_region_open", &at);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy, so that ASan sees a read one past the end */
    uint8_t *p = malloc(size ? size : 1);
    memcpy(p, data, size);
    jb__sig sig;
    const char *why;
    size_t sum = 0;
    sum += (size_t)jb__sig_parse(p, size, &sig, &why);
    jb__macho_slices(p, size, slice, &sum, &why);
    free(p);
    return sum == 42 ? 0 : 0;
}
