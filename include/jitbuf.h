/* jitbuf — executable memory for JITs, W^X on every platform.
 *
 * One code region per process, carved into blocks by a thread-safe
 * sub-allocator whose bookkeeping lives outside the code. Code reaches a
 * block only through a validated write path (jb_write, jb_write_batch,
 * jb_patch, jb_write_with) that opens the strategy's write window, copies,
 * closes it and makes the instruction cache coherent before returning; a
 * block that is patched again and again can be validated once instead
 * (jitbuf/site.h).
 * Under every default strategy no page is ever writable and executable at
 * the same address.
 *
 * Typical install:
 *
 *     jb_region *r;
 *     void *fn;
 *     if (jb_region_open(&r, NULL) < 0) fail(jb_last_error());
 *     if (jb_alloc(r, sizeof code, 16, &fn) < 0) fail(jb_last_error());
 *     if (jb_write(r, fn, code, sizeof code) < 0) fail(jb_last_error());
 *     ((int (*)(void))fn)();
 *     jb_free(r, fn);
 *     jb_region_close(r);
 *
 * Errors. Every call returns 0 (or a documented non-negative value) on
 * success and a negative JB_E* code on failure. A failed call changes
 * nothing and leaves out-parameters NULL/0, except where its entry below
 * says exactly what it leaves (a failed protection change under mprotect,
 * a failed release in jb_region_close). jb_last_error() then holds a
 * sentence for the calling thread that starts with the call's name and
 * names the cause (the system call and its errno where there is one) and
 * the fix. Like errno, it is not cleared by a successful call.
 *
 * Handles. Every call that takes a jb_region * first checks, at one door,
 * that it is not made from inside a jb_write_with callback (JB_ESTATE;
 * only jb_writable may be called there) and that the handle is open. A
 * handle is a token (a slot and a generation), not a pointer: a closed
 * handle gets JB_ECLOSED from every call, however many handles were opened
 * since, and never reaches another region; a value that never was a handle
 * gets JB_ECLOSED too. The check costs a few instructions per call.
 *
 * Threads. All functions are thread-safe unless noted. Blocks may be
 * allocated, written, patched and freed from any thread. A block inside
 * another thread's open jb_write_with window is not freed until the window
 * closes (jb_free fails with JB_EBUSY, or waits under mprotect), so a
 * window never writes into a block handed out again. A write racing a
 * jb_free of its block either happens before the free or fails with
 * JB_ERANGE; it never corrupts another block. A store through a
 * persistent jb_writable alias takes no lock: ordering it with jb_free of
 * that block is the caller's job.
 *
 * Threat model and what each strategy guarantees: docs/security.md.
 */
#ifndef JITBUF_H
#define JITBUF_H

#include <stddef.h>
#include <stdint.h>

#include "jitbuf/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(JB_BUILDING) && defined(__GNUC__)
#define JB_API __attribute__((visibility("default")))
#else
#define JB_API
#endif

/* ---- Errors ----------------------------------------------------------- */

/* One table generates the codes, jb_strerror() and jb_err_name(). */
#define JB_ERRNO_MAP(XX)                                                      \
    XX(EINVAL, -1, "invalid argument")                                        \
    XX(ENOMEM, -2, "out of memory or address space")                         \
    XX(ENOSPC, -3, "code region is full")                                     \
    XX(ERANGE, -4, "address or length outside a live block")                  \
    XX(EALIGN, -5, "misaligned address, size or alignment")                   \
    XX(ENOTBLOCK, -6, "not the start of a live block")                        \
    XX(EFOREIGN, -7, "block belongs to another region handle")                \
    XX(ESOURCE, -8, "source bytes lie inside the code region")                \
    XX(EBUSY, -9, "busy: region open with other settings, or block in a window") \
    XX(EPERM, -10, "the system refused executable memory")                    \
    XX(EUNSUPPORTED, -11, "not supported on this platform or build")          \
    XX(ESTATE, -12, "not allowed in the current state")                       \
    XX(ECALLBACK, -13, "write callback reported failure")                     \
    XX(ECLOSED, -14, "region handle is not open")                             \
    XX(EOS, -15, "unexpected operating system error")                        \
    XX(EFULL, -16, "emitter buffer is full")                                  \
    XX(EBRANCH, -17, "branch target out of range")                            \
    XX(ELABEL, -18, "label unknown, bound twice or never bound")              \
    XX(EOPERAND, -19, "operand cannot be encoded")

typedef enum {
#define JB__ERR_ENUM(name, code, text) JB_##name = (code),
    JB_ERRNO_MAP(JB__ERR_ENUM)
#undef JB__ERR_ENUM
    JB__ERR_LAST = -20
} jb_err;

/* Short text for a code ("invalid argument"); "unknown error" otherwise.
 * Thread-safe; never NULL; no syscall. */
JB_API const char *jb_strerror(int err);

/* Name of a code ("JB_EINVAL"); "JB_UNKNOWN" otherwise. Thread-safe. */
JB_API const char *jb_err_name(int err);

/* The calling thread's last failure as one sentence: what failed, the OS
 * errno where there was one, and what to do about it. "" if no call has
 * failed on this thread. The pointer stays valid until this thread's next
 * failing jitbuf call. Thread-safe (thread-local); no syscall. */
