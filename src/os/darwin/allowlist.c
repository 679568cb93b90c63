/* The allowlist for a libjitbuf dylib: PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP
 * may appear once per image, so it lives here alone, linked into the dylib
 * and never into libjitbuf.a. A static libjitbuf leaves the listing to the
 * host's own single invocation (JB_APPLE_WRITE_CALLBACKS in jitbuf.h). SDKs
 * without the macro (macOS 11) get none: they lack the callback API too. */
#include "apple.h"
#include "jitbuf.h"

#if JB__DW_HAVE_CALLBACK_API
PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP(JB_APPLE_WRITE_CALLBACKS);
#else
typedef int jb__dw_no_allowlist; /* ISO C: a file must declare something */
#endif
