/* The hand-written C emitter of handc.h: the bar for jitbuf's emitters on
 * mix8 (bench-workload.md). It is what a careful author writes by hand, in
 * general form, not a copier of the workload's bytes:
 *
 * - x86_64: REX computed (and left out when no bit needs it), SIB for a
 *   base with base&7 == 4, no mod=00 for base&7 == 5, disp8/disp32 and
 *   imm8/imm32 chosen at run time, jcc short or long at run time (long
 *   forceable, and always long to an unbound label). Each instruction is
 *   built in a uint64_t and stored with one unaligned 8-byte store; the
 *   pointer advances by its length.
 * - AArch64: the real encodings' fields packed into one 32-bit word, one
 *   store per instruction.
 * - One capacity check per group of 8 instructions (room for 8 of the
 *   longest), none per instruction.
 * - Labels created and bound at run time. A forward reference is chained
 *   through its own rel32 / imm26 / imm19 field and patched on bind; a
 *   backward one is computed from the bound position.
 *
 * A label is one word: bound, its address; unbound, ~(address of its
 * newest reference's field), ~0 with none. User-space addresses have the
 * top bit clear on the 64-bit targets this builds for (handc_init checks
 * the buffer), so the sign of the word tells the two states apart with one
 * test and no buffer-start arithmetic. The chain link kept in a field is
 * the distance back to the previous reference (bytes on x86_64, words on
 * AArch64), 0 for the last.
 *
 * The buffer is at most 128 MiB (handc_init), so no rel32, bl or b can be
 * out of range and only b.cond's imm19 is checked. Binding a label twice
 * is a caller bug, unchecked, as in most hand-written emitters; so are
 * register numbers out of range (0..15, 0..31), which are not checked. */
#include "handc.h"

#include <stdlib.h>
#include <string.h>

#include "mix8.h"

#define HC_MAX_BUF ((size_t)128 << 20)
#define HC_NONE (~(uintptr_t)0)
#define HC_BOUND(v) ((intptr_t)(v) >= 0)
#define HC_UNLIKELY(x) __builtin_expect(!!(x), 0)

static inline void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

int handc_init(handc *h, uint8_t *buf, size_t cap, uint32_t labels)
{
    memset(h, 0, sizeof *h);
    /* at least a group's room, so that end - room stays in the buffer */
    if (cap < 256 || cap > HC_MAX_BUF || !HC_BOUND((uintptr_t)(buf + cap)) || labels == 0)
        return -1;
    /* one spare entry past the capacity: the label a failed growth returns */
    h->lab = malloc(((size_t)labels + 1) * sizeof *h->lab);
    if (!h->lab)
        return -1;
    h->start = h->p = buf;
    h->end = buf + cap;
    h->caplab = labels;
    return 0;
}

void handc_free(handc *h)
{
    free(h->lab);
    h->lab = NULL;
}

/* ---- room and labels ------------------------------------------------------ */

/* Room for n more bytes? Once per group: n covers every store of it. */
static inline int hc_room(const handc *e, size_t n) { return e->p <= e->end - n; }

/* The table doubled (plus its spare), or NULL. Out of line and rare; it
 * takes and returns values so that the run's cursor stays in registers. */
__attribute__((noinline, cold)) static uintptr_t *hc_grow(uintptr_t *lab, uint32_t cap)
{
    if (cap > UINT32_MAX / 2 - 1)
        return NULL;
    return realloc(lab, ((size_t)cap * 2 + 1) * sizeof *lab);
}

static inline uint32_t hc_label_new(handc *e)
{
    if (HC_UNLIKELY(e->nlab == e->caplab)) {
        uintptr_t *t = hc_grow(e->lab, e->caplab);
        if (!t) {
            e->err = 1;
            e->lab[e->caplab] = HC_NONE;
            return e->caplab; /* the spare: its writes harm nothing */
        }
        e->lab = t;
        e->caplab *= 2;
    }
    e->lab[e->nlab] = HC_NONE;
    return e->nlab++;
}

