/* The transport: one reused libcurl easy handle behind a Lua userdata. The
 * option setup and response callbacks are shared with the sender thread
 * (sender.c), which drives its own handle with the same settings. */
#ifndef AXIOM_HTTP_H
#define AXIOM_HTTP_H

#include <curl/curl.h>

#include "compat.h"
#include "buffer.h"

#define AXIOM_HTTP_MT "axiom.http"

/* core.http's options, parsed once. */
typedef struct axiom_http_opts {
    long timeout_ms;
    long connect_timeout_ms;
    char *user_agent;
    char *ca_file;
    char *proxy;
    int no_proxy;               /* proxy = false: none, whatever the environment says */
    int verify_tls;
    size_t max_response;
} axiom_http_opts;

/* What one transfer fills. Plain C: usable from a thread without Lua. */
typedef struct axiom_http_io {
    axiom_buf body;
    axiom_buf head;             /* the last response's header lines */
    size_t max_response;
    int truncate;               /* 1: body bytes past max_response are skipped, not an error */
    int overflow;               /* why a callback aborted the transfer */
    char errbuf[CURL_ERROR_SIZE];
} axiom_http_io;

void axiom_http_opts_init(axiom_http_opts *o);
/* Reads the options table at arg (raises on a bad option, naming arg). */
void axiom_http_opts_read(lua_State *L, int arg, axiom_http_opts *o);
void axiom_http_opts_free(axiom_http_opts *o);
/* Empties io for the next transfer (keeps its buffers). */
void axiom_http_io_reset(axiom_http_io *io);
/* Sets every option of a (freshly reset) easy handle: URL, timeouts, TLS,
 * proxy, no redirects, http(s) only, NOSIGNAL, callbacks filling io. */
CURLcode axiom_http_setup(CURL *c, const axiom_http_opts *o, axiom_http_io *io,
                          const char *url, struct curl_slist *headers);
/* For a failed transfer: returns its kind ("network", "timeout", "tls") and
 * writes a message naming the curl code into msg. */
const char *axiom_http_failure(CURLcode rc, const axiom_http_io *io, char *msg, size_t size);
/* After fork(): points the handle's connection at /dev/null, so the child
 * neither writes into nor keeps open the parent's connection. */
void axiom_http_disown(CURL *c);

/* Registers the axiom.http metatable and adds http to the table on top. */
void axiom_open_http(lua_State *L);

#endif
