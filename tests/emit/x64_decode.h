/* What the x86_64 Capstone tests share: a cursor over one buffer, the
 * register names, decoding exactly one instruction and checking its
 * operands, and random memory operands over every base (rip included),
 * index and scale. */
#ifndef JB_TEST_X64_DECODE_H
#define JB_TEST_X64_DECODE_H

#include <capstone/capstone.h>
#include <stdlib.h>

#include "util.h"
#include "jitbuf/x86_64.h"

static csh cs;
static uint8_t buf[256];
static jb_emit e;

static inline void setup(void)
{
    cr_assert_eq(cs_open(CS_ARCH_X86, CS_MODE_64, &cs), CS_ERR_OK);
    cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
    srand(7);
}
static inline void teardown(void)
{
    cs_close(&cs);
    jb_emit_free(&e);
}
static inline void start(void) { jb_emit_free(&e); jb_emit_init(&e, buf, sizeof buf); }

static const char *const N64[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                    "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
static const char *const N32[16] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
                                    "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"};
static const char *const N16[16] = {"ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
                                    "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w"};
static const char *const N8[16] = {"al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil",
                                   "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b"};
static const char *const CC[16] = {"o", "no", "b", "ae", "e", "ne", "be", "a",
                                   "s", "ns", "p", "np", "l", "ge", "le", "g"};

static const char *const *const RN[4] = {N8, N16, N32, N64}; /* by log2 of the bytes */
static const char *const XN[16] = {"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
                                   "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"};

static inline const char *gpr(unsigned r, unsigned bits)
{
    return bits == 64 ? N64[r] : bits == 32 ? N32[r] : bits == 16 ? N16[r] : N8[r];
}

/* Decode exactly one instruction covering everything emitted; check its
 * mnemonic and operand count. */
static inline cs_insn *dec(const char *mnemonic, int nops)
{
    size_t n = jb_emit_size(&e);
    cr_assert_eq(e.err, 0, "emitter error: %s", jb_last_error());
    cs_insn *i;
    cr_assert_eq(cs_disasm(cs, buf, n, 0x1000, 1, &i), 1, "Capstone could not decode");
    cr_assert_eq(i->size, n, "Capstone decoded %u of %zu bytes (%s %s)", i->size, n,
                 i->mnemonic, i->op_str);
    cr_assert_str_eq(i->mnemonic, mnemonic, "%s %s", i->mnemonic, i->op_str);
    cr_assert_eq(i->detail->x86.op_count, nops, "%s %s", i->mnemonic, i->op_str);
    return i;
}

static inline void reg_is(cs_insn *i, int k, const char *name)
{
    cs_x86_op *op = &i->detail->x86.operands[k];
    cr_assert_eq(op->type, X86_OP_REG, "%s %s: operand %d", i->mnemonic, i->op_str, k);
    cr_assert_str_eq(cs_reg_name(cs, op->reg), name, "%s %s", i->mnemonic, i->op_str);
}

static inline void imm_is(cs_insn *i, int k, int64_t v)
{
    cs_x86_op *op = &i->detail->x86.operands[k];
    cr_assert_eq(op->type, X86_OP_IMM, "%s %s: operand %d", i->mnemonic, i->op_str, k);
    cr_assert_eq(op->imm, v, "%s %s: want %lld", i->mnemonic, i->op_str, (long long)v);
}

/* The immediate's low `bytes` bytes (Capstone widens it as the form does). */
static inline void imm_low_is(cs_insn *i, int k, int64_t v, unsigned bytes)
{
    cs_x86_op *op = &i->detail->x86.operands[k];
    uint64_t m = bytes == 8 ? ~0ull : (1ull << (8 * bytes)) - 1;
    cr_assert_eq(op->type, X86_OP_IMM, "%s %s: operand %d", i->mnemonic, i->op_str, k);
    cr_assert_eq((uint64_t)op->imm & m, (uint64_t)v & m, "%s %s: want %llx", i->mnemonic,
                 i->op_str, (unsigned long long)v);
}

static inline void mem_is(cs_insn *i, int k, jb_x64_mem m, unsigned bytes)
{
    cs_x86_op *op = &i->detail->x86.operands[k];
    cr_assert_eq(op->type, X86_OP_MEM, "%s %s: operand %d", i->mnemonic, i->op_str, k);
    cr_assert_eq(op->size, bytes, "%s %s: size", i->mnemonic, i->op_str);
    const char *base = m.base == JB_X64_RIP ? "rip" : N64[m.base];
    cr_assert_str_eq(cs_reg_name(cs, op->mem.base), base, "%s %s", i->mnemonic, i->op_str);
    if (m.index == JB_X64_NOREG) {
        cr_assert_eq(op->mem.index, X86_REG_INVALID, "%s %s", i->mnemonic, i->op_str);
    } else {
        cr_assert_str_eq(cs_reg_name(cs, op->mem.index), N64[m.index]);
        cr_assert_eq(op->mem.scale, (int)m.scale, "%s %s", i->mnemonic, i->op_str);
    }
    cr_assert_eq(op->mem.disp, m.disp, "%s %s", i->mnemonic, i->op_str);
}

/* A random memory operand: every base (and rip), index or none, every
 * scale, boundary and random displacements. */
static inline jb_x64_mem rand_mem(void)
{
    static const int32_t disps[] = {0, 1, -1, 127, -128, 128, -129, INT32_MAX, INT32_MIN};
    unsigned base = (unsigned)rand() % 17, index = (unsigned)rand() % 17;
    int32_t disp = rand() % 2 ? disps[rand() % 9] : (int32_t)((unsigned)rand() * 2654435761u);
    if (base == 16)
        return jb_x64_mem_rip(disp);
    if (index == 16 || index == JB_X64_RSP)
        return jb_x64_mem_bd(base, disp);
    return jb_x64_mem_bisd(base, index, 1u << (rand() % 4), disp);
}


#endif
