/* The library half of the emitter cursor: label storage and growth, the
 * general label bind, errors and their sentences, the exact path for the
 * last bytes of a buffer, and jb_emit_install. The inline half is
 * include/jitbuf/emit.h; the fixup formats are the arch headers'. This file
 * uses the region only through its public API (jb_alloc, jb_write,
 * jb_free). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "jitbuf/emit.h"

_Static_assert(sizeof(jb__label_slot) == 32, "a label slot is 32 bytes: the index is a shift");
_Static_assert(offsetof(jb__label_slot, at) == 16, "head, orig and fmt are one 16-byte store");

/* The records of the labels with several references (chains), which only
 * the library reads: in the label storage, just before its header slot,
 * and not in the cursor, so that the inline code never copies them to or
 * from the library and a local copy of a cursor (jb_emit_borrow) carries
 * nothing for them through a hot loop. A stack: every live record is
 * below n. */
typedef struct {
    jb__fixup *fix;
    uint32_t n, cap;
} records;

/* The records, header and spare slot of a cursor without label storage
 * (JB__CAP_LABELS 0, so the first jb_label_new grows it; no records; the
 * spare slot is label 0 while the first growth fails): read, never
 * written. */
static struct {
    records r;
    jb__label_slot s[2];
} no_labels = {.s = {[1] = {.head = JB__SINK}}};
_Static_assert(offsetof(__typeof__(no_labels), s) == sizeof(records),
               "the records sit just before the header slot");
#define NO_LABELS (no_labels.s + 1)
#define HAS_STORAGE(e) ((e)->jb__labels && (e)->jb__labels != NO_LABELS)

static records *recs(const jb_emit *e)
{
    return (records *)(void *)((char *)(e->jb__labels - 1) - sizeof(records));
}

static void set_buffer(jb_emit *e, void *buf, size_t cap)
{
    e->start = e->cur = buf;
    e->end = e->jb__limit = (uint8_t *)buf + cap;
    /* no fast path for a buffer below JB_EMIT_SLACK: lim at the start */
    e->jb__lim = (uintptr_t)buf + (cap >= JB_EMIT_SLACK ? cap - JB_EMIT_SLACK + 1 : 0);
    e->err = 0;
    e->jb__nlabels = 0;
    if (HAS_STORAGE(e)) {
        JB__NBOUND(e) = 0;
        recs(e)->n = 0;
    }
    e->jb__reserved = 0;
    if (cap > INT32_MAX)
        jb_emit_fail(e, JB_EINVAL, "the buffer is larger than 2 GiB, the most label "
                                   "offsets can address; give the cursor a smaller buffer");
}

void jb_emit_init(jb_emit *e, void *buf, size_t cap)
{
    memset(e, 0, sizeof *e);
    e->jb__labels = NO_LABELS;
    set_buffer(e, buf, cap);
}

void jb_emit_reset(jb_emit *e)
{
    set_buffer(e, e->start, (size_t)(e->jb__limit - e->start));
}

void jb_emit_reset_buffer(jb_emit *e, void *buf, size_t cap)
{
    set_buffer(e, buf, cap);
}

void jb_emit_free(jb_emit *e)
{
    if (HAS_STORAGE(e)) {
        free(recs(e)->fix);
        free(recs(e));
    }
    e->jb__labels = NO_LABELS;
    e->jb__nlabels = 0;
}

/* Forget the references recorded by an instruction that was not written
 * (kept in its label's slot, or at the top of the record stack: at or past
 * the current end), so that no later bind patches bytes beyond what was
 * emitted. */
static void drop_unwritten_refs(jb_emit *e)
{
    uint32_t size = (uint32_t)(e->cur - e->start);
    /* single references are on unbound labels: stop once all were seen */
    uint32_t unbound = e->jb__nlabels - (uint32_t)JB__NBOUND(e);
    for (uint32_t l = 0; l < e->jb__nlabels && unbound; l++) {
        if (e->jb__labels[l].head == JB__BOUND)
            continue;
        unbound--;
        if (JB__IS_ONE(e->jb__labels[l].head) && e->jb__labels[l].at >= e->cur)
            e->jb__labels[l].head = JB__NONE;
    }
    records *r = recs(e);
    while (r->n && r->fix[r->n - 1].at >= size) {
        int32_t i = (int32_t)--r->n;
        for (uint32_t l = 0; l < e->jb__nlabels; l++)
            if (e->jb__labels[l].head == i)
                e->jb__labels[l].head = r->fix[i].next;
    }
}

