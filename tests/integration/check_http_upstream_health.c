/* SPDX-License-Identifier: MIT */
/*
 * Upstream health in the real daemon: the circuit breaker opens after
 * breaker_failures timeouts and skips the upstream in every worker, lets
 * one probe through after the cooldown and closes on its answer, and
 * shows in /health and /metrics; with every upstream skipped a miss says
 * upstream-down at once.  X-Forwarded-For and Via go upstream; max_hops
 * and two instances pointed at each other end in a quick 404.
 */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"
#include "xalloc.h"

#define ID "0123456789ABCDEF0123456789ABCDEF1"

static struct itest t;
static struct daemon *other;
static char *other_dir;

static void stop(void)
{
    daemon_stop(other);
    other = NULL;
    testutil_rmtree(other_dir);
    free(other_dir);
    other_dir = NULL;
    itest_stop(&t);
}

static char *key(unsigned i)
{
    return xasprintf("/k%u.pdb/" ID "/k%u.pdb", i, i);
}

/* GET key I; its status and X-Symsrvd-Miss (or "") into WHY. */
static long get_key(unsigned i, const char *const *headers, char *why,
                    size_t len, double *secs)
{
    char *path = key(i), *miss;
    struct http_resp r;
    long status;

    itest_get(&t, path, headers, &r);
    status = r.status;
    miss = http_header(&r, "X-Symsrvd-Miss");
    snprintf(why, len, "%s", miss ? miss : "");
    if (secs != NULL)
        *secs = r.total_s;
    free(miss);
    http_resp_free(&r);
    free(path);
    return status;
}

static void serve(struct stub *s, unsigned i)
{
    char *path = key(i);

    stub_add(s, path, "body", 4);
    free(path);
}

static void slow(struct stub *s, unsigned i)
{
    char *path = key(i);

    stub_fault(s, path, STUB_DELAY, 3000);
    free(path);
}

static unsigned hits(struct stub *s, unsigned i)
{
    char *path = key(i);
    unsigned n = stub_hits(s, path);

    free(path);
    return n;
}

static bool health_has(const char *needle)
{
    struct http_resp r;
    bool yes;

    itest_get(&t, "/health", NULL, &r);
    yes = r.status == 200 && strstr(r.body, needle) != NULL;
    http_resp_free(&r);
    return yes;
}

START_TEST(test_breaker_skips_then_probes)
{
    char why[64];
    double secs;
    unsigned i;

    itest_start_conf(&t, 2,
                     "[upstream one]\nurl = @UP0@\ntimeout = 300ms\n"
                     "retries = 0\nbreaker_failures = 3\n"
                     "breaker_window = 1m\nbreaker_cooldown = 2s\n"
                     "[upstream two]\nurl = @UP1@\n");
    for (i = 0; i < 12; i++) {
        serve(t.up[0], i);
        serve(t.up[1], i);
    }
    /* three timeouts on one; two answers each time */
    for (i = 0; i < 3; i++) {
        slow(t.up[0], i);
        ck_assert_int_eq(get_key(i, NULL, why, sizeof(why), NULL), 200);
        ck_assert_uint_eq(hits(t.up[1], i), 1);
    }
    ck_assert(health_has("{\"name\":\"one\",\"breaker\":\"open\"}"));
    ck_assert(health_has("{\"name\":\"two\",\"breaker\":\"closed\"}"));
    ck_assert_double_eq(metrics_get(daemon_url(t.d),
                                    "symsrvd_upstream_breaker_state",
                                    "upstream=\"one\""),
                        1);
    /* one is skipped, whichever of the two workers answers */
    for (i = 3; i < 9; i++) {
        ck_assert_int_eq(get_key(i, NULL, why, sizeof(why), &secs), 200);
        ck_assert_uint_eq(hits(t.up[0], i), 0);
        ck_assert_msg(secs < 0.25, "took %.3f s", secs);
    }
    ck_assert_double_eq(metrics_get(daemon_url(t.d),
                                    "symsrvd_upstream_skipped_total",
                                    "upstream=\"one\""),
                        6);
    ck_assert_double_eq(metrics_get(daemon_url(t.d),
                                    "symsrvd_upstream_breaker_trips_total",
                                    "upstream=\"one\""),
                        1);
    /* after the cooldown one request probes, and its answer closes it */
    usleep(2100 * 1000);
    ck_assert(health_has("{\"name\":\"one\",\"breaker\":\"half-open\"}"));
    ck_assert_int_eq(get_key(9, NULL, why, sizeof(why), NULL), 200);
    ck_assert_uint_eq(hits(t.up[0], 9), 1);
    ck_assert_uint_eq(hits(t.up[1], 9), 0);
    ck_assert(health_has("{\"name\":\"one\",\"breaker\":\"closed\"}"));
    ck_assert_int_eq(get_key(10, NULL, why, sizeof(why), NULL), 200);
    ck_assert_uint_eq(hits(t.up[0], 10), 1);
}
END_TEST

