/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

#include "cache.h"
#include "config.h"
#include "decompress.h"
#include "fetch_int.h"
#include "fileio.h"
#include "inflight.h"
#include "jobq.h"
#include "log.h"
#include "metrics.h"
#include "nospace.h"
#include "store.h"
#include "timeutil.h"
#include "upstream.h"
#include "upslot.h"
#include "xalloc.h"

#define FETCH_QUEUE_SIZE 4096
#define FETCH_ORIGIN_CONNECT_MS 5000L
/* Redirects an upstream may send before the attempt fails. */
#define FETCH_REDIRECTS 8

enum job_kind { JOB_DOWNLOAD, JOB_GZIP };

struct job {
    enum job_kind kind;
    struct dl *dl;               /* JOB_DOWNLOAD: a reference */
    char key[SYMKEY_CANON_MAX];  /* JOB_GZIP */
};

struct gz_pending {
    char key[SYMKEY_CANON_MAX];
    struct gz_pending *next;
};

struct fetch {
    const struct config *cfg;    /* immutable */
    struct cache *cache;         /* immutable */
    struct jobq *q;
    pthread_t *threads;          /* immutable after start */
    unsigned nthreads;           /* immutable after start */
    atomic_bool stopping;        /* set once by fetch_stop */
    atomic_uint pending;         /* download jobs queued or running */
    pthread_mutex_t gz_lock;
    struct gz_pending *gz;       /* protected by gz_lock */
};

/* One downloader thread. */
struct fetcher {
    struct fetch *f;
    unsigned id;
    CURL *curl;
    char errbuf[CURL_ERROR_SIZE];
    /* CURLOPT_RESOLVE puts a pin into the handle's DNS cache for good,
     * and neither clearing the option nor curl_easy_reset() takes it out:
     * a later transfer to the same host and port would still connect to
     * the pinned address.  Only a "-host:port" entry, applied by the next
     * transfer, removes it; UNPIN holds that entry for every transfer
     * until the next pin (PINNED is its "host:port"). */
    char pinned[300];
    struct curl_slist *unpin;
};

/* How one attempt at one upstream ended. */
enum attempt {
    ATTEMPT_OK,
    ATTEMPT_NOT_FOUND,
    ATTEMPT_RETRY,   /* transient: may be retried */
    ATTEMPT_ERROR,   /* this upstream failed for good */
    ATTEMPT_FATAL,   /* local failure or bytes already streamed: stop */
    ATTEMPT_RESUME,  /* cut after clients read bytes: ask for the rest */
    ATTEMPT_UNSTORED, /* whole, sent to the clients, but not stored */
};

/* Longest validator kept for If-Range; a longer one is not resumed on. */
#define FETCH_VALIDATOR_MAX 256

/* The transfer of one download, across attempts. */
struct xfer {
    struct fetcher *ft;
    struct dl *d;
    int fd;               /* temp file, written */
    char part[STORE_PATH_MAX];
    char info[STORE_PATH_MAX];
    uint64_t written;
    bool started;         /* clients may have read bytes */
    bool encoded;         /* final response had a Content-Encoding */
    bool twin;            /* this attempt fetches the compressed twin */
    bool packed;          /* the body must be decoded: never streamed raw */
    unsigned char head[DECOMPRESS_SNIFF_LEN]; /* the body's first bytes */
    size_t nhead;
    bool write_failed;
    bool no_space;        /* the write failed for want of space */
    enum nospace_where where; /* NO_SPACE: which */
    uint64_t charged;     /* temp bytes counted against max_tmp_size */
    const struct config_upstream *up; /* NULL for an origin */
    const struct upstream_auth *auth; /* UP's headers and signing */
    const char *label;    /* who sends it: upstream name or origin label */
    bool hold;            /* an origin's body: nobody streams it */
    uint64_t max;         /* largest body accepted (0: no limit) */
    bool too_big;         /* the body passed MAX */
    bool answered;        /* a response header arrived */
    bool redirected;      /* the response is a redirect: its body is not */
    uint64_t t0_ms;       /* when this attempt started */
    uint64_t first_byte_ms; /* no answer by then: timeout (0: none) */
    enum dl_reason worst; /* the reason to report if nothing succeeds */
    /* Resuming a body cut after clients read some of it (see resumable()):
     * the response being received, then what the streamed one promised. */
    char etag[FETCH_VALIDATOR_MAX];     /* this response's ETag ("": none) */
    char modified[FETCH_VALIDATOR_MAX]; /* its Last-Modified */
    int64_t range_first, range_total;   /* its Content-Range (-1: none) */
    char validator[FETCH_VALIDATOR_MAX]; /* If-Range of the streamed one */
    int64_t announced;    /* its full length, -1 unknown */
    uint64_t resume_at;   /* this attempt asks for bytes from here (0: all) */
    unsigned resumes;     /* resumed attempts so far */
    const char *refused;  /* why a resumed answer was not appended */
};

void fetch_global_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        fatalx("curl_global_init failed");
}

static bool stopping(const struct fetch *f)
{
    return atomic_load_explicit(&f->stopping, memory_order_acquire);
}

/* Sleep MS milliseconds in short slices, returning early on stop. */
static void nap(const struct fetch *f, uint64_t ms)
{
    uint64_t end = mono_ms() + ms;

    while (!stopping(f) && mono_ms() < end)
        usleep(10000);
}

/* --- curl callbacks ---------------------------------------------------- */

/* When the header line BUF of LEN bytes is NAME's, copy its value without
 * blanks and CRLF to OUT; a value that does not fit leaves OUT "". */
static void header_value(const char *buf, size_t len, const char *name,
                         char *out, size_t outlen)
{
    size_t n = strlen(name);

    if (len <= n || strncasecmp(buf, name, n) != 0 || buf[n] != ':')
        return;
    buf += n + 1;
    len -= n + 1;
    while (len > 0 && (*buf == ' ' || *buf == '\t')) {
        buf++;
        len--;
    }
    while (len > 0 && strchr(" \t\r\n", buf[len - 1]) != NULL)
        len--;
    if (len >= outlen)
        len = 0;
    memcpy(out, buf, len);
    out[len] = '\0';
}

/* "Content-Range: bytes FIRST-LAST/TOTAL" into X's range fields. */
static void parse_content_range(struct xfer *x, const char *buf, size_t len)
{
    char v[96];
    long long first, last, total;
    int end = 0;

    v[0] = '\0';
    header_value(buf, len, "Content-Range", v, sizeof(v));
    if (v[0] == '\0')
        return;
    if (sscanf(v, "bytes %lld-%lld/%lld%n", &first, &last, &total, &end) !=
            3 ||
        v[end] != '\0' || first < 0 || last < first || total <= last)
        return;
    x->range_first = first;
    x->range_total = total;
}

