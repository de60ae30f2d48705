/* SPDX-License-Identifier: MIT */
/*
 * timeutil: monotonic and wall clocks, HTTP dates (RFC 9110 IMF-fixdate)
 * and RFC 3339 timestamps.
 */
#ifndef SYMSRVD_TIMEUTIL_H
#define SYMSRVD_TIMEUTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC: for durations and deadlines. */
uint64_t mono_ms(void);

/* Milliseconds since the Unix epoch: for stored timestamps. */
int64_t wall_ms(void);

/* Initialise C to time its waits on CLOCK_MONOTONIC (deadlines from
 * mono_ms() or clock_gettime(CLOCK_MONOTONIC)). */
void mono_cond_init(pthread_cond_t *c);

/* Format T as "Sun, 06 Nov 1994 08:49:37 GMT" into BUF (>= 30 bytes). */
void http_date_format(time_t t, char *buf, size_t len);

/* Parse an IMF-fixdate (also the obsolete RFC 850 and asctime forms).
 * 0 and *T, or -EINVAL. */
int http_date_parse(const char *s, time_t *t);

/* Format MS (epoch milliseconds) as "2026-11-21T05:00:00Z" (>= 21 bytes). */
void rfc3339_format(int64_t ms, char *buf, size_t len);

#endif
