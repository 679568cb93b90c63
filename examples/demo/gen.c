/* The arch-neutral half of the demo's compiler: expressions evaluate into
 * r0, conditions compile to branches (&& and || short-circuit), and loops
 * test at the bottom. The instructions come from the target. */
#include "gen.h"

typedef struct {
    const jl_target *t;
    jb_emit *e;
    const jb_label *entry;
    int temps;      /* first temporary slot */
    jb_label ret;   /* the function's epilogue */
} gen;

static int leaf(const jl_expr *x)
{
    return x->kind == E_NUM || x->kind == E_VAR;
}

static int is_cmp(jl_ekind k)
{
    return k >= E_LT && k <= E_NE;
}

/* Temporaries an expression needs beyond the slot it may use itself. */
static int need(const jl_expr *x)
{
    int n = 0, k;
    switch (x->kind) {
    case E_NUM:
    case E_VAR:
        return 0;
    case E_NEG:
    case E_PUT:
    case E_SQRT:
        return need(x->a);
    case E_CALL:
        for (int i = 0; i < x->nargs; i++)
            if ((k = i + (need(x->args[i]) > 1 ? need(x->args[i]) : 1)) > n)
                n = k;
        return n;
    case E_AND:
    case E_OR:
        n = need(x->a);
        return need(x->b) > n ? need(x->b) : n;
    default: /* binary */
        n = need(x->a);
        k = leaf(x->b) ? 0 : 1 + need(x->b);
        return k > n ? k : n;
    }
}

static int need_body(jl_stmt *const *b)
{
    int n = 0, k;
    for (; b && *b; b++) {
        if ((k = need((*b)->e)) > n)
            n = k;
        if ((k = need_body((*b)->body)) > n)
            n = k;
        if ((k = need_body((*b)->other)) > n)
            n = k;
    }
    return n;
}

static void eval(gen *g, const jl_expr *x, int d);
static void branch(gen *g, const jl_expr *x, int d, jb_label l, int when);

/* r0 = a, r1 = b; temporaries from slot temps + d. */
static void operands(gen *g, const jl_expr *a, const jl_expr *b, int d)
{
    if (leaf(b)) {
        eval(g, a, d);
        if (b->kind == E_NUM)
            g->t->num(g->e, 1, b->num);
        else
            g->t->load(g->e, 1, b->slot);
        return;
    }
    eval(g, a, d);
    g->t->store(g->e, g->temps + d);
    eval(g, b, d + 1);
    g->t->copy(g->e);
    g->t->load(g->e, 0, g->temps + d);
}

static void eval(gen *g, const jl_expr *x, int d)
{
    const jl_target *t = g->t;
    switch (x->kind) {
    case E_NUM: t->num(g->e, 0, x->num); return;
    case E_VAR: t->load(g->e, 0, x->slot); return;
    case E_NEG: eval(g, x->a, d); t->neg(g->e); return;
    case E_SQRT: eval(g, x->a, d); t->sqrt(g->e); return;
    case E_PUT: eval(g, x->a, d); t->call_c(g->e, jl_put); return;
    case E_CALL:
        for (int i = 0; i < x->nargs; i++) {
            eval(g, x->args[i], d + i);
            t->store(g->e, g->temps + d + i);
        }
        for (int i = 0; i < x->nargs; i++)
            t->arg(g->e, i, g->temps + d + i);
        t->call(g->e, g->entry[x->func]);
        return;
    case E_ADD:
    case E_SUB:
    case E_MUL:
    case E_DIV:
        operands(g, x->a, x->b, d);
        t->arith(g->e, x->kind);
        return;
    default: { /* a truth value: 1 or 0 through a branch */
        jb_label no = jb_label_new(g->e), done = jb_label_new(g->e);
        branch(g, x, d, no, 0);
        t->num(g->e, 0, 1);
        t->jump(g->e, done);
        jb_label_bind(g->e, no);
        t->num(g->e, 0, 0);
        jb_label_bind(g->e, done);
        return;
    }
    }
}

/* Branch to l when x's truth is when; fall through otherwise. */
static void branch(gen *g, const jl_expr *x, int d, jb_label l, int when)
{
    if (x->kind == E_AND || x->kind == E_OR) {
        /* a && b is false as soon as a is; a || b true as soon as a is. */
        int shortcut = x->kind == E_OR;
        if (when == shortcut) {
            branch(g, x->a, d, l, when);
            branch(g, x->b, d, l, when);
        } else {
            jb_label skip = jb_label_new(g->e);
            branch(g, x->a, d, skip, shortcut);
            branch(g, x->b, d, l, when);
            jb_label_bind(g->e, skip);
        }
    } else if (is_cmp(x->kind)) {
        operands(g, x->a, x->b, d);
        g->t->compare(g->e, x->kind, l, when);
    } else {
        eval(g, x, d);
        g->t->truth(g->e, l, when);
    }
}

static void body(gen *g, jl_stmt *const *b)
{
    for (; *b; b++) {
        const jl_stmt *s = *b;
        switch (s->kind) {
        case S_SET:
            eval(g, s->e, 0);
            g->t->store(g->e, s->slot);
            break;
        case S_EXPR:
            eval(g, s->e, 0);
            break;
        case S_RETURN:
            eval(g, s->e, 0);
            g->t->jump(g->e, g->ret);
            break;
        case S_IF: {
            jb_label other = jb_label_new(g->e), done = jb_label_new(g->e);
            branch(g, s->e, 0, other, 0);
            body(g, s->body);
            if (s->other)
                g->t->jump(g->e, done);
            jb_label_bind(g->e, other);
            if (s->other)
                body(g, s->other);
            jb_label_bind(g->e, done);
            break;
        }
        case S_WHILE: {
            jb_label top = jb_label_new(g->e), test = jb_label_new(g->e);
            g->t->jump(g->e, test);
            jb_label_bind(g->e, top);
            body(g, s->body);
            jb_label_bind(g->e, test);
            branch(g, s->e, 0, top, 1);
            break;
        }
        }
    }
}

int jl_compile(const jl_prog *p, const jl_target *t, jb_emit *e,
               jb_label entry[JL_MAX_FUNCS])
{
    for (int f = 0; f < p->nfuncs; f++)
        entry[f] = jb_label_new(e);
    for (int f = 0; f < p->nfuncs; f++) {
        const jl_func *fn = &p->funcs[f];
        gen g = {t, e, entry, fn->nslots, jb_label_new(e)};
        t->align(e);
        jb_label_bind(e, entry[f]);
        t->enter(e, fn->nparams, fn->nslots + need_body(fn->body));
        body(&g, fn->body);
        t->num(e, 0, 0); /* falling off the end returns 0 */
        jb_label_bind(e, g.ret);
        t->leave(e);
    }
    return e->err;
}
