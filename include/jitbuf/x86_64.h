/* jitbuf x86_64 emitters (header-only, static inline).
 *
 * Each emitter writes one instruction at the cursor with one capacity check
 * and no call on the hot path (see emit.h for errors and labels). Names say
 * the mnemonic and the operand shape: r = 64-bit register, i = immediate,
 * m = memory operand (jb_x64_mem), l = label. Register numbers are the
 * hardware numbers (JB_X64_RAX = 0 ... JB_X64_R15 = 15).
 *
 * Encodings chosen: the shortest correct form, except where a fixed length
 * matters to a JIT (ALU with immediates never uses the one-byte rax forms;
 * a branch to an unbound label is rel32 unless JB_X64_SHORT asks for rel8,
 * and JB_X64_LONG forces rel32 for a bound one). Memory operands handle
 * every base: rsp/r12 need a SIB byte, rbp/r13 a displacement. */
#ifndef JITBUF_X86_64_H
#define JITBUF_X86_64_H

#include "emit.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- registers, condition codes, operand shapes ------------------------ */

typedef enum {
    JB_X64_RAX, JB_X64_RCX, JB_X64_RDX, JB_X64_RBX, JB_X64_RSP, JB_X64_RBP,
    JB_X64_RSI, JB_X64_RDI, JB_X64_R8, JB_X64_R9, JB_X64_R10, JB_X64_R11,
    JB_X64_R12, JB_X64_R13, JB_X64_R14, JB_X64_R15,
    JB_X64_RIP = 0x10, /* only as a jb_x64_mem base: see jb_x64_mem_rip */
    JB_X64_NOREG = 0xff
} jb_x64_reg;

typedef enum {
    JB_X64_O, JB_X64_NO, JB_X64_B, JB_X64_AE, JB_X64_E, JB_X64_NE, JB_X64_BE,
    JB_X64_A, JB_X64_S, JB_X64_NS, JB_X64_P, JB_X64_NP, JB_X64_L, JB_X64_GE,
    JB_X64_LE, JB_X64_G
} jb_x64_cc;

/* ALU operations, numbered as their /digit in opcodes 81/83. */
typedef enum {
    JB_X64_ADD, JB_X64_OR, JB_X64_ADC, JB_X64_SBB, JB_X64_AND, JB_X64_SUB,
    JB_X64_XOR, JB_X64_CMP
} jb_x64_alu;

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

/* [rip + disp]: disp counts from the end of the instruction. For data the
 * emitter places itself, prefer the label forms (jb_x64_lea_l, ...). */
static inline jb_x64_mem jb_x64_mem_rip(int32_t disp)
{
    jb_x64_mem m = {JB_X64_RIP, JB_X64_NOREG, 1, disp};
    return m;
}

static inline jb_x64_mem jb_x64_mem_bisd(jb_x64_reg base, jb_x64_reg index,
                                         unsigned scale, int32_t disp)
{
    jb_x64_mem m = {(uint8_t)base, (uint8_t)index, (uint8_t)scale, disp};
    return m;
}

/* Branch flags. */
#define JB_X64_SHORT 1u /* rel8 even to an unbound label (error if it misses) */
#define JB_X64_LONG 2u  /* rel32 even when rel8 would reach */

/* ---- field encoders ------------------------------------------------------ */

/* REX bits; JB_X64__REX alone forces a REX byte (byte registers spl..dil). */
#define JB_X64__REX 0x40u
#define JB_X64__W 0x08u

JB__INLINE unsigned jb_x64__rexbits(unsigned w, unsigned reg, unsigned index, unsigned base)
{
    return w | ((reg >> 3) & 1) << 2 | ((index >> 3) & 1) << 1 | ((base >> 3) & 1);
}

static inline uint8_t jb_x64__modrm(unsigned mod, unsigned reg, unsigned rm)
{
    return (uint8_t)(mod << 6 | (reg & 7) << 3 | (rm & 7));
}

static inline int jb_x64__fits8(int64_t v)
{
    return v >= -128 && v <= 127;
}

static inline int jb_x64__bad_reg(jb_emit *e, unsigned r)
{
    if (r < 16)
        return 0;
    jb_emit_fail(e, JB_EOPERAND, "x86_64: register number above 15");
    return 1;
}

/* A valid memory operand? (index rsp is not encodable; scale 1/2/4/8;
 * rip-relative takes no index) */
JB__INLINE int jb_x64__bad_mem(jb_emit *e, jb_x64_mem m)
{
    int bad_index = m.index != JB_X64_NOREG &&
                    (m.index > 15 || m.index == JB_X64_RSP || m.base == JB_X64_RIP);
    int bad_scale = m.scale != 1 && m.scale != 2 && m.scale != 4 && m.scale != 8;
    if ((m.base < 16 || m.base == JB_X64_RIP) && !bad_index && !bad_scale)
        return 0;
    jb_emit_fail(e, JB_EOPERAND, "x86_64: memory operand with a bad base, index "
                                 "(rsp cannot be an index; rip takes none) or scale");
    return 1;
}

