/* Bad input: each call fails with its code and a sentence, and changes
 * nothing (statistics and code bytes are compared before and after). */
#include <stdlib.h>

#include "util.h"

TestSuite(errors);

typedef struct {
    jb_region *r;
    uint8_t *fn;
    uint8_t before[64];
    jb_info info;
} fixture;

static fixture setup_fixture(void)
{
    fixture f;
    f.r = open_wx(JB_WX_DUALMAP, 0);
    cr_assert_eq(jb_alloc(f.r, 64, 16, (void **)&f.fn), 0);
    uint8_t code[64];
    memset(code, 0x90, sizeof code);
    code_ret(code + 58, 5);
    cr_assert_eq(jb_write(f.r, f.fn, code, 64), 0);
    memcpy(f.before, f.fn, 64);
    f.info = info_of(f.r);
    return f;
}

/* Nothing changed: same statistics (but the write-window count), same code. */
static void assert_unchanged(const fixture *f)
{
    jb_info i = info_of(f->r);
    cr_assert_eq(i.used, f->info.used);
    cr_assert_eq(i.blocks, f->info.blocks);
    cr_assert_eq(i.largest_free, f->info.largest_free);
    cr_assert_eq(i.committed, f->info.committed);
    cr_assert_eq(i.windows, f->info.windows, "a failed call opened a write window");
    cr_assert_arr_eq(f->fn, f->before, 64, "code bytes changed");
    cr_assert_eq(((int_fn)f->fn)(), 5);
}

Test(errors, region_open_rejects_bad_options)
{
    jb_region *r = (jb_region *)&r;
    assert_fails(jb_region_open(NULL, NULL), JB_EINVAL);
    jb_options bad_flags = {0, JB_WX_AUTO, 0x80};
    assert_fails(jb_region_open(&r, &bad_flags), JB_EINVAL);
    cr_assert_null(r, "out not cleared on failure");
    jb_options bad_wx = {0, (jb_wx)99, 0};
    assert_fails(jb_region_open(&r, &bad_wx), JB_EINVAL);
    jb_options tiny = {4096, JB_WX_AUTO, 0};
    assert_fails(jb_region_open(&r, &tiny), JB_EINVAL);
    jb_options huge = {SIZE_MAX, JB_WX_AUTO, 0};
    assert_fails(jb_region_open(&r, &huge), JB_EINVAL);
    cr_assert(strstr(jb_last_error(), "reserve"), "%s", jb_last_error());
    jb_options apple = {0, JB_WX_APPLE_CALLBACK, JB_OPEN_NO_ENV};
    assert_fails(jb_region_open(&r, &apple), JB_EUNSUPPORTED);
    cr_assert(strstr(jb_last_error(), "macOS"), "%s", jb_last_error());
}

Test(errors, bad_environment_strategy_is_named)
{
    setenv("JITBUF_WX", "fastest", 1);
    jb_region *r;
    assert_fails(jb_region_open(&r, NULL), JB_EINVAL);
    cr_assert(strstr(jb_last_error(), "JITBUF_WX='fastest'"), "%s", jb_last_error());
    /* JB_OPEN_NO_ENV ignores it. */
    jb_options o = {0, JB_WX_AUTO, JB_OPEN_NO_ENV};
    cr_assert_eq(jb_region_open(&r, &o), 0);
    cr_assert_eq(info_of(r).wx, JB_WX_DUALMAP);
    jb_region_close(r);
}

Test(errors, environment_overrides_auto_only)
{
    setenv("JITBUF_WX", "mprotect", 1);
    jb_region *r;
    cr_assert_eq(jb_region_open(&r, NULL), 0);
    jb_info i = info_of(r);
    cr_assert_eq(i.wx, JB_WX_MPROTECT);
    cr_assert(strstr(i.why, "JITBUF_WX"), "why does not say: %s", i.why);
    jb_region_close(r);
    jb_options forced = {0, JB_WX_DUALMAP, JB_OPEN_PRIVATE};
    cr_assert_eq(jb_region_open(&r, &forced), 0);
    cr_assert_eq(info_of(r).wx, JB_WX_DUALMAP);
    jb_region_close(r);
}

