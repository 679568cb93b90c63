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

/* Chosen once: the strongest command the kernel offers, registered. */
static atomic_int sync_cmd; /* 0 = not yet chosen, -1 = none */

static int choose(void)
{
    long mask = membarrier(MEMBARRIER_CMD_QUERY);
    if (mask < 0)
        return -1;
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
    return -1;
}

int jb__os_sync_threads(void)
{
    int cmd = atomic_load(&sync_cmd);
    if (cmd == 0) {
        cmd = choose();
        atomic_store(&sync_cmd, cmd);
    }
    if (cmd < 0)
        return jb__fail(JB_EOS, "jb_sync_threads: the kernel offers no "
                                "membarrier command (Linux < 4.3, a seccomp "
                                "filter, or an emulator); make other threads "
                                "run a serialising instruction before they "
                                "enter patched code");
    if (membarrier(cmd) < 0)
        return jb__fail(JB_EOS, "jb_sync_threads: membarrier(%d) failed with "
                                "%s",
                        cmd, jb__errno_name(errno));
    return 0;
}
