/* SPDX-License-Identifier: MIT */
/* Second compile unit of the check_elfdw test program: inlining across
 * static functions GCC decides to inline on its own at -O2. */
#include <string.h>

#include "inlines.h"

static unsigned step(unsigned h, unsigned char c)
{
    return mix(h ^ c) * 31u;
}

unsigned util_hash(const char *s)
{
    unsigned h = 2166136261u;
    size_t n = strlen(s);

    for (size_t i = 0; i < n; i++)
        h = step(h, (unsigned char)s[i]);
    return h;
}

unsigned util_fold(const unsigned *v, int n)
{
    unsigned r = 0;

    for (int i = 0; i < n; i++)
        r = step(r, (unsigned char)v[i]) + mix(v[i]);
    return r;
}
