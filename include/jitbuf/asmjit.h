/* jitbuf/asmjit.h (C++) — an asmjit runtime whose code lives in jitbuf.
 *
 *     #include <jitbuf/asmjit.h>
 *     jitbuf::JitRuntime rt;              // instead of asmjit::JitRuntime
 *     asmjit::CodeHolder code;
 *     code.init(rt.environment());
 *     ...                                  // emit with any asmjit emitter
 *     Func fn;
 *     if (rt.add(&fn, &code) != asmjit::kErrorOk) puts(rt.lastError());
 *     fn();
 *     rt.release(fn);
 *
 * jitbuf::JitRuntime derives from asmjit::JitRuntime and overrides the two
 * virtual hooks asmjit routes every add() and release() through (_add and
 * _release), so it goes wherever an asmjit::JitRuntime& or a Target is
 * expected. add() does what asmjit's does (flatten, resolve links,
 * relocate to the block's executable address, copy the sections, zero
 * the virtual tails) but into a jitbuf block written in place: jb_alloc,
 * jb_begin, copy, jb_commit; so it is W^X under every jitbuf strategy,
 * keeps jitbuf's fork policy, and makes the instruction cache coherent.
 * asmjit's own JitAllocator is never used.
 *
 * Checked against asmjit 0.0~git20221210 (Debian 12's libasmjit-dev),
 * whose JitRuntime has virtual _add/_release; asmjit's own
 * asmjit_test_compiler runs on it (make check-clients, docs/clients.md).
 *
 * Errors: add() returns kErrorOutOfMemory when jitbuf has no room
 * (JB_ENOSPC, JB_ENOMEM), kErrorInvalidState for any other jitbuf failure
 * (and when no region could be opened); lastError() has jitbuf's sentence.
 * Thread safety: as asmjit's JitRuntime (add/release from any thread);
 * lastError() is the calling thread's. Link with -ljitbuf. */
#ifndef JITBUF_ASMJIT_H
#define JITBUF_ASMJIT_H

#include <asmjit/core.h>
#include <string.h>

#include "../jitbuf.h"

namespace jitbuf {

class JitRuntime : public asmjit::JitRuntime {
public:
    /* Use region r (not owned), or with nullptr open a handle on the
     * process's code region (a pool of its own; opts as jb_region_open,
     * nullptr for defaults) and close it, freeing its blocks, on
     * destruction. */
    explicit JitRuntime(jb_region *r = nullptr,
                        const jb_options *opts = nullptr) noexcept
        : _region(r), _owned(false)
    {
        if (!_region)
            _owned = jb_region_open(&_region, opts) == 0;
    }
    ~JitRuntime() noexcept override
    {
        if (_owned)
            jb_region_close(_region);
    }
    JitRuntime(const JitRuntime &) = delete;
    JitRuntime &operator=(const JitRuntime &) = delete;

    /* The region, or nullptr if it could not be opened (lastError()). */
    jb_region *region() const noexcept { return _region; }
    /* jitbuf's sentence for the calling thread's last failure. */
    static const char *lastError() noexcept { return jb_last_error(); }

protected:
    asmjit::Error _add(void **dst, asmjit::CodeHolder *code) noexcept override
    {
        using namespace asmjit;
        *dst = nullptr;
        if (!_region)
            return DebugUtils::errored(kErrorInvalidState);
        ASMJIT_PROPAGATE(code->flatten());
        ASMJIT_PROPAGATE(code->resolveUnresolvedLinks());
        size_t estimated = code->codeSize();
        if (estimated == 0)
            return DebugUtils::errored(kErrorNoCodeGenerated);
        void *exec, *w;
        int rc = jb_alloc(_region, estimated, 0, &exec);
        if (rc < 0)
            return failed(rc);
        Error err = code->relocateToBase(uintptr_t(exec));
        if (err) {
            jb_free(_region, exec);
            return err;
        }
        /* Relocation may shrink the code (fewer address-table entries). */
        size_t size = code->codeSize();
        if ((rc = jb_begin(_region, exec, size, 0, &w)) < 0) {
            jb_free(_region, exec);
            return failed(rc);
        }
        uint8_t *out = static_cast<uint8_t *>(w);
        for (Section *section : code->_sections) {
            size_t at = size_t(section->offset());
            size_t bytes = size_t(section->bufferSize());
            size_t virt = size_t(section->virtualSize());
            memcpy(out + at, section->data(), bytes);
            if (virt > bytes)
                memset(out + at + bytes, 0, virt - bytes);
        }
        if ((rc = jb_commit(_region, exec, size)) < 0) {
            jb_free(_region, exec);
            return failed(rc);
        }
        *dst = exec;
        return kErrorOk;
    }

    asmjit::Error _release(void *p) noexcept override
    {
        if (!_region || jb_free(_region, p) < 0)
            return asmjit::DebugUtils::errored(asmjit::kErrorInvalidArgument);
        return asmjit::kErrorOk;
    }

private:
    static asmjit::Error failed(int rc) noexcept
    {
        return asmjit::DebugUtils::errored(
            rc == JB_ENOSPC || rc == JB_ENOMEM ? asmjit::kErrorOutOfMemory
                                               : asmjit::kErrorInvalidState);
    }

    jb_region *_region;
    bool _owned;
};

} // namespace jitbuf

#endif /* JITBUF_ASMJIT_H */
