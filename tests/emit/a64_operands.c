/* Every operand of every arm64 emitter is validated: for each emitter a row
 * gives valid operands and, per operand, a value no encoding holds; each
 * such call must fail the cursor with JB_EOPERAND and write nothing, and
 * the valid call must succeed. Before, register fields, conditions, shift
 * amounts and brk/udf immediates were masked silently (issue 12, item 5). */
#include <stdlib.h>

#include "util.h"
#include "jitbuf/arm64.h"

TestSuite(a64_operands);

#define NA 7
typedef int64_t args[NA];
typedef void (*emit_fn)(jb_emit *, const int64_t *);

/* One row: how to call the emitter with a[], valid values, and for each
 * operand the invalid value to try (BAD_NONE: every value is valid). */
#define BAD_NONE INT64_MIN
typedef struct {
    const char *name;
    emit_fn fn;
    args ok, bad;
} row;

#define R(v) ((jb_a64_reg)(v))
#define T(v) ((jb_type)(v))
#define F(name, call) static void name(jb_emit *e, const int64_t *a) { (void)a; call; }
F(f_movz, jb_a64_movz(e, R(a[0]), (unsigned)a[1], (unsigned)a[2]))
F(f_movw, jb_a64_movw(e, T(a[0]), (uint32_t)a[1], R(a[2]), (unsigned)a[3], (unsigned)a[4]))
F(f_mov_imm, jb_a64_mov_imm(e, R(a[0]), (uint64_t)a[1]))
F(f_mov_rr, jb_a64_mov_rr(e, R(a[0]), R(a[1])))
F(f_mov_sp, jb_a64_mov_sp(e, R(a[0]), R(a[1])))
F(f_extend, jb_a64_extend(e, T(a[0]), R(a[1]), R(a[2])))
F(f_alu_sh, jb_a64_alu_sh(e, T(a[0]), (jb_a64_alu_op)a[1], R(a[2]), R(a[3]), R(a[4]), (jb_a64_shift_op)a[5], (unsigned)a[6]))
F(f_alu_ext, jb_a64_alu_ext(e, T(a[0]), (jb_a64_alu_op)a[1], R(a[2]), R(a[3]), R(a[4]), (jb_a64_ext)a[5], (unsigned)a[6]))
F(f_alu_imm, jb_a64_alu_imm(e, T(a[0]), (jb_a64_alu_op)a[1], R(a[2]), R(a[3]), a[4]))
F(f_add, jb_a64_add(e, R(a[0]), R(a[1]), R(a[2])))
F(f_ccmp_r, jb_a64_ccmp_r(e, T(a[0]), (jb_a64_ccmp_op)a[1], R(a[2]), R(a[3]), (unsigned)a[4], (jb_a64_cond)a[5]))
F(f_ccmp_i, jb_a64_ccmp_i(e, T(a[0]), (jb_a64_ccmp_op)a[1], R(a[2]), (unsigned)a[3], (unsigned)a[4], (jb_a64_cond)a[5]))
F(f_shift, jb_a64_shift(e, T(a[0]), (jb_a64_shift_op)a[1], R(a[2]), R(a[3]), (unsigned)a[4]))
F(f_shift_r, jb_a64_shift_r(e, T(a[0]), (jb_a64_shift_op)a[1], R(a[2]), R(a[3]), R(a[4])))
F(f_bitfield, jb_a64_bitfield(e, T(a[0]), (jb_a64_bitfield_op)a[1], R(a[2]), R(a[3]), (unsigned)a[4], (unsigned)a[5]))
F(f_dp1, jb_a64_dp1(e, T(a[0]), (jb_a64_op1)a[1], R(a[2]), R(a[3])))
F(f_dp2, jb_a64_dp2(e, T(a[0]), (jb_a64_op2)a[1], R(a[2]), R(a[3]), R(a[4])))
F(f_dp3, jb_a64_dp3(e, T(a[0]), (jb_a64_op3)a[1], R(a[2]), R(a[3]), R(a[4]), R(a[5])))
F(f_cond_sel, jb_a64_cond_sel(e, T(a[0]), (jb_a64_csel_op)a[1], R(a[2]), R(a[3]), R(a[4]), (jb_a64_cond)a[5]))
F(f_cset, jb_a64_cset(e, R(a[0]), (jb_a64_cond)a[1]))
F(f_ldr, jb_a64_ldr(e, R(a[0]), R(a[1]), (uint32_t)a[2]))
F(f_load, jb_a64_load(e, T(a[0]), R(a[1]), R(a[2]), (int32_t)a[3], (jb_a64_mode)a[4]))
F(f_store, jb_a64_store(e, T(a[0]), R(a[1]), R(a[2]), (int32_t)a[3], (jb_a64_mode)a[4]))
F(f_load_r, jb_a64_load_r(e, T(a[0]), R(a[1]), R(a[2]), R(a[3]), (unsigned)a[4]))
F(f_pair, jb_a64_load_pair(e, T(a[0]), R(a[1]), R(a[2]), R(a[3]), (int32_t)a[4], (jb_a64_mode)a[5]))
F(f_bcond, { jb_label l = jb_label_new(e); jb_label_bind(e, l); jb_a64_bcond(e, (jb_a64_cond)a[0], l); })
F(f_cbz, { jb_label l = jb_label_new(e); jb_label_bind(e, l); jb_a64_cbz_sz(e, T(a[0]), 0, R(a[1]), l); })
F(f_tbz, { jb_label l = jb_label_new(e); jb_label_bind(e, l); jb_a64_tbz(e, R(a[0]), (unsigned)a[1], l); })
F(f_adr, { jb_label l = jb_label_new(e); jb_label_bind(e, l); jb_a64_adr(e, R(a[0]), l); })
F(f_load_l, { jb_label l = jb_label_new(e); jb_label_bind(e, l); jb_a64_load_l(e, T(a[0]), R(a[1]), l); })
F(f_adrp, jb_a64_adrp(e, R(a[0]), a[1]))
F(f_br, jb_a64_br(e, R(a[0])))
F(f_blr, jb_a64_blr(e, R(a[0])))
F(f_ldxr, jb_a64_ldxr(e, T(a[0]), (jb_a64_order)a[1], R(a[2]), R(a[3])))
F(f_stxr, jb_a64_stxr(e, T(a[0]), (jb_a64_order)a[1], R(a[2]), R(a[3]), R(a[4])))
F(f_ldar, jb_a64_ldar(e, T(a[0]), R(a[1]), R(a[2])))
F(f_dsb, jb_a64_dsb(e, (unsigned)a[0]))
F(f_atomic, jb_a64_atomic(e, T(a[0]), (jb_a64_atomic_op)a[1], (jb_a64_order)a[2], R(a[3]), R(a[4]), R(a[5])))
F(f_cas, jb_a64_cas(e, T(a[0]), (jb_a64_order)a[1], R(a[2]), R(a[3]), R(a[4])))
F(f_dmb, jb_a64_dmb(e, (unsigned)a[0]))
F(f_brk, jb_a64_brk(e, (unsigned)a[0]))
F(f_udf, jb_a64_udf(e, (unsigned)a[0]))
F(f_align, { jb_a64_nop(e); jb_a64_align(e, (size_t)a[0]); })
F(f_frame, jb_a64_frame_enter(e, (uint32_t)a[0]))
F(f_prologue, jb_a64_prologue(e, (uint32_t)a[0], (uint32_t)a[1], (uint32_t)a[2]))
F(f_fp, jb_a64_fp(e, T(a[0]), (jb_a64_fp_op)a[1], (unsigned)a[2], (unsigned)a[3], (unsigned)a[4]))
F(f_fp_un, jb_a64_fp_un(e, T(a[0]), (jb_a64_fp_unop)a[1], (unsigned)a[2], (unsigned)a[3]))
F(f_fcvt, jb_a64_fcvt(e, T(a[0]), (unsigned)a[1], (unsigned)a[2]))
F(f_fcmp, jb_a64_fcmp_sz(e, T(a[0]), (unsigned)a[1], (unsigned)a[2]))
F(f_fcsel, jb_a64_fcsel_sz(e, T(a[0]), (unsigned)a[1], (unsigned)a[2], (unsigned)a[3], (jb_a64_cond)a[4]))
F(f_cvt_i2f, jb_a64_cvt_i2f(e, T(a[0]), T(a[1]), (unsigned)a[2], R(a[3])))
F(f_cvt_f2i, jb_a64_cvt_f2i(e, T(a[0]), T(a[1]), R(a[2]), (unsigned)a[3]))
F(f_fmov_to, jb_a64_fmov_to_fp(e, T(a[0]), (unsigned)a[1], R(a[2])))

