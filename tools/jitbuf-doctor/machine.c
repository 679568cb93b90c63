/* jitbuf-doctor without an argument: which strategies work on this machine,
 * and why.
 *
 * The answer is not predicted: each strategy is opened through the public
 * API, a function is written into it, run and checked, and where that
 * fails the row carries jb_last_error(). The auto row is exactly what
 * jb_region_open(&r, NULL) picks here (JITBUF_WX honoured, as it is
 * there). Beside it, the facts that decide on Linux (memfd MFD_EXEC,
 * vm.memfd_noexec, SELinux deny_execmem, seccomp, noexec mounts), or on
 * macOS this process's own code signature. */
#if defined(__linux__)
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "doctor.h"
#include "jitbuf.h"
#include "jitbuf/arm64.h"
#include "jitbuf/x86_64.h"

#if defined(__APPLE__)
#include <mach-o/dyld.h>
#include <sys/sysctl.h>

#include "os/darwin/decide.h"
#endif

/* ---- trying a strategy ------------------------------------------------ */

/* A function returning 42, for the host's instruction set. */
static size_t answer(uint8_t *buf, size_t cap)
{
    jb_emit e;
    jb_emit_init(&e, buf, cap);
#if defined(__x86_64__)
    jb_x64_mov_ri(&e, JB_X64_RAX, 42);
    jb_x64_ret(&e);
#elif defined(__aarch64__)
    jb_a64_movz(&e, 0, 42, 0);
    jb_a64_ret(&e);
#else
#error "jitbuf-doctor: no emitter for this architecture"
#endif
    size_t n = 0;
    int rc = jb_emit_finish(&e, &n);
    jb_emit_free(&e);
    return rc == 0 ? n : 0;
}

/* Open, write, run, check, close; 0 or a JB_E* code (jb_last_error). */
static int exercise(jb_wx wx, jb_info *info, int *result)
{
    jb_options o = {0, wx, wx == JB_WX_AUTO ? 0 : JB_OPEN_NO_ENV};
    jb_region *r;
    int rc = jb_region_open(&r, &o);
    if (rc < 0)
        return rc;
    uint8_t code[32];
    size_t n = answer(code, sizeof code);
    void *fn = NULL;
    rc = jb_alloc(r, n, 16, &fn);
    if (rc == 0)
        rc = jb_write(r, fn, code, n);
    if (rc == 0) {
        int (*f)(void);
        memcpy(&f, &fn, sizeof f);
        *result = f();
        rc = jb_region_info(r, info);
    }
    /* info->why lives as long as the region: keep a copy */
    static char why[1024];
    if (rc == 0) {
        snprintf(why, sizeof why, "%s", info->why);
        info->why = why;
    }
    if (fn)
        jb_free(r, fn);
    jb_region_close(r);
    return rc;
}

static const char *try_all(jbd_node *rows)
{
    static const jb_wx all[] = {JB_WX_AUTO,     JB_WX_DUALMAP,
                                JB_WX_MPROTECT, JB_WX_RWX,
                                JB_WX_APPLE_CALLBACK, JB_WX_APPLE_TOGGLE};
    const char *picked = NULL;
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        jb_info info;
        int result = 0;
        int rc = exercise(all[k], &info, &result);
        int works = rc == 0 && result == 42;
        jbd_node *row = jbd_object(rows, NULL);
        jbd_str(row, "strategy", jb_wx_name(all[k]));
        jbd_bool(row, "works", works);
        if (rc == 0) {
            jbd_str(row, "picked", jb_wx_name(info.wx));
            jbd_bool(row, "wx_exclusive", info.wx_exclusive);
            jbd_null(row, "error");
            if (works)
                jbd_str(row, "detail", info.why);
            else
                jbd_strf(row, "detail",
                         "opened and written, but the function returned %d, "
                         "not 42: %s",
                         result, info.why);
            if (all[k] == JB_WX_AUTO && works)
                picked = jb_wx_name(info.wx);
        } else {
            jbd_null(row, "picked");
            jbd_null(row, "wx_exclusive");
            jbd_str(row, "error", jb_err_name(rc));
            jbd_str(row, "detail", jb_last_error());
        }
    }
    return picked;
}

/* ---- Linux: the facts that decide -------------------------------------- */

#if defined(__linux__)

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

