/* jitbuf emitters: the cursor, labels and fixup formats shared by
 * x86_64.h and arm64.h.
 *
 * A cursor writes machine code into an ordinary buffer (or a block's
 * writable view, see jb_writable) at memory speed: each instruction is a
 * static inline function doing one capacity check and its stores. Code that
 * fits always fits: the check is exact (an instruction of n bytes needs n
 * free bytes), and only the last few bytes of a buffer take a slower path.
 * Errors are sticky: the first failure (buffer full, branch out of range, an
 * operand no encoding can hold, a bad label) records its code in err, makes
 * every later emit a no-op, and leaves a sentence in jb_last_error(). Check
 * once at the end with jb_emit_finish(), or let jb_emit_install() do it.
 *
 * Labels are small integers. An instruction that refers to a label not yet
 * bound is written as a trap (x86_64 ud2, arm64 udf) and recorded; binding
 * the label writes the real instruction. So code that is run before every
 * label it uses is bound (jb_emit_finish not called, or its error ignored)
 * stops at the first such instruction instead of computing a wrong value.
 * Branch ranges are always checked: out of range is an error, never silent
 * truncation. The checked path from a cursor to running code is one call:
 * jb_emit_install (finish, jb_alloc, jb_write).
 *
 * Widths. Both headers name integer widths with jb_type (JB_I8 .. JB_I64;
 * the signed and unsigned names matter to loads, extensions and int/float
 * conversions only: JB_I32 and JB_I64 are the unsigned values) and
 * floating-point types with JB_F32 / JB_F64. Operands go destination
 * first, as in each architecture's assembly syntax.
 *
 * ABI. The emitters are inline code compiled into your program, and that
 * code reads and writes every field of struct jb_emit, including the jb__
 * ones. So the layout of struct jb_emit, jb_fixfmt and the label records
 * (which hold addresses inside the cursor's buffer) is part of the binary
 * interface: a release that changes it bumps the soname (JB_VERSION_MAJOR,
 * see version.h), and a program must be compiled against the headers of
 * the library major version it runs with. The jb__ fields are not for you
 * to read or write. The emitters are not header-only: their rare paths
 * (growing label storage, binding a label with several references, error
 * sentences, the last bytes of a buffer) are library functions, exported
 * under jb_ names and declared below, so a program that emits links
 * libjitbuf.
 *
 * Thread safety: a cursor belongs to one thread at a time. */
#ifndef JITBUF_EMIT_H
#define JITBUF_EMIT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../jitbuf.h"

/* The emitters build encodings and label records in integers and store
 * them in host byte order, which is right only on a little-endian host
 * (x86_64, and arm64 as every OS jitbuf supports runs it). */
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "jitbuf's emitters need a little-endian host"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t jb_label;

/* The emitters' encoders must inline into every caller: a call on the hot
 * path costs more than the instruction it encodes. */
#if defined(__GNUC__) || defined(__clang__)
#define JB__INLINE static inline __attribute__((always_inline))
#define JB__LIKELY(x) __builtin_expect(!!(x), 1)
#define JB__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define JB__COLD __attribute__((cold))
#else
#define JB__INLINE static inline
#define JB__LIKELY(x) (x)
#define JB__UNLIKELY(x) (x)
#define JB__COLD
#endif
/* An error condition, far rarer than __builtin_expect's default 90/10: the
 * compiler then lays the fast path out straight, its error path aside.
 * Every operand check of the emitters is one, so that `make
 * bench-count-unchecked` can measure what the checks cost by a copy of the
 * headers where it is 0. */
#if defined(__has_builtin)
#if __has_builtin(__builtin_expect_with_probability)
#define JB__NEVER(x) __builtin_expect_with_probability(!!(x), 0, 0.9999)
#endif
#endif
#ifndef JB__NEVER
#define JB__NEVER(x) JB__UNLIKELY(x)
#endif

/* ---- widths ---------------------------------------------------------------- */

/* Operand types. Bits 0..1: log2 of the size in bytes; bit 2: signed (for
 * loads, extensions and int/float conversions); bit 3: floating point. Operations that need only a
 * size (ALU, stores) accept either signedness. */
typedef enum {
    JB_U8 = 0, JB_U16 = 1, JB_U32 = 2, JB_U64 = 3,
    JB_S8 = 4, JB_S16 = 5, JB_S32 = 6, JB_S64 = 7,
    JB_F32 = 10, JB_F64 = 11
} jb_type;
#define JB_I8 JB_U8
#define JB_I16 JB_U16
#define JB_I32 JB_U32
#define JB_I64 JB_U64
#define JB__SIZE(t) ((unsigned)(t) & 3u)
#define JB__SIGNED(t) (((unsigned)(t) >> 2) & 1u)
#define JB__IS_INT(t) ((unsigned)(t) < 8u)
#define JB__IS_FP(t) ((unsigned)(t) == JB_F32 || (unsigned)(t) == JB_F64)

/* ---- fixup formats ------------------------------------------------------------ */

