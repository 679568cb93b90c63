/* x86_64 emitters checked against Capstone's decoding (instruction id, size
 * and every operand) over all registers and randomised / boundary operands,
 * plus fixed byte rows, executed code, and the error cases. */
#include <capstone/capstone.h>
#include <stdlib.h>

#include "util.h"
#include "jitbuf/x86_64.h"

TestSuite(emit_x64);

static const x86_reg R64[16] = {X86_REG_RAX, X86_REG_RCX, X86_REG_RDX, X86_REG_RBX,
                                X86_REG_RSP, X86_REG_RBP, X86_REG_RSI, X86_REG_RDI,
                                X86_REG_R8,  X86_REG_R9,  X86_REG_R10, X86_REG_R11,
                                X86_REG_R12, X86_REG_R13, X86_REG_R14, X86_REG_R15};
static const x86_reg R32[16] = {X86_REG_EAX, X86_REG_ECX, X86_REG_EDX, X86_REG_EBX,
                                X86_REG_ESP, X86_REG_EBP, X86_REG_ESI, X86_REG_EDI,
                                X86_REG_R8D, X86_REG_R9D, X86_REG_R10D, X86_REG_R11D,
                                X86_REG_R12D, X86_REG_R13D, X86_REG_R14D, X86_REG_R15D};

static csh cs;
static uint8_t buf[256];
static jb_emit e;

static void setup(void)
{
    cr_assert_eq(cs_open(CS_ARCH_X86, CS_MODE_64, &cs), CS_ERR_OK);
    cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
}
static void teardown(void)
{
    cs_close(&cs);
    jb_emit_free(&e);
}

/* Decode exactly one instruction covering everything emitted. */
static cs_insn *one(void)
{
    size_t n = jb_emit_size(&e);
    cr_assert_eq(e.err, 0, "emitter error: %s", jb_last_error());
    cs_insn *insn;
    size_t count = cs_disasm(cs, buf, n, 0x1000, 1, &insn);
    cr_assert_eq(count, 1, "Capstone could not decode %zu bytes", n);
    cr_assert_eq(insn->size, n, "Capstone decoded %u of %zu bytes (%s %s)", insn->size, n,
                 insn->mnemonic, insn->op_str);
    return insn;
}

/* Each case starts a new cursor: free the last one's label tables. */
static void start(void) { jb_emit_free(&e); jb_emit_init(&e, buf, sizeof buf); }

static const x86_insn ALU_ID[8] = {X86_INS_ADD, X86_INS_OR, X86_INS_ADC, X86_INS_SBB,
                                   X86_INS_AND, X86_INS_SUB, X86_INS_XOR, X86_INS_CMP};

Test(emit_x64, reg_reg_forms_all_registers, .init = setup, .fini = teardown)
{
    for (unsigned d = 0; d < 16; d++)
        for (unsigned s = 0; s < 16; s++) {
            for (unsigned op = 0; op < 8; op++) {
                start();
                jb_x64_alu_rr(&e, JB_I64, (jb_x64_alu)op, d, s);
                cs_insn *i = one();
                cs_x86 *x = &i->detail->x86;
                cr_assert_eq(i->id, ALU_ID[op], "%s %s", i->mnemonic, i->op_str);
                cr_assert_eq(x->operands[0].reg, R64[d]);
                cr_assert_eq(x->operands[1].reg, R64[s]);
                cs_free(i, 1);
            }
            start();
            jb_x64_mov_rr(&e, d, s);
            cs_insn *i = one();
            cr_assert_eq(i->id, X86_INS_MOV);
            cr_assert_eq(i->detail->x86.operands[0].reg, R64[d]);
            cr_assert_eq(i->detail->x86.operands[1].reg, R64[s]);
            cs_free(i, 1);
            start();
            jb_x64_imul_rr(&e, d, s);
            i = one();
            cr_assert_eq(i->id, X86_INS_IMUL);
            cr_assert_eq(i->detail->x86.operands[0].reg, R64[d]);
            cr_assert_eq(i->detail->x86.operands[1].reg, R64[s]);
            cs_free(i, 1);
            start();
            jb_x64_test_rr(&e, d, s);
            i = one();
            cr_assert_eq(i->id, X86_INS_TEST);
            cs_free(i, 1);
        }
}

static int64_t rand64(void)
{
    return (int64_t)(((uint64_t)rand() << 62) ^ ((uint64_t)rand() << 31) ^ (uint64_t)rand());
}

