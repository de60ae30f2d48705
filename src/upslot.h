/* SPDX-License-Identifier: MIT */
/*
 * upslot: which row of the shared per-upstream state (metrics.h: the
 * breakers and the upstream counters) each configured upstream uses.
 *
 * Without a reload, upstream I uses row I.  A reload may reorder, add or
 * remove upstreams while workers of the old configuration still run, so
 * the rows cannot simply follow the positions: an upstream that keeps its
 * name and URL keeps its row (its breaker and counters go on), and a new
 * one gets a row that no running worker uses, cleared first.  The master
 * computes the map; each worker inherits its generation's map by fork.
 *
 * THREADS.  upslot_init and upslot_reload are the master's, before it
 * forks; upslot_of is read-only afterwards and any thread may call it.
 */
#ifndef SYMSRVD_UPSLOT_H
#define SYMSRVD_UPSLOT_H

#include <stddef.h>

struct config;
struct metrics;

/* No row: the upstream has no breaker and no counters. */
#define UPSLOT_NONE ((size_t)-1)

/* Rows for CFG's upstreams in order (0, 1, ...). */
void upslot_init(const struct config *cfg);

/* Rows for NEXT while workers of the configuration given to the last
 * upslot_init/upslot_reload may still run: their rows are kept.  Rows NEXT
 * takes anew are cleared in M.  Returns the number of upstreams left
 * without a row (every row was in use). */
size_t upslot_reload(const struct config *next, struct metrics *m);

/* Undo the last upslot_reload: its configuration never ran (no worker
 * started with it).  Rows it cleared were unused and stay free. */
void upslot_rollback(void);

/* Row of configured upstream I, or UPSLOT_NONE. */
size_t upslot_of(size_t i);

#endif
