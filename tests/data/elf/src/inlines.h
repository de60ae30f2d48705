/* SPDX-License-Identifier: MIT */
/* Test program for check_elfdw: an inline function from a header, so
 * inline frames name a different file than their caller. */
#ifndef INLINES_H
#define INLINES_H

static inline __attribute__((always_inline)) unsigned mix(unsigned x)
{
    x ^= x >> 7;
    x *= 0x9e3779b1u;
    return x ^ (x >> 13);
}

unsigned util_hash(const char *s);
unsigned util_fold(const unsigned *v, int n);

#endif
