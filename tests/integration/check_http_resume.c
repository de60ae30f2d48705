/* SPDX-License-Identifier: MIT */
/*
 * Resumed downloads: an upstream that cuts a body after some of it reached
 * the client is asked for the rest with Range and If-Range, and the client
 * gets the file whole; an answer that cannot continue those bytes (200,
 * a replaced file, a 206 from elsewhere) fails the download cleanly, with
 * nothing stored, and the next request starts over.
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

#define PDB "/big.pdb/0123456789ABCDEF0123456789ABCDEF1/big.pdb"
#define LEN ((size_t)400000)
#define CUT 150000
#define ETAG "\"v1-big\""
#define DATE "Tue, 01 Dec 2026 10:00:00 GMT"

static struct itest t;

/* resumes = 2; no gzip copies, so the store holds exactly the files. */
static const char *const conf =
    "[cache]\ngzip_min_size = 1G\n"
    "[upstream one]\nurl = @UP0@\nretries = 2\nretry_backoff = 20ms\n"
    "resumes = 2\ntimeout = 5s\n";

static void start(void)
{
    itest_start_conf(&t, 1, conf);
}

static void stop(void)
{
    itest_stop(&t);
}

static double metric(const char *name)
{
    return metrics_get(daemon_url(t.d), name, NULL);
}

/* GET PDB: the whole body, identical. */
static void get_whole(const char *body)
{
    struct http_resp r;

    itest_get(&t, PDB, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.curl_rc, 0);
    ck_assert_uint_eq(r.len, LEN);
    ck_assert(memcmp(r.body, body, LEN) == 0);
    http_resp_free(&r);
}

/* The stored file is BODY, and it is the only file. */
static void stored_once(const char *body)
{
    char *disk = xasprintf("%s%s", t.dir, PDB), *got = NULL;
    size_t len = 0;

    ck_assert_int_eq(read_small_file(disk, 1 << 20, &got, &len), 0);
    ck_assert_uint_eq(len, LEN);
    ck_assert(memcmp(got, body, LEN) == 0);
    ck_assert_uint_eq(itest_count_files(t.dir, true), 1);
    free(got);
    free(disk);
}

static bool log_has(const char *needle)
{
    char *log = daemon_log(t.d);
    bool has = strstr(log, needle) != NULL;

    free(log);
    return has;
}

/* Cut once at CUT, with VALIDATOR as the If-Range it must come back with. */
static void resumed_whole(enum stub_fault_kind cut, const char *etag,
                          const char *date, const char *validator)
{
    char *body = itest_body(LEN, false, 41), got[128];
    unsigned long from = 0;
    int end = 0;

    stub_add(t.up[0], PDB, body, LEN);
    stub_set_validators(t.up[0], PDB, etag, date);
    stub_fault(t.up[0], PDB, cut, CUT);
    get_whole(body);
    ck_assert_uint_eq(stub_hits(t.up[0], PDB), 2);
    ck_assert(stub_last_header(t.up[0], "If-Range", got, sizeof(got)));
    ck_assert_str_eq(got, validator);
    /* the rest from where it was cut (a RST may drop what the daemon's
     * kernel had not handed to it yet, so up to CUT) */
    ck_assert(stub_last_header(t.up[0], "Range", got, sizeof(got)));
    ck_assert_int_eq(sscanf(got, "bytes=%lu-%n", &from, &end), 1);
    ck_assert_msg(got[end] == '\0' && from > 0 && from <= CUT, "Range %s",
                  got);
    stored_once(body);
    ck_assert(log_has("resumed 1 times"));
    ck_assert_int_eq(metric("symsrvd_upstream_resumes_total"), 1);
    get_whole(body); /* a hit */
    ck_assert_uint_eq(stub_hits(t.up[0], PDB), 2);
    free(body);
}

START_TEST(test_resume_after_reset_with_etag)
{
    resumed_whole(STUB_RESET, ETAG, DATE, ETAG);
}
END_TEST

START_TEST(test_resume_after_truncation_with_last_modified)
{
    resumed_whole(STUB_TRUNCATE, NULL, DATE, DATE);
}
END_TEST

START_TEST(test_resume_weak_etag_uses_last_modified)
{
    resumed_whole(STUB_RESET, "W/\"weak\"", DATE, DATE);
}
END_TEST

/* The answer to the resumed request is FAULT: the client is cut, nothing
 * is stored, and the next request fetches the file whole from the start. */
static void refused(enum stub_fault_kind fault, uint64_t arg)
{
    char *body = itest_body(LEN, false, 42);
    struct http_resp r;

    stub_add(t.up[0], PDB, body, LEN);
    stub_set_validators(t.up[0], PDB, ETAG, NULL);
    stub_fault(t.up[0], PDB, STUB_RESET, CUT);
    stub_fault(t.up[0], PDB, fault, arg);
    itest_get(&t, PDB, NULL, &r);
    ck_assert_msg(r.curl_rc != 0 || r.status != 200,
                  "a refused resume served as complete (%zu bytes)", r.len);
    ck_assert_uint_lt(r.len, LEN);
    /* whatever came is the file's own start: no mixed bytes */
    ck_assert(memcmp(r.body, body, r.len) == 0);
    http_resp_free(&r);
    ck_assert_uint_eq(stub_hits(t.up[0], PDB), 2);
    ck_assert_uint_eq(itest_count_files(t.dir, true), 0);
    ck_assert_int_eq(metric("symsrvd_upstream_resumes_refused_total"), 1);
    ck_assert(log_has("resume refused"));
    get_whole(body);
    ck_assert_uint_eq(stub_hits(t.up[0], PDB), 3);
    stored_once(body);
    free(body);
}

START_TEST(test_resume_range_ignored)
{
    refused(STUB_IGNORE_RANGE, 0);
}
END_TEST

START_TEST(test_resume_file_replaced)
{
    refused(STUB_REPLACED, 0);
}
END_TEST

START_TEST(test_resume_range_from_elsewhere)
{
    refused(STUB_RANGE_FROM, 0);
}
END_TEST

/* resumes = 2: a third cut fails the download. */
START_TEST(test_resumes_are_bounded)
{
    char *body = itest_body(LEN, false, 43);
    struct http_resp r;

    stub_add(t.up[0], PDB, body, LEN);
    stub_set_validators(t.up[0], PDB, ETAG, NULL);
    for (int i = 0; i < 3; i++)
        stub_fault(t.up[0], PDB, STUB_RESET, 50000);
    itest_get(&t, PDB, NULL, &r);
    ck_assert(r.curl_rc != 0 || r.status != 200);
    ck_assert(memcmp(r.body, body, r.len) == 0);
    http_resp_free(&r);
    ck_assert_uint_eq(stub_hits(t.up[0], PDB), 3);
    ck_assert_uint_eq(itest_count_files(t.dir, true), 0);
    ck_assert_int_eq(metric("symsrvd_upstream_resumes_total"), 2);
    get_whole(body);
    free(body);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_resume");
    TCase *tc = tcase_create("resume");

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, start, stop);
    tcase_add_test(tc, test_resume_after_reset_with_etag);
    tcase_add_test(tc, test_resume_after_truncation_with_last_modified);
    tcase_add_test(tc, test_resume_weak_etag_uses_last_modified);
    tcase_add_test(tc, test_resume_range_ignored);
    tcase_add_test(tc, test_resume_file_replaced);
    tcase_add_test(tc, test_resume_range_from_elsewhere);
    tcase_add_test(tc, test_resumes_are_bounded);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
