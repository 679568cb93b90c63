/* libFuzzer target: forged requests to jitbuf's Darwin write callbacks
 * (jb_apple_write_copy/patch/fill), through the MODEL of Apple's JIT API
 * (tests/darwin/model.c): Apple's rules on Linux, not Apple's system.
 *
 * Each input drives one genuine jitbuf write (jb_write, jb_patch,
 * jb_free's trap fill, or a jb_write_batch of a copy into every block: one
 * callback over a request per copy) and one forgery made while that write
 * is in flight (the model's callback hook runs inside the OS call, with
 * the genuine request, or a batch's requests, at ctx):
 *   0  random bytes as the context
 *   1  the genuine request with one word changed (any bits)
 *   2  a stale request: an earlier genuine one, replayed in place
 *   3  the genuine request, submitted again from another thread
 *   4  the genuine request changed during the call, after the callback's
 *      liveness check (jb__map_live / jb__map_block_len, wrapped)
 * and a direct call of a callback outside any write. Every forgery must
 * trap (jitbuf's __builtin_trap, SIGILL here: caught and unwound to the
 * hook) and must write nothing: the region is compared with its bytes
 * before the forgery (for 4, the genuine write itself may have landed,
 * and for a batch the genuine copies before the forged request, each
 * whole: nothing else). A forgery that does not trap, or that wrote,
 * aborts. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jitbuf.h"
#include "model.h"

PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP(JB_APPLE_WRITE_CALLBACKS);

/* The request's words (src/os/darwin/callback.c): tag, where (region,
 * request number), kind, offset, length, source, value, item (a batch's
 * index and items left); a batch is one request per copy, in a row. An
 * attacker reads the layout as well. */
enum { WORDS = 8, W_OFF = 3, W_LEN = 4 };

static jb_region *r;
static uint8_t *base, *snap;
static size_t committed;
enum { NBLK = 4 };
static uint8_t *blk[NBLK];
static uint64_t stale[WORDS * NBLK];
static size_t stale_words;
static int have_stale;
static int batch_op;           /* the genuine write is a jb_write_batch */
static uint8_t genuine_code[6]; /* what each of its copies writes */

static struct {
    int mode, word;
    uint64_t flip;
    uint8_t junk[64];
} in;

static _Thread_local sigjmp_buf *trap_to;