JB_API const char *jb_last_error(void);

/* ---- Version ---------------------------------------------------------- */

/* JB_VERSION_HEX of the library actually loaded. */
JB_API unsigned jb_version(void);
/* JB_VERSION_STRING of the library actually loaded. */
JB_API const char *jb_version_string(void);

/* ---- Regions ---------------------------------------------------------- */

typedef struct jb_region jb_region; /* opaque handle */

/* W^X strategies. jb_region_info() says which one a region uses and why. */
typedef enum {
    JB_WX_AUTO = 0,       /* first that works on this platform, W^X only */
    JB_WX_APPLE_CALLBACK, /* macOS >= 11.4: pthread_jit_write_with_callback_np */
    JB_WX_APPLE_TOGGLE,   /* macOS >= 11.0: pthread_jit_write_protect_np */
    JB_WX_DUALMAP,        /* Linux: memfd mapped RW and RX at two addresses */
    JB_WX_MPROTECT,       /* POSIX: flip written pages RX -> RW -> RX */
    JB_WX_RWX             /* one RWX mapping: NOT W^X, explicit opt-in only */
} jb_wx;

/* Name of a strategy ("dualmap", "auto", ...), or "unknown". */
JB_API const char *jb_wx_name(jb_wx wx);

#define JB_DEFAULT_RESERVE ((size_t)64 << 20) /* 64 MiB */

/* jb_options.flags */
#define JB_OPEN_PRIVATE 0x1u /* own mapping, not the process-wide region
                                (macOS: JB_EUNSUPPORTED where xnu allows one
                                MAP_JIT region; see jb_region_open) */
#define JB_OPEN_NO_ENV 0x2u  /* ignore the JITBUF_WX environment variable */
/* macOS: assert that the executable is signed with
 * com.apple.security.cs.jit-write-allowlist (entitlements/jit-allowlist.plist).
 * The signature decides, not this flag: jitbuf reads the entitlements from
 * the main executable's code signature at the first open, and under that
 * entitlement never uses apple-toggle (pthread_jit_write_protect_np kills
 * the process then) and fails the open (JB_EPERM) unless jitbuf's callbacks
 * (JB_APPLE_WRITE_CALLBACKS below) are in an allowlist the OS reads: an
 * image's first list (up to its NULL), of an image present at launch (or,
 * under freeze-late, loaded before the freeze). The flag when the signature
 * lacks the entitlement is JB_EINVAL; where the signature cannot be read,
 * the flags decide (jb_info.why says so). Ignored on Linux. */
#define JB_OPEN_APPLE_ALLOWLIST 0x4u
/* macOS: ... and com.apple.security.cs.jit-write-allowlist-freeze-late
 * (entitlements/jit-allowlist-freeze-late.plist; implies the flag above),
 * again an assertion checked against the signature. Under freeze-late
 * nothing is written until the callbacks are frozen (jb_freeze, or the
 * host's own freeze reported by jb_apple_host_froze); before macOS 12.1 the
 * OS has no freeze-late and froze the list at launch, so writes go ahead.
 * Ignored on Linux. */
#define JB_OPEN_APPLE_FREEZE_LATE 0x8u

/* This handle's blocks each take whole pages of their own: jb_alloc rounds
 * the size up to the page size and aligns the block to a page (more memory,
 * and no small-block cache). A threaded JIT needs it under mprotect, where
 * a write, commit, patch or free flips the pages it touches to writable for
 * the whole process: a thread running another function on such a page
 * would fault. With page blocks no other block shares the page, so only
 * threads running the block being changed could be hit (and code that
 * runs must not be rewritten under mprotect anyway). dualmap, rwx and the
 * Apple strategies never flip a page for other threads: there the flag
 * only costs memory. Per handle: other pools on the region are unaffected. */
#define JB_OPEN_PAGE_BLOCKS 0x10u

/* Options for jb_region_open; all-zero (or a NULL pointer) means defaults. */
typedef struct {
    size_t reserve;  /* address space to reserve; 0 = JB_DEFAULT_RESERVE.
                        Pages are backed only as blocks reach them. Keep
                        all code within +-128 MiB (arm64 b/bl range) by
                        choosing <= 128 MiB if you chain blocks directly. */
    jb_wx wx;        /* strategy; JB_WX_AUTO picks and falls back */
    unsigned flags;  /* JB_OPEN_* */
} jb_options;

