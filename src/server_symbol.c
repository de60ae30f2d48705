/* SPDX-License-Identifier: MIT */
/*
 * server_symbol: GET/HEAD of a symbol file.
 *
 * HIT: one short read of the index, open the file, answer with an fd
 * response (sendfile) or a mapping of the file (see "Whole-file bodies"
 * below), honouring conditional requests, a single Range and
 * Accept-Encoding: gzip from the copy made once per file.  The hit is
 * counted through a lock-free queue that the worker flushes in batches.
 *
 * MISS: join or start the download of the key and suspend until it has a
 * first byte; then stream the temp file with a content-reader callback
 * that suspends again whenever it has caught up with the download.
 */
#include "symsrvd_config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "config.h"
#include "fetch.h"
#include "fileio.h"
#include "gzip.h"
#include "httphdr.h"
#include "tlq.h"
#include "log.h"
#include "server_int.h"
#include "server_rcache.h"
#include "server_sendfile.h"
#include "store.h"
#include "symkey.h"
#include "timeutil.h"
#include "xalloc.h"

#define STREAM_BLOCK (64 * 1024)

/*
 * Whole-file bodies.  libmicrohttpd 0.9.75 sends an fd response's headers
 * alone, pushed out by an uncork, and then the body in 128 KiB sendfile
 * calls, which server_sendfile.c widens to what the socket takes; a
 * response from memory leaves in one sendmsg, headers and body together.
 * Measured with bench/hits.sh (figures in the commit messages):
 *
 * - Small bodies are sent from memory: the lone header segment and the
 *   three setsockopt calls around it cost more than copying a few KiB.
 *
 * - Large bodies are sent with sendfile (copying 1 MiB costs the server
 *   twice the CPU of sendfile and the client more than that, as the copy
 *   leaves the page cache), except for each connection's first WARM_BYTES.
 *   A Linux client estimates its receive RTT from how long one window
 *   takes to fill; after a lone header segment the body fills it within
 *   microseconds, so receive-buffer autotuning never grows the client's
 *   window past its initial 128 KiB and every window of every body then
 *   waits for the client to read (nginx does the same with tcp_nopush
 *   off).  A few MiB sent with their headers first let the window grow;
 *   after them the headers of each sendfile body are held back to leave
 *   in its first segment (server_sendfile.c), so it goes on growing.
 *
 * Tried for large bodies and not kept, each against nginx in the same
 * runs: every body from a mapping (about two thirds of nginx's
 * throughput: the copy), a 1 or 4 MiB SO_SNDBUF on accepted sockets (no
 * gain: autotuning already grows the buffer past a body), 1 to 32 pool
 * threads per worker instead of 8 (flat or worse for 1 MiB bodies), and
 * thread-per-connection mode (2 MiB sendfile calls, but not the daemon's
 * shape: misses suspend, which that mode does not serve as the pool does).
 *
 * A mapping stays valid when its file is replaced: cache files are
 * published by rename and never written in place, so a newer copy is a
 * new inode and the old one lives until its last response is destroyed.
 * The mapped pages are the page cache's, shared with every worker; the
 * per-thread response cache bounds how many small mappings stay, and warm
 * mappings go with their response.
 */
#define MEM_BODY_MAX (16 * 1024)
#define WARM_BYTES (4 * 1024 * 1024)

/* A cached representation chosen for a request. */
struct rep {
    int fd;
    struct stat st; /* of FD, for server_sendfile_note() */
    uint64_t size;
    uint64_t plain_size; /* of the file itself, not its gzip copy */
    char etag[64];
    char last_modified[40];
    bool gzip;
};

static void count_hit(struct server *s, const char *key)
{
    char *k = xstrdup(key);

    /* Statistics only: when the queue is full the hit goes uncounted
     * rather than making a request wait. */
    if (!tlq_push(s->hitq, k))
        free(k);
}

/* Open the gzip copy when the client wants it and it exists; otherwise
 * the file itself.  -ENOENT when the file vanished. */
