/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "cache.h"

#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"
#include "xalloc.h"

#define CACHE_MAX_READERS 4096
/* Map growths and adoptions one write may wait out: doubling from 1 MiB
 * reaches 64 TiB in 26. */
#define CACHE_WRITE_TRIES 32
/* What a map at its bound keeps for removals: a 32nd of its pages,
 * at least 32. */
#define CACHE_RESERVE_SHARE 32
#define CACHE_RESERVE_MIN_PAGES 32

/* On-disk record layouts (host byte order: the index never leaves the
 * machine).  version lets a later release migrate. */
struct file_rec {
    uint32_t version;
    uint32_t gz;
    uint64_t size;
    int64_t cached_at_ms;
    uint64_t gz_size;
    char upstream[48];
};

struct stat_rec {
    uint64_t hits;
    int64_t last_access_ms;
};

struct neg_rec {
    int64_t expires_ms;
};

/* gz_bytes came later: a shorter record reads it as 0. */
struct totals_rec {
    uint64_t entries;
    uint64_t bytes;
    uint64_t gz_bytes; /* of the READY gzip copies */
};

/* A thread's reusable read transaction; see cache_read_begin(). */
struct reader {
    MDB_txn *txn;       /* reset between reads */
    struct cache *owner;
    struct reader *next; /* protected by owner->readers_lock */
};

struct cache {
    MDB_env *env;              /* immutable after open */
    MDB_dbi files, neg, stats, meta; /* immutable after open */
    /* Held shared by every transaction of this process and exclusive
     * while the map is resized, which LMDB allows only with none active;
     * reset read transactions hold nothing in the map. */
    pthread_rwlock_t maplock;
    uint64_t map_max;          /* protected by maplock; see cache_grow() */
    atomic_bool full_said;     /* "the index is full" logged, not since
                                * an adding write went through */
    pthread_mutex_t readers_lock;
    struct reader *readers;    /* protected by readers_lock */
};

static _Thread_local struct reader *tl_reader;

static int cache_errno(int rc)
{
    switch (rc) {
    case MDB_NOTFOUND:
        return -ENOENT;
    case MDB_MAP_FULL:
        return -ENOSPC;
    default:
        return rc > 0 ? -rc : -EIO;
    }
}

/* Publish the map's size in the shared metrics (absent in unit tests). */
static void note_map_size(struct cache *c)
{
    MDB_envinfo info;
    int rc;

    pthread_rwlock_rdlock(&c->maplock);
    rc = mdb_env_info(c->env, &info);
    pthread_rwlock_unlock(&c->maplock);
    if (metrics != NULL && rc == 0)
        atomic_store_explicit(&metrics->index_map_bytes,
                              (int64_t)info.me_mapsize, memory_order_relaxed);
}

/* Another process grew the map (MDB_MAP_RESIZED): take its size. */
static void cache_adopt_map(struct cache *c)
{
    int rc;

    pthread_rwlock_wrlock(&c->maplock);
    rc = mdb_env_set_mapsize(c->env, 0);
    pthread_rwlock_unlock(&c->maplock);
    if (rc != 0)
        log_warnx("cache: adopt map size: %s", mdb_strerror(rc));
    note_map_size(c);
}

/* The map is full: double it, up to map_max.  True when it grew. */
static bool cache_grow(struct cache *c)
{
    MDB_envinfo info;
    uint64_t size = 0;
    int rc = -1;

    pthread_rwlock_wrlock(&c->maplock);
    if (mdb_env_info(c->env, &info) == 0 && info.me_mapsize < c->map_max) {
        size = (uint64_t)info.me_mapsize * 2;
        if (size > c->map_max)
            size = c->map_max;
        rc = mdb_env_set_mapsize(c->env, (size_t)size);
    }
    pthread_rwlock_unlock(&c->maplock);
    if (rc != 0)
        return false;
    log_info("cache: index map grown to %" PRIu64 " bytes", size);
    if (metrics != NULL)
        metrics_add(&metrics->index_map_grows, 1);
    note_map_size(c);
    return true;
}

