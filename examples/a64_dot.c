/* a64_dot: build a function with the arm64 emitters and run it.
 *
 *     int64_t dot(const int32_t *a, const int32_t *b, int64_t n)
 *
 * sums a[i] * b[i] with post-indexed sign-extending loads (ldrsw), madd, a
 * cbz guard and a counted loop over labels; the bytes are installed with
 * jb_emit_install (finish, jb_alloc, jb_write, which also makes the
 * instruction cache coherent) and
 * checked against the same loop in C. On another host it emits the code
 * and says why it did not run it; `make check-arm64` runs it under
 * qemu-aarch64.
 *
 * Run: make examples && ./build/examples/a64_dot */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "jitbuf.h"
#include "jitbuf/arm64.h"

typedef int64_t (*dot_fn)(const int32_t *, const int32_t *, int64_t);

/* AAPCS64: a = x0, b = x1, n = x2; result in x0. */
static int emit_dot(jb_emit *e)
{
    jb_label loop = jb_label_new(e), done = jb_label_new(e);
    jb_a64_movz(e, 3, 0, 0);                             /* sum = 0 */
    jb_a64_cmp_imm(e, 2, 0);
    jb_a64_bcond(e, JB_A64_LE, done);
    jb_label_bind(e, loop);
    jb_a64_load(e, JB_A64_S32, 4, 0, 4, JB_A64_POST);    /* x4 = *a++ */
    jb_a64_load(e, JB_A64_S32, 5, 1, 4, JB_A64_POST);    /* x5 = *b++ */
    jb_a64_madd(e, 3, 4, 5, 3);                          /* sum += x4 * x5 */
    jb_a64_sub_imm(e, 2, 2, 1);
    jb_a64_cbnz(e, 2, loop);
    jb_label_bind(e, done);
    jb_a64_mov_rr(e, 0, 3);
    jb_a64_ret(e);
    return jb_emit_finish(e, NULL);
}

int main(void)
{
    uint8_t buf[256];
    jb_emit e;
    jb_emit_init(&e, buf, sizeof buf);
    if (emit_dot(&e) != 0) {
        fprintf(stderr, "a64_dot: emit: %s\n", jb_last_error());
        return 1;
    }
    size_t n = jb_emit_size(&e);
    printf("a64_dot: emitted %zu bytes:", n);
    for (size_t k = 0; k < n; k += 4) {
        uint32_t w;
        memcpy(&w, buf + k, 4);
        printf(" %08" PRIx32, w);
    }
    printf("\n");
#if defined(__aarch64__)
    jb_region *r;
    void *fn;
    /* the checked path: finish (every label bound), jb_alloc, jb_write */
    if (jb_region_open(&r, NULL) != 0 || jb_emit_install(&e, r, 16, &fn) != 0) {
        fprintf(stderr, "a64_dot: %s\n", jb_last_error());
        jb_emit_free(&e);
        return 1;
    }
    int32_t a[100], b[100];
    int64_t want = 0;
    for (int i = 0; i < 100; i++) {
        a[i] = (i * 7919) % 2001 - 1000;
        b[i] = (i * 104729) % 30001 - 15000;
        want += (int64_t)a[i] * b[i];
    }
    jb_emit_free(&e);
    int64_t got = ((dot_fn)fn)(a, b, 100);
    printf("a64_dot: dot = %" PRId64 " (C: %" PRId64 ")\n", got, want);
    jb_region_close(r);
    return got == want ? 0 : 1;
#else
    jb_emit_free(&e);
    printf("a64_dot: not run: this host is not arm64 (make check-arm64 runs it under qemu)\n");
    return 0;
#endif
}
