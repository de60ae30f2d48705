/* SPDX-License-Identifier: MIT */
/*
 * board: what the status page shows beyond the counters: the last misses
 * and errors, and the most-hit keys since start.
 *
 * It lives in the shared metrics block (metrics.h), so every worker
 * writes into it and the page answers the same whichever worker serves
 * it.  Unlike the counters these are strings, so writers and readers
 * take one process-shared robust mutex: a worker killed while holding it
 * hands it to the next locker, which at worst reads one half-written
 * line (every string is re-terminated on read).  Writers are the miss
 * path (one lock per miss or error) and the batched hit flush (one lock
 * per batch), never the hit path itself.
 *
 * Top keys use the Space-Saving algorithm: BOARD_TOP counters; a key not
 * tracked replaces the smallest one and inherits its count, so a key
 * that is truly among the most hit is never lost, and counts are at most
 * over-estimated by the replaced count (kept as the error bound).
 */
#ifndef SYMSRVD_BOARD_H
#define SYMSRVD_BOARD_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct cache_hit;

#define BOARD_RECENT 20  /* lines per list */
#define BOARD_TOP 64     /* keys tracked; the page shows the first few */
#define BOARD_TEXT 256   /* bytes kept of a target or key */
#define BOARD_MINUTES 60 /* the activity chart's span */

enum board_list { BOARD_MISSES, BOARD_ERRORS, BOARD_LISTS };

/* What the activity chart counts per minute. */
enum board_series {
    BOARD_HITS,       /* from the batched hit flush */
    BOARD_DOWNLOADS,  /* lookups that missed: downloads and waits on them,
                       * remembered misses */
    BOARD_FAILURES,   /* what the errors list gets */
    BOARD_SERIES
};

struct board_minute {
    int64_t minute; /* wall-clock minutes since the epoch */
    uint64_t n[BOARD_SERIES];
};

struct board_event {
    int64_t when_ms;         /* wall clock */
    unsigned status;
    char reason[24];         /* X-Symsrvd-Miss, or "" */
    char target[BOARD_TEXT]; /* the raw request target, as received */
};

struct board_top {
    uint64_t hits;
    uint64_t error; /* hits possibly counted for a key replaced */
    char key[BOARD_TEXT];
};

struct board {
    pthread_mutex_t lock; /* process-shared, robust */
    struct board_event recent[BOARD_LISTS][BOARD_RECENT];
    uint64_t next[BOARD_LISTS]; /* events ever noted: next slot */
    struct board_top top[BOARD_TOP];
    struct board_minute minutes[BOARD_MINUTES]; /* by minute % BOARD_MINUTES */
};

/* Set B up in shared memory (zero-filled).  0 or an errno value. */
int board_init(struct board *b);

/* Note a request answered STATUS with REASON (may be NULL) for TARGET,
 * in LIST (and in the chart's failures for BOARD_ERRORS). */
void board_note(struct board *b, enum board_list list, const char *target,
                unsigned status, const char *reason, int64_t when_ms);

/* Count the N batched hits HITS (the batch cache_record_hits() gets). */
void board_hits(struct board *b, const struct cache_hit *hits, size_t n);

/* Count one lookup that missed (BOARD_DOWNLOADS) at WHEN_MS. */
void board_count(struct board *b, enum board_series series, int64_t when_ms);

/* A consistent copy of B's lists for a reader: newest first. */
struct board_view {
    struct board_event recent[BOARD_LISTS][BOARD_RECENT];
    size_t nrecent[BOARD_LISTS];
    struct board_top top[BOARD_TOP]; /* most hits first */
    size_t ntop;
    struct board_minute minutes[BOARD_MINUTES]; /* oldest first, up to the
                                                 * minute of NOW_MS */
};

void board_read(struct board *b, int64_t now_ms, struct board_view *v);

#endif
