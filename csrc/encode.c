/*
 * The event encoder. It is the hot path of a log shipper, so it walks tables
 * with lua_next/lua_rawgeti, writes straight into an axiom_buf, and neither
 * mallocs per value nor creates Lua strings. Failures travel as return
 * codes (never longjmp) so the caller can roll back a single event.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "encode.h"

#define STR_(x) #x
#define STR(x) STR_(x)

#define TWO53 9007199254740992.0
#define NUMLEN 48               /* longest %.17g plus slack */
#define KEYSHOW 64              /* key bytes shown in an error path */
#define CHUNK 4096              /* string bytes escaped per reservation */

/* Registry key of array_mt: a light userdata lookup never allocates. */
static char array_key;

enum { SEG_ROOT, SEG_KEY, SEG_INDEX, SEG_NUMKEY };

/*
 * One step of the path from the root to the value being written. Frames
 * live in the recursion's C stack frames: the ancestors' table pointers
 * give cycle detection and the segments give the error path, both without
 * allocating.
 */
typedef struct frame {
    const struct frame *parent;
    const void *table;          /* this value, while it is a table being written */
    int depth;                  /* tables from the root down to this value */
    int seg;
    const char *key;            /* SEG_KEY: a string held on the Lua stack */
    size_t keylen;
    int slot;                   /* SEG_NUMKEY: stack slot of the number key */
    long long index;            /* SEG_INDEX */
} frame;

typedef struct enc {
    lua_State *L;
    axiom_buf *b;
    int mt;                     /* stack slot of array_mt */
    int max_depth;
    char *err;
    size_t errlen;
} enc;

#define Z16 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0
#define O16 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1
/* Bytes that leave the fast copy loop: controls, '"', '\\' and non-ASCII. */
static const unsigned char special[256] = {
    O16, O16,
    0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,
    Z16, Z16,
    0,0,0,0,0,0,0,0,0,0,0,0,1,0,0,0,
    Z16, Z16,
    O16, O16, O16, O16, O16, O16, O16, O16
};

/* ---- strings -------------------------------------------------------- */

/*
 * Length of the well-formed UTF-8 sequence at s, or 0 with *bad set to the
 * length of its maximal invalid subpart (Unicode 3.9, table 3-7): the bytes
 * that could still have begun a valid sequence, at least one.
 */
