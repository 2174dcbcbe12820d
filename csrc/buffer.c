#include <stdlib.h>

#include "buffer.h"

#define AXIOM_BUF_MIN 256

void axiom_buf_init(axiom_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void axiom_buf_free(axiom_buf *b)
{
    free(b->data);
    axiom_buf_init(b);
}

int axiom_buf_grow(axiom_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (extra > (size_t)-1 - b->len)
        return -1;
    need = b->len + extra;
    if (need <= b->cap)
        return 0;
    /* Doubling keeps appends amortised O(1). */
    cap = b->cap < AXIOM_BUF_MIN ? AXIOM_BUF_MIN : b->cap;
    while (cap < need)
        cap = cap > (size_t)-1 / 2 ? need : cap * 2;
    p = realloc(b->data, cap);
    if (p == NULL)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

void axiom_buf_reset(axiom_buf *b, size_t keep)
{
    if (b->cap > keep)
        axiom_buf_free(b);
    else
        b->len = 0;
}
