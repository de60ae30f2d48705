/* SPDX-License-Identifier: MIT */
/*
 * httphdr: pure parsers for the request headers the hit path honours
 * (Range, If-None-Match), kept free of any HTTP library so they can be
 * unit-tested and fuzzed on their own.
 */
#ifndef SYMSRVD_HTTPHDR_H
#define SYMSRVD_HTTPHDR_H

#include <stdbool.h>
#include <stdint.h>

/* Parse a Range header VALUE against a representation of SIZE bytes.
 * 0: one satisfiable range [*OFF, *OFF + *LEN) (answer 206).
 * -ERANGE: syntactically valid but unsatisfiable (answer 416).
 * -EINVAL: not a single byte range we serve (malformed, another unit, or
 *          several ranges): ignore it and answer 200 with the whole body,
 *          as RFC 9110 allows. */
int httphdr_range(const char *value, uint64_t size, uint64_t *off,
                  uint64_t *len);

/* Does the If-None-Match VALUE match ETAG (weak comparison, "*" matches
 * anything)?  ETAG includes its quotes. */
bool httphdr_etag_match(const char *value, const char *etag);

#endif
