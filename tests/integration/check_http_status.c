/* SPDX-License-Identifier: MIT */
/*
 * The status page at GET / in a real browser: headless Chromium renders
 * it (--dump-dom gives the DOM after parsing), its figures are the ones
 * /metrics gives, and hostile keys in the recent misses and errors (a
 * <script> tag, quotes, control bytes, broken UTF-8) come out as text.
 * A client that does not ask for HTML still gets today's 404.
 */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"
#include "needtool.h"
#include "xalloc.h"

#define ID "0123456789ABCDEF0123456789ABCDEF1"
#define PDB "/app.pdb/" ID "/app.pdb"
/* a miss: <script>x=1;"' as its name, percent-encoded on the wire */
#define HOSTILE_MISS "/%3Cscript%3Ex%3D1%3B%22%27/" ID "/x.pdb"
#define HOSTILE_TEXT "&lt;script&gt;x=1;\"'"
/* a bad request: control bytes, a terminal escape and a byte that is not
 * UTF-8 */
#define HOSTILE_BAD "/a%01%FF%1B%5B31m/" ID "/x.pdb"
#define HOSTILE_BAD_TEXT "a\\x01\\xff\\x1b[31m"

static struct itest t;

static const char *const html[] = {"Accept: text/html", NULL};

static void stop(void)
{
    itest_stop(&t);
}

static void get_status(const char *path, const char *const *headers,
                       long want)
{
    struct http_resp r;

    itest_get(&t, path, headers, &r);
    ck_assert_int_eq(r.status, want);
    http_resp_free(&r);
}

/* The DOM of the page as headless Chromium built it (new string). */
static char *dump_dom(void)
{
    char *profile = testutil_tmpdir();
    char *cmd = xasprintf("timeout 60 chromium --headless --no-sandbox "
                          "--disable-gpu --user-data-dir=%s --dump-dom "
                          "'%s/' 2>/dev/null",
                          profile, daemon_url(t.d));
    FILE *p = popen(cmd, "r");
    char *dom = NULL;
    size_t len = 0, n;
    char buf[8192];

    ck_assert_ptr_nonnull(p);
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
        dom = xrealloc(dom, len + n + 1);
        memcpy(dom + len, buf, n);
        len += n;
    }
    ck_assert_int_eq(pclose(p), 0);
    ck_assert_uint_gt(len, 0);
    dom[len] = '\0';
    testutil_rmtree(profile);
    free(profile);
    free(cmd);
    return dom;
}

/* The data-value of the element with id ID in DOM. */
static double figure(const char *dom, const char *id)
{
    char *needle = xasprintf("id=\"%s\" data-value=\"", id);
    const char *p = strstr(dom, needle);

    ck_assert_msg(p != NULL, "no figure %s on the page", id);
    free(needle);
    return strtod(strchr(p, '=') + strlen(id) + 16, NULL);
}

static double metric(const char *name, const char *label)
{
    return metrics_get(daemon_url(t.d), name, label);
}

/* symsrvd_http_served_bytes_total in the /metrics text BODY. */
static double served_in(const char *body)
{
    static const char name[] = "\nsymsrvd_http_served_bytes_total ";
    const char *p = strstr(body, name);

    ck_assert_ptr_nonnull(p);
    return strtod(p + sizeof(name) - 1, NULL);
}

/* Served bytes as /metrics says, once every earlier answer is counted
 * (without that /metrics answer itself).  An answer is counted when its
 * completion has run, which may come after its client has read it and
 * sent the next request to another thread: settled when one /metrics
 * answer is all that the next one adds. */
static double settled_served(void)
{
    struct http_resp a, b;
    bool settled = false;
    double served = 0;
    int i;

    for (i = 0; i < 100 && !settled; i++) {
        if (i > 0)
            usleep(20 * 1000);
        itest_get(&t, "/metrics", NULL, &a);
        itest_get(&t, "/metrics", NULL, &b);
        served = served_in(b.body);
        settled = served == served_in(a.body) + (double)a.len;
        http_resp_free(&a);
        http_resp_free(&b);
    }
    ck_assert_msg(settled, "served bytes never settled");
    return served;
}

/* Wait until the batched hit flush has put PDB's hits on the board, as
 * many as /metrics counts, at least 3; returns them.  The first request
 * is a miss even when its download ended before it was answered (it is
 * then served from the cached file, which a loaded machine makes likely):
 * neither place may count it as a hit, so both say 3. */
static unsigned wait_top_hits(void)
{
    static const char row[] = "app.pdb/" ID "/app.pdb</td><td class=\"n\">";
    struct http_resp r;
    unsigned waited, shown = 0;
    double hits = 0;
    const char *p;

    for (waited = 0; waited < 10000; waited += 100) {
        hits = metric("symsrvd_http_responses_total", "result=\"hit\"");
        itest_get(&t, "/", html, &r);
        p = strstr(r.body, row);
        shown = p != NULL ? (unsigned)strtoul(p + sizeof(row) - 1, NULL, 10)
                          : 0;
        http_resp_free(&r);
        if (shown >= 3 && shown == hits)
            return shown;
        usleep(100 * 1000);
    }
    ck_abort_msg("the top keys never counted the hits: %u shown, %.0f counted",
                 shown, hits);
    return 0;
}

