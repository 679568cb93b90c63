/* jitbuf x86_64 emitters: static inline functions over a jb_emit cursor
 * (emit.h says how errors, capacity, labels and the ABI work).
 *
 * Each emitter writes one instruction with one capacity check and no call
 * on its fast path. Names say the mnemonic or the family and the operand
 * shape: r = register, i = immediate, m = memory operand (jb_x64_mem), l =
 * label, x = xmm register. Families take the operand size first:
 *     jb_x64_alu_rr(e, JB_I32, JB_X64_CMP, JB_X64_RAX, JB_X64_RCX)
 * and the older 64-bit names (jb_x64_add_rr, jb_x64_mov_rm, ...) are
 * shorthands for their 64-bit member. Register numbers are the hardware
 * numbers (JB_X64_RAX = 0 ... JB_X64_R15 = 15); with JB_I8 the numbers 4..7
 * mean spl, bpl, sil, dil (a REX byte is added), never ah..bh.
 *
 * Encodings chosen: the shortest correct form, except where a fixed length
 * matters to a JIT (ALU with immediates never uses the one-byte rax forms;
 * a branch to an unbound label is rel32 unless JB_X64_SHORT asks for rel8,
 * and JB_X64_LONG forces rel32 for a bound one). Memory operands handle
 * every base: rsp/r12 need a SIB byte, rbp/r13 a displacement; a label can
 * stand for [rip + its offset] in every memory form (jb_x64_mem_l).
 *
 * Invalid operands (a register above 15, an immediate the size cannot hold,
 * a form the ISA lacks such as an 8-bit imul) fail the cursor with
 * JB_EOPERAND and write nothing. Scalar floating point (SSE2/SSE4.1) is in
 * x86_64_fp.h, included at the end. */
#ifndef JITBUF_X86_64_H
#define JITBUF_X86_64_H

#include "emit.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The longest x86_64 instruction (the ISA's limit; no emitter writes a
 * longer one). A buffer of n * JB_X64_MAX_INSN bytes holds n instructions. */
#define JB_X64_MAX_INSN 15u

/* ---- registers, condition codes, operand shapes ------------------------ */

typedef enum {
    JB_X64_RAX, JB_X64_RCX, JB_X64_RDX, JB_X64_RBX, JB_X64_RSP, JB_X64_RBP,
    JB_X64_RSI, JB_X64_RDI, JB_X64_R8, JB_X64_R9, JB_X64_R10, JB_X64_R11,
    JB_X64_R12, JB_X64_R13, JB_X64_R14, JB_X64_R15,
    JB_X64_RIP = 0x10, /* only as a jb_x64_mem base: see jb_x64_mem_rip */
    JB_X64_NOREG = 0xff
} jb_x64_reg;
#define JB_X64__LABEL 0x11u /* a jb_x64_mem base: [rip + label], disp = the label */

typedef enum {
    JB_X64_O, JB_X64_NO, JB_X64_B, JB_X64_AE, JB_X64_E, JB_X64_NE, JB_X64_BE,
    JB_X64_A, JB_X64_S, JB_X64_NS, JB_X64_P, JB_X64_NP, JB_X64_L, JB_X64_GE,
    JB_X64_LE, JB_X64_G
} jb_x64_cc;

/* Two-operand integer operations: the eight of opcodes 00..3F (numbered as
 * their /digit in 80/81/83), then test, mov, xchg and imul. */
typedef enum {
    JB_X64_ADD, JB_X64_OR, JB_X64_ADC, JB_X64_SBB, JB_X64_AND, JB_X64_SUB,
    JB_X64_XOR, JB_X64_CMP, JB_X64_TEST, JB_X64_MOV, JB_X64_XCHG, JB_X64_IMUL
} jb_x64_alu;

/* One-operand operations: F7 /2../7 (mul, imul1, div, idiv work on rdx:rax
 * of the size: rax = quotient, rdx = remainder) and FF /0, /1. div and idiv
 * by zero, and idiv of the most negative value by -1, raise #DE (SIGFPE),
 * where arm64's udiv/sdiv give 0 and the dividend: test the divisor first. */
typedef enum {
    JB_X64_NOT = 2, JB_X64_NEG, JB_X64_MUL, JB_X64_IMUL1, JB_X64_DIV, JB_X64_IDIV,
    JB_X64_INC, JB_X64_DEC
} jb_x64_unop;

/* Shifts and rotates, numbered as their /digit in C1/D1/D3. */
typedef enum {
    JB_X64_ROL, JB_X64_ROR, JB_X64_RCL, JB_X64_RCR, JB_X64_SHL, JB_X64_SHR,
    JB_X64_SAR = 7
} jb_x64_shift;

/* Bit counts: lzcnt and tzcnt need BMI1/ABM, popcnt POPCNT (check CPUID);
 * bsf/bsr leave the destination undefined for a zero source. */
typedef enum { JB_X64_LZCNT, JB_X64_TZCNT, JB_X64_POPCNT, JB_X64_BSF, JB_X64_BSR } jb_x64_count;

/* [base + index * scale + disp]; index JB_X64_NOREG for none. */
typedef struct {
    uint8_t base, index, scale; /* scale: 1, 2, 4 or 8 */
    int32_t disp;
} jb_x64_mem;

static inline jb_x64_mem jb_x64_mem_bd(jb_x64_reg base, int32_t disp)
{
    jb_x64_mem m = {(uint8_t)base, JB_X64_NOREG, 1, disp};
    return m;
}

static inline jb_x64_mem jb_x64_mem_bisd(jb_x64_reg base, jb_x64_reg index,
                                         unsigned scale, int32_t disp)
{
    jb_x64_mem m = {(uint8_t)base, (uint8_t)index, (uint8_t)scale, disp};
    return m;
}

/* [rip + disp]: disp counts from the end of the instruction. For data the
 * emitter places itself, prefer jb_x64_mem_l. */
static inline jb_x64_mem jb_x64_mem_rip(int32_t disp)
{
    jb_x64_mem m = {JB_X64_RIP, JB_X64_NOREG, 1, disp};
    return m;
}

/* [rip + l]: the label's address, position-independent; usable in every
 * memory form (constant pools, jump tables, call [rip + l] through an
 * address stored at l). */
static inline jb_x64_mem jb_x64_mem_l(jb_label l)
{
    jb_x64_mem m = {JB_X64__LABEL, JB_X64_NOREG, 1, (int32_t)l};
    return m;
}

/* Branch flags: 0 or one of these; both at once (contradictory) or any
 * other bit fail the cursor with JB_EOPERAND. */
#define JB_X64_SHORT 1u /* rel8 even to an unbound label (error if it misses) */
#define JB_X64_LONG 2u  /* rel32 even when rel8 would reach */

/* ---- fixup formats (see jb_fixfmt in emit.h) ----------------------------- */

/* rel32 at byte `off` of an instruction that ends right after it (jmp, call:
 * off 1; jcc: off 2), and rel8 of a short branch. */
#define JB_X64_FIX_REL32(off) \
    jb_fixfmt_make((off), (off) + 4, 0, 32, 0, 0, 0, JB_FIX_FLAGS(JB_FIX_SIGNED, JB_FIXH_X64_REL32))
#define JB_X64_FIX_REL8 \
    jb_fixfmt_make(1, 2, 0, 8, 0, 0, 0, JB_FIX_FLAGS(JB_FIX_SIGNED | JB_FIX_UNIT1, JB_FIXH_X64_REL8))

/* ---- the encoder ------------------------------------------------------------- */

/* REX bits; JB_X64__REX alone forces a REX byte (byte registers spl..dil). */
#define JB_X64__REX 0x40u
#define JB_X64__W 0x08u
/* Prefixes, written in this order: lock, operand size, F2/F3 (SSE). */
#define JB_X64__LOCK 1u
#define JB_X64__P66 2u
#define JB_X64__PF2 4u
#define JB_X64__PF3 8u

static inline int jb_x64__fits8(int64_t v)
{
    return v >= -128 && v <= 127;
}

/* Opcode bytes written high byte first in the source (0x0faf is 0F AF) in
 * memory order, and their count. */
JB__INLINE uint32_t jb_x64__opbytes(uint32_t opc, unsigned *n)
{
    if (opc <= 0xff) {
        *n = 1;
        return opc;
    }
    if (opc <= 0xffff) {
        *n = 2;
        return opc >> 8 | (opc & 0xff) << 8;
    }
    *n = 3;
    return opc >> 16 | (opc & 0xff00) | (opc & 0xff) << 16;
}

