/* CPU facts and hints for x86_64. */
#include "../arch.h"

#if !defined(__x86_64__)
#error "src/arch/x86_64 built for another target: set ARCH in the Makefile"
#endif

void jb__arch_relax(void)
{
    __asm__ __volatile__("pause");
}
