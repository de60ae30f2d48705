/* SPDX-License-Identifier: MIT */
/*
 * server_rcache: per-thread reuse of full-file responses (see
 * server_rcache.c).  Part of the server module.
 */
#ifndef SYMSRVD_SERVER_RCACHE_H
#define SYMSRVD_SERVER_RCACHE_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symkey.h"

struct server;
struct rcache;

struct rcache_entry {
    char key[SYMKEY_CANON_MAX];
    int64_t cached_at_ms;
    bool gzip;
    int fd;          /* owned by resp (sendfile or mapped) */
    uint64_t size;
    char etag[64];
    char last_modified[40];
    struct MHD_Response *resp;
};

/* The calling thread's cache, locked against rcache_sweep() until
 * rcache_leave(): hold it from rcache_get() until the entry's response is
 * queued. */
struct rcache *rcache_enter(struct server *s);
void rcache_leave(struct rcache *rc);

/* RC's response for KEY stored at CACHED_AT_MS, in the gzip or identity
 * variant, or NULL.  Borrowed: valid while RC stays entered and until the
 * next rcache_put(). */
const struct rcache_entry *rcache_get(struct rcache *rc, const char *key,
                                      int64_t cached_at_ms, bool gzip);

/* Keep RESP (taking the caller's reference) with TMPL's fd, size and
 * validators as RC's response for KEY. */
void rcache_put(struct rcache *rc, const char *key, int64_t cached_at_ms,
                bool gzip, const struct rcache_entry *tmpl,
                struct MHD_Response *resp);

/* Drop every thread's responses whose file has been unlinked (evicted,
 * deleted or replaced), so its space is freed.  Returns how many. */
size_t rcache_sweep(struct server *s);

/* Drop every thread's responses; after the MHD threads have stopped. */
void rcache_free_all(struct server *s);

#endif
