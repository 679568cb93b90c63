/* Mach-O files and images, and the code signature inside them, read in
 * plain C.
 *
 * Why here, and why no Apple header: the Darwin backend reads its own
 * executable's signature at jb_region_open (the entitlements decide which
 * write paths the OS allows), so the reader belongs to src/os/darwin/. The
 * same code must also run on Linux: in tools/jitbuf-doctor, which checks
 * macOS binaries anywhere, and in the tests, which feed it real Mach-O
 * files that Zig signed here plus truncated and hostile blobs. So it uses
 * only <stddef.h>, <stdint.h> and <string.h>, spells out the few Mach-O
 * and code-signing constants it needs (with the Apple header they come
 * from), and is compiled into the macOS library, the doctor and the tests
 * alike; the Linux library never links it.
 *
 * Every read is bounds-checked against the bytes it was given: a file's
 * length, or for an image mapped by dyld, its load commands' own sizes.
 * Nothing here allocates, and a malformed input yields -1 and a phrase. */
#include "macho.h"

#include <string.h>

const char *const jb__ent_names[JB__ENT_COUNT] = {
    "com.apple.security.cs.allow-jit",
    "com.apple.security.cs.jit-write-allowlist",
    "com.apple.security.cs.jit-write-allowlist-freeze-late",
    "com.apple.security.cs.single-jit",
    "com.apple.security.cs.allow-unsigned-executable-memory",
    "com.apple.security.cs.disable-executable-page-protection",
    "com.apple.security.cs.disable-library-validation",
};

/* ---- byte order --------------------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p)
{
    return le32(p) | (uint64_t)le32(p + 4) << 32;
}
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}
static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static int fail(const char **why, const char *what)
{
    if (why)
        *why = what;
    return -1;
}

/* ---- the code signature (xnu osfmk/kern/cs_blobs.h) ------------------ */

enum {
    CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0,    /* cs_blobs.h:95 */
    CSMAGIC_CODEDIRECTORY = 0xfade0c02,         /* :94 */
    CSMAGIC_EMBEDDED_ENTITLEMENTS = 0xfade7171, /* :97 */
    CSMAGIC_EMBEDDED_DER_ENTITLEMENTS = 0xfade7172, /* :98 */
    CSSLOT_CODEDIRECTORY = 0,                   /* :110 */
    CSSLOT_ENTITLEMENTS = 5,                    /* :115 */
    CSSLOT_DER_ENTITLEMENTS = 7,                /* :116 */
    CSSLOT_ALTERNATE_CODEDIRECTORIES = 0x1000,  /* :122-124, five slots */
    CSSLOT_ALTERNATE_CODEDIRECTORY_LIMIT = 0x1005,
};

static int ent_index(const uint8_t *key, size_t n)
{
    for (int i = 0; i < JB__ENT_COUNT; i++)
        if (strlen(jb__ent_names[i]) == n && !memcmp(jb__ent_names[i], key, n))
            return i;
    return -1;
}

/* XML property list: the top-level <dict>'s <key>s whose value is <true/>.
 * A tokenizer over [p, end): comments, <?...?> and <!...> are skipped;
 * nested values are skipped by depth. */
typedef struct {
    const uint8_t *p, *end;
} xml_in;

/* The next tag: *name and *len its name, *close for </x>, *empty for <x/>.
 * Text between tags is skipped. 0 at the end, -1 if malformed. */
