/* gzip and zstd over whole buffers. The C functions do not touch Lua, so a
 * sender thread can call them too. */
#ifndef AXIOM_COMPRESS_H
#define AXIOM_COMPRESS_H

#include "compat.h"
#include "buffer.h"

#define AXIOM_DECOMPRESS_MAX ((size_t)256 * 1024 * 1024)

typedef enum axiom_codec { AXIOM_GZIP, AXIOM_ZSTD } axiom_codec;

/*
 * Append the compressed or decompressed form of in[0..n) to out. Return 0,
 * or -1 with out->len restored and a message in err. Decompression fails
 * ("decompressed data exceeds N bytes") rather than produce more than max
 * bytes; trailing garbage and truncated input are errors.
 */
int axiom_compress(axiom_codec codec, const void *in, size_t n, int level,
                   axiom_buf *out, char *err, size_t errlen);
int axiom_decompress(axiom_codec codec, const void *in, size_t n, size_t max,
                     axiom_buf *out, char *err, size_t errlen);

/* Adds compress and decompress to the table on top of the stack. */
void axiom_open_compress(lua_State *L);

#endif
