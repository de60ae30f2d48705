/* SPDX-License-Identifier: MIT */
/*
 * Tests of tests/lib/stub_upstream: every fault as a libcurl client sees
 * it, the counters, concurrency and keep-alive.  libcurl is the oracle: it
 * is what symsrvd fetches with.
 */
#include "symsrvd_config.h"

#include <check.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stub_upstream.h"
#include "testutil.h"
#include "xalloc.h"

#define PDB_PATH "/foo.pdb/0123456789ABCDEF0123456789ABCDEF1/foo.pdb"

static struct stub *stub;

static void setup(void)
{
    stub = stub_start();
}

static void teardown(void)
{
    stub_stop(stub);
    stub = NULL;
}

static char *url_of(const char *path)
{
    return xasprintf("%s%s", stub_url(stub), path);
}

/* GET PATH from the stub with http_get(); OUT must be freed. */
static int get(const char *path, struct http_resp *out)
{
    char *url = url_of(path);
    int rc = http_get(url, NULL, out);

    free(url);
    return rc;
}

static void *generated(uint32_t seed, size_t len)
{
    void *buf = xmalloc(len);

    stub_generate(seed, 0, buf, len);
    return buf;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(test_stub_upstream_serves_exact_paths)
{
    struct http_resp r;
    char *cl;
    char path[256];

    stub_add(stub, PDB_PATH, "hello", 5);
    ck_assert_int_eq(get(PDB_PATH, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, 5);
    ck_assert_mem_eq(r.body, "hello", 5);
    cl = http_header(&r, "content-length");
    ck_assert_str_eq(cl, "5");
    free(cl);
    http_resp_free(&r);
    /* Case-sensitive like GCS/S3, and unknown paths are 404. */
    ck_assert_int_eq(
        get("/FOO.pdb/0123456789ABCDEF0123456789ABCDEF1/foo.pdb", &r), 0);
    ck_assert_int_eq(r.status, 404);
    ck_assert_ptr_nonnull(strstr(r.body, "not found"));
    http_resp_free(&r);
    /* Percent-escapes are not decoded: the raw path is the key. */
    ck_assert_int_eq(
        get("/foo%2Epdb/0123456789ABCDEF0123456789ABCDEF1/foo.pdb", &r), 0);
    ck_assert_int_eq(r.status, 404);
    http_resp_free(&r);
    stub_last_path(stub, path, sizeof(path));
    ck_assert_str_eq(path,
                     "/foo%2Epdb/0123456789ABCDEF0123456789ABCDEF1/foo.pdb");
    ck_assert_uint_eq(stub_hits(stub, PDB_PATH), 1);
    ck_assert_uint_eq(stub_hits(stub, "/never"), 0);
    ck_assert_uint_eq(stub_total_hits(stub), 3);
}
END_TEST

START_TEST(test_stub_upstream_head_and_methods)
{
    char *url = url_of(PDB_PATH);
    struct http_resp r;
    char *cl;

    stub_add(stub, PDB_PATH, "0123456789", 10);
    ck_assert_int_eq(http_head(url, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, 0);
    cl = http_header(&r, "Content-Length");
    ck_assert_str_eq(cl, "10");
    free(cl);
    http_resp_free(&r);
    ck_assert_int_eq(http_request("DELETE", url, NULL, &r), 0);
    ck_assert_int_eq(r.status, 405);
    http_resp_free(&r);
    ck_assert_uint_eq(stub_hits(stub, PDB_PATH), 2);
    free(url);
}
END_TEST

START_TEST(test_stub_upstream_records_user_agent)
{
    const char *hdrs[] = {"User-Agent: symsrvd/9.9", NULL};
    char *url = url_of("/x");
    struct http_resp r;
    char ua[64];

    stub_last_user_agent(stub, ua, sizeof(ua));
    ck_assert_str_eq(ua, "");
    ck_assert_int_eq(http_get(url, hdrs, &r), 0);
    http_resp_free(&r);
    stub_last_user_agent(stub, ua, sizeof(ua));
    ck_assert_str_eq(ua, "symsrvd/9.9");
    stub_last_user_agent(stub, ua, 4);
    ck_assert_str_eq(ua, "sym");
    free(url);
}
END_TEST

START_TEST(test_stub_upstream_records_headers_and_methods)
{
    const char *hdrs[] = {"Accept-Encoding: gzip", "X-Empty;", NULL};
    char *url = url_of(PDB_PATH);
    struct http_resp r;
    char v[64];

    ck_assert(!stub_last_header(stub, "Host", v, sizeof(v)));
    stub_add(stub, PDB_PATH, "x", 1);
    ck_assert_int_eq(http_head(url, NULL, &r), 0);
    http_resp_free(&r);
    ck_assert_int_eq(http_request("OPTIONS", url, NULL, &r), 0);
    http_resp_free(&r);
    ck_assert_int_eq(http_get(url, hdrs, &r), 0);
    http_resp_free(&r);
    ck_assert(stub_last_header(stub, "accept-encoding", v, sizeof(v)));
    ck_assert_str_eq(v, "gzip");
    ck_assert(stub_last_header(stub, "X-Empty", v, sizeof(v)));
    ck_assert_str_eq(v, "");
    ck_assert(!stub_last_header(stub, "X-Absent", v, sizeof(v)));
    ck_assert_str_eq(v, "");
    ck_assert_uint_eq(stub_hits_method(stub, PDB_PATH, "GET"), 1);
    ck_assert_uint_eq(stub_hits_method(stub, PDB_PATH, "HEAD"), 1);
    ck_assert_uint_eq(stub_hits_method(stub, PDB_PATH, "OPTIONS"), 1);
    ck_assert_uint_eq(stub_hits_method(stub, "/none", "GET"), 0);
    free(url);
}
END_TEST

START_TEST(test_stub_upstream_status_faults_in_order)
{
    static const long want[] = {503, 429, 404, 200, 200};
    struct http_resp r;

    stub_add(stub, PDB_PATH, "body", 4);
    stub_fault(stub, PDB_PATH, STUB_STATUS, 503);
    stub_fault(stub, PDB_PATH, STUB_STATUS, 429);
    stub_fault(stub, PDB_PATH, STUB_STATUS, 404);
    /* Another path's faults are its own. */
    stub_fault(stub, "/other", STUB_STATUS, 500);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        ck_assert_int_eq(get(PDB_PATH, &r), 0);
        ck_assert_int_eq(r.status, want[i]);
        http_resp_free(&r);
    }
    ck_assert_int_eq(get("/other", &r), 0);
    ck_assert_int_eq(r.status, 500);
    http_resp_free(&r);
    ck_assert_int_eq(get("/other", &r), 0);
    ck_assert_int_eq(r.status, 404);
    http_resp_free(&r);
}
END_TEST

static long get_status(const char *path)
{
    struct http_resp r;
    long status;

    ck_assert_int_eq(get(path, &r), 0);
    status = r.status;
    http_resp_free(&r);
    return status;
}

START_TEST(test_stub_upstream_long_fault_queues)
{
    stub_add(stub, PDB_PATH, "body", 4);
    for (unsigned i = 0; i < 5; i++)
        stub_fault(stub, PDB_PATH, STUB_STATUS, 500 + i);
    for (unsigned i = 0; i < 3; i++)
        ck_assert_int_eq(get_status(PDB_PATH), 500 + i);
    for (unsigned i = 0; i < 20; i++)
        stub_fault(stub, PDB_PATH, STUB_STATUS, 400 + i);
    ck_assert_int_eq(get_status(PDB_PATH), 503);
    ck_assert_int_eq(get_status(PDB_PATH), 504);
    for (unsigned i = 0; i < 20; i++)
        ck_assert_int_eq(get_status(PDB_PATH), 400 + i);
    ck_assert_int_eq(get_status(PDB_PATH), 200);
    stub_fault(stub, PDB_PATH, STUB_STATUS, 418);
    ck_assert_int_eq(get_status(PDB_PATH), 418);
    ck_assert_int_eq(get_status(PDB_PATH), 200);
}
END_TEST

START_TEST(test_stub_upstream_status_storm_then_recovery)
{
    struct http_resp r;

    stub_add(stub, PDB_PATH, "body", 4);
    stub_fault_always(stub, PDB_PATH, 503);
    stub_fault(stub, PDB_PATH, STUB_STATUS, 500);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(get(PDB_PATH, &r), 0);
        ck_assert_int_eq(r.status, 503);
        http_resp_free(&r);
    }
    stub_fault_always(stub, PDB_PATH, 0);
    ck_assert_int_eq(get(PDB_PATH, &r), 0);
    ck_assert_int_eq(r.status, 500); /* the queued fault waited */
    http_resp_free(&r);
    ck_assert_int_eq(get(PDB_PATH, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "body");
    http_resp_free(&r);
    ck_assert_uint_eq(stub_hits(stub, PDB_PATH), 7);
}
END_TEST

START_TEST(test_stub_upstream_delay_before_headers)
{
    struct http_resp r;

    stub_add(stub, PDB_PATH, "body", 4);
    stub_fault(stub, PDB_PATH, STUB_DELAY, 600);
    ck_assert_int_eq(get(PDB_PATH, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "body");
    ck_assert_double_ge(r.first_byte_s, 0.6);
    ck_assert_double_lt(r.first_byte_s, 3.0);
    http_resp_free(&r);
    ck_assert_int_eq(get(PDB_PATH, &r), 0);
    ck_assert_double_lt(r.first_byte_s, 0.3);
    http_resp_free(&r);
    /* A slow 404 (a path with no body) is delayed too. */
    stub_fault(stub, "/missing", STUB_DELAY, 300);
    ck_assert_int_eq(get("/missing", &r), 0);
    ck_assert_int_eq(r.status, 404);
    ck_assert_double_ge(r.first_byte_s, 0.3);
    http_resp_free(&r);
}
END_TEST

static void *impatient_get(void *arg)
{
    char *url = arg;
    CURL *h = curl_easy_init();

    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 200L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    ck_assert_int_eq(curl_easy_perform(h), CURLE_OPERATION_TIMEDOUT);
    curl_easy_cleanup(h);
    return NULL;
}

START_TEST(test_stub_upstream_client_hangup_ends_waits)
{
    char *url = url_of(PDB_PATH);
    pthread_t tid;
    double t0;

    /* A client that times out must not keep a long DELAY or SLOW response
     * (and so stub_stop()) waiting. */
    stub_add_generated(stub, PDB_PATH, 1000000, 1);
    stub_fault(stub, PDB_PATH, STUB_DELAY, 30000);
    stub_fault(stub, PDB_PATH, STUB_SLOW, 100);
    t0 = now_s();
    for (int i = 0; i < 2; i++) {
        pthread_create(&tid, NULL, impatient_get, url);
        pthread_join(tid, NULL);
    }
    stub_stop(stub);
    stub = NULL;
    ck_assert_double_lt(now_s() - t0, 3.0);
    free(url);
}
END_TEST

START_TEST(test_stub_upstream_truncate_is_partial_file)
{
    enum { LEN = 200000, SENT = 1000 };
    unsigned char *want = generated(7, LEN);
    struct http_resp r;
    char *cl;

    stub_add_generated(stub, PDB_PATH, LEN, 7);
    stub_fault(stub, PDB_PATH, STUB_TRUNCATE, 0);
    stub_fault(stub, PDB_PATH, STUB_TRUNCATE, SENT);
    ck_assert_int_eq(get(PDB_PATH, &r), CURLE_PARTIAL_FILE);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, 0);
    http_resp_free(&r);
    ck_assert_int_eq(get(PDB_PATH, &r), CURLE_PARTIAL_FILE);
    ck_assert_int_eq(r.status, 200);
    cl = http_header(&r, "Content-Length");
    ck_assert_str_eq(cl, "200000");
    free(cl);
    ck_assert_uint_eq(r.len, SENT);
    ck_assert_mem_eq(r.body, want, SENT);
    http_resp_free(&r);
    /* The fault is spent: the next GET is whole. */
    ck_assert_int_eq(get(PDB_PATH, &r), 0);
    ck_assert_uint_eq(r.len, LEN);
    ck_assert_mem_eq(r.body, want, LEN);
    http_resp_free(&r);
    free(want);
}
END_TEST

START_TEST(test_stub_upstream_reset_is_recv_error)
{
    enum { LEN = 200000, SENT = 3000 };
    unsigned char *want = generated(8, LEN);
    struct http_resp r;

    stub_add_generated(stub, PDB_PATH, LEN, 8);
    stub_fault(stub, PDB_PATH, STUB_RESET, SENT);
    stub_fault(stub, PDB_PATH, STUB_RESET, 0);
    /* A RST, not a FIN: curl reports a receive error, not a short body. */
    ck_assert_int_eq(get(PDB_PATH, &r), CURLE_RECV_ERROR);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, SENT);
    ck_assert_mem_eq(r.body, want, SENT);
    http_resp_free(&r);
    /* Even at 0 the headers go out first. */
    ck_assert_int_eq(get(PDB_PATH, &r), CURLE_RECV_ERROR);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, 0);
    http_resp_free(&r);
    ck_assert_int_eq(get(PDB_PATH, &r), 0);
    ck_assert_uint_eq(r.len, LEN);
    http_resp_free(&r);
    free(want);
}
END_TEST

