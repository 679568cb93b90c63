/* The WebAssembly MVP numeric and memory instructions as the yardstick of
 * the emitters: each op has an emitter sequence per arch (wasm_x64.c,
 * wasm_a64.c) that this driver installs and runs against the operation's
 * semantics written in C, over the edge operands of its types (NaN, +-0,
 * infinities, INT_MIN / -1, shifts >= width, the limits of every
 * conversion). Traps are part of the semantics: an op that must trap (an
 * integer division by zero, a float-to-int conversion out of range) must
 * end in a trap signal, and one that must not trap must return the right
 * value.
 *
 * Every emitted op is a function u64 f(u64 a, u64 b, u8 *mem): integer
 * operands and results in general registers, float ones as bit patterns
 * (i32/f32 in the low 32 bits). Loads read mem + b; stores write a there. */
#ifndef JB_TEST_WASM_H
#define JB_TEST_WASM_H

#include <math.h>
#include <setjmp.h>
#include <signal.h>

#include "exec.h"

enum { NO, I32, I64, F32, F64 };

/* op, text, type of a, of b, of the result (NO: none) */
#define WASM_OPS(X)                                                                              \
    X(I32_EQZ, "i32.eqz", I32, NO, I32) X(I32_EQ, "i32.eq", I32, I32, I32)                       \
    X(I32_NE, "i32.ne", I32, I32, I32) X(I32_LT_S, "i32.lt_s", I32, I32, I32)                    \
    X(I32_LT_U, "i32.lt_u", I32, I32, I32) X(I32_GT_S, "i32.gt_s", I32, I32, I32)                \
    X(I32_GT_U, "i32.gt_u", I32, I32, I32) X(I32_LE_S, "i32.le_s", I32, I32, I32)                \
    X(I32_LE_U, "i32.le_u", I32, I32, I32) X(I32_GE_S, "i32.ge_s", I32, I32, I32)                \
    X(I32_GE_U, "i32.ge_u", I32, I32, I32)                                                       \
    X(I64_EQZ, "i64.eqz", I64, NO, I32) X(I64_EQ, "i64.eq", I64, I64, I32)                       \
    X(I64_NE, "i64.ne", I64, I64, I32) X(I64_LT_S, "i64.lt_s", I64, I64, I32)                    \
    X(I64_LT_U, "i64.lt_u", I64, I64, I32) X(I64_GT_S, "i64.gt_s", I64, I64, I32)                \
    X(I64_GT_U, "i64.gt_u", I64, I64, I32) X(I64_LE_S, "i64.le_s", I64, I64, I32)                \
    X(I64_LE_U, "i64.le_u", I64, I64, I32) X(I64_GE_S, "i64.ge_s", I64, I64, I32)                \
    X(I64_GE_U, "i64.ge_u", I64, I64, I32)                                                       \
    X(F32_EQ, "f32.eq", F32, F32, I32) X(F32_NE, "f32.ne", F32, F32, I32)                        \
    X(F32_LT, "f32.lt", F32, F32, I32) X(F32_GT, "f32.gt", F32, F32, I32)                        \
    X(F32_LE, "f32.le", F32, F32, I32) X(F32_GE, "f32.ge", F32, F32, I32)                        \
    X(F64_EQ, "f64.eq", F64, F64, I32) X(F64_NE, "f64.ne", F64, F64, I32)                        \
    X(F64_LT, "f64.lt", F64, F64, I32) X(F64_GT, "f64.gt", F64, F64, I32)                        \
    X(F64_LE, "f64.le", F64, F64, I32) X(F64_GE, "f64.ge", F64, F64, I32)                        \
    X(I32_CLZ, "i32.clz", I32, NO, I32) X(I32_CTZ, "i32.ctz", I32, NO, I32)                      \
    X(I32_POPCNT, "i32.popcnt", I32, NO, I32) X(I32_ADD, "i32.add", I32, I32, I32)               \
    X(I32_SUB, "i32.sub", I32, I32, I32) X(I32_MUL, "i32.mul", I32, I32, I32)                    \
    X(I32_DIV_S, "i32.div_s", I32, I32, I32) X(I32_DIV_U, "i32.div_u", I32, I32, I32)            \
    X(I32_REM_S, "i32.rem_s", I32, I32, I32) X(I32_REM_U, "i32.rem_u", I32, I32, I32)            \
    X(I32_AND, "i32.and", I32, I32, I32) X(I32_OR, "i32.or", I32, I32, I32)                      \
    X(I32_XOR, "i32.xor", I32, I32, I32) X(I32_SHL, "i32.shl", I32, I32, I32)                    \
    X(I32_SHR_S, "i32.shr_s", I32, I32, I32) X(I32_SHR_U, "i32.shr_u", I32, I32, I32)            \
    X(I32_ROTL, "i32.rotl", I32, I32, I32) X(I32_ROTR, "i32.rotr", I32, I32, I32)                \
    X(I64_CLZ, "i64.clz", I64, NO, I64) X(I64_CTZ, "i64.ctz", I64, NO, I64)                      \
    X(I64_POPCNT, "i64.popcnt", I64, NO, I64) X(I64_ADD, "i64.add", I64, I64, I64)               \
    X(I64_SUB, "i64.sub", I64, I64, I64) X(I64_MUL, "i64.mul", I64, I64, I64)                    \
    X(I64_DIV_S, "i64.div_s", I64, I64, I64) X(I64_DIV_U, "i64.div_u", I64, I64, I64)            \
    X(I64_REM_S, "i64.rem_s", I64, I64, I64) X(I64_REM_U, "i64.rem_u", I64, I64, I64)            \
    X(I64_AND, "i64.and", I64, I64, I64) X(I64_OR, "i64.or", I64, I64, I64)                      \
    X(I64_XOR, "i64.xor", I64, I64, I64) X(I64_SHL, "i64.shl", I64, I64, I64)                    \
    X(I64_SHR_S, "i64.shr_s", I64, I64, I64) X(I64_SHR_U, "i64.shr_u", I64, I64, I64)            \
    X(I64_ROTL, "i64.rotl", I64, I64, I64) X(I64_ROTR, "i64.rotr", I64, I64, I64)                \
    X(F32_ABS, "f32.abs", F32, NO, F32) X(F32_NEG, "f32.neg", F32, NO, F32)                      \
    X(F32_CEIL, "f32.ceil", F32, NO, F32) X(F32_FLOOR, "f32.floor", F32, NO, F32)                \
    X(F32_TRUNC, "f32.trunc", F32, NO, F32) X(F32_NEAREST, "f32.nearest", F32, NO, F32)          \
    X(F32_SQRT, "f32.sqrt", F32, NO, F32) X(F32_ADD, "f32.add", F32, F32, F32)                   \
    X(F32_SUB, "f32.sub", F32, F32, F32) X(F32_MUL, "f32.mul", F32, F32, F32)                    \
    X(F32_DIV, "f32.div", F32, F32, F32) X(F32_MIN, "f32.min", F32, F32, F32)                    \
    X(F32_MAX, "f32.max", F32, F32, F32) X(F32_COPYSIGN, "f32.copysign", F32, F32, F32)          \
    X(F64_ABS, "f64.abs", F64, NO, F64) X(F64_NEG, "f64.neg", F64, NO, F64)                      \
    X(F64_CEIL, "f64.ceil", F64, NO, F64) X(F64_FLOOR, "f64.floor", F64, NO, F64)                \
    X(F64_TRUNC, "f64.trunc", F64, NO, F64) X(F64_NEAREST, "f64.nearest", F64, NO, F64)          \
    X(F64_SQRT, "f64.sqrt", F64, NO, F64) X(F64_ADD, "f64.add", F64, F64, F64)                   \
    X(F64_SUB, "f64.sub", F64, F64, F64) X(F64_MUL, "f64.mul", F64, F64, F64)                    \
    X(F64_DIV, "f64.div", F64, F64, F64) X(F64_MIN, "f64.min", F64, F64, F64)                    \
    X(F64_MAX, "f64.max", F64, F64, F64) X(F64_COPYSIGN, "f64.copysign", F64, F64, F64)          \
    X(I32_WRAP_I64, "i32.wrap_i64", I64, NO, I32)                                                \
    X(I32_TRUNC_F32_S, "i32.trunc_f32_s", F32, NO, I32)                                          \
    X(I32_TRUNC_F32_U, "i32.trunc_f32_u", F32, NO, I32)                                          \
    X(I32_TRUNC_F64_S, "i32.trunc_f64_s", F64, NO, I32)                                          \
    X(I32_TRUNC_F64_U, "i32.trunc_f64_u", F64, NO, I32)                                          \
    X(I64_EXTEND_I32_S, "i64.extend_i32_s", I32, NO, I64)                                        \
    X(I64_EXTEND_I32_U, "i64.extend_i32_u", I32, NO, I64)                                        \
    X(I64_TRUNC_F32_S, "i64.trunc_f32_s", F32, NO, I64)                                          \
    X(I64_TRUNC_F32_U, "i64.trunc_f32_u", F32, NO, I64)                                          \
    X(I64_TRUNC_F64_S, "i64.trunc_f64_s", F64, NO, I64)                                          \
    X(I64_TRUNC_F64_U, "i64.trunc_f64_u", F64, NO, I64)                                          \
    X(F32_CONVERT_I32_S, "f32.convert_i32_s", I32, NO, F32)                                      \
    X(F32_CONVERT_I32_U, "f32.convert_i32_u", I32, NO, F32)                                      \
    X(F32_CONVERT_I64_S, "f32.convert_i64_s", I64, NO, F32)                                      \
    X(F32_CONVERT_I64_U, "f32.convert_i64_u", I64, NO, F32)                                      \
    X(F32_DEMOTE_F64, "f32.demote_f64", F64, NO, F32)                                            \
    X(F64_CONVERT_I32_S, "f64.convert_i32_s", I32, NO, F64)                                      \
    X(F64_CONVERT_I32_U, "f64.convert_i32_u", I32, NO, F64)                                      \
    X(F64_CONVERT_I64_S, "f64.convert_i64_s", I64, NO, F64)                                      \
    X(F64_CONVERT_I64_U, "f64.convert_i64_u", I64, NO, F64)                                      \
    X(F64_PROMOTE_F32, "f64.promote_f32", F32, NO, F64)                                          \
    X(I32_REINTERPRET_F32, "i32.reinterpret_f32", F32, NO, I32)                                  \
    X(I64_REINTERPRET_F64, "i64.reinterpret_f64", F64, NO, I64)                                  \
    X(F32_REINTERPRET_I32, "f32.reinterpret_i32", I32, NO, F32)                                  \
    X(F64_REINTERPRET_I64, "f64.reinterpret_i64", I64, NO, F64)                                  \
    X(I32_LOAD, "i32.load", NO, NO, I32) X(I64_LOAD, "i64.load", NO, NO, I64)                    \
    X(F32_LOAD, "f32.load", NO, NO, F32) X(F64_LOAD, "f64.load", NO, NO, F64)                    \
    X(I32_LOAD8_S, "i32.load8_s", NO, NO, I32) X(I32_LOAD8_U, "i32.load8_u", NO, NO, I32)        \
    X(I32_LOAD16_S, "i32.load16_s", NO, NO, I32) X(I32_LOAD16_U, "i32.load16_u", NO, NO, I32)    \
    X(I64_LOAD8_S, "i64.load8_s", NO, NO, I64) X(I64_LOAD8_U, "i64.load8_u", NO, NO, I64)        \
    X(I64_LOAD16_S, "i64.load16_s", NO, NO, I64) X(I64_LOAD16_U, "i64.load16_u", NO, NO, I64)    \
    X(I64_LOAD32_S, "i64.load32_s", NO, NO, I64) X(I64_LOAD32_U, "i64.load32_u", NO, NO, I64)    \
    X(I32_STORE, "i32.store", I32, NO, NO) X(I64_STORE, "i64.store", I64, NO, NO)                \
    X(F32_STORE, "f32.store", F32, NO, NO) X(F64_STORE, "f64.store", F64, NO, NO)                \
    X(I32_STORE8, "i32.store8", I32, NO, NO) X(I32_STORE16, "i32.store16", I32, NO, NO)          \
    X(I64_STORE8, "i64.store8", I64, NO, NO) X(I64_STORE16, "i64.store16", I64, NO, NO)          \
    X(I64_STORE32, "i64.store32", I64, NO, NO)

