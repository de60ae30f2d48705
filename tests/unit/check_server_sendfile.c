/* SPDX-License-Identifier: MIT */
/* Unit tests for src/server_sendfile: headers held for a file body leave
 * in the body's first segment, and nothing else changes. */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <arpa/inet.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_data_segs_out */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server_sendfile.h"

static int srv = -1, cli = -1, file = -1;

/* A loopback TCP connection: SRV sends, CLI receives; FILE holds 1000
 * bytes to send from. */
static void setup(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    char path[] = "/tmp/check_server_sendfile.XXXXXX", buf[1000];
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(l, 1), 0);
    ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sa, &len), 0);
    cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(connect(cli, (struct sockaddr *)&sa, sizeof(sa)), 0);
    srv = accept(l, NULL, NULL);
    ck_assert_int_ge(srv, 0);
    close(l);
    file = mkstemp(path);
    ck_assert_int_ge(file, 0);
    unlink(path);
    memset(buf, 'b', sizeof(buf));
    ck_assert_int_eq(write(file, buf, sizeof(buf)), (int)sizeof(buf));
}

static void teardown(void)
{
    server_sendfile_release(srv);
    close(srv);
    close(cli);
    close(file);
}

static int opt(int name, int val)
{
    return setsockopt(srv, IPPROTO_TCP, name, &val, sizeof(val));
}

static int corked(void)
{
    int val = -1;
    socklen_t len = sizeof(val);

    ck_assert_int_eq(getsockopt(srv, IPPROTO_TCP, TCP_CORK, &val, &len), 0);
    return val;
}