static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;

    x->answered = true;
    /* A new status line starts a new response (after a redirect). */
    if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        const char *sp = memchr(buf, ' ', len);

        x->redirected = sp != NULL && sp + 1 < buf + len && sp[1] == '3';
        x->encoded = false;
        x->etag[0] = x->modified[0] = '\0';
        x->range_first = x->range_total = -1;
    } else if (len > 17 && strncasecmp(buf, "Content-Encoding:", 17) == 0) {
        const char *v = buf + 17;

        while (*v == ' ' || *v == '\t')
            v++;
        x->encoded = strncasecmp(v, "identity", 8) != 0;
    } else {
        header_value(buf, len, "ETag", x->etag, sizeof(x->etag));
        header_value(buf, len, "Last-Modified", x->modified,
                     sizeof(x->modified));
        parse_content_range(x, buf, len);
    }
    return len;
}

/* --- temp space -------------------------------------------------------- */

static void out_of_space(struct xfer *x, enum nospace_where where)
{
    x->no_space = true;
    x->where = where;
}

/* Hold TOTAL temp bytes for this download, within max_tmp_size (shared by
 * every worker through the metrics block).  False when that is passed. */
static bool tmp_hold(struct xfer *x, uint64_t total)
{
    uint64_t max = x->ft->f->cfg->max_tmp_size, more;
    int64_t now;

    if (total <= x->charged)
        return true;
    more = total - x->charged;
    now = atomic_fetch_add_explicit(&metrics->tmp_bytes, (int64_t)more,
                                    memory_order_relaxed) + (int64_t)more;
    if (max != 0 && (uint64_t)now > max) {
        atomic_fetch_sub_explicit(&metrics->tmp_bytes, (int64_t)more,
                                  memory_order_relaxed);
        out_of_space(x, NOSPACE_TMP);
        return false;
    }
    x->charged = total;
    return true;
}

static void tmp_release(struct xfer *x)
{
    atomic_fetch_sub_explicit(&metrics->tmp_bytes, (int64_t)x->charged,
                              memory_order_relaxed);
    x->charged = 0;
}

/* Reserve an announced body's LEN bytes, in max_tmp_size and on disk,
 * before any client sees a byte: a full disk is then a clean miss, not a
 * body cut short.  File systems without fallocate() are not asked. */
static int reserve(struct xfer *x, uint64_t len)
{
    if (!tmp_hold(x, len))
        return -ENOSPC;
    if (fallocate(x->fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)len) != 0 &&
        nospace_errno(-errno)) {
        out_of_space(x, NOSPACE_DISK);
        return -ENOSPC;
    }
    return 0;
}

/* First body byte: the response is final, so clients can get headers. */
static int start_stream(struct xfer *x)
{
    curl_off_t cl = -1;
    int rfd;

    curl_easy_getinfo(x->ft->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    /* A decoded body's length is not the announced one. */
    if (x->encoded)
        cl = -1;
    if (cl > 0 && reserve(x, (uint64_t)cl) != 0)
        return -ENOSPC;
    rfd = open(x->part, O_RDONLY | O_CLOEXEC);
    if (rfd < 0)
        return -errno;
    fetch_tail_announce(x->info, (int64_t)cl);
    dl_stream(x->d, rfd, (int64_t)cl, x->label);
    x->started = true;
    x->announced = (int64_t)cl;
    /* If-Range wants a strong validator: a weak ETag does not say the
     * bytes are the same. */
    if (x->etag[0] != '\0' && strncmp(x->etag, "W/", 2) != 0)
        memcpy(x->validator, x->etag, sizeof(x->validator));
    else
        memcpy(x->validator, x->modified, sizeof(x->validator));
    /* The bytes written while the start was being sniffed. */
    dl_progress(x->d, x->written);
    return 0;
}

/* Keep the body's first bytes; once there are enough, a compressed body
 * is held back from the clients (they get the decoded file when it is
 * published) and any other starts streaming. */
static int sniff(struct xfer *x, const char *buf, size_t len)
{
    size_t take = sizeof(x->head) - x->nhead;

    if (take > len)
        take = len;
    memcpy(x->head + x->nhead, buf, take);
    x->nhead += take;
    if (x->packed || x->nhead < sizeof(x->head))
        return 0;
    if (decompress_sniff(dl_orig(x->d)->file, x->head, x->nhead) !=
        DECOMPRESS_NONE) {
        x->packed = true;
        return 0;
    }
    return x->hold ? 0 : start_stream(x);
}

/* Why the answer to a resumed request cannot continue the bytes clients
 * already have, or NULL when it can: only a 206 for exactly the rest of
 * the same file (If-Range made the server send 200 if it changed). */
static const char *resume_refusal(const struct xfer *x)
{
    long status = 0;

    curl_easy_getinfo(x->ft->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 206)
        return "the whole file came back (Range ignored or file changed)";
    if (x->range_first < 0 || (uint64_t)x->range_first != x->resume_at)
        return "Content-Range does not start where the body was cut";
    if (x->range_total != x->announced)
        return "Content-Range gives another length";
    if (x->encoded)
        return "the rest came with a Content-Encoding";
    return NULL;
}

static size_t on_body(char *buf, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    int rc;

    if (x->redirected)
        return len; /* a redirect's page: the file comes at the next hop */
    if (x->resume_at != 0 && x->written == x->resume_at &&
        (x->refused = resume_refusal(x)) != NULL) {
        x->write_failed = true;
        return 0;
    }
    /* curl refuses a too long Content-Length itself; this cuts a body
     * that announced none or lied. */
    if (x->max != 0 && x->written + len > x->max) {
        x->too_big = true;
        x->write_failed = true;
        return 0;
    }
    if (!tmp_hold(x, x->written + len)) {
        x->write_failed = true;
        return 0;
    }
    rc = write_full(x->fd, buf, len);
    if (rc != 0) {
        errno = -rc;
        log_warn("download %s: write %s", dl_key(x->d), x->part);
        if (nospace_errno(rc))
            out_of_space(x, NOSPACE_DISK);
        x->write_failed = true;
        return 0; /* curl aborts with CURLE_WRITE_ERROR */
    }
    if (!x->started && sniff(x, buf, len) != 0) {
        x->write_failed = true;
        return 0;
    }
    x->written += len;
    metrics_add(&metrics->bytes_downloaded, len);
    if (x->started)
        dl_progress(x->d, x->written);
    return len;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un)
{
    struct xfer *x = arg;

    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    /* The first-byte timeout: curl has none for HTTP. */
    if (!x->answered && x->first_byte_ms != 0 &&
        mono_ms() - x->t0_ms >= x->first_byte_ms)
        return 1;
    return stopping(x->ft->f) ? 1 : 0;
}

/* --- one attempt -------------------------------------------------------- */

bool fetch_serves(const struct config *cfg, const struct symkey *key)
{
    size_t i;

    for (i = 0; i < cfg->nupstreams; i++) {
        if (upstream_serves(&cfg->upstreams[i], key))
            return true;
    }
    return false;
}

static void setup_handle(struct fetcher *ft, struct xfer *x, const char *url,
                         long connect_ms, long timeout_ms)
{
    CURL *c = ft->curl;

    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_RESOLVE, ft->unpin);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    /* redirects are followed by hand: see perform() */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "symsrvd/" PACKAGE_VERSION);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ft->errbuf);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
}

