/* wxscan: run a command and, while it runs, keep reading /proc/PID/maps of
 * every process in its process group (the command and whatever it starts,
 * e.g. RunTest's pcre2test runs), counting mappings that are writable and
 * executable at once.
 *
 *   wxscan [-e] COMMAND [ARG...]
 *
 * Scans every WXSCAN_MS milliseconds (default 2; emulated guests use more,
 * so that the scan does not take the CPU from the command). Prints one
 * line: scans, processes seen, W+X mappings found. Exit status:
 * the command's if no W+X mapping was seen (or, with -e, if one was: the
 * check that the scanner sees an rwx region), else 3. */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SEEN 4096

static pid_t seen[MAX_SEEN];
static int nseen;

static void note(pid_t p)
{
    for (int k = 0; k < nseen; k++)
        if (seen[k] == p)
            return;
    if (nseen < MAX_SEEN)
        seen[nseen++] = p;
}

/* W+X mappings of p, printing the first few; -1 if p is gone. */
static int scan_pid(pid_t p, int *printed)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)p);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char perms[8] = "";
        if (sscanf(line, "%*s %7s", perms) == 1 && perms[1] == 'w' && perms[2] == 'x') {
            n++;
            if ((*printed)++ < 5)
                fprintf(stderr, "wxscan: pid %d: %s", (int)p, line);
        }
    }
    fclose(f);
    return n;
}

/* Process group of p, or -1. */
static pid_t pgrp_of(const char *pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *close = strrchr(buf, ')'); /* the name may hold spaces */
    int ppid, pgrp;
    if (!close || sscanf(close + 1, " %*c %d %d", &ppid, &pgrp) != 2)
        return -1;
    return pgrp;
}

int main(int argc, char **argv)
{
    int expect = 0, a = 1;
    if (a < argc && !strcmp(argv[a], "-e"))
        expect = 1, a++;
    if (a >= argc) {
        fprintf(stderr, "usage: wxscan [-e] COMMAND [ARG...]\n");
        return 2;
    }
    pid_t child = fork();
    if (child == 0) {
        setpgid(0, 0);
        execvp(argv[a], argv + a);
        perror(argv[a]);
        _exit(127);
    }
    setpgid(child, child); /* either side may win the race */
    long scans = 0, found = 0;
    int printed = 0, status = 0;
    const char *ms = getenv("WXSCAN_MS");
    long every = ms && atol(ms) > 0 ? atol(ms) : 2;
    struct timespec pause = {every / 1000, every % 1000 * 1000000L};
    for (;;) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] < '0' || e->d_name[0] > '9')
                continue;
            if (pgrp_of(e->d_name) != child)
                continue;
            int n = scan_pid((pid_t)atoi(e->d_name), &printed);
            if (n >= 0) {
                note((pid_t)atoi(e->d_name));
                found += n;
            }
        }
        if (d)
            closedir(d);
        scans++;
        if (waitpid(child, &status, WNOHANG) == child)
            break;
        nanosleep(&pause, NULL);
    }
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("wxscan: %ld scans of %d processes, %ld writable+executable mappings seen\n",
           scans, nseen, found);
    if (expect)
        return found ? rc : 3;
    return found ? 3 : rc;
}
