/* jitbuf arm64 emitters: scalar floating point, single and double
 * precision. Included by arm64.h.
 *
 * s/d registers are numbered 0..31. Families take the type first (JB_F32
 * for s registers, JB_F64 for d); loads and stores are jb_a64_load /
 * jb_a64_store / jb_a64_load_l with JB_F32 / JB_F64. The older names
 * (jb_a64_fadd, jb_a64_fload, ...) are double-precision shorthands. */
#ifndef JITBUF_ARM64_FP_H
#define JITBUF_ARM64_FP_H

#include "arm64.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned jb_a64_dreg;

JB__INLINE int jb_a64__bad_ft(jb_emit *e, jb_type t)
{
    return jb_a64__bad(e, !JB__IS_FP(t), "arm64: floating-point type must be JB_F32 or JB_F64");
}
#define JB_A64__FTYPE(t) ((t) == JB_F64 ? 1u << 22 : 0u)

/* d = n op m. max/min return NaN when either is NaN (and order -0 < +0:
 * WebAssembly's fmax/fmin); maxnm/minnm return the number (IEEE maxNum). */
typedef enum {
    JB_A64_F_MUL, JB_A64_F_DIV, JB_A64_F_ADD, JB_A64_F_SUB, JB_A64_F_MAX, JB_A64_F_MIN,
    JB_A64_F_MAXNM, JB_A64_F_MINNM
} jb_a64_fp_op;
JB__INLINE void jb_a64_fp(jb_emit *e, jb_type t, jb_a64_fp_op op, jb_a64_dreg d, jb_a64_dreg n,
                             jb_a64_dreg m)
{
    if (!jb_a64__bad_ft(e, t) && !jb_a64__bad_regs(e, d | n | m) &&
        !jb_a64__bad(e, (unsigned)op > JB_A64_F_MINNM, "arm64: not a jb_a64_fp_op"))
        jb_a64__word(e, 0x1e200800u | JB_A64__FTYPE(t) | m << 16 | (uint32_t)op << 12 | n << 5 | d);
}

/* d = op n: fmov (copy), fabs, fneg, fsqrt, and rounding to an integral
 * value: frintn (nearest, ties to even), frintp (toward +inf), frintm
 * (toward -inf), frintz (toward zero), frinta (nearest, ties away), frintx
 * and frinti (current mode; frintx signals inexact). */
typedef enum {
    JB_A64_F_MOV = 0, JB_A64_F_ABS = 1, JB_A64_F_NEG = 2, JB_A64_F_SQRT = 3, JB_A64_F_RINTN = 8,
    JB_A64_F_RINTP = 9, JB_A64_F_RINTM = 10, JB_A64_F_RINTZ = 11, JB_A64_F_RINTA = 12,
    JB_A64_F_RINTX = 14, JB_A64_F_RINTI = 15
} jb_a64_fp_unop;
JB__INLINE void jb_a64_fp_un(jb_emit *e, jb_type t, jb_a64_fp_unop op, jb_a64_dreg d, jb_a64_dreg n)
{
    unsigned k = (unsigned)op;
    if (!jb_a64__bad_ft(e, t) && !jb_a64__bad_regs(e, d | n) &&
        !jb_a64__bad(e, k > 15 || (k > 3 && k < 8) || k == 13, "arm64: not a jb_a64_fp_unop"))
        jb_a64__word(e, 0x1e204000u | JB_A64__FTYPE(t) | k << 15 | n << 5 | d);
}

/* fcvt d, n: to the other precision (to = JB_F64: s -> d; JB_F32: d -> s). */
JB__INLINE void jb_a64_fcvt(jb_emit *e, jb_type to, jb_a64_dreg d, jb_a64_dreg n)
{
    if (!jb_a64__bad_ft(e, to) && !jb_a64__bad_regs(e, d | n))
        jb_a64__word(e, (to == JB_F64 ? 0x1e22c000u : 0x1e624000u) | n << 5 | d);
}

/* fcmp n, m and fcmp n, #0.0: flags for b.cond (unordered sets C and V: use
 * mi/ls/lt/le style conditions that are false on NaN where that matters). */
JB__INLINE void jb_a64_fcmp_sz(jb_emit *e, jb_type t, jb_a64_dreg n, jb_a64_dreg m)
{
    if (!jb_a64__bad_ft(e, t) && !jb_a64__bad_regs(e, n | m))
        jb_a64__word(e, 0x1e202000u | JB_A64__FTYPE(t) | m << 16 | n << 5);
}
JB__INLINE void jb_a64_fcmp0(jb_emit *e, jb_type t, jb_a64_dreg n)
{
    if (!jb_a64__bad_ft(e, t) && !jb_a64__bad_regs(e, n))
        jb_a64__word(e, 0x1e202008u | JB_A64__FTYPE(t) | n << 5);
}
/* fcsel d = c ? n : m */
JB__INLINE void jb_a64_fcsel_sz(jb_emit *e, jb_type t, jb_a64_dreg d, jb_a64_dreg n, jb_a64_dreg m,
                                   jb_a64_cond c)
{
    if (!jb_a64__bad_ft(e, t) && !jb_a64__bad_regs(e, d | n | m) &&
        !jb_a64__bad(e, (unsigned)c > 15, "arm64: condition must be 0..15"))
        jb_a64__word(e, 0x1e200c00u | JB_A64__FTYPE(t) | m << 16 | (uint32_t)c << 12 | n << 5 | d);
}

