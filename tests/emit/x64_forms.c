/* The wider x86_64 forms (sized loads and stores, extension, shifts,
 * multiply and divide, cmov/setcc, rip-relative operands, frames, padding,
 * SSE2 doubles) checked against Capstone's decoding over every register and
 * randomised memory operands, plus fixed byte rows and their error cases.
 * Execution of the same forms: tests/exec/x64.c. */
#include <capstone/capstone.h>
#include <stdlib.h>

#include "util.h"
#include "jitbuf/x86_64.h"

TestSuite(emit_x64_forms);

static csh cs;
static uint8_t buf[256];
static jb_emit e;

static void setup(void)
{
    cr_assert_eq(cs_open(CS_ARCH_X86, CS_MODE_64, &cs), CS_ERR_OK);
    cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
    srand(7);
}
static void teardown(void)
{
    cs_close(&cs);
    jb_emit_free(&e);
}
/* Each case starts a new cursor: free the last one's label tables. */
static void start(void) { jb_emit_free(&e); jb_emit_init(&e, buf, sizeof buf); }

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

static const char *gpr(unsigned r, unsigned bits)
{
    return bits == 64 ? N64[r] : bits == 32 ? N32[r] : bits == 16 ? N16[r] : N8[r];
}

/* Decode exactly one instruction covering everything emitted; check its
 * mnemonic and operand count. */
static cs_insn *dec(const char *mnemonic, int nops)
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

static void reg_is(cs_insn *i, int k, const char *name)
{
    cs_x86_op *op = &i->detail->x86.operands[k];
    cr_assert_eq(op->type, X86_OP_REG, "%s %s: operand %d", i->mnemonic, i->op_str, k);
    cr_assert_str_eq(cs_reg_name(cs, op->reg), name, "%s %s", i->mnemonic, i->op_str);
}

static void imm_is(cs_insn *i, int k, int64_t v)
{
    cs_x86_op *op = &i->detail->x86.operands[k];
    cr_assert_eq(op->type, X86_OP_IMM, "%s %s: operand %d", i->mnemonic, i->op_str, k);
    cr_assert_eq(op->imm, v, "%s %s: want %lld", i->mnemonic, i->op_str, (long long)v);
}

static void mem_is(cs_insn *i, int k, jb_x64_mem m, unsigned bytes)
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
static jb_x64_mem rand_mem(void)
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

Test(emit_x64_forms, sized_loads_and_stores, .init = setup, .fini = teardown)
{
    static const char *const mn[7] = {"movzx", "movsx", "movzx", "movsx", "mov", "movsxd", "mov"};
    static const unsigned dbits[7] = {32, 64, 32, 64, 32, 64, 64}, bytes[7] = {1, 1, 2, 2, 4, 4, 8};
    for (int k = 0; k < 400; k++)
        for (unsigned r = 0; r < 16; r++) {
            jb_x64_mem m = rand_mem();
            unsigned w = (unsigned)(k + r) % 7;
            start();
            jb_x64_load(&e, (jb_x64_width)w, r, m);
            cs_insn *i = dec(mn[w], 2);
            reg_is(i, 0, gpr(r, dbits[w]));
            mem_is(i, 1, m, bytes[w]);
            cs_free(i, 1);
            unsigned bits = 8u << (k % 4);
            start();
            jb_x64_store(&e, bits, m, r);
            i = dec("mov", 2);
            mem_is(i, 0, m, bits / 8);
            reg_is(i, 1, gpr(r, bits));
            cs_free(i, 1);
        }
}

Test(emit_x64_forms, store_immediates, .init = setup, .fini = teardown)
{
    static const int64_t v8[] = {0, 1, -1, 127, -128, 255}, v16[] = {0, -32768, 32767, 65535},
                         v32[] = {0, INT32_MIN, INT32_MAX, 0xffffffff},
                         v64[] = {0, -1, INT32_MIN, INT32_MAX};
    for (int k = 0; k < 200; k++) {
        jb_x64_mem m = rand_mem();
        unsigned bits = 8u << (k % 4);
        int64_t v = bits == 8 ? v8[k % 6] : bits == 16 ? v16[k % 4] : bits == 32 ? v32[k % 4] : v64[k % 4];
        start();
        jb_x64_store_i(&e, bits, m, v);
        cs_insn *i = dec("mov", 2);
        mem_is(i, 0, m, bits / 8);
        /* Capstone shows the field zero-extended, or sign-extended to 64 */
        int64_t field = bits == 64 ? v : (int64_t)((uint64_t)v & (~0ull >> (64 - bits)));
        imm_is(i, 1, field);
        cs_free(i, 1);
    }
}