/* Legacy prefix (0 for none), REX (when any bit or JB_X64__REX is set) and
 * the opcode: one byte, or two (0x0fxx) written high byte first. */
JB__INLINE uint8_t *jb_x64__head(uint8_t *p, unsigned pfx, unsigned rex, unsigned opc)
{
    if (pfx)
        *p++ = (uint8_t)pfx;
    if (rex)
        *p++ = (uint8_t)(JB_X64__REX | rex);
    if (opc > 0xff)
        *p++ = (uint8_t)(opc >> 8);
    *p++ = (uint8_t)opc;
    return p;
}

/* ModRM, SIB and displacement for reg, m. At most 1 + 1 + 4 bytes. */
JB__INLINE uint8_t *jb_x64__mem_tail(uint8_t *p, unsigned reg, jb_x64_mem m)
{
    if (m.base == JB_X64_RIP) {
        *p++ = jb_x64__modrm(0, reg, 5);
        jb__put32(p, (uint32_t)m.disp);
        return p + 4;
    }
    unsigned mod = (m.disp == 0 && (m.base & 7) != 5) ? 0 : jb_x64__fits8(m.disp) ? 1 : 2;
    if (m.index == JB_X64_NOREG && (m.base & 7) != 4) {
        *p++ = jb_x64__modrm(mod, reg, m.base);
    } else {
        static const uint8_t ss[9] = {0, 0, 1, 0, 2, 0, 0, 0, 3};
        *p++ = jb_x64__modrm(mod, reg, 4);
        *p++ = (uint8_t)(ss[m.scale] << 6 | (m.index == JB_X64_NOREG ? 4 : (m.index & 7)) << 3 |
                         (m.base & 7));
    }
    if (mod == 1) {
        *p++ = (uint8_t)(int8_t)m.disp;
    } else if (mod == 2) {
        jb__put32(p, (uint32_t)m.disp);
        p += 4;
    }
    return p;
}

/* Write [pfx] [REX] opc ModRM.. for reg, m at p; returns the new end.
 * w is 0 or JB_X64__W, plus JB_X64__REX to force a REX byte. */
JB__INLINE uint8_t *jb_x64__put_mem(uint8_t *p, unsigned pfx, unsigned w, unsigned opc,
                                       unsigned reg, jb_x64_mem m)
{
    unsigned idx = m.index == JB_X64_NOREG ? 0 : m.index;
    p = jb_x64__head(p, pfx, jb_x64__rexbits(w, reg, idx, m.base & 15), opc);
    return jb_x64__mem_tail(p, reg, m);
}

/* One instruction with a memory operand; `extra` bytes of immediate follow
 * (the caller writes them at the returned pointer), or NULL on error. */
JB__INLINE uint8_t *jb_x64__mem_op(jb_emit *e, unsigned pfx, unsigned w, unsigned opc,
                                      unsigned reg, jb_x64_mem m, unsigned extra)
{
    if (!jb_emit_room(e, 12 + extra) || jb_x64__bad_reg(e, reg) || jb_x64__bad_mem(e, m))
        return NULL;
    uint8_t *p = jb_x64__put_mem(e->cur, pfx, w, opc, reg, m);
    e->cur = p + extra;
    return p;
}

/* One instruction with ModRM mod=11: reg field `reg`, rm field `rm`. */
JB__INLINE void jb_x64__reg_op(jb_emit *e, unsigned pfx, unsigned w, unsigned opc,
                                  unsigned reg, unsigned rm)
{
    if (!jb_emit_room(e, 5) || jb_x64__bad_reg(e, reg | rm))
        return;
    uint8_t *p = jb_x64__head(e->cur, pfx, jb_x64__rexbits(w, reg, 0, rm), opc);
    *p++ = jb_x64__modrm(3, reg, rm);
    e->cur = p;
}

/* REX.W op /r with ModRM mod=11 (the common 64-bit register form). */
JB__INLINE void jb_x64__op_rr(jb_emit *e, unsigned opc, unsigned reg, unsigned rm)
{
    jb_x64__reg_op(e, 0, JB_X64__W, opc, reg, rm);
}

/* Byte-register forms need a REX byte for spl, bpl, sil, dil (4..7). */
static inline unsigned jb_x64__byte_rex(unsigned r)
{
    return r >= 4 && r < 8 ? JB_X64__REX : 0;
}

/* ---- moves ----------------------------------------------------------------- */

/* mov dst, src (64-bit) */
static inline void jb_x64_mov_rr(jb_emit *e, jb_x64_reg dst, jb_x64_reg src)
{
    jb_x64__op_rr(e, 0x89, src, dst);
}

/* dst = imm, shortest form: mov r32, imm32 (zero-extends) for 0..2^32-1,
 * mov r64, simm32 (C7 /0) for other values that sign-extend from 32 bits,
 * else movabs r64, imm64. */
