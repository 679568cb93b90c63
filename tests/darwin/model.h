/* A MODEL of Apple's JIT API, for running src/os/darwin/ on Linux in tests.
 *
 * It is not macOS and not Apple hardware: it implements the documented
 * rules (DESIGN.md, "Apple facts the Darwin backend must honour", quoted as
 * [A1]..[A9] in model.c) with Linux mappings, so that results quoted from it
 * say "under the model". src/os/darwin/apple.h includes this file instead of
 * Apple's headers when built with -DJB_DARWIN_MODEL=1.
 *
 * Where the real system would kill the process, the model prints the rule
 * to stderr and raises SIGKILL. */
#ifndef JB_DARWIN_MODEL_H
#define JB_DARWIN_MODEL_H

#include <stddef.h>
#include <sys/mman.h>
#include <sys/types.h>

/* Apple's value; on Linux 0x0800 is MAP_DENYWRITE, which the model strips. */
#undef MAP_JIT
#define MAP_JIT 0x0800
#ifndef MAP_ANON
#define MAP_ANON MAP_ANONYMOUS
#endif
/* Apple's values (sys/mman.h); Linux has neither advice. */
#define MADV_FREE_REUSABLE 7
#define MADV_FREE_REUSE 8

/* The process and its code signature, chosen per test. */
typedef struct {
    int os_major, os_minor; /* macOS version */
    int apple_silicon;      /* 0: Intel (no per-thread write protection) */
    int hardened;           /* hardened runtime */
    int allow_jit;          /* com.apple.security.cs.allow-jit */
    int allowlist;          /* com.apple.security.cs.jit-write-allowlist */
    int freeze_late;        /* ...-jit-write-allowlist-freeze-late */
} jbm_config;

/* Defaults: macOS 13.0, Apple silicon, hardened runtime with allow-jit. */
void jbm_configure(const jbm_config *c);
const jbm_config *jbm_current(void);
int jbm_os_at_least(int major, int minor);

/* Observations for tests. */
typedef struct {
    unsigned long icache_calls;       /* sys_icache_invalidate */
    void *icache_last;                /* ... its last range */
    size_t icache_last_len;
    unsigned long callbacks;          /* pthread_jit_write_with_callback_np */
    unsigned long toggles;            /* pthread_jit_write_protect_np */
    unsigned long jit_mprotects;      /* mprotect on MAP_JIT pages (refused) */
    unsigned long freezes;
    unsigned long reusable, reuse;    /* madvise(MADV_FREE_REUSABLE / _REUSE) */
    size_t reusable_off, reusable_len;/* ... the last REUSABLE range */
    size_t reuse_off, reuse_len;      /* ... the last REUSE range */
    void *jit_base;                   /* the one MAP_JIT region */
    size_t jit_size;
} jbm_stats;
jbm_stats jbm_stats_now(void);
/* 1 if the calling thread sees the MAP_JIT region as writable. */
int jbm_thread_writable(void);

/* The API under test, as in Apple's pthread.h and OSCacheControl.h. */
void pthread_jit_write_protect_np(int enabled);
int pthread_jit_write_protect_supported_np(void);
typedef int (*pthread_jit_write_callback_t)(void *ctx);
int pthread_jit_write_with_callback_np(pthread_jit_write_callback_t callback,
                                       void *ctx);
void pthread_jit_write_freeze_callbacks_np(void);
void sys_icache_invalidate(void *start, size_t len);

/* The allowlist: an array in a section the model reads, as Apple's macro
 * puts one in __DATA_CONST,__pth_jit_func. */
#define PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP(...)                              \
    __attribute__((used, section("jbm_pth_jit_func"))) static const           \
        pthread_jit_write_callback_t jbm_allowlist_[] = {__VA_ARGS__, NULL}

/* dyld's view of the allowlists (the model has one image): 1 if cb is
 * listed. By default the list is the test executable's section; a test may
 * model an executable whose one invocation lists other callbacks (a
 * NULL-terminated array; NULL restores the section). jbm_configure resets
 * it. */
int jbm_listed(pthread_jit_write_callback_t cb);
void jbm_set_allowlist(const pthread_jit_write_callback_t *list);

/* The memory calls of the code under test go through the model. */
void *jbm_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int jbm_munmap(void *addr, size_t len);
int jbm_mprotect(void *addr, size_t len, int prot);
int jbm_madvise(void *addr, size_t len, int advice);
#ifndef JBM_IMPLEMENTATION
#define mmap jbm_mmap
#define munmap jbm_munmap
#define mprotect jbm_mprotect
#define madvise jbm_madvise
#endif

#endif
