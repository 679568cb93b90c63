/* arm64 emitters checked against Capstone's decoding (mnemonic, registers,
 * immediates, memory operands, branch targets) over all registers and
 * boundary operands; mov_imm checked by evaluating what it emits; errors.
 * Execution of arm64 code happens under qemu (tests/runner). */
#include <capstone/capstone.h>
#include <stdlib.h>

#include "util.h"
#include "jitbuf/arm64.h"

TestSuite(emit_a64);

static csh cs;
static uint8_t buf[16384];
static jb_emit e;

static void setup(void)
{
    cr_assert_eq(cs_open(CS_ARCH_ARM64, CS_MODE_ARM, &cs), CS_ERR_OK);
    cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
}
static void teardown(void)
{
    cs_close(&cs);
    jb_emit_free(&e);
}
/* Each case starts a new cursor: free the last one's label tables. */
static void start(void) { jb_emit_free(&e); jb_emit_init(&e, buf, sizeof buf); }

/* Capstone's register for our number r; 31 is sp or xzr by context. */
static arm64_reg X(unsigned r, int sp)
{
    if (r < 29) return (arm64_reg)(ARM64_REG_X0 + r);
    if (r == 29) return ARM64_REG_X29;
    if (r == 30) return ARM64_REG_X30;
    return sp ? ARM64_REG_SP : ARM64_REG_XZR;
}

static cs_insn *one(void)
{
    cr_assert_eq(e.err, 0, "emitter error: %s", jb_last_error());
    cr_assert_eq(jb_emit_size(&e), 4);
    cs_insn *i;
    cr_assert_eq(cs_disasm(cs, buf, 4, 0x1000, 1, &i), 1, "Capstone could not decode %08x",
                 *(uint32_t *)(void *)buf);
    return i;
}

Test(emit_a64, move_wide_all_registers_and_shifts, .init = setup, .fini = teardown)
{
    static const unsigned imms[] = {0, 1, 9, 10, 0x1234, 0x8000, 0xffff};
    void (*fns[3])(jb_emit *, jb_a64_reg, unsigned, unsigned) = {jb_a64_movz, jb_a64_movk, jb_a64_movn};
    const char *names[3] = {"movz", "movk", "movn"};
    for (unsigned f = 0; f < 3; f++)
        for (unsigned r = 0; r < 31; r++)
            for (unsigned k = 0; k < 7; k++)
                for (unsigned sh = 0; sh < 64; sh += 16) {
                    start();
                    fns[f](&e, r, imms[k], sh);
                    cs_insn *i = one();
                    cs_arm64 *a = &i->detail->arm64;
                    cr_assert_str_eq(i->mnemonic, names[f], "%s %s", i->mnemonic, i->op_str);
                    cr_assert_eq(a->operands[0].reg, X(r, 0));
                    cr_assert_eq(a->operands[1].imm, imms[k], "%s %s", i->mnemonic, i->op_str);
                    cr_assert_eq(sh ? a->operands[1].shift.value : 0, sh);
                    cs_free(i, 1);
                }
}

Test(emit_a64, three_register_alu, .init = setup, .fini = teardown)
{
    void (*fns[])(jb_emit *, jb_a64_reg, jb_a64_reg, jb_a64_reg) = {jb_a64_add, jb_a64_sub,
                                                                    jb_a64_and, jb_a64_orr,
                                                                    jb_a64_eor};
    const char *names[] = {"add", "sub", "and", "orr", "eor"};
    for (unsigned f = 0; f < 5; f++)
        for (unsigned d = 0; d < 31; d++)
            for (unsigned n = 0; n < 31; n++) {
                unsigned m = (d * 7 + n * 3 + f) % 31;
                start();
                fns[f](&e, d, n, m);
                cs_insn *i = one();
                cs_arm64 *a = &i->detail->arm64;
                cr_assert_str_eq(i->mnemonic, names[f]);
                cr_assert_eq(a->operands[0].reg, X(d, 0));
                cr_assert_eq(a->operands[1].reg, X(n, 0));
                cr_assert_eq(a->operands[2].reg, X(m, 0));
                cs_free(i, 1);
            }
    start();
    jb_a64_cmp(&e, 3, 4);
    cs_insn *i = one();
    cr_assert_str_eq(i->mnemonic, "cmp");
    cs_free(i, 1);
    start();
    jb_a64_mov_rr(&e, 5, 6);
    i = one();
    cr_assert_str_eq(i->mnemonic, "mov");
    cr_assert_eq(i->detail->arm64.operands[1].reg, X(6, 0));
    cs_free(i, 1);
}