/* Open a handle on the code region.
 *
 * By default there is one code region per process (Apple documents one
 * MAP_JIT region for every hardened app, and one region keeps code within
 * branch range). xnu enforces one region, with EINVAL for the process's
 * whole life, only under com.apple.security.cs.single-jit or for an iOS
 * app on a Mac; elsewhere a second one maps. The
 * first open reserves it; each later open returns a new handle on the same
 * region, a pool: its blocks are its own, and closing it frees them. A later
 * open must ask for JB_WX_AUTO or the strategy already in use, and for a
 * reserve no larger than the region's (0 = whatever it has); otherwise it
 * fails with JB_EBUSY. JB_WX_AUTO promises W^X, so it also fails with
 * JB_EBUSY if the region was opened rwx (ask for JB_WX_RWX by name to
 * share it). JB_OPEN_PRIVATE gives a separate region instead: on Linux
 * always; on macOS only where the code signature can be read and shows no
 * single-jit, and the process is not an iOS app on a Mac (else
 * JB_EUNSUPPORTED, naming the entitlement).
 *
 * With JB_WX_AUTO the strategy is the first that initialises, in platform
 * order (Linux: dualmap, then mprotect; rwx is never chosen automatically;
 * macOS: apple-callback from 11.4, then apple-toggle),
 * and the environment variable JITBUF_WX=dualmap|mprotect|rwx overrides it
 * for debugging unless JB_OPEN_NO_ENV is set. A strategy asked for by name
 * never falls back.
 *
 * @return 0; JB_EINVAL (out NULL, unknown flag or strategy, reserve too
 *   small or too large, bad JITBUF_WX), JB_EBUSY, JB_EPERM (the system
 *   refused executable memory: the sentence names the policy, or on macOS
 *   the entitlement and the plist in entitlements/ that has it; also
 *   apple-toggle asked for under JB_OPEN_APPLE_ALLOWLIST, or that flag
 *   without jitbuf's callbacks in an allowlist), JB_ENOMEM,
 *   JB_EUNSUPPORTED (JB_OPEN_PRIVATE on macOS; a strategy of another
 *   platform), JB_EOS. On failure *out is NULL.
 * fork(). After fork() both processes keep running the code compiled
 * before it, the child can compile new code, and neither can change the
 * other's code. Under dualmap the parent copies the backed part of each
 * region into a new memfd in its pthread_atfork prepare handler, holding
 * every region's locks, and the child maps the copy over both views at the
 * same addresses: a snapshot taken at fork(). jb_write, jb_patch and
 * jb_free in either process afterwards, and stores through a jb_writable
 * alias, reach that process only. A jb_write or jb_patch under way in
 * another thread is in the copy in whole or not at all (fork() waits for
 * it). A store through a jb_writable alias, or
 * inside another thread's jb_write_with callback, made while fork() takes
 * the copy may be in the child's copy in whole, in part or not at all. If
 * the copy cannot be made (memfd_create, ftruncate or pwrite in the
 * parent, mmap in the child), the child is cut off: both views become
 * inaccessible (calling code compiled before the fork faults) and each
 * call that would change code fails with JB_EOS naming the call and errno.
 * dualmap's memfd counts against RLIMIT_FSIZE ('ulimit -f'): past it,
 * growing the region fails with JB_ENOSPC naming the limit, a fork() copy
 * fails as above, and SIGXFSZ is never left to kill the process.
 * fork() may be called from inside a jb_write_with callback, and while
 * other threads are inside jitbuf calls: in the child, a jb_commit or a
 * jb_free that another thread had under way is over (the commit's bytes
 * are in the child's code in whole or not at all, and its edit is
 * closed; the block being freed is freed).
 * mprotect and rwx regions are private mappings, copied on write. A child
 * made by a raw clone() or vfork() without exec() gets no copy.
 *
 * Thread-safe. Cost: the first open makes a few syscalls (mmap, memfd);
 * later opens make none. Under dualmap each fork() copies the backed part
 * of each region (a pwrite of its size) in the parent. */
JB_API int jb_region_open(jb_region **out, const jb_options *opt);

/* Hand jitbuf a MAP_JIT region that the host already owns (macOS allows one
 * per process, so two JITs in one hardened process must share it): [base,
 * base + size), mapped PROT_READ|PROT_WRITE|PROT_EXEC with MAP_JIT. jitbuf
 * manages all of it as the process's code region (later jb_region_open
 * calls share it as pools) and never unmaps it; the host unmaps it after
 * the last handle is closed, and writes into it only through jitbuf.
 * opt as for jb_region_open (reserve 0 or size; no JB_OPEN_PRIVATE).
 * @return 0; JB_EINVAL (NULL, size out of range, bad opt), JB_EALIGN (base
 *   or size not page aligned), JB_EBUSY (jitbuf's region is already open),
 *   JB_EUNSUPPORTED (Linux, which has no one-region rule), and the errors
 *   of jb_region_open. On failure *out is NULL and nothing was written.
 * Thread-safe. */
JB_API int jb_region_adopt(jb_region **out, void *base, size_t size,
                           const jb_options *opt);

/* Close a handle: free its blocks (their bytes become trap instructions)
 * and, with the last handle on a region, unmap the region.
 * @return 0; JB_ECLOSED if r is not an open handle (e.g. closed twice);
 *   JB_EINVAL if r is NULL; JB_ESTATE from inside a jb_write_with callback;
 *   JB_EOS (mprotect) if a block's trap fill was refused: the handle is
 *   closed anyway, and a block that still holds code is kept out of use
 *   (never handed out again; it counts in jb_info.blocks); JB_EOS if the
 *   system refused to release the region (munmap): then the handle stays
 *   open with its blocks freed, every call on it but this one fails with
 *   JB_EOS, and calling jb_region_close again retries the release.
 * Thread-safe, but no other call may use r concurrently; afterwards every
 * call on r fails with JB_ECLOSED. */
JB_API int jb_region_close(jb_region *r);

