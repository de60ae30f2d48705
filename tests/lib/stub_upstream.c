/* SPDX-License-Identifier: MIT */
/*
 * stub_upstream: a fault-injecting fake symbol store on libmicrohttpd.
 *
 * DESIGN: each path has an entry (created on first mention, by a test or by a
 * request) holding its body, its queue of faults, a sticky status and a hit
 * counter.  The first call of the access handler counts the request and
 * decides, under the stub's lock, what the request gets (a "plan"): that is
 * where a fault is consumed, so faults are handed out in request order even
 * under concurrency.  The second call queues the response (queueing on the
 * first call makes MHD answer "Connection: close", which would defeat the
 * keep-alive counting).  Bodies are reference-counted and streamed through
 * MHD_create_response_from_callback, so a body replaced by a test stays valid
 * for the responses still sending it, generated bodies are computed while
 * sending, and truncation, resets and pacing happen in the reader callback.
 *
 * A reset must reach the client as a TCP RST, not a FIN: MHD shuts down the
 * write side before closing, so the reader disconnects the socket itself
 * with connect(AF_UNSPEC), which makes Linux send a RST (tcp_disconnect).
 *
 * THREADING: MHD runs one thread per connection (so a delayed or slow
 * response blocks only its own client); the entry list, the hit counters and
 * the last-request strings are protected by stub->lock.
 */
#include "symsrvd_config.h"

#include "stub_upstream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "stub_body.h"
#include "xalloc.h"

#define STUB_BLOCK_SIZE    ((size_t)64 * 1024)
#define STUB_STOP_GRACE_MS 10000
#define STUB_REDIRECT_DIR  "/redirected"
/* SLOW sends this many chunks per second. */
#define STUB_SLOW_CHUNKS_PER_S 20

struct stub_fault_item {
    enum stub_fault_kind kind;
    uint64_t arg;
};

struct stub_entry {
    struct stub_entry *next;
    char *path;
    struct stub_body *body; /* NULL: 404 */
    struct stub_fault_item *faults;
    size_t fault_head, fault_count, fault_cap;
    char *etag, *modified;  /* validators sent with the body (NULL: none) */
    unsigned always_status; /* 0: none */
    char *always_location;  /* NULL: none */
    unsigned hits, gets, heads;
};

struct stub {
    struct MHD_Daemon *mhd; /* immutable after start */
    unsigned port;          /* immutable after start */
    char url[40];           /* immutable after start */
    pthread_mutex_t lock;
    pthread_cond_t hit;         /* broadcast on every request, with lock */
    pthread_cond_t barrier;     /* broadcast when a BARRIER party is met */
    unsigned barrier_held;      /* BARRIER requests waiting, under lock */
    unsigned barrier_gen;       /* parties met so far, under lock */
    unsigned barrier_missed;    /* waited in vain, under lock */
    atomic_uint barrier_ms;     /* how long a BARRIER waits */
    struct stub_entry *entries; /* protected by lock */
    unsigned total_hits;        /* protected by lock */
    char *last_headers;         /* "Name: value\n"..., protected by lock */
    char last_path[1024];       /* protected by lock */
    stub_gate_fn gate;          /* protected by lock */
    void *gate_arg;             /* protected by lock */
    atomic_uint connections;
    atomic_int in_flight; /* requests between first call and completion */
    atomic_bool stopping; /* cuts sleeps short once the grace period ends */
    atomic_bool keep_query; /* request paths include the query */
    atomic_bool accept_post; /* POST is answered as GET, bodies kept */
    char *last_body;         /* protected by lock */
};

/* What one request gets, decided when it arrives. */
struct stub_request {
    unsigned status; /* nonzero: answer this status (sticky/fault) */
    bool has_fault;
    struct stub_fault_item fault;
    struct stub_body *body; /* a reference, or NULL for 404 */
    char *path;             /* for redirects */
    char *location;         /* a sticky redirect's target, or NULL */
    char *etag, *modified;  /* the entry's validators then (NULL: none) */
    int64_t range_from;     /* the body from this byte with 206 (-1: 200) */
    char *upload;           /* the body received (accept_post), or NULL */
    size_t upload_len;
};

