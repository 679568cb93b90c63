/* jitbuf arm64 (A64) emitters: static inline functions over a jb_emit
 * cursor (emit.h says how errors, capacity, labels and the ABI work).
 *
 * Each emitter writes one 32-bit instruction (mov_imm and the frame
 * helpers: several) with one capacity check and no call on its fast path.
 * Registers are numbers 0..30; 31 means sp or the zero register as the
 * instruction defines it (JB_A64_SP / JB_A64_XZR). Families take the
 * operand size first: JB_I32 gives the w-register form, JB_I64 the x form:
 *     jb_a64_alu_imm(e, JB_I32, JB_A64_SUBS, JB_A64_XZR, 0, -1)  (cmn w0, #1)
 * and the older names (jb_a64_add, jb_a64_cmp_imm, ...) are 64-bit
 * shorthands. Loads and stores take a jb_type (integers widen into x
 * registers as the type says; JB_F32 / JB_F64 use s / d registers).
 *
 * Every operand is validated: a register above 31, an immediate or shift
 * no encoding holds, an unknown operation, mode or condition fails the
 * cursor with JB_EOPERAND and writes nothing; nothing is masked. Branches
 * to labels check their range (JB_EBRANCH). Code must sit at word-aligned
 * offsets: after jb_emit_data of an odd size, pad with jb_a64_align. */
#ifndef JITBUF_ARM64_H
#define JITBUF_ARM64_H

#include "emit.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every A64 instruction is 4 bytes. */
#define JB_A64_MAX_INSN 4u

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

/* ---- opcode constants (64-bit forms) and fixup formats ------------------------ */

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
#define JB_A64_OP_BFM 0xb3400000u
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

/* The sf bit: 64-bit (x) forms. */
#define JB_A64__SF(sz) (JB__SIZE(sz) == 3 ? 0x80000000u : 0u)

/* Fixup formats (see jb_fixfmt in emit.h): word offsets of b/bl (imm26),
 * b.cond / cbz / ldr literal (imm19 at bit 5), tbz (imm14 at bit 5), and
 * adr's byte offset (immlo at 29, immhi at 5). An unbound reference is a
 * udf word until its label binds. */
#define JB_A64__FIX(pos, bits, scale, lo, lopos, hint) \
    jb_fixfmt_make(0, 0, (pos), (bits), (scale), (lo), (lopos), \
                   JB_FIX_FLAGS(JB_FIX_SIGNED | JB_FIX_WORD, (hint)))
#define JB_A64_FIX_B26 JB_A64__FIX(0, 26, 2, 0, 0, JB_FIXH_A64_B26)
#define JB_A64_FIX_BCOND JB_A64__FIX(5, 19, 2, 0, 0, JB_FIXH_A64_BCOND)
#define JB_A64_FIX_CBZ JB_A64__FIX(5, 19, 2, 0, 0, JB_FIXH_A64_CBZ)
#define JB_A64_FIX_TBZ JB_A64__FIX(5, 14, 2, 0, 0, JB_FIXH_A64_TBZ)
#define JB_A64_FIX_LIT JB_A64__FIX(5, 19, 2, 0, 0, JB_FIXH_A64_LIT)
#define JB_A64_FIX_ADR JB_A64__FIX(5, 21, 0, 2, 29, JB_FIXH_A64_ADR)
#define JB_A64__TRAP 0x00006a62u /* udf #0x6a62 ('jb'): an unbound reference */

/* ---- the word emitter and operand checks ------------------------------------------ */

static inline uint32_t jb_a64__rd(unsigned r) { return r; }
static inline uint32_t jb_a64__rn(unsigned r) { return r << 5; }
static inline uint32_t jb_a64__rm(unsigned r) { return r << 16; }

JB__INLINE void jb_a64__word(jb_emit *e, uint32_t w)
{
    if (jb__fast(e)) {
        jb__put32(e->cur, w);
        e->cur += 4;
    } else {
        jb__lib_tail64(e, w, 4);
    }
}

JB__INLINE int jb_a64__bad(jb_emit *e, int cond, const char *what)
{
    if (JB__NEVER(cond) == 0)
        return 0;
    jb__lib_fail(e, JB_EOPERAND, what);
    if (JB__IN_RESERVATION(e))
        e->cur += 4; /* the advance of every path alike (jb_emit_reserve) */
    return 1;
}
JB__INLINE int jb_a64__bad_regs(jb_emit *e, unsigned regs_or)
{
    return jb_a64__bad(e, regs_or > 31, "arm64: register number above 31");
}
/* An integer size of 32 or 64 bits. */
JB__INLINE int jb_a64__bad_sz(jb_emit *e, jb_type sz)
{
    return jb_a64__bad(e, (unsigned)sz > 7 || JB__SIZE(sz) < 2,
                       "arm64: operand size must be JB_I32 or JB_I64");
}
/* Up to three causes (0 for none), each with its own sentence, in one
 * test: the fast path tests c1 | c2 | c3 (one branch, as one condition
 * would); the cold path names the first cause that holds, so that no
 * sentence blames an operand that is fine. */
JB__INLINE int jb_a64__bad3(jb_emit *e, uint64_t c1, const char *w1, uint64_t c2, const char *w2,
                            uint64_t c3, const char *w3)
{
    if (JB__NEVER(c1 | c2 | c3) == 0)
        return 0;
    return jb_a64__bad(e, 1, c1 ? w1 : c2 ? w2 : w3);
}

/* Is v a bitmask immediate of `width` (32 or 64) bits (a repeating 2..width
 * bit element holding a rotated run of ones; neither all zeros nor all
 * ones)? If so, 1 and *field = its N:immr:imms bits (22..10), else 0. */
