/* SPDX-License-Identifier: MIT */
/*
 * Hostile clients and upstreams: what an attacker or a broken network
 * sends must get a bounded, answered, logged-as-text outcome.
 */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "fileio.h"
#include "itest.h"
#include "timeutil.h"
#include "xalloc.h"

static struct itest t;

static void stop(void)
{
    itest_stop(&t);
}

/* True when the LEN bytes at S are valid UTF-8 without control bytes
 * other than the newline ending each line. */
static bool printable_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    while (p < end) {
        size_t n = *p < 0x80 ? 1 : *p >= 0xc2 && *p <= 0xdf ? 2
                 : *p >= 0xe0 && *p <= 0xef                ? 3
                 : *p >= 0xf0 && *p <= 0xf4                ? 4
                                                           : 0;
        size_t i;

        if (n == 0 || (size_t)(end - p) < n)
            return false;
        if (n == 1 && ((*p < 0x20 && *p != '\n') || *p == 0x7f))
            return false;
        for (i = 1; i < n; i++)
            if ((p[i] & 0xc0) != 0x80)
                return false;
        p += n;
    }
    return true;
}

START_TEST(test_hostile_access_log_escapes_client_bytes)
{
    char *dir = testutil_tmpdir(), *log = xasprintf("%s/access", dir);
    char *env, *text = NULL;
    size_t len;

    env = xasprintf("SYMSRVD_SERVER_ACCESS_LOG=%s", log);
    itest_start(&t, 1, "1", NULL, (const char *const[]){env, NULL});
    /* a terminal escape in the method; a control byte, a lone 0xff and a
     * valid e-acute in the target */
    http_raw(daemon_port(t.d),
             "G\x1b[2JT /a\x01\xff\xc3\xa9 HTTP/1.1\r\nHost: x\r\n"
             "Connection: close\r\n\r\n",
             NULL, 0);
    daemon_stop(t.d);
    t.d = NULL;
    ck_assert_int_eq(read_small_file(log, 1 << 20, &text, &len), 0);
    ck_assert_msg(printable_utf8(text, len), "%s", text);
    ck_assert_msg(strstr(text, " G\\x1b[2JT /a\\x01\\xff\xc3\xa9 ") != NULL,
                  "%s", text);
    testutil_rmtree(dir);
    free(text);
    free(env);
    free(log);
    free(dir);
}
END_TEST

/* access_log_format = json: every line one JSON object, the whole file
 * valid printable UTF-8, the client's bytes escaped as in the text format
 * and then as JSON strings. */
START_TEST(test_hostile_json_access_log)
{
    char *dir = testutil_tmpdir(), *log = xasprintf("%s/access", dir);
    char *env[3], *text = NULL, *line, *save = NULL;
    unsigned lines = 0, hostile = 0;
    struct http_resp r;
    json_error_t err;
    size_t len;

    env[0] = xasprintf("SYMSRVD_SERVER_ACCESS_LOG=%s", log);
    env[1] = xstrdup("SYMSRVD_SERVER_ACCESS_LOG_FORMAT=json");
    env[2] = NULL;
    itest_start(&t, 1, "1", NULL, (const char *const *)env);
    http_raw(daemon_port(t.d),
             "G\x1b[2JT /a\x01\xff\xc3\xa9\"} HTTP/1.1\r\nHost: x\r\n"
             "Connection: close\r\n\r\n",
             NULL, 0);
    itest_get(&t, "/health", NULL, &r); /* and an ordinary line */
    ck_assert_int_eq(r.status, 200);
    http_resp_free(&r);
    daemon_stop(t.d);
    t.d = NULL;
    ck_assert_int_eq(read_small_file(log, 1 << 20, &text, &len), 0);
    ck_assert_msg(printable_utf8(text, len), "%s", text);
    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        json_t *o = json_loads(line, 0, &err);

        ck_assert_msg(o != NULL, "%s: %s", line, err.text);
        ck_assert(json_is_integer(json_object_get(o, "status")));
        ck_assert(json_is_string(json_object_get(o, "result")));
        ck_assert(json_is_string(json_object_get(o, "time")));
        if (strcmp(json_string_value(json_object_get(o, "method")),
                   "G\\x1b[2JT") == 0) {
            ck_assert_str_eq(json_string_value(json_object_get(o, "target")),
                             "/a\\x01\\xff\xc3\xa9\\x22}");
            hostile++;
        }
        json_decref(o);
        lines++;
    }
    ck_assert_uint_eq(hostile, 1);
    ck_assert_uint_ge(lines, 2);
    testutil_rmtree(dir);
    free(text);
    free(env[0]);
    free(env[1]);
    free(log);
    free(dir);
}
END_TEST

