/* What the execution suites share (tests/exec/x64.c natively, a64.c under
 * qemu-aarch64): turning a cursor's bytes into a callable function through
 * jitbuf's own write path, and the operand values every suite tries. */
#ifndef JB_TEST_EXEC_H
#define JB_TEST_EXEC_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "jitbuf/emit.h"

static jb_region *exec_region;

/* The suites' region (dualmap: never writable and executable at one
 * address), opened on first use; NULL and a failed check on error. */
static inline jb_region *exec_open(void)
{
    if (!exec_region) {
        jb_options o = {0, JB_WX_DUALMAP, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
        if (jb_region_open(&exec_region, &o) != 0) {
            fprintf(stderr, "  open: %s\n", jb_last_error());
            failed_checks++;
            return NULL;
        }
    }
    return exec_region;
}

/* Install what e emitted through the checked path (jb_emit_install); NULL
 * and a failed check on any error. */
static inline void *install(jb_emit *e)
{
    void *fn = NULL;
    jb_region *r = exec_open();
    if (r && jb_emit_install(e, r, 16, &fn) != 0) {
        fprintf(stderr, "  install: %s\n", jb_last_error());
        failed_checks++;
        return NULL;
    }
    return fn;
}

/* Operands: the edges of every width, then pseudo-random values. */
static inline int64_t operand(unsigned k)
{
    static const int64_t edge[] = {0, 1, -1, 2, 7, -8, 127, -128, 255, 0x7fff, -0x8000, 0xffff,
                                   INT32_MAX, INT32_MIN, 0xffffffffll, INT64_MAX, INT64_MIN,
                                   0x0123456789abcdefll, -0x0123456789abcdefll};
    const unsigned n = sizeof edge / sizeof edge[0];
    if (k < n)
        return edge[k];
    uint64_t x = 0x9e3779b97f4a7c15ull * (k + 1);
    x ^= x >> 29;
    return (int64_t)(x >> (k % 48));
}
#define N_OPERANDS 64u

/* The seven load widths in the order these tests index them. */
static const jb_type W7[7] = {JB_U8, JB_S8, JB_U16, JB_S16, JB_U32, JB_S32, JB_U64};

typedef int64_t (*fn2)(int64_t, int64_t);

/* Run every operation 0..nops-1 as long f(long a, long b), built by emit,
 * against ref over the operand pairs; ref sets *skip where the
 * architecture traps (x86 division). */
static inline void check_ops(int nops, void (*emit)(jb_emit *, int),
                      int64_t (*ref)(int, int64_t, int64_t, int *))
{
    static uint8_t buf[256];
    for (int op = 0; op < nops; op++) {
        jb_emit e;
        jb_emit_init(&e, buf, sizeof buf);
        emit(&e, op);
        fn2 f = (fn2)install(&e);
        jb_emit_free(&e);
        CHECK(f, "op %d", op);
        for (unsigned i = 0; i < N_OPERANDS; i++)
            for (unsigned j = 0; j < N_OPERANDS; j += 3) {
                int64_t a = operand(i), b = operand(j);
                int skip = 0;
                int64_t want = ref(op, a, b, &skip);
                if (skip)
                    continue;
                int64_t got = f(a, b);
                CHECK(got == want, "op %d (%lld, %lld) = %lld, want %lld", op, (long long)a,
                      (long long)b, (long long)got, (long long)want);
            }
    }
}

/* The value at src read as width w (both arches number them U8, S8, U16,
 * S16, U32, S32, X64), widened to 64 bits as C does. */
static inline int64_t widen(unsigned w, const uint8_t *src)
{
    int16_t s16; uint16_t u16; int32_t s32; uint32_t u32; int64_t v;
    switch (w) {
    case 0: return src[0];
    case 1: return (int8_t)src[0];
    case 2: memcpy(&u16, src, 2); return u16;
    case 3: memcpy(&s16, src, 2); return s16;
    case 4: memcpy(&u32, src, 4); return u32;
    case 5: memcpy(&s32, src, 4); return s32;
    default: memcpy(&v, src, 8); return v;
    }
}

/* Three threads call fns[k](&counter, 1) 20,000 times each: an atomic
 * increment must leave 60,000. */
static int64_t shared_counter;
static void *shared_fn[3];
static void *hammer(void *arg)
{
    fn2 f = (fn2)shared_fn[(intptr_t)arg];
    for (int i = 0; i < 20000; i++)
        f((int64_t)(uintptr_t)&shared_counter, 1);
    return NULL;
}
static inline int64_t hammer_counter(void)
{
    pthread_t t[3];
    shared_counter = 0;
    for (intptr_t k = 0; k < 3; k++) pthread_create(&t[k], NULL, hammer, (void *)k);
    for (int k = 0; k < 3; k++) pthread_join(t[k], NULL);
    return shared_counter;
}

/* main() of a suite: run the table, close the region. */
#define EXEC_MAIN(tests)                                                        \
    int main(int argc, char **argv)                                             \
    {                                                                           \
        int rc = run_tests(tests, sizeof tests / sizeof tests[0], argc, argv);  \
        if (exec_region)                                                        \
            jb_region_close(exec_region);                                       \
        return rc;                                                              \
    }

#endif
