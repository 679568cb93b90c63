/* jitbuf's benchmarks, beside asmjit and xbyak in one binary (see
 * bench/README.md for what each figure means). Names:
 *   mix8/<arch>/<impl>                emitter workload, ns_per_insn (impl
 *                                     handc: the hand-written baseline)
 *   install/jitbuf/<strategy>         jb_alloc + jb_write + call + jb_free
 *   install/asmjit, install/asmjit_dualmap
 *   alloc_free/<impl>/64              (threads:1 and threads:2, shared)
 *   commit/jitbuf/<strategy>/{64,4096}  jb_write into a live block
 *   patch/jitbuf/<strategy>           jb_patch of 4 bytes in a live block
 *   commit_site/jitbuf/<strategy>/64, patch_site/jitbuf/<strategy>
 *                                     the same through a jb_site
 * Floors, install shapes and costs against live blocks: bench/shapes.c. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jitbuf.h"
#include "jitbuf/site.h"
#include "handc.h"
#include "peers.h"
#include "shim.h"
#include "workload.h"

static int verify(jbb_state *s, jbb_arch a, size_t n)
{
    if (jbb_mix8_ok(a, n))
        return 1;
    jbb_skip(s, "mix8: the bytes differ from the reference stream");
    return 0;
}

static void finish_mix8(jbb_state *s, size_t n)
{
    jbb_ns_per(s, "ns_per_insn", MIX8_INSNS);
    jbb_set_counter(s, "bytes", (double)n);
    jbb_label(s, "bytes verified (FNV-1a-64)");
}

static void bm_mix8_jitbuf(jbb_state *s, void *arg)
{
    jbb_arch a = (jbb_arch)(intptr_t)arg;
    jb_emit e;
    jb_emit_init(&e, jbb_mix8_buf(), JBB_BUF_BYTES);
    size_t n = jbb_mix8_jitbuf(a, &e); /* warm-up, and the check before timing */
    if (verify(s, a, n)) {
        while (jbb_running(s))
            n = jbb_mix8_jitbuf(a, &e);
        finish_mix8(s, n);
    }
    jb_emit_free(&e);
}

/* The hand-written C emitter (handc.c): the raw baseline, the bar for
 * jitbuf's emitters. Its label table is set up before timing. */
static void bm_mix8_handc(jbb_state *s, void *arg)
{
    jbb_arch a = (jbb_arch)(intptr_t)arg;
    size_t (*run)(handc *) = a == JBB_X64 ? handc_mix8_x64 : handc_mix8_a64;
    handc h;
    if (handc_init(&h, jbb_mix8_buf(), JBB_BUF_BYTES, MIX8_GROUPS + 1)) {
        jbb_skip(s, "mix8: handc_init failed");
        return;
    }
    size_t n = run(&h); /* warm-up, and the check before timing */
    if (verify(s, a, n)) {
        while (jbb_running(s))
            n = run(&h);
        finish_mix8(s, n);
    }
    handc_free(&h);
}

/* The floor: copy the finished stream (no emitter can beat a memcpy). */
static void bm_mix8_memcpy(jbb_state *s, void *arg)
{
    jbb_arch a = (jbb_arch)(intptr_t)arg;
    jb_emit e;
    jb_emit_init(&e, jbb_mix8_buf(), JBB_BUF_BYTES);
    size_t n = jbb_mix8_jitbuf(a, &e);
    jb_emit_free(&e);
    uint8_t *src = malloc(n);
    if (!src || !verify(s, a, n)) {
        free(src);
        return;
    }
    memcpy(src, jbb_mix8_buf(), n);
    while (jbb_running(s)) {
        memcpy(jbb_mix8_buf(), src, n);
        __asm__ __volatile__("" ::: "memory");
    }
    finish_mix8(s, n);
    free(src);
}

#ifdef JBB_HAVE_ASMJIT
static void bm_mix8_asmjit(jbb_state *s, void *arg)
{
    jbb_arch a = (jbb_arch)(intptr_t)arg;
    void *p = a == JBB_X64 ? mix8_x64_asmjit_new() : mix8_a64_asmjit_new();
    size_t (*run)(void *, uint8_t *, size_t) =
        a == JBB_X64 ? mix8_x64_asmjit_run : mix8_a64_asmjit_run;
    size_t n = p ? run(p, jbb_mix8_buf(), JBB_BUF_BYTES) : 0;
    if (verify(s, a, n)) {
        while (jbb_running(s))
            n = run(p, jbb_mix8_buf(), JBB_BUF_BYTES);
        finish_mix8(s, n);
    }
    (a == JBB_X64 ? mix8_x64_asmjit_free : mix8_a64_asmjit_free)(p);
}
#endif

#ifdef JBB_HAVE_XBYAK
static void bm_mix8_xbyak(jbb_state *s, void *arg)
{
    (void)arg;
    void *p = mix8_x64_xbyak_new(jbb_mix8_buf(), JBB_BUF_BYTES);
    size_t n = p ? mix8_x64_xbyak_run(p) : 0;
    if (verify(s, JBB_X64, n)) {
        while (jbb_running(s))
            n = mix8_x64_xbyak_run(p);
        finish_mix8(s, n);
    }
    mix8_x64_xbyak_free(p);
}
#endif

