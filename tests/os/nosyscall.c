/* The write path's cost claim, checked: under dualmap a commit (jb_write),
 * a live patch, the same through a site (jb_site_write, jb_site_patch) and
 * an alloc/free pair inside the backed part make no system call at all. A forked child enters seccomp strict mode, where any system
 * call other than read, write and exit kills it with SIGKILL; the same
 * child under mprotect (two mprotect calls per write) must be killed, which
 * shows that the detector works. */
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jitbuf/site.h"
#include "util.h"

/* Exit status of a child that does n commits, patches and alloc/free pairs
 * under seccomp strict mode; -signal if it was killed. */
static int commits_in_strict_mode(jb_wx wx, int n)
{
    jb_region *r = open_wx(wx, 0);
    void *f;
    cr_assert_eq(jb_alloc(r, 4096, 64, &f), 0);
    uint8_t buf[64];
    memset(buf, 0x90, sizeof buf);
    cr_assert_eq(jb_write(r, f, buf, sizeof buf), 0);
    void *sited;
    jb_site s;
    cr_assert_eq(jb_alloc(r, 64, 64, &sited), 0);
    cr_assert_eq(jb_site_open(r, sited, &s), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0)
            syscall(SYS_exit, 3);
        for (int i = 0; i < n; i++) {
            void *g;
            if (jb_write(r, f, buf, sizeof buf) || jb_patch(r, f, (uint32_t)i, 4) ||
                jb_alloc(r, 64, 16, &g) || jb_free(r, g) ||
                jb_site_write(&s, sited, buf, sizeof buf) ||
                jb_site_patch(&s, sited, (uint32_t)i, 4))
                syscall(SYS_exit, 1);
        }
        syscall(SYS_exit, 0); /* exit_group is not allowed in strict mode */
    }
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    jb_region_close(r);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

Test(nosyscall, dualmap_commit_patch_alloc_free_make_no_system_call)
{
    int rc = commits_in_strict_mode(JB_WX_DUALMAP, 1000);
    cr_assert_eq(rc, 0, "child status %d (-9: killed for a system call)", rc);
}

Test(nosyscall, mprotect_commit_is_caught_by_the_detector)
{
    int rc = commits_in_strict_mode(JB_WX_MPROTECT, 1);
    cr_assert_eq(rc, -SIGKILL, "child status %d: mprotect calls went unnoticed", rc);
}
