/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "metrics.h"

#include <stdlib.h>
#include <sys/mman.h>

#include "log.h"

struct metrics *metrics; /* immutable after metrics_create */

static const unsigned status_codes[METRICS_STATUS_N - 1] = {
    200, 206, 304, 400, 404, 405, 416, 500, 503,
};

struct metrics *metrics_create(void)
{
    void *p = mmap(NULL, sizeof(struct metrics), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        fatal("mmap shared metrics");
    metrics = p; /* zero-filled by the kernel */
    return metrics;
}

void metrics_add(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

void metrics_gauge_add(_Atomic int64_t *gauge, int64_t n)
{
    atomic_fetch_add_explicit(gauge, n, memory_order_relaxed);
}

uint64_t metrics_get(_Atomic uint64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

void metrics_count_status(unsigned status)
{
    size_t i;

    for (i = 0; i < METRICS_STATUS_N - 1; i++) {
        if (status_codes[i] == status)
            break;
    }
    metrics_add(&metrics->requests[i], 1);
}

const char *metrics_status_label(size_t index)
{
    static const char *const labels[METRICS_STATUS_N] = {
        "200", "206", "304", "400", "404",
        "405", "416", "500", "503", "other",
    };

    return index < METRICS_STATUS_N ? labels[index] : "other";
}

const char *metrics_kind_name(enum metrics_kind kind)
{
    static const char *const names[METRICS_KIND_N] = {
        "hit", "miss", "coalesced", "negative", "bad", "other",
    };

    return names[kind];
}

const char *metrics_outcome_name(enum metrics_outcome outcome)
{
    static const char *const names[METRICS_UP_OUTCOME_N] = {
        "ok", "not_found", "error", "timeout", "connect_error", "retry",
    };

    return names[outcome];
}
