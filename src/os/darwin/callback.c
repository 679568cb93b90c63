/* apple-callback: every write runs inside pthread_jit_write_with_callback_np
 * (macOS >= 11.4), through one of three fixed callbacks: copy, patch, fill.
 *
 * W^X: yes on Apple silicon (the region is writable only for the calling
 * thread, only while the callback runs). Works with and without the
 * com.apple.security.cs.jit-write-allowlist entitlement: with it, the OS
 * kills the process unless the callback is in an allowlist that libpthread
 * read (listing.c checks that at open), which for these three is
 * allowlist.c (dylib) or the host's own invocation (static builds,
 * JB_APPLE_WRITE_CALLBACKS in jitbuf.h).
 *
 * The OS call always leaves the thread executable (libpthread-539
 * src/pthread.c:1443), whatever it was before: a thread the host made
 * writable through jb_apple_write_protect(0) is made writable again after
 * each write.
 *
 * Apple's header asks callbacks to treat their context as attacker
 * controlled (include/pthread/pthread.h:683-692). So each callback accepts
 * only the request that jitbuf itself submitted on this thread: it copies
 * the request once, checks the copy against the copy this thread kept and
 * the per-process secret, re-checks it against state the request cannot
 * name (the region's bounds and block table, reached through a read-only
 * page), writes from the copy only, and finally checks that the request
 * was not changed while it ran. Anything else is a forged request and
 * traps at once (__builtin_trap, as the header recommends). */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apple.h"
#include "../../error.h"
#include "darwin.h"

/* freeze-late: set once pthread_jit_write_freeze_callbacks_np has run, by
 * jb_freeze or (as the host says) by the host; claimed by the one jb_freeze
 * that calls the OS. */
static atomic_int frozen, freeze_claimed;
int jb__dw_late_signed;
uint32_t jb__dw_frozen_images;

static void set_frozen(void)
{
    jb__dw_frozen_images = _dyld_image_count();
    atomic_store(&frozen, 1);
}

int jb__dw_frozen(void)
{
    return atomic_load(&frozen);
}

int jb__os_host_froze(void)
{
    atomic_store(&freeze_claimed, 1);
    set_frozen();
    return 0;
}

#if JB__DW_HAVE_CALLBACK_API

enum { MAX_REGIONS = 8 };

typedef struct {
    uint64_t secret;
    uint64_t region; /* index into the guard's maps */
    jb__wop op;
} jb__dw_request;

/* Read-only except while a region is being mapped or unmapped. */
typedef struct {
    uint64_t secret;
    const jb__map *maps[MAX_REGIONS];
} jb__dw_guard;

static jb__dw_guard *guard;
/* The request this thread submitted: where, and a copy of its bytes. */
static _Thread_local const jb__dw_request *expected;
static _Thread_local jb__dw_request submitted;

#define REQUIRE(c)                                                             \
    do {                                                                       \
        if (!(c))                                                              \
            __builtin_trap();                                                  \
    } while (0)

/* Copy the request at ctx once into *q and check what every callback
 * needs; returns the trusted region. The compiler barrier keeps every
 * later use on the copy (never a second read of ctx). */
static const jb__map *genuine(const void *ctx, jb__dw_request *q,
                              jb__opkind kind)
{
    const jb__dw_guard *g = guard;
    REQUIRE(g && ctx && ctx == expected);
    memcpy(q, ctx, sizeof *q);
    __asm__ volatile("" : : "r"(q) : "memory");
    REQUIRE(!memcmp(q, &submitted, sizeof *q));
    REQUIRE(q->secret == g->secret && q->op.kind == kind &&
            q->region < MAX_REGIONS);
    const jb__map *m = g->maps[q->region];
    REQUIRE(m && q->op.len != 0 && q->op.len <= m->reserve &&
            q->op.off <= m->reserve - q->op.len);
    return m;
}

/* The request must be what it was when the callback copied it. */
static void unchanged(const void *ctx, const jb__dw_request *q)
{
    REQUIRE(!memcmp(ctx, q, sizeof *q));
}

int jb_apple_write_copy(void *ctx)
{
    jb__dw_request q;
    const jb__map *m = genuine(ctx, &q, JB__OP_COPY);
    uintptr_t s = (uintptr_t)q.op.src, base = (uintptr_t)m->exec;
    REQUIRE(s + q.op.len > s &&
            (s + q.op.len <= base || s >= base + m->reserve));
    REQUIRE(jb__map_live(m, q.op.off, q.op.len));
    memcpy(m->exec + q.op.off, q.op.src, q.op.len);
    unchanged(ctx, &q);
    return 0;
}

int jb_apple_write_patch(void *ctx)
{
    jb__dw_request q;
    const jb__map *m = genuine(ctx, &q, JB__OP_PATCH);
    REQUIRE((q.op.len == 4 || q.op.len == 8) &&
            (q.op.off & (q.op.len - 1)) == 0);
    REQUIRE(jb__map_live(m, q.op.off, q.op.len));
    jb__wop_apply(&q.op, m->exec + q.op.off);
    unchanged(ctx, &q);
    return 0;
}

/* Fills write only trap instructions, into a whole freed block or into
 * the part of the region that is being committed. */
int jb_apple_write_fill(void *ctx)
{
    jb__dw_request q;
    const jb__map *m = genuine(ctx, &q, JB__OP_FILL);
    REQUIRE(q.op.off >= __atomic_load_n(&m->committed, __ATOMIC_RELAXED) ||
            jb__map_block_len(m, q.op.off) == q.op.len);
    jb__wop_apply(&q.op, m->exec + q.op.off);
    unchanged(ctx, &q);
    return 0;
}

