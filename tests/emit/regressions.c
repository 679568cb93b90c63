/* Regression tests for the defects of issue 12, each written so that it
 * failed on the emitters before the fix: a misaligned arm64 label accepted
 * on the inline path; capacity checked against the worst case instead of
 * the instruction; unresolved references that run as fall-throughs; error
 * sentences that named the wrong offset or gave the wrong advice. Operand
 * validation (item 5) is tests/emit/a64_operands.c; the README's names
 * (item 6) are checked by tests/emit/readme_names.py. */
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"
#include "jitbuf/arm64.h"
#include "jitbuf/x86_64.h"

TestSuite(regressions);

static jb_emit e;

/* ---- 1. arm64 labels at offsets that are not a multiple of 4 ----------------- */

/* Every word-scaled reference to a label bound 2 bytes past a word: forward
 * (checked when the label binds, on the inline path: one reference) and
 * backward (checked when the branch is emitted). adr takes any byte. */
Test(regressions, a64_misaligned_label_is_a_branch_error)
{
    static uint8_t b[64];
    static const uint16_t pad = 0;
    for (int form = 0; form < 6; form++)
        for (int backward = 0; backward < 2; backward++) {
            jb_emit_init(&e, b, sizeof b);
            jb_label l = jb_label_new(&e);
            if (backward) {
                jb_emit_data(&e, &pad, 2);
                jb_label_bind(&e, l);
                jb_emit_data(&e, &pad, 2);
            }
            switch (form) {
            case 0: jb_a64_b(&e, l); break;
            case 1: jb_a64_bl(&e, l); break;
            case 2: jb_a64_bcond(&e, JB_A64_NE, l); break;
            case 3: jb_a64_cbz(&e, 3, l); break;
            case 4: jb_a64_tbnz(&e, 3, 7, l); break;
            case 5: jb_a64_ldr_l(&e, 3, l); break;
            }
            if (!backward) {
                jb_emit_data(&e, &pad, 2);
                jb_label_bind(&e, l);
            }
            cr_assert_eq(jb_emit_finish(&e, NULL), JB_EBRANCH, "form %d %s: accepted", form,
                         backward ? "backward" : "forward");
            cr_assert(strstr(jb_last_error(), "not a multiple of 4"), "%s", jb_last_error());
            jb_emit_free(&e);
        }
    /* adr reaches a byte offset */
    jb_emit_init(&e, b, sizeof b);
    jb_label l = jb_label_new(&e);
    jb_a64_adr(&e, 0, l);
    jb_emit_data(&e, &pad, 2);
    jb_label_bind(&e, l);
    cr_assert_eq(jb_emit_finish(&e, NULL), 0, "%s", jb_last_error());
    uint32_t w;
    memcpy(&w, b, 4);
    cr_assert_eq(w, 0x50000020u, "adr x0, .+6: %08x", w); /* immlo 2, immhi 1 */
    jb_emit_free(&e);
}

/* ---- 2. code that fits must fit ------------------------------------------------- */

/* The README's example, mov eax, 42; ret: 6 bytes in a 6-byte buffer; a
 * 4-byte movzx in 4; arm64 movz; ret in 8. One byte less is JB_EFULL. */
Test(regressions, exact_capacity_examples)
{
    uint8_t b[16];
    for (size_t cap = 5; cap <= 6; cap++) {
        jb_emit_init(&e, b, cap);
        jb_x64_mov_ri(&e, JB_X64_RAX, 42);
        jb_x64_ret(&e);
        cr_assert_eq(jb_emit_finish(&e, NULL), cap == 6 ? 0 : JB_EFULL, "cap %zu: %s", cap,
                     jb_last_error());
    }
    for (size_t cap = 3; cap <= 4; cap++) {
        jb_emit_init(&e, b, cap);
        jb_x64_load(&e, JB_U8, JB_X64_R8, jb_x64_mem_bd(JB_X64_RAX, 0)); /* 44 0f b6 00 */
        cr_assert_eq(jb_emit_finish(&e, NULL), cap == 4 ? 0 : JB_EFULL, "cap %zu", cap);
    }
    for (size_t cap = 7; cap <= 8; cap++) {
        jb_emit_init(&e, b, cap);
        jb_a64_movz(&e, 0, 42, 0);
        jb_a64_ret(&e);
        cr_assert_eq(jb_emit_finish(&e, NULL), cap == 8 ? 0 : JB_EFULL, "cap %zu", cap);
    }
    jb_emit_init(&e, b, 8); /* a two-instruction constant needs 8 bytes, not 16 */
    jb_a64_mov_imm(&e, 1, 0x12345678);
    cr_assert_eq(jb_emit_finish(&e, NULL), 0, "%s", jb_last_error());
    cr_assert_eq(jb_emit_size(&e), 8);
}

/* ---- 3. unresolved references trap if run -------------------------------------- */

/* Run f(arg) in a child; return the signal that ended it (0: it returned
 * want). */
static int run_child(void *f, long arg, long want)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        long got = ((long (*)(long))f)(arg);
        _exit(got == want ? 0 : 1);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    if (WIFSIGNALED(st))
        return WTERMSIG(st);
    cr_assert_eq(WEXITSTATUS(st), 0, "the code returned a wrong value");
    return 0;
}

/* f(x) = x ? 2 : 1 with the forward jne to a label that is never bound:
 * before the fix the rel32 was 0 and the call returned 2 for every x. The
 * bytes are copied by hand, as a caller who skips jb_emit_finish would. */
