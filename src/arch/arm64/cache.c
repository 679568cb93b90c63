/* arm64 instruction-cache maintenance for freshly written code.
 *
 * The data may have been written through another virtual address (the
 * dualmap RW view); the data cache is physically tagged, so cleaning by the
 * executable address reaches the same lines. Line sizes come from CTR_EL0
 * (readable from EL0 on Linux; never on macOS, where it traps: the Darwin
 * backend uses sys_icache_invalidate instead and does not build this file).
 * CTR_EL0.IDC / .DIC say that a step is not needed on this core. */
#include <stdint.h>

#include "../arch.h"

#if !defined(__aarch64__)
#error "src/arch/arm64 built for another target: set ARCH in the Makefile"
#endif

static uint64_t read_ctr(void)
{
    uint64_t ctr;
    __asm__ __volatile__("mrs %0, ctr_el0" : "=r"(ctr));
    return ctr;
}

void jb__arch_flush_icache(void *exec, size_t n)
{
    static uint64_t ctr; /* a racy cache of a constant: benign */
    if (!ctr)
        ctr = read_ctr();
    uintptr_t start = (uintptr_t)exec, end = start + n;
    if (!(ctr & ((uint64_t)1 << 28))) { /* IDC clear: clean D to PoU */
        uintptr_t line = (uintptr_t)4 << ((ctr >> 16) & 15);
        for (uintptr_t p = start & ~(line - 1); p < end; p += line)
            __asm__ __volatile__("dc cvau, %0" ::"r"(p) : "memory");
    }
    __asm__ __volatile__("dsb ish" ::: "memory");
    if (!(ctr & ((uint64_t)1 << 29))) { /* DIC clear: invalidate I to PoU */
        uintptr_t line = (uintptr_t)4 << (ctr & 15);
        for (uintptr_t p = start & ~(line - 1); p < end; p += line)
            __asm__ __volatile__("ic ivau, %0" ::"r"(p) : "memory");
        __asm__ __volatile__("dsb ish" ::: "memory");
    }
    __asm__ __volatile__("isb" ::: "memory");
}