static int xml_tag(xml_in *x, const uint8_t **name, size_t *len, int *close,
                   int *empty)
{
    for (;;) {
        while (x->p < x->end && *x->p != '<')
            x->p++;
        if (x->p >= x->end)
            return 0;
        size_t left = (size_t)(x->end - x->p);
        const char *stop = NULL;
        if (left >= 4 && !memcmp(x->p, "<!--", 4))
            stop = "-->";
        else if (left >= 2 && (x->p[1] == '?' || x->p[1] == '!'))
            stop = ">";
        if (stop) {
            size_t s = strlen(stop);
            const uint8_t *q = x->p + 2;
            while (q + s <= x->end && memcmp(q, stop, s))
                q++;
            if (q + s > x->end)
                return -1;
            x->p = q + s;
            continue;
        }
        const uint8_t *q = x->p + 1;
        *close = q < x->end && *q == '/';
        q += *close;
        *name = q;
        while (q < x->end && *q != '>' && *q != '/' && *q != ' ' &&
               *q != '\t' && *q != '\n' && *q != '\r')
            q++;
        *len = (size_t)(q - *name);
        while (q < x->end && *q != '>')
            q++;
        if (q >= x->end || *len == 0)
            return -1;
        *empty = q[-1] == '/';
        x->p = q + 1;
        return 1;
    }
}

static int is(const uint8_t *name, size_t len, const char *s)
{
    return len == strlen(s) && !memcmp(name, s, len);
}

static int xml_entitlements(const uint8_t *p, size_t n, unsigned *ents,
                            const char **why)
{
    xml_in x = {p, p + n};
    const uint8_t *name;
    size_t len;
    int close, empty, rc;
    /* Find the top-level dict (inside <plist>). */
    int depth = 0;
    for (;;) {
        if ((rc = xml_tag(&x, &name, &len, &close, &empty)) <= 0)
            return fail(why, rc ? "the entitlements XML is malformed"
                                : "the entitlements XML has no <dict>");
        if (!close && is(name, len, "dict") && depth <= 1) {
            if (empty) /* <dict/>: Xcode's empty entitlements file */
                return 0;
            break;
        }
        if (!close && !empty)
            depth++;
        else if (close)
            depth--;
    }
    for (;;) {
        /* <key>NAME</key>, or the dict's end. */
        if ((rc = xml_tag(&x, &name, &len, &close, &empty)) <= 0)
            return fail(why, "the entitlements XML ends inside its <dict>");
        if (close && is(name, len, "dict"))
            return 0;
        if (close || empty || !is(name, len, "key"))
            return fail(why, "the entitlements <dict> holds something other "
                             "than <key> before a value");
        const uint8_t *key = x.p;
        if ((rc = xml_tag(&x, &name, &len, &close, &empty)) <= 0 || !close ||
            !is(name, len, "key"))
            return fail(why, "an entitlements <key> is not closed");
        int k = ent_index(key, (size_t)(name - 2 - key));
        /* The value: <true/>, <false/>, or anything else, skipped. */
        if ((rc = xml_tag(&x, &name, &len, &close, &empty)) <= 0 || close)
            return fail(why, "an entitlements <key> has no value");
        if (empty) {
            if (k >= 0 && is(name, len, "true"))
                *ents |= 1u << k;
            continue;
        }
        int d = 1;
        int was_true = is(name, len, "true");
        while (d > 0) {
            if ((rc = xml_tag(&x, &name, &len, &close, &empty)) <= 0)
                return fail(why, "an entitlements value is not closed");
            d += close ? -1 : empty ? 0 : 1;
        }
        if (k >= 0 && was_true)
            *ents |= 1u << k;
    }
}

/* DER (the form newer signatures carry, CSSLOT_DER_ENTITLEMENTS):
 * [APPLICATION 16] { INTEGER version, [CONTEXT 16] { SEQUENCE { UTF8String
 * key, value } ... } }; a BOOLEAN value is true when its byte is not 0. */
typedef struct {
    uint8_t tag;
    const uint8_t *v; /* contents */
    size_t len;
} der_tlv;

/* Read one TLV at *p (< end); single-byte tags only (all this format uses). */
static int der_next(const uint8_t **p, const uint8_t *end, der_tlv *t)
{
    const uint8_t *q = *p;
    if (end - q < 2 || (q[0] & 0x1f) == 0x1f)
        return -1;
    t->tag = q[0];
    size_t len = q[1];
    q += 2;
    if (len & 0x80) {
        size_t k = len & 0x7f;
        if (k == 0 || k > 4 || (size_t)(end - q) < k)
            return -1;
        len = 0;
        while (k--)
            len = len << 8 | *q++;
    }
    if ((size_t)(end - q) < len)
        return -1;
    t->v = q;
    t->len = len;
    *p = q + len;
    return 0;
}