static int open_rep(struct req *r, const char *key, const struct cache_entry *e,
                    bool range, struct rep *rep)
{
    const struct config *cfg = r->srv->cfg;
    char path[STORE_PATH_MAX];

    rep->gzip = r->wants_gzip && !range && e->gz == CACHE_GZ_READY;
    if (rep->gzip)
        store_gzip_path(cfg->cache_dir, key, path, sizeof(path));
    else
        store_file_path(cfg->cache_dir, key, path, sizeof(path));
    rep->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (rep->fd < 0 && rep->gzip) {
        rep->gzip = false;
        store_file_path(cfg->cache_dir, key, path, sizeof(path));
        rep->fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (rep->fd < 0)
        return -errno;
    if (fstat(rep->fd, &rep->st) != 0) {
        close(rep->fd);
        return -EIO;
    }
    rep->size = (uint64_t)rep->st.st_size;
    rep->plain_size = e->size;
    snprintf(rep->etag, sizeof(rep->etag), "\"%" PRIx64 "-%" PRIx64 "%s\"",
             e->size, (uint64_t)e->cached_at_ms, rep->gzip ? "-gz" : "");
    http_date_format((time_t)(e->cached_at_ms / 1000), rep->last_modified,
                     sizeof(rep->last_modified));
    return 0;
}

static bool not_modified(struct req *r, const struct rep *rep,
                         const struct cache_entry *e)
{
    const char *inm = server_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
    const char *ims = server_header(r, MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
    time_t t;

    if (inm != NULL)
        return httphdr_etag_match(inm, rep->etag);
    return ims != NULL && http_date_parse(ims, &t) == 0 &&
           t >= (time_t)(e->cached_at_ms / 1000);
}

/* Should the Range header be honoured?  If-Range must match the current
 * representation (strong ETag or exact date). */
static bool range_applies(struct req *r, const struct rep *rep)
{
    const char *ir = server_header(r, MHD_HTTP_HEADER_IF_RANGE);

    if (ir == NULL)
        return true;
    if (ir[0] == '"')
        return strcmp(ir, rep->etag) == 0;
    return strcmp(ir, rep->last_modified) == 0;
}

/* debuginfod's headers on a build-id key's 200: the file's own size
 * (whatever the encoding: clients check it against their size limit) and
 * its name. */
static void add_debuginfod_headers(struct req *r, struct MHD_Response *resp,
                                   int64_t size)
{
    char n[24];

    if (r->dfile[0] == '\0')
        return;
    if (size >= 0) {
        snprintf(n, sizeof(n), "%" PRId64, size);
        MHD_add_response_header(resp, "X-DEBUGINFOD-SIZE", n);
    }
    MHD_add_response_header(resp, "X-DEBUGINFOD-FILE", r->dfile);
}

static void add_rep_headers(struct req *r, struct MHD_Response *resp,
                            const struct rep *rep)
{
    add_debuginfod_headers(r, resp, (int64_t)rep->plain_size);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/octet-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, rep->etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED,
                            rep->last_modified);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    if (rep->gzip)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING,
                                "gzip");
}

static enum MHD_Result answer_304(struct req *r, struct rep *rep)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);

    if (rep->fd >= 0)
        close(rep->fd);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, rep->etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED,
                            rep->last_modified);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    return server_queue(r, MHD_HTTP_NOT_MODIFIED, resp);
}

static enum MHD_Result answer_416(struct req *r, struct rep *rep)
{
    char cr[48];
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);

    close(rep->fd);
    snprintf(cr, sizeof(cr), "bytes */%" PRIu64, rep->size);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
    return server_queue(r, MHD_HTTP_RANGE_NOT_SATISFIABLE, resp);
}

void server_conn_init(struct server_conn *sc, int sock)
{
    sc->warm_left = WARM_BYTES;
    sc->sock = sock;
}

/* R's headers go out in front of a body sent with sendfile: let them
 * leave in the body's first segment (see server_sendfile.c). */
static void hold_headers(const struct req *r)
{
    if (r->sc != NULL && !r->head && r->bytes > 0)
        server_sendfile_hold_headers(r->sc->sock);
}

/* Should R's whole-file body of SIZE bytes, too large for MEM_BODY_MAX,
 * go from memory to warm the connection up?  Counts it if so. */
static bool take_warm(struct req *r, uint64_t size)
{
    if (r->sc == NULL || r->head || size > r->sc->warm_left)
        return false;
    r->sc->warm_left -= size;
    return true;
}

struct body_map {
    void *addr;
    size_t len;
    int fd;
};

static void unmap_body(void *cls)
{
    struct body_map *m = cls;

    munmap(m->addr, m->len);
    close(m->fd);
    free(m);
}

/* A response whose body is a read-only mapping of the SIZE bytes of FD,
 * which it then owns; NULL (FD untouched) when FD cannot be mapped. */
static struct MHD_Response *mapped_response(int fd, uint64_t size)
{
    struct MHD_Response *resp;
    struct body_map *m;
    void *addr;