/* An unbound label l (word v) gets a reference whose field is at f: the
 * label's head becomes f; returns the link to the previous reference. */
static inline size_t hc_link(handc *e, uint32_t l, uintptr_t v, uint8_t *f)
{
    uint8_t *prev = (uint8_t *)~v;
    e->lab[l] = ~(uintptr_t)f;
    return prev ? (size_t)(f - prev) : 0;
}

/* ---- x86_64 ---------------------------------------------------------------- */

#define X64_MAX 16 /* bytes from an instruction's start its stores may touch */

/* REX.R and REX.B (bits 2 and 0) and ModRM's reg and rm fields (bits 19-21
 * and 16-18), a REX byte at byte 0 and ModRM at byte 2, computed with one
 * multiplication, a shift and a mask per register instead of shifts and
 * masks for each field: reg * 0x101001 >> 1 puts reg's bits 0-2 at 19-21
 * and bit 3 at 2; rm * 0x80401 >> 3 puts rm's bits 0-2 at 16-18 and bit 3
 * at 0. The middle term of each (masked off) only keeps the multiplier at
 * three bits, which GCC keeps as one imul instead of a mov, a shift and an
 * add. */
static inline uint32_t x64_regs(unsigned reg, unsigned rm)
{
    return ((reg * 0x101001u) >> 1 & 0x380004u) | ((rm * 0x80401u) >> 3 & 0x70001u);
}

/* Write v (a REX byte with W set as needed, then n - 1 bytes); the REX
 * byte is dropped (v >> 8, one byte less) when no bit of it is set. */
static inline void x64_put(handc *e, uint64_t v, unsigned n)
{
    if (!(v & 0xd)) {
        v >>= 8;
        n--;
    }
    put64(e->p, v);
    e->p += n;
}

/* op /r (or /digit in reg) with a register rm, then ilen bytes of imm
 * (ilen <= 4). */
static inline void x64_op_rr(handc *e, unsigned w, unsigned op, unsigned reg, unsigned rm,
                             uint32_t imm, unsigned ilen)
{
    uint64_t v = (0xc00040u | w << 3 | op << 8 | x64_regs(reg, rm)) | (uint64_t)imm << 24;
    x64_put(e, v, 3 + ilen);
}

/* op /r with the memory operand [base + disp]. The displacement is placed
 * right after ModRM, and moved up a byte for a SIB only when the base needs
 * one, so the usual case shifts by constants. */
static inline void x64_op_m(handc *e, unsigned w, unsigned op, unsigned reg, unsigned base,
                            int32_t disp)
{
    unsigned b = base & 7;
    uint64_t v = 0x40u | w << 3 | op << 8 | x64_regs(reg, base);
    unsigned n;
    if (disp == 0 && b != 5) { /* mod=00; rbp/r13 there would mean rip/disp32 */
        n = 3;
    } else if (disp == (int8_t)disp) {
        v |= 0x40u << 16 | (uint64_t)(uint8_t)disp << 24;
        n = 4;
    } else {
        v |= 0x80u << 16 | (uint64_t)(uint32_t)disp << 24;
        n = 7;
    }
    if (b == 4) { /* rsp/r12: a SIB byte (no index, base b) after ModRM */
        v = (v & 0xffffff) | 0x24u << 24 | (v >> 24) << 32;
        n++;
    }
    x64_put(e, v, n);
}

/* mov r64, imm: the shortest of B8+r id (zero-extended), C7 /0 id
 * (sign-extended), REX.W B8+r io. */