Test(errors, alloc_rejects_bad_sizes_and_alignments)
{
    fixture f = setup_fixture();
    void *p = &p;
    assert_fails(jb_alloc(NULL, 16, 16, &p), JB_EINVAL);
    cr_assert_null(p);
    assert_fails(jb_alloc(f.r, 16, 16, NULL), JB_EINVAL);
    p = &p;
    assert_fails(jb_alloc(f.r, 0, 16, &p), JB_EINVAL);
    cr_assert_null(p);
    assert_fails(jb_alloc(f.r, SIZE_MAX, 16, &p), JB_EINVAL);
    cr_assert(strstr(jb_last_error(), "reserve"), "no fix named: %s", jb_last_error());
    assert_fails(jb_alloc(f.r, 64, 24, &p), JB_EALIGN);
    cr_assert(strstr(jb_last_error(), "power of two"), "%s", jb_last_error());
    assert_fails(jb_alloc(f.r, 64, 1 << 20, &p), JB_EALIGN);
    assert_unchanged(&f);
}

Test(errors, write_rejects_bad_ranges)
{
    fixture f = setup_fixture();
    uint8_t src[128] = {0};
    uint8_t stack_byte = 0;
    assert_fails(jb_write(NULL, f.fn, src, 4), JB_EINVAL);
    assert_fails(jb_write(f.r, NULL, src, 4), JB_EINVAL);
    assert_fails(jb_write(f.r, f.fn, NULL, 4), JB_EINVAL);
    assert_fails(jb_write(f.r, f.fn, src, 0), JB_EINVAL);
    /* Crossing the block's end by one byte. */
    assert_fails(jb_write(f.r, f.fn + 1, src, 64), JB_ERANGE);
    cr_assert(strstr(jb_last_error(), "past the end"), "%s", jb_last_error());
    assert_fails(jb_write(f.r, f.fn, src, 65), JB_ERANGE);
    /* An address outside the region. */
    assert_fails(jb_write(f.r, &stack_byte, src, 1), JB_ERANGE);
    cr_assert(strstr(jb_last_error(), "outside the code region"), "%s", jb_last_error());
    /* The guard gap and never-allocated space. */
    jb_info i = info_of(f.r);
    assert_fails(jb_write(f.r, i.exec_base, src, 1), JB_ERANGE);
    assert_fails(jb_write(f.r, f.fn + 4096, src, 1), JB_ERANGE);
    /* A source inside the region (either view). */
    assert_fails(jb_write(f.r, f.fn, f.fn, 8), JB_ESOURCE);
    uint8_t *alias = jb_writable(f.r, f.fn);
    cr_assert_not_null(alias);
    assert_fails(jb_write(f.r, f.fn, alias, 8), JB_ESOURCE);
    assert_unchanged(&f);
}

Test(errors, write_to_freed_block_and_double_free)
{
    fixture f = setup_fixture();
    uint8_t *g;
    cr_assert_eq(jb_alloc(f.r, 64, 16, (void **)&g), 0);
    cr_assert_eq(jb_free(f.r, g), 0);
    f.info = info_of(f.r);
    uint8_t src[8] = {0};
    assert_fails(jb_write(f.r, g, src, 8), JB_ERANGE);
    cr_assert(strstr(jb_last_error(), "free"), "%s", jb_last_error());
    assert_fails(jb_patch(f.r, g, 0, 4), JB_ERANGE);
    assert_fails(jb_free(f.r, g), JB_ENOTBLOCK);
    cr_assert(strstr(jb_last_error(), "twice"), "%s", jb_last_error());
    assert_fails(jb_free(f.r, f.fn + 16), JB_ENOTBLOCK);
    assert_fails(jb_free(f.r, src), JB_ERANGE);
    assert_fails(jb_free(NULL, f.fn), JB_EINVAL);
    assert_fails(jb_free(f.r, NULL), JB_EINVAL);
    cr_assert_null(jb_writable(f.r, g), "a freed block has no writable address");
    assert_unchanged(&f);
}

