/* SPDX-License-Identifier: MIT */
/*
 * hitload: keep-alive GET load that discards response bodies in the kernel.
 *
 * wrk copies every body into user space; at 1 MiB per response that copy
 * is most of the machine's CPU, and two servers of different cost then
 * show the same rate: the client's.  hitload reads each response's head,
 * then drops its Content-Length bytes with recv(MSG_TRUNC), which TCP
 * frees without copying, so the server's cost decides the rate.
 *
 * usage: hitload PORT PATH CONNS SECONDS   (127.0.0.1, HTTP/1.1)
 * prints "REQUESTS/S REQUESTS"; exits 1 on a connection error or on a
 * status other than 200.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { HEAD_MAX = 4096 };

struct conn {
    int fd;
    size_t head_len;    /* bytes of the head read so far */
    size_t body_left;   /* once the head is in: body bytes still to drop */
    bool in_body;
    char head[HEAD_MAX];
};

static char request[512];
static size_t request_len;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const char *what)
{
    fprintf(stderr, "hitload: %s: %s\n", what, errno ? strerror(errno) : "bad response");
    return -1;
}

static int send_request(struct conn *c)
{
    c->head_len = 0;
    c->in_body = false;
    if (send(c->fd, request, request_len, MSG_NOSIGNAL) != (ssize_t)request_len)
        return fail("send");
    return 0;
}

/* The head in C->head is complete (ends at END): check the status, take
 * the length, and count the body bytes that came with the head. */
static int parse_head(struct conn *c, const char *end)
{
    const char *cl = strcasestr(c->head, "\r\ncontent-length:");
    size_t extra = c->head_len - (size_t)(end + 4 - c->head);
    unsigned long long len;

    errno = 0;
    if (strncmp(c->head, "HTTP/1.1 200 ", 13) != 0 || cl == NULL || cl > end)
        return fail("response");
    len = strtoull(cl + 17, NULL, 10);
    if (extra > len)
        return fail("response longer than its Content-Length");
    c->body_left = len - extra;
    c->in_body = true;
    return 0;
}

/* Read what the socket has.  1 when a response ended, 0 when more must
 * come, -1 on error. */
static int on_readable(struct conn *c)
{
    for (;;) {
        ssize_t n;
        if (!c->in_body) {
            char *end;
            n = recv(c->fd, c->head + c->head_len, HEAD_MAX - 1 - c->head_len, 0);
            if (n <= 0)
                break;
            c->head_len += (size_t)n;
            c->head[c->head_len] = '\0';
            end = strstr(c->head, "\r\n\r\n");
            if (end == NULL) {
                if (c->head_len == HEAD_MAX - 1)
                    return fail("head too long");
                continue;
            }
            if (parse_head(c, end) < 0)
                return -1;
        } else if (c->body_left > 0) {
            char sink;
            n = recv(c->fd, &sink, c->body_left, MSG_TRUNC);
            if (n <= 0)
                break;
            c->body_left -= (size_t)n;
        }
        if (c->in_body && c->body_left == 0)
            return 1;
    }
    if (errno == EAGAIN)
        return 0;
    return fail("recv");
}

static int open_conn(struct conn *c, int port, int ep)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
    int one = 1;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        return fail("connect");
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        return fail("epoll_ctl");
    return send_request(c);
}

int main(int argc, char **argv)
{
    struct epoll_event evs[64];
    struct conn *conns;
    unsigned long long done = 0;
    double t0, until;
    int port, nconns, ep;

    if (argc != 5) {
        fprintf(stderr, "usage: hitload PORT PATH CONNS SECONDS\n");
        return 2;
    }
    port = atoi(argv[1]);
    nconns = atoi(argv[3]);
    request_len = (size_t)snprintf(request, sizeof request,
        "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", argv[2], port);
    conns = calloc((size_t)nconns, sizeof *conns);
    ep = epoll_create1(0);
    if (conns == NULL || ep < 0 || request_len >= sizeof request)
        return 1;
    for (int i = 0; i < nconns; i++)
        if (open_conn(&conns[i], port, ep) < 0)
            return 1;
    t0 = now();
    until = t0 + atof(argv[4]);
    while (now() < until) {
        int n = epoll_wait(ep, evs, 64, 100);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            int r = on_readable(c);
            if (r < 0)
                return 1;
            if (r == 1) {
                done++;
                if (send_request(c) < 0)
                    return 1;
            }
        }
    }
    printf("%.1f %llu\n", done / (now() - t0), done);
    return 0;
}