static inline void jb_x64_mov_ri(jb_emit *e, jb_x64_reg dst, int64_t imm)
{
    if (!jb_emit_room(e, 10) || jb_x64__bad_reg(e, dst))
        return;
    uint8_t *p = e->cur;
    if ((uint64_t)imm <= 0xffffffffu) {
        if (dst >= 8)
            *p++ = 0x41;
        *p++ = (uint8_t)(0xb8 + (dst & 7));
        jb__put32(p, (uint32_t)imm);
        p += 4;
    } else if (imm >= INT32_MIN && imm <= INT32_MAX) {
        *p++ = (uint8_t)(JB_X64__REX | jb_x64__rexbits(JB_X64__W, 0, 0, dst));
        *p++ = 0xc7;
        *p++ = jb_x64__modrm(3, 0, dst);
        jb__put32(p, (uint32_t)(int32_t)imm);
        p += 4;
    } else {
        *p++ = (uint8_t)(JB_X64__REX | jb_x64__rexbits(JB_X64__W, 0, 0, dst));
        *p++ = (uint8_t)(0xb8 + (dst & 7));
        uint64_t u = (uint64_t)imm;
        memcpy(p, &u, 8);
        p += 8;
    }
    e->cur = p;
}

/* mov dst, qword [m] */
static inline void jb_x64_mov_rm(jb_emit *e, jb_x64_reg dst, jb_x64_mem m)
{
    jb_x64__mem_op(e, 0, JB_X64__W, 0x8b, dst, m, 0);
}

/* mov qword [m], src */
static inline void jb_x64_mov_mr(jb_emit *e, jb_x64_mem m, jb_x64_reg src)
{
    jb_x64__mem_op(e, 0, JB_X64__W, 0x89, src, m, 0);
}

/* lea dst, [m] */
static inline void jb_x64_lea(jb_emit *e, jb_x64_reg dst, jb_x64_mem m)
{
    jb_x64__mem_op(e, 0, JB_X64__W, 0x8d, dst, m, 0);
}

/* How a load widens its value into a 64-bit register. */
typedef enum {
    JB_X64_U8, JB_X64_S8, JB_X64_U16, JB_X64_S16, JB_X64_U32, JB_X64_S32, JB_X64_X64
} jb_x64_width;

/* Opcode and REX.W per width: zero-extension uses the 32-bit forms (which
 * clear the upper half), sign-extension the REX.W ones. */
static inline void jb_x64__width_op(jb_x64_width w, unsigned *opc, unsigned *rexw)
{
    static const uint16_t op[7] = {0x0fb6, 0x0fbe, 0x0fb7, 0x0fbf, 0x8b, 0x63, 0x8b};
    static const uint8_t ww[7] = {0, JB_X64__W, 0, JB_X64__W, 0, JB_X64__W, JB_X64__W};
    *opc = op[w % 7];
    *rexw = ww[w % 7];
}

/* dst = the 8/16/32/64-bit value at [m], zero- or sign-extended to 64 bits:
 * movzx / movsx / mov r32 / movsxd / mov. */
static inline void jb_x64_load(jb_emit *e, jb_x64_width w, jb_x64_reg dst, jb_x64_mem m)
{
    unsigned opc, rexw;
    if ((unsigned)w > JB_X64_X64) {
        jb_emit_fail(e, JB_EOPERAND, "x86_64: load width must be a jb_x64_width");
        return;
    }
    jb_x64__width_op(w, &opc, &rexw);
    jb_x64__mem_op(e, 0, rexw, opc, dst, m, 0);
}

/* dst = the low 8/16/32 bits of src, zero- or sign-extended (X64: a copy). */
static inline void jb_x64_extend(jb_emit *e, jb_x64_width w, jb_x64_reg dst, jb_x64_reg src)
{
    unsigned opc, rexw;
    if ((unsigned)w > JB_X64_X64) {
        jb_emit_fail(e, JB_EOPERAND, "x86_64: extend width must be a jb_x64_width");
        return;
    }
    jb_x64__width_op(w, &opc, &rexw);
    if (w <= JB_X64_S8)
        rexw |= jb_x64__byte_rex(src);
    jb_x64__reg_op(e, 0, rexw, opc, dst, src);
}

/* Store the low `bits` (8, 16, 32 or 64) of src at [m]. */
static inline void jb_x64_store(jb_emit *e, unsigned bits, jb_x64_mem m, jb_x64_reg src)
{
    switch (bits) {
    case 8: jb_x64__mem_op(e, 0, jb_x64__byte_rex(src), 0x88, src, m, 0); return;
    case 16: jb_x64__mem_op(e, 0x66, 0, 0x89, src, m, 0); return;
    case 32: jb_x64__mem_op(e, 0, 0, 0x89, src, m, 0); return;
    case 64: jb_x64__mem_op(e, 0, JB_X64__W, 0x89, src, m, 0); return;
    }
    jb_emit_fail(e, JB_EOPERAND, "x86_64: store size must be 8, 16, 32 or 64 bits");
}

