/* jitbuf arm64 (A64) emitters (header-only, static inline).
 *
 * Each emitter writes one 32-bit instruction (mov_imm: up to four) with one
 * capacity check and no call on the hot path (see emit.h). Registers are
 * numbers 0..30; 31 means sp or xzr as the instruction defines it
 * (JB_A64_SP / JB_A64_XZR). Arithmetic is 64-bit (X registers); loads and
 * stores come in 8/16/32/64 bits, widened into X registers.
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
#define JB_A64_OP_ADDS_R 0xab000000u
#define JB_A64_OP_SUB_R 0xcb000000u
#define JB_A64_OP_SUBS_R 0xeb000000u
#define JB_A64_OP_AND_R 0x8a000000u
#define JB_A64_OP_BIC_R 0x8a200000u
#define JB_A64_OP_ORR_R 0xaa000000u
#define JB_A64_OP_ORN_R 0xaa200000u
#define JB_A64_OP_EOR_R 0xca000000u
#define JB_A64_OP_ANDS_R 0xea000000u
#define JB_A64_OP_ADD_I 0x91000000u
#define JB_A64_OP_SUB_I 0xd1000000u
#define JB_A64_OP_ADDS_I 0xb1000000u
#define JB_A64_OP_SUBS_I 0xf1000000u
#define JB_A64_OP_AND_I 0x92000000u
#define JB_A64_OP_ORR_I 0xb2000000u
#define JB_A64_OP_EOR_I 0xd2000000u
#define JB_A64_OP_ANDS_I 0xf2000000u
#define JB_A64_OP_LSLV 0x9ac02000u
#define JB_A64_OP_LSRV 0x9ac02400u
#define JB_A64_OP_ASRV 0x9ac02800u
#define JB_A64_OP_RORV 0x9ac02c00u
#define JB_A64_OP_UDIV 0x9ac00800u
#define JB_A64_OP_SDIV 0x9ac00c00u
#define JB_A64_OP_MADD 0x9b000000u
#define JB_A64_OP_MSUB 0x9b008000u
#define JB_A64_OP_SMULH 0x9b407c00u
#define JB_A64_OP_UMULH 0x9bc07c00u
#define JB_A64_OP_UBFM 0xd3400000u
#define JB_A64_OP_SBFM 0x93400000u
#define JB_A64_OP_EXTR 0x93c00000u
#define JB_A64_OP_CSEL 0x9a800000u
#define JB_A64_OP_CSINC 0x9a800400u
#define JB_A64_OP_CSINV 0xda800000u
#define JB_A64_OP_CSNEG 0xda800400u
#define JB_A64_OP_LDR_UI 0xf9400000u
#define JB_A64_OP_STR_UI 0xf9000000u
#define JB_A64_OP_LDR_LIT 0x58000000u
#define JB_A64_OP_LDR_D_LIT 0x5c000000u
#define JB_A64_OP_STP 0xa9000000u
#define JB_A64_OP_LDP 0xa9400000u
#define JB_A64_OP_ADR 0x10000000u
#define JB_A64_OP_ADRP 0x90000000u
#define JB_A64_OP_B 0x14000000u
#define JB_A64_OP_BL 0x94000000u
#define JB_A64_OP_BCOND 0x54000000u
#define JB_A64_OP_CBZ 0xb4000000u
#define JB_A64_OP_CBNZ 0xb5000000u
#define JB_A64_OP_TBZ 0x36000000u
#define JB_A64_OP_TBNZ 0x37000000u
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

/* Is v a bitmask immediate (a repeating 2/4/8/16/32/64-bit element holding
 * a rotated run of ones; neither all zeros nor all ones)? If so, 1 and
 * *field = its N:immr:imms bits (22..10), else 0. */
