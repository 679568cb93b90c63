/* jitbuf x86_64 emitters: scalar floating point, single and double
 * precision (SSE2; rounding needs SSE4.1). Included by x86_64.h.
 *
 * xmm registers are numbered 0..15. Families take the type first (JB_F32
 * for the ...ss forms, JB_F64 for ...sd); loads and stores of xmm
 * registers are jb_x64_load / jb_x64_store with JB_F32 / JB_F64. */
#ifndef JITBUF_X86_64_FP_H
#define JITBUF_X86_64_FP_H

#include "x86_64.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned jb_x64_xmm;

JB__INLINE int jb_x64__bad_ft(jb_emit *e, jb_type t)
{
    return jb_x64__bad(e, !JB__IS_FP(t), "x86_64: floating-point type must be JB_F32 or JB_F64");
}
/* The mandatory prefix of the ...ss (F3) and ...sd (F2) forms. */
#define JB_X64__FP_PFX(t) ((t) == JB_F32 ? JB_X64__PF3 : JB_X64__PF2)
/* ... and of the packed bitwise forms: ...ps (none), ...pd (66). */
#define JB_X64__PK_PFX(t) ((t) == JB_F32 ? 0u : JB_X64__P66)

/* Arithmetic: op d, s: d = d op s (sqrt: d = sqrt(s)). min/max return the
 * second operand when either is NaN or both are zeros (not IEEE minNum:
 * WebAssembly's fmin needs a sequence, see tests/exec). A NaN made here
 * (0/0, inf - inf, sqrt(-1)) is the negative default NaN, and of two NaN
 * operands the first is returned; arm64 makes the positive one and prefers
 * a signalling NaN: the results are NaN on both, the bits differ. */
typedef enum {
    JB_X64_FSQRT = 0x51, JB_X64_FADD = 0x58, JB_X64_FMUL = 0x59, JB_X64_FSUB = 0x5c,
    JB_X64_FMIN = 0x5d, JB_X64_FDIV = 0x5e, JB_X64_FMAX = 0x5f
} jb_x64_fp_op;

JB__INLINE int jb_x64__bad_fop(jb_emit *e, unsigned op)
{
    return jb_x64__bad(e, !(op == 0x51 || op == 0x58 || op == 0x59 || (op >= 0x5c && op <= 0x5f)),
                       "x86_64: not a jb_x64_fp_op");
}
JB__INLINE void jb_x64_fp_xx(jb_emit *e, jb_type t, jb_x64_fp_op op, jb_x64_xmm d, jb_x64_xmm s)
{
    if (!jb_x64__bad_ft(e, t) && !jb_x64__bad_fop(e, op))
        jb_x64__op_r(e, JB_X64__FP_PFX(t), 0, 0x0f00u | op, d, s, 0, 0);
}
JB__INLINE void jb_x64_fp_xm(jb_emit *e, jb_type t, jb_x64_fp_op op, jb_x64_xmm d, jb_x64_mem m)
{
    if (!jb_x64__bad_ft(e, t) && !jb_x64__bad_fop(e, op))
        jb_x64__op_m(e, JB_X64__FP_PFX(t), 0, 0x0f00u | op, d, m, 0, 0);
}

/* Double-precision names kept from earlier versions (jb_x64_sd_op has the
 * values of jb_x64_fp_op). */