/* How one pc-relative field is encoded: described as data, once per kind, in
 * the arch headers (JB_X64_FIX_*, JB_A64_FIX_*), and used alike by an
 * emitter whose label is already bound, by the inline bind and by the
 * library's bind. The displacement is target - (instruction + bias); its
 * low `scale` bits must be zero and are dropped; what remains must fit
 * `bits` bits (signed or not); it goes to bit `pos` of the unit of `unit`
 * bytes at instruction + off (arm64 adr: its low lo_bits bits to bit
 * lo_pos, the rest to pos). */
typedef struct {
    uint8_t off, bias, pos, bits, scale, lo_bits, lo_pos;
    uint8_t flags; /* JB_FIX_* below, and the range advice in bits 4..7 */
} jb_fixfmt;

/* A format from its fields (a function, so that C++ can include this). */
JB__INLINE jb_fixfmt jb_fixfmt_make(unsigned off, unsigned bias, unsigned pos, unsigned bits,
                                    unsigned scale, unsigned lo_bits, unsigned lo_pos,
                                    unsigned flags)
{
    jb_fixfmt f = {(uint8_t)off, (uint8_t)bias, (uint8_t)pos, (uint8_t)bits,
                   (uint8_t)scale, (uint8_t)lo_bits, (uint8_t)lo_pos, (uint8_t)flags};
    return f;
}

#define JB_FIX_SIGNED 1u /* the field is two's complement */
#define JB_FIX_UNIT1 2u  /* the unit is one byte (else four) */
#define JB_FIX_WORD 4u   /* unbound: the whole word is a trap and the record
                            keeps the instruction (arm64); else the first two
                            bytes are ud2 and the record keeps them (x86) */
#define JB_FIX_HINT(f) ((unsigned)(f).flags >> 4)
#define JB_FIX_FLAGS(flags, hint) ((uint8_t)((flags) | (hint) << 4))

/* Range advice ids (what a JB_EBRANCH sentence tells to do instead). */
enum {
    JB_FIXH_NONE, JB_FIXH_X64_REL8, JB_FIXH_X64_REL32, JB_FIXH_A64_B26, JB_FIXH_A64_BCOND,
    JB_FIXH_A64_CBZ, JB_FIXH_A64_TBZ, JB_FIXH_A64_LIT, JB_FIXH_A64_ADR
};

/* The field bits for displacement d, or 0 in *ok when d is misaligned or
 * out of range. With a constant fmt this folds to a few instructions. */
JB__INLINE uint32_t jb_fix_encode(jb_fixfmt f, int64_t d, int *ok)
{
    /* In range and aligned at once: biased by half the range (signed), the
     * displacement may have no bit above bits + scale and none below scale. */
    uint64_t bias = (f.flags & JB_FIX_SIGNED) ? (uint64_t)1 << (f.bits - 1 + f.scale) : 0;
    uint64_t bad = ~(uint64_t)0 << (f.bits + f.scale) | (((uint64_t)1 << f.scale) - 1);
    *ok = !(((uint64_t)d + bias) & bad);
    uint32_t u = (uint32_t)((uint64_t)d >> f.scale);
    uint32_t hi = (uint32_t)((((uint64_t)1 << (f.bits - f.lo_bits)) - 1) & (u >> f.lo_bits));
    uint32_t lo = u & ((1u << f.lo_bits) - 1);
    return hi << f.pos | lo << f.lo_pos;
}

/* jb_fix_encode for what the emitters pass: d = a label's offset minus an
 * instruction's offset plus bias, both in one cursor's buffer, so within
 * -(2^31 + 255) .. 2^31. That allows 32-bit arithmetic and, for a signed
 * 32-bit byte field, no test at all: the buffer is at most INT32_MAX bytes
 * (jb_emit_init), and an instruction that does not fit it is never written
 * (its reference is dropped). A 32-bit wrap of such a d lands far outside
 * a field of at most 30 bits. The same result as jb_fix_encode.
 *
 * fwd (a constant): the caller has a general path for what this refuses
 * and expects d >= 0 (a bind patching a reference made before it). Then a
 * signed field of up to 30 bits is tested as for d >= 0 only, one test of
 * the bits a d in range and aligned cannot have, and needs no mask: a
 * negative d is refused too (the general path encodes it), and every d
 * accepted gives jb_fix_encode's field. */
