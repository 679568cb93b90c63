/* jitbuf-doctor's report on this machine as text: the facts, then the
 * table of strategies, read back from the tree --json prints (machine.c
 * fills it). */
#include <stdio.h>

#include "doctor.h"

void jbd_machine_text(FILE *f, const jbd_node *root)
{
    const jbd_node *sys = jbd_get(root, "system");
    fprintf(f, "jitbuf-doctor: this machine (%s %s %s), jitbuf %s\n",
            jbd_get_str(sys, "os"), jbd_get_str(sys, "release"),
            jbd_get_str(sys, "machine"), jbd_get_str(root, "jitbuf_version"));
    const jbd_node *x;
    if ((x = jbd_get(sys, "memfd_exec")))
        fprintf(f, "  %-20s %s\n", "memfd MFD_EXEC", jbd_get_str(x, "meaning"));
    if ((x = jbd_get(sys, "vm.memfd_noexec"))) {
        const jbd_node *val = jbd_get(x, "value");
        if (jbd_is_null(val))
            fprintf(f, "  %-20s %s\n", "vm.memfd_noexec",
                    jbd_get_str(x, "meaning"));
        else
            fprintf(f, "  %-20s %lld: %s\n", "vm.memfd_noexec",
                    jbd_get_int(x, "value"), jbd_get_str(x, "meaning"));
    }
    if ((x = jbd_get(sys, "selinux"))) {
        const jbd_node *d = jbd_get(x, "deny_execmem");
        fprintf(f, "  %-20s %s%s\n", "SELinux",
                !jbd_get_bool(x, "enabled") ? "not enabled"
                : jbd_get_bool(x, "enforcing") ? "enforcing"
                                               : "permissive",
                jbd_is_null(d)               ? ""
                : jbd_get_bool(x, "deny_execmem") ? ", deny_execmem on"
                                                  : ", deny_execmem off");
    }
    if (jbd_get(sys, "seccomp") && !jbd_is_null(jbd_get(sys, "seccomp")))
        fprintf(f, "  %-20s %lld (0 none, 1 strict, 2 filter)\n", "seccomp",
                jbd_get_int(sys, "seccomp"));
    if (jbd_get_str(sys, "pax"))
        fprintf(f, "  %-20s %s\n", "PaX", jbd_get_str(sys, "pax"));
    if ((x = jbd_get(sys, "noexec_mounts"))) {
        fprintf(f, "  %-20s ", "noexec mounts");
        int k = 0;
        for (const jbd_node *m = jbd_next(x, NULL); m; m = jbd_next(x, m))
            fprintf(f, "%s%s", k++ ? ", " : "", jbd_value(m));
        fprintf(f, "%s (%s)\n", k ? "" : "none of /dev/shm, /tmp",
                jbd_get_str(sys, "noexec_note"));
    }
    if (jbd_get_str(sys, "macos"))
        fprintf(f, "  %-20s %s%s\n", "macOS", jbd_get_str(sys, "macos"),
                jbd_get_bool(sys, "apple_silicon") ? " (Apple silicon)"
                                                   : " (Intel)");
    if ((x = jbd_get(sys, "this_process_signature"))) {
        fprintf(f, "  %-20s ", "own signature");
        if (!jbd_get_bool(x, "readable"))
            fprintf(f, "unreadable: %s\n", jbd_get_str(x, "why"));
        else {
            fprintf(f, "hardened runtime %s; entitlements:",
                    jbd_get_bool(x, "hardened_runtime") ? "on" : "off");
            const jbd_node *es = jbd_get(x, "entitlements");
            int k = 0;
            for (const jbd_node *e = jbd_next(es, NULL); e; e = jbd_next(es, e))
                fprintf(f, " %s", jbd_value(e)), k++;
            fputs(k ? "\n" : " none\n", f);
        }
    }
    const char *env = jbd_get_str(root, "JITBUF_WX");
    if (env)
        fprintf(f, "  %-20s %s (the auto row honours it)\n", "JITBUF_WX", env);
    fprintf(f, "\n  %-15s %-6s %-4s %s\n", "strategy", "works", "W^X",
            "why (jb_region_info) or error (jb_last_error)");
    const jbd_node *rows = jbd_get(root, "strategies");
    for (const jbd_node *r = jbd_next(rows, NULL); r; r = jbd_next(rows, r)) {
        const char *err = jbd_get_str(r, "error");
        fprintf(f, "  %-15s %-6s %-4s %s%s%s\n", jbd_get_str(r, "strategy"),
                jbd_get_bool(r, "works") ? "yes" : "no",
                err ? "-" : jbd_get_bool(r, "wx_exclusive") ? "yes" : "NO",
                err ? err : "", err ? ": " : "", jbd_get_str(r, "detail"));
    }
    fputc('\n', f);
    jbd_findings_text(f, root, "  ");
    const char *picked = jbd_get_str(root, "auto_picks");
    if (picked)
        fprintf(f, "verdict: jb_region_open with defaults picks %s here "
                   "(exit status 0)\n",
                picked);
    else
        fprintf(f, "verdict: jb_region_open with defaults fails here (exit "
                   "status 1)\n");
}
