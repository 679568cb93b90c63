/* Local copies (jb_emit_borrow/giveback) and reservations (jb_emit_reserve,
 * jb_emit_release, JB_EMIT_RESERVED): each failure path gives its JB_E*
 * code and sentence and leaves the state the header promises; code emitted
 * through them is the code emitted without. Also the field encoder the
 * emitters use (jb__fix_field) against the public jb_fix_encode. */
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "jitbuf/arm64.h"
#include "jitbuf/x86_64.h"

TestSuite(emit_reserve);

/* The room test: n bytes plus JB_EMIT_SLACK - 1 of store margin, counted
 * from the cursor; a refused reserve changes nothing. */
Test(emit_reserve, room_is_exact_and_a_refusal_changes_nothing)
{
    uint8_t buf[64];
    jb_emit e;
    jb_emit_init(&e, buf, sizeof buf);
    cr_assert_eq(jb_emit_reserve(&e, 64 - JB_EMIT_SLACK + 2), 0, "reserved past the margin");
    cr_assert_eq(jb_emit_reserve(&e, (size_t)INT32_MAX + 1), 0, "reserved 2 GiB");
    cr_assert_eq(jb_emit_reserve(&e, SIZE_MAX), 0, "reserved SIZE_MAX");
    cr_assert_eq(e.err, 0, "a refused reserve failed the cursor");
    cr_assert_eq(e.cur, buf);
    jb_emit_release(&e); /* nothing open: the refusals opened nothing */
    assert_fails(jb_emit_finish(&e, NULL), JB_ESTATE);
    cr_assert(strstr(jb_last_error(), "without jb_emit_reserve"), "%s", jb_last_error());

    jb_emit_init(&e, buf, sizeof buf);
    jb_x64_nop(&e);
    cr_assert_eq(jb_emit_reserve(&e, 64 - JB_EMIT_SLACK + 1), 0, "the room counts from the cursor");
    cr_assert_eq(jb_emit_reserve(&e, 64 - JB_EMIT_SLACK), 1, "refused what fits");
    jb_emit_release(&e);
    cr_assert_eq(jb_emit_finish(&e, NULL), 0, "%s", jb_last_error());

    /* a failed cursor reserves nothing */
    jb_emit_init(&e, buf, sizeof buf);
    jb_emit_fail(&e, JB_EOPERAND, "a failure for the test");
    cr_assert_eq(jb_emit_reserve(&e, 1), 0, "reserved on a failed cursor");
    cr_assert_eq(jb_emit_finish(&e, NULL), JB_EOPERAND, "the first error did not stay");
}

Test(emit_reserve, nesting_fails_and_closes_the_reservation)
{
    uint8_t buf[256];
    jb_emit e;
    jb_emit_init(&e, buf, sizeof buf);
    cr_assert_eq(jb_emit_reserve(&e, 32), 1);
    cr_assert_eq(jb_emit_reserve(&e, 32), 0, "a nested reserve succeeded");
    cr_assert_eq(e.err, JB_ESTATE, "%s", jb_err_name(e.err));
    cr_assert(strstr(jb_last_error(), "inside a reservation"), "%s", jb_last_error());
    cr_assert_eq(e.jb__reserved, 0, "the failed reserve left a reservation open");
    jb_x64_nop(&e); /* the failed cursor emits nothing */
    cr_assert_eq(e.cur, buf);
    assert_fails(jb_emit_finish(&e, NULL), JB_ESTATE);
}

Test(emit_reserve, release_without_reserve_fails)
{
    uint8_t buf[64];
    jb_emit e;
    jb_emit_init(&e, buf, sizeof buf);
    jb_x64_nop(&e);
    jb_emit_release(&e);
    cr_assert_eq(e.err, JB_ESTATE);
    cr_assert(strstr(jb_last_error(), "without jb_emit_reserve"), "%s", jb_last_error());
    cr_assert_eq(jb_emit_size(&e), 1, "a failed release moved the cursor");
    /* a second release after a good one is the same mistake */
    jb_emit_init(&e, buf, sizeof buf);
    cr_assert_eq(jb_emit_reserve(&e, 8), 1);
    jb_emit_release(&e);
    cr_assert_eq(e.err, 0);
    jb_emit_release(&e);
    assert_fails(jb_emit_finish(&e, NULL), JB_ESTATE);
}