enum {
#define X(id, text, a, b, r) id,
    WASM_OPS(X)
#undef X
    N_WASM
};
static const struct { const char *text; int a, b, r; } wasm_op[N_WASM] = {
#define X(id, text, a, b, r) {text, a, b, r},
    WASM_OPS(X)
#undef X
};

/* The integer type an integer load / store op reads or writes: 1 and *t. */
static inline int wasm_load_type(int op, jb_type *t)
{
    static const struct { int op; jb_type t; } ld[] = {
        {I32_LOAD, JB_U32}, {I64_LOAD, JB_U64}, {I32_LOAD8_S, JB_S8}, {I32_LOAD8_U, JB_U8},
        {I32_LOAD16_S, JB_S16}, {I32_LOAD16_U, JB_U16}, {I64_LOAD8_S, JB_S8},
        {I64_LOAD8_U, JB_U8}, {I64_LOAD16_S, JB_S16}, {I64_LOAD16_U, JB_U16},
        {I64_LOAD32_S, JB_S32}, {I64_LOAD32_U, JB_U32}};
    for (unsigned k = 0; k < sizeof ld / sizeof ld[0]; k++)
        if (ld[k].op == op)
            return *t = ld[k].t, 1;
    return 0;
}
static inline int wasm_store_type(int op, jb_type *t)
{
    static const struct { int op; jb_type t; } st[] = {
        {I32_STORE, JB_I32}, {I64_STORE, JB_I64}, {I32_STORE8, JB_I8}, {I32_STORE16, JB_I16},
        {I64_STORE8, JB_I8}, {I64_STORE16, JB_I16}, {I64_STORE32, JB_I32}};
    for (unsigned k = 0; k < sizeof st / sizeof st[0]; k++)
        if (st[k].op == op)
            return *t = st[k].t, 1;
    return 0;
}

