/* The mix8 buffer and jitbuf's run over it (see workload.h). */
#define _GNU_SOURCE
#include "workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

uint8_t *jbb_mix8_buf(void)
{
    static uint8_t *buf;
    if (!buf) {
        void *p = mmap(NULL, JBB_BUF_BYTES, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (p == MAP_FAILED) {
            perror("bench: mmap");
            exit(1);
        }
        memset(p, 0, JBB_BUF_BYTES);
        buf = p;
    }
    return buf;
}

size_t jbb_mix8_jitbuf(jbb_arch a, jb_emit *e)
{
    jb_emit_reset(e); /* the per-run reset, timed */
    int rc = a == JBB_X64 ? mix8_x64_jitbuf(e) : mix8_a64_jitbuf(e);
    return rc == 0 ? (size_t)(e->cur - jbb_mix8_buf()) : 0;
}

int jbb_mix8_ok(jbb_arch a, size_t n)
{
    size_t want = a == JBB_X64 ? MIX8_X64_BYTES : MIX8_A64_BYTES;
    uint64_t fnv = a == JBB_X64 ? MIX8_X64_FNV : MIX8_A64_FNV;
    return n == want && mix8_fnv1a64(jbb_mix8_buf(), n) == fnv;
}

void jbb_function64(uint8_t out[64], uint32_t value)
{
#if defined(__x86_64__)
    memset(out, 0x90, 64);
    uint8_t body[6] = {0xb8, 0, 0, 0, 0, 0xc3}; /* mov eax, value; ret */
    memcpy(body + 1, &value, 4);
    memcpy(out + 58, body, sizeof body);
#else
    for (int i = 0; i < 14; i++)
        memcpy(out + 4 * i, &(uint32_t){0xd503201fu}, 4);             /* nop */
    memcpy(out + 56, &(uint32_t){0x52800000u | (value & 0xffffu) << 5}, 4); /* movz w0 */
    memcpy(out + 60, &(uint32_t){0xd65f03c0u}, 4);                      /* ret */
#endif
}
