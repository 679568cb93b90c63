/* jitbuf arm64 (A64) emitters (header-only, static inline).
 *
 * Each emitter writes one 32-bit instruction (mov_imm: up to four) with one
 * capacity check and no call on the hot path (see emit.h). Registers are
 * numbers 0..30; 31 means sp or xzr as the instruction defines it
 * (JB_A64_SP / JB_A64_XZR). All forms here are 64-bit (X registers).
 * Immediates that no encoding can hold set JB_EOPERAND; branches check
 * imm26 / imm19 ranges and set JB_EBRANCH. */
#ifndef JITBUF_ARM64_H
#define JITBUF_ARM64_H

#include "emit.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned jb_a64_reg; /* 0..30, or 31 (sp/xzr) */
#define JB_A64_FP 29u
#define JB_A64_LR 30u
#define JB_A64_SP 31u
#define JB_A64_XZR 31u

typedef enum {
    JB_A64_EQ, JB_A64_NE, JB_A64_HS, JB_A64_LO, JB_A64_MI, JB_A64_PL, JB_A64_VS,
    JB_A64_VC, JB_A64_HI, JB_A64_LS, JB_A64_GE, JB_A64_LT, JB_A64_GT, JB_A64_LE,
    JB_A64_AL
} jb_a64_cond;

/* ---- opcode constants and field encoders ---------------------------------- */

#define JB_A64_OP_MOVN 0x92800000u
#define JB_A64_OP_MOVZ 0xd2800000u
#define JB_A64_OP_MOVK 0xf2800000u
#define JB_A64_OP_ADD_R 0x8b000000u
#define JB_A64_OP_SUB_R 0xcb000000u
#define JB_A64_OP_SUBS_R 0xeb000000u
#define JB_A64_OP_AND_R 0x8a000000u
#define JB_A64_OP_ORR_R 0xaa000000u
#define JB_A64_OP_EOR_R 0xca000000u
#define JB_A64_OP_ADD_I 0x91000000u
#define JB_A64_OP_SUB_I 0xd1000000u
#define JB_A64_OP_SUBS_I 0xf1000000u
#define JB_A64_OP_LDR_UI 0xf9400000u
#define JB_A64_OP_STR_UI 0xf9000000u
#define JB_A64_OP_B 0x14000000u
#define JB_A64_OP_BL 0x94000000u
#define JB_A64_OP_BCOND 0x54000000u
#define JB_A64_OP_CBZ 0xb4000000u
#define JB_A64_OP_CBNZ 0xb5000000u
#define JB_A64_OP_BR 0xd61f0000u
#define JB_A64_OP_BLR 0xd63f0000u
#define JB_A64_OP_RET 0xd65f0000u
#define JB_A64_OP_BRK 0xd4200000u
#define JB_A64_OP_UDF 0x00000000u
#define JB_A64_OP_NOP 0xd503201fu

static inline uint32_t jb_a64__rd(unsigned r) { return r & 31u; }
static inline uint32_t jb_a64__rn(unsigned r) { return (r & 31u) << 5; }
static inline uint32_t jb_a64__rm(unsigned r) { return (r & 31u) << 16; }

static inline void jb_a64__word(jb_emit *e, uint32_t w)
{
    if (jb_emit_room(e, 4)) {
        jb__put32(e->cur, w);
        e->cur += 4;
    }
}

static inline int jb_a64__bad(jb_emit *e, int cond, const char *what)
{
    if (!cond)
        return 0;
    jb_emit_fail(e, JB_EOPERAND, what);
    return 1;
}

/* ---- moves ------------------------------------------------------------------ */

/* movz/movk/movn rd, #imm16, lsl #shift (shift 0, 16, 32, 48) */
static inline void jb_a64__mov16(jb_emit *e, uint32_t op, jb_a64_reg rd, unsigned imm16, unsigned shift)
{
    if (jb_a64__bad(e, rd > 31 || imm16 > 0xffff || (shift & 15) || shift > 48,
                    "arm64: mov immediate needs imm16 <= 0xffff and shift 0/16/32/48"))
        return;
    jb_a64__word(e, op | (shift / 16) << 21 | imm16 << 5 | jb_a64__rd(rd));
}
static inline void jb_a64_movz(jb_emit *e, jb_a64_reg rd, unsigned imm16, unsigned shift) { jb_a64__mov16(e, JB_A64_OP_MOVZ, rd, imm16, shift); }
static inline void jb_a64_movk(jb_emit *e, jb_a64_reg rd, unsigned imm16, unsigned shift) { jb_a64__mov16(e, JB_A64_OP_MOVK, rd, imm16, shift); }
static inline void jb_a64_movn(jb_emit *e, jb_a64_reg rd, unsigned imm16, unsigned shift) { jb_a64__mov16(e, JB_A64_OP_MOVN, rd, imm16, shift); }

