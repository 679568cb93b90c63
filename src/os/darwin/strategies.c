/* Which strategies exist on macOS, and the order JB_WX_AUTO tries them:
 * apple-callback (macOS >= 11.4), then apple-toggle. dualmap, mprotect and
 * rwx are impossible here: MAP_JIT cannot be shared or file-backed, and its
 * pages cannot be mprotected. */
#include "apple.h"
#include "../../error.h"
#include "darwin.h"

const jb__strategy *const jb__os_auto[] = {
#if JB__DW_HAVE_CALLBACK_API
    &jb__dw_callback,
#endif
    &jb__dw_toggle, NULL};

const jb__strategy *jb__os_strategy(jb_wx wx)
{
    switch (wx) {
    case JB_WX_APPLE_CALLBACK:
#if JB__DW_HAVE_CALLBACK_API
        return &jb__dw_callback;
#else
        jb__fail(JB_EUNSUPPORTED, "apple-callback: this libjitbuf was built "
                                  "with a macOS 11 SDK, which lacks "
                                  "pthread_jit_write_with_callback_np; "
                                  "rebuild with a macOS 12 or later SDK, or "
                                  "use apple-toggle");
        return NULL;
#endif
    case JB_WX_APPLE_TOGGLE: return &jb__dw_toggle;
    case JB_WX_DUALMAP:
    case JB_WX_MPROTECT:
    case JB_WX_RWX:
        jb__fail(JB_EUNSUPPORTED, "%s: not possible on macOS, where JIT code "
                                  "lives in one MAP_JIT region that cannot be "
                                  "shared, file-backed or mprotected; use "
                                  "JB_WX_AUTO (apple-callback)",
                 jb_wx_name(wx));
        return NULL;
    case JB_WX_AUTO:
        break;
    }
    jb__fail(JB_EINVAL, "strategy %d is not known", (int)wx);
    return NULL;
}

/* A second MAP_JIT region: xnu refuses it (EINVAL) only under
 * com.apple.security.cs.single-jit or for an iOS app on a Mac
 * (xnu-11417.101.15 osfmk/vm/vm_map.c:2297-2301), which the signature
 * tells; Apple's article documents one region for every hardened app, so
 * without JB_OPEN_PRIVATE regions are shared anyway. */
int jb__os_private_ok(void)
{
    jb__dw_rules r;
    if (jb__dw_rules_for(0, &r, "jb_region_open") == 0 && !r.single_jit)
        return 1;
    jb__fail(JB_EUNSUPPORTED,
             "jb_region_open: JB_OPEN_PRIVATE needs a second MAP_JIT region, "
             "which xnu refuses (EINVAL) %s; open without it to share the "
             "region as a pool",
             r.signed_ ? "under this executable's "
                         "com.apple.security.cs.single-jit entitlement (or "
                         "for an iOS app on a Mac)"
                       : "under com.apple.security.cs.single-jit or for an "
                         "iOS app on a Mac, and this executable's code "
                         "signature could not be read to rule that out");
    return 0;
}

int jb__os_adopt_ok(void)
{
    return 1;
}
