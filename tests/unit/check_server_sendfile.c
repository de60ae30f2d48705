/* SPDX-License-Identifier: MIT */
/* Unit tests for src/server_sendfile: headers held for a file body leave
 * in the body's first segment, and nothing else changes. */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <arpa/inet.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_data_segs_out */
#include <netinet/in.h>
#include <stdbool.h>
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

/* One response as libmicrohttpd 0.9.75 sends an fd body, with the hold
 * (HOLD) or without.  The headers go into a socket that is corked
 * (WAS_CORKED: a body by sendfile went before on the connection) or open
 * (bodies from memory went before); on a corked socket MHD then uncorks
 * to push them.  A body of several pieces gets a cork, the piece, and a
 * push at its end; a body of one piece (BODY 1) is MHD's last piece,
 * sent with no cork call, and the socket must be open after it.
 * Returns the data segments the response took. */
static unsigned send_like_mhd(bool hold, bool was_corked, size_t body)
{
    static const char headers[] = "HTTP/1.1 200 OK\r\n\r\n";
    size_t want = sizeof(headers) - 1 + body, got = 0;
    unsigned before;
    char buf[2048];
    off_t off = 0;
    ssize_t n;

    ck_assert_int_eq(opt(TCP_NODELAY, 1), 0);
    ck_assert_int_eq(opt(TCP_CORK, was_corked), 0);
    if (hold)
        server_sendfile_hold_headers(srv);
    before = data_segments_sent();
    ck_assert_int_eq(send(srv, headers, sizeof(headers) - 1, MSG_NOSIGNAL),
                     (int)sizeof(headers) - 1);
    if (was_corked)
        ck_assert_int_eq(opt(TCP_CORK, 0), 0);
    if (body > 1)
        ck_assert_int_eq(opt(TCP_CORK, 1), 0);
    ck_assert_int_eq(sendfile64(srv, file, &off, body), (int)body);
    if (body > 1)
        ck_assert_int_eq(opt(TCP_NODELAY, 1), 0);
    else
        ck_assert_int_eq(corked(), 0);
    while (got < want) {
        n = recv(cli, buf, sizeof(buf), 0);
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
    }
    ck_assert_uint_eq(got, want);
    return data_segments_sent() - before;
}

/* Alone, MHD sends the headers in a segment of their own; held, they
 * leave with the body, and the hold serves one response only. */
START_TEST(test_headers_leave_with_the_body)
{
    ck_assert_uint_eq(send_like_mhd(false, true, 1000), 2);
    ck_assert_uint_eq(send_like_mhd(true, true, 1000), 1);
    ck_assert_uint_eq(send_like_mhd(false, true, 1000), 2);
}
END_TEST

/* The skipped uncork is made after a one-piece body, not left to the
 * cork's 200 ms timer. */
START_TEST(test_owed_uncork_made_after_one_piece)
{
    ck_assert_uint_eq(send_like_mhd(false, true, 1), 2);
    ck_assert_uint_eq(send_like_mhd(true, true, 1), 1);
    ck_assert_uint_eq(send_like_mhd(false, true, 1), 2);
}
END_TEST

/* Headers that MHD sends at once on a socket it takes to be open are
 * held too, by a cork set with the hold. */
START_TEST(test_hold_on_an_open_socket)
{
    ck_assert_uint_eq(send_like_mhd(false, false, 1000), 2);
    ck_assert_uint_eq(send_like_mhd(true, false, 1000), 1);
    ck_assert_uint_eq(send_like_mhd(false, false, 1), 2);
    ck_assert_uint_eq(send_like_mhd(true, false, 1), 1);
}
END_TEST

/* One uncork is skipped and owed: MHD's next uncork goes through, and
 * the end of the request makes it if MHD did not. */
START_TEST(test_skipped_uncork_is_owed)
{
    for (int way = 0; way < 2; way++) {
        ck_assert_int_eq(opt(TCP_CORK, 1), 0);
        server_sendfile_hold_headers(srv);
        ck_assert_int_eq(opt(TCP_CORK, 0), 0);
        ck_assert_int_eq(corked(), 1);
        if (way == 0)
            ck_assert_int_eq(opt(TCP_CORK, 0), 0);
        else
            server_sendfile_release(srv);
        ck_assert_int_eq(corked(), 0);
    }
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
    int one = 1, val = 0, pair[2];
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
    /* a socket that cannot be corked is not held: its uncorks fail as
     * the kernel fails them */
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    server_sendfile_hold_headers(pair[0]);
    one = 0;
    ck_assert_int_eq(setsockopt(pair[0], IPPROTO_TCP, TCP_CORK, &one, 4), -1);
    close(pair[0]);
    close(pair[1]);
    /* the hold on SRV is still there */
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
    tcase_add_test(tc, test_skipped_uncork_is_owed);
    tcase_add_test(tc, test_owed_uncork_made_after_one_piece);
    tcase_add_test(tc, test_hold_on_an_open_socket);
    tcase_add_test(tc, test_hold_dropped_by_body_or_release);
    tcase_add_test(tc, test_everything_else_unchanged);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