/* More bytes than reserved: the emitters did not check, release names it.
 * Through a local copy, as a caller's hot loop does. */
static int overrun(uint8_t *buf, size_t cap, size_t n)
{
    jb_emit e, c;
    jb_emit_init(&e, buf, cap);
    jb_emit_borrow(&e, &c);
    if (jb_emit_reserve(&c, n)) {
        jb_x64_mov_ri(&c, JB_X64_R9, INT64_MIN); /* 10 bytes */
        jb_emit_release(&c);
    }
    jb_emit_giveback(&e, &c);
    return jb_emit_finish(&e, NULL);
}

Test(emit_reserve, overrun_fails_at_release)
{
    uint8_t buf[64];
    cr_assert_eq(overrun(buf, sizeof buf, 10), 0, "%s", jb_last_error());
    assert_fails(overrun(buf, sizeof buf, 9), JB_EFULL);
    cr_assert(strstr(jb_last_error(), "than reserved"), "%s", jb_last_error());
}

/* An emit that fails inside a reservation (here a short jump out of
 * range) fails the cursor with the first error, and so does a second
 * failure after it (a bad operand); what the emitters did after the first
 * is undone at release: the cursor stands where the first failure left it. */
static int fail_inside(jb_emit *e, int arm64)
{
    jb_emit c;
    int reserved;
    jb_emit_borrow(e, &c);
    jb_label far = jb_label_new(&c);
    jb_label_bind(&c, far);
    for (int i = 0; i < (arm64 ? 9000 : 200); i++)
        arm64 ? jb_a64_nop(&c) : jb_x64_nop(&c);
    /* as a caller's loop does, so that the compiler sees the reservation
     * and the emitters inside do no capacity check */
    if ((reserved = jb_emit_reserve(&c, 64))) {
        arm64 ? jb_a64_nop(&c) : jb_x64_nop(&c);
        if (arm64) /* tbz reaches 32 KiB; far is 36 KiB back */
            jb_a64_tbz(&c, 0, 3, far);
        else
            jb_x64_jmp(&c, far, JB_X64_SHORT);
        arm64 ? jb_a64_nop(&c) : jb_x64_nop(&c);
        jb_label_bind(&c, far); /* bound twice: ignored once failed */
        arm64 ? jb_a64_nop(&c) : jb_x64_nop(&c);
        if (arm64) /* a second failure, after emits that went on */
            jb_a64_tbz(&c, 0, 64, far);
        else
            jb_x64_shift_ri(&c, JB_I64, JB_X64_SHL, JB_X64_RAX, 64);
        arm64 ? jb_a64_nop(&c) : jb_x64_nop(&c);
        jb_emit_release(&c);
    }
    jb_emit_giveback(e, &c);
    return reserved;
}

static void check_fail_inside(int arm64)
{
    size_t cap = 65536, size = 1;
    uint8_t *buf = malloc(cap);
    cr_assert(buf);
    jb_emit e;
    jb_emit_init(&e, buf, cap);
    cr_assert(fail_inside(&e, arm64), "no room reserved");
    size_t at = arm64 ? 9001 * 4 : 201;
    cr_assert_eq(e.err, JB_EBRANCH, "%s", jb_err_name(e.err));
    cr_assert_eq(jb_emit_size(&e), at, "the cursor is at %zu, not where the first failure left it",
                 jb_emit_size(&e));
    cr_assert_eq(e.end, e.cur, "a failed cursor can still emit");
    cr_assert_eq(e.jb__reserved, 0, "release left a reservation open");
    jb_emit_release(&e); /* the copy's release closed it */
    cr_assert_eq(e.err, JB_EBRANCH, "the first error did not stay");
    arm64 ? jb_a64_nop(&e) : jb_x64_nop(&e);
    cr_assert_eq(jb_emit_size(&e), at, "emitted after the failure");
    assert_fails(jb_emit_finish(&e, &size), JB_EBRANCH);
    cr_assert_eq(size, 0);
    /* the cursor is reusable */
    jb_emit_reset(&e);
    cr_assert_eq(jb_emit_reserve(&e, 16), 1);
    jb_emit_release(&e);
    cr_assert_eq(jb_emit_finish(&e, NULL), 0, "%s", jb_last_error());
    jb_emit_free(&e);
    free(buf);
}

