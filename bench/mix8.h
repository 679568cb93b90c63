/* The mix8 emitter workload of bench-workload.md, written with jitbuf's
 * emitters: shared by the benchmark and by the test that checks its bytes
 * against the reference hashes. */
#ifndef JB_BENCH_MIX8_H
#define JB_BENCH_MIX8_H

#include <stddef.h>
#include <stdint.h>

#include "jitbuf/emit.h"

#define MIX8_GROUPS 125000u
#define MIX8_INSNS (8u * MIX8_GROUPS)
#define MIX8_X64_BYTES 4625000u
#define MIX8_A64_BYTES 4000000u
#define MIX8_X64_FNV 0x361a6f2965d3327dull
#define MIX8_A64_FNV 0xbaba2fcdcf5fe165ull

#ifdef __cplusplus
extern "C" {
#endif

/* The register rotation of bench-workload.md as 24-entry tables, which the
 * page allows: group k uses row k % 3, and form f the hardware registers
 * MIX8_*[row].a[f] and MIX8_*[row].b[f]. Every driver (jitbuf's and the
 * peers') steps one pointer through the rows and counts k % 14 (the arm64
 * condition) beside k instead of dividing, so the loop around the emitters
 * costs the same for all. */
typedef struct {
    uint8_t a[8], b[8];
} mix8_row;
extern const mix8_row MIX8_X64[3], MIX8_A64[3];
/* The row after r (k % 3 + 1, wrapping) in table t. */
#define MIX8_NEXT_ROW(t, r) ((r) == (t) + 2 ? (t) : (r) + 1)

/* Emit the whole stream into e (which must hold it); returns jb_emit_finish. */
int mix8_x64_jitbuf(jb_emit *e);
int mix8_a64_jitbuf(jb_emit *e);

uint64_t mix8_fnv1a64(const uint8_t *p, size_t n);

#ifdef __cplusplus
}
#endif

#endif
