/* The plain-C Mach-O and code-signature reader (src/os/darwin/macho.c) on
 * real Mach-O files that Zig built and signed here with each plist (make
 * builds them: $(SIGNED)), and on truncated, oversized and hostile copies.
 * Built with AddressSanitizer: a read outside the given bytes fails. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/os/darwin/macho.h"

#ifndef JBM_SIGNED_DIR
#define JBM_SIGNED_DIR "build/darwin-model/signed"
#endif

typedef struct {
    uint8_t *p;
    size_t n;
} buf;

static buf load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.macho", JBM_SIGNED_DIR, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s (built by make)", path);
    buf b = {malloc(1 << 22), 0};
    b.n = fread(b.p, 1, 1 << 22, f);
    fclose(f);
    return b;
}

/* The signature blob of a file, copied to a heap block of exactly its size
 * (so that ASan sees any read past it). */
static buf blob_of(buf file)
{
    jb__macho m;
    const char *why = "";
    cr_assert_eq(jb__macho_file(&m, file.p, file.n, &why), 0, "%s", why);
    const uint8_t *s;
    size_t n;
    cr_assert_eq(jb__macho_signature(&m, &s, &n, &why), 0, "%s", why);
    buf b = {malloc(n), n};
    memcpy(b.p, s, n);
    return b;
}

#define BIT(e) (1u << (e))

static void expect(const char *name, unsigned ents, int xml)
{
    buf f = load(name), b = blob_of(f);
    jb__sig s;
    const char *why = "";
    cr_assert_eq(jb__sig_parse(b.p, b.n, &s, &why), 0, "%s: %s", name, why);
    cr_assert_eq(s.ents, ents, "%s: entitlements 0x%x, want 0x%x", name, s.ents, ents);
    cr_assert_eq(s.xml, xml);
    cr_assert_eq(s.der, 0, "Zig writes no DER blob");
    cr_assert_eq(s.cd_flags & (JB__CS_ADHOC | JB__CS_LINKER_SIGNED),
                 JB__CS_ADHOC | JB__CS_LINKER_SIGNED, "ad hoc, by the linker");
    cr_assert_eq(s.cd_flags & JB__CS_RUNTIME, 0, "Zig sets no hardened runtime");
    free(b.p);
    free(f.p);
}

Test(signature, each_plist_zig_signed)
{
    expect("plain", 0, 0);
    expect("jit", BIT(JB__ENT_ALLOW_JIT), 1);
    expect("jit-allowlist", BIT(JB__ENT_ALLOW_JIT) | BIT(JB__ENT_ALLOWLIST), 1);
    expect("jit-allowlist-freeze-late", BIT(JB__ENT_ALLOW_JIT) |
               BIT(JB__ENT_ALLOWLIST) | BIT(JB__ENT_FREEZE_LATE), 1);
    expect("single-jit", BIT(JB__ENT_ALLOW_JIT) | BIT(JB__ENT_SINGLE_JIT), 1);
}

/* The CodeDirectory's flags word (offset 12 of the blob that slot 0 names):
 * codesign --options runtime sets CS_RUNTIME there. */
Test(signature, hardened_runtime_flag_is_read)
{
    buf f = load("jit"), b = blob_of(f);
    uint32_t off = (uint32_t)b.p[16] << 24 | b.p[17] << 16 | b.p[18] << 8 | b.p[19];
    b.p[off + 13] |= 0x01; /* big-endian 0x00010000 */
    jb__sig s;
    const char *why;
    cr_assert_eq(jb__sig_parse(b.p, b.n, &s, &why), 0);
    cr_assert(s.cd_flags & JB__CS_RUNTIME);
    free(b.p);
    free(f.p);
}

/* DER entitlements (CSSLOT_DER_ENTITLEMENTS), as newer codesign writes
 * them; no signer here writes DER, so the blob is built byte by byte. */