Test(emit_reserve, x64_failure_inside_leaves_the_first_failure) { check_fail_inside(0); }
Test(emit_reserve, a64_failure_inside_leaves_the_first_failure) { check_fail_inside(1); }

/* A local copy started inside a reservation fails (ESTATE), and starts
 * without one; giveback closes a reservation left open on the copy. */
Test(emit_reserve, borrow_inside_a_reservation_fails)
{
    uint8_t buf[64];
    jb_emit e, c;
    jb_emit_init(&e, buf, sizeof buf);
    cr_assert_eq(jb_emit_reserve(&e, 8), 1);
    jb_emit_borrow(&e, &c);
    cr_assert_eq(c.err, JB_ESTATE);
    cr_assert(strstr(jb_last_error(), "jb_emit_borrow inside a reservation"), "%s", jb_last_error());
    cr_assert_eq(c.jb__reserved, 0);
    jb_emit_giveback(&e, &c);
    assert_fails(jb_emit_finish(&e, NULL), JB_ESTATE);

    jb_emit_init(&e, buf, sizeof buf);
    jb_emit_borrow(&e, &c);
    cr_assert_eq(jb_emit_reserve(&c, 8), 1);
    jb_x64_nop(&c);
    jb_emit_giveback(&e, &c); /* releases */
    cr_assert_eq(e.jb__reserved, 0);
    cr_assert_eq(jb_emit_finish(&e, NULL), 0, "%s", jb_last_error());
    cr_assert_eq(jb_emit_size(&e), 1);
}

/* JB_EMIT_RESERVED at every distance from the end of a buffer: the same
 * bytes as without a reservation, and JB_EFULL with nothing past the
 * buffer where they do not fit. */
static void group(jb_emit *e, jb_label l)
{
    jb_x64_mov_ri(e, JB_X64_R9, INT64_MIN);
    jb_x64_alu_rr(e, JB_I64, JB_X64_ADD, JB_X64_RSI, JB_X64_R9);
    jb_x64_jcc(e, JB_X64_NE, l, 0);
    jb_x64_ret(e);
}

Test(emit_reserve, reserved_group_near_the_end)
{
    uint8_t want[64], buf[80];
    jb_emit e, c;
    jb_emit_init(&e, want, sizeof want);
    jb_label l = jb_label_new(&e);
    jb_label_bind(&e, l);
    group(&e, l);
    size_t n = jb_emit_size(&e);
    cr_assert_eq(jb_emit_finish(&e, NULL), 0);
    jb_emit_free(&e);
    for (size_t cap = n - 1; cap <= n + JB_EMIT_SLACK + 1; cap++) {
        memset(buf, 0xcc, sizeof buf);
        jb_emit_init(&e, buf, cap);
        jb_emit_borrow(&e, &c);
        l = jb_label_new(&c);
        jb_label_bind(&c, l);
        JB_EMIT_RESERVED(&c, 4 * JB_X64_MAX_INSN, group(&c, l));
        jb_emit_giveback(&e, &c);
        size_t size;
        int rc = jb_emit_finish(&e, &size);
        if (cap < n) {
            cr_assert_eq(rc, JB_EFULL, "cap %zu: %s", cap, jb_err_name(rc));
        } else {
            cr_assert_eq(rc, 0, "cap %zu: %s", cap, jb_last_error());
            cr_assert_eq(size, n);
            cr_assert_arr_eq(buf, want, n, "cap %zu: other bytes", cap);
        }
        for (size_t i = cap; i < sizeof buf; i++)
            cr_assert_eq(buf[i], 0xcc, "cap %zu: byte %zu past the buffer written", cap, i);
        jb_emit_free(&e);
    }
}

