/* The x86_64 families in every size (8/16/32/64), with register, immediate
 * and memory operands, the atomics, pushes of immediates, label memory
 * operands with immediates after them, and scalar single and double
 * precision: each emitted instruction decoded by Capstone, whose mnemonic,
 * operand sizes, registers, immediates and memory operands must be the ones
 * asked for, over every register and randomised operands. */
#include "x64_decode.h"

TestSuite(x64_sized);

/* A random immediate that fits size s (either reading), edges first. */
static int64_t rand_imm(unsigned s, int k)
{
    static const int64_t edge[4][6] = {{0, 1, -1, 127, -128, 255},
                                       {0, -1, 127, 128, -32768, 65535},
                                       {0, -129, 128, INT32_MIN, INT32_MAX, 0xffffffffll},
                                       {0, -1, 127, -128, INT32_MIN, INT32_MAX}};
    if (k < 6)
        return edge[s][k];
    int64_t v = (int64_t)((uint64_t)rand() << 33 ^ (uint64_t)rand());
    int bits = s == 3 ? 32 : 8 << s;
    v = (int64_t)((uint64_t)v << (64 - bits)) >> (64 - bits); /* signed reading */
    return rand() % 2 && s < 3 ? (int64_t)((uint64_t)v & ((1ull << bits) - 1)) : v;
}

static const char *const ALU[12] = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp",
                                    "test", "mov", "xchg", "imul"};

Test(x64_sized, alu_every_size_and_shape, .init = setup, .fini = teardown)
{
    for (int k = 0; k < 3000; k++) {
        unsigned s = (unsigned)k % 4, op = (unsigned)(k / 4) % 12, d = (unsigned)rand() % 16,
                 r = (unsigned)rand() % 16, bytes = 1u << s;
        jb_type t = (jb_type)s;
        jb_x64_mem m = rand_mem();
        if (op == JB_X64_IMUL && s == 0)
            continue;
        start(); /* op d, r */
        jb_x64_alu_rr(&e, t, (jb_x64_alu)op, d, r);
        cs_insn *i = dec(ALU[op], 2);
        reg_is(i, 0, RN[s][d]);
        reg_is(i, 1, RN[s][r]);
        cs_free(i, 1);
        start(); /* op d, [m] */
        jb_x64_alu_rm(&e, t, (jb_x64_alu)op, d, m);
        i = dec(ALU[op], 2);
        if (op == JB_X64_TEST || op == JB_X64_XCHG) { /* decoded memory first */
            mem_is(i, 0, m, bytes);
            reg_is(i, 1, RN[s][d]);
        } else {
            reg_is(i, 0, RN[s][d]);
            mem_is(i, 1, m, bytes);
        }
        cs_free(i, 1);
        if (op != JB_X64_IMUL) { /* op [m], r */
            start();
            jb_x64_alu_mr(&e, t, (jb_x64_alu)op, m, r);
            i = dec(ALU[op], 2);
            mem_is(i, 0, m, bytes);
            reg_is(i, 1, RN[s][r]);
            cs_free(i, 1);
        }
        int64_t v = rand_imm(s, k % 12);
        if (op != JB_X64_XCHG) { /* op d, imm */
            start();
            jb_x64_alu_ri(&e, t, (jb_x64_alu)op, d, v);
            if (op == JB_X64_IMUL) {
                i = dec("imul", 3);
                reg_is(i, 0, RN[s][d]);
                reg_is(i, 1, RN[s][d]);
                imm_low_is(i, 2, v, bytes > 4 ? 4 : bytes);
            } else if (op == JB_X64_MOV && s == 3) {
                i = dec((uint64_t)v <= 0xffffffffu ? "mov" : "mov", 2);
                reg_is(i, 0, RN[(uint64_t)v <= 0xffffffffu ? 2 : 3][d]);
                imm_low_is(i, 1, v, (uint64_t)v <= 0xffffffffu ? 4 : 8);
            } else {
                i = dec(ALU[op], 2);
                reg_is(i, 0, RN[s][d]);
                imm_low_is(i, 1, v, bytes > 4 ? 4 : bytes);
            }
            cs_free(i, 1);
        }
        if (op <= JB_X64_MOV) { /* op [m], imm */
            start();
            jb_x64_alu_mi(&e, t, (jb_x64_alu)op, m, v);
            i = dec(ALU[op], 2);
            mem_is(i, 0, m, bytes);
            imm_low_is(i, 1, v, bytes > 4 ? 4 : bytes);
            cs_free(i, 1);
        }
        if (op < JB_X64_CMP) { /* lock op [m], r and lock op [m], imm */
            char mn[16];
            snprintf(mn, sizeof mn, "lock %s", ALU[op]);
            start();
            jb_x64_lock_alu_mr(&e, t, (jb_x64_alu)op, m, r);
            i = dec(mn, 2);
            mem_is(i, 0, m, bytes);
            reg_is(i, 1, RN[s][r]);
            cs_free(i, 1);
            start();
            jb_x64_lock_alu_mi(&e, t, (jb_x64_alu)op, m, v);
            i = dec(mn, 2);
            mem_is(i, 0, m, bytes);
            imm_low_is(i, 1, v, bytes > 4 ? 4 : bytes);
            cs_free(i, 1);
        }
    }
}

