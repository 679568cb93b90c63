/* demo: a small expression JIT on top of jitbuf.
 *
 * Compiles integer expressions in x ("(x+3)*(x-2)-7*x") to native code (a
 * stack machine on the machine stack, x86_64 or arm64), installs each one
 * with jb_alloc + jb_write, runs it over a range of x and checks it against
 * an interpreter. Then it patches a live constant with jb_patch, prints the
 * region's strategy and statistics, and confirms from /proc/self/maps that no
 * mapping is writable and executable.
 *
 * Run: make demo            (JITBUF_WX=mprotect make demo to force another) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jitbuf.h"

#if defined(__APPLE__)
#include <pthread.h>
#ifdef PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP
/* This executable links libjitbuf statically, so it lists jitbuf's write
 * callbacks in its own (one per image) allowlist; needed when it is signed
 * with entitlements/jit-allowlist.plist, harmless otherwise. */
PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP(JB_APPLE_WRITE_CALLBACKS);
#endif
#endif

/* ---- a tiny parser producing postfix: digits, 'x', + - * ---------------- */

typedef struct { const char *s; char out[256]; int n; int64_t k[64]; int nk; } parser;

static int expr(parser *p);
static int atom(parser *p)
{
    while (*p->s == ' ') p->s++;
    if (*p->s == '(') {
        p->s++;
        if (expr(p) < 0 || *p->s++ != ')') return -1;
    } else if (*p->s == 'x') {
        p->s++;
        p->out[p->n++] = 'x';
    } else if (*p->s >= '0' && *p->s <= '9') {
        char *end;
        int64_t v = strtoll(p->s, &end, 10);
        p->s = end;
        if (v > 65535 || p->nk == 64) return -1; /* one 16-bit immediate */
        p->k[p->nk++] = v;
        p->out[p->n++] = 'k';
    } else return -1;
    while (*p->s == ' ') p->s++;
    return 0;
}
static int term(parser *p)
{
    if (atom(p) < 0) return -1;
    while (*p->s == '*') { p->s++; if (atom(p) < 0) return -1; p->out[p->n++] = '*'; }
    return 0;
}
static int expr(parser *p)
{
    if (term(p) < 0) return -1;
    while (*p->s == '+' || *p->s == '-') {
        char op = *p->s++;
        if (term(p) < 0) return -1;
        p->out[p->n++] = op;
    }
    return 0;
}

static int64_t interpret(const parser *p, int64_t x)
{
    int64_t st[64]; int sp = 0, ki = 0;
    for (int i = 0; i < p->n; i++) {
        char c = p->out[i];
        if (c == 'x') st[sp++] = x;
        else if (c == 'k') st[sp++] = p->k[ki++];
        else { int64_t b = st[--sp], a = st[--sp];
               st[sp++] = c == '+' ? a + b : c == '-' ? a - b : a * b; }
    }
    return st[0];
}

/* ---- code generation: one routine per target -------------------------- */

typedef struct { uint8_t b[4096]; size_t n; size_t konst; } code;
static void put(code *c, const void *p, size_t n) { memcpy(c->b + c->n, p, n); c->n += n; }

#if defined(__x86_64__)
/* x in rdi, result in rax; stack: push/pop. The first constant's imm32 is
 * placed on a 4-byte boundary so that jb_patch can change it live. */
static void compile(const parser *p, code *c)
{
    int ki = 0;
    for (int i = 0; i < p->n; i++) {
        switch (p->out[i]) {
        case 'x': put(c, "\x57", 1); break;                     /* push rdi */
        case 'k': {
            while ((c->n + 3) % 4) put(c, "\x90", 1);            /* nop */
            uint32_t v = (uint32_t)p->k[ki++];
            if (ki == 1) c->konst = c->n + 3;
            put(c, "\x48\xc7\xc0", 3); put(c, &v, 4);           /* mov rax, imm32 */
            put(c, "\x50", 1); break;                           /* push rax */
        }
        default:
            put(c, "\x59\x58", 2);                              /* pop rcx; pop rax */
            if (p->out[i] == '+') put(c, "\x48\x01\xc8", 3);    /* add rax, rcx */
            if (p->out[i] == '-') put(c, "\x48\x29\xc8", 3);    /* sub rax, rcx */
            if (p->out[i] == '*') put(c, "\x48\x0f\xaf\xc1", 4);/* imul rax, rcx */
            put(c, "\x50", 1);                                  /* push rax */
        }
    }
    put(c, "\x58\xc3", 2);                                      /* pop rax; ret */
}
static uint64_t patched_konst(const code *c, uint32_t v) { (void)c; return v; }
#elif defined(__aarch64__)
static void w32(code *c, uint32_t w) { put(c, &w, 4); }
/* x in x0, result in x0; stack: 16-byte pre/post-indexed str/ldr. */
static void compile(const parser *p, code *c)
{
    int ki = 0;
    for (int i = 0; i < p->n; i++) {
        switch (p->out[i]) {
        case 'x': w32(c, 0xf81f0fe0); break;                    /* str x0, [sp, #-16]! */
        case 'k':
            if (ki == 0) c->konst = c->n;
            w32(c, 0xd2800009 | (uint32_t)p->k[ki++] << 5);     /* movz x9, #k */
            w32(c, 0xf81f0fe9); break;                          /* str x9, [sp, #-16]! */
        default:
            w32(c, 0xf84107ea); w32(c, 0xf84107e9);             /* ldr x10/x9, [sp], #16 */
            if (p->out[i] == '+') w32(c, 0x8b0a0129);           /* add x9, x9, x10 */
            if (p->out[i] == '-') w32(c, 0xcb0a0129);           /* sub x9, x9, x10 */
            if (p->out[i] == '*') w32(c, 0x9b0a7d29);           /* mul x9, x9, x10 */
            w32(c, 0xf81f0fe9);                                 /* str x9, [sp, #-16]! */
        }
    }
    w32(c, 0xf84107e0); w32(c, 0xd65f03c0);                     /* ldr x0, [sp], #16; ret */
}
static uint64_t patched_konst(const code *c, uint32_t v)
{
    (void)c; return 0xd2800009 | (v & 0xffff) << 5;
}
#else
#error "demo: x86_64 or arm64 only"
#endif