/* A body being sent to one client, owned by its MHD response. */
struct stub_stream {
    struct stub *s;
    struct stub_body *body; /* a reference */
    enum stub_fault_kind mode;
    uint64_t from; /* first byte of the body sent (a 206's start) */
    bool plain;   /* no fault shapes the body */
    uint64_t arg; /* TRUNCATE/RESET: bytes to send; SLOW: bytes/s */
    int fd;       /* the connection's socket, for RESET */
    struct timespec start;
};

/* ---- entries (all called with s->lock held) ---- */

static struct stub_entry *stub_entry_find(struct stub *s, const char *path)
{
    for (struct stub_entry *e = s->entries; e != NULL; e = e->next)
        if (strcmp(e->path, path) == 0)
            return e;
    return NULL;
}

static struct stub_entry *stub_entry_get(struct stub *s, const char *path)
{
    struct stub_entry *e = stub_entry_find(s, path);

    if (e == NULL) {
        e = xcalloc(1, sizeof(*e));
        e->path = xstrdup(path);
        e->next = s->entries;
        s->entries = e;
    }
    return e;
}

static void stub_entry_free(struct stub_entry *e)
{
    stub_body_unref(e->body);
    free(e->faults);
    free(e->always_location);
    free(e->etag);
    free(e->modified);
    free(e->path);
    free(e);
}

static void stub_set_body(struct stub *s, const char *path,
                          struct stub_body *body)
{
    struct stub_entry *e;
    struct stub_body *old;

    pthread_mutex_lock(&s->lock);
    e = stub_entry_get(s, path);
    old = e->body;
    e->body = body;
    pthread_mutex_unlock(&s->lock);
    stub_body_unref(old);
}

/* The body a request for PATH gets: its own, or under /redirected/ the body
 * of the path the redirect came from. */
static struct stub_body *stub_body_for(struct stub *s, struct stub_entry *e)
{
    const char *orig;
    struct stub_entry *o;

    if (e->body != NULL)
        return stub_body_ref(e->body);
    if (strncmp(e->path, STUB_REDIRECT_DIR "/", sizeof(STUB_REDIRECT_DIR)) != 0)
        return NULL;
    orig = e->path + sizeof(STUB_REDIRECT_DIR) - 1;
    o = stub_entry_find(s, orig);
    return o != NULL ? stub_body_ref(o->body) : NULL;
}

/* ---- public setup API ---- */

void stub_add(struct stub *s, const char *path, const void *body, size_t len)
{
    unsigned char *copy = xmalloc(len);

    memcpy(copy, body, len);
    stub_set_body(s, path, stub_body_new(len, copy, 0));
}

void stub_add_file(struct stub *s, const char *path, const char *file)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    unsigned char *buf;
    size_t got = 0;

    if (fd < 0 || fstat(fd, &st) != 0)
        stub_die("%s: %s", file, strerror(errno));
    buf = xmalloc((size_t)st.st_size);
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

        if (n <= 0)
            stub_die("%s: %s", file,
                     n == 0 ? "shrank while read" : strerror(errno));
        got += (size_t)n;
    }
    close(fd);
    stub_set_body(s, path, stub_body_new(got, buf, 0));
}

void stub_add_generated(struct stub *s, const char *path, uint64_t len,
                        uint32_t seed)
{
    stub_set_body(s, path, stub_body_new(len, NULL, seed));
}

static void stub_replace_str(char **slot, const char *v)
{
    free(*slot);
    *slot = v != NULL ? xstrdup(v) : NULL;
}

void stub_set_validators(struct stub *s, const char *path, const char *etag,
                         const char *last_modified)
{
    struct stub_entry *e;

    pthread_mutex_lock(&s->lock);
    e = stub_entry_get(s, path);
    stub_replace_str(&e->etag, etag);
    stub_replace_str(&e->modified, last_modified);
    pthread_mutex_unlock(&s->lock);
}

