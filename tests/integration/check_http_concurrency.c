/* SPDX-License-Identifier: MIT */
/*
 * Coalescing and the process model: 64 concurrent cold requests fetch
 * once (one and two workers), a slow large body streams from its first
 * byte, kill -9 of a worker mid-download leaves no partial file, idle
 * sockets do not delay a hit, SIGTERM lets a response in flight finish,
 * a new connection wakes one thread.
 */
#include "symsrvd_config.h"

#include <arpa/inet.h>
#include <check.h>

#include "ckrun.h"
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "itest.h"
#include "timeutil.h"
#include "xalloc.h"

#define BIG "/big.pdb/00112233445566778899AABBCCDDEEFF1/big.pdb"
#define NCLIENTS 64

static struct itest t;

static void stop(void)
{
    itest_stop(&t);
}

struct client {
    const char *url;
    struct http_resp r;
    pthread_t tid;
};

static void *client_main(void *arg)
{
    struct client *c = arg;

    http_get(c->url, NULL, &c->r);
    return NULL;
}

static bool body_matches(const struct http_resp *r, uint32_t seed,
                         uint64_t len)
{
    return r->len == len && stub_generated_equal(seed, 0, r->body, len);
}

static void many_cold_requests(const char *workers)
{
    struct client *c = xcalloc(NCLIENTS, sizeof(*c));
    uint64_t len = 3 << 20;
    char *url;
    int i;

    itest_start(&t, 1, workers, NULL, NULL);
    stub_add_generated(t.up[0], BIG, len, 7);
    stub_fault(t.up[0], BIG, STUB_DELAY, 400); /* let all 64 pile up */
    url = itest_url(&t, BIG);
    for (i = 0; i < NCLIENTS; i++) {
        c[i].url = url;
        pthread_create(&c[i].tid, NULL, client_main, &c[i]);
    }
    for (i = 0; i < NCLIENTS; i++)
        pthread_join(c[i].tid, NULL);
    for (i = 0; i < NCLIENTS; i++) {
        ck_assert_msg(c[i].r.status == 200 && c[i].r.curl_rc == 0,
                      "client %d: status %ld curl %d", i, c[i].r.status,
                      c[i].r.curl_rc);
        ck_assert_msg(body_matches(&c[i].r, 7, len), "client %d body", i);
        http_resp_free(&c[i].r);
    }
    ck_assert_uint_eq(stub_hits(t.up[0], BIG), 1);
    /* Within a worker, later requests join the first one's download
     * instead of queueing downloads of their own: at most one miss per
     * worker, everything else coalesced.  (Counted at completion.) */
    ck_assert(itest_metric_at_least(&t, "symsrvd_http_status_total",
                                    "code=\"200\"", NCLIENTS, 5000));
    ck_assert_int_le(metrics_get(daemon_url(t.d), "symsrvd_http_responses_total",
                                 "result=\"miss\""),
                     atoi(workers));
    ck_assert_int_ge(metrics_get(daemon_url(t.d), "symsrvd_http_responses_total",
                                 "result=\"coalesced\""),
                     NCLIENTS - atoi(workers));
    free(url);
    free(c);
}

START_TEST(test_http_64_cold_requests_one_worker)
{
    many_cold_requests("1");
}
END_TEST

START_TEST(test_http_64_cold_requests_two_workers)
{
    many_cold_requests("2");
}
END_TEST

