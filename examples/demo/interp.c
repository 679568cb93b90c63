/* The reference: a tree-walking interpreter of the demo language. The JIT's
 * output must match it byte for byte. Comparisons follow C (and the
 * machines): any comparison with NaN is false except !=. */
#include <math.h>
#include <stdlib.h>

#include "lang.h"

jl_out *jl_output;

double jl_put(double c)
{
    jl_out *o = jl_output;
    if (o && o->len < o->cap)
        o->buf[o->len++] = (char)(int)c;
    return c;
}

typedef struct {
    const jl_prog *p;
    double *slots;
} frame;

static double eval(const frame *f, const jl_expr *e)
{
    switch (e->kind) {
    case E_NUM: return e->num;
    case E_VAR: return f->slots[e->slot];
    case E_NEG: return -eval(f, e->a);
    case E_PUT: return jl_put(eval(f, e->a));
    case E_SQRT: return sqrt(eval(f, e->a));
    case E_AND: return eval(f, e->a) != 0 && eval(f, e->b) != 0;
    case E_OR: return eval(f, e->a) != 0 || eval(f, e->b) != 0;
    case E_CALL: {
        double args[JL_MAX_PARAMS];
        for (int i = 0; i < e->nargs; i++)
            args[i] = eval(f, e->args[i]);
        return jl_interpret(f->p, e->func, args);
    }
    default:
        break;
    }
    /* Binary: the left operand first, as the compiled code does. */
    double x = eval(f, e->a), y = eval(f, e->b);
    switch (e->kind) {
    case E_ADD: return x + y;
    case E_SUB: return x - y;
    case E_MUL: return x * y;
    case E_DIV: return x / y;
    case E_LT: return x < y;
    case E_LE: return x <= y;
    case E_GT: return x > y;
    case E_GE: return x >= y;
    case E_EQ: return x == y;
    case E_NE: return x != y;
    default: abort();
    }
}

/* 1 when a return ran (its value in *ret). */
static int exec(const frame *f, jl_stmt *const *body, double *ret)
{
    for (; *body; body++) {
        const jl_stmt *s = *body;
        switch (s->kind) {
        case S_SET:
            f->slots[s->slot] = eval(f, s->e);
            break;
        case S_EXPR:
            (void)eval(f, s->e);
            break;
        case S_RETURN:
            *ret = eval(f, s->e);
            return 1;
        case S_IF:
            if (eval(f, s->e) != 0 ? exec(f, s->body, ret)
                                   : s->other && exec(f, s->other, ret))
                return 1;
            break;
        case S_WHILE:
            while (eval(f, s->e) != 0)
                if (exec(f, s->body, ret))
                    return 1;
            break;
        }
    }
    return 0;
}

double jl_interpret(const jl_prog *p, int fi, const double *args)
{
    const jl_func *fn = &p->funcs[fi];
    double slots[JL_MAX_SLOTS] = {0};
    for (int i = 0; i < fn->nparams; i++)
        slots[i] = args[i];
    frame f = {p, slots};
    double ret = 0; /* falling off the end returns 0 */
    exec(&f, fn->body, &ret);
    return ret;
}
