/* arm64 emitters, executed under qemu-aarch64 (`make check-arm64`): each
 * generated function is installed through jitbuf's write path (dualmap)
 * and compared with the same computation in C over edge and random
 * operands. Self-contained (harness.h): Criterion hangs under qemu-user. */
#include <math.h>
#include <setjmp.h>
#include <signal.h>

#include "exec.h"
#include "jitbuf/arm64.h"

static uint8_t code[8192];

/* ---- integer operations: long f(long a = x0, long b = x1) -> x0 ------- */

enum {
    OP_LSL, OP_LSR, OP_ASR, OP_ROR, OP_LSL_R, OP_LSR_R, OP_ASR_R, OP_ROR_R, OP_MUL,
    OP_MADD, OP_MSUB, OP_SDIV, OP_UDIV, OP_SREM, OP_SMULH, OP_UMULH, OP_NEG, OP_MVN,
    OP_AND_I, OP_ORR_I, OP_EOR_I, OP_BIC, OP_ORN, OP_CSEL, OP_CSINC, OP_CSET, OP_CSNEG,
    OP_TST_I, OP_S8, OP_U8, OP_S16, OP_U16, OP_S32, OP_U32, N_OPS
};

static void emit_op(jb_emit *e, int op)
{
    switch (op) {
    case OP_LSL: jb_a64_lsl(e, 0, 0, 13); break;
    case OP_LSR: jb_a64_lsr(e, 0, 0, 1); break;
    case OP_ASR: jb_a64_asr(e, 0, 0, 63); break;
    case OP_ROR: jb_a64_ror(e, 0, 0, 40); break;
    case OP_LSL_R: jb_a64_lsl_r(e, 0, 0, 1); break;
    case OP_LSR_R: jb_a64_lsr_r(e, 0, 0, 1); break;
    case OP_ASR_R: jb_a64_asr_r(e, 0, 0, 1); break;
    case OP_ROR_R: jb_a64_ror_r(e, 0, 0, 1); break;
    case OP_MUL: jb_a64_mul(e, 0, 0, 1); break;
    case OP_MADD: jb_a64_madd(e, 0, 0, 1, 0); break;  /* a + a * b */
    case OP_MSUB: jb_a64_msub(e, 0, 0, 1, 1); break;  /* b - a * b */
    case OP_SDIV: jb_a64_sdiv(e, 0, 0, 1); break;
    case OP_UDIV: jb_a64_udiv(e, 0, 0, 1); break;
    case OP_SREM: /* a - (a / b) * b */
        jb_a64_sdiv(e, 2, 0, 1);
        jb_a64_msub(e, 0, 2, 1, 0);
        break;
    case OP_SMULH: jb_a64_smulh(e, 0, 0, 1); break;
    case OP_UMULH: jb_a64_umulh(e, 0, 0, 1); break;
    case OP_NEG: jb_a64_neg(e, 0, 0); break;
    case OP_MVN: jb_a64_mvn(e, 0, 0); break;
    case OP_AND_I: jb_a64_and_imm(e, 0, 0, 0x7ff0); break;
    case OP_ORR_I: jb_a64_orr_imm(e, 0, 0, 0xffffffffffffff00ull); break;
    case OP_EOR_I: jb_a64_eor_imm(e, 0, 0, 0x5555555555555555ull); break;
    case OP_BIC: jb_a64_bic(e, 0, 0, 1); break;
    case OP_ORN: jb_a64_orn(e, 0, 0, 1); break;
    case OP_CSEL: jb_a64_cmp(e, 0, 1); jb_a64_csel(e, 0, 0, 1, JB_A64_LT); break; /* min */
    case OP_CSINC: jb_a64_cmp(e, 0, 1); jb_a64_csinc(e, 0, 0, 1, JB_A64_HI); break;
    case OP_CSET: jb_a64_cmp(e, 0, 1); jb_a64_cset(e, 0, JB_A64_LO); break;
    case OP_CSNEG: jb_a64_cmp_imm(e, 0, 0); jb_a64_csneg(e, 0, 0, 0, JB_A64_GE); break; /* abs */
    case OP_TST_I: jb_a64_tst_imm(e, 0, 0x80); jb_a64_cset(e, 0, JB_A64_NE); break;
    default: {
        static const jb_a64_width ext[6] = {JB_A64_S8, JB_A64_U8, JB_A64_S16, JB_A64_U16,
                                          JB_A64_S32, JB_A64_U32};
        jb_a64_extend(e, ext[op - OP_S8], 0, 0);
    }
    }
    jb_a64_ret(e);
}

/* The same in C, with arm64's division rules: x / 0 = 0, INT64_MIN / -1 =
 * INT64_MIN (no trap, unlike x86). */
