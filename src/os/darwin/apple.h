/* The one place where the Darwin backend meets Apple's JIT API.
 *
 * A real build includes Apple's headers. A test build (-DJB_DARWIN_MODEL=1,
 * tests/darwin/ on the include path) includes instead a model of the same
 * API that runs on Linux and enforces the documented rules (see
 * tests/darwin/model.h); the backend's sources are the same either way. */
#ifndef JB_OS_DARWIN_APPLE_H
#define JB_OS_DARWIN_APPLE_H

/* Apple hides the JIT API when _POSIX_C_SOURCE is set without this. */
#ifndef _DARWIN_C_SOURCE
#define _DARWIN_C_SOURCE
#endif

#include <pthread.h>
#include <sys/mman.h>

#if defined(JB_DARWIN_MODEL) && JB_DARWIN_MODEL
#include "model.h"
static inline int jb__dw_at_least_11_4(void) { return jbm_os_at_least(11, 4); }
static inline int jb__dw_at_least_12_1(void) { return jbm_os_at_least(12, 1); }
static inline int jb__dw_listed(int (*cb)(void *)) { return jbm_listed(cb); }
#else
#include <libkern/OSCacheControl.h>
#include <mach-o/dyld.h>
#include <stdint.h>
/* From <mach-o/getsect.h>, which not every copy of the SDK carries. */
extern uint8_t *getsectiondata(const struct mach_header_64 *mhp,
                               const char *segname, const char *sectname,
                               unsigned long *size);
/* 1 if a loaded image's allowlist (the NULL-terminated array that
 * PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP puts in __DATA_CONST,__pth_jit_func)
 * holds cb: the list the OS checks under the jit-write-allowlist
 * entitlement. */
static inline int jb__dw_listed(int (*cb)(void *))
{
    for (uint32_t i = 0, n = _dyld_image_count(); i < n; i++) {
        unsigned long size = 0;
        const struct mach_header_64 *h =
            (const struct mach_header_64 *)(const void *)
                _dyld_get_image_header(i);
        const uint8_t *p =
            h ? getsectiondata(h, "__DATA_CONST", "__pth_jit_func", &size)
              : NULL;
        int (*const *list)(void *) = (int (*const *)(void *))(const void *)p;
        for (unsigned long k = 0; p && k < size / sizeof *list; k++)
            if (list[k] == cb)
                return 1;
    }
    return 0;
}
/* The OS the process runs on, not the SDK it was built with. */
static inline int jb__dw_at_least_11_4(void)
{
    if (__builtin_available(macOS 11.4, *))
        return 1;
    return 0;
}
static inline int jb__dw_at_least_12_1(void)
{
    if (__builtin_available(macOS 12.1, *))
        return 1;
    return 0;
}
#endif

/* SDKs before macOS 12 declare neither pthread_jit_write_with_callback_np nor
 * the allowlist macro: apple-callback is then compiled out, and auto uses
 * apple-toggle. The macro and the function arrived together. */
#ifdef PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP
#define JB__DW_HAVE_CALLBACK_API 1
#else
#define JB__DW_HAVE_CALLBACK_API 0
#endif

#endif