START_TEST(test_stub_upstream_slow_first_byte_early)
{
    enum { LEN = 300000, RATE = 200000 };
    unsigned char *want = generated(9, LEN);
    struct http_resp r;

    stub_add_generated(stub, PDB_PATH, LEN, 9);
    stub_fault(stub, PDB_PATH, STUB_SLOW, RATE);
    ck_assert_int_eq(get(PDB_PATH, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, LEN);
    ck_assert_mem_eq(r.body, want, LEN);
    /* 1.5 s of body at RATE; the first byte comes at once. */
    ck_assert_double_lt(r.first_byte_s, 0.3);
    ck_assert_double_ge(r.total_s, 1.3);
    ck_assert_double_lt(r.total_s, 6.0);
    http_resp_free(&r);
    free(want);
}
END_TEST

static int curl_follow(const char *url, struct http_resp *out, bool decode)
{
    CURL *h = curl_easy_init();
    FILE *mem;
    CURLcode rc;

    memset(out, 0, sizeof(*out));
    mem = open_memstream(&out->body, &out->len);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, mem);
    if (decode)
        curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_cleanup(h);
    fclose(mem);
    return (int)rc;
}

START_TEST(test_stub_upstream_redirect)
{
    char *url = url_of(PDB_PATH);
    char *want = xasprintf("%s/redirected%s", stub_url(stub), PDB_PATH);
    struct http_resp r;
    char *loc;

    stub_add(stub, PDB_PATH, "moved body", 10);
    stub_fault(stub, PDB_PATH, STUB_REDIRECT, 0);
    stub_fault(stub, PDB_PATH, STUB_REDIRECT, 0);
    ck_assert_int_eq(http_get(url, NULL, &r), 0);
    ck_assert_int_eq(r.status, 302);
    loc = http_header(&r, "Location");
    ck_assert_str_eq(loc, want);
    free(loc);
    http_resp_free(&r);
    ck_assert_int_eq(curl_follow(url, &r, false), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, 10);
    ck_assert_mem_eq(r.body, "moved body", 10);
    http_resp_free(&r);
    ck_assert_uint_eq(stub_hits(stub, PDB_PATH), 2);
    ck_assert_uint_eq(stub_hits(stub, "/redirected" PDB_PATH), 1);
    free(want);
    free(url);
}
END_TEST

