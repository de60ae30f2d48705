/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "breaker.h"

#define RELAXED memory_order_relaxed

/* Half-open: only one probe at a time, unless the last one is older than
 * a cooldown (its worker died before it could report). */
static bool take_probe(struct breaker *b, const struct breaker_rule *rule,
                       int64_t now)
{
    int64_t p = atomic_load_explicit(&b->probe_ms, RELAXED);

    if (p != 0 && now - p < (int64_t)rule->cooldown_ms)
        return false;
    return atomic_compare_exchange_strong(&b->probe_ms, &p, now);
}

bool breaker_allow(struct breaker *b, const struct breaker_rule *rule,
                   int64_t now_ms)
{
    int64_t until = atomic_load_explicit(&b->open_until_ms, RELAXED);

    if (until == 0)
        return true;
    if (now_ms >= until && take_probe(b, rule, now_ms))
        return true;
    atomic_fetch_add_explicit(&b->skips, 1, RELAXED);
    return false;
}

static void close_breaker(struct breaker *b)
{
    atomic_store_explicit(&b->failures, 0, RELAXED);
    atomic_store_explicit(&b->window_start_ms, 0, RELAXED);
    atomic_store_explicit(&b->probe_ms, 0, RELAXED);
    atomic_store_explicit(&b->open_until_ms, 0, RELAXED);
}

/* Count one failure of a closed breaker; open it at the threshold. */
static bool count_failure(struct breaker *b, const struct breaker_rule *rule,
                          int64_t now)
{
    int64_t start = atomic_load_explicit(&b->window_start_ms, RELAXED);
    int64_t closed = 0;
    uint32_t n;

    if (start == 0 || now - start > (int64_t)rule->window_ms) {
        /* a fresh window; a racing worker's failure may land in either */
        atomic_store_explicit(&b->failures, 0, RELAXED);
        atomic_store_explicit(&b->window_start_ms, now, RELAXED);
    }
    n = atomic_fetch_add_explicit(&b->failures, 1, RELAXED) + 1;
    if (rule->failures == 0 || n < rule->failures)
        return false;
    if (!atomic_compare_exchange_strong(&b->open_until_ms, &closed,
                                        now + (int64_t)rule->cooldown_ms))
        return false; /* another worker opened it */
    atomic_store_explicit(&b->probe_ms, 0, RELAXED);
    atomic_fetch_add_explicit(&b->trips, 1, RELAXED);
    return true;
}

bool breaker_record(struct breaker *b, const struct breaker_rule *rule,
                    bool failed, int64_t now_ms)
{
    int64_t until = atomic_load_explicit(&b->open_until_ms, RELAXED);

    if (!failed) {
        if (until != 0)
            close_breaker(b);
        return false;
    }
    if (until == 0)
        return count_failure(b, rule, now_ms);
    if (now_ms >= until) {
        /* the probe failed: another cooldown */
        atomic_store_explicit(&b->open_until_ms,
                              now_ms + (int64_t)rule->cooldown_ms, RELAXED);
        atomic_store_explicit(&b->probe_ms, 0, RELAXED);
    }
    return false;
}

enum breaker_state breaker_state(const struct breaker *b, int64_t now_ms)
{
    int64_t until = atomic_load_explicit(&b->open_until_ms, RELAXED);

    if (until == 0)
        return BREAKER_CLOSED;
    return now_ms < until ? BREAKER_OPEN : BREAKER_HALF_OPEN;
}

const char *breaker_state_name(enum breaker_state s)
{
    switch (s) {
    case BREAKER_OPEN:
        return "open";
    case BREAKER_HALF_OPEN:
        return "half-open";
    default:
        return "closed";
    }
}
