/* Hand-encoded functions for both architectures, shared by every test
 * (the Criterion suites through tests/util.h, the self-contained runners
 * through tests/runner/harness.h): one encoding of each, in one place. */
#ifndef JB_TEST_CODE_H
#define JB_TEST_CODE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef int (*int_fn)(void);

/* ---- hand-encoded code, one set per architecture ---------------------- */
#if defined(__aarch64__)
/* movz w0, #lo; movk w0, #hi, lsl #16; ret */
static inline size_t code_ret(uint8_t *b, uint32_t v)
{
    uint32_t w[3] = {0x52800000u | (v & 0xffff) << 5,
                     0x72a00000u | (v >> 16) << 5, 0xd65f03c0u};
    memcpy(b, w, sizeof w);
    return sizeof w;
}
/* [0] b +16 | [16] return 1 | [32] return 2; patch word 0 to b +32. */
static inline size_t code_branchy(uint8_t *b)
{
    memset(b, 0, 48);
    uint32_t br = 0x14000004u;
    memcpy(b, &br, 4);
    code_ret(b + 16, 1);
    code_ret(b + 32, 2);
    return 48;
}
enum { PATCH_OFF = 0 };
static const uint32_t PATCH_TO_2 = 0x14000008u, PATCH_TO_1 = 0x14000004u;
static const uint8_t TRAP_BYTE0 = 0x40; /* brk #0x6a62 = 0xd42d4c40 */
#elif defined(__x86_64__)
static inline size_t code_ret(uint8_t *b, uint32_t v)
{
    b[0] = 0xb8;
    memcpy(b + 1, &v, 4);
    b[5] = 0xc3;
    return 6;
}
/* nop x3; jmp rel32 (rel32 4-aligned) | [16] return 1 | [32] return 2 */
static inline size_t code_branchy(uint8_t *b)
{
    memset(b, 0xcc, 48);
    b[0] = b[1] = b[2] = 0x90;
    b[3] = 0xe9;
    int32_t rel = 8;
    memcpy(b + 4, &rel, 4);
    code_ret(b + 16, 1);
    code_ret(b + 32, 2);
    return 48;
}
enum { PATCH_OFF = 4 };
static const uint32_t PATCH_TO_2 = 24, PATCH_TO_1 = 8;
static const uint8_t TRAP_BYTE0 = 0xcc;
#else
#error "tests: x86_64 or arm64"
#endif

#endif