static int64_t ref_op(int op, int64_t a, int64_t b, int *skip)
{
    (void)skip; /* arm64 division does not trap */
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    unsigned c = (unsigned)b & 63;
    int64_t q = !b ? 0 : (a == INT64_MIN && b == -1) ? INT64_MIN : a / b;
    switch (op) {
    case OP_LSL: return (int64_t)(ua << 13);
    case OP_LSR: return (int64_t)(ua >> 1);
    case OP_ASR: return a < 0 ? -1 : 0;
    case OP_ROR: return (int64_t)(ua >> 40 | ua << 24);
    case OP_LSL_R: return (int64_t)(ua << c);
    case OP_LSR_R: return (int64_t)(ua >> c);
    case OP_ASR_R: return a >> c;
    case OP_ROR_R: return (int64_t)(c ? (ua >> c | ua << (64 - c)) : ua);
    case OP_MUL: return (int64_t)(ua * ub);
    case OP_MADD: return (int64_t)(ua + ua * ub);
    case OP_MSUB: return (int64_t)(ub - ua * ub);
    case OP_SDIV: return q;
    case OP_UDIV: return ub ? (int64_t)(ua / ub) : 0;
    case OP_SREM: return (int64_t)(ua - (uint64_t)q * ub);
    case OP_SMULH: return (int64_t)(((__int128)a * b) >> 64);
    case OP_UMULH: return (int64_t)(((unsigned __int128)ua * ub) >> 64);
    case OP_NEG: return (int64_t)(0 - ua);
    case OP_MVN: return ~a;
    case OP_AND_I: return a & 0x7ff0;
    case OP_ORR_I: return (int64_t)(ua | 0xffffffffffffff00ull);
    case OP_EOR_I: return (int64_t)(ua ^ 0x5555555555555555ull);
    case OP_BIC: return a & ~b;
    case OP_ORN: return a | ~b;
    case OP_CSEL: return a < b ? a : b;
    case OP_CSINC: return ua > ub ? a : (int64_t)(ub + 1);
    case OP_CSET: return ua < ub;
    case OP_CSNEG: return a >= 0 ? a : (int64_t)(0 - ua);
    case OP_TST_I: return (a & 0x80) != 0;
    case OP_S8: return (int8_t)a;
    case OP_U8: return (uint8_t)a;
    case OP_S16: return (int16_t)a;
    case OP_U16: return (uint16_t)a;
    case OP_S32: return (int32_t)a;
    default: return (uint32_t)a;
    }
}

static void integer_operations(void)
{
    check_ops(N_OPS, emit_op, ref_op);
}

/* mov_imm over constants of every shape, including bitmask and
 * orr + movk ones, into every register it allows. */
static void constants(void)
{
    for (unsigned k = 0; k < 3 * N_OPERANDS; k++) {
        int64_t v = operand(k % N_OPERANDS);
        if (k >= N_OPERANDS) v = (int64_t)(0x00ff00ff00ff00ffull << (k % 8)) ^ (k >= 2 * N_OPERANDS ? (int64_t)k << 16 : 0);
        unsigned rd = k % 29; /* x0..x28: never fp/lr; saved, as x19.. are the caller's */
        jb_emit e;
        jb_emit_init(&e, code, sizeof code);
        jb_a64_store(&e, JB_I64, rd, JB_A64_SP, -16, JB_A64_PRE);
        jb_a64_mov_imm(&e, rd, (uint64_t)v);
        jb_a64_mov_rr(&e, 0, rd);
        if (rd)
            jb_a64_load(&e, JB_A64_X64, rd, JB_A64_SP, 16, JB_A64_POST);
        else
            jb_a64_add_imm(&e, JB_A64_SP, JB_A64_SP, 16);
        jb_a64_ret(&e);
        fn2 f = (fn2)install(&e);
        jb_emit_free(&e);
        CHECK(f && f(0, 0) == v, "mov_imm x%u, %#llx", rd, (unsigned long long)v);
    }
}

/* ---- memory -------------------------------------------------------------- */

/* long f(uint8_t *p, long i): a load of each width in each addressing mode,
 * the store of its low bytes back at p + 40, and for pre/post-index the
 * base's written-back value. */
static void memory_widths_and_modes(void)
{
    uint8_t mem[64];
    for (unsigned w = 0; w < 7; w++)
        for (unsigned mode = 0; mode < 4; mode++) { /* offset, pre, post, register */
            unsigned size = w / 2;
            jb_emit e;
            jb_emit_init(&e, code, sizeof code);
            jb_a64_mov_rr(&e, 9, 0);
            if (mode == 3)
                jb_a64_load_r(&e, W7[w], 2, 0, 1, JB_A64_SCALED);
            else
                jb_a64_load(&e, W7[w], 2, 0, (int32_t)(4u << size) - (mode == 1),
                            (jb_a64_mode)mode);
            jb_a64_store(&e, (jb_type)size, 2, 9, 40, JB_A64_OFFSET);
            jb_a64_sub(&e, 3, 0, 9); /* how far the base moved */
            jb_a64_lsl(&e, 3, 3, 56);
            jb_a64_eor(&e, 0, 2, 3);
            jb_a64_ret(&e);
            fn2 f = (fn2)install(&e);
            jb_emit_free(&e);
            CHECK(f, "width %u mode %u", w, mode);
            for (int64_t i = 0; i < 3; i++) {
                for (unsigned k = 0; k < sizeof mem; k++) mem[k] = (uint8_t)(0x81 + 37 * k + 11 * i);
                int32_t off = mode == 3 ? (int32_t)(i << size) : mode == 2 ? 0
                              : (int32_t)(4u << size) - (mode == 1);
                int64_t moved = mode == 1 || mode == 2 ? (int32_t)(4u << size) - (mode == 1) : 0;
                const uint8_t *src = mem + off;
                int64_t v = widen(w, src);
                int64_t want = v ^ (int64_t)((uint64_t)moved << 56);
                int64_t got = f((int64_t)(uintptr_t)mem, i);
                CHECK(got == want, "width %u mode %u i %lld: %llx want %llx", w, mode,
                      (long long)i, (unsigned long long)got, (unsigned long long)want);
                CHECK(!memcmp(mem + 40, &v, 1u << size), "store of %u bytes", 1u << size);
            }
        }
}

