/* Another static library's own allowlist, linked into the same image as
 * doctor_app.c's: Apple allows one PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP per
 * image, and libpthread reads only up to the first NULL. */
#include <pthread.h>

int jbd_other_write(void *ctx);
int jbd_other_write(void *ctx)
{
    (void)ctx;
    return 0;
}

PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP(jbd_other_write);