/* Store an immediate of `bits` (8, 16, 32, or 64: a sign-extended imm32) at
 * [m]. An immediate the size cannot hold is JB_EOPERAND. For a rip-relative
 * m, disp counts from the end of the instruction, after the immediate. */
static inline void jb_x64_store_i(jb_emit *e, unsigned bits, jb_x64_mem m, int64_t imm)
{
    unsigned n = bits / 8 > 4 ? 4 : bits / 8;
    int64_t lo = bits == 8 ? -128 : bits == 16 ? -32768 : INT32_MIN;
    uint64_t hi = bits == 8 ? 0xff : bits == 16 ? 0xffff : bits == 32 ? 0xffffffffu : INT32_MAX;
    if ((bits != 8 && bits != 16 && bits != 32 && bits != 64) || imm < lo ||
        (imm > 0 && (uint64_t)imm > hi)) {
        jb_emit_fail(e, JB_EOPERAND, "x86_64: store immediate needs 8/16/32/64 bits and a "
                                     "value that fits (64: a sign-extended imm32)");
        return;
    }
    uint8_t *p = jb_x64__mem_op(e, bits == 16 ? 0x66 : 0, bits == 64 ? JB_X64__W : 0,
                                bits == 8 ? 0xc6 : 0xc7, 0, m, n);
    if (!p)
        return;
    uint32_t v = (uint32_t)imm;
    memcpy(p, &v, n); /* little-endian: the low n bytes */
}

/* ---- integer ALU ------------------------------------------------------------ */

/* op dst, src (64-bit): add, or, adc, sbb, and, sub, xor, cmp */
static inline void jb_x64_alu_rr(jb_emit *e, jb_x64_alu op, jb_x64_reg dst, jb_x64_reg src)
{
    jb_x64__op_rr(e, (unsigned)op * 8 + 1, src, dst);
}

/* op dst, imm (sign-extended imm8 when it fits, else imm32). An immediate
 * outside int32 has no encoding: JB_EOPERAND. */
static inline void jb_x64_alu_ri(jb_emit *e, jb_x64_alu op, jb_x64_reg dst, int64_t imm)
{
    if (!jb_emit_room(e, 7) || jb_x64__bad_reg(e, dst))
        return;
    if (imm < INT32_MIN || imm > INT32_MAX) {
        jb_emit_fail(e, JB_EOPERAND, "x86_64: ALU immediate does not fit in 32 "
                                     "bits; load it into a register first");
        return;
    }
    uint8_t *p = e->cur;
    *p++ = (uint8_t)(JB_X64__REX | jb_x64__rexbits(JB_X64__W, 0, 0, dst));
    if (jb_x64__fits8(imm)) {
        *p++ = 0x83;
        *p++ = jb_x64__modrm(3, op, dst);
        *p++ = (uint8_t)(int8_t)imm;
    } else {
        *p++ = 0x81;
        *p++ = jb_x64__modrm(3, op, dst);
        jb__put32(p, (uint32_t)(int32_t)imm);
        p += 4;
    }
    e->cur = p;
}

/* op dst, qword [m] and op qword [m], src */
static inline void jb_x64_alu_rm(jb_emit *e, jb_x64_alu op, jb_x64_reg dst, jb_x64_mem m)
{
    jb_x64__mem_op(e, 0, JB_X64__W, (unsigned)op * 8 + 3, dst, m, 0);
}
static inline void jb_x64_alu_mr(jb_emit *e, jb_x64_alu op, jb_x64_mem m, jb_x64_reg src)
{
    jb_x64__mem_op(e, 0, JB_X64__W, (unsigned)op * 8 + 1, src, m, 0);
}

static inline void jb_x64_add_rr(jb_emit *e, jb_x64_reg d, jb_x64_reg s) { jb_x64_alu_rr(e, JB_X64_ADD, d, s); }
static inline void jb_x64_sub_rr(jb_emit *e, jb_x64_reg d, jb_x64_reg s) { jb_x64_alu_rr(e, JB_X64_SUB, d, s); }
static inline void jb_x64_and_rr(jb_emit *e, jb_x64_reg d, jb_x64_reg s) { jb_x64_alu_rr(e, JB_X64_AND, d, s); }
static inline void jb_x64_or_rr(jb_emit *e, jb_x64_reg d, jb_x64_reg s) { jb_x64_alu_rr(e, JB_X64_OR, d, s); }
static inline void jb_x64_xor_rr(jb_emit *e, jb_x64_reg d, jb_x64_reg s) { jb_x64_alu_rr(e, JB_X64_XOR, d, s); }
static inline void jb_x64_cmp_rr(jb_emit *e, jb_x64_reg d, jb_x64_reg s) { jb_x64_alu_rr(e, JB_X64_CMP, d, s); }
static inline void jb_x64_add_ri(jb_emit *e, jb_x64_reg d, int64_t i) { jb_x64_alu_ri(e, JB_X64_ADD, d, i); }
static inline void jb_x64_sub_ri(jb_emit *e, jb_x64_reg d, int64_t i) { jb_x64_alu_ri(e, JB_X64_SUB, d, i); }
static inline void jb_x64_and_ri(jb_emit *e, jb_x64_reg d, int64_t i) { jb_x64_alu_ri(e, JB_X64_AND, d, i); }
static inline void jb_x64_or_ri(jb_emit *e, jb_x64_reg d, int64_t i) { jb_x64_alu_ri(e, JB_X64_OR, d, i); }
static inline void jb_x64_xor_ri(jb_emit *e, jb_x64_reg d, int64_t i) { jb_x64_alu_ri(e, JB_X64_XOR, d, i); }
static inline void jb_x64_cmp_ri(jb_emit *e, jb_x64_reg d, int64_t i) { jb_x64_alu_ri(e, JB_X64_CMP, d, i); }

