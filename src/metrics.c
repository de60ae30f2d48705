/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "metrics.h"

#include <inttypes.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "log.h"
#include "upslot.h"

struct metrics *metrics; /* immutable after metrics_create */

static const unsigned status_codes[METRICS_STATUS_N - 1] = {
    200, 206, 304, 400, 404, 405, 416, 500, 503,
};

struct metrics *metrics_create(void)
{
    void *p = mmap(NULL, sizeof(struct metrics), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        fatal("mmap shared metrics");
    metrics = p; /* zero-filled by the kernel */
    if (getrandom(&metrics->instance_id, sizeof(metrics->instance_id), 0) !=
        (ssize_t)sizeof(metrics->instance_id))
        fatal("getrandom");
    if (board_init(&metrics->board) != 0)
        fatalx("cannot set up the status board's lock");
    return metrics;
}

void metrics_add(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

void metrics_gauge_add(_Atomic int64_t *gauge, int64_t n)
{
    atomic_fetch_add_explicit(gauge, n, memory_order_relaxed);
}

uint64_t metrics_read(_Atomic uint64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

static const uint64_t hist_bounds_ms[METRICS_HIST_N - 1] = {
    1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
};

uint64_t metrics_hist_bound_ms(size_t i)
{
    return i < METRICS_HIST_N - 1 ? hist_bounds_ms[i] : UINT64_MAX;
}

void metrics_observe(struct metrics_hist *h, uint64_t ms)
{
    size_t i = 0;

    while (i < METRICS_HIST_N - 1 && ms > hist_bounds_ms[i])
        i++;
    metrics_add(&h->buckets[i], 1);
    metrics_add(&h->sum_ms, ms);
    metrics_add(&h->count, 1);
}

int64_t metrics_gauge_read(_Atomic int64_t *gauge)
{
    return atomic_load_explicit(gauge, memory_order_relaxed);
}

void metrics_count_status(unsigned status)
{
    size_t i;

    for (i = 0; i < METRICS_STATUS_N - 1; i++) {
        if (status_codes[i] == status)
            break;
    }
    metrics_add(&metrics->requests[i], 1);
}

const char *metrics_status_label(size_t index)
{
    static const char *const labels[METRICS_STATUS_N] = {
        "200", "206", "304", "400", "404",
        "405", "416", "500", "503", "other",
    };

    return index < METRICS_STATUS_N ? labels[index] : "other";
}

const char *metrics_kind_name(enum metrics_kind kind)
{
    static const char *const names[METRICS_KIND_N] = {
        "hit",      "miss",        "coalesced", "negative",
        "upstream_error", "no_space", "bad_request", "other",
    };

    return names[kind];
}

const char *metrics_type_name(enum metrics_type type)
{
    static const char *const names[METRICS_TYPE_N] = {
        "symbol", "buildid", "symbolicate", "admin",
        "health", "metrics", "listing",     "other",
    };

    return names[type];
}

const char *metrics_outcome_name(enum metrics_outcome outcome)
{
    static const char *const names[METRICS_UP_OUTCOME_N] = {
        "ok", "not_found", "error", "timeout", "connect_error", "retry",
    };

    return names[outcome];
}

/* --- the text exposition ------------------------------------------------ */

/* Where a row's value comes from. */
enum metrics_src {
    SRC_COUNTER,      /* the _Atomic uint64_t at .off in struct metrics */
    SRC_GAUGE,        /* the _Atomic int64_t at .off in struct metrics */
    SRC_BY_STATUS,    /* requests[], one line per status label */
    SRC_BY_KIND,      /* kinds[], one line per kind label */
    SRC_BY_TYPE,      /* types[], one line per type label */
    SRC_BY_NOSPACE,   /* no_space[], one line per place */
    SRC_BY_UPSTREAM,  /* upstream[][], one line per upstream and outcome */
    SRC_HIST,         /* the struct metrics_hist at .off */
    SRC_CACHE_ENTRIES, /* the index's totals, from the caller */
    SRC_CACHE_BYTES,
    SRC_NO_SPACE,     /* the caller's no_space */
    SRC_ONE,          /* constant 1: whoever answers is serving */
    SRC_BREAKER,      /* the counter at .off in each upstream's breaker */
    SRC_BREAKER_STATE, /* each upstream's enum breaker_state */
};

struct metrics_row {
    const char *name;
    const char *type; /* "counter", "gauge" or "histogram" */
    const char *help;
    enum metrics_src src;
    size_t off;       /* SRC_COUNTER, SRC_GAUGE, SRC_HIST, SRC_BREAKER */
};

#define COUNTER(field) SRC_COUNTER, offsetof(struct metrics, field)
#define GAUGE(field) SRC_GAUGE, offsetof(struct metrics, field)
#define HIST(field) SRC_HIST, offsetof(struct metrics, field)
#define BREAKER(field) SRC_BREAKER, offsetof(struct breaker, field)

/* Printed in this order; add a row here to add a metric.  The names
 * follow debuginfod's (http_requests_total{type}, http_responses_total
 * {result}, ...) under our prefix; symsrvd.8 lists them. */
static const struct metrics_row rows[] = {
    {"symsrvd_http_requests_total", "counter",
     "Requests by what they asked for.", SRC_BY_TYPE, 0},
    {"symsrvd_http_responses_total", "counter",
     "Requests by how they were answered.", SRC_BY_KIND, 0},
    {"symsrvd_http_status_total", "counter", "Requests by HTTP status.",
     SRC_BY_STATUS, 0},
    {"symsrvd_http_request_duration_seconds", "histogram",
     "Time from request to the end of its answer.", HIST(request_ms)},
    {"symsrvd_http_served_bytes_total", "counter", "Body bytes sent.",
     COUNTER(bytes_served)},
    {"symsrvd_upstream_requests_total", "counter",
     "Upstream attempts by upstream and outcome.", SRC_BY_UPSTREAM, 0},
    {"symsrvd_upstream_request_duration_seconds", "histogram",
     "Duration of upstream attempts.", HIST(upstream_ms)},
    {"symsrvd_upstream_bytes_total", "counter",
     "Body bytes received from upstreams.", COUNTER(bytes_downloaded)},
    {"symsrvd_upstream_decoded_total", "counter",
     "Cabinet or gzip bodies decoded into the plain file before storing.",
     COUNTER(upstream_decoded)},
    {"symsrvd_upstream_rejected_total", "counter",
     "Compressed bodies refused: not one cabinet holding just the file, "
     "or corrupt.",
     COUNTER(upstream_rejected)},
    {"symsrvd_upstream_resumes_total", "counter",
     "Range requests for the rest of a body cut after clients read some.",
     COUNTER(upstream_resumes)},
    {"symsrvd_upstream_resumes_refused_total", "counter",
     "Resumed answers that could not continue the body (200, changed file, "
     "wrong Content-Range): those downloads failed.",
     COUNTER(upstream_resumes_refused)},
    {"symsrvd_upstream_breaker_state", "gauge",
     "Circuit breaker by upstream: 0 closed, 1 open (skipped), 2 half-open "
     "(one probe at a time).",
     SRC_BREAKER_STATE, 0},
    {"symsrvd_upstream_breaker_trips_total", "counter",
     "Times an upstream's breaker opened.", BREAKER(trips)},
    {"symsrvd_upstream_skipped_total", "counter",
     "Upstream attempts not made because the breaker was open.",
     BREAKER(skips)},
    {"symsrvd_cache_entries", "gauge", "Files in the cache.",
     SRC_CACHE_ENTRIES, 0},
    {"symsrvd_cache_bytes", "gauge", "Bytes of files in the cache.",
     SRC_CACHE_BYTES, 0},
    {"symsrvd_cache_evictions_total", "counter",
     "Files evicted to keep the cache under max_size and min_free.",
     COUNTER(evictions)},
    {"symsrvd_cache_evicted_bytes_total", "counter",
     "Bytes freed by evictions (files, gzip copies, symbol tables).",
     COUNTER(evicted_bytes)},
    {"symsrvd_jobq_depth", "gauge", "Jobs waiting for a downloader.",
     GAUGE(queue_depth)},
    {"symsrvd_downloads_in_flight", "gauge", "Downloads running.",
     GAUGE(downloads_in_flight)},
    {"symsrvd_download_tmp_bytes", "gauge",
     "Temp bytes held by downloads in progress (max_tmp_size).",
     GAUGE(tmp_bytes)},
    {"symsrvd_no_space", "gauge",
     "1 while downloads find the disk or the index full.", SRC_NO_SPACE, 0},
    {"symsrvd_no_space_total", "counter",
     "Downloads not stored for want of space, by where it ran out.",
     SRC_BY_NOSPACE, 0},
    {"symsrvd_index_map_bytes", "gauge", "The index's LMDB map size.",
     GAUGE(index_map_bytes)},
    {"symsrvd_index_map_grows_total", "counter",
     "Times the index's map grew because it was full.",
     COUNTER(index_map_grows)},
    {"symsrvd_miss_timeouts_total", "counter",
     "Requests answered 404 at miss_timeout while the download went on.",
     COUNTER(miss_timeouts)},
    {"symsrvd_gzip_copies_total", "counter", "gzip copies made.",
     COUNTER(gzip_created)},
    {"symsrvd_symbolicate_jobs_total", "counter",
     "Symbolication jobs started.", COUNTER(symjobs_started)},
    {"symsrvd_symbolicate_jobs_refused_total", "counter",
     "Symbolication jobs refused because max_jobs were running.",
     COUNTER(symjobs_refused)},
    {"symsrvd_symbolicate_jobs_running", "gauge",
     "Symbolication jobs running.", GAUGE(symjobs_running)},
    {"symsrvd_symbolicate_inline_total", "counter",
     "Symbolication requests answered at once, without a job: nothing to "
     "download, every table in memory.", COUNTER(symbolicate_inline)},
    {"symsrvd_symbolicate_misses_total", "counter",
     "Symbolication lookups that started a download.",
     COUNTER(symbolicate_misses)},
    {"symsrvd_symbolicate_coalesced_total", "counter",
     "Symbolication lookups that joined a download in flight.",
     COUNTER(symbolicate_coalesced)},
    {"symsrvd_worker_restarts_total", "counter",
     "Workers restarted after dying.", COUNTER(worker_restarts)},
    {"symsrvd_workers", "gauge", "Worker processes running.",
     GAUGE(workers_alive)},
    {"symsrvd_ready", "gauge", "1 when serving.", SRC_ONE, 0},
};

static uint64_t load(const _Atomic uint64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

/* One line per upstream from its breaker. */
static void print_per_upstream(FILE *f, const struct metrics_row *row,
                               const struct metrics *m,
                               const struct metrics_env *env)
{
    size_t i;
    uint64_t v;

    for (i = 0; i < env->nupstreams && i < METRICS_MAX_UPSTREAMS; i++) {
        const struct breaker *b;

        if (upslot_of(i) == UPSLOT_NONE)
            continue;
        b = &m->breakers[upslot_of(i)];
        if (row->src == SRC_BREAKER_STATE)
            v = (uint64_t)breaker_state(b, env->now_ms);
        else
            v = load((const _Atomic uint64_t *)((const char *)b + row->off));
        fprintf(f, "%s{upstream=\"%s\"} %" PRIu64 "\n", row->name,
                env->upstreams[i], v);
    }
}

static void print_labelled(FILE *f, const struct metrics_row *row,
                           const struct metrics *m,
                           const struct metrics_env *env)
{
    size_t i, o;

    if (row->src == SRC_BY_STATUS) {
        for (i = 0; i < METRICS_STATUS_N; i++)
            fprintf(f, "%s{code=\"%s\"} %" PRIu64 "\n", row->name,
                    metrics_status_label(i), load(&m->requests[i]));
    } else if (row->src == SRC_BY_KIND) {
        for (i = 0; i < METRICS_KIND_N; i++)
            fprintf(f, "%s{result=\"%s\"} %" PRIu64 "\n", row->name,
                    metrics_kind_name(i), load(&m->kinds[i]));
    } else if (row->src == SRC_BY_TYPE) {
        for (i = 0; i < METRICS_TYPE_N; i++)
            fprintf(f, "%s{type=\"%s\"} %" PRIu64 "\n", row->name,
                    metrics_type_name(i), load(&m->types[i]));
    } else if (row->src == SRC_BY_NOSPACE) {
        for (i = 0; i < NOSPACE_WHERE_N; i++)
            fprintf(f, "%s{where=\"%s\"} %" PRIu64 "\n", row->name,
                    nospace_where_name(i), load(&m->no_space[i]));
    } else if (row->src != SRC_BY_UPSTREAM) {
        print_per_upstream(f, row, m, env);
    } else {
        for (i = 0; i < env->nupstreams && i < METRICS_MAX_UPSTREAMS; i++) {
            size_t r = upslot_of(i);

            for (o = 0; r != UPSLOT_NONE && o < METRICS_UP_OUTCOME_N; o++)
                fprintf(f, "%s{upstream=\"%s\",outcome=\"%s\"} %" PRIu64
                           "\n", row->name, env->upstreams[i],
                        metrics_outcome_name(o), load(&m->upstream[r][o]));
        }
    }
}

/* A one-line row's value.  Counters print signed, as they always have:
 * none comes near 2^63. */
static int64_t row_value(const struct metrics_row *row,
                         const struct metrics *m,
                         const struct metrics_env *env)
{
    const char *base = (const char *)m;

    switch (row->src) {
    case SRC_COUNTER:
        return (int64_t)load((const _Atomic uint64_t *)(base + row->off));
    case SRC_GAUGE:
        return atomic_load_explicit((const _Atomic int64_t *)(base + row->off),
                                    memory_order_relaxed);
    case SRC_CACHE_ENTRIES:
        return (int64_t)env->cache_entries;
    case SRC_CACHE_BYTES:
        return (int64_t)env->cache_bytes;
    case SRC_NO_SPACE:
        return env->no_space ? 1 : 0;
    default:
        return 1;
    }
}

/* Cumulative buckets in seconds, then _sum and _count. */
static void print_hist(FILE *f, const char *name, const struct metrics_hist *h)
{
    uint64_t total = 0, b;
    size_t i;

    for (i = 0; i < METRICS_HIST_N; i++) {
        total += load(&h->buckets[i]);
        b = metrics_hist_bound_ms(i);
        if (b == UINT64_MAX)
            fprintf(f, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, total);
        else
            fprintf(f, "%s_bucket{le=\"%" PRIu64 ".%03" PRIu64 "\"} %" PRIu64
                       "\n", name, b / 1000, b % 1000, total);
    }
    fprintf(f, "%s_sum %" PRIu64 ".%03" PRIu64 "\n", name,
            load(&h->sum_ms) / 1000, load(&h->sum_ms) % 1000);
    fprintf(f, "%s_count %" PRIu64 "\n", name, load(&h->count));
}

void metrics_print(FILE *f, const struct metrics *m,
                   const struct metrics_env *env)
{
    const struct metrics_row *row;

    for (row = rows; row < rows + sizeof(rows) / sizeof(rows[0]); row++) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", row->name, row->help,
                row->name, row->type);
        if (row->src == SRC_HIST)
            print_hist(f, row->name,
                       (const struct metrics_hist *)((const char *)m +
                                                     row->off));
        else if (row->src == SRC_BY_STATUS || row->src == SRC_BY_KIND ||
                 row->src == SRC_BY_TYPE || row->src == SRC_BY_NOSPACE ||
                 row->src == SRC_BY_UPSTREAM || row->src == SRC_BREAKER ||
                 row->src == SRC_BREAKER_STATE)
            print_labelled(f, row, m, env);
        else
            fprintf(f, "%s %" PRId64 "\n", row->name, row_value(row, m, env));
    }
}