#define B BAD_NONE
static const row rows[] = {
    {"movz", f_movz, {1, 0xffff, 48}, {32, 0x10000, 64}},
    {"movz shift", f_movz, {1, 1, 16}, {B, B, 8}},
    {"movw", f_movw, {JB_I32, JB_A64_OP_MOVN, 1, 2, 16}, {JB_I8, 5, 32, 0x10000, 32}},
    {"mov_imm", f_mov_imm, {3, 0x1234}, {31, B}},
    {"mov_rr", f_mov_rr, {1, 2}, {32, 32}},
    {"mov_sp", f_mov_sp, {31, 2}, {32, 32}},
    {"extend", f_extend, {JB_S8, 1, 2}, {JB_F32, 32, 32}},
    {"alu_sh", f_alu_sh, {JB_I32, JB_A64_ADD, 1, 2, 3, JB_A64_ASR, 31}, {JB_I16, 12, 32, 32, 32, 4, 32}},
    {"alu_sh ror on add", f_alu_sh, {JB_I64, JB_A64_EOR, 1, 2, 3, JB_A64_ROR, 63}, {B, JB_A64_SUB, B, B, B, B, 64}},
    {"alu_ext", f_alu_ext, {JB_I64, JB_A64_SUBS, 1, 2, 3, JB_A64_SXTW_EXT, 4}, {JB_U8, JB_A64_AND, 32, 32, 32, 8, 5}},
    {"alu_imm add", f_alu_imm, {JB_I32, JB_A64_ADD, 1, 2, -4095}, {JB_F64, 12, 32, 32, 4097}},
    {"alu_imm logic", f_alu_imm, {JB_I32, JB_A64_AND, 1, 2, 0xff}, {B, B, B, B, 0x1ff00000000ll}},
    {"alu_imm bic", f_alu_imm, {JB_I32, JB_A64_BIC, 1, 2, 0xff}, {B, B, B, B, 0x100000001ll}},
    {"alu_imm eon", f_alu_imm, {JB_I32, JB_A64_EON, 1, 2, 0xff}, {B, B, B, B, 0x1800000018ll}},
    {"add", f_add, {1, 2, 3}, {32, 32, 32}},
    {"ccmp_r", f_ccmp_r, {JB_I32, JB_A64_CCMP, 1, 2, 15, JB_A64_HI}, {JB_I8, 2, 32, 32, 16, 16}},
    {"ccmp_i", f_ccmp_i, {JB_I64, JB_A64_CCMN, 1, 31, 0, JB_A64_EQ}, {B, B, 32, 32, 16, 16}},
    {"shift", f_shift, {JB_I32, JB_A64_LSL, 1, 2, 31}, {JB_I16, 4, 32, 32, 32}},
    {"shift x", f_shift, {JB_I64, JB_A64_ROR, 1, 2, 63}, {B, B, B, B, 64}},
    {"shift_r", f_shift_r, {JB_I64, JB_A64_ASR, 1, 2, 3}, {JB_F32, 4, 32, 32, 32}},
    {"bitfield", f_bitfield, {JB_I32, JB_A64_UBFX, 1, 2, 3, 29}, {JB_I16, 6, 32, 32, 32, 30}},
    {"bitfield width 0", f_bitfield, {JB_I64, JB_A64_BFI, 1, 2, 63, 1}, {B, B, B, B, 64, 0}},
    {"dp1", f_dp1, {JB_I32, JB_A64_CLZ, 1, 2}, {JB_I16, 6, 32, 32}},
    {"dp1 rev32", f_dp1, {JB_I64, JB_A64_REV32, 1, 2}, {JB_I32, B, B, B}},
    {"dp2", f_dp2, {JB_I64, JB_A64_UMULH, 1, 2, 3}, {JB_I32, 5, 32, 32, 32}},
    {"dp3", f_dp3, {JB_I64, JB_A64_SMADDL, 1, 2, 3, 4}, {JB_I32, 6, 32, 32, 32, 32}},
    {"cond_sel", f_cond_sel, {JB_I32, JB_A64_CSNEG_OP, 1, 2, 3, JB_A64_LE}, {JB_I8, 4, 32, 32, 32, 16}},
    {"cset", f_cset, {1, JB_A64_NE}, {32, JB_A64_AL}},
    {"ldr", f_ldr, {1, 2, 32760}, {32, 32, 32768}},
    {"load", f_load, {JB_S16, 1, 2, 8190, JB_A64_OFFSET}, {9, 32, 32, 8191, 3}},
    {"load pre", f_load, {JB_F32, 1, 2, -256, JB_A64_PRE}, {B, B, B, -257, B}},
    {"store", f_store, {JB_F64, 1, 2, 255, JB_A64_POST}, {8, 32, 32, 256, 4}},
    {"load_r", f_load_r, {JB_U16, 1, 2, 3, JB_A64_SCALED | JB_A64_SXTW}, {12, 32, 32, 32, 6}},
    {"pair", f_pair, {JB_S32, 1, 2, 3, -256, JB_A64_PRE}, {JB_U8, 32, 32, 32, -260, 3}},
    {"bcond", f_bcond, {JB_A64_LS}, {16}},
    {"cbz", f_cbz, {JB_I32, 5}, {JB_I8, 32}},
    {"tbz", f_tbz, {5, 63}, {32, 64}},
    {"adr", f_adr, {5}, {32}},
    {"load_l", f_load_l, {JB_S32, 5}, {JB_U16, 32}},
    {"adrp", f_adrp, {5, -(1 << 20)}, {32, 1 << 20}},
    {"br", f_br, {5}, {32}},
    {"blr", f_blr, {5}, {32}},
    {"ldxr", f_ldxr, {JB_I8, JB_A64_ACQUIRE, 1, 2}, {9, JB_A64_RELEASE, 32, 32}},
    {"stxr", f_stxr, {JB_I64, JB_A64_RELEASE, 1, 2, 3}, {9, JB_A64_ACQUIRE, 2, 32, 1}},
    {"ldar", f_ldar, {JB_I16, 1, 2}, {9, 32, 32}},
    /* the loads zero-extend: a signed type (a sign-extended load) is refused */
    {"ldxr signed", f_ldxr, {JB_U32, JB_A64_RELAXED, 1, 2}, {JB_S32, B, B, B}},
    {"ldar signed", f_ldar, {JB_U8, 1, 2}, {JB_S8, B, B}},
    {"atomic", f_atomic, {JB_I32, JB_A64_SWP, JB_A64_ACQ_REL, 1, 2, 3}, {9, 9, 4, 32, 32, 32}},
    {"cas", f_cas, {JB_I64, JB_A64_ACQUIRE, 1, 2, 3}, {9, 4, 32, 32, 32}},
    {"dmb", f_dmb, {JB_A64_ISH}, {16}},
    /* dsb 0 and 4 are the encodings of ssbb and pssbb */
    {"dsb", f_dsb, {JB_A64_SY}, {16}},
    {"dsb 0", f_dsb, {1}, {0}},
    {"dsb 4", f_dsb, {5}, {4}},
    {"brk", f_brk, {0xffff}, {0x10000}},
    {"udf", f_udf, {0xffff}, {0x10000}},
    {"align", f_align, {16}, {12}},
    {"frame", f_frame, {0xfff000}, {0xfff001}},
    {"prologue", f_prologue, {JB_A64_AAPCS_X, JB_A64_AAPCS_D, 64}, {1u << 29, B, 0x1000000}},
    {"fp", f_fp, {JB_F32, JB_A64_F_MINNM, 1, 2, 3}, {JB_I32, 8, 32, 32, 32}},
    {"fp_un", f_fp_un, {JB_F64, JB_A64_F_RINTI, 1, 2}, {JB_U64, 13, 32, 32}},
    {"fcvt", f_fcvt, {JB_F32, 1, 2}, {JB_I32, 32, 32}},
    {"fcmp", f_fcmp, {JB_F64, 1, 2}, {JB_U8, 32, 32}},
    {"fcsel", f_fcsel, {JB_F32, 1, 2, 3, JB_A64_GT}, {JB_I64, 32, 32, 32, 16}},
    {"cvt_i2f", f_cvt_i2f, {JB_F32, JB_S32, 1, 2}, {JB_I64, JB_S16, 32, 32}},
    {"cvt_f2i", f_cvt_f2i, {JB_U64, JB_F64, 1, 2}, {JB_U8, JB_I64, 32, 32}},
    {"fmov_to", f_fmov_to, {JB_F32, 1, 2}, {JB_I32, 32, 32}},
};
#undef B

