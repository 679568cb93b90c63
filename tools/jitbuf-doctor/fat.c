/* What xnu checks of a universal executable before it runs any slice
 * (xnu-11417.101.15): only a 32-bit universal header is an executable
 * (bsd/kern/kern_exec.c:809-812); no slice inside the headers, past the
 * file or over another, and no two with the same cputype and cpusubtype
 * (bsd/kern/mach_fat.c:274-299, 306-321: the whole exec fails); and the
 * slice it picks must carry the cputype and cpusubtype its entry claims
 * (kern_exec.c:1414-1419, EBADARCH). The slices are read by
 * jb__macho_slices; these rules are the kernel's, for an executable. */
#include <stdio.h>
#include <string.h>

#include "doctor.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 |
           p[0];
}

static const char *cpu(uint32_t t)
{
    return t == JB__CPU_ARM64 ? "arm64" : t == JB__CPU_X86_64 ? "x86_64"
                                                              : "another CPU";
}

static int problem(jbd_node *findings, const char *text, const char *fix)
{
    char full[700];
    snprintf(full, sizeof full,
             "%s, so the kernel refuses to run the file on any Mac", text);
    jbd_finding(findings, JBD_FAIL, full, fix);
    return 1;
}

/* A slice's entry: where, how long, which CPU; 0 if not a Mach-O slice. */
typedef struct {
    uint64_t off, len;
    uint32_t cputype, subtype;
} entry;

int jbd_fat_exec(const uint8_t *p, size_t n, jbd_node *findings)
{
    if (n < 8 || (be32(p) != 0xcafebabe && be32(p) != 0xcafebabf))
        return 0;
    int fat64 = be32(p) == 0xcafebabf;
    size_t each = fat64 ? 32 : 20;
    uint32_t count = be32(p + 4);
    if (count == 0 || count > (n - 8) / each)
        return 0; /* unreadable: jbd_binary says so */
    /* an executable: the first slice that is a 64-bit Mach-O says */
    int exe = 0;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *a = p + 8 + each * i;
        uint64_t off = fat64 ? (uint64_t)be32(a + 8) << 32 | be32(a + 12)
                             : be32(a + 8);
        if (off <= n && n - off >= 16 && le32(p + off) == 0xfeedfacf) {
            exe = le32(p + off + 12) == 2; /* MH_EXECUTE */
            break;
        }
    }
    if (!exe)
        return 0;
    if (fat64)
        return problem(findings,
                       "a 64-bit universal header (FAT_MAGIC_64): the kernel "
                       "runs only a FAT_MAGIC universal executable "
                       "(xnu-11417.101.15 bsd/kern/kern_exec.c:809-812)",
                       "build it with lipo -create, without -fat64");
    int bad = 0;
    char text[500];
    uint64_t header = 8 + 20 * (uint64_t)count;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *a = p + 8 + 20 * i;
        entry e = {be32(a + 8), be32(a + 12), be32(a), be32(a + 4)};
        if (e.off < header || e.off + e.len > n) {
            snprintf(text, sizeof text,
                     "universal slice %u (%s) lies %s (xnu-11417.101.15 "
                     "bsd/kern/mach_fat.c:274-287)",
                     i, cpu(e.cputype),
                     e.off < header ? "over the universal header"
                                    : "past the end of the file");
            bad |= problem(findings, text, "rebuild it with lipo -create");
            continue;
        }
        for (uint32_t j = i + 1; j < count; j++) {
            const uint8_t *b = p + 8 + 20 * j;
            entry o = {be32(b + 8), be32(b + 12), be32(b), be32(b + 4)};
            int dup = e.cputype == o.cputype && e.subtype == o.subtype;
            if (!dup && (o.off >= e.off + e.len || e.off >= o.off + o.len))
                continue;
            snprintf(text, sizeof text,
                     "universal slices %u and %u (%s) %s (xnu-11417.101.15 "
                     "bsd/kern/mach_fat.c:%s)",
                     i, j, cpu(e.cputype),
                     dup ? "have the same cputype and cpusubtype"
                         : "overlap",
                     dup ? "296-299" : "306-321");
            bad |= problem(findings, text,
                           "keep one slice per architecture: lipo -create "
                           "from thin files");
        }
        const uint8_t *h = p + e.off;
        if (e.len >= 12 && le32(h) == 0xfeedfacf &&
            (le32(h + 4) != e.cputype || le32(h + 8) != e.subtype)) {
            snprintf(text, sizeof text,
                     "universal slice %u is listed as %s (subtype 0x%x) but "
                     "its Mach-O header says %s (subtype 0x%x): the kernel "
                     "fails the exec with EBADARCH on a Mac that picks it "
                     "(xnu-11417.101.15 bsd/kern/kern_exec.c:1414-1419)",
                     i, cpu(e.cputype), e.subtype, cpu(le32(h + 4)),
                     le32(h + 8));
            jbd_finding(findings, JBD_FAIL, text,
                        "rebuild it with lipo -create from thin files");
            bad = 1;
        }
    }
    return bad;
}
