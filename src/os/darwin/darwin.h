/* Helpers shared by the Darwin strategies (apple-callback, apple-toggle). */
#ifndef JB_OS_DARWIN_H
#define JB_OS_DARWIN_H

#include <stddef.h>
#include <stdint.h>

#include "../os.h"
#include "decide.h"

extern const jb__strategy jb__dw_callback; /* only with JB__DW_HAVE_CALLBACK_API */
extern const jb__strategy jb__dw_toggle;

/* ---- rules.c: what the code signature says (decide.h) -------------- */
/* The process's signature, read once (any thread). */
const jb__dw_sig *jb__dw_signature(void);
/* The macOS the process runs on, and what this libjitbuf was built with. */
jb__dw_os jb__dw_os_now(void);

/* Decide the rules for an open with flags (fn names the call); JB_EINVAL
 * with a sentence if a flag contradicts the signature. */
int jb__dw_rules_for(unsigned flags, jb__dw_rules *out, const char *fn);
/* 1 if the OS kills pthread_jit_write_protect_np in this process (the
 * allowlist, on macOS 11.4 and later). */
int jb__dw_process_allowlisted(void);

/* ---- listing.c: jitbuf's callbacks in the lists the OS reads ---------- */
/* 0 if copy, patch and fill are each in an allowlist that libpthread
 * reads, given the rules; else JB_EPERM and a sentence with the fix. */
int jb__dw_check_listed(const jb__dw_rules *r);
/* The loaded images as dyld lists them, for jb__dw_listed (decide.h);
 * jitbuf's callbacks are told by address. Under the registry lock. */
void jb__dw_process_images(jb__dw_images *im);

/* ---- map.c: the MAP_JIT regions ------------------------------------- */
/* Reserve a MAP_JIT region (or take the adopted one) and apply the rules
 * (m->flags then carries the effective JB_OPEN_APPLE_* bits); nothing is
 * committed yet. A refusal names the entitlement, the plist and the
 * one-region rule. */
int jb__dw_map(jb__map *m, const char *strategy, const jb__dw_rules *r);
/* Then trap-fill the first committed step through the strategy's own
 * write path (not before the freeze under freeze-late); on failure the
 * caller unmaps. */
int jb__dw_fill_first(jb__map *m);
/* JB_OPEN_* flags (effective) of the process-wide region (0 if none). */
extern unsigned jb__dw_open_flags;
int jb__dw_unmap(jb__map *m);
/* grow for both strategies: a FILL of [m->committed, to), after taking
 * back pages that a trim gave away. */
int jb__dw_grow(jb__map *m, size_t to);
/* trim for both strategies: madvise(MADV_FREE_REUSABLE), never mprotect. */
int jb__dw_trim(jb__map *m, size_t to);
/* Inside a window the region is writable at its executable address. */
void *jb__dw_alias(jb__map *m, size_t off);
/* jb_freeze for both strategies (freeze-late rules, checked here). */
int jb__dw_freeze(jb__map *m);
/* 1 once the callbacks are frozen (by jb_freeze or, as the host said, by
 * the host): writes under freeze-late may go ahead. */
int jb__dw_frozen(void);
/* _dyld_image_count() at the freeze: the images the OS's list holds. */
extern uint32_t jb__dw_frozen_images;
/* Freeze-late was signed (or asked for) by the process's region. */
extern int jb__dw_late_signed;

/* ---- callback.c ------------------------------------------------------ */
/* The guard page: the write callbacks' key and registered regions,
 * read-only except while a region is mapped or unmapped. */
extern union jb__dw_guard_page jb__dw_guard;
/* The tag apple-callback gives a request (eight words) on the calling
 * thread: what an attacker who can read the guard page could compute
 * (the model tests use it to play one; whoever can call it can call
 * jb_write). */
uint64_t jb__dw_tag(const void *request);

/* ---- toggle.c: the calling thread's write state ---------------------- */
/* pthread_jit_write_with_callback_np always leaves the thread executable
 * (libpthread-539 src/pthread.c:1443): if the host made this thread
 * writable with jb_apple_write_protect(0), make it writable again. */
void jb__dw_restore_host_state(void);

#endif