static inline int jb_a64__bitmask_w(uint64_t v, unsigned width, uint32_t *field)
{
    if (width == 32) {
        if (v >> 32)
            return 0;
        v |= v << 32;
    }
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
    if (size > width)
        return 0;
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
static inline int jb_a64__bitmask(uint64_t v, uint32_t *field) { return jb_a64__bitmask_w(v, 64, field); }

/* ---- moves ------------------------------------------------------------------ */

/* movz/movk/movn of size sz: rd, #imm16, lsl #shift (0/16, and 32/48 for x) */
JB__INLINE void jb_a64_movw(jb_emit *e, jb_type sz, uint32_t op, jb_a64_reg rd, unsigned imm16,
                               unsigned shift)
{
    if (jb_a64__bad_sz(e, sz) ||
        jb_a64__bad3(e, rd > 31, "arm64: register number above 31",
                     imm16 > 0xffff || (shift & 15) || shift > (JB__SIZE(sz) == 3 ? 48u : 16u),
                     "arm64: mov immediate needs imm16 <= 0xffff and shift 0/16 (x: also 32/48)",
                     op != JB_A64_OP_MOVZ && op != JB_A64_OP_MOVK && op != JB_A64_OP_MOVN,
                     "arm64: mov immediate op must be JB_A64_OP_MOVZ, _MOVK or _MOVN"))
        return;
    jb_a64__word(e, (op & 0x7fffffffu) | JB_A64__SF(sz) | (shift / 16) << 21 | imm16 << 5 | rd);
}
JB__INLINE void jb_a64_movz(jb_emit *e, jb_a64_reg rd, unsigned imm16, unsigned shift) { jb_a64_movw(e, JB_I64, JB_A64_OP_MOVZ, rd, imm16, shift); }
JB__INLINE void jb_a64_movk(jb_emit *e, jb_a64_reg rd, unsigned imm16, unsigned shift) { jb_a64_movw(e, JB_I64, JB_A64_OP_MOVK, rd, imm16, shift); }
JB__INLINE void jb_a64_movn(jb_emit *e, jb_a64_reg rd, unsigned imm16, unsigned shift) { jb_a64_movw(e, JB_I64, JB_A64_OP_MOVN, rd, imm16, shift); }

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
 * a movk per remaining chunk. At most four instructions, each checked for
 * room on its own (a 2-instruction constant needs 8 free bytes). */
JB__INLINE void jb_a64_mov_imm(jb_emit *e, jb_a64_reg rd, uint64_t imm)
{
    if (jb_a64__bad(e, rd > 30, "arm64: mov_imm needs x0..x30"))
        return;
    unsigned nz = jb_a64__chunks_not(imm, 0), no = jb_a64__chunks_not(imm, 0xffff);
    int inv = no < nz;
    unsigned moves = inv ? no : nz;
    uint32_t bm;
    if (moves > 1 && jb_a64__bitmask(imm, &bm)) {
        jb_a64__word(e, JB_A64_OP_ORR_I | bm | jb_a64__rn(31) | rd);
        return;
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
                    jb_a64__word(e, JB_A64_OP_ORR_I | bm | jb_a64__rn(31) | rd);
                    jb_a64_movk(e, rd, (unsigned)(imm >> k) & 0xffff, k);
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
            (inv ? jb_a64_movn : jb_a64_movz)(e, rd, inv ? (~c & 0xffff) : c, s);
        else
            jb_a64_movk(e, rd, c, s);
        first = 0;
    }
    if (first) /* 0 or all-ones */
        (inv ? jb_a64_movn : jb_a64_movz)(e, rd, 0, 0);
}

/* mov rd, rm (orr rd, xzr, rm; 31 is xzr) */
JB__INLINE void jb_a64_mov_rr(jb_emit *e, jb_a64_reg rd, jb_a64_reg rm)
{
    if (!jb_a64__bad_regs(e, rd | rm))
        jb_a64__word(e, JB_A64_OP_ORR_R | jb_a64__rm(rm) | jb_a64__rn(31) | rd);
}

/* mov rd, rn where either may be sp (add rd, rn, #0) */
JB__INLINE void jb_a64_mov_sp(jb_emit *e, jb_a64_reg rd, jb_a64_reg rn)
{
    if (!jb_a64__bad_regs(e, rd | rn))
        jb_a64__word(e, JB_A64_OP_ADD_I | jb_a64__rn(rn) | rd);
}

typedef jb_type jb_a64_width; /* the older names of the jb_type values */
#define JB_A64_U8 JB_U8
#define JB_A64_S8 JB_S8
#define JB_A64_U16 JB_U16
#define JB_A64_S16 JB_S16
#define JB_A64_U32 JB_U32
#define JB_A64_S32 JB_S32
#define JB_A64_X64 JB_U64

/* rd = the low 8/16/32 bits of rn, zero- or sign-extended to 64 bits (64:
 * a copy): uxtb/uxth (32-bit ubfm, which clears the upper half), mov wd,
 * wn, sxtb/sxth/sxtw, mov. */
JB__INLINE void jb_a64_extend(jb_emit *e, jb_type t, jb_a64_reg rd, jb_a64_reg rn)
{
    static const uint32_t op[8] = {0x53001c00u, 0x53003c00u, 0x2a0003e0u, 0xaa0003e0u,
                                   0x93401c00u, 0x93403c00u, 0x93407c00u, 0xaa0003e0u};
    if (jb_a64__bad(e, (unsigned)t > 7, "arm64: extend type must be an integer jb_type") ||
        jb_a64__bad_regs(e, rd | rn))
        return;
    unsigned k = (unsigned)t;
    /* the mov forms (orr with xzr) take the source as rm */
    uint32_t src = (k == 2 || k == 3 || k == 7) ? jb_a64__rm(rn) : jb_a64__rn(rn);
    jb_a64__word(e, op[k] | src | rd);
}

/* ---- integer ALU: register, shifted, extended, immediate ------------------------- */

typedef enum {
    JB_A64_ADD, JB_A64_ADDS, JB_A64_SUB, JB_A64_SUBS, JB_A64_AND, JB_A64_ANDS, JB_A64_ORR,
    JB_A64_EOR, JB_A64_BIC, JB_A64_BICS, JB_A64_ORN, JB_A64_EON
} jb_a64_alu_op;
typedef enum { JB_A64_LSL, JB_A64_LSR, JB_A64_ASR, JB_A64_ROR } jb_a64_shift_op;
typedef enum {
    JB_A64_UXTB, JB_A64_UXTH, JB_A64_UXTW, JB_A64_UXTX, JB_A64_SXTB, JB_A64_SXTH,
    JB_A64_SXTW_EXT, JB_A64_SXTX
} jb_a64_ext;

/* 32-bit shifted-register opcodes of each jb_a64_alu. */
static inline uint32_t jb_a64__alu_opc(unsigned op)
{
    static const uint32_t opc[12] = {0x0b000000u, 0x2b000000u, 0x4b000000u, 0x6b000000u,
                                     0x0a000000u, 0x6a000000u, 0x2a000000u, 0x4a000000u,
                                     0x0a200000u, 0x6a200000u, 0x2a200000u, 0x4a200000u};
    return opc[op % 12];
}

/* op rd, rn, rm, shift #amount (amount 0..31 for w, 0..63 for x; add/sub
 * take no ror). Register 31 is the zero register. */
JB__INLINE void jb_a64_alu_sh(jb_emit *e, jb_type sz, jb_a64_alu_op op, jb_a64_reg d, jb_a64_reg n,
                                 jb_a64_reg m, jb_a64_shift_op sh, unsigned amount)
{
    if (jb_a64__bad_sz(e, sz) || jb_a64__bad_regs(e, d | n | m) ||
        jb_a64__bad(e, (unsigned)op > JB_A64_EON || (unsigned)sh > 3 ||
                           (op <= JB_A64_SUBS && sh == JB_A64_ROR) ||
                           amount > (JB__SIZE(sz) == 3 ? 63u : 31u),
                    "arm64: ALU needs a jb_a64_alu, a jb_a64_shift (add/sub: no ror) and a "
                    "shift amount 0..31 (w) or 0..63 (x)"))
        return;
    jb_a64__word(e, jb_a64__alu_opc(op) | JB_A64__SF(sz) | (uint32_t)sh << 22 | m << 16 |
                        amount << 10 | n << 5 | d);
}
JB__INLINE void jb_a64_alu(jb_emit *e, jb_type sz, jb_a64_alu_op op, jb_a64_reg d, jb_a64_reg n,
                              jb_a64_reg m)
{
    jb_a64_alu_sh(e, sz, op, d, n, m, JB_A64_LSL, 0);
}

/* add/adds/sub/subs rd, rn, rm, ext #amount (0..4): rm is a w register for
 * the b/h/w extensions, x for uxtx/sxtx; rd (add/sub) and rn may be sp. */
JB__INLINE void jb_a64_alu_ext(jb_emit *e, jb_type sz, jb_a64_alu_op op, jb_a64_reg d, jb_a64_reg n,
                                  jb_a64_reg m, jb_a64_ext ext, unsigned amount)
{
    if (jb_a64__bad_sz(e, sz) || jb_a64__bad_regs(e, d | n | m) ||
        jb_a64__bad(e, (unsigned)op > JB_A64_SUBS || (unsigned)ext > 7 || amount > 4,
                    "arm64: extended-register ALU takes add/adds/sub/subs, a jb_a64_ext and "
                    "a shift 0..4"))
        return;
    jb_a64__word(e, jb_a64__alu_opc(op) | 0x00200000u | JB_A64__SF(sz) | m << 16 |
                        (uint32_t)ext << 13 | amount << 10 | n << 5 | d);
}

/* op rd, rn, #imm. add/adds/sub/subs: imm12, or imm12 << 12, of either
 * sign (a negative one flips add and sub: cmp x0, #-1 is cmn x0, #1, with
 * the same flags); rd (add/sub) and rn may be sp. Logical ops: a bitmask
 * immediate of the size (bic/orn/eon/bics use the complement). */
JB__INLINE void jb_a64_alu_imm(jb_emit *e, jb_type sz, jb_a64_alu_op op, jb_a64_reg d, jb_a64_reg n,
                                  int64_t imm)
{
    if (jb_a64__bad_sz(e, sz) || jb_a64__bad_regs(e, d | n) ||
        jb_a64__bad(e, (unsigned)op > JB_A64_EON, "arm64: not a jb_a64_alu"))
        return;
    uint32_t sf = JB_A64__SF(sz);
    if (op <= JB_A64_SUBS) {
        unsigned k = (unsigned)op;
        uint64_t u = (uint64_t)imm;
        if (imm < 0)
            k ^= 2, u = 0 - u; /* add <-> sub */
        uint32_t sh = 0;
        if (u > 0xfff && !(u & 0xfff) && u <= 0xfff000)
            u >>= 12, sh = 1u << 22;
        if (jb_a64__bad(e, u > 0xfff, "arm64: add/sub immediate must be -4095..4095, or "
                                      "that times 4096; put it in a register"))
            return;
        jb_a64__word(e, (jb_a64__alu_opc(k) ^ 0x1a000000u) | sf | sh | (uint32_t)u << 10 |
                            n << 5 | d);
        return;
    }
    static const uint32_t lop[4] = {0x12000000u, 0x72000000u, 0x32000000u, 0x52000000u};
    unsigned k = ((unsigned)op - JB_A64_AND) & 3; /* and ands orr eor */
    uint64_t v = (uint64_t)imm;
    if (JB__SIZE(sz) == 2 && (v >> 31) == 0x1ffffffffull)
        v &= 0xffffffffu; /* a sign-extended 32-bit value */
    if (op >= JB_A64_BIC) { /* bic = and ~imm, bics = ands ~imm, orn = orr ~, eon = eor ~ */
        k = (unsigned)op - JB_A64_BIC;
        /* complement the low 32 bits only (w): upper bits that the value
         * should not have stay, so jb_a64__bitmask_w refuses it as it
         * does for and/orr/eor/ands (masking them dropped them silently) */
        v ^= JB__SIZE(sz) == 2 ? 0xffffffffu : ~(uint64_t)0;
    }
    uint32_t bm = 0;
    if (jb_a64__bad(e, !jb_a64__bitmask_w(v, JB__SIZE(sz) == 3 ? 64 : 32, &bm),
                    "arm64: logical immediate is not a bitmask immediate of the size (a "
                    "repeating run of ones; w: 32 bits or their sign extension); put it in "
                    "a register with mov_imm"))
        return;
    jb_a64__word(e, lop[k] | sf | bm | n << 5 | d);
}

/* 64-bit shorthands (shifted-register form, no shift; 31 = xzr). */
JB__INLINE void jb_a64__rrr(jb_emit *e, uint32_t op, jb_a64_reg rd, jb_a64_reg rn, jb_a64_reg rm)
{
    if (!jb_a64__bad_regs(e, rd | rn | rm))
        jb_a64__word(e, op | jb_a64__rm(rm) | jb_a64__rn(rn) | rd);
}
JB__INLINE void jb_a64_add(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_ADD_R, d, n, m); }
JB__INLINE void jb_a64_adds(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_ADDS_R, d, n, m); }
JB__INLINE void jb_a64_sub(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_SUB_R, d, n, m); }
JB__INLINE void jb_a64_subs(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_SUBS_R, d, n, m); }
JB__INLINE void jb_a64_and(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_AND_R, d, n, m); }
JB__INLINE void jb_a64_ands(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_ANDS_R, d, n, m); }
JB__INLINE void jb_a64_bic(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_BIC_R, d, n, m); }
JB__INLINE void jb_a64_orr(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_ORR_R, d, n, m); }
JB__INLINE void jb_a64_orn(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_ORN_R, d, n, m); }
JB__INLINE void jb_a64_eor(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_EOR_R, d, n, m); }
JB__INLINE void jb_a64_cmp(jb_emit *e, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_SUBS_R, 31, n, m); }
JB__INLINE void jb_a64_cmn(jb_emit *e, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_ADDS_R, 31, n, m); }
JB__INLINE void jb_a64_tst(jb_emit *e, jb_a64_reg n, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_ANDS_R, 31, n, m); }
JB__INLINE void jb_a64_neg(jb_emit *e, jb_a64_reg d, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_SUB_R, d, 31, m); }
JB__INLINE void jb_a64_mvn(jb_emit *e, jb_a64_reg d, jb_a64_reg m) { jb_a64__rrr(e, JB_A64_OP_ORN_R, d, 31, m); }

