/* Are jitbuf's write callbacks in an allowlist the OS reads?
 *
 * Under the jit-write-allowlist entitlement libpthread kills a process
 * that writes through a callback not in its list (libpthread-539
 * src/pthread.c:1432-1438), so a region opened under that entitlement
 * first reads the loaded images' lists the way libpthread does
 * (jb__dw_listed in decide.c, the rules tools/jitbuf-doctor applies to
 * files) and refuses with the fix rather than let the first write die.
 * Here the images are dyld's: their headers, getsectiondata() as
 * libpthread calls it (1297-1298), and jitbuf's own callbacks by address. */
#include "apple.h"
#include "darwin.h"

#if JB__DW_HAVE_CALLBACK_API

enum { MAX_SCAN = 4096 };

static int image(void *arg, uint32_t i, jb__macho *m)
{
    (void)arg;
    return jb__macho_image(m, _dyld_get_image_header(i), NULL);
}

static const char *name(void *arg, uint32_t i)
{
    (void)arg;
    return _dyld_get_image_name(i);
}

static const uint8_t *section(void *arg, uint32_t i, const jb__macho *m,
                              size_t *size)
{
    (void)arg, (void)i;
    unsigned long n = 0;
    const uint8_t *p = getsectiondata((const struct mach_header_64 *)(
                                          const void *)m->base,
                                      "__DATA_CONST", "__pth_jit_func", &n);
    *size = n;
    return p;
}

static int which(void *arg, uint32_t i, const jb__macho *m, size_t k,
                 uint64_t value)
{
    (void)arg, (void)i, (void)m, (void)k;
    const uintptr_t cbs[3] = {(uintptr_t)jb_apple_write_copy,
                              (uintptr_t)jb_apple_write_patch,
                              (uintptr_t)jb_apple_write_fill};
    for (int c = 0; c < 3; c++)
        if (value == cbs[c])
            return c;
    return -1;
}

/* under freeze-late: what was loaded before the freeze */
static int before_freeze(void *arg, uint32_t i)
{
    (void)arg;
    return !jb__dw_frozen() || i < jb__dw_frozen_images;
}

void jb__dw_process_images(jb__dw_images *im)
{
    static unsigned char at_launch[MAX_SCAN]; /* under the registry lock */
    uint32_t n = _dyld_image_count();
    *im = (jb__dw_images){n > MAX_SCAN ? MAX_SCAN : n, at_launch, NULL, image,
                          name, section, which, before_freeze, NULL};
}

int jb__dw_check_listed(const jb__dw_rules *r)
{
    jb__dw_images im;
    jb__dw_process_images(&im);
    return jb__dw_listed(&im, r, NULL);
}

#endif
