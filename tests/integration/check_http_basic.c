/* SPDX-License-Identifier: MIT */
/*
 * The daemon's hit path and HTTP interface, against a stub upstream:
 * miss then hit, case folding, HEAD, 304, ranges, gzip, traversal,
 * methods, /symbols, /health, /metrics, negative cache, restart.
 */
#include "symsrvd_config.h"

#include <check.h>
#include <curl/curl.h>

#include "ckrun.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <zlib.h>

#include "fileio.h"
#include "itest.h"
#include "xalloc.h"

#define PDB "/foo.pdb/ABCDEF0123456789ABCDEF01234567891/foo.pdb"

static struct itest t;

static void start_default(void)
{
    itest_start(&t, 1, "2", NULL, NULL);
}

static void stop(void)
{
    itest_stop(&t);
}

START_TEST(test_http_miss_then_hit_one_upstream_get)
{
    char *body = itest_body(5000, false, 1);
    struct http_resp r;
    char ua[128], *cl, *ct, *etag, *lm;

    stub_add(t.up[0], PDB, body, 5000);
    itest_get_body(&t, PDB, body, 5000);
    itest_get_body(&t, PDB, body, 5000);
    itest_get_body(&t, "/download/symbols" PDB, body, 5000);
    ck_assert_uint_eq(stub_hits(t.up[0], PDB), 1);
    itest_get(&t, PDB, NULL, &r);
    cl = http_header(&r, "Content-Length");
    ct = http_header(&r, "Content-Type");
    ck_assert_str_eq(cl, "5000");
    ck_assert_str_eq(ct, "application/octet-stream");
    etag = http_header(&r, "ETag");
    lm = http_header(&r, "Last-Modified");
    ck_assert_ptr_nonnull(etag);
    ck_assert_ptr_nonnull(lm);
    free(etag);
    free(lm);
    stub_last_user_agent(t.up[0], ua, sizeof(ua));
    ck_assert_msg(strncmp(ua, "symsrvd/", 8) == 0, "UA %s", ua);
    ck_assert(metrics_wait(daemon_url(t.d), "symsrvd_http_responses_total",
                           "result=\"hit\"", 3,
                           5000));
    free(cl);
    free(ct);
    http_resp_free(&r);
    free(body);
}
END_TEST

START_TEST(test_http_case_insensitive_hits_case_preserving_upstream)
{
    const char *upath = "/Foo.PDB/abcdef0123456789abcdef01234567891/FOO.pdb";
    char *body = itest_body(3000, false, 2), last[512], *disk;

    stub_add(t.up[0], upath, body, 3000);
    itest_get_body(&t, upath, body, 3000);
    stub_last_path(t.up[0], last, sizeof(last));
    ck_assert_str_eq(last, upath);
    itest_get_body(&t, PDB, body, 3000);
    itest_get_body(&t, "/FOO.pdb/AbCdEf0123456789ABCDEF01234567891/Foo.Pdb", body, 3000);
    ck_assert_uint_eq(stub_total_hits(t.up[0]), 1);
    /* The cache is a symstore tree in canonical case. */
    disk = xasprintf("%s%s", t.dir, PDB);
    ck_assert_int_eq(access(disk, R_OK), 0);
    free(disk);
    free(body);
}
END_TEST