void stub_fault(struct stub *s, const char *path, enum stub_fault_kind kind,
                uint64_t arg)
{
    struct stub_entry *e;

    pthread_mutex_lock(&s->lock);
    e = stub_entry_get(s, path);
    if (e->fault_head + e->fault_count == e->fault_cap) {
        e->fault_cap = e->fault_cap ? 2 * e->fault_cap : 8;
        e->faults = xreallocarray(e->faults, e->fault_cap, sizeof(*e->faults));
    }
    e->faults[e->fault_head + e->fault_count].kind = kind;
    e->faults[e->fault_head + e->fault_count].arg = arg;
    e->fault_count++;
    pthread_mutex_unlock(&s->lock);
}

void stub_fault_always(struct stub *s, const char *path, unsigned status)
{
    pthread_mutex_lock(&s->lock);
    stub_entry_get(s, path)->always_status = status;
    pthread_mutex_unlock(&s->lock);
}

void stub_set_barrier_ms(struct stub *s, unsigned ms)
{
    atomic_store(&s->barrier_ms, ms);
}

unsigned stub_barrier_missed(struct stub *s)
{
    unsigned n;

    pthread_mutex_lock(&s->lock);
    n = s->barrier_missed;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void stub_redirect_always(struct stub *s, const char *path, const char *url)
{
    struct stub_entry *e;

    pthread_mutex_lock(&s->lock);
    e = stub_entry_get(s, path);
    free(e->always_location);
    e->always_location = url != NULL ? xstrdup(url) : NULL;
    pthread_mutex_unlock(&s->lock);
}

/* ---- counters ---- */

void stub_set_gate(struct stub *s, stub_gate_fn gate, void *arg)
{
    pthread_mutex_lock(&s->lock);
    s->gate = gate;
    s->gate_arg = arg;
    pthread_mutex_unlock(&s->lock);
}

unsigned stub_hits(struct stub *s, const char *path)
{
    struct stub_entry *e;
    unsigned hits;

    pthread_mutex_lock(&s->lock);
    e = stub_entry_find(s, path);
    hits = e != NULL ? e->hits : 0;
    pthread_mutex_unlock(&s->lock);
    return hits;
}

unsigned stub_hits_method(struct stub *s, const char *path, const char *method)
{
    struct stub_entry *e;
    unsigned hits = 0;

    pthread_mutex_lock(&s->lock);
    e = stub_entry_find(s, path);
    if (e != NULL && strcmp(method, "GET") == 0)
        hits = e->gets;
    else if (e != NULL && strcmp(method, "HEAD") == 0)
        hits = e->heads;
    else if (e != NULL)
        hits = e->hits - e->gets - e->heads;
    pthread_mutex_unlock(&s->lock);
    return hits;
}

/* CLOCK_MONOTONIC's now plus MS, for pthread_cond_timedwait(). */
static struct timespec stub_deadline(unsigned ms)
{
    struct timespec deadline;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    return deadline;
}

bool stub_wait_hits(struct stub *s, const char *path, unsigned n,
                    unsigned timeout_ms)
{
    struct timespec deadline = stub_deadline(timeout_ms);
    struct stub_entry *e;
    bool reached;
    int rc = 0;

    pthread_mutex_lock(&s->lock);
    while (
        !(reached = (e = stub_entry_find(s, path)) != NULL && e->hits >= n) &&
        rc == 0)
        rc = pthread_cond_timedwait(&s->hit, &s->lock, &deadline);
    pthread_mutex_unlock(&s->lock);
    return reached;
}

unsigned stub_total_hits(struct stub *s)
{
    unsigned hits;

    pthread_mutex_lock(&s->lock);
    hits = s->total_hits;
    pthread_mutex_unlock(&s->lock);
    return hits;
}

/* Copy the value of NAME's line in BLOCK into BUF; false when absent. */
static bool stub_find_header(const char *block, const char *name, char *buf,
                             size_t len)
{
    size_t nlen = strlen(name);

    for (const char *line = block; line != NULL && *line != '\0';) {
        const char *eol = strchr(line, '\n');

        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            int vlen = (int)(eol - line - (ptrdiff_t)nlen - 2);

            snprintf(buf, len, "%.*s", vlen, line + nlen + 2);
            return true;
        }
        line = eol + 1; /* stub_header_line() ends every line */
    }
    return false;
}

