/* SPDX-License-Identifier: MIT */
/* Unit tests for src/ssrf: the per-hop decision on a request source's
 * URLs under the default configuration (allow_request_sources = public,
 * no allowlist), and the downloader pool following redirects with it.
 *
 * The program is linked with -Wl,--wrap=getaddrinfo: names under ".test"
 * resolve from the table below and nothing else leaves the machine (other
 * names fail, literals go to the real resolver as literals only).  The
 * "public" addresses of that table are never connected to: the hop tests
 * check each URL with the real ssrf_check() and then point its pin at the
 * stub upstream on 127.0.0.1, as a network would route the address. */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "config.h"
#include "fetch.h"
#include "inflight.h"
#include "log.h"
#include "metrics.h"
#include "ssrf.h"
#include "store.h"
#include "stub_upstream.h"
#include "symkey.h"
#include "xalloc.h"

#define PUB4 "93.184.216.34"
#define PUB6 "2a00:1450:4001::1"

static const struct {
    const char *name, *addrs[3];
} fake_hosts[] = {
    {"pub.test", {PUB6, PUB4}},
    {"pub2.test", {PUB4}},
    {"dual.test", {"::1", "127.0.0.1"}},
    {"lo.test", {"127.0.0.1"}},
    {"meta.test", {"169.254.169.254"}},
    {"private.test", {"10.1.2.3"}},
    {"ll6.test", {"fe80::1"}},
    {"ula.test", {"fd00:ec2::254"}},
    {"mixed.test", {PUB4, "192.168.0.1"}},
    {"mapped.test", {PUB6, "::ffff:127.0.0.1"}},
};

int __real_getaddrinfo(const char *node, const char *service,
                       const struct addrinfo *hints, struct addrinfo **res);
int __wrap_getaddrinfo(const char *node, const char *service,
                       const struct addrinfo *hints, struct addrinfo **res);

/* ADDR (a literal) at SERVICE, as the real resolver gives it. */
static struct addrinfo *literal(const char *addr, const char *service,
                                const struct addrinfo *hints)
{
    struct addrinfo h = *hints, *ai = NULL;

    h.ai_flags |= AI_NUMERICHOST;
    return __real_getaddrinfo(addr, service, &h, &ai) == 0 ? ai : NULL;
}

/* The table's addresses of NODE in order, one list (each node is the real
 * resolver's, so freeaddrinfo() frees it); literals as themselves. */
int __wrap_getaddrinfo(const char *node, const char *service,
                       const struct addrinfo *hints, struct addrinfo **res)
{
    struct addrinfo none = {0}, **tail = res;

    hints = hints != NULL ? hints : &none;
    *res = literal(node, service, hints);
    if (*res != NULL)
        return 0;
    for (size_t i = 0; i < sizeof(fake_hosts) / sizeof(*fake_hosts); i++) {
        if (strcmp(node, fake_hosts[i].name) != 0)
            continue;
        for (size_t j = 0; j < 3 && fake_hosts[i].addrs[j] != NULL; j++) {
            *tail = literal(fake_hosts[i].addrs[j], service, hints);
            while (*tail != NULL)
                tail = &(*tail)->ai_next;
        }
        return *res != NULL ? 0 : EAI_NONAME;
    }
    return EAI_NONAME;
}

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

/* --- the pool following redirects, each hop checked --------------------- */

static char *dir;
static struct cache *c;
static struct inflight *table;
static struct fetch *pool;
static struct stub *up;
static unsigned hops_checked;

static void pool_setup(void)
{
    char tmpl[] = "/tmp/check_ssrf.XXXXXX", err[256];

    cfg_setup();
    dir = xstrdup(mkdtemp(tmpl));
    metrics_create();
    fetch_global_init();
    ck_assert_int_eq(config_set(cfg, "cache", "dir", dir, err, sizeof(err)), 0);
    ck_assert_int_eq(
        config_set(cfg, "server", "downloaders", "1", err, sizeof(err)), 0);
    ck_assert_int_eq(store_prepare(dir), 0);
    ck_assert_int_eq(cache_open(dir, 16 << 20, &c), 0);
    table = inflight_new();
    ck_assert_int_eq(fetch_start(cfg, c, &pool), 0);
    up = stub_start();
    stub_add(up, "/a", "first", 5);
    stub_add(up, "/b", "second", 6);
    hops_checked = 0;
}

