/* Which strategies exist on macOS, and the order JB_WX_AUTO tries them
 * (jb__dw_auto_order in decide.c): apple-callback (macOS >= 11.4), then
 * apple-toggle. dualmap, mprotect and rwx are not offered here: MAP_JIT
 * cannot be shared or file-backed (kern_mman.c:399-408, 536-538), and the
 * hardened runtime grants executable memory only as MAP_JIT, whose W^X is
 * the per-thread write protection, not mprotect. */
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
    {
        jb__dw_os os = jb__dw_os_now();
        jb__dw_strategy_ok(wx, NULL, &os); /* the sentence */
        return NULL;
    }
#endif
    case JB_WX_APPLE_TOGGLE: return &jb__dw_toggle;
    case JB_WX_DUALMAP:
    case JB_WX_MPROTECT:
    case JB_WX_RWX:
        jb__fail(JB_EUNSUPPORTED, "%s: not possible on macOS, where JIT code "
                                  "lives in MAP_JIT memory, which cannot be "
                                  "shared or file-backed and is made "
                                  "writable per thread, not by mprotect; use "
                                  "JB_WX_AUTO (apple-callback)",
                 jb_wx_name(wx));
        return NULL;
    case JB_WX_AUTO:
        break;
    }
    jb__fail(JB_EINVAL, "strategy %d is not known", (int)wx);
    return NULL;
}

/* JB_OPEN_PRIVATE: a second MAP_JIT region (decide.c says when). */
int jb__os_private_ok(void)
{
    jb__dw_rules r;
    jb__dw_rules_for(0, &r, "jb_region_open"); /* flags 0: cannot fail */
    return jb__dw_private_ok(&r);
}

int jb__os_adopt_ok(void)
{
    return 1;
}
