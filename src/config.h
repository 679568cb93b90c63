/* Build options. Each can be set from make as a -D flag (see Makefile).
 * Defaults are the safe choice. */
#ifndef JB_CONFIG_H
#define JB_CONFIG_H

/* JB_NO_RWX: compile the rwx strategy out. Even when compiled in, rwx is
 * never picked by JB_WX_AUTO; it exists for measurement and for systems that
 * allow nothing else, and jb_region_info() reports it as not W^X. Set this in
 * hardened builds so that not even JITBUF_WX=rwx can select it. */
#ifndef JB_NO_RWX
#define JB_NO_RWX 0
#endif

/* Allocation granule and guard gap, in bytes. 16 keeps x86_64 functions at
 * their usual alignment and costs 12 bytes of (lazily touched) bookkeeping
 * per granule of reserve. The guard gap keeps offset 0 of the region out of
 * use so that sanitizers reading a few bytes before a function stay inside
 * mapped memory. */
#define JB_GRANULE 16u
#define JB_GUARD 64u

/* The backed part of a region grows in steps of this many bytes; each step
 * is one syscall (ftruncate or mprotect) plus a trap fill. */
#define JB_GROW_STEP ((size_t)256 << 10)

/* Smallest and largest reserve accepted by jb_region_open. */
#define JB_MIN_RESERVE ((size_t)64 << 10)
#define JB_MAX_RESERVE ((size_t)1 << 31)

/* Largest alignment jb_alloc accepts (regions start page aligned). */
#define JB_MAX_ALIGN 4096u

#endif
