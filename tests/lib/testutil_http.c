/* SPDX-License-Identifier: MIT */
/*
 * testutil_http: the HTTP side of testutil.h.  Requests go through libcurl
 * (one easy handle per call, so any thread may call), except http_raw(),
 * which writes bytes to a socket for requests libcurl would rewrite.
 */
#include "symsrvd_config.h"

#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <zlib.h>

#include "xalloc.h"

#define HTTP_TIMEOUT_S      30
#define HTTP_RAW_TIMEOUT_MS 10000

struct http_buf {
    char *p;
    size_t len, cap;
};

static pthread_once_t http_once = PTHREAD_ONCE_INIT;

static void http_init_once(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fputs("testutil: curl_global_init failed\n", stderr);
        abort();
    }
}

static void http_buf_append(struct http_buf *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = b->len + n + 1 > 2 * b->cap ? b->len + n + 1 : 2 * b->cap;
        b->p = xreallocarray(b->p, b->cap, 1);
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static char *http_buf_take(struct http_buf *b)
{
    return b->p != NULL ? b->p : xstrdup("");
}

/* A body being received, and when its first byte came. */
struct http_body {
    struct http_buf buf;
    struct timespec start;
    double first_s;
    size_t abort_after; /* 0: never */
    uint64_t max_speed; /* 0: no limit */
};

static double http_since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) +
           (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void http_sleep(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        continue;
}

static size_t http_collect(char *ptr, size_t size, size_t nmemb, void *ud)
{
    http_buf_append(ud, ptr, size * nmemb);
    return size * nmemb;
}

static size_t http_collect_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct http_body *b = ud;

    if (b->first_s < 0 && size * nmemb > 0)
        b->first_s = http_since(&b->start);
    http_collect(ptr, size, nmemb, &b->buf);
    if (b->abort_after != 0 && b->buf.len >= b->abort_after)
        return 0; /* libcurl aborts with CURLE_WRITE_ERROR */
    if (b->max_speed != 0) {
        /* Pace by sleeping here: libcurl's own limit lets short transfers
         * through at full speed. */
        double ahead =
            (double)b->buf.len / (double)b->max_speed - http_since(&b->start);

        if (ahead > 0)
            http_sleep(ahead);
    }
    return size * nmemb;
}

static CURL *http_handle(const char *method, const char *url,
                         struct curl_slist *hdrs, const struct http_opts *opts,
                         struct http_body *body, struct http_buf *head)
{
    CURL *h = curl_easy_init();

    if (h == NULL) {
        fputs("testutil: curl_easy_init failed\n", stderr);
        abort();
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     opts->timeout_ms ? (long)opts->timeout_ms
                                      : HTTP_TIMEOUT_S * 1000L);
    if (opts->max_speed != 0) /* small reads, so the pacing is smooth */
        curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 4096L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_collect_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, http_collect);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, head);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (opts->body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, opts->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)opts->body_len);
    }
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    return h;
}

int http_request_opts(const char *method, const char *url,
                      const char *const *req_headers,
                      const struct http_opts *opts, struct http_resp *out)
{
    static const struct http_opts defaults = {0};
    struct http_body body = {.first_s = -1};
    struct http_buf head = {0};
    struct curl_slist *hdrs = NULL;
    CURL *h;

    pthread_once(&http_once, http_init_once);
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; req_headers != NULL && req_headers[i] != NULL; i++)
        hdrs = curl_slist_append(hdrs, req_headers[i]);
    if (opts == NULL)
        opts = &defaults;
    body.abort_after = opts->abort_after;
    body.max_speed = opts->max_speed;
    h = http_handle(method, url, hdrs, opts, &body, &head);
    clock_gettime(CLOCK_MONOTONIC, &body.start);
    out->curl_rc = (int)curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME, &out->first_byte_s);
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &out->total_s);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    out->first_body_s = body.first_s;
    out->len = body.buf.len;
    out->body = http_buf_take(&body.buf);
    out->headers = http_buf_take(&head);
    return out->curl_rc;
}

