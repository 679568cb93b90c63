/* The arm64 families in both sizes (w and x), over random registers and
 * operands: each emitted word is decoded by Capstone, whose text must be the
 * instruction asked for (the operand ranges avoid the values for which
 * Capstone prints another alias, e.g. mov for orr with wzr). Capstone 4
 * cannot decode the ARMv8.1 LSE atomics (ldadd, ldclr, ldeor, ldset,
 * ldsmax, ldsmin, ldumax, ldumin, swp, cas and their a/l/al and b/h
 * forms): those words are compared with llvm-mc's encoding of the same
 * text (`llvm-mc -triple=aarch64 -mattr=+lse -show-encoding`). */
#include <capstone/capstone.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "util.h"
#include "jitbuf/arm64.h"

TestSuite(a64_sized);

static csh cs;
static uint8_t buf[64];
static jb_emit e;

static void setup(void)
{
    cr_assert_eq(cs_open(CS_ARCH_ARM64, CS_MODE_ARM, &cs), CS_ERR_OK);
    srand(64);
}
static void teardown(void)
{
    cs_close(&cs);
    jb_emit_free(&e);
}
static void start(void) { jb_emit_init(&e, buf, sizeof buf); }

/* Capstone 4's immediates: #n up to 9, #0x.. above, a minus sign before. */
static const char *I(int64_t v)
{
    static char s[8][32];
    static unsigned k;
    char *p = s[k++ % 8];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    snprintf(p, 32, u > 9 ? "#%s0x%llx" : "#%s%llu", v < 0 ? "-" : "", (unsigned long long)u);
    return p;
}
/* Shift amounts print in decimal. */
static const char *D(unsigned v)
{
    static char s[8][16];
    static unsigned k;
    char *p = s[k++ % 8];
    snprintf(p, 16, "#%u", v);
    return p;
}
/* Negative post-index offsets of single loads/stores print as 64-bit hex
 * (a Capstone 4 quirk; pairs print them signed). */
static const char *P(int64_t v)
{
    static char s[8][32];
    static unsigned k;
    if (v >= 0)
        return I(v);
    char *p = s[k++ % 8];
    snprintf(p, 32, "#0x%llx", (unsigned long long)v);
    return p;
}
/* Register names by size (w / x), s / d. */
static const char *Rg(char c, unsigned r)
{
    static char s[8][8];
    static unsigned k;
    char *p = s[k++ % 8];
    snprintf(p, 8, "%c%u", c, r);
    return p;
}
static const char *const CC[16] = {"eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc",
                                   "hi", "ls", "ge", "lt", "gt", "le", "al", "nv"};

/* The one word emitted decodes as the text fmt... */
static void is(const char *fmt, ...)
{
    char want[96], got[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want, sizeof want, fmt, ap);
    va_end(ap);
    cr_assert_eq(e.err, 0, "%s: emitter error: %s", want, jb_last_error());
    cr_assert_eq(jb_emit_size(&e), 4, "%s: %zu bytes", want, jb_emit_size(&e));
    cs_insn *i;
    uint32_t w;
    memcpy(&w, buf, 4);
    cr_assert_eq(cs_disasm(cs, buf, 4, 0x1000, 1, &i), 1, "%s: Capstone cannot decode %08x", want, w);
    snprintf(got, sizeof got, "%s%s%s", i->mnemonic, i->op_str[0] ? " " : "", i->op_str);
    cs_free(i, 1);
    cr_assert_str_eq(got, want, "%08x: Capstone %s, asked for %s", w, got, want);
}

static unsigned reg(void) { return (unsigned)rand() % 31; } /* never sp/zr: no aliases */

