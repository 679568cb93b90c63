/* The demo's arm64 target (AAPCS64): r0 = d0, r1 = d1, slot k at
 * [sp + 8k]; arguments in d0..d5, the result in d0; x16 is scratch. */
#include <string.h>

#include "gen.h"
#include "jitbuf/arm64.h"

enum { D0 = 0, D1 = 1, X16 = 16 };

static void align(jb_emit *e)
{
    jb_a64_align(e, 16);
}

static void enter(jb_emit *e, int nparams, int nslots)
{
    jb_a64_frame_enter(e, (uint32_t)(8 * nslots));
    for (int i = 0; i < nparams; i++)
        jb_a64_fstore(e, (jb_a64_dreg)i, JB_A64_SP, 8 * i, JB_A64_OFFSET);
}

static void leave(jb_emit *e)
{
    jb_a64_frame_leave(e);
    jb_a64_ret(e);
}

static void num(jb_emit *e, int reg, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    if (bits) {
        jb_a64_mov_imm(e, X16, bits);
        jb_a64_fmov_dx(e, (jb_a64_dreg)reg, X16);
    } else {
        jb_a64_fmov_dx(e, (jb_a64_dreg)reg, JB_A64_XZR);
    }
}

static void load(jb_emit *e, int reg, int k)
{
    jb_a64_fload(e, (jb_a64_dreg)reg, JB_A64_SP, 8 * k, JB_A64_OFFSET);
}

static void store(jb_emit *e, int k)
{
    jb_a64_fstore(e, D0, JB_A64_SP, 8 * k, JB_A64_OFFSET);
}

static void copy(jb_emit *e)
{
    jb_a64_fmov(e, D1, D0);
}

static void arith(jb_emit *e, jl_ekind op)
{
    switch (op) {
    case E_ADD: jb_a64_fadd(e, D0, D0, D1); break;
    case E_SUB: jb_a64_fsub(e, D0, D0, D1); break;
    case E_MUL: jb_a64_fmul(e, D0, D0, D1); break;
    default: jb_a64_fdiv(e, D0, D0, D1); break;
    }
}

static void neg(jb_emit *e)
{
    jb_a64_fneg(e, D0, D0);
}

static void sqrt_(jb_emit *e)
{
    jb_a64_fsqrt(e, D0, D0);
}

/* After fcmp, unordered sets C and V: mi, ls, gt, ge and eq are false
 * then, as C's comparisons are, and their inverses true. */
static void compare(jb_emit *e, jl_ekind op, jb_label l, int when)
{
    static const jb_a64_cond yes[] = {JB_A64_MI, JB_A64_LS, JB_A64_GT,
                                      JB_A64_GE, JB_A64_EQ, JB_A64_NE};
    jb_a64_cond c = yes[op - E_LT];
    jb_a64_fcmp(e, D0, D1);
    jb_a64_bcond(e, when ? c : (jb_a64_cond)(c ^ 1), l);
}

static void truth(jb_emit *e, jb_label l, int when)
{
    jb_a64_fmov_dx(e, D1, JB_A64_XZR);
    jb_a64_fcmp(e, D0, D1);
    jb_a64_bcond(e, when ? JB_A64_NE : JB_A64_EQ, l);
}

static void jump(jb_emit *e, jb_label l)
{
    jb_a64_b(e, l);
}

static void arg(jb_emit *e, int i, int k)
{
    jb_a64_fload(e, (jb_a64_dreg)i, JB_A64_SP, 8 * k, JB_A64_OFFSET);
}

static void call(jb_emit *e, jb_label l)
{
    jb_a64_bl(e, l);
}

static void call_c(jb_emit *e, double (*fn)(double))
{
    jb_a64_mov_imm(e, X16, (uint64_t)(uintptr_t)fn);
    jb_a64_blr(e, X16);
}

const jl_target jl_a64 = {
    "arm64", align, enter, leave, num, load, store, copy, arith, neg, sqrt_,
    compare, truth, jump, arg, call, call_c,
};