Test(emit_a64, add_sub_immediates, .init = setup, .fini = teardown)
{
    static const uint64_t imms[] = {0, 1, 63, 4095, 4096, 0x5000, 0xfff000};
    for (unsigned d = 0; d < 32; d++)
        for (unsigned k = 0; k < 7; k++) {
            unsigned n = (d + 5) % 32;
            for (int f = 0; f < 2; f++) {
                start();
                (f ? jb_a64_sub_imm : jb_a64_add_imm)(&e, d, n, imms[k]);
                cs_insn *i = one();
                cs_arm64 *a = &i->detail->arm64;
                /* add rd, rn, #0 with sp is the alias mov */
                if (strcmp(i->mnemonic, "mov")) {
                    cr_assert_str_eq(i->mnemonic, f ? "sub" : "add", "%s %s", i->mnemonic, i->op_str);
                    cr_assert_eq(a->operands[1].reg, X(n, 1));
                    uint64_t v = (uint64_t)a->operands[2].imm << (a->operands[2].shift.value & 63);
                    cr_assert_eq(v, imms[k], "%s %s", i->mnemonic, i->op_str);
                }
                cr_assert_eq(a->operands[0].reg, X(d, 1));
                cs_free(i, 1);
            }
            start();
            jb_a64_cmp_imm(&e, d, imms[k]);
            cs_insn *i = one();
            cr_assert_str_eq(i->mnemonic, "cmp");
            cr_assert_eq(i->detail->arm64.operands[0].reg, X(d, 1));
            cs_free(i, 1);
        }
}

Test(emit_a64, load_store_unsigned_offset, .init = setup, .fini = teardown)
{
    static const uint32_t offs[] = {0, 8, 64, 0x100, 0x8f8, 32760};
    for (unsigned t = 0; t < 31; t++)
        for (unsigned n = 0; n < 32; n++)
            for (unsigned k = 0; k < 6; k++)
                for (int f = 0; f < 2; f++) {
                    start();
                    (f ? jb_a64_str : jb_a64_ldr)(&e, t, n, offs[k]);
                    cs_insn *i = one();
                    cs_arm64 *a = &i->detail->arm64;
                    cr_assert_str_eq(i->mnemonic, f ? "str" : "ldr");
                    cr_assert_eq(a->operands[0].reg, X(t, 0));
                    cr_assert_eq(a->operands[1].type, ARM64_OP_MEM);
                    cr_assert_eq(a->operands[1].mem.base, X(n, 1));
                    cr_assert_eq(a->operands[1].mem.disp, (int32_t)offs[k], "%s %s", i->mnemonic, i->op_str);
                    cs_free(i, 1);
                }
}

