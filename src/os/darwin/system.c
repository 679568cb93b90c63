/* Process-level services for the core on macOS (the POSIX ones are in
 * src/os/posix/). */
#include "apple.h"
#include "../../error.h"
#include "../os.h"

/* Apple's cache call, never CTR_EL0 (reading it from user space traps on
 * macOS). A no-op on Intel. */
void jb__os_flush_icache(void *exec, size_t n)
{
    sys_icache_invalidate(exec, n);
}

int jb__os_sync_threads(void)
{
    return jb__fail(JB_EUNSUPPORTED,
                    "jb_sync_threads: macOS offers no membarrier; patch only "
                    "instructions that may be changed while other threads "
                    "run them (arm64: b, bl, nop, and the other forms the "
                    "architecture lists), or bring those threads to a "
                    "safepoint before they enter rewritten code");
}