/* REX.R and REX.B (bits 2 and 0) and a register-direct ModRM (bits 16..23)
 * of reg and rm, from one table: a few instructions instead of a dozen of
 * shifts and masks on the fast path. */
#define JB_X64__RM(r, m) ((((r) & 8u) >> 1 | ((m) & 8u) >> 3) | (0xc0u | ((r) & 7u) << 3 | ((m) & 7u)) << 16)
#define JB_X64__RM4(r, m) JB_X64__RM(r, m), JB_X64__RM(r, m + 1), JB_X64__RM(r, m + 2), JB_X64__RM(r, m + 3)
#define JB_X64__RM16(r) JB_X64__RM4(r, 0), JB_X64__RM4(r, 4), JB_X64__RM4(r, 8), JB_X64__RM4(r, 12)
JB__INLINE uint32_t jb_x64__rmbits(unsigned reg, unsigned rm)
{
    static const uint32_t tab[256] = {
        JB_X64__RM16(0),  JB_X64__RM16(1),  JB_X64__RM16(2),  JB_X64__RM16(3),
        JB_X64__RM16(4),  JB_X64__RM16(5),  JB_X64__RM16(6),  JB_X64__RM16(7),
        JB_X64__RM16(8),  JB_X64__RM16(9),  JB_X64__RM16(10), JB_X64__RM16(11),
        JB_X64__RM16(12), JB_X64__RM16(13), JB_X64__RM16(14), JB_X64__RM16(15)};
    return tab[reg << 4 | rm]; /* every caller checked reg, rm <= 15 */
}

/* One instruction at p: prefixes, REX (rex holds W and JB_X64__REX; R, X,
 * B come from the operands), opcode, ModRM for reg and the register rm
 * (is_mem 0) or memory operand m (is_mem 1; 2: one whose base the caller
 * knows is a register), then ilen (0, 1, 2, 4) bytes of imm.
 * Returns the end, or p when a label operand failed the cursor: nothing
 * emitted (cur stays), though the bytes at p were stored. The head (REX,
 * opcode, ModRM, SIB) is built in a register and stored at once, the
 * displacement and the immediate each with one store after it; the stores
 * reach at most 16 bytes past p (JB_EMIT_SLACK). */
JB__INLINE uint8_t *jb_x64__enc(jb_emit *e, uint8_t *p, unsigned pfx, unsigned rex, uint32_t opc,
                                unsigned reg, jb_x64_mem m, int is_mem, uint32_t imm, unsigned ilen)
{
    uint8_t *p0 = p;
    if (pfx) { /* a constant in every caller: lock, 66, F2, F3 in this order */
        uint32_t v = 0;
        unsigned n = 0;
        if (pfx & JB_X64__LOCK) v |= 0xf0u << 8 * n++;
        if (pfx & JB_X64__P66) v |= 0x66u << 8 * n++;
        if (pfx & JB_X64__PF2) v |= 0xf2u << 8 * n++;
        if (pfx & JB_X64__PF3) v |= 0xf3u << 8 * n++;
        jb__put32(p, v);
        p += n;
    }
    unsigned on, base = m.base;
    uint64_t ob = jb_x64__opbytes(opc, &on);
    if (is_mem != 1 || JB__LIKELY(base < 16)) {
        /* t: R and B, and ModRM mod 11, with the opcode bytes' room */
        uint64_t t = jb_x64__rmbits(reg, base);
        if (on > 1)
            t = (t & 0xffff) | (t & 0xff0000) << 8 * (on - 1);
        unsigned sib = 0, dn = 0, mpos = 8 + 8 * on;
        /* + is | here (t's bits and the constant's do not overlap), and
         * with the - of the mod bits below folds into one addition */
        uint64_t v = t + (ob << 8 | (JB_X64__REX | rex));
        int32_t d = m.disp;
        if (is_mem) {
            unsigned b7 = base & 7;
            /* disp bytes: none for [base] (not rbp/r13, which need one), 1 or 4 */
            dn = (d == 0 && b7 != 5) ? 0 : jb_x64__fits8(d) ? 1 : 4;
            v -= (uint64_t)(0xc0u - (((dn + 1) >> 1) << 6)) << mpos; /* mod 11 -> 00/01/10 */
            if (m.index != JB_X64_NOREG || b7 == 4) {
                static const uint8_t ss[16] = {0, 0, 1, 0, 2, 0, 0, 0, 3};
                unsigned idx = m.index == JB_X64_NOREG ? 4u : m.index;
                v |= (idx & 8) >> 2;
                v ^= (uint64_t)(4 ^ b7) << mpos; /* rm = 100: a SIB follows */
                /* no index: scale bits 0, whatever m.scale says (the CPU
                 * ignores them; the bytes stay canonical) */
                unsigned sc = m.index == JB_X64_NOREG ? 0u : ss[m.scale & 15];
                v |= (uint64_t)(sc << 6 | (idx & 7) << 3 | b7) << (mpos + 8);
                sib = 1;
            }
        }
        /* a REX byte when the operands (R, X, B) or rex (W, or a forced
         * REX: usually a constant) ask for one */
        unsigned has_rex = rex || (v & 0x0f);
        if (!has_rex)
            v >>= 8;
        jb__put64(p, v);
        p += has_rex + on + 1 + sib;
        if (is_mem) {
            jb__put32(p, (uint32_t)d);
            p += dn;
        }
        if (ilen) {
            jb__put32(p, imm);
            p += ilen;
        }
        return p;
    }
    /* [rip + disp] or [rip + label]: ModRM mod 00, rm 101, then disp32 */
    unsigned rxb = (reg & 8) >> 1;
    unsigned has_rex = (rex | rxb) != 0;
    uint64_t v = (JB_X64__REX | rex | rxb) | ob << 8 | (uint64_t)(5 | (reg & 7) << 3) << (8 + 8 * on);
    if (!has_rex)
        v >>= 8;
    jb__put64(p, v);
    p += has_rex + on + 1;
    uint8_t *pd = p; /* the disp32 field */
    jb__put32(p, base == JB_X64_RIP ? (uint32_t)m.disp : 0);
    p += 4;
    if (ilen) {
        jb__put32(p, imm);
        p += ilen;
    }
    if (base == JB_X64__LABEL) {
        uint32_t n = (uint32_t)(p - p0);
        unsigned hn = (unsigned)(pd - p0);
        jb_fixfmt f = jb_fixfmt_make(hn, n, 0, 32, 0, 0, 0,
                                     JB_FIX_FLAGS(JB_FIX_SIGNED, JB_FIXH_X64_REL32));
        uint16_t head;
        uint32_t field;
        memcpy(&head, p0, 2);
        int state = jb__label_use(e, (jb_label)m.disp, f, head, &field);
        if (state < 0)
            return p0;
        if (state)
            jb__put32(pd, field);
        else
            p0[0] = 0x0f, p0[1] = 0x0b; /* ud2 until the label binds */
    }
    return p;
}

/* Run the encoder expression `x` (which writes at P and yields the end) at
 * the cursor when there is room, else into a scratch buffer placed by the
 * library's exact check. An encoder that fails the cursor yields P. */