/* Conversions between integer registers of type it (signed for JB_S32 and
 * JB_S64, unsigned for JB_U32 and JB_U64, which JB_I32 and JB_I64 are)
 * and float registers of type ft:
 * scvtf/ucvtf (int -> float, rounded to nearest) and fcvtzs/fcvtzu (float
 * -> int toward zero, saturating; NaN gives 0). */
JB__INLINE int jb_a64__bad_it(jb_emit *e, jb_type it)
{
    return jb_a64__bad(e, (unsigned)it > 7 || JB__SIZE(it) < 2,
                       "arm64: integer type of a conversion must be 32 or 64 bits");
}
JB__INLINE void jb_a64_cvt_i2f(jb_emit *e, jb_type ft, jb_type it, jb_a64_dreg d, jb_a64_reg n)
{
    if (!jb_a64__bad_ft(e, ft) && !jb_a64__bad_it(e, it) && !jb_a64__bad_regs(e, d | n))
        jb_a64__word(e, (JB__SIGNED(it) ? 0x1e220000u : 0x1e230000u) | JB_A64__SF(it) |
                            JB_A64__FTYPE(ft) | n << 5 | d);
}
JB__INLINE void jb_a64_cvt_f2i(jb_emit *e, jb_type it, jb_type ft, jb_a64_reg d, jb_a64_dreg n)
{
    if (!jb_a64__bad_ft(e, ft) && !jb_a64__bad_it(e, it) && !jb_a64__bad_regs(e, d | n))
        jb_a64__word(e, (JB__SIGNED(it) ? 0x1e380000u : 0x1e390000u) | JB_A64__SF(it) |
                            JB_A64__FTYPE(ft) | n << 5 | d);
}
/* The same, under the name that truncates on both arches: jb_x64_cvt_f2i
 * rounds in the current mode, jb_x64_cvtt_f2i truncates as this does. */
JB__INLINE void jb_a64_cvtt_f2i(jb_emit *e, jb_type it, jb_type ft, jb_a64_reg d, jb_a64_dreg n)
{
    jb_a64_cvt_f2i(e, it, ft, d, n);
}
/* Bit copies: fmov st, wn / dt, xn (to float) and fmov wd, sn / xd, dn. */
JB__INLINE void jb_a64_fmov_to_fp(jb_emit *e, jb_type t, jb_a64_dreg d, jb_a64_reg n)
{
    if (!jb_a64__bad_ft(e, t) && !jb_a64__bad_regs(e, d | n))
        jb_a64__word(e, (t == JB_F64 ? 0x9e670000u : 0x1e270000u) | n << 5 | d);
}
JB__INLINE void jb_a64_fmov_from_fp(jb_emit *e, jb_type t, jb_a64_reg d, jb_a64_dreg n)
{
    if (!jb_a64__bad_ft(e, t) && !jb_a64__bad_regs(e, d | n))
        jb_a64__word(e, (t == JB_F64 ? 0x9e660000u : 0x1e260000u) | n << 5 | d);
}

/* ---- double-precision shorthands (the names of earlier versions) ---------- */

#define JB_A64_OP_FMUL 0x1e600800u
#define JB_A64_OP_FDIV 0x1e601800u
#define JB_A64_OP_FADD 0x1e602800u
#define JB_A64_OP_FSUB 0x1e603800u
#define JB_A64_OP_FMAX 0x1e604800u
#define JB_A64_OP_FMIN 0x1e605800u
#define JB_A64_OP_FMOV 0x1e604000u
#define JB_A64_OP_FABS 0x1e60c000u
#define JB_A64_OP_FNEG 0x1e614000u
#define JB_A64_OP_FSQRT 0x1e61c000u
#define JB_A64_OP_FCMP 0x1e602000u
#define JB_A64_OP_FCSEL 0x1e600c00u
#define JB_A64_OP_SCVTF 0x9e620000u  /* d <- signed x */
#define JB_A64_OP_UCVTF 0x9e630000u  /* d <- unsigned x */
#define JB_A64_OP_FCVTZS 0x9e780000u /* signed x <- d, toward zero */
#define JB_A64_OP_FCVTZU 0x9e790000u /* unsigned x <- d, toward zero */
#define JB_A64_OP_FMOV_DX 0x9e670000u /* d <- x (bits) */
#define JB_A64_OP_FMOV_XD 0x9e660000u /* x <- d (bits) */