START_TEST(test_breaker_failed_probe_and_upstream_down)
{
    char why[64];
    double secs;

    itest_start_conf(&t, 1,
                     "[upstream one]\nurl = @UP0@\ntimeout = 300ms\n"
                     "retries = 5\nretry_backoff = 0\nbreaker_failures = 2\n"
                     "breaker_cooldown = 1s\n");
    serve(t.up[0], 0);
    serve(t.up[0], 1);
    serve(t.up[0], 2);
    /* the breaker opens on the second attempt and ends the retry ladder */
    slow(t.up[0], 0);
    slow(t.up[0], 0);
    slow(t.up[0], 0);
    ck_assert_int_eq(get_key(0, NULL, why, sizeof(why), NULL), 404);
    ck_assert_str_eq(why, "upstream-timeout");
    ck_assert_uint_eq(hits(t.up[0], 0), 2);
    /* no upstream left to ask: at once, and not remembered */
    ck_assert_int_eq(get_key(1, NULL, why, sizeof(why), &secs), 404);
    ck_assert_str_eq(why, "upstream-down");
    ck_assert_uint_eq(hits(t.up[0], 1), 0);
    ck_assert_msg(secs < 0.25, "took %.3f s", secs);
    /* the probe fails: another cooldown */
    usleep(1100 * 1000);
    slow(t.up[0], 1);
    ck_assert_int_eq(get_key(1, NULL, why, sizeof(why), NULL), 404);
    ck_assert_str_eq(why, "upstream-timeout");
    ck_assert_uint_eq(hits(t.up[0], 1), 1);
    ck_assert_int_eq(get_key(2, NULL, why, sizeof(why), NULL), 404);
    ck_assert_str_eq(why, "upstream-down");
    ck_assert(health_has("{\"name\":\"one\",\"breaker\":\"open\"}"));
    /* once it answers again, the miss of key 1 was never remembered */
    usleep(1100 * 1000);
    ck_assert_int_eq(get_key(1, NULL, why, sizeof(why), NULL), 200);
    ck_assert_int_eq(get_key(2, NULL, why, sizeof(why), NULL), 200);
}
END_TEST

