/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: requests through the real HTTP server in this
 * process, with an upstream that refuses connections and
 * allow_request_sources = no, so nothing leaves the machine.
 *
 * The first byte picks what the rest is:
 *  - even: the multipart body of a POST /minidump (boundary
 *    "fuzzBOUNDARY"), through libmicrohttpd's multipart parser, the upload
 *    handler that streams the dump to a file, and the minidump job.  It
 *    must get an HTTP answer that is not a 5xx, and leave no upload file.
 *  - odd: a raw request (request line, headers, body) for any handler:
 *    symbol and debuginfod paths, /symbolicate, admin actions, listings.
 *    It may be incomplete, so the answer is waited for only briefly; the
 *    sanitizers watch the server threads.
 */
#include "symsrvd_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <dirent.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cache.h"
#include "config.h"
#include "fetch.h"
#include "inflight.h"
#include "metrics.h"
#include "server.h"
#include "store.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* How long a raw request, maybe incomplete, waits for its answer. */
#define RAW_WAIT_MS 50

static unsigned short port;
static char *requests_dir;

static int listen_loopback(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        abort();
    port = ntohs(sa.sin_port);
    return fd;
}

/* A config whose only upstream refuses connections at once: nothing
 * this target does may leave the machine. */
static struct config *load_config(const char *dir)
{
    char *path = xasprintf("%s.conf", dir), err[256];
    struct config *cfg;
    FILE *f = fopen(path, "w");

    if (f == NULL)
        abort();
    fprintf(f, "[cache]\ndir = %s\n[symbolicate]\nallow_request_sources = no\n"
               "max_minidump_size = 64K\n[upstream closed]\n"
               "url = http://127.0.0.1:1/\n",
            dir);
    fclose(f);
    if (config_load(path, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        abort();
    }
    unlink(path);
    free(path);
    return cfg;
}

/* One daemon for the whole run, as a worker runs it. */
static void start_once(void)
{
    static char dir[] = "/tmp/fuzz_upload.XXXXXX";
    static struct server *srv;
    struct config *cfg;
    struct cache *cache;
    struct fetch *f;
    int fd;

    if (srv != NULL)
        return;
    if (mkdtemp(dir) == NULL)
        abort();
    cfg = load_config(dir);
    fd = listen_loopback();
    if (metrics_create() == NULL || store_prepare(cfg->cache_dir) != 0 ||
        cache_open(cfg->cache_dir, cfg->map_size, &cache) != 0 ||
        fetch_start(cfg, cache, &f) != 0 ||
        server_start(cfg, cache, inflight_new(), f, &fd, 1, &srv) != 0)
        abort();
    requests_dir = xasprintf("%s/.Symsrvd/requests", dir);
}

/* False when the server closed before taking all of BUF: it may answer
 * early and close, and then the client's unread answer can be lost to the
 * reset its own further sending causes. */
static bool send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* The status code of the answer to one request with BODY. */
static int connect_daemon(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        abort();
    while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
           errno != EISCONN) {
        if (errno != EINTR && errno != EALREADY)
            abort();
    }
    return fd;
}

/* Read FD to its end (or its receive timeout) into BUF of LEN bytes,
 * keeping the status line; the byte count, and *ERR the error if any. */
static size_t read_answer(int fd, char *buf, size_t len, int *err)
{
    size_t got = 0;
    ssize_t n;

    /* libFuzzer's -timeout alarm interrupts calls now and then */
    while ((n = recv(fd, buf + got, len - 1 - got, 0)) > 0 ||
           (n < 0 && errno == EINTR)) {
        got += n > 0 ? (size_t)n : 0;
        if (got == len - 1)
            got = 16; /* keep the status line, drop the rest */
    }
    buf[got] = '\0';
    *err = n < 0 ? errno : 0;
    return got;
}

/* The status code of the answer to a POST /minidump with BODY. */
static int post_minidump(const uint8_t *body, size_t len)
{
    char head[256], buf[4096];
    int fd = connect_daemon(), status = 0, err, n;
    size_t got;
    bool sent;

    n = snprintf(head, sizeof(head),
                 "POST /minidump HTTP/1.1\r\nHost: fuzz\r\n"
                 "Content-Type: multipart/form-data; boundary=fuzzBOUNDARY\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                 len);
    sent = send_all(fd, head, (size_t)n) && send_all(fd, body, len);
    /* no shutdown(SHUT_WR): libmicrohttpd takes a half-close for the
     * client going away and drops the request */
    got = read_answer(fd, buf, sizeof(buf), &err);
    close(fd);
    if (sscanf(buf, "HTTP/1.1 %d", &status) != 1 && sent) {
        fprintf(stderr, "no answer to a complete request (%zu bytes: %s)\n",
                got, strerror(err));
        abort();
    }
    return status;
}

/* Send REQ as it is and take what comes back within RAW_WAIT_MS. */
static void raw_request(const uint8_t *req, size_t len)
{
    struct timeval tv = {.tv_usec = RAW_WAIT_MS * 1000};
    char buf[4096];
    int fd = connect_daemon(), err;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (send_all(fd, req, len))
        read_answer(fd, buf, sizeof(buf), &err);
    close(fd);
}

static unsigned uploads_left(void)
{
    DIR *d = opendir(requests_dir);
    struct dirent *e;
    unsigned n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".upload") != NULL;
    closedir(d);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    start_once();
    if (data[0] & 1) {
        raw_request(data + 1, size - 1);
        return 0;
    }
    if (post_minidump(data + 1, size - 1) >= 500)
        abort();
    if (uploads_left() != 0)
        abort(); /* the request is over; its dump file must be gone */
    return 0;
}