JB__INLINE void jb_a64_fadd(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n, jb_a64_dreg m) { jb_a64_fp(e, JB_F64, JB_A64_F_ADD, d, n, m); }
JB__INLINE void jb_a64_fsub(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n, jb_a64_dreg m) { jb_a64_fp(e, JB_F64, JB_A64_F_SUB, d, n, m); }
JB__INLINE void jb_a64_fmul(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n, jb_a64_dreg m) { jb_a64_fp(e, JB_F64, JB_A64_F_MUL, d, n, m); }
JB__INLINE void jb_a64_fdiv(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n, jb_a64_dreg m) { jb_a64_fp(e, JB_F64, JB_A64_F_DIV, d, n, m); }
JB__INLINE void jb_a64_fmax(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n, jb_a64_dreg m) { jb_a64_fp(e, JB_F64, JB_A64_F_MAX, d, n, m); }
JB__INLINE void jb_a64_fmin(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n, jb_a64_dreg m) { jb_a64_fp(e, JB_F64, JB_A64_F_MIN, d, n, m); }
/* A one-source instruction given by its opcode (the JB_A64_OP_* above). */
JB__INLINE void jb_a64_fp1(jb_emit *e, uint32_t op, unsigned d, unsigned n) { jb_a64__rrr(e, op, d, n, 0); }
JB__INLINE void jb_a64_fmov(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n) { jb_a64_fp_un(e, JB_F64, JB_A64_F_MOV, d, n); }
JB__INLINE void jb_a64_fneg(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n) { jb_a64_fp_un(e, JB_F64, JB_A64_F_NEG, d, n); }
JB__INLINE void jb_a64_fabs(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n) { jb_a64_fp_un(e, JB_F64, JB_A64_F_ABS, d, n); }
JB__INLINE void jb_a64_fsqrt(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n) { jb_a64_fp_un(e, JB_F64, JB_A64_F_SQRT, d, n); }
JB__INLINE void jb_a64_scvtf(jb_emit *e, jb_a64_dreg d, jb_a64_reg n) { jb_a64_cvt_i2f(e, JB_F64, JB_S64, d, n); }
JB__INLINE void jb_a64_ucvtf(jb_emit *e, jb_a64_dreg d, jb_a64_reg n) { jb_a64_cvt_i2f(e, JB_F64, JB_U64, d, n); }
JB__INLINE void jb_a64_fcvtzs(jb_emit *e, jb_a64_reg d, jb_a64_dreg n) { jb_a64_cvt_f2i(e, JB_S64, JB_F64, d, n); }
JB__INLINE void jb_a64_fcvtzu(jb_emit *e, jb_a64_reg d, jb_a64_dreg n) { jb_a64_cvt_f2i(e, JB_U64, JB_F64, d, n); }
JB__INLINE void jb_a64_fmov_dx(jb_emit *e, jb_a64_dreg d, jb_a64_reg n) { jb_a64_fmov_to_fp(e, JB_F64, d, n); }
JB__INLINE void jb_a64_fmov_xd(jb_emit *e, jb_a64_reg d, jb_a64_dreg n) { jb_a64_fmov_from_fp(e, JB_F64, d, n); }
JB__INLINE void jb_a64_fcmp(jb_emit *e, jb_a64_dreg n, jb_a64_dreg m) { jb_a64_fcmp_sz(e, JB_F64, n, m); }
JB__INLINE void jb_a64_fcsel(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n, jb_a64_dreg m, jb_a64_cond c) { jb_a64_fcsel_sz(e, JB_F64, d, n, m, c); }
JB__INLINE void jb_a64_fload(jb_emit *e, jb_a64_dreg dt, jb_a64_reg rn, int32_t off, jb_a64_mode mode) { jb_a64_load(e, JB_F64, dt, rn, off, mode); }
JB__INLINE void jb_a64_fstore(jb_emit *e, jb_a64_dreg dt, jb_a64_reg rn, int32_t off, jb_a64_mode mode) { jb_a64_store(e, JB_F64, dt, rn, off, mode); }
JB__INLINE void jb_a64_fload_r(jb_emit *e, jb_a64_dreg dt, jb_a64_reg rn, jb_a64_reg rm, unsigned opt) { jb_a64_load_r(e, JB_F64, dt, rn, rm, opt); }
JB__INLINE void jb_a64_fstore_r(jb_emit *e, jb_a64_dreg dt, jb_a64_reg rn, jb_a64_reg rm, unsigned opt) { jb_a64_store_r(e, JB_F64, dt, rn, rm, opt); }
JB__INLINE void jb_a64_fldr_l(jb_emit *e, jb_a64_dreg dt, jb_label l) { jb_a64_load_l(e, JB_F64, dt, l); }

#ifdef __cplusplus
}
#endif
#endif