/* GET /health with request headers of LEN bytes in all (LEN > 200),
 * padded with headers of about PIECE value bytes each. */
static int get_with_headers(size_t len, size_t piece)
{
    static const char head[] =
        "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
    char *req = xmalloc(len + 1), reply[256];
    size_t n = sizeof(head) - 1, i = 0, v;
    int status;

    memcpy(req, head, n);
    /* each pad header is "X-Pad-NNNN: " (12) + value + CRLF; the final
     * CRLF ends the headers */
    while (n + 12 + 2 + 2 < len) {
        v = len - n - 12 - 2 - 2;
        if (v > piece && v - piece >= 16)
            v = piece;
        n += (size_t)sprintf(req + n, "X-Pad-%04zu: ", i++ % 10000);
        memset(req + n, 'a', v);
        n += v;
        memcpy(req + n, "\r\n", 2);
        n += 2;
    }
    memcpy(req + n, "\r\n", 2);
    req[n + 2] = '\0';
    status = http_raw(daemon_port(t.d), req, reply, sizeof(reply));
    if (status == 431)
        ck_assert_msg(strstr(reply, "Connection: close") != NULL, "%s",
                      reply);
    free(req);
    return status;
}

START_TEST(test_hostile_every_header_size_is_answered)
{
    static const size_t kib[] = {8, 15, 16, 17, 32, 64};
    size_t i, len;
    int status;

    itest_start(&t, 1, "1", NULL, NULL);
    for (i = 0; i < sizeof(kib) / sizeof(kib[0]); i++) {
        status = get_with_headers(kib[i] * 1024, 1 << 20);
        ck_assert_msg(status == (kib[i] <= 15 ? 200 : 431), "%zu KiB: %d",
                      kib[i], status);
    }
    /* around the pool's edge, in one header and in many small ones */
    for (len = 14 * 1024; len < 17 * 1024; len += 16) {
        status = get_with_headers(len, 1 << 20);
        ck_assert_msg(status == 200 || status == 431, "%zu: %d", len, status);
        status = get_with_headers(len, 40);
        ck_assert_msg(status == 200 || status == 431, "%zu in small headers: %d",
                      len, status);
    }
}
END_TEST

#define PDB "/big.pdb/0123456789ABCDEF0123456789ABCDEF1/big.pdb"

/* One upstream, no retries, a 1 s first-byte timeout, 1 MiB per file
 * and a body that moves under 1 KiB/s for 1 s counts as stalled. */
static void start_bounded(void)
{
    itest_start_conf(&t, 1,
                     "[upstream one]\nurl = @UP0@\nretries = 0\n"
                     "timeout = 1s\nconnect_timeout = 1s\n"
                     "max_file_size = 1M\nlow_speed_limit = 1K\n"
                     "low_speed_time = 1s\n");
}

/* No file is left in the cache, nor in its temp dir once the download
 * is over (which may be just after the client got its answer). */
static void assert_nothing_kept(void)
{
    char *tmp = xasprintf("%s/.Symsrvd/tmp", t.dir);
    unsigned waited;

    for (waited = 0; itest_count_files(tmp, false) > 0 && waited < 3000;
         waited += 50)
        usleep(50 * 1000);
    ck_assert_uint_eq(itest_count_files(tmp, false), 0);
    ck_assert_uint_eq(itest_count_files(t.dir, true), 0);
    free(tmp);
}