/* rd = imm with the fewest movz/movn + movk: starts from whichever of 0 or
 * all-ones leaves fewer 16-bit chunks to fill. (Bitmask-immediate ORR forms
 * are not used yet.) */
static inline void jb_a64_mov_imm(jb_emit *e, jb_a64_reg rd, uint64_t imm)
{
    if (!jb_emit_room(e, 16) || jb_a64__bad(e, rd > 30, "arm64: mov_imm needs x0..x30"))
        return;
    unsigned zeros = 0, ones = 0;
    for (unsigned s = 0; s < 64; s += 16) {
        unsigned c = (unsigned)(imm >> s) & 0xffff;
        zeros += c == 0;
        ones += c == 0xffff;
    }
    int inv = ones > zeros;
    uint64_t fill = inv ? 0xffff : 0;
    int first = 1;
    for (unsigned s = 0; s < 64; s += 16) {
        unsigned c = (unsigned)(imm >> s) & 0xffff;
        if (c == fill)
            continue;
        if (first)
            jb_a64__mov16(e, inv ? JB_A64_OP_MOVN : JB_A64_OP_MOVZ, rd, inv ? (~c & 0xffff) : c, s);
        else
            jb_a64__mov16(e, JB_A64_OP_MOVK, rd, c, s);
        first = 0;
    }
    if (first) /* 0 or all-ones */
        jb_a64__mov16(e, inv ? JB_A64_OP_MOVN : JB_A64_OP_MOVZ, rd, 0, 0);
}

/* mov rd, rm (orr rd, xzr, rm) */
static inline void jb_a64_mov_rr(jb_emit *e, jb_a64_reg rd, jb_a64_reg rm)
{
    jb_a64__word(e, JB_A64_OP_ORR_R | jb_a64__rm(rm) | jb_a64__rn(31) | jb_a64__rd(rd));
}

/* ---- integer ALU -------------------------------------------------------------- */

/* op rd, rn, rm (shifted-register form, no shift; 31 = xzr) */
static inline void jb_a64__rrr(jb_emit *e, uint32_t op, jb_a64_reg rd, jb_a64_reg rn, jb_a64_reg rm)
{
    if (jb_a64__bad(e, (rd | rn | rm) > 31, "arm64: register number above 31"))
        return;
    jb_a64__word(e, op | jb_a64__rm(rm) | jb_a64__rn(rn) | jb_a64__rd(rd));
}
static inline void jb_a64_add(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_ADD_R, d, n, m); }
static inline void jb_a64_sub(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_SUB_R, d, n, m); }
static inline void jb_a64_and(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_AND_R, d, n, m); }
static inline void jb_a64_orr(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_ORR_R, d, n, m); }
static inline void jb_a64_eor(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_EOR_R, d, n, m); }
static inline void jb_a64_cmp(jb_emit *e, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_SUBS_R, 31, n, m); }

/* op rd, rn, #imm: imm12, or imm12 << 12 when the low 12 bits are zero
 * (rn and, for add/sub, rd may be sp) */
static inline void jb_a64__rri(jb_emit *e, uint32_t op, jb_a64_reg rd, jb_a64_reg rn, uint64_t imm)
{
    uint32_t sh = 0;
    if (imm > 0xfff && !(imm & 0xfff) && imm <= 0xfff000) {
        imm >>= 12;
        sh = 1u << 22;
    }
    if (jb_a64__bad(e, imm > 0xfff || (rd | rn) > 31,
                    "arm64: add/sub immediate must be 0..4095, optionally shifted by 12"))
        return;
    jb_a64__word(e, op | sh | (uint32_t)imm << 10 | jb_a64__rn(rn) | jb_a64__rd(rd));
}
static inline void jb_a64_add_imm(jb_emit *e, jb_a64_reg d, jb_a64_reg n, uint64_t i) { jb_a64__rri(e, JB_A64_OP_ADD_I, d, n, i); }
static inline void jb_a64_sub_imm(jb_emit *e, jb_a64_reg d, jb_a64_reg n, uint64_t i) { jb_a64__rri(e, JB_A64_OP_SUB_I, d, n, i); }
static inline void jb_a64_cmp_imm(jb_emit *e, jb_a64_reg n, uint64_t i) { jb_a64__rri(e, JB_A64_OP_SUBS_I, 31, n, i); }

