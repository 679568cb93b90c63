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
 * MIX8_*_A[row][f] and MIX8_*_B[row][f]. Every driver (jitbuf's and the
 * peers') uses them, so the loop around the emitters costs the same for
 * all. */
extern const uint8_t MIX8_X64_A[3][8], MIX8_X64_B[3][8];
extern const uint8_t MIX8_A64_A[3][8], MIX8_A64_B[3][8];

/* Emit the whole stream into e (which must hold it); returns jb_emit_finish. */
int mix8_x64_jitbuf(jb_emit *e);
int mix8_a64_jitbuf(jb_emit *e);

uint64_t mix8_fnv1a64(const uint8_t *p, size_t n);

#ifdef __cplusplus
}
#endif

#endif
