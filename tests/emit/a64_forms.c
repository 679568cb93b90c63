/* The wider arm64 forms (sized loads and stores in every addressing mode,
 * ldp/stp, extension, shifts, multiply and divide, logical immediates,
 * conditional select, tbz/adr/literal labels, frames, padding, doubles)
 * checked against Capstone's decoding over every register and randomised
 * offsets, plus fixed words and the error cases. Execution of the same
 * forms: tests/exec/a64.c, under qemu-aarch64. */
#include <capstone/capstone.h>
#include <stdlib.h>

#include "util.h"
#include "jitbuf/arm64.h"

TestSuite(emit_a64_forms);

/* The seven load widths in the order these tests index them. */
static const jb_type W7[7] = {JB_U8, JB_S8, JB_U16, JB_S16, JB_U32, JB_S32, JB_U64};


static csh cs;
static uint8_t buf[1024];
static jb_emit e;

static void setup(void)
{
    cr_assert_eq(cs_open(CS_ARCH_ARM64, CS_MODE_ARM, &cs), CS_ERR_OK);
    cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
    srand(5);
}
static void teardown(void)
{
    cs_close(&cs);
    jb_emit_free(&e);
}
/* Each case starts a new cursor: free the last one's label tables. */
static void start(void) { jb_emit_free(&e); jb_emit_init(&e, buf, sizeof buf); }

static char names[8][8];
static unsigned next_name;
/* x/w/d register name; 31 is sp or the zero register as the form says. */
static const char *R(char kind, unsigned r, int sp)
{
    char *s = names[next_name++ % 8];
    if (r == 31 && kind != 'd')
        snprintf(s, 8, "%s", sp ? (kind == 'x' ? "sp" : "wsp") : (kind == 'x' ? "xzr" : "wzr"));
    else
        snprintf(s, 8, "%c%u", kind, r);
    return s;
}

static const char *const COND[16] = {"eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc",
                                     "hi", "ls", "ge", "lt", "gt", "le", "al", "nv"};

/* Decode the one word emitted; check mnemonic and operand count. */
static cs_insn *dec(const char *mnemonic, int nops)
{
    cr_assert_eq(e.err, 0, "emitter error: %s", jb_last_error());
    cr_assert_eq(jb_emit_size(&e), 4);
    cs_insn *i;
    uint32_t w;
    memcpy(&w, buf, 4);
    cr_assert_eq(cs_disasm(cs, buf, 4, 0x1000, 1, &i), 1, "Capstone could not decode %08x", w);
    cr_assert_str_eq(i->mnemonic, mnemonic, "%08x: %s %s", w, i->mnemonic, i->op_str);
    cr_assert_eq(i->detail->arm64.op_count, nops, "%s %s", i->mnemonic, i->op_str);
    return i;
}
static void reg_is(cs_insn *i, int k, const char *name)
{
    cs_arm64_op *op = &i->detail->arm64.operands[k];
    cr_assert_eq(op->type, ARM64_OP_REG, "%s %s: operand %d", i->mnemonic, i->op_str, k);
    cr_assert_str_eq(cs_reg_name(cs, op->reg), name, "%s %s", i->mnemonic, i->op_str);
}
static void imm_is(cs_insn *i, int k, int64_t v)
{
    cs_arm64_op *op = &i->detail->arm64.operands[k];
    cr_assert_eq(op->type, ARM64_OP_IMM, "%s %s: operand %d", i->mnemonic, i->op_str, k);
    cr_assert_eq(op->imm, v, "%s %s: want %lld", i->mnemonic, i->op_str, (long long)v);
}
static void mem_is(cs_insn *i, int k, const char *base, const char *index, int32_t disp)
{
    cs_arm64_op *op = &i->detail->arm64.operands[k];
    cr_assert_eq(op->type, ARM64_OP_MEM, "%s %s: operand %d", i->mnemonic, i->op_str, k);
    cr_assert_str_eq(cs_reg_name(cs, op->mem.base), base, "%s %s", i->mnemonic, i->op_str);
    if (index)
        cr_assert_str_eq(cs_reg_name(cs, op->mem.index), index, "%s %s", i->mnemonic, i->op_str);
    else
        cr_assert_eq(op->mem.index, ARM64_REG_INVALID, "%s %s", i->mnemonic, i->op_str);
    cr_assert_eq(op->mem.disp, disp, "%s %s", i->mnemonic, i->op_str);
}
static void cond_is(cs_insn *i, unsigned c)
{
    size_t n = strlen(i->op_str);
    cr_assert(n > 2 && !strcmp(i->op_str + n - 2, COND[c]), "%s %s: want %s", i->mnemonic,
              i->op_str, COND[c]);
}