Test(x64_sized, unary_shift_and_count_every_size, .init = setup, .fini = teardown)
{
    static const char *const un[10] = {NULL, NULL, "not", "neg", "mul", "imul", "div", "idiv", "inc", "dec"};
    static const char *const sh[8] = {"rol", "ror", "rcl", "rcr", "shl", "shr", NULL, "sar"};
    static const char *const cn[5] = {"lzcnt", "tzcnt", "popcnt", "bsf", "bsr"};
    for (int k = 0; k < 2000; k++) {
        unsigned s = (unsigned)k % 4, r = (unsigned)rand() % 16, d = (unsigned)rand() % 16,
                 bytes = 1u << s;
        jb_type t = (jb_type)s;
        jb_x64_mem m = rand_mem();
        unsigned op = 2 + (unsigned)k % 8;
        start();
        jb_x64_unary_r(&e, t, (jb_x64_unop)op, r);
        cs_insn *i = dec(un[op], 1);
        reg_is(i, 0, RN[s][r]);
        cs_free(i, 1);
        start();
        jb_x64_unary_m(&e, t, (jb_x64_unop)op, m);
        i = dec(un[op], 1);
        mem_is(i, 0, m, bytes);
        cs_free(i, 1);
        unsigned so = (unsigned)(k / 4) % 8, n = (unsigned)rand() % (s == 3 ? 64 : 32);
        if (!sh[so])
            so = 4;
        if (k % 5 == 0)
            n = 1;
        start();
        jb_x64_shift_ri(&e, t, (jb_x64_shift)so, r, n);
        i = dec(sh[so], 2);
        reg_is(i, 0, RN[s][r]);
        imm_low_is(i, 1, n, 1);
        cs_free(i, 1);
        start();
        jb_x64_shift_mi(&e, t, (jb_x64_shift)so, m, n);
        i = dec(sh[so], 2);
        mem_is(i, 0, m, bytes);
        imm_low_is(i, 1, n, 1);
        cs_free(i, 1);
        start();
        jb_x64_shift_rcl(&e, t, (jb_x64_shift)so, r);
        i = dec(sh[so], 2);
        reg_is(i, 0, RN[s][r]);
        reg_is(i, 1, "cl");
        cs_free(i, 1);
        start();
        jb_x64_shift_mcl(&e, t, (jb_x64_shift)so, m);
        i = dec(sh[so], 2);
        mem_is(i, 0, m, bytes);
        reg_is(i, 1, "cl");
        cs_free(i, 1);
        if (s == 0)
            continue;
        unsigned c = (unsigned)k % 5;
        start();
        jb_x64_count_rr(&e, t, (jb_x64_count)c, d, r);
        i = dec(cn[c], 2);
        reg_is(i, 0, RN[s][d]);
        reg_is(i, 1, RN[s][r]);
        cs_free(i, 1);
        int64_t v = rand_imm(s, k % 12);
        start();
        jb_x64_imul3_rri(&e, t, d, r, v);
        i = dec("imul", 3);
        reg_is(i, 0, RN[s][d]);
        reg_is(i, 1, RN[s][r]);
        imm_low_is(i, 2, v, bytes > 4 ? 4 : bytes);
        cs_free(i, 1);
        start();
        jb_x64_imul3_rmi(&e, t, d, m, v);
        i = dec("imul", 3);
        reg_is(i, 0, RN[s][d]);
        mem_is(i, 1, m, bytes);
        imm_low_is(i, 2, v, bytes > 4 ? 4 : bytes);
        cs_free(i, 1);
        if (s >= 2) {
            start();
            jb_x64_bswap(&e, t, r);
            i = dec("bswap", 1);
            reg_is(i, 0, RN[s][r]);
            cs_free(i, 1);
        }
    }
    static const char *const cdq[4] = {"cbw", "cwd", "cdq", "cqo"};
    for (unsigned s = 0; s < 4; s++) {
        start();
        jb_x64_cdq(&e, (jb_type)s);
        cs_insn *i = dec(cdq[s], 0);
        cs_free(i, 1);
    }
}

