/* A MODEL of Apple's JIT API, for running src/os/darwin/ on Linux in tests.
 *
 * It is not macOS and not Apple hardware: it implements what Apple's open
 * source does (libpthread-539, xnu-11417.101.15, dyld-1378, each rule
 * citing its file and line in model.c and model_dyld.c) with Linux
 * mappings, so that results quoted from it say "under the model".
 * src/os/darwin/apple.h includes this file instead of Apple's headers when
 * built with -DJB_DARWIN_MODEL=1.
 *
 * Where libpthread crashes the process (OS_BUG_CLIENT, a brk on arm64),
 * the model prints libpthread's message to stderr and traps: SIGTRAP, as
 * on macOS. jitbuf's own forged-request trap (__builtin_trap) is SIGILL
 * here (ud2 on x86_64), so a test tells the two apart by the signal. */
#ifndef JB_DARWIN_MODEL_H
#define JB_DARWIN_MODEL_H

#include <stddef.h>
#include <stdint.h>
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

typedef int (*pthread_jit_write_callback_t)(void *ctx);

/* An image dyld has loaded (the model builds its header and load commands
 * in memory, as dyld maps them). */
typedef struct {
    const char *id;                 /* LC_ID_DYLIB, or NULL (executable) */
    const char *const *deps;        /* LC_LOAD_DYLIB names, NULL-ended */
    const pthread_jit_write_callback_t *list; /* __pth_jit_func entries */
    size_t n;                       /* ... how many (NULLs included) */
    size_t odd_bytes;               /* added to the size (not a multiple of 8) */
    int no_section;                 /* no __pth_jit_func at all */
    int in_cache;                   /* MH_DYLIB_IN_CACHE: in the shared cache */
    const uint32_t *dep_cmds;       /* each dep's load command (NULL or 0:
                                       LC_LOAD_DYLIB) */
    const char *path;               /* dyld's name for it, NULL: the id */
} jbm_image;

/* The process and its code signature, chosen per test. */
typedef struct {
    int os_major, os_minor; /* macOS version */
    int apple_silicon;      /* 0: Intel (no per-thread write protection) */
    int hardened;           /* hardened runtime */
    int allow_jit;          /* com.apple.security.cs.allow-jit */
    int allowlist;          /* com.apple.security.cs.jit-write-allowlist */
    int freeze_late;        /* ...-jit-write-allowlist-freeze-late */
    int single_jit;         /* com.apple.security.cs.single-jit */
    /* The main executable (image 0). Its code signature: the one in this
     * Mach-O file (a real file Zig signed), NULL for the file of
     * JBM_SIGNED_DIR that matches the entitlements above, "" for none. */
    const char *signature;
    /* Its __pth_jit_func: NULL for the test binary's own section (what
     * PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP put there); else main_n entries. */
    const pthread_jit_write_callback_t *main_list;
    size_t main_n;
    const char *const *main_deps;   /* its LC_LOAD_DYLIBs */
    const uint32_t *main_dep_cmds;  /* as jbm_image.dep_cmds */
    const char *main_path;          /* dyld's name for it (NULL: a phrase) */
    const jbm_image *launch;        /* other images present at launch */
    size_t nlaunch;
} jbm_config;

/* Start a new process: signature, images at launch, then libSystem's
 * initialisation (libpthread snapshots the allowlists). Defaults: macOS
 * 13.0, Apple silicon, hardened runtime with allow-jit. */
void jbm_configure(const jbm_config *c);
const jbm_config *jbm_current(void);
int jbm_os_at_least(int major, int minor);
/* dlopen() of an image after launch. */
void jbm_dlopen(const jbm_image *im);

/* Observations for tests. */
typedef struct {
    unsigned long icache_calls;       /* sys_icache_invalidate */
    void *icache_last;                /* ... its last range */
    size_t icache_last_len;
    unsigned long callbacks;          /* pthread_jit_write_with_callback_np */
    unsigned long toggles;            /* pthread_jit_write_protect_np */
    unsigned long jit_mprotects;      /* mprotect on MAP_JIT pages */
    unsigned long freezes;
    unsigned long reusable, reuse;    /* madvise(MADV_FREE_REUSABLE / _REUSE) */
    size_t reusable_off, reusable_len;/* ... the last REUSABLE range */
    size_t reuse_off, reuse_len;      /* ... the last REUSE range */
    void *jit_base;                   /* the first MAP_JIT region */
    size_t jit_size;
    unsigned long jit_maps;           /* MAP_JIT regions mapped */
    size_t allowlist_count;           /* libpthread's process-wide list */
} jbm_stats;
jbm_stats jbm_stats_now(void);
/* 1 if the calling thread sees the MAP_JIT region as writable. */
int jbm_thread_writable(void);
/* 1 if cb is in libpthread's process-wide list now. */
int jbm_allowed(pthread_jit_write_callback_t cb);

/* A test's hook around each callback that pthread_jit_write_with_callback_np
 * calls: hook(cb, ctx) runs instead of cb(ctx), inside the window, and
 * returns what cb returns (NULL: none). For forging requests in flight. */
typedef int (*jbm_callback_hook)(pthread_jit_write_callback_t cb, void *ctx);
void jbm_set_callback_hook(jbm_callback_hook hook);

/* The API under test, as in Apple's pthread.h and OSCacheControl.h. */
void pthread_jit_write_protect_np(int enabled);
int pthread_jit_write_protect_supported_np(void);
int pthread_jit_write_with_callback_np(pthread_jit_write_callback_t callback,
                                       void *ctx);
void pthread_jit_write_freeze_callbacks_np(void);
void sys_icache_invalidate(void *start, size_t len);

/* The allowlist: an array in a section the model reads as image 0's
 * __DATA_CONST,__pth_jit_func, as Apple's macro makes one. */
#define PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP(...)                              \
    __attribute__((used, section("jbm_pth_jit_func"))) static const           \
        pthread_jit_write_callback_t jbm_allowlist_[] = {__VA_ARGS__, NULL}

/* dyld's public calls (mach-o/dyld.h, mach-o/getsect.h) over the model's
 * images; image 0 is the main executable. */
struct mach_header_64;
uint32_t _dyld_image_count(void);
const struct mach_header_64 *jbm_dyld_get_image_header(uint32_t i);
#define _dyld_get_image_header(i) ((const void *)jbm_dyld_get_image_header(i))
const char *_dyld_get_image_name(uint32_t i);
uint8_t *getsectiondata(const struct mach_header_64 *mh, const char *segname,
                        const char *sectname, unsigned long *size);

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

/* Internal to the model's two files. */
void jbm__images_reset(const jbm_config *c);
int jbm__frozen(void);
int jbm__allowlist_enabled(void); /* P:1231-1271 config->allowlist_enabled */
void jbm__freeze(void);
void jbm__trap(const char *message);
void jbm__set_allowlist_count(size_t n);

#endif