/* ldp/stp with writeback, register offsets with a negative sxtw index. */
static void pairs_and_indexes(void)
{
    int64_t buf[8] = {0};
    jb_emit e;
    jb_emit_init(&e, code, sizeof code);
    /* f(int64_t *p, long v): p[1] = v, p[2] = v + 1 (stp pre-index from p + 0),
     * then p[-1 + 4] via sxtw index -1 from p + 4, returns p[1] + p[2] read by
     * ldp post-index plus the written-back base minus p. */
    jb_a64_mov_rr(&e, 9, 0);
    jb_a64_add_imm(&e, 2, 1, 1);
    jb_a64_stp(&e, 1, 2, 0, 8, JB_A64_PRE);       /* x0 = p + 1 */
    jb_a64_add_imm(&e, 10, 9, 32);                 /* p + 4 */
    jb_a64_movn(&e, 11, 0, 0);                     /* -1 */
    jb_a64_store_r(&e, JB_I64, 2, 10, 11, JB_A64_SXTW | JB_A64_SCALED); /* p[3] = v + 1 */
    jb_a64_ldp(&e, 3, 4, 0, 16, JB_A64_POST);      /* x3 = p[1], x4 = p[2]; x0 = p + 3 */
    jb_a64_add(&e, 3, 3, 4);
    jb_a64_sub(&e, 0, 0, 9);
    jb_a64_add(&e, 0, 0, 3);
    jb_a64_ret(&e);
    int64_t (*f)(int64_t *, int64_t) = (int64_t (*)(int64_t *, int64_t))install(&e);
    jb_emit_free(&e);
    CHECK(f, "install");
    for (int64_t v = -3; v < 40; v += 7) {
        int64_t got = f(buf, v);
        CHECK(buf[1] == v && buf[2] == v + 1 && buf[3] == v + 1 && buf[0] == 0 && buf[4] == 0,
              "memory %lld %lld %lld", (long long)buf[1], (long long)buf[2], (long long)buf[3]);
        CHECK(got == 24 + 2 * v + 1, "returned %lld", (long long)got);
    }
}

/* A frame with locals, a call to C through blr, tbz/tbnz loops, an adr
 * jump into a case and a literal pool. */
static int64_t seen_args[3];
static int64_t callee(int64_t a, int64_t b, int64_t c)
{
    seen_args[0] = a;
    seen_args[1] = b;
    seen_args[2] = c;
    return a * 100 + b * 10 + c;
}

static void frames_calls_and_labels(void)
{
    jb_emit e;
    jb_emit_init(&e, code, sizeof code);
    jb_label pool = jb_label_new(&e), loop = jb_label_new(&e), skip = jb_label_new(&e),
             target = jb_label_new(&e), back = jb_label_new(&e);
    /* f(n): count set bits of n with a tbz loop, call callee(bits, pool, n & 1)
     * from a frame, jump through adr + br, return callee's result. */
    jb_a64_frame_enter(&e, 48);
    jb_a64_str(&e, 19, JB_A64_SP, 0);
    jb_a64_movz(&e, 19, 0, 0);
    jb_a64_mov_rr(&e, 2, 0);
    jb_label_bind(&e, loop);
    jb_a64_cbz(&e, 2, skip);
    jb_a64_tbz(&e, 2, 0, back);
    jb_a64_add_imm(&e, 19, 19, 1);
    jb_label_bind(&e, back);
    jb_a64_lsr(&e, 2, 2, 1);
    jb_a64_b(&e, loop);
    jb_label_bind(&e, skip);
    jb_a64_and_imm(&e, 2, 0, 1);
    jb_a64_tbnz(&e, 0, 63, skip); /* never taken for n >= 0 */
    jb_a64_mov_rr(&e, 0, 19);
    jb_a64_ldr_l(&e, 1, pool);
    jb_a64_mov_imm(&e, 9, (uint64_t)(uintptr_t)callee);
    jb_a64_blr(&e, 9);
    jb_a64_adr(&e, 9, target);
    jb_a64_br(&e, 9);
    jb_a64_brk(&e, 1); /* skipped by the br */
    jb_a64_align(&e, 16);
    jb_label_bind(&e, target);
    jb_a64_ldr(&e, 19, JB_A64_SP, 0);
    jb_a64_frame_leave(&e);
    jb_a64_ret(&e);
    jb_a64_align(&e, 8);
    jb_label_bind(&e, pool);
    static const int64_t seven = 7;
    jb_emit_data(&e, &seven, 8);
    int64_t (*f)(int64_t) = (int64_t (*)(int64_t))install(&e);
    jb_emit_free(&e);
    CHECK(f, "install");
    for (int64_t n = 0; n < 300; n += 13) {
        int64_t got = f(n);
        int64_t bits = __builtin_popcountll((unsigned long long)n);
        CHECK(seen_args[0] == bits && seen_args[1] == 7 && seen_args[2] == (n & 1),
              "callee saw %lld %lld %lld", (long long)seen_args[0], (long long)seen_args[1],
              (long long)seen_args[2]);
        CHECK(got == bits * 100 + 70 + (n & 1), "f(%lld) = %lld", (long long)n, (long long)got);
    }
}

/* ---- doubles: double f(double x = d0, long n = x0) ----------------------- */