START_TEST(test_http_slow_body_first_byte_early)
{
    uint64_t len = 50ull << 20;
    struct http_resp r;

    itest_start(&t, 1, "1", NULL, NULL);
    stub_add_generated(t.up[0], BIG, len, 9);
    stub_fault(t.up[0], BIG, STUB_SLOW, 20ull << 20); /* 2.5 s in all */
    itest_get(&t, BIG, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert(body_matches(&r, 9, len));
    ck_assert_msg(r.first_byte_s < 0.5 && r.total_s > 2.0,
                  "first byte %.3fs, total %.3fs", r.first_byte_s, r.total_s);
    http_resp_free(&r);
}
END_TEST

static size_t part_files(const char *dir)
{
    char *tmp = xasprintf("%s/.Symsrvd/tmp", dir);
    size_t n = itest_count_files(tmp, false);

    free(tmp);
    return n;
}

START_TEST(test_http_kill_worker_mid_download)
{
    uint64_t len = 20ull << 20;
    struct client c;
    pid_t before[4], after[4];
    uint64_t deadline;
    struct http_resp r;

    itest_start(&t, 1, "1", NULL, NULL);
    stub_add_generated(t.up[0], BIG, len, 3);
    stub_fault(t.up[0], BIG, STUB_SLOW, 4ull << 20); /* 5 s */
    c.url = itest_url(&t, BIG);
    memset(&c.r, 0, sizeof(c.r));
    pthread_create(&c.tid, NULL, client_main, &c);
    ck_assert(metrics_wait(daemon_url(t.d), "symsrvd_downloads_in_flight",
                           NULL, 1, 5000));
    usleep(300 * 1000);
    ck_assert_uint_eq(daemon_workers(t.d, before, 4), 1);
    ck_assert_uint_ge(part_files(t.dir), 1); /* .part and its .info */
    kill(before[0], SIGKILL);
    pthread_join(c.tid, NULL);
    ck_assert(c.r.status != 200 || c.r.curl_rc != 0); /* cut short */
    http_resp_free(&c.r);
    /* The bound: a dead worker is replaced within a second. */
    deadline = mono_ms() + 1000;
    while (mono_ms() < deadline && (daemon_workers(t.d, after, 4) != 1 ||
                                    after[0] == before[0]))
        usleep(20 * 1000);
    ck_assert_int_ne(after[0], before[0]);
    ck_assert(metrics_wait(daemon_url(t.d), "symsrvd_workers", NULL, 1, 3000));
    ck_assert_uint_eq(part_files(t.dir), 0);
    ck_assert_uint_eq(itest_count_files(t.dir, true), 0);
    itest_get(&t, BIG, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert(body_matches(&r, 3, len));
    http_resp_free(&r);
    free((char *)c.url);
}
END_TEST

/* A keep-alive client that has had one answer and then goes quiet: a
 * socket a worker has accepted and holds. */
static int idle_keepalive_client(unsigned port)
{
    static const char req[] = "HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n";
    char head[1024];
    size_t got = 0;
    int fd = itest_connect(port);

    ck_assert_int_eq(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
    while (got < sizeof(head) - 1) {
        ssize_t n = read(fd, head + got, sizeof(head) - 1 - got);

        ck_assert_int_gt(n, 0);
        got += (size_t)n;
        head[got] = '\0';
        if (strstr(head, "\r\n\r\n") != NULL)
            break;
    }
    ck_assert_msg(strncmp(head, "HTTP/1.1 200", 12) == 0, "answer: %s", head);
    return fd;
}

START_TEST(test_http_idle_sockets_do_not_delay_hits)
{
    int fds[40], i;
    struct http_resp r;
    uint64_t start;

    itest_start(&t, 1, "1", NULL, NULL);
    stub_add(t.up[0], "/s.pdb/ABC1/s.pdb", "sym", 3);
    itest_get(&t, "/s.pdb/ABC1/s.pdb", NULL, &r);
    http_resp_free(&r);
    for (i = 0; i < 40; i++)
        fds[i] = idle_keepalive_client(daemon_port(t.d));
    itest_get(&t, "/s.pdb/ABC1/s.pdb", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(r.total_s < 0.5, "hit took %.3fs", r.total_s);
    http_resp_free(&r);
    /* Idle keep-alive clients do not hold up a graceful stop. */
    start = mono_ms();
    ck_assert(WIFEXITED(daemon_stop(t.d)));
    t.d = NULL;
    ck_assert_msg(mono_ms() - start < 3000, "stop took %llu ms",
                  (unsigned long long)(mono_ms() - start));
    for (i = 0; i < 40; i++)
        close(fds[i]);
}
END_TEST

START_TEST(test_http_sigterm_lets_response_finish)
{
    uint64_t len = 8ull << 20;
    struct client c;
    int status;

    itest_start(&t, 1, "1", NULL, NULL);
    stub_add_generated(t.up[0], BIG, len, 5);
    stub_fault(t.up[0], BIG, STUB_SLOW, 8ull << 20); /* 1 s */
    c.url = itest_url(&t, BIG);
    memset(&c.r, 0, sizeof(c.r));
    pthread_create(&c.tid, NULL, client_main, &c);
    ck_assert(metrics_wait(daemon_url(t.d), "symsrvd_downloads_in_flight",
                           NULL, 1, 5000));
    kill(daemon_pid(t.d), SIGTERM);
    pthread_join(c.tid, NULL);
    ck_assert_int_eq(c.r.status, 200);
    ck_assert_int_eq(c.r.curl_rc, 0);
    ck_assert(body_matches(&c.r, 5, len));
    http_resp_free(&c.r);
    status = daemon_stop(t.d);
    t.d = NULL;
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free((char *)c.url);
}
END_TEST

/* A client that hangs up mid-body does not abort the download. */
START_TEST(test_http_client_disconnect_keeps_download)
{
    uint64_t len = 10ull << 20;
    char req[256], reply[256];
    struct http_resp r;
    int fd;

    itest_start(&t, 1, "1", NULL, NULL);
    stub_add_generated(t.up[0], BIG, len, 4);
    stub_fault(t.up[0], BIG, STUB_SLOW, 10ull << 20); /* 1 s */
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", BIG);
    fd = itest_connect(daemon_port(t.d));
    ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    ck_assert_int_gt(read(fd, reply, sizeof(reply)), 12);
    ck_assert(strncmp(reply, "HTTP/1.1 200", 12) == 0);
    close(fd); /* hang up with most of the body still to come */
    ck_assert(metrics_wait(daemon_url(t.d), "symsrvd_cache_entries", NULL, 1,
                           10000));
    itest_get(&t, BIG, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert(body_matches(&r, 4, len));
    ck_assert_uint_eq(stub_hits(t.up[0], BIG), 1);
    http_resp_free(&r);
}
END_TEST

/* The state and inode of the socket at 127.0.0.1:LPORT whose peer has
 * port RPORT (0 for a listening socket) in /proc/net/tcp ("sl: local
 * remote st tx:rx tr:when retrnsmt uid timeout inode"), which also lists
 * connections still in the handshake; false if there is none. */
static bool tcp_entry(unsigned lport, unsigned rport, unsigned *state,
                      unsigned long *inode)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    unsigned addr, lp, rp, st;
    unsigned long ino;
    bool found = false;
    char line[512];

    ck_assert_ptr_nonnull(f);
    while (!found && fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, " %*d: %x:%x %*x:%x %x %*x:%*x %*x:%*x %*x %*u %*d %lu",
                   &addr, &lp, &rp, &st, &ino) == 5 &&
            addr == htonl(INADDR_LOOPBACK) && lp == lport && rp == rport) {
            *state = st;
            *inode = ino;
            found = true;
        }
    fclose(f);
    return found;
}

/* The inode of the socket listening on 127.0.0.1:PORT, 0 if none. */
static unsigned long listen_inode(unsigned port)
{
    unsigned long ino;
    unsigned state;

    return tcp_entry(port, 0, &state, &ino) && state == TCP_LISTEN ? ino : 0;
}

/* Count PID's epoll entries watching the socket with inode INO, and in
 * *EXCL those that wake one waiter (fdinfo: "tfd: N events: HEX data: HEX
 * pos:N ino:HEX sdev:HEX"). */
static unsigned epoll_entries(pid_t pid, unsigned long ino, unsigned *excl)
{
    char path[64], line[256];
    unsigned n = 0, events;
    unsigned long tino;
    struct dirent *de;
    DIR *dir;

    snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int)pid);
    dir = opendir(path);
    *excl = 0;
    if (dir == NULL)
        return 0;
    while ((de = readdir(dir)) != NULL) {
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/fdinfo/%.16s", (int)pid,
                 de->d_name);
        f = fopen(path, "r");
        if (f == NULL)
            continue;
        while (fgets(line, sizeof(line), f) != NULL)
            if (sscanf(line, "tfd: %*d events: %x data: %*x pos:%*u ino:%lx",
                       &events, &tino) == 2 && tino == ino) {
                n++;
                *excl += (events & EPOLLEXCLUSIVE) != 0;
            }
        fclose(f);
    }
    closedir(dir);
    return n;
}