/* ---- loads and stores --------------------------------------------------------- */

/* ldr/str xt, [xn, #off]: unsigned offset, a multiple of 8 below 32768 */
static inline void jb_a64__ldst(jb_emit *e, uint32_t op, jb_a64_reg rt, jb_a64_reg rn, uint32_t off)
{
    if (jb_a64__bad(e, (off & 7) || off > 32760 || (rt | rn) > 31,
                    "arm64: ldr/str unsigned offset must be a multiple of 8 in 0..32760"))
        return;
    jb_a64__word(e, op | (off / 8) << 10 | jb_a64__rn(rn) | jb_a64__rd(rt));
}
static inline void jb_a64_ldr(jb_emit *e, jb_a64_reg rt, jb_a64_reg rn, uint32_t off) { jb_a64__ldst(e, JB_A64_OP_LDR_UI, rt, rn, off); }
static inline void jb_a64_str(jb_emit *e, jb_a64_reg rt, jb_a64_reg rn, uint32_t off) { jb_a64__ldst(e, JB_A64_OP_STR_UI, rt, rn, off); }

/* ---- control flow --------------------------------------------------------------- */

/* A branch whose offset field is imm26 (b, bl) or imm19 at bit 5. */
static inline void jb_a64__branch(jb_emit *e, uint32_t op, jb_label l, uint32_t kind)
{
    if (!jb_emit_room(e, 4))
        return;
    uint32_t here = (uint32_t)(e->cur - e->start);
    int32_t t = jb__label_target(e, l, here, kind);
    uint32_t w = op;
    if (t >= 0) {
        int32_t d = (t - (int32_t)here) / 4;
        int32_t lim = kind == JB__FIX_IMM26 ? (1 << 25) : (1 << 18);
        if (d < -lim || d >= lim) {
            jb_emit_fail(e, JB_EBRANCH, "arm64: branch target out of range "
                                        "(b/bl +-128 MiB, b.cond/cbz +-1 MiB)");
            return;
        }
        w |= kind == JB__FIX_IMM26 ? ((uint32_t)d & 0x03ffffffu) : ((uint32_t)d & 0x7ffffu) << 5;
    }
    jb__put32(e->cur, w);
    e->cur += 4;
}
static inline void jb_a64_b(jb_emit *e, jb_label l) { jb_a64__branch(e, JB_A64_OP_B, l, JB__FIX_IMM26); }
static inline void jb_a64_bl(jb_emit *e, jb_label l) { jb_a64__branch(e, JB_A64_OP_BL, l, JB__FIX_IMM26); }
static inline void jb_a64_bcond(jb_emit *e, jb_a64_cond c, jb_label l) { jb_a64__branch(e, JB_A64_OP_BCOND | (c & 15u), l, JB__FIX_IMM19); }
static inline void jb_a64_cbz(jb_emit *e, jb_a64_reg rt, jb_label l) { jb_a64__branch(e, JB_A64_OP_CBZ | (rt & 31u), l, JB__FIX_IMM19); }
static inline void jb_a64_cbnz(jb_emit *e, jb_a64_reg rt, jb_label l) { jb_a64__branch(e, JB_A64_OP_CBNZ | (rt & 31u), l, JB__FIX_IMM19); }

static inline void jb_a64_br(jb_emit *e, jb_a64_reg rn) { jb_a64__word(e, JB_A64_OP_BR | jb_a64__rn(rn)); }
static inline void jb_a64_blr(jb_emit *e, jb_a64_reg rn) { jb_a64__word(e, JB_A64_OP_BLR | jb_a64__rn(rn)); }
static inline void jb_a64_ret(jb_emit *e) { jb_a64__word(e, JB_A64_OP_RET | jb_a64__rn(JB_A64_LR)); }

/* ---- traps and padding ------------------------------------------------------------ */

static inline void jb_a64_brk(jb_emit *e, unsigned imm16) { jb_a64__word(e, JB_A64_OP_BRK | (imm16 & 0xffffu) << 5); }
static inline void jb_a64_udf(jb_emit *e, unsigned imm16) { jb_a64__word(e, JB_A64_OP_UDF | (imm16 & 0xffffu)); }
static inline void jb_a64_nop(jb_emit *e) { jb_a64__word(e, JB_A64_OP_NOP); }

#ifdef __cplusplus
}
#endif
#endif