static inline int jb_a64__bitmask(uint64_t v, uint32_t *field)
{
    if (v == 0 || v == ~(uint64_t)0)
        return 0;
    unsigned size = 64;
    while (size > 2) {
        unsigned h = size / 2;
        uint64_t m = ((uint64_t)1 << h) - 1;
        if ((v & m) != ((v >> h) & m))
            break;
        size = h;
    }
    uint64_t mask = size == 64 ? ~(uint64_t)0 : ((uint64_t)1 << size) - 1;
    uint64_t x = v & mask;
    /* Rotate right by z so that bit 0 is a zero, then the ones must be one
     * run starting at t: x = ROR(ones(n), R) with R = size - (z + t). */
    unsigned z = (unsigned)__builtin_ctzll(~x);
    uint64_t y = z ? ((x >> z) | (x << (size - z))) & mask : x;
    unsigned t = (unsigned)__builtin_ctzll(y);
    uint64_t run = y >> t;
    if (run & (run + 1))
        return 0;
    unsigned n = (unsigned)__builtin_popcountll(run);
    unsigned r = (size - (z + t) % size) % size;
    unsigned imms = ((~(size - 1) << 1) | (n - 1)) & 0x3f;
    *field = (size == 64 ? 1u << 22 : 0) | r << 16 | imms << 10;
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

/* Chunks of imm (16 bits each) that are not `fill` (0 or 0xffff). */
static inline unsigned jb_a64__chunks_not(uint64_t imm, unsigned fill)
{
    unsigned n = 0;
    for (unsigned s = 0; s < 64; s += 16)
        n += ((imm >> s) & 0xffff) != fill;
    return n;
}

/* rd = imm in the fewest instructions these forms allow: one movz/movn or
 * one orr of a bitmask immediate when either can; else orr + movk when
 * replacing one 16-bit chunk makes a bitmask immediate and that beats
 * movz/movn + movk; else movz or movn (whichever leaves fewer chunks) and
 * a movk per remaining chunk. At most four instructions. */
static inline void jb_a64_mov_imm(jb_emit *e, jb_a64_reg rd, uint64_t imm)
{
    if (!jb_emit_room(e, 16) || jb_a64__bad(e, rd > 30, "arm64: mov_imm needs x0..x30"))
        return;
    unsigned nz = jb_a64__chunks_not(imm, 0), no = jb_a64__chunks_not(imm, 0xffff);
    int inv = no < nz;
    unsigned moves = inv ? no : nz;
    uint32_t bm;
    if (moves > 1) {
        if (jb_a64__bitmask(imm, &bm)) {
            jb_a64__word(e, JB_A64_OP_ORR_I | bm | jb_a64__rn(31) | jb_a64__rd(rd));
            return;
        }
    }
    if (moves > 2) {
        /* movk will overwrite chunk k, so any value there will do: the copy
         * a 16/32-bit element repeats (chunk k ^ 2), or for a 64-bit run
         * one that is empty, full, or where the run ends (0x0001) or starts
         * (0x8000). */
        for (unsigned k = 0; k < 64; k += 16) {
            const unsigned cand[5] = {(unsigned)(imm >> (k ^ 32)) & 0xffff, 0, 0xffff, 1, 0x8000};
            for (unsigned j = 0; j < 5; j++) {
                uint64_t c = (imm & ~((uint64_t)0xffff << k)) | (uint64_t)cand[j] << k;
                if (jb_a64__bitmask(c, &bm)) {
                    jb_a64__word(e, JB_A64_OP_ORR_I | bm | jb_a64__rn(31) | jb_a64__rd(rd));
                    jb_a64__mov16(e, JB_A64_OP_MOVK, rd, (unsigned)(imm >> k) & 0xffff, k);
                    return;
                }
            }
        }
    }
    unsigned fill = inv ? 0xffff : 0;
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

/* mov rd, rm (orr rd, xzr, rm; 31 is xzr) */
static inline void jb_a64_mov_rr(jb_emit *e, jb_a64_reg rd, jb_a64_reg rm)
{
    jb_a64__word(e, JB_A64_OP_ORR_R | jb_a64__rm(rm) | jb_a64__rn(31) | jb_a64__rd(rd));
}

/* mov rd, rn where either may be sp (add rd, rn, #0) */
static inline void jb_a64_mov_sp(jb_emit *e, jb_a64_reg rd, jb_a64_reg rn)
{
    jb_a64__word(e, JB_A64_OP_ADD_I | jb_a64__rn(rn) | jb_a64__rd(rd));
}

/* How a value widens into a 64-bit register (loads and jb_a64_extend). */
typedef enum {
    JB_A64_U8, JB_A64_S8, JB_A64_U16, JB_A64_S16, JB_A64_U32, JB_A64_S32, JB_A64_X64
} jb_a64_width;

/* rd = the low 8/16/32 bits of rn, zero- or sign-extended (X64: a copy):
 * uxtb/uxth (32-bit ubfm, which clears the upper half), mov wd, wn,
 * sxtb/sxth/sxtw. */
static inline void jb_a64_extend(jb_emit *e, jb_a64_width w, jb_a64_reg rd, jb_a64_reg rn)
{
    static const uint32_t op[7] = {0x53001c00u, 0x93401c00u, 0x53003c00u, 0x93403c00u,
                                   0x2a0003e0u, 0x93407c00u, 0xaa0003e0u};
    if (jb_a64__bad(e, (unsigned)w > JB_A64_X64 || (rd | rn) > 31,
                    "arm64: extend needs a jb_a64_width and registers 0..31"))
        return;
    /* the mov forms (orr with xzr) take the source as rm */
    uint32_t src = (w == JB_A64_U32 || w == JB_A64_X64) ? jb_a64__rm(rn) : jb_a64__rn(rn);
    jb_a64__word(e, op[w] | src | jb_a64__rd(rd));
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
static inline void jb_a64_adds(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_ADDS_R, d, n, m); }
static inline void jb_a64_sub(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_SUB_R, d, n, m); }
static inline void jb_a64_subs(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_SUBS_R, d, n, m); }
static inline void jb_a64_and(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_AND_R, d, n, m); }
static inline void jb_a64_ands(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_ANDS_R, d, n, m); }
static inline void jb_a64_bic(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_BIC_R, d, n, m); }
static inline void jb_a64_orr(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_ORR_R, d, n, m); }
static inline void jb_a64_orn(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_ORN_R, d, n, m); }
static inline void jb_a64_eor(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_EOR_R, d, n, m); }
static inline void jb_a64_cmp(jb_emit *e, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_SUBS_R, 31, n, m); }
static inline void jb_a64_cmn(jb_emit *e, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_ADDS_R, 31, n, m); }
static inline void jb_a64_tst(jb_emit *e, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_ANDS_R, 31, n, m); }
static inline void jb_a64_neg(jb_emit *e, jb_a64_reg d, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_SUB_R, d, 31, m); }
static inline void jb_a64_mvn(jb_emit *e, jb_a64_reg d, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_ORN_R, d, 31, m); }

