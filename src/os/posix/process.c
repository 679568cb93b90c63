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

/* One key for the process: jitbuf has one thing to do when a thread exits
 * (count.c folds the thread's window counts), so one function. */
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static int exit_ok;
static void (*exit_fn)(void *);

static void exit_run(void *arg)
{
    __atomic_load_n(&exit_fn, __ATOMIC_RELAXED)(arg);
}

static void exit_init(void)
{
    exit_ok = pthread_key_create(&exit_key, exit_run) == 0;
}

int jb__os_at_thread_exit(void (*fn)(void *), void *arg)
{
    __atomic_store_n(&exit_fn, fn, __ATOMIC_RELAXED);
    pthread_once(&exit_once, exit_init);
    return exit_ok && pthread_setspecific(exit_key, arg) == 0 ? 0 : -1;
}
