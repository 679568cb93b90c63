/* Which strategies exist on Linux, and the order JB_WX_AUTO tries them:
 * dualmap (W^X, no syscall per write), then mprotect (W^X, two syscalls per
 * write). rwx is never tried automatically. */
#include "../../config.h"
#include "../../error.h"
#include "linux.h"

const jb__strategy *const jb__os_auto[] = {&jb__lx_dualmap, &jb__lx_mprotect,
                                           NULL};

const jb__strategy *jb__os_strategy(jb_wx wx)
{
    switch (wx) {
    case JB_WX_DUALMAP: return &jb__lx_dualmap;
    case JB_WX_MPROTECT: return &jb__lx_mprotect;
    case JB_WX_RWX:
#if JB_NO_RWX
        jb__fail(JB_EUNSUPPORTED, "rwx: this libjitbuf was built with "
                                  "JB_NO_RWX=1; use dualmap or mprotect");
        return NULL;
#else
        return &jb__lx_rwx;
#endif
    case JB_WX_APPLE_CALLBACK:
    case JB_WX_APPLE_TOGGLE:
        jb__fail(JB_EUNSUPPORTED, "%s: this strategy exists only on macOS; "
                                  "on Linux use dualmap (the default) or "
                                  "mprotect",
                 jb_wx_name(wx));
        return NULL;
    case JB_WX_AUTO:
        break;
    }
    jb__fail(JB_EINVAL, "strategy %d is not known", (int)wx);
    return NULL;
}

int jb__os_private_ok(void)
{
    return 1;
}

int jb__os_adopt_ok(void)
{
    jb__fail(JB_EUNSUPPORTED, "jb_region_adopt: exists for macOS, where a "
                              "process may have only one MAP_JIT region; on "
                              "Linux open a separate region with "
                              "JB_OPEN_PRIVATE instead");
    return 0;
}

/* The Darwin thread toggle has no Linux counterpart. */
int jb__os_write_protect(int enabled)
{
    (void)enabled;
    return jb__fail(JB_EUNSUPPORTED, "jb_apple_write_protect: exists only on "
                                     "macOS (pthread_jit_write_protect_np); "
                                     "nothing to toggle here");
}

/* Nor has the macOS freeze-late callback list. */
int jb__os_host_froze(void)
{
    return jb__fail(JB_EUNSUPPORTED, "jb_apple_host_froze: exists only on "
                                     "macOS (pthread_jit_write_freeze_"
                                     "callbacks_np); nothing is frozen here");
}
