/* The MODEL's images and libpthread's allowlist snapshot (see model.h).
 *
 *   P = libpthread-539 src/pthread.c, D = dyld-1378.
 *
 * dyld: the model builds each image's mach header and load commands in
 * memory, with slide 0 (every vmaddr is the address of the model's own
 * buffer): __TEXT maps the header, __DATA_CONST holds __pth_jit_func,
 * __LINKEDIT the code signature (image 0 only: the bytes of a real Mach-O
 * file that Zig signed), then LC_CODE_SIGNATURE, LC_ID_DYLIB and
 * the dependencies (LC_LOAD_DYLIB unless a test names another). Image 0
 * is the main executable; launch images follow in
 * load order, dlopen'd ones after (D include/mach-o/dyld_priv.h:579-585).
 *
 * libpthread: at libSystem's initialisation (jbm_configure), with the
 * allowlist entitlement on Apple silicon (P:1240-1244), it registers for
 * bulk image loads, which calls back at once with every image loaded
 * (D dyld/DyldAPIs.cpp:2078-2093) and later once per dlopen; each call
 * copies the allowlists (P:1275-1326); without freeze-late the list is
 * frozen right after the launch images (P:1355-1360), with it at
 * pthread_jit_write_freeze_callbacks_np. Before macOS 12.1 there is no
 * freeze-late: libpthread-485.40.4 (12.0) has no allowlist_freeze_late. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define JBM_IMPLEMENTATION
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef JBM_SIGNED_DIR
#define JBM_SIGNED_DIR "build/darwin-model/signed"
#endif

extern const pthread_jit_write_callback_t __start_jbm_pth_jit_func[]
    __attribute__((weak));
extern const pthread_jit_write_callback_t __stop_jbm_pth_jit_func[]
    __attribute__((weak));

enum { MAX_IMAGES = 16, CAPACITY = 2047 /* P:1224-1226, 16 KiB pages */ };
static uint8_t *images[MAX_IMAGES];
static const char *names[MAX_IMAGES];
static uint32_t nimages;
static struct {
    int enabled, freeze_late, frozen;
    size_t count;
    pthread_jit_write_callback_t list[CAPACITY];
} snap;

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}
static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}
static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint8_t *segment(uint8_t *c, const char *name, uint64_t vm,
                        uint64_t fileoff, uint64_t size, uint32_t nsects)
{
    put32(c, 0x19); /* LC_SEGMENT_64 */
    put32(c + 4, 72 + 80 * nsects);
    strncpy((char *)c + 8, name, 16);
    put64(c + 24, vm);
    put64(c + 32, size);
    put64(c + 40, fileoff);
    put64(c + 48, size);
    put32(c + 64, nsects);
    return c + 72;
}

static uint8_t *dylib_cmd(uint8_t *c, uint32_t cmd, const char *name)
{
    size_t sz = (24 + strlen(name) + 1 + 7) & ~(size_t)7;
    put32(c, cmd);
    put32(c + 4, (uint32_t)sz);
    put32(c + 8, 24);
    strcpy((char *)c + 24, name);
    return c + sz;
}

/* The code signature of a real Mach-O file, read independently of the
 * code under test (LC_CODE_SIGNATURE's dataoff and datasize). */
static uint8_t *signature_of(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "darwin model: cannot open %s (run make "
                        "test-darwin-model, which builds it)\n",
                path);
        abort();
    }
    static uint8_t file[1 << 22];
    size_t len = fread(file, 1, sizeof file, f);
    fclose(f);
    uint32_t ncmds = get32(file + 16);
    for (size_t off = 32, i = 0; i < ncmds && off + 16 <= len; i++) {
        if (get32(file + off) == 0x1d) {
            uint32_t d = get32(file + off + 8), s = get32(file + off + 12);
            if (d > len || s > len - d)
                break;
            uint8_t *sig = malloc(s);
            memcpy(sig, file + d, s);
            *n = s;
            return sig;
        }
        off += get32(file + off + 4);
    }
    fprintf(stderr, "darwin model: %s has no code signature\n", path);
    abort();
}

