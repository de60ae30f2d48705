/* SPDX-License-Identifier: MIT */
/*
 * listing: JSON documents of the HTTP API.  The only file that builds
 * json_t.  Each function returns a new string the caller frees.
 */
#ifndef SYMSRVD_LISTING_H
#define SYMSRVD_LISTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cache_entry;

/* One /symbols element for the canonical KEY (KEYLEN bytes, not
 * NUL-terminated).  NEGATIVE: a remembered miss, E->cached_at_ms being
 * its expiry. */
char *listing_entry(const char *key, size_t keylen,
                    const struct cache_entry *e, bool negative);

/* The JSON string literal for S, quotes included (for the cursor). */
char *listing_string(const char *s);

/* One upstream's line in /health. */
struct listing_upstream {
    const char *name;
    const char *breaker; /* breaker_state_name() */
};

/* The /health document, with the N upstreams UPS: "status" is "ok", or
 * "degraded" with DEGRADED (NULL: not) as its "reason". */
char *listing_health(const char *degraded, int64_t uptime_s,
                     unsigned workers, uint64_t entries,
                     uint64_t bytes, const struct listing_upstream *ups,
                     size_t n);

#endif