START_TEST(test_stub_upstream_gzip)
{
    enum { LEN = 50000 };
    char *body = xmalloc(LEN);
    char *url = url_of(PDB_PATH);
    struct http_resp r;
    char *enc, *cl;

    for (int i = 0; i < LEN; i++)
        body[i] = "symbol "[i % 7];
    stub_add(stub, PDB_PATH, body, LEN);
    stub_fault(stub, PDB_PATH, STUB_GZIP, 0);
    stub_fault(stub, PDB_PATH, STUB_GZIP, 0);
    ck_assert_int_eq(http_get(url, NULL, &r), 0);
    enc = http_header(&r, "Content-Encoding");
    ck_assert_str_eq(enc, "gzip");
    cl = http_header(&r, "Content-Length");
    ck_assert_uint_eq(strtoul(cl, NULL, 10), r.len);
    ck_assert_uint_lt(r.len, LEN / 10);
    ck_assert_int_eq((unsigned char)r.body[0], 0x1f);
    ck_assert_int_eq((unsigned char)r.body[1], 0x8b);
    free(enc);
    free(cl);
    http_resp_free(&r);
    /* libcurl's own decoder is the oracle for the encoding. */
    ck_assert_int_eq(curl_follow(url, &r, true), 0);
    ck_assert_uint_eq(r.len, LEN);
    ck_assert_mem_eq(r.body, body, LEN);
    http_resp_free(&r);
    free(url);
    free(body);
}
END_TEST

