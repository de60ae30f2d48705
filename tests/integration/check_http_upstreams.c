/* SPDX-License-Identifier: MIT */
/*
 * Upstream layouts and access (issue 11, item 3): one client key is asked
 * for under each upstream's own tree (symstore, symstore_index2, ssqp,
 * unified, breakpad), a filter keeps files from an upstream, a store that
 * wants a token gets it from header lines (and the daemon never logs it),
 * and an s3:// bucket behind an S3 stub that checks every SigV4
 * signature is read with configured keys and with the environment's.
 * The S3 cases need libcrypto (Debian libssl-dev) to check signatures:
 * without it they are left out.
 */
#include "symsrvd_config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckrun.h"
#include "itest.h"
#include "sigv4_check.h"
#include "xalloc.h"

#define TOKEN "t0k-3f9a61"

static struct itest t;

/* GET PATH through the daemon: 200 with BODY. */
static void expect_body(const char *path, const char *body)
{
    itest_get_body(&t, path, body, strlen(body));
}

static void expect_status(const char *path, long status)
{
    itest_expect_status(&t, path, NULL, status);
}

/* Each key is only in one upstream's tree, under that tree's own path;
 * the client always asks the same SymSrv path. */
START_TEST(test_each_layout_its_own_path)
{
    static const struct {
        const char *client, *stored;
    } cases[] = {
        {"/App.pdb/11111111222233334444555566667777a/App.pdb",
         "/symstore/App.pdb/11111111222233334444555566667777a/App.pdb"},
        {"/App.pdb/22222222222233334444555566667777a/App.pdb",
         "/index2/Ap/App.pdb/22222222222233334444555566667777a/App.pdb"},
        {"/App.dll/5AB38077a000/App.dll",
         "/ssqp/app.dll/5ab38077a000/app.dll"},
        {"/App.pdb/44444444222233334444555566667777a/App.pdb",
         "/unified/44/444444222233334444555566667777a/debuginfo"},
        {"/App.pdb/55555555222233334444555566667777A/App.sym",
         "/moz/App.pdb/55555555222233334444555566667777a/App.sym"},
    };

    itest_start_conf(&t, 1,
                     "[upstream a]\nurl = @UP0@/symstore\nlayout = symstore\n"
                     "retries = 0\n"
                     "[upstream b]\nurl = @UP0@/index2\n"
                     "layout = symstore_index2\nretries = 0\n"
                     "[upstream c]\nurl = @UP0@/ssqp\nlayout = ssqp\n"
                     "retries = 0\n"
                     "[upstream d]\nurl = @UP0@/unified\nlayout = unified\n"
                     "retries = 0\n"
                     "[upstream e]\nurl = @UP0@/moz\nlayout = breakpad\n"
                     "retries = 0\n");
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char *body = xasprintf("file %zu at %s", i, cases[i].stored);

        stub_add(t.up[0], cases[i].stored, body, strlen(body));
        expect_body(cases[i].client, body);
        ck_assert_uint_eq(stub_hits(t.up[0], cases[i].stored), 1);
        free(body);
    }
    /* no layout rule says where a client's own path would be */
    ck_assert_uint_eq(stub_hits(t.up[0], "/symstore/App.pdb/"
                                         "22222222222233334444555566667777a/"
                                         "App.pdb"),
                      1);
    ck_assert_uint_eq(stub_hits(t.up[0], "/App.dll/5AB38077a000/App.dll"), 0);
    itest_stop(&t);
}
END_TEST

/* A store that answers 401 without the token. */
static unsigned want_token(void *arg, const char *method, const char *path,
                           const char *headers)
{
    (void)arg;
    (void)method;
    (void)path;
    return strstr(headers, "Authorization: Bearer " TOKEN "\n") != NULL ? 0
                                                                       : 401;
}

/* filter keeps the PDB from the Breakpad store; the token store gets its
 * header, and the token is in no log line. */
START_TEST(test_filter_and_header)
{
    char *log;

    itest_start_conf(&t, 2,
                     "[upstream moz]\nurl = @UP0@\nlayout = breakpad\n"
                     "filter = *.sym, *.pd_\nretries = 0\n"
                     "[upstream team]\nurl = @UP1@\nretries = 0\n"
                     "header = Authorization: Bearer " TOKEN "\n"
                     "header = X-Team: tools\n");
    stub_set_gate(t.up[1], want_token, NULL);
    stub_add(t.up[0], "/App.pdb/11111111222233334444555566667777a/App.sym",
             "MODULE", 6);
    stub_add(t.up[1], "/App.pdb/11111111222233334444555566667777a/App.pdb",
             "PDB", 3);
    expect_body("/App.pdb/11111111222233334444555566667777a/App.pdb", "PDB");
    expect_status("/Oth.pdb/11111111222233334444555566667777a/Oth.pdb", 404);
    ck_assert_uint_eq(stub_total_hits(t.up[0]), 0);
    expect_body("/App.pdb/11111111222233334444555566667777a/App.sym",
                "MODULE");
    ck_assert_uint_eq(stub_total_hits(t.up[0]), 1);
    log = daemon_log(t.d);
    ck_assert_ptr_nonnull(strstr(log, "stored"));
    ck_assert_ptr_null(strstr(log, TOKEN));
    free(log);
    itest_stop(&t);
}
END_TEST

/* An upstream's header lines follow a redirect on its own origin only:
 * the store that hands downloads to another host (a CDN, a bucket's
 * presigned URL) must not hand that host its keys. */