static void doubles(void)
{
    static const double xs[] = {0.0, -0.0, 1.0, -2.5, 3.14159, 1e300, -1e-300, 12345.678, 0.1};
    static const double third = 1.0 / 3.0, three = 3.0;
    jb_emit e;
    jb_emit_init(&e, code, sizeof code);
    jb_label k3 = jb_label_new(&e), kthird = jb_label_new(&e);
    jb_a64_fmul(&e, 1, 0, 0);
    jb_a64_scvtf(&e, 2, 0);
    jb_a64_fadd(&e, 1, 1, 2);
    jb_a64_fldr_l(&e, 5, kthird);
    jb_a64_fmul(&e, 1, 1, 5);
    jb_a64_fsqrt(&e, 6, 1);
    jb_a64_fmov_dx(&e, 3, 31);         /* +0.0 */
    jb_a64_fcmp(&e, 1, 3);
    jb_a64_fcsel(&e, 1, 6, 1, JB_A64_GT); /* sqrt(y) if y > 0 */
    jb_a64_fcmp(&e, 1, 0);
    jb_a64_fcsel(&e, 1, 1, 0, JB_A64_GT); /* y > x ? y : x */
    jb_a64_fldr_l(&e, 4, k3);
    jb_a64_fsub(&e, 1, 1, 4);
    jb_a64_fdiv(&e, 1, 1, 4);
    jb_a64_fmov_xd(&e, 9, 1);
    jb_a64_fmov_dx(&e, 0, 9);
    jb_a64_ret(&e);
    jb_a64_align(&e, 8);
    jb_label_bind(&e, kthird);
    jb_emit_data(&e, &third, 8);
    jb_label_bind(&e, k3);
    jb_emit_data(&e, &three, 8);
    double (*f)(double, int64_t) = (double (*)(double, int64_t))install(&e);
    jb_emit_free(&e);
    CHECK(f, "install");
    for (unsigned i = 0; i < sizeof xs / sizeof xs[0]; i++)
        for (int64_t n = -5; n <= 5; n += 2) {
            double x = xs[i];
            double y = x * x;
            y = y + (double)n;
            y = y * third;
            if (y > 0.0) y = sqrt(y);
            y = y > x ? y : x;
            y = (y - 3.0) / 3.0;
            double got = f(x, n);
            CHECK(memcmp(&got, &y, 8) == 0, "f(%g, %lld) = %.17g, want %.17g", x, (long long)n,
                  got, y);
        }
    /* conversions, abs/neg/min/max, and a double through memory */
    jb_emit_init(&e, code, sizeof code);
    jb_a64_fabs(&e, 1, 0);
    jb_a64_fneg(&e, 2, 1);
    jb_a64_fmin(&e, 3, 0, 2);  /* -|x| */
    jb_a64_fmax(&e, 4, 0, 1);  /* |x| */
    jb_a64_fsub(&e, 4, 4, 3);  /* 2|x| */
    jb_a64_fstore(&e, 4, JB_A64_SP, -16, JB_A64_PRE);
    jb_a64_fload(&e, 5, JB_A64_SP, 16, JB_A64_POST);
    jb_a64_fcvtzs(&e, 0, 5);
    jb_a64_fcvtzu(&e, 1, 1);
    jb_a64_ucvtf(&e, 6, 1);
    jb_a64_fcvtzs(&e, 2, 6);
    jb_a64_movz(&e, 3, 1000, 0);
    jb_a64_madd(&e, 0, 2, 3, 0);   /* trunc(2|x|) + 1000 * trunc(|x|) */
    jb_a64_ret(&e);
    int64_t (*g)(double) = (int64_t (*)(double))install(&e);
    jb_emit_free(&e);
    CHECK(g, "install");
    static const double cv[] = {0.5, 1.5, 2.5, -0.5, -1.7, 123456.789, -98765.4321};
    for (unsigned i = 0; i < sizeof cv / sizeof cv[0]; i++) {
        double a = fabs(cv[i]);
        int64_t want = (int64_t)(2 * a) + 1000 * (int64_t)(uint64_t)a;
        CHECK(g(cv[i]) == want, "convert %g: %lld want %lld", cv[i], (long long)g(cv[i]),
              (long long)want);
    }
}

/* ---- the sized families: w and x forms against C ---------------------------- */

enum {
    F_ADD_SH, F_SUB_SH_W, F_EON_ROR, F_ADD_EXT_SXTW, F_SUB_EXT_UXTB_W, F_ADDS_IMM_NEG,
    F_AND_IMM_W, F_BIC_IMM, F_BIC_IMM_W, F_ORN_IMM_W, F_CCMP, F_CCMN_IMM, F_LSL_W, F_ASR_W, F_ROR_W, F_LSR_R_W,
    F_UBFX, F_SBFX_W, F_BFI, F_BFXIL_W, F_UBFIZ, F_SBFIZ_W, F_RBIT_W, F_REV16, F_REV32,
    F_REV_W, F_CLZ_W, F_CLS, F_UDIV_W, F_SDIV_W, F_MUL_W, F_MSUB_W, F_SMADDL, F_UMSUBL,
    F_CSNEG_W, F_CSINV_W, F_MOVK_W, N_FORMS
};

