/* What the execution suites share (tests/exec/x64.c natively, a64.c under
 * qemu-aarch64): turning a cursor's bytes into a callable function through
 * jitbuf's own write path, and the operand values every suite tries. */
#ifndef JB_TEST_EXEC_H
#define JB_TEST_EXEC_H

#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "jitbuf/emit.h"

static jb_region *exec_region;

/* Commit what e emitted into a new block (dualmap: never writable and
 * executable at one address); NULL and a failed check on any error. */
static void *install(jb_emit *e)
{
    size_t n;
    void *fn = NULL;
    if (jb_emit_finish(e, &n) != 0) {
        fprintf(stderr, "  emit: %s\n", jb_last_error());
        failed_checks++;
        return NULL;
    }
    if (!exec_region) {
        jb_options o = {0, JB_WX_DUALMAP, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
        if (jb_region_open(&exec_region, &o) != 0) {
            fprintf(stderr, "  open: %s\n", jb_last_error());
            failed_checks++;
            return NULL;
        }
    }
    if (jb_alloc(exec_region, n, 16, &fn) != 0 || jb_write(exec_region, fn, e->start, n) != 0) {
        fprintf(stderr, "  install: %s\n", jb_last_error());
        failed_checks++;
        return NULL;
    }
    return fn;
}

/* Operands: the edges of every width, then pseudo-random values. */
static int64_t operand(unsigned k)
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

typedef int64_t (*fn2)(int64_t, int64_t);

#endif