/* What a region is and how it is doing. */
typedef struct {
    jb_wx wx;              /* strategy in use */
    int wx_exclusive;      /* 1: no page is ever writable and executable */
    const char *why;       /* how the strategy was chosen, what auto tried;
                              valid until the region is unmapped */
    void *exec_base;       /* first byte of the region (executable view) */
    size_t reserved;       /* address space reserved */
    size_t committed;      /* bytes backed by memory so far */
    size_t granule;        /* allocation unit; sizes round up to it */
    size_t guard;          /* bytes at the start never handed out */
    size_t used;           /* bytes in live blocks (rounded) */
    size_t free;           /* bytes free: reserved - guard - used */
    size_t largest_free;   /* longest free run, in bytes */
    size_t blocks;         /* live blocks in the region */
    size_t pool_blocks;    /* live blocks owned by this handle */
    size_t pools;          /* open handles on the region */
    uint64_t windows;      /* write windows opened so far (all handles) */
} jb_info;

/* Fill *out with a snapshot of r's statistics. Freed small blocks that
 * wait in the per-thread caches (see jb_free) are first returned to the
 * region, so the figures count them as free and largest_free is exact.
 * @return 0; JB_EINVAL if r or out is NULL; JB_ECLOSED; JB_ESTATE inside
 *   a jb_write_with callback. Thread-safe; no syscall. */
JB_API int jb_region_info(const jb_region *r, jb_info *out);

/* Give the memory behind the region's free tail back to the system: every
 * page above the highest live block (of any handle), in whole 256 KiB
 * steps, keeping at least the first step. Freed small blocks waiting in
 * the caches count as free. Addresses stay reserved; a later jb_alloc that
 * reaches them backs them again with trap instructions. Until then a stale
 * jump there faults (dualmap SIGBUS, mprotect SIGSEGV) or finds zero bytes
 * (rwx, macOS; on arm64 these decode as udf, a trap). Live blocks are
 * never touched. For runtimes that drop most of their code at once (a
 * flushed code cache, a collected heap); allocation alone never shrinks.
 * How: dualmap truncates the memfd; mprotect returns the pages to
 * PROT_NONE and drops them; rwx drops them (MADV_DONTNEED); macOS
 * madvise(MADV_FREE_REUSABLE) (never mprotect on MAP_JIT pages).
 * released may be NULL; else it receives the bytes given back (0 when
 * nothing lies above the kept part).
 * @return 0; JB_EINVAL (r NULL); JB_ECLOSED; JB_ESTATE (inside a
 *   jb_write_with callback); JB_EOS (the system refused, or after fork()
 *   this process cannot change code): then nothing was given back (under
 *   mprotect the sentence may add that pages were left not executable
 *   until the next write, as for jb_write).
 * Thread-safe: other threads may allocate, write and free meanwhile (they
 * wait for the region lock). Cost: no syscall when nothing is given back,
 * else one or two. */
JB_API int jb_region_trim(jb_region *r, size_t *released);

/* ---- Blocks ----------------------------------------------------------- */

/* Carve a block of at least size bytes whose executable address is a
 * multiple of align (a power of two; 0 means the granule). The block's bytes
 * are trap instructions until written. Never opens a write window.
 * @return 0 and *exec; JB_EINVAL (NULL, size 0 or larger than the region),
 *   JB_ECLOSED, JB_ESTATE (inside a jb_write_with callback),
 *   JB_EALIGN (align not a power of two or larger than a page),
 *   JB_ENOSPC (no free run fits: free blocks or reserve more), JB_EOS (the
 *   region could not grow: nothing changed). On failure *exec is NULL.
 * Thread-safe. Cost: no syscall, except when the region's backed part
 * grows (dualmap: ftruncate; mprotect: mprotect), in 256 KiB steps. Blocks
 * of up to 512 bytes at the default alignment come from a cache that each
 * thread keeps to itself (dualmap, rwx and the Apple strategies), so
 * threads allocating at once do not wait on each other; when nothing else
 * fits, the caches are emptied before JB_ENOSPC is returned. */
JB_API int jb_alloc(jb_region *r, size_t size, size_t align, void **exec);

/* Free a block by its executable address (as jb_alloc returned it). Its
 * bytes are trap instructions when the call returns. A block of up to 512
 * bytes goes to the calling thread's cache, for its next jb_alloc of that
 * size; to every other call it is free memory (a second jb_free of it
 * fails; of two threads freeing it at once, one succeeds).
 * @return 0; JB_EINVAL (NULL), JB_ECLOSED, JB_ESTATE, JB_ERANGE (not in
 *   the region), JB_ENOTBLOCK (not the start of a live block, e.g. freed
 *   twice, or being freed by another thread), JB_EFOREIGN (allocated
 *   through another handle), JB_EBUSY (the block is inside another
 *   thread's jb_write_with window: free it after that call returns; or it
 *   has an open site, jitbuf/site.h: jb_site_close it first; nothing
 *   changed). Under mprotect, JB_EOS or JB_EPERM if the system
 *   refused a protection change for the trap fill: if the sentence says
 *   the window could not be opened, nothing changed (the block is live
 *   and holds its code); if it says "the trap fill was done" or "it is
 *   freed" (a block that held only traps, e.g. never written, is freed
 *   whether or not its fill ran), the block is freed and holds traps, and
 *   after "the trap fill was done" the pages named stay not executable
 *   until a later write makes them executable again (as for jb_write). A block
 *   is never handed out again while it holds old code.
 * Thread-safe. A jb_write, jb_patch or jb_write_batch of the block under
 * way in another thread ends first: the free waits for it (for a batch,
 * as long as its copies take) and never fills the block under a write. A call that the free overtakes
 * (it had not yet reached the block) fails, or, if the block is allocated
 * again through the same handle before it gets there, writes into the new
 * block as into any live block of that handle: jitbuf cannot tell a stale
 * address from a fresh one of the same pool, so stop a thread's writes
 * (jb_write, jb_patch, jb_commit, jb_abort) to a block before freeing it.
 * Cost: dualmap and rwx, no syscall; mprotect, two. */
