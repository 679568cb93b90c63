/* The fault matrix: every scenario below is run once clean, to count the
 * system calls libjitbuf makes in it, and then once for every N up to
 * that count and every errno the N-th call can return, with that one
 * call failing (inject.h). Each run checks:
 *   - a jitbuf call during which the fault fired either fails with a JB_E*
 *     code and a sentence that names the system call and the errno, or
 *     absorbs it where that is the documented behaviour (memfd_create
 *     without MFD_EXEC, close, a membarrier registration, and under
 *     JB_WX_AUTO a failed dualmap, after which the region is mprotect and
 *     jb_info.why names the errno);
 *   - a failed call changes nothing: the same jb_region_info figures and
 *     the same bytes in every live block, except what its sentence says
 *     was done ("the bytes were written", "the trap fill was done",
 *     "its blocks are freed");
 *   - the region stays usable: the rest of the scenario succeeds, every
 *     live block runs, and a failed jb_region_close succeeds when retried;
 *   - after the close, no mapping of the region and no descriptor is left;
 *   - (LeakSanitizer, at exit) nothing leaked.
 * Prints the cases run, the faults injected and the failures, then
 * "N passed, N failed" (one per scenario and strategy).
 * Usage: fault [substring of "scenario/strategy", e.g. lifecycle/mprotect] */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jitbuf.h"
#include "jitbuf/site.h"
#include "inject.h"

/* errnos each call can return (its man page), most telling first */
static const int errnos[FC_N][5] = {
    [FC_MMAP] = {ENOMEM, EPERM, EACCES, EINVAL, EAGAIN},
    [FC_MUNMAP] = {EINVAL, ENOMEM},
    [FC_MPROTECT] = {ENOMEM, EACCES, EINVAL},
    [FC_MADVISE] = {EINVAL, ENOMEM, EAGAIN, EPERM},
    [FC_MEMFD] = {EMFILE, ENFILE, ENOMEM, EINVAL, EPERM},
    [FC_FTRUNCATE] = {ENOSPC, EFBIG, ENOMEM, EPERM, EIO},
    [FC_MEMBARRIER] = {ENOSYS, EINVAL, EPERM},
    [FC_PWRITE] = {ENOSPC, EIO, EFBIG, EINTR},
    [FC_CLOSE] = {EINTR, EIO},
    [FC_CALLOC] = {ENOMEM},
};

static const char *errno_name(int e)
{
    switch (e) {
    case ENOMEM: return "ENOMEM"; case EPERM: return "EPERM"; case EACCES: return "EACCES";
    case EINVAL: return "EINVAL"; case EAGAIN: return "EAGAIN"; case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE"; case ENOSPC: return "ENOSPC"; case EFBIG: return "EFBIG";
    case EIO: return "EIO"; case ENOSYS: return "ENOSYS"; case EINTR: return "EINTR";
    }
    return "?";
}

/* ---- one run -------------------------------------------------------- */

static long cases, injected, absorbed, failures;
static char where[256]; /* scenario, strategy, N, errno of the run */
static int planned_err;
static long planned_n;

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (failures < 40 || getenv("FAULT_VERBOSE")) {
        fprintf(stderr, "  FAIL %s: ", where);
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, " [last error: %s]\n", jb_last_error());
    }
    va_end(ap);
    failures++;
}

#define MAXB 8
typedef struct {
    jb_region *r;
    jb_wx wx;
    uint8_t *blk[MAXB];
    size_t len[MAXB];
    int ret[MAXB]; /* what each block's code returns, 0: not code */
    uint8_t shadow[MAXB][64];
    int stuck;     /* a failed call left pages not executable (its
                      sentence says so): a later write restores them */
    long fired_at; /* fault_fired() seen before the current call */
} world;

typedef struct { jb_info i; uint8_t bytes[MAXB][64]; } snapshot;

static void snap(const world *w, snapshot *s)
{
    memset(s, 0, sizeof *s);
    if (jb_region_info(w->r, &s->i) != 0)
        fail("jb_region_info failed");
    for (int k = 0; k < MAXB; k++)
        if (w->blk[k])
            memcpy(s->bytes[k], w->blk[k], w->len[k] < 64 ? w->len[k] : 64);
}

/* Did the planned fault fire during the call just made? */
static int fired_now(world *w)
{
    int f = fault_fired() && !w->fired_at;
    if (f)
        w->fired_at = 1;
    return f;
}