    if (size == 0 || size > SIZE_MAX)
        return NULL;
    addr = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED)
        return NULL;
    m = xmalloc(sizeof(*m));
    m->addr = addr;
    m->len = (size_t)size;
    m->fd = fd;
    resp = MHD_create_response_from_buffer_with_free_callback_cls(
        m->len, addr, unmap_body, m);
    if (resp == NULL) {
        munmap(addr, m->len);
        free(m);
    }
    return resp;
}

/* As mapped_response() over a duplicate of FD, which stays the caller's. */
static struct MHD_Response *dup_mapped_response(int fd, uint64_t size)
{
    struct MHD_Response *resp;
    int dfd = dup(fd);

    if (dfd < 0)
        return NULL;
    resp = mapped_response(dfd, size);
    if (resp == NULL)
        close(dfd);
    return resp;
}

/* Book-keeping common to every answer from a cached file.  A miss or a
 * coalesced request whose download ended before it was answered is
 * served from the file too, but stays what it was in /metrics and the
 * log, so it is not counted as a hit of the key (index, status page)
 * either: both places tell the same story. */
static void note_hit(struct req *r, const char *key,
                     const struct cache_entry *e)
{
    if (r->wants_gzip && e->gz == CACHE_GZ_UNKNOWN &&
        e->size >= r->srv->cfg->gzip_min_size)
        fetch_gzip(r->srv->fetch, key); /* for the next request */
    if (r->kind == METRICS_OTHER)
        r->kind = METRICS_HIT;
    memcpy(r->upstream, e->upstream, sizeof(r->upstream)); /* for the log */
    if (r->kind == METRICS_HIT)
        count_hit(r->srv, key);
}

/* Queue RESP, a whole-file 200 of REP that is not kept for reuse. */
static enum MHD_Result queue_once(struct req *r, const struct rep *rep,
                                  struct MHD_Response *resp)
{
    add_rep_headers(r, resp, rep);
    r->bytes = rep->size;
    return server_queue(r, MHD_HTTP_OK, resp);
}

/* A whole-file answer from this thread's reusable response. */
static enum MHD_Result serve_reused(struct req *r, const struct rcache_entry *c,
                                    const struct cache_entry *e)
{
    struct rep rep;

    rep.fd = -1; /* owned by the cached response */
    rep.size = c->size;
    rep.plain_size = e->size;
    rep.gzip = c->gzip;
    memcpy(rep.etag, c->etag, sizeof(rep.etag));
    memcpy(rep.last_modified, c->last_modified, sizeof(rep.last_modified));
    if (not_modified(r, &rep, e))
        return answer_304(r, &rep);
    if (c->size > MEM_BODY_MAX && take_warm(r, c->size)) {
        struct MHD_Response *warm = dup_mapped_response(c->fd, c->size);

        if (warm != NULL)
            return queue_once(r, &rep, warm);
    }
    r->bytes = c->size;
    r->status = MHD_HTTP_OK;
    if (c->size > MEM_BODY_MAX) /* kept ones that large are fd responses */
        hold_headers(r);
    return MHD_queue_response(r->conn, MHD_HTTP_OK, c->resp);
}

/* Queue a whole-file 200 and keep the response for the next hit, unless
 * it warms the connection up. */
static enum MHD_Result serve_whole(struct req *r, struct rcache *rc,
                                   const char *key,
                                   const struct cache_entry *e,
                                   struct rep *rep)
{
    bool small = rep->size <= MEM_BODY_MAX;
    struct MHD_Response *resp = NULL;
    struct rcache_entry tmpl;
    enum MHD_Result ret;

    if (small || take_warm(r, rep->size))
        resp = mapped_response(rep->fd, rep->size);
    if (resp != NULL && !small)
        return queue_once(r, rep, resp);
    if (resp == NULL) {
        server_sendfile_note(rep->fd, &rep->st, rep->size);
        resp = MHD_create_response_from_fd64(rep->size, rep->fd);
    }
    if (resp == NULL) {
        close(rep->fd);
        return MHD_NO;
    }
    add_rep_headers(r, resp, rep);
    server_mark_close(r->srv, resp);
    r->bytes = rep->size;
    r->status = MHD_HTTP_OK;
    if (!small)
        hold_headers(r);
    ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
    memset(&tmpl, 0, sizeof(tmpl));
    tmpl.fd = rep->fd;
    tmpl.size = rep->size;
    memcpy(tmpl.etag, rep->etag, sizeof(tmpl.etag));
    memcpy(tmpl.last_modified, rep->last_modified, sizeof(tmpl.last_modified));
    rcache_put(rc, key, e->cached_at_ms, rep->gzip, &tmpl, resp);
    return ret;
}