/* Loads and stores in every mode: the emitter picks ldr (scaled) or ldur
 * (unscaled) for JB_A64_OFFSET; pre/post write back. */
Test(emit_a64_forms, sized_loads_stores_every_mode, .init = setup, .fini = teardown)
{
    static const char *const ld[7] = {"ldrb", "ldrsb", "ldrh", "ldrsh", "ldr", "ldrsw", "ldr"};
    static const char *const ldu[7] = {"ldurb", "ldursb", "ldurh", "ldursh", "ldur", "ldursw", "ldur"};
    static const char kind[7] = {'w', 'x', 'w', 'x', 'w', 'x', 'x'};
    static const char *const st[4] = {"strb", "strh", "str", "str"};
    static const char *const stu[4] = {"sturb", "sturh", "stur", "stur"};
    for (int k = 0; k < 3000; k++) {
        unsigned t = (unsigned)k % 32, n = (unsigned)rand() % 32, w = (unsigned)k % 7;
        unsigned size = w / 2, mode = (unsigned)rand() % 3;
        int32_t off;
        if (mode == JB_A64_OFFSET && rand() % 2)
            off = (int32_t)(((unsigned)rand() % 4096) << size); /* scaled */
        else
            off = rand() % 512 - 256; /* simm9 */
        if (k < 7) { mode = JB_A64_OFFSET; off = (int32_t)(4095u << size); }
        if (mode != JB_A64_OFFSET && n == t && n != 31)
            n = (n + 1) % 31; /* unpredictable: the emitter refuses it (invalid_operands) */
        int scaled = mode == JB_A64_OFFSET && off >= 0 && !(off & ((1 << size) - 1));
        start();
        jb_a64_load(&e, W7[w], t, n, off, (jb_a64_mode)mode);
        cs_insn *i = dec(mode == JB_A64_OFFSET && !scaled ? ldu[w] : ld[w], mode == JB_A64_POST ? 3 : 2);
        reg_is(i, 0, R(kind[w], t, 0));
        mem_is(i, 1, R('x', n, 1), NULL, mode == JB_A64_POST ? 0 : off);
        if (mode == JB_A64_POST)
            imm_is(i, 2, off);
        cr_assert_eq(i->detail->arm64.writeback, mode != JB_A64_OFFSET);
        cs_free(i, 1);
        unsigned bits = 8u << (k % 4), ss = (unsigned)k % 4;
        if (mode == JB_A64_OFFSET && off >= 0 && (off & ((1 << size) - 1)) == 0 && ss != size)
            off = (int32_t)(((unsigned)off >> size) % 4096) << ss;
        scaled = mode == JB_A64_OFFSET && off >= 0 && !(off & ((1 << ss) - 1)) && (off >> ss) < 4096;
        start();
        jb_a64_store(&e, (jb_type)(k % 4), t, n, off, (jb_a64_mode)mode);
        i = dec(mode == JB_A64_OFFSET && !scaled ? stu[ss] : st[ss], mode == JB_A64_POST ? 3 : 2);
        reg_is(i, 0, R(bits == 64 ? 'x' : 'w', t, 0));
        mem_is(i, 1, R('x', n, 1), NULL, mode == JB_A64_POST ? 0 : off);
        cs_free(i, 1);
        /* doubles share the addressing */
        if (mode != JB_A64_OFFSET || (off >= -256 && off < 256) || !(off & 7)) {
            start();
            jb_a64_fload(&e, t, n, off, (jb_a64_mode)mode);
            int sc8 = mode == JB_A64_OFFSET && off >= 0 && !(off & 7);
            i = dec(mode == JB_A64_OFFSET && !sc8 ? "ldur" : "ldr", mode == JB_A64_POST ? 3 : 2);
            reg_is(i, 0, R('d', t, 0));
            cs_free(i, 1);
        }
    }
}

