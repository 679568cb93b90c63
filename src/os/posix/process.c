/* Process services that every POSIX OS layer provides the same way (built
 * with src/os/linux/ and with src/os/darwin/). */
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "../os.h"

size_t jb__os_page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

void jb__os_yield(void)
{
    sched_yield();
}

void jb__os_atfork(void (*prepare)(void), void (*parent)(void),
                   void (*child)(void))
{
    pthread_atfork(prepare, parent, child);
}