START_TEST(test_stub_upstream_no_length_is_chunked)
{
    enum { LEN = 150000 };
    unsigned char *want = generated(10, LEN);
    struct http_resp r;
    char *te, *cl;

    stub_add_generated(stub, PDB_PATH, LEN, 10);
    stub_fault(stub, PDB_PATH, STUB_NO_LENGTH, 0);
    ck_assert_int_eq(get(PDB_PATH, &r), 0);
    cl = http_header(&r, "Content-Length");
    ck_assert_ptr_null(cl);
    te = http_header(&r, "Transfer-Encoding");
    ck_assert_str_eq(te, "chunked");
    free(te);
    ck_assert_uint_eq(r.len, LEN);
    ck_assert_mem_eq(r.body, want, LEN);
    http_resp_free(&r);
    free(want);
}
END_TEST

struct fetch_job {
    unsigned char *want;
    int ok;
};

enum { CONCURRENT = 64, CONCURRENT_LEN = 1 << 20 };

static void *fetch_thread(void *arg)
{
    struct fetch_job *job = arg;
    struct http_resp r;

    job->ok = get(PDB_PATH, &r) == 0 && r.status == 200 &&
              r.len == CONCURRENT_LEN &&
              memcmp(r.body, job->want, CONCURRENT_LEN) == 0;
    http_resp_free(&r);
    return NULL;
}