Test(emit_a64_forms, register_offset_loads_stores, .init = setup, .fini = teardown)
{
    static const char *const ld[7] = {"ldrb", "ldrsb", "ldrh", "ldrsh", "ldr", "ldrsw", "ldr"};
    static const char kind[7] = {'w', 'x', 'w', 'x', 'w', 'x', 'x'};
    static const unsigned opts[6] = {0, JB_A64_SCALED, JB_A64_UXTW, JB_A64_SXTW,
                                     JB_A64_UXTW | JB_A64_SCALED, JB_A64_SXTW | JB_A64_SCALED};
    for (unsigned t = 0; t < 32; t++)
        for (unsigned w = 0; w < 7; w++)
            for (unsigned o = 0; o < 6; o++) {
                unsigned n = (t * 7 + w) % 32, m = (t * 3 + o) % 31;
                char idx = (opts[o] & (JB_A64_UXTW | JB_A64_SXTW)) ? 'w' : 'x';
                start();
                jb_a64_load_r(&e, W7[w], t, n, m, opts[o]);
                cs_insn *i = dec(ld[w], 2);
                reg_is(i, 0, R(kind[w], t, 0));
                mem_is(i, 1, R('x', n, 1), R(idx, m, 0), 0);
                cs_arm64_op *op = &i->detail->arm64.operands[1];
                /* the extend as Capstone reads it: uxtw 3, sxtw 7, none for lsl */
                cr_assert_eq(op->ext, (opts[o] & JB_A64_UXTW) ? ARM64_EXT_UXTW
                                      : (opts[o] & JB_A64_SXTW) ? ARM64_EXT_SXTW
                                                                : ARM64_EXT_INVALID,
                             "%s %s", i->mnemonic, i->op_str);
                /* the scaled forms shift by log2(size); Capstone omits lsl #0 */
                if ((opts[o] & JB_A64_SCALED) && w / 2)
                    cr_assert_eq(op->shift.value, w / 2, "%s %s", i->mnemonic, i->op_str);
                cs_free(i, 1);
                unsigned bits = 8u << (w % 4);
                start();
                jb_a64_store_r(&e, (jb_type)(w % 4), t, n, m, opts[o]);
                i = dec(bits == 8 ? "strb" : bits == 16 ? "strh" : "str", 2);
                reg_is(i, 0, R(bits == 64 ? 'x' : 'w', t, 0));
                mem_is(i, 1, R('x', n, 1), R(idx, m, 0), 0);
                cs_free(i, 1);
                start();
                jb_a64_fstore_r(&e, t, n, m, opts[o]);
                i = dec("str", 2);
                reg_is(i, 0, R('d', t, 0));
                mem_is(i, 1, R('x', n, 1), R(idx, m, 0), 0);
                cs_free(i, 1);
            }
}

Test(emit_a64_forms, pairs_every_mode, .init = setup, .fini = teardown)
{
    static const int32_t offs[] = {-512, -8, 0, 8, 16, 504};
    for (unsigned t = 0; t < 32; t++)
        for (unsigned mode = 0; mode < 3; mode++)
            for (unsigned k = 0; k < 6; k++) {
                unsigned t2 = (t + 1 + k) % 32, n = (t * 5 + k) % 32;
                if (mode != JB_A64_OFFSET)
                    while (n != 31 && (n == t || n == t2)) n = (n + 1) % 32;
                for (int load = 0; load < 2; load++) {
                    start();
                    (load ? jb_a64_ldp : jb_a64_stp)(&e, t, t2, n, offs[k], (jb_a64_mode)mode);
                    cs_insn *i = dec(load ? "ldp" : "stp", mode == JB_A64_POST ? 4 : 3);
                    reg_is(i, 0, R('x', t, 0));
                    reg_is(i, 1, R('x', t2, 0));
                    mem_is(i, 2, R('x', n, 1), NULL, mode == JB_A64_POST ? 0 : offs[k]);
                    if (mode == JB_A64_POST)
                        imm_is(i, 3, offs[k]);
                    cr_assert_eq(i->detail->arm64.writeback, mode != JB_A64_OFFSET);
                    cs_free(i, 1);
                }
            }
}

