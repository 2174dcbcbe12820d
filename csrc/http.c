/*
 * transport:request() blocks in curl_easy_perform. Nothing in here calls
 * back into Lua during a transfer: the callbacks only fill C buffers owned
 * by the userdata, and the Lua results are built after the transfer, so a
 * Lua error can neither unwind through libcurl nor leak what it allocated.
 *
 * Building those results allocates, so the GC may run a finalizer that
 * closes the transport or makes another request through it. The response
 * is therefore moved into buffers owned by the current call before anything
 * is pushed: the transport may be closed or reused meanwhile without
 * touching the bytes being read.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core.h"
#include "http.h"

#define DEFAULT_TIMEOUT         30.0
#define DEFAULT_CONNECT_TIMEOUT 10.0
#define DEFAULT_MAX_RESPONSE    ((size_t)16 * 1024 * 1024)
#define HEADERS_MAX             ((size_t)1024 * 1024)  /* far above any sane server */
#define KEEP_BYTES              ((size_t)64 * 1024)    /* buffer kept between requests */
#define MAX_SECONDS             2e6                    /* ms still fit a 32-bit long */
#define MAX_BYTES               9007199254740992.0     /* 2^53: exact in a Lua number */

enum { OVER_NONE, OVER_BODY, OVER_HEADERS, OVER_MEMORY };
enum { M_GET, M_POST, M_PUT, M_DELETE, M_PATCH };
static const char *const method_names[] = {"GET", "POST", "PUT", "DELETE", "PATCH", NULL};

typedef struct transport {
    CURL *curl;
    pid_t pid;                  /* the process that created curl */
    int closed;
    int busy;                   /* between building headers and detaching the response */
    axiom_http_opts opts;
    struct curl_slist *headers; /* held here so a raise cannot leak it */
    axiom_http_io io;
} transport;

/* ---- libcurl callbacks: C only ------------------------------------- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    axiom_http_io *io = (axiom_http_io *)ud;
    size_t n = size * nmemb, room = io->max_response - io->body.len;

    if (n > room) {
        if (!io->truncate) {
            io->overflow = OVER_BODY;
            return 0;
        }
        if (room > 0 && axiom_buf_append(&io->body, p, room) == 0)
            return n;
        return room > 0 ? 0 : n;    /* keep what fits, read on */
    }
    if (axiom_buf_append(&io->body, p, n)) {
        io->overflow = OVER_MEMORY;
        return 0;
    }
    return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    axiom_http_io *io = (axiom_http_io *)ud;
    size_t n = size * nmemb;

    /* A new status line starts a new response (after 100 Continue, or a
     * proxy's CONNECT reply): only the last one's headers count. */
    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0)
        io->head.len = 0;
    if (n > HEADERS_MAX - io->head.len) {
        io->overflow = OVER_HEADERS;
        return 0;
    }
    if (axiom_buf_append(&io->head, p, n)) {
        io->overflow = OVER_MEMORY;
        return 0;
    }
    return n;
}

/* ---- handle lifetime ------------------------------------------------ */

/*
 * After fork() the child shares the parent's cached connection. Cleaning it
 * up normally would close it politely (a TLS close_notify) under the
 * parent's feet, so first point our descriptor at /dev/null: whatever
 * libcurl then writes goes nowhere and the parent's copy is untouched.
 */
void axiom_http_disown(CURL *c)
{
    curl_socket_t s = CURL_SOCKET_BAD;
    int fd;

    if (curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &s) != CURLE_OK || s == CURL_SOCKET_BAD)
        return;
    fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd >= 0 && fd != s) {
        dup2(fd, s);
        close(fd);
    }
}

static void disown_connection(transport *t)
{
    if (t->curl != NULL && t->pid != getpid())
        axiom_http_disown(t->curl);
}

static int renew_handle(transport *t)
{
    disown_connection(t);
    curl_easy_cleanup(t->curl);
    t->curl = curl_easy_init();
    t->pid = getpid();
    return t->curl != NULL ? 0 : -1;
}