static enum MHD_Result serve_range(struct req *r, struct rep *rep,
                                   const char *range)
{
    uint64_t off = 0, len = rep->size;
    struct MHD_Response *resp;
    char cr[80];
    int rc = httphdr_range(range, rep->size, &off, &len);

    if (rc == -ERANGE)
        return answer_416(r, rep);
    if (rc != 0) { /* not a single range we serve: the whole file */
        off = 0;
        len = rep->size;
    }
    server_sendfile_note(rep->fd, &rep->st, off + len);
    resp = MHD_create_response_from_fd_at_offset64(len, rep->fd, off);
    if (resp == NULL) {
        close(rep->fd);
        return MHD_NO;
    }
    add_rep_headers(r, resp, rep);
    r->bytes = len;
    hold_headers(r);
    if (rc != 0)
        return server_queue(r, MHD_HTTP_OK, resp);
    snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, off,
             off + len - 1, rep->size);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
    return server_queue(r, MHD_HTTP_PARTIAL_CONTENT, resp);
}

/* serve_hit() with the thread's response cache RC entered. */
static enum MHD_Result serve_hit_in(struct req *r, struct rcache *rc,
                                    const char *key,
                                    const struct cache_entry *e, bool *gone)
{
    const char *range = server_header(r, MHD_HTTP_HEADER_RANGE);
    bool gzip = r->wants_gzip && range == NULL && e->gz == CACHE_GZ_READY;
    const struct rcache_entry *c = NULL;
    struct rep rep;

    *gone = false;
    /* a reused response cannot take Connection: close */
    if (range == NULL &&
        !atomic_load_explicit(&r->srv->closing, memory_order_acquire))
        c = rcache_get(rc, key, e->cached_at_ms, gzip);
    if (c == NULL && open_rep(r, key, e, range != NULL, &rep) != 0) {
        *gone = true;
        return MHD_YES;
    }
    note_hit(r, key, e);
    if (c != NULL)
        return serve_reused(r, c, e);
    if (not_modified(r, &rep, e))
        return answer_304(r, &rep);
    if (range != NULL && range_applies(r, &rep))
        return serve_range(r, &rep, range);
    return serve_whole(r, rc, key, e, &rep);
}

/* Answer from the cache.  Returns MHD_NO only on MHD failure; *GONE is set
 * (and nothing queued) when the file vanished behind its record. */
static enum MHD_Result serve_hit(struct req *r, const char *key,
                                 const struct cache_entry *e, bool *gone)
{
    struct rcache *rc = rcache_enter(r->srv);
    enum MHD_Result ret = serve_hit_in(r, rc, key, e, gone);

    rcache_leave(rc);
    return ret;
}

static enum MHD_Result answer_miss(struct req *r, const char *reason)
{
    r->miss_reason = reason;
    return server_text(r, MHD_HTTP_NOT_FOUND, "symbol not found\n",
                       "X-Symsrvd-Miss", reason);
}

/* --- miss path ---------------------------------------------------------- */

static void wake_req(void *arg)
{
    struct req *r = arg;

    MHD_resume_connection(r->conn);
}

/* Called by inflight with the download's lock held, so the downloader
 * cannot resume the connection before it is suspended. */
static void park_req(void *arg)
{
    struct req *r = arg;

    MHD_suspend_connection(r->conn);
}