/* The first failure only: inside a reservation the emitters go on past it
 * (they check no room there), so a later failure's cur is not where the
 * cursor stopped. */
static void collapse(jb_emit *e, int err)
{
    if (e->err)
        return;
    e->err = err;
    /* every later emit fails its capacity check; end == lim from now on,
     * as the inline jb__lib_in assumes (before a failure end is jb__limit) */
    e->end = e->cur;
    if (e->jb__reserved) /* jb_emit_release then puts cur back at end */
        e->jb__resv_end = NULL;
    e->jb__lim = (uintptr_t)e->cur;
    drop_unwritten_refs(e);
}

int jb_emit_fail(jb_emit *e, int err, const char *what)
{
    if (!e->err)
        jb__fail(err, "emitter at offset %zu: %s", (size_t)(e->cur - e->start), what);
    collapse(e, err);
    return e->err;
}

void jb_emit_tail(jb_emit *e, const void *src, size_t n)
{
    if (e->err)
        return;
    if ((size_t)(e->end - e->cur) < n) {
        jb__fail(JB_EFULL, "emitter at offset %zu: the buffer is full (an instruction of "
                           "%zu bytes, %zu free); give the cursor a larger buffer",
                 (size_t)(e->cur - e->start), n, (size_t)(e->end - e->cur));
        collapse(e, JB_EFULL);
        return;
    }
    memcpy(e->cur, src, n);
    e->cur += n;
}

/* Is record i on label l's chain? */
static int refers(const jb_emit *e, uint32_t l, int32_t i)
{
    for (int32_t k = e->jb__labels[l].head; k >= 0; k = recs(e)->fix[k].next)
        if (k == i)
            return 1;
    return 0;
}

int jb_emit_finish(jb_emit *e, size_t *size)
{
    if (size)
        *size = 0;
    if (e->err)
        return e->err;
    uint32_t unbound = e->jb__nlabels - (uint32_t)JB__NBOUND(e); /* the rest are bound */
    for (uint32_t l = 0; l < e->jb__nlabels && unbound; l++) {
        if (e->jb__labels[l].head == JB__BOUND)
            continue;
        unbound--;
        if (JB__IS_ONE(e->jb__labels[l].head)) {
            jb__fail(JB_ELABEL, "emitter: label %u is referenced by the instruction at "
                                "offset %u but never bound; bind every label you branch "
                                "to (until then that instruction is a trap)",
                     l, (unsigned)(e->jb__labels[l].at - e->start));
            collapse(e, JB_ELABEL);
            return JB_ELABEL;
        }
    }
    /* every live record is below n (records are a stack) */
    const records *rs = recs(e);
    for (uint32_t i = 0; i < rs->n; i++)
        if (rs->fix[i].at != JB__FIX_DEAD) {
            uint32_t l = 0;
            while (l < e->jb__nlabels && !refers(e, l, (int32_t)i))
                l++;
            jb__fail(JB_ELABEL, "emitter: label %u is referenced by the instruction at "
                                "offset %u but never bound; bind every label you branch "
                                "to (until then that instruction is a trap)",
                     l, rs->fix[i].at);
            collapse(e, JB_ELABEL);
            return JB_ELABEL;
        }
    if (size)
        *size = jb_emit_size(e);
    return 0;
}

int jb_emit_install(jb_emit *e, jb_region *r, size_t align, void **exec)
{
    size_t n;
    void *fn = NULL;
    if (!exec)
        return jb__fail_null("jb_emit_install", "exec");
    *exec = NULL;
    if (!e)
        return jb__fail_null("jb_emit_install", "e");
    int rc = jb_emit_finish(e, &n);
    if (rc)
        return rc;
    if (n == 0)
        return jb__fail(JB_EINVAL, "jb_emit_install: the cursor holds no code; emit "
                                   "something first");
    if ((rc = jb_alloc(r, n, align, &fn)) != 0)
        return rc;
    if ((rc = jb_write(r, fn, e->start, n)) != 0) {
        jb_free(r, fn); /* a success leaves jb_write's sentence in place */
        return rc;
    }
    *exec = fn;
    return 0;
}