static int der_entitlements(const uint8_t *p, size_t n, unsigned *ents,
                            const char **why)
{
    const uint8_t *end = p + n, *q;
    der_tlv top, ver, dict, kv, key, val;
    if (der_next(&p, end, &top) || top.tag != 0x70)
        return fail(why, "the DER entitlements do not start with "
                         "[APPLICATION 16]");
    q = top.v;
    const uint8_t *qe = top.v + top.len;
    if (der_next(&q, qe, &ver) || ver.tag != 0x02 || der_next(&q, qe, &dict) ||
        dict.tag != 0xb0)
        return fail(why, "the DER entitlements lack a version or a "
                         "dictionary");
    for (q = dict.v; q < dict.v + dict.len;) {
        if (der_next(&q, dict.v + dict.len, &kv) || kv.tag != 0x30)
            return fail(why, "a DER entitlement is not a SEQUENCE");
        const uint8_t *r = kv.v, *re = kv.v + kv.len;
        if (der_next(&r, re, &key) || key.tag != 0x0c ||
            der_next(&r, re, &val))
            return fail(why, "a DER entitlement lacks its key or value");
        int k = ent_index(key.v, key.len);
        if (k >= 0 && val.tag == 0x01 && val.len == 1 && val.v[0])
            *ents |= 1u << k;
    }
    return 0;
}

/* The kernel's preference among CodeDirectories (xnu-11417.101.15
 * bsd/kern/ubc_subr.c:226-245): SHA-1 < SHA-256 truncated < SHA-256 <
 * SHA-384 (hashType, byte 37: cs_blobs.h:223); 0 for any other, or a
 * CodeDirectory too short to say. */
static int cd_rank(const uint8_t *cd, uint32_t len)
{
    static const uint8_t order[] = {1, 3, 2, 4};
    for (int r = 0; len >= 38 && r < 4; r++)
        if (cd[37] == order[r])
            return r + 1;
    return 0;
}

int jb__sig_parse(const uint8_t *blob, size_t n, jb__sig *out,
                  const char **why)
{
    memset(out, 0, sizeof *out);
    if (!blob || n < 12 || be32(blob) != CSMAGIC_EMBEDDED_SIGNATURE)
        return fail(why, "it is not an embedded signature (SuperBlob)");
    uint32_t length = be32(blob + 4), count = be32(blob + 8);
    if (length < 12 || length > n)
        return fail(why, "the SuperBlob's length runs past its bytes");
    if (count > (length - 12) / 8)
        return fail(why, "the SuperBlob's index runs past its length");
    int best = -1; /* the rank of the CodeDirectory the kernel uses */
    for (uint32_t i = 0; i < count; i++) {
        uint32_t type = be32(blob + 12 + 8 * i), off = be32(blob + 16 + 8 * i);
        if (off > length || length - off < 8)
            return fail(why, "a blob's offset lies outside the SuperBlob");
        const uint8_t *b = blob + off;
        uint32_t magic = be32(b), blen = be32(b + 4);
        if (blen < 8 || blen > length - off)
            return fail(why, "a blob's length runs past the SuperBlob");
        int rc = 0;
        /* slot 0 and the alternates: the kernel takes the best hash type
         * and rejects two of one type (ubc_subr.c:573-594) */
        if (type == CSSLOT_CODEDIRECTORY ||
            (type >= CSSLOT_ALTERNATE_CODEDIRECTORIES &&
             type < CSSLOT_ALTERNATE_CODEDIRECTORY_LIMIT)) {
            if (magic != CSMAGIC_CODEDIRECTORY || blen < 16)
                return fail(why, type ? "an alternate CodeDirectory slot "
                                        "holds no CodeDirectory"
                                      : "slot 0 is not a CodeDirectory");
            int rank = cd_rank(b, blen);
            if (rank == best)
                return fail(why, "two CodeDirectories of one hash type, "
                                 "which the kernel rejects (EBADEXEC, "
                                 "xnu-11417.101.15 bsd/kern/ubc_subr.c:"
                                 "590-594)");
            if (rank > best) {
                best = rank;
                out->cd_flags = be32(b + 12);
            }
        } else if (type == CSSLOT_ENTITLEMENTS) {
            if (magic != CSMAGIC_EMBEDDED_ENTITLEMENTS)
                return fail(why, "slot 5 is not an XML entitlements blob");
            if (out->xml)
                return fail(why, "two XML entitlements blobs, which the "
                                 "kernel rejects (EBADEXEC, xnu-11417.101.15 "
                                 "bsd/kern/ubc_subr.c:604-612)");
            out->xml = 1;
            rc = xml_entitlements(b + 8, blen - 8, &out->ents, why);
        } else if (type == CSSLOT_DER_ENTITLEMENTS) {
            if (magic != CSMAGIC_EMBEDDED_DER_ENTITLEMENTS)
                return fail(why, "slot 7 is not a DER entitlements blob");
            if (out->der)
                return fail(why, "two DER entitlements blobs, which the "
                                 "kernel rejects (EBADEXEC, xnu-11417.101.15 "
                                 "bsd/kern/ubc_subr.c:613-621)");
            out->der = 1;
            rc = der_entitlements(b + 8, blen - 8, &out->ents, why);
        }
        if (rc < 0)
            return rc;
    }
    if (best < 0)
        return fail(why, "the signature has no CodeDirectory");
    return 0;
}

