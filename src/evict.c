/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "evict.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cache.h"
#include "log.h"
#include "metrics.h"
#include "publish.h"
#include "nospace.h"
#include "store.h"
#include "timeutil.h"
#include "xalloc.h"

/* How often the symbol tables' bytes are measured when nothing is due. */
#define EVICT_SCAN_MS 60000
/* A full index that may not grow loses 1/EVICT_INDEX_SHARE of the cache. */
#define EVICT_INDEX_SHARE 8
/* Files whose records go in one index write (each holds a lock fd). */
#define EVICT_BATCH 64

struct evict {
    const char *dir;
    struct cache *cache;
    uint64_t max_size, min_free;
    uint64_t tables;       /* symbol-table bytes at the last scan */
    uint64_t used;         /* last count */
    uint64_t next_scan_ms; /* monotonic; 0: scan at the first tick */
    bool keep_published;   /* published files are not candidates */
};

/* The items being collected by a scan. */
struct scan {
    struct evict_item *v;
    size_t n, cap;
    bool keep_published;
};

uint64_t evict_need(uint64_t used, uint64_t max_size, uint64_t avail,
                    uint64_t min_free)
{
    uint64_t need = 0, want;

    if (max_size > 0 && used > max_size)
        need = used - max_size / 10 * 9;
    want = min_free + min_free / 10;
    if (min_free > 0 && avail < min_free && want - avail > need)
        need = want - avail;
    return need;
}

static int item_cmp(const void *a, const void *b)
{
    const struct evict_item *x = a, *y = b;

    if (x->last_ms != y->last_ms)
        return x->last_ms < y->last_ms ? -1 : 1;
    return strcmp(x->key, y->key);
}

size_t evict_order(struct evict_item *v, size_t n, uint64_t need)
{
    uint64_t sum = 0;
    size_t i;

    /* qsort() must not be given the null array of an empty scan (every
     * record kept), even for no items: the sanitizer build stops on it */
    if (n > 1)
        qsort(v, n, sizeof(*v), item_cmp);
    for (i = 0; i < n && sum < need; i++)
        sum += v[i].bytes;
    return i;
}

struct evict *evict_new(const char *dir, struct cache *cache,
                        uint64_t max_size, uint64_t min_free)
{
    struct evict *ev = xcalloc(1, sizeof(*ev));

    ev->dir = dir;
    ev->cache = cache;
    ev->max_size = max_size;
    ev->min_free = min_free;
    return ev;
}

void evict_keep_published(struct evict *ev, bool keep)
{
    ev->keep_published = keep;
}

void evict_free(struct evict *ev)
{
    free(ev);
}

uint64_t evict_used(const struct evict *ev)
{
    return ev->used;
}

static uint64_t file_bytes(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static struct evict_item *scan_add(struct scan *s)
{
    struct evict_item *it;

    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
    }
    it = &s->v[s->n++];
    memset(it, 0, sizeof(*it));
    return it;
}

static bool collect(void *arg, const char *key, size_t keylen,
                    const struct cache_entry *e)
{
    struct scan *s = arg;
    struct evict_item *it;

    if (s->keep_published && strcmp(e->upstream, PUBLISH_LABEL) == 0)
        return true;
    it = scan_add(s);
    it->key = xstrndup(key, keylen);
    it->bytes = e->size + (e->gz == CACHE_GZ_READY ? e->gz_size : 0);
    it->last_ms = e->last_access_ms ? e->last_access_ms : e->cached_at_ms;
    it->cached_at_ms = e->cached_at_ms;
    return true;
}

static void scan_free(struct scan *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->v[i].key);
    free(s->v);
}

/* The tables under .Symsrvd/tables as loose items; their bytes. */
static uint64_t scan_loose(const struct evict *ev, struct scan *s)
{
    char *tdir = xasprintf("%s/.Symsrvd/tables", ev->dir), *path;
    DIR *d = opendir(tdir);
    struct dirent *de;
    struct evict_item *it;
    struct stat st;
    uint64_t bytes = 0;

    while (d != NULL && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        path = xasprintf("%s/%s", tdir, de->d_name);
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        it = scan_add(s);
        it->key = path;
        it->loose = true;
        it->bytes = (uint64_t)st.st_size;
        it->last_ms = (int64_t)st.st_atim.tv_sec * 1000 +
                      st.st_atim.tv_nsec / 1000000;
        bytes += it->bytes;
    }
    if (d != NULL)
        closedir(d);
    free(tdir);
    return bytes;
}

/* Every indexed file with its bytes, symbol tables included, and the
 * loose tables; refreshes ev->tables. */
static int scan(struct evict *ev, struct scan *s)
{
    char path[STORE_PATH_MAX];
    uint64_t tables = 0, t;
    bool more;
    size_t i;
    int rc;

    memset(s, 0, sizeof(*s));
    s->keep_published = ev->keep_published;
    rc = cache_list(ev->cache, false, NULL, NULL, SIZE_MAX, collect, s,
                    &more);
    if (rc != 0)
        return rc;
    for (i = 0; i < s->n; i++) {
        if (store_table_path(ev->dir, s->v[i].key, path, sizeof(path)) != 0)
            continue;
        t = file_bytes(path);
        s->v[i].bytes += t;
        tables += t;
    }
    ev->tables = tables + scan_loose(ev, s);
    return 0;
}

static uint64_t avail_bytes(const struct evict *ev)
{
    struct statvfs sv;

    if (ev->min_free == 0 || statvfs(ev->dir, &sv) != 0)
        return UINT64_MAX;
    return (uint64_t)sv.f_bavail * sv.f_frsize;
}

