/* SPDX-License-Identifier: MIT */
/*
 * fetch_int: what fetch.c shares with fetch_tail.c.  Not for use outside
 * the fetch module.
 */
#ifndef SYMSRVD_FETCH_INT_H
#define SYMSRVD_FETCH_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct cache;
struct dl;

/* --- fetch_tail.c: a download another worker process holds ------------- */

/* Write the sidecar INFO that lets other workers' clients stream this
 * download: the announced LENGTH, or -1 when unknown.  Best effort. */
void fetch_tail_announce(const char *info, int64_t length);

/* Stream the temp file of the process that holds D's lock file (LOCKFD,
 * whose lock we failed to take) to D's clients until that lock is
 * released or STOP is set; DIR and CACHE say whether it was published.
 * Returns true when D was finished here; false when the other download
 * failed before any byte reached our clients, in which case we now hold
 * LOCKFD and should download ourselves. */
bool fetch_tail(const char *dir, struct cache *cache, const atomic_bool *stop,
                struct dl *d, int lockfd);

#endif
