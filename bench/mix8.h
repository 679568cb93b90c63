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

/* Emit the whole stream into e (which must hold it); returns jb_emit_finish. */
int mix8_x64_jitbuf(jb_emit *e);
int mix8_a64_jitbuf(jb_emit *e);

uint64_t mix8_fnv1a64(const uint8_t *p, size_t n);

#endif