bool stub_last_header(struct stub *s, const char *name, char *buf, size_t len)
{
    bool found;

    pthread_mutex_lock(&s->lock);
    found = stub_find_header(s->last_headers, name, buf, len);
    pthread_mutex_unlock(&s->lock);
    if (!found && len > 0)
        buf[0] = '\0';
    return found;
}

void stub_last_user_agent(struct stub *s, char *buf, size_t len)
{
    stub_last_header(s, "User-Agent", buf, len);
}

void stub_last_path(struct stub *s, char *buf, size_t len)
{
    if (len == 0)
        return;
    pthread_mutex_lock(&s->lock);
    snprintf(buf, len, "%s", s->last_path);
    pthread_mutex_unlock(&s->lock);
}

unsigned stub_connections(struct stub *s)
{
    return atomic_load(&s->connections);
}

unsigned stub_port(const struct stub *s)
{
    return s->port;
}

const char *stub_url(const struct stub *s)
{
    return s->url;
}

/* ---- serving ---- */

/* Sleep MS milliseconds.  Returns false early when the stub is being torn
 * down or the client on socket FD (if not -1) has hung up, so a client that
 * timed out does not keep a long DELAY or SLOW response (and stub_stop())
 * waiting. */
static bool stub_sleep_ms(struct stub *s, int fd, uint64_t ms)
{
    while (ms > 0) {
        uint64_t step = ms < 20 ? ms : 20;
        struct pollfd p = {.fd = fd, .events = POLLRDHUP};
        struct timespec ts = {0, (long)step * 1000000L};

        if (atomic_load(&s->stopping))
            return false;
        if (fd < 0)
            nanosleep(&ts, NULL);
        else if (poll(&p, 1, (int)step) > 0 &&
                 (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0)
            return false;
        ms -= step;
    }
    return true;
}

/* Wait, as one of a BARRIER party of N, until N are held at once: true,
 * or false after barrier_ms or when the stub is stopping. */
static bool stub_barrier_wait(struct stub *s, unsigned n)
{
    unsigned gen, waited = 0, limit = atomic_load(&s->barrier_ms);
    bool met;

    pthread_mutex_lock(&s->lock);
    gen = s->barrier_gen;
    if (++s->barrier_held >= n) {
        s->barrier_held = 0;
        s->barrier_gen++;
        pthread_cond_broadcast(&s->barrier);
    }
    /* in slices, so that stub_stop() is not kept waiting */
    for (; s->barrier_gen == gen && waited < limit &&
           !atomic_load(&s->stopping);
         waited += 50) {
        struct timespec slice = stub_deadline(50);

        pthread_cond_timedwait(&s->barrier, &s->lock, &slice);
    }
    met = s->barrier_gen != gen;
    if (!met) {
        s->barrier_held--;
        s->barrier_missed++;
    }
    pthread_mutex_unlock(&s->lock);
    return met;
}

static uint64_t stub_elapsed_ns(const struct timespec *since)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)(now.tv_sec - since->tv_sec) * 1000000000u +
           (uint64_t)now.tv_nsec - (uint64_t)since->tv_nsec;
}

/* Wait until byte POS is due at the stream's rate; returns the chunk size
 * to send now (at most N), or 0 when the wait was cut short. */
static size_t stub_pace(struct stub_stream *st, uint64_t pos, size_t n)
{
    uint64_t rate = st->arg ? st->arg : 1;
    uint64_t chunk = rate / STUB_SLOW_CHUNKS_PER_S;
    uint64_t due_ns =
        pos / rate * 1000000000u + pos % rate * 1000000000u / rate;
    uint64_t now_ns = stub_elapsed_ns(&st->start);

    if (due_ns > now_ns &&
        !stub_sleep_ms(st->s, st->fd, (due_ns - now_ns + 999999) / 1000000))
        return 0;
    if (chunk == 0)
        chunk = 1;
    return n < chunk ? n : (size_t)chunk;
}

