/* mix8 with jitbuf's emitters: exactly the forms and operands of
 * bench-workload.md. Labels are real labels, created and bound through the
 * emitter API: L_k bound at the start of group k, referenced backward by the
 * group's jcc/b.cond and forward (unbound) by the previous group's call/bl.
 * The run keeps the cursor in a local copy (jb_emit_borrow) and checks the
 * room once per group of 8 (JB_EMIT_RESERVED), as a hand-written emitter
 * checks once per group; the last bytes of the buffer take the exact
 * per-instruction checks. */
#include "mix8.h"

#include "jitbuf/arm64.h"
#include "jitbuf/x86_64.h"

/* REGS[(8k + f) mod 12] and REGS[(8k + f + 5) mod 12], row k % 3, with
 * x86_64 REGS = rax rcx rdx rbx rsi rdi r8 r9 r10 r11 r14 r15 and arm64
 * REGS = x0..x7 x19..x22 (hardware numbers). */
const mix8_row MIX8_X64[3] = {{{0, 1, 2, 3, 6, 7, 8, 9}, {7, 8, 9, 10, 11, 14, 15, 0}},
                              {{10, 11, 14, 15, 0, 1, 2, 3}, {1, 2, 3, 6, 7, 8, 9, 10}},
                              {{6, 7, 8, 9, 10, 11, 14, 15}, {11, 14, 15, 0, 1, 2, 3, 6}}};
const mix8_row MIX8_A64[3] = {{{0, 1, 2, 3, 4, 5, 6, 7}, {5, 6, 7, 19, 20, 21, 22, 0}},
                              {{19, 20, 21, 22, 0, 1, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 19}},
                              {{4, 5, 6, 7, 19, 20, 21, 22}, {20, 21, 22, 0, 1, 2, 3, 4}}};

/* Group k's 8 instructions (registers of row k % 3). */
JB__INLINE void x64_group(jb_emit *e, uint32_t k, const mix8_row *r, jb_label here,
                          jb_label next)
{
#define A(f) ((jb_x64_reg)r->a[f])
#define B(f) ((jb_x64_reg)r->b[f])
    jb_x64_mov_ri(e, A(0), (int32_t)(0x80000000u | (8 * k)));
    jb_x64_add_rr(e, A(1), B(1));
    jb_x64_mov_rm(e, A(2), jb_x64_mem_bd(B(2), (int32_t)(0x100 + 8 * (k & 0xff))));
    jb_x64_mov_mr(e, jb_x64_mem_bd(B(3), (int32_t)(8 * (1 + (k & 7)))), A(3));
    jb_x64_cmp_ri(e, A(4), k & 63);
    jb_x64_jcc(e, (jb_x64_cc)(k & 15), here, JB_X64_LONG);
    jb_x64_call(e, next);
    jb_x64_ret(e);
#undef A
#undef B
}

int mix8_x64_jitbuf(jb_emit *cursor)
{
    jb_emit c, *e = &c;
    jb_emit_borrow(cursor, e);
    jb_label here = jb_label_new(e);
    jb_x64_bind(e, here);
    const mix8_row *r = MIX8_X64; /* row k % 3 */
    for (uint32_t k = 0; k < MIX8_GROUPS; k++) {
        jb_label next = jb_label_new(e);
        JB_EMIT_RESERVED(e, 8 * JB_X64_MAX_INSN, x64_group(e, k, r, here, next));
        jb_x64_bind(e, next);
        here = next;
        r = MIX8_NEXT_ROW(MIX8_X64, r);
    }
    jb_emit_giveback(cursor, e);
    return jb_emit_finish(cursor, NULL);
}

JB__INLINE void a64_group(jb_emit *e, uint32_t k, const mix8_row *r, unsigned cond,
                          jb_label here, jb_label next)
{
#define A(f) ((jb_a64_reg)r->a[f])
#define B(f) ((jb_a64_reg)r->b[f])
    if (k & 1)
        jb_a64_movk(e, A(0), k & 0xffff, 16);
    else
        jb_a64_movz(e, A(0), k & 0xffff, 0);
    jb_a64_add(e, A(1), A(1), B(1));
    jb_a64_ldr(e, A(2), B(2), 0x100 + 8 * (k & 0xff));
    jb_a64_str(e, A(3), B(3), 8 * (1 + (k & 7)));
    jb_a64_cmp_imm(e, A(4), k & 63);
    jb_a64_bcond(e, (jb_a64_cond)cond, here);
    jb_a64_bl(e, next);
    jb_a64_ret(e);
#undef A
#undef B
}

int mix8_a64_jitbuf(jb_emit *cursor)
{
    jb_emit c, *e = &c;
    jb_emit_borrow(cursor, e);
    jb_label here = jb_label_new(e);
    jb_a64_bind(e, here);
    const mix8_row *r = MIX8_A64; /* row k % 3 */
    unsigned cond = 0;            /* k % 14 */
    for (uint32_t k = 0; k < MIX8_GROUPS; k++) {
        jb_label next = jb_label_new(e);
        JB_EMIT_RESERVED(e, 8 * JB_A64_MAX_INSN, a64_group(e, k, r, cond, here, next));
        jb_a64_bind(e, next);
        here = next;
        r = MIX8_NEXT_ROW(MIX8_A64, r);
        cond = cond < 13 ? cond + 1 : 0;
    }
    jb_emit_giveback(cursor, e);
    return jb_emit_finish(cursor, NULL);
}

uint64_t mix8_fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}