static const char *signed_file(const jbm_config *c)
{
    static char path[512];
    const char *name = c->single_jit                      ? "single-jit"
                       : c->allowlist && c->freeze_late ? "jit-allowlist-freeze-late"
                       : c->allowlist                   ? "jit-allowlist"
                       : c->allow_jit                   ? "jit"
                                                        : "plain";
    snprintf(path, sizeof path, "%s/%s.macho", JBM_SIGNED_DIR, name);
    return path;
}

/* Build one image: header, load commands, and pointers to its section
 * and signature (which stay where they are: slide 0). */
static uint8_t *build(const jbm_image *im, int exe, const uint8_t *sig,
                      size_t sig_n)
{
    uint8_t *h = calloc(1, 4096);
    uint8_t *c = h + 32;
    c = segment(c, "__TEXT", (uintptr_t)h, 0, 4096, 0);
    size_t bytes = im->n * 8 + im->odd_bytes;
    if (!im->no_section) {
        c = segment(c, "__DATA_CONST", (uintptr_t)im->list, 0x4000, bytes, 1);
        uint8_t *p = c; /* the section follows its segment command */
        strncpy((char *)p, "__pth_jit_func", 16);
        strncpy((char *)p + 16, "__DATA_CONST", 16);
        put64(p + 32, (uintptr_t)im->list);
        put64(p + 40, bytes);
        put32(p + 48, 0x4000);
        c += 80;
    }
    if (sig) {
        c = segment(c, "__LINKEDIT", (uintptr_t)sig, 0x8000, sig_n, 0);
        put32(c, 0x1d); /* LC_CODE_SIGNATURE */
        put32(c + 4, 16);
        put32(c + 8, 0x8000);
        put32(c + 12, (uint32_t)sig_n);
        c += 16;
    }
    if (im->id)
        c = dylib_cmd(c, 0xd, im->id); /* LC_ID_DYLIB */
    for (size_t d = 0; im->deps && im->deps[d]; d++)
        c = dylib_cmd(c, im->dep_cmds && im->dep_cmds[d] ? im->dep_cmds[d]
                                                         : 0xc, /* LC_LOAD_DYLIB */
                      im->deps[d]);
    uint32_t ncmds = 0;
    for (uint8_t *q = h + 32; q < c; q += get32(q + 4))
        ncmds++;
    put32(h, 0xfeedfacf);
    put32(h + 4, 0x0100000c); /* arm64 */
    put32(h + 12, exe ? 2 : 6); /* MH_EXECUTE, MH_DYLIB */
    put32(h + 16, ncmds);
    put32(h + 20, (uint32_t)(c - h - 32));
    put32(h + 24, im->in_cache ? 0x80000000u : 0); /* MH_DYLIB_IN_CACHE */
    return h;
}

/* P:1275-1326 for one image. */
static void bulk_load(const uint8_t *h)
{
    if (snap.frozen) /* P:1284-1287 */
        return;
    if (get32(h + 24) & 0x80000000u) /* P:1292-1295 */
        return;
    unsigned long size = 0;
    const uint8_t *data = getsectiondata((const void *)h, "__DATA_CONST",
                                         "__pth_jit_func", &size);
    if (!data || !size || size % 8) /* P:1300-1303 */
        return;
    const pthread_jit_write_callback_t *l = (const void *)data;
    for (size_t j = 0; j < size / 8 && l[j]; j++) { /* P:1309-1311 */
        if (snap.count >= CAPACITY) /* P:1312-1314 */
            jbm__trap("Too many pthread jit write callbacks");
        snap.list[snap.count++] = l[j];
    }
    jbm__set_allowlist_count(snap.count);
}

static void add_image(uint8_t *h, const char *name)
{
    if (nimages == MAX_IMAGES)
        abort();
    names[nimages] = name ? name : "the main executable";
    images[nimages++] = h;
}

