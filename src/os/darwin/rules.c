/* Which of Apple's JIT rules bind this process: read from the main
 * executable's code signature, never taken on trust from the caller.
 *
 * The OS decides from the entitlements the process was launched with: the
 * kernel reports the allowlist and freeze-late entitlements to libpthread
 * (libpthread-539 kern/kern_support.c:669-680), which then kills a
 * process that calls pthread_jit_write_protect_np (src/pthread.c:1384-
 * 1391), an unlisted callback (1432-1438), a write before the freeze under
 * freeze-late (1419-1423) or a freeze without it (1461-1464); xnu allows
 * a second MAP_JIT region unless com.apple.security.cs.single-jit was
 * present at exec (bsd/kern/kern_exec.c:5629-5633, osfmk/vm/vm_map.c:2297-
 * 2301). So jitbuf reads the same entitlements from the signature dyld
 * mapped with the executable (its __LINKEDIT, LC_CODE_SIGNATURE) and the
 * JB_OPEN_APPLE_* flags become assertions: one that the signature
 * contradicts fails at open. If the signature cannot be read, the flags
 * decide, and jb_info.why says so. */
#include <stdatomic.h>
#include <stdio.h>

#include "apple.h"
#include "../../error.h"
#include "darwin.h"
#include "macho.h"

static jb__dw_sig sig;
static atomic_int sig_state; /* 0 unread, 1 reading, 2 read */

const jb__dw_sig *jb__dw_signature(void)
{
    int s = atomic_load_explicit(&sig_state, memory_order_acquire);
    if (s == 2)
        return &sig;
    int expect = 0;
    if (!atomic_compare_exchange_strong(&sig_state, &expect, 1)) {
        while (atomic_load_explicit(&sig_state, memory_order_acquire) != 2)
            jb__os_yield();
        return &sig;
    }
    jb__dw_sig g = {0, "dyld lists no main executable", 0, 0, 0};
    const void *h = _dyld_image_count() ? _dyld_get_image_header(0) : NULL;
    jb__macho m;
    const uint8_t *blob;
    size_t n;
    int rc;
    if (h && jb__macho_image(&m, h, &g.why) == 0) {
        uint32_t platform = 0;
        jb__macho_minos(&m, &platform);
        /* iOS and Mac Catalyst apps on a Mac run "alien": one MAP_JIT
         * (vm_map_internal.h:774-782, VM_MAP_IS_ALIEN) */
        g.alien = platform == 2 || platform == 6;
        rc = jb__macho_signature(&m, &blob, &n, &g.why);
        if (rc == 1)
            g.why = "the main executable has no code signature";
        jb__sig parsed;
        if (rc == 0 && jb__sig_parse(blob, n, &parsed, &g.why) == 0) {
            g.read = 1;
            g.why = "";
            g.ents = parsed.ents;
            g.cd_flags = parsed.cd_flags;
        }
    }
    sig = g;
    atomic_store_explicit(&sig_state, 2, memory_order_release);
    return &sig;
}

static int has(const jb__dw_sig *s, int ent)
{
    return (s->ents >> ent) & 1;
}

int jb__dw_rules_for(unsigned flags, jb__dw_rules *out, const char *fn)
{
    const jb__dw_sig *s = jb__dw_signature();
    int want_list = (flags & JB_OPEN_APPLE_ALLOWLIST) != 0;
    int want_late = (flags & JB_OPEN_APPLE_FREEZE_LATE) != 0;
    out->signed_ = s->read;
    out->note[0] = 0;
    if (!s->read) {
        out->allowlist = want_list || want_late;
        out->freeze_late = want_late;
        out->late_signed = want_late;
        out->single_jit = 1; /* unknown: Apple's documented rule */
        snprintf(out->note, sizeof out->note,
                 "; the code signature could not be read (%s), so the "
                 "JB_OPEN_APPLE_* flags decide",
                 s->why);
    } else {
        out->allowlist = has(s, JB__ENT_ALLOWLIST);
        /* freeze-late is an addition to the allowlist (pthread.c:1268) */
        out->freeze_late = out->allowlist && has(s, JB__ENT_FREEZE_LATE);
        out->late_signed = out->freeze_late;
        out->single_jit = has(s, JB__ENT_SINGLE_JIT) || s->alien;
        if (want_late && !out->freeze_late)
            return jb__fail(JB_EINVAL,
                            "%s: JB_OPEN_APPLE_FREEZE_LATE, but the "
                            "executable's code signature lacks "
                            "com.apple.security.cs.jit-write-allowlist%s, "
                            "so the OS would kill the process at jb_freeze(); "
                            "sign it with "
                            "entitlements/jit-allowlist-freeze-late.plist or "
                            "open without the flag",
                            fn, out->allowlist ? "-freeze-late" : "");
        if (want_list && !out->allowlist)
            return jb__fail(JB_EINVAL,
                            "%s: JB_OPEN_APPLE_ALLOWLIST, but the "
                            "executable's code signature lacks "
                            "com.apple.security.cs.jit-write-allowlist; sign "
                            "it with entitlements/jit-allowlist.plist or open "
                            "without the flag (the signature decides)",
                            fn);
        if (out->allowlist)
            snprintf(out->note, sizeof out->note,
                     "; signed with com.apple.security.cs.jit-write-"
                     "allowlist%s",
                     out->freeze_late ? " and -freeze-late" : "");
    }
    /* Before 12.1 the OS has no freeze-late: libpthread-485.40.4 (macOS
     * 12.0) freezes the list at launch whatever the signature says. */
    if (out->freeze_late) {
        if (JB__DW_OS_12_1) {
        } else {
            out->freeze_late = 0;
        }
    }
    return 0;
}

int jb__dw_process_allowlisted(void)
{
    const jb__dw_sig *s = jb__dw_signature();
    return s->read ? has(s, JB__ENT_ALLOWLIST)
                   : (jb__dw_open_flags & JB_OPEN_APPLE_ALLOWLIST) != 0;
}