static inline void x64_mov_ri(handc *e, unsigned r, int64_t imm)
{
    if ((uint64_t)imm <= 0xffffffffu) { /* mov r32, imm32 zero-extends */
        uint64_t v = (0xb8u + (r & 7)) | (uint64_t)(uint32_t)imm << 8;
        unsigned n = 5;
        if (r >> 3) {
            v = v << 8 | 0x41;
            n++;
        }
        put64(e->p, v);
        e->p += n;
        return;
    }
    if (imm == (int32_t)imm) {
        x64_op_rr(e, 1, 0xc7, 0, r, (uint32_t)imm, 4);
        return;
    }
    put64(e->p, (0x48u | r >> 3) | (0xb8u + (r & 7)) << 8 | (uint64_t)imm << 16);
    put64(e->p + 8, (uint64_t)imm >> 48);
    e->p += 10;
}

/* ALU op (digit: add 0 ... cmp 7) r64, simm32: 83 /d ib when it fits,
 * else 05+8d id for rax, else 81 /d id. */
static inline void x64_alu_ri(handc *e, unsigned digit, unsigned r, int32_t imm)
{
    if (imm == (int8_t)imm) {
        x64_op_rr(e, 1, 0x83, digit, r, (uint8_t)imm, 1);
    } else if (r == 0) {
        put64(e->p, 0x48u | (0x05u + 8 * digit) << 8 | (uint64_t)(uint32_t)imm << 16);
        e->p += 6;
    } else {
        x64_op_rr(e, 1, 0x81, digit, r, (uint32_t)imm, 4);
    }
}

static inline void x64_add_rr(handc *e, unsigned d, unsigned s) { x64_op_rr(e, 1, 0x01, s, d, 0, 0); }
static inline void x64_cmp_ri(handc *e, unsigned r, int32_t imm) { x64_alu_ri(e, 7, r, imm); }
static inline void x64_mov_rm(handc *e, unsigned d, unsigned base, int32_t disp)
{
    x64_op_m(e, 1, 0x8b, d, base, disp);
}
static inline void x64_mov_mr(handc *e, unsigned base, int32_t disp, unsigned s)
{
    x64_op_m(e, 1, 0x89, s, base, disp);
}
static inline void x64_ret(handc *e)
{
    put64(e->p, 0xc3);
    e->p += 1;
}

/* A rel32 branch of n opcode bytes (op, memory order) to label l: the
 * displacement if l is bound, else a link in the field. */
static inline void x64_branch32(handc *e, uint32_t op, unsigned n, uint32_t l)
{
    uint8_t *p = e->p;
    uintptr_t v = e->lab[l];
    uint32_t field;
    if (HC_BOUND(v)) /* in 32 bits: the field needs no mask */
        field = (uint32_t)v - (uint32_t)(uintptr_t)(p + n + 4);
    else
        field = (uint32_t)hc_link(e, l, v, p + n);
    put64(p, op | (uint64_t)field << 8 * n);
    e->p = p + n + 4;
}

/* jcc l: rel8 if l is bound and near and long is 0, else rel32. */
static inline void x64_jcc(handc *e, unsigned cc, uint32_t l, int long_)
{
    uintptr_t v = e->lab[l];
    if (!long_ && HC_BOUND(v)) {
        ptrdiff_t d = (uint8_t *)v - (e->p + 2);
        if (d == (int8_t)d) {
            put64(e->p, (0x70u | cc) | (uint64_t)(uint8_t)d << 8);
            e->p += 2;
            return;
        }
    }
    x64_branch32(e, 0x800fu | cc << 8, 2, l);
}

static inline void x64_call(handc *e, uint32_t l) { x64_branch32(e, 0xe8, 1, l); }

/* Bind l here: patch every rel32 of its chain. */
static inline void x64_bind(handc *e, uint32_t l)
{
    uint8_t *t = e->p, *f = (uint8_t *)~e->lab[l];
    while (f) {
        uint32_t d = get32(f);
        put32(f, (uint32_t)(t - (f + 4)));
        f = d ? f - d : NULL;
    }
    e->lab[l] = (uintptr_t)t;
}

/* ---- AArch64 --------------------------------------------------------------- */

static inline void a64_put(handc *e, uint32_t w)
{
    put32(e->p, w);
    e->p += 4;
}