#define JB_X64__EMIT(e, P, x)                                                 \
    do {                                                                      \
        if (jb__fast(e)) {                                                    \
            uint8_t *P = (e)->cur;                                            \
            (e)->cur = (x);                                                   \
        } else if (!(e)->err) {                                               \
            uint8_t P##_tmp[JB_EMIT_SLACK], *P = P##_tmp;                      \
            jb__lib_tail(e, P##_tmp, (size_t)((x) - P##_tmp));                \
        }                                                                     \
    } while (0)

JB__INLINE int jb_x64__bad(jb_emit *e, int cond, const char *what)
{
    if (JB__NEVER(cond) == 0)
        return 0;
    jb__lib_fail(e, JB_EOPERAND, what);
    return 1;
}

/* Is either of two register numbers above 15? One test of a | b, or of the
 * other alone when one is a constant (a /digit, a fixed register): the
 * constant's own test folds, the | would not. */
#if defined(__GNUC__) || defined(__clang__)
#define JB_X64__ABOVE15(a, b) \
    (__builtin_constant_p(a) ? (a) > 15 || (b) > 15 \
     : __builtin_constant_p(b) ? (b) > 15 || (a) > 15 : ((a) | (b)) > 15)
#else
#define JB_X64__ABOVE15(a, b) (((a) | (b)) > 15)
#endif

JB__INLINE int jb_x64__bad_regs(jb_emit *e, unsigned a, unsigned b)
{
    return jb_x64__bad(e, JB_X64__ABOVE15(a, b), "x86_64: register number above 15");
}
JB__INLINE int jb_x64__bad_reg(jb_emit *e, unsigned r) { return jb_x64__bad_regs(e, r, 0); }
/* An integer size: the immediate forms test it before the immediate,
 * which is read at the size, so that a bad type is not reported as an
 * immediate that does not fit or a bad register. */
#define JB_X64__ISZ_MSG "x86_64: operand size must be an integer jb_type (JB_I8 .. JB_I64)"
JB__INLINE int jb_x64__bad_isz(jb_emit *e, jb_type sz)
{
    return jb_x64__bad(e, (unsigned)sz > 7, JB_X64__ISZ_MSG);
}

/* A valid memory operand? (base a register, rip or a label; index not rsp;
 * scale 1/2/4/8; rip and labels take no index) */
JB__INLINE int jb_x64__bad_mem(jb_emit *e, jb_x64_mem m)
{
    int bad_index = m.index != JB_X64_NOREG &&
                    (m.index > 15 || m.index == JB_X64_RSP || m.base > 15);
    int bad_scale = m.scale != 1 && m.scale != 2 && m.scale != 4 && m.scale != 8;
    return jb_x64__bad(e, m.base > JB_X64__LABEL || bad_index || bad_scale,
                       "x86_64: memory operand with a bad base, index (rsp cannot be "
                       "an index; rip and labels take none) or scale");
}

/* The usual register and memory operands: a register and a register base
 * (index and scale valid: these fold for constant operands), in one test.
 * The callers then encode with is_mem 2 (no base test); rip, labels and
 * every error take the full checks (jb_x64__bad_reg, jb_x64__bad_mem). */
JB__INLINE int jb_x64__regbase(unsigned reg, jb_x64_mem m)
{
    int bad_index = m.index != JB_X64_NOREG && (m.index > 15 || m.index == JB_X64_RSP);
    int bad_scale = m.scale != 1 && m.scale != 2 && m.scale != 4 && m.scale != 8;
    return !JB__NEVER(JB_X64__ABOVE15(reg, m.base)) && !bad_index && !bad_scale;
}

/* Size-dependent parts of an integer instruction: prefix, REX.W, and
 * whether the byte form (opcode - 1) applies. */
#define JB_X64__SZ_PFX(sz) (JB__SIZE(sz) == 1 ? JB_X64__P66 : 0u)
#define JB_X64__SZ_W(sz) (JB__SIZE(sz) == 3 ? JB_X64__W : 0u)
/* Byte registers 4..7 (spl..dil) need a REX byte. */
#define JB_X64__BYTE_REX(sz, r) (JB__SIZE(sz) == 0 && (r) >= 4 && (r) < 8 ? JB_X64__REX : 0u)

/* Register-register form of an integer instruction of size sz: opc for
 * 16/32/64 bits, opc8 for 8 bits (JB_X64__NO8: the ISA has none), then
 * ilen bytes of imm. */
#define JB_X64__NO8 0xffffffffu
JB__INLINE void jb_x64__rr(jb_emit *e, jb_type sz, uint32_t opc, uint32_t opc8, unsigned reg,
                           unsigned rm, uint32_t imm, unsigned ilen)
{
    unsigned s = JB__SIZE(sz);
    /* The good case is the branch's likely arm, not an early return: with
     * an early return gcc 12 laid the error path out straight and jumped
     * to the encoder and back (4 host instructions more per mix8 group). */
    if (!JB__NEVER(JB_X64__ABOVE15(reg, rm) || (unsigned)sz > 7 ||
                   (s == 0 && opc8 == JB_X64__NO8))) {
        unsigned rex = JB_X64__SZ_W(sz) | JB_X64__BYTE_REX(sz, reg) | JB_X64__BYTE_REX(sz, rm);
        JB_X64__EMIT(e, P, jb_x64__enc(e, P, JB_X64__SZ_PFX(sz), rex, s ? opc : opc8, reg,
                                       jb_x64_mem_bd((jb_x64_reg)rm, 0), 0, imm, ilen));
    } else { /* one call names the first cause that holds */
        jb_x64__bad(e, 1, (unsigned)sz > 7 ? JB_X64__ISZ_MSG
                          : JB_X64__ABOVE15(reg, rm) ? "x86_64: register number above 15"
                          : "x86_64: this instruction has no 8-bit form; use JB_I16 or wider");
    }
}

/* Memory form, as jb_x64__rr; pfx adds lock. */
JB__INLINE void jb_x64__rm(jb_emit *e, unsigned pfx, jb_type sz, uint32_t opc, uint32_t opc8,
                           unsigned reg, jb_x64_mem m, uint32_t imm, unsigned ilen)
{
    unsigned s = JB__SIZE(sz);
    if (jb_x64__bad(e, (unsigned)sz > 7 || (s == 0 && opc8 == JB_X64__NO8),
                    "x86_64: a size that is not a jb_type, or 8 bits for a form that has "
                    "none"))
        return;
    unsigned rex = JB_X64__SZ_W(sz) | JB_X64__BYTE_REX(sz, reg);
    if (jb_x64__regbase(reg, m))
        JB_X64__EMIT(e, P, jb_x64__enc(e, P, pfx | JB_X64__SZ_PFX(sz), rex, s ? opc : opc8, reg,
                                       m, 2, imm, ilen));
    else if (!jb_x64__bad_reg(e, reg) && !jb_x64__bad_mem(e, m))
        JB_X64__EMIT(e, P, jb_x64__enc(e, P, pfx | JB_X64__SZ_PFX(sz), rex, s ? opc : opc8, reg,
                                       m, 1, imm, ilen));
}

/* Fixed (not size-dependent) forms: SSE, movzx/movsx, lea, call [m]. */
JB__INLINE void jb_x64__op_r(jb_emit *e, unsigned pfx, unsigned rex, uint32_t opc, unsigned reg,
                             unsigned rm, uint32_t imm, unsigned ilen)
{
    if (jb_x64__bad_regs(e, reg, rm))
        return;
    JB_X64__EMIT(e, P, jb_x64__enc(e, P, pfx, rex, opc, reg, jb_x64_mem_bd((jb_x64_reg)rm, 0), 0,
                                   imm, ilen));
}
JB__INLINE void jb_x64__op_m(jb_emit *e, unsigned pfx, unsigned rex, uint32_t opc, unsigned reg,
                             jb_x64_mem m, uint32_t imm, unsigned ilen)
{
    if (jb_x64__regbase(reg, m))
        JB_X64__EMIT(e, P, jb_x64__enc(e, P, pfx, rex, opc, reg, m, 2, imm, ilen));
    else if (!jb_x64__bad_reg(e, reg) && !jb_x64__bad_mem(e, m))
        JB_X64__EMIT(e, P, jb_x64__enc(e, P, pfx, rex, opc, reg, m, 1, imm, ilen));
}

/* Raw bytes (up to 8) of a fixed instruction. */
JB__INLINE void jb_x64__bytes(jb_emit *e, uint64_t v, unsigned n)
{
    if (jb__fast(e)) {
        jb__put64(e->cur, v);
        e->cur += n;
    } else if (!e->err) {
        jb__lib_tail64(e, v, n);
    }
}

/* ---- integer ALU: every size, register, immediate and memory operands ---- */

/* Opcodes of op: memory/register destination (rm = dst, reg = src) and
 * register-from-memory (reg = dst), 16/32/64-bit forms; 8-bit = one less
 * (none for imul). */
static inline uint32_t jb_x64__alu_to_rm(jb_x64_alu op)
{
    static const uint16_t opc[12] = {0x01, 0x09, 0x11, 0x19, 0x21, 0x29, 0x31, 0x39,
                                     0x85, 0x89, 0x87, 0};
    return opc[(unsigned)op % 12];
}
static inline uint32_t jb_x64__alu_to_reg(jb_x64_alu op)
{
    static const uint16_t opc[12] = {0x03, 0x0b, 0x13, 0x1b, 0x23, 0x2b, 0x33, 0x3b,
                                     0x85, 0x8b, 0x87, 0x0faf};
    return opc[(unsigned)op % 12];
}

JB__INLINE int jb_x64__bad_alu(jb_emit *e, jb_x64_alu op, jb_x64_alu last)
{
    return jb_x64__bad(e, (unsigned)op > (unsigned)last,
                       "x86_64: not a jb_x64_alu operation this form has (memory "
                       "destinations take no imul; immediates no xchg)");
}

/* op dst, src (every jb_x64_alu; imul has no 8-bit form). */
JB__INLINE void jb_x64_alu_rr(jb_emit *e, jb_type sz, jb_x64_alu op, jb_x64_reg dst,
                                 jb_x64_reg src)
{
    if (jb_x64__bad_alu(e, op, JB_X64_IMUL))
        return;
    if (op == JB_X64_IMUL)
        jb_x64__rr(e, sz, 0x0faf, JB_X64__NO8, dst, src, 0, 0);
    else
        jb_x64__rr(e, sz, jb_x64__alu_to_rm(op), jb_x64__alu_to_rm(op) - 1u, src, dst, 0, 0);
}

/* op dst, [m] (every jb_x64_alu). */
JB__INLINE void jb_x64_alu_rm(jb_emit *e, jb_type sz, jb_x64_alu op, jb_x64_reg dst,
                                 jb_x64_mem m)
{
    if (!jb_x64__bad_alu(e, op, JB_X64_IMUL))
        jb_x64__rm(e, 0, sz, jb_x64__alu_to_reg(op),
                   op == JB_X64_IMUL ? JB_X64__NO8 : jb_x64__alu_to_reg(op) - 1u, dst, m, 0, 0);
}

/* op [m], src (not imul). */
JB__INLINE void jb_x64_alu_mr(jb_emit *e, jb_type sz, jb_x64_alu op, jb_x64_mem m,
                                 jb_x64_reg src)
{
    if (!jb_x64__bad_alu(e, op, JB_X64_XCHG))
        jb_x64__rm(e, 0, sz, jb_x64__alu_to_rm(op), jb_x64__alu_to_rm(op) - 1u, src, m, 0, 0);
}

/* An immediate of size sz (imm8/16/32; 64 bits: a sign-extended imm32)
 * accepted in its signed or its unsigned reading. *v = its low bits, *s8 =
 * whether the sign-extended imm8 form holds it. */
JB__INLINE int jb_x64__imm(jb_type sz, int64_t imm, uint32_t *v, int *s8)
{
    unsigned s = JB__SIZE(sz), bits = 8u << s;
    int64_t lo = s == 3 ? INT32_MIN : -((int64_t)1 << (bits - 1));
    int64_t hi = s == 3 ? INT32_MAX : ((int64_t)1 << bits) - 1;
    int64_t sx = s == 3 ? imm : (int64_t)((uint64_t)imm << (64 - bits)) >> (64 - bits);
    *v = (uint32_t)imm;
    *s8 = jb_x64__fits8(sx);
    return imm >= lo && imm <= hi;
}

/* Opcode, /digit and immediate bytes of op with an immediate: add..cmp take
 * the sign-extended imm8 (83) when it fits, else 81 (80 for 8 bits); test
 * F7 /0; mov C7 /0; imul 6B/69 (reg = dst). 0 for xchg. */
JB__INLINE uint32_t jb_x64__alu_imm_op(jb_type sz, jb_x64_alu op, int s8, unsigned *digit,
                                       unsigned *n, uint32_t *opc8)
{
    unsigned s = JB__SIZE(sz);
    *n = s == 0 ? 1 : s == 1 ? 2 : 4;
    *digit = op <= JB_X64_CMP ? (unsigned)op : 0;
    if (op <= JB_X64_CMP) {
        *opc8 = 0x80;
        if (s8) /* the caller passes s8 only for 16/32/64 bits */
            *n = 1;
        return s8 ? 0x83 : 0x81;
    }
    if (op == JB_X64_TEST || op == JB_X64_MOV) {
        *opc8 = op == JB_X64_TEST ? 0xf6 : 0xc6;
        return op == JB_X64_TEST ? 0xf7 : 0xc7;
    }
    *opc8 = JB_X64__NO8;
    if (op == JB_X64_IMUL && s8)
        *n = 1;
    return op == JB_X64_IMUL ? (s8 ? 0x6b : 0x69) : 0;
}

/* 64-bit mov of any immediate, shortest: mov r32, imm32 (zero-extends) for
 * 0..2^32-1, mov r64, simm32 (C7 /0) for other sign-extended imm32, else
 * movabs r64, imm64. */
JB__INLINE void jb_x64__mov64_ri(jb_emit *e, jb_x64_reg dst, int64_t imm)
{
    uint64_t u = (uint64_t)imm, lo = (uint32_t)imm, b = dst >> 3, r = dst & 7;
    if (jb_x64__bad_reg(e, dst))
        return;
    if (u <= 0xffffffffu) {
        if (b)
            jb_x64__bytes(e, 0x41 | (0xb8 + r) << 8 | u << 16, 6);
        else
            jb_x64__bytes(e, (0xb8 + r) | u << 8, 5);
    } else if (imm >= INT32_MIN && imm <= INT32_MAX) {
        /* C7 /0 through the general encoder: its ModRM table and separate
         * store of the immediate take fewer instructions than one word */
        jb_x64__op_r(e, 0, JB_X64__W, 0xc7, 0, dst, (uint32_t)lo, 4);
    } else {
        uint8_t tmp[16] = {(uint8_t)(0x48 | b), (uint8_t)(0xb8 + r)};
        memcpy(tmp + 2, &u, 8);
        if (jb__fast(e)) {
            memcpy(e->cur, tmp, 10);
            e->cur += 10;
        } else if (!e->err) {
            jb__lib_tail(e, tmp, 10);
        }
    }
}

/* op dst, imm. For mov the 64-bit form takes any value (jb_x64__mov64_ri);
 * otherwise the immediate must fit the size in its signed or unsigned
 * reading (64 bits: a sign-extended imm32). imul: dst = dst * imm. */
JB__INLINE void jb_x64_alu_ri(jb_emit *e, jb_type sz, jb_x64_alu op, jb_x64_reg dst,
                                 int64_t imm)
{
    uint32_t v, opc8;
    unsigned digit, n, s = JB__SIZE(sz);
    int s8;
    if (op == JB_X64_MOV && s == 3 && (unsigned)sz <= 7) {
        jb_x64__mov64_ri(e, dst, imm);
        return;
    }
    int ok = jb_x64__imm(sz, imm, &v, &s8);
    if (jb_x64__bad_alu(e, op, JB_X64_IMUL) ||
        jb_x64__bad(e, op == JB_X64_XCHG, "x86_64: xchg takes no immediate") ||
        jb_x64__bad_isz(e, sz) ||
        jb_x64__bad(e, !ok, "x86_64: the immediate does not fit the operand size (64 "
                            "bits: a sign-extended imm32); load it into a register first"))
        return;
    if (op == JB_X64_MOV) { /* B0+r ib, B8+r iw/id */
        if (jb_x64__bad(e, dst > 15, "x86_64: register number above 15"))
            return;
        unsigned rex = JB_X64__BYTE_REX(sz, dst) | (dst >> 3);
        uint64_t x = 0;
        unsigned k = 0;
        if (s == 1)
            x = 0x66, k = 1;
        if (rex)
            x |= (uint64_t)(JB_X64__REX | rex) << 8 * k, k++;
        x |= (uint64_t)((s ? 0xb8u : 0xb0u) + (dst & 7)) << 8 * k, k++;
        x |= (uint64_t)v << 8 * k;
        jb_x64__bytes(e, x, k + (s == 0 ? 1 : s == 1 ? 2 : 4));
        return;
    }
    uint32_t opc = jb_x64__alu_imm_op(sz, op, s8 && s, &digit, &n, &opc8);
    jb_x64__rr(e, sz, opc, opc8, op == JB_X64_IMUL ? (unsigned)dst : digit, dst, v, n);
}

/* op [m], imm (add..cmp, test, mov). For a label m the displacement counts
 * from the end of the instruction, after the immediate. */
JB__INLINE void jb_x64_alu_mi(jb_emit *e, jb_type sz, jb_x64_alu op, jb_x64_mem m,
                                 int64_t imm)
{
    uint32_t v, opc8;
    unsigned digit, n;
    int s8;
    int ok = jb_x64__imm(sz, imm, &v, &s8);
    if (jb_x64__bad_alu(e, op, JB_X64_MOV) || jb_x64__bad_isz(e, sz) ||
        jb_x64__bad(e, !ok, "x86_64: the immediate does not fit the operand size (64 "
                            "bits: a sign-extended imm32)"))
        return;
    uint32_t opc = jb_x64__alu_imm_op(sz, op, s8 && JB__SIZE(sz), &digit, &n, &opc8);
    jb_x64__rm(e, 0, sz, opc, opc8, digit, m, v, n);
}

/* 64-bit shorthands. */
JB__INLINE void jb_x64_add_rr(jb_emit *e, jb_x64_reg d, jb_x64_reg s) { jb_x64_alu_rr(e, JB_I64, JB_X64_ADD, d, s); }
JB__INLINE void jb_x64_sub_rr(jb_emit *e, jb_x64_reg d, jb_x64_reg s) { jb_x64_alu_rr(e, JB_I64, JB_X64_SUB, d, s); }
JB__INLINE void jb_x64_and_rr(jb_emit *e, jb_x64_reg d, jb_x64_reg s) { jb_x64_alu_rr(e, JB_I64, JB_X64_AND, d, s); }
JB__INLINE void jb_x64_or_rr(jb_emit *e, jb_x64_reg d, jb_x64_reg s) { jb_x64_alu_rr(e, JB_I64, JB_X64_OR, d, s); }
JB__INLINE void jb_x64_xor_rr(jb_emit *e, jb_x64_reg d, jb_x64_reg s) { jb_x64_alu_rr(e, JB_I64, JB_X64_XOR, d, s); }
JB__INLINE void jb_x64_cmp_rr(jb_emit *e, jb_x64_reg d, jb_x64_reg s) { jb_x64_alu_rr(e, JB_I64, JB_X64_CMP, d, s); }
JB__INLINE void jb_x64_test_rr(jb_emit *e, jb_x64_reg a, jb_x64_reg b) { jb_x64_alu_rr(e, JB_I64, JB_X64_TEST, a, b); }
JB__INLINE void jb_x64_imul_rr(jb_emit *e, jb_x64_reg d, jb_x64_reg s) { jb_x64_alu_rr(e, JB_I64, JB_X64_IMUL, d, s); }
JB__INLINE void jb_x64_mov_rr(jb_emit *e, jb_x64_reg d, jb_x64_reg s) { jb_x64_alu_rr(e, JB_I64, JB_X64_MOV, d, s); }
JB__INLINE void jb_x64_add_ri(jb_emit *e, jb_x64_reg d, int64_t i) { jb_x64_alu_ri(e, JB_I64, JB_X64_ADD, d, i); }
JB__INLINE void jb_x64_sub_ri(jb_emit *e, jb_x64_reg d, int64_t i) { jb_x64_alu_ri(e, JB_I64, JB_X64_SUB, d, i); }
JB__INLINE void jb_x64_and_ri(jb_emit *e, jb_x64_reg d, int64_t i) { jb_x64_alu_ri(e, JB_I64, JB_X64_AND, d, i); }
JB__INLINE void jb_x64_or_ri(jb_emit *e, jb_x64_reg d, int64_t i) { jb_x64_alu_ri(e, JB_I64, JB_X64_OR, d, i); }
JB__INLINE void jb_x64_xor_ri(jb_emit *e, jb_x64_reg d, int64_t i) { jb_x64_alu_ri(e, JB_I64, JB_X64_XOR, d, i); }
JB__INLINE void jb_x64_cmp_ri(jb_emit *e, jb_x64_reg d, int64_t i) { jb_x64_alu_ri(e, JB_I64, JB_X64_CMP, d, i); }
JB__INLINE void jb_x64_test_ri(jb_emit *e, jb_x64_reg a, int64_t i) { jb_x64_alu_ri(e, JB_I64, JB_X64_TEST, a, i); }
JB__INLINE void jb_x64_mov_ri(jb_emit *e, jb_x64_reg d, int64_t i) { jb_x64_alu_ri(e, JB_I64, JB_X64_MOV, d, i); }
/* mov dst, qword [m] and mov qword [m], src */
JB__INLINE void jb_x64_mov_rm(jb_emit *e, jb_x64_reg d, jb_x64_mem m) { jb_x64_alu_rm(e, JB_I64, JB_X64_MOV, d, m); }
JB__INLINE void jb_x64_mov_mr(jb_emit *e, jb_x64_mem m, jb_x64_reg s) { jb_x64_alu_mr(e, JB_I64, JB_X64_MOV, m, s); }

/* imul dst, src, imm and imul dst, [m], imm (16/32/64 bits; imm8 when it
 * fits, else imm16/imm32). The opcode and immediate bytes, or 0. */
JB__INLINE uint32_t jb_x64__imul3(jb_emit *e, jb_type sz, int64_t imm, uint32_t *v, unsigned *n)
{
    int s8;
    if (jb_x64__bad_isz(e, sz) ||
        jb_x64__bad(e, !jb_x64__imm(sz, imm, v, &s8), "x86_64: the imul immediate does not "
                                                       "fit the operand size"))
        return 0;
    *n = s8 ? 1 : JB__SIZE(sz) == 1 ? 2 : 4;
    return s8 ? 0x6b : 0x69;
}
JB__INLINE void jb_x64_imul3_rri(jb_emit *e, jb_type sz, jb_x64_reg dst, jb_x64_reg src,
                                    int64_t imm)
{
    uint32_t v, opc;
    unsigned n;
    if ((opc = jb_x64__imul3(e, sz, imm, &v, &n)) != 0)
        jb_x64__rr(e, sz, opc, JB_X64__NO8, dst, src, v, n);
}
JB__INLINE void jb_x64_imul3_rmi(jb_emit *e, jb_type sz, jb_x64_reg dst, jb_x64_mem m,
                                    int64_t imm)
{
    uint32_t v, opc;
    unsigned n;
    if ((opc = jb_x64__imul3(e, sz, imm, &v, &n)) != 0)
        jb_x64__rm(e, 0, sz, opc, JB_X64__NO8, dst, m, v, n);
}
JB__INLINE void jb_x64_imul_rri(jb_emit *e, jb_x64_reg d, jb_x64_reg s, int64_t imm) { jb_x64_imul3_rri(e, JB_I64, d, s, imm); }

/* not/neg/mul/imul1/div/idiv/inc/dec of r or [m], every size. */
JB__INLINE int jb_x64__bad_unop(jb_emit *e, jb_x64_unop op)
{
    return jb_x64__bad(e, (unsigned)op < JB_X64_NOT || (unsigned)op > JB_X64_DEC,
                       "x86_64: not a jb_x64_unop");
}
JB__INLINE void jb_x64_unary_r(jb_emit *e, jb_type sz, jb_x64_unop op, jb_x64_reg r)
{
    if (jb_x64__bad_unop(e, op))
        return;
    if (op >= JB_X64_INC)
        jb_x64__rr(e, sz, 0xff, 0xfe, (unsigned)op - JB_X64_INC, r, 0, 0);
    else
        jb_x64__rr(e, sz, 0xf7, 0xf6, (unsigned)op, r, 0, 0);
}
JB__INLINE void jb_x64_unary_m(jb_emit *e, jb_type sz, jb_x64_unop op, jb_x64_mem m)
{
    if (jb_x64__bad_unop(e, op))
        return;
    if (op >= JB_X64_INC)
        jb_x64__rm(e, 0, sz, 0xff, 0xfe, (unsigned)op - JB_X64_INC, m, 0, 0);
    else
        jb_x64__rm(e, 0, sz, 0xf7, 0xf6, (unsigned)op, m, 0, 0);
}
JB__INLINE void jb_x64_not(jb_emit *e, jb_x64_reg r) { jb_x64_unary_r(e, JB_I64, JB_X64_NOT, r); }
JB__INLINE void jb_x64_neg(jb_emit *e, jb_x64_reg r) { jb_x64_unary_r(e, JB_I64, JB_X64_NEG, r); }
JB__INLINE void jb_x64_mul(jb_emit *e, jb_x64_reg r) { jb_x64_unary_r(e, JB_I64, JB_X64_MUL, r); }
JB__INLINE void jb_x64_div(jb_emit *e, jb_x64_reg r) { jb_x64_unary_r(e, JB_I64, JB_X64_DIV, r); }
JB__INLINE void jb_x64_idiv(jb_emit *e, jb_x64_reg r) { jb_x64_unary_r(e, JB_I64, JB_X64_IDIV, r); }

/* Sign-extend the accumulator for an idiv of size sz: cbw (ax = al), cwd
 * (dx:ax), cdq (edx:eax), cqo (rdx:rax). Before div, zero rdx instead. */
JB__INLINE void jb_x64_cdq(jb_emit *e, jb_type sz)
{
    static const uint16_t b[4] = {0x9866, 0x9966, 0x99, 0x9948};
    if (!jb_x64__bad(e, (unsigned)sz > 7, "x86_64: size must be a jb_type"))
        jb_x64__bytes(e, b[JB__SIZE(sz)], JB__SIZE(sz) == 2 ? 1 : 2);
}
JB__INLINE void jb_x64_cqo(jb_emit *e) { jb_x64_cdq(e, JB_I64); }

/* Shifts and rotates of r or [m] by an immediate or by cl. The count is
 * 0..31 (0..63 for 64 bits), as the CPU masks it; 1 uses the D1 form. */
JB__INLINE int jb_x64__bad_shift(jb_emit *e, jb_type sz, jb_x64_shift op, unsigned n)
{
    return jb_x64__bad(e, (unsigned)op > 7 || op == 6 || n > (JB__SIZE(sz) == 3 ? 63u : 31u),
                       "x86_64: shift count must be 0..31 (0..63 for 64 bits) and the "
                       "operation a jb_x64_shift");
}
JB__INLINE void jb_x64_shift_ri(jb_emit *e, jb_type sz, jb_x64_shift op, jb_x64_reg r, unsigned n)
{
    if (!jb_x64__bad_shift(e, sz, op, n))
        jb_x64__rr(e, sz, n == 1 ? 0xd1 : 0xc1, n == 1 ? 0xd0 : 0xc0, op, r, n, n != 1);
}
JB__INLINE void jb_x64_shift_rcl(jb_emit *e, jb_type sz, jb_x64_shift op, jb_x64_reg r)
{
    if (!jb_x64__bad_shift(e, sz, op, 0))
        jb_x64__rr(e, sz, 0xd3, 0xd2, op, r, 0, 0);
}
JB__INLINE void jb_x64_shift_mi(jb_emit *e, jb_type sz, jb_x64_shift op, jb_x64_mem m, unsigned n)
{
    if (!jb_x64__bad_shift(e, sz, op, n))
        jb_x64__rm(e, 0, sz, n == 1 ? 0xd1 : 0xc1, n == 1 ? 0xd0 : 0xc0, op, m, n, n != 1);
}
JB__INLINE void jb_x64_shift_mcl(jb_emit *e, jb_type sz, jb_x64_shift op, jb_x64_mem m)
{
    if (!jb_x64__bad_shift(e, sz, op, 0))
        jb_x64__rm(e, 0, sz, 0xd3, 0xd2, op, m, 0, 0);
}

/* lzcnt/tzcnt/popcnt/bsf/bsr dst, src (16, 32 or 64 bits). */
JB__INLINE void jb_x64_count_rr(jb_emit *e, jb_type sz, jb_x64_count op, jb_x64_reg dst,
                                   jb_x64_reg src)
{
    static const uint16_t opc[5] = {0x0fbd, 0x0fbc, 0x0fb8, 0x0fbc, 0x0fbd};
    if (jb_x64__bad(e, (unsigned)op > JB_X64_BSR || JB__SIZE(sz) == 0 || (unsigned)sz > 7,
                    "x86_64: bit counts take 16, 32 or 64 bits and a jb_x64_count") ||
        jb_x64__bad_regs(e, dst, src))
        return;
    JB_X64__EMIT(e, P, jb_x64__enc(e, P, JB_X64__SZ_PFX(sz) | (op <= JB_X64_POPCNT ? JB_X64__PF3 : 0),
                                   JB_X64__SZ_W(sz), opc[op], dst, jb_x64_mem_bd(src, 0), 0, 0, 0));
}

/* bswap r (32 or 64 bits). */
JB__INLINE void jb_x64_bswap(jb_emit *e, jb_type sz, jb_x64_reg r)
{
    if (jb_x64__bad(e, JB__SIZE(sz) < 2 || (unsigned)sz > 7, "x86_64: bswap takes 32 or 64 bits") ||
        jb_x64__bad_reg(e, r))
        return;
    unsigned rex = JB_X64__SZ_W(sz) | (r >> 3);
    jb_x64__bytes(e, rex ? (JB_X64__REX | rex) | 0x0fu << 8 | (0xc8u + (r & 7)) << 16
                         : 0x0fu | (0xc8u + (r & 7)) << 8, rex ? 3 : 2);
}

/* ---- moves, loads, stores, extension ------------------------------------------- */

/* lea dst, [m] (64-bit address) */
JB__INLINE void jb_x64_lea(jb_emit *e, jb_x64_reg dst, jb_x64_mem m)
{
    jb_x64__op_m(e, 0, JB_X64__W, 0x8d, dst, m, 0, 0);
}

typedef jb_type jb_x64_width; /* the older names of the jb_type values */
#define JB_X64_U8 JB_U8
#define JB_X64_S8 JB_S8
#define JB_X64_U16 JB_U16
#define JB_X64_S16 JB_S16
#define JB_X64_U32 JB_U32
#define JB_X64_S32 JB_S32
#define JB_X64_X64 JB_U64

/* movzx / movsx / mov r32 / movsxd / mov for a value of type t widened to 64
 * bits: zero-extension uses the 32-bit forms (which clear the upper half). */
JB__INLINE uint32_t jb_x64__ext_op(jb_type t, unsigned *w)
{
    static const uint16_t op[8] = {0x0fb6, 0x0fb7, 0x8b, 0x8b, 0x0fbe, 0x0fbf, 0x63, 0x8b};
    *w = (((unsigned)t & 4) || ((unsigned)t & 3) == 3) ? JB_X64__W : 0;
    return op[(unsigned)t & 7];
}

/* dst = the value of type t at [m]: integers widened to 64 bits as t says;
 * JB_F32 / JB_F64: movss / movsd into xmm dst (upper lanes cleared). */
JB__INLINE void jb_x64_load(jb_emit *e, jb_type t, unsigned dst, jb_x64_mem m)
{
    unsigned w;
    if (JB__IS_FP(t)) {
        jb_x64__op_m(e, t == JB_F32 ? JB_X64__PF3 : JB_X64__PF2, 0, 0x0f10, dst, m, 0, 0);
        return;
    }
    if (jb_x64__bad(e, (unsigned)t > 7, "x86_64: load type must be a jb_type"))
        return;
    uint32_t opc = jb_x64__ext_op(t, &w);
    jb_x64__op_m(e, 0, w, opc, dst, m, 0, 0);
}

/* dst = the low 8/16/32 bits of src, zero- or sign-extended (64: a copy). */
JB__INLINE void jb_x64_extend(jb_emit *e, jb_type t, jb_x64_reg dst, jb_x64_reg src)
{
    unsigned w;
    if (jb_x64__bad(e, (unsigned)t > 7, "x86_64: extend type must be a jb_type"))
        return;
    uint32_t opc = jb_x64__ext_op(t, &w);
    jb_x64__op_r(e, 0, w | JB_X64__BYTE_REX(t, src), opc, dst, src, 0, 0);
}

/* [m] = the low bits of src of type t (integers), or movss / movsd of xmm src. */
JB__INLINE void jb_x64_store(jb_emit *e, jb_type t, jb_x64_mem m, unsigned src)
{
    if (JB__IS_FP(t))
        jb_x64__op_m(e, t == JB_F32 ? JB_X64__PF3 : JB_X64__PF2, 0, 0x0f11, src, m, 0, 0);
    else
        jb_x64__rm(e, 0, t, 0x89, 0x88, src, m, 0, 0);
}

/* [m] = imm of size sz (64 bits: a sign-extended imm32). */
JB__INLINE void jb_x64_store_i(jb_emit *e, jb_type sz, jb_x64_mem m, int64_t imm)
{
    jb_x64_alu_mi(e, sz, JB_X64_MOV, m, imm);
}

/* cmovcc dst, src (64-bit): dst = cc ? src : dst */
JB__INLINE void jb_x64_cmov(jb_emit *e, jb_x64_cc cc, jb_x64_reg dst, jb_x64_reg src)
{
    if (!jb_x64__bad(e, (unsigned)cc > 15, "x86_64: condition must be a jb_x64_cc"))
        jb_x64__op_r(e, 0, JB_X64__W, 0x0f40u + cc, dst, src, 0, 0);
}

/* setcc r8: the low byte of r = cc (the rest of r is kept; zero it first,
 * or follow with jb_x64_extend(JB_U8)). */
JB__INLINE void jb_x64_setcc(jb_emit *e, jb_x64_cc cc, jb_x64_reg r)
{
    if (!jb_x64__bad(e, (unsigned)cc > 15, "x86_64: condition must be a jb_x64_cc"))
        jb_x64__op_r(e, 0, JB_X64__BYTE_REX(JB_I8, r), 0x0f90u + cc, 0, r, 0, 0);
}

/* ---- atomics ---------------------------------------------------------------------- */

/* lock op [m], src and lock op [m], imm (add, or, adc, sbb, and, sub, xor) */
JB__INLINE int jb_x64__bad_lock(jb_emit *e, jb_x64_alu op)
{
    return jb_x64__bad(e, (unsigned)op >= JB_X64_CMP,
                       "x86_64: lock takes add, or, adc, sbb, and, sub or xor");
}
JB__INLINE void jb_x64_lock_alu_mr(jb_emit *e, jb_type sz, jb_x64_alu op, jb_x64_mem m,
                                      jb_x64_reg src)
{
    if (!jb_x64__bad_lock(e, op))
        jb_x64__rm(e, JB_X64__LOCK, sz, jb_x64__alu_to_rm(op), jb_x64__alu_to_rm(op) - 1u, src,
                   m, 0, 0);
}
JB__INLINE void jb_x64_lock_alu_mi(jb_emit *e, jb_type sz, jb_x64_alu op, jb_x64_mem m,
                                      int64_t imm)
{
    uint32_t v, opc8;
    unsigned digit, n;
    int s8;
    if (jb_x64__bad_lock(e, op) || jb_x64__bad_isz(e, sz) ||
        jb_x64__bad(e, !jb_x64__imm(sz, imm, &v, &s8), "x86_64: the immediate does not fit "
                                                        "the operand size"))
        return;
    uint32_t opc = jb_x64__alu_imm_op(sz, op, s8 && JB__SIZE(sz), &digit, &n, &opc8);
    jb_x64__rm(e, JB_X64__LOCK, sz, opc, opc8, digit, m, v, n);
}
/* lock xadd [m], src: [m] += src, src = the old value. lock cmpxchg [m],
 * src: if [m] == the accumulator (al/ax/eax/rax) then [m] = src, else the
 * accumulator = [m]; ZF says which. The register that gets the old value
 * is written at the size: at JB_I8/JB_I16 its other bits stay, at JB_I32
 * its upper half is zeroed, and cmpxchg that succeeds writes no register
 * (the accumulator keeps its whole comparand). arm64's jb_a64_atomic and
 * jb_a64_cas zero-extend always: extend the result (jb_x64_extend) where
 * the upper bits matter. */
JB__INLINE void jb_x64_lock_xadd(jb_emit *e, jb_type sz, jb_x64_mem m, jb_x64_reg src)
{
    jb_x64__rm(e, JB_X64__LOCK, sz, 0x0fc1, 0x0fc0, src, m, 0, 0);
}
JB__INLINE void jb_x64_lock_cmpxchg(jb_emit *e, jb_type sz, jb_x64_mem m, jb_x64_reg src)
{
    jb_x64__rm(e, JB_X64__LOCK, sz, 0x0fb1, 0x0fb0, src, m, 0, 0);
}
/* xchg [m], r: always atomic (the lock is implicit). */
JB__INLINE void jb_x64_xchg_mr(jb_emit *e, jb_type sz, jb_x64_mem m, jb_x64_reg r)
{
    jb_x64_alu_mr(e, sz, JB_X64_XCHG, m, r);
}
JB__INLINE void jb_x64_mfence(jb_emit *e) { jb_x64__bytes(e, 0xf0ae0f, 3); }
JB__INLINE void jb_x64_pause(jb_emit *e) { jb_x64__bytes(e, 0x90f3, 2); }

/* ---- stack, frames, traps, padding -------------------------------------- */

JB__INLINE void jb_x64__push_pop(jb_emit *e, unsigned base, jb_x64_reg r)
{
    if (!jb_x64__bad_reg(e, r))
        jb_x64__bytes(e, r >= 8 ? 0x41u | (base + (r & 7)) << 8 : base + r, r >= 8 ? 2 : 1);
}
JB__INLINE void jb_x64_push(jb_emit *e, jb_x64_reg r) { jb_x64__push_pop(e, 0x50, r); }
JB__INLINE void jb_x64_pop(jb_emit *e, jb_x64_reg r) { jb_x64__push_pop(e, 0x58, r); }
/* push imm (sign-extended to 64 bits: imm8 or imm32) */
JB__INLINE void jb_x64_push_i(jb_emit *e, int64_t imm)
{
    if (jb_x64__bad(e, imm < INT32_MIN || imm > INT32_MAX,
                    "x86_64: push immediate must be a sign-extended imm32"))
        return;
    if (jb_x64__fits8(imm))
        jb_x64__bytes(e, 0x6au | (uint32_t)(uint8_t)imm << 8, 2);
    else
        jb_x64__bytes(e, 0x68u | (uint64_t)(uint32_t)imm << 8, 5);
}

JB__INLINE void jb_x64_ret(jb_emit *e) { jb_x64__bytes(e, 0xc3, 1); }
JB__INLINE void jb_x64_int3(jb_emit *e) { jb_x64__bytes(e, 0xcc, 1); }
JB__INLINE void jb_x64_nop(jb_emit *e) { jb_x64__bytes(e, 0x90, 1); }
JB__INLINE void jb_x64_leave(jb_emit *e) { jb_x64__bytes(e, 0xc9, 1); }
JB__INLINE void jb_x64_ud2(jb_emit *e) { jb_x64__bytes(e, 0x0b0f, 2); }

/* A frame: push rbp; mov rbp, rsp; sub rsp, size rounded up to 16 (none
 * for 0). Called at function entry, it leaves rsp 16-byte aligned as the
 * SysV and Windows ABIs require at a call. Locals live at [rbp - k].
 * jb_x64_frame_leave undoes it (leave); follow with jb_x64_ret. */
JB__INLINE void jb_x64_frame_enter(jb_emit *e, uint32_t size)
{
    if (jb_x64__bad(e, size > 0x7ffffff0u, "x86_64: frame size above 2 GiB"))
        return;
    jb_x64_push(e, JB_X64_RBP);
    jb_x64_mov_rr(e, JB_X64_RBP, JB_X64_RSP);
    if (size)
        jb_x64_sub_ri(e, JB_X64_RSP, (size + 15) & ~15u);
}
JB__INLINE void jb_x64_frame_leave(jb_emit *e) { jb_x64_leave(e); }

/* A function frame that saves registers: jb_x64_prologue pushes rbp, sets
 * rbp = rsp, pushes each register of `saved` (a bit mask of jb_x64_reg,
 * lowest first; not rsp or rbp) and reserves `locals` bytes at [rsp] so
 * that rsp stays 16-byte aligned for calls. jb_x64_epilogue(same saved)
 * restores them and returns. SysV callee-saved: rbx, r12..r15 (rbp is
 * always saved). */
#define JB_X64_SYSV_SAVED (1u << JB_X64_RBX | 1u << JB_X64_R12 | 1u << JB_X64_R13 | \
                           1u << JB_X64_R14 | 1u << JB_X64_R15)