/* Shifts by a register (lslv, lsr, asr, ror: the amount is rm mod 64),
 * division (udiv, sdiv: x / 0 is 0, INT64_MIN / -1 is INT64_MIN), and the
 * high half of a 128-bit product (umulh, smulh). */
static inline void jb_a64_lsl_r(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_LSLV, d, n, m); }
static inline void jb_a64_lsr_r(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_LSRV, d, n, m); }
static inline void jb_a64_asr_r(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_ASRV, d, n, m); }
static inline void jb_a64_ror_r(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_RORV, d, n, m); }
static inline void jb_a64_udiv(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_UDIV, d, n, m); }
static inline void jb_a64_sdiv(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_SDIV, d, n, m); }
static inline void jb_a64_umulh(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_UMULH, d, n, m); }
static inline void jb_a64_smulh(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_SMULH, d, n, m); }

/* madd rd = ra + rn * rm, msub rd = ra - rn * rm (remainder: msub with the
 * quotient), mul rd = rn * rm. */
static inline void jb_a64__rrrr(jb_emit *e, uint32_t op, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m, jb_a64_reg a)
{
    if (jb_a64__bad(e, (d | n | m | a) > 31, "arm64: register number above 31"))
        return;
    jb_a64__word(e, op | jb_a64__rm(m) | (a & 31u) << 10 | jb_a64__rn(n) | jb_a64__rd(d));
}
static inline void jb_a64_madd(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m, jb_a64_reg a) { jb_a64__rrrr(e, JB_A64_OP_MADD, d, n, m, a); }
static inline void jb_a64_msub(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m, jb_a64_reg a) { jb_a64__rrrr(e, JB_A64_OP_MSUB, d, n, m, a); }
static inline void jb_a64_mul(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrrr(e, JB_A64_OP_MADD, d, n, m, 31); }

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
static inline void jb_a64_adds_imm(jb_emit *e, jb_a64_reg d, jb_a64_reg n, uint64_t i) { jb_a64__rri(e, JB_A64_OP_ADDS_I, d, n, i); }
static inline void jb_a64_sub_imm(jb_emit *e, jb_a64_reg d, jb_a64_reg n, uint64_t i) { jb_a64__rri(e, JB_A64_OP_SUB_I, d, n, i); }
static inline void jb_a64_subs_imm(jb_emit *e, jb_a64_reg d, jb_a64_reg n, uint64_t i) { jb_a64__rri(e, JB_A64_OP_SUBS_I, d, n, i); }
static inline void jb_a64_cmp_imm(jb_emit *e, jb_a64_reg n, uint64_t i) { jb_a64__rri(e, JB_A64_OP_SUBS_I, 31, n, i); }
static inline void jb_a64_cmn_imm(jb_emit *e, jb_a64_reg n, uint64_t i) { jb_a64__rri(e, JB_A64_OP_ADDS_I, 31, n, i); }

/* and/orr/eor/ands rd, rn, #imm for a bitmask immediate (a repeating
 * element holding one rotated run of ones); any other value, 0 and ~0
 * included, is JB_EOPERAND. rd 31 is sp for and/orr/eor, xzr for ands. */
static inline void jb_a64__logic_imm(jb_emit *e, uint32_t op, jb_a64_reg rd, jb_a64_reg rn, uint64_t imm)
{
    uint32_t bm = 0;
    if (jb_a64__bad(e, !jb_a64__bitmask(imm, &bm) || (rd | rn) > 31,
                    "arm64: logical immediate is not a bitmask immediate (a repeating "
                    "run of ones); put it in a register with mov_imm"))
        return;
    jb_a64__word(e, op | bm | jb_a64__rn(rn) | jb_a64__rd(rd));
}
static inline void jb_a64_and_imm(jb_emit *e, jb_a64_reg d, jb_a64_reg n, uint64_t i) { jb_a64__logic_imm(e, JB_A64_OP_AND_I, d, n, i); }
static inline void jb_a64_orr_imm(jb_emit *e, jb_a64_reg d, jb_a64_reg n, uint64_t i) { jb_a64__logic_imm(e, JB_A64_OP_ORR_I, d, n, i); }
static inline void jb_a64_eor_imm(jb_emit *e, jb_a64_reg d, jb_a64_reg n, uint64_t i) { jb_a64__logic_imm(e, JB_A64_OP_EOR_I, d, n, i); }
static inline void jb_a64_ands_imm(jb_emit *e, jb_a64_reg d, jb_a64_reg n, uint64_t i) { jb_a64__logic_imm(e, JB_A64_OP_ANDS_I, d, n, i); }
static inline void jb_a64_tst_imm(jb_emit *e, jb_a64_reg n, uint64_t i) { jb_a64__logic_imm(e, JB_A64_OP_ANDS_I, 31, n, i); }

