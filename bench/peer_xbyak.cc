// xbyak as a peer: the mix8 workload (x86_64 only), generating into the
// shared buffer (xbyak's user-buffer mode).
#include "mix8.h"
#include "peers.h"

#define XBYAK_NO_EXCEPTION
#include <xbyak/xbyak.h>

#include <cstdio>
#include <new>
#include <vector>

namespace {

const uint32_t GROUPS = 125000;

struct Mix8 : Xbyak::CodeGenerator {
    Mix8(uint8_t *buf, size_t cap) : Xbyak::CodeGenerator(cap, buf) {}
    size_t run()
    {
        reset(); // the per-run reset, timed
        // Labels are objects bound to this generator; a run makes its own.
        std::vector<Xbyak::Label> lab(GROUPS + 1);
        L(lab[0]);
        const mix8_row *r = MIX8_X64; // row k % 3
        for (uint32_t k = 0; k < GROUPS; k++) {
            Xbyak::Label &here = lab[k], &next = lab[k + 1];
            auto A = [&](unsigned f) { return Xbyak::Reg64(r->a[f]); };
            auto B = [&](unsigned f) { return Xbyak::Reg64(r->b[f]); };
            mov(A(0), int32_t(0x80000000u | (8 * k)));
            add(A(1), B(1));
            mov(A(2), qword[B(2) + int32_t(0x100 + 8 * (k & 0xff))]);
            mov(qword[B(3) + int32_t(8 * (1 + (k & 7)))], A(3));
            cmp(A(4), int(k & 63));
            jcc_long(k & 15, here);
            call(next);
            ret();
            L(next);
            r = MIX8_NEXT_ROW(MIX8_X64, r);
        }
        if (Xbyak::GetError()) {
            fprintf(stderr, "xbyak: %s\n", Xbyak::ConvertErrorToString(Xbyak::GetError()));
            Xbyak::ClearError();
            return 0;
        }
        return getSize();
    }
    void jcc_long(unsigned cc, const Xbyak::Label &l)
    {
        switch (cc) {
        case 0: jo(l, T_NEAR); break;
        case 1: jno(l, T_NEAR); break;
        case 2: jb(l, T_NEAR); break;
        case 3: jae(l, T_NEAR); break;
        case 4: je(l, T_NEAR); break;
        case 5: jne(l, T_NEAR); break;
        case 6: jbe(l, T_NEAR); break;
        case 7: ja(l, T_NEAR); break;
        case 8: js(l, T_NEAR); break;
        case 9: jns(l, T_NEAR); break;
        case 10: jp(l, T_NEAR); break;
        case 11: jnp(l, T_NEAR); break;
        case 12: jl(l, T_NEAR); break;
        case 13: jge(l, T_NEAR); break;
        case 14: jle(l, T_NEAR); break;
        default: jg(l, T_NEAR); break;
        }
    }
};

} // namespace

extern "C" {

void *mix8_x64_xbyak_new(uint8_t *buf, size_t cap)
{
    return new (std::nothrow) Mix8(buf, cap);
}

size_t mix8_x64_xbyak_run(void *p)
{
    return static_cast<Mix8 *>(p)->run();
}

void mix8_x64_xbyak_free(void *p)
{
    delete static_cast<Mix8 *>(p);
}

} // extern "C"
