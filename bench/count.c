/* make bench-count: one mix8 run per implementation under callgrind, which
 * counts only inside jbb_counted (--toggle-collect=jbb_counted). Host
 * instructions per emitted instruction are stable on a noisy machine. */
#include <stdio.h>
#include <string.h>

#include "handc.h"
#include "peers.h"
#include "shim.h"
#include "workload.h"

static jb_emit e;
static handc hc;
#if defined(JBB_HAVE_ASMJIT) || defined(JBB_HAVE_XBYAK)
static void *peer;
#endif

static size_t x64_jitbuf(void) { return jbb_mix8_jitbuf(JBB_X64, &e); }
static size_t a64_jitbuf(void) { return jbb_mix8_jitbuf(JBB_A64, &e); }
static size_t x64_handc(void) { return handc_mix8_x64(&hc); }
static size_t a64_handc(void) { return handc_mix8_a64(&hc); }
#ifdef JBB_HAVE_ASMJIT
static size_t x64_asmjit(void)
{
    return mix8_x64_asmjit_run(peer, jbb_mix8_buf(), JBB_BUF_BYTES);
}
static size_t a64_asmjit(void)
{
    return mix8_a64_asmjit_run(peer, jbb_mix8_buf(), JBB_BUF_BYTES);
}
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
    jb_emit_init(&e, jbb_mix8_buf(), JBB_BUF_BYTES);
    size_t (*run)(void) = NULL;
    jbb_arch a = JBB_X64;
    if (!strcmp(name, "x64/jitbuf"))
        run = x64_jitbuf;
    else if (!strcmp(name, "a64/jitbuf"))
        run = a64_jitbuf, a = JBB_A64;
    else if (!strcmp(name, "x64/handc") || !strcmp(name, "a64/handc")) {
        /* the label table is set up before the runs, as the page allows */
        if (handc_init(&hc, jbb_mix8_buf(), JBB_BUF_BYTES, MIX8_GROUPS + 1)) {
            fprintf(stderr, "bench --count %s: handc_init failed\n", name);
            return -1;
        }
        if (name[0] == 'a')
            run = a64_handc, a = JBB_A64;
        else
            run = x64_handc;
    }
#ifdef JBB_HAVE_ASMJIT
    else if (!strcmp(name, "x64/asmjit"))
        run = x64_asmjit, peer = mix8_x64_asmjit_new();
    else if (!strcmp(name, "a64/asmjit"))
        run = a64_asmjit, peer = mix8_a64_asmjit_new(), a = JBB_A64;
#endif
#ifdef JBB_HAVE_XBYAK
    else if (!strcmp(name, "x64/xbyak"))
        run = x64_xbyak, peer = mix8_x64_xbyak_new(jbb_mix8_buf(), JBB_BUF_BYTES);
#endif
    if (!run) {
        fprintf(stderr, "bench --count: unknown or unavailable '%s'\n", name);
        return -1;
    }
    if (!jbb_mix8_ok(a, run())) { /* the warm-up run, checked */
        fprintf(stderr, "bench --count %s: bytes differ from the reference\n", name);
        return -1;
    }
    size_t n = jbb_counted(run);
    printf("%s: %zu bytes, verified\n", name, n);
    return 0;
}
