/* A hand-written C emitter for mix8 (x86_64 and AArch64): the raw baseline
 * that bar describes, built in the same binary as jitbuf and the
 * peers so that all are compared in one run. General encoders, real labels
 * (created and bound at run time, forward references chained through their
 * own displacement fields), one capacity check per group of 8. It reports
 * only what such an emitter would: a full buffer, a full label table that
 * cannot grow, a branch out of range. */
#ifndef JB_BENCH_HANDC_H
#define JB_BENCH_HANDC_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *p;       /* next byte */
    uint8_t *end;     /* one past the last byte */
    uint8_t *start;   /* first byte */
    uintptr_t *lab;   /* label words (handc.c says what they hold) */
    uint32_t nlab, caplab;
    int err;          /* 0, or 1 once anything failed */
} handc;

/* Set up before timing: the buffer (at most 128 MiB, so that no bl/b and no
 * rel32 can be out of range) and a label table of `labels` entries (it
 * grows if a run needs more). Returns 0, or -1. */
int handc_init(handc *h, uint8_t *buf, size_t cap, uint32_t labels);
void handc_free(handc *h);

/* One mix8 run, the per-run reset included; the bytes produced, or 0. */
size_t handc_mix8_x64(handc *h);
size_t handc_mix8_a64(handc *h);

#endif
