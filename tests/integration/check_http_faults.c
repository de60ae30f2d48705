/* SPDX-License-Identifier: MIT */
/*
 * The miss path against upstream faults: failover, retries, 5xx storms,
 * truncated and reset bodies, redirects, gzip and chunked upstreams,
 * timeouts, miss_timeout and miss = background.  Transient faults must
 * never become a cached miss, and a short body is never cached or served
 * as complete.
 */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "itest.h"
#include "xalloc.h"

#define PDB "/bar.pdb/0123456789ABCDEF0123456789ABCDEF1/bar.pdb"

static struct itest t;

static void stop(void)
{
    itest_stop(&t);
}

/* Retries fast so the suite stays quick; timeouts short. */
static const char *const fast_conf =
    "[upstream one]\nurl = @UP0@\nretries = 2\nretry_backoff = 20ms\n"
    "timeout = 2s\nconnect_timeout = 1s\n"
    "[upstream two]\nurl = @UP1@\nretries = 2\nretry_backoff = 20ms\n"
    "timeout = 2s\nconnect_timeout = 1s\n";

static void start_fast(void)
{
    itest_start_conf(&t, 2, fast_conf);
}

static void expect(const char *path, long status, const char *body,
                   size_t len, const char *miss)
{
    struct http_resp r;
    char *why;

    itest_get(&t, path, NULL, &r);
    ck_assert_int_eq(r.status, status);
    if (status == 200) {
        ck_assert_int_eq(r.curl_rc, 0);
        ck_assert_uint_eq(r.len, len);
        ck_assert(memcmp(r.body, body, len) == 0);
    }
    if (miss != NULL) {
        why = http_header(&r, "X-Symsrvd-Miss");
        ck_assert_msg(why != NULL && strcmp(why, miss) == 0,
                      "X-Symsrvd-Miss %s, want %s", why ? why : "(none)",
                      miss);
        free(why);
    }
    http_resp_free(&r);
}

static bool negative_listed(void)
{
    struct http_resp r;
    bool listed;

    itest_get(&t, "/symbols?negative=1", NULL, &r);
    listed = strstr(r.body, "\"name\"") != NULL;
    http_resp_free(&r);
    return listed;
}

START_TEST(test_http_failover_to_second_upstream)
{
    char *body = itest_body(4000, false, 11);

    stub_add(t.up[1], PDB, body, 4000);
    expect(PDB, 200, body, 4000, NULL);
    ck_assert_uint_eq(stub_hits(t.up[0], PDB), 1); /* 404: no retry */
    ck_assert_uint_eq(stub_hits(t.up[1], PDB), 1);
    expect(PDB, 200, body, 4000, NULL);
    ck_assert_uint_eq(stub_total_hits(t.up[1]), 1);
    free(body);
}
END_TEST

START_TEST(test_http_retry_after_503)
{
    char *body = itest_body(4000, false, 12);

    stub_add(t.up[0], PDB, body, 4000);
    stub_fault(t.up[0], PDB, STUB_STATUS, 503);
    stub_fault(t.up[0], PDB, STUB_STATUS, 429);
    expect(PDB, 200, body, 4000, NULL);
    ck_assert_uint_eq(stub_hits(t.up[0], PDB), 3);
    ck_assert_uint_eq(stub_total_hits(t.up[1]), 0);
    ck_assert_int_ge(metrics_get(daemon_url(t.d),
                                 "symsrvd_upstream_requests_total",
                                 "outcome=\"retry\""),
                     2);
    free(body);
}
END_TEST

START_TEST(test_http_5xx_storm_then_recovery)
{
    char *body = itest_body(4000, false, 13);

    stub_add(t.up[0], PDB, body, 4000);
    stub_fault_always(t.up[0], PDB, 503);
    stub_fault_always(t.up[1], PDB, 500);
    expect(PDB, 404, NULL, 0, "upstream-error");
    ck_assert_uint_eq(stub_hits(t.up[0], PDB), 3); /* 1 + 2 retries */
    ck_assert(!negative_listed());
    expect(PDB, 404, NULL, 0, "upstream-error");
    stub_fault_always(t.up[0], PDB, 0);
    expect(PDB, 200, body, 4000, NULL);
    expect(PDB, 200, body, 4000, NULL);
    free(body);
}
END_TEST

