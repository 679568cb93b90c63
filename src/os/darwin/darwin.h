/* Helpers shared by the Darwin strategies (apple-callback, apple-toggle). */
#ifndef JB_OS_DARWIN_H
#define JB_OS_DARWIN_H

#include <stddef.h>

#include "../os.h"

extern const jb__strategy jb__dw_callback; /* only with JB__DW_HAVE_CALLBACK_API */
extern const jb__strategy jb__dw_toggle;

/* Reserve the process's one MAP_JIT region (or take the adopted one), and
 * trap-fill the first committed step through the strategy's own write
 * path. A refusal names the entitlement, the plist and the one-region rule. */
int jb__dw_map(jb__map *m, const char *strategy);
/* JB_OPEN_* flags of the process's open region (0 when none is open). */
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

#endif
