/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "acl.h"
#include "board.h"
#include "cache.h"
#include "config.h"
#include "tlq.h"
#include "log.h"
#include "server_accept.h"
#include "server_int.h"
#include "server_rcache.h"
#include "server_sendfile.h"
#include "timeutil.h"
#include "xalloc.h"

#define HITQ_SIZE 16384 /* per MHD thread */
#define HIT_BATCH 4096
/* MHD zeroes a connection's whole pool on every keep-alive request (a
 * 32 KiB memset was the top user-space cost of a 4 KiB hit).  Hits need
 * only request and response headers; streamed misses and listings get
 * their write buffer from what is left. */
#define SERVER_POOL_SIZE (16 * 1024)
/* MHD 0.9.75 parses the request headers in place in that pool and builds
 * the response header after them: a request that leaves less room than
 * this gets no answer at all (MHD closes the connection), so it is
 * refused before MHD tries.  A record per header or argument, as MHD
 * keeps them, is counted at HDR_RECORD_SIZE. */
#define SERVER_REPLY_RESERVE 512
#define HDR_RECORD_SIZE 64

const char *server_header(struct req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

void server_mark_close(struct server *s, struct MHD_Response *resp)
{
    if (atomic_load_explicit(&s->closing, memory_order_acquire))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
}

enum MHD_Result server_queue(struct req *r, unsigned status,
                             struct MHD_Response *resp)
{
    enum MHD_Result ret;

    r->status = status;
    server_mark_close(r->srv, resp);
    ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result server_owned(struct req *r, unsigned status, char *body,
                             size_t len, const char *type)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);

    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    r->bytes = len;
    return server_queue(r, status, resp);
}

enum MHD_Result server_text(struct req *r, unsigned status, const char *body,
                            const char *name, const char *value)
{
    size_t len = strlen(body);
    char *text = len > 0 && body[len - 1] == '\n' ? xstrdup(body)
                                                  : xasprintf("%s\n", body);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen(text), text, MHD_RESPMEM_MUST_FREE);

    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; charset=utf-8");
    if (name != NULL)
        MHD_add_response_header(resp, name, value);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (r->kind == METRICS_OTHER && status == MHD_HTTP_BAD_REQUEST)
        r->kind = METRICS_BAD;
    r->bytes = strlen(text);
    return server_queue(r, status, resp);
}

/* MHD_OPTION_NOTIFY_CONNECTION: a connection's own state lives from its
 * accept to its close. */
static void on_connection(void *cls, struct MHD_Connection *conn,
                          void **socket_ctx,
                          enum MHD_ConnectionNotificationCode toe)
{
    const union MHD_ConnectionInfo *ci;
    struct server_conn *sc;

    (void)cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        sc = xcalloc(1, sizeof(*sc));
        ci = MHD_get_connection_info(conn,
                                     MHD_CONNECTION_INFO_CONNECTION_FD);
        server_conn_init(sc, ci != NULL ? ci->connect_fd : -1);
        *socket_ctx = sc;
        return;
    }
    free(*socket_ctx);
    *socket_ctx = NULL;
}

static struct server_conn *conn_state(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci != NULL ? ci->socket_context : NULL;
}

/* MHD_OPTION_URI_LOG_CALLBACK: the raw target, before MHD decodes it. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct req *r = xcalloc(1, sizeof(*r));

    r->srv = cls;
    r->conn = conn;
    r->sc = conn_state(conn);
    r->target = xstrdup(uri);
    r->start_ms = mono_ms();
    r->kind = METRICS_OTHER;
    r->type = METRICS_T_OTHER;
    atomic_fetch_add_explicit(&r->srv->active, 1, memory_order_relaxed);
    return r;
}

static bool path_is(const char *path, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(path, want, len) == 0;
}

static bool path_has_prefix(const char *path, size_t len, const char *want)
{
    size_t n = strlen(want);

    return len > n && memcmp(path, want, n) == 0;
}

/* What a request asks for, for http_requests_total{type}; a symbol path
 * is told from a build id by server_symbol(). */
static enum metrics_type request_type(const char *path, size_t len,
                                      const char *method)
{
    if (strcmp(method, MHD_HTTP_METHOD_DELETE) == 0)
        return METRICS_T_ADMIN;
    if (path_is(path, len, "/symbolicate") || path_is(path, len, "/minidump") ||
        path_has_prefix(path, len, "/requests/"))
        return METRICS_T_SYMBOLICATE;
    if (path_is(path, len, "/health") || path_is(path, len, "/healthcheck"))
        return METRICS_T_HEALTH;
    if (path_is(path, len, "/metrics"))
        return METRICS_T_METRICS;
    if (path_is(path, len, "/symbols"))
        return METRICS_T_LISTING;
    return METRICS_T_OTHER;
}