/* A body cut short after some bytes reached the client: the client sees
 * a failed transfer, nothing is cached, the next request fetches again. */
static void short_body(enum stub_fault_kind kind)
{
    size_t len = 300000;
    char *body = itest_body(len, false, 14), *disk;
    struct http_resp r;

    stub_add(t.up[0], PDB, body, len);
    /* Bytes already went to the client, so this is not retried. */
    stub_fault(t.up[0], PDB, kind, 100000);
    itest_get(&t, PDB, NULL, &r);
    ck_assert_msg(r.status == 404 || r.curl_rc != 0,
                  "short body served as complete (status %ld, %zu bytes)",
                  r.status, r.len);
    ck_assert_uint_lt(r.len, len);
    http_resp_free(&r);
    ck_assert(!negative_listed());
    ck_assert_uint_eq(itest_count_files(t.dir, true), 0);
    expect(PDB, 200, body, len, NULL);
    ck_assert_uint_eq(stub_hits(t.up[0], PDB), 2);
    disk = xasprintf("%s%s", t.dir, PDB);
    ck_assert_int_eq(access(disk, R_OK), 0);
    free(disk);
    free(body);
}

START_TEST(test_http_truncated_body_never_cached)
{
    short_body(STUB_TRUNCATE);
}
END_TEST

START_TEST(test_http_reset_body_never_cached)
{
    short_body(STUB_RESET);
}
END_TEST

START_TEST(test_http_truncated_before_first_byte_is_retried)
{
    char *body = itest_body(5000, false, 15);

    stub_add(t.up[0], PDB, body, 5000);
    stub_fault(t.up[0], PDB, STUB_TRUNCATE, 0);
    expect(PDB, 200, body, 5000, NULL);
    ck_assert_uint_eq(stub_hits(t.up[0], PDB), 2);
    free(body);
}
END_TEST

START_TEST(test_http_upstream_gzip_redirect_and_chunked)
{
    char *body = itest_body(50000, true, 16), *disk, *stored = NULL;
    const char *p2 = "/r.pdb/ABC1/r.pdb", *p3 = "/c.pdb/ABC1/c.pdb";
    size_t len;

    stub_add(t.up[0], PDB, body, 50000);
    stub_fault(t.up[0], PDB, STUB_GZIP, 0);
    expect(PDB, 200, body, 50000, NULL);
    disk = xasprintf("%s%s", t.dir, PDB);
    ck_assert_int_eq(read_small_file(disk, 1 << 20, &stored, &len), 0);
    ck_assert_uint_eq(len, 50000);
    ck_assert(memcmp(stored, body, len) == 0);
    stub_add(t.up[0], p2, body, 1000);
    stub_fault(t.up[0], p2, STUB_REDIRECT, 0);
    expect(p2, 200, body, 1000, NULL);
    expect(p2, 200, body, 1000, NULL);
    stub_add(t.up[0], p3, body, 30000);
    stub_fault(t.up[0], p3, STUB_NO_LENGTH, 0);
    expect(p3, 200, body, 30000, NULL);
    expect(p3, 200, body, 30000, NULL);
    ck_assert_uint_eq(stub_hits(t.up[0], p3), 1);
    free(stored);
    free(disk);
    free(body);
}
END_TEST

START_TEST(test_http_upstream_timeout_not_cached)
{
    char *body = itest_body(1000, false, 17);

    stub_add(t.up[0], PDB, body, 1000);
    stub_fault(t.up[0], PDB, STUB_DELAY, 2500);
    stub_fault(t.up[0], PDB, STUB_DELAY, 2500);
    stub_fault(t.up[0], PDB, STUB_DELAY, 2500);
    expect(PDB, 404, NULL, 0, "upstream-timeout");
    ck_assert(!negative_listed());
    expect(PDB, 200, body, 1000, NULL);
    free(body);
}
END_TEST