Test(emit_a64_forms, alu_shift_mul_div_every_register, .init = setup, .fini = teardown)
{
    typedef void (*rrr)(jb_emit *, jb_a64_reg, jb_a64_reg, jb_a64_reg);
    static const struct { rrr fn; const char *mn; } rows[] = {
        {jb_a64_adds, "adds"},   {jb_a64_subs, "subs"},   {jb_a64_ands, "ands"},
        {jb_a64_bic, "bic"},     {jb_a64_orn, "orn"},     {jb_a64_lsl_r, "lsl"},
        {jb_a64_lsr_r, "lsr"},   {jb_a64_asr_r, "asr"},   {jb_a64_ror_r, "ror"},
        {jb_a64_udiv, "udiv"},   {jb_a64_sdiv, "sdiv"},   {jb_a64_mul, "mul"},
        {jb_a64_umulh, "umulh"}, {jb_a64_smulh, "smulh"}};
    for (unsigned f = 0; f < sizeof rows / sizeof rows[0]; f++)
        for (unsigned d = 0; d < 31; d++)
            for (unsigned n = 0; n < 31; n++) {
                unsigned m = (d * 7 + n * 3 + f) % 31;
                start();
                rows[f].fn(&e, d, n, m);
                cs_insn *i = dec(rows[f].mn, 3);
                reg_is(i, 0, R('x', d, 0));
                reg_is(i, 1, R('x', n, 0));
                reg_is(i, 2, R('x', m, 0));
                cs_free(i, 1);
            }
    for (unsigned d = 0; d < 31; d++) {
        unsigned n = (d + 3) % 31, m = (d * 5 + 1) % 31, a = (d * 11 + 2) % 31;
        for (int sub = 0; sub < 2; sub++) {
            start();
            (sub ? jb_a64_msub : jb_a64_madd)(&e, d, n, m, a);
            cs_insn *i = dec(sub ? "msub" : "madd", 4);
            reg_is(i, 3, R('x', a, 0));
            cs_free(i, 1);
        }
        void (*two[])(jb_emit *, jb_a64_reg, jb_a64_reg) = {jb_a64_neg, jb_a64_mvn};
        const char *mn2[] = {"neg", "mvn"};
        for (int f = 0; f < 2; f++) {
            start();
            two[f](&e, d, n);
            cs_insn *i = dec(mn2[f], 2);
            reg_is(i, 0, R('x', d, 0));
            reg_is(i, 1, R('x', n, 0));
            cs_free(i, 1);
        }
        void (*cmp2[])(jb_emit *, jb_a64_reg, jb_a64_reg) = {jb_a64_tst, jb_a64_cmn};
        const char *mnc[] = {"tst", "cmn"};
        for (int f = 0; f < 2; f++) {
            start();
            cmp2[f](&e, d, n);
            cs_insn *i = dec(mnc[f], 2);
            reg_is(i, 0, R('x', d, 0));
            cs_free(i, 1);
        }
        for (unsigned s = 1; s < 64; s += 7) {
            void (*sh[])(jb_emit *, jb_a64_reg, jb_a64_reg, unsigned) = {jb_a64_lsl, jb_a64_lsr,
                                                                        jb_a64_asr, jb_a64_ror};
            const char *mns[] = {"lsl", "lsr", "asr", "ror"};
            for (int f = 0; f < 4; f++) {
                start();
                sh[f](&e, d, n, s);
                cs_insn *i = dec(mns[f], 3);
                reg_is(i, 0, R('x', d, 0));
                reg_is(i, 1, R('x', n, 0));
                imm_is(i, 2, s);
                cs_free(i, 1);
            }
        }
    }
}

