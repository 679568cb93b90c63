/* The demo language's lexer and recursive-descent parser (grammar in
 * lang.h). Names are resolved while parsing: variables to frame slots,
 * calls to function indices (after the whole program is read, so functions
 * may call ones defined later). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang.h"

typedef struct node { struct node *next; } node; /* arena link */

typedef struct {
    const char *s;     /* after the current token */
    int line;
    char tok[32];      /* current token: identifier, number or punctuation */
    int is_num, is_id;
    double num;
} lexeme;

typedef struct {
    lexeme lx;
    jl_prog *p;
    jl_func *f;
    char vars[JL_MAX_SLOTS][32];
    struct { jl_expr *e; char name[32]; int line; } calls[256];
    int ncalls;
    char *err;
    size_t errlen;
    int failed;
} parser;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int fail(parser *ps, const char *fmt, ...)
{
    if (!ps->failed) {
        va_list ap;
        va_start(ap, fmt);
        int n = snprintf(ps->err, ps->errlen, "line %d: ", ps->lx.line);
        vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
        va_end(ap);
        ps->failed = 1;
    }
    return -1;
}

static void *alloc(parser *ps, size_t n)
{
    node *b = calloc(1, sizeof(node) + n);
    if (!b) {
        fail(ps, "out of memory");
        return NULL;
    }
    b->next = ps->p->arena;
    ps->p->arena = b;
    return b + 1;
}

static void next(parser *ps)
{
    const char *s = ps->lx.s;
    for (;;) {
        while (isspace((unsigned char)*s))
            ps->lx.line += *s++ == '\n';
        if (s[0] == '/' && s[1] == '/')
            while (*s && *s != '\n')
                s++;
        else
            break;
    }
    ps->lx.is_num = ps->lx.is_id = 0;
    ps->lx.tok[0] = 0;
    if (isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1]))) {
        char *end;
        ps->lx.num = strtod(s, &end);
        ps->lx.is_num = 1;
        snprintf(ps->lx.tok, sizeof ps->lx.tok, "%.*s", (int)(end - s), s);
        s = end;
    } else if (isalpha((unsigned char)*s) || *s == '_') {
        size_t n = 0;
        while (isalnum((unsigned char)s[n]) || s[n] == '_')
            n++;
        if (n >= sizeof ps->lx.tok)
            n = sizeof ps->lx.tok - 1;
        memcpy(ps->lx.tok, s, n);
        ps->lx.tok[n] = 0;
        ps->lx.is_id = 1;
        while (isalnum((unsigned char)*s) || *s == '_')
            s++;
    } else if (*s) {
        static const char *const two[] = {"<=", ">=", "==", "!=", "&&", "||"};
        size_t n = 1;
        for (size_t k = 0; k < sizeof two / sizeof two[0]; k++)
            if (!strncmp(s, two[k], 2))
                n = 2;
        memcpy(ps->lx.tok, s, n);
        ps->lx.tok[n] = 0;
        s += n;
    }
    ps->lx.s = s;
}

static int is(parser *ps, const char *t)
{
    return !ps->lx.is_num && !strcmp(ps->lx.tok, t);
}

static int expect(parser *ps, const char *t)
{
    if (!is(ps, t))
        return fail(ps, "expected '%s', found '%s'", t,
                    ps->lx.tok[0] ? ps->lx.tok : "end of input");
    next(ps);
    return 0;
}

static int slot_of(parser *ps, const char *name, int declare)
{
    for (int i = 0; i < ps->f->nslots; i++)
        if (!strcmp(ps->vars[i], name))
            return i;
    if (!declare)
        return fail(ps, "'%s' is not a variable here (declare it with var)", name);
    if (ps->f->nslots == JL_MAX_SLOTS)
        return fail(ps, "more than %d variables in '%s'", JL_MAX_SLOTS, ps->f->name);
    snprintf(ps->vars[ps->f->nslots], sizeof ps->vars[0], "%s", name);
    return ps->f->nslots++;
}

static jl_expr *mk(parser *ps, jl_ekind k, jl_expr *a, jl_expr *b)
{
    jl_expr *e = alloc(ps, sizeof *e);
    if (e) {
        e->kind = k;
        e->a = a;
        e->b = b;
    }
    return e;
}

static jl_expr *expr(parser *ps);

