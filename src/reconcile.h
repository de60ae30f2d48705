/* SPDX-License-Identifier: MIT */
/*
 * reconcile: make the index and the files under the cache directory agree
 * after a crash or an admin's copy, run once by the janitor after start
 * (in the background: requests are served meanwhile, and the hit path
 * already copes with each disagreement on its own until it runs).
 *
 *   - temp files of downloads whose writer died are removed;
 *   - records whose file is missing, or has another size than recorded,
 *     are dropped (and such a file removed): the next miss fetches it;
 *   - gzip copies and symbol tables whose file is gone are removed;
 *   - files at "<name>/<ID>/<file>" without a record are adopted, when the
 *     path is a canonical key (see symkey.h) and the file has not changed
 *     for RECONCILE_SETTLE_S seconds (a copy still being written is left
 *     for the next start).  This is how an admin seeds the cache with a
 *     symstore tree.
 *
 * Every change to a key is made under its download lock, so a download
 * of that key running meanwhile is never undone; such keys are skipped.
 */
#ifndef SYMSRVD_RECONCILE_H
#define SYMSRVD_RECONCILE_H

#include <stdatomic.h>
#include <stdbool.h>

#define RECONCILE_SETTLE_S 60

struct cache;

struct reconcile_stats {
    unsigned tmp_removed;
    unsigned dropped;  /* records without a whole file */
    unsigned orphans;  /* derived files without their file */
    unsigned adopted;
};

/* Reconcile the cache under DIR with its index CACHE, stopping early when
 * *STOP becomes true.  Fills *OUT.  0 or -errno. */
int reconcile_run(const char *dir, struct cache *cache,
                  const atomic_bool *stop, struct reconcile_stats *out);

#endif
