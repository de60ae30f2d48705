/* SPDX-License-Identifier: MIT */
/* The second compile unit of the chains program: an inline function from
 * another file inlined here. */
#include "chains.h"

static inline __attribute__((always_inline)) unsigned util_mix(unsigned x)
{
    return (x << 5) ^ (x >> 2);
}

__attribute__((noinline)) unsigned twice_util(unsigned x)
{
    unsigned s = x;

    for (unsigned i = 0; i < (x & 3); i++)
        s = util_mix(s) + i;
    return s;
}