static void release(transport *t)
{
    if (t->curl != NULL) {
        disown_connection(t);
        curl_easy_cleanup(t->curl);
        t->curl = NULL;
    }
    curl_slist_free_all(t->headers);
    t->headers = NULL;
    axiom_http_opts_free(&t->opts);
    axiom_buf_free(&t->io.body);
    axiom_buf_free(&t->io.head);
    t->closed = 1;
}

void axiom_http_opts_init(axiom_http_opts *o)
{
    memset(o, 0, sizeof *o);
    o->verify_tls = 1;
}

void axiom_http_opts_free(axiom_http_opts *o)
{
    free(o->user_agent);
    free(o->ca_file);
    free(o->proxy);
    o->user_agent = o->ca_file = o->proxy = NULL;
}

void axiom_http_io_reset(axiom_http_io *io)
{
    io->errbuf[0] = '\0';
    io->overflow = OVER_NONE;
    io->body.len = 0;
    io->head.len = 0;
}

/* curl_easy_reset wipes every option, so they are all set per request. */
CURLcode axiom_http_setup(CURL *c, const axiom_http_opts *o, axiom_http_io *io,
                          const char *url, struct curl_slist *headers)
{
    CURLcode rc = CURLE_OK;

#define SET(opt, val) \
    do { if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, val); } while (0)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_NOSIGNAL, 1L);          /* no SIGALRM: safe beside threads */
    SET(CURLOPT_MAXCONNECTS, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);    /* 3xx is the caller's decision */
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_ERRORBUFFER, io->errbuf);
    SET(CURLOPT_TIMEOUT_MS, o->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, (void *)io);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, (void *)io);
    SET(CURLOPT_SSL_VERIFYPEER, o->verify_tls ? 1L : 0L);
    SET(CURLOPT_SSL_VERIFYHOST, o->verify_tls ? 2L : 0L);
    if (o->user_agent != NULL)
        SET(CURLOPT_USERAGENT, o->user_agent);
    if (o->ca_file != NULL)
        SET(CURLOPT_CAINFO, o->ca_file);
    if (o->proxy != NULL) {
        SET(CURLOPT_PROXY, o->proxy);
        SET(CURLOPT_NOPROXY, "");       /* an explicit proxy overrides no_proxy too */
    } else if (o->no_proxy)
        SET(CURLOPT_NOPROXY, "*");      /* beats the *_proxy variables */
    SET(CURLOPT_HTTPHEADER, headers);
    return rc;
#undef SET
}

/* ---- results -------------------------------------------------------- */

static const char *error_kind(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED:
#if LIBCURL_VERSION_NUM >= 0x074d00
    case CURLE_SSL_CLIENTCERT:
#endif
        return "tls";
    default:
        return "network";
    }
}