/* Double an array's capacity; 0 on failure. */
static int grow(void **p, uint32_t *cap, size_t elem)
{
    uint32_t n = *cap ? *cap * 2 : 256;
    void *q = realloc(*p, (size_t)n * elem);
    if (!q)
        return 0;
    *p = q;
    *cap = n;
    return 1;
}

/* Label storage: the records, one header slot (JB__NBOUND, JB__CAP_LABELS)
 * before label 0 and the spare slot after the last (JB__SINK). At most
 * 2^30 labels (32 GiB of slots), so that both fit the header. */
static int grow_labels(jb_emit *e)
{
    uint32_t cap = JB__CAP_LABELS(e);
    if (cap >= 1u << 30)
        return 0;
    uint32_t n = cap ? cap * 2 : 256;
    records *old = HAS_STORAGE(e) ? recs(e) : NULL;
    records *r = realloc(old, sizeof *r + ((size_t)n + 2) * sizeof(jb__label_slot));
    if (!r)
        return 0;
    jb__label_slot *q = (jb__label_slot *)(void *)(r + 1);
    if (!old) {
        *r = (records){NULL, 0, 0};
        q[0].head = 0; /* JB__NBOUND */
    }
    q[0].orig = n; /* JB__CAP_LABELS */
    q[n + 1].head = JB__SINK;
    e->jb__labels = q + 1;
    return 1;
}

/* jb_label_new when the storage is full: grow it and return the next
 * label (its slot in state JB__NONE), or fail the cursor and return the
 * spare slot, whose state sends every use to the library, where the
 * failed cursor ignores it. Either way jb__nlabels is the label + 1. */
jb_label jb_label_new_slow(jb_emit *e)
{
    jb_label l = e->jb__nlabels;
    if (l < JB__CAP_LABELS(e) || (l == JB__CAP_LABELS(e) && grow_labels(e))) {
        e->jb__labels[l].head = JB__NONE;
    } else {
        jb_emit_fail(e, JB_ENOMEM, "out of memory for labels");
        l = JB__CAP_LABELS(e); /* the spare slot */
    }
    e->jb__nlabels = l + 1;
    return l;
}

static int bad_label(jb_emit *e, jb_label l)
{
    if (l < e->jb__nlabels)
        return 0;
    if (!e->err)
        jb_emit_fail(e, JB_ELABEL, "a label that jb_label_new did not return on "
                                   "this cursor (or after jb_emit_reset)");
    return 1;
}

/* Push a record for label l's chain. 0 (and the cursor failed) without
 * memory. */
static int push_record(jb_emit *e, jb_label l, const jb__fixup *f)
{
    records *rs = recs(e); /* l is a label: the cursor has storage */
    if (rs->n == rs->cap && !grow((void **)&rs->fix, &rs->cap, sizeof *rs->fix)) {
        jb_emit_fail(e, JB_ENOMEM, "out of memory for label references");
        return 0;
    }
    jb__fixup *r = &rs->fix[rs->n];
    *r = *f;
    r->next = e->jb__labels[l].head;
    e->jb__labels[l].head = (int32_t)rs->n++;
    return 1;
}

/* A second (or later) reference to an unbound label: its references move
 * to records. */
void jb_label_ref_slow(jb_emit *e, jb_label l, uint32_t at, jb_fixfmt fmt, uint32_t orig)
{
    if (e->err || bad_label(e, l))
        return;
    jb__label_slot *s = &e->jb__labels[l];
    if (JB__IS_ONE(s->head)) {
        jb__fixup first = {(uint32_t)(s->at - e->start), -1, s->fmt, s->orig};
        s->head = JB__NONE;
        if (!push_record(e, l, &first))
            return;
    }
    jb__fixup f = {at, -1, fmt, orig};
    push_record(e, l, &f);
}

/* What each range advice (JB_FIX_HINT of a format) says: the form, its
 * reach, and what to do instead. */
