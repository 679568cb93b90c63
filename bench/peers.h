/* The peers (asmjit, xbyak), wrapped in C for the C benchmarks. Each is
 * compiled only when its headers exist (JBB_HAVE_ASMJIT, JBB_HAVE_XBYAK). */
#ifndef JB_BENCH_PEERS_H
#define JB_BENCH_PEERS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* mix8 emitters: new() sets up before timing (emitter objects, nothing
 * emitted); run() is one timed run into buf (cap bytes), including the
 * per-run reset, and returns the bytes produced (0 on failure). */
void *mix8_x64_asmjit_new(void);
size_t mix8_x64_asmjit_run(void *p, uint8_t *buf, size_t cap);
void mix8_x64_asmjit_free(void *p);
void *mix8_a64_asmjit_new(void);
size_t mix8_a64_asmjit_run(void *p, uint8_t *buf, size_t cap);
void mix8_a64_asmjit_free(void *p);
void *mix8_x64_xbyak_new(uint8_t *buf, size_t cap);
size_t mix8_x64_xbyak_run(void *p);
void mix8_x64_xbyak_free(void *p);

/* asmjit's JitRuntime: install = add (copy into executable memory) + one
 * call + release, for the code in code[0..n). dual: JitAllocator's
 * dual-mapping option instead of its default single RWX mapping. */
void *asmjit_rt_new(int dual, const uint8_t *code, size_t n);
int asmjit_install(void *rt);
void asmjit_rt_free(void *rt);

/* asmjit's JitAllocator (shared by threads): alloc 64 bytes + release. */
void *asmjit_alloc_new(void);
int asmjit_alloc_free64(void *a);
void asmjit_alloc_free(void *a);

#ifdef __cplusplus
}
#endif
#endif