/* Emits op as the function described at the top; defined per arch. */
static void wasm_emit(jb_emit *e, int op);

/* ---- the semantics, in C -------------------------------------------------------- */

static float f32_of(uint64_t v) { float f; uint32_t u = (uint32_t)v; memcpy(&f, &u, 4); return f; }
static double f64_of(uint64_t v) { double d; memcpy(&d, &v, 8); return d; }
static uint64_t bits32(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static uint64_t bits64(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }

static double wmin(double a, double b)
{
    if (isnan(a) || isnan(b)) return NAN;
    if (a == b) return signbit(a) ? a : b; /* min(-0, +0) = -0 */
    return a < b ? a : b;
}
static double wmax(double a, double b)
{
    if (isnan(a) || isnan(b)) return NAN;
    if (a == b) return signbit(a) ? b : a;
    return a > b ? a : b;
}
static unsigned clz64(uint64_t v, unsigned w) { unsigned n = 0; while (n < w && !(v >> (w - 1 - n) & 1)) n++; return n; }
static unsigned ctz64(uint64_t v, unsigned w) { unsigned n = 0; while (n < w && !(v >> n & 1)) n++; return n; }
static uint32_t rotl32(uint32_t v, unsigned n) { n &= 31; return n ? v << n | v >> (32 - n) : v; }
static uint64_t rotl64(uint64_t v, unsigned n) { n &= 63; return n ? v << n | v >> (64 - n) : v; }

static const uint8_t MEM_INIT[16] = {0x81, 0xf2, 0x63, 0xd4, 0x45, 0xb6, 0x27, 0x98,
                                     0x09, 0x7a, 0xeb, 0x5c, 0xcd, 0x3e, 0xaf, 0x10};

/* The result of op on (a, b) with mem (a copy of MEM_INIT at offset b),
 * in *r; 1 if op traps. Float results are bit patterns. */
static int wasm_ref(int op, uint64_t a, uint64_t b, uint8_t *mem, uint64_t *r)
{
    uint32_t a32 = (uint32_t)a, b32 = (uint32_t)b;
    int32_t s32 = (int32_t)a32, t32 = (int32_t)b32;
    int64_t s64 = (int64_t)a, t64 = (int64_t)b;
    float fa = f32_of(a), fb = f32_of(b);
    double da = f64_of(a), db = f64_of(b), x;
    uint8_t *p = mem + b;
    switch (op) {
    case I32_EQZ: *r = a32 == 0; return 0;
    case I32_EQ: *r = a32 == b32; return 0;
    case I32_NE: *r = a32 != b32; return 0;
    case I32_LT_S: *r = s32 < t32; return 0;
    case I32_LT_U: *r = a32 < b32; return 0;
    case I32_GT_S: *r = s32 > t32; return 0;
    case I32_GT_U: *r = a32 > b32; return 0;
    case I32_LE_S: *r = s32 <= t32; return 0;
    case I32_LE_U: *r = a32 <= b32; return 0;
    case I32_GE_S: *r = s32 >= t32; return 0;
    case I32_GE_U: *r = a32 >= b32; return 0;
    case I64_EQZ: *r = a == 0; return 0;
    case I64_EQ: *r = a == b; return 0;
    case I64_NE: *r = a != b; return 0;
    case I64_LT_S: *r = s64 < t64; return 0;
    case I64_LT_U: *r = a < b; return 0;
    case I64_GT_S: *r = s64 > t64; return 0;
    case I64_GT_U: *r = a > b; return 0;
    case I64_LE_S: *r = s64 <= t64; return 0;
    case I64_LE_U: *r = a <= b; return 0;
    case I64_GE_S: *r = s64 >= t64; return 0;
    case I64_GE_U: *r = a >= b; return 0;
    case F32_EQ: *r = fa == fb; return 0;
    case F32_NE: *r = fa != fb; return 0;
    case F32_LT: *r = fa < fb; return 0;
    case F32_GT: *r = fa > fb; return 0;
    case F32_LE: *r = fa <= fb; return 0;
    case F32_GE: *r = fa >= fb; return 0;
    case F64_EQ: *r = da == db; return 0;
    case F64_NE: *r = da != db; return 0;
    case F64_LT: *r = da < db; return 0;
    case F64_GT: *r = da > db; return 0;
    case F64_LE: *r = da <= db; return 0;
    case F64_GE: *r = da >= db; return 0;
    case I32_CLZ: *r = clz64(a32, 32); return 0;
    case I32_CTZ: *r = ctz64(a32, 32); return 0;
    case I32_POPCNT: *r = (uint64_t)__builtin_popcount(a32); return 0;
    case I32_ADD: *r = (uint32_t)(a32 + b32); return 0;
    case I32_SUB: *r = (uint32_t)(a32 - b32); return 0;
    case I32_MUL: *r = (uint32_t)(a32 * b32); return 0;
    case I32_DIV_S: if (!b32 || (s32 == INT32_MIN && t32 == -1)) return 1; *r = (uint32_t)(s32 / t32); return 0;
    case I32_DIV_U: if (!b32) return 1; *r = a32 / b32; return 0;
    case I32_REM_S: if (!b32) return 1; *r = t32 == -1 ? 0 : (uint32_t)(s32 % t32); return 0;
    case I32_REM_U: if (!b32) return 1; *r = a32 % b32; return 0;
    case I32_AND: *r = a32 & b32; return 0;
    case I32_OR: *r = a32 | b32; return 0;
    case I32_XOR: *r = a32 ^ b32; return 0;
    case I32_SHL: *r = (uint32_t)(a32 << (b32 & 31)); return 0;
    case I32_SHR_S: *r = (uint32_t)(s32 >> (b32 & 31)); return 0;
    case I32_SHR_U: *r = a32 >> (b32 & 31); return 0;
    case I32_ROTL: *r = rotl32(a32, b32); return 0;
    case I32_ROTR: *r = rotl32(a32, 32 - (b32 & 31)); return 0;
    case I64_CLZ: *r = clz64(a, 64); return 0;
    case I64_CTZ: *r = ctz64(a, 64); return 0;
    case I64_POPCNT: *r = (uint64_t)__builtin_popcountll(a); return 0;
    case I64_ADD: *r = a + b; return 0;
    case I64_SUB: *r = a - b; return 0;
    case I64_MUL: *r = a * b; return 0;
    case I64_DIV_S: if (!b || (s64 == INT64_MIN && t64 == -1)) return 1; *r = (uint64_t)(s64 / t64); return 0;
    case I64_DIV_U: if (!b) return 1; *r = a / b; return 0;
    case I64_REM_S: if (!b) return 1; *r = t64 == -1 ? 0 : (uint64_t)(s64 % t64); return 0;
    case I64_REM_U: if (!b) return 1; *r = a % b; return 0;
    case I64_AND: *r = a & b; return 0;
    case I64_OR: *r = a | b; return 0;
    case I64_XOR: *r = a ^ b; return 0;
    case I64_SHL: *r = a << (b & 63); return 0;
    case I64_SHR_S: *r = (uint64_t)(s64 >> (b & 63)); return 0;
    case I64_SHR_U: *r = a >> (b & 63); return 0;
    case I64_ROTL: *r = rotl64(a, (unsigned)b); return 0;
    case I64_ROTR: *r = rotl64(a, 64 - (unsigned)(b & 63)); return 0;
    case F32_ABS: *r = a32 & 0x7fffffffu; return 0;
    case F32_NEG: *r = a32 ^ 0x80000000u; return 0;
    case F32_CEIL: *r = bits32(ceilf(fa)); return 0;
    case F32_FLOOR: *r = bits32(floorf(fa)); return 0;
    case F32_TRUNC: *r = bits32(truncf(fa)); return 0;
    case F32_NEAREST: *r = bits32(nearbyintf(fa)); return 0;
    case F32_SQRT: *r = bits32(sqrtf(fa)); return 0;
    case F32_ADD: *r = bits32(fa + fb); return 0;
    case F32_SUB: *r = bits32(fa - fb); return 0;
    case F32_MUL: *r = bits32(fa * fb); return 0;
    case F32_DIV: *r = bits32(fa / fb); return 0;
    case F32_MIN: *r = bits32((float)wmin(fa, fb)); return 0;
    case F32_MAX: *r = bits32((float)wmax(fa, fb)); return 0;
    case F32_COPYSIGN: *r = (a32 & 0x7fffffffu) | (b32 & 0x80000000u); return 0;
    case F64_ABS: *r = a & ~(1ull << 63); return 0;
    case F64_NEG: *r = a ^ (1ull << 63); return 0;
    case F64_CEIL: *r = bits64(ceil(da)); return 0;
    case F64_FLOOR: *r = bits64(floor(da)); return 0;
    case F64_TRUNC: *r = bits64(trunc(da)); return 0;
    case F64_NEAREST: *r = bits64(nearbyint(da)); return 0;
    case F64_SQRT: *r = bits64(sqrt(da)); return 0;
    case F64_ADD: *r = bits64(da + db); return 0;
    case F64_SUB: *r = bits64(da - db); return 0;
    case F64_MUL: *r = bits64(da * db); return 0;
    case F64_DIV: *r = bits64(da / db); return 0;
    case F64_MIN: *r = bits64(wmin(da, db)); return 0;
    case F64_MAX: *r = bits64(wmax(da, db)); return 0;
    case F64_COPYSIGN: *r = (a & ~(1ull << 63)) | (b & (1ull << 63)); return 0;
    case I32_WRAP_I64: *r = a32; return 0;
    case I32_TRUNC_F32_S: case I32_TRUNC_F64_S:
        x = op == I32_TRUNC_F32_S ? (double)fa : da;
        if (!(x > -2147483649.0 && x < 2147483648.0)) return 1;
        *r = (uint32_t)(int32_t)x; return 0;
    case I32_TRUNC_F32_U: case I32_TRUNC_F64_U:
        x = op == I32_TRUNC_F32_U ? (double)fa : da;
        if (!(x > -1.0 && x < 4294967296.0)) return 1;
        *r = (uint32_t)x; return 0;
    case I64_EXTEND_I32_S: *r = (uint64_t)(int64_t)s32; return 0;
    case I64_EXTEND_I32_U: *r = a32; return 0;
    case I64_TRUNC_F32_S: case I64_TRUNC_F64_S:
        x = op == I64_TRUNC_F32_S ? (double)fa : da;
        if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0)) return 1;
        *r = (uint64_t)(int64_t)x; return 0;
    case I64_TRUNC_F32_U: case I64_TRUNC_F64_U:
        x = op == I64_TRUNC_F32_U ? (double)fa : da;
        if (!(x > -1.0 && x < 18446744073709551616.0)) return 1;
        *r = (uint64_t)x; return 0;
    case F32_CONVERT_I32_S: *r = bits32((float)s32); return 0;
    case F32_CONVERT_I32_U: *r = bits32((float)a32); return 0;
    case F32_CONVERT_I64_S: *r = bits32((float)s64); return 0;
    case F32_CONVERT_I64_U: *r = bits32((float)a); return 0;
    case F32_DEMOTE_F64: *r = bits32((float)da); return 0;
    case F64_CONVERT_I32_S: *r = bits64((double)s32); return 0;
    case F64_CONVERT_I32_U: *r = bits64((double)a32); return 0;
    case F64_CONVERT_I64_S: *r = bits64((double)s64); return 0;
    case F64_CONVERT_I64_U: *r = bits64((double)a); return 0;
    case F64_PROMOTE_F32: *r = bits64((double)fa); return 0;
    case I32_REINTERPRET_F32: case F32_REINTERPRET_I32: *r = a32; return 0;
    case I64_REINTERPRET_F64: case F64_REINTERPRET_I64: *r = a; return 0;
    case I32_LOAD: case F32_LOAD: case I64_LOAD32_U: *r = (uint32_t)widen(4, p); return 0;
    case I64_LOAD: case F64_LOAD: *r = (uint64_t)widen(6, p); return 0;
    case I32_LOAD8_S: *r = (uint32_t)widen(1, p); return 0;
    case I32_LOAD8_U: case I64_LOAD8_U: *r = (uint64_t)widen(0, p); return 0;
    case I32_LOAD16_S: *r = (uint32_t)widen(3, p); return 0;
    case I32_LOAD16_U: case I64_LOAD16_U: *r = (uint64_t)widen(2, p); return 0;
    case I64_LOAD8_S: *r = (uint64_t)widen(1, p); return 0;
    case I64_LOAD16_S: *r = (uint64_t)widen(3, p); return 0;
    case I64_LOAD32_S: *r = (uint64_t)widen(5, p); return 0;
    case I32_STORE: case F32_STORE: case I64_STORE32: memcpy(p, &a, 4); return 0;
    case I64_STORE: case F64_STORE: memcpy(p, &a, 8); return 0;
    case I32_STORE8: case I64_STORE8: memcpy(p, &a, 1); return 0;
    case I32_STORE16: case I64_STORE16: memcpy(p, &a, 2); return 0;
    }
    return 1;
}