static const struct { const char *form, *reach, *fix; } advice[] = {
    [JB_FIXH_NONE] = {"a reference", "its field", "move the label closer"},
    [JB_FIXH_X64_REL8] = {"a short branch (rel8)", "-128..+127 bytes",
                          "drop JB_X64_SHORT (rel32 reaches +-2 GiB)"},
    [JB_FIXH_X64_REL32] = {"a rel32 reference", "+-2 GiB",
                           "put the address in a register and branch or load through it"},
    [JB_FIXH_A64_B26] = {"b/bl", "+-128 MiB",
                         "branch through a register: mov_imm (or adr/adrp) into x16, then br/blr"},
    [JB_FIXH_A64_BCOND] = {"b.cond", "+-1 MiB",
                           "branch on the inverted condition over a b (+-128 MiB)"},
    [JB_FIXH_A64_CBZ] = {"cbz/cbnz", "+-1 MiB",
                         "cbz has no long form: use the opposite test (cbnz for cbz) to "
                         "skip over a b (+-128 MiB)"},
    [JB_FIXH_A64_TBZ] = {"tbz/tbnz", "+-32 KiB",
                         "use the opposite test (tbnz for tbz) to skip over a b (+-128 MiB)"},
    [JB_FIXH_A64_LIT] = {"ldr (literal)", "+-1 MiB",
                         "place the literal within 1 MiB, or load its address with adr/adrp "
                         "and use a register load"},
    [JB_FIXH_A64_ADR] = {"adr", "+-1 MiB", "use adrp + add for a farther address"},
};

void jb_fix_range_fail(jb_emit *e, jb_fixfmt fmt, uint32_t at, int64_t target)
{
    unsigned h = JB_FIX_HINT(fmt);
    if (h >= sizeof advice / sizeof advice[0])
        h = JB_FIXH_NONE;
    if (e->err)
        return;
    int64_t d = target - ((int64_t)at + fmt.bias);
    if (d & (((int64_t)1 << fmt.scale) - 1))
        jb__fail(JB_EBRANCH, "emitter: %s at offset %u refers to a label bound at offset "
                             "%lld, which is not a multiple of %d; bind branch targets at "
                             "instruction boundaries (after data, pad with the arch's align)",
                 advice[h].form, at, (long long)target, 1 << fmt.scale);
    else
        jb__fail(JB_EBRANCH, "emitter: %s at offset %u cannot reach its label bound at "
                             "offset %lld (%+lld bytes; it reaches %s): %s",
                 advice[h].form, at, (long long)target, (long long)d, advice[h].reach,
                 advice[h].fix);
    collapse(e, JB_EBRANCH);
}

void jb_label_bind_slow(jb_emit *e, jb_label l)
{
    if (e->err || bad_label(e, l))
        return;
    jb__label_slot *s = &e->jb__labels[l];
    if (s->head == JB__BOUND) {
        jb_emit_fail(e, JB_ELABEL, "label bound twice; create a new label for "
                                   "each position");
        return;
    }
    int32_t pos = (int32_t)(e->cur - e->start);
    if (JB__IS_ONE(s->head)) {
        if (!jb__fix_apply(s->at, s->orig, s->fmt, JB__FIXK_OTHER, e->cur)) {
            jb_fix_range_fail(e, s->fmt, (uint32_t)(s->at - e->start), pos);
            return;
        }
        s->pos = e->cur;
        s->head = JB__BOUND;
        JB__NBOUND(e)++;
        return;
    }
    records *rs = recs(e);
    for (int32_t i = s->head; i >= 0; i = rs->fix[i].next) {
        const jb__fixup *r = &rs->fix[i];
        if (!jb__fix_apply(e->start + r->at, r->orig, r->fmt, JB__FIXK_OTHER, e->cur)) {
            jb_fix_range_fail(e, r->fmt, r->at, pos);
            return;
        }
    }
    for (int32_t i = s->head; i >= 0; i = rs->fix[i].next)
        rs->fix[i].at = JB__FIX_DEAD;
    s->pos = e->cur;
    s->head = JB__BOUND;
    JB__NBOUND(e)++;
    while (rs->n && rs->fix[rs->n - 1].at == JB__FIX_DEAD)
        rs->n--; /* records are a stack: reuse the dead ones on top */
}