/* Reset the connection after the client has acknowledged what was sent, so
 * it sees the body cut short by a RST (at most 2 s wait for a stuck peer). */
static void stub_reset_socket(struct stub *s, int fd)
{
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};

    for (int i = 0; i < 200 && !atomic_load(&s->stopping); i++) {
        int queued = 0;

        if (ioctl(fd, SIOCOUTQ, &queued) != 0 || queued == 0)
            break;
        stub_sleep_ms(s, -1, 10);
    }
    (void)connect(fd, &unspec, sizeof(unspec));
}

static ssize_t stub_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stub_stream *st = cls;
    uint64_t left = st->body->len - st->from - pos;
    size_t n = left < max ? (size_t)left : max;

    if (pos >= st->body->len - st->from)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (!st->plain && (st->mode == STUB_TRUNCATE || st->mode == STUB_RESET)) {
        if (pos >= st->arg) {
            if (st->mode == STUB_RESET)
                stub_reset_socket(st->s, st->fd);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (n > st->arg - pos)
            n = (size_t)(st->arg - pos);
    } else if (!st->plain && st->mode == STUB_SLOW) {
        n = stub_pace(st, pos, n);
        if (n == 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    stub_body_read(st->body, st->from + pos, buf, n);
    return (ssize_t)n;
}

static void stub_stream_free(void *cls)
{
    struct stub_stream *st = cls;

    stub_body_unref(st->body);
    free(st);
}

static enum MHD_Result stub_queue(struct MHD_Connection *c, unsigned status,
                                  struct MHD_Response *r, const char *type)
{
    enum MHD_Result ret;

    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result stub_queue_text(struct MHD_Connection *c,
                                       unsigned status, const char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_MUST_COPY);

    return stub_queue(c, status, r, "text/plain");
}

static int stub_connection_fd(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

    return ci != NULL ? ci->connect_fd : -1;
}

/* Stream BODY (a reference, taken) shaped by the request's fault. */
static enum MHD_Result stub_queue_body(struct stub *s, struct MHD_Connection *c,
                                       const struct stub_request *rq,
                                       struct stub_body *body)
{
    struct stub_stream *st = xcalloc(1, sizeof(*st));
    uint64_t from = rq->range_from > 0 ? (uint64_t)rq->range_from : 0;
    uint64_t size = body->len - from;
    unsigned status = rq->range_from >= 0 ? MHD_HTTP_PARTIAL_CONTENT
                                          : MHD_HTTP_OK;
    struct MHD_Response *r;
    char range[80];

    st->s = s;
    st->body = body;
    st->from = from;
    st->plain = !rq->has_fault;
    st->mode = rq->fault.kind;
    st->arg = rq->fault.arg;
    st->fd = stub_connection_fd(c);
    clock_gettime(CLOCK_MONOTONIC, &st->start);
    if (rq->has_fault && rq->fault.kind == STUB_NO_LENGTH)
        size = MHD_SIZE_UNKNOWN;
    r = MHD_create_response_from_callback(
        size, STUB_BLOCK_SIZE, stub_stream_read, st, stub_stream_free);
    if (r == NULL) {
        stub_stream_free(st);
        return MHD_NO;
    }
    if (rq->has_fault && rq->fault.kind == STUB_GZIP)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    if (rq->etag != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, rq->etag);
    if (rq->modified != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED,
                                rq->modified);
    if (status == MHD_HTTP_PARTIAL_CONTENT) {
        snprintf(range, sizeof(range), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
                 from, body->len - 1, body->len);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, range);
    }
    return stub_queue(c, status, r, "application/octet-stream");
}

/* The byte a GET's "Range: bytes=N-" asks the body from, or -1 for the
 * whole body: no Range, another form, or an If-Range naming neither of
 * E's validators.  Called with the stub's lock held. */
static int64_t stub_range_from(struct MHD_Connection *c,
                               const struct stub_entry *e)
{
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_RANGE);
    const char *ifr = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_IF_RANGE);
    unsigned long long from;
    int end = 0;

    if (range == NULL ||
        sscanf(range, "bytes=%llu-%n", &from, &end) != 1 ||
        range[end] != '\0')
        return -1;
    if (ifr != NULL && !(e->etag != NULL && strcmp(ifr, e->etag) == 0) &&
        !(e->modified != NULL && strcmp(ifr, e->modified) == 0))
        return -1;
    return (int64_t)from;
}

