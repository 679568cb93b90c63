/* The fork policy: after fork() both processes keep running code compiled
 * before it, the child can compile new code, and neither can change the
 * other's code. */
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#include <criterion/parameterized.h>

TestSuite(fork);

static jb_wx all[] = {JB_WX_DUALMAP, JB_WX_MPROTECT, JB_WX_RWX};

ParameterizedTestParameters(fork, processes_keep_their_own_code)
{
    return cr_make_param_array(jb_wx, all, sizeof all / sizeof all[0]);
}

ParameterizedTest(jb_wx *wx, fork, processes_keep_their_own_code)
{
    jb_region *r = open_wx(*wx, 0);
    uint8_t code[8], *fn;
    cr_assert_eq(jb_alloc(r, 16, 16, (void **)&fn), 0);
    cr_assert_eq(jb_write(r, fn, code, code_ret(code, 10)), 0);

    int to_child[2], to_parent[2];
    cr_assert_eq(pipe(to_child), 0);
    cr_assert_eq(pipe(to_parent), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        /* Child: old code runs; rewrite it and compile something new. */
        int bad = 0;
        bad |= ((int_fn)fn)() != 10;
        bad |= jb_write(r, fn, code, code_ret(code, 20)) != 0;
        bad |= ((int_fn)fn)() != 20;
        uint8_t *g;
        bad |= jb_alloc(r, 16, 16, (void **)&g) != 0;
        bad |= jb_write(r, g, code, code_ret(code, 30)) != 0;
        bad |= ((int_fn)g)() != 30;
        char c = 1;
        bad |= write(to_parent[1], &c, 1) != 1; /* child wrote */
        bad |= read(to_child[0], &c, 1) != 1;   /* parent wrote */
        bad |= ((int_fn)fn)() != 20;            /* parent's write not seen */
        _exit(bad);
    }
    char c;
    cr_assert_eq(read(to_parent[0], &c, 1), 1);
    cr_assert_eq(((int_fn)fn)(), 10, "the child's write changed the parent's code");
    cr_assert_eq(jb_write(r, fn, code, code_ret(code, 40)), 0);
    cr_assert_eq(((int_fn)fn)(), 40);
    c = 1;
    cr_assert_eq(write(to_child[1], &c, 1), 1);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "child saw wrong code or could not compile (status %#x)", status);
    cr_assert_eq(((int_fn)fn)(), 40);
    jb_region_close(r);
}

/* ---- the parent's changes right after fork() -------------------------
 * Under dualmap the child's copy of the code must be a snapshot that the
 * parent can no longer change: here the parent writes, patches, frees
 * (a trap fill) and stores through a jb_writable alias the moment fork()
 * returns, and the child, once the parent is done, must still find every
 * byte as it was at fork() and run it. Twenty forks, with 256 KiB and with
 * 48 MiB committed. */

typedef struct { size_t committed; jb_wx wx; } fork_case;

static fork_case cases[] = {
    {256 << 10, JB_WX_DUALMAP}, {48 << 20, JB_WX_DUALMAP},
    {256 << 10, JB_WX_MPROTECT}, {256 << 10, JB_WX_RWX},
};