Test(emit_a64, branches_reach_their_labels, .init = setup, .fini = teardown)
{
    static const char *conds[] = {"b.eq", "b.ne", "b.hs", "b.lo", "b.mi", "b.pl", "b.vs",
                                  "b.vc", "b.hi", "b.ls", "b.ge", "b.lt", "b.gt", "b.le"};
    for (unsigned c = 0; c < 14; c++)
        for (unsigned gap = 0; gap < 600; gap += 97) {
            start();
            jb_label back = jb_label_new(&e), fwd = jb_label_new(&e);
            jb_label_bind(&e, back);
            for (unsigned k = 0; k < gap; k++) jb_a64_nop(&e);
            size_t at = jb_emit_size(&e);
            jb_a64_bcond(&e, (jb_a64_cond)c, back);
            jb_a64_bcond(&e, (jb_a64_cond)c, fwd);
            jb_a64_b(&e, fwd);
            jb_a64_bl(&e, back);
            jb_a64_cbz(&e, c, fwd);
            jb_a64_cbnz(&e, c + 1, back);
            for (unsigned k = 0; k < gap; k++) jb_a64_nop(&e);
            size_t target = jb_emit_size(&e);
            jb_label_bind(&e, fwd);
            cr_assert_eq(jb_emit_finish(&e, NULL), 0, "%s", jb_last_error());
            cs_insn *i;
            cr_assert_eq(cs_disasm(cs, buf + at, 24, at, 6, &i), 6);
            const char *mn[6] = {conds[c], conds[c], "b", "bl", "cbz", "cbnz"};
            size_t to[6] = {0, target, target, 0, target, 0};
            for (int k = 0; k < 6; k++) {
                cr_assert_str_eq(i[k].mnemonic, mn[k]);
                cs_arm64 *a = &i[k].detail->arm64;
                cs_arm64_op *op = &a->operands[a->op_count - 1];
                cr_assert_eq((size_t)op->imm, to[k], "%s %s", i[k].mnemonic, i[k].op_str);
            }
            cs_free(i, 6);
        }
}

Test(emit_a64, plain_forms, .init = setup, .fini = teardown)
{
    struct { void (*fn)(jb_emit *); const char *mn; } rows[] = {{jb_a64_ret, "ret"}, {jb_a64_nop, "nop"}};
    for (int k = 0; k < 2; k++) {
        start();
        rows[k].fn(&e);
        cs_insn *i = one();
        cr_assert_str_eq(i->mnemonic, rows[k].mn);
        cs_free(i, 1);
    }
    for (unsigned r = 0; r < 31; r++) {
        start();
        jb_a64_br(&e, r);
        cs_insn *i = one();
        cr_assert_str_eq(i->mnemonic, "br");
        cr_assert_eq(i->detail->arm64.operands[0].reg, X(r, 0));
        cs_free(i, 1);
        start();
        jb_a64_blr(&e, r);
        i = one();
        cr_assert_str_eq(i->mnemonic, "blr");
        cs_free(i, 1);
    }
    start();
    jb_a64_brk(&e, 0x6a62);
    cs_insn *i = one();
    cr_assert_str_eq(i->mnemonic, "brk");
    cr_assert_eq(i->detail->arm64.operands[0].imm, 0x6a62);
    cs_free(i, 1);
    /* udf is not known to Capstone 4: checked against llvm-mc's encoding
     * of the same instruction instead (make deps installs llvm). */
    static const unsigned imms[] = {0, 1, 0xdead, 0xffff};
    for (int k = 0; k < 4; k++) {
        start();
        jb_a64_udf(&e, imms[k]);
        char cmd[128], line[256], want[64] = "", *p;
        snprintf(cmd, sizeof cmd, "echo 'udf #%u' | llvm-mc -triple=aarch64 -show-encoding", imms[k]);
        FILE *f = popen(cmd, "r");
        cr_assert(f, "llvm-mc: run make deps");
        while (fgets(line, sizeof line, f))
            if ((p = strstr(line, "encoding: [")))
                snprintf(want, sizeof want, "%s", p + 11);
        cr_assert_eq(pclose(f), 0, "llvm-mc failed: run make deps");
        char got[64];
        snprintf(got, sizeof got, "0x%02x,0x%02x,0x%02x,0x%02x]", buf[0], buf[1], buf[2], buf[3]);
        cr_assert(!strncmp(want, got, strlen(got)), "udf #%u: llvm-mc %s, jitbuf %s", imms[k],
                  want, got);
    }
}

/* The set of bitmask immediates, from the ARM ARM's DecodeBitMasks (not
 * from the emitter's encoder): every N:immr:imms that is not reserved. */