typedef jb_x64_fp_op jb_x64_sd_op;
#define JB_X64_SQRTSD JB_X64_FSQRT
#define JB_X64_ADDSD JB_X64_FADD
#define JB_X64_MULSD JB_X64_FMUL
#define JB_X64_SUBSD JB_X64_FSUB
#define JB_X64_MINSD JB_X64_FMIN
#define JB_X64_DIVSD JB_X64_FDIV
#define JB_X64_MAXSD JB_X64_FMAX
JB__INLINE void jb_x64_sd_xx(jb_emit *e, jb_x64_sd_op op, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_fp_xx(e, JB_F64, op, d, s); }
JB__INLINE void jb_x64_sd_xm(jb_emit *e, jb_x64_sd_op op, jb_x64_xmm d, jb_x64_mem m) { jb_x64_fp_xm(e, JB_F64, op, d, m); }
JB__INLINE void jb_x64_addsd(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_fp_xx(e, JB_F64, JB_X64_FADD, d, s); }
JB__INLINE void jb_x64_subsd(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_fp_xx(e, JB_F64, JB_X64_FSUB, d, s); }
JB__INLINE void jb_x64_mulsd(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_fp_xx(e, JB_F64, JB_X64_FMUL, d, s); }
JB__INLINE void jb_x64_divsd(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_fp_xx(e, JB_F64, JB_X64_FDIV, d, s); }
JB__INLINE void jb_x64_sqrtsd(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_fp_xx(e, JB_F64, JB_X64_FSQRT, d, s); }
JB__INLINE void jb_x64_minsd(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_fp_xx(e, JB_F64, JB_X64_FMIN, d, s); }
JB__INLINE void jb_x64_maxsd(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_fp_xx(e, JB_F64, JB_X64_FMAX, d, s); }
JB__INLINE void jb_x64_addss(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_fp_xx(e, JB_F32, JB_X64_FADD, d, s); }
JB__INLINE void jb_x64_subss(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_fp_xx(e, JB_F32, JB_X64_FSUB, d, s); }
JB__INLINE void jb_x64_mulss(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_fp_xx(e, JB_F32, JB_X64_FMUL, d, s); }
JB__INLINE void jb_x64_divss(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_fp_xx(e, JB_F32, JB_X64_FDIV, d, s); }
JB__INLINE void jb_x64_sqrtss(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_fp_xx(e, JB_F32, JB_X64_FSQRT, d, s); }
JB__INLINE void jb_x64_minss(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_fp_xx(e, JB_F32, JB_X64_FMIN, d, s); }
JB__INLINE void jb_x64_maxss(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_fp_xx(e, JB_F32, JB_X64_FMAX, d, s); }

/* Bitwise operations on the whole register (andps/andnps/orps/xorps for
 * JB_F32, the ...pd forms for JB_F64): abs, neg and copysign with masks.
 * andn: d = ~d & s. */
typedef enum { JB_X64_FAND = 0x54, JB_X64_FANDN = 0x55, JB_X64_FOR = 0x56, JB_X64_FXOR = 0x57 } jb_x64_flogic;
JB__INLINE int jb_x64__bad_flogic(jb_emit *e, unsigned op)
{
    return jb_x64__bad(e, op < 0x54 || op > 0x57, "x86_64: not a jb_x64_flogic");
}
JB__INLINE void jb_x64_flogic_xx(jb_emit *e, jb_type t, jb_x64_flogic op, jb_x64_xmm d, jb_x64_xmm s)
{
    if (!jb_x64__bad_ft(e, t) && !jb_x64__bad_flogic(e, op))
        jb_x64__op_r(e, JB_X64__PK_PFX(t), 0, 0x0f00u | op, d, s, 0, 0);
}
/* [m] must be 16-byte aligned (a packed operand). */
JB__INLINE void jb_x64_flogic_xm(jb_emit *e, jb_type t, jb_x64_flogic op, jb_x64_xmm d, jb_x64_mem m)
{
    if (!jb_x64__bad_ft(e, t) && !jb_x64__bad_flogic(e, op))
        jb_x64__op_m(e, JB_X64__PK_PFX(t), 0, 0x0f00u | op, d, m, 0, 0);
}
/* xorpd d, s: with d == s, d = +0.0 */
JB__INLINE void jb_x64_xorpd(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_flogic_xx(e, JB_F64, JB_X64_FXOR, d, s); }

/* Register copies: movaps (any type; no false dependency), movapd. */
JB__INLINE void jb_x64_fmov_xx(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64__op_r(e, 0, 0, 0x0f28, d, s, 0, 0); }
JB__INLINE void jb_x64_movapd(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64__op_r(e, JB_X64__P66, 0, 0x0f28, d, s, 0, 0); }

/* movss/movsd loads and stores (jb_x64_load / jb_x64_store with a float
 * type do the same), and the literal load of a double placed at a label. */
