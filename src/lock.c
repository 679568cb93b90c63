/* The arena and registry lock. Spinning suits the short critical sections;
 * after a while the waiter yields so that a preempted holder can run. */
#include "arch/arch.h"
#include "internal.h"

void jb__lock_acquire(jb__lock *l)
{
    unsigned spins = 0;
    for (;;) {
        if (!atomic_exchange_explicit(&l->v, 1, memory_order_acquire))
            return;
        while (atomic_load_explicit(&l->v, memory_order_relaxed)) {
            if (++spins < 100)
                jb__arch_relax();
            else
                jb__os_yield();
        }
    }
}
