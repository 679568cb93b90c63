/* Internal error helpers shared by every layer. */
#ifndef JB_ERROR_H
#define JB_ERROR_H

#include "jitbuf.h"

/* The room for one sentence (jb_last_error(), jb_info.why): enough for
 * auto's full story, every strategy it tried and each one's sentence. */
#define JB__SENTENCE_MAX 4096

/* Record a sentence for jb_last_error() on this thread and return code.
 * The sentence says what failed and what to do. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int jb__fail(int code, const char *fmt, ...);

/* Put "fn: " before the sentence a lower layer left for code rc (unless it
 * already starts so), so that every sentence names the public call; rc. */
int jb__within_slow(const char *fn, int rc);
static inline int jb__within(const char *fn, int rc)
{
    return rc >= 0 ? rc : jb__within_slow(fn, rc);
}

/* Turn the sentence "fn: why" (or "why") of a failed item i of batch call
 * fn into "fn: item i: why"; rc. The batch calls name the first bad item
 * this way. */
int jb__fail_item(const char *fn, size_t i, int rc);

/* JB_EINVAL for a NULL pointer argument arg of function fn. */
int jb__fail_null(const char *fn, const char *arg);

/* Name and text of an OS errno, for sentences ("EPERM (Operation not
 * permitted)"). Never NULL. */
const char *jb__errno_name(int e);

#endif
