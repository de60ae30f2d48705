/* SPDX-License-Identifier: MIT */
/*
 * upstream: the URLs one client key becomes on each kind of upstream
 * (layout, casing, filter, s3 bucket), and what its requests carry
 * (headers, SigV4 keys from the configuration or the environment).
 */
#include "symsrvd_config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ckrun.h"
#include "config.h"
#include "symkey.h"
#include "upstream.h"

#define PDB_ID "3249D99D0C4049318610F4E4FB0B69361"
#define BUILD_ID "3dcf4233fa9a5664c8c24f014d1d3725dd25d617"

static struct symkey key_of(const char *path)
{
    struct symkey k;
    const char *why = NULL;

    ck_assert_msg(symkey_parse(path, strlen(path), &k, &why) == 0, "%s: %s",
                  path, why ? why : "");
    return k;
}

/* UP's URLs for PATH are the NULL-terminated WANT, the first NPLAIN of
 * them the plain file. */
static void expect_urls(const struct config_upstream *up, const char *path,
                        size_t nplain, const char *const *want)
{
    struct symkey k = key_of(path);
    char *urls[UPSTREAM_MAX_URLS];
    size_t np, n = upstream_urls(up, &k, urls, &np), i;

    for (i = 0; want[i] != NULL; i++) {
        ck_assert_msg(i < n, "%s: %zu urls, want more", path, n);
        ck_assert_str_eq(urls[i], want[i]);
    }
    ck_assert_uint_eq(n, i);
    ck_assert_uint_eq(np, nplain);
    ck_assert(upstream_serves(up, &k) == (n > 0));
    upstream_urls_free(urls, n);
}

START_TEST(test_upstream_layouts)
{
    struct config_upstream up = {.url = "http://h/sym"};
    const char *pdb = "/Crash.pdb/" PDB_ID "/Crash.pdb";

    up.layout = CONFIG_LAYOUT_NATIVE;
    expect_urls(&up, pdb, 1,
                (const char *[]){"http://h/sym" "/Crash.pdb/" PDB_ID
                                 "/Crash.pdb",
                                 "http://h/sym/Crash.pdb/" PDB_ID "/Crash.pd_",
                                 NULL});
    up.layout = CONFIG_LAYOUT_SYMSTORE_INDEX2;
    expect_urls(&up, pdb, 1,
                (const char *[]){"http://h/sym/Cr/Crash.pdb/" PDB_ID
                                 "/Crash.pdb",
                                 "http://h/sym/Cr/Crash.pdb/" PDB_ID
                                 "/Crash.pd_",
                                 NULL});
    up.layout = CONFIG_LAYOUT_SSQP;
    expect_urls(&up, "/app.exe/5AB380779000/app.exe", 1,
                (const char *[]){"http://h/sym/app.exe/5ab380779000/app.exe",
                                 "http://h/sym/app.exe/5ab380779000/app.ex_",
                                 NULL});
    up.layout = CONFIG_LAYOUT_UNIFIED;
    expect_urls(&up, "/buildid/" BUILD_ID "/executable", 1,
                (const char *[]){"http://h/sym/3d/cf4233fa9a5664c8c24f014d1d"
                                 "3725dd25d617/executable",
                                 NULL});
    up.layout = CONFIG_LAYOUT_BREAKPAD;
    expect_urls(&up, "/Crash.pdb/" PDB_ID "/Crash.sym", 1,
                (const char *[]){"http://h/sym/Crash.pdb/" PDB_ID "/Crash.sym",
                                 NULL});
    /* a file.ptr or a source file has no path in a symstore tree */
    up.layout = CONFIG_LAYOUT_SYMSTORE;
    expect_urls(&up, "/Crash.pdb/" PDB_ID "/file.ptr", 0,
                (const char *[]){NULL});
    expect_urls(&up, "/buildid/" BUILD_ID "/source/usr/src/a.c", 0,
                (const char *[]){NULL});
    /* a debuginfod server is asked under /buildid/, for build ids only */
    up.layout = CONFIG_LAYOUT_DEBUGINFOD;
    expect_urls(&up, "/buildid/" BUILD_ID "/debuginfo", 1,
                (const char *[]){"http://h/sym/buildid/" BUILD_ID "/debuginfo",
                                 NULL});
    expect_urls(&up, "/buildid/" BUILD_ID "/source/usr/src/a+b.c", 1,
                (const char *[]){"http://h/sym/buildid/" BUILD_ID
                                 "/source/usr/src/a%2Bb.c",
                                 NULL});
    expect_urls(&up, pdb, 0, (const char *[]){NULL});
}
END_TEST