static enum attempt classify_status(long status, struct xfer *x)
{
    if (status == 404 || status == 410)
        return ATTEMPT_NOT_FOUND;
    x->worst = DL_REASON_UPSTREAM_ERROR;
    /* 508: a symsrvd saw its own request come back; retrying loops again */
    if (status == 408 || status == 429 || (status >= 500 && status != 508))
        return ATTEMPT_RETRY;
    return ATTEMPT_ERROR;
}

static enum attempt classify(CURLcode rc, struct xfer *x)
{
    long status = 0;

    curl_easy_getinfo(x->ft->curl, CURLINFO_RESPONSE_CODE, &status);
    if (x->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        x->worst = DL_REASON_UPSTREAM_ERROR;
        return x->started ? ATTEMPT_FATAL : ATTEMPT_ERROR;
    }
    if (x->write_failed || stopping(x->ft->f))
        return ATTEMPT_FATAL;
    if (rc == CURLE_OK)
        return (status >= 200 && status < 300) ? ATTEMPT_OK
                                               : classify_status(status, x);
    if (rc == CURLE_HTTP_RETURNED_ERROR)
        return classify_status(status, x);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        if (x->worst != DL_REASON_UPSTREAM_ERROR)
            x->worst = DL_REASON_TIMEOUT;
    } else {
        x->worst = DL_REASON_UPSTREAM_ERROR;
    }
    return ATTEMPT_RETRY;
}

/* May the body clients are reading be continued with a Range request?
 * Only a body of known length whose bytes are the file's own (not
 * decoded from a Content-Encoding), with a validator for If-Range, while
 * the upstream's resumes last. */
static bool resumable(const struct xfer *x)
{
    return x->up != NULL && x->validator[0] != '\0' && x->announced > 0 &&
           x->written > 0 && (uint64_t)x->announced > x->written &&
           x->resumes < x->up->resumes;
}

/* Bytes some client already read cannot be taken back: once streaming
 * started, a failure the upstream may get over is resumed where it cut,
 * and anything else fails the download (nothing is cached). */
static enum attempt after_started(const struct xfer *x, enum attempt a)
{
    if (!x->started || a == ATTEMPT_OK)
        return a;
    return a == ATTEMPT_RETRY && resumable(x) ? ATTEMPT_RESUME : ATTEMPT_FATAL;
}

static enum metrics_outcome outcome_of(enum attempt a, CURLcode rc)
{
    switch (a) {
    case ATTEMPT_OK:
        return METRICS_UP_OK;
    case ATTEMPT_NOT_FOUND:
        return METRICS_UP_NOT_FOUND;
    default:
        break;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return METRICS_UP_TIMEOUT;
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
        rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
        rc == CURLE_GOT_NOTHING)
        return METRICS_UP_CONNECT;
    return METRICS_UP_ERROR;
}

/* The body of a completed response must have the announced length. */
static enum attempt check_length(struct xfer *x)
{
    curl_off_t cl = -1;

    curl_easy_getinfo(x->ft->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    /* a resumed answer's length is the rest's; the whole is the first's */
    if (x->resume_at != 0 && cl >= 0)
        cl = (curl_off_t)x->announced;
    if (!x->encoded && cl >= 0 && (uint64_t)cl != x->written) {
        log_warnx("download %s: %s sent %" PRIu64 " of %" PRId64 " bytes",
                  dl_key(x->d), x->label, x->written, (int64_t)cl);
        x->worst = DL_REASON_UPSTREAM_ERROR;
        return ATTEMPT_RETRY;
    }
    return ATTEMPT_OK;
}

/* Reset the per-response state for a new attempt and, unless it resumes
 * at X->resume_at, empty the temp file. */
static int attempt_reset(struct xfer *x)
{
    x->refused = NULL;
    if (x->resume_at == 0) {
        if (ftruncate(x->fd, 0) != 0 || lseek(x->fd, 0, SEEK_SET) != 0)
            return -1;
        tmp_release(x);
        x->written = 0;
    }
    x->encoded = false;
    x->packed = x->twin;
    x->nhead = 0;
    x->too_big = false;
    x->answered = false;
    x->redirected = false;
    x->t0_ms = mono_ms();
    x->ft->errbuf[0] = '\0';
    return 0;
}

/* --- upstream health ---------------------------------------------------- */

static struct breaker_rule breaker_rule_of(const struct config_upstream *up)
{
    struct breaker_rule r = {.failures = up->breaker_failures,
                             .window_ms = up->breaker_window_ms,
                             .cooldown_ms = up->breaker_cooldown_ms};

    return r;
}

/* Count an attempt at upstream I in its row (upslot.h), if it has one. */
static void count_outcome(size_t i, enum metrics_outcome o)
{
    size_t r = upslot_of(i);

    if (r != UPSLOT_NONE)
        metrics_add(&metrics->upstream[r][o], 1);
}

/* Upstreams without a row of the shared block (upslot.h) have no breaker. */
static bool breaker_allows(const struct config_upstream *up, size_t i)
{
    struct breaker_rule rule = breaker_rule_of(up);

    size_t r = upslot_of(i);

    return r == UPSLOT_NONE ||
           breaker_allow(&metrics->breakers[r], &rule, (int64_t)mono_ms());
}

static bool breaker_closed(size_t i)
{
    size_t r = upslot_of(i);

    return r == UPSLOT_NONE ||
           breaker_state(&metrics->breakers[r], (int64_t)mono_ms()) ==
               BREAKER_CLOSED;
}

/* Only timeouts and failed connections say the upstream is down; any
 * status, even a 5xx, says it is there. */
static void breaker_note(const struct config_upstream *up, size_t i,
                         enum metrics_outcome o)
{
    struct breaker_rule rule = breaker_rule_of(up);
    bool failed = o == METRICS_UP_TIMEOUT || o == METRICS_UP_CONNECT;
    size_t r = upslot_of(i);