int http_request(const char *method, const char *url,
                 const char *const *req_headers, struct http_resp *out)
{
    return http_request_opts(method, url, req_headers, NULL, out);
}

int http_post(const char *url, const char *const *req_headers,
              const void *body, size_t len, struct http_resp *out)
{
    struct http_opts o = {.body = body, .body_len = len};

    return http_request_opts("POST", url, req_headers, &o, out);
}

int http_get(const char *url, const char *const *req_headers,
             struct http_resp *out)
{
    return http_request("GET", url, req_headers, out);
}

int http_head(const char *url, const char *const *req_headers,
              struct http_resp *out)
{
    return http_request("HEAD", url, req_headers, out);
}

struct http_many {
    const char *url;
    const char *const *req_headers;
    struct http_resp *out;
    pthread_barrier_t *go;
};

static void *http_many_thread(void *arg)
{
    struct http_many *job = arg;

    pthread_barrier_wait(job->go);
    http_get(job->url, job->req_headers, job->out);
    return NULL;
}

size_t http_get_many(const char *url, const char *const *req_headers, size_t n,
                     struct http_resp *out)
{
    struct http_many *jobs;
    pthread_t *tids;
    pthread_barrier_t go;
    size_t failed = 0;

    if (n == 0)
        return 0;
    jobs = xcalloc(n, sizeof(*jobs));
    tids = xcalloc(n, sizeof(*tids));
    pthread_once(&http_once, http_init_once);
    pthread_barrier_init(&go, NULL, (unsigned)n);
    for (size_t i = 0; i < n; i++) {
        jobs[i] = (struct http_many){url, req_headers, &out[i], &go};
        if (pthread_create(&tids[i], NULL, http_many_thread, &jobs[i]) != 0) {
            fputs("testutil: pthread_create failed\n", stderr);
            abort();
        }
    }
    for (size_t i = 0; i < n; i++) {
        pthread_join(tids[i], NULL);
        failed += out[i].curl_rc != 0;
    }
    pthread_barrier_destroy(&go);
    free(tids);
    free(jobs);
    return failed;
}

int testutil_gunzip(const void *in, size_t len, char **out, size_t *outlen)
{
    struct http_buf b = {0};
    unsigned char chunk[16384];
    z_stream z;
    int rc;

    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return -ENOMEM;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    do {
        z.next_out = chunk;
        z.avail_out = sizeof(chunk);
        rc = inflate(&z, Z_NO_FLUSH);
        http_buf_append(&b, chunk, sizeof(chunk) - z.avail_out);
    } while (rc == Z_OK);
    if (rc != Z_STREAM_END || z.avail_in != 0) {
        inflateEnd(&z);
        free(b.p);
        return -EINVAL;
    }
    inflateEnd(&z);
    *outlen = b.len;
    *out = http_buf_take(&b);
    return 0;
}

void http_resp_free(struct http_resp *r)
{
    if (r == NULL)
        return;
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof(*r));
}