/* ---- install, commit, patch ------------------------------------------- */

/* Mappings that are writable and executable at once (Linux), to show what
 * each allocator's mapping really is; -1 where /proc is absent. */
static int wx_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    char line[512], perms[8];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%*s %7s", perms) == 1 && perms[1] == 'w' && perms[2] == 'x')
            n++;
    fclose(f);
    return n;
}

/* W+X mappings that exist before any peer runs (jitbuf's own rwx case). */
static int wx_baseline;

typedef struct {
    jb_region *r;
    void *block;
    void *site_block; /* a block of its own: a site sends jb_write of its
                         block to the rare path, so the commit rows' block
                         has none */
    jb_site site;
} jb_case;

static const jb_wx strategies[] = {JB_WX_DUALMAP, JB_WX_MPROTECT, JB_WX_RWX};

static void bm_install_jitbuf(jbb_state *s, void *arg)
{
    jb_case *c = arg;
    uint8_t fn[64];
    jbb_function64(fn, 1);
    jbb_set_counter(s, "wx_mappings_added", wx_mappings() - wx_baseline);
    while (jbb_running(s)) {
        void *f;
        if (jb_alloc(c->r, 64, 16, &f) || jb_write(c->r, f, fn, 64) ||
            ((int (*)(void))f)() != 1 || jb_free(c->r, f)) {
            jbb_skip(s, jb_last_error());
            return;
        }
    }
}

/* Before timing: the row's write lands (read back from the executable
 * address), else the benchmark reports an error. */
static int landed(jbb_state *s, int rc, const void *exec, const void *src,
                  size_t n)
{
    if (rc == 0 && memcmp(exec, src, n) == 0)
        return 1;
    jbb_skip(s, rc ? jb_last_error() : "the bytes written did not read back");
    return 0;
}

static void bm_commit(jbb_state *s, void *arg, size_t n)
{
    jb_case *c = arg;
    static uint8_t src[4096];
    memset(src, 0x90, sizeof src);
    if (!landed(s, jb_write(c->r, c->block, src, n), c->block, src, n))
        return;
    while (jbb_running_batch(s, 16))
        for (int i = 0; i < 16; i++)
            if (jb_write(c->r, c->block, src, n)) {
                jbb_skip(s, jb_last_error());
                return;
            }
}
static void bm_commit64(jbb_state *s, void *arg) { bm_commit(s, arg, 64); }
static void bm_commit4096(jbb_state *s, void *arg) { bm_commit(s, arg, 4096); }

static void bm_patch(jbb_state *s, void *arg)
{
    jb_case *c = arg;
    uint32_t v = 0x5a5a5a5au;
    if (!landed(s, jb_patch(c->r, c->block, v, 4), c->block, &v, 4))
        return;
    while (jbb_running_batch(s, 16))
        for (int i = 0; i < 16; i++)
            if (jb_patch(c->r, c->block, v++, 4)) {
                jbb_skip(s, jb_last_error());
                return;
            }
}

/* The same through a site (jitbuf/site.h): validated once at open. */
static void bm_commit_site(jbb_state *s, void *arg)
{
    jb_case *c = arg;
    static uint8_t src[64];
    memset(src, 0x90, sizeof src);
    if (!landed(s, jb_site_write(&c->site, c->site_block, src, sizeof src),
                c->site_block, src, sizeof src))
        return;
    while (jbb_running_batch(s, 16))
        for (int i = 0; i < 16; i++)
            if (jb_site_write(&c->site, c->site_block, src, sizeof src)) {
                jbb_skip(s, jb_last_error());
                return;
            }
}

static void bm_patch_site(jbb_state *s, void *arg)
{
    jb_case *c = arg;
    uint32_t v = 0x5a5a5a5au;
    if (!landed(s, jb_site_patch(&c->site, c->site_block, v, 4), c->site_block,
                &v, 4))
        return;
    while (jbb_running_batch(s, 16))
        for (int i = 0; i < 16; i++)
            if (jb_site_patch(&c->site, c->site_block, v++, 4)) {
                jbb_skip(s, jb_last_error());
                return;
            }
}

/* alloc_free: one region (or allocator) shared by all threads. */
static void bm_alloc_free_jitbuf(jbb_state *s, void *arg)
{
    jb_region *r = arg;
    while (jbb_running_batch(s, 64))
        for (int i = 0; i < 64; i++) {
            void *f;
            if (jb_alloc(r, 64, 16, &f) || jb_free(r, f)) {
                jbb_skip(s, jb_last_error());
                return;
            }
        }
}

#ifdef JBB_HAVE_ASMJIT
static void bm_install_asmjit(jbb_state *s, void *arg)
{
    int dual = (int)(intptr_t)arg;
    uint8_t fn[64];
    jbb_function64(fn, 1);
    void *rt = asmjit_rt_new(dual, fn, 64);
    if (!rt || asmjit_install(rt) != 1) {
        jbb_skip(s, "asmjit: JitRuntime::add failed");
    } else {
        jbb_set_counter(s, "wx_mappings_added", wx_mappings() - wx_baseline);
        while (jbb_running(s))
            asmjit_install(rt);
        jbb_label(s, dual ? "dual mapping (W^X)"
                          : "asmjit default: one RWX mapping, NOT W^X");
    }
    asmjit_rt_free(rt);
}