static void emit_form(jb_emit *e, int op)
{
    const jb_type W = JB_I32, X = JB_I64;
    switch (op) {
    case F_ADD_SH: jb_a64_alu_sh(e, X, JB_A64_ADD, 0, 0, 1, JB_A64_LSL, 3); break;
    case F_SUB_SH_W: jb_a64_alu_sh(e, W, JB_A64_SUB, 0, 0, 1, JB_A64_ASR, 7); break;
    case F_EON_ROR: jb_a64_alu_sh(e, X, JB_A64_EON, 0, 0, 1, JB_A64_ROR, 13); break;
    case F_ADD_EXT_SXTW: jb_a64_alu_ext(e, X, JB_A64_ADD, 0, 0, 1, JB_A64_SXTW_EXT, 2); break;
    case F_SUB_EXT_UXTB_W: jb_a64_alu_ext(e, W, JB_A64_SUB, 0, 0, 1, JB_A64_UXTB, 1); break;
    case F_ADDS_IMM_NEG: /* x0 = a - 0x123000, carry into x1's place via cset */
        jb_a64_alu_imm(e, X, JB_A64_ADDS, 0, 0, -0x123000);
        jb_a64_cset_sz(e, X, 1, JB_A64_HS);
        jb_a64_alu_sh(e, X, JB_A64_EOR, 0, 0, 1, JB_A64_LSL, 63);
        break;
    case F_AND_IMM_W: jb_a64_alu_imm(e, W, JB_A64_AND, 0, 0, 0xff00ff00); break;
    case F_BIC_IMM: jb_a64_alu_imm(e, X, JB_A64_BIC, 0, 0, 0x0000ffff0000ffffll); break;
    /* w forms complement 32 bits: a sign-extended value and a plain one */
    case F_BIC_IMM_W: jb_a64_alu_imm(e, W, JB_A64_BIC, 0, 0, (int64_t)0xffffffffff00ff00ull); break;
    case F_ORN_IMM_W: jb_a64_alu_imm(e, W, JB_A64_ORN, 0, 0, 0xfffffff0); break;
    case F_CCMP: /* (a == 5 && b > a) ? 1 : 0, unsigned */
        jb_a64_alu_imm(e, X, JB_A64_SUBS, 31, 0, 5);
        jb_a64_ccmp_r(e, X, JB_A64_CCMP, 1, 0, 0, JB_A64_EQ);
        jb_a64_cset(e, 0, JB_A64_HI);
        break;
    case F_CCMN_IMM: /* (w0 != 0 && w1 + 7 == 0): if ne, flags = cmn(w1, 7), else Z clear */
        jb_a64_alu_imm(e, W, JB_A64_SUBS, 31, 0, 0);
        jb_a64_ccmp_i(e, W, JB_A64_CCMN, 1, 7, 0, JB_A64_NE);
        jb_a64_cset_sz(e, W, 0, JB_A64_EQ);
        break;
    case F_LSL_W: jb_a64_shift(e, W, JB_A64_LSL, 0, 0, 7); break;
    case F_ASR_W: jb_a64_shift(e, W, JB_A64_ASR, 0, 0, 31); break;
    case F_ROR_W: jb_a64_shift(e, W, JB_A64_ROR, 0, 0, 9); break;
    case F_LSR_R_W: jb_a64_shift_r(e, W, JB_A64_LSR, 0, 0, 1); break;
    case F_UBFX: jb_a64_bitfield(e, X, JB_A64_UBFX, 0, 0, 13, 20); break;
    case F_SBFX_W: jb_a64_bitfield(e, W, JB_A64_SBFX, 0, 0, 3, 9); break;
    case F_BFI: jb_a64_bitfield(e, X, JB_A64_BFI, 0, 1, 40, 17); break;
    case F_BFXIL_W: jb_a64_bitfield(e, W, JB_A64_BFXIL, 0, 1, 5, 11); break;
    case F_UBFIZ: jb_a64_bitfield(e, X, JB_A64_UBFIZ, 0, 0, 50, 7); break;
    case F_SBFIZ_W: jb_a64_bitfield(e, W, JB_A64_SBFIZ, 0, 0, 4, 12); break;
    case F_RBIT_W: jb_a64_dp1(e, W, JB_A64_RBIT, 0, 0); break;
    case F_REV16: jb_a64_dp1(e, X, JB_A64_REV16, 0, 0); break;
    case F_REV32: jb_a64_dp1(e, X, JB_A64_REV32, 0, 0); break;
    case F_REV_W: jb_a64_dp1(e, W, JB_A64_REV, 0, 0); break;
    case F_CLZ_W: jb_a64_dp1(e, W, JB_A64_CLZ, 0, 0); break;
    case F_CLS: jb_a64_dp1(e, X, JB_A64_CLS, 0, 0); break;
    case F_UDIV_W: jb_a64_dp2(e, W, JB_A64_UDIV, 0, 0, 1); break;
    case F_SDIV_W: jb_a64_dp2(e, W, JB_A64_SDIV, 0, 0, 1); break;
    case F_MUL_W: jb_a64_dp2(e, W, JB_A64_MUL, 0, 0, 1); break;
    case F_MSUB_W: jb_a64_dp3(e, W, JB_A64_MSUB, 0, 0, 1, 1); break;
    case F_SMADDL: jb_a64_dp3(e, X, JB_A64_SMADDL, 0, 0, 1, 1); break;
    case F_UMSUBL: jb_a64_dp3(e, X, JB_A64_UMSUBL, 0, 0, 1, 1); break;
    case F_CSNEG_W: jb_a64_alu(e, W, JB_A64_SUBS, 31, 0, 1); jb_a64_cond_sel(e, W, JB_A64_CSNEG_OP, 0, 0, 1, JB_A64_LT); break;
    case F_CSINV_W: jb_a64_alu(e, W, JB_A64_SUBS, 31, 0, 1); jb_a64_cond_sel(e, W, JB_A64_CSINV_OP, 0, 0, 1, JB_A64_HI); break;
    case F_MOVK_W: jb_a64_movw(e, W, JB_A64_OP_MOVK, 0, 0xbeef, 16); break;
    }
    jb_a64_ret(e);
}