/* Find header NAME in the header block starting at BLOCK. */
static char *http_header_in(const char *block, const char *name)
{
    size_t nlen = strlen(name);

    for (const char *line = block; *line != '\0';) {
        const char *eol = strchr(line, '\n');
        const char *end = eol != NULL ? eol : line + strlen(line);

        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;

            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            while (end > v &&
                   (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
            return xstrndup(v, (size_t)(end - v));
        }
        line = eol != NULL ? eol + 1 : end;
    }
    return NULL;
}

char *http_header(const struct http_resp *r, const char *name)
{
    const char *block, *next;

    if (r->headers == NULL)
        return NULL;
    block = r->headers;
    while ((next = strstr(block + 1, "\nHTTP/")) != NULL)
        block = next + 1;
    return http_header_in(block, name);
}

/* ---- raw socket ---- */

static int http_raw_connect(unsigned port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static int http_raw_send(int fd, const char *req)
{
    size_t len = strlen(req), off = 0;

    while (off < len) {
        ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

/* True once B holds a whole reply: headers plus Content-Length bytes, the
 * last chunk of a chunked body, or headers alone for HEAD/204/304. */
static bool http_raw_complete(const struct http_buf *b, bool head)
{
    const char *eoh = b->p != NULL ? strstr(b->p, "\r\n\r\n") : NULL;
    char *cl, *te;
    int status = 0;
    bool done;

    if (eoh == NULL)
        return false;
    sscanf(b->p, "HTTP/%*d.%*d %d", &status);
    if (head || status == 204 || status == 304)
        return true;
    eoh += 4;
    cl = http_header_in(b->p, "Content-Length");
    te = http_header_in(b->p, "Transfer-Encoding");
    if (cl != NULL)
        done = (size_t)(b->p + b->len - eoh) >= strtoull(cl, NULL, 10);
    else
        done = te != NULL && strstr(eoh, "\r\n0\r\n\r\n") != NULL;
    free(cl);
    free(te);
    return done;
}

static void http_raw_read(int fd, struct http_buf *b, bool head)
{
    struct timespec t0, t;
    char chunk[4096];

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!http_raw_complete(b, head)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long waited;
        ssize_t n;

        clock_gettime(CLOCK_MONOTONIC, &t);
        waited =
            (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (waited >= HTTP_RAW_TIMEOUT_MS ||
            poll(&p, 1, (int)(HTTP_RAW_TIMEOUT_MS - waited)) <= 0)
            break;
        n = recv(fd, chunk, sizeof(chunk), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        http_buf_append(b, chunk, (size_t)n);
    }
}

int http_raw(unsigned port, const char *request, char *out, size_t outlen)
{
    struct http_buf b = {0};
    int fd = http_raw_connect(port);
    int status = -1;

    if (fd >= 0 && http_raw_send(fd, request) == 0)
        http_raw_read(fd, &b, strncmp(request, "HEAD ", 5) == 0);
    if (fd >= 0)
        close(fd);
    if (b.p != NULL && sscanf(b.p, "HTTP/%*d.%*d %d", &status) != 1)
        status = -1;
    if (out != NULL && outlen > 0)
        snprintf(out, outlen, "%s", b.p != NULL ? b.p : "");
    free(b.p);
    return status;
}

/* ---- metrics ---- */

/* The value of sample line LINE (END exclusive) if it belongs to NAME and
 * contains LABEL; NAN otherwise. */
static double metrics_sample(const char *line, const char *end,
                             const char *name, const char *label)
{
    size_t nlen = strlen(name);
    char *copy, *val;
    double v = NAN;

    if ((size_t)(end - line) <= nlen || strncmp(line, name, nlen) != 0 ||
        (line[nlen] != '{' && line[nlen] != ' '))
        return NAN;
    copy = xstrndup(line, (size_t)(end - line));
    val = copy + nlen;
    if (*val == '{')
        val = strrchr(copy, '}');
    if (val != NULL && (label == NULL || strstr(copy, label) != NULL)) {
        char *num_end;

        v = strtod(val + 1, &num_end);
        if (num_end == val + 1)
            v = NAN;
    }
    free(copy);
    return v;
}

double metrics_get(const char *base_url, const char *name, const char *label)
{
    char *url = xasprintf("%s/metrics", base_url);
    struct http_resp r;
    double sum = 0;
    bool found = false;

    if (http_get(url, NULL, &r) == 0 && r.status == 200) {
        for (const char *line = r.body; *line != '\0';) {
            const char *eol = strchr(line, '\n');
            const char *end = eol != NULL ? eol : line + strlen(line);
            double v = metrics_sample(line, end, name, label);

            if (!isnan(v)) {
                sum += v;
                found = true;
            }
            line = eol != NULL ? eol + 1 : end;
        }
    }
    http_resp_free(&r);
    free(url);
    return found ? sum : -1;
}

bool metrics_wait(const char *base_url, const char *name, const char *label,
                  double value, unsigned timeout_ms)
{
    struct timespec t0, t, nap = {0, 20 * 1000000L};

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        double diff = metrics_get(base_url, name, label) - value;

        if (diff < 1e-9 && diff > -1e-9)
            return true;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 +
                (t.tv_nsec - t0.tv_nsec) / 1000000 >=
            (long)timeout_ms)
            return false;
        nanosleep(&nap, NULL);
    }
}