JB__INLINE void jb_x64_movsd_xm(jb_emit *e, jb_x64_xmm d, jb_x64_mem m) { jb_x64_load(e, JB_F64, d, m); }
JB__INLINE void jb_x64_movsd_mx(jb_emit *e, jb_x64_mem m, jb_x64_xmm s) { jb_x64_store(e, JB_F64, m, s); }
JB__INLINE void jb_x64_movsd_xl(jb_emit *e, jb_x64_xmm d, jb_label l) { jb_x64_load(e, JB_F64, d, jb_x64_mem_l(l)); }

/* ucomiss/ucomisd a, b (and the [m] form): flags as an unsigned compare
 * (jb, ja, ...), ZF, PF and CF all set when unordered (NaN). comisd also
 * raises invalid on quiet NaNs. */
JB__INLINE void jb_x64_fcmp_xx(jb_emit *e, jb_type t, jb_x64_xmm a, jb_x64_xmm b)
{
    if (!jb_x64__bad_ft(e, t))
        jb_x64__op_r(e, JB_X64__PK_PFX(t), 0, 0x0f2e, a, b, 0, 0);
}
JB__INLINE void jb_x64_fcmp_xm(jb_emit *e, jb_type t, jb_x64_xmm a, jb_x64_mem m)
{
    if (!jb_x64__bad_ft(e, t))
        jb_x64__op_m(e, JB_X64__PK_PFX(t), 0, 0x0f2e, a, m, 0, 0);
}
JB__INLINE void jb_x64_ucomisd(jb_emit *e, jb_x64_xmm a, jb_x64_xmm b) { jb_x64_fcmp_xx(e, JB_F64, a, b); }
JB__INLINE void jb_x64_comisd(jb_emit *e, jb_x64_xmm a, jb_x64_xmm b) { jb_x64__op_r(e, JB_X64__P66, 0, 0x0f2f, a, b, 0, 0); }

/* Conversions. int -> float: cvtsi2ss/sd x, r (it: JB_S32 or JB_S64).
 * float -> int: cvttss2si/cvttsd2si (truncating, as C's cast; out of
 * range or NaN gives the "integer indefinite" 0x80..0), or
 * cvtss2si/cvtsd2si (current rounding mode), to JB_S32 or JB_S64: note
 * that arm64's jb_a64_cvt_f2i truncates, as cvtt_f2i does here, and that
 * jb_a64_cvtt_f2i is the same truncating name on both arches.
 * float -> float: cvtss2sd (to JB_F64) or cvtsd2ss (to JB_F32). These
 * instructions convert signed integers only, so an unsigned type (JB_U32,
 * JB_U64, and JB_I32/JB_I64, which are the same values) is refused: arm64's
 * jb_a64_cvt_* take the same types and convert unsigned for them. */