void cache_set_map_max(struct cache *c, uint64_t max)
{
    pthread_rwlock_wrlock(&c->maplock);
    c->map_max = max;
    pthread_rwlock_unlock(&c->maplock);
}

static int open_dbs(struct cache *c)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(c->env, NULL, 0, &txn);

    if (rc != 0)
        return rc;
    rc = mdb_dbi_open(txn, "files", MDB_CREATE, &c->files);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "negative", MDB_CREATE, &c->neg);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "stats", MDB_CREATE, &c->stats);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &c->meta);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

int cache_open(const char *dir, uint64_t map_size, struct cache **out)
{
    struct cache *c = xcalloc(1, sizeof(*c));
    char *path = xasprintf("%s/.Symsrvd/index", dir);
    int rc;

    pthread_mutex_init(&c->readers_lock, NULL);
    pthread_rwlock_init(&c->maplock, NULL);
    c->map_max = map_size;
    atomic_init(&c->full_said, false);
    rc = mkdir_p(path, 0750);
    if (rc != 0) {
        errno = -rc;
        log_warn("cache: %s", path);
        goto out;
    }
    rc = mdb_env_create(&c->env);
    if (rc == 0)
        rc = mdb_env_set_mapsize(c->env, (size_t)map_size);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(c->env, 8);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(c->env, CACHE_MAX_READERS);
    if (rc == 0)
        rc = mdb_env_open(c->env, path, MDB_NORDAHEAD | MDB_NOMETASYNC,
                          0640);
    if (rc == 0)
        rc = open_dbs(c);
    if (rc != 0) {
        log_warnx("cache: %s: %s", path, mdb_strerror(rc));
        rc = cache_errno(rc);
        goto out;
    }
    note_map_size(c);
    *out = c;
    c = NULL;
out:
    free(path);
    cache_close(c);
    return rc;
}

void cache_close(struct cache *c)
{
    struct reader *r, *next;

    if (c == NULL)
        return;
    for (r = c->readers; r != NULL; r = next) {
        next = r->next;
        mdb_txn_abort(r->txn);
        free(r);
    }
    if (c->env != NULL)
        mdb_env_close(c->env);
    pthread_mutex_destroy(&c->readers_lock);
    pthread_rwlock_destroy(&c->maplock);
    free(c);
}

/* Start or renew this thread's read transaction, creating it on first
 * use.  0 or an LMDB code. */
static int read_txn(struct cache *c, MDB_txn **out)
{
    struct reader *r = tl_reader;
    int rc;

    if (r != NULL && r->owner == c) {
        rc = mdb_txn_renew(r->txn);
        *out = r->txn;
        return rc;
    }
    r = xcalloc(1, sizeof(*r));
    rc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &r->txn);
    if (rc != 0) {
        free(r);
        return rc;
    }
    r->owner = c;
    pthread_mutex_lock(&c->readers_lock);
    r->next = c->readers;
    c->readers = r;
    pthread_mutex_unlock(&c->readers_lock);
    tl_reader = r;
    *out = r->txn;
    return 0;
}

/* Start this thread's read, with the map lock held shared until
 * cache_read_end().  Returns the active txn or NULL (logged). */
static MDB_txn *cache_read_begin(struct cache *c)
{
    MDB_txn *txn = NULL;
    int rc = 0, tries;

    for (tries = 0; tries < 2; tries++) {
        pthread_rwlock_rdlock(&c->maplock);
        rc = read_txn(c, &txn);
        if (rc == 0)
            return txn;
        pthread_rwlock_unlock(&c->maplock);
        if (rc != MDB_MAP_RESIZED)
            break;
        cache_adopt_map(c);
    }
    log_warnx("cache: read txn: %s", mdb_strerror(rc));
    return NULL;
}