    if (r != UPSLOT_NONE &&
        breaker_record(&metrics->breakers[r], &rule, failed,
                       (int64_t)mono_ms()))
        log_warnx("upstream %s: %u timeouts or connection failures: skipped "
                  "for %" PRIu64 " s",
                  up->name, up->breaker_failures,
                  up->breaker_cooldown_ms / 1000);
}

static struct curl_slist *add_header(struct curl_slist *h, const char *name,
                                     const char *value)
{
    char *line;
    struct curl_slist *n;

    if (value == NULL)
        return h;
    line = xasprintf("%s: %s", name, value);
    n = curl_slist_append(h, line); /* NULL, the list intact, on failure */
    free(line);
    return n != NULL ? n : h;
}

/* LINES ("Name: value", NULL-terminated, may be NULL) appended to H. */
static struct curl_slist *add_lines(struct curl_slist *h, char **lines)
{
    for (char **l = lines; l != NULL && *l != NULL; l++) {
        struct curl_slist *n = curl_slist_append(h, *l);

        h = n != NULL ? n : h;
    }
    return h;
}

/* A resumed request: the bytes from X->resume_at on, if the file is
 * still the one whose start clients have (If-Range), unencoded so that
 * the offsets are the file's. */
static struct curl_slist *ask_rest(struct xfer *x, struct curl_slist *hdrs)
{
    char range[32];

    snprintf(range, sizeof(range), "%" PRIu64 "-", x->resume_at);
    curl_easy_setopt(x->ft->curl, CURLOPT_RANGE, range);
    curl_easy_setopt(x->ft->curl, CURLOPT_ACCEPT_ENCODING, NULL);
    return add_header(hdrs, "If-Range", x->validator);
}

/* Our own request headers: who asked, through which proxies (see
 * loop_reason() in server_symbol.c), and the rest a resume asks for. */
static struct curl_slist *own_headers(struct xfer *x)
{
    struct curl_slist *h = add_header(
        add_header(NULL, "X-Forwarded-For", dl_xff(x->d)), "Via", dl_via(x->d));

    return x->resume_at != 0 ? ask_rest(x, h) : h;
}

/* URL's scheme, host and port as one string (new), or NULL. */
static char *origin_of(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *o = NULL;

    if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
            CURLUE_OK)
        o = xasprintf("%s://%s:%s", scheme, host, port);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return o;
}

static bool same_origin(const char *a, const char *b)
{
    char *oa = origin_of(a), *ob = origin_of(b);
    bool same = oa != NULL && ob != NULL && strcasecmp(oa, ob) == 0;

    free(oa);
    free(ob);
    return same;
}

/* Run the attempt at URL, following its redirects by hand: the upstream's
 * header lines and keys go to its own origin only, where libcurl would
 * send every custom header but Authorization and Cookie to any host a
 * redirect names.  The time limit covers all hops. */
static CURLcode perform(struct xfer *x, const char *url)
{
    CURL *c = x->ft->curl;
    struct curl_slist *own = own_headers(x),
                      *all = add_lines(own_headers(x), x->auth->headers);
    char *cur = xstrdup(url), *redir = NULL;
    uint64_t max_ms = x->up->max_time_ms, spent;
    CURLcode rc;

    for (unsigned hop = 0;; hop++) {
        bool home = hop == 0 || same_origin(url, cur);

        curl_easy_setopt(c, CURLOPT_URL, cur);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, home ? all : own);
        curl_easy_setopt(c, CURLOPT_AWS_SIGV4,
                         home ? x->auth->sigv4 : NULL);
        curl_easy_setopt(c, CURLOPT_USERPWD,
                         home && x->auth->sigv4 != NULL ? x->auth->userpwd
                                                        : NULL);
        x->redirected = false;
        rc = curl_easy_perform(c);
        redir = NULL;
        if (rc != CURLE_OK || !x->redirected ||
            curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &redir) != CURLE_OK ||
            redir == NULL)
            break;
        spent = mono_ms() - x->t0_ms;
        if (hop == FETCH_REDIRECTS || (max_ms != 0 && spent >= max_ms)) {
            rc = hop == FETCH_REDIRECTS ? CURLE_TOO_MANY_REDIRECTS
                                        : CURLE_OPERATION_TIMEDOUT;
            break;
        }
        if (max_ms != 0)
            curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(max_ms - spent));
        free(cur);
        cur = xstrdup(redir);
    }
    x->redirected = false;
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(own);
    curl_slist_free_all(all);
    free(cur);
    return rc;
}

static enum attempt attempt_once(struct xfer *x, const char *url,
                                 size_t up_index)
{
    struct fetcher *ft = x->ft;
    enum attempt a;
    CURLcode rc;

    if (attempt_reset(x) != 0)
        return ATTEMPT_FATAL;
    /* timeout bounds the wait for an answer (on_progress()); a body may
     * take up to max_time while it keeps up low_speed_limit */
    setup_handle(ft, x, url, (long)x->up->connect_timeout_ms,
                 (long)x->up->max_time_ms);
    curl_easy_setopt(ft->curl, CURLOPT_LOW_SPEED_LIMIT,
                     (long)x->up->low_speed_limit);
    curl_easy_setopt(ft->curl, CURLOPT_LOW_SPEED_TIME,
                     (long)((x->up->low_speed_time_ms + 999) / 1000));
    curl_easy_setopt(ft->curl, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t)x->up->max_file_size);
    x->max = x->up->max_file_size;
    x->first_byte_ms = x->up->timeout_ms;
    rc = perform(x, url);
    metrics_observe(&metrics->upstream_ms, mono_ms() - x->t0_ms);
    /* on_progress() cut an attempt that got no answer in time */
    if (rc == CURLE_ABORTED_BY_CALLBACK && !x->answered &&
        !stopping(ft->f)) {
        rc = CURLE_OPERATION_TIMEDOUT;
        snprintf(ft->errbuf, CURL_ERROR_SIZE, "no answer within %" PRIu64 " ms",
                 x->up->timeout_ms);
    }
    /* a resumed answer without a body never met on_body()'s check */
    if (rc == CURLE_OK && x->resume_at != 0 && x->refused == NULL &&
        (x->refused = resume_refusal(x)) != NULL)
        x->write_failed = true;
    a = classify(rc, x);
    if (a == ATTEMPT_OK)
        a = check_length(x);
    if (x->no_space)
        return a; /* ours, not the upstream's: nospace.h reports it */
    a = after_started(x, a);
    count_outcome(up_index, outcome_of(a, rc));
    breaker_note(x->up, up_index, outcome_of(a, rc));
    if (a != ATTEMPT_OK && a != ATTEMPT_NOT_FOUND)
        log_info("download %s: %s: %s", dl_key(x->d), url,
                 ft->errbuf[0] ? ft->errbuf : curl_easy_strerror(rc));
    return a;
}

