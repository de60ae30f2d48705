/* SPDX-License-Identifier: MIT */
/*
 * jsonin: JSON text into jansson values, for request bodies.
 *
 * jansson's own parser reads a character at a time through a stream and
 * a string buffer; on a /symbolicate body it cost more than symbolicating
 * the frames.  This one scans the text in place and builds the same
 * values: it accepts exactly what json_loadb(JSON_REJECT_DUPLICATES)
 * accepts (RFC 8259, an object or array at the top, UTF-8 checked, no
 * \u0000, no lone surrogates, integers that fit json_int_t, reals that
 * do not overflow, at most 2048 levels, no duplicate keys) and gives
 * equal values (json_equal()); tests/fuzz/fuzz_jsonin.c holds it to that.
 * One difference: jansson skips a NUL byte right after a number or a
 * literal ("[1\0]"); jsonin refuses it, as RFC 8259 does.
 *
 * THREADS.  Any thread; no state.
 */
#ifndef SYMSRVD_JSONIN_H
#define SYMSRVD_JSONIN_H

#include <jansson.h>
#include <stddef.h>

/* Parse TEXT[0..LEN).  The new value, or NULL with ERR (a reason, then
 * " at line L column C") set. */
json_t *jsonin_parse(const char *text, size_t len, char *err, size_t errlen);

#endif
