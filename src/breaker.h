/* SPDX-License-Identifier: MIT */
/*
 * breaker: a circuit breaker per upstream, the rule Windows' symsrv
 * applies to symbol servers.  After FAILURES timeouts or connection
 * failures within WINDOW the upstream is skipped for COOLDOWN; then one
 * request at a time is let through as a probe: an answer (any status)
 * closes the breaker, another failure opens it for a new cooldown.
 *
 * An upstream that is down otherwise costs every miss its whole retry
 * ladder (with DNS failing, about 5 s each).
 *
 * The state lives in the shared metrics block (metrics.h), so every
 * worker skips the upstream as soon as any worker has seen it fail.  All
 * fields are atomics on that MAP_SHARED mapping; times are CLOCK_MONOTONIC
 * milliseconds, which all processes share.  Races between workers can
 * only count a failure into a fresh window or let a second probe through,
 * never keep a breaker open for good: a probe whose worker died is given
 * up after one cooldown.
 */
#ifndef SYMSRVD_BREAKER_H
#define SYMSRVD_BREAKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct breaker {
    _Atomic int64_t window_start_ms; /* first failure counted, 0: none */
    _Atomic uint32_t failures;       /* in the window */
    _Atomic int64_t open_until_ms;   /* 0: closed */
    _Atomic int64_t probe_ms;        /* a probe started then, 0: none */
    _Atomic uint64_t trips;          /* times it opened */
    _Atomic uint64_t skips;          /* attempts it refused */
};

/* An upstream's settings (config.h's breaker_* keys). */
struct breaker_rule {
    unsigned failures; /* 0: never opens */
    uint64_t window_ms;
    uint64_t cooldown_ms;
};

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

/* May a request go to the upstream now?  False while open, and in the
 * half-open state for everyone but the one probe (counted as skips). */
bool breaker_allow(struct breaker *b, const struct breaker_rule *rule,
                   int64_t now_ms);

/* The outcome of a request that breaker_allow() let through: FAILED for
 * a timeout or connection failure, else the upstream answered.  True when
 * this opened the breaker (for the log). */
bool breaker_record(struct breaker *b, const struct breaker_rule *rule,
                    bool failed, int64_t now_ms);

enum breaker_state breaker_state(const struct breaker *b, int64_t now_ms);
const char *breaker_state_name(enum breaker_state s);

#endif