static uint64_t rbit32(uint32_t v) { uint32_t r = 0; for (int k = 0; k < 32; k++) r |= (v >> k & 1) << (31 - k); return r; }
static int64_t ref_form(int op, int64_t a, int64_t b, int *skip)
{
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    uint32_t wa = (uint32_t)a, wb = (uint32_t)b;
    int32_t sa = (int32_t)wa, sb = (int32_t)wb;
    *skip = 0;
    switch (op) {
    case F_ADD_SH: return (int64_t)(ua + (ub << 3));
    case F_SUB_SH_W: return (uint32_t)(wa - (uint32_t)(sb >> 7));
    case F_EON_ROR: return (int64_t)(ua ^ ~(ub >> 13 | ub << 51));
    case F_ADD_EXT_SXTW: return (int64_t)(ua + ((uint64_t)(int64_t)sb << 2));
    case F_SUB_EXT_UXTB_W: return (uint32_t)(wa - ((wb & 0xff) << 1));
    case F_ADDS_IMM_NEG: return (int64_t)((ua - 0x123000) ^ ((uint64_t)(ua >= 0x123000) << 63));
    case F_AND_IMM_W: return wa & 0xff00ff00u;
    case F_BIC_IMM: return (int64_t)(ua & ~0x0000ffff0000ffffull);
    case F_BIC_IMM_W: return wa & ~0xff00ff00u;
    case F_ORN_IMM_W: return wa | ~0xfffffff0u;
    case F_CCMP: return a == 5 && ub > ua;
    case F_CCMN_IMM: return wa != 0 && (uint32_t)(wb + 7) == 0;
    case F_LSL_W: return (uint32_t)(wa << 7);
    case F_ASR_W: return (uint32_t)(sa >> 31);
    case F_ROR_W: return (uint32_t)(wa >> 9 | wa << 23);
    case F_LSR_R_W: return wa >> (wb & 31);
    case F_UBFX: return (int64_t)(ua >> 13 & 0xfffff);
    case F_SBFX_W: return (uint32_t)((int32_t)(wa << (32 - 12)) >> (32 - 9));
    case F_BFI: return (int64_t)((ua & ~(0x1ffffull << 40)) | (ub & 0x1ffff) << 40);
    case F_BFXIL_W: return (uint32_t)((wa & ~0x7ffu) | (wb >> 5 & 0x7ff));
    case F_UBFIZ: return (int64_t)((ua & 0x7f) << 50);
    case F_SBFIZ_W: return (uint32_t)((uint32_t)((int32_t)(wa << 20) >> 20) << 4);
    case F_RBIT_W: return (int64_t)rbit32(wa);
    case F_REV16: { uint64_t r = 0; for (int k = 0; k < 64; k += 16) r |= (uint64_t)__builtin_bswap16((uint16_t)(ua >> k)) << k; return (int64_t)r; }
    case F_REV32: return (int64_t)((uint64_t)__builtin_bswap32((uint32_t)ua) | (uint64_t)__builtin_bswap32((uint32_t)(ua >> 32)) << 32);
    case F_REV_W: return __builtin_bswap32(wa);
    case F_CLZ_W: return wa ? __builtin_clz(wa) : 32;
    case F_CLS: { uint64_t x = ua ^ (uint64_t)(a >> 63); return x << 1 ? __builtin_clzll(x << 1 | 1) : 63; }
    case F_UDIV_W: return wb ? wa / wb : 0;
    case F_SDIV_W: return !wb ? 0 : (sa == INT32_MIN && sb == -1) ? (uint32_t)INT32_MIN : (uint32_t)(sa / sb);
    case F_MUL_W: return (uint32_t)(wa * wb);
    case F_MSUB_W: return (uint32_t)(wb - wa * wb);
    case F_SMADDL: return (int64_t)(ub + (uint64_t)((int64_t)sa * sb));
    case F_UMSUBL: return (int64_t)(ub - (uint64_t)wa * wb);
    case F_CSNEG_W: return sa < sb ? wa : (uint32_t)(0 - wb);
    case F_CSINV_W: return wa > wb ? wa : (uint32_t)~wb;
    default: return (int64_t)((ua & ~0xffff0000ull & 0xffffffffu) | 0xbeef0000u);
    }
}
static void sized_forms(void) { check_ops(N_FORMS, emit_form, ref_form); }

/* 32-bit, single and double loads and stores in every mode, pairs of
 * each type, and typed literals. */
static void typed_memory(void)
{
    static const jb_type types[5] = {JB_U32, JB_S32, JB_F32, JB_F64, JB_U64};
    uint8_t mem[64];
    for (unsigned k = 0; k < 5; k++)
        for (unsigned mode = 0; mode < 3; mode++) {
            jb_type t = types[k];
            unsigned size = JB__SIZE(t);
            int32_t off = mode == JB_A64_OFFSET ? 8 : mode == JB_A64_PRE ? 8 : 0;
            jb_emit e;
            jb_emit_init(&e, code, sizeof code);
            jb_a64_mov_rr(&e, 9, 0);
            if (t == JB_F32 || t == JB_F64) { /* through s/d 3 */
                jb_a64_load(&e, t, 3, 0, off, (jb_a64_mode)mode);
                jb_a64_store(&e, t, 3, 9, 40, JB_A64_OFFSET);
                jb_a64_fmov_from_fp(&e, t, 2, 3);
            } else {
                jb_a64_load(&e, t, 2, 0, off, (jb_a64_mode)mode);
                jb_a64_store(&e, t, 2, 9, 40, JB_A64_OFFSET);
            }
            jb_a64_alu(&e, JB_I64, JB_A64_SUB, 3, 0, 9); /* the base's move */
            jb_a64_alu_sh(&e, JB_I64, JB_A64_EOR, 0, 2, 3, JB_A64_LSL, 56);
            jb_a64_ret(&e);
            fn2 f = (fn2)install(&e);
            jb_emit_free(&e);
            CHECK(f, "install");
            for (unsigned k2 = 0; k2 < sizeof mem; k2++) mem[k2] = (uint8_t)(0x93 + 29 * k2);
            int64_t v = widen(t == JB_S32 ? 5 : size == 2 ? 4 : 6, mem + (mode == JB_A64_POST ? 0 : off));
            int64_t moved = mode == JB_A64_OFFSET ? 0 : mode == JB_A64_PRE ? off : 0;
            int64_t got = f((int64_t)(uintptr_t)mem, 0);
            CHECK(got == (v ^ (int64_t)((uint64_t)moved << 56)), "type %u mode %u: %llx want %llx", k,
                  mode, (unsigned long long)got, (unsigned long long)v);
            CHECK(!memcmp(mem + 40, mem + (mode == JB_A64_POST ? 0 : off), 1u << size), "store");
        }
    /* pairs: stp then ldp of each type, ldpsw */
    static const jb_type pt[5] = {JB_I32, JB_I64, JB_F32, JB_F64, JB_S32};
    for (unsigned k = 0; k < 5; k++) {
        jb_type t = pt[k];
        int fp = t == JB_F32 || t == JB_F64;
        jb_emit e;
        jb_emit_init(&e, code, sizeof code);
        if (fp) {
            jb_a64_fmov_to_fp(&e, t, 4, 1);
            jb_a64_fmov_to_fp(&e, t, 5, 2);
            jb_a64_store_pair(&e, t, 4, 5, 0, -16, JB_A64_PRE);
            jb_a64_load_pair(&e, t, 6, 7, 0, 16, JB_A64_POST);
            jb_a64_fmov_from_fp(&e, t, 3, 6);
            jb_a64_fmov_from_fp(&e, t, 4, 7);
        } else {
            jb_a64_store_pair(&e, t == JB_S32 ? JB_I32 : t, 1, 2, 0, -16, JB_A64_PRE);
            jb_a64_load_pair(&e, t, 3, 4, 0, 16, JB_A64_POST);
        }
        jb_a64_alu_sh(&e, JB_I64, JB_A64_EOR, 0, 3, 4, JB_A64_ROR, 32);
        jb_a64_ret(&e);
        int64_t (*f)(uint8_t *, int64_t, int64_t) = (int64_t (*)(uint8_t *, int64_t, int64_t))install(&e);
        jb_emit_free(&e);
        CHECK(f, "install");
        int64_t p = (int64_t)0x8badf00dcafe1234ll, q = (int64_t)0x0123456789abcdefll;
        int64_t got = f(mem + 32, p, q);
        uint64_t x = (uint64_t)p, y = (uint64_t)q;
        if (JB__SIZE(t) == 2) { /* 32-bit: zero- (or sign-) extended */
            x = t == JB_S32 ? (uint64_t)(int64_t)(int32_t)x : (uint32_t)x;
            y = t == JB_S32 ? (uint64_t)(int64_t)(int32_t)y : (uint32_t)y;
        }
        uint64_t want = x ^ (y >> 32 | y << 32);
        CHECK((uint64_t)got == want, "pair type %u: %llx want %llx", k, (unsigned long long)got,
              (unsigned long long)want);
    }
    /* literals: ldr w, ldrsw, ldr s, ldr d at labels */
    jb_emit e;
    jb_emit_init(&e, code, sizeof code);
    jb_label lw = jb_label_new(&e), ld = jb_label_new(&e);
    jb_a64_load_l(&e, JB_I32, 0, lw);
    jb_a64_load_l(&e, JB_S32, 1, lw);
    jb_a64_load_l(&e, JB_F32, 2, lw);
    jb_a64_load_l(&e, JB_F64, 3, ld);
    jb_a64_fmov_from_fp(&e, JB_F32, 2, 2);
    jb_a64_fmov_from_fp(&e, JB_F64, 3, 3);
    jb_a64_alu(&e, JB_I64, JB_A64_ADD, 0, 0, 1);
    jb_a64_alu(&e, JB_I64, JB_A64_ADD, 0, 0, 2);
    jb_a64_alu(&e, JB_I64, JB_A64_EOR, 0, 0, 3);
    jb_a64_ret(&e);
    jb_a64_align(&e, 8);
    jb_label_bind(&e, ld);
    static const uint64_t dv = 0x400921fb54442d18ull;
    jb_emit_data(&e, &dv, 8);
    jb_label_bind(&e, lw);
    static const uint32_t wv = 0x80000001u;
    jb_emit_data(&e, &wv, 4);
    fn2 f = (fn2)install(&e);
    jb_emit_free(&e);
    CHECK(f, "install");
    uint64_t want = ((uint64_t)wv + (uint64_t)(int64_t)(int32_t)wv + wv) ^ dv;
    CHECK((uint64_t)f(0, 0) == want, "literals %llx want %llx", (unsigned long long)f(0, 0),
          (unsigned long long)want);
}

