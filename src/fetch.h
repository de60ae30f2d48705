/* SPDX-License-Identifier: MIT */
/*
 * fetch: the downloader pool: every symbol file is downloaded here (the
 * other users of libcurl only parse URLs or get gcs tokens, gcsauth.h).
 *
 * DESIGN.  `downloaders` threads per worker pop jobs from a lock-free
 * queue (lib/jobq).  A download job takes an exclusive flock on the
 * symbol's lock file, which deduplicates across the pre-forked workers;
 * when another process holds it, the thread tails that process's temp
 * file instead (fetch_tail.c), so its clients stream too.  With the lock,
 * it re-checks the index, then tries the upstreams in order: the body goes
 * into a temp file under the cache directory and waiting clients read it
 * as it grows.  Only a complete body whose length matches the announced
 * one is handed to store_publish() (fsync, rename, index record);
 * anything else unlinks it.  Transient faults are retried with
 * exponential backoff and jitter and never recorded as a miss; a negative
 * record is written only when every upstream said 404.  A body cut after
 * clients read some of it cannot start again: it is resumed with a Range
 * request guarded by If-Range, and fails if the answer is not exactly the
 * rest of the same file.  Gzip jobs make
 * the store's gzip copies (store_make_gzip()), once per key at a time.
 *
 * THREADS.  Each downloader owns one curl easy handle for its life, so
 * upstream connections are kept alive and reused.
 */
#ifndef SYMSRVD_FETCH_H
#define SYMSRVD_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct cache;
struct dl;
struct fetch;
struct symkey;

/* A download from a place the configuration does not name (a
 * /symbolicate request's http or s3 source), attached to its struct dl
 * with dl_set_origin(d, o, fetch_origin_free) before fetch_download().
 * The pool stores it under the download's key like any other file:
 * coalesced, decoded, published, its 404 remembered under that key.
 * Redirects are followed by hand, CHECK approving every hop first; the
 * headers and keys go to the first URL only.  No retries. */
struct fetch_origin {
    char *label;     /* the source's name, for logs and the index */
    char *urls[2];   /* the file, then its compressed twin (or NULL) */
    char **headers;  /* "Name: value" lines, NULL-terminated (or NULL) */
    char *sigv4;     /* CURLOPT_AWS_SIGV4, or NULL */
    char *userpwd;   /* its "key:secret" (never logged) */
    /* 0 when URL may be fetched, with RESOLVE the
     * "host:port:address[,address]..." to pin the connection to ("" for
     * none; at most FETCH_ORIGIN_PIN_MAX bytes); else -errno and DETAIL. */
    int (*check)(const void *arg, const char *url, char *resolve,
                 size_t rlen, char *detail, size_t dlen);
    const void *check_arg;
    uint64_t max_size;   /* 0: no limit */
    uint64_t timeout_ms; /* per hop */
    /* Written by the downloader before the download finishes. */
    long status;       /* the last HTTP status */
    char detail[256];  /* why it failed */
};

void fetch_origin_free(void *o); /* NULL-safe */

/* Redirects an origin may send before the download fails. */
#define FETCH_ORIGIN_REDIRECTS 5

/* The room a check has for its pin: a name, its port and a few dozen
 * addresses. */
#define FETCH_ORIGIN_PIN_MAX 2048

/* Call once per process before any thread starts. */
void fetch_global_init(void);

/* Start CFG->downloaders threads.  CFG and CACHE must outlive the pool.
 * 0 and *OUT, or -errno. */
int fetch_start(const struct config *cfg, struct cache *cache,
                struct fetch **out);

/* Is any of CFG's upstreams asked for KEY?  Symbol stores are asked for
 * symbol-store keys, debuginfod servers for build-id keys. */
bool fetch_serves(const struct config *cfg, const struct symkey *key);

/* Queue the download of D.  Takes a reference on success; false when the
 * queue is full or stopping (D is untouched). */
bool fetch_download(struct fetch *f, struct dl *d);

/* Downloads queued or in progress in this process: a worker that is
 * retiring waits for them (worker.h). */
unsigned fetch_pending(struct fetch *f);

/* Queue the making of KEY's gzip copy (once: repeated requests for a key
 * already queued are dropped).  False when the queue is full. */
bool fetch_gzip(struct fetch *f, const char *key);

/* Abort transfers in progress, fail queued downloads and join the
 * threads.  Afterwards fetch_download() and fetch_gzip() return false, so
 * request handlers may still call them until fetch_free().  NULL-safe. */
void fetch_stop(struct fetch *f);

/* Stop if needed and free F; no other thread may use it any more. */
void fetch_free(struct fetch *f);

#endif