Test(a64_sized, alu_every_form_both_sizes, .init = setup, .fini = teardown)
{
    static const char *const alu[12] = {"add", "adds", "sub", "subs", "and", "ands", "orr",
                                        "eor", "bic", "bics", "orn", "eon"};
    static const char *const shn[4] = {"lsl", "lsr", "asr", "ror"};
    static const char *const ext[8] = {"uxtb", "uxth", "uxtw", "uxtx", "sxtb", "sxth", "sxtw", "sxtx"};
    for (int k = 0; k < 3000; k++) {
        int x = k % 2;
        jb_type t = x ? JB_I64 : JB_I32;
        char c = x ? 'x' : 'w';
        unsigned d = reg(), n = reg(), m = reg(), op = (unsigned)(k / 2) % 12;
        unsigned sh = (unsigned)rand() % (op < 4 ? 3 : 4), amt = (unsigned)rand() % (x ? 64 : 32);
        if (op == JB_A64_SUBS || op == JB_A64_ADDS || op == JB_A64_ANDS)
            d = d ? d : 1;
        start();
        jb_a64_alu_sh(&e, t, (jb_a64_alu_op)op, d, n, m, (jb_a64_shift_op)sh, amt);
        if (amt || sh)
            is("%s %s, %s, %s, %s %s", alu[op], Rg(c, d), Rg(c, n), Rg(c, m), shn[sh], D(amt));
        else
            is("%s %s, %s, %s", alu[op], Rg(c, d), Rg(c, n), Rg(c, m));
        if (op < 4) { /* extended register */
            unsigned ex = (unsigned)rand() % 8, a = (unsigned)rand() % 5;
            char mc = x && (ex & 3) == 3 ? 'x' : 'w';
            start();
            jb_a64_alu_ext(&e, t, (jb_a64_alu_op)op, d, n, m, (jb_a64_ext)ex, a);
            if (a)
                is("%s %s, %s, %s, %s %s", alu[op], Rg(c, d), Rg(c, n), Rg(mc, m), ext[ex], I(a));
            else
                is("%s %s, %s, %s, %s", alu[op], Rg(c, d), Rg(c, n), Rg(mc, m), ext[ex]);
            /* immediates of either sign, shifted or not */
            int64_t v = 1 + rand() % 4095;
            int shifted = rand() % 2;
            int neg = rand() % 2;
            int64_t imm = (shifted ? v << 12 : v) * (neg ? -1 : 1);
            start();
            jb_a64_alu_imm(&e, t, (jb_a64_alu_op)op, d, n, imm);
            const char *mn = alu[neg ? op ^ 2 : op];
            if (shifted)
                is("%s %s, %s, %s, lsl #12", mn, Rg(c, d), Rg(c, n), I(v));
            else
                is("%s %s, %s, %s", mn, Rg(c, d), Rg(c, n), I(v));
        } else if (op < 8) { /* logical immediates: a rotated run of ones */
            unsigned width = x ? 64 : 32, ones = 1 + (unsigned)rand() % (width - 1),
                     rot = (unsigned)rand() % width;
            uint64_t run = ones == 64 ? ~0ull : (1ull << ones) - 1;
            uint64_t v = rot ? (run >> rot | run << (width - rot)) : run;
            if (width == 32)
                v &= 0xffffffffu;
            start();
            jb_a64_alu_imm(&e, t, (jb_a64_alu_op)op, d, n, (int64_t)v);
            if (v > 9)
                is("%s %s, %s, #0x%llx", alu[op], Rg(c, d), Rg(c, n), (unsigned long long)v);
            else
                is("%s %s, %s, %s", alu[op], Rg(c, d), Rg(c, n), I((int64_t)v));
        }
        unsigned nzcv = (unsigned)rand() % 16, cond = (unsigned)rand() % 14, imm5 = (unsigned)rand() % 32;
        start();
        jb_a64_ccmp_r(&e, t, (jb_a64_ccmp_op)(k % 2), n, m, nzcv, (jb_a64_cond)cond);
        is("%s %s, %s, %s, %s", k % 2 ? "ccmn" : "ccmp", Rg(c, n), Rg(c, m), I(nzcv), CC[cond]);
        start();
        jb_a64_ccmp_i(&e, t, (jb_a64_ccmp_op)(k / 2 % 2), n, imm5, nzcv, (jb_a64_cond)cond);
        is("%s %s, %s, %s, %s", k / 2 % 2 ? "ccmn" : "ccmp", Rg(c, n), I(imm5), I(nzcv), CC[cond]);
        static const char *const cs4[4] = {"csel", "csinc", "csinv", "csneg"};
        if (n != m) {
            start();
            jb_a64_cond_sel(&e, t, (jb_a64_csel_op)(k % 4), d, n, m, (jb_a64_cond)cond);
            is("%s %s, %s, %s, %s", cs4[k % 4], Rg(c, d), Rg(c, n), Rg(c, m), CC[cond]);
        }
        start();
        jb_a64_cset_sz(&e, t, d, (jb_a64_cond)cond);
        is("cset %s, %s", Rg(c, d), CC[cond]);
    }
}

