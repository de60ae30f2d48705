/* SPDX-License-Identifier: MIT */
/*
 * The bounded cache in the real daemon: filled through the stub upstream
 * past a small max_size, it falls back under the limit, the files never
 * hit go before the ones hit since, an evicted key is fetched again, and
 * a body being sent while its file is evicted arrives whole.
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

#define ID ITEST_KEY_ID
#define SMALL 100000

static struct itest t;

static void stop(void)
{
    itest_stop(&t);
}

/* Poll /metrics until the cache's bytes are at most MAX. */
static bool bytes_at_most(double max, unsigned timeout_ms)
{
    unsigned waited;

    for (waited = 0; waited <= timeout_ms; waited += 50) {
        double v = metrics_get(daemon_url(t.d), "symsrvd_cache_bytes", NULL);

        if (v >= 0 && v <= max)
            return true;
        usleep(50 * 1000);
    }
    return false;
}

/* File I's recorded hit count in /symbols (0 when it has no entry). */
static unsigned hits_of(unsigned i)
{
    char *path = xasprintf("/symbols?q=f%u.pdb", i);
    struct http_resp r;
    const char *p;
    unsigned n = 0;

    itest_get(&t, path, NULL, &r);
    if (r.status == 200 && r.body != NULL &&
        (p = strstr(r.body, "\"hits\":")) != NULL)
        n = (unsigned)strtoul(p + 7, NULL, 10);
    http_resp_free(&r);
    free(path);
    return n;
}

/* Wait until the index has recorded every hit /metrics counted on files
 * 0..N-1 (the hit path writes them in batches). */
static void settle_hits(unsigned n)
{
    double want = metrics_get(daemon_url(t.d), "symsrvd_http_responses_total",
                              "result=\"hit\"");
    unsigned waited, i, sum = 0;

    for (waited = 0; waited <= 10000; waited += 50) {
        for (sum = 0, i = 0; i < n; i++)
            sum += hits_of(i);
        if (sum >= want)
            return;
        usleep(50 * 1000);
    }
    ck_abort_msg("the index shows %u of %.0f hits", sum, want);
}

/* Poll /symbols until file I's entry shows HITS hits: the hit path
 * records them in batches, and eviction orders by what is recorded. */
static bool hits_recorded(unsigned i, unsigned hits, unsigned timeout_ms)
{
    char *path = xasprintf("/symbols?q=f%u.pdb", i);
    char *want = xasprintf("\"hits\":%u", hits);
    struct http_resp r;
    unsigned waited;
    bool yes = false;

    for (waited = 0; !yes && waited <= timeout_ms; waited += 50) {
        itest_get(&t, path, NULL, &r);
        yes = r.status == 200 && r.body != NULL && strstr(r.body, want);
        http_resp_free(&r);
        if (!yes)
            usleep(50 * 1000);
    }
    free(want);
    free(path);
    return yes;
}

START_TEST(test_evict_lru_under_limit)
{
    unsigned i, evicted = 0, before[5];

    itest_start_conf(&t, 1,
                     "max_size = 1000000\nmin_free = 0\n"
                     "[upstream one]\nurl = @UP0@\n");
    for (i = 0; i < 14; i++)
        itest_key_add(&t, i, SMALL);
    /* Ten files fill the cache to its limit, not past it. */
    for (i = 0; i < 10; i++)
        itest_key_get(&t, i, SMALL);
    /* A miss whose download ends before its request is served counts as
     * a hit already (served from the cache), so wait for one more. */
    settle_hits(10);
    for (i = 0; i < 5; i++)
        before[i] = hits_of(i);
    for (i = 0; i < 5; i++)
        itest_key_get(&t, i, SMALL); /* hits: 0..4 are now used after 5..9 */
    for (i = 0; i < 5; i++)
        ck_assert(hits_recorded(i, before[i] + 1, 10000));
    ck_assert_double_eq(
        metrics_get(daemon_url(t.d), "symsrvd_cache_evictions_total", NULL),
        0);
    for (i = 10; i < 14; i++)
        itest_key_get(&t, i, SMALL);
    ck_assert(bytes_at_most(1000000, 10000));
    for (i = 0; i < 14; i++) {
        if (itest_key_on_disk(t.dir, i))
            continue;
        ck_assert_msg(i >= 5 && i < 10, "file %u evicted before 5..9", i);
        evicted++;
    }
    /* 1.4 MB down to at most 1 MB, one 100 kB file at a time. */
    ck_assert_uint_ge(evicted, 4);
    ck_assert(itest_metric_at_least(&t, "symsrvd_cache_evictions_total",
                                    NULL, evicted, 1000));
    ck_assert(itest_metric_at_least(&t, "symsrvd_cache_evicted_bytes_total",
                                    NULL, (double)evicted * SMALL, 1000));
    /* Evicted files are fetched again (which may evict others: only
     * those known gone are asked for). */
    for (i = 5; i < 10; i++) {
        ck_assert_uint_eq(itest_key_hits(&t, i), 1);
        if (itest_key_on_disk(t.dir, i))
            continue;
        itest_key_get(&t, i, SMALL);
        ck_assert_uint_eq(itest_key_hits(&t, i), 2);
    }
}
END_TEST

/* Read from FD until LEN bytes are in BUF or the peer closes. */
static size_t read_upto(int fd, char *buf, size_t len)
{
    size_t got = 0;
    ssize_t n;

    while (got < len && (n = read(fd, buf + got, len - got)) > 0)
        got += (size_t)n;
    return got;
}

START_TEST(test_evict_while_streaming)
{
    const size_t big = 16u << 20, head = 65536;
    char *path, *req, *buf = xmalloc(big + 4096), *body, *file;
    size_t got, hdrlen;
    unsigned waited;
    int fd;

    itest_start_conf(&t, 1,
                     "max_size = 20M\nmin_free = 0\n"
                     "[upstream one]\nurl = @UP0@\n");
    itest_key_add(&t, 1, big);
    itest_key_add(&t, 2, big);
    itest_key_get(&t, 1, big);
    path = itest_key_path(1);
    file = xasprintf("%s%s", t.dir, "/f1.pdb/" ID "/f1.pdb");
    req = xasprintf("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Connection: close\r\n\r\n", path);
    fd = itest_connect_rcvbuf(daemon_port(t.d), 4096);
    ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    got = read_upto(fd, buf, head);
    ck_assert_uint_eq(got, head);
    usleep(600 * 1000); /* that hit is flushed before file 2 arrives */
    /* 32 MB > 20 MB: file 1, hit before file 2 was cached, must go. */
    itest_key_get(&t, 2, big);
    for (waited = 0; access(file, F_OK) == 0 && waited < 10000; waited += 50)
        usleep(50 * 1000);
    ck_assert_msg(access(file, F_OK) != 0, "file 1 was not evicted");
    got += read_upto(fd, buf + got, big + 4096 - got);
    close(fd);
    body = strstr(buf, "\r\n\r\n");
    ck_assert_ptr_nonnull(body);
    ck_assert_msg(strncmp(buf, "HTTP/1.1 200", 12) == 0, "%.40s", buf);
    body += 4;
    hdrlen = (size_t)(body - buf);
    ck_assert_uint_eq(got - hdrlen, big);
    ck_assert(stub_generated_equal(1, 0, body, big));
    free(file);
    free(req);
    free(path);
    free(buf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_evict");
    TCase *tc = tcase_create("evict");

    tcase_add_checked_fixture(tc, NULL, stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_evict_lru_under_limit);
    tcase_add_test(tc, test_evict_while_streaming);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