/* test a, b and test a, imm (a sign-extended imm32) */
static inline void jb_x64_test_rr(jb_emit *e, jb_x64_reg a, jb_x64_reg b)
{
    jb_x64__op_rr(e, 0x85, b, a);
}
static inline void jb_x64_test_ri(jb_emit *e, jb_x64_reg a, int64_t imm)
{
    if (imm < INT32_MIN || imm > INT32_MAX) {
        jb_emit_fail(e, JB_EOPERAND, "x86_64: test immediate does not fit in 32 bits");
        return;
    }
    if (!jb_emit_room(e, 7) || jb_x64__bad_reg(e, a))
        return;
    jb_x64__op_rr(e, 0xf7, 0, a);
    jb__put32(e->cur, (uint32_t)(int32_t)imm);
    e->cur += 4;
}

/* imul dst, src (64-bit, signed, low half) */
static inline void jb_x64_imul_rr(jb_emit *e, jb_x64_reg dst, jb_x64_reg src)
{
    jb_x64__op_rr(e, 0x0faf, dst, src);
}

/* imul dst, src, imm (imm8 or imm32, sign-extended) */
static inline void jb_x64_imul_rri(jb_emit *e, jb_x64_reg dst, jb_x64_reg src, int64_t imm)
{
    if (imm < INT32_MIN || imm > INT32_MAX) {
        jb_emit_fail(e, JB_EOPERAND, "x86_64: imul immediate does not fit in 32 bits");
        return;
    }
    if (!jb_emit_room(e, 8) || jb_x64__bad_reg(e, dst | src))
        return;
    int short_imm = jb_x64__fits8(imm);
    jb_x64__op_rr(e, short_imm ? 0x6b : 0x69, dst, src);
    if (short_imm) {
        *e->cur++ = (uint8_t)(int8_t)imm;
    } else {
        jb__put32(e->cur, (uint32_t)(int32_t)imm);
        e->cur += 4;
    }
}

/* One-operand group 3 (F7 /digit, 64-bit): neg, not, and the rdx:rax forms
 * mul (unsigned widening), div (unsigned), idiv (signed): rax = quotient,
 * rdx = remainder. Before idiv, cqo sign-extends rax into rdx; before div,
 * zero rdx. */
static inline void jb_x64_not(jb_emit *e, jb_x64_reg r) { jb_x64__op_rr(e, 0xf7, 2, r); }
static inline void jb_x64_neg(jb_emit *e, jb_x64_reg r) { jb_x64__op_rr(e, 0xf7, 3, r); }
static inline void jb_x64_mul(jb_emit *e, jb_x64_reg r) { jb_x64__op_rr(e, 0xf7, 4, r); }
static inline void jb_x64_div(jb_emit *e, jb_x64_reg r) { jb_x64__op_rr(e, 0xf7, 6, r); }
static inline void jb_x64_idiv(jb_emit *e, jb_x64_reg r) { jb_x64__op_rr(e, 0xf7, 7, r); }
static inline void jb_x64_cqo(jb_emit *e)
{
    if (jb_emit_room(e, 2)) {
        e->cur[0] = 0x48;
        e->cur[1] = 0x99;
        e->cur += 2;
    }
}

/* Shifts and rotates, numbered as their /digit in C1/D1/D3. */
typedef enum {
    JB_X64_ROL, JB_X64_ROR, JB_X64_RCL, JB_X64_RCR, JB_X64_SHL, JB_X64_SHR,
    JB_X64_SAR = 7
} jb_x64_shift;

/* op r, imm (0..63; 1 uses the short D1 form) */
static inline void jb_x64_shift_ri(jb_emit *e, jb_x64_shift op, jb_x64_reg r, unsigned imm)
{
    if (imm > 63 || (unsigned)op > 7 || op == 6) {
        jb_emit_fail(e, JB_EOPERAND, "x86_64: shift count must be 0..63 and the "
                                     "operation a jb_x64_shift");
        return;
    }
    if (imm == 1) {
        jb_x64__op_rr(e, 0xd1, op, r);
        return;
    }
    if (!jb_emit_room(e, 4) || jb_x64__bad_reg(e, r))
        return;
    jb_x64__op_rr(e, 0xc1, op, r);
    *e->cur++ = (uint8_t)imm;
}

