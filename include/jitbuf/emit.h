/* jitbuf emitters: the cursor and labels shared by x86_64.h and arm64.h.
 *
 * A cursor writes machine code into an ordinary buffer (or a block's
 * writable view, see jb_writable) at memory speed: each instruction is a
 * static inline function doing one capacity check and one store. Errors are
 * sticky: the first failure (buffer full, branch out of range, an operand no
 * encoding can hold, a bad label) records its code in err, collapses end to
 * cur so that every later emit is a no-op, and leaves a sentence in
 * jb_last_error(). Check once at the end with jb_emit_finish().
 *
 * Labels are small integers. A reference to an unbound label records a
 * fixup, resolved when the label is bound; jb_emit_finish reports any label
 * referenced but never bound. Branch ranges are always checked: an
 * out-of-range branch is an error, never silent truncation.
 *
 * ABI: struct jb_emit is public because the emitters are inline. cur, end,
 * start and err are documented fields; the fields after them (jb__*) are
 * private to the library and may change between minor versions.
 *
 * Thread safety: a cursor belongs to one thread at a time. */
#ifndef JITBUF_EMIT_H
#define JITBUF_EMIT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../jitbuf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t jb_label;

/* The emitters' shared encoders must inline into every caller: a call on
 * the hot path costs more than the instruction it encodes. */
#if defined(__GNUC__) || defined(__clang__)
#define JB__INLINE static inline __attribute__((always_inline))
#else
#define JB__INLINE static inline
#endif

/* Fixup kinds: how a reference's field is patched when its label binds. */
enum {
    JB__FIX_REL32 = 1, /* x86: rel32 at `at`, relative to at + 4 */
    JB__FIX_REL8,      /* x86: rel8 at `at`, relative to at + 1 */
    JB__FIX_IMM26,     /* arm64 b/bl: word at `at` */
    JB__FIX_IMM19,     /* arm64 b.cond/cbz/cbnz/ldr literal */
    JB__FIX_IMM14,     /* arm64 tbz/tbnz */
    JB__FIX_ADR21      /* arm64 adr: byte offset in immhi:immlo */
};

typedef struct { int32_t pos, head; } jb__label_slot; /* pos -1: unbound */
typedef struct { uint32_t at; int32_t next; uint32_t kind; } jb__fixup;

typedef struct jb_emit {
    uint8_t *cur;   /* next byte to write */
    uint8_t *end;   /* one past the last byte that may be written */
    uint8_t *start; /* first byte of the buffer (label offsets count from it) */
    int err;        /* 0, or the first error (a negative JB_E* code) */
    /* private */
    uint8_t *jb__limit;          /* the real end (end collapses on error) */
    jb__label_slot *jb__labels;
    uint32_t jb__nlabels, jb__cap_labels;
    jb__fixup *jb__fix;
    uint32_t jb__nfix, jb__cap_fix, jb__pending;
} jb_emit;

/* Start a cursor over [buf, buf + cap). Labels start empty. No syscall. */
JB_API void jb_emit_init(jb_emit *e, void *buf, size_t cap);

/* Rewind to the start of the buffer, clear the error and forget all labels,
 * keeping their storage (so a reused cursor does not allocate). */
JB_API void jb_emit_reset(jb_emit *e);

/* Release label storage. The buffer is the caller's. */
JB_API void jb_emit_free(jb_emit *e);

/* Check that everything went well: no sticky error and no label referenced
 * but unbound. @return 0 and *size = bytes emitted (size may be NULL); else
 * the first error (JB_EFULL, JB_EBRANCH, JB_ELABEL, JB_EOPERAND, JB_ENOMEM). */
JB_API int jb_emit_finish(jb_emit *e, size_t *size);

/* Record err on the cursor (sticky; the first error wins) with a sentence.
 * Emitters call it on their cold paths; callers may too. Returns err. */
JB_API int jb_emit_fail(jb_emit *e, int err, const char *what);

/* Out-of-line parts of the label operations (growth and resolution). */
JB_API jb_label jb_label_new_slow(jb_emit *e);
JB_API void jb_label_bind_slow(jb_emit *e, jb_label l);
JB_API void jb_label_ref_slow(jb_emit *e, jb_label l, uint32_t at, uint32_t kind);