/* Backoff before retry N (1-based): base * 2^(n-1), jittered to 50..150%. */
static uint64_t backoff_ms(uint64_t base, unsigned n)
{
    uint64_t d = base << (n - 1 < 16 ? n - 1 : 16);

    return d / 2 + (uint64_t)random() % (d + 1);
}

/* Ask upstream I at URL for the rest of the body clients are reading,
 * from where it was cut, after the retry backoff. */
static enum attempt resume(struct xfer *x, const char *url, size_t i)
{
    enum attempt a;

    x->resumes++;
    x->resume_at = x->written;
    metrics_add(&metrics->upstream_resumes, 1);
    log_info("download %s: %s cut at %" PRIu64 " of %" PRId64
             " bytes: resuming (%u of %u)",
             dl_key(x->d), x->label, x->written, x->announced, x->resumes,
             x->up->resumes);
    nap(x->ft->f, backoff_ms(x->up->retry_backoff_ms, x->resumes));
    a = attempt_once(x, url, i);
    if (x->refused != NULL) {
        metrics_add(&metrics->upstream_resumes_refused, 1);
        log_warnx("download %s: %s: resume refused: %s; its clients are cut "
                  "and the next request starts over",
                  dl_key(x->d), x->label, x->refused);
    }
    x->resume_at = 0;
    return a;
}

/* Fetch URL from upstream I, with retries. */
static enum attempt try_url(struct xfer *x, size_t i, const char *url)
{
    const struct config_upstream *up = &x->ft->f->cfg->upstreams[i];
    enum attempt a = ATTEMPT_ERROR;
    unsigned n;

    x->up = up;
    x->label = up->name;
    for (n = 0; n <= up->retries; n++) {
        if (n > 0) {
            /* the breaker opened on this ladder: stop paying for it */
            if (!breaker_closed(i))
                break;
            count_outcome(i, METRICS_UP_RETRY);
            nap(x->ft->f, backoff_ms(up->retry_backoff_ms, n));
        }
        a = attempt_once(x, url, i);
        while (a == ATTEMPT_RESUME)
            a = resume(x, url, i);
        if (a != ATTEMPT_RETRY || stopping(x->ft->f))
            break;
    }
    return a == ATTEMPT_RETRY ? ATTEMPT_ERROR : a;
}

/* May the decoded copy of X's body grow to TOTAL bytes?  It is temp
 * space like the body, which stays beside it until the copy replaces it:
 * both count against max_tmp_size. */
static bool unpack_hold(void *arg, uint64_t total)
{
    struct xfer *x = arg;

    return tmp_hold(x, x->written + total);
}

/* Replace the compressed body in the temp file by its decoded contents.
 * Nothing was streamed, so the temp file may change under its name. */
static enum attempt unpack(struct xfer *x)
{
    const char *dir = x->ft->f->cfg->cache_dir, *why;
    char plain[STORE_PATH_MAX];
    enum decompress_kind kind =
        decompress_sniff(dl_orig(x->d)->file, x->head, x->nhead);
    uint64_t size;
    int fd, rc;

    /* A twin is only ever a cabinet; a plain name's body is decoded as
     * sniffed. */
    if (x->twin && kind != DECOMPRESS_CAB) {
        why = "compressed twin is not a cabinet";
        goto bad;
    }
    if (store_tmp_path(dir, dl_key(x->d), "plain", plain, sizeof(plain)) !=
        0)
        return ATTEMPT_FATAL;
    rc = decompress_file(kind, x->part, plain, dl_orig(x->d)->file,
                         &(struct decompress_room){unpack_hold, x}, &size,
                         &why);
    /* the decoded file did not fit (the disk, or max_tmp_size as
     * unpack_hold() said): ours, not the body's fault */
    if (nospace_errno(rc)) {
        if (!x->no_space)
            out_of_space(x, NOSPACE_DISK);
        return ATTEMPT_FATAL;
    }
    if (rc != 0)
        goto bad;
    fd = open(plain, O_RDWR | O_CLOEXEC);
    if (fd < 0 || rename(plain, x->part) != 0) {
        log_warn("download %s: %s", dl_key(x->d), plain);
        if (fd >= 0)
            close(fd);
        unlink(plain);
        return ATTEMPT_FATAL;
    }
    close(x->fd);
    x->fd = fd;
    metrics_add(&metrics->upstream_decoded, 1);
    log_info("download %s: decoded %" PRIu64 " bytes into %" PRIu64
             " from %s", dl_key(x->d), x->written, size, x->label);
    x->written = size;
    return ATTEMPT_OK;
bad:
    log_warnx("download %s: %s: %s", dl_key(x->d), x->label, why);
    metrics_add(&metrics->upstream_rejected, 1);
    x->worst = DL_REASON_UPSTREAM_ERROR;
    return ATTEMPT_ERROR;
}

/* Fetch D's file from upstream I at each of the URLs its layout gives,
 * until one is not a 404: the file's own, then its compressed twins.  A
 * compressed body is decoded before anything else. */
static enum attempt try_upstream(struct xfer *x, size_t i)
{
    const struct config_upstream *up = &x->ft->f->cfg->upstreams[i];
    char *urls[UPSTREAM_MAX_URLS];
    struct upstream_auth auth;
    size_t nplain, n = upstream_urls(up, dl_orig(x->d), urls, &nplain);
    enum attempt a = ATTEMPT_ERROR;

    upstream_auth_init(up, &auth);
    x->auth = &auth;
    for (size_t k = 0; k < n; k++) {
        x->twin = k >= nplain;
        a = try_url(x, i, urls[k]);
        if (a != ATTEMPT_NOT_FOUND)
            break;
    }
    if (a == ATTEMPT_OK && x->packed)
        a = unpack(x);
    x->twin = false;
    x->auth = NULL;
    upstream_auth_clear(&auth);
    upstream_urls_free(urls, n);
    return a;
}

/* --- an origin: a place the configuration does not name ---------------- */

