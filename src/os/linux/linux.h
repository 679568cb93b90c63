/* Helpers shared by the Linux strategies. */
#ifndef JB_OS_LINUX_H
#define JB_OS_LINUX_H

#include <stddef.h>

#include "../os.h"

extern const jb__strategy jb__lx_dualmap;
extern const jb__strategy jb__lx_mprotect;
extern const jb__strategy jb__lx_rwx;

/* Window-less strategies: the callback runs as it is. */
int jb__lx_run_direct(jb__map *m, size_t off, size_t len, int (*fn)(void *),
                      void *ctx, int *fn_result);

/* trim for private anonymous mappings: drop the pages of
 * [to, m->committed) (madvise MADV_DONTNEED; they read as zero after). */
int jb__lx_discard(jb__map *m, size_t to);

/* The sentence for a refused executable mapping or protection change
 * (errno e from call), naming the likely policy and the fix. */
int jb__lx_exec_refused(const char *strategy, const char *call, int e);

/* The sentence for a failed mmap (call) of n bytes with errno e: a policy
 * refusal (EPERM, EACCES), exhausted address space (ENOMEM), or other. */
int jb__lx_map_failed(const char *strategy, const char *call, size_t n, int e);

/* unmap's sentence for a failed release call (munmap, close), which also
 * marks the map broken so that nothing writes through a half-released
 * region; JB_EOS. */
int jb__lx_release_failed(jb__map *m, const char *call, int e);

#endif