static void pool_teardown(void)
{
    char *cmd = xasprintf("rm -rf '%s'", dir);

    stub_stop(up);
    fetch_free(pool);
    inflight_free(table);
    cache_close(c);
    cfg_teardown();
    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
    free(dir);
}

/* ssrf_check() under the default config; a URL it passes (only ever a
 * fake public name: the tests give no other) is then routed to the stub
 * by pointing the pin's addresses at 127.0.0.1. */
static int check_routed(const void *arg, const char *url, char *pin,
                        size_t plen, char *detail, size_t dlen)
{
    int rc = ssrf_check(arg, url, pin, plen, detail, dlen);
    char *addrs;

    hops_checked++;
    if (rc != 0)
        return rc;
    ck_assert_msg(strncmp(pin, "pub", 3) == 0,
                  "a hop the tests don't route passed: %s -> %s", url, pin);
    /* "pub.test:PORT:[v6],v4": the addresses follow the second ':' */
    addrs = strchr(strchr(pin, ':') + 1, ':');
    snprintf(addrs + 1, plen - (size_t)(addrs + 1 - pin), "127.0.0.1");
    return 0;
}

/* http://HOST:<stub>PATH through the pool with APPROVE as the check; how it ended, the
 * origin's detail in DETAIL. */
static enum dl_state fetch_at(const char *host, const char *path,
                              int (*approve)(const void *, const char *,
                                             char *, size_t, char *, size_t),
                              char detail[256])
{
    struct fetch_origin *o = xcalloc(1, sizeof(*o));
    char *key = xasprintf(STORE_SOURCES_PREFIX "0a/%s", path + 1);
    enum dl_reason why;
    enum dl_state st;
    struct symkey orig;
    bool created;
    struct dl *d;

    o->label = xstrdup("test");
    o->urls[0] = xasprintf("http://%s:%u%s", host, stub_port(up), path);
    o->check = approve;
    o->check_arg = cfg;
    o->timeout_ms = 5000;
    memset(&orig, 0, sizeof(orig));
    snprintf(orig.name, sizeof(orig.name), "test");
    snprintf(orig.file, sizeof(orig.file), "%s", path + 1);
    d = inflight_get(table, key, &orig, &created);
    ck_assert(created);
    dl_set_origin(d, o, fetch_origin_free);
    ck_assert(fetch_download(pool, d));
    st = dl_wait_end(d, 20000, &why);
    snprintf(detail, 256, "%s", o->detail);
    dl_unref(d);
    free(key);
    return st;
}

/* http://pub.test:<stub>PATH, routed to the stub. */
static enum dl_state fetch_path(const char *path, char detail[256])
{
    return fetch_at("pub.test", path, check_routed, detail);
}

/* PATH redirects to TARGET, its "%u" replaced by the stub's port. */
static void redirect(const char *path, const char *target)
{
    const char *at = strstr(target, "%u");
    char *url = xasprintf("%.*s%u%s", (int)(at - target), target,
                          stub_port(up), at + 2);

    stub_redirect_always(up, path, url);
    free(url);
}

/* A public host's file is fetched, and so is one a redirect to another
 * public host names. */
START_TEST(test_hop_public)
{
    char detail[256];

    ck_assert_int_eq(fetch_path("/a", detail), DL_DONE);
    ck_assert_uint_eq(stub_hits(up, "/a"), 1);
    redirect("/to-b", "http://pub2.test:%u/b");
    ck_assert_int_eq(fetch_path("/to-b", detail), DL_DONE);
    ck_assert_uint_eq(stub_hits(up, "/to-b"), 1);
    ck_assert_uint_eq(stub_hits(up, "/b"), 1);
    ck_assert_uint_eq(hops_checked, 3);
}
END_TEST

/* A listed name whose first address does not answer (::1: the stub
 * listens on 127.0.0.1 only) is reached on its second: the pin holds
 * every address the check passed, and curl tries them in turn. */
