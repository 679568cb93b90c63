/* The mix8 workload of bench-workload.md, emitted with jitbuf's emitters,
 * gives exactly the reference bytes (sizes and FNV-1a-64 printed by
 * shared/tools/gen_reference.py), through one cursor reused twice. */
#include <stdlib.h>

#include "util.h"
#include "../../bench/mix8.h"

TestSuite(mix8);

static void run(int (*emit)(jb_emit *), size_t bytes, uint64_t fnv)
{
    size_t cap = 8u << 20;
    uint8_t *buf = malloc(cap);
    cr_assert(buf);
    jb_emit e;
    jb_emit_init(&e, buf, cap);
    for (int round = 0; round < 2; round++) {
        jb_emit_reset(&e);
        cr_assert_eq(emit(&e), 0, "%s", jb_last_error());
        cr_assert_eq(jb_emit_size(&e), bytes);
        uint64_t h = mix8_fnv1a64(buf, bytes);
        cr_assert_eq(h, fnv, "FNV-1a-64 %016llx, reference %016llx", (unsigned long long)h,
                     (unsigned long long)fnv);
    }
    jb_emit_free(&e);
    free(buf);
}

Test(mix8, x64_matches_reference) { run(mix8_x64_jitbuf, MIX8_X64_BYTES, MIX8_X64_FNV); }
Test(mix8, a64_matches_reference) { run(mix8_a64_jitbuf, MIX8_A64_BYTES, MIX8_A64_FNV); }