/* Shifts and rotates by an immediate 0..63 (aliases of ubfm, sbfm, extr). */
static inline void jb_a64__bfm(jb_emit *e, uint32_t op, jb_a64_reg d, jb_a64_reg n, unsigned immr, unsigned imms)
{
    if (jb_a64__bad(e, (d | n) > 31, "arm64: register number above 31"))
        return;
    jb_a64__word(e, op | (immr & 63u) << 16 | (imms & 63u) << 10 | jb_a64__rn(n) | jb_a64__rd(d));
}
static inline int jb_a64__bad_shift(jb_emit *e, unsigned s)
{
    return jb_a64__bad(e, s > 63, "arm64: shift amount must be 0..63");
}
static inline void jb_a64_lsl(jb_emit *e, jb_a64_reg d, jb_a64_reg n, unsigned s)
{
    if (!jb_a64__bad_shift(e, s))
        jb_a64__bfm(e, JB_A64_OP_UBFM, d, n, (64 - s) & 63, 63 - s);
}
static inline void jb_a64_lsr(jb_emit *e, jb_a64_reg d, jb_a64_reg n, unsigned s)
{
    if (!jb_a64__bad_shift(e, s))
        jb_a64__bfm(e, JB_A64_OP_UBFM, d, n, s, 63);
}
static inline void jb_a64_asr(jb_emit *e, jb_a64_reg d, jb_a64_reg n, unsigned s)
{
    if (!jb_a64__bad_shift(e, s))
        jb_a64__bfm(e, JB_A64_OP_SBFM, d, n, s, 63);
}
static inline void jb_a64_ror(jb_emit *e, jb_a64_reg d, jb_a64_reg n, unsigned s)
{
    /* extr d, n, n, #s */
    if (!jb_a64__bad_shift(e, s) && !jb_a64__bad(e, (d | n) > 31, "arm64: register number above 31"))
        jb_a64__word(e, JB_A64_OP_EXTR | jb_a64__rm(n) | s << 10 | jb_a64__rn(n) | jb_a64__rd(d));
}

/* ---- conditional select ----------------------------------------------------- */

/* csel rd = c ? rn : rm; csinc rd = c ? rn : rm + 1; csinv (~rm); csneg (-rm) */
static inline void jb_a64__cs(jb_emit *e, uint32_t op, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m, jb_a64_cond c)
{
    if (jb_a64__bad(e, (d | n | m) > 31 || (unsigned)c > 15, "arm64: register above 31 or bad condition"))
        return;
    jb_a64__word(e, op | jb_a64__rm(m) | (uint32_t)c << 12 | jb_a64__rn(n) | jb_a64__rd(d));
}
static inline void jb_a64_csel(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m, jb_a64_cond c) { jb_a64__cs(e, JB_A64_OP_CSEL, d, n, m, c); }
static inline void jb_a64_csinc(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m, jb_a64_cond c) { jb_a64__cs(e, JB_A64_OP_CSINC, d, n, m, c); }
static inline void jb_a64_csinv(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m, jb_a64_cond c) { jb_a64__cs(e, JB_A64_OP_CSINV, d, n, m, c); }
static inline void jb_a64_csneg(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m, jb_a64_cond c) { jb_a64__cs(e, JB_A64_OP_CSNEG, d, n, m, c); }

/* cset rd = c ? 1 : 0 (csinc rd, xzr, xzr, !c); c may not be AL. */
static inline void jb_a64_cset(jb_emit *e, jb_a64_reg d, jb_a64_cond c)
{
    if (!jb_a64__bad(e, (unsigned)c >= JB_A64_AL, "arm64: cset needs a condition other than al"))
        jb_a64__cs(e, JB_A64_OP_CSINC, d, 31, 31, (jb_a64_cond)(c ^ 1));
}

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

/* Addressing modes of the sized loads and stores below. */
typedef enum {
    JB_A64_OFFSET, /* [xn, #off]: scaled unsigned imm12 when it fits, else unscaled simm9 */
    JB_A64_PRE,    /* [xn, #off]!: xn += off, then access (simm9) */
    JB_A64_POST    /* [xn], #off: access, then xn += off (simm9) */
} jb_a64_mode;

/* The size/opc/V bits of a load or store; size is log2 of the bytes. */
static inline uint32_t jb_a64__ldst_bits(unsigned size, unsigned opc, unsigned v)
{
    return (uint32_t)size << 30 | v << 26 | opc << 22;
}

