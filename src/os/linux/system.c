/* Process-level services for the core on Linux: instruction-cache
 * coherence and cross-thread instruction synchronisation (the POSIX ones are
 * in src/os/posix/). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/membarrier.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../arch/arch.h"
#include "../../error.h"
#include "../os.h"

void jb__os_flush_icache(void *exec, size_t n)
{
    jb__arch_flush_icache(exec, n);
}

static long membarrier(int cmd)
{
    return syscall(__NR_membarrier, cmd, 0, 0);
}

/* Chosen once, when the query and the registration succeed: the strongest
 * command the kernel offers. A failure is not remembered (a later call asks
 * again), so that a passing refusal does not disable the call for good. */
static atomic_int sync_cmd; /* 0 = not yet chosen */

/* The command to use, or a JB_E* code with a sentence. */
static int choose(void)
{
    long mask = membarrier(MEMBARRIER_CMD_QUERY);
    if (mask < 0)
        return jb__fail(JB_EOS, "jb_sync_threads: membarrier(MEMBARRIER_CMD_"
                                "QUERY) failed with %s (Linux < 4.3, a "
                                "seccomp filter, or an emulator); make other "
                                "threads run a serialising instruction before "
                                "they enter patched code",
                        jb__errno_name(errno));
    if ((mask & MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) &&
        membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE) == 0)
        return MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE;
    /* An IPI returns through an exception return (iret / eret), which
     * serialises the interrupted core as well. */
    if ((mask & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
        membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0)
        return MEMBARRIER_CMD_PRIVATE_EXPEDITED;
    /* Slow: waits until every CPU has passed through the kernel. */
    if (mask & MEMBARRIER_CMD_GLOBAL)
        return MEMBARRIER_CMD_GLOBAL;
    return jb__fail(JB_EOS, "jb_sync_threads: the kernel offers no usable "
                            "membarrier command (query mask %#lx; registering "
                            "the expedited ones failed with %s); make other "
                            "threads run a serialising instruction before "
                            "they enter patched code",
                    (unsigned long)mask, jb__errno_name(errno));
}

int jb__os_sync_threads(void)
{
    int cmd = atomic_load_explicit(&sync_cmd, memory_order_relaxed);
    if (cmd == 0) {
        cmd = choose();
        if (cmd < 0)
            return cmd;
        atomic_store_explicit(&sync_cmd, cmd, memory_order_relaxed);
    }
    if (membarrier(cmd) < 0)
        return jb__fail(JB_EOS, "jb_sync_threads: membarrier(%d) failed with "
                                "%s",
                        cmd, jb__errno_name(errno));
    return 0;
}
