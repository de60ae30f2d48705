/* SPDX-License-Identifier: MIT */
/*
 * cache: the LMDB index of the on-disk symbol store.  The only file that
 * includes <lmdb.h>.
 *
 * LAYOUT.  Under the cache directory, symbol files live in a symstore tree
 * "<dir>/<name>/<ID>/<file>" using the canonical key's case (name and
 * file lower, ID upper), so any symstore-aware tool can read it.  The
 * daemon's own state lives in "<dir>/.Symsrvd/": the LMDB environment in
 * index/, download temp files in tmp/, per-symbol lock files in locks/.
 * Canonical names are lower-case, so ".Symsrvd" can never be a symbol.
 *
 * RECORDS (named databases, keyed by the canonical "name/ID/file"):
 *   files    size, cached_at, upstream, gzip state   (written per download)
 *   negative expiry of a remembered miss              (written per miss)
 *   stats    hit count and last access                (batched writes)
 *   meta     running totals of entries and bytes
 *
 * DURABILITY.  A file is fsync'd and renamed into place before its record
 * is written, so a record never names a partial file.  The environment
 * runs with MDB_NOMETASYNC (one sync per commit: a crash may lose the last
 * commit but never corrupts the index) and directories are not fsync'd;
 * what a crash can leave is a file without a record (re-fetched and
 * replaced on the next miss) or a record without a file (the hit path
 * drops it and re-fetches).
 *
 * THREADS.  One struct cache per process, opened after fork (LMDB handles
 * never cross a fork).  Any thread may call any function.  Reads use one
 * reset/renewed read transaction per thread, so a lookup costs no
 * allocation and no lock besides LMDB's reader slot.  A thread has at most
 * one read in progress; never call cache functions from inside a
 * cache_list() callback.
 */
#ifndef SYMSRVD_CACHE_H
#define SYMSRVD_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cache;

enum cache_gz {
    CACHE_GZ_UNKNOWN = 0, /* no gzip copy made yet */
    CACHE_GZ_READY = 1,   /* "<file>.GZIP" exists beside the file */
    CACHE_GZ_NONE = 2,    /* too small or does not shrink: identity only */
};

struct cache_entry {
    uint64_t size;
    int64_t cached_at_ms;
    enum cache_gz gz;
    uint64_t gz_size;
    char upstream[48];
    uint64_t hits;          /* from the stats records */
    int64_t last_access_ms; /* 0 when never hit */
};

/* One batched hit for cache_record_hits(). */
struct cache_hit {
    const char *key;
    uint32_t count;
    int64_t when_ms;
};

/* Open (creating if needed) the index under DIR/.Symsrvd/index with a map
 * of MAP_SIZE bytes.  0 and *OUT, or -errno (logged). */
int cache_open(const char *dir, uint64_t map_size, struct cache **out);
void cache_close(struct cache *c); /* NULL-safe; after all threads stop */

/* Let the map grow up to MAX bytes (at open: the map size, so no growth):
 * a write that finds the map full doubles it, within MAX, and tries again;
 * the other processes adopt the new size at their next transaction.  Only
 * when the map can grow no more does a write fail with -ENOSPC; writes
 * that add records fail a little earlier, keeping the free pages that
 * removals need (LMDB copies each page it changes). */
void cache_set_map_max(struct cache *c, uint64_t max);

/* Look the canonical KEY up: 0 and *E when cached, else -ENOENT. */
int cache_lookup(struct cache *c, const char *key, struct cache_entry *e);

/* Is a remembered miss for NEG_KEY (the key in the client's case, see
 * symkey_exact()) still valid?  True, with *EXPIRES_MS when not NULL.
 * Misses are remembered per exact case because upstream object stores are
 * case-sensitive: a wrongly-cased request must not hide the right one. */
bool cache_negative(struct cache *c, const char *neg_key,
                    int64_t *expires_ms);

/* Record a completed download of KEY (replacing any record) and drop the
 * negative record of NEG_KEY (may be NULL).  0 or -errno (-ENOSPC when
 * the map is full). */
int cache_insert(struct cache *c, const char *key, const char *neg_key,
                 const struct cache_entry *e);

/* Record N files found complete on disk (KEYS[i] with E[i]) in one write
 * transaction.  0 or -errno. */
int cache_insert_many(struct cache *c, const char *const *keys,
                      const struct cache_entry *e, size_t n);

/* Remember that every upstream answered 404 for NEG_KEY (exact case),
 * until EXPIRES_MS. */
int cache_negative_insert(struct cache *c, const char *neg_key,
                          int64_t expires_ms);

/* Forget the remembered miss of NEG_KEY (exact case): 0, or -ENOENT when
 * there was none. */
int cache_negative_remove(struct cache *c, const char *neg_key);

/* Forget every remembered miss, setting *N to how many there were. */
int cache_negative_clear(struct cache *c, uint64_t *n);

/* Forget KEY's file record and hit counts (its file vanished or was
 * evicted).  0 or -errno. */
int cache_remove(struct cache *c, const char *key);

/* The same for N keys in one write transaction (one sync instead of N);
 * keys without a record are skipped.  0 or -errno. */
int cache_remove_many(struct cache *c, const char *const *keys, size_t n);

/* Set the gzip state of a cached KEY. */
int cache_set_gzip(struct cache *c, const char *key, enum cache_gz gz,
                   uint64_t gz_size);

/* Add N batched hits in one write transaction. */
int cache_record_hits(struct cache *c, const struct cache_hit *hits,
                      size_t n);

/* Entries and bytes of the positive cache. */
int cache_totals(struct cache *c, uint64_t *entries, uint64_t *bytes);

/* The same and the bytes of their gzip copies. */
int cache_totals_gz(struct cache *c, uint64_t *entries, uint64_t *bytes,
                    uint64_t *gz_bytes);

/* Walk records in key order starting after AFTER (NULL: from the start),
 * calling FN for up to LIMIT records whose name part contains Q (NULL:
 * all; matched case-insensitively).  NEGATIVE selects remembered misses
 * (E then has only cached_at_ms = expiry).  Stops early when FN returns
 * false.  Sets *MORE when records remain.  The key passed to FN is valid
 * only during the call.  0 or -errno. */
typedef bool cache_list_fn(void *arg, const char *key, size_t keylen,
                           const struct cache_entry *e);
int cache_list(struct cache *c, bool negative, const char *after,
               const char *q, size_t limit, cache_list_fn *fn, void *arg,
               bool *more);

#endif
