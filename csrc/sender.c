/*
 * The background sender (see sender.h). Two sides share one malloc'ed
 * `sender` under one mutex:
 *
 *   caller (Lua) thread: add() encodes an event into a scratch buffer with no
 *     lock held (the encoder calls the Lua API), then locks, appends the line
 *     to the open batch, seals it when full, enforces max_buffer_bytes, and
 *     unlocks: memcpy-sized work, never the network.
 *   sender thread: seals the open batch after `interval`, takes the oldest
 *     batch, compresses it once, POSTs it with its own curl handle (lock
 *     released), and retries, splits, spools or drops it by the answer.
 *
 * The thread never sees a lua_State. Everything Lua needs (counters, error
 * reports) is copied out under the lock by the caller's own calls.
 *
 * Order: one request in flight; batches leave in the order they were sealed.
 * With a spool directory, spooled batches (older) go before memory batches.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core.h"
#include "encode.h"
#include "compress.h"
#include "http.h"
#include "sender.h"
#include "spool.h"

#define SPAN            ((uint64_t)1 << 20)     /* order keys per batch: room for 413 splits */
#define REPORTS_MAX     64                      /* undrained error reports kept */
#define RESPONSE_MAX    ((size_t)64 * 1024)     /* response bytes kept for a report */
#define MSG_MAX         256
#define LIMIT_WAIT_MAX  3600.0                  /* a rate limit reset further away is bogus */
#define POLL_MS         50                      /* how often a transfer looks at close() */
#define SPOOL_RESCAN    5.0                     /* seconds between looks for others' files */

enum { CODEC_IDENTITY = -1 };
enum { OUT_DELIVERED, OUT_PARTIAL, OUT_REJECTED, OUT_TOO_LARGE, OUT_SPLIT,
       OUT_EXHAUSTED, OUT_SHUTDOWN };

typedef struct batch {
    struct batch *next;
    axiom_buf raw;              /* NDJSON lines */
    axiom_buf wire;             /* compressed once, resent whole */
    int wired;
    size_t events;
    uint64_t seq, span;         /* order key; a split's halves share [seq, seq + span) */
    double started;             /* monotonic time of the first attempt, 0 before */
    int urgent;                 /* a split half: goes before spool files */
    int ambiguous;              /* an earlier attempt may have been stored */
} batch;

typedef struct counters {
    uint64_t enqueued, sent, failed, retries, batches, requests, bytes_raw, bytes_sent;
    uint64_t drop_overflow, drop_retry, drop_rejected, drop_encode, drop_shutdown;
    uint64_t spooled, replayed, duplicates, reports_lost;
} counters;

typedef struct report {
    struct report *next;
    const char *reason;         /* static strings */
    const char *kind;
    long status;
    uint64_t events;
    char message[MSG_MAX];
    char trace[80];
    char *body;                 /* ingest status of a partial success */
    size_t body_len;
} report;

typedef struct sender {
    pthread_mutex_t mu;
    pthread_cond_t wake;        /* to the thread: work, close, pressure */
    pthread_cond_t done;        /* to flush(): a batch finished */
    pthread_t thread;
    int started;                /* the thread runs, in process `pid` */
    pid_t pid;

    /* configuration: set before the thread starts, then read-only */
    char *url;
    struct curl_slist *headers;
    int codec, level;
    size_t max_events, max_bytes, max_buffer;
    double interval, max_retry, backoff_initial, backoff_max, close_timeout;
    int drop_newest, want_reports;
    char *spool_dir;
    axiom_http_opts http;

    /* the queue, under mu */
    batch *open;
    double open_since;
    batch *head, *tail;         /* sealed, oldest first */
    int sending;                /* head is in flight or between its retries */
    batch *replaying;           /* a spool batch in flight */
    uint64_t next_seq, sealed_seq;
    size_t queue_bytes, queue_events, next_cap;
    int closing;
    double deadline;
    axiom_spool_files files;    /* spool files waiting (owner only), sorted: n under mu */
    int owner, scanned;         /* this process replays the spool; it has looked */
    int spilling;               /* replay is failing: sealed batches go to disk */
    counters c;
    const char *err_kind;
    long err_status;
    char err_msg[MSG_MAX];
    report *rhead, *rtail;
    size_t nreports;

    /* the caller's thread only */
    axiom_buf scratch;

    /* the sender thread only */
    CURL *curl;
    CURLM *multi;
    axiom_http_io io;
    uint64_t rng;
    int lockfd;
    uint64_t serial;
    double next_scan, spool_wait, spool_retry_at;
    unsigned long long spool_epoch;
} sender;

typedef struct handle {
    sender *s;                  /* NULL once closed */
    counters final;             /* what stats() shows after close */
    const char *err_kind;
    long err_status;
    char err_msg[MSG_MAX];
    report *reports;            /* undrained when closed */
} handle;

/* ---- process id --------------------------------------------------------- */

/*
 * getpid() is a system call (glibc stopped caching it), too dear for every
 * add(). The pid is cached and a fork handler forgets it in the child.
 * glibc removes the handler if this library is unloaded.
 */
static volatile pid_t cached_pid;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void forget_pid(void)
{
    cached_pid = 0;
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, forget_pid);
}

static pid_t current_pid(void)
{
    pid_t p = cached_pid;

    if (p == 0)
        cached_pid = p = getpid();
    return p;
}

/* ---- time ------------------------------------------------------------ */

static double mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits on cv until monotonic time `until` (or a signal). */
static void wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, double until)
{
    struct timespec ts;
    double whole;

    if (until > 4e9)
        until = 4e9;
    whole = (double)(time_t)until;
    ts.tv_sec = (time_t)until;
    ts.tv_nsec = (long)((until - whole) * 1e9);
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_nsec = 999999999L;
    pthread_cond_timedwait(cv, mu, &ts);
}

static int init_sync(sender *s)
{
    pthread_condattr_t ca;
    int rc;

    if (pthread_mutex_init(&s->mu, NULL) != 0)
        return -1;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&s->wake, &ca) | pthread_cond_init(&s->done, &ca);
    pthread_condattr_destroy(&ca);
    return rc != 0 ? -1 : 0;
}