JB__INLINE void jb_a64_add_imm(jb_emit *e, jb_a64_reg d, jb_a64_reg n, int64_t i) { jb_a64_alu_imm(e, JB_I64, JB_A64_ADD, d, n, i); }
JB__INLINE void jb_a64_adds_imm(jb_emit *e, jb_a64_reg d, jb_a64_reg n, int64_t i) { jb_a64_alu_imm(e, JB_I64, JB_A64_ADDS, d, n, i); }
JB__INLINE void jb_a64_sub_imm(jb_emit *e, jb_a64_reg d, jb_a64_reg n, int64_t i) { jb_a64_alu_imm(e, JB_I64, JB_A64_SUB, d, n, i); }
JB__INLINE void jb_a64_subs_imm(jb_emit *e, jb_a64_reg d, jb_a64_reg n, int64_t i) { jb_a64_alu_imm(e, JB_I64, JB_A64_SUBS, d, n, i); }
JB__INLINE void jb_a64_cmp_imm(jb_emit *e, jb_a64_reg n, int64_t i) { jb_a64_alu_imm(e, JB_I64, JB_A64_SUBS, 31, n, i); }
JB__INLINE void jb_a64_cmn_imm(jb_emit *e, jb_a64_reg n, int64_t i) { jb_a64_alu_imm(e, JB_I64, JB_A64_ADDS, 31, n, i); }
/* and/orr/eor/ands rd, rn, #imm for a bitmask immediate; any other value,
 * 0 and ~0 included, is JB_EOPERAND. rd 31 is sp for and/orr/eor, xzr for
 * ands. */
JB__INLINE void jb_a64_and_imm(jb_emit *e, jb_a64_reg d, jb_a64_reg n, uint64_t i) { jb_a64_alu_imm(e, JB_I64, JB_A64_AND, d, n, (int64_t)i); }
JB__INLINE void jb_a64_orr_imm(jb_emit *e, jb_a64_reg d, jb_a64_reg n, uint64_t i) { jb_a64_alu_imm(e, JB_I64, JB_A64_ORR, d, n, (int64_t)i); }
JB__INLINE void jb_a64_eor_imm(jb_emit *e, jb_a64_reg d, jb_a64_reg n, uint64_t i) { jb_a64_alu_imm(e, JB_I64, JB_A64_EOR, d, n, (int64_t)i); }
JB__INLINE void jb_a64_ands_imm(jb_emit *e, jb_a64_reg d, jb_a64_reg n, uint64_t i) { jb_a64_alu_imm(e, JB_I64, JB_A64_ANDS, d, n, (int64_t)i); }
JB__INLINE void jb_a64_tst_imm(jb_emit *e, jb_a64_reg n, uint64_t i) { jb_a64_alu_imm(e, JB_I64, JB_A64_ANDS, 31, n, (int64_t)i); }

/* Conditional compare: if c then flags = compare(rn, rm or #imm5) (ccmp:
 * as cmp, ccmn: as cmn) else flags = nzcv (0..15). */
typedef enum { JB_A64_CCMP, JB_A64_CCMN } jb_a64_ccmp_op;
JB__INLINE void jb_a64__ccmp(jb_emit *e, jb_type sz, jb_a64_ccmp_op op, jb_a64_reg n, unsigned mi,
                                int is_imm, unsigned nzcv, jb_a64_cond c)
{
    /* mi is rm, or imm5 in the immediate form: say which is out of range */
    if (jb_a64__bad_sz(e, sz) ||
        jb_a64__bad3(e, n > 31 || (!is_imm && mi > 31), "arm64: register number above 31",
                     is_imm && mi > 31, "arm64: ccmp/ccmn immediate must be 0..31", 0, NULL) ||
        jb_a64__bad3(e, (unsigned)op > 1, "arm64: not a jb_a64_ccmp_op", nzcv > 15,
                     "arm64: ccmp/ccmn nzcv must be 0..15", (unsigned)c > 15,
                     "arm64: condition must be 0..15"))
        return;
    jb_a64__word(e, (op == JB_A64_CCMP ? 0x7a400000u : 0x3a400000u) | JB_A64__SF(sz) |
                        (is_imm ? 0x800u : 0) | mi << 16 | (uint32_t)c << 12 | n << 5 | nzcv);
}
JB__INLINE void jb_a64_ccmp_r(jb_emit *e, jb_type sz, jb_a64_ccmp_op op, jb_a64_reg n, jb_a64_reg m,
                                 unsigned nzcv, jb_a64_cond c)
{
    jb_a64__ccmp(e, sz, op, n, m, 0, nzcv, c);
}
JB__INLINE void jb_a64_ccmp_i(jb_emit *e, jb_type sz, jb_a64_ccmp_op op, jb_a64_reg n, unsigned imm5,
                                 unsigned nzcv, jb_a64_cond c)
{
    jb_a64__ccmp(e, sz, op, n, imm5, 1, nzcv, c);
}

/* ---- shifts, bitfields, multiply, divide, bit operations ------------------------- */

/* op rd, rn, #amount (0..31 for w, 0..63 for x): lsl/lsr/asr (ubfm/sbfm),
 * ror (extr rd, rn, rn). */