static size_t utf8_len(const unsigned char *s, size_t avail, size_t *bad)
{
    unsigned lo = 0x80, hi = 0xBF;
    size_t need, i;

    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        need = 2;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        need = 3;
        if (s[0] == 0xE0)
            lo = 0xA0;          /* overlong */
        else if (s[0] == 0xED)
            hi = 0x9F;          /* surrogates, CESU-8 */
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        need = 4;
        if (s[0] == 0xF0)
            lo = 0x90;          /* overlong */
        else if (s[0] == 0xF4)
            hi = 0x8F;          /* above U+10FFFF */
    } else {
        *bad = 1;
        return 0;
    }
    for (i = 1; i < need; i++) {
        if (i >= avail || s[i] < lo || s[i] > hi) {
            *bad = i;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need;
}

static char *put_escape(char *o, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";

    *o++ = '\\';
    switch (c) {
    case '"':  *o++ = '"';  break;
    case '\\': *o++ = '\\'; break;
    case '\n': *o++ = 'n';  break;
    case '\r': *o++ = 'r';  break;
    case '\t': *o++ = 't';  break;
    case '\b': *o++ = 'b';  break;
    case '\f': *o++ = 'f';  break;
    default:
        *o++ = 'u';
        *o++ = '0';
        *o++ = '0';
        *o++ = hex[c >> 4];
        *o++ = hex[c & 15];
        break;
    }
    return o;
}

static int put_string(axiom_buf *b, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str, *end = s + len;

    if (axiom_buf_putc(b, '"'))
        return -1;
    while (s < end) {
        size_t chunk = (size_t)(end - s) < CHUNK ? (size_t)(end - s) : CHUNK;
        const unsigned char *stop = s + chunk;
        char *o;

        /* 6 bytes per input byte covers the worst case ("\u0001"); a
         * sequence running past `stop` is covered by its first byte. */
        if (axiom_buf_reserve(b, chunk * 6))
            return -1;
        o = b->data + b->len;
        while (s < stop) {
            const unsigned char *run = s;
            size_t n, bad;

            while (s < stop && !special[*s])
                s++;
            memcpy(o, run, (size_t)(s - run));
            o += s - run;
            if (s == stop)
                break;
            if (*s < 0x80) {
                o = put_escape(o, *s++);
            } else if ((n = utf8_len(s, (size_t)(end - s), &bad)) != 0) {
                memcpy(o, s, n);
                o += n;
                s += n;
            } else {
                memcpy(o, "\xEF\xBF\xBD", 3);   /* U+FFFD */
                o += 3;
                s += bad;
            }
        }
        b->len = (size_t)(o - b->data);
    }
    return axiom_buf_putc(b, '"');
}

/* ---- numbers -------------------------------------------------------- */

static size_t fmt_int(char *out, long long v)
{
    char tmp[24], *p = tmp + sizeof tmp;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                 : (unsigned long long)v;
    size_t n;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *--p = '-';
    n = (size_t)(tmp + sizeof tmp - p);
    memcpy(out, p, n);
    return n;
}

static int is_numchar(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e';
}

/*
 * Most floats in logs are short decimals (0.25, 12.5, 3.14159). When d is the
 * double nearest m / 10^k (m < 10^15, k <= 9) and %.15g would print it
 * without an exponent (1e-4 <= |d| < 1e15), %.15g prints exactly m with a
 * decimal point, and that text reads back as d: write it without snprintf
 * and strtod, which cost more than the rest of an event. 0 when it is not so.
 */
static size_t fmt_short_decimal(char *out, double d)
{
    static const double p10[] = {1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    double a = fabs(d);
    char digits[24];
    size_t n, o = 0, i;
    long long m;
    int k;

    if (!(a >= 1e-4 && a < 1e15))
        return 0;
    for (k = 1; k <= 9; k++) {
        double scaled = a * p10[k - 1];

        if (scaled >= 1e15)
            return 0;
        m = (long long)(scaled + 0.5);
        if ((double)m / p10[k - 1] == a)
            break;  /* the smallest k: m has no trailing zero */
    }
    if (k > 9)
        return 0;
    n = fmt_int(digits, m);
    if (d < 0)
        out[o++] = '-';
    if (n <= (size_t)k) {
        out[o++] = '0';
        out[o++] = '.';
        for (i = n; i < (size_t)k; i++)
            out[o++] = '0';
        memcpy(out + o, digits, n);
        return o + n;
    }
    memcpy(out + o, digits, n - (size_t)k);
    o += n - (size_t)k;
    out[o++] = '.';
    memcpy(out + o, digits + n - (size_t)k, (size_t)k);
    return o + (size_t)k;
}

/* JSON text of a double into out (NUMLEN bytes); 0 when it is not finite. */
static size_t fmt_double(char *out, double d)
{
    char tmp[NUMLEN];
    int prec = 15, n, i;
    size_t o = 0;

    if (!isfinite(d))
        return 0;
    if (d > -TWO53 && d < TWO53 && (double)(long long)d == d) {
        if (d == 0 && signbit(d)) {
            memcpy(out, "-0", 2);
            return 2;
        }
        return fmt_int(out, (long long)d);
    }
    if ((o = fmt_short_decimal(out, d)) != 0)
        return o;
    for (;;) {
        n = snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (prec == 17 || strtod(tmp, NULL) == d)
            break;
        prec++;
    }
    /* snprintf and strtod agree on LC_NUMERIC's separator (maybe several
     * bytes); JSON needs '.', so map any run of other bytes to one '.'. */
    for (i = 0; i < n;) {
        if (is_numchar(tmp[i])) {
            out[o++] = tmp[i++];
        } else {
            out[o++] = '.';
            while (i < n && !is_numchar(tmp[i]))
                i++;
        }
    }
    return o;
}

static size_t fmt_number(lua_State *L, int idx, char *out)
{
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(L, idx))
        return fmt_int(out, (long long)lua_tointeger(L, idx));
#endif
    return fmt_double(out, (double)lua_tonumber(L, idx));
}

/* A number used as an object key; infinities have no JSON number form. */
static size_t fmt_key(lua_State *L, int idx, char *out)
{
    size_t n = fmt_number(L, idx, out);

    if (n == 0) {
        const char *s = lua_tonumber(L, idx) < 0 ? "-inf" : "inf";
        n = strlen(s);
        memcpy(out, s, n);
    }
    return n;
}

/* 5.4 normalises integral float keys to integers; 5.1 only has doubles. */
static int pos_int_key(lua_State *L, int idx, long long *k)
{
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(L, idx) && lua_tointeger(L, idx) > 0) {
        *k = (long long)lua_tointeger(L, idx);
        return 1;
    }
#else
    double d = (double)lua_tonumber(L, idx);

    if (d >= 1 && d <= TWO53 && (double)(long long)d == d) {
        *k = (long long)d;
        return 1;
    }
#endif
    return 0;
}