/* ---- Mach-O (xnu-11417.101.15 EXTERNAL_HEADERS/mach-o/loader.h, fat.h) */

enum {
    MH_MAGIC_64 = 0xfeedfacf,
    FAT_MAGIC = 0xcafebabe,
    FAT_MAGIC_64 = 0xcafebabf,
    LC_SYMTAB = 0x2,
    LC_LOAD_DYLIB = 0xc,
    LC_ID_DYLIB = 0xd,
    LC_SEGMENT_64 = 0x19,
    LC_CODE_SIGNATURE = 0x1d,
    LC_VERSION_MIN_MACOSX = 0x24,
    LC_VERSION_MIN_IPHONEOS = 0x25,
    LC_BUILD_VERSION = 0x32,
    LC_LOAD_WEAK_DYLIB = 0x80000018,
    LC_RPATH = 0x8000001c,
    LC_REEXPORT_DYLIB = 0x8000001f,
    LC_LOAD_UPWARD_DYLIB = 0x80000023,
    LC_DYLD_CHAINED_FIXUPS = 0x80000034,
};

static int check_cmds(const jb__macho *m, const char **why)
{
    if (m->size && m->sizeofcmds > m->size - 32)
        return fail(why, "the load commands run past the end of the file");
    const uint8_t *p = m->base + 32, *end = p + m->sizeofcmds;
    for (uint32_t i = 0; i < m->ncmds; i++) {
        if (end - p < 8)
            return fail(why, "a load command runs past the commands' size");
        uint32_t sz = le32(p + 4);
        if (sz < 8 || sz % 4 || sz > (size_t)(end - p))
            return fail(why, "a load command has an impossible size");
        p += sz;
    }
    return 0;
}

static int header(jb__macho *m, const uint8_t *p, size_t n, const char **why)
{
    memset(m, 0, sizeof *m);
    if (!p || (n && n < 32) || le32(p) != MH_MAGIC_64)
        return fail(why, "it is not a 64-bit little-endian Mach-O file");
    m->base = p;
    m->size = n;
    m->cputype = le32(p + 4);
    m->filetype = le32(p + 12);
    m->ncmds = le32(p + 16);
    m->sizeofcmds = le32(p + 20);
    m->flags = le32(p + 24);
    return check_cmds(m, why);
}

int jb__macho_file(jb__macho *m, const uint8_t *p, size_t n, const char **why)
{
    if (n == 0)
        return fail(why, "the file is empty");
    return header(m, p, n, why);
}