Test(regressions, unbound_reference_traps_when_run)
{
    uint8_t b[64];
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    for (int form = 0; form < 3; form++) {
        jb_emit_init(&e, b, sizeof b);
        jb_label never = jb_label_new(&e);
        jb_x64_mov_ri(&e, JB_X64_RAX, 1);
        jb_x64_test_rr(&e, JB_X64_RDI, JB_X64_RDI);
        if (form == 0) jb_x64_jcc(&e, JB_X64_NE, never, 0);
        if (form == 1) jb_x64_jcc(&e, JB_X64_NE, never, JB_X64_SHORT);
        if (form == 2) jb_x64_lea_l(&e, JB_X64_RCX, never);
        jb_x64_mov_ri(&e, JB_X64_RAX, 2);
        jb_x64_ret(&e);
        size_t n = jb_emit_size(&e);
        void *fn;
        cr_assert_eq(jb_alloc(r, n, 16, &fn), 0);
        cr_assert_eq(jb_write(r, fn, b, n), 0);
        cr_assert_eq(run_child(fn, 0, 1), SIGILL, "form %d ran past its unbound label", form);
        cr_assert_eq(run_child(fn, 5, 1), SIGILL, "form %d ran past its unbound label", form);
        jb_free(r, fn);
        /* the checked path refuses the cursor and allocates nothing */
        size_t before = info_of(r).blocks;
        cr_assert_eq(jb_emit_install(&e, r, 16, &fn), JB_ELABEL);
        cr_assert_null(fn);
        cr_assert_eq(info_of(r).blocks, before);
        jb_emit_free(&e);
    }
    /* once bound, the same code runs */
    jb_emit_init(&e, b, sizeof b);
    jb_label two = jb_label_new(&e);
    jb_x64_mov_ri(&e, JB_X64_RAX, 1);
    jb_x64_test_rr(&e, JB_X64_RDI, JB_X64_RDI);
    jb_x64_jcc(&e, JB_X64_NE, two, 0);
    jb_x64_ret(&e);
    jb_label_bind(&e, two);
    jb_x64_mov_ri(&e, JB_X64_RAX, 2);
    jb_x64_ret(&e);
    void *fn;
    cr_assert_eq(jb_emit_install(&e, r, 16, &fn), 0, "%s", jb_last_error());
    cr_assert_eq(((long (*)(long))fn)(0), 1);
    cr_assert_eq(((long (*)(long))fn)(7), 2);
    cr_assert_eq(jb_free(r, fn), 0);
    jb_emit_free(&e);
    jb_region_close(r);
}

/* The arm64 placeholders are udf words, written over by the bind. */
Test(regressions, a64_unbound_reference_is_udf)
{
    uint32_t b[4];
    jb_emit_init(&e, b, sizeof b);
    jb_label l = jb_label_new(&e);
    jb_a64_cbnz(&e, 2, l);
    jb_a64_bl(&e, l);
    cr_assert_eq(b[0], JB_A64__TRAP);
    cr_assert_eq(b[1], JB_A64__TRAP);
    cr_assert_eq(b[0] >> 16, 0, "not a udf: %08x", b[0]);
    jb_label_bind(&e, l);
    cr_assert_eq(jb_emit_finish(&e, NULL), 0);
    cr_assert_eq(b[0], 0xb5000042u, "cbnz x2, .+8: %08x", b[0]);
    cr_assert_eq(b[1], 0x94000001u, "bl .+4: %08x", b[1]);
    jb_emit_free(&e);
}

/* ---- 4. error sentences ------------------------------------------------------------- */

static void has(const char *word)
{
    cr_assert(strstr(jb_last_error(), word), "'%s' missing from: %s", word, jb_last_error());
}

Test(regressions, branch_errors_name_the_branch_and_the_fix)
{
    static uint8_t big[1 << 21];
    /* x86 short branch backward: at offset 300, label at 10 */
    jb_emit_init(&e, big, sizeof big);
    jb_label l = jb_label_new(&e);
    jb_x64_nops(&e, 10);
    jb_label_bind(&e, l);
    jb_x64_nops(&e, 290);
    jb_x64_jmp(&e, l, JB_X64_SHORT);
    cr_assert_eq(jb_emit_finish(&e, NULL), JB_EBRANCH);
    has("short branch (rel8) at offset 300");
    has("label bound at offset 10");
    has("drop JB_X64_SHORT");
    cr_assert(!strstr(jb_last_error(), "veneer"), "%s", jb_last_error());
    /* forward, found at bind: the branch's offset (5), not the bind's (400) */
    jb_emit_reset(&e);
    l = jb_label_new(&e);
    jb_x64_nops(&e, 5);
    jb_x64_jcc(&e, JB_X64_E, l, JB_X64_SHORT);
    jb_x64_nops(&e, 393);
    jb_label_bind(&e, l);
    cr_assert_eq(jb_emit_finish(&e, NULL), JB_EBRANCH);
    has("at offset 5 ");
    has("bound at offset 400");
    has("drop JB_X64_SHORT");
    /* arm64 cbz beyond +-1 MiB: no long form, say what to do instead */
    jb_emit_reset(&e);
    l = jb_label_new(&e);
    jb_a64_nop(&e);
    jb_a64_cbz(&e, 0, l);
    for (int k = 0; k < (1 << 18); k++) jb_a64_nop(&e);
    jb_label_bind(&e, l);
    cr_assert_eq(jb_emit_finish(&e, NULL), JB_EBRANCH);
    has("cbz/cbnz at offset 4 ");
    has("cbz has no long form");
    has("over a b");
    /* b.cond backward */
    jb_emit_reset(&e);
    l = jb_label_new(&e);
    jb_label_bind(&e, l);
    for (int k = 0; k < (1 << 18) + 1; k++) jb_a64_nop(&e);
    jb_a64_bcond(&e, JB_A64_EQ, l);
    cr_assert_eq(jb_emit_finish(&e, NULL), JB_EBRANCH);
    has("b.cond at offset 1048580");
    has("bound at offset 0");
    has("inverted condition");
    jb_emit_free(&e);
}