/* xorshift64*: jitter needs no cryptography, just no lockstep between processes. */
static double random01(sender *s)
{
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (double)((s->rng * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

/* ---- batches ---------------------------------------------------------- */

static void batch_free(batch *b)
{
    if (b == NULL)
        return;
    axiom_buf_free(&b->raw);
    axiom_buf_free(&b->wire);
    free(b);
}

static batch *batch_new(size_t cap)
{
    batch *b = (batch *)calloc(1, sizeof *b);

    if (b == NULL)
        return NULL;
    axiom_buf_init(&b->raw);
    axiom_buf_init(&b->wire);
    if (cap > 0 && axiom_buf_grow(&b->raw, cap) != 0) {
        free(b);
        return NULL;
    }
    return b;
}

static void free_list(batch *b)
{
    while (b != NULL) {
        batch *next = b->next;
        batch_free(b);
        b = next;
    }
}

/* Moves the open batch to the tail of the sealed queue. Under mu. */
static void seal(sender *s)
{
    batch *b = s->open;
    char *p;

    if (b == NULL || b->events == 0)
        return;
    s->open = NULL;
    /* Give back the slack of the doubling growth: queued memory is what counts. */
    if (b->raw.cap > b->raw.len + 4096 && (p = (char *)realloc(b->raw.data, b->raw.len)) != NULL) {
        b->raw.data = p;
        b->raw.cap = b->raw.len;
    }
    s->next_cap = b->raw.len + b->raw.len / 8;
    b->seq = s->next_seq;
    b->span = SPAN;
    s->next_seq += SPAN;
    s->sealed_seq = b->seq;
    if (s->tail != NULL)
        s->tail->next = b;
    else
        s->head = b;
    s->tail = b;
    pthread_cond_signal(&s->wake);
}

/* Unlinks the head. Under mu. */
static batch *pop_head(sender *s)
{
    batch *b = s->head;

    s->head = b->next;
    if (s->head == NULL)
        s->tail = NULL;
    b->next = NULL;
    s->queue_bytes -= b->raw.len;
    s->queue_events -= b->events;
    return b;
}

/* ---- errors and reports ---------------------------------------------- */

static void set_error(sender *s, const char *kind, long status, const char *msg)
{
    s->err_kind = kind;
    s->err_status = status;
    snprintf(s->err_msg, sizeof s->err_msg, "%s", msg);
}

/* Queues a report for on_error. Under mu. Merges runs of overflow drops. */
static report *add_report(sender *s, const char *reason, const char *kind, long status,
                          uint64_t events, const char *msg)
{
    report *r;

    if (!s->want_reports)
        return NULL;
    if (s->rtail != NULL && strcmp(reason, "overflow") == 0 &&
        strcmp(s->rtail->reason, "overflow") == 0) {
        s->rtail->events += events;
        return s->rtail;
    }
    if (s->nreports >= REPORTS_MAX) {       /* the oldest goes: the newest tells more */
        report *old = s->rhead;
        s->rhead = old->next;
        if (s->rhead == NULL)
            s->rtail = NULL;
        free(old->body);
        free(old);
        s->nreports--;
        s->c.reports_lost++;
    }
    if ((r = (report *)calloc(1, sizeof *r)) == NULL) {
        s->c.reports_lost++;
        return NULL;
    }
    r->reason = reason;
    r->kind = kind;
    r->status = status;
    r->events = events;
    snprintf(r->message, sizeof r->message, "%s", msg);
    if (s->rtail != NULL)
        s->rtail->next = r;
    else
        s->rhead = r;
    s->rtail = r;
    s->nreports++;
    return r;
}

static void free_reports(sender *s)
{
    report *r = s->rhead;

    while (r != NULL) {
        report *next = r->next;
        free(r->body);
        free(r);
        r = next;
    }
    s->rhead = s->rtail = NULL;
    s->nreports = 0;
}

/* ---- response helpers (sender thread) --------------------------------- */

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Copies the value of header `name` (lowercase) of the last response into out. */
static int find_header(const axiom_buf *head, const char *name, char *out, size_t n)
{
    const char *p = head->data, *end = p + head->len;
    size_t len = strlen(name);

    while (p != NULL && p < end) {
        const char *eol = (const char *)memchr(p, '\n', (size_t)(end - p));
        const char *next = eol != NULL ? eol + 1 : end, *v, *q;
        size_t i;

        if ((size_t)(next - p) > len && p[len] == ':') {
            for (i = 0; i < len && lower((unsigned char)p[i]) == name[i]; i++)
                ;
            if (i == len) {
                for (v = p + len + 1; v < next && (*v == ' ' || *v == '\t'); v++)
                    ;
                for (q = next; q > v && (q[-1] == '\r' || q[-1] == '\n' || q[-1] == ' '); q--)
                    ;
                snprintf(out, n, "%.*s", (int)(q - v), v);
                return 1;
            }
        }
        p = next;
    }
    return 0;
}

/* Seconds to wait before retrying a 429/430, or -1 when the answer does not say. */
static double limit_wait(const axiom_buf *head, long status)
{
    static const char *const order429[] = {"x-ratelimit-reset", "x-ingestlimit-reset"};
    static const char *const order430[] = {"x-ingestlimit-reset", "x-ratelimit-reset"};
    const char *const *order = status == 430 ? order430 : order429;
    char v[128], *end;
    double w, at;
    int i;

    if (find_header(head, "retry-after", v, sizeof v)) {
        w = strtod(v, &end);
        if (end != v && *end == '\0' && w >= 0)
            return w;
        at = (double)curl_getdate(v, NULL);
        if (at > 0)
            return at > wall_now() ? at - wall_now() : 0;
    }
    for (i = 0; i < 2; i++) {
        if (find_header(head, order[i], v, sizeof v)) {
            at = strtod(v, &end);
            if (end != v && *end == '\0' && at > 0)
                return at > wall_now() ? at - wall_now() : 0;
        }
    }
    return -1;
}

/* The readable part of an error body: its JSON "message", else the text; one line. */
static void body_message(const axiom_buf *body, long status, char *out, size_t n)
{
    const char *p = body->data, *end = p + body->len, *m;
    size_t i = 0;

    if (body->len == 0) {
        snprintf(out, n, "HTTP %ld", status);
        return;
    }
    m = NULL;
    for (; p + 10 < end; p++) {
        if (memcmp(p, "\"message\"", 9) == 0) {
            const char *q = p + 9;
            while (q < end && (*q == ' ' || *q == ':'))
                q++;
            if (q < end && *q == '"') {
                m = q + 1;
                break;
            }
        }
    }
    if (m != NULL) {
        for (; m < end && *m != '"' && i + 1 < n; m++)
            out[i++] = (unsigned char)*m < 0x20 ? ' ' : *m == '\\' && m + 1 < end ? *++m : *m;
    } else {
        for (p = body->data; p < end && i + 1 < n; p++)
            out[i++] = (unsigned char)*p < 0x20 ? ' ' : *p;
    }
    while (i > 0 && out[i - 1] == ' ')
        i--;
    out[i] = '\0';
}

/* Reads "key": N from an ingest status; -1 when absent. A quote cannot occur
 * unescaped inside a JSON string, so the match is a key. */
static long long status_number(const axiom_buf *body, const char *key)
{
    size_t len = strlen(key);
    const char *p = body->data, *end = p + body->len;

    for (; p != NULL && p + len + 2 < end; p++) {
        if (*p == '"' && memcmp(p + 1, key, len) == 0 && p[len + 1] == '"') {
            const char *q = p + len + 2;
            long long v = 0;
            while (q < end && (*q == ' ' || *q == ':'))
                q++;
            if (q >= end || *q < '0' || *q > '9')
                return -1;
            for (; q < end && *q >= '0' && *q <= '9'; q++)
                v = v * 10 + (*q - '0');
            return v;
        }
    }
    return -1;
}

/* Failures that happen before the request can have reached the server. */
static int surely_unsent(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
           rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_SSL_CONNECT_ERROR ||
           rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL;
}

/* ---- the spool (see spool.c) ------------------------------------------ */

/* Writes b to the spool with mu released (file I/O must not stall add()) and
 * counts it spooled; on failure reports why and returns 0. Under mu. */
static int spool_out(sender *s, const batch *b)
{
    char msg[MSG_MAX], *name;

    pthread_mutex_unlock(&s->mu);
    name = axiom_spool_write(s->spool_dir, s->spool_epoch, ++s->serial, b->seq, b->events,
                             b->ambiguous, &b->raw, msg, sizeof msg);
    if (name != NULL && !(s->owner && axiom_spool_files_insert(&s->files, name, &s->mu) == 0))
        free(name);
    pthread_mutex_lock(&s->mu);
    if (name == NULL) {
        set_error(s, "spool", 0, msg);
        add_report(s, "spool_failed", "spool", 0, b->events, msg);
        return 0;
    }
    s->c.spooled += b->events;
    return 1;
}

/* Reads a spool file into a new batch; NULL with msg when it is corrupt. */
static batch *spool_read(sender *s, const char *name, char *msg, size_t n)
{
    axiom_buf raw;
    size_t events;
    int ambiguous;
    batch *b;

    axiom_buf_init(&raw);
    if (axiom_spool_read(s->spool_dir, name, &raw, &events, &ambiguous, msg, n) != 0)
        return NULL;
    if ((b = batch_new(0)) == NULL) {
        axiom_buf_free(&raw);
        snprintf(msg, n, "out of memory");
        return NULL;
    }
    b->raw = raw;
    b->events = events;
    b->ambiguous = ambiguous;
    return b;
}

/* Takes the directory (one owner replays it) and lists its files. Thread only. */
static void spool_scan(sender *s)
{
    axiom_spool_files list, old;
    int owner = axiom_spool_scan(s->spool_dir, s->owner, &s->lockfd, &list);

    pthread_mutex_lock(&s->mu);
    old = s->files;
    s->files = list;
    s->owner = owner;
    s->scanned = 1;
    s->next_scan = mono_now() + SPOOL_RESCAN;
    pthread_cond_broadcast(&s->done);
    pthread_mutex_unlock(&s->mu);
    axiom_spool_files_free(&old);
}

/* ---- one transfer (sender thread, mu not held) ------------------------- */

static int aborting(sender *s)
{
    int r;

    pthread_mutex_lock(&s->mu);
    r = s->closing && mono_now() >= s->deadline;
    pthread_mutex_unlock(&s->mu);
    return r;
}

/* POSTs b's wire body. Returns a curl code; *status is the HTTP status. */
static CURLcode transfer(sender *s, batch *b, long *status, int *aborted)
{
    CURLcode rc;
    CURLMsg *m;
    int running = 1, left;

    *status = 0;
    *aborted = 0;
    if (s->curl == NULL && (s->curl = curl_easy_init()) == NULL)
        return CURLE_FAILED_INIT;
    if (s->multi == NULL && (s->multi = curl_multi_init()) == NULL)
        return CURLE_FAILED_INIT;
    curl_easy_reset(s->curl);
    axiom_http_io_reset(&s->io);
    rc = axiom_http_setup(s->curl, &s->http, &s->io, s->url, s->headers);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                              (curl_off_t)(s->codec == CODEC_IDENTITY ? b->raw.len : b->wire.len));
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS,
                              s->codec == CODEC_IDENTITY ? b->raw.data : b->wire.data);
    if (rc != CURLE_OK)
        return rc;
    if (curl_multi_add_handle(s->multi, s->curl) != CURLM_OK)
        return CURLE_FAILED_INIT;
    rc = CURLE_OK;
    while (running) {
        if (curl_multi_perform(s->multi, &running) != CURLM_OK) {
            rc = CURLE_FAILED_INIT;
            break;
        }
        if (!running)
            break;
        if (aborting(s)) {
            *aborted = 1;
            rc = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        curl_multi_poll(s->multi, NULL, 0, POLL_MS, NULL);
    }
    if (!*aborted && rc == CURLE_OK) {
        rc = CURLE_FAILED_INIT;
        while ((m = curl_multi_info_read(s->multi, &left)) != NULL)
            if (m->msg == CURLMSG_DONE && m->easy_handle == s->curl)
                rc = m->data.result;
    }
    curl_multi_remove_handle(s->multi, s->curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, status);
    return rc;
}

/* ---- delivery (sender thread, mu held on entry and exit) --------------- */

/* Splits b (two or more events) into halves by lines: b keeps the first. */
static batch *split(batch *b)
{
    size_t want = b->events / 2, seen = 0, cut = 0;
    const char *p = b->raw.data, *end = p + b->raw.len;
    batch *h;

    while (p < end && seen < want) {
        const char *nl = (const char *)memchr(p, '\n', (size_t)(end - p));
        p = nl != NULL ? nl + 1 : end;
        seen++;
    }
    cut = (size_t)(p - b->raw.data);
    if ((h = batch_new(b->raw.len - cut)) == NULL)
        return NULL;
    axiom_buf_append(&h->raw, b->raw.data + cut, b->raw.len - cut);
    h->events = b->events - seen;
    b->raw.len = cut;
    b->events = seen;
    h->span = b->span / 2 > 0 ? b->span / 2 : 1;
    b->span = h->span;
    h->seq = b->seq + h->span;
    h->ambiguous = b->ambiguous;
    h->urgent = b->urgent = 1;
    axiom_buf_free(&b->wire);
    b->wired = 0;
    b->started = 0;
    return h;
}

/* While waiting out a backoff: move the oldest memory batches (not the one
 * being sent) to disk when the queue passes half its cap, or all of them
 * while replaying the spool fails (they could only be sent after it). Under mu. */
static void relieve_pressure(sender *s)
{
    for (;;) {
        batch **link = s->sending && s->head != NULL ? &s->head->next : &s->head;
        batch *b = *link;

        if (s->spool_dir == NULL || b == NULL ||
            (s->queue_bytes <= s->max_buffer / 2 && !s->spilling))
            break;
        *link = b->next;
        if (s->tail == b)
            s->tail = link == &s->head ? NULL : s->head;
        b->next = NULL;
        s->queue_bytes -= b->raw.len;
        s->queue_events -= b->events;
        if (!spool_out(s, b))
            s->c.drop_overflow += b->events;
        batch_free(b);
        pthread_cond_broadcast(&s->done);
    }
}

/*
 * Sends b until it is delivered or given up; retries network errors, 5xx and
 * 408 with exponential backoff and full jitter, 429/430 after the announced
 * reset. `durable`: b is on disk, so it is never given up for time.
 */
static int deliver(sender *s, batch *b, int durable)
{
    char msg[MSG_MAX], err[MSG_MAX];
    double now, wait, left;
    long status;
    int aborted, attempt = 0;
    CURLcode rc;

    if (!b->wired && s->codec != CODEC_IDENTITY) {
        pthread_mutex_unlock(&s->mu);
        rc = axiom_compress((axiom_codec)s->codec, b->raw.data, b->raw.len, s->level,
                            &b->wire, err, sizeof err) == 0 ? CURLE_OK : CURLE_OUT_OF_MEMORY;
        pthread_mutex_lock(&s->mu);
        if (rc != CURLE_OK) {
            set_error(s, "encode", 0, err);
            add_report(s, "rejected", "encode", 0, b->events, err);
            s->c.drop_rejected += b->events;
            return OUT_REJECTED;
        }
    }
    b->wired = 1;
    if (b->started == 0)
        b->started = mono_now();
    for (;;) {
        if (s->closing && mono_now() >= s->deadline)
            return OUT_SHUTDOWN;
        pthread_mutex_unlock(&s->mu);
        rc = transfer(s, b, &status, &aborted);
        pthread_mutex_lock(&s->mu);
        if (aborted) {
            b->ambiguous = 1;
            return OUT_SHUTDOWN;
        }
        s->c.requests++;
        wait = -1;
        if (rc == CURLE_OK && status >= 200 && status < 300) {
            long long ingested = status_number(&s->io.body, "ingested");
            long long failed = status_number(&s->io.body, "failed");
            long long n = (long long)b->events;
            /* Every event lands in exactly one counter, whatever the
             * server's numbers add up to: what it did not store failed. */
            if (ingested < 0)
                ingested = failed >= 0 && failed <= n ? n - failed : n;
            if (ingested > n)
                ingested = n;
            failed = n - ingested;
            s->c.sent += (uint64_t)ingested;
            s->c.failed += (uint64_t)failed;
            s->c.batches++;
            s->c.bytes_raw += b->raw.len;
            s->c.bytes_sent += s->codec == CODEC_IDENTITY ? b->raw.len : b->wire.len;
            if (b->ambiguous)
                s->c.duplicates += b->events;
            if (durable)
                s->spilling = 0;
            if (failed > 0) {
                report *r;
                snprintf(msg, sizeof msg, "%lld of %zu events failed", failed, b->events);
                set_error(s, "http", status, msg);
                r = add_report(s, "partial", "http", status, (uint64_t)failed, msg);
                if (r != NULL && (r->body = (char *)malloc(s->io.body.len + 1)) != NULL) {
                    memcpy(r->body, s->io.body.data, s->io.body.len);
                    r->body_len = s->io.body.len;
                }
                return OUT_PARTIAL;
            }
            return OUT_DELIVERED;
        }
        if (rc == CURLE_OK) {
            body_message(&s->io.body, status, msg, sizeof msg);
            find_header(&s->io.head, "x-axiom-trace-id", err, sizeof err);
            if (status == 413) {
                set_error(s, "http", status, msg);
                if (b->events > 1)
                    return OUT_SPLIT;
                s->c.failed += b->events;
                add_report(s, "too_large", "http", status, b->events, msg);
                return OUT_TOO_LARGE;
            }
            if (status == 429 || status == 430) {
                set_error(s, status == 429 ? "rate_limited" : "quota", status, msg);
                wait = limit_wait(&s->io.head, status);
                if (wait > LIMIT_WAIT_MAX)
                    wait = LIMIT_WAIT_MAX;
            } else if (status < 500 && status != 408) {
                report *r;
                set_error(s, "http", status, msg);
                s->c.drop_rejected += b->events;
                r = add_report(s, "rejected", "http", status, b->events, msg);
                if (r != NULL && find_header(&s->io.head, "x-axiom-trace-id", err, sizeof err))
                    snprintf(r->trace, sizeof r->trace, "%.79s", err);
                return OUT_REJECTED;
            } else {
                set_error(s, "http", status, msg);
            }
        } else {
            const char *kind = axiom_http_failure(rc, &s->io, msg, sizeof msg);
            set_error(s, kind, 0, msg);
            if (!surely_unsent(rc))
                b->ambiguous = 1;
        }
        /* Retry: backoff with full jitter, or the server's reset time. */
        if (durable)
            s->spilling = 1;
        now = mono_now();
        left = s->max_retry - (now - b->started);
        if (!durable && left <= 0)
            return OUT_EXHAUSTED;
        if (wait < 0) {
            double cap = s->backoff_initial * (double)(1ULL << (attempt < 30 ? attempt : 30));
            if (cap > s->backoff_max)
                cap = s->backoff_max;
            wait = cap * random01(s);
        }
        attempt++;
        if (!durable && wait > left)
            wait = left;
        s->c.retries++;
        for (;;) {
            double until = now + wait;
            relieve_pressure(s);
            if (s->closing && s->deadline < until)
                until = s->deadline;
            if (mono_now() >= until)
                break;
            wait_until(&s->wake, &s->mu, until);
            if (s->closing && mono_now() >= s->deadline)
                return OUT_SHUTDOWN;
            if (mono_now() >= now + wait)
                break;
        }
    }
}

/* Writes a batch nobody will send to the spool, else counts it dropped. Under mu. */
static void give_up(sender *s, batch *b, const char *reason, uint64_t *dropped)
{
    if (s->spool_dir != NULL) {
        if (spool_out(s, b))
            return;
    } else {
        char msg[MSG_MAX];

        snprintf(msg, sizeof msg, "%s", s->err_msg[0] ? s->err_msg : reason);
        add_report(s, reason, s->err_kind ? s->err_kind : "network", s->err_status, b->events, msg);
    }
    *dropped += b->events;
}

/* Sends the memory head. Under mu. Returns 0, or 1 when closing ran out of time. */
static int send_head(sender *s)
{
    batch *b = s->head, *h;
    int out;

    s->sending = 1;             /* from here add() never drops b */
    out = deliver(s, b, 0);
    switch (out) {
    case OUT_SHUTDOWN:
        s->sending = 0;
        return 1;
    case OUT_SPLIT:
        if ((h = split(b)) == NULL) {
            set_error(s, "http", 413, "out of memory splitting a batch");
            s->c.failed += b->events;
            batch_free(pop_head(s));
        } else {
            h->next = b->next;
            b->next = h;
            if (s->tail == b)
                s->tail = h;
        }
        break;
    case OUT_EXHAUSTED:
        b = pop_head(s);
        give_up(s, b, "retry_exhausted", &s->c.drop_retry);
        batch_free(b);
        break;
    default:                    /* delivered, partial, rejected, too large */
        batch_free(pop_head(s));
        break;
    }
    s->sending = 0;
    pthread_cond_broadcast(&s->done);
    return 0;
}

/* Replays the oldest spool file. Under mu. Returns 1 when closing ran out of time. */
static int replay_one(sender *s)
{
    char msg[MSG_MAX], *name = s->files.names[0];
    batch *b, *h = NULL;
    int out;

    pthread_mutex_unlock(&s->mu);
    b = spool_read(s, name, msg, sizeof msg);
    if (b == NULL) {
        axiom_spool_unlink(s->spool_dir, name, ".bad");
        pthread_mutex_lock(&s->mu);
        axiom_spool_files_remove(&s->files, name);
        set_error(s, "spool", 0, msg);
        add_report(s, "spool_corrupt", "spool", 0, 0, msg);
        pthread_cond_broadcast(&s->done);
        return 0;
    }
    pthread_mutex_lock(&s->mu);
    s->replaying = b;
    s->c.replayed += b->events;
    out = deliver(s, b, 1);
    s->replaying = NULL;
    if (out == OUT_SHUTDOWN) {  /* the file stays for the next process */
        s->c.replayed -= b->events;
        batch_free(b);
        return 1;
    }
    if (out == OUT_SPLIT) {
        /* The halves go on from memory, ahead of everything else. */
        if ((h = split(b)) != NULL) {
            s->queue_bytes += b->raw.len + h->raw.len;
            s->queue_events += b->events + h->events;
            b->seq = h->seq = 0;
            h->next = s->head;
            b->next = h;
            s->head = b;
            if (s->tail == NULL)
                s->tail = h;
        } else {
            s->c.failed += b->events;
        }
    }
    if (h == NULL)
        batch_free(b);
    pthread_mutex_unlock(&s->mu);
    axiom_spool_unlink(s->spool_dir, name, NULL);
    pthread_mutex_lock(&s->mu);
    axiom_spool_files_remove(&s->files, name);
    pthread_cond_broadcast(&s->done);
    return 0;
}

/* close()'s deadline passed: what is left goes to the spool or is dropped. */
static void shutdown_queue(sender *s)
{
    batch *b;

    seal(s);
    while (s->head != NULL) {
        b = pop_head(s);
        give_up(s, b, "shutdown", &s->c.drop_shutdown);
        batch_free(b);
    }
    pthread_cond_broadcast(&s->done);
}

static void *run(void *arg)
{
    sender *s = (sender *)arg;
    double now, until;

    if (s->spool_dir != NULL)
        spool_scan(s);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        now = mono_now();
        if (s->closing) {
            seal(s);
            if (now >= s->deadline || (s->head == NULL && s->open == NULL))
                break;
        }
        if (s->open != NULL && s->open->events > 0 && now - s->open_since >= s->interval)
            seal(s);
        if (s->head != NULL && s->head->urgent) {
            if (send_head(s))
                break;
            continue;
        }
        if (s->owner && s->files.n > 0 && !s->closing) {
            if (replay_one(s))
                break;
            continue;
        }
        if (s->head != NULL) {
            if (send_head(s))
                break;
            continue;
        }
        if (s->spool_dir != NULL && !s->closing && now >= s->next_scan) {
            pthread_mutex_unlock(&s->mu);
            spool_scan(s);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        until = now + 3600;
        if (s->open != NULL && s->open->events > 0)
            until = s->open_since + s->interval;
        if (s->spool_dir != NULL && s->next_scan < until)
            until = s->next_scan;
        if (s->closing && s->deadline < until)
            until = s->deadline;
        wait_until(&s->wake, &s->mu, until);
    }
    shutdown_queue(s);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- lifetime (caller's thread) ---------------------------------------- */

static void release_config(sender *s)
{
    free(s->url);
    curl_slist_free_all(s->headers);
    free(s->spool_dir);
    axiom_http_opts_free(&s->http);
    s->url = NULL;
    s->headers = NULL;
    s->spool_dir = NULL;
}

/* Frees what the queue holds. */
static void release_queue(sender *s)
{
    batch_free(s->open);
    free_list(s->head);
    s->open = s->head = s->tail = NULL;
    s->queue_bytes = s->queue_events = 0;
    free_reports(s);
}

/*
 * After fork(): the child inherits a copy of the state, maybe with the mutex
 * held by a thread that does not exist here. The queue belongs to the parent,
 * which still delivers it; the child starts empty with its own thread. The
 * parent's curl handles are left alone (a transfer may have been half done at
 * fork time); only their socket is pointed at /dev/null, so the child neither
 * writes into the parent's connection nor keeps it open.
 */
static void after_fork(sender *s)
{
    s->pid = current_pid();
    init_sync(s);
    if (s->curl != NULL)
        axiom_http_disown(s->curl);
    s->curl = NULL;
    s->multi = NULL;
    axiom_buf_init(&s->io.body);        /* the parent's bytes: let them be */
    axiom_buf_init(&s->io.head);
    release_queue(s);
    s->replaying = NULL;
    memset(&s->c, 0, sizeof s->c);
    s->err_kind = NULL;
    s->err_msg[0] = '\0';
    s->sending = 0;
    s->started = 0;
    s->closing = 0;
    axiom_spool_files_free(&s->files);
    if (s->lockfd >= 0)
        close(s->lockfd);   /* record locks are not inherited: the parent keeps its own */
    s->lockfd = -1;
    s->owner = 0;
    s->scanned = 0;
}

static void check_fork(sender *s)
{
    if (s->pid != current_pid())
        after_fork(s);
}

/* Starts the thread in this process, signals blocked in it. Under mu. */
static int start(sender *s)
{
    sigset_t all, old;
    int rc;

    if (s->started)
        return 0;
    s->rng ^= (uint64_t)getpid() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(wall_now() * 1e6);
    if (s->rng == 0)
        s->rng = 88172645463325252ULL;
    s->spool_epoch = (unsigned long long)(wall_now() * 1e6);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&s->thread, NULL, run, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        set_error(s, "network", 0, "cannot start the sender thread");
        return -1;
    }
    s->started = 1;
    return 0;
}

/* Drains until `timeout` seconds pass, stops the thread, frees everything
 * but the counters. The one path for close, __gc and __close. */
static void shut(lua_State *L, handle *h, double timeout)
{
    sender *s = h->s;

    (void)L;
    if (s == NULL)
        return;
    h->s = NULL;
    check_fork(s);
    pthread_mutex_lock(&s->mu);
    if (s->started) {
        s->closing = 1;
        s->deadline = mono_now() + timeout;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
        pthread_mutex_lock(&s->mu);
    } else if (s->open != NULL && s->open->events > 0) {
        /* Nothing ever ran here: cannot happen, add() starts the thread. */
        s->c.drop_shutdown += s->open->events;
    }
    h->final = s->c;
    h->err_kind = s->err_kind;
    h->err_status = s->err_status;
    memcpy(h->err_msg, s->err_msg, sizeof h->err_msg);
    h->reports = s->rhead;      /* close() still hands them to on_error */
    s->rhead = s->rtail = NULL;
    s->nreports = 0;
    pthread_mutex_unlock(&s->mu);

    release_queue(s);
    batch_free(s->replaying);
    if (s->multi != NULL)
        curl_multi_cleanup(s->multi);
    if (s->curl != NULL)
        curl_easy_cleanup(s->curl);
    axiom_buf_free(&s->io.body);
    axiom_buf_free(&s->io.head);
    axiom_buf_free(&s->scratch);
    axiom_spool_files_free(&s->files);
    if (s->lockfd >= 0)
        close(s->lockfd);
    release_config(s);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->done);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- Lua API ----------------------------------------------------------- */

static handle *check_handle(lua_State *L)
{
    return (handle *)luaL_checkudata(L, 1, AXIOM_SENDER_MT);
}

static sender *check_open(lua_State *L)
{
    handle *h = check_handle(L);

    if (h->s == NULL)
        luaL_error(L, "axiom.sender: sender is closed");
    check_fork(h->s);
    return h->s;
}

static double field_number(lua_State *L, const char *name, double def, double lo, double hi)
{
    double v = def;

    lua_getfield(L, 1, name);
    if (!lua_isnil(L, -1)) {
        v = lua_type(L, -1) == LUA_TNUMBER ? (double)lua_tonumber(L, -1) : lo - 1;
        if (!(v >= lo && v <= hi))
            luaL_argerror(L, 1, lua_pushfstring(L, "'%s' must be a number in [%f, %f]", name, lo, hi));
    }
    lua_pop(L, 1);
    return v;
}

static char *field_string(lua_State *L, const char *name, int required)
{
    size_t n;
    const char *v;
    char *r;

    lua_getfield(L, 1, name);
    if (lua_isnil(L, -1) && !required) {
        lua_pop(L, 1);
        return NULL;
    }
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_argerror(L, 1, lua_pushfstring(L, "'%s' must be a string", name));
    v = lua_tolstring(L, -1, &n);
    if (strlen(v) != n)
        luaL_argerror(L, 1, lua_pushfstring(L, "'%s' contains a NUL byte", name));
    if ((r = strdup(v)) == NULL)
        luaL_error(L, "not enough memory");
    lua_pop(L, 1);
    return r;
}

static void add_header(lua_State *L, sender *s, const char *v)
{
    struct curl_slist *l = curl_slist_append(s->headers, v);

    if (l == NULL)
        luaL_error(L, "not enough memory");
    s->headers = l;
}

/* core.sender(cfg) -> sender. cfg: url, headers (array of "Name: value"),
 * encoding, level, max_events, max_bytes, interval, max_buffer_bytes,
 * overflow, max_retry_time, retry_initial, retry_max, close_timeout,
 * spool_dir, reports, and the transport options of core.http. */
static int l_sender(lua_State *L)
{
    static const char *const codecs[] = {"gzip", "zstd", "identity", NULL};
    handle *h;
    sender *s;
    size_t i, n;
    char *enc;
    int c;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    h = (handle *)axiom_newuserdata(L, sizeof *h);
    memset(h, 0, sizeof *h);
    axiom_setmetatable(L, AXIOM_SENDER_MT);
    if ((s = (sender *)calloc(1, sizeof *s)) == NULL)
        return luaL_error(L, "not enough memory");
    s->lockfd = -1;
    axiom_buf_init(&s->scratch);
    axiom_buf_init(&s->io.body);
    axiom_buf_init(&s->io.head);
    axiom_http_opts_init(&s->http);
    if (init_sync(s) != 0) {
        free(s);
        return luaL_error(L, "axiom.sender: cannot create a mutex");
    }
    pthread_once(&atfork_once, register_atfork);
    s->pid = current_pid();
    h->s = s;                   /* from here on __gc frees what s owns */

    s->url = field_string(L, "url", 1);
    lua_getfield(L, 1, "headers");
    if (!lua_isnil(L, -1)) {
        luaL_argcheck(L, lua_istable(L, -1), 1, "'headers' must be an array of strings");
        n = axiom_rawlen(L, -1);
        for (i = 1; i <= n; i++) {
            axiom_rawgeti(L, -1, i);
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_argerror(L, 1, "'headers' must be an array of strings");
            add_header(L, s, lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    add_header(L, s, "Expect:");
    enc = field_string(L, "encoding", 0);
    for (c = 0; enc != NULL && codecs[c] != NULL && strcmp(codecs[c], enc) != 0; c++)
        ;
    if (enc != NULL && codecs[c] == NULL) {
        free(enc);
        return luaL_argerror(L, 1, "'encoding' must be gzip, zstd or identity");
    }
    s->codec = enc == NULL || c == 1 ? AXIOM_ZSTD : c == 0 ? AXIOM_GZIP : CODEC_IDENTITY;
    free(enc);
    s->level = (int)field_number(L, "level", s->codec == AXIOM_GZIP ? 6 : 1, -5, 19);
    s->max_events = (size_t)field_number(L, "max_events", 1000, 1, 10000);
    s->max_bytes = (size_t)field_number(L, "max_bytes", 1048576, 1, 1e12);
    s->max_buffer = (size_t)field_number(L, "max_buffer_bytes", 64.0 * 1048576, 1, 1e15);
    s->interval = field_number(L, "interval", 1.0, 0.001, 86400);
    s->max_retry = field_number(L, "max_retry_time", 60, 0, 1e9);
    s->backoff_initial = field_number(L, "retry_initial", 0.2, 0.001, 3600);
    s->backoff_max = field_number(L, "retry_max", 10, 0.001, 86400);
    s->close_timeout = field_number(L, "close_timeout", 5, 0, 86400);
    lua_getfield(L, 1, "overflow");
    s->drop_newest = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "drop_newest") == 0;
    lua_pop(L, 1);
    lua_getfield(L, 1, "reports");
    s->want_reports = lua_toboolean(L, -1);
    lua_pop(L, 1);
    s->spool_dir = field_string(L, "spool_dir", 0);
    axiom_http_opts_read(L, 1, &s->http);
    s->io.max_response = RESPONSE_MAX;
    s->io.truncate = 1;
    s->next_seq = SPAN;
    s->rng = (uint64_t)(uintptr_t)s;
    return 1;
}

/* sender:add(event) -> true [, reports pending] | nil, kind, message */
static int l_add(lua_State *L)
{
    sender *s = check_open(L);
    char err[AXIOM_ENCODE_ERRLEN];
    size_t n;
    batch *b;
    int pending, dropped_new = 0;

    luaL_checktype(L, 2, LUA_TTABLE);
    s->scratch.len = 0;
    if (axiom_encode_event(L, 2, &s->scratch, AXIOM_ENCODE_DEPTH, err, sizeof err) != 0 ||
        axiom_buf_putc(&s->scratch, '\n') != 0) {
        if (s->scratch.len != 0)
            snprintf(err, sizeof err, "out of memory");
        pthread_mutex_lock(&s->mu);
        s->c.drop_encode++;
        pthread_mutex_unlock(&s->mu);
        lua_pushnil(L);
        lua_pushliteral(L, "encode");
        lua_pushstring(L, err);
        return 3;
    }
    n = s->scratch.len;

    pthread_mutex_lock(&s->mu);
    if (!s->started)
        start(s);
    s->c.enqueued++;
    /* Make room: drop the oldest queued batches (never the one in flight),
     * then the open batch; with drop_newest, this event. */
    while (s->queue_bytes + n > s->max_buffer) {
        if (!s->drop_newest) {
            batch *victim = NULL, **link = &s->head;
            if (s->sending && s->head != NULL)
                link = &s->head->next;
            if (*link != NULL) {
                victim = *link;
                *link = victim->next;
                if (s->tail == victim)
                    s->tail = link == &s->head ? NULL : s->head;
                s->queue_bytes -= victim->raw.len;
                s->queue_events -= victim->events;
            } else if (s->open != NULL && s->open->events > 0) {
                victim = s->open;
                s->open = NULL;
                s->queue_bytes -= victim->raw.len;
                s->queue_events -= victim->events;
            }
            if (victim != NULL) {
                s->c.drop_overflow += victim->events;
                set_error(s, "overflow", 0, "queue full (max_buffer_bytes): dropped the oldest events");
                add_report(s, "overflow", "overflow", 0, victim->events,
                           "queue full (max_buffer_bytes): dropped the oldest events");
                batch_free(victim);
                pthread_cond_broadcast(&s->done);
                continue;
            }
        }
        dropped_new = 1;
        break;
    }
    if (dropped_new) {
        s->c.drop_overflow++;
        set_error(s, "overflow", 0, "queue full (max_buffer_bytes): event dropped");
        pthread_mutex_unlock(&s->mu);
        lua_pushnil(L);
        lua_pushliteral(L, "overflow");
        lua_pushliteral(L, "queue full (max_buffer_bytes): event dropped");
        return 3;
    }
    b = s->open;
    if (b != NULL && b->events > 0 && b->raw.len + n > s->max_bytes) {
        seal(s);
        b = NULL;
    }
    if (b == NULL) {
        size_t cap = s->next_cap > n ? s->next_cap : n;
        if (cap > s->max_bytes)
            cap = s->max_bytes > n ? s->max_bytes : n;
        if ((b = batch_new(cap)) == NULL)
            goto oom;
        s->open = b;
    }
    if (axiom_buf_append(&b->raw, s->scratch.data, n) != 0)
        goto oom;
    if (b->events++ == 0) {
        s->open_since = mono_now();
        pthread_cond_signal(&s->wake);      /* the interval starts now */
    }
    s->queue_bytes += n;
    s->queue_events++;
    if (b->events >= s->max_events || b->raw.len >= s->max_bytes)
        seal(s);
    if (s->spool_dir != NULL && s->queue_bytes > s->max_buffer / 2)
        pthread_cond_signal(&s->wake);
    pending = s->rhead != NULL;
    pthread_mutex_unlock(&s->mu);
    lua_pushboolean(L, 1);
    if (!pending)
        return 1;
    lua_pushboolean(L, 1);
    return 2;
oom:
    s->c.enqueued--;
    s->c.drop_overflow++;
    pthread_mutex_unlock(&s->mu);
    lua_pushnil(L);
    lua_pushliteral(L, "overflow");
    lua_pushliteral(L, "out of memory: event dropped");
    return 3;
}

/* sender:flush([timeout]) -> true | false: seals the open batch and waits
 * until everything queued before the call is delivered or given up. */
static int l_flush(lua_State *L)
{
    sender *s = check_open(L);
    double timeout = luaL_optnumber(L, 2, 5), until;
    uint64_t target;
    int ok;

    luaL_argcheck(L, timeout >= 0, 2, "timeout must not be negative");
    pthread_mutex_lock(&s->mu);
    seal(s);
    target = s->sealed_seq + SPAN - 1;
    if (s->spool_dir != NULL && !s->started)
        start(s);               /* replays what an earlier process spooled */
    until = mono_now() + timeout;
    for (;;) {
        ok = (s->head == NULL || s->head->seq > target) && s->replaying == NULL &&
             (s->spool_dir == NULL || (s->scanned && (!s->owner || s->files.n == 0)));
        if (ok || mono_now() >= until || (!s->started && s->head != NULL))
            break;
        wait_until(&s->done, &s->mu, until);
    }
    pthread_mutex_unlock(&s->mu);
    lua_pushboolean(L, ok);
    return 1;
}

#define SET_INT(name, v) \
    (lua_pushinteger(L, (lua_Integer)(v)), lua_setfield(L, -2, name))

static void push_stats(lua_State *L, const counters *c, size_t qbytes, size_t qevents,
                       size_t inflight, const char *kind, long status, const char *msg,
                       size_t files)
{
    lua_createtable(L, 0, 24);
    SET_INT("enqueued", c->enqueued);
    SET_INT("sent", c->sent);
    SET_INT("failed", c->failed);
    SET_INT("retries", c->retries);
    SET_INT("batches", c->batches);
    SET_INT("requests", c->requests);
    SET_INT("bytes_raw", c->bytes_raw);
    SET_INT("bytes_sent", c->bytes_sent);
    SET_INT("queue_bytes", qbytes);
    SET_INT("queue_events", qevents);
    SET_INT("in_flight", inflight);
    SET_INT("spooled", c->spooled);
    SET_INT("replayed", c->replayed);
    SET_INT("spool_files", files);
    SET_INT("duplicates", c->duplicates);
    SET_INT("reports_lost", c->reports_lost);
    lua_createtable(L, 0, 6);
    SET_INT("overflow", c->drop_overflow);
    SET_INT("retry_exhausted", c->drop_retry);
    SET_INT("rejected", c->drop_rejected);
    SET_INT("encode", c->drop_encode);
    SET_INT("shutdown", c->drop_shutdown);
    SET_INT("total", c->drop_overflow + c->drop_retry + c->drop_rejected + c->drop_encode +
                     c->drop_shutdown);
    lua_setfield(L, -2, "dropped");
    if (kind != NULL) {
        lua_createtable(L, 0, 3);
        lua_pushstring(L, kind);
        lua_setfield(L, -2, "kind");
        if (status > 0)
            SET_INT("status", status);
        lua_pushstring(L, msg);
        lua_setfield(L, -2, "message");
        lua_setfield(L, -2, "last_error");
    }
}

/* sender:stats() -> table */
static int l_stats(lua_State *L)
{
    handle *h = check_handle(L);
    sender *s = h->s;
    counters c;
    size_t qb, qe, inflight, files;
    const char *kind;
    long status;
    char msg[MSG_MAX];

    if (s == NULL) {
        push_stats(L, &h->final, 0, 0, 0, h->err_kind, h->err_status, h->err_msg, 0);
        return 1;
    }
    check_fork(s);
    pthread_mutex_lock(&s->mu);
    c = s->c;
    qb = s->queue_bytes;
    qe = s->queue_events;
    inflight = s->replaying != NULL ? s->replaying->events
             : s->sending && s->head != NULL ? s->head->events : 0;
    kind = s->err_kind;
    status = s->err_status;
    memcpy(msg, s->err_msg, sizeof msg);
    files = s->files.n;
    pthread_mutex_unlock(&s->mu);
    push_stats(L, &c, qb, qe, inflight, kind, status, msg, files);
    return 1;
}

/* sender:reports() -> array of {reason, kind, status, events, message, trace_id, body} */
static int l_reports(lua_State *L)
{
    handle *h = check_handle(L);
    sender *s = h->s;
    report *r, *next;
    int i = 0;

    lua_newtable(L);
    if (s == NULL) {
        r = h->reports;
        h->reports = NULL;
    } else {
        check_fork(s);
        pthread_mutex_lock(&s->mu);
        r = s->rhead;
        s->rhead = s->rtail = NULL;
        s->nreports = 0;
        pthread_mutex_unlock(&s->mu);
    }
    /* Built outside the lock: a raise here (memory) leaks at most these. */
    for (; r != NULL; r = next) {
        next = r->next;
        lua_createtable(L, 0, 7);
        lua_pushstring(L, r->reason);
        lua_setfield(L, -2, "reason");
        lua_pushstring(L, r->kind);
        lua_setfield(L, -2, "kind");
        if (r->status > 0)
            SET_INT("status", r->status);
        SET_INT("events", r->events);
        lua_pushstring(L, r->message);
        lua_setfield(L, -2, "message");
        if (r->trace[0] != '\0') {
            lua_pushstring(L, r->trace);
            lua_setfield(L, -2, "trace_id");
        }
        if (r->body != NULL) {
            lua_pushlstring(L, r->body, r->body_len);
            lua_setfield(L, -2, "body");
        }
        lua_rawseti(L, -2, ++i);
        free(r->body);
        free(r);
    }
    return 1;
}

/* sender:close([timeout]) -> true; also __gc and __close (default timeout). */
static int l_close(lua_State *L)
{
    handle *h = check_handle(L);
    double timeout = h->s != NULL ? h->s->close_timeout : 0;

    if (lua_type(L, 2) == LUA_TNUMBER)
        timeout = (double)lua_tonumber(L, 2);
    luaL_argcheck(L, timeout >= 0, 2, "timeout must not be negative");
    shut(L, h, timeout);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_gc(lua_State *L)
{
    handle *h = check_handle(L);
    report *r, *next;

    shut(L, h, h->s != NULL ? h->s->close_timeout : 0);
    for (r = h->reports; r != NULL; r = next) {
        next = r->next;
        free(r->body);
        free(r);
    }
    h->reports = NULL;
    return 0;
}

static int l_tostring(lua_State *L)
{
    handle *h = check_handle(L);

    lua_pushfstring(L, AXIOM_SENDER_MT ": %p (%s)", (void *)h, h->s != NULL ? "open" : "closed");
    return 1;
}

void axiom_open_sender(lua_State *L)
{
    static const luaL_Reg meta[] = {
        {"__gc", l_gc},
        {"__close", l_gc},
        {"__tostring", l_tostring},
        {NULL, NULL}
    };
    static const luaL_Reg methods[] = {
        {"add", l_add},
        {"flush", l_flush},
        {"stats", l_stats},
        {"reports", l_reports},
        {"close", l_close},
        {NULL, NULL}
    };

    axiom_newclass(L, AXIOM_SENDER_MT, meta, methods);
    lua_pushcfunction(L, l_sender);
    lua_setfield(L, -2, "sender");
}