/* libmicrohttpd puts the listen socket into every pool thread's epoll set;
 * without EPOLLEXCLUSIVE each connection woke all of them (16 with two
 * workers), which halved the rate of one-request connections. */
START_TEST(test_http_new_connection_wakes_one_thread)
{
    unsigned long ino;
    pid_t pids[2];
    size_t i;

    itest_start(&t, 1, "2", NULL, NULL);
    ck_assert(daemon_wait_workers(t.d, 2, 10000));
    ck_assert_uint_eq(daemon_workers(t.d, pids, 2), 2);
    ino = listen_inode(daemon_port(t.d));
    ck_assert_msg(ino != 0, "no listening socket on port %u", daemon_port(t.d));
    for (i = 0; i < 2; i++) {
        uint64_t deadline = mono_ms() + 10000;
        unsigned n, excl;

        /* a worker that has not answered yet may still be starting MHD */
        while ((n = epoll_entries(pids[i], ino, &excl)) == 0 &&
               mono_ms() < deadline)
            usleep(20 * 1000);
        ck_assert_msg(n > 0, "worker %d watches no listen socket", (int)pids[i]);
        ck_assert_msg(excl == n, "worker %d: %u of %u entries exclusive",
                      (int)pids[i], excl, n);
    }
}
END_TEST

