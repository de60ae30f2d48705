/* SPDX-License-Identifier: MIT */
/*
 * Tests of tests/lib/testutil: temp dirs, the daemon life cycle (against
 * tests/lib/fake_symsrvd, which behaves like symsrvd's master), the HTTP
 * helpers, the metrics reader and the port helpers.
 */
#include "symsrvd_config.h"

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stub_upstream.h"
#include "testutil.h"
#include "xalloc.h"

static char *fake_path(void)
{
    const char *top = getenv("abs_top_builddir");

    return xasprintf("%s/tests/lib/fake_symsrvd", top != NULL ? top : "..");
}

static struct daemon *fake_start(const char *const *argv,
                                 const char *const *env)
{
    char *prog = fake_path();
    struct daemon *d = daemon_start_prog(prog, argv, env);

    free(prog);
    return d;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* True once PID is gone or a zombie (its parent may not reap at once). */
static bool pid_dead(pid_t pid)
{
    char path[64], buf[256];
    FILE *f;
    char state = 'Z';

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return true;
    if (fgets(buf, sizeof(buf), f) != NULL && strrchr(buf, ')') != NULL)
        state = strrchr(buf, ')')[2];
    fclose(f);
    return state == 'Z' || state == 'X';
}

static bool wait_dead(pid_t pid)
{
    for (int i = 0; i < 200 && !pid_dead(pid); i++)
        usleep(10000);
    return pid_dead(pid);
}

static void touch(const char *dir, const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fclose(f);
    free(path);
}

START_TEST(test_testutil_tmpdir_and_rmtree)
{
    char *dir = testutil_tmpdir();
    char *a = xasprintf("%s/a", dir);
    char *sub = xasprintf("%s/a/b", dir);
    char *locked = xasprintf("%s/locked", dir);
    char *other = testutil_tmpdir();

    ck_assert_str_ne(dir, other);
    ck_assert_int_eq(mkdir(a, 0700), 0);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    touch(sub, "f");
    ck_assert_int_eq(mkdir(locked, 0700), 0);
    touch(locked, "inside");
    ck_assert_int_eq(chmod(locked, 0), 0);
    testutil_rmtree(dir);
    testutil_rmtree(other);
    testutil_rmtree(NULL);
    ck_assert_int_eq(access(dir, F_OK), -1);
    ck_assert_int_eq(access(other, F_OK), -1);
    free(a);
    free(sub);
    free(locked);
    free(other);
    free(dir);
}
END_TEST

START_TEST(test_testutil_daemon_start_stop)
{
    const char *argv[] = {"--exit", "5", NULL};
    const char *env[] = {"FAKE_ECHO=hello world", NULL};
    struct daemon *d = fake_start(argv, env);
    struct http_resp r;
    char *log, *url;
    int status;

    ck_assert_ptr_nonnull(d);
    ck_assert_uint_gt(daemon_port(d), 0);
    ck_assert_uint_ne(daemon_port(d), 9); /* the first listener counts */
    url = xasprintf("http://127.0.0.1:%u", daemon_port(d));
    ck_assert_str_eq(daemon_url(d), url);
    free(url);
    ck_assert_int_eq(access(daemon_log_path(d), R_OK), 0);
    log = daemon_log(d);
    ck_assert_ptr_nonnull(strstr(log, "FAKE_ECHO=hello world\n"));
    free(log);
    ck_assert_int_eq(http_get(daemon_url(d), NULL, &r), 0);
    http_resp_free(&r);
    status = daemon_stop(d);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 5);
    ck_assert_int_eq(daemon_stop(NULL), -1);
}
END_TEST

