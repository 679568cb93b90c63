/* What the timed benchmarks (bench.c) and the callgrind mode (count.c)
 * share: the one mix8 buffer and jitbuf's run over it. */
#ifndef JB_BENCH_WORKLOAD_H
#define JB_BENCH_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "mix8.h"

#define JBB_BUF_BYTES ((size_t)8 << 20)

typedef enum { JBB_X64, JBB_A64 } jbb_arch;

/* The one 8 MiB buffer every mix8 run of every implementation writes:
 * anonymous, pre-faulted (MAP_POPULATE + memset) on first use. */
uint8_t *jbb_mix8_buf(void);
/* One jitbuf run into the buffer, the per-run reset included; the bytes
 * produced, or 0 on an emitter error. */
size_t jbb_mix8_jitbuf(jbb_arch a, jb_emit *e);
/* 1 if the buffer's first n bytes are the reference stream for a. */
int jbb_mix8_ok(jbb_arch a, size_t n);

/* A 64-byte function (no-ops, then return value) for the host arch;
 * value < 65536 so that arm64 encodes it in one movz. */
void jbb_function64(uint8_t out[64], uint32_t value);

#endif