/* The first line of a file, or NULL. */
static char *first_line(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *s = fgets(buf, (int)n, f);
    fclose(f);
    if (s)
        s[strcspn(s, "\n")] = 0;
    return s;
}

/* The value of "Key:" in /proc/self/status, or NULL. */
static char *status_field(const char *key, char *buf, size_t n)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256], *v = NULL;
    size_t k = strlen(key);
    while (f && !v && fgets(line, sizeof line, f))
        if (!strncmp(line, key, k) && line[k] == ':') {
            v = line + k + 1;
            v += strspn(v, " \t");
            v[strcspn(v, "\n")] = 0;
            snprintf(buf, n, "%s", v);
            v = buf;
        }
    if (f)
        fclose(f);
    return v;
}

static void linux_facts(jbd_node *sys, jbd_node *findings)
{
    char buf[256];
    /* memfd_create(MFD_EXEC): Linux 6.3 added the flag (older kernels say
     * EINVAL, and jitbuf then asks without it); vm.memfd_noexec=2 refuses
     * it (EACCES). */
    int fd = memfd_create("jitbuf-doctor", MFD_CLOEXEC | MFD_EXEC);
    int e = fd < 0 ? errno : 0;
    if (fd >= 0)
        close(fd);
    jbd_node *m = jbd_object(sys, "memfd_exec");
    jbd_bool(m, "accepted", fd >= 0);
    jbd_str(m, "error", fd >= 0 ? NULL : strerrorname_np(e));
    jbd_str(m, "meaning",
            fd >= 0        ? "memfd_create(MFD_EXEC) works: dualmap can map "
                             "its memfd executable"
            : e == EINVAL  ? "the kernel does not know MFD_EXEC (before Linux "
                             "6.3): jitbuf asks for a plain memfd, which is "
                             "executable there"
            : e == EACCES  ? "refused: vm.memfd_noexec=2 forbids executable "
                             "memfds, so dualmap cannot work"
                           : "refused: see the dualmap row");

    char *v = first_line("/proc/sys/vm/memfd_noexec", buf, sizeof buf);
    jbd_node *nx = jbd_object(sys, "vm.memfd_noexec");
    if (v)
        jbd_int(nx, "value", atoi(v));
    else
        jbd_null(nx, "value");
    int nv = v ? atoi(v) : -1;
    jbd_str(nx, "meaning",
            nv < 0    ? "no such sysctl (before Linux 6.3): memfds are "
                        "executable"
            : nv == 0 ? "memfds may be executable"
            : nv == 1 ? "memfds made without MFD_EXEC are sealed "
                        "non-executable; jitbuf asks for MFD_EXEC, so dualmap "
                        "still works"
                      : "executable memfds are refused: dualmap cannot work "
                        "here, auto falls back to mprotect");
    if (nv >= 2)
        jbd_finding(findings, JBD_WARN,
                    "vm.memfd_noexec=2: memfd_create(MFD_EXEC) fails with "
                    "EACCES, so dualmap cannot work and auto uses mprotect "
                    "(two syscalls per write window)",
                    "set vm.memfd_noexec to 0 or 1 (per PID namespace; a "
                    "namespace is never less strict than its parent), or "
                    "accept mprotect");

    jbd_node *se = jbd_object(sys, "selinux");
    char *enf = first_line("/sys/fs/selinux/enforce", buf, sizeof buf);
    jbd_bool(se, "enabled", enf != NULL);
    int enforcing = enf && atoi(enf) == 1;
    jbd_bool(se, "enforcing", enforcing);
    char b2[64];
    char *dx = first_line("/sys/fs/selinux/booleans/deny_execmem", b2,
                          sizeof b2);
    int deny = dx && atoi(dx) == 1; /* "current pending" */
    if (dx)
        jbd_bool(se, "deny_execmem", deny);
    else
        jbd_null(se, "deny_execmem");
    if (enforcing && deny)
        jbd_finding(findings, JBD_WARN,
                    "SELinux enforces deny_execmem: anonymous or "
                    "private-writable memory may not become executable, "
                    "which refuses mprotect and rwx",
                    "dualmap (a memfd) does not need execmem; otherwise "
                    "'setsebool deny_execmem 0' or a policy that grants "
                    "execmem to this domain");

    char *sc = status_field("Seccomp", buf, sizeof buf);
    if (sc)
        jbd_int(sys, "seccomp", atoi(sc));
    else
        jbd_null(sys, "seccomp");
    if (sc && atoi(sc) == 2)
        jbd_finding(findings, JBD_NOTE,
                    "a seccomp filter is active: it may refuse memfd_create, "
                    "mmap or mprotect; the rows below show what it allows",
                    NULL);
    char *pax = status_field("PaX", buf, sizeof buf);
    jbd_str(sys, "pax", pax);
    if (pax && strchr(pax, 'M'))
        jbd_finding(findings, JBD_WARN,
                    "PaX MPROTECT is on for this process: no page may be "
                    "made executable after it was writable (mprotect and "
                    "rwx fail)",
                    "paxctl -m on the program, or use dualmap");

    /* noexec mounts: jitbuf's memfd lives on no mount, so they do not
     * touch it; a host that maps JIT files from them would fail. */
    jbd_node *mounts = jbd_array(sys, "noexec_mounts");
    FILE *f = fopen("/proc/self/mounts", "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f)) {
        char dev[256], dir[256], type[64], opts[512];
        if (sscanf(line, "%255s %255s %63s %511s", dev, dir, type, opts) != 4)
            continue;
        if ((!strcmp(dir, "/dev/shm") || !strcmp(dir, "/tmp") ||
             !strcmp(dir, "/run/shm")) &&
            (strstr(opts, ",noexec") || !strncmp(opts, "noexec", 6)))
            jbd_str(mounts, NULL, dir);
    }
    if (f)
        fclose(f);
    jbd_str(sys, "noexec_note",
            "jitbuf's memfd is on no mount, so noexec mounts do not affect "
            "it; listed for hosts that map JIT code from files there");
}