/* ---- operands -------------------------------------------------------------------- */

static const uint64_t EDGE_I32[] = {0, 1, 2, 7, 31, 32, 33, 63, 64, 0x80, 0x7fffffff, 0x80000000,
                                    0xffffffff, 0xfffffffe, 0x12345678, 0xdeadbeef};
static const uint64_t EDGE_I64[] = {0, 1, 2, 7, 31, 32, 63, 64, 65, 0x80000000, 0xffffffff,
                                    0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, ~1ull,
                                    0xffffffff80000000ull, 0x123456789abcdef0ull, 0xfedcba9876543210ull};
static const uint64_t EDGE_F32[] = {0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000,
                                    0xffc00001, 0x7fa00000, 0x3f800000, 0xbf800000, 0x3f000000,
                                    0xbf000000, 0x3fc00000, 0x40200000, 0xc0200000, 0x4f000000,
                                    0xcf000000, 0xcf000001, 0x4f7fffff, 0x4f800000, 0x5effffff,
                                    0x5f000000, 0xdf000000, 0xdf000001, 0x5f7fffff, 0x5f800000,
                                    0x00000001, 0x807fffff, 0x7f7fffff, 0xbf7fffff, 0x42f6e979};
static const uint64_t EDGE_F64[] = {0x0ull, 0x8000000000000000ull, 0x7ff0000000000000ull,
                                    0xfff0000000000000ull, 0x7ff8000000000000ull, 0xfff8000000000001ull,
                                    0x7ff4000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull,
                                    0x3fe0000000000000ull, 0xbfe0000000000000ull, 0x3ff8000000000000ull,
                                    0x4004000000000000ull, 0xc004000000000000ull, 0x41e0000000000000ull,
                                    0xc1e0000000000000ull, 0xc1e0000000200000ull, 0xc1e00000001fffffull,
                                    0x41dfffffffe00000ull, 0x41efffffffe00000ull, 0x41f0000000000000ull,
                                    0x43e0000000000000ull, 0xc3e0000000000000ull, 0xc3e0000000000001ull,
                                    0x43efffffffffffffull, 0x43f0000000000000ull, 0x0000000000000001ull,
                                    0x7fefffffffffffffull, 0xbfefffffffffffffull, 0x405edd2f1a9fbe77ull};