/* op r, cl: the count is in rcx (x86 has no other register form). */
static inline void jb_x64_shift_rcl(jb_emit *e, jb_x64_shift op, jb_x64_reg r)
{
    if ((unsigned)op > 7 || op == 6) {
        jb_emit_fail(e, JB_EOPERAND, "x86_64: shift operation must be a jb_x64_shift");
        return;
    }
    jb_x64__op_rr(e, 0xd3, op, r);
}

/* ---- conditional move and set ------------------------------------------------ */

/* cmovcc dst, src (64-bit): dst = cc ? src : dst */
static inline void jb_x64_cmov(jb_emit *e, jb_x64_cc cc, jb_x64_reg dst, jb_x64_reg src)
{
    jb_x64__op_rr(e, 0x0f40u + (cc & 15), dst, src);
}

/* setcc r8: the low byte of r = cc (the rest of r is kept; zero it first,
 * or follow with jb_x64_extend(JB_X64_U8)). */
static inline void jb_x64_setcc(jb_emit *e, jb_x64_cc cc, jb_x64_reg r)
{
    jb_x64__reg_op(e, 0, jb_x64__byte_rex(r), 0x0f90u + (cc & 15), 0, r);
}

/* ---- stack, frames, traps, padding -------------------------------------- */

static inline void jb_x64__push_pop(jb_emit *e, unsigned base, jb_x64_reg r)
{
    if (!jb_emit_room(e, 2) || jb_x64__bad_reg(e, r))
        return;
    uint8_t *p = e->cur;
    if (r >= 8)
        *p++ = 0x41;
    *p++ = (uint8_t)(base + (r & 7));
    e->cur = p;
}
static inline void jb_x64_push(jb_emit *e, jb_x64_reg r) { jb_x64__push_pop(e, 0x50, r); }
static inline void jb_x64_pop(jb_emit *e, jb_x64_reg r) { jb_x64__push_pop(e, 0x58, r); }

static inline void jb_x64__byte(jb_emit *e, uint8_t b)
{
    if (jb_emit_room(e, 1))
        *e->cur++ = b;
}
static inline void jb_x64_ret(jb_emit *e) { jb_x64__byte(e, 0xc3); }
static inline void jb_x64_int3(jb_emit *e) { jb_x64__byte(e, 0xcc); }
static inline void jb_x64_nop(jb_emit *e) { jb_x64__byte(e, 0x90); }
static inline void jb_x64_leave(jb_emit *e) { jb_x64__byte(e, 0xc9); }
static inline void jb_x64_ud2(jb_emit *e)
{
    if (jb_emit_room(e, 2)) {
        e->cur[0] = 0x0f;
        e->cur[1] = 0x0b;
        e->cur += 2;
    }
}

/* A frame: push rbp; mov rbp, rsp; sub rsp, size rounded up to 16 (none
 * for 0). Called at function entry, it leaves rsp 16-byte aligned as the
 * SysV and Windows ABIs require at a call. Locals live at [rbp - k].
 * jb_x64_frame_leave undoes it (leave); follow with jb_x64_ret. */
static inline void jb_x64_frame_enter(jb_emit *e, uint32_t size)
{
    if (size > 0x7ffffff0u) {
        jb_emit_fail(e, JB_EOPERAND, "x86_64: frame size above 2 GiB");
        return;
    }
    jb_x64_push(e, JB_X64_RBP);
    jb_x64_mov_rr(e, JB_X64_RBP, JB_X64_RSP);
    if (size)
        jb_x64_sub_ri(e, JB_X64_RSP, (size + 15) & ~15u);
}
static inline void jb_x64_frame_leave(jb_emit *e) { jb_x64_leave(e); }

/* n bytes of padding as the fewest multi-byte NOPs (0F 1F forms, up to 9
 * bytes each), so that a padded hot loop start costs few decode slots. */
static inline void jb_x64_nops(jb_emit *e, size_t n)
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
static inline void jb_x64_align(jb_emit *e, size_t align)
{
    if (align == 0 || align > 4096 || (align & (align - 1))) {
        jb_emit_fail(e, JB_EOPERAND, "x86_64: alignment must be a power of two up to 4096");
        return;
    }
    jb_x64_nops(e, (size_t)(-jb_emit_size(e) & (align - 1)));
}

/* ---- control flow ---------------------------------------------------------- */