START_TEST(test_http_head_and_conditional)
{
    char *body = itest_body(2048, false, 3), *etag, *lm, *cl;
    char inm[128], ims[128];
    struct http_resp r;
    char *url;

    stub_add(t.up[0], PDB, body, 2048);
    url = itest_url(&t, PDB);
    ck_assert_int_eq(http_head(url, NULL, &r), 0); /* a miss, via HEAD */
    ck_assert_int_eq(r.status, 200);
    http_resp_free(&r);
    itest_get_body(&t, PDB, body, 2048); /* completes once the file is stored */
    ck_assert_int_eq(http_head(url, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, 0);
    cl = http_header(&r, "Content-Length");
    ck_assert_str_eq(cl, "2048");
    etag = http_header(&r, "ETag");
    lm = http_header(&r, "Last-Modified");
    http_resp_free(&r);
    snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
    snprintf(ims, sizeof(ims), "If-Modified-Since: %s", lm);
    itest_get(&t, PDB, (const char *const[]){inm, NULL}, &r);
    ck_assert_int_eq(r.status, 304);
    ck_assert_uint_eq(r.len, 0);
    http_resp_free(&r);
    itest_get(&t, PDB, (const char *const[]){ims, NULL}, &r);
    ck_assert_int_eq(r.status, 304);
    http_resp_free(&r);
    itest_get(&t, PDB, (const char *const[]){"If-None-Match: \"other\"", NULL},
              &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, 2048);
    http_resp_free(&r);
    free(url);
    free(cl);
    free(etag);
    free(lm);
    free(body);
}
END_TEST

START_TEST(test_http_ranges)
{
    char *body = itest_body(10000, false, 4), *cr, *etag, ir[160];
    struct http_resp r;

    stub_add(t.up[0], PDB, body, 10000);
    itest_get_body(&t, PDB, body, 10000);
    itest_get(&t, PDB, (const char *const[]){"Range: bytes=100-199", NULL}, &r);
    ck_assert_int_eq(r.status, 206);
    ck_assert_uint_eq(r.len, 100);
    ck_assert(memcmp(r.body, body + 100, 100) == 0);
    cr = http_header(&r, "Content-Range");
    ck_assert_str_eq(cr, "bytes 100-199/10000");
    etag = http_header(&r, "ETag");
    http_resp_free(&r);
    itest_get(&t, PDB, (const char *const[]){"Range: bytes=-10", NULL}, &r);
    ck_assert_int_eq(r.status, 206);
    ck_assert(memcmp(r.body, body + 9990, 10) == 0);
    http_resp_free(&r);
    itest_get(&t, PDB, (const char *const[]){"Range: bytes=20000-", NULL}, &r);
    ck_assert_int_eq(r.status, 416);
    http_resp_free(&r);
    snprintf(ir, sizeof(ir), "If-Range: %s", etag);
    itest_get(&t, PDB,
              (const char *const[]){"Range: bytes=0-9", ir, NULL}, &r);
    ck_assert_int_eq(r.status, 206);
    http_resp_free(&r);
    itest_get(&t, PDB,
              (const char *const[]){"Range: bytes=0-9", "If-Range: \"old\"",
                                    NULL},
              &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, 10000);
    http_resp_free(&r);
    free(cr);
    free(etag);
    free(body);
}
END_TEST

static size_t gunzip(const char *in, size_t len, char *out, size_t outlen)
{
    z_stream zs;

    memset(&zs, 0, sizeof(zs));
    ck_assert_int_eq(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (unsigned char *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = (unsigned char *)out;
    zs.avail_out = (uInt)outlen;
    ck_assert_int_eq(inflate(&zs, Z_FINISH), Z_STREAM_END);
    inflateEnd(&zs);
    return outlen - zs.avail_out;
}

START_TEST(test_http_gzip_roundtrip_and_vary)
{
    size_t len = 200000, n;
    char *body = itest_body(len, true, 5), *out = xmalloc(len), *ce, *vary;
    const char *small = "/tiny.pdb/ABC1/tiny.pdb";
    struct http_resp r;

    stub_add(t.up[0], PDB, body, len);
    stub_add(t.up[0], small, "tiny", 4);
    itest_get_body(&t, PDB, body, len);
    itest_get_body(&t, small, "tiny", 4);
    ck_assert(metrics_wait(daemon_url(t.d), "symsrvd_gzip_copies_total", NULL,
                           1, 10000));
    itest_get(&t, PDB, (const char *const[]){"Accept-Encoding: gzip", NULL},
              &r);
    ck_assert_int_eq(r.status, 200);
    ce = http_header(&r, "Content-Encoding");
    vary = http_header(&r, "Vary");
    ck_assert_str_eq(ce, "gzip");
    ck_assert_str_eq(vary, "Accept-Encoding");
    ck_assert_uint_lt(r.len, len / 2);
    n = gunzip(r.body, r.len, out, len);
    ck_assert_uint_eq(n, len);
    ck_assert(memcmp(out, body, len) == 0);
    free(ce);
    http_resp_free(&r);
    itest_get(&t, PDB,
              (const char *const[]){"Accept-Encoding: gzip;q=0", NULL}, &r);
    ce = http_header(&r, "Content-Encoding");
    ck_assert_ptr_null(ce);
    ck_assert_uint_eq(r.len, len);
    http_resp_free(&r);
    itest_get(&t, small, (const char *const[]){"Accept-Encoding: gzip", NULL},
              &r);
    ck_assert_ptr_null(http_header(&r, "Content-Encoding"));
    ck_assert_uint_eq(r.len, 4);
    http_resp_free(&r);
    free(vary);
    free(out);
    free(body);
}
END_TEST

START_TEST(test_http_path_traversal_rejected)
{
    static const char *const targets[] = {
        "/../../../etc/passwd/x",
        "/%2e%2e/%2e%2e/passwd",
        "/x.pdb/..%2f..%2f/x.pdb",
        "/%2e%2e%2f%2e%2e%2fetc/ABC1/passwd",
        "/x.pdb/ABC1/..",
        "/x.pdb/ABC1/%2E%2E",
        "/x.pdb/ABC1/a%5c..%5c..%5cb",
        "/x.pdb/ABC1/a%00b",
        "/..%252f..%252f/ABC1/x",
        "/x%0d%0aSet-Cookie:%20a/ABC1/x",
    };
    char req[512], reply[2048];
    size_t i;

    for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        int status;

        snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                 targets[i]);
        status = http_raw(daemon_port(t.d), req, reply, sizeof(reply));
        ck_assert_msg(status == 400 || status == 404, "%s -> %d", targets[i],
                      status);
        ck_assert_msg(strstr(reply, "Set-Cookie") == NULL ||
                          strstr(reply, "\r\nSet-Cookie") == NULL,
                      "header injection via %s", targets[i]);
    }
    /* Nothing reached upstream and nothing was written outside state. */
    ck_assert_uint_eq(stub_total_hits(t.up[0]), 1);
    ck_assert(!itest_tree_has(t.dir, "passwd"));
}
END_TEST

START_TEST(test_http_methods)
{
    struct http_resp r;
    char *url = itest_url(&t, PDB), *allow;

    ck_assert_int_eq(http_request("POST", url, NULL, &r), 0);
    ck_assert_int_eq(r.status, 405);
    allow = http_header(&r, "Allow");
    ck_assert_str_eq(allow, "GET, HEAD");
    free(allow);
    http_resp_free(&r);
    ck_assert_int_eq(http_request("PUT", url, NULL, &r), 0);
    ck_assert_int_eq(r.status, 405);
    http_resp_free(&r);
    /* DELETE is the admin action (check_http_admin): nothing to drop */
    ck_assert_int_eq(http_request("DELETE", url, NULL, &r), 0);
    ck_assert_int_eq(r.status, 404);
    http_resp_free(&r);
    ck_assert_uint_eq(stub_total_hits(t.up[0]), 0);
    itest_get(&t, "/index2.txt", NULL, &r);
    ck_assert_int_eq(r.status, 404);
    http_resp_free(&r);
    free(url);
}
END_TEST

/* Follow /symbols pages of LIMIT entries; returns how many were listed. */
static unsigned list_all(const char *query_extra, unsigned limit)
{
    char path[512], *next = NULL;
    unsigned total = 0, pages = 0;

    do {
        struct http_resp r;
        char *p, *q;

        snprintf(path, sizeof(path), "/symbols?limit=%u%s%s%s", limit,
                 query_extra, next ? "&after=" : "", next ? next : "");
        free(next);
        next = NULL;
        itest_get(&t, path, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_msg(strncmp(r.body, "{\"symbols\":[", 12) == 0, "%s",
                      r.body);
        for (p = r.body; (p = strstr(p, "\"name\":")) != NULL; p++)
            total++;
        p = strstr(r.body, "\"next\":\"");
        if (p != NULL) {
            p += 8;
            q = strchr(p, '"');
            next = xstrndup(p, (size_t)(q - p));
        }
        http_resp_free(&r);
        ck_assert_uint_lt(++pages, 100);
    } while (next != NULL);
    return total;
}

START_TEST(test_http_listing_and_pagination)
{
    char path[128];
    struct http_resp r;
    int i;

    for (i = 0; i < 5; i++) {
        snprintf(path, sizeof(path), "/lib%d.pdb/ABC%d/lib%d.pdb", i, i, i);
        stub_add(t.up[0], path, "data", 4);
        itest_get_body(&t, path, "data", 4);
    }
    ck_assert_uint_eq(list_all("", 2), 5);
    ck_assert_uint_eq(list_all("", 100), 5);
    ck_assert_uint_eq(list_all("&q=LIB3", 2), 1);
    itest_get(&t, "/symbols", NULL, &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\"size\":4"));
    ck_assert_ptr_nonnull(strstr(r.body, "\"cached_at\":\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"next\":null"));
    http_resp_free(&r);
    itest_get(&t, "/nothere.pdb/ABC1/nothere.pdb", NULL, &r);
    http_resp_free(&r);
    itest_get(&t, "/symbols?negative=1", NULL, &r);
    ck_assert_ptr_nonnull(strstr(r.body, "nothere.pdb"));
    ck_assert_ptr_nonnull(strstr(r.body, "\"expires\""));
    http_resp_free(&r);
    itest_get(&t, "/symbols?limit=0", NULL, &r);
    ck_assert_int_eq(r.status, 400);
    http_resp_free(&r);
    itest_get(&t, "/symbols?limit=abc", NULL, &r);
    ck_assert_int_eq(r.status, 400);
    http_resp_free(&r);
    itest_get(&t, "/symbols?after=zz", NULL, &r);
    ck_assert_int_eq(r.status, 400);
    http_resp_free(&r);
}
END_TEST

START_TEST(test_http_health_and_metrics)
{
    struct http_resp r;

    /* The daemon is ready once its first worker serves; the master may
     * still be forking the second, so wait until the gauge counts both. */
    ck_assert(metrics_wait(daemon_url(t.d), "symsrvd_workers", NULL, 2, 5000));
    itest_get(&t, "/health", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"status\":\"ok\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"version\":\"" PACKAGE_VERSION));
    ck_assert_ptr_nonnull(strstr(r.body, "\"workers\":2"));
    ck_assert_ptr_nonnull(strstr(r.body, "\"cache\":{\"entries\":0"));
    http_resp_free(&r);
    ck_assert_int_eq(metrics_get(daemon_url(t.d), "symsrvd_ready", NULL), 1);
    /* Counted when a response completes, so possibly after it arrived. */
    ck_assert(itest_metric_at_least(&t, "symsrvd_http_status_total",
                                    "code=\"200\"", 1, 5000));
    ck_assert_int_eq(metrics_get(daemon_url(t.d), "symsrvd_cache_entries",
                                 NULL),
                     0);
}
END_TEST

