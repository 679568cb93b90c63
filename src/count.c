/* jb_info.windows: write windows counted per thread.
 *
 * A count that every write adds to is an atomic read-modify-write on one
 * cache line that every writing thread shares: a locked instruction per
 * call, about as dear as the rest of a small jb_write. So each thread
 * keeps a tally, one counter per arena, that only it writes (a relaxed
 * load and store). jb_region_info adds up the tallies and what exited
 * threads left behind, so the figure stays exact.
 *
 * Tallies sit on one list under tally_lock and are never freed: a thread
 * that exits (jb__os_at_thread_exit) folds its counts into `retired` and
 * leaves its tally to the next new thread. An arena takes an index when
 * it is made (the first of JB__TALLIED free ones; past that it counts in
 * jb__arena.windows with an atomic add, as does a thread whose exit the
 * system cannot report), and every tally's counter for a new index
 * starts at zero. tally_lock is last in the library's lock order
 * (internal.h); region.c's fork handlers take it. */
#include <stdlib.h>

#include "internal.h"

JB__TLS_IE _Thread_local jb__tally *jb__my_tally;

static jb__lock tally_lock;
static jb__tally *tallies;
static uint64_t retired[JB__TALLIED]; /* counts of threads that exited */
static uint64_t in_use;               /* bit k: index k belongs to an arena */

static void fold(jb__tally *t)
{
    for (int k = 0; k < JB__TALLIED; k++) {
        retired[k] += __atomic_load_n(&t->n[k], __ATOMIC_RELAXED);
        __atomic_store_n(&t->n[k], 0, __ATOMIC_RELAXED);
    }
    t->live = 0;
}

static void thread_exit(void *arg)
{
    jb__lock_acquire(&tally_lock);
    fold(arg);
    jb__lock_release(&tally_lock);
    jb__my_tally = NULL;
}

/* The calling thread's tally, made or reused on its first count; NULL if
 * there is no memory for one or the system cannot say when the thread
 * exits (then its counts go to the arena's shared counter). */
static jb__tally *my_tally(void)
{
    jb__lock_acquire(&tally_lock);
    jb__tally *t = tallies;
    while (t && t->live)
        t = t->next;
    if (!t && (t = calloc(1, sizeof *t)) != NULL) {
        t->next = tallies;
        tallies = t;
    }
    if (t)
        t->live = 1;
    jb__lock_release(&tally_lock);
    if (t && jb__os_at_thread_exit(thread_exit, t) < 0) {
        jb__lock_acquire(&tally_lock);
        fold(t);
        jb__lock_release(&tally_lock);
        t = NULL;
    }
    return jb__my_tally = t;
}

void jb__count_window_slow(jb__arena *a)
{
    jb__tally *t = a->tally >= 0 && !jb__my_tally ? my_tally() : NULL;
    if (t)
        __atomic_store_n(&t->n[a->tally], t->n[a->tally] + 1,
                         __ATOMIC_RELAXED);
    else
        atomic_fetch_add_explicit(&a->windows, 1, memory_order_relaxed);
}

void jb__tally_open(jb__arena *a)
{
    jb__lock_acquire(&tally_lock);
    a->tally = -1;
    for (int k = 0; k < JB__TALLIED; k++) {
        if (in_use >> k & 1)
            continue;
        in_use |= (uint64_t)1 << k;
        retired[k] = 0;
        for (jb__tally *t = tallies; t; t = t->next)
            __atomic_store_n(&t->n[k], 0, __ATOMIC_RELAXED);
        a->tally = k;
        break;
    }
    jb__lock_release(&tally_lock);
}

void jb__tally_close(jb__arena *a)
{
    if (a->tally < 0)
        return;
    jb__lock_acquire(&tally_lock);
    in_use &= ~((uint64_t)1 << a->tally);
    jb__lock_release(&tally_lock);
}

uint64_t jb__tally_sum(jb__arena *a)
{
    uint64_t sum = atomic_load_explicit(&a->windows, memory_order_relaxed);
    if (a->tally < 0)
        return sum;
    jb__lock_acquire(&tally_lock);
    sum += retired[a->tally];
    for (jb__tally *t = tallies; t; t = t->next)
        sum += __atomic_load_n(&t->n[a->tally], __ATOMIC_RELAXED);
    jb__lock_release(&tally_lock);
    return sum;
}

void jb__tally_fork_prepare(void)
{
    jb__lock_acquire(&tally_lock);
}

void jb__tally_fork_parent(void)
{
    jb__lock_release(&tally_lock);
}

/* The child runs only the thread that forked: the others' tallies keep
 * their counts (in retired) and are free for the child's new threads. */
void jb__tally_fork_child(void)
{
    for (jb__tally *t = tallies; t; t = t->next)
        if (t->live && t != jb__my_tally)
            fold(t);
    jb__lock_release(&tally_lock);
}