/* The symbolic name is what people search for; the text alone is vague. */
static const char *code_name(CURLcode rc)
{
#define NAME(c) case c: return #c;
    switch (rc) {
    NAME(CURLE_UNSUPPORTED_PROTOCOL) NAME(CURLE_FAILED_INIT)
    NAME(CURLE_URL_MALFORMAT) NAME(CURLE_COULDNT_RESOLVE_PROXY)
    NAME(CURLE_COULDNT_RESOLVE_HOST) NAME(CURLE_COULDNT_CONNECT)
    NAME(CURLE_WEIRD_SERVER_REPLY) NAME(CURLE_HTTP2) NAME(CURLE_PARTIAL_FILE)
    NAME(CURLE_WRITE_ERROR) NAME(CURLE_READ_ERROR) NAME(CURLE_OUT_OF_MEMORY)
    NAME(CURLE_OPERATION_TIMEDOUT) NAME(CURLE_INTERFACE_FAILED)
    NAME(CURLE_SSL_CONNECT_ERROR) NAME(CURLE_ABORTED_BY_CALLBACK)
    NAME(CURLE_BAD_FUNCTION_ARGUMENT) NAME(CURLE_GOT_NOTHING)
    NAME(CURLE_SEND_ERROR) NAME(CURLE_RECV_ERROR) NAME(CURLE_SSL_CERTPROBLEM)
    NAME(CURLE_SSL_CIPHER) NAME(CURLE_PEER_FAILED_VERIFICATION)
    NAME(CURLE_BAD_CONTENT_ENCODING) NAME(CURLE_SEND_FAIL_REWIND)
    NAME(CURLE_SSL_CACERT_BADFILE) NAME(CURLE_SSL_CRL_BADFILE)
    NAME(CURLE_SSL_ISSUER_ERROR) NAME(CURLE_SSL_ENGINE_NOTFOUND)
    NAME(CURLE_SSL_ENGINE_SETFAILED) NAME(CURLE_SSL_ENGINE_INITFAILED)
    NAME(CURLE_SSL_SHUTDOWN_FAILED) NAME(CURLE_SSL_PINNEDPUBKEYNOTMATCH)
    NAME(CURLE_SSL_INVALIDCERTSTATUS) NAME(CURLE_USE_SSL_FAILED)
    NAME(CURLE_HTTP2_STREAM) NAME(CURLE_UNKNOWN_OPTION)
#if LIBCURL_VERSION_NUM >= 0x074900
    NAME(CURLE_PROXY)
#endif
#if LIBCURL_VERSION_NUM >= 0x074d00
    NAME(CURLE_SSL_CLIENTCERT)
#endif
    default:
        return NULL;
    }
#undef NAME
}

/* The kind ("network", "timeout", "tls") and message of a failed transfer.
 * Built from libcurl's error text and our own messages only, so no request
 * header value can leak into it. */
const char *axiom_http_failure(CURLcode rc, const axiom_http_io *io, char *msg, size_t size)
{
    const char *kind = "network", *text = io->errbuf, *name = code_name(rc);
    size_t n;

    switch (io->overflow) {
    case OVER_BODY:
        snprintf(msg, size, "response body exceeds %zu bytes", io->max_response);
        break;
    case OVER_HEADERS:
        snprintf(msg, size, "response headers exceed %zu bytes", HEADERS_MAX);
        break;
    case OVER_MEMORY:
        snprintf(msg, size, "out of memory while reading the response");
        break;
    default:
        kind = error_kind(rc);
        if (text[0] == '\0')
            text = curl_easy_strerror(rc);
        n = strlen(text);
        while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
            n--;
        if (name != NULL)
            snprintf(msg, size, "%.*s (%s)", (int)n, text, name);
        else
            snprintf(msg, size, "%.*s (curl error %d)", (int)n, text, (int)rc);
        break;
    }
    return kind;
}