Test(errors, patch_rejects_width_and_alignment)
{
    fixture f = setup_fixture();
    assert_fails(jb_patch(f.r, f.fn, 0, 3), JB_EINVAL);
    assert_fails(jb_patch(f.r, f.fn + 2, 0, 4), JB_EALIGN);
    assert_fails(jb_patch(f.r, f.fn + 4, 0, 8), JB_EALIGN);
    assert_fails(jb_patch(f.r, f.fn + 64, 0, 4), JB_ERANGE);
    assert_fails(jb_patch(NULL, f.fn, 0, 4), JB_EINVAL);
    assert_unchanged(&f);
}

Test(errors, close_twice_is_detected)
{
    jb_region *r = open_wx(JB_WX_DUALMAP, 0);
    cr_assert_eq(jb_region_close(r), 0);
    assert_fails(jb_region_close(r), JB_ECLOSED);
    cr_assert(strstr(jb_last_error(), "closed twice"), "%s", jb_last_error());
    assert_fails(jb_region_close(NULL), JB_EINVAL);
    assert_fails(jb_region_info(NULL, NULL), JB_EINVAL);
}

static int nested(void *ctx)
{
    fixture *f = ctx;
    uint8_t b = 0x90;
    void *p;
    /* Every call that would open another window or touch the allocator is
     * refused inside a window. */
    if (jb_write(f->r, f->fn, &b, 1) != JB_ESTATE) return 1;
    if (jb_write_with(f->r, f->fn, 1, nested, ctx) != JB_ESTATE) return 2;
    if (jb_alloc(f->r, 16, 16, &p) != JB_ESTATE) return 3;
    if (jb_free(f->r, f->fn) != JB_ESTATE) return 4;
    if (jb_region_close(f->r) != JB_ESTATE) return 5;
    return 0;
}

static int fails(void *ctx)
{
    (void)ctx;
    return 42;
}

Test(errors, write_window_rules)
{
    fixture f = setup_fixture();
    cr_assert_eq(jb_write_with(f.r, f.fn, 64, nested, &f), 0, "%s", jb_last_error());
    f.info = info_of(f.r);
    assert_fails(jb_write_with(f.r, f.fn, 64, fails, NULL), JB_ECALLBACK);
    cr_assert(strstr(jb_last_error(), "42"), "%s", jb_last_error());
    f.info.windows++; /* the callback's window was opened */
    assert_fails(jb_write_with(f.r, f.fn, 65, fails, NULL), JB_ERANGE);
    assert_fails(jb_write_with(f.r, f.fn, 0, fails, NULL), JB_EINVAL);
    assert_fails(jb_write_with(f.r, f.fn, 4, NULL, NULL), JB_EINVAL);
    assert_unchanged(&f);
}

Test(errors, every_code_has_a_name_and_text)
{
    int seen = 0;
#define XX(name, code, text)                                          \
    cr_assert_str_eq(jb_err_name(code), "JB_" #name);                 \
    cr_assert_str_eq(jb_strerror(code), text);                        \
    cr_assert_lt(code, 0);                                            \
    seen++;
    JB_ERRNO_MAP(XX)
#undef XX
    cr_assert_eq(seen, -JB__ERR_LAST - 1);
    cr_assert_str_eq(jb_err_name(0), "JB_UNKNOWN");
    cr_assert_str_eq(jb_strerror(12345), "unknown error");
    cr_assert_str_eq(jb_wx_name(JB_WX_DUALMAP), "dualmap");
    cr_assert_str_eq(jb_wx_name((jb_wx)77), "unknown");
    cr_assert_eq(jb_version(), JB_VERSION_HEX);
    cr_assert_str_eq(jb_version_string(), JB_VERSION_STRING);
}
