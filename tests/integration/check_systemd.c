/* SPDX-License-Identifier: MIT */
/*
 * The daemon under a service manager, played by the test as systemd
 * would: sd_notify messages on a datagram socket named by NOTIFY_SOCKET
 * (READY=1 once the workers serve, RELOADING=1 with MONOTONIC_USEC and a
 * new READY=1 around a SIGHUP, STOPPING=1), WATCHDOG=1 pings only while
 * the workers beat, and a listen socket passed as fd 3 with LISTEN_PID and
 * LISTEN_FDS (socket activation) used instead of the configured address.
 * A worker that stops beating is killed and replaced.
 */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"
#include "xalloc.h"

static struct itest t;
static int notify_fd = -1;
static char *notify_dir;

static void stop(void)
{
    itest_stop(&t);
    if (notify_fd >= 0)
        close(notify_fd);
    notify_fd = -1;
    testutil_rmtree(notify_dir);
    free(notify_dir);
    notify_dir = NULL;
}

/* Bind the service manager's end; its path for NOTIFY_SOCKET. */
static char *notify_bind(void)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};

    notify_dir = testutil_tmpdir();
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/notify", notify_dir);
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(notify_fd, 0);
    ck_assert_int_eq(bind(notify_fd, (struct sockaddr *)&sun, sizeof(sun)),
                     0);
    return xasprintf("NOTIFY_SOCKET=%s", sun.sun_path);
}

/* The next message other than WATCHDOG=1 (when SKIP_PINGS) within
 * TIMEOUT_MS, or NULL.  New string. */
static char *next_message(unsigned timeout_ms, bool skip_pings)
{
    struct pollfd p = {.fd = notify_fd, .events = POLLIN};
    char buf[512];
    ssize_t n;

    while (poll(&p, 1, (int)timeout_ms) == 1) {
        n = recv(notify_fd, buf, sizeof(buf) - 1, 0);
        ck_assert_int_gt(n, 0);
        buf[n] = '\0';
        if (skip_pings && strcmp(buf, "WATCHDOG=1") == 0)
            continue;
        return xstrdup(buf);
    }
    return NULL;
}

static void expect_message(const char *want, unsigned timeout_ms)
{
    char *got = next_message(timeout_ms, true);

    ck_assert_msg(got != NULL, "no %s within %u ms", want, timeout_ms);
    ck_assert_str_eq(got, want);
    free(got);
}

