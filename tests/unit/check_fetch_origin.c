/* SPDX-License-Identifier: MIT */
/* Unit tests for src/fetch's origins (a /symbolicate request's sources):
 * the pool with one downloader, so every download uses the same curl
 * handle, against a stub upstream on loopback reached through the name
 * "pin.test", which only a pin (CURLOPT_RESOLVE) makes resolvable; and
 * redirects followed under the default config, each hop checked by the
 * real ssrf_check() with names resolved by fakedns (linked with
 * -Wl,--wrap=getaddrinfo), the public ones it passes routed to the
 * stub. */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "config.h"
#include "fakedns.h"
#include "fetch.h"
#include "inflight.h"
#include "log.h"
#include "metrics.h"
#include "ssrf.h"
#include "store.h"
#include "stub_upstream.h"
#include "symkey.h"
#include "xalloc.h"

static char *dir;
static struct config *cfg;
static struct cache *c;
static struct inflight *table;
static struct fetch *pool;
static struct stub *up;
static unsigned hops_checked; /* check_routed()'s calls */

static void setup(void)
{
    char tmpl[] = "/tmp/check_fetch_origin.XXXXXX", err[256];

    dir = xstrdup(mkdtemp(tmpl));
    log_init(LOG_LEVEL_WARN, "test");
    metrics_create();
    fetch_global_init();
    ck_assert_int_eq(config_load(NULL, &cfg, err, sizeof(err)), 0);
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

static void teardown(void)
{
    char *cmd = xasprintf("rm -rf '%s'", dir);

    stub_stop(up);
    fetch_free(pool);
    inflight_free(table);
    cache_close(c);
    config_free(cfg);
    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
    free(dir);
}

/* Pin "pin.test:<port>" to 127.0.0.1, as symsource's check does for a
 * public address. */
static int check_pin(const void *arg, const char *url, char *resolve,
                     size_t rlen, char *detail, size_t dlen)
{
    (void)url;
    (void)detail;
    (void)dlen;
    snprintf(resolve, rlen, "pin.test:%u:127.0.0.1", *(const unsigned *)arg);
    return 0;
}

/* Approve without a pin (allow_request_sources = any). */
static int check_open(const void *arg, const char *url, char *resolve,
                      size_t rlen, char *detail, size_t dlen)
{
    (void)arg;
    (void)url;
    (void)rlen;
    (void)detail;
    (void)dlen;
    resolve[0] = '\0';
    return 0;
}

/* Download http://HOST:<stub>PATH through the pool with CHECK (given ARG);
 * how it ended, the origin's detail in DETAIL (if not NULL). */
static enum dl_state fetch_at(const char *host, const char *path,
                              int (*check)(const void *, const char *, char *,
                                           size_t, char *, size_t),
                              const void *arg, char detail[256])
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
    o->check = check;
    o->check_arg = arg;
    o->timeout_ms = 5000;
    memset(&orig, 0, sizeof(orig));
    snprintf(orig.name, sizeof(orig.name), "test");
    snprintf(orig.file, sizeof(orig.file), "%s", path + 1);
    d = inflight_get(table, key, &orig, &created);
    ck_assert(created);
    dl_set_origin(d, o, fetch_origin_free);
    ck_assert(fetch_download(pool, d));
    st = dl_wait_end(d, 20000, &why);
    if (detail != NULL)
        snprintf(detail, 256, "%s", o->detail);
    dl_unref(d);
    free(key);
    return st;
}

/* http://pin.test:<port>PATH with CHECK (given the port). */
static enum dl_state fetch_path(const char *path,
                                int (*check)(const void *, const char *,
                                             char *, size_t, char *, size_t))
{
    static unsigned port;

    port = stub_port(up);
    return fetch_at("pin.test", path, check, &port, NULL);
}

/* A pin serves its own transfer only: a later transfer on the same handle
 * to the same host and port, which no check pinned, must resolve the name
 * afresh (and "pin.test" does not resolve), not reuse the pinned
 * address. */
START_TEST(test_pin_does_not_outlive_its_transfer)
{
    ck_assert_int_eq(fetch_path("/a", check_pin), DL_DONE);
    ck_assert_uint_eq(stub_hits(up, "/a"), 1);
    ck_assert_int_eq(fetch_path("/b", check_open), DL_FAILED);
    ck_assert_uint_eq(stub_hits(up, "/b"), 0);
    /* and a new pin still works after the removal */
    ck_assert_int_eq(fetch_path("/b", check_pin), DL_DONE);
    ck_assert_uint_eq(stub_hits(up, "/b"), 1);
}
END_TEST

/* --- redirects under the default config ---------------------------------- */

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

/* http://pub.test:<stub>PATH, checked under the default config and
 * routed to the stub. */
static enum dl_state fetch_pub(const char *path, char detail[256])
{
    return fetch_at("pub.test", path, check_routed, cfg, detail);
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

    ck_assert_int_eq(fetch_pub("/a", detail), DL_DONE);
    ck_assert_uint_eq(stub_hits(up, "/a"), 1);
    redirect("/to-b", "http://pub2.test:%u/b");
    ck_assert_int_eq(fetch_pub("/to-b", detail), DL_DONE);
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

    char err[256];

    ck_assert_int_eq(config_set(cfg, "symbolicate", "allowed_source_hosts",
                                "dual.test", err, sizeof(err)),
                     0);
    ck_assert_msg(fetch_at("dual.test", "/a", ssrf_check, cfg, detail) ==
                      DL_DONE,
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
        ck_assert_msg(fetch_pub(path, detail) == DL_FAILED, "%s",
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
    ck_assert_int_eq(fetch_pub("/c0", detail), DL_DONE);
    ck_assert_uint_eq(hops_checked, FETCH_ORIGIN_REDIRECTS + 1);
    snprintf(last, sizeof(last), "/c%u", FETCH_ORIGIN_REDIRECTS);
    ck_assert_uint_eq(stub_hits(up, last), 1);

    hops_checked = 0;
    chain("d", FETCH_ORIGIN_REDIRECTS + 1);
    ck_assert_int_eq(fetch_pub("/d0", detail), DL_FAILED);
    ck_assert_str_eq(detail, "download failed: too many redirects");
    ck_assert_uint_eq(hops_checked, FETCH_ORIGIN_REDIRECTS + 1);
    snprintf(last, sizeof(last), "/d%u", FETCH_ORIGIN_REDIRECTS + 1);
    ck_assert_uint_eq(stub_hits(up, last), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fetch_origin");
    TCase *tc = tcase_create("pin");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_pin_does_not_outlive_its_transfer);
    suite_add_tcase(s, tc);
    tc = tcase_create("hops");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_hop_public);
    tcase_add_test(tc, test_hop_second_address);
    tcase_add_test(tc, test_hop_restricted);
    tcase_add_test(tc, test_hop_cap);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
