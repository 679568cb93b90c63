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
