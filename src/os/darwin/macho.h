/* Mach-O and code-signature reading in plain C (see macho.c for why it
 * lives here and includes no Apple header). */
#ifndef JB_OS_DARWIN_MACHO_H
#define JB_OS_DARWIN_MACHO_H

#include <stddef.h>
#include <stdint.h>

/* ---- Entitlements that decide jitbuf's strategy, or that should not be
 * there. Index into jb__ent_names[]. */
enum {
    JB__ENT_ALLOW_JIT,          /* com.apple.security.cs.allow-jit */
    JB__ENT_ALLOWLIST,          /* ...cs.jit-write-allowlist */
    JB__ENT_FREEZE_LATE,        /* ...cs.jit-write-allowlist-freeze-late */
    JB__ENT_SINGLE_JIT,         /* ...cs.single-jit */
    JB__ENT_UNSIGNED_EXEC,      /* ...cs.allow-unsigned-executable-memory */
    JB__ENT_NO_PAGE_PROTECTION, /* ...cs.disable-executable-page-protection */
    JB__ENT_NO_LIBRARY_CHECK,   /* ...cs.disable-library-validation */
    JB__ENT_COUNT
};
extern const char *const jb__ent_names[JB__ENT_COUNT];

#define JB__CS_ADHOC 0x2u          /* xnu osfmk/kern/cs_blobs.h:37 */
#define JB__CS_RUNTIME 0x10000u    /* hardened runtime, cs_blobs.h:54 */
#define JB__CS_LINKER_SIGNED 0x20000u

/* What one embedded signature says. */
typedef struct {
    uint32_t cd_flags;  /* flags of the CodeDirectory the kernel uses */
    unsigned ents;      /* bit (1u << JB__ENT_*) per entitlement set true */
    int xml, der;       /* which entitlement blobs were present */
} jb__sig;

/* Parse an embedded signature (a SuperBlob) of n bytes. 0, or -1 with a
 * static phrase in *why saying what is wrong with it ("the SuperBlob's
 * index runs past its end"). Reads nothing outside [blob, blob + n). */
int jb__sig_parse(const uint8_t *blob, size_t n, jb__sig *out,
                  const char **why);

/* ---- Mach-O images: a file in memory, or an image mapped by dyld. */
typedef struct {
    const uint8_t *base; /* the mach header */
    size_t size;         /* file: its length; image: 0 (trust the loader) */
    intptr_t slide;      /* image: where it was loaded minus its vmaddr */
    uint32_t cputype, filetype, flags, ncmds, sizeofcmds;
} jb__macho;

#define JB__MH_DYLIB_IN_CACHE 0x80000000u /* xnu EXTERNAL_HEADERS/mach-o/loader.h:225 */
#define JB__CPU_X86_64 0x01000007u
#define JB__CPU_ARM64 0x0100000cu

/* A thin 64-bit little-endian Mach-O file of n bytes: 0, or -1 and *why. */
int jb__macho_file(jb__macho *m, const uint8_t *p, size_t n,
                   const char **why);
/* The image whose mach header dyld mapped at header. */
int jb__macho_image(jb__macho *m, const void *header, const char **why);

/* Slices of a universal (fat) file, or the file itself when thin: calls
 * fn(arg, cputype, slice, len) for each; 0, or -1 and *why. */
int jb__macho_slices(const uint8_t *p, size_t n,
                     void (*fn)(void *arg, uint32_t cputype,
                                const uint8_t *slice, size_t len),
                     void *arg, const char **why);

/* The embedded code signature: 0 and [*blob, *blob + *n); 1 if the image
 * has none; -1 and *why if LC_CODE_SIGNATURE points outside the image. */
int jb__macho_signature(const jb__macho *m, const uint8_t **blob, size_t *n,
                        const char **why);

/* A section's bytes: 0 and [*data, *data + *n), *addr its vmaddr; 1 if
 * there is no such section; -1 and *why if it lies outside the image. */
