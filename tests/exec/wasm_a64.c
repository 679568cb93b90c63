/* The WebAssembly op table on arm64 under qemu (tests/exec/wasm.h runs
 * it): one emitter sequence per op over a = x0, b = x1, mem = x2, result
 * x0; floats travel as bits through s0/s1 (d0/d1). arm64 division does not
 * trap, so the sequences test for zero and MIN / -1 and branch to a udf. */
#include "wasm.h"
#include "jitbuf/arm64.h"

static jb_type FT(int dbl) { return dbl ? JB_F64 : JB_F32; }
static jb_type IT(int w64) { return w64 ? JB_I64 : JB_I32; }

static void in_f(jb_emit *e, int dbl, int two)
{
    jb_a64_fmov_to_fp(e, FT(dbl), 0, 0);
    if (two)
        jb_a64_fmov_to_fp(e, FT(dbl), 1, 1);
}
static void out_f(jb_emit *e, int dbl) { jb_a64_fmov_from_fp(e, FT(dbl), 0, 0); }

/* d = the float constant x, through x9 */
static void fconst(jb_emit *e, int dbl, unsigned d, double x)
{
    float f = (float)x;
    uint32_t u;
    uint64_t q;
    memcpy(&u, &f, 4);
    memcpy(&q, &x, 8);
    jb_a64_mov_imm(e, 9, dbl ? q : u);
    jb_a64_fmov_to_fp(e, FT(dbl), d, 9);
}

/* popcount without NEON: the SWAR steps, with shifted-register operands */
static void popcount(jb_emit *e, int w)
{
    jb_type t = IT(w);
    uint64_t m1 = w ? 0x5555555555555555ull : 0x55555555u, m2 = w ? 0x3333333333333333ull : 0x33333333u,
             m4 = w ? 0x0f0f0f0f0f0f0f0full : 0x0f0f0f0fu, h = w ? 0x0101010101010101ull : 0x01010101u;
    jb_a64_shift(e, t, JB_A64_LSR, 9, 0, 1);
    jb_a64_alu_imm(e, t, JB_A64_AND, 9, 9, (int64_t)m1);
    jb_a64_alu(e, t, JB_A64_SUB, 0, 0, 9);                         /* x - (x >> 1 & m1) */
    jb_a64_alu_imm(e, t, JB_A64_AND, 9, 0, (int64_t)m2);
    jb_a64_shift(e, t, JB_A64_LSR, 0, 0, 2);
    jb_a64_alu_imm(e, t, JB_A64_AND, 0, 0, (int64_t)m2);
    jb_a64_alu(e, t, JB_A64_ADD, 0, 0, 9);
    jb_a64_alu_sh(e, t, JB_A64_ADD, 0, 0, 0, JB_A64_LSR, 4);       /* x + (x >> 4) */
    jb_a64_alu_imm(e, t, JB_A64_AND, 0, 0, (int64_t)m4);
    jb_a64_mov_imm(e, 9, h);
    jb_a64_dp2(e, t, JB_A64_MUL, 0, 0, 9);
    jb_a64_shift(e, t, JB_A64_LSR, 0, 0, w ? 56 : 24);
}

