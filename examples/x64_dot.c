/* x64_dot: build a function with the x86_64 emitters and run it.
 *
 *     int64_t dot(const int32_t *a, const int32_t *b, int64_t n)
 *
 * sums a[i] * b[i] with sign-extending 32-bit loads, a counted loop over
 * labels, and a 16-byte-aligned loop head; the bytes are installed with
 * jb_emit_install (finish, jb_alloc, jb_write: never writable and
 * executable at one address) and
 * checked against the same loop in C. On another host it emits the code
 * and says why it did not run it.
 *
 * Run: make examples && ./build/examples/x64_dot */
#include <inttypes.h>
#include <stdio.h>

#include "jitbuf.h"
#include "jitbuf/x86_64.h"

typedef int64_t (*dot_fn)(const int32_t *, const int32_t *, int64_t);

/* SysV: a = rdi, b = rsi, n = rdx; result in rax. */
static int emit_dot(jb_emit *e)
{
    jb_label loop = jb_label_new(e), done = jb_label_new(e);
    jb_x64_xor_rr(e, JB_X64_RAX, JB_X64_RAX);            /* sum = 0 */
    jb_x64_xor_rr(e, JB_X64_RCX, JB_X64_RCX);            /* i = 0 */
    jb_x64_test_rr(e, JB_X64_RDX, JB_X64_RDX);
    jb_x64_jcc(e, JB_X64_LE, done, 0);
    jb_x64_align(e, 16);
    jb_label_bind(e, loop);
    jb_x64_load(e, JB_X64_S32, JB_X64_R8, jb_x64_mem_bisd(JB_X64_RDI, JB_X64_RCX, 4, 0));
    jb_x64_load(e, JB_X64_S32, JB_X64_R9, jb_x64_mem_bisd(JB_X64_RSI, JB_X64_RCX, 4, 0));
    jb_x64_imul_rr(e, JB_X64_R8, JB_X64_R9);
    jb_x64_add_rr(e, JB_X64_RAX, JB_X64_R8);
    jb_x64_add_ri(e, JB_X64_RCX, 1);
    jb_x64_cmp_rr(e, JB_X64_RCX, JB_X64_RDX);
    jb_x64_jcc(e, JB_X64_L, loop, 0);
    jb_label_bind(e, done);
    jb_x64_ret(e);
    return jb_emit_finish(e, NULL);
}

int main(void)
{
    uint8_t buf[256];
    jb_emit e;
    jb_emit_init(&e, buf, sizeof buf);
    if (emit_dot(&e) != 0) {
        fprintf(stderr, "x64_dot: emit: %s\n", jb_last_error());
        return 1;
    }
    size_t n = jb_emit_size(&e);
    printf("x64_dot: emitted %zu bytes:", n);
    for (size_t k = 0; k < n; k++) printf(" %02x", buf[k]);
    printf("\n");
#if defined(__x86_64__)
    jb_region *r;
    void *fn;
    /* the checked path: finish (every label bound), jb_alloc, jb_write */
    if (jb_region_open(&r, NULL) != 0 || jb_emit_install(&e, r, 16, &fn) != 0) {
        fprintf(stderr, "x64_dot: %s\n", jb_last_error());
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
    printf("x64_dot: dot = %" PRId64 " (C: %" PRId64 ")\n", got, want);
    jb_region_close(r);
    return got == want ? 0 : 1;
#else
    jb_emit_free(&e);
    printf("x64_dot: not run: this host is not x86_64\n");
    return 0;
#endif
}
