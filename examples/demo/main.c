/* demo: a JIT for a small language of its own (lang.h), on jitbuf.
 *
 * Parses a program (the Mandelbrot renderer below, or a file given on the
 * command line), compiles every function to native code with jitbuf's
 * emitters (x86_64 or arm64, whichever this machine is; the other arch's
 * code is emitted too and its size shown), installs it in one block with
 * jb_emit_install (finish, jb_alloc, jb_write), runs it
 * and the interpreter on the same input, checks that both print the same
 * picture and return the same values, and says how much faster the JIT was.
 * Then it prints the region's strategy, why it was chosen, and how many
 * mappings of the process are writable and executable.
 *
 * Run: make demo   (JITBUF_WX=mprotect make demo forces another strategy) */
#define _POSIX_C_SOURCE 200809L
#if defined(__APPLE__)
#define _DARWIN_C_SOURCE
#endif
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen.h"
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

static const char program[] =
    "// Mandelbrot, one character per point\n"
    "fn mandel(cr, ci, limit) {\n"
    "    var zr = 0; var zi = 0; var n = 0;\n"
    "    while (n < limit && zr * zr + zi * zi <= 4) {\n"
    "        var t = zr * zr - zi * zi + cr;\n"
    "        zi = 2 * zr * zi + ci;\n"
    "        zr = t;\n"
    "        n = n + 1;\n"
    "    }\n"
    "    return n;\n"
    "}\n"
    "fn shade(n, limit) {\n"
    "    if (n >= limit) { return 64; }          // @ inside the set\n"
    "    if (n > 40) { return 35; } else if (n > 20) { return 42; }\n"
    "    else if (n > 10) { return 43; } else if (n > 5) { return 45; }\n"
    "    else if (n > 3) { return 46; }\n"
    "    return 32;\n"
    "}\n"
    "fn main(w, h, limit) {\n"
    "    var y = 0; var inside = 0;\n"
    "    while (y < h) {\n"
    "        var x = 0;\n"
    "        while (x < w) {\n"
    "            var n = mandel((x + 0.5) / w * 3 - 2.2, (y + 0.5) / h * 2.4 - 1.2, limit);\n"
    "            inside = inside + (n >= limit);\n"
    "            put(shade(n, limit));\n"
    "            x = x + 1;\n"
    "        }\n"
    "        put(10);\n"
    "        y = y + 1;\n"
    "    }\n"
    "    return inside;\n"
    "}\n"
    "fn fib(n) { if (n < 2) { return n; } return fib(n - 1) + fib(n - 2); }\n";

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int wx_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int n = 0;
    if (!f)
        return -1; /* not Linux */
    while (fgets(line, sizeof line, f)) {
        char perms[8];
        if (sscanf(line, "%*s %7s", perms) == 1 && perms[1] == 'w' && perms[2] == 'x')
            n++;
    }
    fclose(f);
    return n;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    while (s && (n += fread(s + n, 1, cap - 1 - n, f)) == cap - 1) {
        char *t = realloc(s, cap *= 2);
        if (!t) {
            free(s);
            s = NULL;
        }
        s = t;
    }
    if (s)
        s[n] = 0;
    fclose(f);
    return s;
}

/* Compile p for t, growing the buffer until it fits. With a region, install
 * the code there (jb_emit_install: finish, jb_alloc, jb_write, the checked
 * path) and set *block; without, only report the size. off[f] receives
 * function f's offset in the code. */
static int compile(const jl_prog *p, const jl_target *t, jb_region *r, void **block,
                   size_t *size, int32_t off[JL_MAX_FUNCS])
{
    jb_emit e;
    jb_label entry[JL_MAX_FUNCS];
    uint8_t *buf = NULL;
    int rc;
    jb_emit_init(&e, NULL, 0);
    for (size_t cap = 4096;; cap *= 2) {
        uint8_t *bigger = realloc(buf, cap);
        if (!bigger) {
            rc = JB_ENOMEM;
            break;
        }
        buf = bigger;
        jb_emit_reset_buffer(&e, buf, cap); /* keeps the label storage */
        jl_compile(p, t, &e, entry);
        rc = r ? jb_emit_install(&e, r, 16, block) : jb_emit_finish(&e, NULL);
        if (rc != JB_EFULL)
            break;
    }
    *size = jb_emit_size(&e);
    for (int f = 0; rc == 0 && f < p->nfuncs; f++)
        off[f] = jb_label_offset(&e, entry[f]);
    jb_emit_free(&e);
    free(buf);
    return rc;
}

typedef double (*fn0)(void);
typedef double (*fn1)(double);
typedef double (*fn3)(double, double, double);

