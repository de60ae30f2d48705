/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "nospace.h"

#include <errno.h>
#include <stdatomic.h>

#include "log.h"
#include "metrics.h"
#include "timeutil.h"

bool nospace_errno(int err)
{
    return err == -ENOSPC || err == -EDQUOT;
}

const char *nospace_where_name(enum nospace_where where)
{
    static const char *const names[NOSPACE_WHERE_N] = {"disk", "index",
                                                       "tmp"};

    return (unsigned)where < NOSPACE_WHERE_N ? names[where] : "disk";
}

void nospace_note(enum nospace_where where, const char *key, uint64_t want)
{
    int64_t prev;

    if (metrics == NULL) /* unit tests of the store */
        return;
    metrics_add(&metrics->no_space[where], 1);
    /* the temp limit is not the disk's: evicting would not help */
    if (where == NOSPACE_DISK)
        atomic_fetch_add_explicit(&metrics->evict_wanted, want,
                                  memory_order_relaxed);
    else if (where == NOSPACE_INDEX)
        atomic_store_explicit(&metrics->evict_index, true,
                              memory_order_relaxed);
    atomic_store_explicit(&metrics->no_space_where, (int)where,
                          memory_order_relaxed);
    prev = atomic_exchange_explicit(&metrics->no_space_ms, wall_ms(),
                                    memory_order_relaxed);
    /* one line per spell, not one per refused download */
    if (prev == 0)
        log_warnx("no space (%s) for %s: downloads are not stored until "
                  "space is freed", nospace_where_name(where), key);
}

void nospace_clear(void)
{
    if (metrics == NULL) /* unit tests of the store */
        return;
    if (atomic_exchange_explicit(&metrics->no_space_ms, 0,
                                 memory_order_relaxed) != 0)
        log_info("space again: downloads are stored");
}

const char *nospace_reason(int64_t now_ms)
{
    static const char *const reasons[NOSPACE_WHERE_N] = {
        "no space: disk", "no space: index", "no space: max_tmp_size"};
    int64_t at = atomic_load_explicit(&metrics->no_space_ms,
                                      memory_order_relaxed);
    int where = atomic_load_explicit(&metrics->no_space_where,
                                     memory_order_relaxed);

    if (at == 0 || now_ms - at >= NOSPACE_HOLD_MS)
        return NULL;
    return reasons[(unsigned)where < NOSPACE_WHERE_N ? where : 0];
}

uint64_t nospace_take_wanted(bool *index_full)
{
    *index_full = atomic_exchange_explicit(&metrics->evict_index, false,
                                           memory_order_relaxed);
    return atomic_exchange_explicit(&metrics->evict_wanted, 0,
                                    memory_order_relaxed);
}
