/* Which of Apple's JIT rules bind this process: read from the main
 * executable's code signature, never taken on trust from the caller.
 *
 * jitbuf reads the entitlements from the signature dyld mapped with the
 * executable (its __LINKEDIT, LC_CODE_SIGNATURE) once, and decides with
 * decide.c, the same code tools/jitbuf-doctor runs on files: the
 * JB_OPEN_APPLE_* flags become assertions, and one that the signature
 * contradicts fails at open. If the signature cannot be read, the flags
 * decide, and jb_info.why says so. */
#include <stdatomic.h>

#include "apple.h"
#include "darwin.h"

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
    if (h && jb__macho_image(&m, h, &g.why) == 0)
        jb__dw_sig_read(&m, &g);
    sig = g;
    atomic_store_explicit(&sig_state, 2, memory_order_release);
    return &sig;
}

/* The OS the process runs on. Each check is an `if` of its own (see
 * apple.h). */
jb__dw_os jb__dw_os_now(void)
{
    jb__dw_os os = {0, 0, JB__DW_HAVE_CALLBACK_API, 0};
    if (JB__DW_OS_11_4)
        os.os_11_4 = 1;
    if (JB__DW_OS_12_1)
        os.os_12_1 = 1;
    os.intel = 1; /* before 11.0 there is no write protection either */
    if (JB__DW_OS_11_0)
        os.intel = !pthread_jit_write_protect_supported_np();
    return os;
}

int jb__dw_rules_for(unsigned flags, jb__dw_rules *out, const char *fn)
{
    jb__dw_os os = jb__dw_os_now();
    return jb__dw_rules_decide(jb__dw_signature(), flags, &os, out, fn);
}

/* The rules of the process-wide region's flags (or of none): flags that
 * the signature contradicts never opened a region, so this cannot fail. */
int jb__dw_process_allowlisted(void)
{
    jb__dw_rules r;
    jb__dw_rules_for(jb__dw_open_flags & JB_OPEN_APPLE_ALLOWLIST, &r,
                     "jb_apple_write_protect");
    return r.allowlist;
}