Test(emit_x64_forms, extension_registers, .init = setup, .fini = teardown)
{
    static const char *const mn[7] = {"movzx", "movsx", "movzx", "movsx", "mov", "movsxd", "mov"};
    static const unsigned dbits[7] = {32, 64, 32, 64, 32, 64, 64}, sbits[7] = {8, 8, 16, 16, 32, 32, 64};
    for (unsigned w = 0; w < 7; w++)
        for (unsigned d = 0; d < 16; d++)
            for (unsigned s = 0; s < 16; s++) {
                start();
                jb_x64_extend(&e, (jb_x64_width)w, d, s);
                cs_insn *i = dec(mn[w], 2);
                reg_is(i, 0, gpr(d, dbits[w]));
                reg_is(i, 1, gpr(s, sbits[w])); /* sil, not dh: the REX byte is there */
                cs_free(i, 1);
            }
}

Test(emit_x64_forms, shifts_rotates_mul_div, .init = setup, .fini = teardown)
{
    static const char *const sh[8] = {"rol", "ror", "rcl", "rcr", "shl", "shr", NULL, "sar"};
    static const unsigned counts[] = {0, 1, 2, 31, 32, 63};
    for (unsigned r = 0; r < 16; r++) {
        for (unsigned op = 0; op < 8; op++) {
            if (!sh[op])
                continue;
            for (unsigned c = 0; c < 6; c++) {
                start();
                jb_x64_shift_ri(&e, (jb_x64_shift)op, r, counts[c]);
                cs_insn *i = dec(sh[op], 2);
                reg_is(i, 0, N64[r]);
                imm_is(i, 1, counts[c]);
                cr_assert_eq(i->size, counts[c] == 1 ? 3 : 4);
                cs_free(i, 1);
            }
            start();
            jb_x64_shift_rcl(&e, (jb_x64_shift)op, r);
            cs_insn *i = dec(sh[op], 2);
            reg_is(i, 0, N64[r]);
            reg_is(i, 1, "cl");
            cs_free(i, 1);
        }
        void (*one[])(jb_emit *, jb_x64_reg) = {jb_x64_mul, jb_x64_div, jb_x64_idiv};
        const char *mn[] = {"mul", "div", "idiv"};
        for (int f = 0; f < 3; f++) {
            start();
            one[f](&e, r);
            cs_insn *i = dec(mn[f], 1);
            reg_is(i, 0, N64[r]);
            cs_free(i, 1);
        }
        static const int64_t imms[] = {0, -1, 127, -128, 128, INT32_MAX, INT32_MIN};
        for (int k = 0; k < 7; k++) {
            unsigned s = (r * 5 + (unsigned)k) % 16;
            start();
            jb_x64_imul_rri(&e, r, s, imms[k]);
            cs_insn *i = dec("imul", 3);
            reg_is(i, 0, N64[r]);
            reg_is(i, 1, N64[s]);
            imm_is(i, 2, imms[k]);
            cs_free(i, 1);
            start();
            jb_x64_test_ri(&e, r, imms[k]);
            i = dec("test", 2);
            reg_is(i, 0, N64[r]);
            imm_is(i, 1, imms[k]);
            cs_free(i, 1);
        }
    }
    start();
    jb_x64_cqo(&e);
    cs_free(dec("cqo", 0), 1);
}