Test(emit_x64, mov_imm_picks_shortest_and_keeps_value, .init = setup, .fini = teardown)
{
    static const int64_t fixed[] = {0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000,
                                    -1, -2, INT32_MIN, (int64_t)INT32_MIN - 1, INT64_MIN,
                                    INT64_MAX};
    srand(3);
    for (int k = 0; k < 2000; k++) {
        int64_t v = k < 12 ? fixed[k] : rand64() >> (rand() % 64);
        unsigned d = (unsigned)k % 16;
        start();
        jb_x64_mov_ri(&e, d, v);
        cs_insn *i = one();
        cs_x86 *x = &i->detail->x86;
        size_t want = (uint64_t)v <= 0xffffffffu ? 5u + (d >= 8)
                      : (v >= INT32_MIN && v <= INT32_MAX) ? 7u : 10u;
        cr_assert_eq(i->size, want, "mov %d, %#llx: %u bytes", d, (long long)v, i->size);
        cr_assert_eq(x->operands[0].reg, want < 7 ? R32[d] : R64[d]);
        cr_assert_eq((uint64_t)x->operands[1].imm & (want < 7 ? 0xffffffffu : ~0ull),
                     (uint64_t)v, "%s %s", i->mnemonic, i->op_str);
        cs_free(i, 1);
    }
}

Test(emit_x64, alu_imm_boundaries, .init = setup, .fini = teardown)
{
    static const int64_t imms[] = {0, 1, -1, 127, -128, 128, -129, 0x7fffffff, INT32_MIN, 63};
    for (unsigned d = 0; d < 16; d++)
        for (unsigned op = 0; op < 8; op++)
            for (unsigned k = 0; k < sizeof imms / sizeof imms[0]; k++) {
                start();
                jb_x64_alu_ri(&e, JB_I64, (jb_x64_alu)op, d, imms[k]);
                cs_insn *i = one();
                cr_assert_eq(i->id, ALU_ID[op]);
                cr_assert_eq(i->size, imms[k] >= -128 && imms[k] <= 127 ? 4 : 7);
                cr_assert_eq(i->detail->x86.operands[0].reg, R64[d]);
                cr_assert_eq(i->detail->x86.operands[1].imm, imms[k]);
                cs_free(i, 1);
            }
}

Test(emit_x64, memory_operands_every_base_index_scale, .init = setup, .fini = teardown)
{
    static const int32_t disps[] = {0, 1, -1, 127, -128, 128, 0x100, INT32_MAX, INT32_MIN};
    static const unsigned scales[] = {1, 2, 4, 8};
    for (unsigned b = 0; b < 16; b++)
        for (unsigned ix = 0; ix < 17; ix++) {
            if (ix == 4)
                continue; /* rsp is not an index */
            unsigned index = ix == 16 ? JB_X64_NOREG : ix;
            for (unsigned dk = 0; dk < 9; dk++) {
                unsigned sc = scales[(b + ix + dk) % 4];
                jb_x64_mem m = jb_x64_mem_bisd(b, index, sc, disps[dk]);
                unsigned r = (b * 7 + ix + dk) % 16;
                for (int form = 0; form < 3; form++) {
                    start();
                    if (form == 0) jb_x64_mov_rm(&e, r, m);
                    if (form == 1) jb_x64_mov_mr(&e, m, r);
                    if (form == 2) jb_x64_lea(&e, r, m);
                    cs_insn *i = one();
                    cs_x86 *x = &i->detail->x86;
                    cs_x86_op *mem = &x->operands[form == 1 ? 0 : 1];
                    cs_x86_op *reg = &x->operands[form == 1 ? 1 : 0];
                    cr_assert_eq(i->id, form == 2 ? X86_INS_LEA : X86_INS_MOV);
                    cr_assert_eq(mem->type, X86_OP_MEM);
                    cr_assert_eq(reg->reg, R64[r]);
                    cr_assert_eq(mem->mem.base, R64[b], "%s %s", i->mnemonic, i->op_str);
                    cr_assert_eq(mem->mem.index, index == JB_X64_NOREG ? X86_REG_INVALID : R64[index]);
                    if (index != JB_X64_NOREG)
                        cr_assert_eq(mem->mem.scale, (int)sc);
                    cr_assert_eq(mem->mem.disp, disps[dk], "%s %s", i->mnemonic, i->op_str);
                    if (form != 2)
                        cr_assert_eq(mem->size, 8);
                    cs_free(i, 1);
                }
            }
        }
}