START_TEST(test_stub_upstream_64_concurrent_gets)
{
    unsigned char *want = generated(11, CONCURRENT_LEN);
    struct fetch_job jobs[CONCURRENT];
    pthread_t tids[CONCURRENT];

    stub_add_generated(stub, PDB_PATH, CONCURRENT_LEN, 11);
    stub_fault(stub, PDB_PATH, STUB_DELAY, 300); /* overlap them all */
    for (int i = 0; i < CONCURRENT; i++) {
        jobs[i].want = want;
        ck_assert_int_eq(pthread_create(&tids[i], NULL, fetch_thread, &jobs[i]),
                         0);
    }
    for (int i = 0; i < CONCURRENT; i++) {
        pthread_join(tids[i], NULL);
        ck_assert_msg(jobs[i].ok, "GET %d failed", i);
    }
    ck_assert_uint_eq(stub_hits(stub, PDB_PATH), CONCURRENT);
    ck_assert_uint_eq(stub_connections(stub), CONCURRENT);
    free(want);
}
END_TEST

static void *get_body_path(void *arg)
{
    struct http_resp *r = arg;

    ck_assert_int_eq(get("/p", r), 0);
    return NULL;
}

/* /p and /q, each behind a BARRIER of two, asked for at once: both get
 * their body and no barrier was missed. */
