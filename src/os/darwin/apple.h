/* The one place where the Darwin backend meets Apple's JIT API.
 *
 * A real build includes Apple's headers. A test build (-DJB_DARWIN_MODEL=1,
 * tests/darwin/ on the include path) includes instead a model of the same
 * API that runs on Linux and follows Apple's open source (see
 * tests/darwin/model.h); the backend's sources are the same either way. */
#ifndef JB_OS_DARWIN_APPLE_H
#define JB_OS_DARWIN_APPLE_H

/* Apple hides the JIT API when _POSIX_C_SOURCE is set without this. */
#ifndef _DARWIN_C_SOURCE
#define _DARWIN_C_SOURCE
#endif

#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

#if defined(JB_DARWIN_MODEL) && JB_DARWIN_MODEL
#include "model.h"
/* The OS the process runs on, as the model says. */
#define JB__DW_OS_11_0 jbm_os_at_least(11, 0)
#define JB__DW_OS_11_4 jbm_os_at_least(11, 4)
#define JB__DW_OS_12_1 jbm_os_at_least(12, 1)
#define JB__DW_HAVE_FREEZE_API 1
#else
#include <Availability.h>
#include <libkern/OSCacheControl.h>
#include <mach-o/dyld.h>
/* From <mach-o/getsect.h>, which not every copy of the SDK carries. */
extern uint8_t *getsectiondata(const struct mach_header_64 *mhp,
                               const char *segname, const char *sectname,
                               unsigned long *size);
/* The OS the process runs on, not the SDK it was built with. Each use is
 * an `if` of its own, so that clang sees the call it guards (a build for
 * an older deployment target than the API is otherwise an error under
 * -Wunguarded-availability-new); where the target is new enough the check
 * folds to 1. */
#define JB__DW_OS_11_0 __builtin_available(macOS 11.0, *)
#define JB__DW_OS_11_4 __builtin_available(macOS 11.4, *)
#define JB__DW_OS_12_1 __builtin_available(macOS 12.1, *)
/* SDKs before 12.1 (the 12.0 SDK included) lack
 * pthread_jit_write_freeze_callbacks_np although 12.0 has the allowlist
 * macro: libpthread-485.40.4's pthread.h declares no freeze call. */
#if defined(__MAC_OS_X_VERSION_MAX_ALLOWED) &&                                 \
    __MAC_OS_X_VERSION_MAX_ALLOWED >= 120100
#define JB__DW_HAVE_FREEZE_API 1
#else
#define JB__DW_HAVE_FREEZE_API 0
#endif
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