static jl_expr *call(parser *ps, const char *name)
{
    jl_expr *e = mk(ps, E_CALL, NULL, NULL);
    if (!e || expect(ps, "(") < 0)
        return NULL;
    while (!is(ps, ")")) {
        if (e->nargs == JL_MAX_PARAMS) {
            fail(ps, "more than %d arguments", JL_MAX_PARAMS);
            return NULL;
        }
        if (!(e->args[e->nargs++] = expr(ps)))
            return NULL;
        if (!is(ps, ")") && expect(ps, ",") < 0)
            return NULL;
    }
    next(ps);
    if (!strcmp(name, "put") || !strcmp(name, "sqrt")) {
        if (e->nargs != 1) {
            fail(ps, "%s takes one argument", name);
            return NULL;
        }
        e->kind = name[0] == 'p' ? E_PUT : E_SQRT;
        e->a = e->args[0];
        return e;
    }
    if (ps->ncalls == (int)(sizeof ps->calls / sizeof ps->calls[0])) {
        fail(ps, "too many calls");
        return NULL;
    }
    ps->calls[ps->ncalls].e = e;
    ps->calls[ps->ncalls].line = ps->lx.line;
    snprintf(ps->calls[ps->ncalls++].name, 32, "%s", name);
    return e;
}

static jl_expr *primary(parser *ps)
{
    if (ps->lx.is_num) {
        jl_expr *e = mk(ps, E_NUM, NULL, NULL);
        if (e)
            e->num = ps->lx.num;
        next(ps);
        return e;
    }
    if (is(ps, "(")) {
        next(ps);
        jl_expr *e = expr(ps);
        return e && expect(ps, ")") == 0 ? e : NULL;
    }
    if (is(ps, "-")) {
        next(ps);
        jl_expr *a = primary(ps);
        return a ? mk(ps, E_NEG, a, NULL) : NULL;
    }
    if (ps->lx.is_id) {
        char name[32];
        snprintf(name, sizeof name, "%s", ps->lx.tok);
        next(ps);
        if (is(ps, "("))
            return call(ps, name);
        int slot = slot_of(ps, name, 0);
        jl_expr *e = slot < 0 ? NULL : mk(ps, E_VAR, NULL, NULL);
        if (e)
            e->slot = slot;
        return e;
    }
    fail(ps, "expected a value, found '%s'", ps->lx.tok[0] ? ps->lx.tok : "end of input");
    return NULL;
}

/* Binary operators by precedence level, lowest first. */
static const struct { const char *op; jl_ekind kind; int level; } ops[] = {
    {"||", E_OR, 0}, {"&&", E_AND, 1},
    {"<", E_LT, 2}, {"<=", E_LE, 2}, {">", E_GT, 2}, {">=", E_GE, 2},
    {"==", E_EQ, 2}, {"!=", E_NE, 2},
    {"+", E_ADD, 3}, {"-", E_SUB, 3}, {"*", E_MUL, 4}, {"/", E_DIV, 4},
};

static jl_expr *binary(parser *ps, int level)
{
    if (level == 5)
        return primary(ps);
    jl_expr *a = binary(ps, level + 1);
    while (a) {
        size_t k = 0;
        while (k < sizeof ops / sizeof ops[0] &&
               !(ops[k].level == level && is(ps, ops[k].op)))
            k++;
        if (k == sizeof ops / sizeof ops[0])
            break;
        next(ps);
        jl_expr *b = binary(ps, level + 1);
        a = b ? mk(ps, ops[k].kind, a, b) : NULL;
        if (level == 2) /* comparisons do not chain */
            break;
    }
    return a;
}

static jl_expr *expr(parser *ps)
{
    return binary(ps, 0);
}

static jl_stmt **block(parser *ps);

static jl_stmt *stmt(parser *ps)
{
    jl_stmt *s = alloc(ps, sizeof *s);
    if (!s)
        return NULL;
    if (is(ps, "while") || is(ps, "if")) {
        s->kind = is(ps, "if") ? S_IF : S_WHILE;
        next(ps);
        if (expect(ps, "(") < 0 || !(s->e = expr(ps)) || expect(ps, ")") < 0 ||
            !(s->body = block(ps)))
            return NULL;
        if (s->kind == S_IF && is(ps, "else")) {
            next(ps);
            if (is(ps, "if")) { /* else if: a block of one statement */
                jl_stmt **one = alloc(ps, 2 * sizeof *one);
                if (!one || !(one[0] = stmt(ps)))
                    return NULL;
                s->other = one;
            } else if (!(s->other = block(ps))) {
                return NULL;
            }
        }
        return s;
    }
    if (is(ps, "return")) {
        next(ps);
        s->kind = S_RETURN;
        return (s->e = expr(ps)) && expect(ps, ";") == 0 ? s : NULL;
    }
    int declare = is(ps, "var");
    if (declare)
        next(ps);
    if (ps->lx.is_id && !declare) { /* an assignment, or a call statement */
        lexeme name = ps->lx;
        next(ps);
        if (!is(ps, "=")) { /* not an assignment: re-read as an expression */
            ps->lx = name;
            s->kind = S_EXPR;
            return (s->e = expr(ps)) && expect(ps, ";") == 0 ? s : NULL;
        }
        s->slot = slot_of(ps, name.tok, 0);
    } else if (declare) {
        if (!ps->lx.is_id) {
            fail(ps, "expected a name after var");
            return NULL;
        }
        s->slot = slot_of(ps, ps->lx.tok, 1);
        next(ps);
    } else {
        s->kind = S_EXPR;
        return (s->e = expr(ps)) && expect(ps, ";") == 0 ? s : NULL;
    }
    s->kind = S_SET;
    if (s->slot < 0 || expect(ps, "=") < 0 || !(s->e = expr(ps)) || expect(ps, ";") < 0)
        return NULL;
    return s;
}