Test(a64_sized, shifts_bitfields_mul_div_bits, .init = setup, .fini = teardown)
{
    static const char *const shn[4] = {"lsl", "lsr", "asr", "ror"};
    static const char *const bf[6] = {"ubfx", "sbfx", "bfi", "bfxil", "ubfiz", "sbfiz"};
    static const char *const o1[6] = {"rbit", "rev16", "rev32", "rev", "clz", "cls"};
    static const char *const o2[5] = {"udiv", "sdiv", "mul", "smulh", "umulh"};
    static const char *const o3[6] = {"madd", "msub", "smaddl", "umaddl", "smsubl", "umsubl"};
    for (int k = 0; k < 2000; k++) {
        int x = k % 2;
        jb_type t = x ? JB_I64 : JB_I32;
        char c = x ? 'x' : 'w';
        unsigned W = x ? 64 : 32, d = reg(), n = reg(), m = reg(), a = reg();
        unsigned op = (unsigned)(k / 2) % 4, s = 1 + (unsigned)rand() % (W - 1);
        start();
        jb_a64_shift(&e, t, (jb_a64_shift_op)op, d, n, s);
        is("%s %s, %s, %s", shn[op], Rg(c, d), Rg(c, n), I(s));
        start();
        jb_a64_shift_r(&e, t, (jb_a64_shift_op)op, d, n, m);
        is("%s %s, %s, %s", shn[op], Rg(c, d), Rg(c, n), Rg(c, m));
        unsigned b = (unsigned)k / 2 % 6, lsb = 1 + (unsigned)rand() % (W - 2);
        unsigned width = 1 + (unsigned)rand() % (W - lsb - 1); /* lsb + width < W */
        start();
        jb_a64_bitfield(&e, t, (jb_a64_bitfield_op)b, d, n, lsb, width);
        is("%s %s, %s, %s, %s", bf[b], Rg(c, d), Rg(c, n), I(lsb), I(width));
        unsigned u = (unsigned)k / 2 % 6;
        if (u != JB_A64_REV32 || x) {
            start();
            jb_a64_dp1(&e, t, (jb_a64_op1)u, d, n);
            is("%s %s, %s", o1[u], Rg(c, d), Rg(c, n));
        }
        unsigned v = (unsigned)k / 2 % 5;
        if (v < 3 || x) {
            start();
            jb_a64_dp2(&e, t, (jb_a64_op2)v, d, n, m);
            is("%s %s, %s, %s", o2[v], Rg(c, d), Rg(c, n), Rg(c, m));
        }
        unsigned w = (unsigned)k / 2 % 6;
        if (w < 2 || x) {
            start();
            jb_a64_dp3(&e, t, (jb_a64_op3)w, d, n, m, a);
            char nc = w < 2 ? c : 'w';
            is("%s %s, %s, %s, %s", o3[w], Rg(c, d), Rg(nc, n), Rg(nc, m), Rg(c, a));
        }
        unsigned imm16 = (unsigned)rand() % 0x10000, hw = 16 * ((unsigned)rand() % (x ? 4 : 2));
        static const uint32_t mw[3] = {JB_A64_OP_MOVZ, JB_A64_OP_MOVK, JB_A64_OP_MOVN};
        static const char *const mwn[3] = {"movz", "movk", "movn"};
        unsigned mk = (unsigned)k / 2 % 3;
        start();
        jb_a64_movw(&e, t, mw[mk], d, imm16, hw);
        if (hw)
            is("%s %s, %s, lsl %s", mwn[mk], Rg(c, d), I(imm16), D(hw));
        else
            is("%s %s, %s", mwn[mk], Rg(c, d), I(imm16));
    }
}

