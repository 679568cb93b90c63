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

#define JB_X64__REXW 0x48u

static inline uint8_t jb_x64__rex(unsigned reg, unsigned index, unsigned base)
{
    return (uint8_t)(JB_X64__REXW | ((reg >> 3) & 1) << 2 | ((index >> 3) & 1) << 1 |
                     ((base >> 3) & 1));
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

/* A valid memory operand? (index rsp is not encodable; scale 1/2/4/8) */
static inline int jb_x64__bad_mem(jb_emit *e, jb_x64_mem m)
{
    int bad_index = m.index != JB_X64_NOREG && (m.index > 15 || m.index == JB_X64_RSP);
    int bad_scale = m.scale != 1 && m.scale != 2 && m.scale != 4 && m.scale != 8;
    if (m.base < 16 && !bad_index && !bad_scale)
        return 0;
    jb_emit_fail(e, JB_EOPERAND, "x86_64: memory operand with a bad base, index "
                                 "(rsp cannot be an index) or scale");
    return 1;
}

/* Write REX, opcode bytes (1 or 2) and ModRM/SIB/disp for reg, m at p.
 * Returns the new end. At most 1 + 2 + 1 + 1 + 4 = 9 bytes. */
static inline uint8_t *jb_x64__op_mem(uint8_t *p, unsigned opc, unsigned reg, jb_x64_mem m)
{
    unsigned idx = m.index == JB_X64_NOREG ? 0 : m.index;
    *p++ = jb_x64__rex(reg, idx, m.base);
    if (opc > 0xff)
        *p++ = (uint8_t)(opc >> 8);
    *p++ = (uint8_t)opc;
    unsigned mod = (m.disp == 0 && (m.base & 7) != 5) ? 0 : jb_x64__fits8(m.disp) ? 1 : 2;
    if (m.index == JB_X64_NOREG && (m.base & 7) != 4) {
        *p++ = jb_x64__modrm(mod, reg, m.base);
    } else {
        static const uint8_t ss[9] = {0, 0, 1, 0, 2, 0, 0, 0, 3};
        *p++ = jb_x64__modrm(mod, reg, 4);
        *p++ = (uint8_t)(ss[m.scale] << 6 | (m.index == JB_X64_NOREG ? 4 : (idx & 7)) << 3 |
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

/* REX.W op /r with ModRM mod=11: reg field `reg`, rm field `rm`. */
static inline void jb_x64__op_rr(jb_emit *e, unsigned opc, unsigned reg, unsigned rm)
{
    if (!jb_emit_room(e, 4) || jb_x64__bad_reg(e, reg | rm))
        return;
    uint8_t *p = e->cur;
    *p++ = jb_x64__rex(reg, 0, rm);
    if (opc > 0xff)
        *p++ = (uint8_t)(opc >> 8);
    *p++ = (uint8_t)opc;
    *p++ = jb_x64__modrm(3, reg, rm);
    e->cur = p;
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
        *p++ = jb_x64__rex(0, 0, dst);
        *p++ = 0xc7;
        *p++ = jb_x64__modrm(3, 0, dst);
        jb__put32(p, (uint32_t)(int32_t)imm);
        p += 4;
    } else {
        *p++ = jb_x64__rex(0, 0, dst);
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
    if (!jb_emit_room(e, 9) || jb_x64__bad_reg(e, dst) || jb_x64__bad_mem(e, m))
        return;
    e->cur = jb_x64__op_mem(e->cur, 0x8b, dst, m);
}

/* mov qword [m], src */
static inline void jb_x64_mov_mr(jb_emit *e, jb_x64_mem m, jb_x64_reg src)
{
    if (!jb_emit_room(e, 9) || jb_x64__bad_reg(e, src) || jb_x64__bad_mem(e, m))
        return;
    e->cur = jb_x64__op_mem(e->cur, 0x89, src, m);
}

/* lea dst, [m] */
static inline void jb_x64_lea(jb_emit *e, jb_x64_reg dst, jb_x64_mem m)
{
    if (!jb_emit_room(e, 9) || jb_x64__bad_reg(e, dst) || jb_x64__bad_mem(e, m))
        return;
    e->cur = jb_x64__op_mem(e->cur, 0x8d, dst, m);
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
    *p++ = jb_x64__rex(0, 0, dst);
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

static inline void jb_x64_add_rr(jb_emit *e, jb_x64_reg d, jb_x64_reg s) { jb_x64_alu_rr(e, JB_X64_ADD, d, s); }
static inline void jb_x64_sub_rr(jb_emit *e, jb_x64_reg d, jb_x64_reg s) { jb_x64_alu_rr(e, JB_X64_SUB, d, s); }
static inline void jb_x64_cmp_rr(jb_emit *e, jb_x64_reg d, jb_x64_reg s) { jb_x64_alu_rr(e, JB_X64_CMP, d, s); }
static inline void jb_x64_add_ri(jb_emit *e, jb_x64_reg d, int64_t i) { jb_x64_alu_ri(e, JB_X64_ADD, d, i); }
static inline void jb_x64_sub_ri(jb_emit *e, jb_x64_reg d, int64_t i) { jb_x64_alu_ri(e, JB_X64_SUB, d, i); }
static inline void jb_x64_cmp_ri(jb_emit *e, jb_x64_reg d, int64_t i) { jb_x64_alu_ri(e, JB_X64_CMP, d, i); }

/* test a, b (64-bit) */
static inline void jb_x64_test_rr(jb_emit *e, jb_x64_reg a, jb_x64_reg b)
{
    jb_x64__op_rr(e, 0x85, b, a);
}

/* imul dst, src (64-bit, signed, low half) */
static inline void jb_x64_imul_rr(jb_emit *e, jb_x64_reg dst, jb_x64_reg src)
{
    jb_x64__op_rr(e, 0x0faf, dst, src);
}

/* neg r / not r (64-bit) */
static inline void jb_x64_neg(jb_emit *e, jb_x64_reg r) { jb_x64__op_rr(e, 0xf7, 3, r); }
static inline void jb_x64_not(jb_emit *e, jb_x64_reg r) { jb_x64__op_rr(e, 0xf7, 2, r); }

/* ---- stack, traps, padding ---------------------------------------------- */

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
static inline void jb_x64_ud2(jb_emit *e)
{
    if (jb_emit_room(e, 2)) {
        e->cur[0] = 0x0f;
        e->cur[1] = 0x0b;
        e->cur += 2;
    }
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

/* call r / jmp r (indirect) */
static inline void jb_x64__ind(jb_emit *e, unsigned digit, jb_x64_reg r)
{
    if (!jb_emit_room(e, 3) || jb_x64__bad_reg(e, r))
        return;
    uint8_t *p = e->cur;
    if (r >= 8)
        *p++ = 0x41;
    *p++ = 0xff;
    *p++ = jb_x64__modrm(3, digit, r);
    e->cur = p;
}
static inline void jb_x64_call_r(jb_emit *e, jb_x64_reg r) { jb_x64__ind(e, 2, r); }
static inline void jb_x64_jmp_r(jb_emit *e, jb_x64_reg r) { jb_x64__ind(e, 4, r); }

#ifdef __cplusplus
}
#endif
#endif
