/* x86_64 emitters, executed: each generated function is installed through
 * jitbuf's write path (dualmap) and compared with the same computation in C
 * over edge and random operands. Self-contained (harness.h) so that it runs
 * where Criterion cannot; `make test-exec` runs it natively. */
#include <math.h>

#include "exec.h"
#include "jitbuf/x86_64.h"

static uint8_t code[8192];

/* ---- integer operations: long f(long a = rdi, long b = rsi) -> rax ---- */

enum {
    OP_SHL, OP_SHR, OP_SAR, OP_ROL, OP_ROR, OP_SHL_CL, OP_SAR_CL, OP_ROR_CL, OP_IMUL,
    OP_IMUL_I, OP_UDIV, OP_UREM, OP_SDIV, OP_SREM, OP_UMULH, OP_NEG, OP_NOT, OP_AND,
    OP_OR, OP_XOR, OP_MIN, OP_LT, OP_BELOW, OP_TEST_I, OP_S8, OP_U8, OP_S16, OP_U16,
    OP_S32, OP_U32, N_OPS
};

static void emit_op(jb_emit *e, int op)
{
    const jb_x64_reg A = JB_X64_RDI, B = JB_X64_RSI, R = JB_X64_RAX;
    switch (op) {
    case OP_SHL: jb_x64_mov_rr(e, R, A); jb_x64_shift_ri(e, JB_I64, JB_X64_SHL, R, 13); break;
    case OP_SHR: jb_x64_mov_rr(e, R, A); jb_x64_shift_ri(e, JB_I64, JB_X64_SHR, R, 1); break;
    case OP_SAR: jb_x64_mov_rr(e, R, A); jb_x64_shift_ri(e, JB_I64, JB_X64_SAR, R, 63); break;
    case OP_ROL: jb_x64_mov_rr(e, R, A); jb_x64_shift_ri(e, JB_I64, JB_X64_ROL, R, 7); break;
    case OP_ROR: jb_x64_mov_rr(e, R, A); jb_x64_shift_ri(e, JB_I64, JB_X64_ROR, R, 40); break;
    case OP_SHL_CL: case OP_SAR_CL: case OP_ROR_CL:
        jb_x64_mov_rr(e, R, A);
        jb_x64_mov_rr(e, JB_X64_RCX, B);
        jb_x64_shift_rcl(e, JB_I64, op == OP_SHL_CL ? JB_X64_SHL : op == OP_SAR_CL ? JB_X64_SAR : JB_X64_ROR, R);
        break;
    case OP_IMUL: jb_x64_mov_rr(e, R, A); jb_x64_imul_rr(e, R, B); break;
    case OP_IMUL_I: jb_x64_imul_rri(e, R, A, -1000003); break;
    case OP_UDIV: case OP_UREM:
        jb_x64_mov_rr(e, R, A);
        jb_x64_xor_rr(e, JB_X64_RDX, JB_X64_RDX);
        jb_x64_div(e, B);
        if (op == OP_UREM) jb_x64_mov_rr(e, R, JB_X64_RDX);
        break;
    case OP_SDIV: case OP_SREM:
        jb_x64_mov_rr(e, R, A);
        jb_x64_cqo(e);
        jb_x64_idiv(e, B);
        if (op == OP_SREM) jb_x64_mov_rr(e, R, JB_X64_RDX);
        break;
    case OP_UMULH: jb_x64_mov_rr(e, R, A); jb_x64_mul(e, B); jb_x64_mov_rr(e, R, JB_X64_RDX); break;
    case OP_NEG: jb_x64_mov_rr(e, R, A); jb_x64_neg(e, R); break;
    case OP_NOT: jb_x64_mov_rr(e, R, A); jb_x64_not(e, R); break;
    case OP_AND: jb_x64_mov_rr(e, R, A); jb_x64_and_ri(e, R, 0x7ff0); break;
    case OP_OR: jb_x64_mov_rr(e, R, A); jb_x64_or_ri(e, R, -256); break;
    case OP_XOR: jb_x64_mov_rr(e, R, A); jb_x64_xor_rr(e, R, B); break;
    case OP_MIN: /* signed min with cmov */
        jb_x64_mov_rr(e, R, A);
        jb_x64_cmp_rr(e, A, B);
        jb_x64_cmov(e, JB_X64_G, R, B);
        break;
    case OP_LT: case OP_BELOW: /* setcc into a byte, zero-extended */
        jb_x64_cmp_rr(e, A, B);
        jb_x64_setcc(e, op == OP_LT ? JB_X64_L : JB_X64_B, JB_X64_RSI);
        jb_x64_extend(e, JB_X64_U8, R, JB_X64_RSI);
        break;
    case OP_TEST_I: /* (a & 0x80) != 0 */
        jb_x64_xor_rr(e, R, R);
        jb_x64_test_ri(e, A, 0x80);
        jb_x64_setcc(e, JB_X64_NE, R);
        break;
    default: /* extensions */
        {
        static const jb_x64_width ext[6] = {JB_X64_S8, JB_X64_U8, JB_X64_S16, JB_X64_U16,
                                          JB_X64_S32, JB_X64_U32};
        jb_x64_extend(e, ext[op - OP_S8], R, A);
    }
        break;
    }
    jb_x64_ret(e);
}