Test(x64_sized, atomics_pushes_fences, .init = setup, .fini = teardown)
{
    for (int k = 0; k < 400; k++) {
        unsigned s = (unsigned)k % 4, r = (unsigned)rand() % 16, bytes = 1u << s;
        jb_x64_mem m = rand_mem();
        start();
        jb_x64_lock_xadd(&e, (jb_type)s, m, r);
        cs_insn *i = dec("lock xadd", 2);
        mem_is(i, 0, m, bytes);
        reg_is(i, 1, RN[s][r]);
        cs_free(i, 1);
        start();
        jb_x64_lock_cmpxchg(&e, (jb_type)s, m, r);
        i = dec("lock cmpxchg", 2);
        mem_is(i, 0, m, bytes);
        reg_is(i, 1, RN[s][r]);
        cs_free(i, 1);
        start();
        jb_x64_xchg_mr(&e, (jb_type)s, m, r);
        i = dec("xchg", 2);
        mem_is(i, 0, m, bytes);
        reg_is(i, 1, RN[s][r]);
        cs_free(i, 1);
        int64_t v = rand_imm(3, k % 12);
        start();
        jb_x64_push_i(&e, v);
        i = dec("push", 1);
        imm_low_is(i, 0, v, 8);
        cr_assert_eq(i->size, jb_x64__fits8(v) ? 2 : 5);
        cs_free(i, 1);
    }
    start();
    jb_x64_mfence(&e);
    cs_free(dec("mfence", 0), 1);
    start();
    jb_x64_pause(&e);
    cs_free(dec("pause", 0), 1);
}

/* [rip + l] in forms with an immediate after the displacement: the
 * displacement counts from the end of the instruction. */