static void barrier_pair(void)
{
    struct http_resp p, q;
    pthread_t tid;

    stub_fault(stub, "/p", STUB_BARRIER, 2);
    stub_fault(stub, "/q", STUB_BARRIER, 2);
    ck_assert_int_eq(pthread_create(&tid, NULL, get_body_path, &p), 0);
    ck_assert_int_eq(get("/q", &q), 0);
    pthread_join(tid, NULL);
    ck_assert_int_eq(p.status, 200);
    ck_assert_int_eq(q.status, 200);
    http_resp_free(&p);
    http_resp_free(&q);
}

/* BARRIER requests wait for one another: two asked for at once both get
 * their body; one alone gets 503 once the barrier time is up, and leaves
 * the party, so the next pair meets as before. */
START_TEST(test_stub_upstream_barrier)
{
    struct http_resp p;

    stub_add(stub, "/p", "pp", 2);
    stub_add(stub, "/q", "qq", 2);
    barrier_pair();
    ck_assert_uint_eq(stub_barrier_missed(stub), 0);
    stub_set_barrier_ms(stub, 200);
    stub_fault(stub, "/p", STUB_BARRIER, 2);
    ck_assert_int_eq(get("/p", &p), 0);
    ck_assert_int_eq(p.status, 503);
    ck_assert_uint_eq(stub_barrier_missed(stub), 1);
    http_resp_free(&p);
    stub_set_barrier_ms(stub, 20000);
    barrier_pair();
    ck_assert_uint_eq(stub_barrier_missed(stub), 1);
}
END_TEST

START_TEST(test_stub_upstream_counts_connections)
{
    char *url = url_of(PDB_PATH);
    CURL *h = curl_easy_init();
    struct http_resp r;

    stub_add(stub, PDB_PATH, "k", 1);
    stub_fault(stub, PDB_PATH, STUB_SLOW, 1000);
    stub_fault(stub, PDB_PATH, STUB_DELAY, 10);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    for (int i = 0; i < 5; i++) {
        long status = 0;

        ck_assert_int_eq(curl_easy_perform(h), CURLE_OK);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        ck_assert_int_eq(status, 200);
    }
    curl_easy_cleanup(h);
    ck_assert_uint_eq(stub_connections(stub), 1); /* kept alive */
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(http_get(url, NULL, &r), 0);
        http_resp_free(&r);
    }
    ck_assert_uint_eq(stub_connections(stub), 4); /* a handle each */
    ck_assert_uint_eq(stub_hits(stub, PDB_PATH), 8);
    free(url);
}
END_TEST

struct stream_check {
    uint32_t seed;
    uint64_t pos;
    bool same;
};

static size_t compare_stream(char *p, size_t size, size_t n, void *ud)
{
    struct stream_check *c = ud;
    unsigned char want[CURL_MAX_WRITE_SIZE];

    for (size_t done = 0; done < size * n; done += sizeof(want)) {
        size_t len =
            size * n - done < sizeof(want) ? size * n - done : sizeof(want);

        stub_generate(c->seed, c->pos, want, len);
        c->same = c->same && memcmp(p + done, want, len) == 0;
        c->pos += len;
    }
    return size * n;
}

START_TEST(test_stub_upstream_streams_large_generated)
{
    const uint64_t len = 64ull << 20;
    struct stream_check c = {.seed = 12, .same = true};
    char *url = url_of(PDB_PATH);
    CURL *h = curl_easy_init();
    curl_off_t cl = 0;

    stub_add_generated(stub, PDB_PATH, len, 12);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, compare_stream);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
    ck_assert_int_eq(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    ck_assert_int_eq(cl, (curl_off_t)len);
    ck_assert_uint_eq(c.pos, len);
    ck_assert(c.same);
    curl_easy_cleanup(h);
    free(url);
}
END_TEST

