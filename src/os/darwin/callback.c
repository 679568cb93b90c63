/* apple-callback: every write runs inside pthread_jit_write_with_callback_np
 * (macOS >= 11.4), through one of three fixed callbacks: copy, patch, fill.
 *
 * W^X: yes on Apple silicon (the region is writable only for the calling
 * thread, only while the callback runs). Works with and without the
 * com.apple.security.cs.jit-write-allowlist entitlement: with it, the OS
 * kills the process unless the callback is in an image's allowlist, which
 * for these three is allowlist.c (dylib) or the host's own invocation
 * (static builds, JB_APPLE_WRITE_CALLBACKS in jitbuf.h).
 *
 * Apple's header asks callbacks to treat their context as attacker
 * controlled. So each callback accepts only a request that jitbuf itself
 * made on this thread, carrying the per-process secret, and re-checks it
 * against state the request cannot name: the region bounds and the block
 * table, reached through a read-only page. Anything else is a forged
 * request and traps at once (__builtin_trap, as the header recommends). */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apple.h"
#include "../../error.h"
#include "darwin.h"

#if JB__DW_HAVE_CALLBACK_API

typedef struct {
    uint64_t secret;
    jb__wop op;
} jb__dw_request;

/* Read-only except while a region is being mapped or unmapped. */
typedef struct {
    uint64_t secret;
    const jb__map *map; /* the process's one region, or NULL */
} jb__dw_guard;

static jb__dw_guard *guard;
static _Thread_local const jb__dw_request *expected;
/* freeze-late: claimed by the one jb_freeze that calls the OS; frozen once
 * that call returned. */
static atomic_int freeze_claimed, frozen;

#define REQUIRE(c)                                                             \
    do {                                                                       \
        if (!(c))                                                              \
            __builtin_trap();                                                  \
    } while (0)

/* The checks common to the three callbacks; returns the trusted region. */
static const jb__map *genuine(const jb__dw_request *q, jb__opkind kind)
{
    const jb__dw_guard *g = guard;
    REQUIRE(g && g->map && q && q == expected);
    REQUIRE(q->secret == g->secret && q->op.kind == kind);
    const jb__map *m = g->map;
    REQUIRE(q->op.len != 0 && q->op.len <= m->reserve &&
            q->op.off <= m->reserve - q->op.len);
    return m;
}

int jb_apple_write_copy(void *ctx)
{
    const jb__dw_request *q = ctx;
    const jb__map *m = genuine(q, JB__OP_COPY);
    uintptr_t s = (uintptr_t)q->op.src, base = (uintptr_t)m->exec;
    REQUIRE(s + q->op.len > s &&
            (s + q->op.len <= base || s >= base + m->reserve));
    REQUIRE(jb__map_live(m, q->op.off, q->op.len));
    memcpy(m->exec + q->op.off, q->op.src, q->op.len);
    return 0;
}

int jb_apple_write_patch(void *ctx)
{
    const jb__dw_request *q = ctx;
    const jb__map *m = genuine(q, JB__OP_PATCH);
    REQUIRE((q->op.len == 4 || q->op.len == 8) &&
            (q->op.off & (q->op.len - 1)) == 0);
    REQUIRE(jb__map_live(m, q->op.off, q->op.len));
    jb__wop_apply(&q->op, m->exec + q->op.off);
    return 0;
}

/* Fills write only trap instructions, into a whole freed block or into
 * the part of the region that is being committed. */
int jb_apple_write_fill(void *ctx)
{
    const jb__dw_request *q = ctx;
    const jb__map *m = genuine(q, JB__OP_FILL);
    REQUIRE(q->op.off >= __atomic_load_n(&m->committed, __ATOMIC_RELAXED) ||
            jb__map_block_len(m, q->op.off) == q->op.len);
    jb__wop_apply(&q->op, m->exec + q->op.off);
    return 0;
}

/* Set the guard page's contents (it is read-only otherwise). */
static int set_guard(const jb__map *m)
{
    size_t page = jb__os_page_size();
    if (!guard) {
        void *p = mmap(NULL, page, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANON, -1, 0);
        if (p == MAP_FAILED)
            return jb__fail(JB_ENOMEM, "apple-callback: no memory for the "
                                       "write guard page");
        guard = p;
        arc4random_buf(&guard->secret, sizeof guard->secret);
    } else if (mprotect(guard, page, PROT_READ | PROT_WRITE) != 0) {
        return jb__fail(JB_EOS, "apple-callback: the write guard page could "
                                "not be made writable");
    }
    guard->map = m;
    mprotect(guard, page, PROT_READ);
    return 0;
}

/* 0, or JB_ESTATE while freeze-late is declared and jb_freeze not yet
 * called: the OS kills a process that writes before the freeze. */
static int check_frozen(const jb__map *m, const char *what)
{
    if ((m->flags & JB_OPEN_APPLE_FREEZE_LATE) && !atomic_load(&frozen))
        return jb__fail(JB_ESTATE,
                        "%s before jb_freeze(): the region was opened with "
                        "JB_OPEN_APPLE_FREEZE_LATE, and under the "
                        "jit-write-allowlist-freeze-late entitlement the OS "
                        "kills a process that writes before freezing; call "
                        "jb_freeze() once after loading every image with JIT "
                        "write callbacks",
                        what);
    return 0;
}

