/* SPDX-License-Identifier: MIT */
/*
 * inflight: the worker's table of downloads in progress, keyed by the
 * canonical symbol key, and the state each waiting client watches.
 *
 * DESIGN.  The first request for a missing key creates a struct dl and
 * queues one download job; every later request for the same key joins
 * it.  A client never blocks a thread: it registers a waiter (a wake
 * callback, which the server points at MHD_resume_connection) and
 * parks (MHD_suspend_connection).  The downloader publishes progress
 * under the download's lock and wakes every registered waiter; waiters
 * are one-shot and re-register when they need to wait again.  A job that
 * needs the whole file (a symbolication thread) may instead block in
 * dl_wait_end(), on a condition variable broadcast when the download
 * ends.  Clients
 * read the growing temp file through the fd dl_readable() hands out, with
 * pread at their own pace, so a slow client never slows the download and
 * a large file is never held in memory.
 *
 * LOCKING.  struct dl and its lock are private to inflight.c: every call
 * below takes what it needs.  Order: table lock, then a download's lock.
 * Wake and park callbacks run with the download's lock held, so they must
 * not call back into this module.
 */
#ifndef SYMSRVD_INFLIGHT_H
#define SYMSRVD_INFLIGHT_H

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
    DL_REASON_UPSTREAM_DOWN,  /* every upstream skipped: breakers open */
    DL_REASON_NO_SPACE,       /* the body could not be stored: nospace.h */
};

/* A client waiting on a download; embedded in the server's request.  The
 * client sets the first four fields; the rest belong to inflight.c. */
struct dl_waiter {
    void (*wake)(void *arg);  /* called once, with the download's lock held */
    void (*park)(void *arg);  /* called when queued, with the lock held, so
                               * no wake can come before the client parks */
    void *arg;
    uint64_t deadline_ms;     /* first-byte deadline (0: none) */
    bool timed_out;           /* set by inflight_expire() before wake */
    struct dl_waiter *next;
    struct dl_waiter **pprev; /* NULL: not queued */
};

/* Where a download stands, as one client reads it at one moment. */
struct dl_status {
    enum dl_state state;
    enum dl_reason reason;    /* FAILED only */
    int64_t length;           /* announced length, -1 unknown */
    char upstream[48];        /* who is sending it (STREAMING, DONE) */
    bool parked;              /* the waiter was queued and parked */
    bool unstored;            /* DONE but not cached: stream it from the
                               * temp file (length is then the body's) */
};

struct dl; /* a download in progress: see inflight.c */

struct inflight *inflight_new(void);
void inflight_free(struct inflight *t); /* table must be empty */

/* Find KEY's download or create a new PENDING one (with ORIG's case).
 * *CREATED says which.  Returns a new reference (dl_unref()). */
struct dl *inflight_get(struct inflight *t, const char *key,
                        const struct symkey *orig, bool *created);

/* Attach ORIGIN (what to fetch instead of the configured upstreams; see
 * fetch.h) to D, which owns it from now on and frees it with FREE_FN.
 * Only the creator, before queueing D. */
void dl_set_origin(struct dl *d, void *origin, void (*free_fn)(void *));
/* D's origin, or NULL: valid while the caller holds a reference. */
void *dl_origin(const struct dl *d);

/* Number of downloads in the table. */
unsigned inflight_count(struct inflight *t);

void dl_ref(struct dl *d);
void dl_unref(struct dl *d); /* closes fd and frees at zero */

/* The canonical key and the first requester's key: immutable, valid
 * while the caller holds a reference. */
const char *dl_key(const struct dl *d);
const struct symkey *dl_orig(const struct dl *d);

/* What the upstream requests of D say about the client that started it:
 * its X-Forwarded-For and Via values (copied; NULL: none).  Set by the
 * creator before the download is queued, read-only after. */
void dl_set_forwarded(struct dl *d, const char *xff, const char *via);
const char *dl_xff(const struct dl *d); /* NULL when unset */
const char *dl_via(const struct dl *d);

/* Client side.  Snapshot D into *ST.  While D has no byte yet and W has
 * not timed out, queue and park W instead (ST->parked): it is woken at
 * the next change or by inflight_expire() at its deadline. */
void dl_status(struct dl *d, struct dl_waiter *w, struct dl_status *st);

/* Client side, streaming from offset POS: how many bytes the client may
 * pread from *FD now (valid while it holds its reference).  The last byte
 * is held back until D is DONE, so no client completes a body the cache
 * has not accepted.  At 0, *STATE says why: STREAMING (W is queued and
 * parked until more arrives), DONE (end of body) or FAILED. */
uint64_t dl_readable(struct dl *d, struct dl_waiter *w, uint64_t pos,
                     int *fd, enum dl_state *state);

/* Client side: take W off D's queue (no-op when not queued). */
void dl_unwait(struct dl *d, struct dl_waiter *w);

/* Job side: block the calling thread until D is DONE or FAILED, or for
 * at most TIMEOUT_MS.  Returns the state then (PENDING or STREAMING when
 * the time ran out); *REASON is the reason when FAILED. */
enum dl_state dl_wait_end(struct dl *d, uint64_t timeout_ms,
                          enum dl_reason *reason);

/* Downloader side.  Each takes the lock and wakes every waiter. */
void dl_stream(struct dl *d, int fd, int64_t length, const char *upstream);
void dl_progress(struct dl *d, uint64_t written);
/* Finish: DONE (OK) or FAILED with REASON; removes D from the table. */
void dl_finish(struct dl *d, bool ok, enum dl_reason reason);
/* Finish DONE without a cached file: the whole body, LENGTH bytes, is in
 * the descriptor given to dl_stream(), which clients read to its end.
 * Jobs waiting in dl_wait_end() see FAILED with DL_REASON_NO_SPACE. */
void dl_finish_unstored(struct dl *d, uint64_t length);

/* Wake (with timed_out set) every waiter whose first-byte deadline is at
 * or before NOW_MS while its download has no byte yet.  Returns how many. */
unsigned inflight_expire(struct inflight *t, uint64_t now_ms);

const char *dl_reason_name(enum dl_reason reason);

#endif
