/* The demo's compiler: gen.c walks the program once per function and asks a
 * target (x64.c, a64.c) for instructions, through jitbuf's emitters.
 *
 * The model every target implements: two FP registers, r0 (the result, also
 * the first argument and the return value) and r1 (the right operand), and
 * a frame of 8-byte slots (the function's variables, then temporaries) kept
 * in memory, so that calls need not save anything. */
#ifndef JL_GEN_H
#define JL_GEN_H

#include "jitbuf/emit.h"
#include "lang.h"

typedef struct {
    const char *name;
    void (*align)(jb_emit *e); /* pad to a function's alignment */
    /* Function entry: a frame of nslots slots; parameter i to slot i. */
    void (*enter)(jb_emit *e, int nparams, int nslots);
    void (*leave)(jb_emit *e); /* return r0 */
    void (*num)(jb_emit *e, int reg, double v);  /* reg 0 or 1 */
    void (*load)(jb_emit *e, int reg, int slot);
    void (*store)(jb_emit *e, int slot);         /* slot = r0 */
    void (*copy)(jb_emit *e);                    /* r1 = r0 */
    void (*arith)(jb_emit *e, jl_ekind op);      /* r0 = r0 op r1: + - * / */
    void (*neg)(jb_emit *e);
    void (*sqrt)(jb_emit *e);
    /* Branch to l when (r0 op r1) == when: < <= > >= == !=, IEEE (NaN
     * compares unequal and unordered). */
    void (*compare)(jb_emit *e, jl_ekind op, jb_label l, int when);
    /* Branch to l when (r0 != 0) == when. */
    void (*truth)(jb_emit *e, jb_label l, int when);
    void (*jump)(jb_emit *e, jb_label l);
    void (*arg)(jb_emit *e, int i, int slot);    /* argument i = slot */
    void (*call)(jb_emit *e, jb_label l);        /* a compiled function */
    void (*call_c)(jb_emit *e, double (*fn)(double)); /* a C function of r0 */
} jl_target;

extern const jl_target jl_x64, jl_a64;

/* Compile every function of p into e; entry[f] receives function f's label.
 * Returns the cursor's error (jb_emit_finish reports it in detail). */
int jl_compile(const jl_prog *p, const jl_target *t, jb_emit *e,
               jb_label entry[JL_MAX_FUNCS]);

#endif
