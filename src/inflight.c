/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "inflight.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xalloc.h"

#define INFLIGHT_BUCKETS 256

struct dl {
    char key[SYMKEY_CANON_MAX]; /* immutable */
    struct symkey orig;         /* immutable: first requester's case */
    _Atomic int refs;
    pthread_mutex_t lock;
    enum dl_state state;        /* protected by lock */
    enum dl_reason reason;      /* protected by lock */
    int fd;                     /* protected by lock; -1 until streaming */
    uint64_t written;           /* protected by lock */
    int64_t length;             /* protected by lock; -1 unknown */
    bool unstored;              /* protected by lock; DONE, not cached */
    char upstream[48];          /* protected by lock */
    struct dl_waiter *waiters;  /* protected by lock */
    pthread_cond_t ended;       /* broadcast when DONE or FAILED */
    void *origin;               /* set once by the creator before queueing */
    void (*origin_free)(void *);
    struct inflight *table;     /* immutable */
    struct dl *next;            /* protected by table lock */
    char *xff, *via;            /* set once before the download is queued */
};

struct inflight {
    pthread_mutex_t lock;
    struct dl *buckets[INFLIGHT_BUCKETS]; /* protected by lock */
    unsigned count;                       /* protected by lock */
};

static unsigned key_bucket(const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a: short keys, no adversary gain */

    for (; *key != '\0'; key++)
        h = (h ^ (unsigned char)*key) * 16777619u;
    return h % INFLIGHT_BUCKETS;
}

struct inflight *inflight_new(void)
{
    struct inflight *t = xcalloc(1, sizeof(*t));

    pthread_mutex_init(&t->lock, NULL);
    return t;
}

void inflight_free(struct inflight *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t);
}

static struct dl *dl_new(struct inflight *t, const char *key,
                         const struct symkey *orig)
{
    struct dl *d = xcalloc(1, sizeof(*d));

    snprintf(d->key, sizeof(d->key), "%s", key);
    d->orig = *orig;
    atomic_init(&d->refs, 1); /* the table's */
    pthread_condattr_t ca;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->ended, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&d->lock, NULL);
    d->state = DL_PENDING;
    d->fd = -1;
    d->length = -1;
    d->table = t;
    return d;
}

struct dl *inflight_get(struct inflight *t, const char *key,
                        const struct symkey *orig, bool *created)
{
    unsigned b = key_bucket(key);
    struct dl *d;

    pthread_mutex_lock(&t->lock);
    for (d = t->buckets[b]; d != NULL; d = d->next) {
        if (strcmp(d->key, key) == 0)
            break;
    }
    *created = (d == NULL);
    if (d == NULL) {
        d = dl_new(t, key, orig);
        d->next = t->buckets[b];
        t->buckets[b] = d;
        t->count++;
    }
    dl_ref(d);
    pthread_mutex_unlock(&t->lock);
    return d;
}

void dl_set_origin(struct dl *d, void *origin, void (*free_fn)(void *))
{
    d->origin = origin;
    d->origin_free = free_fn;
}

void *dl_origin(const struct dl *d)
{
    return d->origin;
}

unsigned inflight_count(struct inflight *t)
{
    unsigned n;

    pthread_mutex_lock(&t->lock);
    n = t->count;
    pthread_mutex_unlock(&t->lock);
    return n;
}

static void inflight_remove(struct inflight *t, struct dl *d)
{
    struct dl **pp;
    bool removed = false;

    pthread_mutex_lock(&t->lock);
    for (pp = &t->buckets[key_bucket(d->key)]; *pp != NULL;
         pp = &(*pp)->next) {
        if (*pp == d) {
            *pp = d->next;
            t->count--;
            removed = true;
            break;
        }
    }
    pthread_mutex_unlock(&t->lock);
    if (removed)
        dl_unref(d); /* the table's reference */
}

void dl_ref(struct dl *d)
{
    atomic_fetch_add_explicit(&d->refs, 1, memory_order_relaxed);
}

void dl_unref(struct dl *d)
{
    /* acq_rel: the last owner must see every other owner's writes before
     * it frees. */
    if (atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (d->fd >= 0)
        close(d->fd);
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->ended);
    if (d->origin_free != NULL)
        d->origin_free(d->origin);
    free(d->xff);
    free(d->via);
    free(d);
}

const char *dl_key(const struct dl *d)
{
    return d->key;
}

const struct symkey *dl_orig(const struct dl *d)
{
    return &d->orig;
}

void dl_set_forwarded(struct dl *d, const char *xff, const char *via)
{
    free(d->xff);
    free(d->via);
    d->xff = xff != NULL ? xstrdup(xff) : NULL;
    d->via = via != NULL ? xstrdup(via) : NULL;
}

const char *dl_xff(const struct dl *d)
{
    return d->xff;
}

const char *dl_via(const struct dl *d)
{
    return d->via;
}

/* With d->lock held: take W off the queue (no-op when not queued). */
static void waiter_unlink(struct dl_waiter *w)
{
    if (w->pprev == NULL)
        return;
    *w->pprev = w->next;
    if (w->next != NULL)
        w->next->pprev = w->pprev;
    w->next = NULL;
    w->pprev = NULL;
}

/* With d->lock held: queue W and let the client park, before any waker
 * can see it. */
static void waiter_park(struct dl *d, struct dl_waiter *w)
{
    if (w->pprev == NULL) {
        w->timed_out = false;
        w->next = d->waiters;
        if (d->waiters != NULL)
            d->waiters->pprev = &w->next;
        d->waiters = w;
        w->pprev = &d->waiters;
    }
    w->park(w->arg);
}