static void *shared_allocator;
static void bm_alloc_free_asmjit(jbb_state *s, void *arg)
{
    (void)arg;
    while (jbb_running_batch(s, 64))
        for (int i = 0; i < 64; i++)
            if (asmjit_alloc_free64(shared_allocator)) {
                jbb_skip(s, "asmjit: JitAllocator::alloc failed");
                return;
            }
}
#endif

static jb_case *open_case(jb_wx wx)
{
    jb_options o = {0, wx, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
    jb_case *c = calloc(1, sizeof *c);
    if (!c || jb_region_open(&c->r, &o) || jb_alloc(c->r, 4096, 64, &c->block) ||
        jb_alloc(c->r, 64, 64, &c->site_block) ||
        jb_site_open(c->r, c->site_block, &c->site)) {
        fprintf(stderr, "bench: %s not available here: %s\n", jb_wx_name(wx),
                jb_last_error());
        free(c);
        return NULL;
    }
    return c;
}

void jbb_register_all(void)
{
    char name[96];
    jbb_register("mix8/x64/jitbuf", bm_mix8_jitbuf, (void *)(intptr_t)JBB_X64, 1);
#ifdef JBB_HAVE_ASMJIT
    jbb_register("mix8/x64/asmjit", bm_mix8_asmjit, (void *)(intptr_t)JBB_X64, 1);
#endif
#ifdef JBB_HAVE_XBYAK
    jbb_register("mix8/x64/xbyak", bm_mix8_xbyak, NULL, 1);
#endif
    jbb_register("mix8/x64/handc", bm_mix8_handc, (void *)(intptr_t)JBB_X64, 1);
    jbb_register("mix8/x64/memcpy_floor", bm_mix8_memcpy, (void *)(intptr_t)JBB_X64, 1);
    jbb_register("mix8/a64/jitbuf", bm_mix8_jitbuf, (void *)(intptr_t)JBB_A64, 1);
#ifdef JBB_HAVE_ASMJIT
    jbb_register("mix8/a64/asmjit", bm_mix8_asmjit, (void *)(intptr_t)JBB_A64, 1);
#endif
    jbb_register("mix8/a64/handc", bm_mix8_handc, (void *)(intptr_t)JBB_A64, 1);
    jbb_register("mix8/a64/memcpy_floor", bm_mix8_memcpy, (void *)(intptr_t)JBB_A64, 1);

    for (size_t k = 0; k < sizeof strategies / sizeof strategies[0]; k++) {
        jb_case *c = open_case(strategies[k]);
        if (!c)
            continue;
        const char *w = jb_wx_name(strategies[k]);
        snprintf(name, sizeof name, "install/jitbuf/%s", w);
        jbb_register(name, bm_install_jitbuf, c, 1);
        snprintf(name, sizeof name, "commit/jitbuf/%s/64", w);
        jbb_register(name, bm_commit64, c, 1);
        snprintf(name, sizeof name, "commit/jitbuf/%s/4096", w);
        jbb_register(name, bm_commit4096, c, 1);
        snprintf(name, sizeof name, "patch/jitbuf/%s", w);
        jbb_register(name, bm_patch, c, 1);
        snprintf(name, sizeof name, "commit_site/jitbuf/%s/64", w);
        jbb_register(name, bm_commit_site, c, 1);
        snprintf(name, sizeof name, "patch_site/jitbuf/%s", w);
        jbb_register(name, bm_patch_site, c, 1);
    }
    wx_baseline = wx_mappings();
#ifdef JBB_HAVE_ASMJIT
    jbb_register("install/asmjit", bm_install_asmjit, (void *)(intptr_t)0, 1);
    jbb_register("install/asmjit_dualmap", bm_install_asmjit, (void *)(intptr_t)1, 1);
#endif

    jb_region *shared = NULL;
    if (jb_region_open(&shared, &(jb_options){0, JB_WX_AUTO, JB_OPEN_NO_ENV}) == 0) {
        jbb_register("alloc_free/jitbuf/64", bm_alloc_free_jitbuf, shared, 1);
        jbb_register("alloc_free/jitbuf/64", bm_alloc_free_jitbuf, shared, 2);
    }
#ifdef JBB_HAVE_ASMJIT
    shared_allocator = asmjit_alloc_new();
    jbb_register("alloc_free/asmjit/64", bm_alloc_free_asmjit, NULL, 1);
    jbb_register("alloc_free/asmjit/64", bm_alloc_free_asmjit, NULL, 2);
#else
    fprintf(stderr, "bench: asmjit headers not found: its figures are skipped\n");
#endif
    jbb_register_shapes();
#ifndef JBB_HAVE_XBYAK
    fprintf(stderr, "bench: xbyak headers not found: its figures are skipped\n");
#endif
}