JB__INLINE uint32_t jb__fix_field_dir(jb_fixfmt f, int64_t d, int fwd, int *ok)
{
    if (f.bits == 32 && f.scale == 0 && (f.flags & JB_FIX_SIGNED)) {
        *ok = 1;
        return (uint32_t)d;
    }
    if (f.lo_bits == 0 && f.bits + f.scale <= 30) {
        uint32_t u = (uint32_t)d;
        uint32_t sh = f.pos >= f.scale ? u << (f.pos - f.scale) : u >> (f.scale - f.pos);
        if (fwd && (f.flags & JB_FIX_SIGNED)) {
            /* 0 <= d < 2^(bits + scale - 1), aligned: u rotated right by
             * scale (the low bits, which must be zero, go to the top) is
             * below 2^(bits - 1), and it is the field before its shift to
             * pos: one comparison, and the test's value is the field's */
            uint32_t r = f.scale ? u >> f.scale | u << ((32 - f.scale) & 31) : u;
            *ok = r < 1u << (f.bits - 1);
            return r << f.pos;
        }
        uint32_t half = (f.flags & JB_FIX_SIGNED) ? 1u << (f.bits - 1 + f.scale) : 0;
        uint32_t bad = ~0u << (f.bits + f.scale) | ((1u << f.scale) - 1);
        uint32_t mask = ((1u << f.bits) - 1) << f.pos;
        *ok = !((u + half) & bad);
        return sh & mask;
    }
    return jb_fix_encode(f, d, ok);
}
JB__INLINE uint32_t jb__fix_field(jb_fixfmt f, int64_t d, int *ok)
{
    return jb__fix_field_dir(f, d, 0, ok);
}

/* ---- the cursor ----------------------------------------------------------------- */

#define JB__FIX_DEAD UINT32_MAX /* a record already applied */
typedef struct {
    uint32_t at;    /* offset of the referring instruction */
    int32_t next;   /* the label's previous record, or negative (none) */
    jb_fixfmt fmt;
    uint32_t orig;  /* arm64: the instruction word; x86: its first two bytes */
} jb__fixup;
/* A label: head, its state: JB__BOUND once bound (pos is then its
 * address in the buffer); unbound: JB__NONE no reference, JB__ONE_REF - k
 * one reference of kind k (JB__FIXK_*, below) kept in the slot (the usual
 * forward branch: at, orig and fmt), >= 0 the last of a chain of records
 * the library keeps (jb__fixup, before the header slot below). JB__BOUND
 * is the only state below JB__NONE, so that one
 * comparison tells a reference both of its likely cases. Positions are
 * addresses, not offsets, so that a reference and a bind compute a
 * displacement from the cursor with no cur - start (the records of a
 * chain, which only the library reads, keep offsets). head, orig and fmt
 * come first: a reference writes them with one 16-byte store, a constant
 * for the usual forward branch. */
#define JB__SINK (-1) /* the spare slot's state (below): every use goes to the library */
#define JB__ONE_REF (-3)
#define JB__IS_ONE(h) ((h) <= JB__ONE_REF && (h) >= JB__ONE_REF - 3)
#define JB__NONE (-7)
#define JB__BOUND (-8)
typedef struct {
    int32_t head;
    uint32_t orig;  /* the one reference: as in jb__fixup */
    jb_fixfmt fmt;  /* its format */
    uint8_t *at;    /* its instruction */
    uint8_t *pos;   /* bound: the label's address */
} jb__label_slot;   /* 32 bytes (64-bit targets): the index is a shift */
/* The label storage starts one slot before label 0, a header: its orig
 * is the capacity in labels, and its head counts the labels bound, so
 * that jb__nlabels minus it is the number unbound, among which
 * jb_emit_finish looks for a reference left (a bind counts once; a
 * reference, the usual forward branch included, counts nothing). Both live
 * in memory, not in one more register each in a hot loop (a capacity test
 * is one comparison with memory). One spare slot follows the last label,
 * in state JB__SINK, which nothing writes: the label jb_label_new returns
 * when it cannot grow the storage (the cursor has failed), so that every
 * label it returns is below jb__nlabels and the compiler can drop the
 * bounds test of a label just made. Before the header the library keeps
 * its records of chains (where they are, how many), which the inline code
 * never reads: they are not in the cursor, so that a library call copies
 * nothing for them and a hot loop over a local copy carries nothing for
 * them. A cursor without storage points past a static header of capacity
 * 0 and its spare slot, which nothing writes. */
#define JB__NBOUND(e) ((e)->jb__labels[-1].head)
#define JB__CAP_LABELS(e) ((e)->jb__labels[-1].orig)

typedef struct jb_emit {
    uint8_t *cur;   /* next byte to write */
    uint8_t *end;   /* one past the last byte that may be written (cur after an error) */
    uint8_t *start; /* first byte of the buffer (label offsets count from it) */
    int err;        /* 0, or the first error (a negative JB_E* code) */
    /* private, read by the inline code (see ABI above) */
    uintptr_t jb__lim;  /* cur < lim: JB_EMIT_SLACK bytes are free; cur after an error */
    uint8_t *jb__limit; /* the buffer's real end */
    jb__label_slot *jb__labels; /* label 0; the library's records of chains lie before it */
    uint32_t jb__nlabels;
    /* a reservation (jb_emit_reserve) */
    uint8_t *jb__resv_end;     /* end of the open reservation */
    unsigned jb__reserved;     /* 1 while a reservation is open */
} jb_emit;

/* The most bytes one emitter stores past cur on its fast path: the last
 * JB_EMIT_SLACK - 1 bytes of a buffer take the exact (slower) path. */
#define JB_EMIT_SLACK 16u