/* Run main(w, h, limit) and fib(n) compiled (code != NULL) or interpreted. */
static double run(const jl_prog *p, void *const *fns, jl_out *out, const double *margs,
                  int nmargs, double *fib, double fib_n)
{
    int m = jl_find(p, "main"), f = jl_find(p, "fib");
    out->len = 0;
    jl_output = out;
    double r;
    if (fns) {
        r = nmargs == 3 ? ((fn3)fns[m])(margs[0], margs[1], margs[2]) : ((fn0)fns[m])();
        *fib = f >= 0 ? ((fn1)fns[f])(fib_n) : 0;
    } else {
        r = jl_interpret(p, m, margs);
        *fib = f >= 0 ? jl_interpret(p, f, &fib_n) : 0;
    }
    jl_output = NULL;
    return r;
}

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "demo: %s failed: %s (%s)\n", what, jb_last_error(),
                jb_err_name(rc));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    char *src = argc > 1 ? read_file(argv[1]) : NULL;
    if (argc > 1 && !src) {
        fprintf(stderr, "demo: cannot read %s\n", argv[1]);
        return 1;
    }
    jl_prog p;
    char err[256];
    if (jl_parse(&p, src ? src : program, err, sizeof err) < 0) {
        fprintf(stderr, "demo: %s: %s\n", argc > 1 ? argv[1] : "program", err);
        free(src);
        return 1;
    }
    free(src);
    int m = jl_find(&p, "main");
    if (m < 0 || (p.funcs[m].nparams != 0 && p.funcs[m].nparams != 3)) {
        fprintf(stderr, "demo: the program needs fn main() or fn main(w, h, limit)\n");
        jl_free(&p);
        return 1;
    }

#if defined(__x86_64__)
    const jl_target *host = &jl_x64, *other = &jl_a64;
#elif defined(__aarch64__)
    const jl_target *host = &jl_a64, *other = &jl_x64;
#else
#error "demo: x86_64 or arm64"
#endif
    size_t size, other_size;
    int32_t off[JL_MAX_FUNCS], other_off[JL_MAX_FUNCS];
    jb_region *r;
    void *block, *fns[JL_MAX_FUNCS];
    check(jb_region_open(&r, NULL), "jb_region_open");
    check(compile(&p, host, r, &block, &size, off), "compiling and installing");
    check(compile(&p, other, NULL, NULL, &other_size, other_off), "compiling");
    for (int f = 0; f < p.nfuncs; f++)
        fns[f] = (uint8_t *)block + off[f];

    const double margs[3] = {72, 28, 2000};
    static char jit_buf[1 << 16], int_buf[1 << 16];
    jl_out jo = {jit_buf, 0, sizeof jit_buf}, io = {int_buf, 0, sizeof int_buf};
    double jfib, ifib, t0 = now();
    double jr = run(&p, fns, &jo, margs, p.funcs[m].nparams, &jfib, 24);
    double t1 = now();
    double ir = run(&p, NULL, &io, margs, p.funcs[m].nparams, &ifib, 24);
    double t2 = now();

    int same = jr == ir && jfib == ifib && jo.len == io.len &&
               memcmp(jit_buf, int_buf, jo.len) == 0;
    fwrite(jit_buf, 1, jo.len, stdout);
    printf("compiled %d functions: %zu bytes of %s code in one block at %p "
           "(%s: %zu bytes, emitted, not run here)\n",
           p.nfuncs, size, host->name, block, other->name, other_size);
    printf("main() = %g", jr);
    if (jl_find(&p, "fib") >= 0)
        printf(", fib(24) = %g", jfib);
    printf(": %s the interpreter (%zu bytes of output)\n",
           same ? "the same as" : "DIFFERENT FROM", jo.len);
    printf("JIT %.1f ms, interpreter %.1f ms: %.1fx faster\n", (t1 - t0) * 1e3,
           (t2 - t1) * 1e3, (t2 - t1) / (t1 - t0));

    jb_info info;
    check(jb_region_info(r, &info), "jb_region_info");
    printf("strategy: %s (W^X: %s)\n  why: %s\n", jb_wx_name(info.wx),
           info.wx_exclusive ? "yes" : "NO", info.why);
    int wx = wx_mappings();
    if (wx < 0)
        printf("/proc/self/maps: absent (macOS: W^X is per thread, not per mapping)\n");
    else
        printf("/proc/self/maps: %d writable+executable mappings\n", wx);
    int failures = !same + (info.wx_exclusive && wx > 0);

    check(jb_free(r, block), "jb_free");
    check(jb_region_close(r), "jb_region_close");
    jl_free(&p);
    printf(failures ? "demo: FAILED\n" : "demo: ok\n");
    return failures != 0;
}