JB_API int jb_free(jb_region *r, void *exec);

/* Free count blocks at once, for a JIT that drops many functions together
 * (a module unloaded, a cache flushed, a tier replaced): every address is
 * validated and its block claimed as jb_free would, every one before any
 * is filled; then all are filled with traps in address order with one
 * window, and go back to the region (not to the per-thread caches). The
 * array is read once, item by item. Each block's bytes are traps when the
 * call returns.
 * @return 0; JB_EINVAL (execs NULL, count 0), JB_ECLOSED, JB_ESTATE (inside
 *   a jb_write_with callback), JB_ENOMEM (more than 64 blocks need one
 *   allocation of up to 60 bytes per block, which failed; under mprotect,
 *   the blocks lie on more than 4,096 runs of separate pages, each of which
 *   would need its own window at once); for an item the errors of jb_free
 *   (JB_EINVAL for a NULL address, JB_ERANGE, JB_ENOTBLOCK, which includes
 *   a block named twice, JB_EFOREIGN, JB_EBUSY), with a sentence that
 *   starts "jb_free_batch: item K:" (K its index, the first bad one). Each
 *   of these frees nothing and changes nothing: every item is checked
 *   before any block is claimed, so other threads' writes see no claim of
 *   a batch that fails (only a block freed by another thread during the
 *   call makes claims already taken visible until it gives them back).
 *   Under mprotect, and under apple-callback when the callback is refused
 *   (JB_ESTATE before the freeze under freeze-late, JB_ENOMEM for the
 *   requests), a failed fill is all or nothing: the sentence ends "nothing
 *   was freed" (every block is live and holds its code) or says all "are
 *   freed" (the fill was done, or every block held only traps anyway; after
 *   a window that could not be closed the pages named stay not executable
 *   until a later write, as for jb_free).
 * Thread-safe, with jb_free's rules for writes under way (each waits, a
 * write the free overtakes fails or lands in a new block of the same
 * pool). The region's lock is held for the whole call, so other threads'
 * allocations and frees wait for it. Under dualmap and rwx there is no
 * window to share and jb_free of each block is cheaper: its small blocks go
 * to the thread's cache for the next jb_alloc. Cost: per block a
 * validation and a trap fill; dualmap and rwx, no syscall; mprotect, two mprotect calls per
 * run of blocks on overlapping or adjoining pages (one pair for blocks
 * allocated together), pages between runs never change; apple-callback,
 * one pthread_jit_write_with_callback_np through jitbuf's allowlisted fill
 * callback, which checks every block again; apple-toggle, one toggle pair.
 * Plus a sort of the blocks, O(count log count). */
JB_API int jb_free_batch(jb_region *r, void *const *execs, size_t count);

/* ---- Writing code ----------------------------------------------------- */

/* Copy n bytes from src to exec_dst inside one live block of r, through the
 * strategy's write window, then make the instruction cache coherent for the
 * range. The code is ready to run by this thread when the call returns;
 * other threads that may have run the old bytes need jb_sync_threads().
 * @return 0; JB_EINVAL (NULL, n 0), JB_ECLOSED, JB_ERANGE (range not
 *   inside one live block: outside the region, crossing the block's end,
 *   or freed), JB_EFOREIGN, JB_ESOURCE (src overlaps the region),
 *   JB_ESTATE (called from inside a jb_write_with callback), JB_EOS after
 *   fork() where this process could not get its own copy of the code.
 *   mprotect: JB_EOS or JB_EPERM (the sentence names mprotect and its
 *   errno) if making the pages writable failed (nothing changed), or if
 *   making them executable again failed after the copy: then the bytes
 *   are written, but the whole pages holding them, other blocks' code
 *   too, are left writable and not executable (never both), so code on
 *   them faults when called until a later write or patch on the region,
 *   which first makes them executable again (or fails, changing nothing).
 * Thread-safe. dualmap, rwx and the Apple strategies take no lock: the
 * block is pinned for the copy (one compare-and-swap on its bookkeeping);
 * a jb_free of the block waits for the copy to end, and so does fork()
 * for every copy under way (the child never gets half of one). Cost: dualmap
 * and rwx, a memcpy and no syscall; mprotect, two mprotect calls under
 * the region's lock. arm64 adds cache maintenance for the range. */
JB_API int jb_write(jb_region *r, void *exec_dst, const void *src, size_t n);