/* ---- failures ------------------------------------------------------- */

typedef struct pathbuf {
    char *s;
    size_t cap;                 /* bytes usable before the terminator */
    size_t len;                 /* may pass cap: the path was cut */
} pathbuf;

static void pb_put(pathbuf *pb, const char *s, size_t n)
{
    if (pb->len < pb->cap)
        memcpy(pb->s + pb->len, s, n < pb->cap - pb->len ? n : pb->cap - pb->len);
    pb->len += n;
}

static int is_ident(const char *k, size_t n)
{
    size_t i;

    if (n == 0 || n > KEYSHOW || (k[0] >= '0' && k[0] <= '9'))
        return 0;
    for (i = 0; i < n; i++) {
        char c = k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

/* Keys end up in log lines: keep valid UTF-8, replace anything else. */
static void put_key_segment(pathbuf *pb, const char *k, size_t n)
{
    const unsigned char *s = (const unsigned char *)k;
    size_t i = 0, shown = n > KEYSHOW ? KEYSHOW : n, len, bad;

    if (is_ident(k, n)) {
        pb_put(pb, ".", 1);
        pb_put(pb, k, n);
        return;
    }
    pb_put(pb, "[\"", 2);
    while (i < shown) {
        if (s[i] >= 0x20 && s[i] < 0x7F && s[i] != '"' && s[i] != '\\') {
            pb_put(pb, k + i++, 1);
        } else if (s[i] >= 0x80 && (len = utf8_len(s + i, shown - i, &bad)) != 0) {
            pb_put(pb, k + i, len);
            i += len;
        } else {
            pb_put(pb, "?", 1);
            i++;
        }
    }
    if (shown < n)
        pb_put(pb, "...", 3);
    pb_put(pb, "\"]", 2);
}

static void put_path(const enc *e, const frame *f, pathbuf *pb)
{
    char num[NUMLEN + 2];
    size_t n;

    if (f->parent == NULL) {
        pb_put(pb, "$", 1);
        return;
    }
    put_path(e, f->parent, pb);
    switch (f->seg) {
    case SEG_KEY:
        put_key_segment(pb, f->key, f->keylen);
        return;
    case SEG_INDEX:
        n = fmt_int(num + 1, f->index);
        break;
    default:
        n = fmt_key(e->L, f->slot, num + 1);
        break;
    }
    num[0] = '[';
    num[n + 1] = ']';
    pb_put(pb, num, n + 2);
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(const enc *e, const frame *f, const char *fmt, ...)
{
    char msg[64], path[AXIOM_ENCODE_ERRLEN];
    pathbuf pb;
    va_list ap;

    pb.s = path;
    pb.cap = sizeof path - 1;
    pb.len = 0;
    put_path(e, f, &pb);
    if (pb.len > pb.cap)
        memcpy(path + pb.cap - 3, "...", 3);
    path[pb.len < pb.cap ? pb.len : pb.cap] = '\0';
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(e->err, e->errlen, "%s at %s", msg, path);
    return -1;
}

static int oom(const enc *e)
{
    snprintf(e->err, e->errlen, "out of memory");
    return -1;
}

/* ---- values --------------------------------------------------------- */

static int enc_value(enc *e, int idx, frame *f);

static int put_lit(const enc *e, const char *s, size_t n)
{
    return axiom_buf_append(e->b, s, n) ? oom(e) : 0;
}

static int enc_object(enc *e, int t, frame *f, int pushed)
{
    lua_State *L = e->L;
    axiom_buf *b = e->b;
    char num[NUMLEN];
    size_t n;
    frame c;
    int first = 1;

    c.parent = f;
    c.depth = f->depth + 1;
    if (!pushed) {
        lua_pushnil(L);
        if (!lua_next(L, t))
            return put_lit(e, "{}", 2);
    }
    if (axiom_buf_putc(b, '{'))
        return oom(e);
    do {
        if (!first && axiom_buf_putc(b, ','))
            return oom(e);
        first = 0;
        c.table = NULL;
        switch (lua_type(L, -2)) {
        case LUA_TSTRING:
            c.seg = SEG_KEY;
            c.key = lua_tolstring(L, -2, &c.keylen);
            if (put_string(b, c.key, c.keylen))
                return oom(e);
            break;
        case LUA_TNUMBER:
            c.seg = SEG_NUMKEY;
            c.slot = lua_gettop(L) - 1;
            n = fmt_key(L, c.slot, num);
            if (axiom_buf_reserve(b, n + 2))
                return oom(e);
            b->data[b->len++] = '"';
            memcpy(b->data + b->len, num, n);
            b->len += n;
            b->data[b->len++] = '"';
            break;
        default:
            return fail(e, f, "unsupported key type %s", luaL_typename(L, -2));
        }
        if (axiom_buf_putc(b, ':'))
            return oom(e);
        if (enc_value(e, lua_gettop(L), &c))
            return -1;
        lua_pop(L, 1);
    } while (lua_next(L, t));
    return axiom_buf_putc(b, '}') ? oom(e) : 0;
}

static int enc_array(enc *e, int t, frame *f, long long n)
{
    lua_State *L = e->L;
    axiom_buf *b = e->b;
    frame c;
    long long i;

    c.parent = f;
    c.depth = f->depth + 1;
    c.seg = SEG_INDEX;
    if (axiom_buf_putc(b, '['))
        return oom(e);
    for (i = 1; i <= n; i++) {
        if (i > 1 && axiom_buf_putc(b, ','))
            return oom(e);
        axiom_rawgeti(L, t, i);
        c.table = NULL;
        c.index = i;
        if (enc_value(e, lua_gettop(L), &c))
            return -1;
        lua_pop(L, 1);
    }
    return axiom_buf_putc(b, ']') ? oom(e) : 0;
}

static int not_object(const enc *e)
{
    snprintf(e->err, e->errlen, "event is an array, not an object");
    return -1;
}

static int enc_table(enc *e, int t, frame *f, int event)
{
    lua_State *L = e->L;
    const void *p = lua_topointer(L, t);
    const frame *a;
    unsigned long long count = 0;
    long long k, maxk = 0;
    int marked = 0, ints = 1;

    /* Only ancestors count: a table shared by two siblings is no cycle. */
    for (a = f->parent; a != NULL; a = a->parent)
        if (a->table == p)
            return fail(e, f, "cycle");
    if (f->depth > e->max_depth)
        return fail(e, f, "nesting deeper than %d", e->max_depth);
    f->table = p;
    if (lua_getmetatable(L, t)) {
        marked = lua_rawequal(L, -1, e->mt);
        lua_pop(L, 1);
    }

    lua_pushnil(L);
    if (!lua_next(L, t)) {
        if (!marked)
            return put_lit(e, "{}", 2);
        return event ? not_object(e) : put_lit(e, "[]", 2);
    }
    /* A string key rules out an array: write the object in this pass. */
    if (lua_type(L, -2) == LUA_TSTRING)
        return enc_object(e, t, f, 1);

    do {
        count++;
        switch (lua_type(L, -2)) {
        case LUA_TNUMBER:
            if (ints && pos_int_key(L, -2, &k)) {
                if (k > maxk)
                    maxk = k;
            } else {
                ints = 0;
            }
            break;
        case LUA_TSTRING:
            ints = 0;
            break;
        default:
            return fail(e, f, "unsupported key type %s", luaL_typename(L, -2));
        }
        lua_pop(L, 1);
    } while (lua_next(L, t));

    /* Too sparse for holes to be written as null: keep the keys. */
    if (!ints || maxk > AXIOM_RAWGETI_MAX ||
        (maxk > 10 && (unsigned long long)maxk > 2 * count))
        return enc_object(e, t, f, 0);
    return event ? not_object(e) : enc_array(e, t, f, maxk);
}

static int enc_value(enc *e, int idx, frame *f)
{
    lua_State *L = e->L;
    char num[NUMLEN];
    const char *s;
    size_t n;

    switch (lua_type(L, idx)) {
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &n);
        return put_string(e->b, s, n) ? oom(e) : 0;
    case LUA_TNUMBER:
        n = fmt_number(L, idx, num);
        return n == 0 ? put_lit(e, "null", 4) : put_lit(e, num, n);
    case LUA_TBOOLEAN:
        return lua_toboolean(L, idx) ? put_lit(e, "true", 4)
                                     : put_lit(e, "false", 5);
    case LUA_TNIL:
        return put_lit(e, "null", 4);
    case LUA_TTABLE:
        return enc_table(e, idx, f, 0);
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL)
            return put_lit(e, "null", 4);
        break;
    default:
        break;
    }
    return fail(e, f, "cannot encode a %s", luaL_typename(L, idx));
}

static int encode_root(lua_State *L, int idx, axiom_buf *b, int max_depth,
                       char *err, size_t errlen, int event)
{
    int top = lua_gettop(L), rc;
    size_t mark = b->len;
    enc e;
    frame f;

    idx = axiom_absindex(L, idx);
    if (max_depth < 1)
        max_depth = 1;
    else if (max_depth > AXIOM_ENCODE_DEPTH_MAX)
        max_depth = AXIOM_ENCODE_DEPTH_MAX;
    if (event && lua_type(L, idx) != LUA_TTABLE) {
        snprintf(err, errlen, "event is a %s, not a table", luaL_typename(L, idx));
        return -1;
    }
    /* Key and value per level, reserved now so nothing below can raise. */
    if (!lua_checkstack(L, 2 * max_depth + 8)) {
        snprintf(err, errlen, "Lua stack too small for depth %d", max_depth);
        return -1;
    }
    e.L = L;
    e.b = b;
    e.max_depth = max_depth;
    e.err = err;
    e.errlen = errlen;
    axiom_rawgetp(L, LUA_REGISTRYINDEX, &array_key);
    e.mt = lua_gettop(L);
    f.parent = NULL;
    f.table = NULL;
    f.depth = 1;
    f.seg = SEG_ROOT;
    rc = event ? enc_table(&e, idx, &f, 1) : enc_value(&e, idx, &f);
    lua_settop(L, top);
    if (rc != 0)
        b->len = mark;
    return rc;
}

int axiom_encode_event(lua_State *L, int idx, axiom_buf *b, int max_depth,
                       char *err, size_t errlen)
{
    return encode_root(L, idx, b, max_depth, err, errlen, 1);
}

int axiom_encode_value(lua_State *L, int idx, axiom_buf *b, int max_depth,
                       char *err, size_t errlen)
{
    return encode_root(L, idx, b, max_depth, err, errlen, 0);
}

/* ---- Lua API -------------------------------------------------------- */

static int opt_depth(lua_State *L, int arg)
{
    lua_Integer d = luaL_optinteger(L, arg, AXIOM_ENCODE_DEPTH);

    luaL_argcheck(L, d >= 1 && d <= AXIOM_ENCODE_DEPTH_MAX, arg,
                  "max_depth must be between 1 and " STR(AXIOM_ENCODE_DEPTH_MAX));
    return (int)d;
}

/* core.encode(value [, max_depth]) -> json | nil, err */
static int l_encode(lua_State *L)
{
    char err[AXIOM_ENCODE_ERRLEN];
    axiom_buf *b;
    int depth;

    luaL_checkany(L, 1);
    depth = opt_depth(L, 2);
    b = axiom_newbuf(L);
    return axiom_pushbuf(L, b, axiom_encode_value(L, 1, b, depth, err, sizeof err), err);
}

/* Raises: events[key] where key is no array index. Nothing to free: the
 * caller has allocated nothing yet. */
static int not_an_array(lua_State *L, int key)
{
    char msg[96];
    size_t len;
    const char *s;

    switch (lua_type(L, key)) {
    case LUA_TSTRING:
        s = lua_tolstring(L, key, &len);
        snprintf(msg, sizeof msg, "events must be an array (found key \"%.40s\"%s)",
                 s, len > 40 ? "..." : "");
        break;
    case LUA_TNUMBER:
        lua_pushvalue(L, key);          /* a copy: tolstring converts in place */
        snprintf(msg, sizeof msg, "events must be an array (found key %.40s)",
                 lua_tostring(L, -1));
        break;
    default:
        snprintf(msg, sizeof msg, "events must be an array (found a %s key)",
                 luaL_typename(L, key));
        break;
    }
    return luaL_argerror(L, 1, msg);
}

/* The largest key of events, all of which must be array indices: a hole
 * is a failed event, not the end of the batch. A table far sparser than
 * any batch (one event at index 10^9) is misuse too: it would report a
 * failure per hole. */
static size_t events_length(lua_State *L)
{
    size_t n = 0, keys = 0, k;

    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
#if LUA_VERSION_NUM >= 503
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 ||
            (lua_Unsigned)lua_tointeger(L, -1) > (size_t)-1 / 2)
            return (size_t)not_an_array(L, lua_gettop(L));
        k = (size_t)lua_tointeger(L, -1);
#else
        {
            lua_Number d = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
            if (!(d >= 1 && d <= (lua_Number)AXIOM_RAWGETI_MAX && d == floor(d)))
                return (size_t)not_an_array(L, lua_gettop(L));
            k = (size_t)d;
        }
#endif
        keys++;
        if (k > n)
            n = k;
    }
    if (n - keys > keys + 1024) {
        lua_pushinteger(L, (lua_Integer)n);
        return (size_t)luaL_argerror(L, 1, lua_pushfstring(L,
            "events must be an array (found key %s, far beyond its %d entries)",
            lua_tostring(L, -1), (int)(keys < INT_MAX ? keys : INT_MAX)));
    }
    return n;
}