START_TEST(test_upstream_casing_and_filter)
{
    struct config_upstream up = {.url = "http://h",
                                 .casing = CONFIG_CASING_LOWER,
                                 .filter = "*.SYM, *.pd_"};

    /* the filter matches the client's file name in any case */
    expect_urls(&up, "/Crash.pdb/" PDB_ID "/Crash.sym", 1,
                (const char *[]){"http://h/crash.pdb/3249d99d0c4049318610f4e4"
                                 "fb0b69361/crash.sym",
                                 NULL});
    expect_urls(&up, "/Crash.pdb/" PDB_ID "/Crash.pdb", 0,
                (const char *[]){NULL});
    up.filter = "debuginfo";
    up.layout = CONFIG_LAYOUT_DEBUGINFOD;
    expect_urls(&up, "/buildid/" BUILD_ID "/executable", 0,
                (const char *[]){NULL});
    expect_urls(&up, "/buildid/" BUILD_ID "/debuginfo", 1,
                (const char *[]){"http://h/buildid/" BUILD_ID "/debuginfo",
                                 NULL});
}
END_TEST

START_TEST(test_upstream_s3)
{
    struct config_upstream up = {.url = "s3://syms/team/a",
                                 .layout = CONFIG_LAYOUT_SYMSTORE,
                                 .region = "eu-west-1"};
    struct upstream_auth a;

    expect_urls(&up, "/x.dll/5AB380779000/x.dll", 1,
                (const char *[]){"https://syms.s3.eu-west-1.amazonaws.com/team/"
                                 "a/x.dll/5AB380779000/x.dll",
                                 "https://syms.s3.eu-west-1.amazonaws.com/team/"
                                 "a/x.dll/5AB380779000/x.dl_",
                                 NULL});
    up.endpoint = "http://127.0.0.1:9000";
    expect_urls(&up, "/x.dll/5AB380779000/x.dll", 1,
                (const char *[]){"http://127.0.0.1:9000/syms/team/a/x.dll/"
                                 "5AB380779000/x.dll",
                                 "http://127.0.0.1:9000/syms/team/a/x.dll/"
                                 "5AB380779000/x.dl_",
                                 NULL});
    /* keys: the configuration's, else the environment's, else unsigned */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    upstream_auth_init(&up, &a);
    ck_assert_ptr_null(a.sigv4);
    ck_assert_ptr_null(a.headers[0]);
    upstream_auth_clear(&a);
    setenv("AWS_ACCESS_KEY_ID", "ENVAK", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "ENVSK", 1);
    setenv("AWS_SESSION_TOKEN", "TOK", 1);
    upstream_auth_init(&up, &a);
    ck_assert_str_eq(a.sigv4, "aws:amz:eu-west-1:s3");
    ck_assert_str_eq(a.userpwd, "ENVAK:ENVSK");
    ck_assert_str_eq(a.headers[0], "X-Amz-Security-Token: TOK");
    upstream_auth_clear(&a);
    up.access_key = "AK";
    up.secret_key = "SK";
    up.region = NULL;
    setenv("AWS_REGION", "ap-south-1", 1);
    upstream_auth_init(&up, &a);
    ck_assert_str_eq(a.sigv4, "aws:amz:ap-south-1:s3");
    ck_assert_str_eq(a.userpwd, "AK:SK");
    ck_assert_ptr_null(a.headers[0]);
    upstream_auth_clear(&a);
}
END_TEST

START_TEST(test_upstream_headers)
{
    char *lines[] = {"Authorization: Bearer t0k", "X-Team: a"};
    struct config_upstream up = {.url = "https://h",
                                 .headers = {.v = lines, .n = 2}};
    struct upstream_auth a;

    upstream_auth_init(&up, &a);
    ck_assert_str_eq(a.headers[0], "Authorization: Bearer t0k");
    ck_assert_str_eq(a.headers[1], "X-Team: a");
    ck_assert_ptr_null(a.headers[2]);
    /* not a bucket: never signed, even with the environment's keys */
    setenv("AWS_ACCESS_KEY_ID", "ENVAK", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "ENVSK", 1);
    ck_assert_ptr_null(a.sigv4);
    upstream_auth_clear(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("upstream");
    TCase *tc = tcase_create("urls");

    tcase_add_test(tc, test_upstream_layouts);
    tcase_add_test(tc, test_upstream_casing_and_filter);
    tcase_add_test(tc, test_upstream_s3);
    tcase_add_test(tc, test_upstream_headers);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
