/* The WebAssembly op table on x86_64 (tests/exec/wasm.h runs it): one
 * emitter sequence per op over a = rdi, b = rsi, mem = rdx, result rax;
 * floats travel as bits through xmm0/xmm1. Traps: ud2, and the CPU's own
 * #DE for division. Needs SSE4.1 (round) and POPCNT; lzcnt/tzcnt are run
 * as extra checks when the CPU has them. */
#include <cpuid.h>

#include "wasm.h"
#include "jitbuf/x86_64.h"

#define A JB_X64_RDI
#define B JB_X64_RSI
#define R JB_X64_RAX

/* Constants placed after the code, reached as [rip + label]. */
static struct { jb_label l; uint64_t v; unsigned n; } pool[8];
static unsigned npool;
static jb_x64_mem lit(jb_emit *e, uint64_t v, unsigned n)
{
    pool[npool].l = jb_label_new(e);
    pool[npool].v = v;
    pool[npool].n = n;
    return jb_x64_mem_l(pool[npool++].l);
}
static jb_x64_mem litf(jb_emit *e, int dbl, double x)
{
    float f = (float)x;
    uint32_t u;
    uint64_t d;
    memcpy(&u, &f, 4);
    memcpy(&d, &x, 8);
    return dbl ? lit(e, d, 8) : lit(e, u, 4);
}

static jb_type FT(int dbl) { return dbl ? JB_F64 : JB_F32; }
static jb_type IT(int w64) { return w64 ? JB_I64 : JB_I32; }

static void in_f(jb_emit *e, int dbl, int two)
{
    jb_x64_movd_xr(e, IT(dbl), 0, A);
    if (two)
        jb_x64_movd_xr(e, IT(dbl), 1, B);
}
static void out_f(jb_emit *e, int dbl) { jb_x64_movd_rx(e, IT(dbl), R, 0); }

static int has_lzcnt, has_bmi1;