/* The __TEXT segment's vmaddr gives the slide. */
static const uint8_t *next_cmd(const jb__macho *m, const uint8_t *c,
                               uint32_t *i);

int jb__macho_image(jb__macho *m, const void *hdr, const char **why)
{
    int rc = header(m, hdr, 0, why);
    if (rc < 0)
        return rc;
    uint32_t i = 0;
    for (const uint8_t *c = next_cmd(m, NULL, &i); c; c = next_cmd(m, c, &i))
        if (le32(c) == LC_SEGMENT_64 && le64(c + 40) == 0 && le64(c + 48)) {
            m->slide = (intptr_t)((uintptr_t)m->base - le64(c + 24));
            return 0;
        }
    return fail(why, "the image has no segment that maps its header");
}

/* Walk the (already checked) load commands: c = NULL starts. */
static const uint8_t *next_cmd(const jb__macho *m, const uint8_t *c,
                               uint32_t *i)
{
    if (!c) {
        *i = 0;
        return m->ncmds ? m->base + 32 : NULL;
    }
    if (++*i >= m->ncmds)
        return NULL;
    return c + le32(c + 4);
}

static const uint8_t *find_cmd(const jb__macho *m, uint32_t cmd, size_t min)
{
    uint32_t i;
    for (const uint8_t *c = next_cmd(m, NULL, &i); c; c = next_cmd(m, c, &i))
        if (le32(c) == cmd && le32(c + 4) >= min)
            return c;
    return NULL;
}

/* len bytes at file offset off: in a file, base + off; in an image, inside
 * the segment that maps that part of the file. NULL if outside. */
static const uint8_t *at_fileoff(const jb__macho *m, uint64_t off,
                                 uint64_t len)
{
    if (m->size)
        return off <= m->size && len <= m->size - off ? m->base + off : NULL;
    uint32_t i;
    for (const uint8_t *c = next_cmd(m, NULL, &i); c; c = next_cmd(m, c, &i)) {
        if (le32(c) != LC_SEGMENT_64 || le32(c + 4) < 72)
            continue;
        uint64_t vm = le64(c + 24), fo = le64(c + 40), fs = le64(c + 48);
        if (off >= fo && off - fo <= fs && len <= fs - (off - fo))
            return (const uint8_t *)(uintptr_t)(vm + (uint64_t)m->slide +
                                                (off - fo));
    }
    return NULL;
}

int jb__macho_signature(const jb__macho *m, const uint8_t **blob, size_t *n,
                        const char **why)
{
    const uint8_t *c = find_cmd(m, LC_CODE_SIGNATURE, 16);
    if (!c)
        return 1;
    uint32_t off = le32(c + 8), size = le32(c + 12);
    const uint8_t *p = at_fileoff(m, off, size);
    if (!p)
        return fail(why, "LC_CODE_SIGNATURE points outside the image");
    *blob = p;
    *n = size;
    return 0;
}

int jb__macho_section(const jb__macho *m, const char *seg, const char *sect,
                      const uint8_t **data, size_t *n, uint64_t *addr,
                      const char **why)
{
    uint32_t i;
    for (const uint8_t *c = next_cmd(m, NULL, &i); c; c = next_cmd(m, c, &i)) {
        if (le32(c) != LC_SEGMENT_64 || le32(c + 4) < 72 ||
            strncmp((const char *)c + 8, seg, 16))
            continue;
        uint32_t ns = le32(c + 64);
        if (ns > (le32(c + 4) - 72) / 80)
            return fail(why, "a segment's sections run past its command");
        for (uint32_t k = 0; k < ns; k++) {
            const uint8_t *s = c + 72 + 80 * k;
            if (strncmp((const char *)s, sect, 16))
                continue;
            uint64_t a = le64(s + 32), size = le64(s + 40);
            const uint8_t *p =
                m->size ? at_fileoff(m, le32(s + 48), size)
                        : (const uint8_t *)(uintptr_t)(a + (uint64_t)m->slide);
            if (!p)
                return fail(why, "a section lies outside the file");
            *data = p;
            *n = (size_t)size;
            *addr = a;
            return 0;
        }
    }
    return 1;
}