static ssize_t stream_body(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct req *r = cls;
    enum dl_state st;
    uint64_t avail;
    ssize_t n;
    int fd;

    avail = dl_readable(r->dl, &r->waiter, pos, &fd, &st);
    if (avail == 0) {
        if (st == DL_STREAMING)
            return 0; /* parked until more arrives */
        /* A failed download ends the body early, so a client that was
         * told the length sees it short, and a chunked one sees no
         * terminating chunk: never a "complete" short file. */
        return st == DL_DONE ? MHD_CONTENT_READER_END_OF_STREAM
                             : MHD_CONTENT_READER_END_WITH_ERROR;
    }
    n = pread_full(fd, buf, avail < max ? (size_t)avail : max, (off_t)pos);
    if (n <= 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    r->bytes += (uint64_t)n;
    return n;
}

static enum MHD_Result start_streaming(struct req *r, int64_t length,
                                       const char *upstream)
{
    struct MHD_Response *resp = MHD_create_response_from_callback(
        length < 0 ? MHD_SIZE_UNKNOWN : (uint64_t)length, STREAM_BLOCK,
        stream_body, r, NULL);

    if (resp == NULL)
        return MHD_NO;
    snprintf(r->upstream, sizeof(r->upstream), "%s", upstream);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/octet-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    add_debuginfod_headers(r, resp, length);
    return server_queue(r, MHD_HTTP_OK, resp);
}

static enum MHD_Result serve_key(struct req *r, const struct symkey *k,
                                 const char *key);

/* Where the download of R stands now decides its answer. */
enum MHD_Result server_symbol_resume(struct req *r)
{
    struct dl *d = r->dl;
    struct dl_status now;
    enum dl_state st;
    enum dl_reason reason;

    dl_status(d, &r->waiter, &now);
    if (now.parked)
        return MHD_YES;
    st = now.state;
    reason = now.reason;
    if (st == DL_STREAMING || (st == DL_DONE && now.unstored))
        return start_streaming(r, now.length, now.upstream);
    if (st == DL_PENDING) { /* first byte too late: the download goes on */
        metrics_add(&metrics->miss_timeouts, 1);
        server_symbol_release(r);
        return answer_miss(r, "timeout");
    }
    if (st == DL_DONE) {
        struct symkey k = *dl_orig(d);
        char key[SYMKEY_CANON_MAX];

        snprintf(key, sizeof(key), "%s", dl_key(d));
        server_symbol_release(r);
        return serve_key(r, &k, key);
    }
    server_symbol_release(r);
    if (reason == DL_REASON_NO_SPACE)
        r->kind = METRICS_NO_SPACE;
    else if (reason != DL_REASON_NOT_FOUND)
        r->kind = METRICS_UPSTREAM_ERROR;
    return answer_miss(r, dl_reason_name(reason));
}

void server_symbol_release(struct req *r)
{
    struct dl *d = r->dl;

    if (d == NULL)
        return;
    dl_unwait(d, &r->waiter);
    r->dl = NULL;
    dl_unref(d);
}

/* --- proxies in front of us and behind us -------------------------------- */

/* An incoming header value we may repeat upstream: printable text only. */
static const char *forwardable(const char *v)
{
    const unsigned char *p;

    if (v == NULL)
        return NULL;
    for (p = (const unsigned char *)v; *p != '\0'; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return NULL;
    return v;
}

/* Entries of an X-Forwarded-For value: the proxies a request came
 * through, each having added its client. */
static unsigned count_hops(const char *xff)
{
    unsigned n = 0;

    while (xff != NULL && *(xff += strspn(xff, ", \t")) != '\0') {
        n++;
        xff += strcspn(xff, ",");
    }
    return n;
}

/* This daemon's token in Via, the same in every worker. */
static void via_token(char *buf, size_t len)
{
    snprintf(buf, len, "symsrvd-%016" PRIx64, metrics->instance_id);
}

/* Why this miss must not go upstream, or NULL.  Instances that are each
 * other's upstreams would otherwise pass a miss round for ever; and a
 * request that comes back to us would join its own download and wait for
 * it until miss_timeout.  Our own Via token catches that at the first
 * turn; max_hops catches loops through other proxies. */
static const char *loop_reason(struct req *r)
{
    const char *via = server_header(r, "Via");
    char me[32];

    via_token(me, sizeof(me));
    if (via != NULL && strstr(via, me) != NULL)
        return "loop";
    if (count_hops(server_header(r, "X-Forwarded-For")) >=
        r->srv->cfg->max_hops)
        return "max-hops";
    return NULL;
}

/* Give D the X-Forwarded-For and Via its upstream requests carry: the
 * request's own, with its client and this daemon appended. */
static void set_forwarded(struct req *r, struct dl *d)
{
    const char *xff = forwardable(server_header(r, "X-Forwarded-For"));
    const char *via = forwardable(server_header(r, "Via"));
    char ip[64], me[32], *x, *v;

    server_client_ip(r->conn, ip, sizeof(ip));
    via_token(me, sizeof(me));
    x = xff != NULL ? xasprintf("%s, %s", xff, ip) : xstrdup(ip);
    v = via != NULL ? xasprintf("%s, 1.1 %s", via, me)
                    : xasprintf("1.1 %s", me);
    dl_set_forwarded(d, x, v);
    free(x);
    free(v);
}

static enum MHD_Result start_miss(struct req *r, const struct symkey *k,
                                  const char *key)
{
    struct server *s = r->srv;
    const char *loop = loop_reason(r);
    bool created;
    struct dl *d;

    if (!fetch_serves(s->cfg, k))
        return answer_miss(r, "not-found");
    /* Our own request come back (an upstream redirected to us): 508, an
     * error the sending download neither retries nor remembers as a miss.
     * Too many hops is a plain miss, as the operations issue asks. */
    if (loop != NULL && strcmp(loop, "loop") == 0) {
        r->miss_reason = loop;
        return server_text(r, 508, "request loop\n", "X-Symsrvd-Miss",
                           loop);
    }
    if (loop != NULL)
        return answer_miss(r, loop);
    if (atomic_load_explicit(&s->refusing, memory_order_acquire))
        return answer_miss(r, "upstream-error");
    d = inflight_get(s->inflight, key, k, &created);
    r->kind = created ? METRICS_MISS : METRICS_COALESCED;
    if (created)
        set_forwarded(r, d);
    if (created && !fetch_download(s->fetch, d)) {
        log_warnx("download queue full or stopping: %s", key);
        dl_finish(d, false, DL_REASON_UPSTREAM_ERROR);
    }
    if (s->cfg->miss == CONFIG_MISS_BACKGROUND) {
        dl_unref(d);
        return answer_miss(r, "pending");
    }
    r->dl = d;
    r->waiter.wake = wake_req;
    r->waiter.park = park_req;
    r->waiter.arg = r;
    r->waiter.deadline_ms = mono_ms() + s->cfg->miss_timeout_ms;
    return server_symbol_resume(r);
}

static enum MHD_Result serve_key(struct req *r, const struct symkey *k,
                                 const char *key)
{
    char neg[SYMKEY_CANON_MAX];
    struct cache_entry e;
    bool gone;

    snprintf(r->dfile, sizeof(r->dfile), "%s",
             k->kind == SYMKEY_BUILDID ? symkey_file_label(k) : "");
    if (cache_lookup(r->srv->cache, key, &e) == 0) {
        enum MHD_Result ret = serve_hit(r, key, &e, &gone);

        if (!gone)
            return ret;
        log_warnx("cached file vanished: %s", key);
        cache_remove(r->srv->cache, key);
    }
    /* Only a miss needs the exact-case key of a remembered miss. */
    if (symkey_exact(k, neg, sizeof(neg)) >= 0 &&
        cache_negative(r->srv->cache, neg, NULL)) {
        r->kind = METRICS_NEGATIVE;
        return answer_miss(r, "not-found");
    }
    return start_miss(r, k, key);
}

/* What SymSrv clients probe in a store that is not ours to mirror: the
 * compressed twin ("name.pd_") and pointer files.  Our tree is one-tier
 * and holds only plain files (compressed twins are fetched and decoded
 * under the plain name), so these are a miss without asking upstream,
 * and the client falls through to the plain name at once. */
static bool probe_only(const struct symkey *k)
{
    size_t n = strlen(k->file);

    return (n > 0 && k->file[n - 1] == '_') ||
           strcasecmp(k->file, "file.ptr") == 0 ||
           strcasecmp(k->file, "refs.ptr") == 0;
}

enum MHD_Result server_symbol(struct req *r, const char *path, size_t len)
{
    char key[SYMKEY_CANON_MAX];
    struct symkey k;
    const char *why;
    int rc;

    rc = symkey_parse(path, len, &k, &why);
    if (rc == -ENOENT)
        return server_text(r, MHD_HTTP_NOT_FOUND, "not a symbol path\n",
                           NULL, NULL);
    if (rc != 0 || symkey_canonical(&k, key, sizeof(key)) < 0) {
        r->kind = METRICS_BAD;
        return server_text(r, MHD_HTTP_BAD_REQUEST,
                           why ? why : "key too long", NULL, NULL);
    }
    r->type = k.kind == SYMKEY_BUILDID ? METRICS_T_BUILDID : METRICS_T_SYMBOL;
    if (probe_only(&k))
        return server_text(r, MHD_HTTP_NOT_FOUND, "not served here\n",
                           "X-Symsrvd-Miss", "probe");
    r->wants_gzip =
        gzip_accepted(server_header(r, MHD_HTTP_HEADER_ACCEPT_ENCODING));
    return serve_key(r, &k, key);
}
