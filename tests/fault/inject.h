/* Fault injection for the calls libjitbuf makes to the system.
 *
 * The fault-injection build of the library (make test-fault) is the
 * ordinary libjitbuf.a with each of these references renamed by
 * `objcopy --redefine-sym NAME=__wrap_NAME` (the GNU ld --wrap scheme,
 * applied to jitbuf's objects only, so that the test's own calls are
 * never counted). Each __wrap_NAME (inject.c) passes through to the real
 * call, counts it, and fails the planned one with the planned errno as
 * the kernel would: a failed close still releases the descriptor, a
 * failed pwrite writes nothing.
 *
 * Another build of the library (the Darwin model's) can be wrapped the
 * same way: add its calls to FAULT_CALLS and to WRAP_SYMS in the Makefile. */
#ifndef JB_FAULT_INJECT_H
#define JB_FAULT_INJECT_H

#include <stddef.h>
#include <stdint.h>

#define FAULT_CALLS(X)                                                         \
    X(MMAP, mmap)                                                              \
    X(MUNMAP, munmap)                                                          \
    X(MPROTECT, mprotect)                                                      \
    X(MADVISE, madvise)                                                        \
    X(MEMFD, memfd_create)                                                     \
    X(FTRUNCATE, ftruncate)                                                    \
    X(MEMBARRIER, membarrier)                                                  \
    X(PWRITE, pwrite)                                                          \
    X(CLOSE, close)                                                            \
    X(CALLOC, calloc)

typedef enum {
#define X(id, name) FC_##id,
    FAULT_CALLS(X)
#undef X
    FC_N
} fault_call;

extern const char *const fault_call_name[FC_N];

/* Fail the nth wrapped call from now on (1 = the next), with errno err;
 * nth 0 plans no fault. Resets the count. */
void fault_plan(long nth, int err);
/* Wrapped calls since the last plan. */
long fault_count(void);
/* The kind of the kth call since the last plan (k <= FAULT_LOG), and, for
 * membarrier, its command. */
#define FAULT_LOG 4096
fault_call fault_kind(long k);
int fault_arg(long k);
/* For mprotect, the range of the kth call (k <= FAULT_LOG; single-threaded
 * callers only, as the range is logged beside the count). */
void fault_range(long k, uintptr_t *addr, size_t *len);
/* 1 once the planned fault has been injected. */
int fault_fired(void);

/* Not a fault: the library's next aligned_alloc (jb_begin's staging copy,
 * made with no lock held) first calls hook(ctx), once. A test's way to
 * act in that gap, as another thread could. */
void fault_on_aligned_alloc(void (*hook)(void *), void *ctx);
/* The same for the library's next memset with the x86_64 trap byte (a
 * trap fill, e.g. jb_free's, which the cache path runs with no lock). */
void fault_on_trap_fill(void (*hook)(void *), void *ctx);
/* The same for the library's next ftruncate (dualmap backing more of the
 * region for a jb_alloc, with the arena lock held). */
void fault_on_ftruncate(void (*hook)(void *), void *ctx);

#endif