START_TEST(test_header_stays_on_its_origin)
{
    static const char away[] = "/Away.pdb/11111111222233334444555566667777a/"
                               "Away.pdb",
                      home[] = "/Home.pdb/11111111222233334444555566667777a/"
                               "Home.pdb",
                      moved[] = "/moved/Home.pdb";
    char got[128], *to;

    itest_start_conf(&t, 2,
                     "[upstream team]\nurl = @UP0@\nretries = 0\n"
                     "header = Authorization: Bearer " TOKEN "\n"
                     "header = X-Team: tools\n");
    to = xasprintf("%s%s", stub_url(t.up[1]), away);
    stub_redirect_always(t.up[0], away, to);
    free(to);
    stub_add(t.up[1], away, "CDN", 3);
    to = xasprintf("%s%s", stub_url(t.up[0]), moved);
    stub_redirect_always(t.up[0], home, to);
    free(to);
    stub_add(t.up[0], moved, "HOME", 4);
    expect_body(away, "CDN");
    ck_assert_uint_eq(stub_hits(t.up[1], away), 1);
    ck_assert(!stub_last_header(t.up[1], "X-Team", got, sizeof(got)));
    ck_assert(!stub_last_header(t.up[1], "Authorization", got, sizeof(got)));
    ck_assert(stub_last_header(t.up[1], "Via", got, sizeof(got)));
    expect_body(home, "HOME");
    ck_assert_uint_eq(stub_hits(t.up[0], moved), 1);
    ck_assert(stub_last_header(t.up[0], "X-Team", got, sizeof(got)));
    ck_assert_str_eq(got, "tools");
    itest_stop(&t);
}
END_TEST

static struct sigv4_key s3key = {.access = "AKIDUPSTREAM",
                                 .secret = "s3cr3t/upstream",
                                 .region = "eu-west-1"};

/* A bucket behind an endpoint, signed with the configured keys; an
 * upstream with a wrong secret is refused by the stub (403), and the
 * daemon goes on to the next. */
START_TEST(test_s3_bucket_signed)
{
    static const char path[] = "/syms/team/a/App.dll/5AB38077a000/App.dll";
    struct sigv4_key bad = s3key;

    itest_start_conf(&t, 2,
                     "[upstream wrong]\nurl = s3://syms/team/a\n"
                     "endpoint = @UP1@\nregion = eu-west-1\nretries = 0\n"
                     "access_key = AKIDUPSTREAM\nsecret_key = not-it\n"
                     "layout = symstore\n"
                     "[upstream bucket]\nurl = s3://syms/team/a/\n"
                     "endpoint = @UP0@\nregion = eu-west-1\nretries = 0\n"
                     "access_key = AKIDUPSTREAM\n"
                     "secret_key = s3cr3t/upstream\nlayout = symstore\n");
    s3key.seen = s3key.rejected = 0;
    stub_set_gate(t.up[0], sigv4_check_gate, &s3key);
    stub_set_gate(t.up[1], sigv4_check_gate, &bad);
    stub_add(t.up[0], path, "DLL", 3);
    stub_add(t.up[1], path, "DLL", 3);
    expect_body("/App.dll/5ab38077a000/App.dll", "DLL");
    ck_assert_msg(s3key.rejected == 0, "%s", s3key.why);
    ck_assert_uint_eq(s3key.seen, 1);
    ck_assert_uint_eq(stub_hits(t.up[0], path), 1);
    ck_assert_uint_eq(bad.rejected, 1);
    ck_assert_str_eq(bad.why, "signature does not match");
    itest_stop(&t);
}
END_TEST

/* Without keys in the file, the environment's AWS_* variables sign, and
 * a session token goes along. */
START_TEST(test_s3_bucket_environment_keys)
{
    static const char path[] = "/syms/App.dll/5AB38077a000/App.dll";
    char tok[64];

    setenv("AWS_ACCESS_KEY_ID", s3key.access, 1);
    setenv("AWS_SECRET_ACCESS_KEY", s3key.secret, 1);
    setenv("AWS_SESSION_TOKEN", "session-tok", 1);
    setenv("AWS_REGION", s3key.region, 1);
    itest_start_conf(&t, 1,
                     "[upstream bucket]\nurl = s3://syms\nendpoint = @UP0@\n"
                     "retries = 0\n");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_REGION");
    s3key.seen = s3key.rejected = 0;
    stub_set_gate(t.up[0], sigv4_check_gate, &s3key);
    stub_add(t.up[0], path, "DLL", 3);
    expect_body("/App.dll/5AB38077a000/App.dll", "DLL");
    ck_assert_msg(s3key.rejected == 0, "%s", s3key.why);
    ck_assert(stub_last_header(t.up[0], "X-Amz-Security-Token", tok,
                               sizeof(tok)));
    ck_assert_str_eq(tok, "session-tok");
    /* an unsigned request is what S3 refuses */
    ck_assert_int_ne(sigv4_check(&s3key, "GET", path, "Host: x\n", tok,
                                 sizeof(tok)),
                     0);
    itest_stop(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_upstreams");
    TCase *tc = tcase_create("layouts");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_each_layout_its_own_path);
    tcase_add_test(tc, test_filter_and_header);
    tcase_add_test(tc, test_header_stays_on_its_origin);
    suite_add_tcase(s, tc);
    if (sigv4_check_available()) {
        TCase *s3 = tcase_create("s3");

        tcase_set_timeout(s3, 60);
        tcase_add_test(s3, test_s3_bucket_signed);
        tcase_add_test(s3, test_s3_bucket_environment_keys);
        suite_add_tcase(s, s3);
    } else {
        fprintf(stderr, "check_http_upstreams: no libcrypto (Debian package "
                        "libssl-dev): S3 cases left out\n");
    }
    return ckrun(s);
}