static enum MHD_Result stub_queue_redirect(struct MHD_Connection *c,
                                           const char *loc)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        10, (void *)"redirect\n", MHD_RESPMEM_PERSISTENT);

    if (r != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, loc);
    return stub_queue(c, MHD_HTTP_FOUND, r, "text/plain");
}

static enum MHD_Result stub_respond(struct stub *s, struct MHD_Connection *c,
                                    const char *method, struct stub_request *rq)
{
    struct stub_body *body;
    char text[64];

    if (rq->status != 0) {
        snprintf(text, sizeof(text), "stub: status %u\n", rq->status);
        return stub_queue_text(c, rq->status, text);
    }
    if (rq->has_fault && rq->fault.kind == STUB_DELAY &&
        !stub_sleep_ms(s, stub_connection_fd(c), rq->fault.arg))
        return MHD_NO; /* the client left or the stub is stopping */
    if (rq->has_fault && rq->fault.kind == STUB_BARRIER &&
        !stub_barrier_wait(s, (unsigned)rq->fault.arg))
        return stub_queue_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                               "stub: barrier not met\n");
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
        !(strcmp(method, "POST") == 0 && atomic_load(&s->accept_post)))
        return stub_queue_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                               "stub: GET and HEAD only\n");
    if (rq->location != NULL)
        return stub_queue_redirect(c, rq->location);
    if (rq->has_fault && rq->fault.kind == STUB_REDIRECT) {
        char *loc = xasprintf("%s%s%s", s->url, STUB_REDIRECT_DIR, rq->path);
        enum MHD_Result ret = stub_queue_redirect(c, loc);

        free(loc);
        return ret;
    }
    if (rq->body == NULL)
        return stub_queue_text(c, MHD_HTTP_NOT_FOUND, "stub: not found\n");
    if (rq->range_from >= 0 && (uint64_t)rq->range_from >= rq->body->len)
        return stub_queue_text(c, MHD_HTTP_RANGE_NOT_SATISFIABLE,
                               "stub: range not satisfiable\n");
    if (rq->has_fault && rq->fault.kind == STUB_GZIP)
        body = stub_body_gzip(rq->body);
    else
        body = stub_body_ref(rq->body);
    return stub_queue_body(s, c, rq, body);
}

static enum MHD_Result stub_header_line(void *cls, enum MHD_ValueKind kind,
                                        const char *key, const char *value)
{
    (void)kind;
    fprintf(cls, "%s: %s\n", key, value != NULL ? value : "");
    return MHD_YES;
}

/* The request's headers as "Name: value\n" lines (a new string). */
static char *stub_header_block(struct MHD_Connection *c)
{
    char *block = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&block, &len);

    if (f == NULL)
        stub_die("open_memstream: %s", strerror(errno));
    MHD_get_connection_values(c, MHD_HEADER_KIND, stub_header_line, f);
    fclose(f);
    return block;
}

/* Decide whether RQ gets a part of E's body, after its fault: a replaced
 * file gets new validators first. */
static void stub_plan_range(struct MHD_Connection *c, struct stub_entry *e,
                            struct stub_request *rq, const char *method)
{
    char v[48];