static void wasm_emit(jb_emit *e, int op)
{
    jb_label trap = jb_label_new(e), done = jb_label_new(e), l1 = jb_label_new(e),
             l2 = jb_label_new(e);
    npool = 0;
    int w = 0, dbl = 0;
    jb_type t;
    switch (op) {
    /* ---- integer comparisons: rax = 0, compare, setcc ---- */
    case I32_EQZ: case I64_EQZ:
        jb_x64_alu_rr(e, JB_I32, JB_X64_XOR, R, R);
        jb_x64_alu_rr(e, IT(op == I64_EQZ), JB_X64_TEST, A, A);
        jb_x64_setcc(e, JB_X64_E, R);
        break;
    case I32_EQ: case I32_NE: case I32_LT_S: case I32_LT_U: case I32_GT_S: case I32_GT_U:
    case I32_LE_S: case I32_LE_U: case I32_GE_S: case I32_GE_U:
    case I64_EQ: case I64_NE: case I64_LT_S: case I64_LT_U: case I64_GT_S: case I64_GT_U:
    case I64_LE_S: case I64_LE_U: case I64_GE_S: case I64_GE_U: {
        static const jb_x64_cc cc[10] = {JB_X64_E, JB_X64_NE, JB_X64_L, JB_X64_B, JB_X64_G,
                                         JB_X64_A, JB_X64_LE, JB_X64_BE, JB_X64_GE, JB_X64_AE};
        int k = op >= I64_EQ ? op - I64_EQ : op - I32_EQ;
        jb_x64_alu_rr(e, JB_I32, JB_X64_XOR, R, R);
        jb_x64_alu_rr(e, IT(op >= I64_EQ), JB_X64_CMP, A, B);
        jb_x64_setcc(e, cc[k], R);
        break;
    }
    /* ---- float comparisons: ucomis + flags that are false when unordered ---- */
    case F32_EQ: case F32_NE: case F32_LT: case F32_GT: case F32_LE: case F32_GE:
    case F64_EQ: case F64_NE: case F64_LT: case F64_GT: case F64_LE: case F64_GE: {
        dbl = op >= F64_EQ;
        int k = dbl ? op - F64_EQ : op - F32_EQ;
        in_f(e, dbl, 1);
        jb_x64_alu_rr(e, JB_I32, JB_X64_XOR, R, R);
        jb_x64_alu_rr(e, JB_I32, JB_X64_XOR, JB_X64_RCX, JB_X64_RCX);
        if (k == 2 || k == 4) /* lt, le: compare b with a */
            jb_x64_fcmp_xx(e, FT(dbl), 1, 0);
        else
            jb_x64_fcmp_xx(e, FT(dbl), 0, 1);
        if (k == 0) { /* eq: ZF and not PF */
            jb_x64_setcc(e, JB_X64_E, R);
            jb_x64_setcc(e, JB_X64_NP, JB_X64_RCX);
            jb_x64_alu_rr(e, JB_I8, JB_X64_AND, R, JB_X64_RCX);
        } else if (k == 1) { /* ne: not ZF or PF */
            jb_x64_setcc(e, JB_X64_NE, R);
            jb_x64_setcc(e, JB_X64_P, JB_X64_RCX);
            jb_x64_alu_rr(e, JB_I8, JB_X64_OR, R, JB_X64_RCX);
        } else {
            jb_x64_setcc(e, k == 2 || k == 3 ? JB_X64_A : JB_X64_AE, R);
        }
        break;
    }
    /* ---- integer arithmetic ---- */
    case I64_CLZ: w = 1; /* fallthrough */
    case I32_CLZ: /* bsr: index of the top bit; 2w-1 for zero, then ^ (w-1) */
        jb_x64_count_rr(e, IT(w), JB_X64_BSR, R, A);
        jb_x64_mov_ri(e, JB_X64_RCX, w ? 127 : 63);
        jb_x64_cmov(e, JB_X64_E, R, JB_X64_RCX);
        jb_x64_alu_ri(e, IT(w), JB_X64_XOR, R, w ? 63 : 31);
        break;
    case I64_CTZ: w = 1; /* fallthrough */
    case I32_CTZ:
        jb_x64_count_rr(e, IT(w), JB_X64_BSF, R, A);
        jb_x64_mov_ri(e, JB_X64_RCX, w ? 64 : 32);
        jb_x64_cmov(e, JB_X64_E, R, JB_X64_RCX);
        break;
    case I64_POPCNT: w = 1; /* fallthrough */
    case I32_POPCNT: jb_x64_count_rr(e, IT(w), JB_X64_POPCNT, R, A); break;
    case I32_ADD: case I32_SUB: case I32_MUL: case I32_AND: case I32_OR: case I32_XOR:
    case I64_ADD: case I64_SUB: case I64_MUL: case I64_AND: case I64_OR: case I64_XOR: {
        w = op >= I64_ADD;
        int k = w ? op - I64_ADD : op - I32_ADD; /* add sub mul div_s div_u rem_s rem_u and or xor */
        static const jb_x64_alu alu[10] = {JB_X64_ADD, JB_X64_SUB, JB_X64_IMUL, 0, 0, 0, 0,
                                           JB_X64_AND, JB_X64_OR, JB_X64_XOR};
        jb_x64_alu_rr(e, IT(w), JB_X64_MOV, R, A);
        jb_x64_alu_rr(e, IT(w), alu[k], R, B);
        break;
    }
    case I64_DIV_S: case I64_REM_S: w = 1; /* fallthrough */
    case I32_DIV_S: case I32_REM_S: {
        int rem = op == I32_REM_S || op == I64_REM_S;
        if (rem) { /* x % -1 is 0 (idiv would fault for MIN % -1) */
            jb_x64_alu_ri(e, IT(w), JB_X64_CMP, B, -1);
            jb_x64_jcc(e, JB_X64_NE, l1, 0);
            jb_x64_alu_rr(e, JB_I32, JB_X64_XOR, R, R);
            jb_x64_jmp(e, done, 0);
            jb_label_bind(e, l1);
        }
        jb_x64_alu_rr(e, IT(w), JB_X64_MOV, R, A);
        jb_x64_cdq(e, IT(w));
        jb_x64_unary_r(e, IT(w), JB_X64_IDIV, B); /* #DE for / 0 and MIN / -1 */
        if (rem)
            jb_x64_alu_rr(e, IT(w), JB_X64_MOV, R, JB_X64_RDX);
        break;
    }
    case I64_DIV_U: case I64_REM_U: w = 1; /* fallthrough */
    case I32_DIV_U: case I32_REM_U:
        jb_x64_alu_rr(e, IT(w), JB_X64_MOV, R, A);
        jb_x64_alu_rr(e, JB_I32, JB_X64_XOR, JB_X64_RDX, JB_X64_RDX);
        jb_x64_unary_r(e, IT(w), JB_X64_DIV, B);
        if (op == I32_REM_U || op == I64_REM_U)
            jb_x64_alu_rr(e, IT(w), JB_X64_MOV, R, JB_X64_RDX);
        break;
    case I32_SHL: case I32_SHR_S: case I32_SHR_U: case I32_ROTL: case I32_ROTR:
    case I64_SHL: case I64_SHR_S: case I64_SHR_U: case I64_ROTL: case I64_ROTR: {
        static const jb_x64_shift sh[5] = {JB_X64_SHL, JB_X64_SAR, JB_X64_SHR, JB_X64_ROL, JB_X64_ROR};
        w = op >= I64_SHL;
        jb_x64_alu_rr(e, IT(w), JB_X64_MOV, R, A);
        jb_x64_alu_rr(e, JB_I32, JB_X64_MOV, JB_X64_RCX, B); /* the CPU masks cl as wasm does */
        jb_x64_shift_rcl(e, IT(w), sh[w ? op - I64_SHL : op - I32_SHL], R);
        break;
    }
    /* ---- float arithmetic ---- */
    case F64_ABS: case F64_NEG: case F64_COPYSIGN: dbl = 1; /* fallthrough */
    case F32_ABS: case F32_NEG: case F32_COPYSIGN: {
        uint64_t sign = dbl ? 1ull << 63 : 1ull << 31;
        in_f(e, dbl, 1);
        jb_x64_mov_ri(e, JB_X64_RCX, (int64_t)sign);
        jb_x64_movd_xr(e, IT(dbl), 2, JB_X64_RCX); /* xmm2 = sign bit */
        if (op == F32_NEG || op == F64_NEG) {
            jb_x64_flogic_xx(e, FT(dbl), JB_X64_FXOR, 0, 2);
        } else {
            jb_x64_fmov_xx(e, 3, 2);
            jb_x64_flogic_xx(e, FT(dbl), JB_X64_FANDN, 3, 0); /* xmm3 = |a| */
            if (op == F32_COPYSIGN || op == F64_COPYSIGN) {
                jb_x64_flogic_xx(e, FT(dbl), JB_X64_FAND, 2, 1); /* sign of b */
                jb_x64_flogic_xx(e, FT(dbl), JB_X64_FOR, 3, 2);
            }
            jb_x64_fmov_xx(e, 0, 3);
        }
        break;
    }
    case F64_CEIL: case F64_FLOOR: case F64_TRUNC: case F64_NEAREST: dbl = 1; /* fallthrough */
    case F32_CEIL: case F32_FLOOR: case F32_TRUNC: case F32_NEAREST: {
        static const jb_x64_round_mode m[4] = {JB_X64_ROUND_CEIL, JB_X64_ROUND_FLOOR,
                                               JB_X64_ROUND_TRUNC, JB_X64_ROUND_NEAREST};
        in_f(e, dbl, 0);
        jb_x64_round(e, FT(dbl), 0, 0, m[dbl ? op - F64_CEIL : op - F32_CEIL]);
        break;
    }
    case F64_SQRT: case F64_ADD: case F64_SUB: case F64_MUL: case F64_DIV: dbl = 1; /* fallthrough */
    case F32_SQRT: case F32_ADD: case F32_SUB: case F32_MUL: case F32_DIV: {
        static const jb_x64_fp_op fo[5] = {JB_X64_FSQRT, JB_X64_FADD, JB_X64_FSUB, JB_X64_FMUL, JB_X64_FDIV};
        int k = dbl ? op - F64_SQRT : op - F32_SQRT;
        in_f(e, dbl, 1);
        if (k == 0)
            jb_x64_fp_xx(e, FT(dbl), JB_X64_FSQRT, 0, 0);
        else
            jb_x64_fp_xx(e, FT(dbl), fo[k], 0, 1);
        break;
    }
    case F64_MIN: case F64_MAX: dbl = 1; /* fallthrough */
    case F32_MIN: case F32_MAX: { /* NaN wins; on equal operands (+-0) or/and the bits */
        int max = op == F32_MAX || op == F64_MAX;
        in_f(e, dbl, 1);
        jb_x64_fcmp_xx(e, FT(dbl), 0, 1);
        jb_x64_jcc(e, JB_X64_P, l1, 0);
        jb_x64_jcc(e, JB_X64_NE, l2, 0);
        jb_x64_flogic_xx(e, FT(dbl), max ? JB_X64_FAND : JB_X64_FOR, 0, 1);
        jb_x64_jmp(e, done, 0);
        jb_label_bind(e, l2);
        jb_x64_fp_xx(e, FT(dbl), max ? JB_X64_FMAX : JB_X64_FMIN, 0, 1);
        jb_x64_jmp(e, done, 0);
        jb_label_bind(e, l1);
        jb_x64_fp_xx(e, FT(dbl), JB_X64_FADD, 0, 1); /* a NaN */
        break;
    }
    /* ---- conversions ---- */
    case I32_WRAP_I64: case I64_EXTEND_I32_U: jb_x64_extend(e, JB_U32, R, A); break;
    case I64_EXTEND_I32_S: jb_x64_extend(e, JB_S32, R, A); break;
    case I32_TRUNC_F64_S: case I32_TRUNC_F64_U: case I64_TRUNC_F64_S: case I64_TRUNC_F64_U:
        dbl = 1; /* fallthrough */
    case I32_TRUNC_F32_S: case I32_TRUNC_F32_U: case I64_TRUNC_F32_S: case I64_TRUNC_F32_U: {
        int k = dbl ? op - I32_TRUNC_F64_S : op - I32_TRUNC_F32_S;
        int is64 = k >= 2, uns = k == 1 || k == 3;
        if (op >= I64_TRUNC_F32_S)
            k = dbl ? op - I64_TRUNC_F64_S : op - I64_TRUNC_F32_S, is64 = 1, uns = k == 1;
        else
            uns = op == I32_TRUNC_F32_U || op == I32_TRUNC_F64_U, is64 = 0;
        /* valid: lo < x < hi (lo exclusive), NaN traps */
        double lo = uns ? -1.0 : is64 ? -9223372036854775808.0 : -2147483649.0;
        double hi = uns ? (is64 ? 18446744073709551616.0 : 4294967296.0)
                        : (is64 ? 9223372036854775808.0 : 2147483648.0);
        in_f(e, dbl, 0);
        if (is64 && !uns) { /* lo itself is valid: x >= lo */
            jb_x64_fcmp_xm(e, FT(dbl), 0, litf(e, dbl, lo));
            jb_x64_jcc(e, JB_X64_B, trap, 0); /* below, or unordered */
        } else if (!dbl && !uns) { /* f32: -2^31 - 1 rounds to -2^31, so x >= -2^31 */
            jb_x64_fcmp_xm(e, FT(dbl), 0, litf(e, dbl, -2147483648.0));
            jb_x64_jcc(e, JB_X64_B, trap, 0);
        } else {
            jb_x64_fcmp_xm(e, FT(dbl), 0, litf(e, dbl, lo));
            jb_x64_jcc(e, JB_X64_BE, trap, 0);
        }
        jb_x64_fcmp_xm(e, FT(dbl), 0, litf(e, dbl, hi));
        jb_x64_jcc(e, JB_X64_AE, trap, 0);
        if (is64 && uns) { /* x >= 2^63: convert x - 2^63 and set the top bit */
            jb_x64_fcmp_xm(e, FT(dbl), 0, litf(e, dbl, 9223372036854775808.0));
            jb_x64_jcc(e, JB_X64_AE, l1, 0);
            jb_x64_cvtt_f2i(e, JB_S64, FT(dbl), R, 0);
            jb_x64_jmp(e, done, 0);
            jb_label_bind(e, l1);
            jb_x64_fp_xm(e, FT(dbl), JB_X64_FSUB, 0, litf(e, dbl, 9223372036854775808.0));
            jb_x64_cvtt_f2i(e, JB_S64, FT(dbl), R, 0);
            jb_x64_mov_ri(e, JB_X64_RCX, INT64_MIN);
            jb_x64_alu_rr(e, JB_I64, JB_X64_XOR, R, JB_X64_RCX);
        } else { /* u32 through the 64-bit conversion, exact below 2^32 */
            jb_x64_cvtt_f2i(e, uns || is64 ? JB_S64 : JB_S32, FT(dbl), R, 0);
        }
        break;
    }
    case F64_CONVERT_I32_S: case F64_CONVERT_I32_U: case F64_CONVERT_I64_S: case F64_CONVERT_I64_U:
        dbl = 1; /* fallthrough */
    case F32_CONVERT_I32_S: case F32_CONVERT_I32_U: case F32_CONVERT_I64_S: case F32_CONVERT_I64_U: {
        int k = dbl ? op - F64_CONVERT_I32_S : op - F32_CONVERT_I32_S;
        if (k == 0)
            jb_x64_cvt_i2f(e, FT(dbl), JB_S32, 0, A);
        else if (k == 1) { /* zero-extend, then the signed 64-bit conversion is exact */
            jb_x64_extend(e, JB_U32, JB_X64_RCX, A);
            jb_x64_cvt_i2f(e, FT(dbl), JB_S64, 0, JB_X64_RCX);
        } else if (k == 2) {
            jb_x64_cvt_i2f(e, FT(dbl), JB_S64, 0, A);
        } else { /* u64: halve with the low bit kept sticky, convert, double */
            jb_x64_alu_rr(e, JB_I64, JB_X64_TEST, A, A);
            jb_x64_jcc(e, JB_X64_S, l1, JB_X64_SHORT);
            jb_x64_cvt_i2f(e, FT(dbl), JB_S64, 0, A);
            jb_x64_jmp(e, l2, JB_X64_SHORT);
            jb_label_bind(e, l1);
            jb_x64_alu_rr(e, JB_I64, JB_X64_MOV, JB_X64_RCX, A);
            jb_x64_shift_ri(e, JB_I64, JB_X64_SHR, JB_X64_RCX, 1);
            jb_x64_alu_rr(e, JB_I32, JB_X64_MOV, R, A);
            jb_x64_alu_ri(e, JB_I32, JB_X64_AND, R, 1);
            jb_x64_alu_rr(e, JB_I64, JB_X64_OR, JB_X64_RCX, R);
            jb_x64_cvt_i2f(e, FT(dbl), JB_S64, 0, JB_X64_RCX);
            jb_x64_fp_xx(e, FT(dbl), JB_X64_FADD, 0, 0);
            jb_label_bind(e, l2);
        }
        out_f(e, dbl);
        goto tail;
    }
    case F32_DEMOTE_F64:
        in_f(e, 1, 0);
        jb_x64_cvt_f2f(e, JB_F32, 0, 0);
        out_f(e, 0);
        goto tail;
    case F64_PROMOTE_F32:
        in_f(e, 0, 0);
        jb_x64_cvt_f2f(e, JB_F64, 0, 0);
        out_f(e, 1);
        goto tail;
    case I32_REINTERPRET_F32: case F32_REINTERPRET_I32: in_f(e, 0, 0); out_f(e, 0); goto tail;
    case I64_REINTERPRET_F64: case F64_REINTERPRET_I64: in_f(e, 1, 0); out_f(e, 1); goto tail;
    /* ---- memory: [rdx + rsi] ---- */
    default: {
        jb_x64_mem m = jb_x64_mem_bisd(JB_X64_RDX, B, 1, 0);
        jb_type t2;
        if (wasm_load_type(op, &t2))
            jb_x64_load(e, t2, R, m);
        if (wasm_store_type(op, &t2))
            jb_x64_store(e, t2, m, A);
        if (op == F32_LOAD || op == F64_LOAD) {
            jb_x64_load(e, op == F32_LOAD ? JB_F32 : JB_F64, 3, m);
            jb_x64_movd_rx(e, op == F32_LOAD ? JB_I32 : JB_I64, R, 3);
        }
        if (op == F32_STORE || op == F64_STORE) {
            jb_x64_movd_xr(e, op == F32_STORE ? JB_I32 : JB_I64, 3, A);
            jb_x64_store(e, op == F32_STORE ? JB_F32 : JB_F64, m, 3);
        }
        goto tail;
    }
    }
    jb_label_bind(e, done);
    /* float results leave through rax */
    t = op >= F32_ABS && op <= F64_COPYSIGN ? (op >= F64_ABS ? JB_F64 : JB_F32) : JB_U8;
    if (t != JB_U8)
        out_f(e, t == JB_F64);
tail:
    jb_x64_ret(e);
    jb_label_bind(e, trap);
    jb_x64_ud2(e);
    jb_x64_align(e, 8);
    for (unsigned k = 0; k < npool; k++) {
        jb_label_bind(e, pool[k].l);
        jb_emit_data(e, &pool[k].v, pool[k].n);
    }
}