static jl_stmt **block(parser *ps)
{
    if (expect(ps, "{") < 0)
        return NULL;
    size_t n = 0, cap = 8;
    jl_stmt **v = malloc(cap * sizeof *v);
    while (v && !ps->failed && !is(ps, "}")) {
        if (!ps->lx.tok[0]) {
            fail(ps, "missing '}'");
            break;
        }
        if (n + 1 == cap) {
            jl_stmt **w = realloc(v, (cap *= 2) * sizeof *v);
            if (!w)
                break;
            v = w;
        }
        v[n] = stmt(ps);
        if (!v[n++])
            break;
    }
    jl_stmt **out = ps->failed || !v ? NULL : alloc(ps, (n + 1) * sizeof *out);
    if (out)
        memcpy(out, v, n * sizeof *out);
    free(v);
    if (!out)
        return NULL;
    next(ps); /* '}' */
    return out;
}

static int function(parser *ps)
{
    if (expect(ps, "fn") < 0)
        return -1;
    if (!ps->lx.is_id)
        return fail(ps, "expected a function name after fn");
    if (ps->p->nfuncs == JL_MAX_FUNCS)
        return fail(ps, "more than %d functions", JL_MAX_FUNCS);
    if (jl_find(ps->p, ps->lx.tok) >= 0)
        return fail(ps, "function '%s' defined twice", ps->lx.tok);
    jl_func *f = ps->f = &ps->p->funcs[ps->p->nfuncs++];
    snprintf(f->name, sizeof f->name, "%s", ps->lx.tok);
    next(ps);
    if (expect(ps, "(") < 0)
        return -1;
    while (!is(ps, ")")) {
        if (!ps->lx.is_id)
            return fail(ps, "expected a parameter name");
        if (f->nparams == JL_MAX_PARAMS)
            return fail(ps, "more than %d parameters", JL_MAX_PARAMS);
        slot_of(ps, ps->lx.tok, 1);
        f->nparams++;
        next(ps);
        if (!is(ps, ")") && expect(ps, ",") < 0)
            return -1;
    }
    next(ps);
    f->body = block(ps);
    return f->body ? 0 : -1;
}

int jl_find(const jl_prog *p, const char *name)
{
    for (int i = 0; i < p->nfuncs; i++)
        if (!strcmp(p->funcs[i].name, name))
            return i;
    return -1;
}

int jl_parse(jl_prog *p, const char *src, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    parser ps = {.lx = {.s = src, .line = 1}, .p = p, .err = err, .errlen = errlen};
    err[0] = 0;
    next(&ps);
    while (!ps.failed && ps.lx.tok[0])
        function(&ps);
    for (int i = 0; !ps.failed && i < ps.ncalls; i++) {
        jl_expr *e = ps.calls[i].e;
        ps.lx.line = ps.calls[i].line;
        e->func = jl_find(p, ps.calls[i].name);
        if (e->func < 0)
            fail(&ps, "call of an unknown function '%s'", ps.calls[i].name);
        else if (e->nargs != p->funcs[e->func].nparams)
            fail(&ps, "'%s' takes %d arguments, not %d", ps.calls[i].name,
                 p->funcs[e->func].nparams, e->nargs);
    }
    if (!ps.failed && p->nfuncs == 0)
        fail(&ps, "no function defined");
    if (ps.failed) {
        jl_free(p);
        return -1;
    }
    return 0;
}

void jl_free(jl_prog *p)
{
    for (node *b = p->arena, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    p->arena = NULL;
    p->nfuncs = 0;
}