Test(a64_sized, typed_loads_stores_pairs, .init = setup, .fini = teardown)
{
    static const jb_type types[6] = {JB_U32, JB_S32, JB_U64, JB_F32, JB_F64, JB_S16};
    for (int k = 0; k < 2000; k++) {
        jb_type t = types[k % 6];
        unsigned size = JB__SIZE(t), rt = reg(), rn = 1 + reg() % 30, rm = reg();
        char c = t == JB_F32 ? 's' : t == JB_F64 ? 'd' : (t == JB_U32) ? 'w' : 'x';
        const char *ld = t == JB_S32 ? "ldrsw" : t == JB_S16 ? "ldrsh" : "ldr";
        const char *ldu = t == JB_S32 ? "ldursw" : t == JB_S16 ? "ldursh" : "ldur";
        unsigned mode = (unsigned)rand() % 3;
        if (mode != JB_A64_OFFSET && rn == rt && t < 8)
            rn = rn % 30 + 1;
        int32_t off = mode == JB_A64_OFFSET && rand() % 2 ? (int32_t)(((unsigned)rand() % 4096) << size)
                                                          : rand() % 512 - 256;
        start();
        jb_a64_load(&e, t, rt, rn, off, (jb_a64_mode)mode);
        int scaled = mode == JB_A64_OFFSET && off >= 0 && !(off & ((1 << size) - 1));
        if (mode == JB_A64_PRE)
            is("%s %s, [%s, %s]!", ld, Rg(c, rt), Rg('x', rn), I(off));
        else if (mode == JB_A64_POST)
            is("%s %s, [%s], %s", ld, Rg(c, rt), Rg('x', rn), P(off));
        else if (off == 0)
            is("%s %s, [%s]", ld, Rg(c, rt), Rg('x', rn));
        else
            is("%s %s, [%s, %s]", scaled ? ld : ldu, Rg(c, rt), Rg('x', rn), I(off));
        if (t != JB_S32 && t != JB_S16) {
            start();
            jb_a64_store(&e, t, rt, rn, off, (jb_a64_mode)mode);
            if (mode == JB_A64_PRE)
                is("str %s, [%s, %s]!", Rg(c, rt), Rg('x', rn), I(off));
            else if (mode == JB_A64_POST)
                is("str %s, [%s], %s", Rg(c, rt), Rg('x', rn), P(off));
            else if (off == 0)
                is("str %s, [%s]", Rg(c, rt), Rg('x', rn));
            else
                is("%s %s, [%s, %s]", scaled ? "str" : "stur", Rg(c, rt), Rg('x', rn), I(off));
        }
        static const char *const opt[4] = {"", "lsl", "uxtw", "sxtw"};
        unsigned o = (unsigned)rand() % 4, sc = (unsigned)rand() % 2;
        unsigned flags = (o == 2 ? JB_A64_UXTW : o == 3 ? JB_A64_SXTW : 0) | (sc || o == 1 ? JB_A64_SCALED : 0);
        start();
        jb_a64_load_r(&e, t, rt, rn, rm, flags);
        char ic = o >= 2 ? 'w' : 'x';
        if (o == 0 && !sc)
            is("%s %s, [%s, %s]", ld, Rg(c, rt), Rg('x', rn), Rg('x', rm));
        else if (flags & JB_A64_SCALED)
            is("%s %s, [%s, %s, %s %s]", ld, Rg(c, rt), Rg('x', rn), Rg(ic, rm),
               opt[o ? o : 1], I(size));
        else
            is("%s %s, [%s, %s, %s]", ld, Rg(c, rt), Rg('x', rn), Rg(ic, rm), opt[o]);
        /* pairs: w, x, s, d, and ldpsw */
        if (t == JB_S16)
            continue;
        unsigned t2 = (rt + 1 + (unsigned)rand() % 29) % 31;
        int32_t unit = 1 << size, poff = (rand() % 128 - 64) * unit;
        if (mode != JB_A64_OFFSET && (rn == rt || rn == t2) && t < 8)
            continue;
        const char *lp = t == JB_S32 ? "ldpsw" : "ldp";
        start();
        jb_a64_load_pair(&e, t, rt, t2, rn, poff, (jb_a64_mode)mode);
        if (mode == JB_A64_PRE)
            is("%s %s, %s, [%s, %s]!", lp, Rg(c, rt), Rg(c, t2), Rg('x', rn), I(poff));
        else if (mode == JB_A64_POST)
            is("%s %s, %s, [%s], %s", lp, Rg(c, rt), Rg(c, t2), Rg('x', rn), I(poff));
        else if (poff == 0)
            is("%s %s, %s, [%s]", lp, Rg(c, rt), Rg(c, t2), Rg('x', rn));
        else
            is("%s %s, %s, [%s, %s]", lp, Rg(c, rt), Rg(c, t2), Rg('x', rn), I(poff));
    }
}