/* Set (m, add) or clear (m, !add) a region in the guard page, which is
 * read-only otherwise. */
static int set_guard(const jb__map *m, int add)
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
    for (int i = 0; i < MAX_REGIONS; i++) {
        if (add && !guard->maps[i]) {
            guard->maps[i] = m;
            break;
        }
        if (!add && guard->maps[i] == m)
            guard->maps[i] = NULL;
    }
    mprotect(guard, page, PROT_READ);
    return 0;
}

static uint64_t region_of(const jb__map *m)
{
    for (uint64_t i = 0; i < MAX_REGIONS; i++)
        if (guard->maps[i] == m)
            return i;
    return MAX_REGIONS; /* not reached: the map is registered */
}

/* 0, or JB_ESTATE while freeze-late holds and the callbacks are not yet
 * frozen: the OS kills a process that writes before the freeze
 * (libpthread-539 src/pthread.c:1419-1423). */
static int check_frozen(const jb__map *m, const char *what)
{
    if ((m->flags & JB_OPEN_APPLE_FREEZE_LATE) && !jb__dw_frozen())
        return jb__fail(JB_ESTATE,
                        "%s before jb_freeze(): the executable is signed "
                        "with com.apple.security.cs.jit-write-allowlist-"
                        "freeze-late (or the region was opened with "
                        "JB_OPEN_APPLE_FREEZE_LATE), and the OS kills a "
                        "process that writes before freezing; call "
                        "jb_freeze() once after loading every image with JIT "
                        "write callbacks (or jb_apple_host_froze() if the "
                        "host froze them)",
                        what);
    return 0;
}

static int cb_write(jb__map *m, const jb__wop *op)
{
    int rc = check_frozen(m, "writing code");
    if (rc < 0)
        return rc;
    jb__dw_request q;
    memset(&q, 0, sizeof q);
    q.secret = guard->secret;
    q.region = region_of(m);
    memcpy(&q.op, op, sizeof q.op);
    memcpy(&submitted, &q, sizeof q);
    pthread_jit_write_callback_t cb =
        op->kind == JB__OP_COPY    ? jb_apple_write_copy
        : op->kind == JB__OP_PATCH ? jb_apple_write_patch
                                   : jb_apple_write_fill;
    expected = &q;
    if (JB__DW_OS_11_4)
        rc = pthread_jit_write_with_callback_np(cb, &q);
    else
        rc = jb__fail(JB_EUNSUPPORTED, "apple-callback: needs macOS 11.4");
    expected = NULL;
    memset(&submitted, 0, sizeof submitted);
    jb__dw_restore_host_state();
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
    if (JB__DW_OS_11_4)
        *fn_result = pthread_jit_write_with_callback_np(fn, ctx);
    else
        return jb__fail(JB_EUNSUPPORTED, "apple-callback: needs macOS 11.4");
    jb__dw_restore_host_state();
    return 0;
}

static int cb_map(jb__map *m)
{
    jb__dw_os os = jb__dw_os_now();
    int rc = jb__dw_strategy_ok(JB_WX_APPLE_CALLBACK, NULL, &os);
    if (rc < 0)
        return rc;
    jb__dw_rules r;
    rc = jb__dw_rules_for(m->flags, &r, "apple-callback");
    /* Under the allowlist entitlement the OS kills the process at the
     * first write through an unlisted callback: check the lists now. */
    if (rc == 0 && r.allowlist)
        rc = jb__dw_check_listed(&r);
    if (rc == 0)
        rc = set_guard(m, 1);
    if (rc < 0)
        return rc;
    jb__dw_late_signed = r.late_signed;
    rc = jb__dw_map(m, "apple-callback", &r);
    if (rc < 0)
        set_guard(m, 0);
    return rc;
}

static int cb_unmap(jb__map *m)
{
    int rc = jb__dw_unmap(m);
    if (rc == 0)
        set_guard(m, 0);
    return rc;
}

/* jb_freeze: call pthread_jit_write_freeze_callbacks_np at most once per
 * process, and only where the OS wants it. */
int jb__dw_freeze(jb__map *m)
{
    if (!jb__dw_late_signed)
        return jb__fail(JB_ESTATE,
                        "jb_freeze: the executable is not signed with "
                        "com.apple.security.cs.jit-write-allowlist-freeze-"
                        "late (nor was the region opened with "
                        "JB_OPEN_APPLE_FREEZE_LATE), and a freeze without it "
                        "kills the process (libpthread-539 src/pthread.c:"
                        "1461-1464); sign it with entitlements/"
                        "jit-allowlist-freeze-late.plist, or do not call "
                        "jb_freeze");
    /* Frozen already (by jb_freeze or the host), or this macOS (before
     * 12.1) froze the list at launch: a second freeze would kill
     * (1467-1470). */
    if (jb__dw_frozen() || !(m->flags & JB_OPEN_APPLE_FREEZE_LATE))
        return 0;
    if (atomic_exchange(&freeze_claimed, 1)) {
        while (!jb__dw_frozen())
            jb__os_yield();
        return 0;
    }
#if JB__DW_HAVE_FREEZE_API
    if (JB__DW_OS_12_1)
        pthread_jit_write_freeze_callbacks_np();
#else
    atomic_store(&freeze_claimed, 0);
    return jb__fail(JB_EUNSUPPORTED, "jb_freeze: this libjitbuf was built "
                                     "with an SDK older than macOS 12.1, "
                                     "which lacks "
                                     "pthread_jit_write_freeze_callbacks_np; "
                                     "rebuild with a newer SDK");
#endif
    set_frozen();
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