START_TEST(test_hop_second_address)
{
    char detail[256];

    set("allowed_source_hosts", "dual.test");
    ck_assert_msg(fetch_at("dual.test", "/a", ssrf_check, detail) == DL_DONE,
                  "%s", detail);
    ck_assert_uint_eq(stub_hits(up, "/a"), 1);
}
END_TEST

/* A public first hop that redirects anywhere restricted or to another
 * scheme: the target is checked and refused before any connection (the
 * stub, which every one of them would reach on loopback, never sees the
 * target's path). */
START_TEST(test_hop_restricted)
{
    static const char *const targets[] = {
        "http://127.0.0.1:%u/b", "http://lo.test:%u/b",
        "http://[::1]:%u/b",     "http://[::ffff:127.0.0.1]:%u/b",
        "http://169.254.169.254/latest/meta-data/?%u",
        "http://meta.test:%u/b", "http://private.test:%u/b",
        "http://10.0.0.1:%u/b",  "http://[fe80::1]:%u/b",
        "http://mixed.test:%u/b", "http://dual.test:%u/b",
        "ftp://pub2.test:%u/b",  "file:///etc/passwd?%u",
        "gopher://pub2.test:%u/b", "dict://pub2.test:%u/b",
    };
    char detail[256], path[32];

    for (size_t i = 0; i < sizeof(targets) / sizeof(*targets); i++) {
        snprintf(path, sizeof(path), "/r%zu", i);
        redirect(path, targets[i]);
        ck_assert_msg(fetch_path(path, detail) == DL_FAILED, "%s",
                      targets[i]);
        ck_assert_msg(strstr(detail, "restricted") != NULL ||
                          strstr(detail, "only http and https") != NULL,
                      "%s: %s", targets[i], detail);
        ck_assert_uint_eq(stub_hits(up, path), 1);
    }
    ck_assert_uint_eq(stub_hits(up, "/b"), 0);
    ck_assert_uint_eq(hops_checked, 2 * (sizeof(targets) / sizeof(*targets)));
}
END_TEST

/* PREFIX0 -> PREFIX1 -> ... -> PREFIX<N>, alternating between the two
 * public names, the last one a file. */
static void chain(const char *prefix, unsigned n)
{
    char path[32], *url;

    for (unsigned i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "/%s%u", prefix, i);
        url = xasprintf("http://pub%s.test:%u/%s%u", i % 2 ? "" : "2",
                        stub_port(up), prefix, i + 1);
        stub_redirect_always(up, path, url);
        free(url);
    }
    snprintf(path, sizeof(path), "/%s%u", prefix, n);
    stub_add(up, path, "end", 3);
}

/* FETCH_ORIGIN_REDIRECTS redirects are followed, each hop checked; one
 * more fails the download before the last target is asked. */
START_TEST(test_hop_cap)
{
    char detail[256], last[32];

    chain("c", FETCH_ORIGIN_REDIRECTS);
    ck_assert_int_eq(fetch_path("/c0", detail), DL_DONE);
    ck_assert_uint_eq(hops_checked, FETCH_ORIGIN_REDIRECTS + 1);
    snprintf(last, sizeof(last), "/c%u", FETCH_ORIGIN_REDIRECTS);
    ck_assert_uint_eq(stub_hits(up, last), 1);

    hops_checked = 0;
    chain("d", FETCH_ORIGIN_REDIRECTS + 1);
    ck_assert_int_eq(fetch_path("/d0", detail), DL_FAILED);
    ck_assert_str_eq(detail, "download failed: too many redirects");
    ck_assert_uint_eq(hops_checked, FETCH_ORIGIN_REDIRECTS + 1);
    snprintf(last, sizeof(last), "/d%u", FETCH_ORIGIN_REDIRECTS + 1);
    ck_assert_uint_eq(stub_hits(up, last), 0);
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
    tc = tcase_create("hops");
    tcase_add_checked_fixture(tc, pool_setup, pool_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_hop_public);
    tcase_add_test(tc, test_hop_second_address);
    tcase_add_test(tc, test_hop_restricted);
    tcase_add_test(tc, test_hop_cap);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
