#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ZLIB_CONST
#include <zlib.h>
#include <zstd.h>

#include "core.h"
#include "compress.h"

#define STEP ((size_t)64 * 1024)        /* growth when an estimate falls short */
#define ZMAX ((size_t)UINT_MAX)         /* zlib counts in uInt */
#define ERRLEN 256

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static int fail(axiom_buf *out, size_t mark, char *err, size_t errlen,
                const char *fmt, ...)
{
    va_list ap;

    out->len = mark;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/*
 * Room for the next decompression step. It never offers more than one byte
 * past max, which is enough to prove the output too big without inflating
 * the rest (a small bomb must not cost 256 MiB first). 0 when out of memory.
 */
static size_t room_for(axiom_buf *out, size_t produced, size_t max, size_t limit)
{
    size_t room;

    room = max - produced < STEP ? max - produced + 1 : STEP;
    if (out->cap == out->len && axiom_buf_reserve(out, room))
        return 0;
    room = out->cap - out->len;
    if (room > max - produced)
        room = max - produced + 1;
    return room < limit ? room : limit;
}

/* Hand zlib the next slice of input once it has used up the last: its counters are uInt. */
static void feed(z_stream *zs, const unsigned char **in, size_t *n)
{
    size_t take;

    if (zs->avail_in != 0 || *n == 0)
        return;
    take = *n < ZMAX ? *n : ZMAX;
    zs->next_in = *in;
    zs->avail_in = (uInt)take;
    *in += take;
    *n -= take;
}

static int gzip_compress(const unsigned char *in, size_t n, int level,
                         axiom_buf *out, char *err, size_t errlen)
{
    size_t mark = out->len, room;
    z_stream zs;
    int rc;

    memset(&zs, 0, sizeof zs);
    /* windowBits 15 + 16 asks for the gzip wrapper that
     * Content-Encoding: gzip means, not a zlib one. */
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return fail(out, mark, err, errlen, "gzip: cannot initialise the compressor");
    /* One pass in the common case: deflateBound includes the wrapper. */
    if (axiom_buf_reserve(out, deflateBound(&zs, (uLong)n))) {
        deflateEnd(&zs);
        return fail(out, mark, err, errlen, "out of memory");
    }
    do {
        feed(&zs, &in, &n);
        if (out->cap == out->len && axiom_buf_reserve(out, STEP)) {
            rc = Z_MEM_ERROR;
            break;
        }
        room = out->cap - out->len < ZMAX ? out->cap - out->len : ZMAX;
        zs.next_out = (Bytef *)out->data + out->len;
        zs.avail_out = (uInt)room;
        rc = deflate(&zs, n == 0 ? Z_FINISH : Z_NO_FLUSH);
        out->len += room - zs.avail_out;
    } while (rc == Z_OK || rc == Z_BUF_ERROR);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END)
        return fail(out, mark, err, errlen, rc == Z_MEM_ERROR ? "out of memory"
                                                             : "gzip: deflate failed");
    return 0;
}

static int gzip_decompress(const unsigned char *in, size_t n, size_t max,
                           axiom_buf *out, char *err, size_t errlen)
{
    size_t mark = out->len, produced = 0, room, got;
    z_stream zs;
    int rc;

    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        return fail(out, mark, err, errlen, "gzip: cannot initialise the decompressor");
    for (;;) {
        feed(&zs, &in, &n);
        if ((room = room_for(out, produced, max, ZMAX)) == 0) {
            inflateEnd(&zs);
            return fail(out, mark, err, errlen, "out of memory");
        }
        zs.next_out = (Bytef *)out->data + out->len;
        zs.avail_out = (uInt)room;
        rc = inflate(&zs, Z_NO_FLUSH);
        got = room - zs.avail_out;
        out->len += got;
        produced += got;
        if (produced > max) {
            inflateEnd(&zs);
            return fail(out, mark, err, errlen, "decompressed data exceeds %zu bytes", max);
        }
        if (rc == Z_STREAM_END) {
            if (zs.avail_in == 0 && n == 0)
                break;
            /* Another member follows: concatenated gzip files are one
             * stream to `gzip -dc` too. Garbage fails on its header. */
            rc = inflateReset(&zs);
        } else if (rc == Z_BUF_ERROR && zs.avail_in == 0 && n == 0) {
            inflateEnd(&zs);
            return fail(out, mark, err, errlen, "gzip: truncated input");
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            const char *why = rc == Z_MEM_ERROR ? "out of memory"
                              : zs.msg != NULL ? zs.msg : "invalid data";
            rc = fail(out, mark, err, errlen, "gzip: corrupt input (%s)", why);
            inflateEnd(&zs);
            return rc;
        }
    }
    inflateEnd(&zs);
    return 0;
}