Test(a64_sized, exclusive_and_ordered_access, .init = setup, .fini = teardown)
{
    static const char *const sfx[4] = {"b", "h", "", ""};
    for (int k = 0; k < 400; k++) {
        unsigned s = (unsigned)k % 4, rt = reg(), rn = 1 + reg() % 30, rs = reg();
        char c = s == 3 ? 'x' : 'w';
        int ord = k / 4 % 2;
        if (rs == rt || rs == rn)
            rs = (rs + 3) % 31 == rt || (rs + 3) % 31 == rn ? (rs + 7) % 31 : (rs + 3) % 31;
        if (rs == rt || rs == rn)
            continue;
        start();
        jb_a64_ldxr(&e, (jb_type)s, ord ? JB_A64_ACQUIRE : JB_A64_RELAXED, rt, rn);
        is("%s%s %s, [%s]", ord ? "ldaxr" : "ldxr", sfx[s], Rg(c, rt), Rg('x', rn));
        start();
        jb_a64_stxr(&e, (jb_type)s, ord ? JB_A64_RELEASE : JB_A64_RELAXED, rs, rt, rn);
        is("%s%s %s, %s, [%s]", ord ? "stlxr" : "stxr", sfx[s], Rg('w', rs), Rg(c, rt), Rg('x', rn));
        start();
        jb_a64_ldar(&e, (jb_type)s, rt, rn);
        is("ldar%s %s, [%s]", sfx[s], Rg(c, rt), Rg('x', rn));
        start();
        jb_a64_stlr(&e, (jb_type)s, rt, rn);
        is("stlr%s %s, [%s]", sfx[s], Rg(c, rt), Rg('x', rn));
    }
    static const struct { unsigned opt; const char *name; } b[4] = {
        {JB_A64_ISH, "ish"}, {JB_A64_ISHLD, "ishld"}, {JB_A64_ISHST, "ishst"}, {JB_A64_SY, "sy"}};
    for (int k = 0; k < 4; k++) {
        start();
        jb_a64_dmb(&e, b[k].opt);
        is("dmb %s", b[k].name);
        start();
        jb_a64_dsb(&e, b[k].opt);
        is("dsb %s", b[k].name);
    }
    start();
    jb_a64_isb(&e);
    is("isb");
}

