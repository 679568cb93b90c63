/* The contract between the core and src/arch/<arch>/.
 *
 * Exactly one of src/arch/x86_64/ and src/arch/arm64/ is compiled (the
 * Makefile picks it by ARCH); each provides every function below in files
 * of the same names: cache.c, fill.c, cpu.c. */
#ifndef JB_ARCH_H
#define JB_ARCH_H

#include <stddef.h>

/* Make instruction fetch from [exec, exec + n) see the bytes most recently
 * written there (by this thread, through any alias). x86_64: nothing to do;
 * arm64: clean D to PoU, invalidate I, DSB ISH, ISB. */
void jb__arch_flush_icache(void *exec, size_t n);

/* Fill n bytes (a multiple of 4, dst 4-aligned) with trap instructions. */
void jb__arch_fill_traps(void *dst, size_t n);

/* The length of one trap instruction, which is also the unit in which
 * instructions are aligned: 1 on x86_64 (int3), 4 on arm64 (brk). */
extern const size_t jb__arch_trap_unit;

/* Spin-wait hint (pause / yield). */
void jb__arch_relax(void);

#endif
