/* jitbuf-doctor APP_OR_BINARY's text report, read back from the report
 * tree that --json prints (binary.c fills it), so both say the same. */
#include <stdio.h>
#include <string.h>

#include "doctor.h"

static void names_line(FILE *f, const char *label, const jbd_node *arr)
{
    fprintf(f, "  %-18s", label);
    int k = 0;
    for (const jbd_node *x = jbd_next(arr, NULL); x; x = jbd_next(arr, x))
        fprintf(f, "%s%s", k++ ? ", " : "", jbd_value(x));
    fputs(k ? "\n" : "none\n", f);
}

static void slice_text(FILE *f, const jbd_node *o)
{
    const char *minos = jbd_get_str(o, "minimum_os");
    const char *type = jbd_get_str(o, "filetype");
    fprintf(f, "\n%s%s%s", jbd_get_str(o, "arch"), type ? " " : "",
            type ? type : "");
    if (type)
        fprintf(f, ", %s %s%s", jbd_get_str(o, "platform"),
                minos ? minos : "(no minimum version)",
                minos ? " and later" : "");
    fputc('\n', f);
    const jbd_node *sg = jbd_get(o, "signature");
    if (sg) {
        fprintf(f, "  %-18s", "code signature");
        if (!jbd_get_bool(sg, "present"))
            fputs("none\n", f);
        else if (!jbd_get_bool(sg, "readable"))
            fprintf(f, "unreadable: %s\n", jbd_get_str(sg, "why"));
        else
            fprintf(f, "%s%s (CodeDirectory flags %s)\n",
                    jbd_get_bool(sg, "ad_hoc") ? "ad hoc" : "signed",
                    jbd_get_bool(sg, "linker_signed") ? ", by the linker" : "",
                    jbd_get_str(sg, "codedirectory_flags"));
        fprintf(f, "  %-18s%s\n", "hardened runtime",
                jbd_get_bool(o, "hardened_runtime") ? "yes" : "no");
        names_line(f, "JIT entitlements", jbd_get(o, "jit_entitlements"));
        names_line(f, "exceptions", jbd_get(o, "exception_entitlements"));
    }
    const char *jb = jbd_get_str(o, "jitbuf");
    if (jb)
        fprintf(f, "  %-18s%s%s\n", "jitbuf", jb,
                jbd_get_bool(o, "apple_callback_built")
                    ? ""
                    : " (built without apple-callback)");
    const jbd_node *ims = jbd_get(o, "images");
    if (ims)
        fprintf(f, "  images (allowlists as libpthread reads them):\n");
    for (const jbd_node *x = jbd_next(ims, NULL); x; x = jbd_next(ims, x)) {
        fprintf(f, "    %s: %s, %s, %s\n", jbd_get_str(x, "name"),
                jbd_get_str(x, "kind"),
                jbd_get_bool(x, "linked_at_launch") ? "linked at launch"
                                                    : "not linked at launch",
                jbd_get_bool(x, "os_reads_its_list")
                    ? "the OS reads its list"
                    : "the OS does not read its list");
        const char *al = jbd_get_str(x, "allowlist");
        if (strcmp(al, "present")) {
            fprintf(f, "      __pth_jit_func: %s\n", al);
            continue;
        }
        fprintf(f,
                "      __pth_jit_func: %lld list(s), %lld entries read, %lld "
                "after the first NULL (never read)\n",
                jbd_get_int(x, "lists"), jbd_get_int(x, "entries_read"),
                jbd_get_int(x, "entries_unread"));
        const jbd_node *es = jbd_get(x, "entries");
        for (const jbd_node *e = jbd_next(es, NULL); e; e = jbd_next(es, e)) {
            const char *cb = jbd_get_str(e, "jitbuf");
            fprintf(f, "        [%lld] %-28s %s%s%s\n", jbd_get_int(e, "index"),
                    jbd_get_str(e, "symbol"), cb ? "jitbuf's " : "",
                    cb ? cb : "", jbd_get_bool(e, "read_by_os")
                                      ? (cb ? ", read" : "read")
                                      : (cb ? ", NOT read" : "NOT read"));
        }
    }
    const jbd_node *vs = jbd_get(o, "verdict");
    if (vs)
        fprintf(f, "  verdict (jb_region_open with defaults):\n");
    for (const jbd_node *x = jbd_next(vs, NULL); x; x = jbd_next(vs, x)) {
        const char *st = jbd_get_str(x, "strategy");
        if (st)
            fprintf(f, "    macOS %s: %s\n      %s\n", jbd_get_str(x, "macos"),
                    st, jbd_get_str(x, "detail"));
        else
            fprintf(f, "    macOS %s: FAILS (the problem below says why)\n",
                    jbd_get_str(x, "macos"));
    }
    jbd_findings_text(f, o, "  ");
    fprintf(f, "  => %s: %s\n", jbd_get_str(o, "arch"),
            jbd_get_bool(o, "ok") ? "ok" : "PROBLEMS (see above)");
}

void jbd_binary_text(FILE *f, const jbd_node *root)
{
    const char *kind = jbd_get_str(root, "kind");
    fprintf(f, "jitbuf-doctor: %s%s%s%s\n", jbd_get_str(root, "path"),
            kind ? " (" : "", kind ? kind : "", kind ? ")" : "");
    const char *exe = jbd_get_str(root, "executable");
    if (exe)
        fprintf(f, "  executable: %s\n", exe);
    const jbd_node *bi = jbd_get(root, "bundle_images");
    for (const jbd_node *x = jbd_next(bi, NULL); x; x = jbd_next(bi, x))
        fprintf(f, "  library:    %s\n", jbd_value(x));
    jbd_findings_text(f, root, "");
    const jbd_node *ss = jbd_get(root, "slices");
    for (const jbd_node *x = jbd_next(ss, NULL); x; x = jbd_next(ss, x))
        slice_text(f, x);
    fprintf(f, "\n%s\n", jbd_get_bool(root, "ok")
                             ? "result: ok (exit status 0)"
                             : "result: problems found (exit status 1)");
}
