/* jitbuf-doctor: command line (the usage text is the manual). */
#include <stdio.h>
#include <string.h>

#include "doctor.h"
#include "jitbuf.h"

static const char usage[] =
    "NAME\n"
    "    jitbuf-doctor - check a macOS JIT app's signature, entitlements and\n"
    "    allowlists, or which W^X strategies work on this machine\n"
    "\n"
    "SYNOPSIS\n"
    "    jitbuf-doctor [--json] APP_OR_BINARY\n"
    "    jitbuf-doctor [--json]\n"
    "    jitbuf-doctor --help\n"
    "\n"
    "DESCRIPTION\n"
    "    With APP_OR_BINARY (a thin or universal Mach-O file, or an .app\n"
    "    bundle), on Linux or macOS, for each architecture: the code\n"
    "    signature and its hardened-runtime flag; the JIT entitlements\n"
    "    (allow-jit, jit-write-allowlist, -freeze-late, single-jit);\n"
    "    exception entitlements that should not be there\n"
    "    (allow-unsigned-executable-memory, disable-executable-page-\n"
    "    protection, disable-library-validation), each with why; every\n"
    "    image's __DATA_CONST,__pth_jit_func allowlist with symbol names, as\n"
    "    libpthread reads it (up to the first NULL, one list per image,\n"
    "    only images linked at launch unless freeze-late); and a verdict:\n"
    "    what jb_region_open with defaults does on each macOS version the\n"
    "    binary runs on (which strategy, or why it fails), and anything the\n"
    "    OS would kill the process for, each with the fix (which plist in\n"
    "    entitlements/, which macro). In a bundle, the main executable is\n"
    "    Contents/Info.plist's CFBundleExecutable and the libraries are\n"
    "    those in Contents/Frameworks; a library counts as loaded at launch\n"
    "    when the executable links it by install name, unless that name\n"
    "    resolves outside the bundle (an absolute path, or @rpath through\n"
    "    an LC_RPATH outside it): dyld then loads that file, not the\n"
    "    bundled copy, and that is a problem. The decisions are\n"
    "    made by jitbuf's own Darwin code (src/os/darwin/decide.c), given\n"
    "    the file instead of the running process.\n"
    "\n"
    "    Without an argument: this machine. On Linux the facts that decide\n"
    "    (memfd MFD_EXEC, vm.memfd_noexec, SELinux deny_execmem, seccomp,\n"
    "    noexec mounts), then a table: each strategy opened through the\n"
    "    public API, a function written, run and checked, and\n"
    "    jb_last_error() where it fails; the auto row is what\n"
    "    jb_region_open picks here (JITBUF_WX honoured). On macOS the same\n"
    "    table, and this process's own code signature.\n"
    "\n"
    "OPTIONS\n"
    "    --json   print the report as one JSON object instead of text\n"
    "    --help   print this text\n"
    "\n"
    "EXIT STATUS\n"
    "    0   APP_OR_BINARY: no problem (jb_region_open succeeds on every\n"
    "        macOS the binary runs on, and nothing the OS kills for);\n"
    "        without an argument: a W^X strategy works here (auto opens)\n"
    "    1   a problem, each printed with its fix; or the file cannot be read\n"
    "    2   usage error\n"
    "    Warnings and notes do not change the status.\n"
    "\n"
    "ENVIRONMENT\n"
    "    JITBUF_WX   honoured by the auto row, as jb_region_open honours it\n"
    "\n"
    "SEE ALSO\n"
    "    docs/macos.md (Troubleshooting), entitlements/*.plist,\n"
    "    scripts/sign-macos.sh, codesign(1)\n";

int main(int argc, char **argv)
{
    int json = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (argv[i][0] == '-' && strcmp(argv[i], "-") &&
                   strcmp(argv[i], "--")) {
            fprintf(stderr,
                    "jitbuf-doctor: unknown option '%s'; see "
                    "jitbuf-doctor --help\n",
                    argv[i]);
            return 2;
        } else if (!strcmp(argv[i], "--") && i + 1 < argc && !path) {
            path = argv[++i];
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, "jitbuf-doctor: one APP_OR_BINARY at a time; see "
                            "jitbuf-doctor --help\n");
            return 2;
        }
    }
    jbd_node *root = jbd_root();
    jbd_str(root, "tool", "jitbuf-doctor");
    jbd_str(root, "jitbuf_version", jb_version_string());
    int rc = path ? jbd_binary(root, path) : jbd_machine(root);
    if (json)
        jbd_print_json(stdout, root);
    else if (path)
        jbd_binary_text(stdout, root);
    else
        jbd_machine_text(stdout, root);
    jbd_free(root);
    return rc;
}