void dl_unwait(struct dl *d, struct dl_waiter *w)
{
    pthread_mutex_lock(&d->lock);
    waiter_unlink(w);
    pthread_mutex_unlock(&d->lock);
}

void dl_status(struct dl *d, struct dl_waiter *w, struct dl_status *st)
{
    pthread_mutex_lock(&d->lock);
    st->state = d->state;
    st->reason = d->reason;
    st->length = d->length;
    snprintf(st->upstream, sizeof(st->upstream), "%s", d->upstream);
    st->unstored = d->unstored;
    st->parked = d->state == DL_PENDING && !w->timed_out;
    if (st->parked)
        waiter_park(d, w);
    pthread_mutex_unlock(&d->lock);
}

uint64_t dl_readable(struct dl *d, struct dl_waiter *w, uint64_t pos,
                     int *fd, enum dl_state *state)
{
    uint64_t avail;

    pthread_mutex_lock(&d->lock);
    avail = d->written > pos ? d->written - pos : 0;
    /* Hold back the last byte until the file is verified, fsync'd and
     * published: a client never completes a body the cache has not
     * accepted, and its next request is a hit. */
    if (d->state != DL_DONE && d->length >= 0 && avail > 0 &&
        pos + avail >= (uint64_t)d->length)
        avail--;
    *fd = d->fd;
    *state = d->state;
    if (avail == 0 && d->state == DL_STREAMING) {
        w->deadline_ms = 0; /* it had its first byte */
        waiter_park(d, w);
    }
    pthread_mutex_unlock(&d->lock);
    return avail;
}

/* With d->lock held: wake and dequeue every waiter. */
static void wake_all(struct dl *d)
{
    while (d->waiters != NULL) {
        struct dl_waiter *w = d->waiters;

        waiter_unlink(w);
        w->wake(w->arg);
    }
}

void dl_stream(struct dl *d, int fd, int64_t length, const char *upstream)
{
    pthread_mutex_lock(&d->lock);
    d->fd = fd;
    d->length = length;
    d->written = 0;
    snprintf(d->upstream, sizeof(d->upstream), "%s", upstream);
    d->state = DL_STREAMING;
    wake_all(d);
    pthread_mutex_unlock(&d->lock);
}

void dl_progress(struct dl *d, uint64_t written)
{
    pthread_mutex_lock(&d->lock);
    d->written = written;
    wake_all(d);
    pthread_mutex_unlock(&d->lock);
}

void dl_finish(struct dl *d, bool ok, enum dl_reason reason)
{
    /* Leave the table first: a request arriving after this point must go
     * to the cache (or start a new download), not join a finished one. */
    inflight_remove(d->table, d);
    pthread_mutex_lock(&d->lock);
    d->state = ok ? DL_DONE : DL_FAILED;
    d->reason = ok ? DL_REASON_NONE : reason;
    wake_all(d);
    pthread_cond_broadcast(&d->ended);
    pthread_mutex_unlock(&d->lock);
}

void dl_finish_unstored(struct dl *d, uint64_t length)
{
    inflight_remove(d->table, d);
    pthread_mutex_lock(&d->lock);
    d->written = length;
    d->length = (int64_t)length;
    d->unstored = true;
    d->state = DL_DONE;
    d->reason = DL_REASON_NONE;
    wake_all(d);
    pthread_cond_broadcast(&d->ended);
    pthread_mutex_unlock(&d->lock);
}

enum dl_state dl_wait_end(struct dl *d, uint64_t timeout_ms,
                          enum dl_reason *reason)
{
    struct timespec until;
    enum dl_state st;
    int rc = 0;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(timeout_ms / 1000);
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&d->lock);
    while (rc == 0 && d->state != DL_DONE && d->state != DL_FAILED)
        rc = pthread_cond_timedwait(&d->ended, &d->lock, &until);
    st = d->state;
    *reason = d->reason;
    /* a job reads the cached file, which there is not */
    if (d->unstored) {
        st = DL_FAILED;
        *reason = DL_REASON_NO_SPACE;
    }
    pthread_mutex_unlock(&d->lock);
    return st;
}

static unsigned expire_dl(struct dl *d, uint64_t now_ms)
{
    struct dl_waiter *w, *next;
    unsigned n = 0;

    pthread_mutex_lock(&d->lock);
    if (d->state == DL_PENDING) {
        for (w = d->waiters; w != NULL; w = next) {
            next = w->next;
            if (w->deadline_ms == 0 || w->deadline_ms > now_ms)
                continue;
            waiter_unlink(w);
            w->timed_out = true;
            w->wake(w->arg);
            n++;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return n;
}

unsigned inflight_expire(struct inflight *t, uint64_t now_ms)
{
    unsigned b, n = 0;
    struct dl *d;

    pthread_mutex_lock(&t->lock);
    for (b = 0; b < INFLIGHT_BUCKETS; b++) {
        for (d = t->buckets[b]; d != NULL; d = d->next)
            n += expire_dl(d, now_ms);
    }
    pthread_mutex_unlock(&t->lock);
    return n;
}

const char *dl_reason_name(enum dl_reason reason)
{
    switch (reason) {
    case DL_REASON_NOT_FOUND:
        return "not-found";
    case DL_REASON_TIMEOUT: /* "timeout" is the client's miss_timeout */
        return "upstream-timeout";
    case DL_REASON_UPSTREAM_ERROR:
        return "upstream-error";
    case DL_REASON_UPSTREAM_DOWN:
        return "upstream-down";
    case DL_REASON_NO_SPACE:
        return "no-space";
    default:
        return "none";
    }
}
