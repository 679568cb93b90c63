/* Code that fits must fit: every form, emitted into a buffer of exactly
 * its size (at the buffer's start and after other code), succeeds with the
 * same bytes and writes nothing past the end; one byte less is JB_EFULL
 * with nothing written. The fast path's check reserves JB_EMIT_SLACK, so
 * these sizes all take the exact path for the last bytes (issue 12, item
 * 2). */
#include <stdlib.h>

#include "util.h"
#include "jitbuf/arm64.h"
#include "jitbuf/x86_64.h"

TestSuite(exact_fit);

typedef void (*form)(jb_emit *);
#define F(name, body) static void name(jb_emit *e) { body; }
static jb_label bound_label(jb_emit *e)
{
    jb_label l = jb_label_new(e);
    jb_label_bind(e, l);
    return l;
}
static const jb_x64_mem M1 = {JB_X64_R12, JB_X64_R13, 8, 0x12345678};
F(x_movabs, jb_x64_mov_ri(e, JB_X64_R9, INT64_MIN))
F(x_mov5, jb_x64_mov_ri(e, JB_X64_RAX, 42))
F(x_add8, jb_x64_alu_rr(e, JB_I8, JB_X64_ADD, JB_X64_RSI, JB_X64_R9))
F(x_alu_mi, jb_x64_alu_mi(e, JB_I64, JB_X64_CMP, M1, INT32_MIN))
F(x_alu_mi16, jb_x64_alu_mi(e, JB_I16, JB_X64_MOV, M1, 0x1234))
F(x_lock, jb_x64_lock_cmpxchg(e, JB_I16, M1, JB_X64_R15))
F(x_movzx, jb_x64_load(e, JB_U8, JB_X64_R8, jb_x64_mem_bd(JB_X64_RAX, 0)))
F(x_round, jb_x64_round(e, JB_F64, 9, 10, JB_X64_ROUND_FLOOR))
F(x_fpm, jb_x64_fp_xm(e, JB_F32, JB_X64_FADD, 15, M1))
F(x_ret, jb_x64_ret(e))
F(x_jcc_fwd, jb_x64_jcc(e, JB_X64_NE, jb_label_new(e), 0))
F(x_jcc_back, jb_x64_jcc(e, JB_X64_NE, bound_label(e), JB_X64_LONG))
F(x_jmp_short, jb_x64_jmp(e, bound_label(e), 0))
F(x_call, jb_x64_call(e, jb_label_new(e)))
F(x_rip_l, jb_x64_alu_mi(e, JB_I32, JB_X64_CMP, jb_x64_mem_l(jb_label_new(e)), 1000))
F(x_shift_mi, jb_x64_shift_mi(e, JB_I64, JB_X64_SAR, M1, 7))
F(x_imul3, jb_x64_imul3_rmi(e, JB_I32, JB_X64_R9, M1, 100000))
F(x_push_i, jb_x64_push_i(e, 100000))
F(x_bswap, jb_x64_bswap(e, JB_I64, JB_X64_R10))
F(x_count, jb_x64_count_rr(e, JB_I16, JB_X64_POPCNT, JB_X64_R10, JB_X64_R11))
F(x_mfence, jb_x64_mfence(e))
F(x_nops, jb_x64_nops(e, 13))
F(a_word, jb_a64_add(e, 1, 2, 3))
F(a_imm2, jb_a64_mov_imm(e, 1, 0x12345678))
F(a_imm4, jb_a64_mov_imm(e, 1, 0x123456789abcdef1ull))
F(a_b_fwd, jb_a64_b(e, jb_label_new(e)))
F(a_b_back, jb_a64_bcond(e, JB_A64_NE, bound_label(e)))
F(a_cas, jb_a64_cas(e, JB_I64, JB_A64_ACQ_REL, 1, 2, 3))
F(a_frame, jb_a64_frame_enter(e, 5000))
F(a_prologue, jb_a64_prologue(e, JB_A64_AAPCS_X, JB_A64_AAPCS_D, 64))
F(x_prologue, jb_x64_prologue(e, JB_X64_SYSV_SAVED, 40))

static const struct { const char *name; form f; } forms[] = {
#define R(f) {#f, f}
    R(x_movabs), R(x_mov5), R(x_add8), R(x_alu_mi), R(x_alu_mi16), R(x_lock), R(x_movzx),
    R(x_round), R(x_fpm), R(x_ret), R(x_jcc_fwd), R(x_jcc_back), R(x_jmp_short), R(x_call),
    R(x_rip_l), R(x_shift_mi), R(x_imul3), R(x_push_i), R(x_bswap), R(x_count), R(x_mfence),
    R(x_nops), R(a_word), R(a_imm2), R(a_imm4), R(a_b_fwd), R(a_b_back), R(a_cas), R(a_frame),
    R(a_prologue), R(x_prologue),
#undef R
};

Test(exact_fit, every_form_fits_exactly)
{
    static uint8_t ref[256], b[256 + 64];
    jb_emit e;
    for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++)
        for (size_t pre = 0; pre <= 40; pre += 20) { /* 0, 20, 40 bytes of code before */
            jb_emit_init(&e, ref, sizeof ref);
            for (size_t p = 0; p < pre / 4; p++) jb_a64_nop(&e);
            forms[k].f(&e);
            cr_assert_eq(e.err, 0, "%s: %s", forms[k].name, jb_last_error());
            size_t n = jb_emit_size(&e);
            jb_emit_free(&e);
            for (size_t cap = n - 1; cap <= n; cap++) {
                memset(b, 0xa5, sizeof b);
                jb_emit_init(&e, b, cap);
                for (size_t p = 0; p < pre / 4; p++) jb_a64_nop(&e);
                forms[k].f(&e);
                if (cap == n) {
                    cr_assert_eq(e.err, 0, "%s in exactly %zu bytes: %s", forms[k].name, n,
                                 jb_last_error());
                    cr_assert_eq(jb_emit_size(&e), n);
                    cr_assert_arr_eq(b, ref, n, "%s: other bytes near the end", forms[k].name);
                } else {
                    cr_assert_eq(e.err, JB_EFULL, "%s in %zu of %zu bytes: err %d", forms[k].name,
                                 cap, n, e.err);
                }
                for (size_t q = cap; q < sizeof b; q++)
                    cr_assert_eq(b[q], 0xa5, "%s: byte %zu past a %zu-byte buffer written",
                                 forms[k].name, q, cap);
                jb_emit_free(&e);
            }
        }
}