START_TEST(test_http_negative_cache_expires)
{
    const char *miss = "/gone.pdb/ABC1/gone.pdb";
    struct http_resp r;
    char *why;

    itest_stop(&t);
    itest_start(&t, 1, "1", NULL,
                (const char *const[]){"SYMSRVD_CACHE_NEGATIVE_TTL=1s", NULL});
    itest_get(&t, miss, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    why = http_header(&r, "X-Symsrvd-Miss");
    ck_assert_str_eq(why, "not-found");
    free(why);
    http_resp_free(&r);
    itest_get(&t, miss, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    http_resp_free(&r);
    ck_assert_uint_eq(stub_hits(t.up[0], miss), 1);
    usleep(1300 * 1000);
    stub_add(t.up[0], miss, "back", 4);
    itest_get_body(&t, miss, "back", 4);
    ck_assert_uint_eq(stub_hits(t.up[0], miss), 2);
}
END_TEST

START_TEST(test_http_restart_serves_cache_with_upstream_down)
{
    char *body = itest_body(7000, false, 6);

    stub_add(t.up[0], PDB, body, 7000);
    itest_get_body(&t, PDB, body, 7000);
    stub_stop(t.up[0]);
    t.up[0] = NULL;
    itest_restart(&t);
    itest_get_body(&t, PDB, body, 7000);
    itest_get_body(&t, "/FOO.PDB/abcdef0123456789abcdef01234567891/foo.pdb", body, 7000);
    free(body);
}
END_TEST

/* A record whose file vanished (a crash lost the rename, or an admin
 * deleted it) is dropped and the file fetched again. */
START_TEST(test_http_vanished_file_is_refetched)
{
    char *body = itest_body(3000, false, 8);
    char *disk = xasprintf("%s%s", t.dir, PDB);

    stub_add(t.up[0], PDB, body, 3000);
    itest_get_body(&t, PDB, body, 3000);
    ck_assert_int_eq(unlink(disk), 0);
    itest_get_body(&t, PDB, body, 3000);
    itest_get_body(&t, PDB, body, 3000);
    ck_assert_uint_eq(stub_hits(t.up[0], PDB), 2);
    ck_assert_int_eq(access(disk, R_OK), 0);
    free(disk);
    free(body);
}
END_TEST

struct sink {
    char *buf;
    size_t len, cap;
};

static size_t sink_write(char *p, size_t size, size_t n, void *cls)
{
    struct sink *k = cls;

    if (k->len + size * n > k->cap)
        return 0;
    memcpy(k->buf + k->len, p, size * n);
    k->len += size * n;
    return size * n;
}

/* GET PATH (RANGE of it, unless NULL) on C's connection, reused when it
 * can be, into K; the status must be WANT. */
static void fetch_on(CURL *c, const char *path, const char *range,
                     struct sink *k, long want)
{
    char *url = itest_url(&t, path);
    long status = 0;

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_RANGE, range);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, k);
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    ck_assert_int_eq(status, want);
    free(url);
}