/* One copy of a batch: len bytes from src to exec. */
typedef struct jb_write_item {
    void *exec;      /* inside one live block of the region */
    const void *src; /* ordinary memory, not the code region */
    size_t len;      /* > 0 */
} jb_write_item;

/* Carry out count copies with one write window, for a JIT that installs
 * many functions at a time: each item is validated as jb_write validates
 * its arguments, every one of them before anything is written; then all
 * are copied, in order (where items overlap, the later one's bytes stay),
 * and the cache is made coherent for each range. Items may lie in one
 * block or in many blocks of r's pool. The array is read once, item by
 * item, before anything is written: changing it meanwhile from another
 * thread changes nothing that was validated.
 * @return 0; JB_EINVAL (items NULL, count 0), JB_ECLOSED, JB_ESTATE
 *   (inside a jb_write_with callback), JB_ENOMEM (more than 64 items need
 *   one allocation of up to 60 bytes per item, which failed); for an item
 *   the errors of jb_write (JB_EINVAL for its exec or src NULL or len 0,
 *   JB_ERANGE, JB_EFOREIGN, JB_ESOURCE, JB_EOS after a failed fork()
 *   copy), with a sentence that starts "jb_write_batch: item K:" (K its
 *   index, the first bad one). Each of these writes nothing and changes
 *   nothing. apple-callback: JB_ESTATE under freeze-late before the
 *   freeze, JB_ENOMEM (a batch of more than 16 items needs 64 bytes per
 *   item for the requests), nothing written either. mprotect: the
 *   failures of jb_write: if the window could not be opened nothing was
 *   written; if it could not be closed, every item was written and the
 *   pages from the lowest to the highest item are left writable and not
 *   executable, as jb_write describes; JB_ENOMEM, nothing written, when
 *   the items make more than 4,096 runs of separate pages (each would
 *   need its own window at once, and each splits the mapping).
 * Thread-safe. Until the call returns the blocks named cannot be freed
 * (jb_free waits for it, as for a jb_write: for as long as the batch's
 * copies take), and other threads' writes to them wait as long; a batch that meets another thread's write or a
 * fork() in progress lets go of what it holds and starts again, so it
 * never waits while holding a block. Cost: per item a validation and a
 * memcpy; then one window: dualmap and rwx, no syscall; mprotect, two
 * mprotect calls per run of items (in the order given) on overlapping or
 * adjoining pages, under the region's lock: pages no item is on never
 * change, and the code of other blocks on the pages the items are on is
 * not executable meanwhile, as for jb_write (put the items in address
 * order for the fewest calls);
 * apple-callback, one pthread_jit_write_with_callback_np through
 * jitbuf's allowlisted copy callback, which checks every item again;
 * apple-toggle, one toggle pair. arm64 adds cache maintenance per item. */
JB_API int jb_write_batch(jb_region *r, const jb_write_item *items,
                          size_t count);

/* Store width (4 or 8) bytes of value at exec_dst, aligned to width, as one
 * atomic store, into live code that other threads may be running; then
 * make the cache coherent. A thread running the patched code sees either the
 * old or the new bytes. To patch a branch, place it so that the bytes that
 * change fall in one aligned 4- or 8-byte unit (x86_64: a jmp rel32 whose
 * opcode sits at an address == 3 mod 4; arm64: any instruction).
 * @return 0; JB_EINVAL (NULL, width not 4 or 8), JB_ECLOSED, JB_EALIGN,
 *   JB_ERANGE, JB_EFOREIGN, JB_ESTATE; under mprotect the failures of
 *   jb_write, with the same state left.
 * Thread-safe. Cost as jb_write. Under mprotect the page is briefly not
 * executable: threads running code on it would fault, so use dualmap for
 * patching code that other threads run. */
JB_API int jb_patch(jb_region *r, void *exec_dst, uint64_t value,
                    unsigned width);

/* Open the write window for [exec, exec + len) (inside one live block), call
 * fn(ctx), close the window and make the range coherent. Inside fn, write
 * through jb_writable(r, addr) for addresses in the range, and call no other
 * jitbuf function (they fail with JB_ESTATE). fn must return normally (no
 * longjmp or exception). Until the call returns the block cannot be freed
 * (jb_free from another thread fails with JB_EBUSY), so fn never writes
 * into a block that was freed and handed out again meanwhile.
 * @return 0; JB_ECALLBACK if fn returned non-zero; the errors of jb_write
 *   (under mprotect "the callback ran" in place of "the bytes were
 *   written").
 * Thread-safe. Under mprotect, other writers wait while fn runs. */
JB_API int jb_write_with(jb_region *r, void *exec, size_t len,
                         int (*fn)(void *ctx), void *ctx);

/* The address through which exec may be written right now: a persistent
 * alias (dualmap), exec itself (rwx, or inside a jb_write_with callback on
 * the strategies without an alias), or NULL (not writable now, or exec not in
 * a live block of r). A persistent alias lets an emitter assemble straight
 * into the block; follow such writes with jb_write_with or jb_patch, or call
 * jb_write on the same bytes, so that the cache is made coherent.
 * Thread-safe; no syscall. */
JB_API void *jb_writable(jb_region *r, void *exec);

