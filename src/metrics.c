/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "metrics.h"

#include <inttypes.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "log.h"

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
        "hit", "miss", "coalesced", "negative", "bad", "other",
    };

    return names[kind];
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
    SRC_BY_UPSTREAM,  /* upstream[][], one line per upstream and outcome */
    SRC_CACHE_ENTRIES, /* the index's totals, from the caller */
    SRC_CACHE_BYTES,
    SRC_ONE,          /* constant 1: whoever answers is serving */
    SRC_BREAKER,      /* the counter at .off in each upstream's breaker */
    SRC_BREAKER_STATE, /* each upstream's enum breaker_state */
};

struct metrics_row {
    const char *name;
    const char *type; /* "counter" or "gauge" */
    const char *help;
    enum metrics_src src;
    size_t off;       /* SRC_COUNTER, SRC_GAUGE */
};

#define COUNTER(field) SRC_COUNTER, offsetof(struct metrics, field)
#define GAUGE(field) SRC_GAUGE, offsetof(struct metrics, field)
#define BREAKER(field) SRC_BREAKER, offsetof(struct breaker, field)

/* Printed in this order; add a row here to add a metric. */
static const struct metrics_row rows[] = {
    {"symsrvd_requests_total", "counter", "Requests by status.",
     SRC_BY_STATUS, 0},
    {"symsrvd_responses_total", "counter",
     "Requests by how they were answered.", SRC_BY_KIND, 0},
    {"symsrvd_hits_total", "counter", "Requests served from cache.",
     COUNTER(kinds[METRICS_HIT])},
    {"symsrvd_misses_total", "counter", "Requests that started a download.",
     COUNTER(kinds[METRICS_MISS])},
    {"symsrvd_coalesced_total", "counter",
     "Requests that joined a download in flight.",
     COUNTER(kinds[METRICS_COALESCED])},
    {"symsrvd_negative_hits_total", "counter",
     "Requests answered from a remembered miss.",
     COUNTER(kinds[METRICS_NEGATIVE])},
    {"symsrvd_upstream_requests_total", "counter",
     "Upstream attempts by upstream and outcome.", SRC_BY_UPSTREAM, 0},
    {"symsrvd_served_bytes_total", "counter", "Body bytes sent.",
     COUNTER(bytes_served)},
    {"symsrvd_downloaded_bytes_total", "counter",
     "Body bytes received from upstreams.", COUNTER(bytes_downloaded)},
    {"symsrvd_downloads_in_flight", "gauge", "Downloads running.",
     GAUGE(downloads_in_flight)},
    {"symsrvd_job_queue_depth", "gauge", "Jobs waiting for a downloader.",
     GAUGE(queue_depth)},
    {"symsrvd_miss_timeouts_total", "counter",
     "Requests answered 404 at miss_timeout while the download went on.",
     COUNTER(miss_timeouts)},
    {"symsrvd_gzip_copies_total", "counter", "gzip copies made.",
     COUNTER(gzip_created)},
    {"symsrvd_upstream_decoded_total", "counter",
     "Cabinet or gzip bodies decoded into the plain file before storing.",
     COUNTER(upstream_decoded)},
    {"symsrvd_upstream_rejected_total", "counter",
     "Compressed bodies refused: not one cabinet holding just the file, "
     "or corrupt.",
     COUNTER(upstream_rejected)},
    {"symsrvd_symbolicate_misses_total", "counter",
     "Symbolication lookups that started a download.",
     COUNTER(symbolicate_misses)},
    {"symsrvd_symbolicate_coalesced_total", "counter",
     "Symbolication lookups that joined a download in flight.",
     COUNTER(symbolicate_coalesced)},
    {"symsrvd_upstream_breaker_state", "gauge",
     "Circuit breaker by upstream: 0 closed, 1 open (skipped), 2 half-open "
     "(one probe at a time).",
     SRC_BREAKER_STATE, 0},
    {"symsrvd_upstream_breaker_trips_total", "counter",
     "Times an upstream's breaker opened.", BREAKER(trips)},
    {"symsrvd_upstream_skipped_total", "counter",
     "Upstream attempts not made because the breaker was open.",
     BREAKER(skips)},
    {"symsrvd_worker_restarts_total", "counter",
     "Workers restarted after dying.", COUNTER(worker_restarts)},
    {"symsrvd_workers", "gauge", "Worker processes running.",
     GAUGE(workers_alive)},
    {"symsrvd_cache_evictions_total", "counter",
     "Files evicted to keep the cache under max_size and min_free.",
     COUNTER(evictions)},
    {"symsrvd_cache_evicted_bytes_total", "counter",
     "Bytes freed by evictions (files, gzip copies, symbol tables).",
     COUNTER(evicted_bytes)},
    {"symsrvd_cache_entries", "gauge", "Files in the cache.",
     SRC_CACHE_ENTRIES, 0},
    {"symsrvd_cache_bytes", "gauge", "Bytes of files in the cache.",
     SRC_CACHE_BYTES, 0},
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
        const struct breaker *b = &m->breakers[i];

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
            fprintf(f, "%s{status=\"%s\"} %" PRIu64 "\n", row->name,
                    metrics_status_label(i), load(&m->requests[i]));
    } else if (row->src == SRC_BY_KIND) {
        for (i = 0; i < METRICS_KIND_N; i++)
            fprintf(f, "%s{kind=\"%s\"} %" PRIu64 "\n", row->name,
                    metrics_kind_name(i), load(&m->kinds[i]));
    } else if (row->src != SRC_BY_UPSTREAM) {
        print_per_upstream(f, row, m, env);
    } else {
        for (i = 0; i < env->nupstreams && i < METRICS_MAX_UPSTREAMS; i++) {
            for (o = 0; o < METRICS_UP_OUTCOME_N; o++)
                fprintf(f, "%s{upstream=\"%s\",outcome=\"%s\"} %" PRIu64
                           "\n", row->name, env->upstreams[i],
                        metrics_outcome_name(o), load(&m->upstream[i][o]));
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
    default:
        return 1;
    }
}

void metrics_print(FILE *f, const struct metrics *m,
                   const struct metrics_env *env)
{
    const struct metrics_row *row;

    for (row = rows; row < rows + sizeof(rows) / sizeof(rows[0]); row++) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", row->name, row->help,
                row->name, row->type);
        if (row->src == SRC_BY_STATUS || row->src == SRC_BY_KIND ||
            row->src == SRC_BY_UPSTREAM || row->src == SRC_BREAKER ||
            row->src == SRC_BREAKER_STATE)
            print_labelled(f, row, m, env);
        else
            fprintf(f, "%s %" PRId64 "\n", row->name, row_value(row, m, env));
    }
}
