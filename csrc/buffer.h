/*
 * Growable byte buffer shared by the encoder, the compressors and the
 * transport. Plain C with malloc: it must stay usable from a sender thread
 * that has no lua_State, so nothing here may touch Lua.
 */
#ifndef AXIOM_BUFFER_H
#define AXIOM_BUFFER_H

#include <stddef.h>
#include <string.h>

typedef struct axiom_buf {
    char *data;
    size_t len;
    size_t cap;
} axiom_buf;

void axiom_buf_init(axiom_buf *b);
void axiom_buf_free(axiom_buf *b);
/* Makes room for `extra` more bytes. 0 on success, -1 when out of memory. */
int axiom_buf_grow(axiom_buf *b, size_t extra);
/* Empties the buffer, releasing its memory only if it grew beyond `keep`. */
void axiom_buf_reset(axiom_buf *b, size_t keep);

/* Inline so the encoder's per-value checks cost a compare, not a call. */
static inline int axiom_buf_reserve(axiom_buf *b, size_t extra)
{
    return b->cap - b->len >= extra ? 0 : axiom_buf_grow(b, extra);
}

static inline int axiom_buf_append(axiom_buf *b, const void *p, size_t n)
{
    if (axiom_buf_reserve(b, n))
        return -1;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static inline int axiom_buf_putc(axiom_buf *b, char c)
{
    if (axiom_buf_reserve(b, 1))
        return -1;
    b->data[b->len++] = c;
    return 0;
}

#endif