/* Start a cursor over [buf, buf + cap), cap at most 2 GiB (else the cursor
 * fails with JB_EINVAL). Labels start empty. No allocation, no syscall. */
JB_API void jb_emit_init(jb_emit *e, void *buf, size_t cap);

/* Rewind to the start of the buffer, clear the error and forget all labels,
 * keeping their storage (so a reused cursor does not allocate). */
JB_API void jb_emit_reset(jb_emit *e);

/* jb_emit_reset, then write into [buf, buf + cap) from now on: a cursor
 * moved to another buffer keeps its label storage. */
JB_API void jb_emit_reset_buffer(jb_emit *e, void *buf, size_t cap);

/* Release label storage. The buffer is the caller's. */
JB_API void jb_emit_free(jb_emit *e);

/* Check that everything went well: no sticky error and no label referenced
 * but unbound. @return 0 and *size = bytes emitted (size may be NULL); else
 * the first error (JB_EFULL, JB_EBRANCH, JB_ELABEL, JB_EOPERAND, JB_ENOMEM,
 * JB_EINVAL), with *size 0. An unbound label makes the cursor fail, so a
 * second call reports the same error. No syscall. */
JB_API int jb_emit_finish(jb_emit *e, size_t *size);

/* The checked path to running code: jb_emit_finish, then jb_alloc(r, size,
 * align, exec) and jb_write of the bytes. Refuses a cursor with an error
 * or an unbound label, allocating nothing. @return 0 and *exec, the code's
 * executable address (free it with jb_free); else the error of the step
 * that failed (jb_emit_finish's, jb_alloc's or jb_write's) with *exec NULL
 * and no block left allocated. The code must not depend on its own address
 * (adrp, absolute addresses into itself): for that, jb_alloc first, emit,
 * then jb_write. Thread-safe as jb_alloc and jb_write are, for a cursor
 * owned by the calling thread. Cost: jb_alloc + jb_write. */
JB_API int jb_emit_install(jb_emit *e, jb_region *r, size_t align, void **exec);

/* Record err on the cursor (sticky; the first error wins) with a sentence
 * naming the offset. Emitters call it on their cold paths; callers may too.
 * Returns the cursor's error. */
JB_API JB__COLD int jb_emit_fail(jb_emit *e, int err, const char *what);

/* The library half of the emitters, called from their rare paths (not
 * needed by callers): the last bytes of a buffer (src holds n bytes of one
 * instruction, placed at cur if they fit), label growth and the general
 * bind, recording a reference, and the range error of a bound label. */
JB_API JB__COLD void jb_emit_tail(jb_emit *e, const void *src, size_t n);
JB_API JB__COLD jb_label jb_label_new_slow(jb_emit *e);
JB_API JB__COLD void jb_label_bind_slow(jb_emit *e, jb_label l);
JB_API JB__COLD void jb_label_ref_slow(jb_emit *e, jb_label l, uint32_t at, jb_fixfmt fmt, uint32_t orig);
JB_API JB__COLD void jb_fix_range_fail(jb_emit *e, jb_fixfmt fmt, uint32_t at, int64_t target);

static inline void jb__put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void jb__put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

JB__INLINE size_t jb_emit_size(const jb_emit *e)
{
    return (size_t)(e->cur - e->start);
}

/* ---- calls into the library ------------------------------------------------------- */

/* The inline code calls the library only on rare paths, and always on a
 * temporary copy of the cursor, read back after, so that the cursor's own
 * address never leaves the function: a local copy (jb_emit_borrow) then
 * stays in registers. Only what the library changes is read back, so that
 * an open reservation stays visible to the compiler. */
/* A compiler barrier between the field copies: without it the copies are
 * vectorised, and the vectors reach the fast path as packing and unpacking
 * of register pairs. */
#if defined(__GNUC__) || defined(__clang__)
#define JB__SEP() __asm__ __volatile__("" ::: "memory")
#else
#define JB__SEP() ((void)0)
#endif
/* The end is not read from the cursor but made from what it always is (a
 * failure sets end and lim to the cursor, and nothing else changes end):
 * the buffer's real end, or lim once the cursor has failed. So end has no
 * use inside a hot loop over a local copy (only the giveback after it),
 * and the compiler need not keep it in a register there. */
JB__INLINE void jb__lib_in(jb_emit *t, const jb_emit *e)
{
    t->cur = e->cur; JB__SEP();
    t->end = e->err ? (uint8_t *)e->jb__lim : e->jb__limit; JB__SEP();
    t->start = e->start; JB__SEP();
    t->err = e->err; JB__SEP();
    t->jb__lim = e->jb__lim; JB__SEP();
    t->jb__limit = e->jb__limit; JB__SEP();
    t->jb__labels = e->jb__labels; JB__SEP();
    t->jb__nlabels = e->jb__nlabels; JB__SEP();
    t->jb__resv_end = e->jb__resv_end; JB__SEP();
    t->jb__reserved = e->jb__reserved; JB__SEP();
}
/* What a library call may change besides the error state, the records
 * (in the label storage) and the count of bound labels: JB__BACK_CUR (it emitted), and
 * JB__BACK_LABELS (it grew the label storage). What it cannot change is not
 * read back, so that the compiler keeps what it knows of it. */