Test(emit_x64, single_register_and_plain_forms, .init = setup, .fini = teardown)
{
    for (unsigned r = 0; r < 16; r++) {
        void (*fns[])(jb_emit *, jb_x64_reg) = {jb_x64_push, jb_x64_pop, jb_x64_neg,
                                                jb_x64_not, jb_x64_call_r, jb_x64_jmp_r};
        const x86_insn ids[] = {X86_INS_PUSH, X86_INS_POP, X86_INS_NEG, X86_INS_NOT,
                                X86_INS_CALL, X86_INS_JMP};
        for (int f = 0; f < 6; f++) {
            start();
            fns[f](&e, r);
            cs_insn *i = one();
            cr_assert_eq(i->id, ids[f], "%s %s", i->mnemonic, i->op_str);
            cr_assert_eq(i->detail->x86.operands[0].reg, R64[r]);
            cs_free(i, 1);
        }
    }
    void (*plain[])(jb_emit *) = {jb_x64_ret, jb_x64_int3, jb_x64_nop, jb_x64_ud2};
    const x86_insn ids[] = {X86_INS_RET, X86_INS_INT3, X86_INS_NOP, X86_INS_UD2};
    for (int f = 0; f < 4; f++) {
        start();
        plain[f](&e);
        cs_insn *i = one();
        cr_assert_eq(i->id, ids[f]);
        cs_free(i, 1);
    }
}

/* Branches: Capstone's decoded target must be the label's address. */
Test(emit_x64, branches_reach_their_labels, .init = setup, .fini = teardown)
{
    static uint8_t big[4096];
    const x86_insn JCC[16] = {X86_INS_JO, X86_INS_JNO, X86_INS_JB, X86_INS_JAE, X86_INS_JE,
                              X86_INS_JNE, X86_INS_JBE, X86_INS_JA, X86_INS_JS, X86_INS_JNS,
                              X86_INS_JP, X86_INS_JNP, X86_INS_JL, X86_INS_JGE, X86_INS_JLE,
                              X86_INS_JG};
    for (unsigned cc = 0; cc < 16; cc++)
        for (unsigned gap = 0; gap < 300; gap += 37)
            for (unsigned flags = 0; flags < 3; flags++) {
                jb_emit_free(&e); /* the last case's label tables */
                jb_emit_init(&e, big, sizeof big);
                jb_label back = jb_label_new(&e), fwd = jb_label_new(&e);
                jb_label_bind(&e, back);
                for (unsigned k = 0; k < gap; k++) jb_x64_nop(&e);
                size_t at_b = jb_emit_size(&e);
                jb_x64_jcc(&e, cc, back, flags & JB_X64_LONG);
                size_t at_f = jb_emit_size(&e);
                jb_x64_jcc(&e, cc, fwd, flags);
                size_t at_c = jb_emit_size(&e);
                jb_x64_call(&e, fwd);
                unsigned pad = (flags & JB_X64_SHORT) ? 10 : gap;
                for (unsigned k = 0; k < pad; k++) jb_x64_nop(&e);
                size_t target = jb_emit_size(&e);
                jb_label_bind(&e, fwd);
                cr_assert_eq(jb_emit_finish(&e, NULL), 0, "%s", jb_last_error());
                cs_insn *i;
                cr_assert_eq(cs_disasm(cs, big + at_b, 16, at_b, 1, &i), 1);
                cr_assert_eq(i->id, JCC[cc]);
                cr_assert_eq(i->detail->x86.operands[0].imm, 0);
                int short_ok = (int)gap + 2 <= 128 && !(flags & JB_X64_LONG);
                cr_assert_eq(i->size, short_ok ? 2 : 6, "gap %u flags %u", gap, flags);
                cs_free(i, 1);
                cr_assert_eq(cs_disasm(cs, big + at_f, 16, at_f, 1, &i), 1);
                cr_assert_eq(i->id, JCC[cc]);
                cr_assert_eq((size_t)i->detail->x86.operands[0].imm, target);
                cr_assert_eq(i->size, (flags & JB_X64_SHORT) ? 2 : 6);
                cs_free(i, 1);
                cr_assert_eq(cs_disasm(cs, big + at_c, 16, at_c, 1, &i), 1);
                cr_assert_eq(i->id, X86_INS_CALL);
                cr_assert_eq((size_t)i->detail->x86.operands[0].imm, target);
                cs_free(i, 1);
            }
}