static enum MHD_Result route(struct req *r, const char *method)
{
    const char *q = strchr(r->target, '?');
    size_t len = q ? (size_t)(q - r->target) : strlen(r->target);
    bool head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;

    r->type = request_type(r->target, len, method);
    if (strcmp(method, MHD_HTTP_METHOD_POST) == 0 &&
        path_is(r->target, len, "/symbolicate"))
        return server_api_symbolicate(r);
    if (strcmp(method, MHD_HTTP_METHOD_POST) == 0 &&
        path_is(r->target, len, "/minidump"))
        return server_api_minidump(r);
    if (strcmp(method, MHD_HTTP_METHOD_DELETE) == 0)
        return path_has_prefix(r->target, len, "/proxy/")
                   ? server_admin_delete(r, r->target + 6, len - 6,
                                         q ? q + 1 : "")
                   : server_admin_delete(r, r->target, len, q ? q + 1 : "");
    if (!head && strcmp(method, MHD_HTTP_METHOD_GET) != 0) {
        r->kind = METRICS_BAD;
        return server_text(r, MHD_HTTP_METHOD_NOT_ALLOWED,
                           "method not allowed", NULL, NULL);
    }
    if (path_is(r->target, len, "/") && server_wants_status(r))
        return server_status(r);
    if (path_is(r->target, len, "/health"))
        return server_health(r);
    if (path_is(r->target, len, "/metrics"))
        return server_metrics(r);
    if (path_is(r->target, len, "/symbols"))
        return server_listing(r, q ? q + 1 : "");
    if (path_is(r->target, len, "/healthcheck"))
        return server_api_healthcheck(r);
    if (path_has_prefix(r->target, len, "/requests/"))
        return server_api_poll(r, r->target + 10, len - 10);
    /* Symbolicator's symstore-compatible proxy path: the root's twin */
    if (path_has_prefix(r->target, len, "/proxy/"))
        return server_symbol(r, r->target + 6, len - 6);
    return server_symbol(r, r->target, len);
}