void jbm__images_reset(const jbm_config *c)
{
    nimages = 0;
    memset(&snap, 0, sizeof snap);
    jbm__set_allowlist_count(0);
    /* image 0: the main executable */
    jbm_image exe = {NULL, c->main_deps, c->main_list, c->main_n, 0, 0, 0,
                     c->main_dep_cmds, NULL};
    if (!c->main_list) {
        exe.list = __start_jbm_pth_jit_func;
        exe.n = (size_t)(__stop_jbm_pth_jit_func - __start_jbm_pth_jit_func);
        exe.no_section = exe.n == 0;
    }
    const char *path = c->signature ? c->signature : signed_file(c);
    size_t sig_n = 0;
    uint8_t *sig = *path ? signature_of(path, &sig_n) : NULL;
    add_image(build(&exe, 1, sig, sig_n), c->main_path);
    for (size_t i = 0; i < c->nlaunch; i++)
        add_image(build(&c->launch[i], 0, NULL, 0),
                  c->launch[i].path ? c->launch[i].path : c->launch[i].id);
    /* libSystem's initialisation: P:1230-1272, then P:1344-1362 */
    /* the allowlist arrived in macOS 11.4: libpthread-454.100.8 (11.3) has
     * no allowlist_enabled, 454.120.2 (11.4) does */
    snap.enabled = c->apple_silicon && c->allowlist && jbm_os_at_least(11, 4);
    snap.freeze_late = snap.enabled && c->freeze_late && jbm_os_at_least(12, 1);
    if (snap.enabled)
        for (uint32_t i = 0; i < nimages; i++)
            bulk_load(images[i]);
    if (!snap.freeze_late)
        snap.frozen = 1;
}

void jbm_dlopen(const jbm_image *im)
{
    uint8_t *h = build(im, 0, NULL, 0);
    add_image(h, im->path ? im->path : im->id);
    if (snap.enabled)
        bulk_load(h);
}

int jbm__allowlist_enabled(void)
{
    return snap.enabled;
}

int jbm__frozen(void)
{
    return snap.frozen;
}

void jbm__freeze(void)
{
    snap.frozen = 1;
}

int jbm_allowed(pthread_jit_write_callback_t cb)
{
    for (size_t i = 0; i < snap.count; i++) /* P:1425-1430 */
        if (snap.list[i] == cb)
            return 1;
    return 0;
}

uint32_t _dyld_image_count(void)
{
    return nimages;
}

const struct mach_header_64 *jbm_dyld_get_image_header(uint32_t i)
{
    return i < nimages ? (const void *)images[i] : NULL;
}

const char *_dyld_get_image_name(uint32_t i)
{
    return i < nimages ? names[i] : NULL;
}

/* getsectiondata (mach-o/getsect.h): the section's address plus the slide,
 * which is the header's address minus __TEXT's vmaddr. */
uint8_t *getsectiondata(const struct mach_header_64 *mh, const char *segname,
                        const char *sectname, unsigned long *size)
{
    const uint8_t *h = (const void *)mh, *c = h + 32;
    uint64_t slide = 0;
    uint8_t *found = NULL;
    for (uint32_t i = 0, n = get32(h + 16); i < n; i++, c += get32(c + 4)) {
        if (get32(c) != 0x19)
            continue;
        if (!strncmp((const char *)c + 8, "__TEXT", 16))
            slide = (uintptr_t)h - get64(c + 24);
        if (strncmp((const char *)c + 8, segname, 16))
            continue;
        for (uint32_t k = 0; k < get32(c + 64); k++) {
            const uint8_t *s = c + 72 + 80 * k;
            if (!strncmp((const char *)s, sectname, 16)) {
                found = (uint8_t *)(uintptr_t)get64(s + 32);
                *size = (unsigned long)get64(s + 40);
            }
        }
    }
    return found ? found + slide : NULL;
}
