// asmjit as a peer: the mix8 workload (x86_64 and AArch64), JitRuntime
// install, and JitAllocator alloc/release.
#include "mix8.h"
#include "peers.h"

#include <asmjit/arm.h>
#include <asmjit/arm/a64assembler.h>
#include <asmjit/x86.h>

#include <new>

using namespace asmjit;

namespace {

const uint32_t GROUPS = 125000;

struct Mix8 {
    Environment env;
    CodeHolder code;
    explicit Mix8(Arch arch) : env(arch) {}
    // The per-run reset, timed: a fresh CodeHolder over the shared buffer
    // (marked external and fixed, so asmjit neither frees nor grows it).
    bool begin(BaseEmitter &a, uint8_t *buf, size_t cap)
    {
        code.reset();
        if (code.init(env) != kErrorOk)
            return false;
        CodeBuffer &cb = code.textSection()->buffer();
        cb._data = buf;
        cb._size = 0;
        cb._capacity = cap;
        cb._flags = CodeBufferFlags::kIsExternal | CodeBufferFlags::kIsFixed;
        return code.attach(&a) == kErrorOk;
    }
    size_t end(BaseEmitter &a)
    {
        size_t n = code.textSection()->bufferSize();
        code.detach(&a);
        return n;
    }
};

} // namespace

extern "C" {

void *mix8_x64_asmjit_new(void)
{
    return new (std::nothrow) Mix8(Arch::kX64);
}

size_t mix8_x64_asmjit_run(void *p, uint8_t *buf, size_t cap)
{
    Mix8 &m = *static_cast<Mix8 *>(p);
    x86::Assembler a;
    if (!m.begin(a, buf, cap))
        return 0;
    Label here = a.newLabel();
    a.bind(here);
    const mix8_row *r = MIX8_X64; // row k % 3
    for (uint32_t k = 0; k < GROUPS; k++) {
        Label next = a.newLabel();
        auto A = [&](unsigned f) { return x86::gpq(r->a[f]); };
        auto B = [&](unsigned f) { return x86::gpq(r->b[f]); };
        a.mov(A(0), Imm(int32_t(0x80000000u | (8 * k))));
        a.add(A(1), B(1));
        a.mov(A(2), x86::qword_ptr(B(2), int32_t(0x100 + 8 * (k & 0xff))));
        a.mov(x86::qword_ptr(B(3), int32_t(8 * (1 + (k & 7)))), A(3));
        a.cmp(A(4), Imm(k & 63));
        a.long_().j(x86::CondCode(k & 15), here);
        a.call(next);
        a.ret();
        a.bind(next);
        here = next;
        r = MIX8_NEXT_ROW(MIX8_X64, r);
    }
    return a.isInitialized() ? m.end(a) : 0;
}

void mix8_x64_asmjit_free(void *p)
{
    delete static_cast<Mix8 *>(p);
}

void *mix8_a64_asmjit_new(void)
{
    return new (std::nothrow) Mix8(Arch::kAArch64);
}

size_t mix8_a64_asmjit_run(void *p, uint8_t *buf, size_t cap)
{
    Mix8 &m = *static_cast<Mix8 *>(p);
    a64::Assembler a;
    if (!m.begin(a, buf, cap))
        return 0;
    Label here = a.newLabel();
    a.bind(here);
    const mix8_row *r = MIX8_A64; // row k % 3
    unsigned cond = 0;            // k % 14
    for (uint32_t k = 0; k < GROUPS; k++) {
        Label next = a.newLabel();
        auto A = [&](unsigned f) { return a64::x(r->a[f]); };
        auto B = [&](unsigned f) { return a64::x(r->b[f]); };
        if (k & 1)
            a.movk(A(0), Imm(k & 0xffff), Imm(16));
        else
            a.movz(A(0), Imm(k & 0xffff));
        a.add(A(1), A(1), B(1));
        a.ldr(A(2), a64::ptr(B(2), int32_t(0x100 + 8 * (k & 0xff))));
        a.str(A(3), a64::ptr(B(3), int32_t(8 * (1 + (k & 7)))));
        a.cmp(A(4), Imm(k & 63));
        a.b(arm::CondCode(cond + 2), here); // asmjit's codes are hw + 2
        a.bl(next);
        a.ret(a64::x30);
        a.bind(next);
        here = next;
        r = MIX8_NEXT_ROW(MIX8_A64, r);
        cond = cond < 13 ? cond + 1 : 0;
    }
    return m.end(a);
}

void mix8_a64_asmjit_free(void *p)
{
    delete static_cast<Mix8 *>(p);
}

namespace {
struct Rt {
    JitRuntime rt;
    CodeHolder code;
    explicit Rt(const JitAllocator::CreateParams *p) : rt(p) {}
};
} // namespace

void *asmjit_rt_new(int dual, const uint8_t *bytes, size_t n)
{
    JitAllocator::CreateParams params{};
    params.options = dual ? JitAllocatorOptions::kUseDualMapping
                          : JitAllocatorOptions::kNone;
    Rt *r = new (std::nothrow) Rt(&params);
    if (!r || r->code.init(r->rt.environment()) != kErrorOk) {
        delete r;
        return nullptr;
    }
    // The function is prepared once; an install copies it from here.
    CodeBuffer &cb = r->code.textSection()->_buffer;
    if (r->code.reserveBuffer(&cb, n) != kErrorOk) {
        delete r;
        return nullptr;
    }
    for (size_t i = 0; i < n; i++)
        cb._data[i] = bytes[i];
    cb._size = n;
    return r;
}

int asmjit_install(void *p)
{
    Rt *r = static_cast<Rt *>(p);
    int (*fn)(void) = nullptr;
    if (r->rt.add(&fn, &r->code) != kErrorOk)
        return -1;
    int v = fn();
    r->rt.release(fn);
    return v;
}

void asmjit_rt_free(void *p)
{
    delete static_cast<Rt *>(p);
}

void *asmjit_alloc_new(void)
{
    return new (std::nothrow) JitAllocator();
}

int asmjit_alloc_free64(void *p)
{
    JitAllocator *a = static_cast<JitAllocator *>(p);
    void *rx, *rw;
    if (a->alloc(&rx, &rw, 64) != kErrorOk)
        return -1;
    return a->release(rx) == kErrorOk ? 0 : -1;
}

void asmjit_alloc_free(void *p)
{
    delete static_cast<JitAllocator *>(p);
}

} // extern "C"
