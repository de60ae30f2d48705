/* SPDX-License-Identifier: MIT */
/* Unit tests for src/fetch's origins (a /symbolicate request's sources):
 * the pool with one downloader, so every download uses the same curl
 * handle, against a stub upstream on loopback reached through the name
 * "pin.test", which only a pin (CURLOPT_RESOLVE) makes resolvable. */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "config.h"
#include "fetch.h"
#include "inflight.h"
#include "log.h"
#include "metrics.h"
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

/* Download http://pin.test:<port>PATH through the pool with CHECK; how
 * it ended. */
static enum dl_state fetch_path(const char *path,
                                int (*check)(const void *, const char *,
                                             char *, size_t, char *, size_t))
{
    static unsigned port;
    struct fetch_origin *o = xcalloc(1, sizeof(*o));
    enum dl_reason why;
    enum dl_state st;
    struct symkey orig;
    bool created;
    char *key = xasprintf(STORE_SOURCES_PREFIX "0a/%s", path + 1);
    struct dl *d;

    port = stub_port(up);
    o->label = xstrdup("test");
    o->urls[0] = xasprintf("http://pin.test:%u%s", port, path);
    o->check = check;
    o->check_arg = &port;
    o->timeout_ms = 5000;
    memset(&orig, 0, sizeof(orig));
    snprintf(orig.name, sizeof(orig.name), "test");
    snprintf(orig.file, sizeof(orig.file), "%s", path + 1);
    d = inflight_get(table, key, &orig, &created);
    ck_assert(created);
    dl_set_origin(d, o, fetch_origin_free);
    ck_assert(fetch_download(pool, d));
    st = dl_wait_end(d, 10000, &why);
    dl_unref(d);
    free(key);
    return st;
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

int main(void)
{
    Suite *s = suite_create("fetch_origin");
    TCase *tc = tcase_create("pin");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_pin_does_not_outlive_its_transfer);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