static void operands_of(int type, const uint64_t **v, unsigned *n)
{
#define SET(a) (*v = a, *n = sizeof a / sizeof a[0])
    switch (type) {
    case I32: SET(EDGE_I32); break;
    case I64: SET(EDGE_I64); break;
    case F32: SET(EDGE_F32); break;
    case F64: SET(EDGE_F64); break;
    default: { static const uint64_t none[] = {0}; SET(none); }
    }
#undef SET
}

static int is_nan_of(int type, uint64_t v)
{
    return type == F32 ? isnan(f32_of(v)) : type == F64 ? isnan(f64_of(v)) : 0;
}
static uint64_t mask_of(int type)
{
    return type == I32 || type == F32 ? 0xffffffffu : ~0ull;
}

/* ---- running emitted code with traps -------------------------------------------- */

static sigjmp_buf trap_env;
static volatile sig_atomic_t trap_sig;
static void on_trap(int sig)
{
    trap_sig = sig;
    siglongjmp(trap_env, 1);
}
static void catch_traps(int on)
{
    static const int sigs[] = {SIGILL, SIGFPE, SIGTRAP, SIGSEGV, SIGBUS};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on ? on_trap : SIG_DFL;
    sa.sa_flags = SA_NODEFER;
    for (unsigned k = 0; k < sizeof sigs / sizeof sigs[0]; k++)
        sigaction(sigs[k], &sa, NULL);
}

