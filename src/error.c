/* Error codes, their names and texts, and the per-thread sentence. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static _Thread_local char last_error[JB__SENTENCE_MAX];

const char *jb_strerror(int err)
{
    switch (err) {
#define XX(name, code, text) case code: return text;
        JB_ERRNO_MAP(XX)
#undef XX
    }
    return "unknown error";
}

const char *jb_err_name(int err)
{
    switch (err) {
#define XX(name, code, text) case code: return "JB_" #name;
        JB_ERRNO_MAP(XX)
#undef XX
    }
    return "JB_UNKNOWN";
}

const char *jb_last_error(void)
{
    return last_error;
}

int jb__fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

int jb__within_slow(const char *fn, int rc)
{
    size_t n = strlen(fn);
    if ((!strncmp(last_error, fn, n) && last_error[n] == ':'))
        return rc;
    size_t len = strlen(last_error), room = sizeof last_error - 1;
    if (n + 2 + len > room) /* keep the start of the old sentence */
        len = room > n + 2 ? room - n - 2 : 0;
    memmove(last_error + n + 2, last_error, len);
    memcpy(last_error, fn, n);
    memcpy(last_error + n, ": ", 2);
    last_error[n + 2 + len] = 0;
    return rc;
}

int jb__fail_item(const char *fn, size_t i, int rc)
{
    char why[JB__SENTENCE_MAX];
    size_t n = strlen(fn);
    const char *e = last_error;
    if (!strncmp(e, fn, n) && e[n] == ':' && e[n + 1] == ' ')
        e += n + 2;
    snprintf(why, sizeof why, "%s", e);
    return jb__fail(rc, "%s: item %zu: %s", fn, i, why);
}

int jb__fail_null(const char *fn, const char *arg)
{
    return jb__fail(JB_EINVAL, "%s: argument '%s' is NULL; pass %s", fn, arg,
                    arg[0] == 'r' && !arg[1] ? "a handle from jb_region_open"
                                             : "a valid pointer");
}

const char *jb__errno_name(int e)
{
    static _Thread_local char buf[96];
    const char *name;
    switch (e) {
    case EPERM: name = "EPERM"; break;
    case EACCES: name = "EACCES"; break;
    case EINVAL: name = "EINVAL"; break;
    case ENOMEM: name = "ENOMEM"; break;
    case ENOSYS: name = "ENOSYS"; break;
    case ENOSPC: name = "ENOSPC"; break;
    case EMFILE: name = "EMFILE"; break;
    case ENFILE: name = "ENFILE"; break;
    case EFBIG: name = "EFBIG"; break;
    case ENODEV: name = "ENODEV"; break;
    case EAGAIN: name = "EAGAIN"; break;
    case EINTR: name = "EINTR"; break;
    case EIO: name = "EIO"; break;
    case EBADF: name = "EBADF"; break;
    case EEXIST: name = "EEXIST"; break;
    case ETXTBSY: name = "ETXTBSY"; break;
    default: name = "errno"; break;
    }
    snprintf(buf, sizeof buf, "%s %d (%s)", name, e, strerror(e));
    return buf;
}
