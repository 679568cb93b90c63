/* The public calls that exist for macOS (jb_apple_write_protect,
 * jb_apple_host_froze): the door every public call passes, then the OS
 * layer, which does the work on macOS and refuses elsewhere. */
#include "internal.h"

int jb_apple_write_protect(int enabled)
{
    int rc = jb__enter_nohandle("jb_apple_write_protect");
    return rc < 0 ? rc : jb__os_write_protect(enabled);
}

int jb_apple_host_froze(void)
{
    int rc = jb__enter_nohandle("jb_apple_host_froze");
    return rc < 0 ? rc : jb__os_host_froze();
}