static enum MHD_Result count_pool_use(void *cls, enum MHD_ValueKind kind,
                                      const char *key, const char *value)
{
    size_t *used = cls;

    (void)kind;
    *used += HDR_RECORD_SIZE + strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

/* True when the request's headers fill MHD's pool so far that no answer
 * would fit behind them. */
static bool headers_fill_pool(struct MHD_Connection *conn, const char *url,
                              const char *method)
{
    size_t used = strlen(method) + strlen(url) + 16;

    MHD_get_connection_values(conn,
                              MHD_HEADER_KIND | MHD_COOKIE_KIND |
                                  MHD_GET_ARGUMENT_KIND,
                              count_pool_use, &used);
    return used > SERVER_POOL_SIZE - SERVER_REPLY_RESERVE;
}

/* Answer 431 on the socket itself, where MHD has no room left to build
 * the answer, and have MHD close the connection.  The socket's send
 * buffer is empty (MHD reads a request only once the previous answer was
 * written), so the few bytes go out at once. */
static enum MHD_Result refuse_large_headers(struct req *r)
{
    static const char reply[] =
        "HTTP/1.1 431 Request Header Fields Too Large\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Length: 26\r\nConnection: close\r\n\r\n"
        "request headers too large\n";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);

    r->kind = METRICS_BAD;
    if (ci != NULL &&
        send(ci->connect_fd, reply, sizeof(reply) - 1,
             MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)sizeof(reply) - 1) {
        r->status = MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE;
        r->bytes = 26; /* the body above */
    }
    return MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct req *r = *con_cls;

    (void)cls;
    (void)version;
    (void)upload;
    /* Queueing on the first call makes MHD close the connection instead
     * of keeping it alive; answer on the second call. */
    if (!r->seen) {
        r->seen = true;
        r->conn = conn;
        snprintf(r->method, sizeof(r->method), "%s", method);
        r->head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
        if (headers_fill_pool(conn, url, method))
            return refuse_large_headers(r);
        if (strcmp(method, MHD_HTTP_METHOD_PUT) == 0)
            return server_publish_begin(r);
        return MHD_YES;
    }
    if (*upload_size != 0 && r->publish != NULL) {
        server_publish_body(r, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size != 0) {
        /* only the API reads bodies; others are dropped */
        bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
        bool form = strncmp(r->target, "/minidump", 9) == 0 &&
                    (r->target[9] == '\0' || r->target[9] == '?');

        if (post && form)
            server_api_upload(r, upload, *upload_size);
        else if (post)
            server_api_body(r, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->status != 0)
        return MHD_YES;
    if (server_publish_pending(r))
        return server_publish_end(r);
    if (r->dl != NULL)
        return server_symbol_resume(r);
    if (r->job_id[0] != '\0')
        return server_api_resume(r);
    return route(r, method);
}

void server_client_ip(struct MHD_Connection *conn, char *buf, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    snprintf(buf, len, "-");
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf,
                  (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
                  buf, (socklen_t)len);
    else if (sa->sa_family == AF_UNIX)
        snprintf(buf, len, "unix");
}

/* One request's access log fields, each escaped by log_escape(): valid,
 * printable UTF-8 whatever the client sent. */
struct access_fields {
    char ip[INET6_ADDRSTRLEN + 1];
    char method[4 * sizeof(((struct req *)0)->method)];
    char target[1024];
    char upstream[4 * sizeof(((struct req *)0)->upstream)];
};
_Static_assert(sizeof(((struct access_fields *)0)->ip) ==
                   sizeof(((struct server_conn *)0)->ip),
               "a connection's formatted address fits the log's field");

/* The JSON line: the escaped fields again as JSON strings, so a reader
 * of either format sees the same text, plus the time of the answer. */
static int access_json(struct req *r, const struct access_fields *a,
                       unsigned status, uint64_t ms, char *line, size_t len)
{
    char when[32];
    struct tm tm;
    time_t now = time(NULL);
    json_t *o;
    size_t n;

    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:s, s:s, s:I}", "time",
                  when, "client", a->ip, "method", a->method, "target",
                  a->target, "status", (int)status, "bytes",
                  (json_int_t)r->bytes, "result", metrics_kind_name(r->kind),
                  "upstream", a->upstream, "ms", (json_int_t)ms);
    if (o == NULL)
        return -1;
    n = json_dumpb(o, line, len - 1, JSON_COMPACT);
    json_decref(o);
    if (n == 0 || n >= len - 1)
        return -1; /* never a cut object: the fields fit a few KiB */
    line[n] = '\n';
    return (int)n + 1;
}

/* The text line, "%s %s %s %u %" PRIu64 " %s %s %" PRIu64 "ms\n" of the
 * fields, formatted by hand: snprintf() was a tenth of what a warm
 * /symbolicate costs beside its frames.  The fields fit LEN (4 KiB)
 * with room to spare; -1 if they did not. */
static int access_text(const struct req *r, const struct access_fields *a,
                       unsigned status, uint64_t ms, char *line, size_t len)
{
    const char *const words[] = {a->ip, a->method, a->target, NULL,
                                 NULL, metrics_kind_name(r->kind),
                                 a->upstream, NULL};
    const uint64_t nums[] = {0, 0, 0, status, r->bytes, 0, 0, ms};
    char *w = line, *end = line + len;

    for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++) {
        char digits[24], *d = digits + sizeof(digits);
        const char *s = words[i];
        size_t n;

        if (s == NULL) {
            uint64_t v = nums[i];

            do {
                *--d = (char)('0' + v % 10);
                v /= 10;
            } while (v != 0);
            s = d;
            n = (size_t)(digits + sizeof(digits) - d);
        } else {
            n = strlen(s);
        }
        if ((size_t)(end - w) < n + 4)
            return -1;
        memcpy(w, s, n);
        w += n;
        *w++ = ' ';
    }
    memcpy(w - 1, "ms\n", 3);
    return (int)(w + 2 - line);
}

static void access_log(struct req *r, const char *method, unsigned status)
{
    struct access_fields a;
    uint64_t ms = mono_ms() - r->start_ms;
    char line[4096];
    int n;

    if (r->srv->access_fd < 0)
        return;
    if (r->sc == NULL) {
        server_client_ip(r->conn, a.ip, sizeof(a.ip));
    } else { /* a keep-alive connection's address is formatted once */
        if (r->sc->ip[0] == '\0')
            server_client_ip(r->conn, r->sc->ip, sizeof(r->sc->ip));
        memcpy(a.ip, r->sc->ip, sizeof(a.ip));
    }
    log_escape(method[0] ? method : "-", a.method, sizeof(a.method));
    log_escape(r->target, a.target, sizeof(a.target));
    log_escape(r->upstream[0] ? r->upstream : "-", a.upstream,
               sizeof(a.upstream));
    if (r->srv->cfg->access_log_format == CONFIG_LOG_JSON)
        n = access_json(r, &a, status, ms, line, sizeof(line));
    else
        n = access_text(r, &a, status, ms, line, sizeof(line));
    if (n > 0)
        log_write_line(r->srv->access_fd, line,
                       (size_t)n < sizeof(line) ? (size_t)n : sizeof(line));
}

