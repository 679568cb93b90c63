/* The Darwin backend's decisions, as plain functions of what the code
 * signature, the loaded images and the OS version say (decide.c).
 *
 * The backend feeds them the running process (rules.c, listing.c,
 * callback.c, toggle.c); tools/jitbuf-doctor feeds them a Mach-O file or an
 * .app bundle on any system. Both therefore make the same decision with
 * the same sentence: which strategy JB_WX_AUTO ends with, which flags the
 * signature contradicts, whether jitbuf's write callbacks are in a list the
 * OS reads. Like macho.c, nothing here includes an Apple header. */
#ifndef JB_OS_DARWIN_DECIDE_H
#define JB_OS_DARWIN_DECIDE_H

#include <stddef.h>
#include <stdint.h>

#include "jitbuf.h"
#include "macho.h"

/* ---- what the main executable's code signature says ------------------ */
typedef struct {
    int read;          /* the signature was read */
    const char *why;   /* if not: why (a phrase) */
    unsigned ents;     /* 1u << JB__ENT_* (macho.h) */
    uint32_t cd_flags; /* CodeDirectory flags */
    int alien;         /* an iOS executable (on a Mac: one MAP_JIT) */
} jb__dw_sig;
/* Read it from an image (a file, or the one dyld mapped). */
void jb__dw_sig_read(const jb__macho *m, jb__dw_sig *out);
/* 1 if entitlement ent (JB__ENT_*) is in a signature that was read. */
int jb__dw_has(const jb__dw_sig *s, int ent);

/* ---- the macOS a decision is for ------------------------------------- */
typedef struct {
    int os_11_4;      /* pthread_jit_write_with_callback_np exists */
    int os_12_1;      /* freeze-late exists (libpthread-485.40.4, 12.0,
                         has no allowlist_freeze_late) */
    int callback_api; /* libjitbuf was built with a macOS 12 or later SDK:
                         the apple-callback strategy exists */
    int intel;        /* no per-thread write protection (an Intel Mac):
                         libpthread enforces no allowlist (libpthread-539
                         src/pthread.c:1243-1244, 1371-1373, 1408-1410,
                         1455-1457), but the executable's arm64 side would
                         be killed, so jitbuf refuses the same and says so */
} jb__dw_os;

/* ---- the rules that bind a region ------------------------------------ */
typedef struct {
    int signed_;     /* decided by the signature */
    int allowlist;   /* the OS checks callbacks; protect_np kills */
    int late_signed; /* freeze-late was asked for or signed */
    int freeze_late; /* ... and this OS has it (12.1+): no write before the
                        freeze */
    int single_jit;  /* xnu allows one MAP_JIT region per process lifetime */
    int intel;       /* jb__dw_os.intel */
    char note[200];  /* for jb_info.why */
} jb__dw_rules;
/* The rules for an open with flags (JB_OPEN_*; fn names the call in the
 * sentence), from the signature s, or from the flags where s was not read.
 * 0, or JB_EINVAL with a sentence if a flag contradicts the signature. */
int jb__dw_rules_decide(const jb__dw_sig *s, unsigned flags,
                        const jb__dw_os *os, jb__dw_rules *out,
                        const char *fn);

/* ---- the strategies --------------------------------------------------- */
/* The order in which JB_WX_AUTO tries them (strategies.c's jb__os_auto
 * follows it; a model test checks that). */
extern const jb_wx jb__dw_auto_order[2];
/* Can strategy wx (apple-callback or apple-toggle) work under rules r (NULL:
 * not decided yet; the checks that need them are skipped) on os? 0, or the
 * JB_E* code and sentence with which its map refuses. apple-callback under
 * the allowlist also needs jb__dw_listed(). */
int jb__dw_strategy_ok(jb_wx wx, const jb__dw_rules *r, const jb__dw_os *os);
/* 1 if JB_OPEN_PRIVATE can be honoured under r, else 0 and a sentence. */
int jb__dw_private_ok(const jb__dw_rules *r);
/* 1 if xnu will map MAP_JIT for a process signed s: not if it runs under
 * the hardened runtime without com.apple.security.cs.allow-jit (Apple's
 * documented rule; AMFI's policy, EINVAL from xnu-11417.101.15
 * bsd/kern/kern_mman.c:474-478). */
int jb__dw_map_jit_allowed(const jb__dw_sig *s);
/* The sentence (and JB_EPERM) for a refused MAP_JIT when the signature
 * lacks allow-jit; how names the refusal ("was refused (EINVAL)"). */
int jb__dw_no_allow_jit(const char *how);

/* ---- jitbuf's callbacks in the allowlists the OS reads ---------------- */
/* One image's list, as libpthread reads it. */
typedef struct {
    int in_cache;   /* in the shared cache: never read (pthread.c:1292) */
    int at_launch;  /* present when libSystem started */
    int counts;     /* the OS reads its list (at launch, or under
                       freeze-late before the freeze) */
    jb__allowlist list;
    unsigned read;   /* bit c: jitbuf's callback c is in the part read */
    unsigned unread; /* bit c: ... only after the first NULL */
} jb__dw_image_list;

/* The images, through accessors, so that the process (dyld) and a file
 * (the doctor) are read by the same rules. Image 0 is the main executable. */
typedef struct {
    uint32_t n;
    unsigned char *scratch; /* n bytes the rules may use */
    void *arg;
    /* image i: 0, or -1 if it cannot be read (skipped) */
    int (*image)(void *arg, uint32_t i, jb__macho *m);
    const char *(*name)(void *arg, uint32_t i);
    /* its __DATA_CONST,__pth_jit_func bytes, or NULL */
    const uint8_t *(*section)(void *arg, uint32_t i, const jb__macho *m,
                              size_t *size);
    /* which of jitbuf's callbacks entry k (value as stored) is: 0 copy,
     * 1 patch, 2 fill, or -1 */
    int (*which)(void *arg, uint32_t i, const jb__macho *m, size_t k,
                 uint64_t value);
    /* under freeze-late: 1 if image i was loaded before the freeze */
    int (*before_freeze)(void *arg, uint32_t i);
    /* told each image's list (may be NULL) */
    void (*report)(void *arg, uint32_t i, const jb__dw_image_list *l);
} jb__dw_images;

/* 0 if jitbuf's copy, patch and fill are each in a list the OS reads under
 * rules r; else JB_EPERM and the sentence with the fix (two lists in one
 * image, a list only in a dlopen'd image, no list). *total (may be NULL):
 * the entries the OS copies from every image, at most
 * JB__ALLOWLIST_CAPACITY or the process is killed at launch. */
int jb__dw_listed(const jb__dw_images *im, const jb__dw_rules *r,
                  size_t *total);


/* ---- the verdict --------------------------------------------------------- */
/* What jb_region_open(&r, NULL) (JB_WX_AUTO, flags 0) does in a process
 * signed sig, on os, with images im: the checks of each strategy's map in
 * JB_WX_AUTO's order (the rules, the OS version, the allowlists), then
 * the MAP_JIT mapping (jb__dw_map_jit_allowed). 0 and *wx, or -1; story
 * (n bytes) says what was tried and each refusal's sentence. The doctor's
 * verdict; a model test checks it against the real open. */
int jb__dw_open_verdict(const jb__dw_sig *sig, const jb__dw_os *os,
                        const jb__dw_images *im, jb_wx *wx, char *story,
                        size_t n);

#endif
