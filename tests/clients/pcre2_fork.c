/* PCRE2Project/pcre2 issue 162 on jitbuf: with sljit's dual-mapping
 * allocator, a JIT free in a fork()ed child crashed the parent, and the
 * parent could run the regex the child compiled next (both views of the
 * shared code memory stayed shared). On jitbuf neither may happen under
 * any strategy (JITBUF_WX picks it): the child frees the parent's regexes
 * and compiles others of the same shape, which land on the freed blocks;
 * the parent's regexes then still match exactly what they matched, and
 * free cleanly. Prints "N passed, N failed". */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 64

static int passed, failed;
#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (cond) {                                                            \
            passed++;                                                          \
        } else {                                                               \
            failed++;                                                          \
            fprintf(stderr, "pcre2_fork: %s:%d: %s: ", __func__, __LINE__,     \
                    #cond);                                                    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

static pcre2_code *jit(const char *pattern)
{
    int err;
    PCRE2_SIZE at;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                  0, &err, &at, NULL);
    if (c && pcre2_jit_compile(c, PCRE2_JIT_COMPLETE) != 0) {
        pcre2_code_free(c);
        return NULL;
    }
    return c;
}

/* 1 if the JIT code of c matches subject, 0 if not, < 0 on error. */
static int jit_match(pcre2_code *c, const char *subject)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(c, NULL);
    int rc = pcre2_jit_match(c, (PCRE2_SPTR)subject, strlen(subject), 0, 0,
                             md, NULL);
    pcre2_match_data_free(md);
    return rc > 0 ? 1 : rc == PCRE2_ERROR_NOMATCH ? 0 : rc;
}

int main(void)
{
    pcre2_code *mine[N];
    char pat[32], subj[32];
    for (int k = 0; k < N; k++) {
        snprintf(pat, sizeof pat, "^p%03d[a-c]+z$", k);
        mine[k] = jit(pat);
        CHECK(mine[k] != NULL, "JIT compile of %s failed", pat);
        if (!mine[k])
            return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* Free the parent's code, compile look-alikes that reuse its
         * blocks, and run them. */
        int ok = 1;
        for (int k = 0; k < N; k++)
            pcre2_code_free(mine[k]);
        for (int k = 0; k < N; k++) {
            snprintf(pat, sizeof pat, "^c%03d[x-z]+a$", k);
            pcre2_code *c = jit(pat);
            snprintf(subj, sizeof subj, "c%03dxyza", k);
            ok &= c && jit_match(c, subj) == 1;
            /* left allocated: the parent must not see it either way */
        }
        _exit(ok ? 0 : 1);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid, "waitpid failed");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "the child could not free, compile and run (status %#x)", st);
    for (int k = 0; k < N; k++) {
        snprintf(subj, sizeof subj, "p%03dabcz", k);
        CHECK(jit_match(mine[k], subj) == 1, "regex %d no longer matches", k);
        snprintf(subj, sizeof subj, "c%03dxyza", k);
        CHECK(jit_match(mine[k], subj) == 0,
              "regex %d matches the child's subject: the child's code ran", k);
    }
    for (int k = 0; k < N; k++)
        pcre2_code_free(mine[k]);
    /* And the parent can still compile. */
    pcre2_code *again = jit("^again$");
    CHECK(again && jit_match(again, "again") == 1, "no JIT after the fork");
    pcre2_code_free(again);
    printf("pcre2_fork: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
