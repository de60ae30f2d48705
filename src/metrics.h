/* SPDX-License-Identifier: MIT */
/*
 * metrics: counters shared by the master and every worker process.
 *
 * The master maps one anonymous MAP_SHARED block before it forks, so the
 * counters survive worker restarts and /metrics answers the same whichever
 * worker the request lands on.  Every field is a lock-free C11 atomic,
 * which works across processes on a shared mapping; updates use relaxed
 * ordering because they are statistics, never used to synchronise.
 */
#ifndef SYMSRVD_METRICS_H
#define SYMSRVD_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "board.h"
#include "breaker.h"
#include "nospace.h"

#define METRICS_MAX_UPSTREAMS 32

/* How a request was answered, for the access log and the counters. */
enum metrics_kind {
    METRICS_HIT,       /* served from the cache */
    METRICS_MISS,      /* started a download */
    METRICS_COALESCED, /* joined a download already in flight */
    METRICS_NEGATIVE,  /* remembered miss */
    METRICS_UPSTREAM_ERROR, /* the download failed: 5xx, resets, ... */
    METRICS_NO_SPACE,  /* the download could not be stored */
    METRICS_BAD,       /* rejected request */
    METRICS_OTHER,     /* /health, /metrics, /symbols */
    METRICS_KIND_N
};

/* What one upstream attempt ended in. */
enum metrics_outcome {
    METRICS_UP_OK,
    METRICS_UP_NOT_FOUND,
    METRICS_UP_ERROR,   /* 5xx, 429, other statuses, truncated bodies */
    METRICS_UP_TIMEOUT,
    METRICS_UP_CONNECT, /* connection refused, reset, DNS */
    METRICS_UP_RETRY,   /* an attempt that was retried */
    METRICS_UP_OUTCOME_N
};

/* What a request asked for. */
enum metrics_type {
    METRICS_T_SYMBOL,      /* a symbol-store key */
    METRICS_T_BUILDID,     /* a debuginfod build-id key */
    METRICS_T_SYMBOLICATE, /* /symbolicate, /minidump, /requests/ */
    METRICS_T_ADMIN,       /* DELETE */
    METRICS_T_HEALTH,      /* /health, /healthcheck */
    METRICS_T_METRICS,
    METRICS_T_LISTING,     /* /symbols */
    METRICS_T_OTHER,
    METRICS_TYPE_N
};

#define METRICS_STATUS_N 10 /* 200 206 304 400 404 405 416 500 503 other */

/* A latency histogram: bucket i counts observations at most
 * metrics_hist_bound_ms(i) and above the previous bound (the last has no
 * bound); the exposition adds them up as Prometheus wants. */
#define METRICS_HIST_N 14
struct metrics_hist {
    _Atomic uint64_t buckets[METRICS_HIST_N];
    _Atomic uint64_t sum_ms;
    _Atomic uint64_t count;
};

struct metrics {
    _Atomic uint64_t requests[METRICS_STATUS_N];
    _Atomic uint64_t kinds[METRICS_KIND_N];
    _Atomic uint64_t types[METRICS_TYPE_N];
    struct metrics_hist request_ms;  /* request to end of answer */
    struct metrics_hist upstream_ms; /* one upstream attempt */
    /* by row: upslot.h */
    _Atomic uint64_t upstream[METRICS_MAX_UPSTREAMS][METRICS_UP_OUTCOME_N];
    _Atomic uint64_t bytes_served;
    _Atomic uint64_t bytes_downloaded;
    _Atomic int64_t downloads_in_flight;
    _Atomic int64_t queue_depth;
    _Atomic uint64_t miss_timeouts;
    _Atomic uint64_t gzip_created;
    _Atomic uint64_t upstream_decoded;
    _Atomic uint64_t upstream_rejected;
    _Atomic uint64_t upstream_resumes;         /* Range requests after a cut */
    _Atomic uint64_t upstream_resumes_refused; /* ... not continuing it */
    _Atomic uint64_t symbolicate_misses;    /* job lookups that started a
                                             * download */
    _Atomic uint64_t symbolicate_coalesced; /* ... that joined one */
    _Atomic uint64_t symjobs_started;  /* symbolication jobs begun */
    _Atomic uint64_t symjobs_refused;  /* refused: max_jobs running */
    _Atomic int64_t symjobs_running;
    _Atomic uint64_t symbolicate_inline; /* answered without a job */
    _Atomic uint64_t worker_restarts;
    _Atomic uint64_t evictions;     /* files evicted (see evict.h) */
    _Atomic uint64_t evicted_bytes; /* with their gzip copies and tables */
    _Atomic int64_t workers_alive;
    _Atomic int64_t started_ms; /* wall clock at start */
    /* out of space: see nospace.h */
    _Atomic uint64_t no_space[NOSPACE_WHERE_N];
    _Atomic int64_t no_space_ms;   /* wall clock of the last report, 0: none */
    _Atomic int no_space_where;    /* enum nospace_where of that report */
    _Atomic uint64_t evict_wanted; /* bytes the evictor should free */
    _Atomic bool evict_index;      /* the index was full: free a share */
    _Atomic int64_t tmp_bytes;     /* temp bytes held by downloads */
    _Atomic int64_t index_map_bytes; /* the LMDB map as last set */
    _Atomic uint64_t index_map_grows;
    struct breaker breakers[METRICS_MAX_UPSTREAMS]; /* by row: upslot.h */
    uint64_t instance_id; /* random, set before fork: this daemon in Via */
    struct board board;   /* recent misses and errors, top keys */
};

/* Map the shared block (call once in the master, before fork).  Aborts
 * on failure: the daemon cannot run without it. */
struct metrics *metrics_create(void);

/* The process's block, set by metrics_create() and inherited by fork. */
extern struct metrics *metrics;

void metrics_count_status(unsigned status);
void metrics_add(_Atomic uint64_t *counter, uint64_t n);
void metrics_gauge_add(_Atomic int64_t *gauge, int64_t n);
uint64_t metrics_read(_Atomic uint64_t *counter);
void metrics_observe(struct metrics_hist *h, uint64_t ms);
/* Bucket I's upper bound in ms (UINT64_MAX for the last). */
uint64_t metrics_hist_bound_ms(size_t i);
int64_t metrics_gauge_read(_Atomic int64_t *gauge);

/* What the text exposition needs beyond the shared block: the names of
 * the configured upstreams (the first METRICS_MAX_UPSTREAMS) and the
 * index's totals. */
struct metrics_env {
    const char *upstreams[METRICS_MAX_UPSTREAMS];
    size_t nupstreams;
    uint64_t cache_entries;
    uint64_t cache_bytes;
    int64_t now_ms; /* mono_ms(), for the breakers' state */
    bool no_space;  /* nospace_reason() says so */
};

/* Print M and ENV to F in the Prometheus text format (version 0.0.4),
 * one HELP/TYPE block per row of the table in metrics.c. */
void metrics_print(FILE *f, const struct metrics *m,
                   const struct metrics_env *env);

/* Label values for the text exposition. */
const char *metrics_status_label(size_t index);
const char *metrics_kind_name(enum metrics_kind kind);
const char *metrics_type_name(enum metrics_type type);
const char *metrics_outcome_name(enum metrics_outcome outcome);

#endif