static int zstd_compress(const unsigned char *in, size_t n, int level,
                         axiom_buf *out, char *err, size_t errlen)
{
    size_t bound = ZSTD_compressBound(n), r;

    if (ZSTD_isError(bound))
        return fail(out, out->len, err, errlen, "zstd: input too large");
    if (axiom_buf_reserve(out, bound))
        return fail(out, out->len, err, errlen, "out of memory");
    r = ZSTD_compress(out->data + out->len, bound, in, n, level);
    if (ZSTD_isError(r))
        return fail(out, out->len, err, errlen, "zstd: %s", ZSTD_getErrorName(r));
    out->len += r;
    return 0;
}

static int zstd_decompress(const unsigned char *in, size_t n, size_t max,
                           axiom_buf *out, char *err, size_t errlen)
{
    size_t mark = out->len, produced = 0, room, ret;
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    ZSTD_inBuffer ib;
    ZSTD_outBuffer ob;

    if (dctx == NULL)
        return fail(out, mark, err, errlen, "out of memory");
    ib.src = in;
    ib.size = n;
    ib.pos = 0;
    for (;;) {
        if ((room = room_for(out, produced, max, (size_t)-1)) == 0) {
            ZSTD_freeDCtx(dctx);
            return fail(out, mark, err, errlen, "out of memory");
        }
        ob.dst = out->data + out->len;
        ob.size = room;
        ob.pos = 0;
        ret = ZSTD_decompressStream(dctx, &ob, &ib);
        if (ZSTD_isError(ret)) {
            ZSTD_freeDCtx(dctx);
            return fail(out, mark, err, errlen, "zstd: corrupt input (%s)",
                        ZSTD_getErrorName(ret));
        }
        out->len += ob.pos;
        produced += ob.pos;
        if (produced > max) {
            ZSTD_freeDCtx(dctx);
            return fail(out, mark, err, errlen, "decompressed data exceeds %zu bytes", max);
        }
        /* ret == 0: a frame just ended; more input means another frame. */
        if (ret == 0 && ib.pos == ib.size)
            break;
        /* Input gone and output not full: the decoder is starved. */
        if (ib.pos == ib.size && ob.pos < ob.size) {
            ZSTD_freeDCtx(dctx);
            return fail(out, mark, err, errlen, "zstd: truncated input");
        }
    }
    ZSTD_freeDCtx(dctx);
    return 0;
}

int axiom_compress(axiom_codec codec, const void *in, size_t n, int level,
                   axiom_buf *out, char *err, size_t errlen)
{
    if (codec == AXIOM_GZIP)
        return gzip_compress((const unsigned char *)in, n, level, out, err, errlen);
    return zstd_compress((const unsigned char *)in, n, level, out, err, errlen);
}

int axiom_decompress(axiom_codec codec, const void *in, size_t n, size_t max,
                     axiom_buf *out, char *err, size_t errlen)
{
    if (codec == AXIOM_GZIP)
        return gzip_decompress((const unsigned char *)in, n, max, out, err, errlen);
    return zstd_decompress((const unsigned char *)in, n, max, out, err, errlen);
}

/* ---- Lua API -------------------------------------------------------- */

static const char *const codec_names[] = {"gzip", "zstd", NULL};

/* core.compress(data, "gzip"|"zstd" [, level]) -> string | nil, err */
static int l_compress(lua_State *L)
{
    char err[ERRLEN];
    size_t n;
    const char *in = luaL_checklstring(L, 1, &n);
    axiom_codec codec = (axiom_codec)luaL_checkoption(L, 2, NULL, codec_names);
    lua_Integer level;
    axiom_buf *b;

    if (codec == AXIOM_GZIP) {
        level = luaL_optinteger(L, 3, 6);
        luaL_argcheck(L, level >= 0 && level <= 9, 3, "gzip level must be 0..9");
    } else {
        level = luaL_optinteger(L, 3, 3);
        luaL_argcheck(L, level >= ZSTD_minCLevel() && level <= ZSTD_maxCLevel(),
                      3, "zstd level out of range");
    }
    b = axiom_newbuf(L);
    return axiom_pushbuf(L, b, axiom_compress(codec, in, n, (int)level, b, err, sizeof err), err);
}

/* core.decompress(data, "gzip"|"zstd" [, max_size]) -> string | nil, err */
static int l_decompress(lua_State *L)
{
    char err[ERRLEN];
    size_t n;
    const char *in = luaL_checklstring(L, 1, &n);
    axiom_codec codec = (axiom_codec)luaL_checkoption(L, 2, NULL, codec_names);
    lua_Integer max = luaL_optinteger(L, 3, (lua_Integer)AXIOM_DECOMPRESS_MAX);
    axiom_buf *b;

    luaL_argcheck(L, max >= 0, 3, "max_size must not be negative");
    b = axiom_newbuf(L);
    return axiom_pushbuf(L, b, axiom_decompress(codec, in, n, (size_t)max, b, err, sizeof err), err);
}

void axiom_open_compress(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"compress", l_compress},
        {"decompress", l_decompress},
        {NULL, NULL}
    };

    axiom_setfuncs(L, funcs, 0);
}