static uint64_t mono_usec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void reload_and_check_time(void)
{
    uint64_t before = mono_usec(), after, at;
    char *msg;

    ck_assert_int_eq(kill(daemon_pid(t.d), SIGHUP), 0);
    msg = next_message(5000, true);
    after = mono_usec();
    ck_assert_ptr_nonnull(msg);
    ck_assert_msg(strncmp(msg, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0,
                  "got '%s'", msg);
    at = strtoull(msg + 27, NULL, 10);
    ck_assert_msg(at >= before && at <= after,
                  "MONOTONIC_USEC %" PRIu64 " not in [%" PRIu64 ", %" PRIu64
                  "]", at, before, after);
    free(msg);
}

START_TEST(test_notify_in_order)
{
    char *var = notify_bind();
    FILE *f;

    /* the daemon's environment is ours plus its own variables */
    ck_assert_int_eq(putenv(var), 0);
    itest_start_conf(&t, 1, "[server]\nworkers = 2\n"
                            "[upstream a]\nurl = @UP0@\n");
    expect_message("READY=1", 5000);
    reload_and_check_time();
    expect_message("READY=1", 10000);
    /* a refused file: back to READY=1 with the old settings */
    f = fopen(t.conf, "a");
    ck_assert_ptr_nonnull(f);
    fputs("[cache]\nnegative_ttl = soon\n", f);
    fclose(f);
    reload_and_check_time();
    expect_message("READY=1", 5000);
    daemon_stop(t.d);
    t.d = NULL;
    expect_message("STOPPING=1", 5000);
    ck_assert_ptr_null(next_message(200, true));
}
END_TEST

/* Pings seen within MS. */
static unsigned count_pings(unsigned ms)
{
    uint64_t end = mono_usec() + (uint64_t)ms * 1000;
    struct pollfd p = {.fd = notify_fd, .events = POLLIN};
    char buf[512];
    unsigned n = 0;
    ssize_t len;

    while (mono_usec() < end) {
        if (poll(&p, 1, 50) != 1)
            continue;
        len = recv(notify_fd, buf, sizeof(buf) - 1, 0);
        ck_assert_int_gt(len, 0);
        buf[len] = '\0';
        n += strcmp(buf, "WATCHDOG=1") == 0;
    }
    return n;
}

static void signal_workers(int sig)
{
    pid_t w[4];
    size_t i, n = daemon_workers(t.d, w, 4);

    ck_assert_uint_eq(n, 2);
    for (i = 0; i < n; i++)
        ck_assert_int_eq(kill(w[i], sig), 0);
}

START_TEST(test_watchdog_follows_workers)
{
    const char *env[3] = {NULL, "WATCHDOG_USEC=400000", NULL};
    char *var = notify_bind();

    env[0] = var;
    itest_start(&t, 1, "2", NULL, env);
    ck_assert_uint_ge(count_pings(1000), 2);
    /* hung workers: no heartbeat, so after a few seconds no pings */
    signal_workers(SIGSTOP);
    count_pings(5500);
    ck_assert_uint_eq(count_pings(1000), 0);
    signal_workers(SIGCONT);
    ck_assert_uint_ge(count_pings(2500), 1);
    free(var);
}
END_TEST

/* A worker that stops beating (here: stopped) is killed and replaced
 * after 15 s, so the watchdog pings resume without a restart. */
START_TEST(test_hung_worker_is_replaced)
{
    pid_t before, after = 0;
    struct http_resp r;
    char *log = NULL;
    int i;

    itest_start(&t, 1, "1", NULL, NULL);
    ck_assert_uint_eq(daemon_workers(t.d, &before, 1), 1);
    ck_assert_int_eq(kill(before, SIGSTOP), 0);
    for (i = 0; i < 250; i++) {
        usleep(100 * 1000);
        if (daemon_workers(t.d, &after, 1) == 1 && after != before)
            break;
    }
    log = daemon_log(t.d);
    ck_assert_msg(after != before, "the stopped worker was not replaced: %s",
                  log);
    ck_assert_ptr_nonnull(strstr(log, "silent for"));
    free(log);
    memset(&r, 0, sizeof(r));
    for (i = 0; i < 100; i++) {
        itest_get(&t, "/health", NULL, &r);
        if (r.status == 200)
            break;
        http_resp_free(&r);
        usleep(50 * 1000);
    }
    ck_assert_int_eq(r.status, 200);
    http_resp_free(&r);
}
END_TEST

START_TEST(test_socket_activation)
{
    unsigned port;
    int fd = testutil_listen(&port);
    char *dir = testutil_tmpdir(), *text;
    struct daemon *d;
    int status, defer = 0;
    socklen_t len = sizeof(defer);

    /* 192.0.2.1 (TEST-NET) cannot be bound: the configured address
     * must not be tried */
    d = daemon_start_activated(fd,
                               (const char *const[]){"-d", dir, "-l",
                                                     "192.0.2.1:80", "-w", "1",
                                                     "-u", "http://127.0.0.1:9/",
                                                     NULL},
                               NULL);
    ck_assert_msg(d != NULL, "no answer on the passed socket");
    /* passed without DeferAcceptSec=, it waits for requests as ours do */
    ck_assert_int_eq(
        getsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, &len), 0);
    ck_assert_int_gt(defer, 0);
    close(fd); /* only the daemon holds it now */
    ck_assert_uint_eq(daemon_port(d), port);
    text = daemon_log(d);
    ck_assert_msg(strstr(text, "1 listen sockets from systemd") != NULL,
                  "log:\n%s", text);
    ck_assert_ptr_null(strstr(text, "192.0.2.1"));
    status = daemon_stop(d);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(text);
    testutil_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("systemd");
    TCase *tc = tcase_create("systemd");

#ifndef HAVE_SYSTEMD
    fprintf(stderr, "built without libsystemd (install libsystemd-dev)\n");
    return 77;
#endif
    tcase_add_checked_fixture(tc, NULL, stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_notify_in_order);
    tcase_add_test(tc, test_watchdog_follows_workers);
    tcase_add_test(tc, test_socket_activation);
    tcase_add_test(tc, test_hung_worker_is_replaced);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