/* The unbound-label error names the instruction, not its rel32 field. */
Test(regressions, unbound_label_error_names_the_instruction)
{
    uint8_t b[64];
    jb_emit_init(&e, b, sizeof b);
    jb_label l = jb_label_new(&e);
    jb_x64_nop(&e);
    jb_x64_jcc(&e, JB_X64_NE, l, 0); /* at 1; its rel32 at 3 */
    cr_assert_eq(jb_emit_finish(&e, NULL), JB_ELABEL);
    has("instruction at offset 1 ");
    has("never bound");
    jb_emit_free(&e);
    jb_emit_init(&e, b, sizeof b);
    l = jb_label_new(&e);
    jb_x64_nops(&e, 3);
    jb_x64_mov_rl(&e, JB_X64_R9, l); /* at 3; its disp32 at 6 */
    cr_assert_eq(jb_emit_finish(&e, NULL), JB_ELABEL);
    has("instruction at offset 3 ");
    jb_emit_free(&e);
}

/* ---- the cursor's ergonomics ------------------------------------------------------ */

/* jb_emit_reset_buffer moves a cursor to another buffer keeping its label
 * storage (no allocation); offsets count from the new buffer. */
Test(regressions, reset_buffer_keeps_label_storage)
{
    uint8_t a[64], b[64];
    jb_emit_init(&e, a, sizeof a);
    for (int k = 0; k < 300; k++) jb_label_new(&e); /* grows the label storage */
    void *labels = e.jb__labels;
    uint32_t cap = JB__CAP_LABELS(&e);
    jb_emit_reset_buffer(&e, b, 7);
    cr_assert_eq(e.jb__labels, labels);
    cr_assert_eq(JB__CAP_LABELS(&e), cap);
    jb_label l = jb_label_new(&e);
    cr_assert_eq(l, 0, "labels restart at 0");
    jb_label_bind(&e, l);
    jb_x64_jmp(&e, l, 0); /* eb fe */
    jb_x64_mov_ri(&e, JB_X64_RAX, 1); /* 5 bytes: exactly fills 7 */
    cr_assert_eq(jb_emit_finish(&e, NULL), 0, "%s", jb_last_error());
    cr_assert(b[0] == 0xeb && b[1] == 0xfe && b[2] == 0xb8, "%02x %02x %02x", b[0], b[1], b[2]);
    jb_emit_free(&e);
}

/* Label positions are addresses in the buffer and the label capacity lives
 * in the storage's header: a cursor whose storage was freed grows it again
 * from the static empty header, and labels bound and referenced through a
 * borrowed copy keep their places after the giveback (a forward call bound
 * in the copy, a backward jump on the cursor after it). */
Test(regressions, label_storage_after_free_and_through_a_copy)
{
    uint8_t a[64];
    jb_emit_init(&e, a, sizeof a);
    jb_label_new(&e);
    jb_emit_free(&e); /* the cursor stays usable: storage grows again */
    cr_assert_eq(JB__CAP_LABELS(&e), 0);
    jb_emit_reset(&e);
    jb_label top = jb_label_new(&e), fwd = jb_label_new(&e);
    cr_assert_eq(top, 0);
    jb_label_bind(&e, top);
    jb_x64_nop(&e);
    jb_emit c;
    jb_emit_borrow(&e, &c);
    jb_x64_call(&c, fwd); /* e8 rel32, unbound: ud2 until bound */
    jb_x64_nop(&c);
    jb_label_bind(&c, fwd);
    jb_emit_giveback(&e, &c);
    cr_assert_eq(jb_label_offset(&e, fwd), 7);
    cr_assert_eq(jb_label_offset(&e, top), 0);
    jb_x64_jmp(&e, top, JB_X64_LONG); /* e9 rel32 = -(7 + 5) */
    size_t n;
    cr_assert_eq(jb_emit_finish(&e, &n), 0, "%s", jb_last_error());
    static const uint8_t want[] = {0x90, 0xe8, 0x01, 0, 0, 0, 0x90, 0xe9, 0xf4, 0xff, 0xff, 0xff};
    cr_assert_eq(n, sizeof want);
    cr_assert_arr_eq(a, want, sizeof want);
    jb_emit_free(&e);
}

/* jb_a64_bind and jb_x64_bind are jb_label_bind with the inline path
 * tuned to one architecture's kinds of reference: any reference binds
 * through them with the same bytes and the same error (the other
 * architecture's kinds, adr and tbz, which only the library binds, two
 * references, a misaligned or out-of-range label), through the cursor and
 * through a borrowed copy inside a reservation. */
typedef void (*bind_fn)(jb_emit *, jb_label);
static void ref_form(jb_emit *c, int form, jb_label l)
{
    switch (form) {
    case 0: jb_a64_b(c, l); break;
    case 1: jb_a64_bl(c, l); break;
    case 2: jb_a64_bcond(c, JB_A64_NE, l); break;
    case 3: jb_a64_cbz(c, 3, l); break;
    case 4: jb_a64_tbnz(c, 3, 7, l); break;
    case 5: jb_a64_ldr_l(c, 3, l); break;
    case 6: jb_a64_adr(c, 4, l); break;
    case 7: jb_x64_call(c, l); break;
    case 8: jb_x64_jcc(c, JB_X64_NE, l, 0); break;
    case 9: jb_x64_jcc(c, JB_X64_NE, l, JB_X64_SHORT); break;
    default: jb_x64_lea_l(c, JB_X64_RAX, l); break;
    }
}
/* refs references of form to one label bound after gap bytes (pad: 2 more
 * after a word boundary); its result in out, the error as returned. */