START_TEST(test_http_miss_timeout_then_hit)
{
    char *body = itest_body(1000, false, 18);
    struct http_resp r;
    char *why;

    itest_stop(&t);
    itest_start(&t, 1, "1", NULL,
                (const char *const[]){"SYMSRVD_CACHE_MISS_TIMEOUT=700ms",
                                      NULL});
    stub_add(t.up[0], PDB, body, 1000);
    stub_fault(t.up[0], PDB, STUB_DELAY, 2000);
    itest_get(&t, PDB, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    ck_assert(r.total_s < 1.8);
    why = http_header(&r, "X-Symsrvd-Miss");
    ck_assert_str_eq(why ? why : "(none)", "timeout");
    free(why);
    http_resp_free(&r);
    ck_assert(metrics_wait(daemon_url(t.d), "symsrvd_cache_entries", NULL, 1,
                           5000));
    expect(PDB, 200, body, 1000, NULL);
    ck_assert_uint_eq(stub_hits(t.up[0], PDB), 1);
    free(body);
}
END_TEST

START_TEST(test_http_miss_background)
{
    char *body = itest_body(1000, false, 19);

    itest_stop(&t);
    itest_start(&t, 1, "1", NULL,
                (const char *const[]){"SYMSRVD_CACHE_MISS=background", NULL});
    stub_add(t.up[0], PDB, body, 1000);
    expect(PDB, 404, NULL, 0, "pending");
    ck_assert(metrics_wait(daemon_url(t.d), "symsrvd_cache_entries", NULL, 1,
                           5000));
    expect(PDB, 200, body, 1000, NULL);
    ck_assert_uint_eq(stub_hits(t.up[0], PDB), 1);
    free(body);
}
END_TEST

START_TEST(test_http_upstream_connections_reused)
{
    char path[64];
    int i;

    itest_stop(&t);
    itest_start(&t, 1, "1", NULL,
                (const char *const[]){"SYMSRVD_SERVER_DOWNLOADERS=1", NULL});
    for (i = 0; i < 5; i++) {
        snprintf(path, sizeof(path), "/k%d.pdb/ABC1/k%d.pdb", i, i);
        stub_add(t.up[0], path, "x", 1);
        expect(path, 200, "x", 1, NULL);
    }
    ck_assert_uint_eq(stub_total_hits(t.up[0]), 5);
    ck_assert_uint_eq(stub_connections(t.up[0]), 1);
}
END_TEST

START_TEST(test_http_unreachable_upstream_fails_over)
{
    char *body = itest_body(2000, false, 20);
    char conf[512];
    unsigned dead_port;
    /* held for the whole test: a stub stopped again left its port free
     * for any server on the machine to take, and answer */
    int dead = itest_refusing_port(&dead_port);

    itest_stop(&t);
    snprintf(conf, sizeof(conf),
             "[upstream dead]\nurl = http://127.0.0.1:%u\nretries = 2\n"
             "retry_backoff = 10ms\nconnect_timeout = 500ms\n"
             "[upstream live]\nurl = @UP0@\n",
             dead_port);
    itest_start_conf(&t, 1, conf);
    stub_add(t.up[0], PDB, body, 2000);
    expect(PDB, 200, body, 2000, NULL);
    ck_assert_int_eq(metrics_get(daemon_url(t.d),
                                 "symsrvd_upstream_requests_total",
                                 "upstream=\"dead\",outcome=\"connect_error\""),
                     3);
    close(dead);
    free(body);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_faults");
    TCase *tc = tcase_create("faults");

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, start_fast, stop);
    tcase_add_test(tc, test_http_failover_to_second_upstream);
    tcase_add_test(tc, test_http_retry_after_503);
    tcase_add_test(tc, test_http_5xx_storm_then_recovery);
    tcase_add_test(tc, test_http_truncated_body_never_cached);
    tcase_add_test(tc, test_http_reset_body_never_cached);
    tcase_add_test(tc, test_http_truncated_before_first_byte_is_retried);
    tcase_add_test(tc, test_http_upstream_gzip_redirect_and_chunked);
    tcase_add_test(tc, test_http_upstream_timeout_not_cached);
    tcase_add_test(tc, test_http_miss_timeout_then_hit);
    tcase_add_test(tc, test_http_miss_background);
    tcase_add_test(tc, test_http_upstream_connections_reused);
    tcase_add_test(tc, test_http_unreachable_upstream_fails_over);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
