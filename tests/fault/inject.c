/* The wrappers (see inject.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "inject.h"

const char *const fault_call_name[FC_N] = {
#define X(id, name) #name,
    FAULT_CALLS(X)
#undef X
};

static atomic_long count;
static long planned;
static int planned_err;
static atomic_int fired;
static unsigned char kinds[FAULT_LOG + 1];
static int args[FAULT_LOG + 1];
static uintptr_t addrs[FAULT_LOG + 1];
static size_t lens[FAULT_LOG + 1];

void fault_plan(long nth, int err)
{
    atomic_store(&count, 0);
    atomic_store(&fired, 0);
    planned = nth;
    planned_err = err;
}

long fault_count(void) { return atomic_load(&count); }
int fault_fired(void) { return atomic_load(&fired); }
fault_call fault_kind(long k) { return (fault_call)kinds[k <= FAULT_LOG ? k : 0]; }
int fault_arg(long k) { return args[k <= FAULT_LOG ? k : 0]; }
void fault_range(long k, uintptr_t *addr, size_t *len)
{
    *addr = addrs[k <= FAULT_LOG ? k : 0];
    *len = lens[k <= FAULT_LOG ? k : 0];
}

/* 1 if this call is the one to fail (errno is then set). */
static int hit(fault_call kind, int arg)
{
    long k = atomic_fetch_add(&count, 1) + 1;
    if (k <= FAULT_LOG) {
        kinds[k] = (unsigned char)kind;
        args[k] = arg;
    }
    if (k != planned)
        return 0;
    atomic_store(&fired, 1);
    errno = planned_err;
    return 1;
}

void *__wrap_mmap(void *a, size_t n, int prot, int flags, int fd, off_t off);
void *__wrap_mmap(void *a, size_t n, int prot, int flags, int fd, off_t off)
{
    return hit(FC_MMAP, 0) ? MAP_FAILED : mmap(a, n, prot, flags, fd, off);
}

int __wrap_munmap(void *a, size_t n);
int __wrap_munmap(void *a, size_t n)
{
    return hit(FC_MUNMAP, 0) ? -1 : munmap(a, n);
}

int __wrap_mprotect(void *a, size_t n, int prot);
int __wrap_mprotect(void *a, size_t n, int prot)
{
    long k = atomic_load(&count) + 1; /* the number hit() gives it */
    if (k <= FAULT_LOG)
        addrs[k] = (uintptr_t)a, lens[k] = n;
    return hit(FC_MPROTECT, prot) ? -1 : mprotect(a, n, prot);
}

int __wrap_madvise(void *a, size_t n, int advice);
int __wrap_madvise(void *a, size_t n, int advice)
{
    return hit(FC_MADVISE, advice) ? -1 : madvise(a, n, advice);
}

int __wrap_memfd_create(const char *name, unsigned flags);
int __wrap_memfd_create(const char *name, unsigned flags)
{
    return hit(FC_MEMFD, (int)flags) ? -1 : memfd_create(name, flags);
}

static void (*ft_hook)(void *);
static void *ft_ctx;
void fault_on_ftruncate(void (*hook)(void *), void *ctx)
{
    ft_ctx = ctx;
    ft_hook = hook;
}

int __wrap_ftruncate(int fd, off_t n);
int __wrap_ftruncate(int fd, off_t n)
{
    void (*hook)(void *) = ft_hook;
    ft_hook = NULL;
    if (hook)
        hook(ft_ctx);
    return hit(FC_FTRUNCATE, 0) ? -1 : ftruncate(fd, n);
}

ssize_t __wrap_pwrite(int fd, const void *b, size_t n, off_t off);
ssize_t __wrap_pwrite(int fd, const void *b, size_t n, off_t off)
{
    return hit(FC_PWRITE, 0) ? -1 : pwrite(fd, b, n, off);
}

/* Linux releases the descriptor even when close fails. */
int __wrap_close(int fd);
int __wrap_close(int fd)
{
    if (!hit(FC_CLOSE, 0))
        return close(fd);
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

void *__wrap_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size)
{
    return hit(FC_CALLOC, 0) ? NULL : calloc(n, size);
}

static void (*aa_hook)(void *);
static void *aa_ctx;
void fault_on_aligned_alloc(void (*hook)(void *), void *ctx)
{
    aa_ctx = ctx;
    aa_hook = hook;
}

void *__wrap_aligned_alloc(size_t align, size_t size);
void *__wrap_aligned_alloc(size_t align, size_t size)
{
    void (*hook)(void *) = aa_hook;
    aa_hook = NULL;
    if (hook)
        hook(aa_ctx);
    return aligned_alloc(align, size);
}

static void (*fill_hook)(void *);
static void *fill_ctx;
void fault_on_trap_fill(void (*hook)(void *), void *ctx)
{
    fill_ctx = ctx;
    fill_hook = hook;
}

void *__wrap_memset(void *d, int c, size_t n);
void *__wrap_memset(void *d, int c, size_t n)
{
    void (*hook)(void *) = c == 0xcc ? fill_hook : NULL;
    if (hook) {
        fill_hook = NULL;
        hook(fill_ctx);
    }
    return memset(d, c, n);
}

/* jitbuf calls syscall() only for membarrier. */
long __wrap_syscall(long nr, ...);
long __wrap_syscall(long nr, ...)
{
    va_list ap;
    va_start(ap, nr);
    long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
    va_end(ap);
    if (nr == SYS_membarrier && hit(FC_MEMBARRIER, (int)a))
        return -1;
    return syscall(nr, a, b, c);
}