#endif

/* ---- macOS: this process's signature ---------------------------------- */

#if defined(__APPLE__)
static void macos_facts(jbd_node *sys, jbd_node *findings)
{
    char ver[64] = "";
    size_t n = sizeof ver;
    if (sysctlbyname("kern.osproductversion", ver, &n, NULL, 0) == 0)
        jbd_str(sys, "macos", ver);
    int arm = 0;
    n = sizeof arm;
    if (sysctlbyname("hw.optional.arm64", &arm, &n, NULL, 0) != 0)
        arm = 0;
    jbd_bool(sys, "apple_silicon", arm);
    jb__macho m;
    jb__dw_sig sig;
    const char *why = "";
    jbd_node *own = jbd_object(sys, "this_process_signature");
    if (jb__macho_image(&m, _dyld_get_image_header(0), &why) == 0) {
        jb__dw_sig_read(&m, &sig);
        jbd_bool(own, "readable", sig.read);
        jbd_str(own, "why", sig.read ? NULL : sig.why);
        jbd_bool(own, "hardened_runtime",
                 sig.read && (sig.cd_flags & JB__CS_RUNTIME));
        jbd_node *ents = jbd_array(own, "entitlements");
        for (int e = 0; e < JB__ENT_COUNT; e++)
            if (jb__dw_has(&sig, e))
                jbd_str(ents, NULL, jb__ent_names[e]);
    } else {
        jbd_bool(own, "readable", 0);
        jbd_str(own, "why", why);
    }
    jbd_finding(findings, JBD_NOTE,
                "the rows below are for this process, signed as above; an "
                "app is judged by its own signature",
                "run jitbuf-doctor /path/to/App.app");
}
#endif

int jbd_machine(jbd_node *root)
{
    struct utsname u;
    jbd_node *sys = jbd_object(root, "system");
    if (uname(&u) == 0) {
        jbd_str(sys, "os", u.sysname);
        jbd_str(sys, "release", u.release);
        jbd_str(sys, "machine", u.machine);
    }
    jbd_node *findings = jbd_array(root, "findings");
#if defined(__linux__)
    linux_facts(sys, findings);
#elif defined(__APPLE__)
    macos_facts(sys, findings);
#endif
    const char *env = getenv("JITBUF_WX");
    jbd_str(root, "JITBUF_WX", env && *env ? env : NULL);
    const char *picked = try_all(jbd_array(root, "strategies"));
    jbd_str(root, "auto_picks", picked);
    if (!picked)
        jbd_finding(findings, JBD_FAIL,
                    "jb_region_open with defaults fails here: no W^X "
                    "strategy works (the auto row says why)",
                    "see each row's sentence");
    jbd_bool(root, "ok", picked != NULL);
    return picked ? 0 : 1;
}