START_TEST(test_testutil_daemon_workers)
{
    const char *argv[] = {"-w", "3", NULL};
    struct daemon *d = fake_start(argv, NULL);
    pid_t workers[8], restarted[8];

    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(daemon_workers(d, workers, 8), 3);
    ck_assert_uint_eq(daemon_workers(d, restarted, 1), 3);
    ck_assert_int_eq(restarted[0], workers[0]);
    ck_assert_int_eq(kill(workers[0], 0), 0);
    /* A killed worker is left out at once (even as a zombie) and its
     * replacement is seen. */
    ck_assert_int_eq(kill(workers[1], SIGKILL), 0);
    ck_assert(wait_dead(workers[1]));
    ck_assert(daemon_wait_workers(d, 3, 5000));
    ck_assert(!daemon_wait_workers(d, 4, 100));
    ck_assert_uint_eq(daemon_workers(d, restarted, 8), 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_ne(restarted[i], workers[1]);
    ck_assert_int_eq(WEXITSTATUS(daemon_stop(d)), 0);
    ck_assert(wait_dead(workers[0]));
    ck_assert(wait_dead(workers[2]));
}
END_TEST

START_TEST(test_testutil_daemon_start_failures)
{
    const char *fail[] = {"--fail", NULL};
    const char *silent[] = {"--silent", NULL};
    const char *sick[] = {"--unhealthy", NULL};
    const char *none[] = {NULL};
    double t0 = now_s();

    ck_assert_ptr_null(fake_start(fail, NULL));
    ck_assert_double_lt(now_s() - t0, 3.0); /* noticed the exit */
    ck_assert_ptr_null(daemon_start_prog("/nonexistent/symsrvd", none, NULL));
    t0 = now_s();
    ck_assert_ptr_null(fake_start(silent, NULL));
    ck_assert_double_ge(now_s() - t0, 9.5);
    t0 = now_s();
    ck_assert_ptr_null(fake_start(sick, NULL));
    ck_assert_double_ge(now_s() - t0, 9.5);
}
END_TEST

START_TEST(test_testutil_daemon_stop_kills_stubborn)
{
    const char *argv[] = {"--ignore-term", "-w", "2", NULL};
    struct daemon *d = fake_start(argv, NULL);
    pid_t workers[2];
    double t0;
    int status;

    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(daemon_workers(d, workers, 2), 2);
    t0 = now_s();
    status = daemon_stop_within(d, 300);
    ck_assert_double_lt(now_s() - t0, 3.0);
    ck_assert(WIFSIGNALED(status));
    ck_assert_int_eq(WTERMSIG(status), SIGKILL);
    ck_assert(wait_dead(workers[0]));
    ck_assert(wait_dead(workers[1]));
}
END_TEST

/* Run fake_start() in a child that exits without daemon_stop(), as a test
 * failing an assertion does; return the child's stderr (new string). */
static char *exit_with_daemon_running(void)
{
    const char *env[] = {"FAKE_ECHO=left behind", NULL};
    char *out;
    size_t len = 0;
    int err[2], status;
    ssize_t n;
    pid_t child;

    ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
    fflush(NULL);
    child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        dup2(err[1], STDERR_FILENO);
        if (fake_start(NULL, env) == NULL)
            _exit(2);
        exit(0);
    }
    close(err[1]);
    out = xcalloc(1, 65536); /* after fork: the child must not leak it */
    while ((n = read(err[0], out + len, 65535 - len)) > 0)
        len += (size_t)n;
    close(err[0]);
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "child status %#x, stderr: %s", status, out);
    return out;
}

START_TEST(test_testutil_leftover_daemon_killed_at_exit)
{
    char *out = exit_with_daemon_running();
    char *mark = strstr(out, "testutil: daemon ");
    char log[4096];
    int pid = 0;

    /* Reported with its log, killed, and its log removed. */
    ck_assert_msg(mark != NULL, "no report in: %s", out);
    ck_assert_int_eq(sscanf(mark, "testutil: daemon %d", &pid), 1);
    mark = strstr(mark, "its log /");
    ck_assert_ptr_nonnull(mark);
    ck_assert_int_eq(sscanf(mark, "its log %4095[^:]", log), 1);
    ck_assert_ptr_nonnull(strstr(log, "/daemon.log"));
    ck_assert_ptr_nonnull(strstr(mark, "FAKE_ECHO=left behind"));
    ck_assert(wait_dead(pid));
    ck_assert_int_eq(access(log, F_OK), -1);
    free(out);
}
END_TEST

START_TEST(test_testutil_metrics)
{
    const char *none[] = {NULL};
    struct daemon *d = fake_start(none, NULL);
    const char *url;

    ck_assert_ptr_nonnull(d);
    url = daemon_url(d);
    ck_assert_double_eq(metrics_get(url, "symsrvd_requests_total", NULL), 5);
    ck_assert_double_eq(
        metrics_get(url, "symsrvd_requests_total", "status=\"200\""), 3);
    ck_assert_double_eq(metrics_get(url, "symsrvd_cache_entries", NULL), 7);
    ck_assert_double_eq(
        metrics_get(url, "symsrvd_cache_entries", "status=\"200\""), -1);
    ck_assert_double_eq(metrics_get(url, "symsrvd_requests", NULL), -1);
    ck_assert_double_eq(metrics_get(url, "absent", NULL), -1);
    ck_assert(metrics_wait(url, "symsrvd_cache_entries", NULL, 7, 1000));
    ck_assert(!metrics_wait(url, "symsrvd_cache_entries", NULL, 8, 100));
    ck_assert_double_eq(metrics_get("http://127.0.0.1:1", "x", NULL), -1);
    ck_assert_int_eq(WEXITSTATUS(daemon_stop(d)), 0);
}
END_TEST