/* nil, kind, message */
static int push_error(lua_State *L, transport *t, CURLcode rc)
{
    char msg[CURL_ERROR_SIZE + 64];
    const char *kind = axiom_http_failure(rc, &t->io, msg, sizeof msg);

    lua_pushnil(L);
    lua_pushstring(L, kind);
    lua_pushstring(L, msg);
    return 3;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Header lines -> { lowercased name = value }, repeats joined by ", ".
 * Lowercases the names in place: head belongs to the caller. */
static void push_headers(lua_State *L, axiom_buf *head)
{
    char *p = head->data, *end = p + head->len;

    lua_newtable(L);
    while (p < end) {
        char *eol = (char *)memchr(p, '\n', (size_t)(end - p));
        char *next = eol != NULL ? eol + 1 : end, *colon, *v, *q;

        colon = (char *)memchr(p, ':', (size_t)(next - p));
        if (colon != NULL && colon > p && !is_blank(*p) &&
            !(next - p >= 5 && memcmp(p, "HTTP/", 5) == 0)) {
            for (q = p; q < colon; q++)
                if (*q >= 'A' && *q <= 'Z')
                    *q = (char)(*q - 'A' + 'a');
            for (v = colon + 1; v < next && is_blank(*v); v++)
                ;
            for (q = next; q > v && is_blank(q[-1]); q--)
                ;
            lua_pushlstring(L, p, (size_t)(colon - p));
            lua_pushvalue(L, -1);
            lua_rawget(L, -3);
            if (lua_isnil(L, -1)) {
                lua_pop(L, 1);
                lua_pushlstring(L, v, (size_t)(q - v));
            } else {
                lua_pushliteral(L, ", ");
                lua_pushlstring(L, v, (size_t)(q - v));
                lua_concat(L, 3);
            }
            lua_rawset(L, -3);
        }
        p = next;
    }
}

/* ---- Lua API -------------------------------------------------------- */

static transport *check_transport(lua_State *L)
{
    return (transport *)luaL_checkudata(L, 1, AXIOM_HTTP_MT);
}

static int starts_with_ci(const char *s, const char *prefix)
{
    for (; *prefix != '\0'; s++, prefix++) {
        char c = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
        if (c != *prefix)
            return 0;
    }
    return 1;
}

static void add_header(lua_State *L, transport *t, const char *h)
{
    struct curl_slist *l = curl_slist_append(t->headers, h);

    if (l == NULL)
        luaL_error(L, "not enough memory");
    t->headers = l;
}

static void give_back(transport *t, axiom_buf *slot, axiom_buf *b)
{
    if (!t->closed && slot->data == NULL && b->cap <= KEEP_BYTES) {
        *slot = *b;
        slot->len = 0;
        axiom_buf_init(b);
    } else {
        axiom_buf_free(b);
    }
}

/* transport:request(method, url, headers, body)
 *   -> status, headers, body | nil, kind, message */
static int l_request(lua_State *L)
{
    transport *t = check_transport(L);
    const char *url, *body;
    size_t bodylen = 0, i, n;
    int m, send_body, has_type = 0, nres;
    long status = 0;
    CURLcode rc;
    axiom_buf *rbody, *rhead;

    if (t->closed)              /* level 1: the Lua code that called us */
        return luaL_error(L, "axiom.http: transport is closed");
    m = luaL_checkoption(L, 2, NULL, method_names);
    url = luaL_checkstring(L, 3);
    if (!lua_isnoneornil(L, 4))
        luaL_checktype(L, 4, LUA_TTABLE);
    body = luaL_optlstring(L, 5, NULL, &bodylen);
    send_body = body != NULL || m == M_POST || m == M_PUT || m == M_PATCH;
    lua_settop(L, 5);
    /* Where the response goes once received (slots 6 and 7): their __gc
     * frees it if building the results raises. */
    rbody = axiom_newbuf(L);
    rhead = axiom_newbuf(L);
    /* The allocations above may have run a finalizer that closed us. From
     * here to the detach below nothing allocates on the Lua heap. */
    if (t->closed)
        return luaL_error(L, "axiom.http: transport is closed");
    if (t->busy)                /* cannot happen: defensive */
        return luaL_error(L, "axiom.http: transport is busy");

    curl_slist_free_all(t->headers);
    t->headers = NULL;
    n = lua_istable(L, 4) ? axiom_rawlen(L, 4) : 0;
    for (i = 1; i <= n; i++) {
        axiom_rawgeti(L, 4, i);
        if (lua_type(L, -1) != LUA_TSTRING)
            return luaL_argerror(L, 4, "header entries must be strings");
        has_type = has_type || starts_with_ci(lua_tostring(L, -1), "content-type:");
        add_header(L, t, lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    /* libcurl would wait for 100 Continue before large bodies: a round
     * trip for nothing with a server that never sends one. */
    add_header(L, t, "Expect:");
    /* POSTFIELDS implies a form content type; a body's type is the
     * caller's to declare, or none. */
    if (send_body && !has_type)
        add_header(L, t, "Content-Type:");

    if ((t->curl == NULL || t->pid != getpid()) && renew_handle(t) != 0) {
        curl_slist_free_all(t->headers);
        t->headers = NULL;
        lua_pushnil(L);
        lua_pushliteral(L, "network");
        lua_pushliteral(L, "cannot create a libcurl handle (CURLE_FAILED_INIT)");
        return 3;
    }
    t->busy = 1;
    curl_easy_reset(t->curl);          /* a GET after a POST is a real GET */
    axiom_http_io_reset(&t->io);
    rc = axiom_http_setup(t->curl, &t->opts, &t->io, url, t->headers);
    if (rc == CURLE_OK && send_body) {
        /* No copy: the string stays on the Lua stack during the call. */
        rc = curl_easy_setopt(t->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)bodylen);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(t->curl, CURLOPT_POSTFIELDS, body != NULL ? body : "");
    }
    if (rc == CURLE_OK && m != M_POST && (m != M_GET || send_body))
        rc = curl_easy_setopt(t->curl, CURLOPT_CUSTOMREQUEST, method_names[m]);
    if (rc == CURLE_OK)
        rc = curl_easy_perform(t->curl);
    curl_slist_free_all(t->headers);
    t->headers = NULL;
    if (rc == CURLE_OK)
        rc = curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    /* Detach the response: from here on a finalizer may close the
     * transport or request through it without touching these bytes. */
    *rbody = t->io.body;
    *rhead = t->io.head;
    axiom_buf_init(&t->io.body);
    axiom_buf_init(&t->io.head);
    t->busy = 0;
    if (t->closed)                      /* close() while busy: deferred */
        release(t);
    if (rc != CURLE_OK) {
        nres = push_error(L, t, rc);
    } else {
        lua_pushinteger(L, (lua_Integer)status);
        push_headers(L, rhead);
        lua_pushlstring(L, rbody->len > 0 ? rbody->data : "", rbody->len);
        nres = 3;
    }
    /* Hand small buffers back for the next request, unless a finalizer
     * closed the transport or gave it buffers of its own meanwhile. */
    give_back(t, &t->io.body, rbody);
    give_back(t, &t->io.head, rhead);
    return nres;
}

/* close, __gc and __close: idempotent. While a transfer is in flight
 * (unreachable from Lua: libcurl's callbacks never call it) closing only
 * marks the transport, and the request releases it once done. */
static int l_close(lua_State *L)
{
    transport *t = check_transport(L);

    if (t->busy)
        t->closed = 1;
    else
        release(t);
    return 0;
}

static int l_tostring(lua_State *L)
{
    transport *t = check_transport(L);

    lua_pushfstring(L, AXIOM_HTTP_MT ": %p (%s)", (void *)t, t->closed ? "closed" : "open");
    return 1;
}

/* Pushes opts[name] (nil without opts) and returns its type. */
static int get_opt(lua_State *L, int arg, const char *name)
{
    if (lua_istable(L, arg))
        lua_getfield(L, arg, name);
    else
        lua_pushnil(L);
    return lua_type(L, -1);
}

static void bad_opt(lua_State *L, int arg, const char *name, const char *expected)
{
    luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' must be %s, got %s",
                                          name, expected, luaL_typename(L, -1)));
}