/* GET PATH on C's connection and compare. */
static void get_on(CURL *c, const char *path, const char *body, size_t len)
{
    struct sink k = {xmalloc(len + 1), 0, len + 1};

    fetch_on(c, path, NULL, &k, 200);
    ck_assert_uint_eq(k.len, len);
    ck_assert_msg(memcmp(k.buf, body, len) == 0, "%s: body differs", path);
    free(k.buf);
}

static void head_on(CURL *c, const char *path)
{
    char *url = itest_url(&t, path);
    long status = 0;

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_RANGE, NULL);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    ck_assert_int_eq(status, 200);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    free(url);
}

/* Hits on one keep-alive connection: a connection's first MiBs of large
 * bodies leave from a mapping, later ones by sendfile, small bodies always
 * from a mapping, with a HEAD in between; every body arrives whole. */
START_TEST(test_http_keepalive_hits_from_memory_then_sendfile)
{
    const char *spath = "/bar.pdb/0123456789ABCDEF0123456789ABCDEF1/bar.pdb";
    size_t blen = 1536 * 1024;
    char *big = itest_body(blen, false, 11), *small = itest_body(4000, false, 12);
    CURL *c = curl_easy_init();
    long connects = 0;
    int i;

    stub_add(t.up[0], PDB, big, blen);
    stub_add(t.up[0], spath, small, 4000);
    itest_get_body(&t, PDB, big, blen);
    itest_get_body(&t, spath, small, 4000);
    for (i = 0; i < 8; i++) {
        if (i == 1)
            head_on(c, PDB);
        get_on(c, PDB, big, blen);
        get_on(c, spath, small, 4000);
        if (i > 0) {
            curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
            ck_assert_int_eq(connects, 0); /* the same connection */
        }
    }
    ck_assert_uint_eq(stub_total_hits(t.up[0]), 2);
    curl_easy_cleanup(c);
    free(big);
    free(small);
}
END_TEST

