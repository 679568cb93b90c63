/* What the self-contained runners share (tests/runner/runner.c on Linux,
 * tests/darwin/on_mac.c on macOS): a CHECK that records and returns, the
 * test table loop; the hand-encoded functions are tests/code.h. */
#ifndef JB_TEST_HARNESS_H
#define JB_TEST_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jitbuf.h"

static int failed_checks;
#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "  %s:%d: %s: ", __func__, __LINE__, #cond);      \
            fprintf(stderr, __VA_ARGS__);                                     \
            fprintf(stderr, " [last error: %s]\n", jb_last_error());          \
            failed_checks++;                                                  \
            return;                                                           \
        }                                                                     \
    } while (0)

#include "../code.h"

typedef struct {
    const char *name;
    void (*fn)(void);
} test_case;

/* Run the tests whose names contain argv[1] (all without it); print one
 * line per test and "N passed, N failed"; return the exit status. */
static inline int run_tests(const test_case *t, size_t n, int argc, char **argv)
{
    int passed = 0, failed = 0;
    setvbuf(stdout, NULL, _IONBF, 0);
    for (size_t k = 0; k < n; k++) {
        if (argc > 1 && !strstr(t[k].name, argv[1]))
            continue;
        int before = failed_checks;
        t[k].fn();
        int ok = failed_checks == before;
        printf("[%s] %s\n", ok ? "PASS" : "FAIL", t[k].name);
        ok ? passed++ : failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}

#endif