static long opt_ms(lua_State *L, int arg, const char *name, double def)
{
    double s = def, ms;
    long r;

    if (get_opt(L, arg, name) != LUA_TNIL) {
        s = lua_type(L, -1) == LUA_TNUMBER ? (double)lua_tonumber(L, -1) : -1;
        if (!(s > 0 && s <= MAX_SECONDS))
            bad_opt(L, arg, name, "a positive number of seconds");
    }
    lua_pop(L, 1);
    ms = s * 1000.0;
    r = (long)ms;
    /* Round up: 0.0001 s must not become 0, libcurl's "no timeout". */
    return (double)r < ms ? r + 1 : r;
}

static char *opt_string(lua_State *L, int arg, const char *name, const char *expected)
{
    char *s = NULL;
    size_t n;

    if (get_opt(L, arg, name) == LUA_TSTRING) {
        const char *v = lua_tolstring(L, -1, &n);
        if (strlen(v) != n)             /* libcurl would cut at the NUL */
            luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' contains a NUL byte", name));
        if ((s = strdup(v)) == NULL)
            luaL_error(L, "not enough memory");
    } else if (!lua_isnil(L, -1)) {
        bad_opt(L, arg, name, expected);
    }
    lua_pop(L, 1);
    return s;
}

/* Reads core.http's options from the table at arg into o (raises on a bad
 * one). Strings are strdup'ed as they are read: o must already be owned by
 * something whose __gc calls axiom_http_opts_free. */