static void on_trap(int sig)
{
    if (trap_to)
        siglongjmp(*trap_to, 1);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Call cb(ctx); 1 if it trapped. */
static int traps(pthread_jit_write_callback_t cb, void *ctx)
{
    sigjmp_buf here, *prev = trap_to;
    if (sigsetjmp(here, 1)) {
        trap_to = prev;
        return 1;
    }
    trap_to = &here;
    cb(ctx);
    trap_to = prev;
    return 0;
}

static void fail(const char *what)
{
    fprintf(stderr, "darwin_fuzz: %s (mode %d, word %d, flip %#llx)\n", what,
            in.mode, in.word, (unsigned long long)in.flip);
    abort();
}

/* 1 if byte i now holds what a genuine copy of the batch puts there. */
static int batch_wrote(size_t i)
{
    for (int k = 0; k < NBLK; k++) {
        size_t at = (size_t)(blk[k] - base);
        if (i >= at && i - at < sizeof genuine_code)
            return base[i] == genuine_code[i - at];
    }
    return 0;
}

/* Nothing changed, except possibly [off, off + len) (the genuine write),
 * or, of a batch, what its genuine copies write. */
static void unchanged_but(size_t off, size_t len)
{
    if (!memcmp(base, snap, committed))
        return;
    for (size_t i = 0; i < committed; i++)
        if (base[i] != snap[i] && !(i >= off && i - off < len) &&
            !(batch_op && batch_wrote(i)))
            fail("a forgery wrote to the region");
}

static void *other_thread(void *p)
{
    void **a = p;
    a[2] = (void *)(uintptr_t)traps((pthread_jit_write_callback_t)a[0], a[1]);
    return NULL;
}

/* Armed by mode 4: change a word after the callback's check. */
static uint64_t *during;
static int during_fired;
static void change_during(void)
{
    if (during) {
        during[in.word % (batch_op ? WORDS * NBLK : WORDS)] ^= in.flip;
        during = NULL;
        during_fired = 1;
    }
}
int __real_jb__map_live(const void *m, size_t off, size_t len);
int __wrap_jb__map_live(const void *m, size_t off, size_t len);
int __wrap_jb__map_live(const void *m, size_t off, size_t len)
{
    int v = __real_jb__map_live(m, off, len);
    change_during();
    return v;
}
size_t __real_jb__map_block_len(const void *m, size_t off);
size_t __wrap_jb__map_block_len(const void *m, size_t off);
size_t __wrap_jb__map_block_len(const void *m, size_t off)
{
    size_t v = __real_jb__map_block_len(m, off);
    change_during();
    return v;
}

static int hook(pthread_jit_write_callback_t cb, void *ctx)
{
    size_t words = batch_op ? WORDS * NBLK : WORDS;
    uint64_t genuine[WORDS * NBLK];
    memcpy(genuine, ctx, words * sizeof *genuine);
    memcpy(snap, base, committed);
    int trapped = 1, forged = 1;
    switch (in.mode) {
    case 0: /* random bytes, at another address */
        trapped = traps(cb, in.junk);
        break;
    case 1: /* one word changed */
        ((uint64_t *)ctx)[in.word % words] ^= in.flip;
        trapped = traps(cb, ctx);
        break;
    case 2: { /* stale: as much of it as the genuine request(s) hold */
        size_t n = stale_words < words ? stale_words : words;
        forged = have_stale && memcmp(stale, genuine, n * sizeof *stale);
        if (forged) {
            memcpy(ctx, stale, n * sizeof *stale);
            trapped = traps(cb, ctx);
        }
        break;
    }
    case 3: { /* another thread */
        void *a[3] = {(void *)cb, ctx, NULL};
        pthread_t t;
        pthread_create(&t, NULL, other_thread, a);
        pthread_join(t, NULL);
        trapped = a[2] != NULL;
        break;
    }
    case 4: /* changed during the call */
        during = ctx;
        during_fired = 0;
        trapped = traps(cb, ctx);
        during = NULL;
        forged = during_fired;
        break;
    }
    if (forged && !trapped)
        fail("a forged request did not trap");
    if (forged)
        unchanged_but(in.mode == 4 ? genuine[W_OFF] : 0,
                      in.mode == 4 ? genuine[W_LEN] : 0);
    memcpy(ctx, genuine, words * sizeof *genuine);
    memcpy(stale, genuine, words * sizeof *genuine);
    stale_words = words;
    have_stale = 1;
    return cb(ctx); /* the genuine write goes ahead */
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    jbm_config c = {.os_major = 13, .apple_silicon = 1, .hardened = 1,
                    .allow_jit = 1};
    jbm_configure(&c);
    jb_options o = {0, JB_WX_AUTO, JB_OPEN_NO_ENV};
    if (jb_region_open(&r, &o) < 0) {
        fprintf(stderr, "darwin_fuzz: %s\n", jb_last_error());
        abort();
    }
    jb_info i;
    jb_region_info(r, &i);
    base = i.exec_base;
    committed = i.committed;
    snap = malloc(committed);
    for (int k = 0; k < NBLK; k++)
        if (jb_alloc(r, 64, 16, (void **)&blk[k]) < 0)
            abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_trap;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGTRAP, &sa, NULL);
    in.mode = data[0] % 5;
    in.word = data[1] % (WORDS * NBLK);
    int op = data[2] % 4, b = data[3] % NBLK;
    in.flip = 0;
    memcpy(&in.flip, data + 4, size - 4 < 8 ? size - 4 : 8);
    if (!in.flip)
        in.flip = 1;
    memset(in.junk, 0, sizeof in.junk);
    if (size > 12)
        memcpy(in.junk, data + 12, size - 12 < 64 ? size - 12 : 64);
    /* A direct call outside any write: always a forgery. */
    if (!traps(jb_apple_write_copy, in.junk) ||
        !traps(jb_apple_write_patch, in.junk) ||
        !traps(jb_apple_write_fill, in.junk))
        fail("a direct call did not trap");
    uint8_t code[8] = {0xb8, data[3], 0, 0, 0, 0xc3, 0xcc, 0xcc};
    uint64_t unit;
    memcpy(&unit, code, 8);
    memcpy(genuine_code, code, sizeof genuine_code);
    jb_write_item items[NBLK];
    for (int k = 0; k < NBLK; k++)
        items[k] = (jb_write_item){blk[k], code, sizeof genuine_code};
    batch_op = op == 3;
    jbm_set_callback_hook(hook);
    int rc = op == 0   ? jb_write(r, blk[b], code, 6)
             : op == 1 ? jb_patch(r, blk[b], unit, 8)
             : op == 2 ? jb_free(r, blk[b])
                       : jb_write_batch(r, items, NBLK);
    jbm_set_callback_hook(NULL);
    if (rc < 0)
        fail(jb_last_error());
    if (op == 2 && jb_alloc(r, 64, 16, (void **)&blk[b]) < 0)
        fail(jb_last_error());
    if ((op == 0 || op == 1) && memcmp(blk[b], code, op == 0 ? 6 : 8))
        fail("the genuine write did not land");
    for (int k = 0; op == 3 && k < NBLK; k++)
        if (memcmp(blk[k], code, 6))
            fail("a copy of the genuine batch did not land");
    return 0;
}
