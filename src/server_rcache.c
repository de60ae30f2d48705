/* SPDX-License-Identifier: MIT */
/*
 * server_rcache: each MHD pool thread keeps its last few full-file
 * responses (fd or mapped, see server_symbol.c) for reuse.
 *
 * WHY.  A libmicrohttpd response is reference-counted and may be queued
 * on any number of connections; sendfile reads at an explicit offset and
 * a mapping is read-only, so one open file serves them all.  Reusing it
 * saves, per hit, the open,
 * fstat and close, the response construction, its six header allocations
 * and the date formatting.  The cache is per thread, so it needs no lock;
 * an entry is used only while the index still records the same store
 * time (a re-download replaces it) and the file still has a link (fstat:
 * a file deleted behind the index is dropped and re-fetched as before).
 *
 * An open response keeps its file's blocks allocated after eviction or
 * replacement unlinks it, and a thread that serves nothing more never
 * looks at its slots again; so the worker's housekeeping sweeps every
 * thread's cache for unlinked files.  Each cache has a mutex for that:
 * uncontended on the hit path, since only the sweep takes it from outside.
 */
#include "symsrvd_config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "server_int.h"
#include "server_rcache.h"
#include "xalloc.h"

#define RCACHE_SLOTS 32

struct rcache {
    pthread_mutex_t lock; /* the owner thread's hits against the sweep */
    struct rcache_entry slots[RCACHE_SLOTS];
    struct server *owner;
    struct rcache *next; /* protected by owner->rcache_lock */
};

static _Thread_local struct rcache *tl_rcache;

static unsigned slot_of(const char *key, bool gzip)
{
    uint32_t h = gzip ? 0x9e3779b9u : 2166136261u;

    for (; *key != '\0'; key++)
        h = (h ^ (unsigned char)*key) * 16777619u;
    return h % RCACHE_SLOTS;
}

static struct rcache *my_rcache(struct server *s)
{
    struct rcache *rc = tl_rcache;

    if (rc != NULL && rc->owner == s)
        return rc;
    rc = xcalloc(1, sizeof(*rc));
    pthread_mutex_init(&rc->lock, NULL);
    rc->owner = s;
    pthread_mutex_lock(&s->rcache_lock);
    rc->next = s->rcaches;
    s->rcaches = rc;
    pthread_mutex_unlock(&s->rcache_lock);
    tl_rcache = rc;
    return rc;
}

static void entry_clear(struct rcache_entry *e)
{
    if (e->resp != NULL)
        MHD_destroy_response(e->resp); /* drops our reference; MHD closes
                                        * the fd with the last one */
    memset(e, 0, sizeof(*e));
}

struct rcache *rcache_enter(struct server *s)
{
    struct rcache *rc = my_rcache(s);

    pthread_mutex_lock(&rc->lock);
    return rc;
}

void rcache_leave(struct rcache *rc)
{
    pthread_mutex_unlock(&rc->lock);
}

static bool unlinked(const struct rcache_entry *e)
{
    struct stat st;

    return fstat(e->fd, &st) != 0 || st.st_nlink == 0;
}

const struct rcache_entry *rcache_get(struct rcache *rc, const char *key,
                                      int64_t cached_at_ms, bool gzip)
{
    struct rcache_entry *e = &rc->slots[slot_of(key, gzip)];

    if (e->resp == NULL || e->gzip != gzip ||
        e->cached_at_ms != cached_at_ms || strcmp(e->key, key) != 0)
        return NULL;
    if (unlinked(e)) {
        entry_clear(e);
        return NULL;
    }
    return e;
}

void rcache_put(struct rcache *rc, const char *key, int64_t cached_at_ms,
                bool gzip, const struct rcache_entry *tmpl,
                struct MHD_Response *resp)
{
    struct rcache_entry *e = &rc->slots[slot_of(key, gzip)];

    entry_clear(e);
    *e = *tmpl;
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->cached_at_ms = cached_at_ms;
    e->gzip = gzip;
    e->resp = resp; /* the caller's reference becomes ours */
}

size_t rcache_sweep(struct server *s)
{
    struct rcache *rc;
    size_t i, dropped = 0;

    pthread_mutex_lock(&s->rcache_lock);
    for (rc = s->rcaches; rc != NULL; rc = rc->next) {
        pthread_mutex_lock(&rc->lock);
        for (i = 0; i < RCACHE_SLOTS; i++) {
            if (rc->slots[i].resp != NULL && unlinked(&rc->slots[i])) {
                entry_clear(&rc->slots[i]);
                dropped++;
            }
        }
        pthread_mutex_unlock(&rc->lock);
    }
    pthread_mutex_unlock(&s->rcache_lock);
    return dropped;
}

void rcache_free_all(struct server *s)
{
    struct rcache *rc, *next;
    size_t i;

    for (rc = s->rcaches; rc != NULL; rc = next) {
        next = rc->next;
        for (i = 0; i < RCACHE_SLOTS; i++)
            entry_clear(&rc->slots[i]);
        pthread_mutex_destroy(&rc->lock);
        free(rc);
    }
    s->rcaches = NULL;
}
