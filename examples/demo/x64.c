/* The demo's x86_64 target (SysV): r0 = xmm0, r1 = xmm1, slot k at
 * [rbp - 8(k + 1)]; arguments in xmm0..xmm5, the result in xmm0. */
#include <string.h>

#include "gen.h"
#include "jitbuf/x86_64.h"

enum { XMM0 = 0, XMM1 = 1 };

static jb_x64_mem slot(int k)
{
    return jb_x64_mem_bd(JB_X64_RBP, -8 * (k + 1));
}

static void align(jb_emit *e)
{
    jb_x64_align(e, 16);
}

static void enter(jb_emit *e, int nparams, int nslots)
{
    jb_x64_frame_enter(e, (uint32_t)(8 * nslots));
    for (int i = 0; i < nparams; i++)
        jb_x64_movsd_mx(e, slot(i), (jb_x64_xmm)i);
}

static void leave(jb_emit *e)
{
    jb_x64_frame_leave(e);
    jb_x64_ret(e);
}

static void num(jb_emit *e, int reg, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    if (bits == 0) {
        jb_x64_xorpd(e, (jb_x64_xmm)reg, (jb_x64_xmm)reg);
        return;
    }
    jb_x64_mov_ri(e, JB_X64_RAX, (int64_t)bits);
    jb_x64_movq_xr(e, (jb_x64_xmm)reg, JB_X64_RAX);
}

static void load(jb_emit *e, int reg, int k)
{
    jb_x64_movsd_xm(e, (jb_x64_xmm)reg, slot(k));
}

static void store(jb_emit *e, int k)
{
    jb_x64_movsd_mx(e, slot(k), XMM0);
}

static void copy(jb_emit *e)
{
    jb_x64_movapd(e, XMM1, XMM0);
}

static void arith(jb_emit *e, jl_ekind op)
{
    static const jb_x64_sd_op sd[] = {JB_X64_ADDSD, JB_X64_SUBSD, JB_X64_MULSD,
                                      JB_X64_DIVSD};
    jb_x64_sd_xx(e, sd[op - E_ADD], XMM0, XMM1);
}

static void neg(jb_emit *e)
{
    jb_x64_mov_ri(e, JB_X64_RAX, INT64_MIN);
    jb_x64_movq_xr(e, XMM1, JB_X64_RAX);
    jb_x64_xorpd(e, XMM0, XMM1);
}

static void sqrt_(jb_emit *e)
{
    jb_x64_sqrtsd(e, XMM0, XMM0);
}

/* After ucomisd: "equal" is ZF = 1 with PF = 0 (PF = 1: unordered). */
static void equal(jb_emit *e, jb_label l, int when)
{
    if (when) {
        jb_label skip = jb_label_new(e);
        jb_x64_jcc(e, JB_X64_P, skip, 0);
        jb_x64_jcc(e, JB_X64_E, l, 0);
        jb_label_bind(e, skip);
    } else {
        jb_x64_jcc(e, JB_X64_P, l, 0);
        jb_x64_jcc(e, JB_X64_NE, l, 0);
    }
}

static void compare(jb_emit *e, jl_ekind op, jb_label l, int when)
{
    /* a < b is b > a: "above" is false when unordered, as C's < is. */
    int swap = op == E_LT || op == E_LE;
    jb_x64_ucomisd(e, swap ? XMM1 : XMM0,
                   swap ? XMM0 : XMM1);
    switch (op) {
    case E_LT:
    case E_GT: jb_x64_jcc(e, when ? JB_X64_A : JB_X64_BE, l, 0); break;
    case E_LE:
    case E_GE: jb_x64_jcc(e, when ? JB_X64_AE : JB_X64_B, l, 0); break;
    case E_EQ: equal(e, l, when); break;
    default: equal(e, l, !when); break; /* E_NE */
    }
}

static void truth(jb_emit *e, jb_label l, int when)
{
    jb_x64_xorpd(e, XMM1, XMM1);
    jb_x64_ucomisd(e, XMM0, XMM1);
    equal(e, l, !when);
}

static void jump(jb_emit *e, jb_label l)
{
    jb_x64_jmp(e, l, 0);
}

static void arg(jb_emit *e, int i, int k)
{
    jb_x64_movsd_xm(e, (jb_x64_xmm)i, slot(k));
}

static void call(jb_emit *e, jb_label l)
{
    jb_x64_call(e, l);
}

static void call_c(jb_emit *e, double (*fn)(double))
{
    jb_x64_mov_ri(e, JB_X64_RAX, (int64_t)(uintptr_t)fn);
    jb_x64_call_r(e, JB_X64_RAX);
}

const jl_target jl_x64 = {
    "x86_64", align, enter, leave, num, load, store, copy, arith, neg, sqrt_,
    compare, truth, jump, arg, call, call_c,
};