Test(x64_sized, label_memory_operands_with_immediates, .init = setup, .fini = teardown)
{
    for (int k = 0; k < 64; k++) {
        unsigned s = (unsigned)k % 4, fwd = (unsigned)k / 4 % 2, form = (unsigned)k / 8 % 4;
        start();
        jb_label l = jb_label_new(&e);
        if (!fwd) {
            jb_label_bind(&e, l);
            jb_x64_nops(&e, (size_t)k);
        }
        size_t at = jb_emit_size(&e);
        int64_t v = s == 0 ? 0x7f : -5 * k;
        if (form == 0) jb_x64_alu_mi(&e, (jb_type)s, JB_X64_CMP, jb_x64_mem_l(l), v);
        if (form == 1) jb_x64_alu_mi(&e, (jb_type)s, JB_X64_MOV, jb_x64_mem_l(l), v);
        if (form == 2) jb_x64_shift_mi(&e, (jb_type)s, JB_X64_SAR, jb_x64_mem_l(l), 3);
        if (form == 3) jb_x64_imul3_rmi(&e, s ? (jb_type)s : JB_I16, JB_X64_R9, jb_x64_mem_l(l), 1000);
        size_t len = jb_emit_size(&e) - at;
        if (fwd) {
            cr_assert(buf[at] == 0x0f && buf[at + 1] == 0x0b, "unbound: not ud2");
            jb_x64_nops(&e, 3 + (size_t)k);
            jb_label_bind(&e, l);
        }
        cr_assert_eq(jb_emit_finish(&e, NULL), 0, "%s", jb_last_error());
        cs_insn *i;
        cr_assert_eq(cs_disasm(cs, buf + at, len, at, 1, &i), 1);
        cr_assert_eq(i->size, len);
        cs_x86_op *mo = &i->detail->x86.operands[form == 3 ? 1 : 0];
        cr_assert_eq(mo->mem.base, X86_REG_RIP, "%s %s", i->mnemonic, i->op_str);
        cr_assert_eq(at + len + (size_t)mo->mem.disp, (size_t)jb_label_offset(&e, l),
                     "%s %s: [rip + %lld] misses the label", i->mnemonic, i->op_str,
                     (long long)mo->mem.disp);
        cs_free(i, 1);
    }
    /* call qword [rip + l]: an absolute address stored at l */
    start();
    jb_label slot = jb_label_new(&e);
    jb_x64_call_m(&e, jb_x64_mem_l(slot));
    jb_x64_ret(&e);
    jb_label_bind(&e, slot);
    cr_assert_eq(jb_emit_finish(&e, NULL), 0);
    cs_insn *i;
    cr_assert_eq(cs_disasm(cs, buf, 6, 0, 1, &i), 1);
    cr_assert_str_eq(i->mnemonic, "call");
    cr_assert_eq(i->detail->x86.operands[0].mem.disp, 1, "%s", i->op_str);
    cs_free(i, 1);
}