static int cb_write(jb__map *m, const jb__wop *op)
{
    int rc = check_frozen(m, "writing code");
    if (rc < 0)
        return rc;
    jb__dw_request q = {guard->secret, *op};
    pthread_jit_write_callback_t cb =
        op->kind == JB__OP_COPY    ? jb_apple_write_copy
        : op->kind == JB__OP_PATCH ? jb_apple_write_patch
                                   : jb_apple_write_fill;
    expected = &q;
    rc = pthread_jit_write_with_callback_np(cb, &q);
    expected = NULL;
    return rc;
}

/* The user's callback goes to the OS directly, so that under the allowlist
 * entitlement the OS checks it against the host's allowlist: jitbuf never
 * offers a "call this pointer" callback of its own. */
static int cb_run(jb__map *m, size_t off, size_t len, int (*fn)(void *),
                  void *ctx, int *fn_result)
{
    (void)off;
    (void)len;
    int rc = check_frozen(m, "jb_write_with");
    if (rc < 0)
        return rc;
    *fn_result = pthread_jit_write_with_callback_np(fn, ctx);
    return 0;
}

static int cb_map(jb__map *m)
{
    if (!jb__dw_at_least_11_4())
        return jb__fail(JB_EUNSUPPORTED,
                        "apple-callback: pthread_jit_write_with_callback_np "
                        "needs macOS 11.4 or later; use apple-toggle (auto "
                        "does) on older systems");
    /* Under the allowlist entitlement the OS kills the process at the
     * first write through an unlisted callback: check the lists now. */
    if ((m->flags & JB_OPEN_APPLE_ALLOWLIST) &&
        !(jb__dw_listed(jb_apple_write_copy) &&
          jb__dw_listed(jb_apple_write_patch) &&
          jb__dw_listed(jb_apple_write_fill)))
        return jb__fail(JB_EPERM,
                        "apple-callback: opened with JB_OPEN_APPLE_ALLOWLIST, but "
                        "no loaded image's allowlist holds jitbuf's write "
                        "callbacks, and the OS kills a process that writes "
                        "through an unlisted one; with a static libjitbuf, the "
                        "image that links it must write PTHREAD_JIT_WRITE_"
                        "ALLOW_CALLBACKS_NP(JB_APPLE_WRITE_CALLBACKS, ...), or "
                        "link libjitbuf.dylib, which lists them itself");
    int rc = set_guard(m);
    if (rc < 0)
        return rc;
    rc = jb__dw_map(m, "apple-callback");
    if (rc < 0)
        set_guard(NULL);
    return rc;
}

static int cb_unmap(jb__map *m)
{
    int rc = jb__dw_unmap(m);
    set_guard(NULL);
    return rc;
}

int jb__dw_freeze(jb__map *m)
{
    if (!(m->flags & JB_OPEN_APPLE_FREEZE_LATE))
        return jb__fail(JB_ESTATE,
                        "jb_freeze: the region was not opened with "
                        "JB_OPEN_APPLE_FREEZE_LATE, and freezing without the "
                        "com.apple.security.cs.jit-write-allowlist-freeze-late "
                        "entitlement is an error the OS punishes; if the app "
                        "is signed with entitlements/"
                        "jit-allowlist-freeze-late.plist pass that flag, "
                        "otherwise do not call jb_freeze");
    if (atomic_exchange(&freeze_claimed, 1))
        return jb__fail(JB_ESTATE, "jb_freeze: already called; "
                                   "pthread_jit_write_freeze_callbacks_np must "
                                   "run exactly once per process");
    if (!jb__dw_at_least_12_1()) {
        atomic_store(&freeze_claimed, 0);
        return jb__fail(JB_EUNSUPPORTED,
                        "jb_freeze: pthread_jit_write_freeze_callbacks_np needs "
                        "macOS 12.1; the freeze-late entitlement cannot be "
                        "used on older systems");
    }
    pthread_jit_write_freeze_callbacks_np();
    atomic_store(&frozen, 1);
    return 0;
}

const jb__strategy jb__dw_callback = {
    .wx = JB_WX_APPLE_CALLBACK,
    .wx_exclusive = 1,
    .serial = 0,
    .map = cb_map,
    .unmap = cb_unmap,
    .grow = jb__dw_grow,
    .trim = jb__dw_trim,
    .write = cb_write,
    .run = cb_run,
    .alias = jb__dw_alias,
    .atfork_child = NULL,
    .freeze = jb__dw_freeze,
};

#else /* an SDK without the callback API (macOS 11) */

int jb__dw_freeze(jb__map *m)
{
    (void)m;
    return jb__fail(JB_EUNSUPPORTED, "jb_freeze: this libjitbuf was built "
                                     "with a macOS 11 SDK, which has no "
                                     "freeze-late API; rebuild with a macOS "
                                     "12.1 or later SDK");
}

#endif