    if (rq->has_fault && rq->fault.kind == STUB_REPLACED) {
        snprintf(v, sizeof(v), "\"replaced-%u\"", e->hits);
        stub_replace_str(&e->etag, v);
        stub_replace_str(&e->modified, NULL);
    }
    rq->etag = e->etag != NULL ? xstrdup(e->etag) : NULL;
    rq->modified = e->modified != NULL ? xstrdup(e->modified) : NULL;
    rq->range_from = strcmp(method, "GET") == 0 ? stub_range_from(c, e) : -1;
    if (rq->has_fault && rq->fault.kind == STUB_IGNORE_RANGE)
        rq->range_from = -1;
    else if (rq->has_fault && rq->fault.kind == STUB_RANGE_FROM &&
             rq->range_from >= 0)
        rq->range_from = (int64_t)rq->fault.arg;
}

/* Count the request and decide what it gets (consuming one fault). */
static struct stub_request *stub_request_begin(struct stub *s,
                                               struct MHD_Connection *c,
                                               const char *method,
                                               const char *path)
{
    struct stub_request *rq = xcalloc(1, sizeof(*rq));
    char *headers = stub_header_block(c);
    char *old_headers;
    struct stub_entry *e;
    unsigned gated = 0;

    atomic_fetch_add(&s->in_flight, 1);
    rq->path = xstrdup(path);
    pthread_mutex_lock(&s->lock);
    e = stub_entry_get(s, path);
    e->hits++;
    e->gets += strcmp(method, "GET") == 0;
    e->heads += strcmp(method, "HEAD") == 0;
    s->total_hits++;
    pthread_cond_broadcast(&s->hit);
    old_headers = s->last_headers;
    s->last_headers = headers;
    snprintf(s->last_path, sizeof(s->last_path), "%s", path);
    if (e->always_status != 0) {
        rq->status = e->always_status;
    } else if (e->always_location != NULL) {
        rq->location = xstrdup(e->always_location);
    } else if (e->fault_count > 0) {
        rq->has_fault = true;
        rq->fault = e->faults[e->fault_head++];
        if (--e->fault_count == 0)
            e->fault_head = 0; /* reuse the array from its start */
        if (rq->fault.kind == STUB_STATUS)
            rq->status = (unsigned)rq->fault.arg;
    }
    stub_plan_range(c, e, rq, method);
    rq->body = stub_body_for(s, e);
    if (s->gate != NULL)
        gated = s->gate(s->gate_arg, method, path, headers);
    if (gated != 0)
        rq->status = gated;
    pthread_mutex_unlock(&s->lock);
    free(old_headers);
    return rq;
}

void stub_keep_query(struct stub *s)
{
    atomic_store(&s->keep_query, true);
}

void stub_accept_post(struct stub *s)
{
    atomic_store(&s->accept_post, true);
}

void stub_last_body(struct stub *s, char *buf, size_t len)
{
    pthread_mutex_lock(&s->lock);
    snprintf(buf, len, "%s", s->last_body ? s->last_body : "");
    pthread_mutex_unlock(&s->lock);
}

/* Keep DATA[0..LEN) of RQ's body, when S keeps bodies. */
static void stub_take_upload(struct stub *s, struct stub_request *rq,
                             const char *data, size_t len)
{
    if (!atomic_load(&s->accept_post) || rq->upload_len + len > 65536)
        return;
    rq->upload = xrealloc(rq->upload, rq->upload_len + len + 1);
    memcpy(rq->upload + rq->upload_len, data, len);
    rq->upload_len += len;
    rq->upload[rq->upload_len] = '\0';
}

static enum MHD_Result stub_add_arg(void *cls, enum MHD_ValueKind kind,
                                    const char *key, const char *value)
{
    char **q = cls, *next;

    (void)kind;
    next = xasprintf("%s%c%s%s%s", *q, strchr(*q, '?') ? '&' : '?', key,
                     value ? "=" : "", value ? value : "");
    free(*q);
    *q = next;
    return MHD_YES;
}

/* URL with its query, when S keeps queries (new string). */
static char *stub_request_path(struct stub *s, struct MHD_Connection *c,
                               const char *url)
{
    char *q = xstrdup(url);

    if (atomic_load(&s->keep_query))
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, stub_add_arg, &q);
    return q;
}