/* Atomics: three threads add to one counter with an ldaxr/stlxr loop, LSE
 * ldadd and an LSE cas loop; ldar/stlr/dmb, swp and ldclr/ldset/ldeor
 * single-threaded. qemu-user's default cpu has LSE. */
static void atomics(void)
{
    for (int k = 0; k < 3; k++) {
        jb_emit e;
        jb_emit_init(&e, code, sizeof code);
        jb_label again = jb_label_new(&e);
        if (k == 0) {
            jb_label_bind(&e, again);
            jb_a64_ldxr(&e, JB_I64, JB_A64_ACQUIRE, 2, 0);
            jb_a64_alu(&e, JB_I64, JB_A64_ADD, 2, 2, 1);
            jb_a64_stxr(&e, JB_I64, JB_A64_RELEASE, 3, 2, 0);
            jb_a64_cbz_sz(&e, JB_I32, 1, 3, again);
        } else if (k == 1) {
            jb_a64_atomic(&e, JB_I64, JB_A64_LDADD, JB_A64_ACQ_REL, 1, 2, 0);
        } else {
            jb_a64_ldar(&e, JB_I64, 2, 0);
            jb_label_bind(&e, again);
            jb_a64_mov_rr(&e, 4, 2);
            jb_a64_alu(&e, JB_I64, JB_A64_ADD, 5, 2, 1);
            jb_a64_cas(&e, JB_I64, JB_A64_ACQ_REL, 2, 5, 0); /* x2 = old */
            jb_a64_alu(&e, JB_I64, JB_A64_SUBS, 31, 2, 4);
            jb_a64_bcond(&e, JB_A64_NE, again);
            jb_a64_dmb(&e, JB_A64_ISH);
        }
        jb_a64_ret(&e);
        shared_fn[k] = install(&e);
        jb_emit_free(&e);
        CHECK(shared_fn[k], "install");
    }
    int64_t total = hammer_counter();
    CHECK(total == 60000, "counter %lld, want 60000", (long long)total);
    /* one of each LSE op and size on a word: the old value back */
    static const jb_a64_atomic_op ops[5] = {JB_A64_SWP, JB_A64_LDCLR, JB_A64_LDSET, JB_A64_LDEOR, JB_A64_LDUMAX};
    for (unsigned s = 0; s < 4; s++)
        for (unsigned o = 0; o < 5; o++) {
            jb_emit e;
            jb_emit_init(&e, code, sizeof code);
            jb_a64_atomic(&e, (jb_type)s, ops[o], (jb_a64_order)(o % 4), 1, 3, 0);
            jb_a64_stlr(&e, (jb_type)s, 3, 2); /* the old value, store-release to b's slot */
            jb_a64_mov_rr(&e, 0, 3);
            jb_a64_ret(&e);
            int64_t (*f)(uint64_t *, int64_t, uint64_t *) = (int64_t (*)(uint64_t *, int64_t, uint64_t *))install(&e);
            jb_emit_free(&e);
            CHECK(f, "install");
            uint64_t m = 0xf0f0f0f0f0f0f0f0ull, b = 0x123456789abcdef0ull, slot = 0;
            uint64_t mask = s == 3 ? ~0ull : (1ull << (8 << s)) - 1, old = m & mask, bv = b & mask;
            int64_t got = f(&m, (int64_t)b, &slot);
            uint64_t nv = o == 0 ? bv : o == 1 ? old & ~bv : o == 2 ? (old | bv) : o == 3 ? old ^ bv
                        : (old > bv ? old : bv);
            CHECK((uint64_t)got == old && slot == old && (m & mask) == nv && (m & ~mask) == (0xf0f0f0f0f0f0f0f0ull & ~mask),
                  "size %u op %u: got %llx mem %llx", s, o, (unsigned long long)got,
                  (unsigned long long)m);
        }
}

