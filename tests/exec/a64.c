/* arm64 emitters, executed under qemu-aarch64 (`make check-arm64`): each
 * generated function is installed through jitbuf's write path (dualmap)
 * and compared with the same computation in C over edge and random
 * operands. Self-contained (harness.h): Criterion hangs under qemu-user. */
#include <math.h>

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

static const test_case tests[] = {
#define T(f) {#f, f}
    T(integer_operations), T(constants), T(memory_widths_and_modes), T(pairs_and_indexes),
    T(frames_calls_and_labels), T(doubles),
#undef T
};

int main(int argc, char **argv)
{
    int rc = run_tests(tests, sizeof tests / sizeof tests[0], argc, argv);
    if (exec_region)
        jb_region_close(exec_region);
    return rc;
}