static int bind_case(bind_fn bind, int form, int refs, size_t gap, int pad, int borrow,
                     uint8_t *out, size_t cap, size_t *n)
{
    static const uint16_t two = 0;
    jb_emit_init(&e, out, cap);
    memset(out, 0xaa, cap);
    jb_label l = jb_label_new(&e);
    jb_emit c, *w = &e;
    if (borrow) {
        jb_emit_borrow(&e, &c);
        w = &c;
    }
    for (int r = 0; r < refs; r++) {
        if (borrow)
            JB_EMIT_RESERVED(w, 16, ref_form(w, form, l));
        else
            ref_form(w, form, l);
    }
    for (size_t k = 0; k < gap; k += 4)
        jb_a64_nop(w);
    if (pad)
        jb_emit_data(w, &two, 2);
    bind(w, l);
    if (borrow)
        jb_emit_giveback(&e, &c);
    int rc = jb_emit_finish(&e, n);
    jb_emit_free(&e);
    return rc;
}
Test(regressions, arch_binds_match_the_generic_bind)
{
    static uint8_t want[40000], got[40000];
    static const bind_fn binds[] = {jb_a64_bind, jb_x64_bind};
    static const size_t gaps[] = {0, 8, 128, 32768, 36000};
    for (int form = 0; form < 11; form++)
        for (int refs = 1; refs <= 2; refs++)
            for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++)
                for (int pad = 0; pad < 2; pad++)
                    for (int borrow = 0; borrow < 2; borrow++) {
                        size_t nw, ng;
                        int rw = bind_case(jb_label_bind, form, refs, gaps[g], pad, borrow,
                                           want, sizeof want, &nw);
                        char sw[256];
                        snprintf(sw, sizeof sw, "%s", rw ? jb_last_error() : "");
                        for (int b = 0; b < 2; b++) {
                            int rg = bind_case(binds[b], form, refs, gaps[g], pad, borrow, got,
                                               sizeof got, &ng);
                            cr_assert_eq(rg, rw, "form %d refs %d gap %zu pad %d borrow %d "
                                         "bind %d: %d, jb_label_bind %d (%s)", form, refs,
                                         gaps[g], pad, borrow, b, rg, rw, jb_last_error());
                            if (rw)
                                cr_assert_str_eq(jb_last_error(), sw);
                            cr_assert_eq(ng, nw);
                            cr_assert_arr_eq(got, want, sizeof want, "form %d refs %d gap %zu "
                                             "pad %d borrow %d bind %d: bytes differ", form,
                                             refs, gaps[g], pad, borrow, b);
                        }
                    }
}

/* The inline bind tests a b/bl or b.cond reference as a forward one (the
 * reference was made before the bind, so its displacement is >= 0); one
 * that is not (a cursor moved back by hand below it) goes to the library,
 * which binds it as before: the bytes and no error, with every bind. */
Test(regressions, bind_below_its_reference_goes_to_the_library)
{
    static const bind_fn binds[] = {jb_a64_bind, jb_x64_bind, jb_label_bind};
    for (int form = 0; form < 3; form++)
        for (int b = 0; b < 3; b++)
            for (int borrow = 0; borrow < 2; borrow++) {
                uint8_t out[64];
                memset(out, 0xaa, sizeof out);
                jb_emit_init(&e, out, sizeof out);
                jb_label l = jb_label_new(&e);
                jb_emit c, *w = &e;
                if (borrow) {
                    jb_emit_borrow(&e, &c);
                    w = &c;
                }
                jb_a64_nop(w);
                jb_a64_nop(w);
                if (borrow)
                    JB_EMIT_RESERVED(w, 16, ref_form(w, form, l));
                else
                    ref_form(w, form, l); /* at offset 8 */
                w->cur = w->start + 4;    /* moved back by hand: the label binds at 4 */
                binds[b](w, l);
                if (borrow)
                    jb_emit_giveback(&e, &c);
                size_t n;
                cr_assert_eq(jb_emit_finish(&e, &n), 0, "form %d bind %d borrow %d: %s", form,
                             b, borrow, jb_last_error());
                cr_assert_eq(n, 4);
                static const uint32_t want[3] = {0x17ffffffu, 0x97ffffffu, 0x54ffffe1u};
                uint32_t w8;
                memcpy(&w8, out + 8, 4);
                cr_assert_eq(w8, want[form], "form %d bind %d borrow %d: %08x", form, b, borrow,
                             w8);
                jb_emit_free(&e);
            }
}

/* A jb_label_new that cannot grow the label storage fails the cursor
 * (JB_ENOMEM) and returns the spare slot: below jb__nlabels (what lets the
 * compiler drop the bounds test of a new label), never written, and
 * harmless in every use (references, binds, jb_label_offset, finish, reset
 * and more labels), with storage and without (the static header's spare).
 * In a child whose address space is capped, so that the allocation fails. */
