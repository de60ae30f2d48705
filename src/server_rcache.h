/* SPDX-License-Identifier: MIT */
/*
 * server_rcache: per-thread reuse of full-file responses (see
 * server_rcache.c).  Part of the server module.
 */
#ifndef SYMSRVD_SERVER_RCACHE_H
#define SYMSRVD_SERVER_RCACHE_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "symkey.h"

struct server;

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

/* The calling thread's response for KEY stored at CACHED_AT_MS, in the
 * gzip or identity variant, or NULL.  Borrowed: valid until this thread's
 * next rcache call. */
const struct rcache_entry *rcache_get(struct server *s, const char *key,
                                      int64_t cached_at_ms, bool gzip);

/* Keep RESP (taking the caller's reference) with TMPL's fd, size and
 * validators as the calling thread's response for KEY. */
void rcache_put(struct server *s, const char *key, int64_t cached_at_ms,
                bool gzip, const struct rcache_entry *tmpl,
                struct MHD_Response *resp);

/* Drop every thread's responses; after the MHD threads have stopped. */
void rcache_free_all(struct server *s);

#endif