Test(emit_a64_forms, extension_every_width, .init = setup, .fini = teardown)
{
    static const char *const mn[7] = {"uxtb", "sxtb", "uxth", "sxth", "mov", "sxtw", "mov"};
    static const char dk[7] = {'w', 'x', 'w', 'x', 'w', 'x', 'x'}, sk[7] = {'w', 'w', 'w', 'w', 'w', 'w', 'x'};
    for (unsigned w = 0; w < 7; w++)
        for (unsigned d = 0; d < 31; d++)
            for (unsigned n = 0; n < 31; n += 3) {
                start();
                jb_a64_extend(&e, W7[w], d, n);
                cs_insn *i = dec(mn[w], 2);
                reg_is(i, 0, R(dk[w], d, 0));
                reg_is(i, 1, R(sk[w], n, 0));
                cs_free(i, 1);
            }
}

/* Logical immediates: Capstone's reading of the field is the value asked
 * for, over random bitmask values (built by rotating and replicating). */
Test(emit_a64_forms, logical_immediates, .init = setup, .fini = teardown)
{
    typedef void (*rri)(jb_emit *, jb_a64_reg, jb_a64_reg, uint64_t);
    static const struct { rri fn; const char *mn; } rows[] = {
        {jb_a64_and_imm, "and"}, {jb_a64_orr_imm, "orr"}, {jb_a64_eor_imm, "eor"},
        {jb_a64_ands_imm, "ands"}};
    for (int k = 0; k < 4000; k++) {
        unsigned esize = 2u << (rand() % 6), ones = 1 + (unsigned)rand() % (esize - 1),
                 rot = (unsigned)rand() % esize;
        uint64_t emask = esize == 64 ? ~0ull : (1ull << esize) - 1, el = (1ull << ones) - 1;
        el = rot ? ((el >> rot) | (el << (esize - rot))) & emask : el;
        uint64_t v = 0;
        for (unsigned s = 0; s < 64; s += esize) v |= el << s;
        unsigned f = (unsigned)k % 4, d = (unsigned)k % 31, n = (unsigned)(k / 31) % 31;
        start();
        rows[f].fn(&e, d, n, v);
        cs_insn *i = dec(rows[f].mn, 3);
        reg_is(i, 0, R('x', d, 0));
        reg_is(i, 1, R('x', n, 0));
        imm_is(i, 2, (int64_t)v);
        cs_free(i, 1);
    }
    start();
    jb_a64_tst_imm(&e, 3, 0x8000000000000000ull);
    cs_insn *i = dec("tst", 2);
    imm_is(i, 1, INT64_MIN);
    cs_free(i, 1);
}

Test(emit_a64_forms, conditional_select_every_condition, .init = setup, .fini = teardown)
{
    typedef void (*csf)(jb_emit *, jb_a64_reg, jb_a64_reg, jb_a64_reg, jb_a64_cond);
    static const struct { csf fn; const char *mn; } rows[] = {
        {jb_a64_csel, "csel"}, {jb_a64_csinc, "csinc"}, {jb_a64_csinv, "csinv"},
        {jb_a64_csneg, "csneg"}};
    for (unsigned c = 0; c < 14; c++)
        for (unsigned d = 0; d < 31; d++) {
            /* n != m and neither zero: Capstone would show cinc/cset aliases */
            unsigned n = (d + c) % 30, m = n + 1;
            for (int f = 0; f < 4; f++) {
                start();
                rows[f].fn(&e, d, n, m, c);
                cs_insn *i = dec(rows[f].mn, 3);
                reg_is(i, 0, R('x', d, 0));
                reg_is(i, 1, R('x', n, 0));
                reg_is(i, 2, R('x', m, 0));
                cond_is(i, c);
                cs_free(i, 1);
            }
            start();
            jb_a64_cset(&e, d, c);
            cs_insn *i = dec("cset", 1);
            reg_is(i, 0, R('x', d, 0));
            cond_is(i, c);
            cs_free(i, 1);
            start();
            jb_a64_fcsel(&e, d, n, m, c);
            i = dec("fcsel", 3);
            reg_is(i, 0, R('d', d, 0));
            cond_is(i, c);
            cs_free(i, 1);
        }
}