JB__INLINE void jb_a64_shift(jb_emit *e, jb_type sz, jb_a64_shift_op op, jb_a64_reg d, jb_a64_reg n,
                                unsigned s)
{
    unsigned w = JB__SIZE(sz) == 3 ? 64 : 32;
    if (jb_a64__bad_sz(e, sz) || jb_a64__bad_regs(e, d | n) ||
        jb_a64__bad(e, (unsigned)op > 3 || s >= w,
                    "arm64: shift amount must be 0..31 (w) or 0..63 (x), and the "
                    "operation a jb_a64_shift"))
        return;
    uint32_t sf = JB__SIZE(sz) == 3 ? 0x80400000u : 0; /* sf and N */
    uint32_t immr = op == JB_A64_LSL ? (w - s) & (w - 1) : s;
    uint32_t imms = op == JB_A64_LSL ? w - 1 - s : w - 1;
    if (op == JB_A64_ROR)
        jb_a64__word(e, 0x13800000u | sf | n << 16 | s << 10 | n << 5 | d);
    else
        jb_a64__word(e, (op == JB_A64_ASR ? 0x13000000u : 0x53000000u) | sf | immr << 16 |
                            imms << 10 | n << 5 | d);
}
/* op rd, rn, rm: the amount is rm mod the width (lslv, lsrv, asrv, rorv). */
JB__INLINE void jb_a64_shift_r(jb_emit *e, jb_type sz, jb_a64_shift_op op, jb_a64_reg d, jb_a64_reg n,
                                  jb_a64_reg m)
{
    if (jb_a64__bad_sz(e, sz) || jb_a64__bad_regs(e, d | n | m) ||
        jb_a64__bad(e, (unsigned)op > 3, "arm64: not a jb_a64_shift"))
        return;
    jb_a64__word(e, 0x1ac02000u | JB_A64__SF(sz) | (uint32_t)op << 10 | m << 16 | n << 5 | d);
}
JB__INLINE void jb_a64_lsl(jb_emit *e, jb_a64_reg d, jb_a64_reg n, unsigned s) { jb_a64_shift(e, JB_I64, JB_A64_LSL, d, n, s); }
JB__INLINE void jb_a64_lsr(jb_emit *e, jb_a64_reg d, jb_a64_reg n, unsigned s) { jb_a64_shift(e, JB_I64, JB_A64_LSR, d, n, s); }
JB__INLINE void jb_a64_asr(jb_emit *e, jb_a64_reg d, jb_a64_reg n, unsigned s) { jb_a64_shift(e, JB_I64, JB_A64_ASR, d, n, s); }
JB__INLINE void jb_a64_ror(jb_emit *e, jb_a64_reg d, jb_a64_reg n, unsigned s) { jb_a64_shift(e, JB_I64, JB_A64_ROR, d, n, s); }
JB__INLINE void jb_a64_lsl_r(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64_shift_r(e, JB_I64, JB_A64_LSL, d, n, m); }
JB__INLINE void jb_a64_lsr_r(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64_shift_r(e, JB_I64, JB_A64_LSR, d, n, m); }
JB__INLINE void jb_a64_asr_r(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64_shift_r(e, JB_I64, JB_A64_ASR, d, n, m); }
JB__INLINE void jb_a64_ror_r(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64_shift_r(e, JB_I64, JB_A64_ROR, d, n, m); }

/* Bitfield moves of `width` bits at bit `lsb` (lsb < size, 1 <= width <=
 * size - lsb): ubfx/sbfx (extract to bit 0, zero/sign-extended), bfi
 * (insert the low bits of rn, keeping the rest of rd), bfxil (extract into
 * the low bits of rd, keeping the rest), ubfiz/sbfiz (place at lsb, zeros
 * around). */
typedef enum { JB_A64_UBFX, JB_A64_SBFX, JB_A64_BFI, JB_A64_BFXIL, JB_A64_UBFIZ, JB_A64_SBFIZ } jb_a64_bitfield_op;
JB__INLINE void jb_a64_bitfield(jb_emit *e, jb_type sz, jb_a64_bitfield_op op, jb_a64_reg d,
                                   jb_a64_reg n, unsigned lsb, unsigned width)
{
    unsigned w = JB__SIZE(sz) == 3 ? 64 : 32;
    if (jb_a64__bad_sz(e, sz) || jb_a64__bad_regs(e, d | n) ||
        jb_a64__bad3(e, (unsigned)op > JB_A64_SBFIZ, "arm64: not a jb_a64_bitfield_op",
                     lsb >= w || width < 1 || width > w - lsb,
                     "arm64: bitfield needs lsb < size and 1 <= width <= size - lsb", 0, NULL))
        return;
    /* ubfm/sbfm/bfm 32-bit opcodes; sf and N for x */
    static const uint32_t base[6] = {0x53000000u, 0x13000000u, 0x33000000u, 0x33000000u,
                                     0x53000000u, 0x13000000u};
    int ins = op == JB_A64_BFI || op >= JB_A64_UBFIZ;
    uint32_t immr = ins ? (w - lsb) & (w - 1) : lsb, imms = ins ? width - 1 : lsb + width - 1;
    jb_a64__word(e, base[op] | (w == 64 ? 0x80400000u : 0) | immr << 16 | imms << 10 | n << 5 | d);
}

/* Two-source operations: udiv, sdiv (x / 0 = 0, MIN / -1 = MIN, no trap),
 * mul, and smulh/umulh (the high 64 bits of a 128-bit product; x only). */
typedef enum { JB_A64_UDIV, JB_A64_SDIV, JB_A64_MUL, JB_A64_SMULH, JB_A64_UMULH } jb_a64_op2;
JB__INLINE void jb_a64_dp2(jb_emit *e, jb_type sz, jb_a64_op2 op, jb_a64_reg d, jb_a64_reg n,
                              jb_a64_reg m)
{
    static const uint32_t opc[5] = {0x1ac00800u, 0x1ac00c00u, 0x1b007c00u, 0x9b407c00u, 0x9bc07c00u};
    if (jb_a64__bad_sz(e, sz) || jb_a64__bad_regs(e, d | n | m) ||
        jb_a64__bad(e, (unsigned)op > JB_A64_UMULH || (op >= JB_A64_SMULH && JB__SIZE(sz) != 3),
                    "arm64: not a jb_a64_op2 (smulh/umulh are 64-bit only)"))
        return;
    jb_a64__word(e, opc[op] | JB_A64__SF(sz) | m << 16 | n << 5 | d);
}
/* Multiply-add: madd rd = ra + rn * rm, msub rd = ra - rn * rm, and the
 * widening x = x +- w * w forms smaddl/umaddl/smsubl/umsubl (sz JB_I64). */
typedef enum { JB_A64_MADD, JB_A64_MSUB, JB_A64_SMADDL, JB_A64_UMADDL, JB_A64_SMSUBL, JB_A64_UMSUBL } jb_a64_op3;
JB__INLINE void jb_a64_dp3(jb_emit *e, jb_type sz, jb_a64_op3 op, jb_a64_reg d, jb_a64_reg n,
                              jb_a64_reg m, jb_a64_reg a)
{
    static const uint32_t opc[6] = {0x1b000000u, 0x1b008000u, 0x9b200000u, 0x9ba00000u,
                                    0x9b208000u, 0x9ba08000u};
    if (jb_a64__bad_sz(e, sz) || jb_a64__bad_regs(e, d | n | m | a) ||
        jb_a64__bad(e, (unsigned)op > JB_A64_UMSUBL || (op >= JB_A64_SMADDL && JB__SIZE(sz) != 3),
                    "arm64: not a jb_a64_op3 (the widening forms take JB_I64)"))
        return;
    jb_a64__word(e, opc[op] | JB_A64__SF(sz) | m << 16 | a << 10 | n << 5 | d);
}
/* One-source bit operations: rbit, rev16 (each halfword), rev32 (each
 * word; x only), rev (the whole register), clz, cls. */
typedef enum { JB_A64_RBIT, JB_A64_REV16, JB_A64_REV32, JB_A64_REV, JB_A64_CLZ, JB_A64_CLS } jb_a64_op1;
JB__INLINE void jb_a64_dp1(jb_emit *e, jb_type sz, jb_a64_op1 op, jb_a64_reg d, jb_a64_reg n)
{
    static const uint32_t opc[6] = {0x5ac00000u, 0x5ac00400u, 0x5ac00800u, 0x5ac00800u,
                                    0x5ac01000u, 0x5ac01400u};
    if (jb_a64__bad_sz(e, sz) || jb_a64__bad_regs(e, d | n) ||
        jb_a64__bad(e, (unsigned)op > JB_A64_CLS || (op == JB_A64_REV32 && JB__SIZE(sz) != 3),
                    "arm64: not a jb_a64_op1 (rev32 is 64-bit only)"))
        return;
    uint32_t w = opc[op] | JB_A64__SF(sz) | n << 5 | d;
    if (op == JB_A64_REV && JB__SIZE(sz) == 3)
        w |= 0x400u; /* rev x: opc 11 */
    jb_a64__word(e, w);
}