#define JB__BACK_CUR 1u
#define JB__BACK_LABELS 2u
JB__INLINE void jb__lib_back(jb_emit *e, const jb_emit *t, unsigned what)
{
    if (what & JB__BACK_CUR) {
        e->cur = t->cur; JB__SEP();
    }
    e->end = t->end; JB__SEP();
    e->err = t->err; JB__SEP();
    e->jb__lim = t->jb__lim; JB__SEP();
    if (what & JB__BACK_LABELS) {
        e->jb__labels = t->jb__labels; JB__SEP();
        e->jb__nlabels = t->jb__nlabels; JB__SEP();
    }
    if (e->jb__reserved) /* the library changes it only inside one */
        e->jb__resv_end = t->jb__resv_end;
    JB__SEP();
}
JB__INLINE void jb__lib_fail(jb_emit *e, int err, const char *what)
{
    jb_emit t;
    jb__lib_in(&t, e);
    jb_emit_fail(&t, err, what);
    jb__lib_back(e, &t, 0);
}
JB__INLINE void jb__lib_tail(jb_emit *e, const void *src, size_t n)
{
    jb_emit t;
    jb__lib_in(&t, e);
    jb_emit_tail(&t, src, n);
    jb__lib_back(e, &t, JB__BACK_CUR);
}
/* The same for up to 8 bytes given by value (in memory order), so that the
 * caller's value needs no address on the fast path. */
JB__INLINE void jb__lib_tail64(jb_emit *e, uint64_t v, size_t n)
{
    uint8_t b[8];
    memcpy(b, &v, 8);
    jb__lib_tail(e, b, n);
}
JB__INLINE void jb__lib_range(jb_emit *e, jb_fixfmt fmt, uint32_t at, int64_t target)
{
    jb_emit t;
    jb__lib_in(&t, e);
    jb_fix_range_fail(&t, fmt, at, target);
    jb__lib_back(e, &t, 0);
}

/* The fast-path test of every emitter: JB_EMIT_SLACK bytes free and no
 * error. When it fails the emitter takes its exact path. Inside a
 * reservation that the compiler can see (a local copy, jb_emit_reserve)
 * the test is known to pass and disappears: the reservation checked the
 * room for the whole group. */
#if defined(__GNUC__) || defined(__clang__)
#define JB__IN_RESERVATION(e) (__builtin_constant_p((e)->jb__reserved) && (e)->jb__reserved)
#else
#define JB__IN_RESERVATION(e) 0
#endif
JB__INLINE int jb__fast(const jb_emit *e)
{
    if (JB__IN_RESERVATION(e))
        return 1;
    return JB__LIKELY((uintptr_t)e->cur < e->jb__lim);
}

/* Are n bytes free (exactly)? Else the cursor fails with JB_EFULL. */
JB__INLINE int jb_emit_room(jb_emit *e, size_t n)
{
    if (jb__fast(e) && n <= JB_EMIT_SLACK)
        return 1;
    if ((size_t)(e->end - e->cur) >= n && !e->err)
        return 1;
    if (!e->err)
        jb__lib_fail(e, JB_EFULL, "the emitter buffer is full; give the cursor a "
                                  "larger buffer");
    return 0;
}

/* ---- local copies and reservations ---------------------------------------------- */

/* A hot loop can keep the cursor in registers and check the room once per
 * group of instructions instead of once per instruction:
 *
 *     jb_emit c;                      // a local variable
 *     jb_emit_borrow(e, &c);
 *     for (...) {
 *         JB_EMIT_RESERVED(&c, 8 * JB_X64_MAX_INSN, emit_group(&c, ...));
 *         jb_label_bind(&c, ...);     // labels work on the copy too
 *     }
 *     jb_emit_giveback(e, &c);
 *     jb_emit_finish(e, &size);
 *
 * jb_emit_borrow(e, c) makes c a copy of cursor e: emit, create and bind
 * labels through c, and do not use e until jb_emit_giveback(e, c) puts the
 * state back. Nothing else changes: every check, error and label rule of
 * the cursor holds for the copy, and the library's rare paths still work on
 * e (so do not pass c itself to jb_emit_finish, _install, _reset or _free:
 * give it back first). It pays only when c is a local variable whose
 * address goes to nothing but the emitters (not to other functions, not
 * stored), so that the compiler can see every use.
 *
 * Errors: jb_emit_borrow inside a reservation of e fails the copy
 * (JB_ESTATE; the copy starts with no reservation open; the error reaches
 * e at the giveback). jb_emit_giveback copies c
 * over e whatever it holds (it cannot tell whether c is e's copy: give
 * back only to the cursor you borrowed from), closing a reservation left
 * open on c first (jb_emit_release, with its checks). Errors on c are e's
 * after the giveback. Thread safety: a cursor and its copy belong to one
 * thread at a time, as a cursor does; no locks. Cost: one copy of the
 * cursor each way (a struct copy), no call, no syscall. */