static inline void jb_a64__ldst_mode(jb_emit *e, uint32_t bits, unsigned size, jb_a64_reg rt,
                                     jb_a64_reg rn, int32_t off, jb_a64_mode mode)
{
    if (jb_a64__bad(e, (rt | rn) > 31 || (unsigned)mode > JB_A64_POST,
                    "arm64: load/store registers 0..31 (rn 31 = sp) and a jb_a64_mode") ||
        jb_a64__bad(e, mode != JB_A64_OFFSET && rt == rn && rn != 31 && !(bits & (1u << 26)),
                    "arm64: pre/post-index with the base register as the data register "
                    "is unpredictable; use another register"))
        return;
    uint32_t regs = jb_a64__rn(rn) | jb_a64__rd(rt);
    int scaled = mode == JB_A64_OFFSET && off >= 0 && !(off & ((1 << size) - 1)) &&
                 (off >> size) <= 0xfff;
    if (scaled) {
        jb_a64__word(e, 0x39000000u | bits | (uint32_t)(off >> size) << 10 | regs);
        return;
    }
    if (jb_a64__bad(e, off < -256 || off > 255,
                    "arm64: load/store offset must be a scaled 0..4095 * size or, "
                    "unscaled and for pre/post-index, -256..255"))
        return;
    static const uint32_t idx[3] = {0u, 3u << 10, 1u << 10}; /* ldur, pre, post */
    jb_a64__word(e, 0x38000000u | bits | ((uint32_t)off & 0x1ffu) << 12 | idx[mode] | regs);
}

/* Register offset: [xn, xm{, lsl #size}] or [xn, wm, uxtw/sxtw {#size}]. */
#define JB_A64_SCALED 1u /* shift the index by the access size */
#define JB_A64_UXTW 2u   /* the index is a W register, zero-extended */
#define JB_A64_SXTW 4u   /* the index is a W register, sign-extended */

static inline void jb_a64__ldst_reg(jb_emit *e, uint32_t bits, jb_a64_reg rt, jb_a64_reg rn,
                                    jb_a64_reg rm, unsigned opt)
{
    if (jb_a64__bad(e, (rt | rn | rm) > 31 || opt > 7 || (opt & 6) == 6,
                    "arm64: register-offset access needs registers 0..31 and at most "
                    "one of JB_A64_UXTW / JB_A64_SXTW"))
        return;
    unsigned option = (opt & JB_A64_UXTW) ? 2 : (opt & JB_A64_SXTW) ? 6 : 3;
    jb_a64__word(e, 0x38200800u | bits | jb_a64__rm(rm) | option << 13 |
                        (opt & JB_A64_SCALED) << 12 | jb_a64__rn(rn) | jb_a64__rd(rt));
}

/* Loads: rt = the value at the address, widened by w (ldrb, ldrsb, ldrh,
 * ldrsh, ldr wt, ldrsw, ldr xt). */
static inline uint32_t jb_a64__load_bits(jb_a64_width w)
{
    static const uint8_t size[7] = {0, 0, 1, 1, 2, 2, 3}, opc[7] = {1, 2, 1, 2, 1, 2, 1};
    return jb_a64__ldst_bits(size[w % 7], opc[w % 7], 0);
}
static inline void jb_a64_load(jb_emit *e, jb_a64_width w, jb_a64_reg rt, jb_a64_reg rn,
                               int32_t off, jb_a64_mode mode)
{
    if (!jb_a64__bad(e, (unsigned)w > JB_A64_X64, "arm64: load width must be a jb_a64_width"))
        jb_a64__ldst_mode(e, jb_a64__load_bits(w), (unsigned)w / 2, rt, rn, off, mode);
}
static inline void jb_a64_load_r(jb_emit *e, jb_a64_width w, jb_a64_reg rt, jb_a64_reg rn,
                                 jb_a64_reg rm, unsigned opt)
{
    if (!jb_a64__bad(e, (unsigned)w > JB_A64_X64, "arm64: load width must be a jb_a64_width"))
        jb_a64__ldst_reg(e, jb_a64__load_bits(w), rt, rn, rm, opt);
}

/* Stores of the low 8/16/32/64 bits of rt (strb, strh, str wt, str xt). */
static inline int jb_a64__store_size(jb_emit *e, unsigned bits, unsigned *size)
{
    *size = bits == 8 ? 0 : bits == 16 ? 1 : bits == 32 ? 2 : 3;
    return jb_a64__bad(e, bits != 8 && bits != 16 && bits != 32 && bits != 64,
                       "arm64: store size must be 8, 16, 32 or 64 bits");
}
static inline void jb_a64_store(jb_emit *e, unsigned bits, jb_a64_reg rt, jb_a64_reg rn,
                                int32_t off, jb_a64_mode mode)
{
    unsigned size;
    if (!jb_a64__store_size(e, bits, &size))
        jb_a64__ldst_mode(e, jb_a64__ldst_bits(size, 0, 0), size, rt, rn, off, mode);
}
static inline void jb_a64_store_r(jb_emit *e, unsigned bits, jb_a64_reg rt, jb_a64_reg rn,
                                  jb_a64_reg rm, unsigned opt)
{
    unsigned size;
    if (!jb_a64__store_size(e, bits, &size))
        jb_a64__ldst_reg(e, jb_a64__ldst_bits(size, 0, 0), rt, rn, rm, opt);
}

/* ldp/stp xt1, xt2 with a signed offset, a multiple of 8 in -512..504
 * (JB_A64_OFFSET, JB_A64_PRE: [xn, #off]!, JB_A64_POST: [xn], #off). */