static void wasm_emit(jb_emit *e, int op)
{
    jb_label trap = jb_label_new(e), done = jb_label_new(e), l1 = jb_label_new(e);
    int w = 0, dbl = 0;
    jb_type t = JB_U8;
    switch (op) {
    case I32_EQZ: case I64_EQZ:
        jb_a64_alu_imm(e, IT(op == I64_EQZ), JB_A64_SUBS, 31, 0, 0);
        jb_a64_cset_sz(e, JB_I32, 0, JB_A64_EQ);
        break;
    case I32_EQ: case I32_NE: case I32_LT_S: case I32_LT_U: case I32_GT_S: case I32_GT_U:
    case I32_LE_S: case I32_LE_U: case I32_GE_S: case I32_GE_U:
    case I64_EQ: case I64_NE: case I64_LT_S: case I64_LT_U: case I64_GT_S: case I64_GT_U:
    case I64_LE_S: case I64_LE_U: case I64_GE_S: case I64_GE_U: {
        static const jb_a64_cond cc[10] = {JB_A64_EQ, JB_A64_NE, JB_A64_LT, JB_A64_LO, JB_A64_GT,
                                           JB_A64_HI, JB_A64_LE, JB_A64_LS, JB_A64_GE, JB_A64_HS};
        int k = op >= I64_EQ ? op - I64_EQ : op - I32_EQ;
        jb_a64_alu(e, IT(op >= I64_EQ), JB_A64_SUBS, 31, 0, 1);
        jb_a64_cset_sz(e, JB_I32, 0, cc[k]);
        break;
    }
    case F32_EQ: case F32_NE: case F32_LT: case F32_GT: case F32_LE: case F32_GE:
    case F64_EQ: case F64_NE: case F64_LT: case F64_GT: case F64_LE: case F64_GE: {
        /* conditions false on unordered (NZCV 0011), except ne */
        static const jb_a64_cond cc[6] = {JB_A64_EQ, JB_A64_NE, JB_A64_MI, JB_A64_GT, JB_A64_LS, JB_A64_GE};
        dbl = op >= F64_EQ;
        in_f(e, dbl, 1);
        jb_a64_fcmp_sz(e, FT(dbl), 0, 1);
        jb_a64_cset_sz(e, JB_I32, 0, cc[dbl ? op - F64_EQ : op - F32_EQ]);
        break;
    }
    case I64_CLZ: w = 1; /* fallthrough */
    case I32_CLZ: jb_a64_dp1(e, IT(w), JB_A64_CLZ, 0, 0); break;
    case I64_CTZ: w = 1; /* fallthrough */
    case I32_CTZ:
        jb_a64_dp1(e, IT(w), JB_A64_RBIT, 0, 0);
        jb_a64_dp1(e, IT(w), JB_A64_CLZ, 0, 0);
        break;
    case I64_POPCNT: w = 1; /* fallthrough */
    case I32_POPCNT: popcount(e, w); break;
    case I32_ADD: case I32_SUB: case I32_MUL: case I32_AND: case I32_OR: case I32_XOR:
    case I64_ADD: case I64_SUB: case I64_MUL: case I64_AND: case I64_OR: case I64_XOR: {
        w = op >= I64_ADD;
        int k = w ? op - I64_ADD : op - I32_ADD;
        static const jb_a64_alu_op alu[10] = {JB_A64_ADD, JB_A64_SUB, 0, 0, 0, 0, 0,
                                              JB_A64_AND, JB_A64_ORR, JB_A64_EOR};
        if (k == 2)
            jb_a64_dp2(e, IT(w), JB_A64_MUL, 0, 0, 1);
        else
            jb_a64_alu(e, IT(w), alu[k], 0, 0, 1);
        break;
    }
    case I64_DIV_S: case I64_REM_S: w = 1; /* fallthrough */
    case I32_DIV_S: case I32_REM_S:
        jb_a64_cbz_sz(e, IT(w), 0, 1, trap);
        if (op == I32_DIV_S || op == I64_DIV_S) {
            /* MIN / -1 traps: flags = b == -1 ? cmp(a, MIN) : "ne" */
            jb_a64_mov_imm(e, 9, w ? 0x8000000000000000ull : 0x80000000u);
            jb_a64_alu_imm(e, IT(w), JB_A64_ADDS, 31, 1, 1);     /* cmn b, #1 */
            jb_a64_ccmp_r(e, IT(w), JB_A64_CCMP, 0, 9, 0, JB_A64_EQ);
            jb_a64_bcond(e, JB_A64_EQ, trap);
            jb_a64_dp2(e, IT(w), JB_A64_SDIV, 0, 0, 1);
        } else { /* a - (a / b) * b; MIN % -1 wraps to 0 */
            jb_a64_dp2(e, IT(w), JB_A64_SDIV, 9, 0, 1);
            jb_a64_dp3(e, IT(w), JB_A64_MSUB, 0, 9, 1, 0);
        }
        break;
    case I64_DIV_U: case I64_REM_U: w = 1; /* fallthrough */
    case I32_DIV_U: case I32_REM_U:
        jb_a64_cbz_sz(e, IT(w), 1, 1, l1);
        jb_a64_b(e, trap);
        jb_label_bind(e, l1);
        jb_a64_dp2(e, IT(w), JB_A64_UDIV, 9, 0, 1);
        if (op == I32_REM_U || op == I64_REM_U)
            jb_a64_dp3(e, IT(w), JB_A64_MSUB, 0, 9, 1, 0);
        else
            jb_a64_mov_rr(e, 0, 9);
        break;
    case I32_SHL: case I32_SHR_S: case I32_SHR_U: case I32_ROTL: case I32_ROTR:
    case I64_SHL: case I64_SHR_S: case I64_SHR_U: case I64_ROTL: case I64_ROTR: {
        static const jb_a64_shift_op sh[5] = {JB_A64_LSL, JB_A64_ASR, JB_A64_LSR, JB_A64_ROR, JB_A64_ROR};
        w = op >= I64_SHL;
        int k = w ? op - I64_SHL : op - I32_SHL;
        if (k == 3) { /* rotl = rotr by -n (mod the width) */
            jb_a64_alu(e, IT(w), JB_A64_SUB, 1, 31, 1);
        }
        jb_a64_shift_r(e, IT(w), sh[k], 0, 0, 1);
        break;
    }
    case F64_ABS: case F64_NEG: dbl = 1; /* fallthrough */
    case F32_ABS: case F32_NEG:
        in_f(e, dbl, 0);
        jb_a64_fp_un(e, FT(dbl), op == F32_ABS || op == F64_ABS ? JB_A64_F_ABS : JB_A64_F_NEG, 0, 0);
        t = FT(dbl);
        break;
    case F64_COPYSIGN: dbl = 1; /* fallthrough */
    case F32_COPYSIGN: /* b with the low bits of a: bfxil of the magnitude */
        jb_a64_bitfield(e, IT(dbl), JB_A64_BFXIL, 1, 0, 0, dbl ? 63 : 31);
        jb_a64_mov_rr(e, 0, 1);
        break;
    case F64_CEIL: case F64_FLOOR: case F64_TRUNC: case F64_NEAREST: case F64_SQRT: dbl = 1; /* fallthrough */
    case F32_CEIL: case F32_FLOOR: case F32_TRUNC: case F32_NEAREST: case F32_SQRT: {
        static const jb_a64_fp_unop un[5] = {JB_A64_F_RINTP, JB_A64_F_RINTM, JB_A64_F_RINTZ,
                                             JB_A64_F_RINTN, JB_A64_F_SQRT};
        in_f(e, dbl, 0);
        jb_a64_fp_un(e, FT(dbl), un[dbl ? op - F64_CEIL : op - F32_CEIL], 0, 0);
        t = FT(dbl);
        break;
    }
    case F64_ADD: case F64_SUB: case F64_MUL: case F64_DIV: case F64_MIN: case F64_MAX: dbl = 1; /* fallthrough */
    case F32_ADD: case F32_SUB: case F32_MUL: case F32_DIV: case F32_MIN: case F32_MAX: {
        /* fmin/fmax already have WebAssembly's NaN and +-0 rules */
        static const jb_a64_fp_op fo[6] = {JB_A64_F_ADD, JB_A64_F_SUB, JB_A64_F_MUL, JB_A64_F_DIV,
                                           JB_A64_F_MIN, JB_A64_F_MAX};
        in_f(e, dbl, 1);
        jb_a64_fp(e, FT(dbl), fo[dbl ? op - F64_ADD : op - F32_ADD], 0, 0, 1);
        t = FT(dbl);
        break;
    }
    case I32_WRAP_I64: case I64_EXTEND_I32_U: jb_a64_extend(e, JB_U32, 0, 0); break;
    case I64_EXTEND_I32_S: jb_a64_extend(e, JB_S32, 0, 0); break;
    case I32_TRUNC_F64_S: case I32_TRUNC_F64_U: case I64_TRUNC_F64_S: case I64_TRUNC_F64_U:
        dbl = 1; /* fallthrough */
    case I32_TRUNC_F32_S: case I32_TRUNC_F32_U: case I64_TRUNC_F32_S: case I64_TRUNC_F32_U: {
        int is64 = op >= I64_TRUNC_F32_S;
        int uns = op == I32_TRUNC_F32_U || op == I32_TRUNC_F64_U || op == I64_TRUNC_F32_U ||
                  op == I64_TRUNC_F64_U;
        double lo = uns ? -1.0 : is64 ? -9223372036854775808.0 : dbl ? -2147483649.0 : -2147483648.0;
        int lo_in = !uns && (is64 || !dbl); /* x >= lo is valid (lo representable) */
        double hi = uns ? (is64 ? 18446744073709551616.0 : 4294967296.0)
                        : (is64 ? 9223372036854775808.0 : 2147483648.0);
        in_f(e, dbl, 0);
        jb_a64_fcmp_sz(e, FT(dbl), 0, 0);
        jb_a64_bcond(e, JB_A64_VS, trap); /* NaN */
        fconst(e, dbl, 1, lo);
        jb_a64_fcmp_sz(e, FT(dbl), 0, 1);
        jb_a64_bcond(e, lo_in ? JB_A64_LT : JB_A64_LE, trap);
        fconst(e, dbl, 1, hi);
        jb_a64_fcmp_sz(e, FT(dbl), 0, 1);
        jb_a64_bcond(e, JB_A64_GE, trap);
        jb_a64_cvt_f2i(e, is64 ? (uns ? JB_U64 : JB_S64) : (uns ? JB_U32 : JB_S32), FT(dbl), 0, 0);
        break;
    }
    case F64_CONVERT_I32_S: case F64_CONVERT_I32_U: case F64_CONVERT_I64_S: case F64_CONVERT_I64_U:
        dbl = 1; /* fallthrough */
    case F32_CONVERT_I32_S: case F32_CONVERT_I32_U: case F32_CONVERT_I64_S: case F32_CONVERT_I64_U: {
        static const jb_type it[4] = {JB_S32, JB_U32, JB_S64, JB_U64};
        jb_a64_cvt_i2f(e, FT(dbl), it[dbl ? op - F64_CONVERT_I32_S : op - F32_CONVERT_I32_S], 0, 0);
        t = FT(dbl);
        break;
    }
    case F32_DEMOTE_F64: in_f(e, 1, 0); jb_a64_fcvt(e, JB_F32, 0, 0); t = JB_F32; break;
    case F64_PROMOTE_F32: in_f(e, 0, 0); jb_a64_fcvt(e, JB_F64, 0, 0); t = JB_F64; break;
    case I32_REINTERPRET_F32: case F32_REINTERPRET_I32: in_f(e, 0, 0); t = JB_F32; break;
    case I64_REINTERPRET_F64: case F64_REINTERPRET_I64: in_f(e, 1, 0); t = JB_F64; break;
    default: { /* memory: [x2 + x1] */
        jb_type t2;
        if (wasm_load_type(op, &t2))
            jb_a64_load_r(e, t2, 0, 2, 1, 0);
        if (wasm_store_type(op, &t2))
            jb_a64_store_r(e, t2, 0, 2, 1, 0);
        if (op == F32_LOAD || op == F64_LOAD) {
            jb_a64_load_r(e, op == F32_LOAD ? JB_F32 : JB_F64, 3, 2, 1, 0);
            jb_a64_fmov_from_fp(e, op == F32_LOAD ? JB_F32 : JB_F64, 0, 3);
        }
        if (op == F32_STORE || op == F64_STORE) {
            jb_a64_fmov_to_fp(e, op == F32_STORE ? JB_F32 : JB_F64, 3, 0);
            jb_a64_store_r(e, op == F32_STORE ? JB_F32 : JB_F64, 3, 2, 1, 0);
        }
    }
    }
    jb_label_bind(e, done);
    if (t != JB_U8)
        out_f(e, t == JB_F64);
    jb_a64_ret(e);
    jb_label_bind(e, trap);
    jb_a64_udf(e, 0);
}

static const test_case tests[] = {
#define T(f) {#f, f}
    T(wasm_table),
#undef T
};

EXEC_MAIN(tests)