static void cache_read_end(struct cache *c, MDB_txn *txn)
{
    mdb_txn_reset(txn);
    pthread_rwlock_unlock(&c->maplock);
}

static void entry_from_rec(struct cache_entry *e, const MDB_val *v)
{
    struct file_rec rec;

    memset(&rec, 0, sizeof(rec));
    memcpy(&rec, v->mv_data,
           v->mv_size < sizeof(rec) ? v->mv_size : sizeof(rec));
    memset(e, 0, sizeof(*e));
    e->size = rec.size;
    e->cached_at_ms = rec.cached_at_ms;
    e->gz = (enum cache_gz)rec.gz;
    e->gz_size = rec.gz_size;
    memcpy(e->upstream, rec.upstream, sizeof(e->upstream));
    e->upstream[sizeof(e->upstream) - 1] = '\0';
}

static void stats_into(MDB_txn *txn, MDB_dbi dbi, MDB_val *k,
                       struct cache_entry *e)
{
    MDB_val v;
    struct stat_rec s;

    if (mdb_get(txn, dbi, k, &v) != 0 || v.mv_size != sizeof(s))
        return;
    memcpy(&s, v.mv_data, sizeof(s));
    e->hits = s.hits;
    e->last_access_ms = s.last_access_ms;
}

int cache_lookup(struct cache *c, const char *key, struct cache_entry *e)
{
    MDB_txn *txn = cache_read_begin(c);
    MDB_val k = {.mv_size = strlen(key), .mv_data = (void *)key}, v;
    int rc;

    if (txn == NULL)
        return -EIO;
    rc = mdb_get(txn, c->files, &k, &v);
    if (rc == 0)
        entry_from_rec(e, &v);
    cache_read_end(c, txn);
    return rc == 0 ? 0 : -ENOENT;
}

bool cache_negative(struct cache *c, const char *neg_key, int64_t *expires_ms)
{
    MDB_txn *txn = cache_read_begin(c);
    MDB_val k = {.mv_size = strlen(neg_key), .mv_data = (void *)neg_key}, v;
    struct neg_rec neg;
    bool valid = false;

    if (txn == NULL)
        return false;
    if (mdb_get(txn, c->neg, &k, &v) == 0 && v.mv_size == sizeof(neg)) {
        memcpy(&neg, v.mv_data, sizeof(neg));
        valid = neg.expires_ms > wall_ms();
        if (valid && expires_ms != NULL)
            *expires_ms = neg.expires_ms;
    }
    cache_read_end(c, txn);
    return valid;
}

static void totals_get(MDB_txn *txn, MDB_dbi meta, struct totals_rec *t)
{
    MDB_val k = {.mv_size = 6, .mv_data = (void *)"totals"}, v;

    memset(t, 0, sizeof(*t));
    if (mdb_get(txn, meta, &k, &v) == 0)
        memcpy(t, v.mv_data,
               v.mv_size < sizeof(*t) ? v.mv_size : sizeof(*t));
}

/* An index written before gz_bytes was counted holds copies it never
 * added: never let their removal wrap it. */
static void gz_bytes_sub(struct totals_rec *t, uint64_t n)
{
    t->gz_bytes = t->gz_bytes > n ? t->gz_bytes - n : 0;
}

/* Take OLD (a record being replaced or removed) out of T. */
static void totals_drop(struct totals_rec *t, const struct cache_entry *old)
{
    t->entries--;
    t->bytes -= old->size;
    if (old->gz == CACHE_GZ_READY)
        gz_bytes_sub(t, old->gz_size);
}

static int totals_put(MDB_txn *txn, MDB_dbi meta, struct totals_rec *t)
{
    MDB_val k = {.mv_size = 6, .mv_data = (void *)"totals"};
    MDB_val v = {.mv_size = sizeof(*t), .mv_data = t};

    return mdb_put(txn, meta, &k, &v, 0);
}