static inline void jb_a64__pair(jb_emit *e, uint32_t op, jb_a64_reg t1, jb_a64_reg t2,
                                jb_a64_reg rn, int32_t off, jb_a64_mode mode)
{
    static const uint32_t idx[3] = {2u << 23, 3u << 23, 1u << 23};
    if (jb_a64__bad(e, (t1 | t2 | rn) > 31 || (off & 7) || off < -512 || off > 504 ||
                           (unsigned)mode > JB_A64_POST,
                    "arm64: ldp/stp offset must be a multiple of 8 in -512..504") ||
        jb_a64__bad(e, (mode != JB_A64_OFFSET && rn != 31 && (t1 == rn || t2 == rn)) ||
                           ((op & (1u << 22)) && t1 == t2),
                    "arm64: ldp with t1 == t2, or pre/post-index with the base as a data "
                    "register, is unpredictable; use other registers"))
        return;
    jb_a64__word(e, (op & ~(3u << 23)) | idx[mode] | ((uint32_t)(off / 8) & 0x7fu) << 15 |
                        (t2 & 31u) << 10 | jb_a64__rn(rn) | jb_a64__rd(t1));
}
static inline void jb_a64_ldp(jb_emit *e, jb_a64_reg t1, jb_a64_reg t2, jb_a64_reg rn, int32_t off, jb_a64_mode mode) { jb_a64__pair(e, JB_A64_OP_LDP, t1, t2, rn, off, mode); }
static inline void jb_a64_stp(jb_emit *e, jb_a64_reg t1, jb_a64_reg t2, jb_a64_reg rn, int32_t off, jb_a64_mode mode) { jb_a64__pair(e, JB_A64_OP_STP, t1, t2, rn, off, mode); }

/* ---- control flow and pc-relative addresses ------------------------------------ */

/* An instruction whose pc-relative field refers to a label: imm26 (b, bl),
 * imm19 at bit 5 (b.cond, cbz, cbnz, ldr literal), imm14 at bit 5 (tbz,
 * tbnz), or adr's byte offset. Out of range is JB_EBRANCH. */
static inline void jb_a64__branch(jb_emit *e, uint32_t op, jb_label l, uint32_t kind)
{
    if (!jb_emit_room(e, 4))
        return;
    uint32_t here = (uint32_t)(e->cur - e->start);
    int32_t t = jb__label_target(e, l, here, kind);
    uint32_t w = op;
    if (t >= 0) {
        int32_t d = t - (int32_t)here;
        if (kind == JB__FIX_ADR21) {
            if (d < -(1 << 20) || d >= (1 << 20)) {
                jb_emit_fail(e, JB_EBRANCH, "arm64: adr target out of range (+-1 MiB)");
                return;
            }
            w |= ((uint32_t)d & 3u) << 29 | (((uint32_t)d >> 2) & 0x7ffffu) << 5;
        } else {
            d /= 4;
            int32_t lim = kind == JB__FIX_IMM26 ? (1 << 25) : kind == JB__FIX_IMM19 ? (1 << 18) : (1 << 13);
            if (d < -lim || d >= lim) {
                jb_emit_fail(e, JB_EBRANCH, "arm64: branch target out of range (b/bl "
                                            "+-128 MiB, b.cond/cbz/ldr literal +-1 MiB, "
                                            "tbz +-32 KiB)");
                return;
            }
            w |= kind == JB__FIX_IMM26 ? ((uint32_t)d & 0x03ffffffu)
                 : kind == JB__FIX_IMM19 ? ((uint32_t)d & 0x7ffffu) << 5
                                         : ((uint32_t)d & 0x3fffu) << 5;
        }
    }
    jb__put32(e->cur, w);
    e->cur += 4;
}
static inline void jb_a64_b(jb_emit *e, jb_label l) { jb_a64__branch(e, JB_A64_OP_B, l, JB__FIX_IMM26); }
static inline void jb_a64_bl(jb_emit *e, jb_label l) { jb_a64__branch(e, JB_A64_OP_BL, l, JB__FIX_IMM26); }
static inline void jb_a64_bcond(jb_emit *e, jb_a64_cond c, jb_label l) { jb_a64__branch(e, JB_A64_OP_BCOND | (c & 15u), l, JB__FIX_IMM19); }
static inline void jb_a64_cbz(jb_emit *e, jb_a64_reg rt, jb_label l) { jb_a64__branch(e, JB_A64_OP_CBZ | (rt & 31u), l, JB__FIX_IMM19); }
static inline void jb_a64_cbnz(jb_emit *e, jb_a64_reg rt, jb_label l) { jb_a64__branch(e, JB_A64_OP_CBNZ | (rt & 31u), l, JB__FIX_IMM19); }

/* tbz/tbnz rt, #bit, l: branch if bit (0..63) of rt is zero / not zero */
static inline void jb_a64__tb(jb_emit *e, uint32_t op, jb_a64_reg rt, unsigned bit, jb_label l)
{
    if (!jb_a64__bad(e, bit > 63 || rt > 31, "arm64: tbz/tbnz bit must be 0..63"))
        jb_a64__branch(e, op | (bit >> 5) << 31 | (bit & 31u) << 19 | (rt & 31u), l, JB__FIX_IMM14);
}
static inline void jb_a64_tbz(jb_emit *e, jb_a64_reg rt, unsigned bit, jb_label l) { jb_a64__tb(e, JB_A64_OP_TBZ, rt, bit, l); }
static inline void jb_a64_tbnz(jb_emit *e, jb_a64_reg rt, unsigned bit, jb_label l) { jb_a64__tb(e, JB_A64_OP_TBNZ, rt, bit, l); }