static uint64_t bitmasks[5334];
static size_t nbitmasks;
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}
static void build_bitmasks(void)
{
    nbitmasks = 0;
    for (unsigned n = 0; n < 2; n++)
        for (unsigned imms = 0; imms < 64; imms++)
            for (unsigned immr = 0; immr < 64; immr++) {
                unsigned x = n << 6 | (~imms & 63), len = 0;
                for (unsigned b = 0; b < 7; b++)
                    if (x >> b & 1) len = b;
                if (!x || len < 1) continue;
                unsigned levels = (1u << len) - 1, S = imms & levels, R = immr & levels;
                if (S == levels) continue;
                unsigned esize = 1u << len;
                uint64_t emask = esize == 64 ? ~0ull : (1ull << esize) - 1;
                uint64_t welem = (S + 1 == 64) ? ~0ull : (1ull << (S + 1)) - 1;
                uint64_t rot = R ? ((welem >> R) | (welem << (esize - R))) & emask : welem;
                uint64_t v = 0;
                for (unsigned k = 0; k < 64; k += esize) v |= rot << k;
                cr_assert(nbitmasks < 5334);
                int seen = 0;
                for (size_t q = 0; q < nbitmasks && !seen; q++) seen = bitmasks[q] == v;
                if (!seen) bitmasks[nbitmasks++] = v;
            }
    cr_assert_eq(nbitmasks, 5334, "the architecture defines 5334 bitmask immediates");
    qsort(bitmasks, nbitmasks, sizeof bitmasks[0], cmp_u64);
}
static int is_bitmask(uint64_t v)
{
    return bsearch(&v, bitmasks, nbitmasks, sizeof v, cmp_u64) != NULL;
}

/* Evaluate what mov_imm emitted: movz/movn/movk by their fields, orr of a
 * bitmask immediate by Capstone's reading of it. */
static uint64_t eval_moves(const uint8_t *p, size_t n, unsigned rd)
{
    uint64_t v = 0;
    for (size_t k = 0; k < n; k += 4) {
        uint32_t w;
        memcpy(&w, p + k, 4);
        cr_assert_eq(w & 31, rd);
        unsigned sh = ((w >> 21) & 3) * 16;
        uint64_t imm = (uint64_t)((w >> 5) & 0xffff) << sh;
        cs_insn *i;
        switch (w & 0xff800000u) {
        case JB_A64_OP_MOVZ: v = imm; break;
        case JB_A64_OP_MOVN: v = ~imm; break;
        case JB_A64_OP_MOVK: v = (v & ~((uint64_t)0xffff << sh)) | imm; break;
        default:
            cr_assert_eq(k, 0, "orr must come first");
            cr_assert_eq(cs_disasm(cs, p + k, 4, 0, 1, &i), 1);
            cr_assert_str_eq(i->mnemonic, "orr", "%s %s", i->mnemonic, i->op_str);
            cr_assert_eq(i->detail->arm64.operands[1].reg, ARM64_REG_XZR);
            v = (uint64_t)i->detail->arm64.operands[2].imm;
            cs_free(i, 1);
        }
    }
    return v;
}

/* The fewest instructions among: one movz/movn, one orr, orr + movk, and
 * movz/movn + movk per remaining chunk. */
static unsigned best_count(uint64_t v, int exhaustive)
{
    unsigned zeros = 0, ones = 0;
    for (unsigned s = 0; s < 64; s += 16) {
        zeros += ((v >> s) & 0xffff) == 0;
        ones += ((v >> s) & 0xffff) == 0xffff;
    }
    unsigned moves = 4 - (zeros > ones ? zeros : ones);
    if (moves <= 1) return 1;
    if (is_bitmask(v)) return 1;
    if (moves == 2) return 2;
    if (!exhaustive) return 0; /* unknown: not checked */
    for (unsigned k = 0; k < 64; k += 16)
        for (size_t q = 0; q < nbitmasks; q++)
            if (((bitmasks[q] ^ v) & ~(0xffffull << k)) == 0) return 2;
    return moves;
}