START_TEST(test_stub_upstream_generate_is_sliceable)
{
    unsigned char whole[1000], part[333], other[1000];

    stub_generate(5, 0, whole, sizeof(whole));
    stub_generate(5, 13, part, sizeof(part));
    ck_assert_mem_eq(part, whole + 13, sizeof(part));
    stub_generate(6, 0, other, sizeof(other));
    ck_assert(memcmp(whole, other, sizeof(whole)) != 0);
    stub_generate(5, 999, part, 1);
    ck_assert_int_eq(part[0], whole[999]);
    ck_assert(stub_generated_equal(5, 0, whole, sizeof(whole)));
    ck_assert(stub_generated_equal(5, 500, whole + 500, 500));
    whole[998] ^= 1;
    ck_assert(!stub_generated_equal(5, 0, whole, sizeof(whole)));
    ck_assert(!stub_generated_equal(6, 0, other + 1, 10));
}
END_TEST

START_TEST(test_stub_upstream_add_file_and_replace)
{
    char *dir = testutil_tmpdir();
    char *file = xasprintf("%s/f.bin", dir);
    FILE *f = fopen(file, "w");
    struct http_resp r;

    ck_assert_ptr_nonnull(f);
    fputs("from a file\n", f);
    fclose(f);
    stub_add_file(stub, PDB_PATH, file);
    ck_assert_int_eq(get(PDB_PATH, &r), 0);
    ck_assert_str_eq(r.body, "from a file\n");
    http_resp_free(&r);
    stub_add(stub, PDB_PATH, "v2", 2);
    ck_assert_int_eq(get(PDB_PATH, &r), 0);
    ck_assert_str_eq(r.body, "v2");
    http_resp_free(&r);
    testutil_rmtree(dir);
    free(file);
    free(dir);
}
END_TEST

/* GET PATH and check it is a 200 of LEN bytes announced as such. */
static void expect_200_of(const char *path, size_t len)
{
    struct http_resp r;
    char *cl;

    ck_assert_int_eq(get(path, &r), 0);
    ck_assert_int_eq(r.status, 200);
    cl = http_header(&r, "Content-Length");
    ck_assert_ptr_nonnull(cl);
    ck_assert_uint_eq(strtoul(cl, NULL, 10), len);
    ck_assert_uint_eq(r.len, len);
    free(cl);
    http_resp_free(&r);
}

START_TEST(test_stub_upstream_empty_bodies)
{
    /* Empty bodies, plain and gzip (whose frame is 20 bytes), are 200s with
     * a Content-Length. */
    stub_add(stub, PDB_PATH, "", 0);
    stub_fault(stub, PDB_PATH, STUB_GZIP, 0);
    expect_200_of(PDB_PATH, 20);
    expect_200_of(PDB_PATH, 0);
}
END_TEST

struct stop_job {
    struct http_resp r;
    int rc;
};

static void *slow_get_thread(void *arg)
{
    struct stop_job *job = arg;

    job->rc = get(PDB_PATH, &job->r);
    return NULL;
}

START_TEST(test_stub_upstream_stop_waits_for_in_flight)
{
    struct stop_job job;
    pthread_t tid;
    double t0;

    stub_add(stub, PDB_PATH, "late", 4);
    stub_fault(stub, PDB_PATH, STUB_DELAY, 500);
    ck_assert_int_eq(pthread_create(&tid, NULL, slow_get_thread, &job), 0);
    while (stub_total_hits(stub) == 0)
        usleep(1000);
    t0 = now_s();
    stub_stop(stub);
    stub = NULL;
    ck_assert_double_ge(now_s() - t0, 0.3);
    pthread_join(tid, NULL);
    ck_assert_int_eq(job.rc, 0);
    ck_assert_str_eq(job.r.body, "late");
    http_resp_free(&job.r);
}
END_TEST

START_TEST(test_stub_upstream_stop_closes_idle_keepalive)
{
    char *url = url_of(PDB_PATH);
    CURL *h = curl_easy_init();
    double t0;

    /* A daemon under test keeps idle upstream connections open; stopping
     * the stub must not wait for them. */
    stub_add(stub, PDB_PATH, "k", 1);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    ck_assert_int_eq(curl_easy_perform(h), CURLE_OK);
    t0 = now_s();
    stub_stop(stub);
    stub = NULL;
    ck_assert_double_lt(now_s() - t0, 1.0);
    /* The stopped stub refuses, and the dead keep-alive socket is not
     * mistaken for a response. */
    ck_assert_int_ne(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);
    free(url);
}
END_TEST