Test(a64_sized, float_single_and_double, .init = setup, .fini = teardown)
{
    static const char *const f2[8] = {"fmul", "fdiv", "fadd", "fsub", "fmax", "fmin", "fmaxnm", "fminnm"};
    static const struct { jb_a64_fp_unop op; const char *mn; } f1[11] = {
        {JB_A64_F_MOV, "fmov"}, {JB_A64_F_ABS, "fabs"}, {JB_A64_F_NEG, "fneg"}, {JB_A64_F_SQRT, "fsqrt"},
        {JB_A64_F_RINTN, "frintn"}, {JB_A64_F_RINTP, "frintp"}, {JB_A64_F_RINTM, "frintm"},
        {JB_A64_F_RINTZ, "frintz"}, {JB_A64_F_RINTA, "frinta"}, {JB_A64_F_RINTX, "frintx"},
        {JB_A64_F_RINTI, "frinti"}};
    for (int k = 0; k < 2000; k++) {
        int dbl = k % 2;
        jb_type t = dbl ? JB_F64 : JB_F32;
        char c = dbl ? 'd' : 's';
        unsigned d = (unsigned)rand() % 32, n = (unsigned)rand() % 32, m = (unsigned)rand() % 32;
        unsigned cond = (unsigned)rand() % 16;
        start();
        jb_a64_fp(&e, t, (jb_a64_fp_op)(k / 2 % 8), d, n, m);
        is("%s %s, %s, %s", f2[k / 2 % 8], Rg(c, d), Rg(c, n), Rg(c, m));
        start();
        jb_a64_fp_un(&e, t, f1[k / 2 % 11].op, d, n);
        is("%s %s, %s", f1[k / 2 % 11].mn, Rg(c, d), Rg(c, n));
        start();
        jb_a64_fcvt(&e, t, d, n);
        is("fcvt %s, %s", Rg(c, d), Rg(dbl ? 's' : 'd', n));
        start();
        jb_a64_fcmp_sz(&e, t, n, m);
        is("fcmp %s, %s", Rg(c, n), Rg(c, m));
        start();
        jb_a64_fcmp0(&e, t, n);
        is("fcmp %s, #0.0", Rg(c, n));
        start();
        jb_a64_fcsel_sz(&e, t, d, n, m, (jb_a64_cond)cond);
        is("fcsel %s, %s, %s, %s", Rg(c, d), Rg(c, n), Rg(c, m), CC[cond]);
        static const jb_type it[4] = {JB_S32, JB_U32, JB_S64, JB_U64};
        jb_type i = it[k / 2 % 4];
        char ic = JB__SIZE(i) == 3 ? 'x' : 'w';
        unsigned r = reg();
        start();
        jb_a64_cvt_i2f(&e, t, i, d, r);
        is("%s %s, %s", JB__SIGNED(i) ? "scvtf" : "ucvtf", Rg(c, d), Rg(ic, r));
        start();
        jb_a64_cvt_f2i(&e, i, t, r, n);
        is("%s %s, %s", JB__SIGNED(i) ? "fcvtzs" : "fcvtzu", Rg(ic, r), Rg(c, n));
        start();
        jb_a64_fmov_to_fp(&e, t, d, r);
        is("fmov %s, %s", Rg(c, d), Rg(dbl ? 'x' : 'w', r));
        start();
        jb_a64_fmov_from_fp(&e, t, r, n);
        is("fmov %s, %s", Rg(dbl ? 'x' : 'w', r), Rg(c, n));
    }
}

/* Literal loads, cbz/cbnz of w and x: Capstone's target address. */
Test(a64_sized, pc_relative_typed_forms, .init = setup, .fini = teardown)
{
    static const struct { jb_type t; const char *mn; char c; } lit[5] = {
        {JB_I32, "ldr", 'w'}, {JB_I64, "ldr", 'x'}, {JB_S32, "ldrsw", 'x'}, {JB_F32, "ldr", 's'},
        {JB_F64, "ldr", 'd'}};
    for (int k = 0; k < 40; k++) {
        static uint8_t big[1024];
        jb_emit_free(&e);
        jb_emit_init(&e, big, sizeof big);
        jb_label l = jb_label_new(&e);
        unsigned r = reg(), pre = (unsigned)k * 3;
        int back = k % 2;
        if (back)
            jb_label_bind(&e, l);
        for (unsigned p = 0; p < pre; p++) jb_a64_nop(&e);
        size_t at = jb_emit_size(&e);
        if (k % 3 == 2)
            jb_a64_cbz_sz(&e, k % 4 < 2 ? JB_I32 : JB_I64, k % 5 == 0, r, l);
        else
            jb_a64_load_l(&e, lit[k % 5].t, r, l);
        if (!back) {
            for (unsigned p = 0; p < pre; p++) jb_a64_nop(&e);
            jb_label_bind(&e, l);
        }
        cr_assert_eq(jb_emit_finish(&e, NULL), 0, "%s", jb_last_error());
        cs_insn *i;
        cr_assert_eq(cs_disasm(cs, big + at, 4, at, 1, &i), 1);
        char want[64];
        long target = jb_label_offset(&e, l);
        if (k % 3 == 2)
            snprintf(want, sizeof want, "%s %s, %s", k % 5 == 0 ? "cbnz" : "cbz",
                     Rg(k % 4 < 2 ? 'w' : 'x', r), I(target));
        else
            snprintf(want, sizeof want, "%s %s, %s", lit[k % 5].mn, Rg(lit[k % 5].c, r), I(target));
        char got[256];
        snprintf(got, sizeof got, "%s %s", i->mnemonic, i->op_str);
        cs_free(i, 1);
        cr_assert_str_eq(got, want);
    }
}