START_TEST(test_forwarded_headers_and_max_hops)
{
    char why[64], buf[512];

    itest_start(&t, 1, "1", NULL, NULL);
    serve(t.up[0], 0);
    serve(t.up[0], 1);
    serve(t.up[0], 2);
    ck_assert_int_eq(get_key(0, NULL, why, sizeof(why), NULL), 200);
    ck_assert(stub_last_header(t.up[0], "X-Forwarded-For", buf, sizeof(buf)));
    ck_assert_str_eq(buf, "127.0.0.1");
    ck_assert(stub_last_header(t.up[0], "Via", buf, sizeof(buf)));
    ck_assert_msg(strncmp(buf, "1.1 symsrvd-", 12) == 0, "Via: %s", buf);
    /* seven proxies so far: one more is allowed */
    ck_assert_int_eq(
        get_key(1,
                (const char *const[]){
                    "X-Forwarded-For: 10.0.0.1, 10.0.0.2, 10.0.0.3, "
                    "10.0.0.4, 10.0.0.5, 10.0.0.6, 10.0.0.7",
                    "Via: 1.1 nginx",
                    NULL},
                why, sizeof(why), NULL),
        200);
    ck_assert(stub_last_header(t.up[0], "X-Forwarded-For", buf, sizeof(buf)));
    ck_assert_str_eq(buf, "10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, "
                          "10.0.0.5, 10.0.0.6, 10.0.0.7, 127.0.0.1");
    ck_assert(stub_last_header(t.up[0], "Via", buf, sizeof(buf)));
    ck_assert_msg(strncmp(buf, "1.1 nginx, 1.1 symsrvd-", 23) == 0, "Via: %s",
                  buf);
    /* eight: answered without going upstream */
    ck_assert_int_eq(
        get_key(2,
                (const char *const[]){
                    "X-Forwarded-For: 10.0.0.1, 10.0.0.2, 10.0.0.3, "
                    "10.0.0.4, 10.0.0.5, 10.0.0.6, 10.0.0.7, 10.0.0.8",
                    NULL},
                why, sizeof(why), NULL),
        404);
    ck_assert_str_eq(why, "max-hops");
    ck_assert_uint_eq(hits(t.up[0], 2), 0);
    /* a hit is served whatever the hops */
    ck_assert_int_eq(
        get_key(0,
                (const char *const[]){
                    "X-Forwarded-For: 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, "
                    "1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1",
                    NULL},
                why, sizeof(why), NULL),
        200);
}
END_TEST

#ifdef HAVE_SYSTEMD
/* B gets its socket as from systemd, which needs a build with libsystemd. */
START_TEST(test_two_instances_pointed_at_each_other)
{
    unsigned port;
    /* B's socket, listening before A starts: B's port is never free for
     * another process to take, and A may connect to it before B runs */
    int fd = testutil_listen(&port);
    char *up = xasprintf("http://127.0.0.1:%u", port);
    char why[64];
    double secs;

    itest_start(&t, 0, "2", (const char *const[]){"-u", up, NULL}, NULL);
    other_dir = testutil_tmpdir();
    other = daemon_start_activated(
        fd,
        (const char *const[]){"-d", other_dir, "-w", "2", "-u",
                              daemon_url(t.d), NULL},
        NULL);
    close(fd);
    ck_assert_ptr_nonnull(other);
    ck_assert_uint_eq(daemon_port(other), port);
    /* A asks B, B asks A, A sees itself in Via and answers 508: B's
     * download fails at once (an error, neither retried nor remembered),
     * and A, told 404 by B, answers on the first turn, not after
     * miss_timeout */
    ck_assert_int_eq(get_key(0, NULL, why, sizeof(why), &secs), 404);
    ck_assert_str_eq(why, "not-found");
    ck_assert_msg(secs < 2.0, "took %.3f s", secs);
    /* B asked A once (508, no twin after an error); A asked B for the
     * file and its CAB twin (k0.pd_, which B answers as a probe without
     * going upstream): where a loop would make many */
    ck_assert_double_eq(
        metrics_get(daemon_url(other), "symsrvd_upstream_requests_total",
                    "outcome=\"error\""),
        1);
    ck_assert_double_eq(
        metrics_get(daemon_url(other), "symsrvd_upstream_requests_total",
                    "outcome=\"retry\""),
        0);
    ck_assert_double_eq(metrics_get(daemon_url(t.d),
                                    "symsrvd_upstream_requests_total",
                                    "outcome=\"not_found\""),
                        2);
    free(up);
}
END_TEST
#endif

int main(void)
{
    Suite *s = suite_create("http_upstream_health");
    TCase *tc = tcase_create("health");

    tcase_add_checked_fixture(tc, NULL, stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_breaker_skips_then_probes);
    tcase_add_test(tc, test_breaker_failed_probe_and_upstream_down);
    tcase_add_test(tc, test_forwarded_headers_and_max_hops);
#ifdef HAVE_SYSTEMD
    tcase_add_test(tc, test_two_instances_pointed_at_each_other);
#else
    fprintf(stderr, "built without libsystemd (install libsystemd-dev): "
                    "test_two_instances_pointed_at_each_other not run\n");
#endif
    suite_add_tcase(s, tc);
    return ckrun(s);
}