int jb__macho_section(const jb__macho *m, const char *seg, const char *sect,
                      const uint8_t **data, size_t *n, uint64_t *addr,
                      const char **why);

/* Dylib names: LC_ID_DYLIB (index -1) and the i-th dependency dyld loads
 * at launch: LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB or
 * LC_LOAD_UPWARD_DYLIB (i >= 0; never LC_LAZY_LOAD_DYLIB); NULL
 * when there is no such command. The name is NUL-terminated in the image. */
const char *jb__macho_dylib(const jb__macho *m, int i);
/* The i-th LC_RPATH, or NULL. */
const char *jb__macho_rpath(const jb__macho *m, int i);
/* The minimum OS version (the first LC_BUILD_VERSION, LC_VERSION_MIN_MACOSX
 * or LC_VERSION_MIN_IPHONEOS) as 0xMMMMmmpp, and the platform as xnu infers
 * it (1 macOS, 2 iOS, 6 Mac Catalyst, 7 iOS simulator); 0 if none. */
uint32_t jb__macho_minos(const jb__macho *m, uint32_t *platform);
/* The name of the defined symbol at vmaddr addr (file images with a
 * symbol table), or NULL. */
const char *jb__macho_symbol_at(const jb__macho *m, uint64_t addr);
/* The vmaddr of the defined symbol name ("_jb_region_open"): 0 and *addr,
 * or -1 (no symbol table, stripped, or not defined here). */
int jb__macho_symbol_addr(const jb__macho *m, const char *name,
                          uint64_t *addr);

/* What the 8-byte pointer stored at vmaddr slot (raw, as in the file)
 * means once dyld has loaded the image: the unslid address it points to
 * (*target), or for a bind the imported symbol's name (*bound, *target 0).
 * Chained fixups (LC_DYLD_CHAINED_FIXUPS, what ld64 writes for macOS 12 and
 * later: DYLD_CHAINED_PTR_64 and _64_OFFSET, dyld-1378 include/mach-o/
 * fixup-chains.h) are decoded; older files (LC_DYLD_INFO) and mapped
 * images hold the address itself. 0, or -1 and *why (another pointer
 * format, or damaged fixups). */
int jb__macho_pointer(const jb__macho *m, uint64_t slot, uint64_t raw,
                      uint64_t *target, const char **bound, const char **why);

/* ---- The allowlist of one image, as libpthread-539 reads it: the
 * __DATA_CONST,__pth_jit_func section's pointers up to the first NULL
 * (src/pthread.c:1309-1319); a section whose size is not a multiple of 8
 * is ignored (1300-1302); PTHREAD_JIT_WRITE_ALLOW_CALLBACKS_NP emits one
 * NULL-terminated array, and "may be invoked only once per
 * executable/library" (include/pthread/pthread.h:614), so entries after
 * the first NULL belong to another invocation that the OS never reads. */
typedef struct {
    int present;       /* the section exists */
    int ignored;       /* its size is not a multiple of 8 */
    size_t read;       /* entries before the first NULL: what the OS reads */
    size_t unread;     /* non-NULL entries after it: invisible to the OS */
    size_t lists;      /* NULL-terminated runs (invocations) */
} jb__allowlist;
/* Scan a section of n bytes. entry(arg, k, value, read) is called for
 * each non-NULL 8-byte entry (value as stored: a pointer in a mapped
 * image, a file's unrelocated address), read = 1 if the OS reads it; may
 * be NULL. */
void jb__allowlist_scan(const uint8_t *sect, size_t n, jb__allowlist *out,
                        void (*entry)(void *arg, size_t k, uint64_t value,
                                      int read),
                        void *arg);
/* libpthread-539's process-wide capacity: (PAGE_MAX_SIZE - 8) / 8 entries
 * (src/pthread.c:1224-1226, arm64's 16 KiB PAGE_MAX_SIZE); one more is a
 * crash, "Too many pthread jit write callbacks" (1312-1314). */
#define JB__ALLOWLIST_CAPACITY 2047u

#endif