START_TEST(test_testutil_http_helpers)
{
    struct stub *s = stub_start();
    const char *hdrs[] = {"Accept-Encoding: gzip", "X-Test: 1", NULL};
    char *url = xasprintf("%s/a", stub_url(s));
    char *req = xasprintf("GET /../a HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n",
                          stub_port(s));
    char out[512], path[64];
    struct http_resp r;
    char *v;

    stub_add(s, "/a", "abc", 3);
    stub_add(s, "/../a", "dots", 4);
    stub_fault(s, "/a", STUB_GZIP, 0);
    /* Accept-Encoding passes through undecoded. */
    ck_assert_int_eq(http_get(url, hdrs, &r), 0);
    v = http_header(&r, "content-encoding");
    ck_assert_str_eq(v, "gzip");
    free(v);
    ck_assert_int_eq((unsigned char)r.body[0], 0x1f);
    ck_assert_ptr_null(http_header(&r, "X-Absent"));
    http_resp_free(&r);
    http_resp_free(NULL);
    ck_assert_int_eq(http_raw(stub_port(s), req, out, sizeof(out)), 200);
    ck_assert_ptr_nonnull(strstr(out, "\r\n\r\ndots"));
    stub_last_path(s, path, sizeof(path));
    ck_assert_str_eq(path, "/../a");
    ck_assert_int_eq(
        http_raw(stub_port(s), "HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n", NULL, 0),
        200);
    ck_assert_int_eq(
        http_raw(stub_port(s), "DELETE /a HTTP/1.1\r\nHost: x\r\n\r\n", out, 4),
        405);
    ck_assert_uint_eq(strlen(out), 3);
    ck_assert_int_eq(http_get("http://127.0.0.1:1/", NULL, &r),
                     CURLE_COULDNT_CONNECT);
    ck_assert_int_eq(r.status, 0);
    http_resp_free(&r);
    /* Only the last response's block is searched. */
    r.headers = xstrdup("HTTP/1.1 100 Continue\r\nX-A: old\r\n\r\n"
                        "HTTP/1.1 200 OK\r\nx-b:  new \r\n\r\n");
    ck_assert_ptr_null(http_header(&r, "X-A"));
    v = http_header(&r, "X-B");
    ck_assert_str_eq(v, "new");
    free(v);
    http_resp_free(&r);
    stub_stop(s);
    free(url);
    free(req);
}
END_TEST

START_TEST(test_testutil_get_many_and_timing)
{
    struct stub *s = stub_start();
    char *url = xasprintf("%s/g", stub_url(s));
    struct http_resp r[16];

    stub_add_generated(s, "/g", 100000, 3);
    stub_fault(s, "/g", STUB_DELAY, 300);
    ck_assert_uint_eq(http_get_many(url, NULL, 16, r), 0);
    for (int i = 0; i < 16; i++) {
        ck_assert_int_eq(r[i].status, 200);
        ck_assert(stub_generated_equal(3, 0, r[i].body, r[i].len));
        ck_assert_uint_eq(r[i].len, 100000);
        http_resp_free(&r[i]);
    }
    ck_assert_uint_eq(stub_hits(s, "/g"), 16);
    ck_assert_uint_eq(http_get_many(url, NULL, 0, r), 0);
    /* Exactly one of the 16 got the delay; its body came after it. */
    stub_fault(s, "/g", STUB_DELAY, 300);
    ck_assert_int_eq(http_get(url, NULL, &r[0]), 0);
    ck_assert_double_ge(r[0].first_body_s, 0.3);
    ck_assert_double_le(r[0].first_body_s, r[0].total_s + 0.01);
    http_resp_free(&r[0]);
    ck_assert_int_eq(http_head(url, NULL, &r[0]), 0);
    ck_assert_double_eq(r[0].first_body_s, -1);
    http_resp_free(&r[0]);
    stub_stop(s);
    free(url);
}
END_TEST

START_TEST(test_testutil_gunzip)
{
    struct stub *s = stub_start();
    char *url = xasprintf("%s/z", stub_url(s));
    const char *hdrs[] = {"Accept-Encoding: gzip", NULL};
    static const char text[] = "a gzip round trip, a gzip round trip";
    struct http_resp r;
    char *plain;
    size_t len;

    stub_add(s, "/z", text, sizeof(text) - 1);
    stub_fault(s, "/z", STUB_GZIP, 0);
    ck_assert_int_eq(http_get(url, hdrs, &r), 0);
    ck_assert_int_eq(testutil_gunzip(r.body, r.len, &plain, &len), 0);
    ck_assert_uint_eq(len, sizeof(text) - 1);
    ck_assert_str_eq(plain, text);
    free(plain);
    ck_assert_int_eq(testutil_gunzip(r.body, r.len - 1, &plain, &len), -EINVAL);
    r.body[r.len / 2] ^= 0x55;
    ck_assert_int_eq(testutil_gunzip(r.body, r.len, &plain, &len), -EINVAL);
    ck_assert_int_eq(testutil_gunzip(text, sizeof(text), &plain, &len),
                     -EINVAL);
    http_resp_free(&r);
    stub_stop(s);
    free(url);
}
END_TEST

