/* SPDX-License-Identifier: MIT */
/* Unit tests for src/metrics: the text exposition, byte for byte, with a
 * distinct value in every field so a row reading the wrong one shows. */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "xalloc.h"

/* The exposition: the names follow debuginfod's (see symsrvd.8). */
static const char expected[] =
    "# HELP symsrvd_http_requests_total Requests by what they asked"
    " for.\n"
    "# TYPE symsrvd_http_requests_total counter\n"
    "symsrvd_http_requests_total{type=\"symbol\"} 220\n"
    "symsrvd_http_requests_total{type=\"buildid\"} 221\n"
    "symsrvd_http_requests_total{type=\"symbolicate\"} 222\n"
    "symsrvd_http_requests_total{type=\"admin\"} 223\n"
    "symsrvd_http_requests_total{type=\"health\"} 224\n"
    "symsrvd_http_requests_total{type=\"metrics\"} 225\n"
    "symsrvd_http_requests_total{type=\"listing\"} 226\n"
    "symsrvd_http_requests_total{type=\"other\"} 227\n"
    "# HELP symsrvd_http_responses_total Requests by how they were"
    " answered.\n"
    "# TYPE symsrvd_http_responses_total counter\n"
    "symsrvd_http_responses_total{result=\"hit\"} 200\n"
    "symsrvd_http_responses_total{result=\"miss\"} 201\n"
    "symsrvd_http_responses_total{result=\"coalesced\"} 202\n"
    "symsrvd_http_responses_total{result=\"negative\"} 203\n"
    "symsrvd_http_responses_total{result=\"upstream_error\"} 204\n"
    "symsrvd_http_responses_total{result=\"no_space\"} 205\n"
    "symsrvd_http_responses_total{result=\"bad_request\"} 206\n"
    "symsrvd_http_responses_total{result=\"other\"} 207\n"
    "# HELP symsrvd_http_status_total Requests by HTTP status.\n"
    "# TYPE symsrvd_http_status_total counter\n"
    "symsrvd_http_status_total{code=\"200\"} 100\n"
    "symsrvd_http_status_total{code=\"206\"} 101\n"
    "symsrvd_http_status_total{code=\"304\"} 102\n"
    "symsrvd_http_status_total{code=\"400\"} 103\n"
    "symsrvd_http_status_total{code=\"404\"} 104\n"
    "symsrvd_http_status_total{code=\"405\"} 105\n"
    "symsrvd_http_status_total{code=\"416\"} 106\n"
    "symsrvd_http_status_total{code=\"500\"} 107\n"
    "symsrvd_http_status_total{code=\"503\"} 108\n"
    "symsrvd_http_status_total{code=\"other\"} 109\n"
    "# HELP symsrvd_http_request_duration_seconds Time from request to"
    " the end of its answer.\n"
    "# TYPE symsrvd_http_request_duration_seconds histogram\n"
    "symsrvd_http_request_duration_seconds_bucket{le=\"0.001\"} 1\n"
    "symsrvd_http_request_duration_seconds_bucket{le=\"0.005\"} 2\n"
    "symsrvd_http_request_duration_seconds_bucket{le=\"0.010\"} 3\n"
    "symsrvd_http_request_duration_seconds_bucket{le=\"0.025\"} 3\n"
    "symsrvd_http_request_duration_seconds_bucket{le=\"0.050\"} 3\n"
    "symsrvd_http_request_duration_seconds_bucket{le=\"0.100\"} 3\n"
    "symsrvd_http_request_duration_seconds_bucket{le=\"0.250\"} 3\n"
    "symsrvd_http_request_duration_seconds_bucket{le=\"0.500\"} 3\n"
    "symsrvd_http_request_duration_seconds_bucket{le=\"1.000\"} 3\n"
    "symsrvd_http_request_duration_seconds_bucket{le=\"2.500\"} 3\n"
    "symsrvd_http_request_duration_seconds_bucket{le=\"5.000\"} 3\n"
    "symsrvd_http_request_duration_seconds_bucket{le=\"10.000\"} 3\n"
    "symsrvd_http_request_duration_seconds_bucket{le=\"30.000\"} 3\n"
    "symsrvd_http_request_duration_seconds_bucket{le=\"+Inf\"} 4\n"
    "symsrvd_http_request_duration_seconds_sum 60.010\n"
    "symsrvd_http_request_duration_seconds_count 4\n"
    "# HELP symsrvd_http_served_bytes_total Body bytes sent.\n"
    "# TYPE symsrvd_http_served_bytes_total counter\n"
    "symsrvd_http_served_bytes_total 301\n"
    "# HELP symsrvd_upstream_requests_total Upstream attempts by"
    " upstream and outcome.\n"
    "# TYPE symsrvd_upstream_requests_total counter\n"
    "symsrvd_upstream_requests_total{upstream=\"msdl\",outcome=\"ok\"}"
    " 1000\n"
    "symsrvd_upstream_requests_total{upstream=\"msdl\",outcome=\"not_found\"} 1001\n"
    "symsrvd_upstream_requests_total{upstream=\"msdl\",outcome=\"error\"} 1002\n"
    "symsrvd_upstream_requests_total{upstream=\"msdl\",outcome=\"timeout\"} 1003\n"
    "symsrvd_upstream_requests_total{upstream=\"msdl\",outcome=\"connect_error\"} 1004\n"
    "symsrvd_upstream_requests_total{upstream=\"msdl\",outcome=\"retry\"} 1005\n"
    "symsrvd_upstream_requests_total{upstream=\"local\",outcome=\"ok\"}"
    " 1010\n"
    "symsrvd_upstream_requests_total{upstream=\"local\",outcome=\"not_found\"} 1011\n"
    "symsrvd_upstream_requests_total{upstream=\"local\",outcome=\"error\"} 1012\n"
    "symsrvd_upstream_requests_total{upstream=\"local\",outcome=\"timeout\"} 1013\n"
    "symsrvd_upstream_requests_total{upstream=\"local\",outcome=\"connect_error\"} 1014\n"
    "symsrvd_upstream_requests_total{upstream=\"local\",outcome=\"retry\"} 1015\n"
    "# HELP symsrvd_upstream_request_duration_seconds Duration of"
    " upstream attempts.\n"
    "# TYPE symsrvd_upstream_request_duration_seconds histogram\n"
    "symsrvd_upstream_request_duration_seconds_bucket{le=\"0.001\"} 0\n"
    "symsrvd_upstream_request_duration_seconds_bucket{le=\"0.005\"} 0\n"
    "symsrvd_upstream_request_duration_seconds_bucket{le=\"0.010\"} 0\n"
    "symsrvd_upstream_request_duration_seconds_bucket{le=\"0.025\"} 0\n"
    "symsrvd_upstream_request_duration_seconds_bucket{le=\"0.050\"} 0\n"
    "symsrvd_upstream_request_duration_seconds_bucket{le=\"0.100\"} 0\n"
    "symsrvd_upstream_request_duration_seconds_bucket{le=\"0.250\"} 0\n"
    "symsrvd_upstream_request_duration_seconds_bucket{le=\"0.500\"} 0\n"
    "symsrvd_upstream_request_duration_seconds_bucket{le=\"1.000\"} 0\n"
    "symsrvd_upstream_request_duration_seconds_bucket{le=\"2.500\"} 1\n"
    "symsrvd_upstream_request_duration_seconds_bucket{le=\"5.000\"} 1\n"
    "symsrvd_upstream_request_duration_seconds_bucket{le=\"10.000\"} 1\n"
    "symsrvd_upstream_request_duration_seconds_bucket{le=\"30.000\"} 1\n"
    "symsrvd_upstream_request_duration_seconds_bucket{le=\"+Inf\"} 1\n"
    "symsrvd_upstream_request_duration_seconds_sum 1.500\n"
    "symsrvd_upstream_request_duration_seconds_count 1\n"
    "# HELP symsrvd_upstream_bytes_total Body bytes received from"
    " upstreams.\n"
    "# TYPE symsrvd_upstream_bytes_total counter\n"
    "symsrvd_upstream_bytes_total 302\n"
    "# HELP symsrvd_upstream_decoded_total Cabinet or gzip bodies"
    " decoded into the plain file before storing.\n"
    "# TYPE symsrvd_upstream_decoded_total counter\n"
    "symsrvd_upstream_decoded_total 310\n"
    "# HELP symsrvd_upstream_rejected_total Compressed bodies refused:"
    " not one cabinet holding just the file, or corrupt.\n"
    "# TYPE symsrvd_upstream_rejected_total counter\n"
    "symsrvd_upstream_rejected_total 311\n"
    "# HELP symsrvd_upstream_resumes_total Range requests for the rest of a"
        " body cut after clients read some.\n"
    "# TYPE symsrvd_upstream_resumes_total counter\n"
    "symsrvd_upstream_resumes_total 314\n"
    "# HELP symsrvd_upstream_resumes_refused_total Resumed answers that could"
        " not continue the body (200, changed file, wrong Content-Range):"
        " those downloads failed.\n"
    "# TYPE symsrvd_upstream_resumes_refused_total counter\n"
    "symsrvd_upstream_resumes_refused_total 315\n"
    "# HELP symsrvd_upstream_breaker_state Circuit breaker by upstream:"
    " 0 closed, 1 open (skipped), 2 half-open (one probe at a time).\n"
    "# TYPE symsrvd_upstream_breaker_state gauge\n"
    "symsrvd_upstream_breaker_state{upstream=\"msdl\"} 1\n"
    "symsrvd_upstream_breaker_state{upstream=\"local\"} 2\n"
    "# HELP symsrvd_upstream_breaker_trips_total Times an upstream's"
    " breaker opened.\n"
    "# TYPE symsrvd_upstream_breaker_trips_total counter\n"
    "symsrvd_upstream_breaker_trips_total{upstream=\"msdl\"} 501\n"
    "symsrvd_upstream_breaker_trips_total{upstream=\"local\"} 511\n"
    "# HELP symsrvd_upstream_skipped_total Upstream attempts not made"
    " because the breaker was open.\n"
    "# TYPE symsrvd_upstream_skipped_total counter\n"
    "symsrvd_upstream_skipped_total{upstream=\"msdl\"} 502\n"
    "symsrvd_upstream_skipped_total{upstream=\"local\"} 512\n"
    "# HELP symsrvd_cache_entries Files in the cache.\n"
    "# TYPE symsrvd_cache_entries gauge\n"
    "symsrvd_cache_entries 401\n"
    "# HELP symsrvd_cache_bytes Bytes of files in the cache.\n"
    "# TYPE symsrvd_cache_bytes gauge\n"
    "symsrvd_cache_bytes 402\n"
    "# HELP symsrvd_cache_evictions_total Files evicted to keep the"
    " cache under max_size and min_free.\n"
    "# TYPE symsrvd_cache_evictions_total counter\n"
    "symsrvd_cache_evictions_total 310\n"
    "# HELP symsrvd_cache_evicted_bytes_total Bytes freed by evictions"
    " (files, gzip copies, symbol tables).\n"
    "# TYPE symsrvd_cache_evicted_bytes_total counter\n"
    "symsrvd_cache_evicted_bytes_total 311\n"
    "# HELP symsrvd_jobq_depth Jobs waiting for a downloader.\n"
    "# TYPE symsrvd_jobq_depth gauge\n"
    "symsrvd_jobq_depth -1\n"
    "# HELP symsrvd_downloads_in_flight Downloads running.\n"
    "# TYPE symsrvd_downloads_in_flight gauge\n"
    "symsrvd_downloads_in_flight 303\n"
    "# HELP symsrvd_download_tmp_bytes Temp bytes held by downloads in"
    " progress (max_tmp_size).\n"
    "# TYPE symsrvd_download_tmp_bytes gauge\n"
    "symsrvd_download_tmp_bytes 320\n"
    "# HELP symsrvd_no_space 1 while downloads find the disk or the"
    " index full.\n"
    "# TYPE symsrvd_no_space gauge\n"
    "symsrvd_no_space 1\n"
    "# HELP symsrvd_no_space_total Downloads not stored for want of"
    " space, by where it ran out.\n"
    "# TYPE symsrvd_no_space_total counter\n"
    "symsrvd_no_space_total{where=\"disk\"} 240\n"
    "symsrvd_no_space_total{where=\"index\"} 241\n"
    "symsrvd_no_space_total{where=\"tmp\"} 242\n"
    "# HELP symsrvd_index_map_bytes The index's LMDB map size.\n"
    "# TYPE symsrvd_index_map_bytes gauge\n"
    "symsrvd_index_map_bytes 321\n"
    "# HELP symsrvd_index_map_grows_total Times the index's map grew"
    " because it was full.\n"
    "# TYPE symsrvd_index_map_grows_total counter\n"
    "symsrvd_index_map_grows_total 322\n"
    "# HELP symsrvd_miss_timeouts_total Requests answered 404 at"
    " miss_timeout while the download went on.\n"
    "# TYPE symsrvd_miss_timeouts_total counter\n"
    "symsrvd_miss_timeouts_total 305\n"
    "# HELP symsrvd_gzip_copies_total gzip copies made.\n"
    "# TYPE symsrvd_gzip_copies_total counter\n"
    "symsrvd_gzip_copies_total 306\n"
    "# HELP symsrvd_symbolicate_jobs_total Symbolication jobs started.\n"
    "# TYPE symsrvd_symbolicate_jobs_total counter\n"
    "symsrvd_symbolicate_jobs_total 323\n"
    "# HELP symsrvd_symbolicate_jobs_refused_total Symbolication jobs"
    " refused because max_jobs were running.\n"
    "# TYPE symsrvd_symbolicate_jobs_refused_total counter\n"
    "symsrvd_symbolicate_jobs_refused_total 324\n"
    "# HELP symsrvd_symbolicate_jobs_running Symbolication jobs"
    " running.\n"
    "# TYPE symsrvd_symbolicate_jobs_running gauge\n"
    "symsrvd_symbolicate_jobs_running 325\n"
    "# HELP symsrvd_symbolicate_inline_total Symbolication requests"
    " answered at once, without a job: nothing to download, every table"
    " in memory.\n"
    "# TYPE symsrvd_symbolicate_inline_total counter\n"
    "symsrvd_symbolicate_inline_total 326\n"
    "# HELP symsrvd_symbolicate_misses_total Symbolication lookups that"
    " started a download.\n"
    "# TYPE symsrvd_symbolicate_misses_total counter\n"
    "symsrvd_symbolicate_misses_total 312\n"
    "# HELP symsrvd_symbolicate_coalesced_total Symbolication lookups"
    " that joined a download in flight.\n"
    "# TYPE symsrvd_symbolicate_coalesced_total counter\n"
    "symsrvd_symbolicate_coalesced_total 313\n"
    "# HELP symsrvd_worker_restarts_total Workers restarted after"
    " dying.\n"
    "# TYPE symsrvd_worker_restarts_total counter\n"
    "symsrvd_worker_restarts_total 307\n"
    "# HELP symsrvd_workers Worker processes running.\n"
    "# TYPE symsrvd_workers gauge\n"
    "symsrvd_workers 308\n"
    "# HELP symsrvd_ready 1 when serving.\n"
    "# TYPE symsrvd_ready gauge\n"
    "symsrvd_ready 1\n";