JB__INLINE int jb_x64__bad_it(jb_emit *e, jb_type it)
{
    return jb_x64__bad(e, (unsigned)it > 7 || JB__SIZE(it) < 2,
                       "x86_64: the integer type must be 32 or 64 bits (JB_S32/JB_I32, "
                       "JB_S64/JB_I64)");
}
JB__INLINE int jb_x64__bad_cvt_it(jb_emit *e, jb_type it)
{
    return jb_x64__bad_it(e, it) ||
           jb_x64__bad(e, !JB__SIGNED(it),
                       "x86_64: cvtsi2s*/cvt*2si convert signed integers only: pass JB_S32 or "
                       "JB_S64 (JB_I32/JB_I64 mean unsigned here, as on arm64; an unsigned "
                       "conversion takes a sequence)");
}
JB__INLINE void jb_x64_cvt_i2f(jb_emit *e, jb_type ft, jb_type it, jb_x64_xmm d, jb_x64_reg s)
{
    if (!jb_x64__bad_ft(e, ft) && !jb_x64__bad_cvt_it(e, it))
        jb_x64__op_r(e, JB_X64__FP_PFX(ft), JB_X64__SZ_W(it), 0x0f2a, d, s, 0, 0);
}
JB__INLINE void jb_x64_cvtt_f2i(jb_emit *e, jb_type it, jb_type ft, jb_x64_reg d, jb_x64_xmm s)
{
    if (!jb_x64__bad_ft(e, ft) && !jb_x64__bad_cvt_it(e, it))
        jb_x64__op_r(e, JB_X64__FP_PFX(ft), JB_X64__SZ_W(it), 0x0f2c, d, s, 0, 0);
}
JB__INLINE void jb_x64_cvt_f2i(jb_emit *e, jb_type it, jb_type ft, jb_x64_reg d, jb_x64_xmm s)
{
    if (!jb_x64__bad_ft(e, ft) && !jb_x64__bad_cvt_it(e, it))
        jb_x64__op_r(e, JB_X64__FP_PFX(ft), JB_X64__SZ_W(it), 0x0f2d, d, s, 0, 0);
}
JB__INLINE void jb_x64_cvt_f2f(jb_emit *e, jb_type to, jb_x64_xmm d, jb_x64_xmm s)
{
    if (!jb_x64__bad_ft(e, to)) /* the prefix names the source type */
        jb_x64__op_r(e, to == JB_F64 ? JB_X64__PF3 : JB_X64__PF2, 0, 0x0f5a, d, s, 0, 0);
}
JB__INLINE void jb_x64_cvtsi2sd(jb_emit *e, jb_x64_xmm d, jb_x64_reg s) { jb_x64_cvt_i2f(e, JB_F64, JB_S64, d, s); }
JB__INLINE void jb_x64_cvttsd2si(jb_emit *e, jb_x64_reg d, jb_x64_xmm s) { jb_x64_cvtt_f2i(e, JB_S64, JB_F64, d, s); }
JB__INLINE void jb_x64_cvtsd2si(jb_emit *e, jb_x64_reg d, jb_x64_xmm s) { jb_x64_cvt_f2i(e, JB_S64, JB_F64, d, s); }

/* roundss/roundsd d, s, mode (SSE4.1): to nearest even, toward -inf,
 * toward +inf, toward zero; the inexact exception is suppressed. */
typedef enum { JB_X64_ROUND_NEAREST, JB_X64_ROUND_FLOOR, JB_X64_ROUND_CEIL, JB_X64_ROUND_TRUNC } jb_x64_round_mode;
JB__INLINE void jb_x64_round(jb_emit *e, jb_type t, jb_x64_xmm d, jb_x64_xmm s, jb_x64_round_mode mode)
{
    if (!jb_x64__bad_ft(e, t) &&
        !jb_x64__bad(e, (unsigned)mode > 3, "x86_64: not a jb_x64_round_mode"))
        jb_x64__op_r(e, JB_X64__P66, 0, t == JB_F32 ? 0x0f3a0a : 0x0f3a0b, d, s, 8u | mode, 1);
}

/* Bit copies between the register files: movd/movq x, r and r, x (it:
 * JB_I32 or JB_I64); movq_xr / movq_rx are the 64-bit names. */
JB__INLINE void jb_x64_movd_xr(jb_emit *e, jb_type it, jb_x64_xmm d, jb_x64_reg s)
{
    if (!jb_x64__bad_it(e, it))
        jb_x64__op_r(e, JB_X64__P66, JB_X64__SZ_W(it), 0x0f6e, d, s, 0, 0);
}
JB__INLINE void jb_x64_movd_rx(jb_emit *e, jb_type it, jb_x64_reg d, jb_x64_xmm s)
{
    if (!jb_x64__bad_it(e, it))
        jb_x64__op_r(e, JB_X64__P66, JB_X64__SZ_W(it), 0x0f7e, s, d, 0, 0);
}
JB__INLINE void jb_x64_movq_xr(jb_emit *e, jb_x64_xmm d, jb_x64_reg s) { jb_x64_movd_xr(e, JB_I64, d, s); }
JB__INLINE void jb_x64_movq_rx(jb_emit *e, jb_x64_reg d, jb_x64_xmm s) { jb_x64_movd_rx(e, JB_I64, d, s); }

#ifdef __cplusplus
}
#endif
#endif