JB__INLINE void jb_emit_borrow(jb_emit *e, jb_emit *c)
{
    *c = *e;
    c->jb__resv_end = NULL; /* the copy has no reservation open (below) */
    if (c->jb__reserved) { /* so that the copy is known to start without one */
        c->jb__reserved = 0;
        jb__lib_fail(c, JB_ESTATE, "jb_emit_borrow inside a reservation; call "
                                   "jb_emit_release first");
    }
}

JB__INLINE void jb_emit_release(jb_emit *e);

JB__INLINE void jb_emit_giveback(jb_emit *e, jb_emit *c)
{
    if (c->jb__reserved)
        jb_emit_release(c);
    *e = *c;
}

/* Reserve room for n bytes: between this and jb_emit_release the emitters
 * do no capacity checks, once the compiler sees the reservation (a local
 * copy: jb_emit_borrow). n must cover every byte emitted until release:
 * count JB_X64_MAX_INSN or JB_A64_MAX_INSN per instruction, plus any
 * jb_emit_data. @return 1 when n bytes are free (with the emitters'
 * JB_EMIT_SLACK - 1 bytes of store margin past them); 0 when they are not
 * or the cursor has failed: then emit the same instructions without the
 * reservation, whose exact checks place code that fits into the last bytes
 * of the buffer (JB_EMIT_RESERVED does both). A refusal for room (or on a
 * failed cursor) is not an error and changes nothing. Reservations do not
 * nest: a second jb_emit_reserve before release fails the cursor
 * (JB_ESTATE), closes the open reservation and returns 0. An emitter that
 * fails inside a reservation fails the cursor as anywhere (its first error
 * stays); the emitters after it may still write into the reserved bytes,
 * but jb_emit_release puts the cursor back where the first failure left
 * it, so nothing past that point counts as emitted. Thread safety: as the
 * cursor (one thread at a time). Cost: one comparison; the saving is in
 * the emitters, whose checks fold away only where the compiler sees the
 * reservation (a local copy). */
JB__INLINE int jb_emit_reserve(jb_emit *e, size_t n)
{
    if (e->jb__reserved) { /* ends it: after any reserve, none is open or this one */
        e->jb__reserved = 0;
        jb__lib_fail(e, JB_ESTATE, "jb_emit_reserve inside a reservation; call "
                                   "jb_emit_release first");
        return 0;
    }
    /* The end first: the test then reuses it. cur + n cannot wrap (n is
     * below 2 GiB, and user addresses end far below the top of the address
     * space); lim = cur after an error, so any n > 0 is refused then. */
    uintptr_t end = (uintptr_t)e->cur + n;
    if (n > INT32_MAX || end > e->jb__lim)
        return 0;
    e->jb__reserved = 1;
    e->jb__resv_end = e->cur + n;
    return 1;
}

/* End the reservation. If more than the reserved n bytes were emitted (a bug
 * in the caller: the emitters did not check) the cursor fails with
 * JB_EFULL, naming the overrun; the extra bytes were written past the
 * reservation and, when the overrun exceeds JB_EMIT_SLACK - 1 bytes, maybe
 * past the buffer. After a failure inside the reservation the cursor goes
 * back to where the first failure left it (its error stays). A release
 * without a reservation fails the cursor (JB_ESTATE) and moves nothing.
 * Thread safety: as the cursor. Cost: one comparison. */
JB__INLINE void jb_emit_release(jb_emit *e)
{
    if (!e->jb__reserved) {
        jb__lib_fail(e, JB_ESTATE, "jb_emit_release without jb_emit_reserve");
        return;
    }
    e->jb__reserved = 0;
    /* a failure inside the reservation set resv_end to NULL (jb_emit_fail) */
    if (JB__UNLIKELY((uintptr_t)e->cur > (uintptr_t)e->jb__resv_end)) {
        if (e->err) /* back to where the first failure left the cursor */
            e->cur = e->end;
        else
            jb__lib_fail(e, JB_EFULL, "more bytes were emitted between jb_emit_reserve and "
                                      "jb_emit_release than reserved; reserve more (the "
                                      "arch's MAX_INSN per instruction)");
    }
    e->jb__resv_end = NULL; /* meaningless outside a reservation: no value to keep */
}

/* Run the statements `...` inside a reservation of n bytes when there is
 * room, else as they are (the last bytes of the buffer, checked per
 * instruction): the same bytes either way, and JB_EFULL only when they do
 * not fit the buffer. Errors are those of jb_emit_reserve/_release and of
 * the statements. Cost: one comparison per group at run time; the
 * statements are compiled twice (code size). */
#define JB_EMIT_RESERVED(e, n, ...)              \
    do {                                         \
        if (jb_emit_reserve((e), (n))) {         \
            __VA_ARGS__;                         \
            jb_emit_release(e);                  \
        } else {                                 \
            __VA_ARGS__;                         \
        }                                        \
    } while (0)

