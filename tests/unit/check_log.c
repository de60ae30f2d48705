/* SPDX-License-Identifier: MIT */
/*
 * log_escape: what a client sends must reach the access log as one
 * printable, valid UTF-8 field.
 */
#include "symsrvd_config.h"

#include <check.h>
#include <string.h>

#include "ckrun.h"
#include "log.h"

static void expect(const char *in, size_t len, const char *want)
{
    char out[256];

    log_escape(in, out, len);
    ck_assert_str_eq(out, want);
}

START_TEST(test_log_escape_control_and_separators)
{
    expect("GET", 256, "GET");
    expect("G\x1b[2JT", 256, "G\\x1b[2JT");
    expect("a\r\nb c\t\"\\\x7f", 256, "a\\x0d\\x0ab\\x20c\\x09\\x22\\x5c\\x7f");
}
END_TEST

START_TEST(test_log_escape_utf8)
{
    /* valid sequences of 2, 3 and 4 bytes pass through */
    expect("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 256,
           "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    /* stray continuation, truncated, overlong, surrogate, > U+10FFFF */
    expect("\x80", 256, "\\x80");
    expect("a\xe2\x82", 256, "a\\xe2\\x82");
    expect("\xc0\xaf\xe0\x80\xaf", 256, "\\xc0\\xaf\\xe0\\x80\\xaf");
    expect("\xed\xa0\x80", 256, "\\xed\\xa0\\x80");
    expect("\xf4\x90\x80\x80", 256, "\\xf4\\x90\\x80\\x80");
}
END_TEST

START_TEST(test_log_escape_cut_between_characters)
{
    expect("abcdef", 4, "abc");
    expect("ab\x01", 6, "ab");      /* "\x01" needs 4 + NUL */
    expect("ab\x01", 7, "ab\\x01");
    expect("a\xe2\x82\xac", 4, "a"); /* the euro sign is not split */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("escape");

    tcase_add_test(tc, test_log_escape_control_and_separators);
    tcase_add_test(tc, test_log_escape_utf8);
    tcase_add_test(tc, test_log_escape_cut_between_characters);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