/* core.encode_events(events [, max_depth]) -> body, count, failures
 * events[i] == nil for i below the largest index is a failure. */
static int l_encode_events(lua_State *L)
{
    char err[AXIOM_ENCODE_ERRLEN];
    size_t i, n, count = 0, nfail = 0, mark;
    axiom_buf *b;
    int depth;

    luaL_checktype(L, 1, LUA_TTABLE);
    depth = opt_depth(L, 2);
    lua_settop(L, 2);
    n = events_length(L);
    lua_settop(L, 2);
    b = axiom_newbuf(L);                /* 3 */
    lua_pushnil(L);                     /* 4: failures, made on demand */
    for (i = 1; i <= n; i++) {
        axiom_rawgeti(L, 1, i);               /* 5 */
        mark = b->len;
        if (axiom_encode_event(L, 5, b, depth, err, sizeof err) == 0) {
            if (axiom_buf_putc(b, '\n') == 0) {
                count++;
                lua_pop(L, 1);
                continue;
            }
            b->len = mark;
            snprintf(err, sizeof err, "out of memory");
        }
        if (lua_isnil(L, 4)) {
            lua_newtable(L);
            lua_replace(L, 4);
        }
        lua_createtable(L, 0, 2);
        lua_pushinteger(L, (lua_Integer)i);
        lua_setfield(L, -2, "index");
        lua_pushstring(L, err);
        lua_setfield(L, -2, "error");
        lua_rawseti(L, 4, (int)++nfail);
        lua_pop(L, 1);
    }
    axiom_pushbuf(L, b, 0, NULL);
    lua_pushinteger(L, (lua_Integer)count);
    lua_pushvalue(L, 4);
    return 3;
}

/* core.array(t) -> t, marked to encode as a JSON array even when empty */
static int l_array(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    axiom_rawgetp(L, LUA_REGISTRYINDEX, &array_key);
    if (lua_getmetatable(L, 1)) {
        if (!lua_rawequal(L, -1, 2))
            return luaL_argerror(L, 1, "table already has a metatable");
        lua_settop(L, 1);
        return 1;
    }
    lua_setmetatable(L, 1);
    return 1;
}

void axiom_open_encode(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"encode", l_encode},
        {"encode_events", l_encode_events},
        {"array", l_array},
        {NULL, NULL}
    };

    /* Reuse the registered table if the module is loaded again, so tables
     * marked before still count as arrays. */
    axiom_rawgetp(L, LUA_REGISTRYINDEX, &array_key);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "axiom.array");
        lua_setfield(L, -2, "__name");
        lua_pushvalue(L, -1);
        axiom_rawsetp(L, LUA_REGISTRYINDEX, &array_key);
    }
    lua_setfield(L, -2, "array_mt");
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    axiom_setfuncs(L, funcs, 0);
}