/* Fixed rows: bytes a reader can check by eye against the SDM. */
Test(emit_x64, fixed_byte_rows)
{
    uint8_t b[32];
    jb_emit_init(&e, b, sizeof b);
    jb_x64_mov_ri(&e, JB_X64_RAX, (int32_t)0x80000000);
    jb_x64_add_rr(&e, JB_X64_RCX, JB_X64_R8);
    jb_x64_mov_rm(&e, JB_X64_RDX, jb_x64_mem_bd(JB_X64_R9, 0x100));
    jb_x64_mov_mr(&e, jb_x64_mem_bd(JB_X64_R10, 8), JB_X64_RBX);
    jb_x64_cmp_ri(&e, JB_X64_RSI, 0);
    static const uint8_t want[] = {0x48, 0xc7, 0xc0, 0x00, 0x00, 0x00, 0x80, 0x4c, 0x01, 0xc1,
                                   0x49, 0x8b, 0x91, 0x00, 0x01, 0x00, 0x00, 0x49, 0x89, 0x5a,
                                   0x08, 0x48, 0x83, 0xfe, 0x00};
    cr_assert_eq(jb_emit_finish(&e, NULL), 0);
    cr_assert_eq(jb_emit_size(&e), sizeof want);
    cr_assert_arr_eq(b, want, sizeof want, "group 0 of bench-workload.md differs");
    jb_emit_init(&e, b, sizeof b);
    jb_x64_mov_rm(&e, JB_X64_RAX, jb_x64_mem_bd(JB_X64_RSP, 0)); /* needs SIB */
    jb_x64_mov_rm(&e, JB_X64_RAX, jb_x64_mem_bd(JB_X64_R13, 0)); /* needs disp8 */
    static const uint8_t want2[] = {0x48, 0x8b, 0x04, 0x24, 0x49, 0x8b, 0x45, 0x00};
    cr_assert_arr_eq(b, want2, sizeof want2);
    jb_emit_free(&e);
}

Test(emit_x64, errors_are_sticky_and_named)
{
    uint8_t b[16];
    jb_emit_init(&e, b, sizeof b);
    jb_x64_alu_ri(&e, JB_I64, JB_X64_ADD, JB_X64_RAX, (int64_t)1 << 40);
    cr_assert_eq(e.err, JB_EOPERAND);
    size_t at = jb_emit_size(&e);
    jb_x64_ret(&e);
    cr_assert_eq(jb_emit_size(&e), at, "an emit after an error wrote bytes");
    cr_assert_eq(jb_emit_finish(&e, NULL), JB_EOPERAND);
    cr_assert(strstr(jb_last_error(), "imm32"), "%s", jb_last_error());

    jb_emit_init(&e, b, sizeof b);
    jb_x64_mov_rm(&e, JB_X64_RAX, jb_x64_mem_bisd(JB_X64_RAX, JB_X64_RSP, 1, 0));
    cr_assert_eq(e.err, JB_EOPERAND, "rsp as index accepted");
    jb_emit_init(&e, b, sizeof b);
    jb_x64_mov_rr(&e, 16, 0);
    cr_assert_eq(e.err, JB_EOPERAND);

    /* Full buffer: the emit that does not fit writes nothing. */
    jb_emit_init(&e, b, sizeof b);
    for (int k = 0; k < 3; k++) jb_x64_mov_ri(&e, JB_X64_RAX, INT64_MIN);
    cr_assert_eq(e.err, JB_EFULL);
    cr_assert_eq(jb_emit_size(&e), 10);

    /* A short forward branch that cannot reach. */
    static uint8_t big[512];
    jb_emit_init(&e, big, sizeof big);
    jb_label l = jb_label_new(&e);
    jb_x64_jmp(&e, l, JB_X64_SHORT);
    for (int k = 0; k < 200; k++) jb_x64_nop(&e);
    jb_label_bind(&e, l);
    cr_assert_eq(jb_emit_finish(&e, NULL), JB_EBRANCH);
    cr_assert(big[0] == 0x0f && big[1] == 0x0b, "an out-of-range rel8 was written (it must stay ud2)");

    /* A label referenced but never bound; a label bound twice. */
    jb_emit_reset(&e);
    l = jb_label_new(&e);
    jb_x64_call(&e, l);
    cr_assert_eq(jb_emit_finish(&e, NULL), JB_ELABEL);
    cr_assert(strstr(jb_last_error(), "never bound"), "%s", jb_last_error());
    jb_emit_reset(&e);
    l = jb_label_new(&e);
    jb_label_bind(&e, l);
    jb_label_bind(&e, l);
    cr_assert_eq(jb_emit_finish(&e, NULL), JB_ELABEL);
    jb_emit_reset(&e);
    jb_x64_call(&e, 12345);
    cr_assert_eq(jb_emit_finish(&e, NULL), JB_ELABEL);
    jb_emit_free(&e);
}