static inline void jb__put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static inline size_t jb_emit_size(const jb_emit *e)
{
    return (size_t)(e->cur - e->start);
}

/* Make room for n more bytes: 1 if there is, else 0 (and the error). */
static inline int jb_emit_room(jb_emit *e, size_t n)
{
    if ((size_t)(e->end - e->cur) >= n)
        return 1;
    if (!e->err)
        jb_emit_fail(e, JB_EFULL, "the emitter buffer is full; give the cursor a "
                                  "larger buffer");
    return 0;
}

/* A new, unbound label. On allocation failure the cursor fails (JB_ENOMEM)
 * and the returned label is harmless to use. */
static inline jb_label jb_label_new(jb_emit *e)
{
    if (e->jb__nlabels < e->jb__cap_labels) {
        jb_label l = e->jb__nlabels++;
        e->jb__labels[l].pos = -1;
        e->jb__labels[l].head = -1;
        return l;
    }
    return jb_label_new_slow(e);
}

/* Bind l to the current position; pending references are patched. The
 * common cases (no reference yet, or one rel32 / imm26 / imm19 reference
 * in range) stay inline; several references or errors go out of line. */
static inline void jb_label_bind(jb_emit *e, jb_label l)
{
    if (l < e->jb__nlabels && e->jb__labels[l].pos < 0) {
        jb__label_slot *s = &e->jb__labels[l];
        int32_t pos = (int32_t)(e->cur - e->start);
        if (s->head < 0) {
            s->pos = pos;
            return;
        }
        const jb__fixup *f = &e->jb__fix[s->head];
        uint8_t *p = e->start + f->at;
        int32_t d = (pos - (int32_t)f->at) >> 2;
        uint32_t w;
        int done = 1;
        if (f->next >= 0) {
            done = 0;
        } else if (f->kind == JB__FIX_REL32) {
            jb__put32(p, (uint32_t)(pos - (int32_t)(f->at + 4)));
        } else if (f->kind == JB__FIX_IMM26 && d < (1 << 25)) {
            memcpy(&w, p, 4);
            jb__put32(p, (w & 0xfc000000u) | (uint32_t)d);
        } else if (f->kind == JB__FIX_IMM19 && d < (1 << 18)) {
            memcpy(&w, p, 4);
            jb__put32(p, (w & 0xff00001fu) | (uint32_t)d << 5);
        } else {
            done = 0;
        }
        if (done) { /* a forward reference: d >= 0, so no sign bits to mask */
            s->pos = pos;
            s->head = -1;
            if (--e->jb__pending == 0)
                e->jb__nfix = 0;
            return;
        }
    }
    jb_label_bind_slow(e, l);
}

/* Offset of a bound label, or -1 if l is unbound or unknown. */
static inline int32_t jb_label_offset(const jb_emit *e, jb_label l)
{
    return l < e->jb__nlabels ? e->jb__labels[l].pos : -1;
}

/* For the arch headers: the offset l resolves to now (>= 0), or -1 after
 * recording a fixup of kind for the field at `at` (or on a bad label). */
static inline int32_t jb__label_target(jb_emit *e, jb_label l, uint32_t at, uint32_t kind)
{
    if (l < e->jb__nlabels && e->jb__labels[l].pos >= 0)
        return e->jb__labels[l].pos;
    if (l < e->jb__nlabels && e->jb__nfix < e->jb__cap_fix) {
        jb__fixup *f = &e->jb__fix[e->jb__nfix];
        f->at = at;
        f->kind = kind;
        f->next = e->jb__labels[l].head;
        e->jb__labels[l].head = (int32_t)e->jb__nfix++;
        e->jb__pending++;
        return -1;
    }
    jb_label_ref_slow(e, l, at, kind);
    return -1;
}

/* Copy n raw bytes into the code stream (constant pools, jump tables).
 * Place data where it is not executed, e.g. after the function's return. */
static inline void jb_emit_data(jb_emit *e, const void *p, size_t n)
{
    if (jb_emit_room(e, n)) {
        memcpy(e->cur, p, n);
        e->cur += n;
    }
}

#ifdef __cplusplus
}
#endif
#endif