/* A range of a large file on C's connection: PATH's bytes FROM..TO of
 * BODY, and nothing more (the next request would read the rest). */
static void range_on(CURL *c, const char *path, const char *body, size_t from,
                     size_t to)
{
    struct sink k = {xmalloc(to - from + 2), 0, to - from + 2};
    char range[64];

    snprintf(range, sizeof(range), "%zu-%zu", from, to);
    fetch_on(c, path, range, &k, 206);
    ck_assert_uint_eq(k.len, to - from + 1);
    ck_assert(memcmp(k.buf, body + from, k.len) == 0);
    free(k.buf);
}

/* Large bodies by sendfile, in calls wider than libmicrohttpd's 128 KiB
 * pieces and with their headers held back for them (server_sendfile.c):
 * each answer leaves whole and at once (a tail or headers left behind the
 * cork would wait 200 ms), and a range ends where it should, on the same
 * connection as whole-file hits of the same file. */
START_TEST(test_http_keepalive_large_bodies_leave_at_once)
{
    size_t blen = 1536 * 1024;
    char *big = itest_body(blen, false, 13);
    CURL *c = curl_easy_init();
    double secs, total = 0;
    int i;

    stub_add(t.up[0], PDB, big, blen);
    itest_get_body(&t, PDB, big, blen);
    for (i = 0; i < 3; i++) /* past the connection's warm-up from memory */
        get_on(c, PDB, big, blen);
    for (i = 0; i < 6; i++) {
        get_on(c, PDB, big, blen);
        curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &secs);
        total += secs;
    }
    ck_assert_msg(total < 1.0, "6 large hits took %.3f s", total);
    range_on(c, PDB, big, 1000, 700999);
    range_on(c, PDB, big, 300000, blen - 1);
    get_on(c, PDB, big, blen);
    /* headers held back to leave with their body (server_sendfile.c)
     * leave at once too, however short the body, and a HEAD holds none */
    for (i = 0, total = 0; i < 6; i++) {
        range_on(c, PDB, big, 5, 5);
        curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &secs);
        total += secs;
        head_on(c, PDB);
        curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &secs);
        total += secs;
    }
    ck_assert_msg(total < 1.0, "6 one-byte ranges and 6 HEADs took %.3f s",
                  total);
    get_on(c, PDB, big, blen);
    curl_easy_cleanup(c);
    free(big);
}
END_TEST