/* A string at offset off inside load command c, NUL-terminated within it. */
static const char *cmd_str(const uint8_t *c, uint32_t off)
{
    uint32_t sz = le32(c + 4);
    if (off < 8 || off >= sz || !memchr(c + off, 0, sz - off))
        return NULL;
    return (const char *)c + off;
}

const char *jb__macho_dylib(const jb__macho *m, int i)
{
    uint32_t k;
    for (const uint8_t *c = next_cmd(m, NULL, &k); c; c = next_cmd(m, c, &k)) {
        uint32_t cmd = le32(c);
        /* the dependencies dyld loads at launch (dyld-1378
         * common/MachOFile.cpp:586-589); LC_LAZY_LOAD_DYLIB is not one */
        int load = cmd == LC_LOAD_DYLIB || cmd == LC_LOAD_WEAK_DYLIB ||
                   cmd == LC_REEXPORT_DYLIB || cmd == LC_LOAD_UPWARD_DYLIB;
        if (le32(c + 4) < 24 || !(i < 0 ? cmd == LC_ID_DYLIB : load))
            continue;
        if (i <= 0)
            return cmd_str(c, le32(c + 8));
        i--;
    }
    return NULL;
}

const char *jb__macho_rpath(const jb__macho *m, int i)
{
    uint32_t k;
    for (const uint8_t *c = next_cmd(m, NULL, &k); c; c = next_cmd(m, c, &k))
        if (le32(c) == LC_RPATH && le32(c + 4) >= 12 && i-- == 0)
            return cmd_str(c, le32(c + 8));
    return NULL;
}

/* As xnu's loader reads it (xnu-11417.101.15 bsd/kern/mach_loader.c):
 * the version command, LC_BUILD_VERSION (its platform: 1422-1437) or an
 * LC_VERSION_MIN_* one, whose platform load_version() infers (2436-2466:
 * LC_VERSION_MIN_IPHONEOS is iOS on an arm64 kernel, the iOS simulator (7)
 * on an x86_64 one: arm64 code runs only on the former, x86_64 code is
 * taken as the simulator). xnu refuses a file with two (1430-1433,
 * 2430-2432); here the first counts. */
uint32_t jb__macho_minos(const jb__macho *m, uint32_t *platform)
{
    uint32_t k;
    int arm = m->cputype == JB__CPU_ARM64;
    for (const uint8_t *c = next_cmd(m, NULL, &k); c; c = next_cmd(m, c, &k)) {
        uint32_t cmd = le32(c), size = le32(c + 4);
        if (cmd == LC_BUILD_VERSION && size >= 24) {
            *platform = le32(c + 8);
            return le32(c + 12);
        }
        if ((cmd == LC_VERSION_MIN_MACOSX || cmd == LC_VERSION_MIN_IPHONEOS) &&
            size >= 16) {
            *platform = cmd == LC_VERSION_MIN_MACOSX ? 1 : arm ? 2 : 7;
            return le32(c + 8);
        }
    }
    *platform = 0;
    return 0;
}

/* The defined (N_SECT, not N_STAB) symbol at vmaddr addr, or named name
 * (when name is not NULL): its name, and *at its address. */
static const char *find_symbol(const jb__macho *m, uint64_t addr,
                               const char *name, uint64_t *at)
{
    const uint8_t *c = find_cmd(m, LC_SYMTAB, 24);
    if (!c || !m->size)
        return NULL;
    uint32_t symoff = le32(c + 8), nsyms = le32(c + 12);
    uint32_t stroff = le32(c + 16), strsize = le32(c + 20);
    const uint8_t *sym = at_fileoff(m, symoff, (uint64_t)nsyms * 16);
    const uint8_t *str = at_fileoff(m, stroff, strsize);
    if (!sym || !str)
        return NULL;
    for (uint32_t k = 0; k < nsyms; k++) {
        const uint8_t *s = sym + 16 * k;
        uint32_t strx = le32(s);
        /* N_SECT (0x0e) in the type bits, not a debugging (N_STAB) entry */
        if ((s[4] & 0xe0) || (s[4] & 0x0e) != 0x0e ||
            (!name && le64(s + 8) != addr) || strx >= strsize ||
            !memchr(str + strx, 0, strsize - strx) ||
            (name && strcmp((const char *)str + strx, name)))
            continue;
        *at = le64(s + 8);
        return (const char *)str + strx;
    }
    return NULL;
}