/* The check after every jitbuf call: rc, the sentence, nothing changed. */
static int after(world *w, const char *call, int rc, const snapshot *before)
{
    int f = fired_now(w);
    if (rc == 0)
        return 0;
    const char *s = jb_last_error();
    if (!f) {
        fail("%s failed with %s although no fault fired", call, jb_err_name(rc));
        return rc;
    }
    fault_call kind = fault_kind(planned_n);
    const char *callname = kind == FC_CALLOC ? "memory" : fault_call_name[kind];
    if (!strstr(s, errno_name(planned_err)) && kind != FC_CALLOC)
        fail("%s: the sentence does not name %s", call, errno_name(planned_err));
    if (!strstr(s, callname))
        fail("%s: the sentence does not name %s", call, callname);
    char fn[64];
    snprintf(fn, sizeof fn, "%.*s", (int)strcspn(call, "("), call);
    if (strncmp(s, fn, strlen(fn)))
        fail("%s: the sentence does not start with the jitbuf call", fn);
    if (strlen(s) < 40)
        fail("%s: a short sentence", call);
    if ((planned_err == EPERM || planned_err == EACCES) && strstr(s, "address space"))
        fail("%s: a policy refusal (%s) reported as exhausted address space", call,
             errno_name(planned_err));
    if (!before)
        return rc;
    if (strstr(s, "executable again"))
        w->stuck = 1;
    int wrote = strstr(s, "were written") || strstr(s, "was done") || strstr(s, "callback ran");
    int freed = strstr(s, "blocks are freed") || strstr(s, "fill was done") ||
                strstr(s, "it is freed");
    snapshot now;
    snap(w, &now);
    if (!freed &&
        (now.i.blocks != before->i.blocks || now.i.used != before->i.used ||
         now.i.committed != before->i.committed || now.i.pools != before->i.pools))
        fail("%s failed but changed the region (blocks %zu->%zu, committed %zu->%zu)", call,
             before->i.blocks, now.i.blocks, before->i.committed, now.i.committed);
    if (!wrote && memcmp(now.bytes, before->bytes, sizeof now.bytes))
        fail("%s failed but changed code bytes", call);
    return rc;
}

