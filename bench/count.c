/* make bench-count: one mix8 run per implementation under callgrind, which
 * counts only inside jbb_counted (--toggle-collect=jbb_counted). Host
 * instructions per emitted instruction are stable on a noisy machine. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mix8.h"
#include "peers.h"
#include "shim.h"

#define BUF_BYTES ((size_t)8 << 20)

static uint8_t *buf;
static jb_emit e;
static void *peer;

static size_t x64_jitbuf(void)
{
    jb_emit_reset(&e);
    return mix8_x64_jitbuf(&e) ? 0 : (size_t)(e.cur - buf);
}
static size_t a64_jitbuf(void)
{
    jb_emit_reset(&e);
    return mix8_a64_jitbuf(&e) ? 0 : (size_t)(e.cur - buf);
}
#ifdef JBB_HAVE_ASMJIT
static size_t x64_asmjit(void) { return mix8_x64_asmjit_run(peer, buf, BUF_BYTES); }
static size_t a64_asmjit(void) { return mix8_a64_asmjit_run(peer, buf, BUF_BYTES); }
#endif
#ifdef JBB_HAVE_XBYAK
static size_t x64_xbyak(void) { return mix8_x64_xbyak_run(peer); }
#endif

/* The only function callgrind counts. */
__attribute__((noinline)) size_t jbb_counted(size_t (*run)(void));
__attribute__((noinline)) size_t jbb_counted(size_t (*run)(void))
{
    return run();
}

int jbb_count(const char *name)
{
    buf = mmap(NULL, BUF_BYTES, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (buf == MAP_FAILED)
        return -1;
    memset(buf, 0, BUF_BYTES);
    jb_emit_init(&e, buf, BUF_BYTES);
    size_t (*run)(void) = NULL;
    uint64_t fnv = MIX8_X64_FNV;
    if (!strcmp(name, "x64/jitbuf"))
        run = x64_jitbuf;
    else if (!strcmp(name, "a64/jitbuf"))
        run = a64_jitbuf, fnv = MIX8_A64_FNV;
#ifdef JBB_HAVE_ASMJIT
    else if (!strcmp(name, "x64/asmjit"))
        run = x64_asmjit, peer = mix8_x64_asmjit_new();
    else if (!strcmp(name, "a64/asmjit"))
        run = a64_asmjit, peer = mix8_a64_asmjit_new(), fnv = MIX8_A64_FNV;
#endif
#ifdef JBB_HAVE_XBYAK
    else if (!strcmp(name, "x64/xbyak"))
        run = x64_xbyak, peer = mix8_x64_xbyak_new(buf, BUF_BYTES);
#endif
    if (!run) {
        fprintf(stderr, "bench --count: unknown or unavailable '%s'\n", name);
        return -1;
    }
    size_t n = run(); /* warm-up */
    if (mix8_fnv1a64(buf, n) != fnv) {
        fprintf(stderr, "bench --count %s: bytes differ from the reference\n", name);
        return -1;
    }
    n = jbb_counted(run);
    printf("%s: %zu bytes, verified\n", name, n);
    return 0;
}
