/* The working memory of the batch calls (jb_write_batch in write.c,
 * jb_free_batch in block.c): one layout and one sizing for both. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int jb__batch_init(jb__batch *b, size_t count)
{
    b->heap = NULL;
    if (count <= JB__BATCH_LOCAL) {
        b->ops = b->local_ops;
        b->g = b->local_g;
        size_t mask = 1;
        while (mask + 1 < 2 * count) /* the smallest set, the least to clear */
            mask = mask * 2 + 1;
        memset(b->local_set, 0, (mask + 1) * sizeof *b->local_set);
        b->set = (jb__gset){b->local_set, mask};
        return 0;
    }
    size_t nslot = 2 * JB__BATCH_LOCAL;
    while (nslot < count && nslot < SIZE_MAX / 4)
        nslot *= 2;
    nslot *= 2; /* at most half full; nslot < 4 * count (JB__BATCH_EACH) */
    if (count > SIZE_MAX / JB__BATCH_EACH ||
        !(b->heap = calloc(1, count * (sizeof *b->ops + sizeof *b->g) +
                                  nslot * sizeof *b->set.slot)))
        return -1;
    b->ops = b->heap;
    b->g = (uint32_t *)(void *)(b->ops + count);
    b->set = (jb__gset){b->g + count, nslot - 1};
    return 0;
}

void jb__batch_free(jb__batch *b)
{
    free(b->heap);
}
