/* The C face of Google Benchmark: benchmark bodies are C functions that
 * loop on jbb_running(); bench/shim.cc registers them and runs them. */
#ifndef JB_BENCH_SHIM_H
#define JB_BENCH_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jbb_state jbb_state; /* a benchmark::State */
typedef void (*jbb_fn)(jbb_state *s, void *arg);

/* Register fn under name; threads > 1 runs it in that many threads at once
 * (each calls fn with the same arg). */
void jbb_register(const char *name, jbb_fn fn, void *arg, int threads);
/* Loop condition: one iteration per call, or a batch of n operations that
 * Google Benchmark counts as n iterations (per-operation times). */
int jbb_running(jbb_state *s);
int jbb_running_batch(jbb_state *s, uint64_t n);
void jbb_set_counter(jbb_state *s, const char *name, double value);
/* A counter that ends up as nanoseconds per unit, where each iteration
 * did units_per_iter units (e.g. 1e6 emitted instructions). */
void jbb_ns_per(jbb_state *s, const char *name, double units_per_iter);
void jbb_label(jbb_state *s, const char *text);
void jbb_skip(jbb_state *s, const char *why);
int jbb_thread_index(const jbb_state *s);
/* Stop and restart the clock inside the loop (set-up between timed
 * batches; each pair costs a few hundred ns, so pause per batch only). */
void jbb_pause(jbb_state *s);
void jbb_resume(jbb_state *s);

/* Registers every benchmark (bench/bench.c). */
void jbb_register_all(void);
/* The install shapes, floors and costs against live blocks (bench/shapes.c). */
void jbb_register_shapes(void);
/* make bench-count: run the named workload once under callgrind's
 * toggle (jbb_counted). 0 on success, -1 for an unknown name. */
int jbb_count(const char *name);

#ifdef __cplusplus
}
#endif
#endif