/* GET PDB, giving up after LIMIT_MS: the answer must not be a complete
 * 200 and must carry at most max_file_size bytes.  (A chunked answer cut
 * short is not closed until connection_timeout, so the client's own
 * limit ends it.) */
static void expect_cut(unsigned limit_ms)
{
    struct http_opts o = {.timeout_ms = limit_ms};
    char *url = itest_url(&t, PDB);
    struct http_resp r;

    http_request_opts("GET", url, NULL, &o, &r);
    ck_assert_msg(r.status != 200 || r.curl_rc != 0, "complete 200");
    ck_assert_uint_le(r.len, 1 << 20);
    http_resp_free(&r);
    free(url);
}

START_TEST(test_hostile_terabyte_content_length_refused)
{
    start_bounded();
    stub_add_generated(t.up[0], PDB, 1ull << 40, 7);
    expect_cut(3000);
    assert_nothing_kept();
}
END_TEST

START_TEST(test_hostile_endless_chunked_body_cut)
{
    start_bounded();
    stub_add_generated(t.up[0], PDB, 1ull << 40, 7);
    stub_fault(t.up[0], PDB, STUB_NO_LENGTH, 0);
    expect_cut(5000);
    assert_nothing_kept();
}
END_TEST

START_TEST(test_hostile_stalled_body_cut)
{
    start_bounded();
    stub_add_generated(t.up[0], PDB, 64 * 1024, 7);
    stub_fault(t.up[0], PDB, STUB_SLOW, 100); /* 100 B/s */
    expect_cut(5000);
    assert_nothing_kept();
}
END_TEST

/* 3 s at 100 KB/s, well past the 1 s timeout that once bounded the whole
 * transfer, but never below the stall rule. */
START_TEST(test_hostile_slow_steady_body_completes)
{
    size_t len = 300 * 1000;
    char *body = itest_body(len, false, 3);
    struct http_resp r;

    start_bounded();
    stub_add(t.up[0], PDB, body, len);
    stub_fault(t.up[0], PDB, STUB_SLOW, 100 * 1000);
    itest_get(&t, PDB, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.curl_rc, 0);
    ck_assert_uint_eq(r.len, len);
    ck_assert(memcmp(r.body, body, len) == 0);
    http_resp_free(&r);
    free(body);
}
END_TEST

/* An upstream that redirects to the daemon itself: the daemon's own
 * request comes back marked, is refused with 508, and the client gets a
 * prompt miss instead of waiting on the download that sent it. */
START_TEST(test_hostile_redirect_to_self_caught)
{
    char *self;
    struct http_resp r;
    char *why;
    uint64_t t0;

    start_bounded();
    self = itest_url(&t, PDB);
    stub_redirect_always(t.up[0], PDB, self);
    t0 = mono_ms();
    itest_get(&t, PDB, NULL, &r);
    ck_assert_uint_lt(mono_ms() - t0, 900); /* under the 1 s timeout */
    ck_assert_int_eq(r.status, 404);
    why = http_header(&r, "X-Symsrvd-Miss");
    ck_assert_str_eq(why, "upstream-error");
    ck_assert_uint_eq(stub_hits(t.up[0], PDB), 1);
    free(why);
    http_resp_free(&r);
    free(self);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_hostile");
    TCase *tc = tcase_create("hostile");

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, NULL, stop);
    tcase_add_test(tc, test_hostile_access_log_escapes_client_bytes);
    tcase_add_test(tc, test_hostile_json_access_log);
    tcase_add_test(tc, test_hostile_every_header_size_is_answered);
    tcase_add_test(tc, test_hostile_terabyte_content_length_refused);
    tcase_add_test(tc, test_hostile_endless_chunked_body_cut);
    tcase_add_test(tc, test_hostile_stalled_body_cut);
    tcase_add_test(tc, test_hostile_slow_steady_body_completes);
    tcase_add_test(tc, test_hostile_redirect_to_self_caught);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