JB__INLINE void jb_x64_prologue(jb_emit *e, uint32_t saved, uint32_t locals)
{
    if (jb_x64__bad(e, (saved & (0xffff0000u | 1u << JB_X64_RSP | 1u << JB_X64_RBP)) ||
                           locals > 0x7fff0000u,
                    "x86_64: prologue saves registers other than rsp and rbp (a 16-bit mask) "
                    "and at most 2 GiB of locals"))
        return;
    unsigned n = (unsigned)__builtin_popcount(saved);
    jb_x64_push(e, JB_X64_RBP);
    jb_x64_mov_rr(e, JB_X64_RBP, JB_X64_RSP);
    for (unsigned r = 0; r < 16; r++)
        if (saved >> r & 1)
            jb_x64_push(e, (jb_x64_reg)r);
    uint32_t sub = ((locals + 8 * n + 15) & ~15u) - 8 * n;
    if (sub)
        jb_x64_sub_ri(e, JB_X64_RSP, sub);
}
JB__INLINE void jb_x64_epilogue(jb_emit *e, uint32_t saved)
{
    if (jb_x64__bad(e, saved & (0xffff0000u | 1u << JB_X64_RSP | 1u << JB_X64_RBP),
                    "x86_64: epilogue takes the prologue's register mask"))
        return;
    int32_t n = __builtin_popcount(saved);
    jb_x64_lea(e, JB_X64_RSP, jb_x64_mem_bd(JB_X64_RBP, -8 * n));
    for (int r = 15; r >= 0; r--)
        if (saved >> r & 1)
            jb_x64_pop(e, (jb_x64_reg)r);
    jb_x64_pop(e, JB_X64_RBP);
    jb_x64_ret(e);
}