static unsigned data_segments_sent(void)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);

    memset(&ti, 0, sizeof(ti));
    ck_assert_int_eq(getsockopt(srv, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
    ck_assert_uint_ge(len, offsetof(struct tcp_info, tcpi_data_segs_out) +
                               sizeof(ti.tcpi_data_segs_out));
    return ti.tcpi_data_segs_out;
}

/* What libmicrohttpd 0.9.75 does for an fd response on a keep-alive
 * connection: headers into the corked socket, an uncork to push them,
 * a cork for the body, the body by sendfile, and a push at its end.
 * Returns the data segments it took. */
static unsigned send_like_mhd(void)
{
    static const char headers[] = "HTTP/1.1 200 OK\r\nContent-Length: "
                                  "1000\r\n\r\n";
    unsigned before = data_segments_sent();
    char buf[2048];
    off_t off = 0;
    size_t got = 0;
    ssize_t n;

    ck_assert_int_eq(opt(TCP_CORK, 1), 0);
    ck_assert_int_eq(send(srv, headers, sizeof(headers) - 1, MSG_NOSIGNAL),
                     (int)sizeof(headers) - 1);
    ck_assert_int_eq(opt(TCP_CORK, 0), 0);
    ck_assert_int_eq(opt(TCP_CORK, 1), 0);
    ck_assert_int_eq(sendfile64(srv, file, &off, 1000), 1000);
    ck_assert_int_eq(opt(TCP_NODELAY, 1), 0);
    while (got < sizeof(headers) - 1 + 1000) {
        n = recv(cli, buf, sizeof(buf), 0);
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
    }
    ck_assert_uint_eq(got, sizeof(headers) - 1 + 1000);
    return data_segments_sent() - before;
}

/* What libmicrohttpd 0.9.75 does for a body it sends in one piece: that
 * piece is its last, so after the uncork it neither corks nor pushes.
 * Returns the data segments it took; the socket must be open after. */
static unsigned send_like_mhd_one_piece(void)
{
    static const char headers[] = "HTTP/1.1 206 Partial Content\r\n"
                                  "Content-Length: 1\r\n\r\n";
    unsigned before = data_segments_sent();
    char buf[256];
    off_t off = 0;
    size_t got = 0;
    ssize_t n;

    ck_assert_int_eq(opt(TCP_NODELAY, 1), 0);
    ck_assert_int_eq(opt(TCP_CORK, 1), 0);
    ck_assert_int_eq(send(srv, headers, sizeof(headers) - 1, MSG_NOSIGNAL),
                     (int)sizeof(headers) - 1);
    ck_assert_int_eq(opt(TCP_CORK, 0), 0);
    ck_assert_int_eq(sendfile64(srv, file, &off, 1), 1);
    ck_assert_int_eq(corked(), 0);
    while (got < sizeof(headers)) {
        n = recv(cli, buf, sizeof(buf), 0);
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
    }
    ck_assert_uint_eq(got, sizeof(headers));
    return data_segments_sent() - before;
}

/* The skipped uncork is made after a one-piece body, not left to the
 * cork's 200 ms timer. */
START_TEST(test_owed_uncork_made_after_one_piece)
{
    ck_assert_uint_eq(send_like_mhd_one_piece(), 2);
    server_sendfile_hold_headers(srv);
    ck_assert_uint_eq(send_like_mhd_one_piece(), 1);
    ck_assert_uint_eq(send_like_mhd_one_piece(), 2);
}
END_TEST

/* A request that ends with the uncork still owed gets it then. */
START_TEST(test_owed_uncork_made_at_release)
{
    ck_assert_int_eq(opt(TCP_CORK, 1), 0);
    server_sendfile_hold_headers(srv);
    ck_assert_int_eq(opt(TCP_CORK, 0), 0);
    ck_assert_int_eq(corked(), 1);
    server_sendfile_release(srv);
    ck_assert_int_eq(corked(), 0);
}
END_TEST

START_TEST(test_headers_leave_with_the_body)
{
    /* as MHD does it alone: the headers in a segment of their own */
    ck_assert_uint_eq(send_like_mhd(), 2);
    server_sendfile_hold_headers(srv);
    ck_assert_uint_eq(send_like_mhd(), 1);
    /* the hold served one response only */
    ck_assert_uint_eq(send_like_mhd(), 2);
}
END_TEST

/* One uncork is skipped, the next one goes through. */
START_TEST(test_hold_skips_one_uncork)
{
    ck_assert_int_eq(opt(TCP_CORK, 1), 0);
    server_sendfile_hold_headers(srv);
    ck_assert_int_eq(opt(TCP_CORK, 0), 0);
    ck_assert_int_eq(corked(), 1);
    ck_assert_int_eq(opt(TCP_CORK, 0), 0);
    ck_assert_int_eq(corked(), 0);
}
END_TEST

/* The body's first sendfile call, or the end of the request, drops a
 * hold that no uncork used. */
START_TEST(test_hold_dropped_by_body_or_release)
{
    off_t off = 0;

    ck_assert_int_eq(opt(TCP_CORK, 1), 0);
    server_sendfile_hold_headers(srv);
    ck_assert_int_eq(sendfile64(srv, file, &off, 10), 10);
    ck_assert_int_eq(opt(TCP_CORK, 0), 0);
    ck_assert_int_eq(corked(), 0);

    ck_assert_int_eq(opt(TCP_CORK, 1), 0);
    server_sendfile_hold_headers(srv);
    server_sendfile_release(srv);
    ck_assert_int_eq(opt(TCP_CORK, 0), 0);
    ck_assert_int_eq(corked(), 0);
}
END_TEST

/* Other sockets, other options and bad arguments go to the kernel as they
 * are. */
START_TEST(test_everything_else_unchanged)
{
    int one = 1, val = 0;
    socklen_t len = sizeof(val);

    server_sendfile_hold_headers(srv);
    ck_assert_int_eq(setsockopt(cli, IPPROTO_TCP, TCP_CORK, &one, 4), 0);
    one = 0;
    ck_assert_int_eq(setsockopt(cli, IPPROTO_TCP, TCP_CORK, &one, 4), 0);
    ck_assert_int_eq(getsockopt(cli, IPPROTO_TCP, TCP_CORK, &val, &len), 0);
    ck_assert_int_eq(val, 0);
    one = 1;
    ck_assert_int_eq(
        setsockopt(srv, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)), 0);
    ck_assert_int_eq(setsockopt(-1, IPPROTO_TCP, TCP_CORK, &one, 4), -1);
    server_sendfile_hold_headers(-1);
    server_sendfile_hold_headers(1 << 30);
    server_sendfile_release(1 << 30);
    /* the hold on SRV is still there */
    ck_assert_int_eq(opt(TCP_CORK, 1), 0);
    ck_assert_int_eq(opt(TCP_CORK, 0), 0);
    ck_assert_int_eq(corked(), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("server_sendfile");
    TCase *tc = tcase_create("hold");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_headers_leave_with_the_body);
    tcase_add_test(tc, test_hold_skips_one_uncork);
    tcase_add_test(tc, test_owed_uncork_made_after_one_piece);
    tcase_add_test(tc, test_owed_uncork_made_at_release);
    tcase_add_test(tc, test_hold_dropped_by_body_or_release);
    tcase_add_test(tc, test_everything_else_unchanged);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