/* prologue/epilogue: the callee-saved x19..x28 and d8..d15 survive, and sp
 * is 16-byte aligned inside (a misaligned sp faults on arm64 memory access
 * through sp). */
static void frames_save_registers(void)
{
    static uint8_t inner_code[512];
    jb_emit e;
    jb_emit_init(&e, inner_code, sizeof inner_code);
    uint32_t xm = JB_A64_AAPCS_X & ~(1u << 22), dm = JB_A64_AAPCS_D & ~(1u << 11); /* odd counts */
    jb_a64_prologue(&e, xm, dm, 40);
    for (unsigned r = 19; r <= 28; r++)
        if (xm >> r & 1) jb_a64_movz(&e, r, 0xdead, 0);
    for (unsigned r = 8; r <= 15; r++)
        if (dm >> r & 1) jb_a64_fmov_to_fp(&e, JB_F64, r, 31);
    jb_a64_str(&e, 30, JB_A64_SP, 32); /* a local: sp-relative access */
    jb_a64_mov_sp(&e, 0, JB_A64_SP);
    jb_a64_alu_imm(&e, JB_I64, JB_A64_AND, 0, 0, 15);
    jb_a64_epilogue(&e, xm, dm);
    void *inner = install(&e);
    jb_emit_free(&e);
    CHECK(inner, "install");
    jb_emit_init(&e, code, sizeof code);
    jb_a64_prologue(&e, JB_A64_AAPCS_X, JB_A64_AAPCS_D, 0);
    for (unsigned r = 19; r <= 28; r++) jb_a64_movz(&e, r, r, 0);
    for (unsigned r = 8; r <= 15; r++) { jb_a64_movz(&e, 9, r, 0); jb_a64_fmov_to_fp(&e, JB_F64, r, 9); }
    jb_a64_call_abs(&e, 16, inner);
    for (unsigned r = 19; r <= 28; r++) { /* x0 |= (xr != r) << r */
        jb_a64_alu_imm(&e, JB_I64, JB_A64_SUBS, 31, r, r);
        jb_a64_cset(&e, 9, JB_A64_NE);
        jb_a64_alu_sh(&e, JB_I64, JB_A64_ORR, 0, 0, 9, JB_A64_LSL, r);
    }
    for (unsigned r = 8; r <= 15; r++) {
        jb_a64_fmov_from_fp(&e, JB_F64, 10, r);
        jb_a64_alu_imm(&e, JB_I64, JB_A64_SUBS, 31, 10, r);
        jb_a64_cset(&e, 9, JB_A64_NE);
        jb_a64_alu_sh(&e, JB_I64, JB_A64_ORR, 0, 0, 9, JB_A64_LSL, r + 32);
    }
    jb_a64_epilogue(&e, JB_A64_AAPCS_X, JB_A64_AAPCS_D);
    fn2 outer = (fn2)install(&e);
    jb_emit_free(&e);
    CHECK(outer, "install");
    int64_t got = outer(0, 0);
    CHECK(got == 0, "sp mod 16 = %lld, changed registers %#llx", (long long)(got & 15),
          (unsigned long long)(got & ~15ll));
}

/* An instruction that refers to a label never bound is a udf until the
 * label binds: run without jb_emit_finish, it traps (SIGILL) instead of
 * branching to offset 0 of itself (issue 12, item 3). */
static sigjmp_buf trap_env;
static void on_ill(int sig) { (void)sig; siglongjmp(trap_env, 1); }
static void unbound_reference_traps(void)
{
    jb_emit e;
    jb_emit_init(&e, code, sizeof code);
    jb_label never = jb_label_new(&e);
    jb_a64_movz(&e, 1, 1, 0);
    jb_a64_cbnz(&e, 0, never);
    jb_a64_mov_rr(&e, 0, 1);
    jb_a64_ret(&e);
    size_t n = jb_emit_size(&e);
    void *fn;
    CHECK(exec_open() && jb_alloc(exec_region, n, 16, &fn) == 0, "alloc");
    CHECK(jb_write(exec_region, fn, code, n) == 0, "write");
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_ill;
    sigaction(SIGILL, &sa, &old);
    volatile int trapped = 0;
    for (int64_t a = 0; a < 2; a++) {
        if (sigsetjmp(trap_env, 1)) {
            trapped++;
            continue;
        }
        ((fn2)fn)(a, 0);
    }
    sigaction(SIGILL, &old, NULL);
    jb_free(exec_region, fn);
    CHECK(trapped == 2, "the unbound cbnz ran as a branch (%d of 2 calls trapped)", trapped);
    CHECK(jb_emit_install(&e, exec_region, 16, &fn) == JB_ELABEL && !fn, "install accepted it");
    jb_emit_free(&e);
}

static const test_case tests[] = {
#define T(f) {#f, f}
    T(integer_operations), T(constants), T(memory_widths_and_modes), T(pairs_and_indexes),
    T(frames_calls_and_labels), T(doubles), T(sized_forms), T(typed_memory), T(atomics),
    T(frames_save_registers), T(unbound_reference_traps),
#undef T
};

EXEC_MAIN(tests)
