/* make bench-count-arm64: one mix8 run of jitbuf's or handc's arm64
 * emitter in an arm64 build, for counting under qemu-aarch64
 * (scripts/bench-count-arm64.sh). The bytes are checked against the
 * reference; the count is of the run's own function (mix8_a64_jitbuf or
 * handc_mix8_a64), as the script's log parser reads it.
 *   count-arm64 jitbuf|handc */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handc.h"
#include "mix8.h"

#define BYTES (8u << 20)

int main(int argc, char **argv)
{
    uint8_t *buf = aligned_alloc(4096, BYTES);
    if (argc != 2 || !buf)
        return 2;
    memset(buf, 0, BYTES); /* pre-faulted, as in the bench */
    size_t n = 0;
    if (!strcmp(argv[1], "jitbuf")) {
        jb_emit e;
        jb_emit_init(&e, buf, BYTES);
        if (mix8_a64_jitbuf(&e) == 0)
            n = MIX8_A64_BYTES;
        jb_emit_free(&e);
    } else if (!strcmp(argv[1], "handc")) {
        handc h;
        if (handc_init(&h, buf, BYTES, MIX8_GROUPS + 1) == 0) {
            n = handc_mix8_a64(&h);
            handc_free(&h);
        }
    } else {
        return 2;
    }
    if (n != MIX8_A64_BYTES || mix8_fnv1a64(buf, n) != MIX8_A64_FNV) {
        fprintf(stderr, "count-arm64 %s: bytes differ from the reference\n", argv[1]);
        return 1;
    }
    free(buf);
    return 0;
}
