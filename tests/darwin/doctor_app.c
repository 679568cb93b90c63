/* The executable that tests/darwin/doctor.py builds with Zig in several
 * forms, to run jitbuf-doctor on: it links libjitbuf (statically, or the
 * dylib), and lists jitbuf's write callbacks in its allowlist or not
 * (-DJBD_LIST=1), or in a second list after another library's
 * (-DJBD_LIST=2, with doctor_other.c: two lists in one image). */
#include <pthread.h>
#include <stdio.h>

#include "jitbuf.h"

#if JBD_LIST == 1
PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP(JB_APPLE_WRITE_CALLBACKS);
#elif JBD_LIST == 2
/* Linked after doctor_other.c, whose list comes first in the section. */
PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP(JB_APPLE_WRITE_CALLBACKS);
#endif

int main(void)
{
    jb_region *r;
    if (jb_region_open(&r, NULL) < 0) {
        fprintf(stderr, "%s\n", jb_last_error());
        return 1;
    }
    return jb_region_close(r);
}