/* adr rd, l: rd = the label's address (+-1 MiB). ldr xt, l: load the
 * 64-bit literal at the label (a constant pool entry, +-1 MiB). */
static inline void jb_a64_adr(jb_emit *e, jb_a64_reg rd, jb_label l) { jb_a64__branch(e, JB_A64_OP_ADR | (rd & 31u), l, JB__FIX_ADR21); }
static inline void jb_a64_ldr_l(jb_emit *e, jb_a64_reg rt, jb_label l) { jb_a64__branch(e, JB_A64_OP_LDR_LIT | (rt & 31u), l, JB__FIX_IMM19); }

/* adrp rd, #pages: rd = (pc & ~4095) + pages * 4096, pages in +-2^20. pc is
 * the instruction's final address, so the caller computes pages once it
 * knows where the code will run: (target >> 12) - (pc >> 12). */
static inline void jb_a64_adrp(jb_emit *e, jb_a64_reg rd, int64_t pages)
{
    if (jb_a64__bad(e, pages < -(1 << 20) || pages >= (1 << 20) || rd > 31,
                    "arm64: adrp page offset must be within +-4 GiB"))
        return;
    uint32_t p = (uint32_t)pages;
    jb_a64__word(e, JB_A64_OP_ADRP | (p & 3u) << 29 | ((p >> 2) & 0x7ffffu) << 5 | (rd & 31u));
}

static inline void jb_a64_br(jb_emit *e, jb_a64_reg rn) { jb_a64__word(e, JB_A64_OP_BR | jb_a64__rn(rn)); }
static inline void jb_a64_blr(jb_emit *e, jb_a64_reg rn) { jb_a64__word(e, JB_A64_OP_BLR | jb_a64__rn(rn)); }
static inline void jb_a64_ret(jb_emit *e) { jb_a64__word(e, JB_A64_OP_RET | jb_a64__rn(JB_A64_LR)); }

/* ---- frames, traps and padding ------------------------------------------------------ */

/* A frame record: stp x29, x30, [sp, #-16]!; mov x29, sp; sub sp, sp,
 * size rounded up to 16 (none for 0; at most 16 MiB). Locals live at
 * [x29 - k] or [sp + k]. jb_a64_frame_leave undoes it (mov sp, x29; ldp
 * x29, x30, [sp], #16); follow with jb_a64_ret. */
static inline void jb_a64_frame_enter(jb_emit *e, uint32_t size)
{
    uint32_t n = (size + 15) & ~15u;
    if (jb_a64__bad(e, size > 0xfff000u, "arm64: frame size above 16 MiB"))
        return;
    jb_a64_stp(e, JB_A64_FP, JB_A64_LR, JB_A64_SP, -16, JB_A64_PRE);
    jb_a64_mov_sp(e, JB_A64_FP, JB_A64_SP);
    if (n > 0xfff && (n & 0xfff)) {
        jb_a64_sub_imm(e, JB_A64_SP, JB_A64_SP, n & ~0xfffu);
        n &= 0xfff;
    }
    if (n)
        jb_a64_sub_imm(e, JB_A64_SP, JB_A64_SP, n);
}
static inline void jb_a64_frame_leave(jb_emit *e)
{
    jb_a64_mov_sp(e, JB_A64_SP, JB_A64_FP);
    jb_a64_ldp(e, JB_A64_FP, JB_A64_LR, JB_A64_SP, 16, JB_A64_POST);
}

static inline void jb_a64_brk(jb_emit *e, unsigned imm16) { jb_a64__word(e, JB_A64_OP_BRK | (imm16 & 0xffffu) << 5); }
static inline void jb_a64_udf(jb_emit *e, unsigned imm16) { jb_a64__word(e, JB_A64_OP_UDF | (imm16 & 0xffffu)); }
static inline void jb_a64_nop(jb_emit *e) { jb_a64__word(e, JB_A64_OP_NOP); }

/* Pad with nops until the offset from the cursor's start is a multiple of
 * `align` (a power of two, 4..4096); the offset must be word-aligned. */
static inline void jb_a64_align(jb_emit *e, size_t align)
{
    size_t pad = (size_t)(-jb_emit_size(e) & (align - 1));
    if (jb_a64__bad(e, align < 4 || align > 4096 || (align & (align - 1)) || (pad & 3),
                    "arm64: alignment must be a power of two in 4..4096 at a "
                    "word-aligned offset"))
        return;
    if (!jb_emit_room(e, pad))
        return;
    for (; pad; pad -= 4)
        jb_a64_nop(e);
}

/* ---- scalar double-precision floating point ------------------------------------------ */

/* d registers are numbered 0..31. */
typedef unsigned jb_a64_dreg;

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