/* ---- labels ------------------------------------------------------------------------ */

/* Tell the compiler what the library guarantees (never a check). */
#if defined(__GNUC__) || defined(__clang__)
#define JB__ASSUME(x) do { if (!(x)) __builtin_unreachable(); } while (0)
#else
#define JB__ASSUME(x) ((void)0)
#endif

/* A new, unbound label. On allocation failure the cursor fails (JB_ENOMEM)
 * and the returned label is harmless to use. */
JB__INLINE jb_label jb_label_new(jb_emit *e)
{
    jb_label l = e->jb__nlabels;
    if (JB__LIKELY(l < JB__CAP_LABELS(e))) {
        e->jb__labels[l].head = JB__NONE;
    } else {
        jb_emit t;
        jb__lib_in(&t, e);
        l = jb_label_new_slow(&t); /* a new label, or the spare slot: at most 2^30 */
        jb__lib_back(e, &t, JB__BACK_LABELS);
        JB__ASSUME(l <= 1u << 30);
    }
    /* both paths: l is below jb__nlabels, which the compiler now sees */
    e->jb__nlabels = l + 1;
    return l;
}

/* Offset of a bound label, or -1 if l is unbound or unknown. */
JB__INLINE int32_t jb_label_offset(const jb_emit *e, jb_label l)
{
    if (l < e->jb__nlabels && e->jb__labels[l].head == JB__BOUND)
        return (int32_t)(e->jb__labels[l].pos - e->start);
    return -1;
}

/* The encoding bytes of a format (pos, bits, scale, lo_bits, lo_pos, flags)
 * as one integer, to recognise a shape. */
JB__INLINE uint64_t jb__fix_shape(jb_fixfmt f)
{
    uint64_t v;
    memcpy(&v, &f, 8);
    return v & 0x0fffffffffff0000ull; /* all but off, bias and the advice */
}

/* Write the instruction at p (orig as in jb__fixup) with the field f
 * encodes for displacement d, at byte off of p, as f's flags say. 0 if the
 * displacement does not fit (fwd: as jb__fix_field_dir, also when d < 0). */
JB__INLINE int jb__fix_put(uint8_t *p, uint32_t orig, jb_fixfmt f, unsigned off, int64_t d,
                           int fwd)
{
    int ok;
    uint32_t field = jb__fix_field_dir(f, d, fwd, &ok);
    if (!ok)
        return 0;
    if (f.flags & JB_FIX_WORD) {
        jb__put32(p + off, orig | field);
        return 1;
    }
    uint16_t head = (uint16_t)orig;
    memcpy(p, &head, 2); /* the ud2 placeholder becomes the instruction again */
    if (f.flags & JB_FIX_UNIT1)
        p[off] = (uint8_t)field;
    else
        jb__put32(p + off, field);
    return 1;
}

/* The kinds of reference the inline bind writes with a constant format
 * (the encoder folds): a whole 32-bit field (x86 rel32: off and bias vary
 * by instruction), and arm64's 26- and 19-bit word offsets (b/bl; b.cond,
 * cbz, ldr literal). Every other shape is JB__FIXK_OTHER, for the
 * library. With a constant fmt, jb__fix_kind folds to a constant. */
enum { JB__FIXK_OTHER, JB__FIXK_W32, JB__FIXK_W26, JB__FIXK_W19 };
#define JB__FIXF_W32 jb_fixfmt_make(0, 0, 0, 32, 0, 0, 0, JB_FIX_SIGNED)
#define JB__FIXF_W26 jb_fixfmt_make(0, 0, 0, 26, 2, 0, 0, JB_FIX_SIGNED | JB_FIX_WORD)
#define JB__FIXF_W19 jb_fixfmt_make(0, 0, 5, 19, 2, 0, 0, JB_FIX_SIGNED | JB_FIX_WORD)
JB__INLINE unsigned jb__fix_kind(jb_fixfmt f)
{
    uint64_t s = jb__fix_shape(f);
    if (s == jb__fix_shape(JB__FIXF_W32))
        return JB__FIXK_W32;
    if (f.off == 0 && f.bias == 0) {
        if (s == jb__fix_shape(JB__FIXF_W26))
            return JB__FIXK_W26;
        if (s == jb__fix_shape(JB__FIXF_W19))
            return JB__FIXK_W19;
    }
    return JB__FIXK_OTHER;
}

/* Write the instruction at p (of kind k, format f, orig as in jb__fixup)
 * now that its label is at target: the one patch every bind uses (the
 * inline bind passes the kind; the library passes JB__FIXK_OTHER for the
 * general encoder). 0 if the displacement does not fit; for the word
 * kinds, which only the inline bind passes and whose reference always
 * precedes the bind, also when target is below p (the library then
 * encodes it: a cursor rewound by hand). */
