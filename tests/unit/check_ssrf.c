/* SPDX-License-Identifier: MIT */
/* Unit tests for src/ssrf: the per-hop decision on a request source's
 * URLs under the default configuration (allow_request_sources = public,
 * no allowlist), names resolved by fakedns (nothing is connected to; the
 * downloader following redirects with this check is check_fetch_origin's
 * "hops" case). */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "fakedns.h"
#include "fetch.h"
#include "log.h"
#include "ssrf.h"

#define PUB4 FAKEDNS_PUB4
#define PUB6 FAKEDNS_PUB6

static struct config *cfg;

static void cfg_setup(void)
{
    char err[256];

    log_init(LOG_LEVEL_WARN, "test");
    ck_assert_int_eq(config_load(NULL, &cfg, err, sizeof(err)), 0);
}

static void cfg_teardown(void)
{
    config_free(cfg);
}

static void set(const char *key, const char *value)
{
    char err[256];

    ck_assert_msg(config_set(cfg, "symbolicate", key, value, err,
                             sizeof(err)) == 0, "%s", err);
}

/* ssrf_check() of URL under cfg: its result, the pin in PIN. */
static int check(const char *url, char pin[FETCH_ORIGIN_PIN_MAX],
                 char detail[256])
{
    detail[0] = '\0';
    return ssrf_check(cfg, url, pin, FETCH_ORIGIN_PIN_MAX, detail, 256);
}

static void expect_pass(const char *url, const char *want_pin)
{
    char pin[FETCH_ORIGIN_PIN_MAX], detail[256];

    ck_assert_msg(check(url, pin, detail) == 0, "%s: %s", url, detail);
    ck_assert_msg(strcmp(pin, want_pin) == 0, "%s: pin \"%s\"", url, pin);
}

static void expect_refused(const char *url, const char *why)
{
    char pin[FETCH_ORIGIN_PIN_MAX], detail[256];
    int rc = check(url, pin, detail);

    ck_assert_msg(rc == -EPERM, "%s: %d", url, rc);
    ck_assert_msg(strstr(detail, why) != NULL, "%s: %s", url, detail);
    ck_assert_str_eq(pin, "");
}

/* The default: a public host passes, pinned to every address it has. */
START_TEST(test_public_passes_pinned)
{
    expect_pass("http://pub.test/x", "pub.test:80:[" PUB6 "]," PUB4);
    expect_pass("https://pub.test:8443/x", "pub.test:8443:[" PUB6 "]," PUB4);
    expect_pass("http://pub2.test/x", "pub2.test:80:" PUB4);
    expect_pass("http://" PUB4 ":81/", PUB4 ":81:" PUB4);
    /* curl connects to an IPv6 literal as written: nothing to pin */
    expect_pass("http://[" PUB6 "]/", "");
}
END_TEST

/* The default refuses every address that is not public, however the URL
 * spells it, and a name if any one of its addresses is not. */
START_TEST(test_restricted_refused)
{
    static const char *const urls[] = {
        "http://127.0.0.1/", "http://127.1/", "http://2130706433/",
        "http://0x7f000001/", "http://0.0.0.0/", "http://10.0.0.1/",
        "http://172.16.5.4/", "http://192.168.1.1:8080/",
        "http://169.254.169.254/latest/meta-data/", "http://100.64.0.1/",
        "http://[::1]/", "http://[fe80::1]/", "http://[fd00:ec2::254]/",
        "http://[::ffff:127.0.0.1]/", "http://[::ffff:a9fe:a9fe]/",
        "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:7f00:1::]/",
        "http://lo.test/", "http://meta.test/", "http://private.test/",
        "http://ll6.test/", "http://ula.test/", "http://mixed.test/",
        "http://mapped.test/", "http://dual.test/", "https://lo.test/",
    };

    for (size_t i = 0; i < sizeof(urls) / sizeof(*urls); i++)
        expect_refused(urls[i], "restricted");
}
END_TEST

/* Only http and https, whatever the host. */
START_TEST(test_schemes_refused)
{
    static const char *const urls[] = {
        "ftp://pub.test/x",     "file:///etc/passwd", "gopher://pub.test/",
        "dict://pub.test:11211/", "ldap://pub.test/",   "scp://pub.test/x",
        "tftp://pub.test/x",    "ws://pub.test/",     "smb://pub.test/x",
    };

    for (size_t i = 0; i < sizeof(urls) / sizeof(*urls); i++)
        expect_refused(urls[i], "only http and https");
    expect_refused("not a url", "bad url");
}
END_TEST

START_TEST(test_unresolvable)
{
    char pin[FETCH_ORIGIN_PIN_MAX], detail[256];

    ck_assert_int_eq(check("http://nowhere.test/", pin, detail), -EIO);
    ck_assert_str_eq(pin, "");
}
END_TEST

/* A listed host passes whatever its addresses, and is pinned to all of
 * them (::1 first, which may not answer, and 127.0.0.1); a host not on
 * the list is still checked. */
START_TEST(test_listed_pinned_to_all)
{
    set("allowed_source_hosts", "dual.test, meta.test:8080");
    expect_pass("http://dual.test:9/x", "dual.test:9:[::1],127.0.0.1");
    expect_pass("http://meta.test:8080/", "meta.test:8080:169.254.169.254");
    expect_refused("http://meta.test/", "restricted");
    expect_refused("http://lo.test/", "restricted");
    expect_refused("ftp://dual.test/", "only http and https");
}
END_TEST

/* allow_request_sources = any checks the scheme only, and pins nothing. */
START_TEST(test_any)
{
    set("allow_request_sources", "any");
    expect_pass("http://127.0.0.1/", "");
    expect_pass("http://nowhere.test/", "");
    expect_refused("file:///etc/passwd", "only http and https");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ssrf");
    TCase *tc = tcase_create("check");

    tcase_add_checked_fixture(tc, cfg_setup, cfg_teardown);
    tcase_add_test(tc, test_public_passes_pinned);
    tcase_add_test(tc, test_restricted_refused);
    tcase_add_test(tc, test_schemes_refused);
    tcase_add_test(tc, test_unresolvable);
    tcase_add_test(tc, test_listed_pinned_to_all);
    tcase_add_test(tc, test_any);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