void fetch_origin_free(void *arg)
{
    struct fetch_origin *o = arg;

    if (o == NULL)
        return;
    free(o->label);
    for (size_t i = 0; i < 2; i++)
        free(o->urls[i]);
    for (char **h = o->headers; h != NULL && *h != NULL; h++)
        free(*h);
    free(o->headers);
    free(o->sigv4);
    free(o->userpwd);
    free(o);
}

/* The handle's resolve list for a transfer pinned to PIN
 * ("host:port:address[,address]..."): the last pin's removal first, then
 * PIN.  Its "host:port" is remembered for unpin_after(). */
static struct curl_slist *pin_list(struct fetcher *ft, const char *pin)
{
    struct curl_slist *l = ft->unpin ? curl_slist_append(NULL, ft->unpin->data)
                                     : NULL;
    const char *port = strchr(pin, ':'), *addr = port ? strchr(port + 1, ':')
                                                        : NULL;

    /* the host is a name (never a bracketed literal: those are not
     * pinned), so "host:port" ends at the second ':' even when the
     * address is IPv6 */
    snprintf(ft->pinned, sizeof(ft->pinned), "%.*s",
             addr ? (int)(addr - pin) : 0, pin);
    return curl_slist_append(l, pin);
}

/* After a pinned transfer: every later one removes the pin first. */
static void unpin_after(struct fetcher *ft)
{
    char *entry = xasprintf("-%s", ft->pinned);

    curl_slist_free_all(ft->unpin);
    ft->unpin = curl_slist_append(NULL, entry);
    free(entry);
    curl_easy_setopt(ft->curl, CURLOPT_RESOLVE, ft->unpin);
}

/* One hop of an origin's request: URL, checked and pinned by the caller
 * (RESOLVE, may be ""), with the origin's headers and keys on its own
 * URL only (FIRST).  Redirects are not followed here: *NEXT gets the
 * target (new string).  Otherwise OK, NOT_FOUND or ERROR (no retries). */
static enum attempt origin_hop(struct xfer *x, struct fetch_origin *o,
                               const char *url, const char *resolve,
                               bool first, char **next)
{
    CURL *c = x->ft->curl;
    struct curl_slist *pin = NULL, *hdrs = first ? add_lines(NULL, o->headers)
                                                 : NULL;
    char *redir = NULL;
    enum attempt a;
    CURLcode rc;

    *next = NULL;
    if (attempt_reset(x) != 0)
        return ATTEMPT_FATAL;
    setup_handle(x->ft, x, url, FETCH_ORIGIN_CONNECT_MS, (long)o->timeout_ms);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 0L);
    /* A pinned connection is neither taken from nor left to the pool of
     * kept-alive ones, which another address of the host may have made. */
    if (resolve[0] != '\0') {
        pin = pin_list(x->ft, resolve);
        curl_easy_setopt(c, CURLOPT_RESOLVE, pin);
        curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    if (first && o->sigv4 != NULL) {
        curl_easy_setopt(c, CURLOPT_AWS_SIGV4, o->sigv4);
        curl_easy_setopt(c, CURLOPT_USERPWD, o->userpwd);
    }
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &o->status);
    if (rc == CURLE_OK && o->status >= 300 && o->status < 400 &&
        curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &redir) == CURLE_OK &&
        redir != NULL) {
        *next = xstrdup(redir);
        a = ATTEMPT_ERROR;
    } else if (x->too_big) {
        snprintf(o->detail, sizeof(o->detail),
                 "download failed: maximum file size exceeded");
        a = ATTEMPT_ERROR;
    } else if (rc != CURLE_OK) {
        snprintf(o->detail, sizeof(o->detail), "download failed: %.200s",
                 x->ft->errbuf[0] ? x->ft->errbuf : curl_easy_strerror(rc));
        x->worst = rc == CURLE_OPERATION_TIMEDOUT ? DL_REASON_TIMEOUT
                                                  : DL_REASON_UPSTREAM_ERROR;
        a = ATTEMPT_ERROR;
    } else if (o->status >= 200 && o->status < 300) {
        a = check_length(x);
        if (a != ATTEMPT_OK)
            snprintf(o->detail, sizeof(o->detail),
                     "download failed: body shorter than announced");
    } else if (o->status >= 400 && o->status < 500 && o->status != 401 &&
               o->status != 403) {
        a = ATTEMPT_NOT_FOUND;
    } else {
        snprintf(o->detail, sizeof(o->detail), "download failed: HTTP %ld",
                 o->status);
        x->worst = DL_REASON_UPSTREAM_ERROR;
        a = ATTEMPT_ERROR;
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    if (pin != NULL && x->ft->pinned[0] != '\0')
        unpin_after(x->ft);
    curl_slist_free_all(hdrs);
    curl_slist_free_all(pin);
    return a == ATTEMPT_OK || a == ATTEMPT_NOT_FOUND ? a : ATTEMPT_ERROR;
}

/* URL from origin O, following its redirects by hand, each target checked
 * by O's own rule before any connection is made. */
static enum attempt origin_file(struct xfer *x, struct fetch_origin *o,
                                const char *url)
{
    char *cur = xstrdup(url), *next = NULL, resolve[FETCH_ORIGIN_PIN_MAX];
    enum attempt a = ATTEMPT_ERROR;

    for (unsigned hop = 0; hop <= FETCH_ORIGIN_REDIRECTS; hop++) {
        if (o->check(o->check_arg, cur, resolve, sizeof(resolve), o->detail,
                     sizeof(o->detail)) != 0) {
            a = ATTEMPT_ERROR;
            break;
        }
        a = origin_hop(x, o, cur, resolve, hop == 0, &next);
        if (next == NULL)
            break;
        free(cur);
        cur = next;
        a = ATTEMPT_ERROR;
        snprintf(o->detail, sizeof(o->detail),
                 "download failed: too many redirects");
    }
    free(cur);
    return a;
}

/* D's file from its origin: the file, then its compressed twin. */
static enum attempt try_origin(struct xfer *x, struct fetch_origin *o)
{
    enum attempt a = ATTEMPT_NOT_FOUND;

    x->label = o->label;
    x->hold = true;
    x->max = o->max_size;
    for (size_t i = 0; i < 2 && o->urls[i] != NULL; i++) {
        x->twin = i == 1;
        a = origin_file(x, o, o->urls[i]);
        if (a != ATTEMPT_NOT_FOUND)
            break;
    }
    if (a == ATTEMPT_OK && x->packed)
        a = unpack(x);
    if (a == ATTEMPT_ERROR && o->detail[0] == '\0')
        snprintf(o->detail, sizeof(o->detail), "download failed");
    x->twin = false;
    return a;
}