START_TEST(test_testutil_client_behaviours)
{
    struct stub *s = stub_start();
    char *url = xasprintf("%s/b", stub_url(s));
    struct http_opts impatient = {.timeout_ms = 300};
    struct http_opts hangup = {.abort_after = 10000};
    struct http_opts slow = {.max_speed = 100000};
    struct http_resp r;

    stub_add_generated(s, "/b", 200000, 4);
    stub_fault(s, "/b", STUB_DELAY, 3000);
    ck_assert_int_eq(http_request_opts("GET", url, NULL, &impatient, &r),
                     CURLE_OPERATION_TIMEDOUT);
    ck_assert_double_lt(r.total_s, 1.0);
    http_resp_free(&r);
    stub_fault(s, "/b", STUB_SLOW, 100000);
    ck_assert_int_eq(http_request_opts("GET", url, NULL, &hangup, &r),
                     CURLE_WRITE_ERROR);
    ck_assert_uint_ge(r.len, 10000);
    ck_assert_uint_lt(r.len, 200000);
    ck_assert(stub_generated_equal(4, 0, r.body, r.len));
    http_resp_free(&r);
    ck_assert_int_eq(http_request_opts("GET", url, NULL, &slow, &r), 0);
    ck_assert_uint_eq(r.len, 200000);
    ck_assert_double_ge(r.total_s, 1.9);
    ck_assert_double_lt(r.total_s, 6.0);
    http_resp_free(&r);
    stub_stop(s);
    free(url);
}
END_TEST

/* Bound to 127.0.0.1 on PORT, or -errno. */
static int bind_port(unsigned port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = 0;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        rc = -errno;
    close(fd);
    return rc;
}

START_TEST(test_testutil_ports)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    unsigned port, free_port;
    int fd = testutil_listen(&port), c, a;

    ck_assert_uint_ne(port, 0);
    ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    /* held from the start: nobody else can bind it */
    ck_assert_int_eq(bind_port(port), -EADDRINUSE);
    /* and listening: a client gets in before anyone accepts */
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    c = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
    a = accept(fd, NULL, NULL);
    ck_assert_int_ge(a, 0);
    close(a);
    close(c);
    close(fd);
    free_port = testutil_unused_port();
    ck_assert_uint_ne(free_port, 0);
    ck_assert_int_eq(bind_port(free_port), 0);
}
END_TEST

/* The fixed port lies outside the ephemeral range and is free. */
START_TEST(test_testutil_fixed_port)
{
    unsigned low, high, port = testutil_unused_fixed_port();
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%u %u", &low, &high), 2);
    fclose(f);
    if (low > 2048 || high < 65535)
        ck_assert_msg(port < low || port > high,
                      "port %u inside the ephemeral range %u-%u", port, low,
                      high);
    ck_assert_uint_ge(port, 1024);
    ck_assert_int_eq(bind_port(port), 0);
}
END_TEST

static Suite *testutil_suite(void)
{
    Suite *s = suite_create("testutil");
    TCase *files = tcase_create("files");
    TCase *daemon = tcase_create("daemon");
    TCase *http = tcase_create("http");

    tcase_add_test(files, test_testutil_tmpdir_and_rmtree);
    tcase_add_test(files, test_testutil_ports);
    tcase_add_test(files, test_testutil_fixed_port);
    suite_add_tcase(s, files);
    tcase_set_timeout(daemon, 60); /* start-up failures take 10 s each */
    tcase_add_test(daemon, test_testutil_daemon_start_stop);
    tcase_add_test(daemon, test_testutil_daemon_workers);
    tcase_add_test(daemon, test_testutil_daemon_start_failures);
    tcase_add_test(daemon, test_testutil_daemon_stop_kills_stubborn);
    tcase_add_test(daemon, test_testutil_leftover_daemon_killed_at_exit);
    suite_add_tcase(s, daemon);
    tcase_add_test(http, test_testutil_metrics);
    tcase_add_test(http, test_testutil_http_helpers);
    tcase_add_test(http, test_testutil_get_many_and_timing);
    tcase_add_test(http, test_testutil_gunzip);
    tcase_add_test(http, test_testutil_client_behaviours);
    suite_add_tcase(s, http);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(testutil_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