JB__INLINE void jb_a64_udiv(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64_dp2(e, JB_I64, JB_A64_UDIV, d, n, m); }
JB__INLINE void jb_a64_sdiv(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64_dp2(e, JB_I64, JB_A64_SDIV, d, n, m); }
JB__INLINE void jb_a64_umulh(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64_dp2(e, JB_I64, JB_A64_UMULH, d, n, m); }
JB__INLINE void jb_a64_smulh(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64_dp2(e, JB_I64, JB_A64_SMULH, d, n, m); }
/* madd rd = ra + rn * rm, msub rd = ra - rn * rm (remainder: msub with the
 * quotient), mul rd = rn * rm. */
JB__INLINE void jb_a64_madd(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m, jb_a64_reg a) { jb_a64_dp3(e, JB_I64, JB_A64_MADD, d, n, m, a); }
JB__INLINE void jb_a64_msub(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m, jb_a64_reg a) { jb_a64_dp3(e, JB_I64, JB_A64_MSUB, d, n, m, a); }
JB__INLINE void jb_a64_mul(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m) { jb_a64_dp3(e, JB_I64, JB_A64_MADD, d, n, m, 31); }

/* ---- conditional select ----------------------------------------------------- */

/* csel rd = c ? rn : rm; csinc rd = c ? rn : rm + 1; csinv (~rm); csneg (-rm) */
typedef enum { JB_A64_CSEL_OP, JB_A64_CSINC_OP, JB_A64_CSINV_OP, JB_A64_CSNEG_OP } jb_a64_csel_op;
JB__INLINE void jb_a64_cond_sel(jb_emit *e, jb_type sz, jb_a64_csel_op op, jb_a64_reg d, jb_a64_reg n,
                                   jb_a64_reg m, jb_a64_cond c)
{
    static const uint32_t opc[4] = {0x1a800000u, 0x1a800400u, 0x5a800000u, 0x5a800400u};
    if (jb_a64__bad_sz(e, sz) || jb_a64__bad_regs(e, d | n | m) ||
        jb_a64__bad(e, (unsigned)op > 3 || (unsigned)c > 15,
                    "arm64: conditional select needs a jb_a64_csel_op and a condition 0..15"))
        return;
    jb_a64__word(e, opc[op] | JB_A64__SF(sz) | m << 16 | (uint32_t)c << 12 | n << 5 | d);
}
JB__INLINE void jb_a64_csel(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m, jb_a64_cond c) { jb_a64_cond_sel(e, JB_I64, JB_A64_CSEL_OP, d, n, m, c); }
JB__INLINE void jb_a64_csinc(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m, jb_a64_cond c) { jb_a64_cond_sel(e, JB_I64, JB_A64_CSINC_OP, d, n, m, c); }
JB__INLINE void jb_a64_csinv(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m, jb_a64_cond c) { jb_a64_cond_sel(e, JB_I64, JB_A64_CSINV_OP, d, n, m, c); }
JB__INLINE void jb_a64_csneg(jb_emit *e, jb_a64_reg d, jb_a64_reg n, jb_a64_reg m, jb_a64_cond c) { jb_a64_cond_sel(e, JB_I64, JB_A64_CSNEG_OP, d, n, m, c); }

/* cset rd = c ? 1 : 0 (csinc rd, zr, zr, !c); c may not be al. */
JB__INLINE void jb_a64_cset_sz(jb_emit *e, jb_type sz, jb_a64_reg d, jb_a64_cond c)
{
    if (!jb_a64__bad(e, (unsigned)c >= JB_A64_AL, "arm64: cset needs a condition other than al"))
        jb_a64_cond_sel(e, sz, JB_A64_CSINC_OP, d, 31, 31, (jb_a64_cond)(c ^ 1));
}
JB__INLINE void jb_a64_cset(jb_emit *e, jb_a64_reg d, jb_a64_cond c) { jb_a64_cset_sz(e, JB_I64, d, c); }

/* ---- loads and stores --------------------------------------------------------- */

/* ldr/str xt, [xn, #off]: unsigned offset, a multiple of 8 below 32768 */
JB__INLINE void jb_a64__ldst(jb_emit *e, uint32_t op, jb_a64_reg rt, jb_a64_reg rn, uint32_t off)
{
    if (jb_a64__bad3(e, (rt | rn) > 31, "arm64: register number above 31", off & ~0x7ff8u, /* 0x7ff8 = 32760 */
                     "arm64: ldr/str unsigned offset must be a multiple of 8 in 0..32760", 0, NULL))
        return;
    jb_a64__word(e, op | (off / 8) << 10 | rn << 5 | rt);
}
JB__INLINE void jb_a64_ldr(jb_emit *e, jb_a64_reg rt, jb_a64_reg rn, uint32_t off) { jb_a64__ldst(e, JB_A64_OP_LDR_UI, rt, rn, off); }
JB__INLINE void jb_a64_str(jb_emit *e, jb_a64_reg rt, jb_a64_reg rn, uint32_t off) { jb_a64__ldst(e, JB_A64_OP_STR_UI, rt, rn, off); }

/* Addressing modes of the typed loads and stores below. */
typedef enum {
    JB_A64_OFFSET, /* [xn, #off]: scaled unsigned imm12 when it fits, else unscaled simm9 */
    JB_A64_PRE,    /* [xn, #off]!: xn += off, then access (simm9) */
    JB_A64_POST    /* [xn], #off: access, then xn += off (simm9) */
} jb_a64_mode;

/* size (log2 bytes), V (FP register) and opc bits of a load (ld 1) or
 * store (ld 0) of type t; 0 in *ok for a type with no such access. */
static inline uint32_t jb_a64__ldst_bits(jb_type t, int ld, unsigned *size, int *ok)
{
    unsigned k = (unsigned)t;
    *size = k & 3;
    *ok = k <= 7 || k == JB_F32 || k == JB_F64;
    uint32_t v = k >= 8 ? 1u << 26 : 0;
    /* loads: opc 1 (zero-extend / full), 2 (sign-extend to x); stores 0 */
    uint32_t opc = !ld ? 0 : (k & 4) && (k & 3) != 3 ? 2 : 1;
    return (uint32_t)(k & 3) << 30 | v | opc << 22;
}

