/* SPDX-License-Identifier: MIT */
/*
 * nospace: the daemon-wide "out of space" condition.
 *
 * A download that cannot be written (ENOSPC, EDQUOT), that would pass
 * [cache] max_tmp_size, or whose index record does not fit the LMDB map
 * reports it here.  The state lives in the shared metrics block, so
 * /health and /metrics say the same in every worker, and the janitor's
 * evictor (whichever worker runs it) learns how many bytes were wanted.
 * The condition ends at the next download stored, or NOSPACE_HOLD_MS
 * after the last report: with no misses nothing would clear it.
 */
#ifndef SYMSRVD_NOSPACE_H
#define SYMSRVD_NOSPACE_H

#include <stdbool.h>
#include <stdint.h>

#define NOSPACE_HOLD_MS (60 * 1000)

enum nospace_where {
    NOSPACE_DISK,  /* the file system refused a write */
    NOSPACE_INDEX, /* the LMDB map is full and may not grow */
    NOSPACE_TMP,   /* max_tmp_size reached */
    NOSPACE_WHERE_N
};

/* Is -ERR (a negative errno) a lack of space? */
bool nospace_errno(int err);

/* Report the condition at WHERE for KEY, which needed WANT more bytes
 * (0: unknown): counted, logged on the first report of a spell, and WANT
 * (or, for the index, a share of the cache) asked of the evictor. */
void nospace_note(enum nospace_where where, const char *key, uint64_t want);

/* A download was stored: the condition, if any, is over. */
void nospace_clear(void);

/* The reason to report at NOW_MS (wall clock), e.g. "no space: disk", or
 * NULL when there is space. */
const char *nospace_reason(int64_t now_ms);

/* Bytes the evictor was asked to free since the last call, and whether
 * the index was found full (both reset). */
uint64_t nospace_take_wanted(bool *index_full);

const char *nospace_where_name(enum nospace_where where);

#endif
