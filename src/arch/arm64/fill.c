/* Trap fill: brk #0x6a62 in every word (SIGTRAP on Linux and macOS). Not
 * udf #0 (all zero bits), so that filled memory is told apart from memory
 * that was never filled. */
#include <stdint.h>
#include <string.h>

#include "../arch.h"

#define BRK_JB 0xd42d4c40u /* brk #0x6a62 */

void jb__arch_fill_traps(void *dst, size_t n)
{
    uint32_t w = BRK_JB;
    uint8_t *p = dst;
    for (size_t i = 0; i + 4 <= n; i += 4)
        memcpy(p + i, &w, 4);
}

const size_t jb__arch_trap_unit = 4;