/* Run FN inside one write transaction, committing when it returns 0. */
typedef int write_fn(struct cache *c, MDB_txn *txn, void *arg);

/* One attempt of cache_write(): an LMDB code. */
static int write_once(struct cache *c, write_fn *fn, void *arg)
{
    MDB_txn *txn;
    int rc;

    pthread_rwlock_rdlock(&c->maplock);
    rc = mdb_txn_begin(c->env, NULL, 0, &txn);
    if (rc == 0) {
        rc = fn(c, txn, arg);
        if (rc != 0)
            mdb_txn_abort(txn);
        else
            rc = mdb_txn_commit(txn);
    }
    pthread_rwlock_unlock(&c->maplock);
    return rc;
}

/* Pages of LMDB's free list (each record of FREE_DBI, 0, is a list of
 * page numbers that starts with its length). */
static uint64_t free_pages(struct cache *c)
{
    MDB_txn *txn = cache_read_begin(c);
    MDB_cursor *cur;
    MDB_val k, v;
    MDB_cursor_op op = MDB_FIRST;
    uint64_t n = 0;
    size_t len;

    if (txn == NULL)
        return 0;
    if (mdb_cursor_open(txn, 0, &cur) == 0) {
        for (; mdb_cursor_get(cur, &k, &v, op) == 0; op = MDB_NEXT) {
            if (v.mv_size >= sizeof(len)) {
                memcpy(&len, v.mv_data, sizeof(len));
                n += len;
            }
        }
        mdb_cursor_close(cur);
    }
    cache_read_end(c, txn);
    return n;
}

/* May a write that adds records go ahead?  LMDB copies every page it
 * changes, so even a removal needs free pages: a map at its bound keeps
 * a reserve for the removals that make room again (evict.c), and adding
 * writes stop short of it.  A map that may still grow grows instead. */
static bool room_to_add(struct cache *c)
{
    MDB_envinfo info;
    MDB_stat st;
    uint64_t pages, untouched, reserve;
    bool can_grow;

    pthread_rwlock_rdlock(&c->maplock);
    if (mdb_env_info(c->env, &info) != 0 || mdb_env_stat(c->env, &st) != 0) {
        pthread_rwlock_unlock(&c->maplock);
        return true;
    }
    can_grow = info.me_mapsize < c->map_max;
    pthread_rwlock_unlock(&c->maplock);
    pages = info.me_mapsize / st.ms_psize;
    reserve = pages / CACHE_RESERVE_SHARE;
    if (reserve < CACHE_RESERVE_MIN_PAGES)
        reserve = CACHE_RESERVE_MIN_PAGES;
    untouched = pages > info.me_last_pgno + 1 ? pages - info.me_last_pgno - 1
                                              : 0;
    if (untouched >= reserve || (can_grow && cache_grow(c)))
        return true;
    return untouched + free_pages(c) >= reserve;
}

/* A full map grows (cache_grow()) and the write is tried again, as is a
 * write that found the map grown by another process.  ADDS: the write
 * adds records, and a map at its bound keeps its reserve from it. */