/* movz / movk Xd, #imm16, lsl #shift (0, 16, 32, 48) */
static inline void a64_movz(handc *e, unsigned d, unsigned imm16, unsigned shift)
{
    a64_put(e, 0xd2800000u | (shift >> 4) << 21 | imm16 << 5 | d);
}
static inline void a64_movk(handc *e, unsigned d, unsigned imm16, unsigned shift)
{
    a64_put(e, 0xf2800000u | (shift >> 4) << 21 | imm16 << 5 | d);
}
static inline void a64_add(handc *e, unsigned d, unsigned n, unsigned m)
{
    a64_put(e, 0x8b000000u | m << 16 | n << 5 | d);
}

/* ldr/str Xt, [Xn, #disp]: scaled unsigned offset (uimm) when it fits,
 * else the unscaled 9-bit form (unscaled), else out of range. */
static inline void a64_ldst(handc *e, uint32_t uimm, uint32_t unscaled, unsigned t, unsigned n,
                            int32_t disp)
{
    if ((disp & 7) == 0 && (uint32_t)disp < 8 * 4096)
        a64_put(e, uimm | (uint32_t)disp >> 3 << 10 | n << 5 | t);
    else if (disp >= -256 && disp < 256)
        a64_put(e, unscaled | ((uint32_t)disp & 0x1ff) << 12 | n << 5 | t);
    else
        e->err = 1;
}
static inline void a64_ldr(handc *e, unsigned t, unsigned n, int32_t disp)
{
    a64_ldst(e, 0xf9400000u, 0xf8400000u, t, n, disp);
}
static inline void a64_str(handc *e, unsigned t, unsigned n, int32_t disp)
{
    a64_ldst(e, 0xf9000000u, 0xf8000000u, t, n, disp);
}

/* cmp Xn, #imm (subs xzr): imm12, or imm12 lsl 12. */
static inline void a64_cmp_imm(handc *e, unsigned n, uint32_t imm)
{
    if (imm < 4096)
        a64_put(e, 0xf100001fu | imm << 10 | n << 5);
    else if ((imm & 0xfff) == 0 && imm < 1u << 24)
        a64_put(e, 0xf140001fu | (imm >> 12) << 10 | n << 5);
    else
        e->err = 1;
}

static inline void a64_ret(handc *e) { a64_put(e, 0xd65f0000u | 30u << 5); }

/* b.cond l: imm19 words, checked (the buffer can be larger than +-1 MiB). */
static inline void a64_bcond(handc *e, unsigned cond, uint32_t l)
{
    uintptr_t v = e->lab[l];
    uint32_t imm;
    if (HC_BOUND(v)) {
        ptrdiff_t d = ((uint8_t *)v - e->p) >> 2;
        if (HC_UNLIKELY(d < -(1 << 18) || d >= 1 << 18))
            e->err = 1;
        imm = (uint32_t)d & 0x7ffff;
    } else {
        size_t link = hc_link(e, l, v, e->p) >> 2;
        if (HC_UNLIKELY(link >= 1u << 19))
            e->err = 1;
        imm = (uint32_t)link & 0x7ffff;
    }
    a64_put(e, 0x54000000u | imm << 5 | cond);
}

/* b / bl l: imm26 words, never out of range in a buffer of 128 MiB. */
static inline void a64_b26(handc *e, uint32_t op, uint32_t l)
{
    uintptr_t v = e->lab[l];
    uint32_t imm;
    if (HC_BOUND(v))
        imm = (uint32_t)(((uint8_t *)v - e->p) >> 2) & 0x3ffffff;
    else
        imm = (uint32_t)(hc_link(e, l, v, e->p) >> 2);
    a64_put(e, op | imm);
}
static inline void a64_bl(handc *e, uint32_t l) { a64_b26(e, 0x94000000u, l); }

/* Bind l here: patch its chain, telling b/bl (imm26) from b.cond (imm19,
 * checked) by their opcode bits. */