Test(emit_x64_forms, alu_with_memory, .init = setup, .fini = teardown)
{
    static const char *const mn[8] = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};
    for (int k = 0; k < 400; k++) {
        jb_x64_mem m = rand_mem();
        unsigned r = (unsigned)k % 16, op = (unsigned)k % 8;
        start();
        jb_x64_alu_rm(&e, (jb_x64_alu)op, r, m);
        cs_insn *i = dec(mn[op], 2);
        reg_is(i, 0, N64[r]);
        mem_is(i, 1, m, 8);
        cs_free(i, 1);
        start();
        jb_x64_alu_mr(&e, (jb_x64_alu)op, m, r);
        i = dec(mn[op], 2);
        mem_is(i, 0, m, 8);
        reg_is(i, 1, N64[r]);
        cs_free(i, 1);
        start();
        (k % 2 ? jb_x64_call_m : jb_x64_jmp_m)(&e, m);
        i = dec(k % 2 ? "call" : "jmp", 1);
        mem_is(i, 0, m, 8);
        cs_free(i, 1);
    }
}

Test(emit_x64_forms, cmov_and_setcc_every_condition, .init = setup, .fini = teardown)
{
    char mn[16];
    for (unsigned cc = 0; cc < 16; cc++)
        for (unsigned d = 0; d < 16; d++) {
            unsigned s = (d * 3 + cc) % 16;
            start();
            jb_x64_cmov(&e, cc, d, s);
            snprintf(mn, sizeof mn, "cmov%s", CC[cc]);
            cs_insn *i = dec(mn, 2);
            reg_is(i, 0, N64[d]);
            reg_is(i, 1, N64[s]);
            cs_free(i, 1);
            start();
            jb_x64_setcc(&e, cc, d);
            snprintf(mn, sizeof mn, "set%s", CC[cc]);
            i = dec(mn, 1);
            reg_is(i, 0, N8[d]);
            cs_free(i, 1);
        }
}

/* A label-relative operand: Capstone's rip + disp must land on the label. */
Test(emit_x64_forms, rip_relative_labels, .init = setup, .fini = teardown)
{
    for (unsigned r = 0; r < 16; r++)
        for (int fwd = 0; fwd < 2; fwd++) {
            start();
            jb_label l = jb_label_new(&e);
            if (!fwd) {
                jb_label_bind(&e, l);
                jb_x64_nops(&e, r);
            }
            size_t at = jb_emit_size(&e);
            int form = (int)r % 3;
            if (form == 0) jb_x64_lea_l(&e, r, l);
            if (form == 1) jb_x64_mov_rl(&e, r, l);
            if (form == 2) jb_x64_movsd_xl(&e, r, l);
            size_t len = jb_emit_size(&e) - at;
            if (fwd) {
                jb_x64_nops(&e, 3 + r);
                jb_label_bind(&e, l);
            }
            cr_assert_eq(jb_emit_finish(&e, NULL), 0, "%s", jb_last_error());
            cs_insn *i;
            cr_assert_eq(cs_disasm(cs, buf + at, len, at, 1, &i), 1);
            cr_assert_str_eq(i->mnemonic, form == 0 ? "lea" : form == 1 ? "mov" : "movsd");
            cs_x86_op *m = &i->detail->x86.operands[1];
            cr_assert_eq(m->mem.base, X86_REG_RIP);
            cr_assert_eq(at + len + (size_t)m->mem.disp, (size_t)jb_label_offset(&e, l),
                         "%s %s", i->mnemonic, i->op_str);
            cs_free(i, 1);
        }
}