static void spare_label_is_harmless(jb_emit *c, jb_label l, int memory_left)
{
    static uint8_t code[64];
    if (l >= c->jb__nlabels || c->jb__labels[l].head != JB__SINK || c->err != JB_ENOMEM)
        _exit(10);
    jb_a64_bl(c, l);
    jb_a64_bcond(c, JB_A64_EQ, l);
    jb_x64_call(c, l);
    jb_a64_bind(c, l);
    jb_x64_bind(c, l);
    jb_label_bind(c, l);
    jb_emit t;
    jb_emit_borrow(c, &t);
    JB_EMIT_RESERVED(&t, 16, jb_a64_b(&t, l); jb_a64_bind(&t, l));
    jb_emit_giveback(c, &t);
    if (c->jb__labels[l].head != JB__SINK || jb_label_offset(c, l) != -1)
        _exit(11);
    if (jb_label_new(c) != l || c->jb__nlabels != l + 1) /* the failed cursor: the spare again */
        _exit(12);
    if (jb_emit_finish(c, NULL) != JB_ENOMEM || jb_emit_size(c) != 0)
        _exit(13);
    if (!memory_left)
        return;
    jb_emit_reset_buffer(c, code, sizeof code); /* clears the error; labels start over */
    jb_label a = jb_label_new(c);
    if (c->err || a != 0)
        _exit(14);
    jb_a64_b(c, a);
    jb_a64_bind(c, a);
    if (jb_emit_finish(c, NULL) != 0 || c->jb__labels[l].head != JB__SINK)
        _exit(15);
}
Test(regressions, label_storage_failure_returns_the_spare_slot)
{
#if defined(__SANITIZE_ADDRESS__)
    cr_skip_test("ASan's allocator reports a failed allocation and aborts");
#endif
    static uint8_t b[64];
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        /* with storage: grow until the capped address space refuses */
        jb_emit_init(&e, b, sizeof b);
        struct rlimit lim = {64u << 20, 64u << 20};
        FILE *f = fopen("/proc/self/statm", "r");
        unsigned long pages = 0;
        if (!f || fscanf(f, "%lu", &pages) != 1)
            _exit(2);
        fclose(f);
        lim.rlim_cur = lim.rlim_max = pages * 4096ul + (64u << 20);
        if (setrlimit(RLIMIT_AS, &lim))
            _exit(3);
        jb_label l;
        do
            l = jb_label_new(&e);
        while (!e.err && e.jb__nlabels < (1u << 24));
        if (!e.err)
            _exit(4);
        if (l != JB__CAP_LABELS(&e))
            _exit(5);
        spare_label_is_harmless(&e, l, 1);
        jb_emit_free(&e);
        /* without storage: the static header's spare, with the heap exhausted */
        jb_emit_init(&e, b, sizeof b);
        while (malloc(4096))
            ;
        while (malloc(64))
            ;
        l = jb_label_new(&e);
        if (l != 0 || JB__CAP_LABELS(&e) != 0)
            _exit(6);
        spare_label_is_harmless(&e, l, 0);
        _exit(0);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st), "the child died (signal %d)", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    cr_assert_eq(WEXITSTATUS(st), 0, "the child's check %d failed", WEXITSTATUS(st));
}

/* jb_emit_install leaves no block behind when its jb_write fails: here the
 * source is a block's writable view (inside the region), which jb_write
 * refuses with JB_ESOURCE. */
Test(regressions, install_failure_frees_its_block)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    void *blk, *fn;
    cr_assert_eq(jb_alloc(r, 256, 16, &blk), 0);
    uint8_t *w = jb_writable(r, blk);
    cr_assert(w, "dualmap has a writable view");
    jb_emit_init(&e, w, 256);
    jb_x64_ret(&e);
    size_t before = info_of(r).blocks;
    cr_assert_eq(jb_emit_install(&e, r, 16, &fn), JB_ESOURCE, "%s", jb_last_error());
    cr_assert_null(fn);
    cr_assert_eq(info_of(r).blocks, before, "the failed install left a block");
    jb_emit_free(&e);
    jb_free(r, blk);
    jb_region_close(r);
}

/* ---- later findings (an outside tester's harness) ------------------------------ */

/* One 32-bit logical immediate: rc, and the word when it was accepted. */
static int a64_logic32(jb_a64_alu_op op, int64_t imm, uint32_t *w)
{
    uint8_t b[16];
    jb_emit_init(&e, b, sizeof b);
    jb_a64_alu_imm(&e, JB_I32, op, 0, 1, imm);
    size_t n;
    int rc = jb_emit_finish(&e, &n);
    cr_assert_eq(n, rc ? 0u : 4u, "op %d imm %#llx: %zu bytes, rc %d", (int)op,
                 (unsigned long long)imm, n, rc);
    *w = 0;
    if (!rc)
        memcpy(w, b, 4);
    jb_emit_free(&e);
    return rc;
}

/* bic/bics/orn/eon w with an immediate complemented the value and then
 * masked it to 32 bits, so upper bits that and/ands/orr/eor refuse were
 * dropped: bic w0, w1, #0x100000001 was and w0, w1, #0xfffffffe, rc 0.
 * Now each inverted op refuses exactly what its plain op refuses (a value
 * that is neither 32 bits nor a sign-extended 32-bit value), and for the
 * others writes the plain op of the 32-bit complement. */
Test(regressions, a64_inverted_logic_w_refuses_upper_bits)
{
    static const jb_a64_alu_op inv[4] = {JB_A64_BIC, JB_A64_BICS, JB_A64_ORN, JB_A64_EON};
    static const jb_a64_alu_op plain[4] = {JB_A64_AND, JB_A64_ANDS, JB_A64_ORR, JB_A64_EOR};
    static const int64_t edge[] = {
        0x100000001ll, (int64_t)0xffff00000000ffffull, 0x1800000018ll,
        (int64_t)0xffc0000000000003ull, (int64_t)0xffffffff7ffffffeull, 0x1fffffffell,
        (int64_t)0xfffffffffffffffeull, (int64_t)0xffffffff0000ffffull, 0xfffffffell, 1, 0,
        -1, (int64_t)0x8000000000000000ull, (int64_t)0xfffffffe00000000ull};
    srand(12);
    for (int k = 0; k < 2000; k++) {
        int64_t imm;
        if (k < (int)(sizeof edge / sizeof edge[0])) {
            imm = edge[k];
        } else { /* a run of ones in the low word, random upper bits */
            unsigned ones = 1 + (unsigned)rand() % 31, rot = (unsigned)rand() % 32;
            uint32_t run = (1u << ones) - 1, lo = rot ? run >> rot | run << (32 - rot) : run;
            uint64_t hi = (uint64_t)(unsigned)rand() << 32;
            if (k % 4 == 0) hi = 0xffffffff00000000ull; /* sign-extended, when bit 31 is set */
            if (k % 4 == 1) hi = 0;
            imm = (int64_t)(hi | (rand() % 2 ? lo : ~lo));
        }
        uint64_t u = (uint64_t)imm;
        int fits = (u >> 32) == 0 || (u >> 31) == 0x1ffffffffull;
        for (int j = 0; j < 4; j++) {
            uint32_t wi, wp;
            int ri = a64_logic32(inv[j], imm, &wi);
            if (!fits) {
                /* the plain op refuses the value, and so must the inverted one */
                cr_assert_eq(a64_logic32(plain[j], imm, &wp), JB_EOPERAND);
                cr_assert_eq(ri, JB_EOPERAND, "op %d, w, #%#llx accepted: %08x", (int)inv[j],
                             (unsigned long long)u, wi);
                has("w: 32 bits or their sign extension");
                continue;
            }
            int rp = a64_logic32(plain[j], (int64_t)(~u & 0xffffffffu), &wp);
            cr_assert_eq(ri, rp, "op %d #%#llx: rc %d, the plain op of the complement %d",
                         (int)inv[j], (unsigned long long)u, ri, rp);
            cr_assert_eq(wi, wp, "op %d #%#llx: %08x, not %08x", (int)inv[j],
                         (unsigned long long)u, wi, wp);
        }
    }
    /* the valid forms keep their words: bic w0, w1, #0xffff0000 (given as
     * its sign extension) is and w0, w1, #0xffff */
    uint32_t w;
    cr_assert_eq(a64_logic32(JB_A64_BIC, (int64_t)0xffffffffffff0000ull, &w), 0);
    cr_assert_eq(w, 0x12003c20u, "%08x", w);
}

