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
 * Apple's header asks callbacks to assume an attacker controls their input
 * and to validate it "using as little attackable state as possible"
 * (libpthread-539 include/pthread/pthread.h:683-687). So a callback trusts
 * only what a memory write cannot change:
 *   - the guard page: a page-aligned static holding the MAC key and the
 *     registered regions (their jb__map, base and size), read-only except
 *     while jitbuf maps or unmaps a region (set_guard); it is ordinary
 *     data, not MAP_JIT, and is reached by its link-time address, never
 *     through a pointer;
 *   - its own code.
 * A request is eight words: a tag, where (region index and this thread's
 * request number), the jb__wop, and its place in a batch (index and items
 * left). The tag is SipHash-1-3, keyed from the guard page, of the other
 * seven words and of the submitting thread's identity. A callback reads
 * the request once (atomic loads into locals: no second read of ctx),
 * recomputes the tag, requires the thread's pending request number, takes
 * the region from the guard page by index and checks the operation there
 * (check_op), writes from its copy only, and traps if the request changed
 * while it ran. A batch (jb_write_batch) is one callback over the requests
 * of its copies, one after another in memory, all with the one request
 * number: the callback takes them in turn, each checked as above before
 * it is carried out, from index 0 to the one with nothing left, so none
 * can be added, left out, repeated or reordered without the key. Anything
 * else is forged and traps at once (__builtin_trap, as the header
 * recommends, 688-692).
 * What this does and does not stop is in docs/security.md ("The Darwin
 * write callbacks"). */
#include <errno.h>
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

/* ---- the guard page ---------------------------------------------------- */

/* PAGE_MAX_SIZE on arm64 (16 KiB; 4 pages on Intel), as libpthread sizes
 * and aligns its own read-only JIT configuration (src/pthread.c:1215-
 * 1222). */
enum { MAX_REGIONS = 8, GUARD_PAGE = 16384 };

typedef struct {
    const jb__map *m; /* NULL: a free entry */
    uint8_t *exec;
    size_t reserve;
} jb__dw_region;

typedef struct {
    uint64_t key[2];
    jb__dw_region regions[MAX_REGIONS];
} jb__dw_guard_data;

union jb__dw_guard_page {
    jb__dw_guard_data g;
    unsigned char page[GUARD_PAGE];
} jb__dw_guard __attribute__((aligned(GUARD_PAGE)));

/* Keyed and made read-only when the library loads, before any code of the
 * host runs (a key set later could be set by an attacker first). */
__attribute__((constructor)) static void guard_init(void)
{
    arc4random_buf(jb__dw_guard.g.key, sizeof jb__dw_guard.g.key);
    mprotect(&jb__dw_guard, sizeof jb__dw_guard, PROT_READ);
}

/* Add (m, add) or remove (m, !add) a region, then read-only again. */
static int set_guard(const jb__map *m, int add)
{
    if (mprotect(&jb__dw_guard, sizeof jb__dw_guard, PROT_READ | PROT_WRITE))
        return jb__fail(JB_EOS, "apple-callback: the write guard page could "
                                "not be made writable (%s)",
                        jb__errno_name(errno));
    int done = !add;
    for (int i = 0; i < MAX_REGIONS; i++) {
        jb__dw_region *e = &jb__dw_guard.g.regions[i];
        if (add && !done && !e->m) {
            *e = (jb__dw_region){m, m->exec, m->reserve};
            done = 1;
        } else if (!add && e->m == m) {
            *e = (jb__dw_region){NULL, NULL, 0};
        }
    }
    if (mprotect(&jb__dw_guard, sizeof jb__dw_guard, PROT_READ))
        return jb__fail(JB_EOS, "apple-callback: the write guard page could "
                                "not be made read-only again (%s)",
                        jb__errno_name(errno));
    return done ? 0
                : jb__fail(JB_ENOMEM, "apple-callback: %d regions are open "
                                      "already; close one",
                           MAX_REGIONS);
}

/* ---- requests ------------------------------------------------------------ */

/* W_ITEM: a batch's item index << 32 | the items after it (0 alone). */
enum { W_TAG, W_WHERE, W_OP, W_ITEM = W_OP + 5, REQ_WORDS };
_Static_assert(sizeof(jb__wop) == (W_ITEM - W_OP) * sizeof(uint64_t),
               "a jb__wop fills the five words from W_OP");
typedef struct {
    uint64_t w[REQ_WORDS];
} jb__dw_request;

/* The request this thread has in flight (its number, 0: none) and the
 * last number used. Writable, but a forged request also needs the tag. */
static _Thread_local uint32_t pending, last_seq;

#define REQUIRE(c)                                                             \
    do {                                                                       \
        if (!(c))                                                              \
            __builtin_trap();                                                  \
    } while (0)

/* SipHash-1-3 over 64-bit words (Aumasson and Bernstein's SipHash with one
 * compression and three finalisation rounds). Streaming, so that a
 * request of many operations is tagged the same way. */
typedef struct {
    uint64_t v0, v1, v2, v3;
    uint64_t words;
} jb__dw_mac;

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
static inline void sip_round(jb__dw_mac *s)
{
    s->v0 += s->v1, s->v1 = ROTL(s->v1, 13), s->v1 ^= s->v0;
    s->v0 = ROTL(s->v0, 32);
    s->v2 += s->v3, s->v3 = ROTL(s->v3, 16), s->v3 ^= s->v2;
    s->v0 += s->v3, s->v3 = ROTL(s->v3, 21), s->v3 ^= s->v0;
    s->v2 += s->v1, s->v1 = ROTL(s->v1, 17), s->v1 ^= s->v2;
    s->v2 = ROTL(s->v2, 32);
}
static inline void mac_init(jb__dw_mac *s)
{
    const uint64_t *k = jb__dw_guard.g.key;
    *s = (jb__dw_mac){k[0] ^ 0x736f6d6570736575ull, k[1] ^ 0x646f72616e646f6dull,
                      k[0] ^ 0x6c7967656e657261ull, k[1] ^ 0x7465646279746573ull,
                      0};
}
static inline void mac_word(jb__dw_mac *s, uint64_t m)
{
    s->v3 ^= m;
    sip_round(s);
    s->v0 ^= m;
    s->words++;
}
static inline uint64_t mac_final(jb__dw_mac *s)
{
    uint64_t b = (s->words * 8) << 56;
    s->v3 ^= b;
    sip_round(s);
    s->v0 ^= b;
    s->v2 ^= 0xff;
    sip_round(s);
    sip_round(s);
    sip_round(s);
    return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

/* The tag of q's words after W_TAG, for the calling thread. */
static uint64_t tag_of(const jb__dw_request *q)
{
    jb__dw_mac s;
    mac_init(&s);
    mac_word(&s, (uint64_t)(uintptr_t)&pending); /* this thread */
    for (int i = W_WHERE; i < REQ_WORDS; i++)
        mac_word(&s, q->w[i]);
    return mac_final(&s);
}

uint64_t jb__dw_tag(const void *request)
{
    return tag_of(request);
}

/* What every callback checks first: read the request at ctx once into *q
 * and *op, and require its tag, this thread's pending number, the kind
 * and a registered region that holds [off, off + len). Returns the
 * region's entry in the guard page. */
static const jb__dw_region *genuine(const void *ctx, jb__dw_request *q,
                                    jb__wop *op, jb__opkind kind)
{
    REQUIRE(ctx && (uintptr_t)ctx % sizeof(uint64_t) == 0);
    const uint64_t *c = ctx;
    for (int i = 0; i < REQ_WORDS; i++)
        q->w[i] = __atomic_load_n(&c[i], __ATOMIC_RELAXED);
    uint32_t seq = pending;
    REQUIRE(seq != 0 && (uint32_t)(q->w[W_WHERE] >> 32) == seq &&
            tag_of(q) == q->w[W_TAG]);
    memcpy(op, &q->w[W_OP], sizeof *op);
    uint32_t i = (uint32_t)q->w[W_WHERE];
    REQUIRE(op->kind == kind && i < MAX_REGIONS);
    const jb__dw_region *rg = &jb__dw_guard.g.regions[i];
    REQUIRE(rg->m && op->len != 0 && op->len <= rg->reserve &&
            op->off <= rg->reserve - op->len);
    return rg;
}

/* The operation, against what the request cannot name: the region's
 * bounds (guard page) and the core's block table. A copy goes into one
 * live block from outside the region; a patch is one aligned 4- or 8-byte
 * store into a live block; a fill (traps only) covers exactly a block the
 * core has claimed for freeing, or lies past the committed part. */
static void check_op(const jb__dw_region *rg, const jb__wop *op)
{
    switch (op->kind) {
    case JB__OP_COPY: {
        uintptr_t s = (uintptr_t)op->src, base = (uintptr_t)rg->exec;
        REQUIRE(s + op->len > s &&
                (s + op->len <= base || s >= base + rg->reserve));
        REQUIRE(jb__map_live(rg->m, op->off, op->len));
        break;
    }
    case JB__OP_PATCH:
        REQUIRE((op->len == 4 || op->len == 8) &&
                (op->off & (op->len - 1)) == 0);
        REQUIRE(jb__map_live(rg->m, op->off, op->len));
        break;
    case JB__OP_FILL:
        REQUIRE(op->off >=
                    __atomic_load_n(&rg->m->committed, __ATOMIC_RELAXED) ||
                jb__map_freeing_len(rg->m, op->off) == op->len);
        break;
    default:
        REQUIRE(0);
    }
}

/* The request must be what it was when the callback read it. */
static void unchanged(const void *ctx, const jb__dw_request *q)
{
    const uint64_t *c = ctx;
    for (int i = 0; i < REQ_WORDS; i++)
        REQUIRE(__atomic_load_n(&c[i], __ATOMIC_RELAXED) == q->w[i]);
}

/* One callback's whole job: its request, or each request of a batch in
 * turn (the next one only while the genuine one before it has items
 * left), checked in full before it is carried out. */
static inline int serve(void *ctx, jb__opkind kind)
{
    const uint64_t *c = ctx;
    for (uint64_t i = 0, left = 0;; i++, c += REQ_WORDS) {
        jb__dw_request q;
        jb__wop op;
        const jb__dw_region *rg = genuine(c, &q, &op, kind);
        uint64_t item = q.w[W_ITEM];
        REQUIRE(item >> 32 == i && (i == 0 || (uint32_t)item == left - 1));
        check_op(rg, &op);
        jb__wop_apply(&op, rg->exec + op.off);
        unchanged(c, &q);
        if ((left = (uint32_t)item) == 0)
            return 0;
    }
}

int jb_apple_write_copy(void *ctx)
{
    return serve(ctx, JB__OP_COPY);
}

int jb_apple_write_patch(void *ctx)
{
    return serve(ctx, JB__OP_PATCH);
}

int jb_apple_write_fill(void *ctx)
{
    return serve(ctx, JB__OP_FILL);
}

static uint32_t region_of(const jb__map *m)
{
    for (uint32_t i = 0; i < MAX_REGIONS; i++)
        if (jb__dw_guard.g.regions[i].m == m)
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

enum { BATCH_LOCAL = 16 }; /* requests built without an allocation */

/* Submit the n operations of ops (n > 1: the copies of a jb_write_batch)
 * as one request each, through one callback. */
static int submit(jb__map *m, const jb__wop *ops, size_t n)
{
    int rc = check_frozen(m, "writing code");
    if (rc < 0)
        return rc;
    jb__dw_request local[BATCH_LOCAL], *q = local;
    if (n > UINT32_MAX || (n > BATCH_LOCAL && !(q = malloc(n * sizeof *q))))
        return jb__fail(JB_ENOMEM, "apple-callback: no memory for the "
                                   "requests of a batch of %zu copies (%zu "
                                   "bytes each, at most 4294967295 copies); "
                                   "nothing was written: write smaller "
                                   "batches",
                        n, sizeof *q);
    if (++last_seq == 0)
        last_seq = 1;
    uint64_t where = region_of(m) | (uint64_t)last_seq << 32;
    for (size_t i = 0; i < n; i++) {
        q[i].w[W_WHERE] = where;
        memcpy(&q[i].w[W_OP], &ops[i], sizeof ops[i]);
        q[i].w[W_ITEM] = (uint64_t)i << 32 | (n - 1 - i);
        q[i].w[W_TAG] = tag_of(&q[i]);
    }
    pthread_jit_write_callback_t cb =
        ops->kind == JB__OP_COPY    ? jb_apple_write_copy
        : ops->kind == JB__OP_PATCH ? jb_apple_write_patch
                                    : jb_apple_write_fill;
    pending = last_seq;
    if (JB__DW_OS_11_4)
        rc = pthread_jit_write_with_callback_np(cb, q);
    else
        rc = jb__fail(JB_EUNSUPPORTED, "apple-callback: needs macOS 11.4");
    pending = 0;
    jb__dw_restore_host_state();
    if (q != local)
        free(q);
    return rc;
}

static int cb_write(jb__map *m, const jb__wop *op)
{
    return submit(m, op, 1);
}

/* jb_write_batch: every copy through one callback. */
static int cb_writev(jb__map *m, const jb__wop *ops, size_t n)
{
    return submit(m, ops, n);
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
    if (rc < 0)
        return rc;
    jb__dw_late_signed = r.late_signed;
    rc = jb__dw_map(m, "apple-callback", &r);
    if (rc < 0)
        return rc;
    /* The first fill goes through the callbacks, which need the region in
     * the guard page. */
    if ((rc = set_guard(m, 1)) < 0 || (rc = jb__dw_fill_first(m)) < 0) {
        set_guard(m, 0);
        jb__dw_unmap(m);
    }
    return rc;
}

static int cb_unmap(jb__map *m)
{
    int rc = jb__dw_unmap(m);
    return rc < 0 ? rc : set_guard(m, 0);
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
    .writev = cb_writev,
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
