/* SPDX-License-Identifier: MIT */
/*
 * janitor: the cache's background upkeep, run by one worker of the box.
 *
 * Every worker starts a janitor thread; the one whose process holds the
 * flock on "<dir>/.Symsrvd/janitor.lock" does the work, the others retry
 * the lock once a second, so when that worker dies another takes over
 * (the kernel drops a dead process's locks).  The elected thread first
 * reconciles the index with the files (see reconcile.h; again after a
 * takeover, since its predecessor may have crashed), then checks the
 * cache's limits once a second and evicts (see evict.h).  Requests never
 * wait for it.
 */
#ifndef SYMSRVD_JANITOR_H
#define SYMSRVD_JANITOR_H

struct cache;
struct config;
struct janitor;

/* Start the thread for CFG's cache (CFG and CACHE outlive it).  0 and
 * *OUT, or -errno (logged). */
int janitor_start(const struct config *cfg, struct cache *cache,
                  struct janitor **out);

/* Stop the thread (an eviction in progress stops after its current file)
 * and free J.  NULL-safe. */
void janitor_stop(struct janitor *j);

#endif