/* Sentences that named another operand than the one at fault (the code
 * was right): a bad type as a register (x86 mov imm), a register as an
 * offset or an immediate's limits (ldr/str, movw, pairs), a mode as an
 * offset, an op as lsb/width, ccmp's imm5 as a register, an unknown
 * option bit as two extensions. A check of several operands now names the
 * one at fault (jb_a64__bad3 in arm64; the x86 immediate forms test the
 * type before reading the immediate at its size). */
#define WHY(call, want, not)                                                                \
    do {                                                                                    \
        uint8_t b_[64];                                                                     \
        jb_emit_init(&e, b_, sizeof b_);                                                    \
        call;                                                                               \
        size_t n_;                                                                          \
        cr_assert_eq(jb_emit_finish(&e, &n_), JB_EOPERAND, "%s accepted", #call);          \
        /* the sentence after "emitter at offset N: " */                                  \
        const char *s_ = strstr(jb_last_error(), ": ");                                     \
        s_ = s_ ? s_ + 2 : jb_last_error();                                                 \
        cr_assert(strstr(s_, want), "%s: '%s' missing from: %s", #call, want, s_);          \
        cr_assert(!*(not) || !strstr(s_, not), "%s: blames '%s': %s", #call, not, s_);      \
        jb_emit_free(&e);                                                                   \
    } while (0)

Test(regressions, operand_errors_name_the_operand_at_fault)
{
    const jb_x64_mem m = jb_x64_mem_bd(JB_X64_RAX, 0);
    const int64_t big = (int64_t)1 << 40;
    /* x86: the type before the immediate and the register */
    WHY(jb_x64_alu_ri(&e, JB_F64, JB_X64_MOV, JB_X64_RAX, 1), "integer jb_type", "register");
    WHY(jb_x64_alu_ri(&e, (jb_type)15, JB_X64_MOV, JB_X64_RAX, 1), "integer jb_type", "register");
    WHY(jb_x64_alu_ri(&e, JB_F64, JB_X64_ADD, JB_X64_RAX, big), "integer jb_type", "does not fit");
    WHY(jb_x64_alu_mi(&e, JB_F32, JB_X64_CMP, m, big), "integer jb_type", "does not fit");
    WHY(jb_x64_lock_alu_mi(&e, (jb_type)9, JB_X64_ADD, m, big), "integer jb_type", "does not fit");
    WHY(jb_x64_imul3_rri(&e, JB_F64, JB_X64_RAX, JB_X64_RCX, big), "integer jb_type", "does not fit");
    WHY(jb_x64_alu_ri(&e, JB_I32, JB_X64_MOV, (jb_x64_reg)16, 1), "register number above 15", "");
    WHY(jb_x64_alu_ri(&e, JB_I8, JB_X64_ADD, JB_X64_RAX, 256), "does not fit", "");
    /* x86 converts signed integers only; JB_I64 is JB_U64, which arm64
     * converts unsigned: refused rather than meaning the opposite */
    WHY(jb_x64_cvt_i2f(&e, JB_F64, JB_I64, 0, JB_X64_RAX), "signed integers only", "32 or 64");
    WHY(jb_x64_cvtt_f2i(&e, JB_U32, JB_F32, JB_X64_RAX, 0), "signed integers only", "32 or 64");
    WHY(jb_x64_cvt_f2i(&e, JB_S16, JB_F64, JB_X64_RAX, 0), "32 or 64 bits", "signed");
    /* the register-register path: each of its three causes by name */
    WHY(jb_x64_alu_rr(&e, (jb_type)9, JB_X64_ADD, JB_X64_RAX, JB_X64_RCX), "integer jb_type", "register");
    WHY(jb_x64_alu_rr(&e, JB_I32, JB_X64_ADD, JB_X64_RAX, (jb_x64_reg)16), "register number above 15", "8-bit");
    WHY(jb_x64_alu_rr(&e, JB_I8, JB_X64_IMUL, JB_X64_RAX, JB_X64_RCX), "no 8-bit form", "register");
    /* arm64: each operand of a combined check by its own name */
    WHY(jb_a64_str(&e, 32, 1, 8), "register number above 31", "offset");
    WHY(jb_a64_ldr(&e, 1, 32, 8), "register number above 31", "offset");
    WHY(jb_a64_ldr(&e, 1, 2, 9), "multiple of 8", "register");
    WHY(jb_a64_movw(&e, JB_I64, JB_A64_OP_MOVZ, 32, 1, 0), "register number above 31", "imm16");
    WHY(jb_a64_movw(&e, JB_I64, 5, 1, 1, 0), "op must be JB_A64_OP_MOVZ", "imm16");
    WHY(jb_a64_movw(&e, JB_I32, JB_A64_OP_MOVK, 1, 1, 32), "imm16 <= 0xffff and shift", "op");
    WHY(jb_a64_ldp(&e, 0, 1, 2, 0, (jb_a64_mode)3), "jb_a64_mode", "offset");
    WHY(jb_a64_store_pair(&e, JB_I64, 32, 1, 2, 0, JB_A64_OFFSET), "register number above 31", "offset");
    WHY(jb_a64_ldp(&e, 0, 1, 2, 4, JB_A64_OFFSET), "offset must be a multiple", "mode");
    WHY(jb_a64_load(&e, JB_I64, 0, 1, 0, (jb_a64_mode)3), "jb_a64_mode", "registers");
    WHY(jb_a64_load(&e, JB_I64, 32, 1, 0, JB_A64_OFFSET), "registers 0..31", "mode");
    WHY(jb_a64_bitfield(&e, JB_I64, (jb_a64_bitfield_op)6, 0, 1, 0, 1), "jb_a64_bitfield_op", "lsb");
    WHY(jb_a64_bitfield(&e, JB_I32, JB_A64_UBFX, 0, 1, 32, 1), "lsb < size", "op");
    WHY(jb_a64_ccmp_i(&e, JB_I64, JB_A64_CCMP, 0, 32, 0, JB_A64_EQ), "immediate must be 0..31", "register");
    WHY(jb_a64_ccmp_i(&e, JB_I64, JB_A64_CCMP, 32, 1, 0, JB_A64_EQ), "register number above 31", "immediate");
    WHY(jb_a64_ccmp_r(&e, JB_I64, JB_A64_CCMP, 0, 32, 0, JB_A64_EQ), "register number above 31", "immediate");
    WHY(jb_a64_ccmp_r(&e, JB_I64, (jb_a64_ccmp_op)2, 0, 1, 0, JB_A64_EQ), "jb_a64_ccmp_op", "nzcv");
    WHY(jb_a64_ccmp_r(&e, JB_I64, JB_A64_CCMN, 0, 1, 16, JB_A64_EQ), "nzcv must be 0..15", "condition");
    WHY(jb_a64_ccmp_r(&e, JB_I64, JB_A64_CCMN, 0, 1, 0, (jb_a64_cond)16), "condition must be", "nzcv");
    WHY(jb_a64_load_r(&e, JB_I64, 0, 1, 2, 8), "bits other than", "at most one");
    WHY(jb_a64_load_r(&e, JB_I64, 0, 1, 2, JB_A64_UXTW | JB_A64_SXTW), "at most one", "register number");
    WHY(jb_a64_store_r(&e, JB_I64, 0, 1, 32, 0), "register number above 31", "option");
    WHY(jb_a64_adrp(&e, 32, 0), "register number above 31", "page");
    WHY(jb_a64_adrp(&e, 1, 1 << 20), "page offset", "register");
    /* atomics: size, registers and order each by name; loads zero-extend */
    WHY(jb_a64_atomic(&e, JB_I32, JB_A64_LDADD, (jb_a64_order)7, 1, 2, 3), "memory order", "register");
    WHY(jb_a64_cas(&e, JB_I64, JB_A64_ACQUIRE, 1, 32, 3), "register number above 31", "order");
    WHY(jb_a64_ldar(&e, (jb_type)9, 1, 2), "atomic size", "register");
    WHY(jb_a64_ldar(&e, JB_S8, 1, 2), "zero-extend", "register");
    WHY(jb_a64_ldxr(&e, JB_S64, JB_A64_ACQUIRE, 1, 2), "zero-extend", "order");
    /* dsb 0 and 4 encode the speculation barriers ssbb and pssbb */
    WHY(jb_a64_dsb(&e, 0), "ssbb and pssbb", "0..15");
    WHY(jb_a64_dsb(&e, 4), "ssbb and pssbb", "0..15");
    WHY(jb_a64_dsb(&e, 16), "0..15", "ssbb");
    {
        uint8_t b[16];
        jb_emit_init(&e, b, sizeof b);
        jb_label l = jb_label_new(&e);
        jb_label_bind(&e, l);
        jb_a64_tbz(&e, 32, 1, l);
        cr_assert_eq(jb_emit_finish(&e, NULL), JB_EOPERAND);
        has("register number above 31");
        jb_emit_reset(&e);
        l = jb_label_new(&e);
        jb_label_bind(&e, l);
        jb_a64_tbnz(&e, 1, 64, l);
        cr_assert_eq(jb_emit_finish(&e, NULL), JB_EOPERAND);
        has("bit must be 0..63");
        jb_emit_free(&e);
    }
}

/* JB_X64_SHORT | JB_X64_LONG contradict each other: they were taken as
 * SHORT. Now jcc and jmp refuse them, to a bound label or not, writing
 * nothing, and say so; each flag alone still works. */
Test(regressions, x64_short_and_long_together_are_refused)
{
    for (int jmp = 0; jmp < 2; jmp++)
        for (int bound = 0; bound < 2; bound++)
            for (unsigned flags = 0; flags < 5; flags++) {
                uint8_t b[64];
                jb_emit_init(&e, b, sizeof b);
                jb_label l = jb_label_new(&e);
                if (bound)
                    jb_label_bind(&e, l);
                if (jmp)
                    jb_x64_jmp(&e, l, flags);
                else
                    jb_x64_jcc(&e, JB_X64_NE, l, flags);
                size_t at = jb_emit_size(&e);
                if (!bound)
                    jb_label_bind(&e, l);
                size_t n;
                int rc = jb_emit_finish(&e, &n);
                if (flags <= 2) {
                    cr_assert_eq(rc, 0, "flags %u: %s", flags, jb_last_error());
                    cr_assert(at > 0);
                } else {
                    cr_assert_eq(rc, JB_EOPERAND, "%s flags %u %s: rc %d", jmp ? "jmp" : "jcc",
                                 flags, bound ? "bound" : "unbound", rc);
                    cr_assert_eq(at, 0, "flags %u: %zu bytes", flags, at);
                    has("not both");
                }
                jb_emit_free(&e);
            }
    WHY(jb_x64_jcc(&e, (jb_x64_cc)16, 0, 0), "condition must be a jb_x64_cc", "flags");
}

/* jb_emit_finish looks for a reference left among the unbound labels
 * (jb__nlabels minus the bound count): found behind bound labels and
 * labels never used, missed by none, and none reported once all are bound. */
Test(regressions, finish_finds_the_unbound_reference_among_bound_labels)
{
    uint8_t b[256];
    for (int where = 0; where < 4; where++) {
        jb_emit_init(&e, b, sizeof b);
        jb_label l[6];
        for (int i = 0; i < 6; i++)
            l[i] = jb_label_new(&e);
        jb_a64_bind(&e, l[0]);               /* bound, no reference */
        jb_a64_bl(&e, l[1]);                 /* bound below, one reference */
        jb_a64_bind(&e, l[1]);
        jb_a64_b(&e, l[2 + where]);          /* the one left unbound (2..5) */
        for (int i = 2; i < 6; i++)
            if (i != 2 + where && i != 4)    /* l[4]: never used unless chosen */
                jb_a64_bind(&e, l[i]);
        cr_assert_eq(jb_emit_finish(&e, NULL), JB_ELABEL, "unbound label %d", 2 + where);
        has("never bound");
        jb_emit_free(&e);
    }
    jb_emit_init(&e, b, sizeof b);
    jb_label a = jb_label_new(&e), u = jb_label_new(&e), c = jb_label_new(&e);
    (void)u; /* made, never used: not an error */
    jb_a64_bl(&e, c);
    jb_a64_bind(&e, a);
    jb_a64_bind(&e, c);
    size_t n;
    cr_assert_eq(jb_emit_finish(&e, &n), 0);
    cr_assert_eq(n, 4);
    jb_emit_free(&e);
}

/* [rsp + d] and [r12 + d] need a SIB byte with no index; a scale given
 * with no index put its bits there (harmless to the CPU, but not the
 * bytes of the same operand written with jb_x64_mem_bd). */
Test(regressions, x64_scale_without_index_is_canonical)
{
    static const jb_x64_reg bases[2] = {JB_X64_RSP, JB_X64_R12};
    for (int b = 0; b < 2; b++)
        for (unsigned sc = 1; sc <= 8; sc *= 2) {
            uint8_t want[16], got[16];
            size_t nw, ng;
            jb_emit_init(&e, want, sizeof want);
            jb_x64_alu_rm(&e, JB_I64, JB_X64_ADD, JB_X64_RAX, jb_x64_mem_bd(bases[b], 16));
            cr_assert_eq(jb_emit_finish(&e, &nw), 0);
            jb_emit_free(&e);
            jb_emit_init(&e, got, sizeof got);
            jb_x64_alu_rm(&e, JB_I64, JB_X64_ADD, JB_X64_RAX,
                          jb_x64_mem_bisd(bases[b], JB_X64_NOREG, sc, 16));
            cr_assert_eq(jb_emit_finish(&e, &ng), 0);
            jb_emit_free(&e);
            cr_assert(nw == ng && !memcmp(want, got, nw), "base %d scale %u: bytes differ", b, sc);
        }
}

/* Stores take either signedness: stp of JB_S32 is the 32-bit stp (it was
 * refused), while a load pair of JB_S32 is ldpsw. jb_a64_cvtt_f2i is the
 * truncating name both arches share (jb_x64_cvt_f2i rounds). */
static uint32_t a64_word(void (*emit)(jb_emit *, jb_type), jb_type t)
{
    uint8_t b[8];
    uint32_t w = 0;
    size_t n;
    jb_emit_init(&e, b, sizeof b);
    emit(&e, t);
    cr_assert_eq(jb_emit_finish(&e, &n), 0, "type %d: %s", (int)t, jb_last_error());
    cr_assert_eq(n, 4);
    memcpy(&w, b, 4);
    jb_emit_free(&e);
    return w;
}
static void stp_(jb_emit *c, jb_type t) { jb_a64_store_pair(c, t, 1, 2, 3, 8, JB_A64_OFFSET); }
static void ldp_(jb_emit *c, jb_type t) { jb_a64_load_pair(c, t, 1, 2, 3, 8, JB_A64_OFFSET); }
static void cvt_(jb_emit *c, jb_type t) { jb_a64_cvt_f2i(c, t, JB_F64, 1, 2); }
static void cvtt_(jb_emit *c, jb_type t) { jb_a64_cvtt_f2i(c, t, JB_F64, 1, 2); }

Test(regressions, a64_type_names_mean_one_thing)
{
    cr_assert_eq(a64_word(stp_, JB_S32), a64_word(stp_, JB_I32)); /* stp w1, w2, [x3, #8] */
    cr_assert_eq(a64_word(stp_, JB_I32), 0x29010861u, "%08x", a64_word(stp_, JB_I32));
    cr_assert_eq(a64_word(ldp_, JB_S32), 0x69410861u, "%08x", a64_word(ldp_, JB_S32)); /* ldpsw */
    cr_assert_neq(a64_word(ldp_, JB_S32), a64_word(ldp_, JB_I32));
    static const jb_type it[4] = {JB_S32, JB_U32, JB_S64, JB_U64};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(a64_word(cvtt_, it[i]), a64_word(cvt_, it[i]));
}