/* Put a miss or an error on the status page's board: 404s that asked
 * the upstreams or a remembered miss, and requests that failed; and
 * count lookups that missed for its chart. */
static void note_on_board(const struct req *r, unsigned status)
{
    const char *why = r->miss_reason;
    bool failed = status >= 500 || status == MHD_HTTP_BAD_REQUEST ||
                  status == MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE ||
                  (why != NULL && (strncmp(why, "upstream-", 9) == 0 ||
                                   strcmp(why, "no-space") == 0));

    if (r->kind == METRICS_MISS || r->kind == METRICS_COALESCED ||
        r->kind == METRICS_NEGATIVE)
        board_count(&metrics->board, BOARD_DOWNLOADS, wall_ms());
    if (failed)
        board_note(&metrics->board, BOARD_ERRORS, r->target, status, why,
                   wall_ms());
    else if (status == MHD_HTTP_NOT_FOUND && why != NULL)
        board_note(&metrics->board, BOARD_MISSES, r->target, status, why,
                   wall_ms());
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct req *r = *con_cls;
    unsigned status;

    (void)cls;
    (void)toe;
    if (r == NULL)
        return;
    *con_cls = NULL;
    r->conn = conn;
    /* 499 as nginx logs it: the client left before an answer was queued. */
    status = r->status != 0 ? r->status : 499;
    if (r->head)
        r->bytes = 0;
    if (r->seen) {
        access_log(r, r->method, status);
        metrics_count_status(status);
        metrics_add(&metrics->kinds[r->kind], 1);
        metrics_add(&metrics->types[r->type], 1);
        metrics_add(&metrics->bytes_served, r->bytes);
        metrics_observe(&metrics->request_ms, mono_ms() - r->start_ms);
        note_on_board(r, status);
    }
    if (r->sc != NULL)
        server_sendfile_release(r->sc->sock);
    server_symbol_release(r);
    server_api_release(r);
    server_publish_release(r);
    atomic_fetch_sub_explicit(&r->srv->active, 1, memory_order_relaxed);
    free(r->body.p);
    free(r->target);
    free(r);
}