/* pc-relative forms reach their labels, forward and backward. */
Test(emit_a64_forms, pc_relative_labels, .init = setup, .fini = teardown)
{
    static uint8_t big[65536];
    for (unsigned r = 0; r < 31; r++)
        for (int fwd = 0; fwd < 2; fwd++)
            for (unsigned form = 0; form < 5; form++) {
                jb_emit_free(&e); /* the last case's label tables */
                jb_emit_init(&e, big, sizeof big);
                jb_label l = jb_label_new(&e);
                unsigned gap = (r * 977 + form * 131) % 8000;
                if (!fwd) {
                    jb_label_bind(&e, l);
                    for (unsigned k = 0; k < gap; k++) jb_a64_nop(&e);
                }
                size_t at = jb_emit_size(&e);
                unsigned bit = (r * 13 + form) % 64;
                switch (form) {
                case 0: jb_a64_tbz(&e, r, bit, l); break;
                case 1: jb_a64_tbnz(&e, r, bit, l); break;
                case 2: jb_a64_adr(&e, r, l); break;
                case 3: jb_a64_ldr_l(&e, r, l); break;
                case 4: jb_a64_fldr_l(&e, r, l); break;
                }
                if (fwd) {
                    for (unsigned k = 0; k < gap; k++) jb_a64_nop(&e);
                    jb_label_bind(&e, l);
                }
                cr_assert_eq(jb_emit_finish(&e, NULL), 0, "%s", jb_last_error());
                cs_insn *i;
                cr_assert_eq(cs_disasm(cs, big + at, 4, at, 1, &i), 1);
                static const char *const mn[5] = {"tbz", "tbnz", "adr", "ldr", "ldr"};
                cr_assert_str_eq(i->mnemonic, mn[form], "%s %s", i->mnemonic, i->op_str);
                cs_arm64 *a = &i->detail->arm64;
                reg_is(i, 0, R(form == 4 ? 'd' : (form < 2 && bit < 32) ? 'w' : 'x', r, 0));
                if (form < 2)
                    imm_is(i, 1, bit);
                cr_assert_eq(a->operands[a->op_count - 1].imm, jb_label_offset(&e, l),
                             "%s %s", i->mnemonic, i->op_str);
                cs_free(i, 1);
            }
    start();
    jb_a64_adrp(&e, 7, -3);
    cs_insn *i = dec("adrp", 2);
    imm_is(i, 1, (0x1000 & ~0xfff) - 3 * 4096);
    cs_free(i, 1);
}

Test(emit_a64_forms, doubles_every_register, .init = setup, .fini = teardown)
{
    typedef void (*f3)(jb_emit *, jb_a64_dreg, jb_a64_dreg, jb_a64_dreg);
    static const struct { f3 fn; const char *mn; } ar[] = {
        {jb_a64_fadd, "fadd"}, {jb_a64_fsub, "fsub"}, {jb_a64_fmul, "fmul"},
        {jb_a64_fdiv, "fdiv"}, {jb_a64_fmax, "fmax"}, {jb_a64_fmin, "fmin"}};
    static const struct { uint32_t op; const char *mn; char d, n; } one[] = {
        {JB_A64_OP_FMOV, "fmov", 'd', 'd'},      {JB_A64_OP_FNEG, "fneg", 'd', 'd'},
        {JB_A64_OP_FABS, "fabs", 'd', 'd'},      {JB_A64_OP_FSQRT, "fsqrt", 'd', 'd'},
        {JB_A64_OP_SCVTF, "scvtf", 'd', 'x'},    {JB_A64_OP_UCVTF, "ucvtf", 'd', 'x'},
        {JB_A64_OP_FCVTZS, "fcvtzs", 'x', 'd'},  {JB_A64_OP_FCVTZU, "fcvtzu", 'x', 'd'},
        {JB_A64_OP_FMOV_DX, "fmov", 'd', 'x'},   {JB_A64_OP_FMOV_XD, "fmov", 'x', 'd'}};
    for (unsigned d = 0; d < 32; d++)
        for (unsigned n = 0; n < 32; n++) {
            unsigned m = (d * 5 + n) % 32;
            for (unsigned f = 0; f < 6; f++) {
                start();
                ar[f].fn(&e, d, n, m);
                cs_insn *i = dec(ar[f].mn, 3);
                reg_is(i, 0, R('d', d, 0));
                reg_is(i, 1, R('d', n, 0));
                reg_is(i, 2, R('d', m, 0));
                cs_free(i, 1);
            }
            for (unsigned f = 0; f < 10; f++) {
                if ((one[f].d == 'x' && d == 31) || (one[f].n == 'x' && n == 31))
                    continue; /* xzr: Capstone's aliases differ */
                start();
                jb_a64_fp1(&e, one[f].op, d, n);
                cs_insn *i = dec(one[f].mn, 2);
                reg_is(i, 0, R(one[f].d, d, 0));
                reg_is(i, 1, R(one[f].n, n, 0));
                cs_free(i, 1);
            }
            start();
            jb_a64_fcmp(&e, d, n);
            cs_insn *i = dec("fcmp", 2);
            reg_is(i, 0, R('d', d, 0));
            reg_is(i, 1, R('d', n, 0));
            cs_free(i, 1);
        }
}