struct later_get {
    char *url;
    unsigned delay_ms;
};

static void *get_later(void *arg)
{
    struct later_get *job = arg;
    struct http_resp r;

    usleep(job->delay_ms * 1000);
    http_get(job->url, NULL, &r);
    http_resp_free(&r);
    return NULL;
}

START_TEST(test_stub_upstream_wait_hits)
{
    struct later_get job = {url_of(PDB_PATH), 300};
    pthread_t tid;
    double t0 = now_s();

    ck_assert(!stub_wait_hits(stub, PDB_PATH, 1, 100));
    ck_assert_double_ge(now_s() - t0, 0.09);
    ck_assert_int_eq(pthread_create(&tid, NULL, get_later, &job), 0);
    ck_assert(stub_wait_hits(stub, PDB_PATH, 1, 5000));
    ck_assert_double_ge(now_s() - t0, 0.3);
    ck_assert_double_lt(now_s() - t0, 2.0); /* woken, not timed out */
    ck_assert(!stub_wait_hits(stub, PDB_PATH, 2, 50));
    ck_assert(stub_wait_hits(stub, PDB_PATH, 0, 0));
    pthread_join(tid, NULL);
    free(job.url);
}
END_TEST

static Suite *stub_upstream_suite(void)
{
    Suite *s = suite_create("stub_upstream");
    TCase *serve = tcase_create("serve");
    TCase *faults = tcase_create("faults");
    TCase *load = tcase_create("load");

    tcase_add_checked_fixture(serve, setup, teardown);
    tcase_add_test(serve, test_stub_upstream_serves_exact_paths);
    tcase_add_test(serve, test_stub_upstream_head_and_methods);
    tcase_add_test(serve, test_stub_upstream_records_user_agent);
    tcase_add_test(serve, test_stub_upstream_records_headers_and_methods);
    tcase_add_test(serve, test_stub_upstream_generate_is_sliceable);
    tcase_add_test(serve, test_stub_upstream_add_file_and_replace);
    tcase_add_test(serve, test_stub_upstream_empty_bodies);
    tcase_add_test(serve, test_stub_upstream_wait_hits);
    tcase_add_test(serve, test_stub_upstream_stop_waits_for_in_flight);
    tcase_add_test(serve, test_stub_upstream_stop_closes_idle_keepalive);
    suite_add_tcase(s, serve);
    tcase_add_checked_fixture(faults, setup, teardown);
    tcase_add_test(faults, test_stub_upstream_status_faults_in_order);
    tcase_add_test(faults, test_stub_upstream_long_fault_queues);
    tcase_add_test(faults, test_stub_upstream_status_storm_then_recovery);
    tcase_add_test(faults, test_stub_upstream_delay_before_headers);
    tcase_add_test(faults, test_stub_upstream_client_hangup_ends_waits);
    tcase_add_test(faults, test_stub_upstream_truncate_is_partial_file);
    tcase_add_test(faults, test_stub_upstream_reset_is_recv_error);
    tcase_add_test(faults, test_stub_upstream_slow_first_byte_early);
    tcase_add_test(faults, test_stub_upstream_redirect);
    tcase_add_test(faults, test_stub_upstream_gzip);
    tcase_add_test(faults, test_stub_upstream_no_length_is_chunked);
    tcase_add_test(faults, test_stub_upstream_barrier);
    suite_add_tcase(s, faults);
    tcase_add_checked_fixture(load, setup, teardown);
    tcase_add_test(load, test_stub_upstream_64_concurrent_gets);
    tcase_add_test(load, test_stub_upstream_counts_connections);
    tcase_add_test(load, test_stub_upstream_streams_large_generated);
    suite_add_tcase(s, load);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(stub_upstream_suite());
    int failed;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