static int open_access_log(const char *spec)
{
    int fd;

    if (spec == NULL || strcmp(spec, "off") == 0)
        return -1;
    if (strcmp(spec, "-") == 0)
        return STDERR_FILENO;
    fd = open(spec, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        log_warn("access log %s (logging to stderr instead)", spec);
    return fd < 0 ? STDERR_FILENO : fd;
}

static struct MHD_Daemon *start_mhd(struct server *s, int fd)
{
    const struct config *cfg = s->cfg;
    unsigned timeout_s = (unsigned)((cfg->connection_timeout_ms + 999) / 1000);

    server_accept_note(fd);
    return MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
            MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO,
        0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SERVER_POOL_SIZE,
        MHD_OPTION_URI_LOG_CALLBACK,
        on_uri, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
}

int server_start(const struct config *cfg, struct cache *cache,
                 struct inflight *inflight, struct fetch *fetch,
                 const int *fds, size_t nfds, struct server **out)
{
    struct server *s = xcalloc(1, sizeof(*s));
    size_t i;

    if (nfds > SERVER_MAX_LISTENERS) {
        free(s);
        return -E2BIG;
    }
    s->cfg = cfg;
    s->cache = cache;
    s->inflight = inflight;
    s->fetch = fetch;
    s->hitq = tlq_new(HITQ_SIZE);
    s->access_fd = open_access_log(cfg->access_log);
    s->started_ms = wall_ms();
    if (acl_parse(cfg->admin_allow, &s->admin_acl) != 0) {
        /* config_load() checked it: only a caller's own config can fail */
        log_warnx("bad admin_allow: %s", cfg->admin_allow);
        server_stop(s);
        return -EINVAL;
    }
    atomic_init(&s->refusing, false);
    atomic_init(&s->closing, false);
    atomic_init(&s->active, 0);
    pthread_mutex_init(&s->rcache_lock, NULL);
    if (server_api_start(s) < 0) {
        log_warnx("cannot start the symbolication API");
        server_stop(s);
        return -EIO;
    }
    for (i = 0; i < nfds; i++) {
        s->mhd[i] = start_mhd(s, fds[i]);
        if (s->mhd[i] == NULL) {
            log_warnx("cannot start the HTTP server on fd %d", fds[i]);
            server_stop(s);
            return -EIO;
        }
        s->nmhd++;
    }
    *out = s;
    return 0;
}

/*
 * MHD_quiesce_daemon() only takes the listen socket out of the threads'
 * epoll sets.  A thread that saw it readable just before and was then
 * preempted (a busy machine) still calls accept() on it afterwards, maybe
 * once drain found nothing left to wait for: MHD_stop_daemon() then closes
 * that connection unanswered and the client gets an empty reply.  So our
 * descriptor of each listen socket is made to point at a socket that
 * accepts nothing (accept() fails with EINVAL, which MHD takes quietly).
 * Only our descriptor changes: the socket stays open in the master and
 * the other workers, its queue untouched.  Not before the quiesce: MHD
 * removes the socket from epoll by that descriptor.
 */
static void disarm_listen(int fd)
{
    int dead = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (dead < 0 || dup3(dead, fd, O_CLOEXEC) < 0)
        log_warn("cannot detach listen socket %d: late connections may "
                 "be cut",
                 fd);
    if (dead >= 0)
        close(dead);
}

/* With exclusive wake-ups (server_accept.c) the kernel tells one idle
 * thread of a new connection.  If that was one of ours just before the
 * quiesce, it will not accept it now, and no thread of any other worker
 * was told: the connection would wait for the next one to arrive, or for
 * ever.  So take what is waiting on listen socket FD (non-blocking: MHD
 * made it so) and give it to MHD D, as if one of its threads had accepted
 * it a moment earlier; the drain then waits for it like any other.  Only
 * while D has room: MHD closes unanswered a connection it has no room
 * for, and what we leave waiting goes to the next worker woken (the
 * listen socket is level-triggered in its threads' epoll sets). */
static void adopt_pending(const struct server *s, struct MHD_Daemon *d,
                          int fd)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    /* adopted connections are counted only once their thread takes them */
    size_t held = info != NULL ? info->num_connections : 0;
    struct sockaddr_storage a;
    socklen_t len = sizeof(a);
    int c;

    if ((fcntl(fd, F_GETFL) & O_NONBLOCK) == 0)
        return;
    while (held < s->cfg->max_connections &&
           (c = accept4(fd, (struct sockaddr *)&a, &len,
                        SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        if (MHD_add_connection(d, c, (struct sockaddr *)&a, len) != MHD_YES)
            log_warnx("a connection waiting at the quiesce was refused");
        held++;
        len = sizeof(a);
    }
}

/* Keep listen socket FD's address, to count the connections accepted on
 * it once FD no longer points at it. */
static void keep_listen_addr(struct server *s, int fd)
{
    struct sockaddr_storage *a = &s->listen_addr[s->nlisten_addr];
    socklen_t len = sizeof(*a);

    memset(a, 0, sizeof(*a));
    if (getsockname(fd, (struct sockaddr *)a, &len) == 0)
        s->nlisten_addr++;
}

void server_quiesce(struct server *s)
{
    MHD_socket fd;
    size_t i;

    atomic_store_explicit(&s->closing, true, memory_order_release);
    for (i = 0; i < s->nmhd; i++) {
        fd = MHD_quiesce_daemon(s->mhd[i]);
        if (fd == MHD_INVALID_SOCKET)
            continue;
        keep_listen_addr(s, fd);
        adopt_pending(s, s->mhd[i], fd);
        disarm_listen(fd);
    }
}

/* Is A (an accepted socket's local address) on listen address L?  A
 * wildcard listener's connections carry the address they came to. */
static bool on_listen_addr(const struct sockaddr_storage *l,
                           const struct sockaddr_storage *a)
{
    const struct sockaddr_in *l4 = (const void *)l, *a4 = (const void *)a;
    const struct sockaddr_in6 *l6 = (const void *)l, *a6 = (const void *)a;
    const struct sockaddr_un *lu = (const void *)l, *au = (const void *)a;

    if (l->ss_family != a->ss_family)
        return false;
    switch (l->ss_family) {
    case AF_INET:
        return l4->sin_port == a4->sin_port &&
               (l4->sin_addr.s_addr == htonl(INADDR_ANY) ||
                l4->sin_addr.s_addr == a4->sin_addr.s_addr);
    case AF_INET6:
        return l6->sin6_port == a6->sin6_port &&
               (IN6_IS_ADDR_UNSPECIFIED(&l6->sin6_addr) ||
                IN6_ARE_ADDR_EQUAL(&l6->sin6_addr, &a6->sin6_addr));
    case AF_UNIX:
        return lu->sun_path[0] != '\0' &&
               strncmp(lu->sun_path, au->sun_path, sizeof(lu->sun_path)) == 0;
    default:
        return false;
    }
}

/* Is FD a connection accepted on one of S's listen sockets? */
static bool is_accepted(const struct server *s, int fd)
{
    struct sockaddr_storage a;
    socklen_t len = sizeof(a);
    struct stat st;
    int listening = 1;
    socklen_t ilen = sizeof(listening);
    size_t i;

    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ilen) != 0 ||
        listening)
        return false;
    memset(&a, 0, sizeof(a));
    if (getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return false;
    for (i = 0; i < s->nlisten_addr; i++)
        if (on_listen_addr(&s->listen_addr[i], &a))
            return true;
    return false;
}

/* Connections accepted on S's listen sockets that are open in this
 * process, whether MHD has taken them in yet or not. */
static unsigned accepted_open(const struct server *s)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    unsigned n = 0;
    char *end;
    long fd;

    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        fd = strtol(de->d_name, &end, 10);
        if (*end == '\0' && end != de->d_name && fd != dirfd(d) &&
            is_accepted(s, (int)fd))
            n++;
    }
    closedir(d);
    return n;
}