static char *print(const struct metrics *m, const struct metrics_env *env)
{
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);

    ck_assert_ptr_nonnull(f);
    metrics_print(f, m, env);
    ck_assert_int_eq(fclose(f), 0);
    return body;
}

START_TEST(test_metrics_text_exposition)
{
    struct metrics *m = xcalloc(1, sizeof(*m));
    struct metrics_env env;
    char *body;
    size_t i, o;

    for (i = 0; i < METRICS_STATUS_N; i++)
        atomic_init(&m->requests[i], 100 + i);
    for (i = 0; i < METRICS_KIND_N; i++)
        atomic_init(&m->kinds[i], 200 + i);
    for (i = 0; i < METRICS_TYPE_N; i++)
        atomic_init(&m->types[i], 220 + i);
    for (i = 0; i < NOSPACE_WHERE_N; i++)
        atomic_init(&m->no_space[i], 240 + i);
    /* 0.5 ms, 3 ms, 7 ms and a minute: buckets 1, 5, 10 and +Inf */
    for (i = 0; i < METRICS_HIST_N; i++)
        atomic_init(&m->request_ms.buckets[i], 0);
    metrics_observe(&m->request_ms, 0);
    metrics_observe(&m->request_ms, 3);
    metrics_observe(&m->request_ms, 7);
    metrics_observe(&m->request_ms, 60000);
    metrics_observe(&m->upstream_ms, 1500);
    atomic_init(&m->tmp_bytes, 320);
    atomic_init(&m->index_map_bytes, 321);
    atomic_init(&m->index_map_grows, 322);
    atomic_init(&m->symjobs_started, 323);
    atomic_init(&m->symjobs_refused, 324);
    atomic_init(&m->symjobs_running, 325);
    atomic_init(&m->symbolicate_inline, 326);
    for (i = 0; i < 3; i++) { /* the third is not configured: not shown */
        for (o = 0; o < METRICS_UP_OUTCOME_N; o++)
            atomic_init(&m->upstream[i][o], 1000 + 10 * i + o);
    }
    atomic_init(&m->bytes_served, 301);
    atomic_init(&m->bytes_downloaded, 302);
    atomic_init(&m->downloads_in_flight, 303);
    atomic_init(&m->queue_depth, -1); /* gauges are signed */
    atomic_init(&m->miss_timeouts, 305);
    atomic_init(&m->gzip_created, 306);
    atomic_init(&m->upstream_decoded, 310);
    atomic_init(&m->upstream_rejected, 311);
    atomic_init(&m->upstream_resumes, 314);
    atomic_init(&m->upstream_resumes_refused, 315);
    atomic_init(&m->symbolicate_misses, 312);
    atomic_init(&m->symbolicate_coalesced, 313);
    atomic_init(&m->worker_restarts, 307);
    atomic_init(&m->evictions, 310);
    atomic_init(&m->evicted_bytes, 311);
    atomic_init(&m->workers_alive, 308);
    atomic_init(&m->started_ms, 309);
    for (i = 0; i < 3; i++) {
        atomic_init(&m->breakers[i].trips, 501 + 10 * i);
        atomic_init(&m->breakers[i].skips, 502 + 10 * i);
    }
    /* open until 2000; the second's cooldown ran out at 900: half-open */
    atomic_init(&m->breakers[0].open_until_ms, 2000);
    atomic_init(&m->breakers[1].open_until_ms, 900);
    memset(&env, 0, sizeof(env));
    env.now_ms = 1000;
    env.upstreams[0] = "msdl";
    env.upstreams[1] = "local";
    env.nupstreams = 2;
    env.cache_entries = 401;
    env.cache_bytes = 402;
    env.no_space = true;

    body = print(m, &env);
    ck_assert_str_eq(body, expected);
    free(body);
    free(m);
}
END_TEST

START_TEST(test_metrics_no_upstreams_keeps_the_family)
{
    struct metrics *m = xcalloc(1, sizeof(*m));
    struct metrics_env env;
    char *body;

    memset(&env, 0, sizeof(env));
    body = print(m, &env);
    ck_assert_ptr_nonnull(
        strstr(body, "# TYPE symsrvd_upstream_requests_total counter\n"
                     "# HELP symsrvd_upstream_request_duration_seconds"));
    ck_assert_ptr_null(strstr(body, "upstream=\""));
    free(body);
    free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("exposition");

    tcase_add_test(tc, test_metrics_text_exposition);
    tcase_add_test(tc, test_metrics_no_upstreams_keeps_the_family);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
