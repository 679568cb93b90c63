/* The out-of-line half of the emitter cursor: label storage, growth, and
 * resolving forward references when a label is bound. The inline half is
 * include/jitbuf/emit.h. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "jitbuf/emit.h"

void jb_emit_init(jb_emit *e, void *buf, size_t cap)
{
    memset(e, 0, sizeof *e);
    e->start = e->cur = buf;
    e->end = e->jb__limit = (uint8_t *)buf + cap;
}

void jb_emit_reset(jb_emit *e)
{
    e->cur = e->start;
    e->end = e->jb__limit;
    e->err = 0;
    e->jb__nlabels = e->jb__nfix = e->jb__pending = 0;
}

void jb_emit_free(jb_emit *e)
{
    free(e->jb__labels);
    free(e->jb__fix);
    e->jb__labels = NULL;
    e->jb__fix = NULL;
    e->jb__cap_labels = e->jb__cap_fix = 0;
    e->jb__nlabels = e->jb__nfix = e->jb__pending = 0;
}

int jb_emit_fail(jb_emit *e, int err, const char *what)
{
    if (!e->err) {
        e->err = err;
        jb__fail(err, "emitter at offset %zu: %s", (size_t)(e->cur - e->start), what);
    }
    e->end = e->cur; /* every later emit fails its capacity check */
    return e->err;
}

int jb_emit_finish(jb_emit *e, size_t *size)
{
    if (size)
        *size = 0;
    if (e->err)
        return e->err;
    if (e->jb__pending) {
        for (uint32_t l = 0; l < e->jb__nlabels; l++)
            if (e->jb__labels[l].head >= 0) {
                jb__fail(JB_ELABEL, "emitter: label %u is referenced (first at "
                                    "offset %u) but never bound; bind every "
                                    "label you branch to",
                         l, e->jb__fix[e->jb__labels[l].head].at);
                break;
            }
        return e->err = JB_ELABEL;
    }
    if (size)
        *size = jb_emit_size(e);
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

jb_label jb_label_new_slow(jb_emit *e)
{
    if (e->jb__nlabels == e->jb__cap_labels &&
        !grow((void **)&e->jb__labels, &e->jb__cap_labels, sizeof *e->jb__labels)) {
        jb_emit_fail(e, JB_ENOMEM, "out of memory for labels");
        return UINT32_MAX;
    }
    return jb_label_new(e);
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

void jb_label_ref_slow(jb_emit *e, jb_label l, uint32_t at, uint32_t kind)
{
    if (bad_label(e, l))
        return;
    if (e->jb__nfix == e->jb__cap_fix &&
        !grow((void **)&e->jb__fix, &e->jb__cap_fix, sizeof *e->jb__fix)) {
        jb_emit_fail(e, JB_ENOMEM, "out of memory for label references");
        return;
    }
    (void)jb__label_target(e, l, at, kind);
}

/* Patch the field of one reference at `at` to reach target; 0 or -1. */
static int patch(uint8_t *base, uint32_t at, uint32_t kind, int64_t target)
{
    uint8_t *p = base + at;
    uint32_t w;
    int64_t d;
    switch (kind) {
    case JB__FIX_REL32:
        d = target - ((int64_t)at + 4);
        if (d < INT32_MIN || d > INT32_MAX)
            return -1;
        jb__put32(p, (uint32_t)(int32_t)d);
        return 0;
    case JB__FIX_REL8:
        d = target - ((int64_t)at + 1);
        if (d < -128 || d > 127)
            return -1;
        *p = (uint8_t)(int8_t)d;
        return 0;
    }
    d = target - (int64_t)at;
    if (kind == JB__FIX_ADR21) {
        if (d < -(1 << 20) || d >= (1 << 20))
            return -1;
        memcpy(&w, p, 4);
        w = (w & 0x9f00001fu) | ((uint32_t)d & 3u) << 29 | (((uint32_t)d >> 2) & 0x7ffffu) << 5;
        jb__put32(p, w);
        return 0;
    }
    if (d & 3)
        return -1;
    d >>= 2;
    memcpy(&w, p, 4);
    switch (kind) {
    case JB__FIX_IMM26:
        if (d < -(1 << 25) || d >= (1 << 25))
            return -1;
        w = (w & 0xfc000000u) | ((uint32_t)d & 0x03ffffffu);
        break;
    case JB__FIX_IMM19:
        if (d < -(1 << 18) || d >= (1 << 18))
            return -1;
        w = (w & 0xff00001fu) | (((uint32_t)d & 0x7ffffu) << 5);
        break;
    case JB__FIX_IMM14:
        if (d < -(1 << 13) || d >= (1 << 13))
            return -1;
        w = (w & 0xfff8001fu) | (((uint32_t)d & 0x3fffu) << 5);
        break;
    default:
        return -1;
    }
    jb__put32(p, w);
    return 0;
}

void jb_label_bind_slow(jb_emit *e, jb_label l)
{
    if (bad_label(e, l))
        return;
    jb__label_slot *s = &e->jb__labels[l];
    if (s->pos >= 0) {
        jb_emit_fail(e, JB_ELABEL, "label bound twice; create a new label for "
                                   "each position");
        return;
    }
    s->pos = (int32_t)(e->cur - e->start);
    for (int32_t i = s->head; i >= 0; i = e->jb__fix[i].next) {
        const jb__fixup *f = &e->jb__fix[i];
        if (patch(e->start, f->at, f->kind, s->pos) < 0 && !e->err)
            jb_emit_fail(e, JB_EBRANCH, "a forward branch cannot reach its "
                                        "label (out of range for its form); "
                                        "use the long form or a veneer");
        e->jb__pending--;
    }
    s->head = -1;
    /* With nothing pending, reference records can be reused. */
    if (!e->jb__pending)
        e->jb__nfix = 0;
}