static size_t der_kv(uint8_t *p, const char *key, int value)
{
    size_t k = strlen(key);
    p[0] = 0x30;
    p[1] = (uint8_t)(2 + k + 3);
    p[2] = 0x0c;
    p[3] = (uint8_t)k;
    memcpy(p + 4, key, k);
    p[4 + k] = 0x01;
    p[5 + k] = 0x01;
    p[6 + k] = value ? 0xff : 0x00;
    return 7 + k;
}
static void be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}
static size_t der_signature(uint8_t *sb)
{
    uint8_t dict[512];
    size_t d = 0;
    d += der_kv(dict + d, jb__ent_names[JB__ENT_ALLOW_JIT], 1);
    d += der_kv(dict + d, jb__ent_names[JB__ENT_ALLOWLIST], 1);
    d += der_kv(dict + d, jb__ent_names[JB__ENT_FREEZE_LATE], 0);
    uint8_t der[600];
    size_t n = 0;
    der[n++] = 0x70;
    der[n++] = 0x82;
    size_t len_at = n;
    n += 2;
    der[n++] = 0x02, der[n++] = 0x01, der[n++] = 0x01; /* INTEGER 1 */
    der[n++] = 0xb0, der[n++] = 0x82;
    der[n++] = (uint8_t)(d >> 8), der[n++] = (uint8_t)d;
    memcpy(der + n, dict, d);
    n += d;
    der[len_at] = (uint8_t)((n - 4) >> 8), der[len_at + 1] = (uint8_t)(n - 4);
    /* SuperBlob: CodeDirectory (slot 0, minimal) and DER (slot 7) */
    size_t cd = 28, dr = cd + 16, total = dr + 8 + n;
    be(sb, 0xfade0cc0), be(sb + 4, (uint32_t)total), be(sb + 8, 2);
    be(sb + 12, 0), be(sb + 16, (uint32_t)cd);
    be(sb + 20, 7), be(sb + 24, (uint32_t)dr);
    be(sb + cd, 0xfade0c02), be(sb + cd + 4, 16), be(sb + cd + 8, 0x20400),
        be(sb + cd + 12, JB__CS_RUNTIME);
    be(sb + dr, 0xfade7172), be(sb + dr + 4, (uint32_t)(8 + n));
    memcpy(sb + dr + 8, der, n);
    return total;
}

Test(signature, der_entitlements_are_read)
{
    uint8_t sb[1024];
    size_t n = der_signature(sb);
    uint8_t *b = malloc(n);
    memcpy(b, sb, n);
    jb__sig s;
    const char *why = "";
    cr_assert_eq(jb__sig_parse(b, n, &s, &why), 0, "%s", why);
    cr_assert_eq(s.ents, BIT(JB__ENT_ALLOW_JIT) | BIT(JB__ENT_ALLOWLIST),
                 "false values stay false: 0x%x", s.ents);
    cr_assert(s.der && !s.xml);
    cr_assert(s.cd_flags & JB__CS_RUNTIME);
    free(b);
}

/* Every prefix of a real signature and of a DER one: a clear error, and
 * (under ASan) no read past the prefix. */
Test(signature, truncated_blobs_are_errors)
{
    buf f = load("jit-allowlist-freeze-late"), full = blob_of(f);
    uint8_t der[1024];
    size_t dn = der_signature(der);
    for (int which = 0; which < 2; which++) {
        const uint8_t *src = which ? der : full.p;
        size_t len = which ? dn : full.n;
        uint32_t declared = (uint32_t)src[4] << 24 | src[5] << 16 | src[6] << 8 | src[7];
        for (size_t n = 0; n < declared; n++) {
            uint8_t *b = malloc(n ? n : 1);
            memcpy(b, src, n);
            jb__sig s;
            const char *why = NULL;
            cr_assert_eq(jb__sig_parse(b, n, &s, &why), -1, "prefix %zu of %zu", n, len);
            cr_assert_not_null(why);
            free(b);
        }
    }
    free(full.p);
    free(f.p);
}