Test(emit_x64_forms, sse2_doubles_every_register, .init = setup, .fini = teardown)
{
    static const char *const X[16] = {"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
                                      "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
                                      "xmm12", "xmm13", "xmm14", "xmm15"};
    static const struct { jb_x64_sd_op op; const char *mn; } ar[] = {
        {JB_X64_ADDSD, "addsd"}, {JB_X64_SUBSD, "subsd"}, {JB_X64_MULSD, "mulsd"},
        {JB_X64_DIVSD, "divsd"}, {JB_X64_SQRTSD, "sqrtsd"}, {JB_X64_MINSD, "minsd"},
        {JB_X64_MAXSD, "maxsd"}};
    for (unsigned d = 0; d < 16; d++)
        for (unsigned s = 0; s < 16; s++) {
            unsigned k = (d + s) % 7;
            start();
            jb_x64_sd_xx(&e, ar[k].op, d, s);
            cs_insn *i = dec(ar[k].mn, 2);
            reg_is(i, 0, X[d]);
            reg_is(i, 1, X[s]);
            cs_free(i, 1);
            jb_x64_mem m = rand_mem();
            start();
            jb_x64_sd_xm(&e, ar[k].op, d, m);
            i = dec(ar[k].mn, 2);
            reg_is(i, 0, X[d]);
            mem_is(i, 1, m, 8);
            cs_free(i, 1);
            static const char *const rmn[9] = {"movapd", "xorpd", "ucomisd", "comisd",
                                               "cvtsi2sd", "cvttsd2si", "cvtsd2si", "movq", "movq"};
            for (unsigned f = 0; f < 9; f++) {
                start();
                switch (f) {
                case 0: jb_x64_movapd(&e, d, s); break;
                case 1: jb_x64_xorpd(&e, d, s); break;
                case 2: jb_x64_ucomisd(&e, d, s); break;
                case 3: jb_x64_comisd(&e, d, s); break;
                case 4: jb_x64_cvtsi2sd(&e, d, s); break;
                case 5: jb_x64_cvttsd2si(&e, d, s); break;
                case 6: jb_x64_cvtsd2si(&e, d, s); break;
                case 7: jb_x64_movq_xr(&e, d, s); break;
                case 8: jb_x64_movq_rx(&e, d, s); break;
                }
                i = dec(rmn[f], 2);
                /* xmm, xmm / xmm, gpr / gpr, xmm by form */
                reg_is(i, 0, (f == 5 || f == 6 || f == 8) ? N64[d] : X[d]);
                reg_is(i, 1, (f == 4 || f == 7) ? N64[s] : X[s]);
                cs_free(i, 1);
            }
            start();
            jb_x64_movsd_xm(&e, d, m);
            i = dec("movsd", 2);
            reg_is(i, 0, X[d]);
            mem_is(i, 1, m, 8);
            cs_free(i, 1);
            start();
            jb_x64_movsd_mx(&e, m, s);
            i = dec("movsd", 2);
            mem_is(i, 0, m, 8);
            reg_is(i, 1, X[s]);
            cs_free(i, 1);
        }
}

Test(emit_x64_forms, padding_and_frames, .init = setup, .fini = teardown)
{
    /* Every padding length decodes as exactly ceil(n / 9) nops. */
    for (size_t n = 0; n <= 40; n++) {
        start();
        jb_x64_nops(&e, n);
        cr_assert_eq(jb_emit_size(&e), n);
        cs_insn *i;
        size_t count = n ? cs_disasm(cs, buf, n, 0, 0, &i) : 0;
        cr_assert_eq(count, (n + 8) / 9, "%zu bytes of padding", n);
        size_t total = 0;
        for (size_t k = 0; k < count; k++) {
            cr_assert_str_eq(i[k].mnemonic, "nop");
            total += i[k].size;
        }
        cr_assert_eq(total, n);
        if (count)
            cs_free(i, count);
    }
    for (size_t align = 1; align <= 64; align *= 2)
        for (size_t pre = 0; pre < 70; pre += 7) {
            start();
            jb_x64_nops(&e, pre);
            jb_x64_align(&e, align);
            cr_assert_eq(jb_emit_size(&e) % align, 0);
            cr_assert(jb_emit_size(&e) - pre < align);
        }
    /* frame_enter rounds the frame to 16 bytes; nothing to subtract for 0 */
    static const uint8_t want[] = {0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x30, 0xc9,
                                   0x55, 0x48, 0x89, 0xe5, 0xc9};
    start();
    jb_x64_frame_enter(&e, 40);
    jb_x64_frame_leave(&e);
    jb_x64_frame_enter(&e, 0);
    jb_x64_frame_leave(&e);
    cr_assert_eq(jb_emit_size(&e), sizeof want);
    cr_assert_arr_eq(buf, want, sizeof want);
}