START_TEST(test_http_access_log_lines)
{
    char *log = xasprintf("%s.access", t.dir), *env = NULL, *text = NULL;
    char req[256];
    size_t len;

    itest_stop(&t);
    env = xasprintf("SYMSRVD_SERVER_ACCESS_LOG=%s", log);
    itest_start(&t, 1, "1", NULL, (const char *const[]){env, NULL});
    stub_add(t.up[0], PDB, "abc", 3);
    itest_get_body(&t, PDB, "abc", 3);
    itest_get_body(&t, PDB, "abc", 3);
    snprintf(req, sizeof(req),
             "GET /x/..%%2f/y HTTP/1.1\r\nHost: x\r\nConnection: close"
             "\r\n\r\n");
    ck_assert_int_eq(http_raw(daemon_port(t.d), req, NULL, 0), 400);
    daemon_stop(t.d); /* flushes nothing: each line is one write(2) */
    t.d = NULL;
    ck_assert_int_eq(read_small_file(log, 1 << 20, &text, &len), 0);
    ck_assert_msg(strstr(text, "127.0.0.1 GET " PDB " 200 3 miss ") != NULL,
                  "%s", text);
    ck_assert_msg(strstr(text, "127.0.0.1 GET " PDB " 200 3 hit ") != NULL,
                  "%s", text);
    ck_assert_msg(strstr(text, " 400 ") != NULL && strstr(text, " bad_request ") != NULL,
                  "%s", text);
    ck_assert_ptr_nonnull(strstr(text, "ms\n"));
    unlink(log);
    free(text);
    free(env);
    free(log);
}
END_TEST

static int unix_get(const char *path, const char *target, char *out,
                    size_t outlen)
{
    struct sockaddr_un sun;
    char req[256];
    ssize_t n, got = 0;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    snprintf(req, sizeof(req),
             "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
             target);
    ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    while ((n = read(fd, out + got, outlen - 1 - (size_t)got)) > 0)
        got += n;
    out[got] = '\0';
    close(fd);
    return atoi(out + 9);
}