Test(emit_a64, mov_imm_materialises_any_constant_minimally, .init = setup, .fini = teardown)
{
    build_bitmasks();
    srand(11);
    unsigned orr_forms = 0, pairs = 0;
    for (int k = 0; k < 20000; k++) {
        uint64_t v = ((uint64_t)rand() << 33) ^ ((uint64_t)rand() << 11) ^ (uint64_t)rand();
        /* Bias towards zero and all-ones chunks, and towards bitmasks with
         * one chunk disturbed (the orr + movk cases). */
        for (unsigned s = 0; s < 64; s += 16)
            if (rand() % 3 == 0) v = (rand() & 1) ? (v & ~((uint64_t)0xffff << s)) : (v | ((uint64_t)0xffff << s));
        if (k % 4 == 1) v = bitmasks[(unsigned)rand() % nbitmasks];
        if (k % 4 == 2)
            v = bitmasks[(unsigned)rand() % nbitmasks] ^ ((uint64_t)(rand() & 0xffff) << (16 * (rand() % 4)));
        if (k < 4) v = (uint64_t[]){0, ~0ull, 1, 0xffff0000ffff0000ull}[k];
        unsigned rd = (unsigned)k % 31;
        jb_emit_init(&e, buf, sizeof buf);
        jb_a64_mov_imm(&e, rd, v);
        cr_assert_eq(e.err, 0);
        size_t n = jb_emit_size(&e);
        cr_assert_eq(eval_moves(buf, n, rd), v, "mov_imm %#llx", (unsigned long long)v);
        unsigned best = best_count(v, k % 4 != 0 || k < 4000);
        if (best)
            cr_assert_eq(n / 4, best, "%#llx took %zu words, %u will do", (unsigned long long)v,
                         n / 4, best);
        orr_forms += (buf[3] & 0x7f) == 0x32; /* orr immediate first */
        pairs += (buf[3] & 0x7f) == 0x32 && n == 8;
    }
    cr_assert(orr_forms > 1000 && pairs > 500, "orr forms %u, orr + movk %u", orr_forms, pairs);
}

Test(emit_a64, errors_are_sticky_and_named)
{
    jb_emit_init(&e, buf, sizeof buf);
    jb_a64_add_imm(&e, 0, 1, 4097);
    cr_assert_eq(e.err, JB_EOPERAND);
    cr_assert(strstr(jb_last_error(), "4095"), "%s", jb_last_error());
    jb_a64_ret(&e);
    cr_assert_eq(jb_emit_size(&e), 0);
    jb_emit_init(&e, buf, sizeof buf);
    jb_a64_ldr(&e, 0, 1, 12);
    cr_assert_eq(e.err, JB_EOPERAND, "unaligned ldr offset accepted");
    jb_emit_init(&e, buf, sizeof buf);
    jb_a64_movz(&e, 0, 0x10000, 0);
    cr_assert_eq(e.err, JB_EOPERAND);
    /* b.cond beyond +-1 MiB, backward (immediate) and forward (at bind). */
    size_t cap = 3u << 20;
    uint8_t *big = malloc(cap);
    jb_emit_init(&e, big, cap);
    jb_label l = jb_label_new(&e);
    jb_label_bind(&e, l);
    for (int k = 0; k < (1 << 18) + 1; k++) jb_a64_nop(&e);
    jb_a64_bcond(&e, JB_A64_EQ, l);
    cr_assert_eq(e.err, JB_EBRANCH);
    jb_emit_reset(&e);
    l = jb_label_new(&e);
    jb_a64_cbz(&e, 0, l);
    for (int k = 0; k < (1 << 18); k++) jb_a64_nop(&e);
    jb_label_bind(&e, l);
    cr_assert_eq(jb_emit_finish(&e, NULL), JB_EBRANCH);
    uint32_t w;
    memcpy(&w, big, 4);
    cr_assert_eq(w, JB_A64__TRAP, "an out-of-range cbz was written (it must stay a trap)");
    free(big);
    jb_emit_free(&e);
}