/* ---- Editing in place: begin -> write -> commit | abort ---------------
 *
 * For JITs that assemble straight into the block (sljit, DynASM, asmjit's
 * relocate step): jb_begin says where to write the block's bytes, the JIT
 * writes them there, and jb_commit makes them run. It works under every
 * strategy:
 *   dualmap, rwx: the address is the persistent writable view (dualmap:
 *     the RW mapping; rwx: the block itself). Nothing is copied; commit
 *     only makes the instruction cache coherent.
 *   mprotect, apple-callback, apple-toggle: the address is a staging copy
 *     of the block in ordinary memory; commit copies the committed range
 *     through jb_write (so it is validated, and under apple-callback runs
 *     through jitbuf's allowlisted copy callback). While the JIT writes, no
 *     page flips: threads running neighbours on the page never fault then.
 * The writable address maps back to the executable one with jb_executable.
 * Under dualmap the offset (writable - executable) is one constant for the
 * whole region; under rwx it is 0; with a staging copy it is a constant per
 * block (until the copy is released).
 *
 * A block has at most one open edit. An edit is closed by jb_commit,
 * jb_abort, or by freeing the block (jb_free, jb_region_close), which
 * discards what was not committed. */

/* jb_begin flag: keep the staging copy (and so the writable address) after
 * jb_commit, until the block is freed or an edit of it is aborted. For
 * JITs that later patch the code through writable addresses they recorded
 * while assembling (sljit's sljit_set_jump_addr and sljit_set_const): each
 * such patch is then jb_begin + store + jb_commit again at the same
 * address. Costs the block's size in ordinary memory under the staging
 * strategies; means nothing under dualmap and rwx. */
#define JB_BEGIN_KEEP 0x1u

/* Open an edit of [exec, exec + len), which must lie in one live block of
 * r, and set *writable to where those bytes are written (see above). The
 * bytes found there are the block's current ones, so bytes not written
 * commit unchanged. Until jb_commit the executable bytes are unchanged
 * under the staging strategies; under dualmap and rwx stores through
 * *writable reach the block at once but are not made coherent.
 * @return 0; JB_EINVAL (NULL, len 0, unknown flag), JB_ERANGE (not inside
 *   one live block), JB_EFOREIGN, JB_ESTATE (the block already has an open
 *   edit; or inside a jb_write_with callback), JB_ENOMEM (no memory for
 *   the staging copy), JB_EOS (after fork() this process cannot change
 *   code). On failure *writable is NULL and nothing changed.
 * Thread-safe; the edit belongs to the caller until it is closed (another
 * thread may commit it, but not two at once). Cost: no syscall; a lock, a
 * small allocation and, with a staging copy, a memcpy of len bytes (the
 * first edit of a block allocates its staging copy). */
JB_API int jb_begin(jb_region *r, void *exec, size_t len, unsigned flags,
                    void **writable);

/* Make [exec, exec + len) of an open edit run as written, then close the
 * edit: with a staging copy, one validated copy through the write path
 * (jb_write); with a persistent view, instruction-cache coherence for the
 * range. Bytes of the edit outside the range do not run: with a staging
 * copy they are dropped; under dualmap and rwx they are in the block
 * already but were never made coherent. The code is ready for this thread
 * when the call returns; other threads that ran the old bytes need
 * jb_sync_threads(). Without JB_BEGIN_KEEP the staging copy is released
 * and the writable address must not be used again.
 * @return 0; JB_EINVAL (NULL, len 0); JB_ESTATE (no open edit holds exec:
 *   never begun, or already committed or aborted; inside a jb_write_with
 *   callback); JB_ERANGE (the range runs past the edit); the errors of
 *   jb_write. The edit is closed even when the copy fails (JB_EOS after a
 *   failed fork copy, for example): the block then holds what it held.
 * Thread-safe. Cost: dualmap and rwx, no syscall (arm64: cache
 * maintenance); mprotect, a memcpy and two mprotect calls; apple-callback,
 * one pthread_jit_write_with_callback_np. */
JB_API int jb_commit(jb_region *r, void *exec, size_t len);

/* Close the open edit that holds exec without running it: its whole range
 * becomes trap instructions under every strategy (what was written is
 * gone), and the staging copy is released, JB_BEGIN_KEEP or not. For a
 * compilation that failed half way; the block stays allocated.
 * @return 0; JB_EINVAL (NULL); JB_ESTATE (no open edit holds exec, or
 *   inside a jb_write_with callback); JB_ENOMEM (the edit stays open); the
 *   errors of jb_write (the edit is closed).
 * Thread-safe. Cost: one jb_write of the range. */
JB_API int jb_abort(jb_region *r, void *exec);

/* The executable address of the byte at writable: an address in r's
 * persistent writable view (dualmap, rwx), or in a staging copy from
 * jb_begin (open, or kept by JB_BEGIN_KEEP). NULL if writable is neither
 * or its block is not a live block of r (jb_last_error() then says why),
 * and inside a jb_write_with callback.
 * Thread-safe; no syscall; a lock and a walk over the blocks that have an
 * open edit or a kept staging copy. */
JB_API void *jb_executable(jb_region *r, const void *writable);