Test(a64_operands, every_operand_is_validated)
{
    static uint8_t buf[256];
    jb_emit e;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        jb_emit_init(&e, buf, sizeof buf);
        rows[r].fn(&e, rows[r].ok);
        cr_assert_eq(e.err, 0, "%s: valid operands refused: %s", rows[r].name, jb_last_error());
        cr_assert(jb_emit_size(&e) > 0, "%s wrote nothing", rows[r].name);
        jb_emit_free(&e);
        for (int k = 0; k < NA; k++) {
            if (rows[r].bad[k] == BAD_NONE || (rows[r].bad[k] == 0 && rows[r].ok[k] == 0))
                continue;
            args a;
            memcpy(a, rows[r].ok, sizeof a);
            a[k] = rows[r].bad[k];
            jb_emit_init(&e, buf, sizeof buf);
            size_t before = rows[r].fn == f_align ? 4 : 0; /* align's own nop */
            rows[r].fn(&e, a);
            cr_assert_eq(e.err, JB_EOPERAND, "%s: operand %d = %lld accepted (err %d)",
                         rows[r].name, k, (long long)a[k], e.err);
            cr_assert_eq(jb_emit_size(&e), before, "%s: operand %d: bytes written", rows[r].name, k);
            jb_emit_free(&e);
        }
    }
}