Test(x64_sized, scalar_float_single_and_double, .init = setup, .fini = teardown)
{
    static const struct { jb_x64_fp_op op; const char *mn; } ar[7] = {
        {JB_X64_FADD, "add"}, {JB_X64_FSUB, "sub"}, {JB_X64_FMUL, "mul"}, {JB_X64_FDIV, "div"},
        {JB_X64_FSQRT, "sqrt"}, {JB_X64_FMIN, "min"}, {JB_X64_FMAX, "max"}};
    static const char *const lg[4] = {"and", "andn", "or", "xor"};
    char mn[24];
    for (int k = 0; k < 1024; k++) {
        unsigned d = (unsigned)k % 16, s = (unsigned)rand() % 16, dbl = (unsigned)k / 16 % 2;
        jb_type t = dbl ? JB_F64 : JB_F32;
        const char *sfx = dbl ? "sd" : "ss", *pk = dbl ? "pd" : "ps";
        unsigned bytes = dbl ? 8 : 4, a = (unsigned)k % 7;
        jb_x64_mem m = rand_mem();
        snprintf(mn, sizeof mn, "%s%s", ar[a].mn, sfx);
        start();
        jb_x64_fp_xx(&e, t, ar[a].op, d, s);
        cs_insn *i = dec(mn, 2);
        reg_is(i, 0, XN[d]);
        reg_is(i, 1, XN[s]);
        cs_free(i, 1);
        start();
        jb_x64_fp_xm(&e, t, ar[a].op, d, m);
        i = dec(mn, 2);
        reg_is(i, 0, XN[d]);
        mem_is(i, 1, m, bytes);
        cs_free(i, 1);
        snprintf(mn, sizeof mn, "%s%s", lg[k % 4], pk);
        start();
        jb_x64_flogic_xx(&e, t, (jb_x64_flogic)(JB_X64_FAND + k % 4), d, s);
        i = dec(mn, 2);
        reg_is(i, 0, XN[d]);
        reg_is(i, 1, XN[s]);
        cs_free(i, 1);
        snprintf(mn, sizeof mn, "ucomis%c", dbl ? 'd' : 's');
        start();
        jb_x64_fcmp_xx(&e, t, d, s);
        i = dec(mn, 2);
        reg_is(i, 0, XN[d]);
        reg_is(i, 1, XN[s]);
        cs_free(i, 1);
        start();
        jb_x64_fcmp_xm(&e, t, d, m);
        i = dec(mn, 2);
        mem_is(i, 1, m, bytes);
        cs_free(i, 1);
        snprintf(mn, sizeof mn, "round%s", sfx);
        start();
        jb_x64_round(&e, t, d, s, (jb_x64_round_mode)(k % 4));
        i = dec(mn, 3);
        reg_is(i, 0, XN[d]);
        reg_is(i, 1, XN[s]);
        imm_low_is(i, 2, 8 | k % 4, 1);
        cs_free(i, 1);
        unsigned is = 2 + (unsigned)k / 2 % 2; /* 32 or 64-bit integer side */
        jb_type si = (jb_type)(is | 4);         /* signed: all these convert */
        snprintf(mn, sizeof mn, "cvtsi2%s", sfx);
        start();
        jb_x64_cvt_i2f(&e, t, si, d, s);
        i = dec(mn, 2);
        reg_is(i, 0, XN[d]);
        reg_is(i, 1, RN[is][s]);
        cs_free(i, 1);
        snprintf(mn, sizeof mn, "cvtt%s2si", sfx);
        start();
        jb_x64_cvtt_f2i(&e, si, t, d, s);
        i = dec(mn, 2);
        reg_is(i, 0, RN[is][d]);
        reg_is(i, 1, XN[s]);
        cs_free(i, 1);
        snprintf(mn, sizeof mn, "cvt%s2si", sfx);
        start();
        jb_x64_cvt_f2i(&e, si, t, d, s);
        i = dec(mn, 2);
        reg_is(i, 0, RN[is][d]);
        cs_free(i, 1);
        start();
        jb_x64_cvt_f2f(&e, t, d, s);
        i = dec(dbl ? "cvtss2sd" : "cvtsd2ss", 2);
        reg_is(i, 0, XN[d]);
        reg_is(i, 1, XN[s]);
        cs_free(i, 1);
        start();
        jb_x64_movd_xr(&e, (jb_type)is, d, s);
        i = dec(is == 2 ? "movd" : "movq", 2);
        reg_is(i, 0, XN[d]);
        reg_is(i, 1, RN[is][s]);
        cs_free(i, 1);
        start();
        jb_x64_movd_rx(&e, (jb_type)is, d, s);
        i = dec(is == 2 ? "movd" : "movq", 2);
        reg_is(i, 0, RN[is][d]);
        reg_is(i, 1, XN[s]);
        cs_free(i, 1);
        start();
        jb_x64_fmov_xx(&e, d, s);
        i = dec("movaps", 2);
        cs_free(i, 1);
        snprintf(mn, sizeof mn, "mov%s", sfx);
        start();
        jb_x64_load(&e, t, d, m);
        i = dec(mn, 2);
        reg_is(i, 0, XN[d]);
        mem_is(i, 1, m, bytes);
        cs_free(i, 1);
        start();
        jb_x64_store(&e, t, m, s);
        i = dec(mn, 2);
        mem_is(i, 0, m, bytes);
        reg_is(i, 1, XN[s]);
        cs_free(i, 1);
    }
}