/* A full index refused a batch: records spread over many pages need as
 * many new ones (LMDB copies what it changes), one record only a few, so
 * the reserve a full map keeps for removals suffices for them. */
static void remove_one_by_one(struct evict *ev, const char *const *keys,
                              size_t n, struct evict_stats *st)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (cache_remove(ev->cache, keys[i]) == 0) {
            st->evicted++;
            metrics_add(&metrics->evictions, 1);
        }
    }
}

/* A loose table: derived and rebuilt on its next use, so no lock. */
static void evict_loose(const struct evict_item *it, struct evict_stats *st)
{
    if (unlink(it->key) != 0) {
        if (errno != ENOENT)
            log_warn("evict %s", it->key);
        return;
    }
    st->evicted++;
    st->freed += it->bytes;
    metrics_add(&metrics->evictions, 1);
    metrics_add(&metrics->evicted_bytes, it->bytes);
}

/* Unlink the files of up to EVICT_BATCH items, then drop their records
 * in one index write: one sync per batch, not per file.  Returns how many
 * of V were handled. */
static size_t evict_batch(struct evict *ev, const struct evict_item *v,
                          size_t n, struct evict_stats *st)
{
    const char *keys[EVICT_BATCH];
    int fds[EVICT_BATCH];
    size_t i, held = 0;
    uint64_t freed;
    int rc;

    for (i = 0; i < n && i < EVICT_BATCH; i++) {
        if (v[i].loose) {
            evict_loose(&v[i], st);
            continue;
        }
        rc = store_evict_files(ev->dir, ev->cache, v[i].key,
                               v[i].cached_at_ms, &freed);
        if (rc >= 0) {
            keys[held] = v[i].key;
            fds[held++] = rc;
            st->freed += freed;
            metrics_add(&metrics->evicted_bytes, freed);
        } else if (rc == -EBUSY || rc == -ESTALE) {
            st->skipped++;
        } else if (rc != -ENOENT) {
            errno = -rc;
            log_warn("evict %s", v[i].key);
        }
    }
    rc = cache_remove_many(ev->cache, keys, held);
    if (rc == 0) {
        st->evicted += held;
        metrics_add(&metrics->evictions, held);
    } else if (rc == -ENOSPC) {
        remove_one_by_one(ev, keys, held, st);
    }
    while (held > 0)
        close(fds[--held]); /* releases the locks */
    return i;
}

static void evict_items(struct evict *ev, struct scan *s, size_t k,
                        const atomic_bool *stop, struct evict_stats *st)
{
    size_t i = 0;

    while (i < k && !atomic_load(stop))
        i += evict_batch(ev, s->v + i, k - i, st);
}

/* What downloads that found no space (nospace.h) ask the evictor for:
 * the bytes they needed, when emptying the cache could make room for them
 * at all (a body larger than the cache and the free space together is no
 * reason to lose the cache); and for a full index a share of the cache,
 * since a record's room in the map does not follow its file's size. */
static uint64_t worth_evicting(const struct evict *ev)
{
    struct statvfs sv;
    bool index_full;
    uint64_t avail, wanted = nospace_take_wanted(&index_full);

    if (index_full)
        return ev->used / EVICT_INDEX_SHARE;
    if (wanted == 0 || statvfs(ev->dir, &sv) != 0)
        return 0;
    avail = (uint64_t)sv.f_bavail * sv.f_frsize;
    if (wanted > ev->used + avail) {
        log_info("no eviction for %llu bytes: the cache and the free space "
                 "hold %llu", (unsigned long long)wanted,
                 (unsigned long long)(ev->used + avail));
        return 0;
    }
    return wanted;
}

int evict_tick(struct evict *ev, uint64_t now_ms, const atomic_bool *stop,
               struct evict_stats *out)
{
    struct evict_stats st = {0, 0, 0};
    struct scan s = {NULL, 0, 0, false};
    uint64_t entries, bytes, gz, need, wanted;
    bool scanned = false;
    int rc;

    rc = cache_totals_gz(ev->cache, &entries, &bytes, &gz);
    if (rc != 0)
        return rc;
    if (ev->max_size > 0 && now_ms >= ev->next_scan_ms) {
        rc = scan(ev, &s);
        if (rc != 0)
            goto out;
        scanned = true;
        ev->next_scan_ms = now_ms + EVICT_SCAN_MS;
    }
    ev->used = bytes + gz + ev->tables;
    wanted = worth_evicting(ev);
    /* a download that found no space asks for its bytes on top */
    need = evict_need(ev->used, ev->max_size, avail_bytes(ev), ev->min_free) +
           wanted;
    if (need == 0)
        goto out;
    if (!scanned) {
        rc = scan(ev, &s);
        if (rc != 0)
            goto out;
        ev->used = bytes + gz + ev->tables;
        need = evict_need(ev->used, ev->max_size, avail_bytes(ev),
                          ev->min_free) + wanted;
    }
    evict_items(ev, &s, evict_order(s.v, s.n, need), stop, &st);
    ev->used = ev->used > st.freed ? ev->used - st.freed : 0;
    ev->next_scan_ms = 0; /* the evicted files' tables are gone too */
    if (st.evicted > 0)
        log_info("evicted %zu files, %llu bytes in %llu ms (%zu skipped)",
                 st.evicted, (unsigned long long)st.freed,
                 (unsigned long long)(mono_ms() - now_ms), st.skipped);
out:
    scan_free(&s);
    if (out != NULL) {
        out->evicted += st.evicted;
        out->freed += st.freed;
        out->skipped += st.skipped;
    }
    return rc;
}