ParameterizedTestParameters(fork, the_parent_cannot_change_the_childs_code)
{
    return cr_make_param_array(fork_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(fork_case *fc, fork, the_parent_cannot_change_the_childs_code, .timeout = 120)
{
    jb_options o = {64 << 20, fc->wx, JB_OPEN_PRIVATE | JB_OPEN_NO_ENV};
    jb_region *r;
    cr_assert_eq(jb_region_open(&r, &o), 0, "%s", jb_last_error());
    void *big = NULL;
    if (fc->committed > (1 << 20))
        cr_assert_eq(jb_alloc(r, fc->committed, 16, &big), 0, "%s", jb_last_error());
    uint8_t *fn, *patched, *freed, code[48], snap[3][48];
    cr_assert_eq(jb_alloc(r, 48, 16, (void **)&fn), 0);
    cr_assert_eq(jb_alloc(r, 48, 16, (void **)&patched), 0);
    cr_assert_eq(jb_write(r, fn, code, code_ret(code, 10)), 0);
    code_branchy(code);
    cr_assert_eq(jb_write(r, patched, code, 48), 0);
    cr_assert_geq(info_of(r).committed, fc->committed);
    for (int round = 0; round < 20; round++) {
        cr_assert_eq(jb_alloc(r, 48, 16, (void **)&freed), 0);
        cr_assert_eq(jb_write(r, freed, code, code_ret(code, 30 + round)), 0);
        memcpy(snap[0], fn, 48);
        memcpy(snap[1], patched, 48);
        memcpy(snap[2], freed, 48);
        int go[2];
        cr_assert_eq(pipe(go), 0);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
            char c;
            int bad = read(go[0], &c, 1) != 1;
            bad |= (memcmp(fn, snap[0], 48) != 0) << 1;
            bad |= (memcmp(patched, snap[1], 48) != 0) << 2;
            bad |= (memcmp(freed, snap[2], 48) != 0) << 3;
            bad |= (((int_fn)fn)() != 10) << 4;
            bad |= (((int_fn)patched)() != 1) << 5;
            bad |= (((int_fn)freed)() != 30 + round) << 6;
            _exit(bad);
        }
        /* The parent, at once: every way of changing code. */
        uint8_t other[48];
        cr_assert_eq(jb_write(r, fn, other, code_ret(other, 20)), 0);
        cr_assert_eq(jb_patch(r, patched + 4, 24, 4), 0);
        cr_assert_eq(jb_free(r, freed), 0);
        uint8_t *alias = jb_writable(r, fn);
        if (alias)
            alias[1] = 21; /* mov eax, 21 */
        char c = 1;
        cr_assert_eq(write(go[1], &c, 1), 1);
        int st;
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "%s, %zu bytes committed, fork %d: the parent changed the child's code "
                  "(status %#x: bits 1 write, 2 patch, 3 free, 4-6 runs)",
                  jb_wx_name(fc->wx), fc->committed, round, st);
        close(go[0]);
        close(go[1]);
        /* Back to the state before this round. */
        cr_assert_eq(jb_write(r, fn, code, code_ret(code, 10)), 0);
        cr_assert_eq(jb_patch(r, patched + 4, 8, 4), 0);
        code_branchy(code);
    }
    jb_region_close(r);
}

/* Grandchildren: each generation writes its own code and then its parent
 * rewrites the same block; no process sees another's write. */
ParameterizedTestParameters(fork, grandchildren_keep_their_own_code)
{
    return cr_make_param_array(jb_wx, all, sizeof all / sizeof all[0]);
}

static int generation(jb_region *r, uint8_t *fn, int depth)
{
    uint8_t code[8];
    if (jb_write(r, fn, code, code_ret(code, 100 + depth)) || ((int_fn)fn)() != 100 + depth)
        return 1;
    if (depth == 3)
        return 0;
    int go[2];
    if (pipe(go))
        return 2;
    pid_t pid = fork();
    if (pid < 0)
        return 3;
    if (pid == 0) {
        char c;
        int bad = ((int_fn)fn)() != 100 + depth; /* inherited */
        bad |= generation(r, fn, depth + 1) << 1;
        bad |= (read(go[0], &c, 1) != 1) << 2;
        bad |= (((int_fn)fn)() == 200 + depth) << 3; /* its parent's write */
        _exit(bad);
    }
    /* The parent rewrites while the child's line goes on. */
    int bad = jb_write(r, fn, code, code_ret(code, 200 + depth)) != 0;
    char c = 1;
    bad |= write(go[1], &c, 1) != 1;
    int st;
    bad |= waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    bad |= ((int_fn)fn)() != 200 + depth;
    close(go[0]);
    close(go[1]);
    return bad ? 4 : 0;
}

ParameterizedTest(jb_wx *wx, fork, grandchildren_keep_their_own_code)
{
    jb_region *r = open_wx(*wx, 0);
    uint8_t *fn;
    cr_assert_eq(jb_alloc(r, 16, 16, (void **)&fn), 0);
    cr_assert_eq(generation(r, fn, 0), 0, "a generation saw another's code under %s",
                 jb_wx_name(*wx));
    jb_region_close(r);
}