const char *jb__macho_symbol_at(const jb__macho *m, uint64_t addr)
{
    uint64_t at;
    return find_symbol(m, addr, NULL, &at);
}

int jb__macho_symbol_addr(const jb__macho *m, const char *name,
                          uint64_t *addr)
{
    return find_symbol(m, 0, name, addr) ? 0 : -1;
}

/* ---- chained fixups (dyld-1378 include/mach-o/fixup-chains.h) -------- */

enum {
    DYLD_CHAINED_PTR_64 = 2,        /* fixup-chains.h:98, target is vmaddr */
    DYLD_CHAINED_PTR_64_OFFSET = 6, /* :102, target is vm offset */
    DYLD_CHAINED_IMPORT = 1,        /* :301 */
    DYLD_CHAINED_IMPORT_ADDEND = 2,
    DYLD_CHAINED_IMPORT_ADDEND64 = 3,
};

/* The i-th LC_SEGMENT_64 (the index chained fixups use), or NULL. */
static const uint8_t *segment_at(const jb__macho *m, uint32_t index)
{
    uint32_t i;
    for (const uint8_t *c = next_cmd(m, NULL, &i); c; c = next_cmd(m, c, &i))
        if (le32(c) == LC_SEGMENT_64 && le32(c + 4) >= 72 && index-- == 0)
            return c;
    return NULL;
}

/* The name of chained import ordinal in the fixups payload f of n bytes. */
static const char *import_name(const uint8_t *f, uint32_t n, uint64_t ordinal)
{
    uint32_t imports = le32(f + 8), symbols = le32(f + 12);
    uint32_t count = le32(f + 16), format = le32(f + 20);
    size_t each = format == DYLD_CHAINED_IMPORT          ? 4
                  : format == DYLD_CHAINED_IMPORT_ADDEND ? 8
                  : format == DYLD_CHAINED_IMPORT_ADDEND64 ? 16
                                                           : 0;
    if (!each || le32(f + 24) != 0 /* zlib symbols */ || ordinal >= count ||
        imports > n || (n - imports) / each <= ordinal || symbols >= n)
        return NULL;
    const uint8_t *im = f + imports + each * ordinal;
    uint64_t name = each == 16 ? le64(im) >> 32 : le32(im) >> 9;
    if (name >= n - symbols || !memchr(f + symbols + name, 0,
                                       n - symbols - name))
        return NULL;
    return (const char *)f + symbols + name;
}

