/* The doctor's report: a small tree built once and printed either as JSON
 * (--json, for scripts) or read back by the text printers, so that both
 * forms always say the same. Out of memory ends the program: a report
 * that silently lost a finding would be worse. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"

enum kind { OBJ, ARR, STR, BOOL, INT, NUL };

struct jbd_node {
    enum kind kind;
    char *key; /* NULL inside arrays */
    char *str;
    long long num;
    jbd_node *first, *last, *next;
};

static void *must(void *p)
{
    if (!p) {
        fputs("jitbuf-doctor: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

static char *dup(const char *s)
{
    return s ? must(strdup(s)) : NULL;
}

static jbd_node *add(jbd_node *parent, const char *key, enum kind kind)
{
    jbd_node *n = must(calloc(1, sizeof *n));
    n->kind = kind;
    n->key = parent && parent->kind == OBJ ? dup(key) : NULL;
    if (parent) {
        if (parent->last)
            parent->last->next = n;
        else
            parent->first = n;
        parent->last = n;
    }
    return n;
}

jbd_node *jbd_root(void)
{
    return add(NULL, NULL, OBJ);
}
jbd_node *jbd_object(jbd_node *p, const char *key)
{
    return add(p, key, OBJ);
}
jbd_node *jbd_array(jbd_node *p, const char *key)
{
    return add(p, key, ARR);
}
void jbd_str(jbd_node *p, const char *key, const char *value)
{
    if (!value) {
        add(p, key, NUL);
        return;
    }
    add(p, key, STR)->str = dup(value);
}
void jbd_strf(jbd_node *p, const char *key, const char *fmt, ...)
{
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = must(n >= 0 ? malloc((size_t)n + 1) : NULL);
    vsnprintf(s, (size_t)n + 1, fmt, aq);
    va_end(aq);
    add(p, key, STR)->str = s;
}
void jbd_bool(jbd_node *p, const char *key, int value)
{
    add(p, key, BOOL)->num = value != 0;
}
void jbd_int(jbd_node *p, const char *key, long long value)
{
    add(p, key, INT)->num = value;
}
void jbd_null(jbd_node *p, const char *key)
{
    add(p, key, NUL);
}

void jbd_finding(jbd_node *findings, const char *severity, const char *text,
                 const char *fix)
{
    jbd_node *f = jbd_object(findings, NULL);
    jbd_str(f, "severity", severity);
    jbd_str(f, "text", text);
    jbd_str(f, "fix", fix);
}

void jbd_free(jbd_node *n)
{
    while (n) {
        jbd_node *next = n->next;
        jbd_free(n->first);
        free(n->key);
        free(n->str);
        free(n);
        n = next;
    }
}

/* ---- JSON ------------------------------------------------------------ */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f); /* UTF-8 passes through */
    }
    fputc('"', f);
}

static void json(FILE *f, const jbd_node *n, int depth)
{
    switch (n->kind) {
    case STR: json_str(f, n->str); return;
    case BOOL: fputs(n->num ? "true" : "false", f); return;
    case INT: fprintf(f, "%lld", n->num); return;
    case NUL: fputs("null", f); return;
    case OBJ:
    case ARR: break;
    }
    fputc(n->kind == OBJ ? '{' : '[', f);
    for (const jbd_node *c = n->first; c; c = c->next) {
        fprintf(f, "\n%*s", 2 * (depth + 1), "");
        if (n->kind == OBJ) {
            json_str(f, c->key);
            fputs(": ", f);
        }
        json(f, c, depth + 1);
        if (c->next)
            fputc(',', f);
    }
    if (n->first)
        fprintf(f, "\n%*s", 2 * depth, "");
    fputc(n->kind == OBJ ? '}' : ']', f);
}

void jbd_print_json(FILE *f, const jbd_node *root)
{
    json(f, root, 0);
    fputc('\n', f);
}

/* ---- reading back ------------------------------------------------------ */

const jbd_node *jbd_get(const jbd_node *obj, const char *key)
{
    for (const jbd_node *c = obj ? obj->first : NULL; c; c = c->next)
        if (c->key && !strcmp(c->key, key))
            return c;
    return NULL;
}
const char *jbd_get_str(const jbd_node *obj, const char *key)
{
    const jbd_node *n = jbd_get(obj, key);
    return n && n->kind == STR ? n->str : NULL;
}
long long jbd_get_int(const jbd_node *obj, const char *key)
{
    const jbd_node *n = jbd_get(obj, key);
    return n && (n->kind == INT || n->kind == BOOL) ? n->num : 0;
}
int jbd_get_bool(const jbd_node *obj, const char *key)
{
    return jbd_get_int(obj, key) != 0;
}
const char *jbd_value(const jbd_node *n)
{
    return n && n->kind == STR ? n->str : NULL;
}
int jbd_is_null(const jbd_node *n)
{
    return !n || n->kind == NUL;
}
const jbd_node *jbd_next(const jbd_node *parent, const jbd_node *n)
{
    return n ? n->next : parent ? parent->first : NULL;
}

void jbd_findings_text(FILE *f, const jbd_node *obj, const char *indent)
{
    const jbd_node *fs = jbd_get(obj, "findings");
    for (const jbd_node *x = jbd_next(fs, NULL); x; x = jbd_next(fs, x)) {
        fprintf(f, "%s%s: %s\n", indent, jbd_get_str(x, "severity"),
                jbd_get_str(x, "text"));
        const char *fix = jbd_get_str(x, "fix");
        if (fix)
            fprintf(f, "%s  fix: %s\n", indent, fix);
    }
}