/* n bytes of padding as the fewest multi-byte NOPs (0F 1F forms, up to 9
 * bytes each), so that a padded hot loop start costs few decode slots. */
JB__INLINE void jb_x64_nops(jb_emit *e, size_t n)
{
    static const uint8_t nop[9][9] = {
        {0x90},
        {0x66, 0x90},
        {0x0f, 0x1f, 0x00},
        {0x0f, 0x1f, 0x40, 0x00},
        {0x0f, 0x1f, 0x44, 0x00, 0x00},
        {0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00},
        {0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00},
        {0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
        {0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00}};
    if (!jb_emit_room(e, n))
        return;
    while (n) {
        size_t k = n > 9 ? 9 : n;
        memcpy(e->cur, nop[k - 1], k);
        e->cur += k;
        n -= k;
    }
}

/* Pad with NOPs until the offset from the cursor's start is a multiple of
 * `align` (a power of two up to 4096). The code's address is aligned too
 * when the buffer's final address is (jb_alloc's alignment argument). */
JB__INLINE void jb_x64_align(jb_emit *e, size_t align)
{
    if (jb_x64__bad(e, align == 0 || align > 4096 || (align & (align - 1)),
                    "x86_64: alignment must be a power of two up to 4096"))
        return;
    jb_x64_nops(e, (size_t)(-jb_emit_size(e) & (align - 1)));
}

/* ---- control flow ---------------------------------------------------------- */

/* jcc/jmp/call at P: short opcode s8, long opcode bytes l32 (memory order,
 * n bytes). Returns the end, or p when the cursor failed. */
JB__INLINE uint8_t *jb_x64__branch(jb_emit *e, uint8_t *p, unsigned s8, uint32_t l32, unsigned n,
                                   jb_label l, unsigned flags)
{
    uint32_t field;
    uint64_t v;
    unsigned len;
    int state;
    if (!(flags & JB_X64_LONG) && l < e->jb__nlabels && e->jb__labels[l].head == JB__BOUND) {
        int64_t d = (int64_t)(e->jb__labels[l].pos - e->cur) - 2;
        if (jb_x64__fits8(d)) {
            jb__put64(p, s8 | (uint64_t)(uint8_t)d << 8);
            return p + 2;
        }
    }
    if (flags & JB_X64_SHORT) {
        state = jb__label_use(e, l, JB_X64_FIX_REL8, s8, &field);
        v = s8 | (uint64_t)field << 8;
        len = 2;
    } else {
        state = jb__label_use(e, l, JB_X64_FIX_REL32(n), l32 & 0xffff, &field);
        v = l32 | (uint64_t)field << 8 * n;
        len = n + 4;
    }
    if (state < 0)
        return p;
    jb__put64(p, state ? v : 0x0b0f); /* unbound: ud2 until the label binds */
    return p + len;
}

/* jcc l: rel8 when the bound label is near (unless JB_X64_LONG), rel32
 * otherwise (unless JB_X64_SHORT). */
JB__INLINE void jb_x64_jcc(jb_emit *e, jb_x64_cc cc, jb_label l, unsigned flags)
{
    /* flags 3 is SHORT | LONG: refused, not read as either */
    if (!jb_x64__bad(e, (unsigned)cc > 15 || flags > 2,
                     (unsigned)cc > 15 ? "x86_64: condition must be a jb_x64_cc"
                                       : "x86_64: branch flags must be 0, JB_X64_SHORT or "
                                         "JB_X64_LONG (not both)"))
        JB_X64__EMIT(e, P, jb_x64__branch(e, P, 0x70u + cc, 0x800fu + (cc << 8), 2, l, flags));
}

JB__INLINE void jb_x64_jmp(jb_emit *e, jb_label l, unsigned flags)
{
    if (!jb_x64__bad(e, flags > 2, "x86_64: branch flags must be 0, JB_X64_SHORT or "
                                   "JB_X64_LONG (not both)"))
        JB_X64__EMIT(e, P, jb_x64__branch(e, P, 0xeb, 0xe9, 1, l, flags));
}

/* call l (rel32) */
JB__INLINE void jb_x64_call(jb_emit *e, jb_label l)
{
    JB_X64__EMIT(e, P, jb_x64__branch(e, P, 0, 0xe8, 1, l, JB_X64_LONG));
}

/* jb_label_bind for x86_64 code: the same bind (any reference, the same
 * bytes and errors), whose inline path tests only x86's kind of single
 * reference (rel32; a rel8 reference binds in the library). */
JB__INLINE void jb_x64_bind(jb_emit *e, jb_label l)
{
    jb__label_bind(e, l, JB__FIXK_W32, JB__FIXK_OTHER, JB__FIXK_OTHER);
}

/* call r / jmp r (indirect), call [m] / jmp [m] (through a qword in memory:
 * a jump table, an import slot, or [rip + l] holding an absolute address). */
JB__INLINE void jb_x64_call_r(jb_emit *e, jb_x64_reg r) { jb_x64__op_r(e, 0, 0, 0xff, 2, r, 0, 0); }
JB__INLINE void jb_x64_jmp_r(jb_emit *e, jb_x64_reg r) { jb_x64__op_r(e, 0, 0, 0xff, 4, r, 0, 0); }
JB__INLINE void jb_x64_call_m(jb_emit *e, jb_x64_mem m) { jb_x64__op_m(e, 0, 0, 0xff, 2, m, 0, 0); }
JB__INLINE void jb_x64_jmp_m(jb_emit *e, jb_x64_mem m) { jb_x64__op_m(e, 0, 0, 0xff, 4, m, 0, 0); }

/* call/jmp to an absolute address through a scratch register (movabs
 * scratch, addr; call/jmp scratch): reaches anywhere, position-independent.
 * For a shorter sequence store the address at a label l (jb_emit_data)
 * and use jb_x64_call_m(e, jb_x64_mem_l(l)). */
JB__INLINE void jb_x64_call_abs(jb_emit *e, jb_x64_reg scratch, const void *addr)
{
    jb_x64_mov_ri(e, scratch, (int64_t)(uintptr_t)addr);
    jb_x64_call_r(e, scratch);
}
JB__INLINE void jb_x64_jmp_abs(jb_emit *e, jb_x64_reg scratch, const void *addr)
{
    jb_x64_mov_ri(e, scratch, (int64_t)(uintptr_t)addr);
    jb_x64_jmp_r(e, scratch);
}

/* lea dst, [rip + l] and mov dst, qword [rip + l] */
JB__INLINE void jb_x64_lea_l(jb_emit *e, jb_x64_reg dst, jb_label l) { jb_x64_lea(e, dst, jb_x64_mem_l(l)); }
JB__INLINE void jb_x64_mov_rl(jb_emit *e, jb_x64_reg dst, jb_label l) { jb_x64_mov_rm(e, dst, jb_x64_mem_l(l)); }

#ifdef __cplusplus
}
#endif

#include "x86_64_fp.h"

#endif