int jb__macho_pointer(const jb__macho *m, uint64_t slot, uint64_t raw,
                      uint64_t *target, const char **bound, const char **why)
{
    *target = raw;
    *bound = NULL;
    const uint8_t *c = find_cmd(m, LC_DYLD_CHAINED_FIXUPS, 16);
    if (!m->size || !c || !raw)
        return 0; /* applied by dyld already, or a plain address */
    uint32_t off = le32(c + 8), n = le32(c + 12);
    const uint8_t *f = at_fileoff(m, off, n);
    if (!f || n < 28)
        return fail(why, "LC_DYLD_CHAINED_FIXUPS points outside the file");
    uint32_t starts = le32(f + 4);
    if (starts > n || n - starts < 4)
        return fail(why, "the chained fixups' starts lie outside them");
    const uint8_t *si = f + starts;
    uint32_t segs = le32(si);
    if (segs > (n - starts - 4) / 4)
        return fail(why, "the chained fixups list more segments than fit");
    /* the segment that holds the slot, by LC_SEGMENT_64 index */
    uint64_t base = 0;
    int fmt = -1;
    for (uint32_t k = 0; k < segs; k++) {
        const uint8_t *sg = segment_at(m, k);
        if (!sg)
            break;
        if (!strncmp((const char *)sg + 8, "__TEXT", 16))
            base = le64(sg + 24);
        uint64_t vm = le64(sg + 24), vs = le64(sg + 32);
        uint32_t seg_off = le32(si + 4 + 4 * k);
        if (slot < vm || slot - vm >= vs || !seg_off)
            continue;
        if (seg_off > n - starts || n - starts - seg_off < 8)
            return fail(why, "a segment's chain starts lie outside the "
                             "chained fixups");
        fmt = (int)(si[seg_off + 6] | si[seg_off + 7] << 8);
    }
    if (fmt < 0)
        return 0; /* no fixups in that segment: the bytes are the value */
    if (fmt != DYLD_CHAINED_PTR_64 && fmt != DYLD_CHAINED_PTR_64_OFFSET)
        return fail(why, "a chained pointer format other than "
                         "DYLD_CHAINED_PTR_64 or _64_OFFSET (arm64e?)");
    if (raw >> 63) { /* dyld_chained_ptr_64_bind, fixup-chains.h:219-226 */
        *target = 0;
        *bound = import_name(f, n, raw & 0xffffff);
        return *bound ? 0 : fail(why, "a chained bind names no import");
    }
    /* dyld_chained_ptr_64_rebase, fixup-chains.h:162-169 */
    uint64_t t = raw & 0xfffffffffull, high8 = (raw >> 36) & 0xff;
    *target = (fmt == DYLD_CHAINED_PTR_64_OFFSET ? base + t : t) | high8 << 56;
    return 0;
}

int jb__macho_slices(const uint8_t *p, size_t n,
                     void (*fn)(void *arg, uint32_t cputype,
                                const uint8_t *slice, size_t len),
                     void *arg, const char **why)
{
    if (n < 8)
        return fail(why, "the file is too short to be Mach-O");
    uint32_t magic = be32(p);
    if (magic != FAT_MAGIC && magic != FAT_MAGIC_64) {
        jb__macho m;
        if (jb__macho_file(&m, p, n, why) < 0)
            return -1;
        fn(arg, m.cputype, p, n);
        return 0;
    }
    uint32_t count = be32(p + 4);
    size_t each = magic == FAT_MAGIC ? 20 : 32;
    if (count == 0 || count > (n - 8) / each)
        return fail(why, "the universal header's slices run past the file");
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *a = p + 8 + each * i;
        uint64_t off = each == 20 ? be32(a + 8) : be64(a + 8);
        uint64_t len = each == 20 ? be32(a + 12) : be64(a + 16);
        if (off > n || len > n - off)
            return fail(why, "a universal slice lies outside the file");
        fn(arg, be32(a), p + off, (size_t)len);
    }
    return 0;
}

void jb__allowlist_scan(const uint8_t *sect, size_t n, jb__allowlist *out,
                        void (*entry)(void *arg, size_t k, uint64_t value,
                                      int read),
                        void *arg)
{
    memset(out, 0, sizeof *out);
    out->present = sect != NULL;
    if (!sect || n == 0)
        return;
    if (n % 8) { /* libpthread-539 src/pthread.c:1300-1302: skipped */
        out->ignored = 1;
        return;
    }
    int in_first = 1, in_list = 0;
    for (size_t k = 0; k < n / 8; k++) {
        uint64_t v;
        memcpy(&v, sect + 8 * k, 8); /* the image's own byte order */
        if (!v) {
            in_first = 0; /* :1311, the copy stops at the first NULL */
            in_list = 0;
            continue;
        }
        if (!in_list)
            out->lists++;
        in_list = 1;
        if (in_first)
            out->read++;
        else
            out->unread++;
        if (entry)
            entry(arg, k, v, in_first);
    }
}