/* A connection reaches a worker only once its request has come
 * (TCP_DEFER_ACCEPT): until then the kernel holds it in the handshake, so
 * no pool thread is woken for a connection with nothing to read. */
START_TEST(test_http_silent_connection_waits_in_kernel)
{
    static const char req[] = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    struct sockaddr_in me;
    socklen_t len = sizeof(me);
    unsigned long ino;
    unsigned state;
    char reply[64];
    int fd;

    itest_start(&t, 1, "1", NULL, NULL);
    fd = itest_connect(daemon_port(t.d));
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&me, &len), 0);
    ck_assert(tcp_entry(daemon_port(t.d), ntohs(me.sin_port), &state, &ino));
    ck_assert_msg(state == TCP_SYN_RECV, "server side in state %u, not %u",
                  state, (unsigned)TCP_SYN_RECV);
    ck_assert_int_eq(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
    ck_assert_int_gt(read(fd, reply, sizeof(reply)), 12);
    ck_assert(strncmp(reply, "HTTP/1.1 200", 12) == 0);
    close(fd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_concurrency");
    TCase *tc = tcase_create("concurrency");

    tcase_set_timeout(tc, 90);
    tcase_add_checked_fixture(tc, NULL, stop);
    tcase_add_test(tc, test_http_64_cold_requests_one_worker);
    tcase_add_test(tc, test_http_64_cold_requests_two_workers);
    tcase_add_test(tc, test_http_slow_body_first_byte_early);
    tcase_add_test(tc, test_http_kill_worker_mid_download);
    tcase_add_test(tc, test_http_idle_sockets_do_not_delay_hits);
    tcase_add_test(tc, test_http_sigterm_lets_response_finish);
    tcase_add_test(tc, test_http_client_disconnect_keeps_download);
    tcase_add_test(tc, test_http_new_connection_wakes_one_thread);
    tcase_add_test(tc, test_http_silent_connection_waits_in_kernel);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