static inline void a64_bind(handc *e, uint32_t l)
{
    uint8_t *t = e->p, *f = (uint8_t *)~e->lab[l];
    while (f) {
        uint32_t w = get32(f), d;
        uint32_t off = (uint32_t)((t - f) >> 2);
        if ((w & 0x7c000000u) == 0x14000000u) {
            d = w & 0x3ffffff;
            w = (w & 0xfc000000u) | (off & 0x3ffffff);
        } else {
            d = w >> 5 & 0x7ffff;
            if (HC_UNLIKELY(off >= 1u << 18))
                e->err = 1;
            w = (w & 0xff00001fu) | (off & 0x7ffff) << 5;
        }
        put32(f, w);
        f = d ? f - 4 * (size_t)d : NULL;
    }
    e->lab[l] = (uintptr_t)t;
}

/* ---- mix8 drivers: the loop shape of mix8.c and the peers ------------------- */

size_t handc_mix8_x64(handc *h)
{
    handc c = *h, *e = &c; /* a local copy: the cursor lives in registers */
    e->p = e->start;       /* the per-run reset */
    e->nlab = 0;
    e->err = 0;
    uint32_t here = hc_label_new(e);
    x64_bind(e, here);
    const mix8_row *r = MIX8_X64; /* row k % 3 */
    for (uint32_t k = 0; k < MIX8_GROUPS; k++) {
        uint32_t next = hc_label_new(e);
        if (HC_UNLIKELY(!hc_room(e, 8 * X64_MAX))) {
            e->err = 1;
            break;
        }
        x64_mov_ri(e, r->a[0], (int32_t)(0x80000000u | (8 * k)));
        x64_add_rr(e, r->a[1], r->b[1]);
        x64_mov_rm(e, r->a[2], r->b[2], (int32_t)(0x100 + 8 * (k & 0xff)));
        x64_mov_mr(e, r->b[3], (int32_t)(8 * (1 + (k & 7))), r->a[3]);
        x64_cmp_ri(e, r->a[4], (int32_t)(k & 63));
        x64_jcc(e, k & 15, here, 1);
        x64_call(e, next);
        x64_ret(e);
        x64_bind(e, next);
        here = next;
        r = MIX8_NEXT_ROW(MIX8_X64, r);
    }
    *h = c;
    return c.err ? 0 : (size_t)(c.p - c.start);
}

size_t handc_mix8_a64(handc *h)
{
    handc c = *h, *e = &c;
    e->p = e->start;
    e->nlab = 0;
    e->err = 0;
    uint32_t here = hc_label_new(e);
    a64_bind(e, here);
    const mix8_row *r = MIX8_A64; /* row k % 3 */
    unsigned cond = 0;            /* k % 14 */
    for (uint32_t k = 0; k < MIX8_GROUPS; k++) {
        uint32_t next = hc_label_new(e);
        if (HC_UNLIKELY(!hc_room(e, 8 * 4))) {
            e->err = 1;
            break;
        }
        if (k & 1)
            a64_movk(e, r->a[0], k & 0xffff, 16);
        else
            a64_movz(e, r->a[0], k & 0xffff, 0);
        a64_add(e, r->a[1], r->a[1], r->b[1]);
        a64_ldr(e, r->a[2], r->b[2], (int32_t)(0x100 + 8 * (k & 0xff)));
        a64_str(e, r->a[3], r->b[3], (int32_t)(8 * (1 + (k & 7))));
        a64_cmp_imm(e, r->a[4], k & 63);
        a64_bcond(e, cond, here);
        a64_bl(e, next);
        a64_ret(e);
        a64_bind(e, next);
        here = next;
        r = MIX8_NEXT_ROW(MIX8_A64, r);
        cond = cond < 13 ? cond + 1 : 0;
    }
    *h = c;
    return c.err ? 0 : (size_t)(c.p - c.start);
}
