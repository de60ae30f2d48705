/* SPDX-License-Identifier: MIT */
/*
 * inflight: the worker's table of downloads in progress, keyed by the
 * canonical symbol key, and the state each waiting client watches.
 *
 * DESIGN.  The first request for a missing key creates a struct dl and
 * queues one download job; every later request for the same key joins
 * it.  A client never blocks a thread: it registers a waiter (a wake
 * callback, which the server points at MHD_resume_connection) and
 * suspends.  The downloader publishes progress under dl->lock and wakes
 * every registered waiter; waiters are one-shot and re-register when they
 * need to wait again.  Clients read the growing temp file through dl->fd
 * with pread at their own pace, so a slow client never slows the download
 * and a large file is never held in memory.
 *
 * LOCKING.  The table lock protects the hash chains; dl->lock protects
 * the fields marked below.  Order: table lock, then dl->lock.  Wake
 * callbacks run with dl->lock held, so they must not take it again.
 */
#ifndef SYMSRVD_INFLIGHT_H
#define SYMSRVD_INFLIGHT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "symkey.h"

struct inflight;

enum dl_state {
    DL_PENDING,   /* queued or connecting: no byte yet */
    DL_STREAMING, /* bytes arriving in the temp file */
    DL_DONE,      /* complete and in the cache */
    DL_FAILED,    /* nothing cached; see reason */
};

enum dl_reason {
    DL_REASON_NONE,
    DL_REASON_NOT_FOUND,      /* every upstream said 404 */
    DL_REASON_UPSTREAM_ERROR, /* 5xx, resets, truncation, no space... */
    DL_REASON_TIMEOUT,        /* an upstream timed out */
};

/* A client waiting on a download; embedded in the server's request. */
struct dl_waiter {
    void (*wake)(void *arg);  /* called once, with dl->lock held */
    void *arg;
    uint64_t deadline_ms;     /* first-byte deadline (0: none) */
    bool timed_out;           /* set by inflight_expire() before wake */
    struct dl_waiter *next;   /* protected by dl->lock */
    struct dl_waiter **pprev; /* protected by dl->lock; NULL: not queued */
};

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
    char upstream[48];          /* protected by lock */
    struct dl_waiter *waiters;  /* protected by lock */
    struct inflight *table;     /* immutable */
    struct dl *next;            /* protected by table lock */
};

struct inflight *inflight_new(void);
void inflight_free(struct inflight *t); /* table must be empty */

/* Find KEY's download or create a new PENDING one (with ORIG's case).
 * *CREATED says which.  Returns a new reference (dl_unref()). */
struct dl *inflight_get(struct inflight *t, const char *key,
                        const struct symkey *orig, bool *created);

/* Number of downloads in the table. */
unsigned inflight_count(struct inflight *t);

void dl_ref(struct dl *d);
void dl_unref(struct dl *d); /* closes fd and frees at zero */

/* With d->lock held: queue W to be woken at the next state change or
 * progress; and take it off again (no-op when not queued). */
void dl_wait(struct dl *d, struct dl_waiter *w);
void dl_unwait(struct dl *d, struct dl_waiter *w);

/* Downloader side.  Each takes d->lock and wakes every waiter. */
void dl_stream(struct dl *d, int fd, int64_t length, const char *upstream);
void dl_progress(struct dl *d, uint64_t written);
/* Finish: DONE (OK) or FAILED with REASON; removes D from the table. */
void dl_finish(struct dl *d, bool ok, enum dl_reason reason);

/* Wake (with timed_out set) every waiter whose first-byte deadline is at
 * or before NOW_MS while its download has no byte yet.  Returns how many. */
unsigned inflight_expire(struct inflight *t, uint64_t now_ms);

const char *dl_reason_name(enum dl_reason reason);

#endif