#define CALL(w, expr)                                                          \
    ({                                                                         \
        snapshot b_;                                                           \
        snap(w, &b_);                                                          \
        after(w, #expr, (expr), &b_);                                          \
    })
#define CALL_NOSNAP(w, name, expr) after(w, name, (expr), NULL)

static int put(world *w, int k, int v);

static void run_all(world *w)
{
    for (int k = 0; k < MAXB && w->stuck; k++)
        if (w->blk[k] && w->ret[k]) {
            w->stuck = 0;
            put(w, k, w->ret[k]); /* as documented: a later write restores */
        }
    if (w->stuck)
        return;
    for (int k = 0; k < MAXB; k++)
        if (w->blk[k] && w->ret[k] && ((int (*)(void))(void *)w->blk[k])() != w->ret[k])
            fail("block %d returns the wrong value", k);
}

/* nop x3; mov eax, v; ret: the imm32 is 4-aligned, for jb_patch */
static size_t code_ret(uint8_t *b, int v)
{
    b[0] = b[1] = b[2] = 0x90;
    b[3] = 0xb8;
    memcpy(b + 4, &v, 4);
    b[8] = 0xc3;
    return 9;
}

static int fill_alias(void *p)
{
    world *w = p;
    uint8_t *a = jb_writable(w->r, w->blk[1]);
    if (!a)
        return 1;
    code_ret(a, 222);
    return 0;
}

/* One jb_write_batch of 65 items (one more than it checks without an
 * allocation): 64 copies of code returning v0 into block j, then code
 * returning v1 into block k; on success (or "were written") remember it. */
static void put_batch(world *w, int j, int v0, int k, int v1)
{
    static uint8_t c0[16], c1[16];
    jb_write_item it[65];
    code_ret(c0, v0);
    code_ret(c1, v1);
    for (int i = 0; i < 64; i++)
        it[i] = (jb_write_item){w->blk[j], c0, 9};
    it[64] = (jb_write_item){w->blk[k], c1, 9};
    if (CALL(w, jb_write_batch(w->r, it, 65)) == 0 || strstr(jb_last_error(), "were written"))
        w->ret[j] = v0, w->ret[k] = v1;
}

/* Write code returning v into block k; on success remember it. */
static int put(world *w, int k, int v)
{
    uint8_t code[16];
    code_ret(code, v);
    if (CALL(w, jb_write(w->r, w->blk[k], code, 9)) == 0)
        w->ret[k] = v;
    else if (strstr(jb_last_error(), "were written"))
        w->ret[k] = v; /* written; the next write restores execution */
    return 0;
}

/* ---- scenarios ----------------------------------------------------- */

/* open, two blocks on one page, write, patch, write_with, grow with a big
 * block, free, trim, reuse, a site's open, stores and close, a batch, info,
 * sync_threads, close. */
static void lifecycle(world *w)
{
    jb_options o = {1 << 20, w->wx, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
    int rc = CALL_NOSNAP(w, "jb_region_open", jb_region_open(&w->r, &o));
    if (rc < 0)
        return;
    jb_info i;
    jb_region_info(w->r, &i);
    if (w->wx == JB_WX_AUTO && w->fired_at) { /* the fault was absorbed */
        fault_call kind = fault_kind(planned_n);
        if (i.wx == JB_WX_DUALMAP && !(kind == FC_MEMFD && planned_err == EINVAL) &&
            kind != FC_CLOSE)
            fail("auto kept dualmap after a fault in it");
        if (i.wx == JB_WX_MPROTECT && !strstr(i.why, errno_name(planned_err)))
            fail("auto fell back, but why does not say %s: %s", errno_name(planned_err), i.why);
        if (i.wx == JB_WX_MPROTECT)
            absorbed++;
    } else if (w->fired_at && fault_kind(planned_n) != FC_CLOSE &&
               !(fault_kind(planned_n) == FC_MEMFD && planned_err == EINVAL)) {
        fail("jb_region_open(%s) succeeded although the fault fired", jb_wx_name(w->wx));
    }
    for (int k = 0; k < 2; k++) {
        w->len[k] = 64;
        if (CALL(w, jb_alloc(w->r, 64, 16, (void **)&w->blk[k])) < 0)
            w->blk[k] = NULL;
    }
    if (!w->blk[0] || !w->blk[1])
        return;
    put(w, 0, 100);
    put(w, 1, 101);
    if (w->ret[0] && CALL(w, jb_patch(w->r, w->blk[0] + 4, 7, 4)) == 0)
        w->ret[0] = 7;
    if (CALL(w, jb_write_with(w->r, w->blk[1], 64, fill_alias, w)) == 0 ||
        strstr(jb_last_error(), "callback ran"))
        w->ret[1] = 222;
    /* Grow: a block beyond the first 256 KiB. */
    w->len[2] = 300 << 10;
    if (CALL(w, jb_alloc(w->r, 300 << 10, 16, (void **)&w->blk[2])) < 0)
        w->blk[2] = NULL;
    if (w->blk[2]) {
        put(w, 2, 102);
        int frc = CALL(w, jb_free(w->r, w->blk[2]));
        if (frc == 0 || strstr(jb_last_error(), "fill was done"))
            w->blk[2] = NULL, w->ret[2] = 0;
    }
    /* A block that holds only traps (never written): a failed free says
     * whether it freed it (after() holds it to that). */
    uint8_t *traps_only;
    if (CALL(w, jb_alloc(w->r, 64, 16, (void **)&traps_only)) == 0 &&
        CALL(w, jb_free(w->r, traps_only)) < 0 && !strstr(jb_last_error(), "is freed") &&
        !strstr(jb_last_error(), "fill was done") && fault_fired() &&
        jb_free(w->r, traps_only) != 0)
        fail("a failed jb_free left a live block it could not free later: %s", jb_last_error());
    size_t rel = 0;
    CALL(w, jb_region_trim(w->r, &rel));
    put(w, 0, 103); /* any write restores pages a failed close left */
    run_all(w);
    int frc = CALL(w, jb_free(w->r, w->blk[0]));
    if (frc == 0 || strstr(jb_last_error(), "fill was done")) {
        uint8_t *old = w->blk[0];
        w->blk[0] = NULL, w->ret[0] = 0;
        uint8_t *again;
        if (CALL(w, jb_alloc(w->r, 64, 16, (void **)&again)) == 0) {
            for (int k = 0; k < 64; k++)
                if (again[k] != 0xcc) {
                    fail("a new block %s holds old bytes", again == old ? "(the freed one)" : "");
                    break;
                }
            w->blk[3] = again, w->len[3] = 64;
            put(w, 3, 104);
        }
    }
    put(w, 1, 105);
    run_all(w);
    /* Through a site: its open may fail for its record's memory, its
     * stores take jb_patch's and jb_write's path under mprotect (and leave
     * what they leave), its close makes no system call. */
    jb_site site;
    if (CALL(w, jb_site_open(w->r, w->blk[1], &site)) == 0) {
        uint8_t code[16];
        code_ret(code, 109);
        if (CALL(w, jb_site_patch(&site, w->blk[1] + 4, 108, 4)) == 0 ||
            strstr(jb_last_error(), "were written"))
            w->ret[1] = 108;
        if (CALL(w, jb_site_write(&site, w->blk[1], code, 9)) == 0 ||
            strstr(jb_last_error(), "were written"))
            w->ret[1] = 109;
        run_all(w);
        CALL(w, jb_site_close(&site));
    }
    if (w->blk[3]) {
        put_batch(w, 3, 106, 1, 107);
        run_all(w);
    }
    /* One jb_free_batch of a block with code and 64 that hold traps (one
     * more than it frees without an allocation): all of them are freed,
     * or, sentence "nothing was freed", none. */
    w->len[4] = 64;
    if (CALL(w, jb_alloc(w->r, 64, 16, (void **)&w->blk[4])) < 0)
        w->blk[4] = NULL;
    if (w->blk[4]) {
        void *fb[65] = {w->blk[4]};
        int n = 1;
        put(w, 4, 110);
        run_all(w);
        while (n < 65 && jb_alloc(w->r, 16, 16, &fb[n]) == 0)
            n++;
        int brc = CALL(w, jb_free_batch(w->r, fb, (size_t)n));
        if (brc == 0 || strstr(jb_last_error(), "blocks are freed"))
            w->blk[4] = NULL, w->ret[4] = 0;
        else if (!strstr(jb_last_error(), "nothing was freed"))
            fail("a failed jb_free_batch does not say whether it freed: %s", jb_last_error());
        else if (jb_free_batch(w->r, fb, (size_t)n) == 0)
            w->blk[4] = NULL, w->ret[4] = 0;
        else
            fail("a jb_free_batch that freed nothing cannot free later: %s", jb_last_error());
        run_all(w);
    }
    /* A failure is not remembered: a call after a failed one works. */
    CALL_NOSNAP(w, "jb_sync_threads", jb_sync_threads(w->r));
    CALL_NOSNAP(w, "jb_sync_threads", jb_sync_threads(w->r));
}

/* Two handles on the process-wide region (pools): closing the first
 * frees its blocks (trap fills), closing the second unmaps. */
static void pools(world *w)
{
    jb_options o = {1 << 20, w->wx, JB_OPEN_NO_ENV};
    jb_region *first;
    if (CALL_NOSNAP(w, "jb_region_open", jb_region_open(&first, &o)) < 0)
        return;
    if (CALL_NOSNAP(w, "jb_region_open", jb_region_open(&w->r, &o)) < 0) {
        jb_region_close(first);
        return;
    }
    world v = *w;
    v.r = first;
    v.len[0] = 64;
    if (CALL(&v, jb_alloc(first, 64, 16, (void **)&v.blk[0])) == 0)
        put(&v, 0, 5);
    w->fired_at = v.fired_at;
    /* A refused fill still closes the handle; its block, if it kept its
     * code, is never handed out again. */
    CALL_NOSNAP(w, "jb_region_close", jb_region_close(first));
    if (jb_region_close(first) != JB_ECLOSED)
        fail("the first handle is still open after its close");
    w->len[0] = 64;
    if (CALL(w, jb_alloc(w->r, 64, 16, (void **)&w->blk[0])) == 0) {
        for (int k = 0; k < 64; k++)
            if (w->blk[0][k] != 0xcc) {
                fail("a block handed out after the close holds old bytes");
                break;
            }
        put(w, 0, 6);
    }
    run_all(w);
}

/* jb_sync_threads in a fresh child each time (the first call chooses the
 * membarrier command for the process): a failed query or command is an
 * error naming membarrier and the errno, a failed registration falls
 * back to a weaker command, and the next call works again. */
static int sync_matrix(void)
{
    long calls = 3; /* query, register, the command itself */
    int ok = 1;
    for (long n = 1; n <= calls; n++)
        for (int k = 0; k < 3; k++) {
            int e = errnos[FC_MEMBARRIER][k];
            pid_t pid = fork();
            if (pid == 0) {
                jb_options o = {0, JB_WX_DUALMAP, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
                jb_region *r;
                if (jb_region_open(&r, &o))
                    _exit(10);
                fault_plan(n, e);
                int rc = jb_sync_threads(r);
                int arg = fault_arg(n);
                fault_plan(0, 0);
                int registering = arg == MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE ||
                                  arg == MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED;
                if (rc == 0 && !registering)
                    _exit(11); /* a failed query or command went unnoticed */
                if (rc < 0 && (!strstr(jb_last_error(), "membarrier") ||
                               !strstr(jb_last_error(), errno_name(e)) ||
                               !strstr(jb_last_error(), "jb_sync_threads")))
                    _exit(12);
                if (jb_sync_threads(r) != 0)
                    _exit(13); /* the failure was remembered */
                jb_region_close(r);
                _exit(0);
            }
            int st;
            waitpid(pid, &st, 0);
            cases++, injected++;
            if (!WIFEXITED(st) || WEXITSTATUS(st)) {
                fprintf(stderr, "  FAIL sync_threads: membarrier call %ld fails with %s: "
                                "status %#x\n", n, errno_name(e), st);
                failures++, ok = 0;
            }
        }
    printf("[%s] sync_threads: membarrier calls 1-%ld, each failed in turn\n",
           ok ? "PASS" : "FAIL", calls);
    return ok;
}

/* One case that is not a fault matrix: count it, print its line, close
 * its region; 1 if it passed (bad is NULL). */
static int one_case(const char *name, const char *what, const char *bad, jb_region *r)
{
    cases++;
    if (bad) {
        fprintf(stderr, "  FAIL %s: %s\n", name, bad);
        failures++;
    }
    if (r)
        jb_region_close(r);
    printf("[%s] %s: %s\n", bad ? "FAIL" : "PASS", name, what);
    return !bad;
}

/* jb_begin racing a free of its block and a bigger jb_alloc at the same
 * address, made in the gap where jb_begin allocates the staging copy: the
 * record must describe the block now there (an undersized copy is a heap
 * overflow, which ASan reports, on the next edit of the whole block). */
typedef struct {
    jb_region *r;
    uint8_t *x, *y;
} regrow;

static void free_and_regrow(void *p)
{
    regrow *g = p;
    if (jb_free(g->r, g->x) != 0 || jb_alloc(g->r, 4096, 16, (void **)&g->y) != 0)
        g->y = NULL;
}

static int begin_gap(void)
{
    jb_options o = {0, JB_WX_MPROTECT, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
    regrow g = {0};
    const char *bad = NULL;
    uint8_t *w;
    if (jb_region_open(&g.r, &o) || jb_alloc(g.r, 64, 16, (void **)&g.x))
        bad = jb_last_error();
    else {
        fault_on_aligned_alloc(free_and_regrow, &g);
        int rc = jb_begin(g.r, g.x, 64, JB_BEGIN_KEEP, (void **)&w);
        fault_on_aligned_alloc(NULL, NULL);
        if (g.y != g.x)
            bad = "the bigger block did not land at the freed address";
        else if (rc != 0 || jb_commit(g.r, g.x, 64) != 0)
            bad = jb_last_error();
        else if (jb_begin(g.r, g.y, 4096, 0, (void **)&w) != 0)
            bad = jb_last_error();
        else if (jb_executable(g.r, w + 4095) != g.y + 4095)
            bad = "the staging copy does not cover the whole block";
        else if (jb_commit(g.r, g.y, 4096) != 0)
            bad = jb_last_error();
    }
    return one_case("begin_gap", "a free and a bigger alloc inside jb_begin", bad, g.r);
}

/* A write through a stale pointer while jb_alloc carves a block at the
 * same place and backs its pages (dualmap's ftruncate, after a
 * jb_region_trim gave them back): it must fail and leave the new block
 * all traps. The write is made from another thread, as a lock-free write
 * would be, while the allocating thread is inside the ftruncate. Before
 * the block was carved as no pool's until backed, the write pinned it and
 * landed (and a write past the first kept step hit the truncated file:
 * SIGBUS). */
typedef struct {
    jb_region *r;
    uint8_t *x;
    int rc;
} stale_write;

static void *write_stale(void *p)
{
    stale_write *s = p;
    uint8_t code[64];
    memset(code, 0x90, sizeof code);
    s->rc = jb_write(s->r, s->x, code, sizeof code);
    return NULL;
}

static void write_from_a_thread(void *p)
{
    pthread_t t;
    if (pthread_create(&t, NULL, write_stale, p) == 0)
        pthread_join(t, NULL);
}

static int alloc_gap(void)
{
    jb_options o = {0, JB_WX_DUALMAP, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
    stale_write s = {NULL, NULL, -1};
    uint8_t *y = NULL;
    const char *bad = NULL;
    if (jb_region_open(&s.r, &o) || jb_alloc(s.r, 1 << 20, 16, (void **)&s.x) ||
        jb_free(s.r, s.x) || jb_region_trim(s.r, NULL))
        bad = jb_last_error();
    else {
        s.rc = 1; /* not run */
        fault_on_ftruncate(write_from_a_thread, &s);
        int rc = jb_alloc(s.r, 1 << 20, 16, (void **)&y);
        fault_on_ftruncate(NULL, NULL);
        if (rc != 0)
            bad = jb_last_error();
        else if (y != s.x)
            bad = "the block did not land at the freed address";
        else if (s.rc == 1)
            bad = "jb_alloc did not back pages with ftruncate";
        else if (s.rc != JB_ERANGE)
            bad = "the stale write was not refused with JB_ERANGE";
        else
            for (size_t i = 0; i < 64 && !bad; i++)
                if (y[i] != 0xcc)
                    bad = "the new block holds the stale write's bytes";
    }
    return one_case("alloc_gap", "a stale write while jb_alloc backs the block", bad, s.r);
}

/* jb_abort fills its range with traps after it has closed the edit: a
 * free of the block in that gap (made here from inside the abort's fill of
 * its trap buffer) makes the abort's write fail, and the sentence names
 * jb_abort, the call the user made, not the write it is built on. */
typedef struct {
    jb_region *r;
    void *x;
    int rc;
} abort_free;

static void free_in_abort(void *p)
{
    abort_free *f = p;
    f->rc = jb_free(f->r, f->x);
}

static int abort_gap(void)
{
    jb_options o = {0, JB_WX_DUALMAP, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
    abort_free f = {NULL, NULL, -1};
    void *w;
    const char *bad = NULL;
    if (jb_region_open(&f.r, &o) || jb_alloc(f.r, 64, 16, &f.x) ||
        jb_begin(f.r, f.x, 64, 0, &w))
        bad = jb_last_error();
    else {
        fault_on_trap_fill(free_in_abort, &f);
        int rc = jb_abort(f.r, f.x);
        fault_on_trap_fill(NULL, NULL);
        if (f.rc != 0)
            bad = "the free inside jb_abort failed";
        else if (rc != JB_ERANGE)
            bad = "jb_abort of a block freed meanwhile did not fail with JB_ERANGE";
        else if (strncmp(jb_last_error(), "jb_abort: ", 10))
            bad = "the sentence does not name jb_abort";
    }
    if (bad)
        fprintf(stderr, "  abort_gap: %s\n", jb_last_error());
    return one_case("abort_gap", "a free inside jb_abort's trap fill", bad, f.r);
}

/* fork() while a jb_free on the cache path is filling its block with no
 * lock held: the child, which does not have that thread, finishes the free
 * (the block is not left claimed and counted as used for good). The fork
 * is made from inside the fill. */
typedef struct {
    jb_region *r;
    pid_t pid;
} fill_fork;

static void fork_in_fill(void *p)
{
    fill_fork *f = p;
    f->pid = fork();
    if (f->pid != 0)
        return;
    jb_info i;
    void *y;
    int bad = jb_region_info(f->r, &i) != 0 || i.blocks != 0 || i.used != 0;
    bad = bad || jb_alloc(f->r, 64, 16, &y) != 0 || jb_free(f->r, y) != 0;
    _exit(bad);
}

static int free_fork(void)
{
    jb_options o = {0, JB_WX_DUALMAP, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
    fill_fork f = {NULL, -1};
    void *x;
    const char *bad = NULL;
    if (jb_region_open(&f.r, &o) || jb_alloc(f.r, 64, 16, &x))
        bad = jb_last_error();
    else {
        fault_on_trap_fill(fork_in_fill, &f);
        int rc = jb_free(f.r, x);
        fault_on_trap_fill(NULL, NULL);
        int st = 0;
        if (rc != 0)
            bad = jb_last_error();
        else if (f.pid <= 0 || waitpid(f.pid, &st, 0) != f.pid)
            bad = "no fork was made inside the fill";
        else if (!WIFEXITED(st) || WEXITSTATUS(st))
            bad = "in the child the block being freed stays claimed";
    }
    return one_case("free_fork", "fork() inside a cache-path jb_free", bad, f.r);
}

/* jb_write_batch's system calls, counted: under mprotect one window for
 * a batch whose items lie on adjoining pages (one mprotect pair, however
 * many pages), one per run when a page none of them is on lies between
 * (that page never flips), and one allocation for a batch of more than 64
 * items; under dualmap no call but that allocation. */
static int batch_calls(void)
{
    static const jb_wx wxs[] = {JB_WX_MPROTECT, JB_WX_DUALMAP};
    const char *bad = NULL;
    static char why[256];
    for (size_t x = 0; x < 2 && !bad; x++) {
        jb_options o = {0, wxs[x], JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
        jb_region *r;
        if (jb_region_open(&r, &o)) {
            bad = jb_last_error();
            break;
        }
        enum { K = 8, N = 65 };
        uint8_t *blk[K], code[16];
        jb_write_item it[N];
        size_t n = code_ret(code, 5);
        for (int k = 0; k < K && !bad; k++)
            if (jb_alloc(r, 4096, 4096, (void **)&blk[k])) /* a page each */
                bad = jb_last_error();
        for (int i = 0; i < N; i++)
            it[i] = (jb_write_item){blk[i % K], code, n};
        /* A first write makes this thread's window tally for the region
         * (count.c allocates it once), so that only the batch is counted. */
        if (!bad && jb_write(r, blk[0], code, n))
            bad = jb_last_error();
        for (int big = 0; big < 2 && !bad; big++) {
            fault_plan(0, 0);
            if (jb_write_batch(r, it, big ? N : K)) {
                bad = jb_last_error();
                break;
            }
            long mp = 0, al = 0, all = fault_count();
            for (long c = 1; c <= all; c++)
                mp += fault_kind(c) == FC_MPROTECT, al += fault_kind(c) == FC_CALLOC;
            long want_mp = wxs[x] == JB_WX_MPROTECT ? 2 : 0;
            if (mp != want_mp || al != big || all != mp + al) {
                snprintf(why, sizeof why, "%s, %d items: %ld calls (%ld mprotect, %ld calloc)",
                         jb_wx_name(wxs[x]), big ? N : K, all, mp, al);
                bad = why;
            }
        }
        for (int k = 0; k < K && !bad; k++)
            if (((int (*)(void))(void *)blk[k])() != 5)
                bad = "a batched block does not run";
        /* Items on pages 0 and 2 of the run: page 1 (another block's code,
         * perhaps another handle's) must never flip, so two windows. */
        jb_write_item gap[2] = {{blk[0], code, n}, {blk[2], code, n}};
        fault_plan(0, 0);
        if (!bad && jb_write_batch(r, gap, 2))
            bad = jb_last_error();
        long mp = 0, all = fault_count();
        for (long c = 1; c <= all && !bad; c++) {
            uintptr_t at;
            size_t len;
            fault_range(c, &at, &len);
            mp += fault_kind(c) == FC_MPROTECT;
            if (fault_kind(c) == FC_MPROTECT && at < (uintptr_t)blk[1] + 4096 &&
                (uintptr_t)blk[1] < at + len)
                bad = "a batch flipped a page that none of its items is on";
        }
        if (!bad && wxs[x] == JB_WX_MPROTECT && mp != 4) {
            snprintf(why, sizeof why, "items on pages 0 and 2: %ld mprotect calls, not 4", mp);
            bad = why;
        }
        /* jb_free_batch fills in address order: blocks 3..7 (given out of
         * order) are one run, one window; then blocks 0 and 2 are two, and
         * block 1's page never flips. */
        void *tail[5] = {blk[3], blk[5], blk[7], blk[4], blk[6]}, *apart[2] = {blk[0], blk[2]};
        for (int step = 0; step < 2 && !bad; step++) {
            fault_plan(0, 0);
            if (jb_free_batch(r, step ? apart : tail, step ? 2 : 5)) {
                bad = jb_last_error();
                break;
            }
            mp = 0, all = fault_count();
            for (long c = 1; c <= all && !bad; c++) {
                uintptr_t at;
                size_t len;
                fault_range(c, &at, &len);
                mp += fault_kind(c) == FC_MPROTECT;
                if (step && fault_kind(c) == FC_MPROTECT && at < (uintptr_t)blk[1] + 4096 &&
                    (uintptr_t)blk[1] < at + len)
                    bad = "a batch free flipped a page that none of its blocks is on";
            }
            long want = wxs[x] == JB_WX_MPROTECT ? 2 * (step + 1) : 0;
            if (!bad && (mp != want || all != mp)) {
                snprintf(why, sizeof why, "%s, jb_free_batch of %s: %ld calls (%ld mprotect), "
                         "not %ld", jb_wx_name(wxs[x]), step ? "pages 0 and 2" : "pages 3..7",
                         all, mp, want);
                bad = why;
            }
        }
        if (!bad && ((int (*)(void))(void *)blk[1])() != 5)
            bad = "the block between a batch free's runs does not run";
        jb_region_close(r);
    }
    return one_case("batch_calls",
                    "jb_write_batch, jb_free_batch: one mprotect pair per run of adjoining pages",
                    bad, NULL);
}

/* auto's story survives whole: for each of the first calls of a dualmap
 * open failed in turn, the sentence dualmap alone gives is in auto's
 * jb_info.why (auto then runs under mprotect), and in full. */
static int auto_story(void)
{
    jb_options dm = {0, JB_WX_DUALMAP, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
    jb_options au = {0, JB_WX_AUTO, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
    int ok = 1;
    size_t longest = 0, longest_why = 0;
    static const int es[] = {EMFILE, ENOMEM, EPERM, EACCES, EINVAL, ENOSPC};
    for (long n = 1; n <= 12 * 6; n++) {
        jb_region *r;
        int e = es[(n - 1) % 6];
        long call = (n - 1) / 6 + 1;
        fault_plan(call, e);
        int rc = jb_region_open(&r, &dm);
        fault_plan(0, 0);
        if (rc == 0) {
            jb_region_close(r);
            continue;
        }
        char alone[8192];
        const char *s = jb_last_error(), *colon = strstr(s, ": ");
        snprintf(alone, sizeof alone, "%s", colon && !strncmp(s, "jb_region_open", 14) ? colon + 2 : s);
        if (fault_kind(call) == FC_CALLOC) /* the core's, not dualmap's: auto fails too */
            continue;
        fault_plan(call, e);
        rc = jb_region_open(&r, &au);
        fault_plan(0, 0);
        cases++;
        jb_info i;
        if (rc != 0 || jb_region_info(r, &i) != 0 || !strstr(i.why, alone)) {
            fprintf(stderr, "  FAIL auto_story: call %ld fails with %s: dualmap alone says \"%s\"; auto %s\n", call, errno_name(e),
                    alone, rc ? jb_last_error() : i.why);
            failures++, ok = 0;
        }
        if (strlen(alone) > longest)
            longest = strlen(alone);
        if (rc == 0 && strlen(i.why) + 1 > longest_why)
            longest_why = strlen(i.why) + 1;
        if (rc == 0)
            jb_region_close(r);
    }
    printf("[%s] auto_story: dualmap's sentence whole in auto's why (longest %zu chars; "
           "why up to %zu bytes)\n", ok ? "PASS" : "FAIL", longest, longest_why);
    return ok;
}

/* fork: under dualmap the parent copies the code for the child; a fault
 * there (or in the child's mapping of the copy) leaves the child cut off
 * from the region, never sharing the parent's code. */
static void forked(world *w)
{
    jb_options o = {1 << 20, w->wx, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
    if (CALL_NOSNAP(w, "jb_region_open", jb_region_open(&w->r, &o)) < 0)
        return;
    w->len[0] = 64;
    if (CALL(w, jb_alloc(w->r, 64, 16, (void **)&w->blk[0])) < 0)
        return;
    put(w, 0, 9);
    if (!w->ret[0])
        return;
    uint8_t *fn = w->blk[0];
    pid_t pid = fork();
    if (pid == 0) {
        uint8_t code[16];
        code_ret(code, 19);
        int rc = jb_write(w->r, fn, code, 9);
        if (rc == 0)
            _exit(((int (*)(void))(void *)fn)() == 19 ? 0 : 1);
        /* The fault reached the child (the plan is inherited): cut off
         * from the region (dualmap), or a refused window (mprotect); the
         * sentence names the failed call and errno either way. */
        const char *s = jb_last_error();
        int ok = strstr(s, errno_name(planned_err)) &&
                 strstr(s, fault_call_name[fault_kind(planned_n)]);
        _exit(ok ? 0 : 2);
    }
    if (pid < 0) {
        fail("fork failed");
        return;
    }
    put(w, 0, 29); /* the parent changes its code at once */
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail("the child found a wrong region after fork (status %#x)", st);
    run_all(w);
}

/* ---- the driver ----------------------------------------------------- */

static int count_memfds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *e;
    char path[300], link[128];
    while (d && (e = readdir(d))) {
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t k = readlink(path, link, sizeof link - 1);
        if (k > 0) {
            link[k] = 0;
            n += strstr(link, "memfd:jitbuf") != NULL;
        }
    }
    if (d) closedir(d);
    return n;
}

/* Mappings overlapping [p, p + n), or of the jitbuf memfd. */
static int count_maps(const void *p, size_t n)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int k = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
            continue;
        k += strstr(line, "memfd:jitbuf") != NULL ||
             (p && lo < (uintptr_t)p + n && (uintptr_t)p < hi);
    }
    if (f) fclose(f);
    return k;
}

static void finish(world *w)
{
    if (!w->r)
        return;
    jb_info i;
    void *base = NULL;
    size_t size = 0;
    if (jb_region_info(w->r, &i) == 0)
        base = i.exec_base, size = i.reserved;
    /* A failed release keeps the handle open, to be closed again; a
     * refused trap fill closes it anyway (jitbuf.h). */
    int rc = CALL_NOSNAP(w, "jb_region_close", jb_region_close(w->r));
    if (rc < 0 && strstr(jb_last_error(), "stays open") && jb_region_close(w->r) != 0)
        fail("jb_region_close failed again after the fault: %s", jb_last_error());
    if (jb_region_close(w->r) != JB_ECLOSED)
        fail("the handle is still open after close");
    int left = count_maps(base, size);
    if (left)
        fail("%d mappings of the region left after close", left);
    if (count_memfds())
        fail("%d memfd descriptors left after close", count_memfds());
}

typedef struct { const char *name; void (*fn)(world *); } scenario;

static int run_matrix(const scenario *sc, jb_wx wx)
{
    long fail_before = failures;
    world w = {0};
    w.wx = wx;
    snprintf(where, sizeof where, "%s/%s clean", sc->name, jb_wx_name(wx));
    planned_n = 0;
    long calls = 0;
    for (int warm = 0; warm < 2; warm++) { /* the first run of a process makes
                                              a few calls once (tables) */
        memset(&w, 0, sizeof w);
        w.wx = wx;
        fault_plan(0, 0);
        sc->fn(&w);
        finish(&w); /* the close's calls are failed in turn too */
        calls = fault_count();
    }
    if (calls > FAULT_LOG)
        calls = FAULT_LOG;
    long kinds[FAULT_LOG + 1];
    for (long n = 1; n <= calls; n++)
        kinds[n] = fault_kind(n);
    for (long n = 1; n <= calls; n++) {
        const int *es = errnos[kinds[n]];
        for (int k = 0; k < 5 && es[k]; k++) {
            memset(&w, 0, sizeof w);
            w.wx = wx;
            planned_n = n;
            planned_err = es[k];
            snprintf(where, sizeof where, "%s/%s: call %ld (%s) fails with %s", sc->name,
                     jb_wx_name(wx), n, fault_call_name[kinds[n]], errno_name(es[k]));
            if (getenv("FAULT_VERBOSE")) /* which case crashed */
                fprintf(stderr, "%s\n", where);
            fault_plan(n, es[k]);
            sc->fn(&w);
            finish(&w);
            if (fault_fired())
                injected++;
            fault_plan(0, 0);
            cases++;
        }
    }
    int ok = failures == fail_before;
    printf("[%s] %s/%s: %ld calls, each failed in turn\n", ok ? "PASS" : "FAIL", sc->name,
           jb_wx_name(wx), calls);
    return ok;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    static const scenario scs[] = {{"lifecycle", lifecycle}, {"pools", pools}, {"fork", forked}};
    static const jb_wx wxs[] = {JB_WX_AUTO, JB_WX_DUALMAP, JB_WX_MPROTECT, JB_WX_RWX};
    int passed = 0, failed = 0;
    const char *only = argc > 1 ? argv[1] : ""; /* a substring of "scenario/strategy" */
    if (strstr("sync_threads", only))
        sync_matrix() ? passed++ : failed++; /* first: no command chosen yet */
    if (strstr("begin_gap", only))
        begin_gap() ? passed++ : failed++;
    if (strstr("free_fork", only))
        free_fork() ? passed++ : failed++;
    if (strstr("alloc_gap", only))
        alloc_gap() ? passed++ : failed++;
    if (strstr("abort_gap", only))
        abort_gap() ? passed++ : failed++;
    if (strstr("auto_story", only))
        auto_story() ? passed++ : failed++;
    if (strstr("batch_calls", only))
        batch_calls() ? passed++ : failed++;
    for (size_t s = 0; s < sizeof scs / sizeof scs[0]; s++)
        for (size_t x = 0; x < sizeof wxs / sizeof wxs[0]; x++) {
            char name[64];
            snprintf(name, sizeof name, "%s/%s", scs[s].name, jb_wx_name(wxs[x]));
            if (strstr(name, only))
                run_matrix(&scs[s], wxs[x]) ? passed++ : failed++;
        }
    printf("fault matrix: %ld cases, %ld faults injected (%ld absorbed by auto's fallback), "
           "%ld failures\n", cases, injected, absorbed, failures);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