START_TEST(test_status_page_in_chromium)
{
    char *body = itest_body(5000, false, 1), *dom;
    const char *hour;
    double served_before, served_after, ratio;
    unsigned hits;
    char *want;
    int i;

    itest_start(&t, 1, "2", NULL,
                (const char *const[]){"SYMSRVD_CACHE_MAX_SIZE=10M", NULL});
    stub_add(t.up[0], PDB, body, 5000);
    itest_get_body(&t, PDB, body, 5000);
    for (i = 0; i < 3; i++)
        itest_get_body(&t, PDB, body, 5000);
    get_status(HOSTILE_MISS, NULL, 404);
    get_status(HOSTILE_BAD, NULL, 400);
    hits = wait_top_hits();
    ck_assert_uint_eq(hits, 3);

    /* served bytes move with every answer */
    served_before = settled_served();
    dom = dump_dom();
    served_after = settled_served();

    ck_assert_msg(strstr(dom, "<svg") != NULL, "%.1500s", dom);
    ck_assert(strstr(dom, "id=\"recent-errors\"") != NULL);
    ck_assert(figure(dom, "hits") ==
              metric("symsrvd_http_responses_total", "result=\"hit\""));
    ck_assert(figure(dom, "hits") == hits);
    ck_assert(figure(dom, "misses") ==
              metric("symsrvd_http_responses_total", "result=\"miss\""));
    ck_assert(figure(dom, "negative") ==
              metric("symsrvd_http_responses_total", "result=\"negative\""));
    ck_assert(figure(dom, "downloaded") ==
              metric("symsrvd_upstream_bytes_total", NULL));
    ck_assert(figure(dom, "entries") == metric("symsrvd_cache_entries", NULL));
    ck_assert(figure(dom, "cache-bytes") ==
              metric("symsrvd_cache_bytes", NULL));
    ck_assert(figure(dom, "cache-bytes") == 5000);
    ck_assert(figure(dom, "max-size") == 10 * 1024 * 1024);
    ck_assert(figure(dom, "evictions") ==
              metric("symsrvd_cache_evictions_total", NULL));
    /* an answer is counted once its completion has run, which may come
     * after the client has read it (an earlier one may still land after
     * both /metrics reads agreed): the page's figure is live when it lies
     * between what /metrics said before the page and after it */
    ck_assert_msg(figure(dom, "served") >= served_before &&
                      figure(dom, "served") <= served_after,
                  "served %.0f on the page, %.0f before it, %.0f after",
                  figure(dom, "served"), served_before, served_after);
    ratio = figure(dom, "hits") /
            (figure(dom, "hits") + figure(dom, "misses") +
             figure(dom, "coalesced") + figure(dom, "negative"));
    ck_assert(figure(dom, "hit-ratio") > ratio - 0.0001 &&
              figure(dom, "hit-ratio") < ratio + 0.0001);
    ck_assert(strstr(dom, "id=\"breaker-0\">closed<") != NULL);
    /* the last hour: of 5 lookups, the hits, the others missed; the 400
     * failed */
    hour = strstr(dom, "id=\"hour\"");
    ck_assert_ptr_nonnull(hour);
    want = xasprintf(" hits %u</span>", hits);
    ck_assert_msg(strstr(hour, want) != NULL, "%.1500s", hour);
    free(want);
    want = xasprintf(" misses %u</span>", 5 - hits);
    ck_assert_msg(strstr(hour, want) != NULL &&
                      strstr(hour, " failures 1</span>") != NULL,
                  "%.1500s", hour);
    free(want);

    /* hostile keys: text in their lists, never markup or raw bytes */
    ck_assert_msg(strstr(dom, HOSTILE_TEXT "/" ID "/x.pdb</td>") != NULL,
                  "%.1500s", dom);
    ck_assert_msg(strstr(dom, HOSTILE_BAD_TEXT "/" ID "/x.pdb</td>") != NULL,
                  "%.1500s", dom);
    ck_assert(strstr(dom, "<script") == NULL);
    ck_assert(strchr(dom, '\x01') == NULL && strchr(dom, '\x1b') == NULL);
    free(dom);
    free(body);
}
END_TEST

START_TEST(test_status_page_headers)
{
    struct http_resp r;

    itest_start(&t, 0, "1", NULL, NULL);
    itest_get(&t, "/", html, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert(strstr(r.headers, "Content-Type: text/html; charset=utf-8") !=
              NULL);
    /* nothing but the nonce'd style: no script, no asset from elsewhere */
    ck_assert(strstr(r.headers, "Content-Security-Policy: default-src "
                                "'none'; style-src 'nonce-") != NULL);
    ck_assert(strstr(r.body, "<style nonce=\"") != NULL);
    ck_assert(strstr(r.body, "http://") == NULL ||
              strstr(r.body, "xmlns=\"http://www.w3.org/2000/svg\"") != NULL);
    http_resp_free(&r);
    /* symbol clients, curl and monitoring scripts see what they saw */
    get_status("/", NULL, 404);
    get_status("/", (const char *const[]){"Accept: */*", NULL}, 404);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_status");
    TCase *tc = tcase_create("status");

    tcase_add_checked_fixture(tc, NULL, stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_status_page_headers);
    /* Without Chromium its case is left out (needtool() names the
     * package) and the headers case still counts, as check_http_cab does
     * without gcab. */
    if (needtool("check_http_status", "chromium", NULL))
        tcase_add_test(tc, test_status_page_in_chromium);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