START_TEST(test_http_unix_socket_listener)
{
    char *sock = xasprintf("%s.sock", t.dir), *l = xasprintf("unix:%s", sock);
    char reply[4096];

    itest_stop(&t);
    itest_start(&t, 1, "1", (const char *const[]){"-l", l, NULL}, NULL);
    stub_add(t.up[0], PDB, "via unix", 8);
    ck_assert_int_eq(unix_get(sock, PDB, reply, sizeof(reply)), 200);
    ck_assert_ptr_nonnull(strstr(reply, "\r\n\r\nvia unix"));
    itest_get_body(&t, PDB, "via unix", 8); /* and the TCP listener serves the same */
    unlink(sock);
    free(l);
    free(sock);
}
END_TEST

START_TEST(test_http_idle_client_dropped)
{
    char buf[16];
    int fd;

    itest_stop(&t);
    itest_start(&t, 1, "1", NULL,
                (const char *const[]){"SYMSRVD_SERVER_CONNECTION_TIMEOUT=1s",
                                      NULL});
    fd = itest_connect(daemon_port(t.d));
    /* Blocks until the daemon hangs up on the silent client. */
    ck_assert_int_eq(read(fd, buf, sizeof(buf)), 0);
    close(fd);
}
END_TEST

/* The real binary's -t: "configuration OK", or the file, line and key. */
START_TEST(test_cli_check_config)
{
    char *conf = xasprintf("%s.bad.conf", t.dir), *out = NULL;
    char *cmd;
    size_t len;
    FILE *f = fopen(conf, "w");

    fputs("[cache]\n# comment\nnegative_ttl = 5x\n", f);
    fclose(f);
    cmd = xasprintf("'%s/src/symsrvd' -t -c '%s' > '%s.out' 2>&1",
                    getenv("abs_top_builddir"), conf, conf);
    ck_assert_int_eq(WEXITSTATUS(system(cmd)), 1);
    free(cmd);
    cmd = xasprintf("%s.out", conf);
    ck_assert_int_eq(read_small_file(cmd, 4096, &out, &len), 0);
    ck_assert_msg(strstr(out, ".bad.conf:3:") && strstr(out, "negative_ttl"),
                  "%s", out);
    free(out);
    unlink(cmd);
    free(cmd);
    f = fopen(conf, "w");
    fputs("[cache]\nnegative_ttl = 5m\n", f);
    fclose(f);
    cmd = xasprintf("'%s/src/symsrvd' -t -c '%s' > '%s.out' 2>&1",
                    getenv("abs_top_builddir"), conf, conf);
    ck_assert_int_eq(WEXITSTATUS(system(cmd)), 0);
    free(cmd);
    cmd = xasprintf("%s.out", conf);
    ck_assert_int_eq(read_small_file(cmd, 4096, &out, &len), 0);
    ck_assert_str_eq(out, "configuration OK\n");
    free(out);
    unlink(cmd);
    unlink(conf);
    free(cmd);
    free(conf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_basic");
    TCase *tc = tcase_create("http");

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, start_default, stop);
    tcase_add_test(tc, test_http_miss_then_hit_one_upstream_get);
    tcase_add_test(tc, test_http_case_insensitive_hits_case_preserving_upstream);
    tcase_add_test(tc, test_http_head_and_conditional);
    tcase_add_test(tc, test_http_ranges);
    tcase_add_test(tc, test_http_gzip_roundtrip_and_vary);
    tcase_add_test(tc, test_http_path_traversal_rejected);
    tcase_add_test(tc, test_http_methods);
    tcase_add_test(tc, test_http_listing_and_pagination);
    tcase_add_test(tc, test_http_health_and_metrics);
    tcase_add_test(tc, test_http_negative_cache_expires);
    tcase_add_test(tc, test_http_restart_serves_cache_with_upstream_down);
    tcase_add_test(tc, test_http_vanished_file_is_refetched);
    tcase_add_test(tc, test_http_keepalive_hits_from_memory_then_sendfile);
    tcase_add_test(tc, test_http_keepalive_large_bodies_leave_at_once);
    tcase_add_test(tc, test_http_access_log_lines);
    tcase_add_test(tc, test_http_unix_socket_listener);
    tcase_add_test(tc, test_http_idle_client_dropped);
    tcase_add_test(tc, test_cli_check_config);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