static int cache_write(struct cache *c, write_fn *fn, void *arg, bool adds)
{
    int rc = 0, tries;

    if (adds && !room_to_add(c)) {
        if (!atomic_exchange(&c->full_said, true))
            log_warnx("cache: the index is full (map_size_max): records "
                      "are not added until removals make room");
        return -ENOSPC;
    }
    for (tries = 0; tries < CACHE_WRITE_TRIES; tries++) {
        rc = write_once(c, fn, arg);
        if (rc == MDB_MAP_RESIZED)
            cache_adopt_map(c);
        else if (rc != MDB_MAP_FULL || !cache_grow(c))
            break;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        log_warnx("cache: write: %s", mdb_strerror(rc));
    if (rc == 0 && adds && atomic_exchange(&c->full_said, false))
        log_info("cache: the index has room again");
    return rc == 0 ? 0 : cache_errno(rc);
}

struct insert_arg {
    const char *key;
    const char *neg_key;
    const struct cache_entry *e;
};

static int insert_txn(struct cache *c, MDB_txn *txn, void *arg)
{
    struct insert_arg *a = arg;
    MDB_val k = {.mv_size = strlen(a->key), .mv_data = (void *)a->key}, v;
    struct file_rec rec;
    struct totals_rec t;
    int rc;

    totals_get(txn, c->meta, &t);
    if (mdb_get(txn, c->files, &k, &v) == 0) {
        struct cache_entry old;

        entry_from_rec(&old, &v);
        totals_drop(&t, &old);
    }
    memset(&rec, 0, sizeof(rec));
    rec.version = 1;
    rec.gz = (uint32_t)a->e->gz;
    rec.size = a->e->size;
    rec.cached_at_ms = a->e->cached_at_ms;
    rec.gz_size = a->e->gz_size;
    snprintf(rec.upstream, sizeof(rec.upstream), "%s", a->e->upstream);
    v.mv_size = sizeof(rec);
    v.mv_data = &rec;
    rc = mdb_put(txn, c->files, &k, &v, 0);
    if (rc != 0)
        return rc;
    if (a->neg_key != NULL) {
        k.mv_size = strlen(a->neg_key);
        k.mv_data = (void *)a->neg_key;
        rc = mdb_del(txn, c->neg, &k, NULL);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return rc;
    }
    t.entries++;
    t.bytes += a->e->size;
    if (a->e->gz == CACHE_GZ_READY)
        t.gz_bytes += a->e->gz_size;
    return totals_put(txn, c->meta, &t);
}

int cache_insert(struct cache *c, const char *key, const char *neg_key,
                 const struct cache_entry *e)
{
    struct insert_arg a = {.key = key, .neg_key = neg_key, .e = e};

    return cache_write(c, insert_txn, &a, true);
}

struct insert_many_arg {
    const char *const *keys;
    const struct cache_entry *e;
    size_t n;
};

static int insert_many_txn(struct cache *c, MDB_txn *txn, void *arg)
{
    struct insert_many_arg *a = arg;
    size_t i;
    int rc;

    for (i = 0; i < a->n; i++) {
        struct insert_arg one = {.key = a->keys[i], .e = &a->e[i]};

        rc = insert_txn(c, txn, &one);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int cache_insert_many(struct cache *c, const char *const *keys,
                      const struct cache_entry *e, size_t n)
{
    struct insert_many_arg a = {.keys = keys, .e = e, .n = n};

    return n == 0 ? 0 : cache_write(c, insert_many_txn, &a, true);
}

struct neg_arg {
    const char *key;
    int64_t expires_ms;
};

static int neg_txn(struct cache *c, MDB_txn *txn, void *arg)
{
    struct neg_arg *a = arg;
    struct neg_rec rec = {.expires_ms = a->expires_ms};
    MDB_val k = {.mv_size = strlen(a->key), .mv_data = (void *)a->key};
    MDB_val v = {.mv_size = sizeof(rec), .mv_data = &rec};

    return mdb_put(txn, c->neg, &k, &v, 0);
}

int cache_negative_insert(struct cache *c, const char *neg_key,
                          int64_t expires_ms)
{
    struct neg_arg a = {.key = neg_key, .expires_ms = expires_ms};

    return cache_write(c, neg_txn, &a, true);
}

static int neg_remove_txn(struct cache *c, MDB_txn *txn, void *arg)
{
    const char *key = arg;
    MDB_val k = {.mv_size = strlen(key), .mv_data = (void *)key};

    return mdb_del(txn, c->neg, &k, NULL);
}

int cache_negative_remove(struct cache *c, const char *neg_key)
{
    return cache_write(c, neg_remove_txn, (void *)neg_key, false);
}

static int neg_clear_txn(struct cache *c, MDB_txn *txn, void *arg)
{
    uint64_t *n = arg;
    MDB_stat st;
    int rc = mdb_stat(txn, c->neg, &st);

    if (rc != 0)
        return rc;
    *n = st.ms_entries;
    return mdb_drop(txn, c->neg, 0); /* empties it, keeps the handle */
}

int cache_negative_clear(struct cache *c, uint64_t *n)
{
    *n = 0;
    return cache_write(c, neg_clear_txn, n, false);
}

static int remove_txn(struct cache *c, MDB_txn *txn, void *arg)
{
    const char *key = arg;
    MDB_val k = {.mv_size = strlen(key), .mv_data = (void *)key}, v;
    struct cache_entry old;
    struct totals_rec t;
    int rc;

    rc = mdb_get(txn, c->files, &k, &v);
    if (rc != 0)
        return rc;
    entry_from_rec(&old, &v);
    rc = mdb_del(txn, c->files, &k, NULL);
    if (rc != 0)
        return rc;
    /* A file fetched again starts with no hits. */
    rc = mdb_del(txn, c->stats, &k, NULL);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    totals_get(txn, c->meta, &t);
    totals_drop(&t, &old);
    return totals_put(txn, c->meta, &t);
}

int cache_remove(struct cache *c, const char *key)
{
    return cache_write(c, remove_txn, (void *)key, false);
}

struct remove_many_arg {
    const char *const *keys;
    size_t n;
};

static int remove_many_txn(struct cache *c, MDB_txn *txn, void *arg)
{
    struct remove_many_arg *a = arg;
    size_t i;
    int rc;

    for (i = 0; i < a->n; i++) {
        rc = remove_txn(c, txn, (void *)a->keys[i]);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return rc;
    }
    return 0;
}

int cache_remove_many(struct cache *c, const char *const *keys, size_t n)
{
    struct remove_many_arg a = {.keys = keys, .n = n};

    return n == 0 ? 0 : cache_write(c, remove_many_txn, &a, false);
}

struct gz_arg {
    const char *key;
    enum cache_gz gz;
    uint64_t gz_size;
};

static int gz_txn(struct cache *c, MDB_txn *txn, void *arg)
{
    struct gz_arg *a = arg;
    MDB_val k = {.mv_size = strlen(a->key), .mv_data = (void *)a->key}, v;
    struct file_rec rec;
    struct totals_rec t;
    int rc = mdb_get(txn, c->files, &k, &v);

    if (rc != 0)
        return rc;
    memset(&rec, 0, sizeof(rec));
    memcpy(&rec, v.mv_data,
           v.mv_size < sizeof(rec) ? v.mv_size : sizeof(rec));
    totals_get(txn, c->meta, &t);
    if (rec.gz == CACHE_GZ_READY)
        gz_bytes_sub(&t, rec.gz_size);
    if (a->gz == CACHE_GZ_READY)
        t.gz_bytes += a->gz_size;
    rec.gz = (uint32_t)a->gz;
    rec.gz_size = a->gz_size;
    v.mv_size = sizeof(rec);
    v.mv_data = &rec;
    rc = mdb_put(txn, c->files, &k, &v, 0);
    return rc != 0 ? rc : totals_put(txn, c->meta, &t);
}

int cache_set_gzip(struct cache *c, const char *key, enum cache_gz gz,
                   uint64_t gz_size)
{
    struct gz_arg a = {.key = key, .gz = gz, .gz_size = gz_size};

    return cache_write(c, gz_txn, &a, true);
}

struct hits_arg {
    const struct cache_hit *hits;
    size_t n;
};

static int hits_txn(struct cache *c, MDB_txn *txn, void *arg)
{
    struct hits_arg *a = arg;
    size_t i;

    for (i = 0; i < a->n; i++) {
        const struct cache_hit *h = &a->hits[i];
        MDB_val k = {.mv_size = strlen(h->key), .mv_data = (void *)h->key};
        MDB_val v;
        struct stat_rec s = {0, 0};
        int rc;

        if (mdb_get(txn, c->stats, &k, &v) == 0 && v.mv_size == sizeof(s))
            memcpy(&s, v.mv_data, sizeof(s));
        s.hits += h->count;
        if (h->when_ms > s.last_access_ms)
            s.last_access_ms = h->when_ms;
        v.mv_size = sizeof(s);
        v.mv_data = &s;
        rc = mdb_put(txn, c->stats, &k, &v, 0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int cache_record_hits(struct cache *c, const struct cache_hit *hits,
                      size_t n)
{
    struct hits_arg a = {.hits = hits, .n = n};

    if (n == 0)
        return 0;
    return cache_write(c, hits_txn, &a, true);
}

int cache_totals(struct cache *c, uint64_t *entries, uint64_t *bytes)
{
    uint64_t gz;

    return cache_totals_gz(c, entries, bytes, &gz);
}

int cache_totals_gz(struct cache *c, uint64_t *entries, uint64_t *bytes,
                    uint64_t *gz_bytes)
{
    MDB_txn *txn = cache_read_begin(c);
    struct totals_rec t;

    if (txn == NULL)
        return -EIO;
    totals_get(txn, c->meta, &t);
    cache_read_end(c, txn);
    *entries = t.entries;
    *bytes = t.bytes;
    *gz_bytes = t.gz_bytes;
    return 0;
}

/* Does the name part (up to the first '/') of KEY contain Q?  Keys are
 * canonical, so a lower-cased Q matches case-insensitively. */
static bool name_matches(const MDB_val *k, const char *q)
{
    const char *key = k->mv_data;
    const char *slash = memchr(key, '/', k->mv_size);
    size_t namelen = slash ? (size_t)(slash - key) : k->mv_size;
    size_t qlen = strlen(q), i;

    for (i = 0; i + qlen <= namelen; i++) {
        if (memcmp(key + i, q, qlen) == 0)
            return true;
    }
    return false;
}

static void entry_for_list(struct cache *c, MDB_txn *txn, bool negative,
                           MDB_val *k, MDB_val *v, struct cache_entry *e)
{
    if (negative) {
        struct neg_rec n = {0};

        memset(e, 0, sizeof(*e));
        if (v->mv_size == sizeof(n))
            memcpy(&n, v->mv_data, sizeof(n));
        e->cached_at_ms = n.expires_ms;
        return;
    }
    entry_from_rec(e, v);
    stats_into(txn, c->stats, k, e);
}

int cache_list(struct cache *c, bool negative, const char *after,
               const char *q, size_t limit, cache_list_fn *fn, void *arg,
               bool *more)
{
    MDB_txn *txn = cache_read_begin(c);
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    MDB_cursor_op op = MDB_FIRST;
    size_t done = 0;
    int rc;

    *more = false;
    if (txn == NULL)
        return -EIO;
    rc = mdb_cursor_open(txn, negative ? c->neg : c->files, &cur);
    if (rc != 0)
        goto out;
    if (after != NULL) {
        k.mv_size = strlen(after);
        k.mv_data = (void *)after;
        op = MDB_SET_RANGE;
    }
    for (rc = mdb_cursor_get(cur, &k, &v, op); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct cache_entry e;

        if (after != NULL && k.mv_size == strlen(after) &&
            memcmp(k.mv_data, after, k.mv_size) == 0)
            continue;
        if (q != NULL && !name_matches(&k, q))
            continue;
        if (done == limit) {
            *more = true;
            break;
        }
        entry_for_list(c, txn, negative, &k, &v, &e);
        done++;
        if (!fn(arg, k.mv_data, k.mv_size, &e))
            break;
    }
    rc = (rc == MDB_NOTFOUND) ? 0 : rc;
out:
    if (cur != NULL)
        mdb_cursor_close(cur);
    cache_read_end(c, txn);
    return rc == 0 ? 0 : cache_errno(rc);
}