/* lzcnt and tzcnt (BMI1/ABM) against C when the CPU has them; the table's
 * clz/ctz use bsr/bsf, which every x86_64 has. */
static void lzcnt_tzcnt(void)
{
    static uint8_t code[64];
    CHECK(has_lzcnt && has_bmi1, "this CPU lacks LZCNT or BMI1 (TZCNT): the test needs them");
    for (int w = 0; w < 2; w++)
        for (int z = 0; z < 2; z++) {
            jb_emit e;
            jb_emit_init(&e, code, sizeof code);
            jb_x64_count_rr(&e, IT(w), z ? JB_X64_TZCNT : JB_X64_LZCNT, R, A);
            jb_x64_ret(&e);
            wasm_fn f = (wasm_fn)install(&e);
            jb_emit_free(&e);
            CHECK(f, "install");
            for (unsigned k = 0; k < sizeof EDGE_I64 / sizeof EDGE_I64[0]; k++) {
                uint64_t a = w ? EDGE_I64[k] : (uint32_t)EDGE_I64[k];
                uint64_t want = z ? ctz64(a, w ? 64 : 32) : clz64(a, w ? 64 : 32);
                CHECK(f(a, 0, NULL) == want, "%s%d(%#llx)", z ? "tzcnt" : "lzcnt", w ? 64 : 32,
                      (unsigned long long)a);
            }
        }
}

static void cpu_features(void)
{
    unsigned a = 0, b = 0, c = 0, d = 0;
    __get_cpuid(1, &a, &b, &c, &d);
    int sse41 = (c >> 19) & 1, popcnt = (c >> 23) & 1;
    __get_cpuid(0x80000001, &a, &b, &c, &d);
    has_lzcnt = (c >> 5) & 1;
    __get_cpuid_count(7, 0, &a, &b, &c, &d);
    has_bmi1 = (b >> 3) & 1;
    CHECK(sse41 && popcnt, "this CPU lacks SSE4.1 or POPCNT, which the WebAssembly sequences use");
}

static const test_case tests[] = {
#define T(f) {#f, f}
    T(cpu_features), T(wasm_table), T(lzcnt_tzcnt),
#undef T
};

EXEC_MAIN(tests)
