/* SPDX-License-Identifier: MIT */
/*
 * Out of space in the real daemon: a download that passes max_tmp_size,
 * an index whose map is full and may not grow, and (where a tmpfs can be
 * mounted in a private namespace) a file system that is really full.  In
 * each: the miss says X-Symsrvd-Miss: no-space or, when the body came
 * whole, is sent without being stored; nothing partial stays; hits go on;
 * the miss is not remembered nor blamed on the upstream; /health and
 * /metrics say so.
 */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cache.h"
#include "fileio.h"
#include "itest.h"
#include "publish.h"
#include "xalloc.h"

#define ID ITEST_KEY_ID

static struct itest t;
static char *cache_dir; /* where the daemon's cache is, when not t.dir */
static bool fill_published; /* prefill()'s records are never evicted */

static void chunked(unsigned i)
{
    char *path = itest_key_path(i);

    stub_fault(t.up[0], path, STUB_NO_LENGTH, 0);
    free(path);
}

static const char *dir(void)
{
    return cache_dir != NULL ? cache_dir : t.dir;
}

static size_t temp_files(void)
{
    char *p = xasprintf("%s/.Symsrvd/tmp", dir());
    size_t n = itest_count_files(p, false);

    free(p);
    return n;
}

/* The clean failure: 404 with no-space, before any byte. */
static void get_no_space(unsigned i)
{
    char *path = itest_key_path(i), *miss;
    struct http_resp r;

    itest_get(&t, path, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    miss = http_header(&r, "X-Symsrvd-Miss");
    ck_assert_ptr_nonnull(miss);
    ck_assert_str_eq(miss, "no-space");
    free(miss);
    http_resp_free(&r);
    free(path);
}

/* A chunked body cut at the limit: the client never sees it complete. */
static void get_cut(unsigned i, uint64_t len)
{
    char *path = itest_key_path(i);
    struct http_resp r;

    itest_get(&t, path, NULL, &r);
    ck_assert(r.status == 404 || r.curl_rc != 0);
    ck_assert_uint_lt(r.len, len);
    http_resp_free(&r);
    free(path);
}

static void health_says(const char *status, const char *reason)
{
    struct http_resp r;

    itest_get(&t, "/health", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(strstr(r.body, status) != NULL, "%s", r.body);
    if (reason != NULL)
        ck_assert_msg(strstr(r.body, reason) != NULL, "%s", r.body);
    else
        ck_assert_msg(strstr(r.body, "\"reason\"") == NULL, "%s", r.body);
    http_resp_free(&r);
}

static double metric(const char *name, const char *label)
{
    double v = metrics_get(daemon_url(t.d), name, label);

    return v < 0 ? 0 : v;
}

/* Neither remembered nor blamed on the upstream. */
static void not_upstreams_fault(void)
{
    ck_assert(metric("symsrvd_upstream_requests_total",
                     "outcome=\"error\"") == 0);
    ck_assert(metric("symsrvd_http_responses_total",
                     "result=\"upstream_error\"") == 0);
}

/* Serve key I as a gzip stream of LEN zero bytes: a small body that the
 * daemon decodes into a large file before storing it. */
static void add_gzip_bomb(unsigned i, size_t len)
{
    char *zeros = xcalloc(1, len), *path = itest_key_path(i), *gz;
    size_t gzlen;

    gz = itest_gzip(zeros, len, &gzlen);
    stub_add(t.up[0], path, gz, gzlen);
    free(gz);
    free(path);
    free(zeros);
}

/* --- max_tmp_size -------------------------------------------------------- */

START_TEST(test_tmp_limit)
{
    itest_start_conf(&t, 1,
                     "max_tmp_size = 64K\nmin_free = 0\n"
                     "[upstream a]\nurl = @UP0@\n");
    itest_key_add(&t, 1, 10000);
    itest_key_add(&t, 2, 200000);
    itest_key_add(&t, 3, 200000);
    chunked(3);
    itest_key_get(&t, 1, 10000);
    health_says("\"ok\"", NULL);
    get_no_space(2);
    ck_assert(!itest_key_on_disk(dir(), 2));
    ck_assert_uint_eq(temp_files(), 0);
    health_says("\"degraded\"", "no space: max_tmp_size");
    ck_assert(itest_metric_at_least(&t, "symsrvd_no_space_total",
                                    "where=\"tmp\"", 1, 5000));
    ck_assert(metric("symsrvd_no_space", NULL) == 1);
    ck_assert(itest_metric_at_least(&t, "symsrvd_http_responses_total",
                                    "result=\"no_space\"", 1, 5000));
    get_cut(3, 200000);
    ck_assert(!itest_key_on_disk(dir(), 3));
    /* hits go on; the refused key is asked again */
    itest_key_get(&t, 1, 10000);
    ck_assert_uint_eq(itest_key_hits(&t, 1), 1);
    get_no_space(2);
    ck_assert_uint_eq(itest_key_hits(&t, 2), 2);
    ck_assert_uint_eq(temp_files(), 0);
    ck_assert(metric("symsrvd_download_tmp_bytes", NULL) == 0);
    not_upstreams_fault();
    /* what the requests were, and how long they and the upstream took */
    ck_assert(metric("symsrvd_http_requests_total", "type=\"symbol\"") >= 5);
    ck_assert(metric("symsrvd_http_requests_total", "type=\"health\"") >= 2);
    ck_assert(metric("symsrvd_http_request_duration_seconds_count", NULL) >=
              9);
    ck_assert(metric("symsrvd_upstream_request_duration_seconds_count",
                     NULL) >= 4);
    itest_stop(&t);
}
END_TEST

/* --- an index that is full ---------------------------------------------- */

#define FILL_BATCH 64
#define FILL_SIZE 4096

/* Fill the index under D (a map of 1 MiB) with records of real files of
 * FILL_SIZE bytes, whose long names make each record large, until it
 * refuses even one more.  Returns the number of records. */
static unsigned prefill(const char *d)
{
    static char keys[FILL_BATCH][400];
    const char *kp[FILL_BATCH];
    struct cache_entry e[FILL_BATCH];
    char name[160], path[1024], body[FILL_SIZE];
    struct cache *c;
    unsigned n = 0, k, batch = FILL_BATCH;
    int rc = 0, fd;

    memset(body, 'x', sizeof(body));
    memset(e, 0, sizeof(e));
    ck_assert_int_eq(cache_open(d, 1 << 20, &c), 0);
    /* batches while they fit, then single records to the last byte */
    while ((rc == 0 || batch > 1) && n < 100000) {
        if (rc != 0)
            batch = 1;
        for (k = 0; k < batch; k++) {
            snprintf(name, sizeof(name), "%0120u.pdb", n + k);
            snprintf(keys[k], sizeof(keys[k]), "%s/%s/%s", name, ID, name);
            snprintf(path, sizeof(path), "%s/%s/%s", d, name, ID);
            ck_assert_int_eq(mkdir_p(path, 0755), 0);
            snprintf(path, sizeof(path), "%s/%s/%s/%s", d, name, ID, name);
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            ck_assert_int_ge(fd, 0);
            ck_assert_int_eq(write_full(fd, body, sizeof(body)), 0);
            close(fd);
            kp[k] = keys[k];
            e[k].size = FILL_SIZE;
            e[k].cached_at_ms = 1000 + n + k; /* old: evicted first */
            if (fill_published)
                snprintf(e[k].upstream, sizeof(e[k].upstream), "%s",
                         PUBLISH_LABEL);
        }
        rc = cache_insert_many(c, kp, e, batch);
        if (rc == 0)
            n += batch;
    }
    ck_assert_int_eq(rc, -ENOSPC);
    cache_close(c);
    return n;
}

/* Start the daemon on a full index of 1 MiB, with EXTRA settings. */
static void start_full_index(const char *extra)
{
    char *conf;

    cache_dir = testutil_tmpdir();
    ck_assert_uint_gt(prefill(cache_dir), 100);
    conf = xasprintf("dir = %s\nmap_size = 1M\nmin_free = 0\n%s"
                     "[upstream a]\nurl = @UP0@\n",
                     cache_dir, extra);
    itest_start_conf(&t, 1, conf);
    free(conf);
}

static void stop_full_index(void)
{
    itest_stop(&t);
    testutil_rmtree(cache_dir);
    free(cache_dir);
    cache_dir = NULL;
}

/* The decoded copy of a compressed body is temp space too: a small gzip
 * body whose decoded file would pass max_tmp_size is a no-space miss,
 * not a file written past the limit; one that fits is served. */
START_TEST(test_tmp_limit_counts_decoded)
{
    char *path = itest_key_path(2);
    struct http_resp r;

    itest_start_conf(&t, 1,
                     "max_tmp_size = 64K\nmin_free = 0\n"
                     "[upstream a]\nurl = @UP0@\n");
    add_gzip_bomb(1, 200000);
    add_gzip_bomb(2, 30000);
    get_no_space(1);
    ck_assert(!itest_key_on_disk(dir(), 1));
    ck_assert_uint_eq(temp_files(), 0);
    ck_assert(itest_metric_at_least(&t, "symsrvd_no_space_total",
                                    "where=\"tmp\"", 1, 5000));
    ck_assert(metric("symsrvd_upstream_rejected_total", NULL) == 0);
    ck_assert(metric("symsrvd_download_tmp_bytes", NULL) == 0);
    not_upstreams_fault();
    itest_get(&t, path, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, 30000);
    http_resp_free(&r);
    ck_assert(itest_key_on_disk(dir(), 2));
    itest_stop(&t);
    free(path);
}
END_TEST

START_TEST(test_index_full)
{
    unsigned u;
    bool stored = true;

    start_full_index("map_size_max = 1M\n");
    /* LMDB reuses the pages a write freed only a few writes later, so the
     * last records may still fit: download until one does not */
    for (u = 100; u < 400 && stored; u++) {
        itest_key_add(&t, u, 20000);
        itest_key_get(&t, u, 20000); /* whole: sent from the temp file if refused */
        stored = itest_key_on_disk(dir(), u);
    }
    ck_assert_msg(!stored, "the index never filled");
    u--;
    ck_assert_uint_eq(temp_files(), 0);
    health_says("\"degraded\"", "no space: index");
    ck_assert(itest_metric_at_least(&t, "symsrvd_no_space_total",
                                    "where=\"index\"", 1, 5000));
    ck_assert(metric("symsrvd_index_map_grows_total", NULL) == 0);
    itest_key_get(&t, u, 20000);
    ck_assert_uint_eq(itest_key_hits(&t, u), 2);
    not_upstreams_fault();
    /* the evictor was asked for the bytes: then downloads are stored */
    ck_assert(itest_metric_at_least(&t, "symsrvd_cache_evictions_total",
                                    NULL, 1, 10000));
    /* the pass frees a batch at a time, and LMDB reuses freed pages a
     * few writes later: allow it a few seconds */
    for (u = 1000, stored = false; u < 1050 && !stored; u++) {
        itest_key_add(&t, u, 20000);
        itest_key_get(&t, u, 20000);
        stored = itest_key_on_disk(dir(), u);
        if (!stored)
            usleep(200000);
    }
    ck_assert_msg(stored, "nothing stored after the eviction");
    u--;
    itest_key_get(&t, u, 20000);
    ck_assert_uint_eq(itest_key_hits(&t, u), 1);
    health_says("\"ok\"", NULL);
    stop_full_index();
}
END_TEST

/* One round of NCLIENTS at once for key U, slowly sent, which the full
 * index refuses: true when the clients came to both workers (a miss each:
 * one downloads, the other tails its temp file).  Every client must get
 * the whole body either way. */
#define NCLIENTS 12
static bool tailed_unstored_round(unsigned u, uint64_t len)
{
    char *path = itest_key_path(u), *url;
    struct http_resp r[NCLIENTS];
    double misses = metric("symsrvd_http_responses_total", "result=\"miss\""),
           ok = metric("symsrvd_http_status_total", "code=\"200\"");
    unsigned k;

    itest_key_add(&t, u, len);
    stub_fault(t.up[0], path, STUB_SLOW, len * 4); /* a quarter second */
    url = itest_url(&t, path);
    ck_assert_uint_eq(http_get_many(url, NULL, NCLIENTS, r), 0);
    for (k = 0; k < NCLIENTS; k++) {
        ck_assert_int_eq(r[k].status, 200);
        ck_assert_uint_eq(r[k].len, len);
        http_resp_free(&r[k]);
    }
    ck_assert_uint_eq(stub_hits(t.up[0], path), 1);
    /* counted at completion, which may come after the client's read */
    ck_assert(itest_metric_at_least(&t, "symsrvd_http_status_total",
                                    "code=\"200\"", ok + NCLIENTS, 5000));
    free(url);
    free(path);
    ck_assert(!itest_key_on_disk(dir(), u));
    return metric("symsrvd_http_responses_total", "result=\"miss\"") -
               misses ==
           2;
}

/* A body the full index refused reaches the clients of both workers
 * whole: the tailing worker used to cut its own clients short. */
START_TEST(test_index_full_tailed)
{
    unsigned u;
    bool seen = false;

    /* published records: the evictor cannot make room, every body is
     * refused, and the rounds go on until the clients of one come to
     * both workers.  A new connection wakes the first idle pool thread in
     * the order they were made, so the first worker's eight threads take
     * nearly all of them; with one thread each, a burst spills over. */
    fill_published = true;
    start_full_index("map_size_max = 1M\n[server]\nthreads = 1\n");
    for (u = 100; u < 120 && !seen; u++)
        seen = tailed_unstored_round(u, 1 << 20);
    ck_assert_msg(seen, "no refused body was ever tailed by the other worker");
    fill_published = false;
    ck_assert_uint_eq(temp_files(), 0);
    stop_full_index();
}
END_TEST

/* The same full index with room to grow (map_size_max at its default):
 * the map grows and every download is stored, as it was not when 234 of
 * 300 misses with map_size = 1M were cut short. */
START_TEST(test_index_grows)
{
    unsigned u;

    start_full_index("");
    for (u = 100; u < 120; u++) {
        itest_key_add(&t, u, 20000);
        itest_key_get(&t, u, 20000);
        ck_assert(itest_key_on_disk(dir(), u));
    }
    ck_assert(metric("symsrvd_index_map_grows_total", NULL) >= 1);
    ck_assert(metric("symsrvd_index_map_bytes", NULL) > 1 << 20);
    ck_assert(metric("symsrvd_no_space_total", NULL) == 0);
    health_says("\"ok\"", NULL);
    stop_full_index();
}
END_TEST

/* --- a full file system -------------------------------------------------- */

START_TEST(test_disk_full)
{
    char *mnt = testutil_tmpdir(), *conf;

    ck_assert_int_eq(testutil_mount_tmpfs(mnt, 0, "size=4M"), 0);
    cache_dir = xasprintf("%s/cache", mnt);
    conf = xasprintf("dir = %s\nmap_size = 1M\nmin_free = 0\n"
                     "max_tmp_size = 0\n[upstream a]\nurl = @UP0@\n",
                     cache_dir);
    itest_start_conf(&t, 1, conf);
    itest_key_add(&t, 1, 100000);
    itest_key_add(&t, 2, 6 << 20);
    itest_key_add(&t, 3, 6 << 20);
    chunked(3);
    itest_key_get(&t, 1, 100000);
    /* announced: refused before the first byte */
    get_no_space(2);
    ck_assert(!itest_key_on_disk(dir(), 2));
    ck_assert_uint_eq(temp_files(), 0);
    health_says("\"degraded\"", "no space: disk");
    ck_assert(itest_metric_at_least(&t, "symsrvd_no_space_total",
                                    "where=\"disk\"", 1, 5000));
    /* not announced: cut where the disk filled, and nothing kept */
    get_cut(3, 6 << 20);
    ck_assert(!itest_key_on_disk(dir(), 3));
    ck_assert_uint_eq(temp_files(), 0);
    itest_key_get(&t, 1, 100000);
    ck_assert_uint_eq(itest_key_hits(&t, 1), 1);
    get_no_space(2);
    ck_assert_uint_eq(itest_key_hits(&t, 2), 2);
    /* a small compressed body whose decoded file does not fit */
    add_gzip_bomb(4, 6 << 20);
    get_no_space(4);
    ck_assert(!itest_key_on_disk(dir(), 4));
    ck_assert_uint_eq(temp_files(), 0);
    ck_assert(metric("symsrvd_upstream_rejected_total", NULL) == 0);
    not_upstreams_fault();
    itest_stop(&t);
    free(cache_dir);
    cache_dir = NULL;
    free(conf);
    umount(mnt);
    rmdir(mnt);
    free(mnt);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("diskfull");
    TCase *tc = tcase_create("diskfull");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_tmp_limit);
    tcase_add_test(tc, test_tmp_limit_counts_decoded);
    tcase_add_test(tc, test_index_full);
    tcase_add_test(tc, test_index_full_tailed);
    tcase_add_test(tc, test_index_grows);
    /* mounting needs root or unprivileged user namespaces */
    if (testutil_can_mount_tmpfs())
        tcase_add_test(tc, test_disk_full);
    else
        fprintf(stderr, "no private tmpfs here: the full file system "
                        "case is left out\n");
    suite_add_tcase(s, tc);
    return ckrun(s);
}