/* --- a whole download --------------------------------------------------- */

/* Hand the complete temp file and its index record to the store. */
static int publish(struct xfer *x)
{
    const struct config *cfg = x->ft->f->cfg;
    char neg[SYMKEY_CANON_MAX];
    struct cache_entry e;

    memset(&e, 0, sizeof(e));
    e.size = x->written;
    e.gz = x->written < cfg->gzip_min_size ? CACHE_GZ_NONE : CACHE_GZ_UNKNOWN;
    snprintf(e.upstream, sizeof(e.upstream), "%s", x->label);
    /* an origin's misses are remembered under the download's own key */
    if (dl_origin(x->d) != NULL)
        snprintf(neg, sizeof(neg), "%s", dl_key(x->d));
    else
        symkey_exact(dl_orig(x->d), neg, sizeof(neg));
    return store_publish(cfg->cache_dir, x->ft->f->cache, dl_key(x->d), neg,
                         x->fd, x->part, &e);
}

/* The body is whole in the temp file but there is no room to keep it:
 * its clients get it from there (dl_finish_unstored()), as they would a
 * download in progress, after the file's name is gone.  A body nobody
 * streamed yet (a decoded one) gets its stream now.  False when even that
 * fails. */
static bool stream_unstored(struct xfer *x)
{
    int rfd;

    if (x->started)
        return true;
    rfd = fcntl(x->fd, F_DUPFD_CLOEXEC, 0); /* pread: no shared offset */
    if (rfd < 0)
        return false;
    dl_stream(x->d, rfd, (int64_t)x->written, x->label);
    x->started = true;
    return true;
}

/* Report the lack of space with the bytes the body needed: its announced
 * length, else what had been written when the space ran out. */