/* The same in C; 0 in *skip where x86 faults (division by 0, INT64_MIN / -1). */
static int64_t ref_op(int op, int64_t a, int64_t b, int *skip)
{
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    unsigned c = (unsigned)b & 63;
    *skip = 0;
    switch (op) {
    case OP_SHL: return (int64_t)(ua << 13);
    case OP_SHR: return (int64_t)(ua >> 1);
    case OP_SAR: return a < 0 ? -1 : 0;
    case OP_ROL: return (int64_t)(ua << 7 | ua >> 57);
    case OP_ROR: return (int64_t)(ua >> 40 | ua << 24);
    case OP_SHL_CL: return (int64_t)(ua << c);
    case OP_SAR_CL: return a >> c;
    case OP_ROR_CL: return (int64_t)(c ? (ua >> c | ua << (64 - c)) : ua);
    case OP_IMUL: return (int64_t)(ua * ub);
    case OP_IMUL_I: return (int64_t)(ua * (uint64_t)(int64_t)-1000003);
    case OP_UDIV: case OP_UREM:
        if (!b) { *skip = 1; return 0; }
        return (int64_t)(op == OP_UDIV ? ua / ub : ua % ub);
    case OP_SDIV: case OP_SREM:
        if (!b || (a == INT64_MIN && b == -1)) { *skip = 1; return 0; }
        return op == OP_SDIV ? a / b : a % b;
    case OP_UMULH: return (int64_t)(((unsigned __int128)ua * ub) >> 64);
    case OP_NEG: return (int64_t)(0 - ua);
    case OP_NOT: return ~a;
    case OP_AND: return a & 0x7ff0;
    case OP_OR: return a | -256;
    case OP_XOR: return a ^ b;
    case OP_MIN: return a < b ? a : b;
    case OP_LT: return a < b;
    case OP_BELOW: return ua < ub;
    case OP_TEST_I: return (a & 0x80) != 0;
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

/* mov_ri over constants of every shape */
static void constants(void)
{
    for (unsigned k = 0; k < 2 * N_OPERANDS; k++) {
        int64_t v = operand(k) ^ (k >= N_OPERANDS ? (int64_t)k << 40 : 0);
        jb_emit e;
        jb_emit_init(&e, code, sizeof code);
        jb_x64_reg r = (jb_x64_reg)(k % 16 == 4 ? 0 : k % 16); /* never rsp */
        jb_x64_push(&e, r); /* rbx, rbp, r12..r15 are the caller's */
        jb_x64_mov_ri(&e, r, v);
        jb_x64_mov_rr(&e, JB_X64_RAX, r);
        jb_x64_pop(&e, r == JB_X64_RAX ? JB_X64_RCX : r);
        jb_x64_ret(&e);
        fn2 f = (fn2)install(&e);
        jb_emit_free(&e);
        CHECK(f && f(0, 0) == v, "mov_ri %#llx", (unsigned long long)v);
    }
}

/* ---- memory: every width, every awkward base, sized stores ------------- */

/* long f(uint8_t *p, long i): loads at [base + i*scale + disp] through
 * rsp/rbp/r12/r13 bases (which need SIB or disp8) and stores back. */
static void memory_widths_and_bases(void)
{
    static const jb_x64_reg bases[] = {JB_X64_R12, JB_X64_R13, JB_X64_RBP, JB_X64_RBX};
    uint8_t mem[64];
    for (unsigned w = 0; w < 7; w++)
        for (unsigned bk = 0; bk < 4; bk++) {
            jb_x64_reg base = bases[bk];
            jb_emit e;
            jb_emit_init(&e, code, sizeof code);
            jb_x64_push(&e, base);
            jb_x64_mov_rr(&e, base, JB_X64_RDI);
            jb_x64_load(&e, W7[w], JB_X64_RAX, jb_x64_mem_bisd(base, JB_X64_RSI, 2, 3));
            /* store the low bytes back at [base + 40] in the matching width */
            jb_x64_store(&e, (jb_type)(w / 2), jb_x64_mem_bd(base, 40), JB_X64_RAX);
            jb_x64_pop(&e, base);
            jb_x64_ret(&e);
            fn2 f = (fn2)install(&e);
            jb_emit_free(&e);
            CHECK(f, "width %u base %u", w, base);
            for (int64_t i = 0; i < 12; i++) {
                for (unsigned k = 0; k < sizeof mem; k++) mem[k] = (uint8_t)(0x81 + 37 * k + 11 * i);
                const uint8_t *src = mem + 3 + 2 * i;
                int64_t want = widen(w, src);
                uint8_t before[64];
                memcpy(before, mem, sizeof mem);
                int64_t got = ((fn2)f)((int64_t)(uintptr_t)mem, i);
                CHECK(got == want, "load width %u base %u i %lld: %llx want %llx", w, base,
                      (long long)i, (unsigned long long)got, (unsigned long long)want);
                size_t n = 1u << (w / 2);
                CHECK(!memcmp(mem + 40, &want, n), "store of %zu bytes", n);
                CHECK(!memcmp(mem, before, 40) && !memcmp(mem + 40 + n, before + 40 + n, 24 - n),
                      "a store of %zu bytes touched its neighbours", n);
            }
        }
}

/* Locals in a frame: store immediates of each size at [rbp - k] and
 * [rsp + k], read them back, and return their sum; calls a C function with
 * rsp aligned as the ABI requires. */
static int64_t seen_args[3];
static int64_t callee(int64_t a, int64_t b, int64_t c)
{
    seen_args[0] = a;
    seen_args[1] = b;
    seen_args[2] = c;
    return a * 100 + b * 10 + c;
}

static void frames_and_calls(void)
{
    jb_emit e;
    jb_emit_init(&e, code, sizeof code);
    jb_x64_frame_enter(&e, 40);
    jb_x64_store_i(&e, JB_I8, jb_x64_mem_bd(JB_X64_RBP, -1), -3);
    jb_x64_store_i(&e, JB_I16, jb_x64_mem_bd(JB_X64_RBP, -4), 30000);
    jb_x64_store_i(&e, JB_I32, jb_x64_mem_bd(JB_X64_RBP, -8), -100000);
    jb_x64_store_i(&e, JB_I64, jb_x64_mem_bd(JB_X64_RSP, 0), 7);
    jb_x64_load(&e, JB_X64_S8, JB_X64_RDI, jb_x64_mem_bd(JB_X64_RBP, -1));
    jb_x64_load(&e, JB_X64_U16, JB_X64_RSI, jb_x64_mem_bd(JB_X64_RBP, -4));
    jb_x64_load(&e, JB_X64_S32, JB_X64_RDX, jb_x64_mem_bd(JB_X64_RBP, -8));
    jb_x64_alu_rm(&e, JB_I64, JB_X64_ADD, JB_X64_RDX, jb_x64_mem_bd(JB_X64_RSP, 0));
    jb_x64_mov_ri(&e, JB_X64_RAX, (int64_t)(uintptr_t)callee);
    jb_x64_call_r(&e, JB_X64_RAX);
    jb_x64_frame_leave(&e);
    jb_x64_ret(&e);
    int64_t (*f)(void) = (int64_t (*)(void))install(&e);
    jb_emit_free(&e);
    CHECK(f, "install");
    int64_t got = f();
    CHECK(seen_args[0] == -3 && seen_args[1] == 30000 && seen_args[2] == -99993,
          "callee saw %lld %lld %lld", (long long)seen_args[0], (long long)seen_args[1],
          (long long)seen_args[2]);
    CHECK(got == -300 + 300000 - 99993, "returned %lld", (long long)got);
}

/* A switch through a relative jump table placed after the code: lea of a
 * label, movsxd of the entry, add, indirect jump; cases aligned with nops
 * that are executed on the way in. */
static void jump_table(void)
{
    jb_emit e;
    jb_emit_init(&e, code, sizeof code);
    jb_label table = jb_label_new(&e), out = jb_label_new(&e), cases[4];
    for (int k = 0; k < 4; k++) cases[k] = jb_label_new(&e);
    jb_x64_and_ri(&e, JB_X64_RDI, 3);
    jb_x64_lea_l(&e, JB_X64_RCX, table);
    jb_x64_load(&e, JB_X64_S32, JB_X64_RAX, jb_x64_mem_bisd(JB_X64_RCX, JB_X64_RDI, 4, 0));
    jb_x64_add_rr(&e, JB_X64_RAX, JB_X64_RCX);
    jb_x64_jmp_r(&e, JB_X64_RAX);
    for (int k = 0; k < 4; k++) {
        jb_x64_align(&e, 16);
        jb_label_bind(&e, cases[k]);
        jb_x64_nops(&e, (size_t)k * 5); /* executed padding */
        jb_x64_mov_ri(&e, JB_X64_RAX, 1000 + k * k);
        jb_x64_jmp(&e, out, 0);
    }
    jb_label_bind(&e, out);
    jb_x64_ret(&e);
    jb_x64_align(&e, 4);
    jb_label_bind(&e, table);
    for (int k = 0; k < 4; k++) {
        int32_t rel = jb_label_offset(&e, cases[3 - k]) - jb_label_offset(&e, table);
        jb_emit_data(&e, &rel, 4);
    }
    fn2 f = (fn2)install(&e);
    jb_emit_free(&e);
    CHECK(f, "install");
    for (int64_t i = 0; i < 16; i++)
        CHECK(f(i, 0) == 1000 + (3 - (i & 3)) * (3 - (i & 3)), "switch(%lld) = %lld",
              (long long)i, (long long)f(i, 0));
}

/* ---- doubles: double f(double x = xmm0, long n = rdi) ------------------ */

static void doubles(void)
{
    static const double xs[] = {0.0, -0.0, 1.0, -2.5, 3.14159, 1e300, -1e-300, 12345.678, 0.1};
    static const double third = 1.0 / 3.0;
    jb_emit e;
    jb_emit_init(&e, code, sizeof code);
    jb_label k3 = jb_label_new(&e), neg = jb_label_new(&e);
    /* y = (x * x + (double)n) / 3-ish: ((x*x) + n) * (1/3), sqrt(|y|) if y > 0,
     * then max with x, min with 1e6, and round trip through a GPR. */
    jb_x64_movapd(&e, 1, 0);
    jb_x64_mulsd(&e, 1, 0);
    jb_x64_cvtsi2sd(&e, 2, JB_X64_RDI);
    jb_x64_addsd(&e, 1, 2);
    jb_x64_sd_xm(&e, JB_X64_MULSD, 1, jb_x64_mem_rip(0)); /* patched below via label */
    size_t patch_at = jb_emit_size(&e) - 4;
    jb_x64_xorpd(&e, 3, 3);
    jb_x64_ucomisd(&e, 1, 3);
    jb_x64_jcc(&e, JB_X64_BE, neg, 0);
    jb_x64_sqrtsd(&e, 1, 1);
    jb_label_bind(&e, neg);
    jb_x64_sd_xx(&e, JB_X64_MAXSD, 1, 0);
    jb_x64_movsd_xl(&e, 4, k3);
    jb_x64_subsd(&e, 1, 4);
    jb_x64_divsd(&e, 1, 4);
    jb_x64_movq_rx(&e, JB_X64_RAX, 1);
    jb_x64_movq_xr(&e, 0, JB_X64_RAX);
    jb_x64_ret(&e);
    jb_x64_align(&e, 8);
    size_t third_at = jb_emit_size(&e);
    jb_emit_data(&e, &third, 8);
    jb_label_bind(&e, k3);
    static const double k3v = 3.0;
    jb_emit_data(&e, &k3v, 8);
    int32_t rel = (int32_t)third_at - (int32_t)(patch_at + 4);
    memcpy(code + patch_at, &rel, 4);
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
            y = y > x ? y : x; /* maxsd: the second operand when either is equal/NaN */
            y = (y - 3.0) / 3.0;
            double got = f(x, n);
            CHECK(memcmp(&got, &y, 8) == 0, "f(%g, %lld) = %.17g, want %.17g", x, (long long)n,
                  got, y);
        }
    /* conversions: truncating and rounding to integer */
    jb_emit_init(&e, code, sizeof code);
    jb_x64_cvttsd2si(&e, JB_X64_RAX, 0);
    jb_x64_cvtsd2si(&e, JB_X64_RDX, 0);
    jb_x64_imul_rri(&e, JB_X64_RDX, JB_X64_RDX, 1000);
    jb_x64_add_rr(&e, JB_X64_RAX, JB_X64_RDX);
    jb_x64_ret(&e);
    int64_t (*g)(double) = (int64_t (*)(double))install(&e);
    jb_emit_free(&e);
    CHECK(g, "install");
    static const double cv[] = {0.5, 1.5, 2.5, -0.5, -1.7, 123456.789, -98765.4321};
    for (unsigned i = 0; i < sizeof cv / sizeof cv[0]; i++)
        CHECK(g(cv[i]) == (int64_t)cv[i] + (int64_t)nearbyint(cv[i]) * 1000, "convert %g: %lld",
              cv[i], (long long)g(cv[i]));
}

/* ---- every size, memory destinations, atomics, frames ------------------ */

static uint64_t trunc_to(unsigned s, uint64_t v) { return s == 3 ? v : v & ((1ull << (8 << s)) - 1); }
static int64_t sext(unsigned s, uint64_t v)
{
    return s == 3 ? (int64_t)v : (int64_t)(v << (64 - (8 << s))) >> (64 - (8 << s));
}
/* op on size s as the CPU does it (a = destination, b = source). */
static uint64_t alu_ref(unsigned s, jb_x64_alu op, uint64_t a, uint64_t b)
{
    uint64_t r;
    switch (op) {
    case JB_X64_ADD: r = a + b; break;
    case JB_X64_OR: r = a | b; break;
    case JB_X64_AND: r = a & b; break;
    case JB_X64_SUB: r = a - b; break;
    case JB_X64_XOR: r = a ^ b; break;
    case JB_X64_MOV: case JB_X64_XCHG: r = b; break;
    case JB_X64_IMUL: r = (uint64_t)(sext(s, a) * sext(s, b)); break;
    default: r = a; break; /* cmp, test: no result */
    }
    return trunc_to(s, r);
}

/* [rdi + 8] op= rsi in every size and op, then [rdi + 8] op= imm, then a
 * register form in 8/16 bits (which keeps the upper bits) and 32 (which
 * clears them): each against alu_ref on a copy of the memory. */
static void alu_every_size_memory(void)
{
    static const jb_x64_alu ops[] = {JB_X64_ADD, JB_X64_OR, JB_X64_AND, JB_X64_SUB, JB_X64_XOR,
                                     JB_X64_MOV, JB_X64_XCHG, JB_X64_IMUL};
    uint8_t mem[32];
    for (unsigned s = 0; s < 4; s++)
        for (unsigned o = 0; o < sizeof ops / sizeof ops[0]; o++)
            for (int form = 0; form < 3; form++) {
                jb_x64_alu op = ops[o];
                int64_t imm = s == 0 ? -100 : s == 1 ? 30000 : -1234567;
                if ((op == JB_X64_IMUL && (s == 0 || form == 0)) || (op == JB_X64_XCHG && form == 1))
                    continue;
                jb_emit e;
                jb_emit_init(&e, code, sizeof code);
                jb_x64_mov_rr(&e, JB_X64_RAX, JB_X64_RSI);
                jb_x64_mem m = jb_x64_mem_bd(JB_X64_RDI, 8);
                if (form == 0)
                    jb_x64_alu_mr(&e, (jb_type)s, op, m, JB_X64_RSI);
                else if (form == 1 && op != JB_X64_IMUL)
                    jb_x64_alu_mi(&e, (jb_type)s, op, m, imm);
                else if (form == 1)
                    jb_x64_imul3_rmi(&e, (jb_type)s, JB_X64_RAX, m, imm);
                else
                    jb_x64_alu_rm(&e, (jb_type)s, op, JB_X64_RAX, m);
                jb_x64_ret(&e);
                fn2 f = (fn2)install(&e);
                jb_emit_free(&e);
                CHECK(f, "size %u op %d form %d", s, op, form);
                for (unsigned i = 0; i < 24; i++) {
                    uint64_t a = (uint64_t)operand(i * 3), b = (uint64_t)operand(i * 5 + 1), old;
                    memcpy(mem + 8, &a, 8);
                    old = a;
                    int64_t got = f((int64_t)(uintptr_t)mem, (int64_t)b);
                    uint64_t want_mem = old, want_rax = b, after;
                    uint64_t mask = s == 3 ? ~0ull : (1ull << (8 << s)) - 1;
                    if (form == 0) {
                        want_mem = (old & ~mask) | alu_ref(s, op, old, b);
                        /* (xchg swaps memory with rsi; rax is rsi's copy) */
                    } else if (form == 1 && op == JB_X64_IMUL) {
                        uint64_t r = alu_ref(s, op, old, (uint64_t)imm);
                        want_rax = s == 2 ? r : (b & ~mask) | r;
                    } else if (form == 1) {
                        want_mem = (old & ~mask) | alu_ref(s, op, old, (uint64_t)imm);
                    } else {
                        uint64_t r = alu_ref(s, op, b, old);
                        want_rax = s == 2 ? r : (b & ~mask) | r; /* 32 bits clear the top */
                        if (op == JB_X64_XCHG)
                            want_mem = (old & ~mask) | trunc_to(s, b);
                    }
                    memcpy(&after, mem + 8, 8);
                    CHECK(after == want_mem && (uint64_t)got == want_rax,
                          "size %u op %d form %d (%#llx, %#llx): mem %#llx rax %#llx, want %#llx %#llx",
                          s, op, form, (unsigned long long)old, (unsigned long long)b,
                          (unsigned long long)after, (unsigned long long)got,
                          (unsigned long long)want_mem, (unsigned long long)want_rax);
                }
            }
}

/* not/neg/inc/dec and shifts of [rdi + 8] by 5 and by cl (= rsi), every
 * size, and test [m], imm; bswap; push imm. */
static void unary_and_shift_memory(void)
{
    uint8_t mem[32];
    for (unsigned s = 0; s < 4; s++)
        for (int k = 0; k < 10; k++) {
            jb_emit e;
            jb_emit_init(&e, code, sizeof code);
            jb_x64_mem m = jb_x64_mem_bd(JB_X64_RDI, 8);
            static const jb_x64_unop un[4] = {JB_X64_NOT, JB_X64_NEG, JB_X64_INC, JB_X64_DEC};
            static const jb_x64_shift sh[5] = {JB_X64_SHL, JB_X64_SHR, JB_X64_SAR, JB_X64_ROL, JB_X64_ROR};
            jb_x64_mov_rr(&e, JB_X64_RCX, JB_X64_RSI);
            if (k < 4)
                jb_x64_unary_m(&e, (jb_type)s, un[k], m);
            else if (k < 9)
                (k % 2 ? jb_x64_shift_mcl(&e, (jb_type)s, sh[k - 4], m)
                       : jb_x64_shift_mi(&e, (jb_type)s, sh[k - 4], m, 5));
            jb_x64_alu_rr(&e, JB_I32, JB_X64_XOR, JB_X64_RAX, JB_X64_RAX);
            if (k == 9) { /* test [m], 0x40: rax = ZF clear */
                jb_x64_alu_mi(&e, (jb_type)s, JB_X64_TEST, m, 0x40);
                jb_x64_setcc(&e, JB_X64_NE, JB_X64_RAX);
            }
            jb_x64_ret(&e);
            fn2 f = (fn2)install(&e);
            jb_emit_free(&e);
            CHECK(f, "install");
            for (unsigned i = 0; i < 20; i++) {
                uint64_t a = (uint64_t)operand(i * 7 + 2), after;
                unsigned n = k % 2 ? (unsigned)i : 5, bits = 8u << s;
                unsigned c = n & (s == 3 ? 63 : 31);
                memcpy(mem + 8, &a, 8);
                int64_t got = f((int64_t)(uintptr_t)mem, n);
                uint64_t mask = s == 3 ? ~0ull : (1ull << bits) - 1, v = a & mask, r = v;
                /* k: not neg inc dec, shl 5, shr cl, sar 5, rol cl, ror 5 */
                if (k == 0) r = ~v;
                if (k == 1) r = 0 - v;
                if (k == 2) r = v + 1;
                if (k == 3) r = v - 1;
                if (k == 4) r = c >= bits ? 0 : v << c;
                if (k == 5) r = c >= bits ? 0 : v >> c;
                if (k == 6) r = (uint64_t)(sext(s, v) >> (c >= bits ? bits - 1 : c));
                if (k == 7) r = c % bits ? (v << c % bits | v >> (bits - c % bits)) : v;
                if (k == 8) r = c % bits ? (v >> c % bits | v << (bits - c % bits)) : v;
                memcpy(&after, mem + 8, 8);
                uint64_t want = (a & ~mask) | (r & mask);
                if (k == 9)
                    CHECK(got == ((v & 0x40) != 0) && after == a, "test size %u %#llx", s,
                          (unsigned long long)a);
                else
                    CHECK(after == want, "size %u k %d n %u (%#llx): %#llx, want %#llx", s, k, n,
                          (unsigned long long)a, (unsigned long long)after, (unsigned long long)want);
            }
        }
    /* bswap 32/64, push imm8/imm32 then pop */
    jb_emit e;
    jb_emit_init(&e, code, sizeof code);
    jb_x64_mov_rr(&e, JB_X64_RAX, JB_X64_RDI);
    jb_x64_bswap(&e, JB_I64, JB_X64_RAX);
    jb_x64_mov_rr(&e, JB_X64_RCX, JB_X64_RDI);
    jb_x64_bswap(&e, JB_I32, JB_X64_RCX);
    jb_x64_alu_rr(&e, JB_I64, JB_X64_XOR, JB_X64_RAX, JB_X64_RCX);
    jb_x64_push_i(&e, -7);
    jb_x64_push_i(&e, 0x12345678);
    jb_x64_pop(&e, JB_X64_RCX);
    jb_x64_pop(&e, JB_X64_RDX);
    jb_x64_alu_rr(&e, JB_I64, JB_X64_ADD, JB_X64_RCX, JB_X64_RDX);
    jb_x64_alu_rr(&e, JB_I64, JB_X64_XOR, JB_X64_RAX, JB_X64_RCX);
    jb_x64_ret(&e);
    fn2 f = (fn2)install(&e);
    jb_emit_free(&e);
    CHECK(f, "install");
    for (unsigned i = 0; i < 20; i++) {
        uint64_t a = (uint64_t)operand(i);
        uint64_t want = __builtin_bswap64(a) ^ __builtin_bswap32((uint32_t)a) ^ (uint64_t)(0x12345678 - 7);
        CHECK((uint64_t)f((int64_t)a, 0) == want, "bswap/push %#llx", (unsigned long long)a);
    }
}

/* Atomics: three threads add to one counter with lock xadd, lock add and a
 * lock cmpxchg loop; xchg swaps; the total must be exact. */
static void atomics(void)
{
    for (int k = 0; k < 3; k++) {
        jb_emit e;
        jb_emit_init(&e, code, sizeof code);
        jb_x64_mem m = jb_x64_mem_bd(JB_X64_RDI, 0);
        if (k == 0) { /* returns the old value */
            jb_x64_mov_rr(&e, JB_X64_RAX, JB_X64_RSI);
            jb_x64_lock_xadd(&e, JB_I64, m, JB_X64_RAX);
        } else if (k == 1) {
            jb_x64_lock_alu_mr(&e, JB_I64, JB_X64_ADD, m, JB_X64_RSI);
            jb_x64_lock_alu_mi(&e, JB_I64, JB_X64_SUB, m, 1);
            jb_x64_lock_alu_mi(&e, JB_I64, JB_X64_ADD, m, 1);
            jb_x64_mfence(&e);
        } else { /* do { old = *p } while (!cas(p, old, old + b)) */
            jb_label again = jb_label_new(&e);
            jb_x64_mov_rm(&e, JB_X64_RAX, m);
            jb_label_bind(&e, again);
            jb_x64_pause(&e);
            jb_x64_lea(&e, JB_X64_RCX, jb_x64_mem_bisd(JB_X64_RAX, JB_X64_RSI, 1, 0));
            jb_x64_lock_cmpxchg(&e, JB_I64, m, JB_X64_RCX);
            jb_x64_jcc(&e, JB_X64_NE, again, 0);
        }
        jb_x64_ret(&e);
        shared_fn[k] = install(&e);
        jb_emit_free(&e);
        CHECK(shared_fn[k], "install");
    }
    int64_t total = hammer_counter();
    CHECK(total == 60000, "counter %lld, want 60000", (long long)total);
    CHECK(((fn2)shared_fn[0])((int64_t)(uintptr_t)&shared_counter, 5) == 60000 && shared_counter == 60005, "xadd");
    jb_emit e;
    jb_emit_init(&e, code, sizeof code);
    for (unsigned s = 0; s < 4; s++) /* xchg of each size at [rdi + 8 * s] */
        jb_x64_xchg_mr(&e, (jb_type)s, jb_x64_mem_bd(JB_X64_RDI, 8 * (int32_t)s), JB_X64_RSI);
    jb_x64_mov_rr(&e, JB_X64_RAX, JB_X64_RSI);
    jb_x64_ret(&e);
    fn2 f = (fn2)install(&e);
    jb_emit_free(&e);
    CHECK(f, "install");
    uint64_t m4[4] = {0x1111111111111111ull, 0x2222222222222222ull, 0x3333333333333333ull,
                      0x4444444444444444ull};
    int64_t got = f((int64_t)(uintptr_t)m4, (int64_t)0xa1b2c3d4e5f60718ull);
    /* each xchg leaves the old memory's low bytes in rsi for the next (the
     * 32-bit one clears rsi's upper half) */
    CHECK(m4[0] == 0x1111111111111118ull && m4[1] == 0x2222222222220711ull &&
              m4[2] == 0x33333333e5f62222ull && m4[3] == 0x0000000033333333ull &&
              (uint64_t)got == 0x4444444444444444ull,
          "xchg chain: %llx %llx %llx %llx -> %llx", (unsigned long long)m4[0],
          (unsigned long long)m4[1], (unsigned long long)m4[2], (unsigned long long)m4[3],
          (unsigned long long)got);
}

/* prologue/epilogue: an outer function sets the SysV callee-saved
 * registers, calls the inner one (which saves them, clobbers them, calls a
 * probe of the stack alignment and returns through epilogue), and reports
 * which registers changed; the probe, rsp + 8 mod 16 at its entry, must be
 * 0 as the ABI requires at a call. */
static void frames_save_registers(void)
{
    static const jb_x64_reg saved[5] = {JB_X64_RBX, JB_X64_R12, JB_X64_R13, JB_X64_R14, JB_X64_R15};
    static uint8_t probe_code[64], inner_code[256];
    jb_emit e;
    jb_emit_init(&e, probe_code, sizeof probe_code);
    jb_x64_lea(&e, JB_X64_RAX, jb_x64_mem_bd(JB_X64_RSP, 8));
    jb_x64_alu_ri(&e, JB_I32, JB_X64_AND, JB_X64_RAX, 15);
    jb_x64_ret(&e);
    void *probe = install(&e);
    jb_emit_free(&e);
    CHECK(probe, "install");
    for (uint32_t locals = 0; locals <= 40; locals += 8) {
        uint32_t mask = JB_X64_SYSV_SAVED;
        if (locals == 8) mask = 1u << JB_X64_RBX; /* an odd count */
        if (locals == 16) mask = 1u << JB_X64_R12 | 1u << JB_X64_R15;
        jb_emit_init(&e, inner_code, sizeof inner_code);
        jb_x64_prologue(&e, mask, locals);
        for (int k = 0; k < 5; k++) /* clobber what it saves */
            if (mask >> saved[k] & 1)
                jb_x64_mov_ri(&e, saved[k], -1 - k);
        if (locals)
            jb_x64_store_i(&e, JB_I64, jb_x64_mem_bd(JB_X64_RSP, (int32_t)locals - 8), 99);
        jb_x64_call_abs(&e, JB_X64_RAX, probe);
        jb_x64_epilogue(&e, JB_X64_SYSV_SAVED & mask);
        void *inner = install(&e);
        jb_emit_free(&e);
        CHECK(inner, "install");
        jb_emit_init(&e, code, sizeof code);
        jb_x64_prologue(&e, JB_X64_SYSV_SAVED, 0);
        for (int k = 0; k < 5; k++) jb_x64_mov_ri(&e, saved[k], 0x1000 + k);
        jb_label slot = jb_label_new(&e);
        jb_x64_call_m(&e, jb_x64_mem_l(slot)); /* call [rip + slot]: the inner function */
        jb_x64_alu_rr(&e, JB_I32, JB_X64_XOR, JB_X64_RCX, JB_X64_RCX);
        for (int k = 0; k < 5; k++) { /* rcx |= (reg != 0x1000 + k) << k */
            jb_x64_alu_ri(&e, JB_I64, JB_X64_CMP, saved[k], 0x1000 + k);
            jb_x64_setcc(&e, JB_X64_NE, JB_X64_RDX);
            jb_x64_extend(&e, JB_U8, JB_X64_RDX, JB_X64_RDX);
            jb_x64_shift_ri(&e, JB_I64, JB_X64_SHL, JB_X64_RDX, (unsigned)k + 8);
            jb_x64_alu_rr(&e, JB_I64, JB_X64_OR, JB_X64_RCX, JB_X64_RDX);
        }
        jb_x64_alu_rr(&e, JB_I64, JB_X64_OR, JB_X64_RAX, JB_X64_RCX);
        jb_x64_epilogue(&e, JB_X64_SYSV_SAVED);
        jb_x64_align(&e, 8);
        jb_label_bind(&e, slot);
        jb_emit_data(&e, &inner, 8);
        fn2 outer = (fn2)install(&e);
        jb_emit_free(&e);
        CHECK(outer, "install");
        int64_t got = outer(0, 0);
        CHECK((got & 0xff) == 0, "locals %u mask %#x: misaligned call (rsp+8 mod 16 = %lld)", locals,
              mask, (long long)(got & 0xff));
        CHECK((got >> 8) == 0, "locals %u: callee-saved registers changed: mask %#llx", locals,
              (unsigned long long)(got >> 8));
    }
}

static const test_case tests[] = {
#define T(f) {#f, f}
    T(integer_operations), T(constants), T(memory_widths_and_bases), T(frames_and_calls),
    T(jump_table), T(doubles), T(alu_every_size_memory), T(unary_and_shift_memory), T(atomics),
    T(frames_save_registers),
#undef T
};

EXEC_MAIN(tests)