void axiom_http_opts_read(lua_State *L, int arg, axiom_http_opts *o)
{
    double max;

    o->timeout_ms = opt_ms(L, arg, "timeout", DEFAULT_TIMEOUT);
    o->connect_timeout_ms = opt_ms(L, arg, "connect_timeout", DEFAULT_CONNECT_TIMEOUT);
    o->user_agent = opt_string(L, arg, "user_agent", "a string");
    o->ca_file = opt_string(L, arg, "ca_file", "a string");

    o->verify_tls = 1;
    if (get_opt(L, arg, "verify_tls") == LUA_TBOOLEAN)
        o->verify_tls = lua_toboolean(L, -1);
    else if (!lua_isnil(L, -1))
        bad_opt(L, arg, "verify_tls", "a boolean");
    lua_pop(L, 1);

    if (get_opt(L, arg, "proxy") == LUA_TBOOLEAN && !lua_toboolean(L, -1))
        o->no_proxy = 1;
    lua_pop(L, 1);
    if (!o->no_proxy)
        o->proxy = opt_string(L, arg, "proxy", "a string or false");

    o->max_response = DEFAULT_MAX_RESPONSE;
    if (get_opt(L, arg, "max_response") != LUA_TNIL) {
        max = lua_type(L, -1) == LUA_TNUMBER ? (double)lua_tonumber(L, -1) : -1;
        if (!(max >= 0 && max <= MAX_BYTES))
            bad_opt(L, arg, "max_response", "a non-negative number of bytes");
        o->max_response = (size_t)max;
    }
    lua_pop(L, 1);
}

/* core.http(opts) -> transport */
static int l_http(lua_State *L)
{
    transport *t;

    if (!lua_isnoneornil(L, 1))
        luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    t = (transport *)axiom_newuserdata(L, sizeof *t);
    memset(t, 0, sizeof *t);
    axiom_http_opts_init(&t->opts);
    axiom_buf_init(&t->io.body);
    axiom_buf_init(&t->io.head);
    t->closed = 1;
    /* Metatable first: from here on __gc frees whatever the options own. */
    axiom_setmetatable(L, AXIOM_HTTP_MT);
    axiom_http_opts_read(L, 1, &t->opts);
    t->io.max_response = t->opts.max_response;


    if ((t->curl = curl_easy_init()) == NULL)
        return luaL_error(L, "axiom.http: cannot create a libcurl handle");
    t->pid = getpid();
    t->closed = 0;
    return 1;
}

void axiom_open_http(lua_State *L)
{
    static const luaL_Reg meta[] = {
        {"__gc", l_close},
        {"__close", l_close},
        {"__tostring", l_tostring},
        {NULL, NULL}
    };
    static const luaL_Reg methods[] = {
        {"request", l_request},
        {"close", l_close},
        {NULL, NULL}
    };

    axiom_newclass(L, AXIOM_HTTP_MT, meta, methods);
    lua_pushcfunction(L, l_http);
    lua_setfield(L, -2, "http");
}