typedef uint64_t (*wasm_fn)(uint64_t, uint64_t, uint8_t *);

/* Call f; 1 and the signal in *sig if it trapped. */
static int run_trapping(wasm_fn f, uint64_t a, uint64_t b, uint8_t *mem, uint64_t *r, int *sig)
{
    trap_sig = 0;
    if (sigsetjmp(trap_env, 1)) {
        *sig = trap_sig;
        return 1;
    }
    *r = f(a, b, mem);
    return 0;
}

static int wasm_checked; /* operand combinations run */

/* Every op over every pair of its edge operands (memory ops: every offset
 * 0..8), against wasm_ref. */
static void wasm_table(void)
{
    static uint8_t code[1024];
    catch_traps(1);
    for (int op = 0; op < N_WASM; op++) {
        jb_emit e;
        jb_emit_init(&e, code, sizeof code);
        wasm_emit(&e, op);
        wasm_fn f = (wasm_fn)install(&e);
        jb_emit_free(&e);
        CHECK(f, "%s: did not emit", wasm_op[op].text);
        const uint64_t *va, *vb;
        unsigned na, nb;
        int is_mem = wasm_op[op].a == NO || wasm_op[op].r == NO;
        operands_of(wasm_op[op].a, &va, &na);
        operands_of(wasm_op[op].b, &vb, &nb);
        static const uint64_t offsets[] = {0, 1, 2, 3, 5, 8};
        if (is_mem)
            vb = offsets, nb = sizeof offsets / sizeof offsets[0];
        for (unsigned i = 0; i < na; i++)
            for (unsigned j = 0; j < nb; j++) {
                uint64_t a = va[i], b = vb[j], want = 0, got = 0;
                uint8_t m_want[16], m_got[16];
                memcpy(m_want, MEM_INIT, 16);
                memcpy(m_got, MEM_INIT, 16);
                int traps = wasm_ref(op, a, b, m_want, &want);
                int sig = 0;
                int trapped = run_trapping(f, a, b, m_got, &got, &sig);
                wasm_checked++;
                CHECK(trapped == traps, "%s(%#llx, %#llx): %s", wasm_op[op].text,
                      (unsigned long long)a, (unsigned long long)b,
                      traps ? "must trap but returned" : "trapped (signal) but must not");
                if (traps)
                    continue;
                if (wasm_op[op].r == NO) {
                    CHECK(!memcmp(m_got, m_want, 16), "%s(%#llx) at %llu: memory differs",
                          wasm_op[op].text, (unsigned long long)a, (unsigned long long)b);
                    continue;
                }
                int rt = wasm_op[op].r;
                uint64_t mk = mask_of(rt);
                if (is_nan_of(rt, want)) {
                    CHECK(is_nan_of(rt, got), "%s(%#llx, %#llx) = %#llx, want a NaN",
                          wasm_op[op].text, (unsigned long long)a, (unsigned long long)b,
                          (unsigned long long)got);
                    continue;
                }
                CHECK((got & mk) == (want & mk), "%s(%#llx, %#llx) = %#llx, want %#llx",
                      wasm_op[op].text, (unsigned long long)a, (unsigned long long)b,
                      (unsigned long long)(got & mk), (unsigned long long)want);
            }
    }
    catch_traps(0);
    printf("  %d WebAssembly ops, %d operand combinations, each against C\n", N_WASM, wasm_checked);
}

#endif