static void no_space_miss(struct xfer *x)
{
    curl_off_t cl = -1;
    uint64_t want = x->written;

    curl_easy_getinfo(x->ft->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    if (cl > 0 && (uint64_t)cl > want)
        want = (uint64_t)cl;
    nospace_note(x->where, dl_key(x->d), want);
}

static void record_outcome(struct fetch *f, struct dl *d, bool all_404)
{
    char neg[SYMKEY_CANON_MAX];

    if (!all_404)
        return;
    if (dl_origin(d) != NULL)
        snprintf(neg, sizeof(neg), "%s", dl_key(d));
    else if (symkey_exact(dl_orig(d), neg, sizeof(neg)) < 0)
        return;
    cache_negative_insert(f->cache, neg,
                          wall_ms() + (int64_t)f->cfg->negative_ttl_ms);
}

/* Fetch D from the upstreams in order; called with D's lock file held. */
static void download(struct fetcher *ft, struct dl *d)
{
    struct fetch *f = ft->f;
    struct xfer x = {.ft = ft, .d = d, .fd = -1, .worst = DL_REASON_NONE,
                     .announced = -1};
    enum attempt a = ATTEMPT_ERROR;
    bool all_404 = true, asked = false, skipped = false;
    enum dl_reason reason;
    size_t i;
    int rc;

    if (store_tmp_path(f->cfg->cache_dir, dl_key(d), "part", x.part,
                       sizeof(x.part)) != 0 ||
        store_tmp_path(f->cfg->cache_dir, dl_key(d), "info", x.info,
                       sizeof(x.info)) != 0)
        goto out;
    unlink(x.info);
    x.fd = open(x.part, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (x.fd < 0) {
        log_warn("download %s: %s", dl_key(d), x.part);
        goto out;
    }
    if (dl_origin(d) != NULL) {
        a = try_origin(&x, dl_origin(d));
        all_404 = a == ATTEMPT_NOT_FOUND;
    }
    for (i = 0; dl_origin(d) == NULL && i < f->cfg->nupstreams; i++) {
        if (!upstream_serves(&f->cfg->upstreams[i], dl_orig(d)))
            continue;
        if (!breaker_allows(&f->cfg->upstreams[i], i)) {
            /* skipped: it may have had the file */
            all_404 = false;
            skipped = true;
            continue;
        }
        asked = true;
        a = try_upstream(&x, i);
        if (a != ATTEMPT_NOT_FOUND)
            all_404 = false;
        if (a == ATTEMPT_OK || a == ATTEMPT_FATAL)
            break;
    }
    /* A short body never reached sniff(); a decoded one is not streamed:
     * its clients are told it is done and serve the published file. */
    if (a == ATTEMPT_OK && !x.started && !x.packed && start_stream(&x) != 0)
        a = ATTEMPT_FATAL;
    if (a == ATTEMPT_OK) {
        rc = publish(&x);
        if (rc != 0 && nospace_errno(rc) && stream_unstored(&x))
            a = ATTEMPT_UNSTORED;
        else if (rc != 0)
            a = ATTEMPT_FATAL;
    }
out:
    tmp_release(&x);
    if (a != ATTEMPT_OK && x.fd >= 0)
        unlink(x.part);
    if (x.info[0] != '\0')
        unlink(x.info);
    if (x.fd >= 0)
        close(x.fd);
    if (a == ATTEMPT_UNSTORED) {
        log_info("sent %s unstored (%" PRIu64 " bytes from %s): no space",
                 dl_key(d), x.written, x.label);
        dl_finish_unstored(d, x.written);
        return;
    }
    if (a == ATTEMPT_OK) {
        log_info("stored %s (%" PRIu64 " bytes from %s, resumed %u times)",
                 dl_key(d), x.written, x.label, x.resumes);
        dl_finish(d, true, DL_REASON_NONE);
        /* an origin's file is only read by jobs, never served gzip'd */
        if (x.written >= f->cfg->gzip_min_size && dl_origin(d) == NULL)
            fetch_gzip(f, dl_key(d));
        return;
    }
    if (x.no_space) {
        reason = DL_REASON_NO_SPACE;
        no_space_miss(&x);
    } else if (skipped && !asked)
        reason = DL_REASON_UPSTREAM_DOWN;
    else if (all_404)
        reason = DL_REASON_NOT_FOUND;
    else
        reason = x.worst != DL_REASON_NONE ? x.worst : DL_REASON_UPSTREAM_ERROR;
    record_outcome(f, d, all_404);
    log_info("miss %s: %s", dl_key(d), dl_reason_name(reason));
    dl_finish(d, false, reason);
}

static void run_download(struct fetcher *ft, struct dl *d)
{
    struct fetch *f = ft->f;
    char lock[STORE_PATH_MAX];
    int fd = -1;

    metrics_gauge_add(&metrics->downloads_in_flight, 1);
    if (stopping(f) || store_lock_path(f->cfg->cache_dir, dl_key(d), lock,
                                       sizeof(lock)) != 0) {
        dl_finish(d, false, DL_REASON_UPSTREAM_ERROR);
        goto out;
    }
    fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        log_warn("download %s: %s", dl_key(d), lock);
        dl_finish(d, false, DL_REASON_UPSTREAM_ERROR);
        goto out;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0 &&
        fetch_tail(f->cfg->cache_dir, f->cache, &f->stopping, d, fd))
        goto out;
    /* We hold the lock: another worker may have just finished it. */
    if (store_present(f->cfg->cache_dir, f->cache, dl_key(d)))
        dl_finish(d, true, DL_REASON_NONE);
    else
        download(ft, d);
out:
    if (fd >= 0)
        close(fd); /* releases the lock */
    metrics_gauge_add(&metrics->downloads_in_flight, -1);
}

/* --- gzip jobs ---------------------------------------------------------- */

static void gz_forget(struct fetch *f, const char *key)
{
    struct gz_pending **pp, *p;

    pthread_mutex_lock(&f->gz_lock);
    for (pp = &f->gz; *pp != NULL; pp = &(*pp)->next) {
        if (strcmp((*pp)->key, key) == 0) {
            p = *pp;
            *pp = p->next;
            free(p);
            break;
        }
    }
    pthread_mutex_unlock(&f->gz_lock);
}

/* --- the pool ----------------------------------------------------------- */

static void run_job(struct fetcher *ft, struct job *j)
{
    metrics_gauge_add(&metrics->queue_depth, -1);
    if (j->kind == JOB_DOWNLOAD) {
        if (stopping(ft->f))
            dl_finish(j->dl, false, DL_REASON_UPSTREAM_ERROR);
        else
            run_download(ft, j->dl);
        dl_unref(j->dl);
        atomic_fetch_sub(&ft->f->pending, 1);
    } else {
        if (!stopping(ft->f))
            store_make_gzip(ft->f->cfg->cache_dir, ft->f->cache, j->key);
        gz_forget(ft->f, j->key);
    }
    free(j);
}

static void *fetcher_main(void *arg)
{
    struct fetcher *ft = arg;
    struct job *j;
    char name[16];

    snprintf(name, sizeof(name), "fetch-%u", ft->id);
    pthread_setname_np(pthread_self(), name);
    while ((j = jobq_pop(ft->f->q)) != NULL)
        run_job(ft, j);
    /* Closed: fail whatever is still queued so no client waits forever. */
    while ((j = jobq_try_pop(ft->f->q)) != NULL)
        run_job(ft, j);
    curl_easy_cleanup(ft->curl);
    curl_slist_free_all(ft->unpin);
    free(ft);
    return NULL;
}

int fetch_start(const struct config *cfg, struct cache *cache,
                struct fetch **out)
{
    struct fetch *f = xcalloc(1, sizeof(*f));
    unsigned i;

    f->cfg = cfg;
    f->cache = cache;
    f->q = jobq_new(FETCH_QUEUE_SIZE);
    atomic_init(&f->stopping, false);
    pthread_mutex_init(&f->gz_lock, NULL);
    f->threads = xcalloc(cfg->downloaders, sizeof(*f->threads));
    srandom((unsigned)(getpid() ^ mono_ms()));
    for (i = 0; i < cfg->downloaders; i++) {
        struct fetcher *ft = xcalloc(1, sizeof(*ft));
        int rc;

        ft->f = f;
        ft->id = i;
        ft->curl = curl_easy_init();
        if (ft->curl == NULL)
            fatalx("curl_easy_init failed");
        rc = pthread_create(&f->threads[i], NULL, fetcher_main, ft);
        if (rc != 0) {
            errno = rc;
            fatal("pthread_create");
        }
        f->nthreads++;
    }
    *out = f;
    return 0;
}

static bool push(struct fetch *f, struct job *j)
{
    if (!jobq_try_push(f->q, j))
        return false;
    metrics_gauge_add(&metrics->queue_depth, 1);
    return true;
}

bool fetch_download(struct fetch *f, struct dl *d)
{
    struct job *j = xcalloc(1, sizeof(*j));

    j->kind = JOB_DOWNLOAD;
    j->dl = d;
    dl_ref(d);
    atomic_fetch_add(&f->pending, 1);
    if (push(f, j))
        return true;
    atomic_fetch_sub(&f->pending, 1);
    dl_unref(d);
    free(j);
    return false;
}

unsigned fetch_pending(struct fetch *f)
{
    return atomic_load(&f->pending);
}

bool fetch_gzip(struct fetch *f, const char *key)
{
    struct gz_pending *p;
    struct job *j;

    pthread_mutex_lock(&f->gz_lock);
    for (p = f->gz; p != NULL; p = p->next) {
        if (strcmp(p->key, key) == 0)
            break;
    }
    if (p == NULL) {
        p = xcalloc(1, sizeof(*p));
        snprintf(p->key, sizeof(p->key), "%s", key);
        p->next = f->gz;
        f->gz = p;
        p = NULL; /* new: queue it */
    }
    pthread_mutex_unlock(&f->gz_lock);
    if (p != NULL)
        return true; /* already queued */
    j = xcalloc(1, sizeof(*j));
    j->kind = JOB_GZIP;
    snprintf(j->key, sizeof(j->key), "%s", key);
    if (push(f, j))
        return true;
    free(j);
    gz_forget(f, key);
    return false;
}

void fetch_stop(struct fetch *f)
{
    unsigned i;

    if (f == NULL || stopping(f))
        return;
    atomic_store_explicit(&f->stopping, true, memory_order_release);
    jobq_close(f->q);
    for (i = 0; i < f->nthreads; i++)
        pthread_join(f->threads[i], NULL);
}

void fetch_free(struct fetch *f)
{
    struct job *j;

    if (f == NULL)
        return;
    fetch_stop(f);
    /* Jobs pushed by request handlers after the threads left. */
    while ((j = jobq_try_pop(f->q)) != NULL) {
        if (j->kind == JOB_DOWNLOAD) {
            dl_finish(j->dl, false, DL_REASON_UPSTREAM_ERROR);
            dl_unref(j->dl);
        }
        free(j);
    }
    while (f->gz != NULL)
        gz_forget(f, f->gz->key);
    jobq_free(f->q);
    pthread_mutex_destroy(&f->gz_lock);
    free(f->threads);
    free(f);
}