/* The public encoder keeps its promise for every displacement: a signed
 * 32-bit field refuses what does not fit 32 bits. */
Test(emit_reserve, fix_encode_rel32_range)
{
    jb_fixfmt f = JB_X64_FIX_REL32(1);
    int ok;
    jb_fix_encode(f, INT32_MAX, &ok);
    cr_assert(ok);
    jb_fix_encode(f, INT32_MIN, &ok);
    cr_assert(ok);
    jb_fix_encode(f, (int64_t)INT32_MAX + 1, &ok);
    cr_assert(!ok, "rel32 accepted 2^31");
    jb_fix_encode(f, (int64_t)INT32_MIN - 1, &ok);
    cr_assert(!ok, "rel32 accepted -2^31 - 1");
    jb_fix_encode(f, (int64_t)1 << 40, &ok);
    cr_assert(!ok, "rel32 accepted 2^40");
}

/* The emitters' encoder agrees with jb_fix_encode over every displacement
 * an emitter can pass (within -(2^31 + 255) .. 2^31), for each format; its
 * forward form too, except that it refuses a negative displacement. */
Test(emit_reserve, fix_field_agrees_with_fix_encode)
{
    const jb_fixfmt fmts[] = {JB_X64_FIX_REL8, JB_X64_FIX_REL32(1), JB_X64_FIX_REL32(2),
                              JB_A64_FIX_B26, JB_A64_FIX_BCOND, JB_A64_FIX_CBZ,
                              JB_A64_FIX_TBZ, JB_A64_FIX_LIT, JB_A64_FIX_ADR};
    int64_t edges[] = {0, 1, 2, 3, 4, -1, -2, -4, 127, 128, -128, -129, 1 << 20, -(1 << 20),
                       (1 << 20) - 4, -(1 << 20) - 4, 1 << 15, -(1 << 15), (1 << 15) - 4,
                       (1 << 27) - 4, -(1 << 27), 1 << 27, -(1 << 27) - 4, INT32_MAX,
                       INT32_MIN, (int64_t)INT32_MIN - 255, (int64_t)1 << 31, 1 << 29, 1 << 30};
    for (size_t k = 0; k < sizeof fmts / sizeof *fmts; k++) {
        jb_fixfmt f = fmts[k];
        uint64_t x = 0x9e3779b97f4a7c15u;
        for (int i = 0; i < 20000; i++) {
            int64_t d;
            if (i < (int)(sizeof edges / sizeof *edges))
                d = edges[i];
            else {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                int sh = (int)(x % 32);
                d = (int64_t)(int32_t)(uint32_t)(x >> 32) >> sh;
            }
            for (int64_t dd = d - 1; dd <= d + 1; dd++) {
                if (dd < (int64_t)INT32_MIN - 255 || dd > (int64_t)1 << 31)
                    continue;
                int ok1, ok2;
                uint32_t a = jb_fix_encode(f, dd, &ok1), b = jb__fix_field(f, dd, &ok2);
                int want = f.bits == 32 ? 1 : ok1; /* rel32: the buffer limit decides */
                cr_assert_eq(ok2, want, "format %zu, d %lld: ok %d, jb_fix_encode %d", k,
                             (long long)dd, ok2, ok1);
                if (ok1)
                    cr_assert_eq(a, b, "format %zu, d %lld: %08x, jb_fix_encode %08x", k,
                                 (long long)dd, b, a);
                /* the forward form (the inline bind's): the same for d >= 0,
                 * and a refusal (the library then binds) for d < 0 */
                int ok3;
                uint32_t c = jb__fix_field_dir(f, dd, 1, &ok3);
                int want3 = f.bits == 32 ? 1 : dd < 0 && (f.flags & JB_FIX_SIGNED) && f.lo_bits == 0 ? 0 : ok1;
                cr_assert_eq(ok3, want3, "format %zu, d %lld forward: ok %d, jb_fix_encode %d",
                             k, (long long)dd, ok3, ok1);
                if (ok3)
                    cr_assert_eq(a, c, "format %zu, d %lld forward: %08x, jb_fix_encode %08x",
                                 k, (long long)dd, c, a);
            }
        }
    }
}
