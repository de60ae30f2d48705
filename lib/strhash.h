/* SPDX-License-Identifier: MIT */
/*
 * strhash: a 128-bit hash of a string as 32 hex digits, for naming files
 * after keys of any length (two FNV-1a-64 passes with different offset
 * bases; not cryptographic: keys must not let a client choose collisions
 * that matter, so callers put the scope and source in the key).
 */
#ifndef SYMSRVD_STRHASH_H
#define SYMSRVD_STRHASH_H

/* Hash S into OUT (32 hex digits and a NUL). */
void strhash128_hex(const char *s, char out[33]);

#endif
