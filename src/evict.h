/* SPDX-License-Identifier: MIT */
/*
 * evict: the bounded cache.  When the cache grows past [cache] max_size,
 * or the file system's free space falls under min_free, the least
 * recently used files go until the cache is at 90 % of max_size and 10 %
 * more than min_free is free.  A download that found the disk or the
 * index full (nospace.h) adds the bytes it needed to the next pass, when
 * emptying the cache could make room for them at all.
 *
 * SIZE.  A file counts with its gzip copy ("<file>.GZIP", kept in the
 * index's totals) and its symbol table ("<file>.SYMTABLE", written by the
 * symbolication API without telling the index): the tables' bytes are
 * measured by a scan of the index and a stat() per file, at most once a
 * minute unless an eviction is due anyway.  The tables kept under
 * .Symsrvd/tables (of files outside the cache, and of universal Mach-O
 * files' later slices) have no record: each is an item of its own, last
 * used when its access time says (stabcache.c sets it on every load), so
 * that they count and go too instead of piling up for ever.
 *
 * LAST USE is the last hit, which the hit path records in batches (see
 * server_flush_hits()), or the download for a file never hit.
 *
 * ONE FILE goes under its download lock, so a download of the same key in
 * progress is never touched (the file is skipped this pass), and in the
 * order file, derived files, index record: a crash in between leaves a
 * record without its file, which the hit path drops, and maybe derived
 * files without their file, which the start-up reconciliation removes.
 * A client being sent the file keeps its open descriptor or mapping:
 * cache files are published by rename and never rewritten, so unlinking
 * one under a reader is safe.
 *
 * THREADS.  One evictor per daemon (see janitor.h); struct evict belongs
 * to the thread that made it.
 */
#ifndef SYMSRVD_EVICT_H
#define SYMSRVD_EVICT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cache;
struct evict;

/* A cached file as the policy sees it. */
struct evict_item {
    char *key;            /* canonical, or a loose table's path; owned by
                             the array's owner */
    uint64_t bytes;       /* file + gzip copy + symbol table */
    int64_t last_ms;      /* last hit, else the download */
    int64_t cached_at_ms; /* identifies this download of the key */
    bool loose;           /* a table under .Symsrvd/tables, no record */
};

/* Bytes to free so that USED falls to 90 % of MAX_SIZE (0: no limit) and
 * AVAIL rises to 110 % of MIN_FREE (0: off); 0 when neither is crossed. */
uint64_t evict_need(uint64_t used, uint64_t max_size, uint64_t avail,
                    uint64_t min_free);

/* Sort V (N items) least recently used first (ties by key, so the order
 * is stable) and return how many of the first ones free at least NEED
 * bytes (N when all of them do not). */
size_t evict_order(struct evict_item *v, size_t n, uint64_t need);

/* What one pass did. */
struct evict_stats {
    size_t evicted;
    uint64_t freed;  /* bytes unlinked */
    size_t skipped;  /* downloading, or replaced since the scan */
};

/* An evictor of the cache under DIR (both outlive it). */
struct evict *evict_new(const char *dir, struct cache *cache,
                        uint64_t max_size, uint64_t min_free);
void evict_free(struct evict *ev); /* NULL-safe */

/* Never evict files a team published (see publish.h): for
 * publish_evictable = no.  Off by default. */
void evict_keep_published(struct evict *ev, bool keep);

/* Check the limits and evict when one is crossed, stopping early when
 * *STOP becomes true.  NOW_MS (monotonic) paces the symbol-table scans.
 * Adds to *OUT (may be NULL) and to the metrics.  0 or -errno. */
int evict_tick(struct evict *ev, uint64_t now_ms, const atomic_bool *stop,
               struct evict_stats *out);

/* The cache's size as evict_tick() last counted it (files, gzip copies,
 * symbol tables). */
uint64_t evict_used(const struct evict *ev);

#endif