Test(emit_a64_forms, frames_and_padding, .init = setup, .fini = teardown)
{
    /* stp x29, x30, [sp, #-16]!; mov x29, sp; sub sp, sp, #1, lsl #12;
     * sub sp, sp, #0x390; mov sp, x29; ldp x29, x30, [sp], #16 */
    static const uint32_t want[] = {0xa9bf7bfdu, 0x910003fdu, 0xd14007ffu, 0xd10e43ffu,
                                    0x910003bfu, 0xa8c17bfdu};
    start();
    jb_a64_frame_enter(&e, 5000);
    jb_a64_frame_leave(&e);
    cr_assert_eq(jb_emit_size(&e), sizeof want);
    cr_assert_arr_eq(buf, want, sizeof want);
    for (size_t align = 4; align <= 256; align *= 2)
        for (unsigned pre = 0; pre < 80; pre += 3) {
            start();
            for (unsigned k = 0; k < pre; k++) jb_a64_nop(&e);
            jb_a64_align(&e, align);
            cr_assert_eq(e.err, 0);
            cr_assert_eq(jb_emit_size(&e) % align, 0);
            cr_assert(jb_emit_size(&e) - pre * 4 < align);
        }
}

/* Fixed words, checkable by eye against the ARM ARM's encoding tables. */
Test(emit_a64_forms, fixed_words)
{
    uint32_t b[12];
    jb_emit_init(&e, b, sizeof b);
    jb_a64_load(&e, JB_A64_U8, 0, 1, 0, JB_A64_OFFSET);         /* ldrb w0, [x1] */
    jb_a64_load(&e, JB_A64_S32, 2, 31, -8, JB_A64_PRE);         /* ldrsw x2, [sp, #-8]! */
    jb_a64_store(&e, JB_I16, 3, 4, 2, JB_A64_POST);                 /* strh w3, [x4], #2 */
    jb_a64_load_r(&e, JB_A64_X64, 5, 6, 7, JB_A64_SCALED);      /* ldr x5, [x6, x7, lsl #3] */
    jb_a64_and_imm(&e, 0, 0, 0xff);                             /* and x0, x0, #0xff */
    jb_a64_lsl(&e, 1, 2, 4);                                    /* lsl x1, x2, #4 */
    jb_a64_sdiv(&e, 0, 1, 2);                                   /* sdiv x0, x1, x2 */
    jb_a64_cset(&e, 0, JB_A64_EQ);                              /* cset x0, eq */
    jb_a64_scvtf(&e, 0, 1);                                     /* scvtf d0, x1 */
    jb_a64_fadd(&e, 0, 1, 2);                                   /* fadd d0, d1, d2 */
    static const uint32_t want[] = {0x39400020u, 0xb89f8fe2u, 0x78002483u, 0xf86778c5u,
                                    0x92401c00u, 0xd37cec41u, 0x9ac20c20u, 0x9a9f17e0u,
                                    0x9e620020u, 0x1e622820u};
    cr_assert_eq(jb_emit_finish(&e, NULL), 0, "%s", jb_last_error());
    cr_assert_eq(jb_emit_size(&e), sizeof want);
    cr_assert_arr_eq(b, want, sizeof want);
    jb_emit_free(&e);
}