static enum MHD_Result stub_handler(void *cls, struct MHD_Connection *c,
                                    const char *url, const char *method,
                                    const char *version,
                                    const char *upload_data,
                                    size_t *upload_size, void **req_cls)
{
    struct stub *s = cls;

    (void)version;
    (void)upload_data;
    if (*req_cls == NULL) {
        char *path = stub_request_path(s, c, url);

        *req_cls = stub_request_begin(s, c, method, path);
        free(path);
        return MHD_YES;
    }
    if (*upload_size != 0) {
        /* uploads are read and dropped, or kept for stub_last_body() */
        stub_take_upload(s, *req_cls, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (((struct stub_request *)*req_cls)->upload != NULL) {
        struct stub_request *rq = *req_cls;

        pthread_mutex_lock(&s->lock);
        free(s->last_body);
        s->last_body = rq->upload;
        rq->upload = NULL;
        pthread_mutex_unlock(&s->lock);
    }
    return stub_respond(s, c, method, *req_cls);
}

static void stub_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                           enum MHD_RequestTerminationCode toe)
{
    struct stub *s = cls;
    struct stub_request *rq = *req_cls;

    (void)c;
    (void)toe;
    if (rq == NULL)
        return;
    stub_body_unref(rq->body);
    free(rq->path);
    free(rq->location);
    free(rq->etag);
    free(rq->modified);
    free(rq->upload);
    free(rq);
    *req_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

static void stub_notify_connection(void *cls, struct MHD_Connection *c,
                                   void **socket_context,
                                   enum MHD_ConnectionNotificationCode toe)
{
    struct stub *s = cls;

    (void)c;
    (void)socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&s->connections, 1);
}

/* Keep the request path exactly as sent: tests match raw paths, and a
 * proxy must not decode them before forwarding. */
static size_t stub_no_unescape(void *cls, struct MHD_Connection *c, char *str)
{
    (void)cls;
    (void)c;
    return strlen(str);
}

struct stub *stub_start(void)
{
    struct stub *s = xcalloc(1, sizeof(*s));
    struct sockaddr_in sin = {.sin_family = AF_INET};
    const union MHD_DaemonInfo *info;
    pthread_condattr_t ca;

    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->hit, &ca);
    pthread_cond_init(&s->barrier, &ca);
    atomic_init(&s->barrier_ms, 20000);
    pthread_condattr_destroy(&ca);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->mhd = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD |
            MHD_USE_ITC,
        0, NULL, NULL, stub_handler, s, MHD_OPTION_SOCK_ADDR, &sin,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 512, MHD_OPTION_CONNECTION_LIMIT, 2000,
        MHD_OPTION_NOTIFY_COMPLETED, stub_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, stub_notify_connection, s,
        MHD_OPTION_UNESCAPE_CALLBACK, stub_no_unescape, NULL, MHD_OPTION_END);
    if (s->mhd == NULL)
        stub_die("MHD_start_daemon on 127.0.0.1:0 failed");
    info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    if (info == NULL || info->port == 0)
        stub_die("cannot read the bound port");
    s->port = info->port;
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u", s->port);
    return s;
}

void stub_stop(struct stub *s)
{
    MHD_socket lfd;
    int waited = 0;

    if (s == NULL)
        return;
    lfd = MHD_quiesce_daemon(s->mhd);
    while (atomic_load(&s->in_flight) > 0 && waited < STUB_STOP_GRACE_MS) {
        usleep(10000);
        waited += 10;
    }
    atomic_store(&s->stopping, true);
    MHD_stop_daemon(s->mhd);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    while (s->entries != NULL) {
        struct stub_entry *e = s->entries;

        s->entries = e->next;
        stub_entry_free(e);
    }
    pthread_cond_destroy(&s->hit);
    pthread_cond_destroy(&s->barrier);
    pthread_mutex_destroy(&s->lock);
    free(s->last_headers);
    free(s->last_body);
    free(s);
}
