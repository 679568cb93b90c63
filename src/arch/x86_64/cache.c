/* x86_64 keeps instruction fetch coherent with stores (including stores
 * through another virtual address), so a writing thread needs nothing.
 * Other threads that may run the old bytes need jb_sync_threads(). */
#include "../arch.h"

void jb__arch_flush_icache(void *exec, size_t n)
{
    (void)exec, (void)n;
}
