/* SPDX-License-Identifier: MIT */
/*
 * bound: binary search of arrays sorted by a uint64_t key, the other half
 * of keysort() (runsort.h) and with the same way of naming the key: the
 * elements are SIZE bytes apart and the key is the uint64_t at byte
 * offset KEY_OFF inside each.
 *
 * Both functions are inline because the symbol table's lookup is one of
 * their callers and the hottest loop we have: with SIZE and KEY_OFF known
 * at the call site the compiler turns the key read into one load, the
 * same code as a loop written out by hand.  The key is read with memcpy,
 * so any element layout is fine.
 */
#ifndef SYMSRVD_BOUND_H
#define SYMSRVD_BOUND_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t bound_key(const void *base, size_t i, size_t size,
                                 size_t key_off)
{
    uint64_t k;

    memcpy(&k, (const char *)base + i * size + key_off, sizeof(k));
    return k;
}

/* The number of elements of BASE[0..N), sorted by key, whose key is <= KEY:
 * the index after the last one at or below KEY (0 when there is none).
 * "The entry starting at or before an address" is the element before it. */
static inline size_t bound_upper(const void *base, size_t n, size_t size,
                                 size_t key_off, uint64_t key)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (bound_key(base, mid, size, key_off) <= key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The number of elements of BASE[0..N), sorted by key, whose key is < KEY:
 * the index of the first one at or above KEY (N when there is none). */
static inline size_t bound_lower(const void *base, size_t n, size_t size,
                                 size_t key_off, uint64_t key)
{
    /* Keys are integers: below KEY is at or below KEY - 1. */
    return key == 0 ? 0 : bound_upper(base, n, size, key_off, key - 1);
}

#endif