/* Shared by jcc/jmp: short opcode s8 (1 byte), long opcode l32 (1 or 2). */
static inline void jb_x64__branch(jb_emit *e, unsigned s8, unsigned l32, jb_label l, unsigned flags)
{
    if (!jb_emit_room(e, 6))
        return;
    uint8_t *p = e->cur;
    uint32_t here = (uint32_t)(p - e->start);
    int32_t t = jb_label_offset(e, l);
    if (t >= 0 && !(flags & JB_X64_LONG) && jb_x64__fits8((int64_t)t - (here + 2))) {
        p[0] = (uint8_t)s8;
        p[1] = (uint8_t)(int8_t)(t - (int32_t)(here + 2));
        e->cur = p + 2;
        return;
    }
    if (t < 0 && (flags & JB_X64_SHORT)) {
        p[0] = (uint8_t)s8;
        p[1] = 0;
        e->cur = p + 2;
        jb__label_target(e, l, here + 1, JB__FIX_REL8);
        return;
    }
    if (t >= 0 && (flags & JB_X64_SHORT)) {
        jb_emit_fail(e, JB_EBRANCH, "x86_64: a short branch cannot reach its label");
        return;
    }
    unsigned n = l32 > 0xff ? 2 : 1;
    if (n == 2)
        p[0] = (uint8_t)(l32 >> 8);
    p[n - 1] = (uint8_t)l32;
    int32_t tt = t >= 0 ? t : jb__label_target(e, l, here + n, JB__FIX_REL32);
    jb__put32(p + n, tt >= 0 ? (uint32_t)(tt - (int32_t)(here + n + 4)) : 0);
    e->cur = p + n + 4;
}

/* jcc l: rel8 when the bound label is near (unless JB_X64_LONG), rel32
 * otherwise (unless JB_X64_SHORT). */
static inline void jb_x64_jcc(jb_emit *e, jb_x64_cc cc, jb_label l, unsigned flags)
{
    jb_x64__branch(e, 0x70u + (cc & 15), 0x0f80u + (cc & 15), l, flags);
}

static inline void jb_x64_jmp(jb_emit *e, jb_label l, unsigned flags)
{
    jb_x64__branch(e, 0xeb, 0xe9, l, flags);
}

/* call l (rel32) */
static inline void jb_x64_call(jb_emit *e, jb_label l)
{
    if (!jb_emit_room(e, 5))
        return;
    uint8_t *p = e->cur;
    uint32_t here = (uint32_t)(p - e->start);
    int32_t t = jb__label_target(e, l, here + 1, JB__FIX_REL32);
    p[0] = 0xe8;
    jb__put32(p + 1, t >= 0 ? (uint32_t)(t - (int32_t)(here + 5)) : 0);
    e->cur = p + 5;
}

/* call r / jmp r (indirect), call [m] / jmp [m] (through a qword in memory:
 * a jump table or an import slot) */
static inline void jb_x64__ind(jb_emit *e, unsigned digit, jb_x64_reg r)
{
    jb_x64__reg_op(e, 0, 0, 0xff, digit, r);
}
static inline void jb_x64_call_r(jb_emit *e, jb_x64_reg r) { jb_x64__ind(e, 2, r); }
static inline void jb_x64_jmp_r(jb_emit *e, jb_x64_reg r) { jb_x64__ind(e, 4, r); }
static inline void jb_x64_call_m(jb_emit *e, jb_x64_mem m) { jb_x64__mem_op(e, 0, 0, 0xff, 2, m, 0); }
static inline void jb_x64_jmp_m(jb_emit *e, jb_x64_mem m) { jb_x64__mem_op(e, 0, 0, 0xff, 4, m, 0); }

/* An instruction whose memory operand is [rip + label]: the label's data
 * (a constant pool entry, a jump table) is addressed position-independently. */
static inline void jb_x64__rip_label(jb_emit *e, unsigned pfx, unsigned w, unsigned opc,
                                     unsigned reg, jb_label l)
{
    uint8_t *p = jb_x64__mem_op(e, pfx, w, opc, reg, jb_x64_mem_rip(0), 0);
    if (!p)
        return;
    uint32_t at = (uint32_t)(p - 4 - e->start);
    int32_t t = jb__label_target(e, l, at, JB__FIX_REL32);
    if (t >= 0)
        jb__put32(p - 4, (uint32_t)(t - (int32_t)(at + 4)));
}

/* lea dst, [rip + l] and mov dst, qword [rip + l] */
static inline void jb_x64_lea_l(jb_emit *e, jb_x64_reg dst, jb_label l) { jb_x64__rip_label(e, 0, JB_X64__W, 0x8d, dst, l); }
static inline void jb_x64_mov_rl(jb_emit *e, jb_x64_reg dst, jb_label l) { jb_x64__rip_label(e, 0, JB_X64__W, 0x8b, dst, l); }

/* ---- scalar double-precision floating point (SSE2) ---------------------- */

/* xmm registers are numbered 0..15. */
typedef unsigned jb_x64_xmm;

/* Arithmetic: op dst, src with F2 0F op (addsd, mulsd, subsd, divsd,
 * sqrtsd, minsd, maxsd). */