JB__INLINE int jb__fix_apply(uint8_t *p, uint32_t orig, jb_fixfmt f, unsigned k,
                             const uint8_t *target)
{
    int64_t d = (int64_t)(target - p); /* the bias of the word kinds is 0 */
    switch (k) {
    case JB__FIXK_W32: return jb__fix_put(p, orig, JB__FIXF_W32, f.off, d - f.bias, 0);
    case JB__FIXK_W26: return jb__fix_put(p, orig, JB__FIXF_W26, 0, d, 1);
    case JB__FIXK_W19: return jb__fix_put(p, orig, JB__FIXF_W19, 0, d, 1);
    default: return jb__fix_put(p, orig, f, f.off, d - f.bias, 0);
    }
}

/* Bind l to the current position and write the instructions that refer to
 * it, testing for a single reference of kind k1, then k2, then k3 (each a
 * JB__FIXK_*, or JB__FIXK_OTHER for none): what the caller's architecture
 * writes, so that an arm64 bind does not first test for x86's kind. A
 * label with no reference yet, or one reference of those kinds in range,
 * stays inline; several references, other kinds and every error go to the
 * library, which binds any kind. The kinds only choose the inline path:
 * the bytes and errors are those of the library's bind. */
JB__INLINE void jb__label_bind(jb_emit *e, jb_label l, unsigned k1, unsigned k2, unsigned k3)
{
    if (JB__LIKELY(l < e->jb__nlabels)) {
        jb__label_slot *s = &e->jb__labels[l];
#define JB__BIND_K(k) ((k) != JB__FIXK_OTHER && s->head == JB__ONE_REF - (int32_t)(k) && \
                       jb__fix_apply(s->at, s->orig, s->fmt, (k), e->cur))
        if (JB__LIKELY(JB__BIND_K(k1))) {
            JB__NBOUND(e)++;
            s->pos = e->cur;
            s->head = JB__BOUND;
            return;
        }
        JB__SEP(); /* the head is read again: the first test compares it in memory */
        int32_t h = s->head;
        if (h == JB__NONE) {
            s->pos = e->cur;
            s->head = JB__BOUND;
            JB__NBOUND(e)++;
            return;
        }
        if (JB__LIKELY(JB__BIND_K(k2) || JB__BIND_K(k3))) {
            JB__NBOUND(e)++;
            s->pos = e->cur;
            s->head = JB__BOUND;
            return;
        }
#undef JB__BIND_K
    }
    jb_emit t;
    jb__lib_in(&t, e);
    jb_label_bind_slow(&t, l);
    jb__lib_back(e, &t, 0);
}

/* Bind l to the current position (any architecture's references). The
 * arch headers' jb_x64_bind and jb_a64_bind do the same, with the inline
 * path tuned to their own kinds of reference. */
JB__INLINE void jb_label_bind(jb_emit *e, jb_label l)
{
    jb__label_bind(e, l, JB__FIXK_W32, JB__FIXK_W26, JB__FIXK_W19);
}

/* For the arch headers: how the instruction at the cursor refers to label
 * l in format fmt. 1: l is bound and *field is the encoded field. 0: l is
 * not bound yet; the reference is recorded (orig as in jb__fixup) and the
 * caller writes its placeholder. -1: the cursor failed (l unknown, out of
 * range, no memory) and the caller emits nothing: the cursor does not
 * move, though bytes the caller stored past it stay (JB_EMIT_SLACK). */
JB__INLINE int jb__label_use(jb_emit *e, jb_label l, jb_fixfmt fmt, uint32_t orig, uint32_t *field)
{
    uint8_t *at = e->cur;
    if (JB__LIKELY(l < e->jb__nlabels)) {
        jb__label_slot *s = &e->jb__labels[l];
        int32_t h = s->head;
        if (h < JB__NONE) { /* JB__BOUND */
            int ok;
            int64_t d = (int64_t)(s->pos - at) - fmt.bias;
            *field = jb__fix_field(fmt, d, &ok);
            if (JB__LIKELY(ok))
                return 1;
            uint32_t off = (uint32_t)(at - e->start);
            jb__lib_range(e, fmt, off, (int64_t)off + fmt.bias + d);
            return -1;
        }
        if (JB__LIKELY(h == JB__NONE)) {
            /* head and orig, then fmt: two 8-byte values, constants for
             * call/bl (built as a struct, clang stored fmt in 3 pieces) */
            uint64_t w[2];
            w[0] = (uint32_t)(JB__ONE_REF - (int32_t)jb__fix_kind(fmt)) |
                   (uint64_t)orig << 32; /* little-endian: head first */
            memcpy(&w[1], &fmt, 8);
            memcpy(s, w, 16);
            s->at = at;
            return 0;
        }
    }
    jb_emit t;
    jb__lib_in(&t, e);
    jb_label_ref_slow(&t, l, (uint32_t)(at - e->start), fmt, orig);
    jb__lib_back(e, &t, 0);
    return e->err ? -1 : 0;
}

/* Copy n raw bytes into the code stream (constant pools, jump tables).
 * Place data where it is not executed, e.g. after the function's return. */
JB__INLINE void jb_emit_data(jb_emit *e, const void *p, size_t n)
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