/* Each bad operand sets JB_EOPERAND (or JB_EBRANCH), names the problem,
 * and writes nothing. */
Test(emit_a64_forms, invalid_operands)
{
    uint32_t b[8];
    struct { int k; int err; const char *word; } rows[] = {
        {0, JB_EOPERAND, "bitmask"},   {1, JB_EOPERAND, "bitmask"},
        {2, JB_EOPERAND, "-256..255"}, {3, JB_EOPERAND, "-256..255"},
        {4, JB_EOPERAND, "-512..504"}, {5, JB_EOPERAND, "shift amount"},
        {6, JB_EOPERAND, "0..63"},     {7, JB_EOPERAND, "al"},
        {8, JB_EOPERAND, "jb_type"}, {9, JB_EOPERAND, "UXTW"},
        {10, JB_EOPERAND, "power of two"}, {11, JB_EOPERAND, "4 GiB"},
        {12, JB_EOPERAND, "jb_type"}, {13, JB_EOPERAND, "16 MiB"},
        {14, JB_EOPERAND, "unpredictable"}, {15, JB_EOPERAND, "unpredictable"},
        {16, JB_EOPERAND, "unpredictable"}};
    for (unsigned r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        jb_emit_init(&e, b, sizeof b);
        switch (rows[r].k) {
        case 0: jb_a64_and_imm(&e, 0, 1, 0); break;
        case 1: jb_a64_orr_imm(&e, 0, 1, 0x12345); break;
        case 2: jb_a64_load(&e, JB_A64_X64, 0, 1, 4097 * 8, JB_A64_OFFSET); break;
        case 3: jb_a64_store(&e, JB_I32, 0, 1, 256, JB_A64_PRE); break;
        case 4: jb_a64_ldp(&e, 0, 1, 31, 512, JB_A64_OFFSET); break;
        case 5: jb_a64_lsl(&e, 0, 1, 64); break;
        case 6: jb_a64_tbz(&e, 0, 64, 0); break;
        case 7: jb_a64_cset(&e, 0, JB_A64_AL); break;
        case 8: jb_a64_store(&e, (jb_type)12, 0, 1, 0, JB_A64_OFFSET); break;
        case 9: jb_a64_load_r(&e, JB_A64_X64, 0, 1, 2, JB_A64_UXTW | JB_A64_SXTW); break;
        case 10: jb_a64_align(&e, 12); break;
        case 11: jb_a64_adrp(&e, 0, 1 << 20); break;
        case 12: jb_a64_load(&e, (jb_type)9, 0, 1, 0, JB_A64_OFFSET); break;
        case 13: jb_a64_frame_enter(&e, 0x1000000); break;
        case 14: jb_a64_load(&e, JB_A64_X64, 3, 3, 8, JB_A64_POST); break;
        case 15: jb_a64_ldp(&e, 4, 4, 1, 0, JB_A64_OFFSET); break;
        case 16: jb_a64_stp(&e, 4, 5, 5, -16, JB_A64_PRE); break;
        }
        cr_assert_eq(e.err, rows[r].err, "row %u: err %d", r, e.err);
        cr_assert_eq(jb_emit_size(&e), 0, "row %u wrote bytes", r);
        cr_assert(strstr(jb_last_error(), rows[r].word), "row %u: %s", r, jb_last_error());
    }
    /* tbz beyond +-32 KiB: forward, caught when the label binds */
    static uint8_t big[40000];
    jb_emit_init(&e, big, sizeof big);
    jb_label l = jb_label_new(&e);
    jb_a64_tbnz(&e, 0, 3, l);
    for (int k = 0; k < 8192; k++) jb_a64_nop(&e);
    jb_label_bind(&e, l);
    cr_assert_eq(jb_emit_finish(&e, NULL), JB_EBRANCH);
    uint32_t w;
    memcpy(&w, big, 4);
    cr_assert_eq(w, JB_A64__TRAP, "an out-of-range tbnz was written (it must stay a trap)");
    jb_emit_free(&e);
}