typedef enum {
    JB_X64_SQRTSD = 0x51, JB_X64_ADDSD = 0x58, JB_X64_MULSD = 0x59, JB_X64_SUBSD = 0x5c,
    JB_X64_MINSD = 0x5d, JB_X64_DIVSD = 0x5e, JB_X64_MAXSD = 0x5f
} jb_x64_sd_op;

static inline int jb_x64__bad_sd(jb_emit *e, jb_x64_sd_op op)
{
    if (op == 0x51 || op == 0x58 || op == 0x59 || (op >= 0x5c && op <= 0x5f))
        return 0;
    jb_emit_fail(e, JB_EOPERAND, "x86_64: not a jb_x64_sd_op");
    return 1;
}
static inline void jb_x64_sd_xx(jb_emit *e, jb_x64_sd_op op, jb_x64_xmm d, jb_x64_xmm s)
{
    if (!jb_x64__bad_sd(e, op))
        jb_x64__reg_op(e, 0xf2, 0, 0x0f00u | op, d, s);
}
static inline void jb_x64_sd_xm(jb_emit *e, jb_x64_sd_op op, jb_x64_xmm d, jb_x64_mem m)
{
    if (!jb_x64__bad_sd(e, op))
        jb_x64__mem_op(e, 0xf2, 0, 0x0f00u | op, d, m, 0);
}
static inline void jb_x64_addsd(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_sd_xx(e, JB_X64_ADDSD, d, s); }
static inline void jb_x64_subsd(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_sd_xx(e, JB_X64_SUBSD, d, s); }
static inline void jb_x64_mulsd(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_sd_xx(e, JB_X64_MULSD, d, s); }
static inline void jb_x64_divsd(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_sd_xx(e, JB_X64_DIVSD, d, s); }
static inline void jb_x64_sqrtsd(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64_sd_xx(e, JB_X64_SQRTSD, d, s); }

/* movsd xmm, [m] (load, clears the upper lane) and movsd [m], xmm; movapd
 * for register copies (no false dependency on the destination). */
static inline void jb_x64_movsd_xm(jb_emit *e, jb_x64_xmm d, jb_x64_mem m) { jb_x64__mem_op(e, 0xf2, 0, 0x0f10, d, m, 0); }
static inline void jb_x64_movsd_mx(jb_emit *e, jb_x64_mem m, jb_x64_xmm s) { jb_x64__mem_op(e, 0xf2, 0, 0x0f11, s, m, 0); }
static inline void jb_x64_movsd_xl(jb_emit *e, jb_x64_xmm d, jb_label l) { jb_x64__rip_label(e, 0xf2, 0, 0x0f10, d, l); }
static inline void jb_x64_movapd(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64__reg_op(e, 0x66, 0, 0x0f28, d, s); }
/* xorpd d, s: with d == s, d = +0.0 */
static inline void jb_x64_xorpd(jb_emit *e, jb_x64_xmm d, jb_x64_xmm s) { jb_x64__reg_op(e, 0x66, 0, 0x0f57, d, s); }

/* ucomisd a, b: flags as an unsigned compare (jb, ja, ...), PF set when
 * unordered (NaN). comisd also raises invalid on quiet NaNs. */
static inline void jb_x64_ucomisd(jb_emit *e, jb_x64_xmm a, jb_x64_xmm b) { jb_x64__reg_op(e, 0x66, 0, 0x0f2e, a, b); }
static inline void jb_x64_comisd(jb_emit *e, jb_x64_xmm a, jb_x64_xmm b) { jb_x64__reg_op(e, 0x66, 0, 0x0f2f, a, b); }

/* Conversions: cvtsi2sd xmm, r64; cvttsd2si r64, xmm (truncating, as C's
 * cast); cvtsd2si r64, xmm (current rounding mode). */
static inline void jb_x64_cvtsi2sd(jb_emit *e, jb_x64_xmm d, jb_x64_reg s) { jb_x64__reg_op(e, 0xf2, JB_X64__W, 0x0f2a, d, s); }
static inline void jb_x64_cvttsd2si(jb_emit *e, jb_x64_reg d, jb_x64_xmm s) { jb_x64__reg_op(e, 0xf2, JB_X64__W, 0x0f2c, d, s); }
static inline void jb_x64_cvtsd2si(jb_emit *e, jb_x64_reg d, jb_x64_xmm s) { jb_x64__reg_op(e, 0xf2, JB_X64__W, 0x0f2d, d, s); }

/* Bit copies between the register files: movq xmm, r64 and movq r64, xmm. */
static inline void jb_x64_movq_xr(jb_emit *e, jb_x64_xmm d, jb_x64_reg s) { jb_x64__reg_op(e, 0x66, JB_X64__W, 0x0f6e, d, s); }
static inline void jb_x64_movq_rx(jb_emit *e, jb_x64_reg d, jb_x64_xmm s) { jb_x64__reg_op(e, 0x66, JB_X64__W, 0x0f7e, s, d); }

#ifdef __cplusplus
}
#endif
#endif
