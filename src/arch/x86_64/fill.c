/* Trap fill: int3 (0xCC) in every byte, so a jump to any offset of free
 * memory stops with SIGTRAP. */
#include <string.h>

#include "../arch.h"

void jb__arch_fill_traps(void *dst, size_t n)
{
    memset(dst, 0xCC, n);
}

const size_t jb__arch_trap_unit = 1;
