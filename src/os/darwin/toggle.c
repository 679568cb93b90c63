/* apple-toggle: pthread_jit_write_protect_np(0) ... (1) around each write
 * (and around each jb_write_batch: one pair for all its copies), macOS
 * 11.0 and later, for systems older than 11.4 or when asked for.
 *
 * W^X: yes on Apple silicon; the toggle is per thread, so other threads
 * keep running code while one writes. Never used where the executable is
 * signed with com.apple.security.cs.jit-write-allowlist: libpthread kills a
 * process that calls pthread_jit_write_protect_np then (libpthread-539
 * src/pthread.c:1384-1391), so such a region refuses this strategy. On an
 * Intel Mac the call does nothing (1371-1373) and the region is RWX.
 *
 * The OS keeps no readable state and another JIT may share the thread, so
 * each thread has a shadow of its state and a nesting depth; a window
 * restores the state it found on entry. Hosts that toggle the thread
 * themselves call jb_apple_write_protect() so that the shadow stays true
 * (apple-callback reads it too: see callback.c). */
#include "apple.h"
#include "../../error.h"
#include "darwin.h"

static _Thread_local struct {
    unsigned depth;
    unsigned char writable; /* shadow: 0 = executable, a new thread's state */
    unsigned char entry;    /* the state found by the outermost window */
} tl;

static void protect(int enabled)
{
    if (JB__DW_OS_11_0)
        pthread_jit_write_protect_np(enabled);
}

static void enter(void)
{
    if (tl.depth++ == 0) {
        tl.entry = tl.writable;
        if (!tl.writable) {
            protect(0);
            tl.writable = 1;
        }
    }
}

static void leave(void)
{
    if (--tl.depth == 0 && !tl.entry) {
        protect(1);
        tl.writable = 0;
    }
}

void jb__dw_restore_host_state(void)
{
    if (tl.writable)
        protect(0);
}

int jb__os_write_protect(int enabled)
{
    if (jb__dw_process_allowlisted())
        return jb__fail(JB_EPERM, "jb_apple_write_protect: the executable is "
                                  "signed with com.apple.security.cs.jit-"
                                  "write-allowlist (or a region was opened "
                                  "with JB_OPEN_APPLE_ALLOWLIST), and then "
                                  "pthread_jit_write_protect_np kills the "
                                  "process; write through jb_write_with");
    if (tl.depth) /* the door refused jb_write_with callbacks already */
        return jb__fail(JB_ESTATE, "jb_apple_write_protect: called inside a "
                                   "jitbuf write window; toggle before or "
                                   "after it");
    protect(enabled ? 1 : 0);
    tl.writable = !enabled;
    return 0;
}

static int tg_write(jb__map *m, const jb__wop *op)
{
    enter();
    jb__wop_apply(op, m->exec + op->off);
    leave();
    return 0;
}

/* jb_write_batch: every copy inside one toggle pair. */
static int tg_writev(jb__map *m, const jb__wop *ops, size_t n)
{
    enter();
    for (size_t i = 0; i < n; i++)
        jb__wop_apply(&ops[i], m->exec + ops[i].off);
    leave();
    return 0;
}

static int tg_run(jb__map *m, size_t off, size_t len, int (*fn)(void *),
                  void *ctx, int *fn_result)
{
    (void)m;
    (void)off;
    (void)len;
    enter();
    *fn_result = fn(ctx);
    leave();
    return 0;
}

static int tg_map(jb__map *m)
{
    jb__dw_rules r;
    jb__dw_os os = jb__dw_os_now();
    int rc = jb__dw_rules_for(m->flags, &r, "apple-toggle");
    if (rc == 0)
        rc = jb__dw_strategy_ok(JB_WX_APPLE_TOGGLE, &r, &os);
    if (rc < 0)
        return rc;
    jb__dw_late_signed = r.late_signed;
    if ((rc = jb__dw_map(m, "apple-toggle", &r)) == 0 &&
        (rc = jb__dw_fill_first(m)) < 0)
        jb__dw_unmap(m);
    return rc;
}

const jb__strategy jb__dw_toggle = {
    .wx = JB_WX_APPLE_TOGGLE,
    .wx_exclusive = 1,
    .serial = 0,
    .map = tg_map,
    .unmap = jb__dw_unmap,
    .grow = jb__dw_grow,
    .trim = jb__dw_trim,
    .write = tg_write,
    .writev = tg_writev,
    .run = tg_run,
    .alias = jb__dw_alias,
    .atfork_child = NULL,
    .freeze = jb__dw_freeze,
};