/* ---- LSE atomics: llvm-mc, which knows them, assembles the same text ------- */

#define LSE_N 600
static uint32_t lse_words[LSE_N];
static char lse_text[LSE_N][48];

Test(a64_sized, lse_atomics_against_llvm_mc, .init = setup, .fini = teardown)
{
    static const char *const ops[9] = {"ldadd", "ldclr", "ldeor", "ldset", "ldsmax", "ldsmin",
                                       "ldumax", "ldumin", "swp"};
    static const char *const ord[4] = {"", "a", "l", "al"};
    static const char *const sfx[4] = {"b", "h", "", ""};
    for (int k = 0; k < LSE_N; k++) {
        unsigned s = (unsigned)k % 4, o = (unsigned)k / 4 % 4, op = (unsigned)k / 16 % 10;
        unsigned rs = reg(), rt = reg(), rn = 1 + reg() % 30;
        char c = s == 3 ? 'x' : 'w';
        start();
        if (op < 9) {
            jb_a64_atomic(&e, (jb_type)s, (jb_a64_atomic_op)op, (jb_a64_order)o, rs, rt, rn);
            snprintf(lse_text[k], 48, "%s%s%s %c%u, %c%u, [x%u]", ops[op], ord[o], sfx[s], c, rs, c,
                     rt, rn);
        } else {
            jb_a64_cas(&e, (jb_type)s, (jb_a64_order)o, rs, rt, rn);
            snprintf(lse_text[k], 48, "cas%s%s %c%u, %c%u, [x%u]", ord[o], sfx[s], c, rs, c, rt, rn);
        }
        cr_assert_eq(e.err, 0, "%s: %s", lse_text[k], jb_last_error());
        memcpy(&lse_words[k], buf, 4);
    }
    char path[] = "/tmp/jitbuf-lse-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (int k = 0; k < LSE_N; k++) fprintf(f, "%s\n", lse_text[k]);
    fclose(f);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "llvm-mc -triple=aarch64 -mattr=+lse -show-encoding < %s", path);
    FILE *p = popen(cmd, "r");
    cr_assert(p, "llvm-mc: run make deps");
    char line[256];
    int k = 0;
    while (fgets(line, sizeof line, p)) {
        char *enc = strstr(line, "encoding: [");
        if (!enc)
            continue;
        unsigned b[4];
        cr_assert_eq(sscanf(enc, "encoding: [0x%x,0x%x,0x%x,0x%x]", &b[0], &b[1], &b[2], &b[3]), 4);
        uint32_t want = b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24;
        cr_assert(k < LSE_N);
        cr_assert_eq(lse_words[k], want, "%s: jitbuf %08x, llvm-mc %08x", lse_text[k], lse_words[k], want);
        k++;
    }
    cr_assert_eq(pclose(p), 0, "llvm-mc failed: run make deps");
    unlink(path);
    cr_assert_eq(k, LSE_N, "llvm-mc encoded %d of %d lines", k, LSE_N);
}