unsigned server_connections(struct server *s)
{
    const union MHD_DaemonInfo *info;
    unsigned n = 0, open;
    size_t i;

    for (i = 0; i < s->nmhd; i++) {
        info = MHD_get_daemon_info(s->mhd[i],
                                   MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (info != NULL)
            n += info->num_connections;
    }
    /* MHD counts a connection only once its thread has set it up, which a
     * thread preempted right after accept() may do much later: the
     * descriptors tell at once. */
    if (s->nlisten_addr > 0 && (open = accepted_open(s)) > n)
        n = open;
    return n;
}

unsigned server_requests(struct server *s)
{
    return atomic_load_explicit(&s->active, memory_order_relaxed);
}

void server_refuse_downloads(struct server *s)
{
    atomic_store_explicit(&s->refusing, true, memory_order_release);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void server_flush_hits(struct server *s)
{
    char **keys = xcalloc(HIT_BATCH, sizeof(*keys));
    struct cache_hit *hits = xcalloc(HIT_BATCH, sizeof(*hits));
    int64_t now = wall_ms();
    size_t n = 0, m = 0, i;

    n = tlq_drain(s->hitq, (void **)keys, HIT_BATCH);
    if (n == 0)
        goto out;
    qsort(keys, n, sizeof(*keys), cmp_str);
    for (i = 0; i < n; i++) {
        if (m > 0 && strcmp(hits[m - 1].key, keys[i]) == 0) {
            hits[m - 1].count++;
            continue;
        }
        hits[m].key = keys[i];
        hits[m].count = 1;
        hits[m].when_ms = now;
        m++;
    }
    cache_record_hits(s->cache, hits, m);
    board_hits(&metrics->board, hits, m);
    for (i = 0; i < n; i++)
        free(keys[i]);
out:
    free(keys);
    free(hits);
}

void server_sweep_responses(struct server *s)
{
    size_t n = rcache_sweep(s);

    if (n > 0)
        log_debug("let go of %zu kept responses of unlinked files", n);
}

void server_stop(struct server *s)
{
    size_t i;
    char *k;

    if (s == NULL)
        return;
    /* MHD must not stop with suspended connections */
    server_api_quiesce(s);
    for (i = 0; i < s->nmhd; i++)
        MHD_stop_daemon(s->mhd[i]);
    server_api_stop(s);
    rcache_free_all(s);
    pthread_mutex_destroy(&s->rcache_lock);
    while (tlq_drain(s->hitq, (void **)&k, 1) == 1)
        free(k);
    tlq_free(s->hitq);
    if (s->access_fd > STDERR_FILENO)
        close(s->access_fd);
    acl_free(s->admin_acl);
    free(s);
}
