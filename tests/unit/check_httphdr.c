/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/httphdr: Range and If-None-Match. */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <errno.h>
#include <stdlib.h>

#include "httphdr.h"

static int range(const char *v, uint64_t size, uint64_t *off, uint64_t *len)
{
    *off = *len = 12345;
    return httphdr_range(v, size, off, len);
}

START_TEST(test_httphdr_range_forms)
{
    uint64_t off, len;

    ck_assert_int_eq(range("bytes=0-99", 1000, &off, &len), 0);
    ck_assert_uint_eq(off, 0);
    ck_assert_uint_eq(len, 100);
    ck_assert_int_eq(range("bytes=990-", 1000, &off, &len), 0);
    ck_assert_uint_eq(off, 990);
    ck_assert_uint_eq(len, 10);
    ck_assert_int_eq(range("bytes=-10", 1000, &off, &len), 0);
    ck_assert_uint_eq(off, 990);
    ck_assert_uint_eq(len, 10);
    ck_assert_int_eq(range("bytes=-5000", 1000, &off, &len), 0);
    ck_assert_uint_eq(off, 0);
    ck_assert_uint_eq(len, 1000);
    ck_assert_int_eq(range("bytes=500-5000", 1000, &off, &len), 0);
    ck_assert_uint_eq(len, 500);
    ck_assert_int_eq(range(" bytes = 1-1", 1000, &off, &len), -EINVAL);
    ck_assert_int_eq(range("bytes=1-1", 1000, &off, &len), 0);
    ck_assert_uint_eq(len, 1);
}
END_TEST

START_TEST(test_httphdr_range_unsatisfiable_and_ignored)
{
    uint64_t off, len;

    ck_assert_int_eq(range("bytes=1000-", 1000, &off, &len), -ERANGE);
    ck_assert_int_eq(range("bytes=-0", 1000, &off, &len), -ERANGE);
    ck_assert_int_eq(range("bytes=0-", 0, &off, &len), -ERANGE);
    ck_assert_int_eq(range("bytes=0-1,5-6", 1000, &off, &len), -EINVAL);
    ck_assert_int_eq(range("items=0-1", 1000, &off, &len), -EINVAL);
    ck_assert_int_eq(range("bytes=5-1", 1000, &off, &len), -EINVAL);
    ck_assert_int_eq(range("bytes=-", 1000, &off, &len), -EINVAL);
    ck_assert_int_eq(range("bytes=x-1", 1000, &off, &len), -EINVAL);
    ck_assert_int_eq(range("bytes=99999999999999999999-", 10, &off, &len),
                     -EINVAL);
}
END_TEST

START_TEST(test_httphdr_etag_match)
{
    ck_assert(httphdr_etag_match("\"abc\"", "\"abc\""));
    ck_assert(httphdr_etag_match("W/\"abc\"", "\"abc\""));
    ck_assert(httphdr_etag_match("\"x\", \"abc\"", "\"abc\""));
    ck_assert(httphdr_etag_match("*", "\"abc\""));
    ck_assert(!httphdr_etag_match("\"abcd\"", "\"abc\""));
    ck_assert(!httphdr_etag_match("", "\"abc\""));
    ck_assert(!httphdr_etag_match("\"ab\", \"c\"", "\"abc\""));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("httphdr");
    TCase *tc = tcase_create("parse");

    tcase_add_test(tc, test_httphdr_range_forms);
    tcase_add_test(tc, test_httphdr_range_unsatisfiable_and_ignored);
    tcase_add_test(tc, test_httphdr_etag_match);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