/* Generated code runs: sum = 1 + ... + n with a backward loop, a forward
 * exit, memory traffic through the stack, and a call to a local function. */
Test(emit_x64, generated_function_runs)
{
    uint8_t b[256];
    jb_emit_init(&e, b, sizeof b);
    jb_label loop = jb_label_new(&e), done = jb_label_new(&e), twice = jb_label_new(&e);
    /* long f(long n): rax = 0; while (n != 0) { rax += n; n--; } return twice(rax) */
    jb_x64_push(&e, JB_X64_R12);
    jb_x64_mov_ri(&e, JB_X64_RAX, 0);
    jb_label_bind(&e, loop);
    jb_x64_test_rr(&e, JB_X64_RDI, JB_X64_RDI);
    jb_x64_jcc(&e, JB_X64_E, done, 0);
    jb_x64_add_rr(&e, JB_X64_RAX, JB_X64_RDI);
    jb_x64_sub_ri(&e, JB_X64_RDI, 1);
    jb_x64_jmp(&e, loop, 0);
    jb_label_bind(&e, done);
    jb_x64_mov_mr(&e, jb_x64_mem_bd(JB_X64_RSP, -16), JB_X64_RAX);
    jb_x64_mov_rm(&e, JB_X64_R12, jb_x64_mem_bd(JB_X64_RSP, -16));
    jb_x64_mov_rr(&e, JB_X64_RDI, JB_X64_R12);
    jb_x64_call(&e, twice);
    jb_x64_pop(&e, JB_X64_R12);
    jb_x64_ret(&e);
    jb_label_bind(&e, twice);
    jb_x64_lea(&e, JB_X64_RAX, jb_x64_mem_bisd(JB_X64_RDI, JB_X64_RDI, 1, 0));
    jb_x64_ret(&e);
    size_t n;
    cr_assert_eq(jb_emit_finish(&e, &n), 0, "%s", jb_last_error());
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    void *fn;
    cr_assert_eq(jb_alloc(r, n, 16, &fn), 0);
    cr_assert_eq(jb_write(r, fn, b, n), 0);
    for (long k = 0; k < 100; k++)
        cr_assert_eq(((long (*)(long))fn)(k), k * (k + 1), "f(%ld)", k);
    jb_region_close(r);
    jb_emit_free(&e);
}

/* Operands known only at run time take the emitters' one-test fast paths
 * (a register with a register base; a register with a constant /digit;
 * mov r64, simm32): each bad one must still fail the cursor with
 * JB_EOPERAND and write nothing. volatile keeps the compiler from folding
 * them. (Without the scale test in jb_x64__regbase row 2 is encoded.) */
Test(emit_x64, runtime_bad_operands_fail, .init = setup, .fini = teardown)
{
    static volatile unsigned v[] = {16, 18, 3, 16, 255, 16, 16};
    for (unsigned r = 0; r < 7; r++) {
        jb_emit_init(&e, buf, sizeof buf);
        unsigned x = v[r];
        switch (r) {
        case 0: jb_x64_mov_rm(&e, (jb_x64_reg)x, jb_x64_mem_bd(JB_X64_RAX, 8)); break;
        case 1: jb_x64_mov_mr(&e, jb_x64_mem_bd((jb_x64_reg)x, 8), JB_X64_RAX); break;
        case 2: jb_x64_mov_rm(&e, JB_X64_RAX, jb_x64_mem_bisd(JB_X64_RBX, JB_X64_RCX, x, 8)); break;
        case 3: jb_x64_mov_rm(&e, JB_X64_RAX, jb_x64_mem_bisd(JB_X64_RBX, (jb_x64_reg)x, 1, 8)); break;
        case 4: jb_x64_cmp_ri(&e, (jb_x64_reg)x, 1); break;
        case 5: jb_x64_mov_ri(&e, (jb_x64_reg)x, -1); break;
        case 6: jb_x64_add_rr(&e, JB_X64_RAX, (jb_x64_reg)x); break;
        }
        cr_assert_eq(e.err, JB_EOPERAND, "row %u accepted", r);
        cr_assert_eq(jb_emit_size(&e), 0, "row %u wrote bytes", r);
    }
}