static inline void jb_a64_fadd(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n, jb_a64_dreg m) { jb_a64__rrr(e, JB_A64_OP_FADD, d, n, m); }
static inline void jb_a64_fsub(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n, jb_a64_dreg m) { jb_a64__rrr(e, JB_A64_OP_FSUB, d, n, m); }
static inline void jb_a64_fmul(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n, jb_a64_dreg m) { jb_a64__rrr(e, JB_A64_OP_FMUL, d, n, m); }
static inline void jb_a64_fdiv(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n, jb_a64_dreg m) { jb_a64__rrr(e, JB_A64_OP_FDIV, d, n, m); }
static inline void jb_a64_fmax(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n, jb_a64_dreg m) { jb_a64__rrr(e, JB_A64_OP_FMAX, d, n, m); }
static inline void jb_a64_fmin(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n, jb_a64_dreg m) { jb_a64__rrr(e, JB_A64_OP_FMIN, d, n, m); }
/* One-source forms: fmov d, n (copy), fabs, fneg, fsqrt; and the
 * conversions and bit moves between x and d registers (the JB_A64_OP_*
 * above: scvtf, ucvtf, fcvtzs, fcvtzu, fmov). */
static inline void jb_a64_fp1(jb_emit *e, uint32_t op, unsigned d, unsigned n) { jb_a64__rrr(e, op, d, n, 0); }
static inline void jb_a64_fmov(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n) { jb_a64_fp1(e, JB_A64_OP_FMOV, d, n); }
static inline void jb_a64_fneg(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n) { jb_a64_fp1(e, JB_A64_OP_FNEG, d, n); }
static inline void jb_a64_fabs(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n) { jb_a64_fp1(e, JB_A64_OP_FABS, d, n); }
static inline void jb_a64_fsqrt(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n) { jb_a64_fp1(e, JB_A64_OP_FSQRT, d, n); }
static inline void jb_a64_scvtf(jb_emit *e, jb_a64_dreg d, jb_a64_reg n) { jb_a64_fp1(e, JB_A64_OP_SCVTF, d, n); }
static inline void jb_a64_ucvtf(jb_emit *e, jb_a64_dreg d, jb_a64_reg n) { jb_a64_fp1(e, JB_A64_OP_UCVTF, d, n); }
static inline void jb_a64_fcvtzs(jb_emit *e, jb_a64_reg d, jb_a64_dreg n) { jb_a64_fp1(e, JB_A64_OP_FCVTZS, d, n); }
static inline void jb_a64_fcvtzu(jb_emit *e, jb_a64_reg d, jb_a64_dreg n) { jb_a64_fp1(e, JB_A64_OP_FCVTZU, d, n); }
static inline void jb_a64_fmov_dx(jb_emit *e, jb_a64_dreg d, jb_a64_reg n) { jb_a64_fp1(e, JB_A64_OP_FMOV_DX, d, n); }
static inline void jb_a64_fmov_xd(jb_emit *e, jb_a64_reg d, jb_a64_dreg n) { jb_a64_fp1(e, JB_A64_OP_FMOV_XD, d, n); }

/* fcmp dn, dm: flags for b.cond (unordered sets C and V: use mi/ls/lt/le
 * style conditions that are false on NaN where that matters). */
static inline void jb_a64_fcmp(jb_emit *e, jb_a64_dreg n, jb_a64_dreg m) { jb_a64__rrr(e, JB_A64_OP_FCMP, 0, n, m); }
/* fcsel dd = c ? dn : dm */
static inline void jb_a64_fcsel(jb_emit *e, jb_a64_dreg d, jb_a64_dreg n, jb_a64_dreg m, jb_a64_cond c) { jb_a64__cs(e, JB_A64_OP_FCSEL, d, n, m, c); }

/* ldr/str dt with the same addressing as the integer forms, and the literal
 * load of a double placed at a label. */
static inline void jb_a64_fload(jb_emit *e, jb_a64_dreg dt, jb_a64_reg rn, int32_t off, jb_a64_mode mode) { jb_a64__ldst_mode(e, jb_a64__ldst_bits(3, 1, 1), 3, dt, rn, off, mode); }
static inline void jb_a64_fstore(jb_emit *e, jb_a64_dreg dt, jb_a64_reg rn, int32_t off, jb_a64_mode mode) { jb_a64__ldst_mode(e, jb_a64__ldst_bits(3, 0, 1), 3, dt, rn, off, mode); }
static inline void jb_a64_fload_r(jb_emit *e, jb_a64_dreg dt, jb_a64_reg rn, jb_a64_reg rm, unsigned opt) { jb_a64__ldst_reg(e, jb_a64__ldst_bits(3, 1, 1), dt, rn, rm, opt); }
static inline void jb_a64_fstore_r(jb_emit *e, jb_a64_dreg dt, jb_a64_reg rn, jb_a64_reg rm, unsigned opt) { jb_a64__ldst_reg(e, jb_a64__ldst_bits(3, 0, 1), dt, rn, rm, opt); }
static inline void jb_a64_fldr_l(jb_emit *e, jb_a64_dreg dt, jb_label l) { jb_a64__branch(e, JB_A64_OP_LDR_D_LIT | (dt & 31u), l, JB__FIX_IMM19); }

#ifdef __cplusplus
}
#endif
#endif
