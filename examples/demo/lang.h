/* The demo's language: a small language of its own, compiled to native code
 * with jitbuf's emitters and checked against an interpreter.
 *
 *   fn mandel(cr, ci, limit) {
 *       var zr = 0; var zi = 0; var n = 0;
 *       while (n < limit && zr * zr + zi * zi <= 4) {
 *           var t = zr * zr - zi * zi + cr;
 *           zi = 2 * zr * zi + ci;  zr = t;  n = n + 1;
 *       }
 *       return n;
 *   }
 *
 * Every value is a double. Functions take up to JL_MAX_PARAMS parameters and
 * may call each other (recursion included) and two built-ins: put(c) appends
 * the character c to the output and returns c; sqrt(x). Comparisons give 1
 * or 0, && and || short-circuit, a condition is true when it is not 0.
 * Variables are local to their function (var declares one; parameters are
 * variables too). */
#ifndef JL_LANG_H
#define JL_LANG_H

#include <stddef.h>

#define JL_MAX_PARAMS 6  /* passed in FP registers on both arches */
#define JL_MAX_SLOTS 64  /* variables per function */
#define JL_MAX_FUNCS 32

typedef enum {
    E_NUM, E_VAR, E_NEG, E_ADD, E_SUB, E_MUL, E_DIV,
    E_LT, E_LE, E_GT, E_GE, E_EQ, E_NE, E_AND, E_OR, E_CALL, E_PUT, E_SQRT
} jl_ekind;

typedef struct jl_expr {
    jl_ekind kind;
    double num;            /* E_NUM */
    int slot;              /* E_VAR */
    int func;              /* E_CALL: index into jl_prog.funcs */
    int nargs;             /* E_CALL */
    struct jl_expr *a, *b; /* operands; E_PUT/E_SQRT: a */
    struct jl_expr *args[JL_MAX_PARAMS];
} jl_expr;

typedef enum { S_SET, S_WHILE, S_IF, S_RETURN, S_EXPR } jl_skind;

typedef struct jl_stmt {
    jl_skind kind;
    int slot;              /* S_SET */
    jl_expr *e;            /* value, condition or returned value */
    struct jl_stmt **body, **other; /* NULL-terminated; other: else */
} jl_stmt;

typedef struct {
    char name[32];
    int nparams, nslots;
    jl_stmt **body;        /* NULL-terminated */
} jl_func;

typedef struct {
    jl_func funcs[JL_MAX_FUNCS];
    int nfuncs;
    void *arena;           /* every node, freed by jl_free */
} jl_prog;

/* Parse src into *p. 0, or -1 with a message "line L: ..." in err. */
int jl_parse(jl_prog *p, const char *src, char *err, size_t errlen);
void jl_free(jl_prog *p);
/* Index of the function called name, or -1. */
int jl_find(const jl_prog *p, const char *name);

/* The output that put() appends to (shared by interpreter and JIT code). */
typedef struct { char *buf; size_t len, cap; } jl_out;
extern jl_out *jl_output;
double jl_put(double c); /* the built-in, called by both */

/* Interpret function f with args. */
double jl_interpret(const jl_prog *p, int f, const double *args);

#endif