static int parse_copy(const uint8_t *p, size_t n, const char **why)
{
    uint8_t *b = malloc(n);
    memcpy(b, p, n);
    jb__sig s;
    int rc = jb__sig_parse(b, n, &s, why);
    free(b);
    return rc;
}

Test(signature, oversized_and_hostile_blobs_are_errors)
{
    buf f = load("jit-allowlist"), b = blob_of(f);
    const char *why;
    uint8_t *c = malloc(b.n);
    struct {
        size_t at;
        uint32_t value;
        const char *phrase;
    } cases[] = {
        {4, 0xffffffffu, "length runs past"},   /* SuperBlob length */
        {8, 0x20000000u, "index runs past"},    /* count */
        {16, 0x7ffffff0u, "offset lies outside"}, /* slot 0 offset */
        {0, 0x12345678u, "not an embedded signature"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(c, b.p, b.n);
        be(c + cases[i].at, cases[i].value);
        cr_assert_eq(parse_copy(c, b.n, &why), -1, "case %zu", i);
        cr_assert(strstr(why, cases[i].phrase), "case %zu: %s", i, why);
    }
    /* a blob whose own length runs past the SuperBlob */
    memcpy(c, b.p, b.n);
    uint32_t off = (uint32_t)c[24] << 24 | c[25] << 16 | c[26] << 8 | c[27];
    be(c + off + 4, 0x00fffff0u);
    cr_assert_eq(parse_copy(c, b.n, &why), -1);
    cr_assert(strstr(why, "blob's length"), "%s", why);
    free(c);
    free(b.p);
    free(f.p);
}

static int xml_case(const char *xml, unsigned *ents)
{
    uint8_t sb[2048];
    size_t x = strlen(xml), cd = 28, en = cd + 16, total = en + 8 + x;
    be(sb, 0xfade0cc0), be(sb + 4, (uint32_t)total), be(sb + 8, 2);
    be(sb + 12, 0), be(sb + 16, (uint32_t)cd), be(sb + 20, 5), be(sb + 24, (uint32_t)en);
    be(sb + cd, 0xfade0c02), be(sb + cd + 4, 16), be(sb + cd + 8, 0x20400), be(sb + cd + 12, 2);
    be(sb + en, 0xfade7171), be(sb + en + 4, (uint32_t)(8 + x));
    memcpy(sb + en + 8, xml, x);
    const char *why;
    uint8_t *b = malloc(total);
    memcpy(b, sb, total);
    jb__sig s;
    int rc = jb__sig_parse(b, total, &s, &why);
    free(b);
    *ents = s.ents;
    return rc;
}

Test(signature, hostile_xml)
{
    unsigned e;
    const char *bad[] = {
        "<plist><dict><key>com.apple.security.cs.allow-jit</key>",
        "<plist><dict><key>com.apple.security.cs.allow-jit",
        "<!-- never closed <plist><dict></dict></plist>",
        "<plist><dict><true/></dict></plist>",
        "<plist><dict><key>a</key><array><array></array></dict></plist>",
        "<",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(xml_case(bad[i], &e), -1, "case %zu", i);
    /* nested values are skipped, comments ignored, only <true/> counts */
    cr_assert_eq(xml_case("<?xml?><!-- c --><plist><dict>"
                          "<key>x</key><dict><key>com.apple.security.cs.allow-jit</key><true/></dict>"
                          "<key>com.apple.security.cs.single-jit</key><false/>"
                          "<key>com.apple.security.cs.jit-write-allowlist</key><true/>"
                          "</dict></plist>",
                          &e),
                 0);
    cr_assert_eq(e, BIT(JB__ENT_ALLOWLIST), "0x%x", e);
}

/* Xcode writes an empty entitlements file as <dict/>: no entitlements, not
 * a malformed signature (which failed the first reader, "no <dict>"); a
 * <dict/> nested in a value is skipped like any other value. */
Test(signature, empty_dict_is_no_entitlements)
{
    unsigned e = ~0u;
    cr_assert_eq(xml_case("<?xml version=\"1.0\"?><plist version=\"1.0\"><dict/></plist>", &e), 0);
    cr_assert_eq(e, 0, "0x%x", e);
    cr_assert_eq(xml_case("<plist><dict><key>x</key><dict/>"
                          "<key>com.apple.security.cs.allow-jit</key><true/></dict></plist>",
                          &e),
                 0);
    cr_assert_eq(e, BIT(JB__ENT_ALLOW_JIT), "0x%x", e);
}

/* Mach-O files: the real ones, and cut or corrupted copies. */
Test(signature, macho_files_and_their_damage)
{
    buf f = load("jit");
    jb__macho m;
    const char *why = "";
    cr_assert_eq(jb__macho_file(&m, f.p, f.n, &why), 0, "%s", why);
    cr_assert_eq(m.cputype, JB__CPU_ARM64);
    uint32_t platform = 0;
    cr_assert_eq(jb__macho_minos(&m, &platform), 0x0d0000u);
    cr_assert_eq(platform, 1);
    /* an old iOS app: LC_VERSION_MIN_IPHONEOS, which xnu takes as iOS in an
     * arm64 process (mach_loader.c:2450-2458), so the map is alien; the
     * first reader said "no platform" */
    {
        uint8_t *c = f.p + 32, was[24];
        while (c[0] != 0x32) /* LC_BUILD_VERSION, which Zig writes */
            c += c[4] | c[5] << 8;
        memcpy(was, c, sizeof was);
        c[0] = 0x25;                               /* LC_VERSION_MIN_IPHONEOS */
        c[8] = 0, c[9] = 0, c[10] = 14, c[11] = 0; /* version 14.0 */
        jb__macho v;
        cr_assert_eq(jb__macho_file(&v, f.p, f.n, &why), 0, "%s", why);
        cr_assert_eq(jb__macho_minos(&v, &platform), 0x0e0000u);
        cr_assert_eq(platform, 2);
        memcpy(c, was, sizeof was);
    }
    /* every prefix that cuts the load commands is refused */
    for (size_t n = 1; n < 32 + m.sizeofcmds; n += 7) {
        uint8_t *c = malloc(n);
        memcpy(c, f.p, n);
        jb__macho t;
        cr_assert_eq(jb__macho_file(&t, c, n, &why), -1, "prefix %zu", n);
        free(c);
    }
    /* a signature that points past the end of the file */
    uint8_t *c = malloc(f.n);
    memcpy(c, f.p, f.n);
    size_t off = 32;
    for (uint32_t i = 0; i < m.ncmds; i++) {
        uint32_t cmd, sz;
        memcpy(&cmd, c + off, 4);
        memcpy(&sz, c + off + 4, 4);
        if (cmd == 0x1d) {
            uint32_t huge = (uint32_t)f.n;
            memcpy(c + off + 8, &huge, 4);
        }
        off += sz;
    }
    jb__macho t;
    cr_assert_eq(jb__macho_file(&t, c, f.n, &why), 0);
    const uint8_t *s;
    size_t n;
    cr_assert_eq(jb__macho_signature(&t, &s, &n, &why), -1);
    cr_assert(strstr(why, "outside"), "%s", why);
    /* a load command of size 0 */
    memcpy(c, f.p, f.n);
    memset(c + 36, 0, 4);
    cr_assert_eq(jb__macho_file(&t, c, f.n, &why), -1);
    free(c);
    free(f.p);
}

/* The allowlist scan: what libpthread reads and what it never sees. */
Test(signature, allowlist_scan_counts_lists)
{
    uint64_t s[7] = {1, 2, 0, 3, 4, 0, 5};
    jb__allowlist a;
    jb__allowlist_scan((const uint8_t *)s, sizeof s, &a, NULL, NULL);
    cr_assert_eq(a.read, 2);
    cr_assert_eq(a.unread, 3);
    cr_assert_eq(a.lists, 3);
    jb__allowlist_scan((const uint8_t *)s, sizeof s - 4, &a, NULL, NULL);
    cr_assert(a.ignored, "size not a multiple of 8");
    cr_assert_eq(a.read + a.unread, 0);
}

/* A SuperBlob of CodeDirectories (slot, hashType, flags) and XML or DER
 * entitlement blobs (slot 5 or 7, empty dicts), parsed. */
typedef struct {
    uint32_t slot, hash, flags;
} sig_blob;

static int superblob_case(const sig_blob *bl, size_t nb, jb__sig *s,
                          const char **why)
{
    static const char xml[] = "<plist><dict></dict></plist>";
    static const uint8_t der[] = {0x70, 0x05, 0x02, 0x01, 0x01, 0xb0, 0x00};
    uint8_t b[1024] = {0};
    uint32_t at = 12 + 8 * (uint32_t)nb;
    be(b, 0xfade0cc0), be(b + 8, (uint32_t)nb);
    for (size_t i = 0; i < nb; i++) {
        be(b + 12 + 8 * i, bl[i].slot), be(b + 16 + 8 * i, at);
        uint8_t *p = b + at;
        uint32_t len;
        if (bl[i].slot == 5) {
            len = 8 + (uint32_t)strlen(xml);
            be(p, 0xfade7171), memcpy(p + 8, xml, strlen(xml));
        } else if (bl[i].slot == 7) {
            len = 8 + sizeof der;
            be(p, 0xfade7172), memcpy(p + 8, der, sizeof der);
        } else { /* a CodeDirectory header: hashType at byte 37 */
            len = 44;
            be(p, 0xfade0c02), be(p + 8, 0x20400), be(p + 12, bl[i].flags);
            p[36] = 32, p[37] = (uint8_t)bl[i].hash;
        }
        be(p + 4, len);
        at += (len + 3) & ~3u;
    }
    be(b + 4, at);
    uint8_t *c = malloc(at);
    memcpy(c, b, at);
    int rc = jb__sig_parse(c, at, s, why);
    free(c);
    return rc;
}

/* The kernel takes the CodeDirectory of the best hash type, wherever it
 * sits (slot 0 or 0x1000-0x1004), and rejects two of one type and two
 * entitlement blobs of one kind (xnu-11417.101.15 bsd/kern/ubc_subr.c:
 * 573-594, 604-621). */
Test(signature, the_kernel_codedirectory_and_duplicate_blobs)
{
    jb__sig s;
    const char *why = NULL;
    /* codesign's layout: SHA-1 in slot 0, SHA-256 (the one used) after */
    sig_blob two[] = {{0, 1, 0x2}, {0x1000, 2, 0x10002}};
    cr_assert_eq(superblob_case(two, 2, &s, &why), 0, "%s", why);
    cr_assert_eq(s.cd_flags, 0x10002u, "flags 0x%x", s.cd_flags);
    sig_blob rev[] = {{0, 2, 0x10002}, {0x1001, 1, 0x2}};
    cr_assert_eq(superblob_case(rev, 2, &s, &why), 0, "%s", why);
    cr_assert_eq(s.cd_flags, 0x10002u, "flags 0x%x", s.cd_flags);
    const struct {
        sig_blob b[3];
        size_t n;
        const char *phrase;
    } bad[] = {
        {{{0, 2, 0x2}, {0x1000, 2, 0x10002}}, 2, "two CodeDirectories"},
        {{{0, 2, 0x2}, {5, 0, 0}, {5, 0, 0}}, 3, "two XML entitlements"},
        {{{0, 2, 0x2}, {7, 0, 0}, {7, 0, 0}}, 3, "two DER entitlements"},
        {{{0x1004, 2, 0x2}}, 1, NULL}, /* an alternate alone is fine */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = superblob_case(bad[i].b, bad[i].n, &s, &why);
        if (!bad[i].phrase) {
            cr_assert_eq(rc, 0, "case %zu: %s", i, why);
            continue;
        }
        cr_assert_eq(rc, -1, "case %zu", i);
        cr_assert(strstr(why, bad[i].phrase), "case %zu: %s", i, why);
    }
}