JB__INLINE void jb_a64__ldst_mode(jb_emit *e, jb_type t, int ld, jb_a64_reg rt, jb_a64_reg rn,
                                     int32_t off, jb_a64_mode mode)
{
    unsigned size;
    int ok;
    uint32_t bits = jb_a64__ldst_bits(t, ld, &size, &ok);
    if (jb_a64__bad(e, !ok, "arm64: load/store type must be a jb_type") ||
        jb_a64__bad3(e, (rt | rn) > 31, "arm64: load/store registers 0..31 (rn 31 = sp)",
                     (unsigned)mode > JB_A64_POST, "arm64: load/store mode must be a jb_a64_mode",
                     0, NULL) ||
        jb_a64__bad(e, mode != JB_A64_OFFSET && rt == rn && rn != 31 && !(bits & (1u << 26)),
                    "arm64: pre/post-index with the base register as the data register "
                    "is unpredictable; use another register"))
        return;
    uint32_t regs = rn << 5 | rt;
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
#define JB_A64_UXTW 2u   /* the index is a w register, zero-extended */
#define JB_A64_SXTW 4u   /* the index is a w register, sign-extended */

JB__INLINE void jb_a64__ldst_reg(jb_emit *e, jb_type t, int ld, jb_a64_reg rt, jb_a64_reg rn,
                                    jb_a64_reg rm, unsigned opt)
{
    unsigned size;
    int ok;
    uint32_t bits = jb_a64__ldst_bits(t, ld, &size, &ok);
    if (jb_a64__bad(e, !ok, "arm64: load/store type must be a jb_type") ||
        jb_a64__bad3(e, (rt | rn | rm) > 31, "arm64: register number above 31", opt > 7,
                     "arm64: register-offset option has bits other than JB_A64_SCALED, "
                     "JB_A64_UXTW and JB_A64_SXTW", (opt & 6) == 6,
                     "arm64: register-offset option takes at most one of JB_A64_UXTW / "
                     "JB_A64_SXTW"))
        return;
    unsigned option = (opt & JB_A64_UXTW) ? 2 : (opt & JB_A64_SXTW) ? 6 : 3;
    jb_a64__word(e, 0x38200800u | bits | rm << 16 | option << 13 | (opt & JB_A64_SCALED) << 12 |
                        rn << 5 | rt);
}

/* Loads: rt = the value of type t at the address, widened into x as t says
 * (ldrb, ldrsb, ldrh, ldrsh, ldr wt, ldrsw, ldr xt; JB_F32 / JB_F64: ldr
 * st / dt). Stores of the low bits of rt (strb, strh, str wt/xt/st/dt). */
JB__INLINE void jb_a64_load(jb_emit *e, jb_type t, jb_a64_reg rt, jb_a64_reg rn, int32_t off,
                               jb_a64_mode mode)
{
    jb_a64__ldst_mode(e, t, 1, rt, rn, off, mode);
}
JB__INLINE void jb_a64_load_r(jb_emit *e, jb_type t, jb_a64_reg rt, jb_a64_reg rn, jb_a64_reg rm,
                                 unsigned opt)
{
    jb_a64__ldst_reg(e, t, 1, rt, rn, rm, opt);
}
JB__INLINE void jb_a64_store(jb_emit *e, jb_type t, jb_a64_reg rt, jb_a64_reg rn, int32_t off,
                                jb_a64_mode mode)
{
    jb_a64__ldst_mode(e, t, 0, rt, rn, off, mode);
}
JB__INLINE void jb_a64_store_r(jb_emit *e, jb_type t, jb_a64_reg rt, jb_a64_reg rn, jb_a64_reg rm,
                                  unsigned opt)
{
    jb_a64__ldst_reg(e, t, 0, rt, rn, rm, opt);
}

/* ldp/stp of two registers of type t (JB_I32: w, JB_I64: x, JB_S32: ldpsw
 * for a load and stp w for a store, JB_F32: s, JB_F64: d) with a signed offset, a multiple of the size in
 * -64..63 times it (JB_A64_OFFSET, JB_A64_PRE: [xn, #off]!, JB_A64_POST). */
JB__INLINE void jb_a64__pair(jb_emit *e, jb_type t, int ld, jb_a64_reg t1, jb_a64_reg t2,
                                jb_a64_reg rn, int32_t off, jb_a64_mode mode)
{
    static const uint32_t idx[3] = {2u << 23, 3u << 23, 1u << 23};
    unsigned k = (unsigned)t, size = k & 3;
    int ok = k == JB_I32 || k == JB_I64 || k == JB_S32 || k == JB_S64 || k == JB_F32 ||
             k == JB_F64; /* JB_S32: ldpsw for a load; a store takes either sign */
    uint32_t opc = (k == JB_S32 && ld) ? 1u : k == JB_F64 ? 1u : size == 3 ? 2u : 0u;
    int32_t unit = 1 << size;
    if (jb_a64__bad(e, !ok, "arm64: ldp/stp type must be a 32- or 64-bit integer type, "
                            "JB_F32 or JB_F64") ||
        jb_a64__bad3(e, (t1 | t2 | rn) > 31, "arm64: register number above 31",
                     (unsigned)mode > JB_A64_POST, "arm64: ldp/stp mode must be a jb_a64_mode",
                     (off & (unit - 1)) || off < -64 * unit || off > 63 * unit,
                     "arm64: ldp/stp offset must be a multiple of the size in -64..63 times "
                     "it (x: -512..504)") ||
        jb_a64__bad(e, (mode != JB_A64_OFFSET && rn != 31 && k < 8 && (t1 == rn || t2 == rn)) ||
                           (ld && t1 == t2),
                    "arm64: ldp with t1 == t2, or pre/post-index with the base as a data "
                    "register, is unpredictable; use other registers"))
        return;
    jb_a64__word(e, 0x28000000u | opc << 30 | (k >= 8 ? 1u << 26 : 0) | idx[mode] |
                        (uint32_t)ld << 22 | ((uint32_t)(off / unit) & 0x7fu) << 15 | t2 << 10 |
                        rn << 5 | t1);
}
JB__INLINE void jb_a64_load_pair(jb_emit *e, jb_type t, jb_a64_reg t1, jb_a64_reg t2, jb_a64_reg rn, int32_t off, jb_a64_mode mode) { jb_a64__pair(e, t, 1, t1, t2, rn, off, mode); }
JB__INLINE void jb_a64_store_pair(jb_emit *e, jb_type t, jb_a64_reg t1, jb_a64_reg t2, jb_a64_reg rn, int32_t off, jb_a64_mode mode) { jb_a64__pair(e, t, 0, t1, t2, rn, off, mode); }
JB__INLINE void jb_a64_ldp(jb_emit *e, jb_a64_reg t1, jb_a64_reg t2, jb_a64_reg rn, int32_t off, jb_a64_mode mode) { jb_a64__pair(e, JB_I64, 1, t1, t2, rn, off, mode); }
JB__INLINE void jb_a64_stp(jb_emit *e, jb_a64_reg t1, jb_a64_reg t2, jb_a64_reg rn, int32_t off, jb_a64_mode mode) { jb_a64__pair(e, JB_I64, 0, t1, t2, rn, off, mode); }

/* ---- control flow and pc-relative addresses ------------------------------------ */

/* An instruction w whose pc-relative field (format f) refers to label l. */
JB__INLINE void jb_a64__ref(jb_emit *e, uint32_t w, jb_label l, jb_fixfmt f)
{
    if (!jb_emit_room(e, 4))
        return;
    uint32_t field;
    int state = jb__label_use(e, l, f, w, &field);
    if (state < 0) {
        if (JB__IN_RESERVATION(e))
            e->cur += 4; /* the advance of every path alike (jb_emit_reserve) */
        return;
    }
    jb__put32(e->cur, state ? w | field : JB_A64__TRAP);
    e->cur += 4;
}
JB__INLINE void jb_a64_b(jb_emit *e, jb_label l) { jb_a64__ref(e, JB_A64_OP_B, l, JB_A64_FIX_B26); }
JB__INLINE void jb_a64_bl(jb_emit *e, jb_label l) { jb_a64__ref(e, JB_A64_OP_BL, l, JB_A64_FIX_B26); }
JB__INLINE void jb_a64_bcond(jb_emit *e, jb_a64_cond c, jb_label l)
{
    if (!jb_a64__bad(e, (unsigned)c > 15, "arm64: condition must be 0..15"))
        jb_a64__ref(e, JB_A64_OP_BCOND | c, l, JB_A64_FIX_BCOND);
}
/* cbz/cbnz rt, l of size sz (w or x); the shorthands test x. */
JB__INLINE void jb_a64_cbz_sz(jb_emit *e, jb_type sz, int nonzero, jb_a64_reg rt, jb_label l)
{
    if (!jb_a64__bad_sz(e, sz) && !jb_a64__bad_regs(e, rt))
        jb_a64__ref(e, (nonzero ? 0x35000000u : 0x34000000u) | JB_A64__SF(sz) | rt, l, JB_A64_FIX_CBZ);
}
JB__INLINE void jb_a64_cbz(jb_emit *e, jb_a64_reg rt, jb_label l) { jb_a64_cbz_sz(e, JB_I64, 0, rt, l); }
JB__INLINE void jb_a64_cbnz(jb_emit *e, jb_a64_reg rt, jb_label l) { jb_a64_cbz_sz(e, JB_I64, 1, rt, l); }

/* tbz/tbnz rt, #bit, l: branch if bit (0..63) of rt is zero / not zero */
JB__INLINE void jb_a64__tb(jb_emit *e, uint32_t op, jb_a64_reg rt, unsigned bit, jb_label l)
{
    if (!jb_a64__bad3(e, rt > 31, "arm64: register number above 31", bit > 63, "arm64: tbz/tbnz bit must be 0..63", 0,
                      NULL))
        jb_a64__ref(e, op | (bit >> 5) << 31 | (bit & 31u) << 19 | rt, l, JB_A64_FIX_TBZ);
}
JB__INLINE void jb_a64_tbz(jb_emit *e, jb_a64_reg rt, unsigned bit, jb_label l) { jb_a64__tb(e, JB_A64_OP_TBZ, rt, bit, l); }
JB__INLINE void jb_a64_tbnz(jb_emit *e, jb_a64_reg rt, unsigned bit, jb_label l) { jb_a64__tb(e, JB_A64_OP_TBNZ, rt, bit, l); }

/* jb_label_bind for arm64 code: the same bind (any reference, the same
 * bytes and errors), whose inline path tests only arm64's kinds of single
 * reference (b/bl, then b.cond/cbz/ldr literal) instead of x86's first. */
JB__INLINE void jb_a64_bind(jb_emit *e, jb_label l)
{
    jb__label_bind(e, l, JB__FIXK_W26, JB__FIXK_W19, JB__FIXK_OTHER);
}

/* adr rd, l: rd = the label's address (+-1 MiB; any byte offset). */
JB__INLINE void jb_a64_adr(jb_emit *e, jb_a64_reg rd, jb_label l)
{
    if (!jb_a64__bad_regs(e, rd))
        jb_a64__ref(e, JB_A64_OP_ADR | rd, l, JB_A64_FIX_ADR);
}
/* Literal loads of the value at a label (+-1 MiB, word-aligned): type
 * JB_I32 (ldr w), JB_I64 (ldr x), JB_S32 (ldrsw), JB_F32 (ldr s), JB_F64
 * (ldr d). */
JB__INLINE void jb_a64_load_l(jb_emit *e, jb_type t, jb_a64_reg rt, jb_label l)
{
    uint32_t op = t == JB_I32 ? 0x18000000u : (t == JB_I64 || t == JB_S64) ? 0x58000000u
                : t == JB_S32 ? 0x98000000u : t == JB_F32 ? 0x1c000000u : t == JB_F64 ? 0x5c000000u : 0;
    if (!jb_a64__bad(e, !op, "arm64: literal loads take JB_I32, JB_I64, JB_S32, JB_F32 or JB_F64") &&
        !jb_a64__bad_regs(e, rt))
        jb_a64__ref(e, op | rt, l, JB_A64_FIX_LIT);
}
JB__INLINE void jb_a64_ldr_l(jb_emit *e, jb_a64_reg rt, jb_label l) { jb_a64_load_l(e, JB_I64, rt, l); }

/* adrp rd, #pages: rd = (pc & ~4095) + pages * 4096, pages in +-2^20. pc is
 * the instruction's final address, so the caller computes pages once it
 * knows where the code will run: (target >> 12) - (pc >> 12). */
JB__INLINE void jb_a64_adrp(jb_emit *e, jb_a64_reg rd, int64_t pages)
{
    if (jb_a64__bad3(e, rd > 31, "arm64: register number above 31", pages < -(1 << 20) || pages >= (1 << 20),
                     "arm64: adrp page offset must be within +-4 GiB", 0, NULL))
        return;
    uint32_t p = (uint32_t)pages;
    jb_a64__word(e, JB_A64_OP_ADRP | (p & 3u) << 29 | ((p >> 2) & 0x7ffffu) << 5 | rd);
}

JB__INLINE void jb_a64_br(jb_emit *e, jb_a64_reg rn) { if (!jb_a64__bad_regs(e, rn)) jb_a64__word(e, JB_A64_OP_BR | rn << 5); }
JB__INLINE void jb_a64_blr(jb_emit *e, jb_a64_reg rn) { if (!jb_a64__bad_regs(e, rn)) jb_a64__word(e, JB_A64_OP_BLR | rn << 5); }
JB__INLINE void jb_a64_ret(jb_emit *e) { jb_a64__word(e, JB_A64_OP_RET | JB_A64_LR << 5); }

/* Call an absolute address: mov_imm scratch, addr; blr scratch (x16 or
 * x17, the intra-procedure-call registers, are the usual scratch). */
JB__INLINE void jb_a64_call_abs(jb_emit *e, jb_a64_reg scratch, const void *addr)
{
    jb_a64_mov_imm(e, scratch, (uint64_t)(uintptr_t)addr);
    jb_a64_blr(e, scratch);
}

/* ---- atomics and barriers ---------------------------------------------------------- */

/* Memory order of an atomic: plain, acquire, release, or both. */
typedef enum { JB_A64_RELAXED, JB_A64_ACQUIRE, JB_A64_RELEASE, JB_A64_ACQ_REL } jb_a64_order;

/* The operands of an atomic, each cause with its own sentence. Only sz's
 * size counts, except for the loads (ldxr, ldar: load set), which
 * zero-extend and have no sign-extending form, so a signed type, which
 * promises a sign-extended load, is refused there. */
JB__INLINE int jb_a64__bad_atomic_l(jb_emit *e, jb_type sz, unsigned regs, unsigned order,
                                    int load)
{
    return jb_a64__bad3(e, (unsigned)sz > 7, "arm64: atomic size must be an integer jb_type",
                        regs > 31, "arm64: register number above 31", order > 3,
                        "arm64: memory order must be a jb_a64_order") ||
           jb_a64__bad(e, load && JB__SIGNED(sz),
                       "arm64: ldxr and ldar zero-extend (there is no sign-extending form): "
                       "pass JB_U8..JB_U64 and extend the result (jb_a64_extend)");
}
JB__INLINE int jb_a64__bad_atomic(jb_emit *e, jb_type sz, unsigned regs, unsigned order)
{
    return jb_a64__bad_atomic_l(e, sz, regs, order, 0);
}
/* ldxr/ldaxr rt, [rn] (exclusive load; acquire with JB_A64_ACQUIRE) and
 * stxr/stlxr rs, rt, [rn] (rs = 0 if the store happened, 1 if the
 * exclusive monitor was lost; release with JB_A64_RELEASE). ldxr's sz is
 * unsigned (the load zero-extends); stxr takes either. */
JB__INLINE void jb_a64_ldxr(jb_emit *e, jb_type sz, jb_a64_order o, jb_a64_reg rt, jb_a64_reg rn)
{
    if (!jb_a64__bad_atomic_l(e, sz, rt | rn, o, 1) &&
        !jb_a64__bad(e, o == JB_A64_RELEASE || o == JB_A64_ACQ_REL, "arm64: ldxr is plain or acquire"))
        jb_a64__word(e, 0x085f7c00u | (uint32_t)JB__SIZE(sz) << 30 | (o ? 0x8000u : 0) | rn << 5 | rt);
}
JB__INLINE void jb_a64_stxr(jb_emit *e, jb_type sz, jb_a64_order o, jb_a64_reg rs, jb_a64_reg rt,
                               jb_a64_reg rn)
{
    if (!jb_a64__bad_atomic(e, sz, rs | rt | rn, o) &&
        !jb_a64__bad(e, o == JB_A64_ACQUIRE || o == JB_A64_ACQ_REL, "arm64: stxr is plain or release") &&
        !jb_a64__bad(e, rs == rt || (rs == rn && rn != 31),
                     "arm64: stxr with the status register equal to the data or base "
                     "register is unpredictable"))
        jb_a64__word(e, 0x08007c00u | (uint32_t)JB__SIZE(sz) << 30 | (o ? 0x8000u : 0) | rs << 16 |
                            rn << 5 | rt);
}
/* ldar rt, [rn] (load-acquire; sz unsigned: it zero-extends) and stlr
 * rt, [rn] (store-release) */
JB__INLINE void jb_a64_ldar(jb_emit *e, jb_type sz, jb_a64_reg rt, jb_a64_reg rn)
{
    if (!jb_a64__bad_atomic_l(e, sz, rt | rn, 0, 1))
        jb_a64__word(e, 0x08dffc00u | (uint32_t)JB__SIZE(sz) << 30 | rn << 5 | rt);
}
JB__INLINE void jb_a64_stlr(jb_emit *e, jb_type sz, jb_a64_reg rt, jb_a64_reg rn)
{
    if (!jb_a64__bad_atomic(e, sz, rt | rn, 0))
        jb_a64__word(e, 0x089ffc00u | (uint32_t)JB__SIZE(sz) << 30 | rn << 5 | rt);
}
/* LSE (ARMv8.1) atomics: rt = old [rn]; [rn] = old op rs. ldadd, ldclr
 * (and-not), ldeor, ldset (or), ldsmax, ldsmin, ldumax, ldumin, swp. Only
 * sz's size counts (the op names the comparison's sign); the old value is
 * zero-extended in rt (x86's lock_xadd keeps the register's other bits at
 * 8 and 16 bits: see jb_x64_lock_xadd). */
typedef enum {
    JB_A64_LDADD, JB_A64_LDCLR, JB_A64_LDEOR, JB_A64_LDSET, JB_A64_LDSMAX, JB_A64_LDSMIN,
    JB_A64_LDUMAX, JB_A64_LDUMIN, JB_A64_SWP
} jb_a64_atomic_op;
JB__INLINE void jb_a64_atomic(jb_emit *e, jb_type sz, jb_a64_atomic_op op, jb_a64_order o,
                                 jb_a64_reg rs, jb_a64_reg rt, jb_a64_reg rn)
{
    if (jb_a64__bad_atomic(e, sz, rs | rt | rn, o) ||
        jb_a64__bad(e, (unsigned)op > JB_A64_SWP, "arm64: not a jb_a64_atomic_op"))
        return;
    uint32_t opc = op == JB_A64_SWP ? 0x8000u : (uint32_t)op << 12;
    jb_a64__word(e, 0x38200000u | (uint32_t)JB__SIZE(sz) << 30 | (o & 1u) << 23 | (o >> 1) << 22 |
                        rs << 16 | opc | rn << 5 | rt);
}
/* cas rs, rt, [rn] (LSE): if [rn] == rs then [rn] = rt; rs = the old value
 * (zero-extended; only sz's size counts). */
JB__INLINE void jb_a64_cas(jb_emit *e, jb_type sz, jb_a64_order o, jb_a64_reg rs, jb_a64_reg rt,
                              jb_a64_reg rn)
{
    if (!jb_a64__bad_atomic(e, sz, rs | rt | rn, o))
        jb_a64__word(e, 0x08a07c00u | (uint32_t)JB__SIZE(sz) << 30 | (o & 1u) << 22 | (o >> 1) << 15 |
                            rs << 16 | rn << 5 | rt);
}
/* Barriers: dmb/dsb with an option (JB_A64_ISH = inner shareable, the
 * usual one; _ISHLD loads, _ISHST stores, _SY full system; dsb refuses 0
 * and 4), isb. */
#define JB_A64_SY 15u
#define JB_A64_ISH 11u
#define JB_A64_ISHLD 9u
#define JB_A64_ISHST 10u
JB__INLINE void jb_a64_dmb(jb_emit *e, unsigned option)
{
    if (!jb_a64__bad(e, option > 15, "arm64: barrier option must be 0..15"))
        jb_a64__word(e, 0xd50330bfu | option << 8);
}
/* dsb: options 0 and 4 are not dsb but the speculation barriers ssbb and
 * pssbb, which share its encoding, so they are refused. */
JB__INLINE void jb_a64_dsb(jb_emit *e, unsigned option)
{
    if (!jb_a64__bad3(e, option > 15, "arm64: barrier option must be 0..15",
                      option == 0 || option == 4,
                      "arm64: dsb options 0 and 4 encode ssbb and pssbb, not a dsb; use "
                      "1..3 or 5..15 (JB_A64_SY = 15, JB_A64_ISH = 11)",
                      0, NULL))
        jb_a64__word(e, 0xd503309fu | option << 8);
}
JB__INLINE void jb_a64_isb(jb_emit *e) { jb_a64__word(e, 0xd5033fdfu); }

/* ---- frames, traps and padding ------------------------------------------------------ */

/* A frame record: stp x29, x30, [sp, #-16]!; mov x29, sp; sub sp, sp,
 * size rounded up to 16 (none for 0; at most 16 MiB). Locals live at
 * [x29 - k] or [sp + k]. jb_a64_frame_leave undoes it (mov sp, x29; ldp
 * x29, x30, [sp], #16); follow with jb_a64_ret. */
JB__INLINE void jb_a64_frame_enter(jb_emit *e, uint32_t size)
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
JB__INLINE void jb_a64_frame_leave(jb_emit *e)
{
    jb_a64_mov_sp(e, JB_A64_SP, JB_A64_FP);
    jb_a64_ldp(e, JB_A64_FP, JB_A64_LR, JB_A64_SP, 16, JB_A64_POST);
}

/* A function frame that saves registers: the frame record (x29, x30; x29 =
 * sp), then the x registers of xmask (bits 0..28) and the d registers of
 * dmask (bits 0..31; AAPCS64 keeps the low 64 bits of d8..d15) in pairs
 * below it, then `locals` bytes (rounded to 16, at most 16 MiB) at [sp],
 * sp 16-byte aligned. jb_a64_epilogue(same masks) restores and returns.
 * AAPCS64 callee-saved: x19..x28 (JB_A64_AAPCS_X) and d8..d15. */
#define JB_A64_AAPCS_X 0x1ff80000u
#define JB_A64_AAPCS_D 0x0000ff00u
JB__INLINE int jb_a64__bad_frame(jb_emit *e, uint32_t xmask, uint32_t locals)
{
    return jb_a64__bad(e, (xmask >> 29) != 0 || locals > 0xfff000u,
                       "arm64: prologue/epilogue save x0..x28 (x29/x30 always) and at most "
                       "16 MiB of locals");
}
/* The saved registers in order: x registers then d registers, in pairs. */
static inline unsigned jb_a64__frame_regs(uint32_t xmask, uint32_t dmask, unsigned regs[64])
{
    unsigned n = 0;
    for (unsigned r = 0; r < 29; r++)
        if (xmask >> r & 1)
            regs[n++] = r;
    for (unsigned r = 0; r < 32; r++)
        if (dmask >> r & 1)
            regs[n++] = 64 + r;
    return n;
}
JB__INLINE void jb_a64_prologue(jb_emit *e, uint32_t xmask, uint32_t dmask, uint32_t locals)
{
    unsigned regs[64];
    if (jb_a64__bad_frame(e, xmask, locals))
        return;
    unsigned n = jb_a64__frame_regs(xmask, dmask, regs);
    jb_a64_stp(e, JB_A64_FP, JB_A64_LR, JB_A64_SP, -16, JB_A64_PRE);
    jb_a64_mov_sp(e, JB_A64_FP, JB_A64_SP);
    for (unsigned k = 0; k < n; k += 2) {
        jb_type t = regs[k] >= 64 ? JB_F64 : JB_I64;
        unsigned a = regs[k] & 63;
        if (k + 1 < n && (regs[k + 1] >= 64) == (regs[k] >= 64))
            jb_a64_store_pair(e, t, a, regs[k + 1] & 63, JB_A64_SP, -16, JB_A64_PRE);
        else if (k + 1 < n) { /* an x and a d: two stores in one 16-byte slot */
            jb_a64_store(e, t, a, JB_A64_SP, -16, JB_A64_PRE);
            jb_a64_store(e, JB_F64, regs[k + 1] & 63, JB_A64_SP, 8, JB_A64_OFFSET);
        } else
            jb_a64_store(e, t, a, JB_A64_SP, -16, JB_A64_PRE);
    }
    uint32_t m = (locals + 15) & ~15u;
    if (m > 0xfff && (m & 0xfff)) {
        jb_a64_sub_imm(e, JB_A64_SP, JB_A64_SP, m & ~0xfffu);
        m &= 0xfff;
    }
    if (m)
        jb_a64_sub_imm(e, JB_A64_SP, JB_A64_SP, m);
}
JB__INLINE void jb_a64_epilogue(jb_emit *e, uint32_t xmask, uint32_t dmask)
{
    unsigned regs[64];
    if (jb_a64__bad_frame(e, xmask, 0))
        return;
    unsigned n = jb_a64__frame_regs(xmask, dmask, regs), slots = (n + 1) / 2;
    jb_a64_sub_imm(e, JB_A64_SP, JB_A64_FP, (int64_t)slots * 16);
    for (unsigned s = slots; s-- > 0;) {
        unsigned k = 2 * s;
        jb_type t = regs[k] >= 64 ? JB_F64 : JB_I64;
        unsigned a = regs[k] & 63;
        if (k + 1 < n && (regs[k + 1] >= 64) == (regs[k] >= 64))
            jb_a64_load_pair(e, t, a, regs[k + 1] & 63, JB_A64_SP, 16, JB_A64_POST);
        else if (k + 1 < n) {
            jb_a64_load(e, JB_F64, regs[k + 1] & 63, JB_A64_SP, 8, JB_A64_OFFSET);
            jb_a64_load(e, t, a, JB_A64_SP, 16, JB_A64_POST);
        } else
            jb_a64_load(e, t, a, JB_A64_SP, 16, JB_A64_POST);
    }
    jb_a64_ldp(e, JB_A64_FP, JB_A64_LR, JB_A64_SP, 16, JB_A64_POST);
    jb_a64_ret(e);
}

JB__INLINE void jb_a64_brk(jb_emit *e, unsigned imm16)
{
    if (!jb_a64__bad(e, imm16 > 0xffff, "arm64: brk immediate must be 0..0xffff"))
        jb_a64__word(e, JB_A64_OP_BRK | imm16 << 5);
}
JB__INLINE void jb_a64_udf(jb_emit *e, unsigned imm16)
{
    if (!jb_a64__bad(e, imm16 > 0xffff, "arm64: udf immediate must be 0..0xffff"))
        jb_a64__word(e, JB_A64_OP_UDF | imm16);
}
JB__INLINE void jb_a64_nop(jb_emit *e) { jb_a64__word(e, JB_A64_OP_NOP); }

/* Pad with nops until the offset from the cursor's start is a multiple of
 * `align` (a power of two, 4..4096). From an offset that is not a multiple
 * of 4 (after jb_emit_data) it first pads with zero bytes to the next
 * word, which must not be executed. */
JB__INLINE void jb_a64_align(jb_emit *e, size_t align)
{
    if (jb_a64__bad(e, align < 4 || align > 4096 || (align & (align - 1)),
                    "arm64: alignment must be a power of two in 4..4096"))
        return;
    static const uint8_t zero[4] = {0};
    jb_emit_data(e, zero, (size_t)(-jb_emit_size(e) & 3));
    size_t pad = (size_t)(-jb_emit_size(e) & (align - 1));
    if (!jb_emit_room(e, pad))
        return;
    for (; pad; pad -= 4)
        jb_a64_nop(e);
}

#ifdef __cplusplus
}
#endif

#include "arm64_fp.h"

#endif