/* Make instruction fetch from [exec, exec + len), inside one live block of
 * r, see the bytes written there most recently through a persistent
 * writable view (jb_writable) outside any jitbuf call: the coherence half
 * of jb_commit, for a JIT that stores through the alias itself (sljit's
 * SLJIT_CACHE_FLUSH). x86_64 needs nothing; arm64 cleans and invalidates
 * the caches for the range; macOS calls sys_icache_invalidate. Other
 * threads that ran the old bytes need jb_sync_threads().
 * @return 0; JB_EINVAL (NULL, len 0); JB_ERANGE, JB_EFOREIGN; JB_ESTATE
 *   (inside a jb_write_with callback).
 * Thread-safe; no syscall. */
JB_API int jb_flush_icache(jb_region *r, void *exec, size_t len);

/* Freeze the set of allowed write callbacks (macOS freeze-late): calls
 * pthread_jit_write_freeze_callbacks_np, at most once per process. Call it
 * after every image with JIT write callbacks is loaded and before the first
 * write; until then a region under freeze-late refuses writes and
 * allocations that need new pages (JB_ESTATE) instead of letting the OS
 * kill the process. Once frozen (by jb_freeze, or by the host as
 * jb_apple_host_froze reported), and on macOS 11.4-12.0 (which froze the
 * list at launch), it returns 0 and calls nothing: a second freeze would
 * kill. A no-op returning 0 on Linux.
 * @return 0; JB_EINVAL (NULL); JB_ECLOSED; JB_ESTATE inside a
 *   jb_write_with callback; macOS: JB_ESTATE (the executable is not
 *   signed with freeze-late, and the region was not opened with
 *   JB_OPEN_APPLE_FREEZE_LATE: a freeze would kill), JB_EUNSUPPORTED (a
 *   build with an SDK older than 12.1).
 * Thread-safe; the first call freezes, the others wait for it. */
JB_API int jb_freeze(jb_region *r);

/* Make every thread of the process drop instructions it may have fetched
 * from code that was since rewritten (patched live code, reused blocks):
 * Linux membarrier(PRIVATE_EXPEDITED_SYNC_CORE), or where the kernel
 * lacks it (or refuses to register it) PRIVATE_EXPEDITED, whose IPI
 * returns through an exception return that serialises the interrupted
 * core, and last GLOBAL. The first call chooses; a failure is not
 * remembered, so a later call asks the kernel again.
 * macOS has no such call: there it returns JB_EUNSUPPORTED with advice.
 * @return 0; JB_EINVAL (NULL); JB_ECLOSED; JB_ESTATE inside a
 *   jb_write_with callback; JB_EOS if the kernel offers no command or the
 *   call failed (the sentence names membarrier and its errno);
 *   JB_EUNSUPPORTED (macOS).
 * Thread-safe. Cost: one syscall that interrupts the process's other
 * running threads. */
JB_API int jb_sync_threads(jb_region *r);

/* ---- macOS ------------------------------------------------------------ */

/* For hosts that call pthread_jit_write_protect_np themselves on a thread
 * that also writes through jitbuf: call this instead, so that jitbuf knows
 * the thread's state (the OS has no getter). apple-toggle windows restore
 * the state they found; apple-callback writes go through
 * pthread_jit_write_with_callback_np, which always leaves the thread
 * executable, so jitbuf makes a thread that this call made writable
 * writable again after each write. A host that toggles with
 * pthread_jit_write_protect_np directly finds its thread executable after
 * any jitbuf write under apple-callback. enabled = 1: executable, 0:
 * writable.
 * @return 0; JB_EUNSUPPORTED (not macOS); JB_EPERM (macOS 11.4 and later:
 *   the executable is signed with com.apple.security.cs.jit-write-allowlist,
 *   or a region was opened with JB_OPEN_APPLE_ALLOWLIST: the OS would kill
 *   the process; before 11.4 the OS has no allowlist);
 *   JB_ESTATE (inside a jitbuf write window). Affects the calling thread. */
JB_API int jb_apple_write_protect(int enabled);

/* The host (or another library) called pthread_jit_write_freeze_callbacks_np
 * itself: tell jitbuf, which then never calls it (a second freeze kills the
 * process) and lets a region under freeze-late write. Call it right after
 * that freeze.
 * @return 0; JB_EUNSUPPORTED (not macOS). Thread-safe; no syscall. */
JB_API int jb_apple_host_froze(void);

#if defined(__APPLE__) || defined(JB_DARWIN_MODEL)
/* jitbuf's three write callbacks (copy, patch, fill) for the macOS
 * allowlist. They accept only requests that jitbuf made on the calling
 * thread and trap on anything else; never call them yourself.
 *
 * libjitbuf.dylib lists them in its own __pth_jit_func section. A static
 * libjitbuf.a lists none (an image may hold one list), so an executable
 * that links it statically and has the jit-write-allowlist entitlement
 * lists them in its one invocation, beside its own callbacks:
 *
 *     PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP(JB_APPLE_WRITE_CALLBACKS,
 *                                          my_callback);
 */
JB_API int jb_apple_write_copy(void *ctx);
JB_API int jb_apple_write_patch(void *ctx);
JB_API int jb_apple_write_fill(void *ctx);
#define JB_APPLE_WRITE_CALLBACKS                                               \
    jb_apple_write_copy, jb_apple_write_patch, jb_apple_write_fill
#endif

#ifdef __cplusplus
}
#endif
#endif /* JITBUF_H */