/* Fixed rows, checkable by eye against the SDM's opcode tables. */
Test(emit_x64_forms, fixed_byte_rows)
{
    uint8_t b[64];
    jb_emit_init(&e, b, sizeof b);
    jb_x64_load(&e, JB_X64_U8, JB_X64_RAX, jb_x64_mem_bd(JB_X64_RDI, 0)); /* 0f b6 07 */
    jb_x64_load(&e, JB_X64_S32, JB_X64_R8, jb_x64_mem_bd(JB_X64_RSI, 4)); /* 4c 63 46 04 */
    jb_x64_store(&e, 16, jb_x64_mem_bd(JB_X64_RSP, 0), JB_X64_R9);       /* 66 44 89 0c 24 */
    jb_x64_setcc(&e, JB_X64_L, JB_X64_RSI);                              /* 40 0f 9c c6 */
    jb_x64_shift_ri(&e, JB_X64_SAR, JB_X64_RDX, 63);                     /* 48 c1 fa 3f */
    jb_x64_lea(&e, JB_X64_RAX, jb_x64_mem_rip(-7));                      /* 48 8d 05 f9 ff ff ff */
    jb_x64_cvtsi2sd(&e, 8, JB_X64_R15);                                  /* f2 4d 0f 2a c7 */
    static const uint8_t want[] = {0x0f, 0xb6, 0x07, 0x4c, 0x63, 0x46, 0x04, 0x66, 0x44, 0x89,
                                   0x0c, 0x24, 0x40, 0x0f, 0x9c, 0xc6, 0x48, 0xc1, 0xfa, 0x3f,
                                   0x48, 0x8d, 0x05, 0xf9, 0xff, 0xff, 0xff, 0xf2, 0x4d, 0x0f,
                                   0x2a, 0xc7};
    cr_assert_eq(jb_emit_finish(&e, NULL), 0, "%s", jb_last_error());
    cr_assert_eq(jb_emit_size(&e), sizeof want);
    cr_assert_arr_eq(b, want, sizeof want);
    jb_emit_free(&e);
}

/* Each bad operand sets JB_EOPERAND, names the problem, and writes nothing. */
Test(emit_x64_forms, invalid_operands)
{
    uint8_t b[64];
    struct { int k; const char *word; } rows[] = {
        {0, "shift count"}, {1, "store size"}, {2, "fits"}, {3, "fits"}, {4, "rip"},
        {5, "load width"}, {6, "jb_x64_sd_op"}, {7, "power of two"}, {8, "32 bits"},
        {9, "jb_x64_shift"}, {10, "frame size"}};
    for (unsigned r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        jb_emit_init(&e, b, sizeof b);
        switch (rows[r].k) {
        case 0: jb_x64_shift_ri(&e, JB_X64_SHL, JB_X64_RAX, 64); break;
        case 1: jb_x64_store(&e, 24, jb_x64_mem_bd(JB_X64_RAX, 0), JB_X64_RCX); break;
        case 2: jb_x64_store_i(&e, 8, jb_x64_mem_bd(JB_X64_RAX, 0), 256); break;
        case 3: jb_x64_store_i(&e, 64, jb_x64_mem_bd(JB_X64_RAX, 0), 0x80000000); break;
        case 4: jb_x64_load(&e, JB_X64_U8, JB_X64_RAX, jb_x64_mem_bisd(JB_X64_RIP, JB_X64_RCX, 1, 0)); break;
        case 5: jb_x64_load(&e, (jb_x64_width)7, JB_X64_RAX, jb_x64_mem_bd(JB_X64_RAX, 0)); break;
        case 6: jb_x64_sd_xx(&e, (jb_x64_sd_op)0x50, 0, 1); break;
        case 7: jb_x64_align(&e, 24); break;
        case 8: jb_x64_imul_rri(&e, JB_X64_RAX, JB_X64_RAX, (int64_t)1 << 31); break;
        case 9: jb_x64_shift_rcl(&e, (jb_x64_shift)6, JB_X64_RAX); break;
        case 10: jb_x64_frame_enter(&e, 0x80000000u); break;
        }
        cr_assert_eq(e.err, JB_EOPERAND, "row %u accepted", r);
        cr_assert_eq(jb_emit_size(&e), 0, "row %u wrote bytes", r);
        cr_assert(strstr(jb_last_error(), rows[r].word), "row %u: %s", r, jb_last_error());
    }
    /* A register above 15 in the new forms */
    jb_emit_init(&e, b, sizeof b);
    jb_x64_cmov(&e, JB_X64_E, 16, 0);
    cr_assert_eq(e.err, JB_EOPERAND);
    jb_emit_init(&e, b, sizeof b);
    jb_x64_movsd_xm(&e, 16, jb_x64_mem_bd(JB_X64_RAX, 0));
    cr_assert_eq(e.err, JB_EOPERAND);
    jb_emit_free(&e);
}
