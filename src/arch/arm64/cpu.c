/* CPU facts and hints for arm64. */
#include "../arch.h"

#if !defined(__aarch64__)
#error "src/arch/arm64 built for another target: set ARCH in the Makefile"
#endif

void jb__arch_relax(void)
{
    __asm__ __volatile__("yield");
}