static int check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "demo: %s failed: %s (%s)\n", what, jb_last_error(), jb_err_name(rc));
        exit(1);
    }
    return rc;
}

static int rwx_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512]; int n = 0;
    if (!f) return -1; /* not Linux */
    while (fgets(line, sizeof line, f)) {
        char perms[8];
        if (sscanf(line, "%*s %7s", perms) == 1 && perms[1] == 'w' && perms[2] == 'x') n++;
    }
    fclose(f);
    return n;
}

int main(void)
{
    static const char *const exprs[] = {
        "(x+3)*(x-2)-7*x", "x*x*x-2*x+1", "((1+2)*(3+4)-x)*(x+10)", "42",
    };
    jb_region *r;
    check(jb_region_open(&r, NULL), "jb_region_open");
    typedef int64_t (*fn_t)(int64_t);
    void *fns[4];
    code cs[4];
    int failures = 0;

    for (int e = 0; e < 4; e++) {
        parser p = {.s = exprs[e]};
        if (expr(&p) < 0 || *p.s) { fprintf(stderr, "demo: bad expression\n"); return 1; }
        memset(&cs[e], 0, sizeof cs[e]);
        compile(&p, &cs[e]);
        check(jb_alloc(r, cs[e].n, 16, &fns[e]), "jb_alloc");
        check(jb_write(r, fns[e], cs[e].b, cs[e].n), "jb_write");
        int ok = 1;
        for (int64_t x = -50; x <= 50; x++)
            if (((fn_t)fns[e])(x) != interpret(&p, x)) ok = 0;
        printf("%-26s %3zu bytes at %p  f(7) = %-6" PRId64 " %s\n", exprs[e], cs[e].n,
               fns[e], ((fn_t)fns[e])(7), ok ? "matches the interpreter for x in [-50, 50]" : "MISMATCH");
        failures += !ok;
    }

    /* Live patch: change the first constant of expression 0 from 3 to 100. */
    uint8_t *at = (uint8_t *)fns[0] + cs[0].konst;
    check(jb_patch(r, at, patched_konst(&cs[0], 100), 4), "jb_patch");
    int64_t got = ((fn_t)fns[0])(7), want = (7 + 100) * (7 - 2) - 7 * 7;
    printf("after jb_patch (3 -> 100): f(7) = %" PRId64 " (expected %" PRId64 ")\n", got, want);
    failures += got != want;

    jb_info info;
    check(jb_region_info(r, &info), "jb_region_info");
    printf("strategy: %s (W^X: %s)\n  why: %s\n", jb_wx_name(info.wx),
           info.wx_exclusive ? "yes" : "NO", info.why);
    printf("region: %zu KiB reserved, %zu KiB backed, %zu blocks, %zu bytes used, "
           "%" PRIu64 " write windows\n", info.reserved >> 10, info.committed >> 10,
           info.blocks, info.used, info.windows);
    int rwx = rwx_mappings();
    if (rwx < 0)
        printf("/proc/self/maps: absent (macOS: W^X is per thread, not per mapping)\n");
    else
        printf("/proc/self/maps: %d writable+executable mappings\n", rwx);
    if (info.wx_exclusive && rwx > 0) failures++;

    for (int e = 0; e < 4; e++) check(jb_free(r, fns[e]), "jb_free");
    check(jb_region_close(r), "jb_region_close");
    printf(failures ? "demo: FAILED\n" : "demo: ok\n");
    return failures != 0;
}
