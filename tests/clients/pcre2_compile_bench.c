/* PCRE2 JIT compile time per pattern (make bench-clients): a benchmark,
 * not a test. Built twice, against PCRE2 on jitbuf and against PCRE2 with
 * sljit's own allocator; each run prints, per pattern, the median time of
 * pcre2_jit_compile (which includes allocating, writing and publishing the
 * code) and of pcre2_code_free (which frees it) over ROUNDS compiles.
 *   pcre2_compile_bench LABEL [ROUNDS] */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *const patterns[] = {
    "abc",
    "^[a-z]+@[a-z]+\\.(com|org|net)$",
    "(\\d{1,3}\\.){3}\\d{1,3}",
    "(?i)hello\\s+world",
    "([a-f0-9]{8})-([a-f0-9]{4})-([a-f0-9]{4})-([a-f0-9]{4})-([a-f0-9]{12})",
    "(a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p)+x",
    "^(?:(?:25[0-5]|2[0-4]\\d|1?\\d?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1?\\d?\\d)$",
    "(?<year>\\d{4})-(?<month>\\d{2})-(?<day>\\d{2})T\\d{2}:\\d{2}",
    "\\p{Lu}\\p{Ll}+(?:\\s\\p{Lu}\\p{Ll}+)*",
    "(?:<([a-z]+)[^>]*>)(.*?)(?:</\\1>)",
};
#define NPAT (sizeof patterns / sizeof patterns[0])

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *label = argc > 1 ? argv[1] : "?";
    int rounds = argc > 2 ? atoi(argv[2]) : 200;
    double *jit = malloc(sizeof *jit * rounds), *fre = malloc(sizeof *fre * rounds);
    for (size_t p = 0; p < NPAT; p++) {
        for (int k = 0; k < rounds; k++) {
            int err;
            PCRE2_SIZE at;
            pcre2_code *c = pcre2_compile((PCRE2_SPTR)patterns[p], PCRE2_ZERO_TERMINATED,
                                          PCRE2_UTF, &err, &at, NULL);
            if (!c)
                return 1;
            double t0 = now_ns();
            if (pcre2_jit_compile(c, PCRE2_JIT_COMPLETE) != 0)
                return 2;
            double t1 = now_ns();
            pcre2_code_free(c);
            double t2 = now_ns();
            jit[k] = t1 - t0;
            fre[k] = t2 - t1;
        }
        qsort(jit, rounds, sizeof *jit, cmp);
        qsort(fre, rounds, sizeof *fre, cmp);
        printf("%-16s pattern %2zu  jit_compile %8.0f ns  free %6.0f ns  %.40s\n", label, p,
               jit[rounds / 2], fre[rounds / 2], patterns[p]);
    }
    free(jit);
    free(fre);
    return 0;
}
