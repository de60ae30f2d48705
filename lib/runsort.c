/* SPDX-License-Identifier: MIT */
/*
 * runsort: see runsort.h.  Runs shorter than RUNSORT_MIN are grown to that
 * length by insertion sort, as Timsort does, so that random input still
 * merges in O(n log n) and the run list stays small.  Merging is
 * bottom-up, pairwise, alternating between BASE and one scratch array.
 */
#include "symsrvd_config.h"

#include "runsort.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define RUNSORT_MIN 32

struct runsort_ctx {
    size_t size;
    int (*cmp)(const void *, const void *, void *);
    void *ctx;
};

static int rs_cmp(const struct runsort_ctx *s, const char *a, const char *b)
{
    return s->cmp(a, b, s->ctx);
}

/* Insert element I of the sorted BASE[0..I) into place; TMP holds one
 * element.  With KEY_OFF other than NO_KEY, only among the elements
 * before I that share its key (keysort's runs of equal keys). */
#define NO_KEY SIZE_MAX

static bool rs_same_key(const char *a, const char *b, size_t key_off)
{
    return key_off == NO_KEY ||
           memcmp(a + key_off, b + key_off, sizeof(uint64_t)) == 0;
}

static void rs_insert(const struct runsort_ctx *s, char *base, size_t i,
                      size_t key_off, char *tmp)
{
    size_t sz = s->size, j = i;

    if (rs_cmp(s, base + (i - 1) * sz, base + i * sz) <= 0)
        return;
    memcpy(tmp, base + i * sz, sz);
    while (j > 0 && rs_same_key(base + (j - 1) * sz, tmp, key_off) &&
           rs_cmp(s, base + (j - 1) * sz, tmp) > 0)
        j--;
    memmove(base + (j + 1) * sz, base + j * sz, (i - j) * sz);
    memcpy(base + j * sz, tmp, sz);
}

/* The end of the run starting at START: its natural non-decreasing
 * length, extended to RUNSORT_MIN elements (or N) by insertion. */
static size_t rs_run(const struct runsort_ctx *s, char *base, size_t start,
                     size_t n, char *tmp)
{
    size_t sz = s->size, end = start + 1;

    while (end < n && rs_cmp(s, base + (end - 1) * sz, base + end * sz) <= 0)
        end++;
    while (end < n && end - start < RUNSORT_MIN) {
        rs_insert(s, base + start * sz, end - start, NO_KEY, tmp);
        end++;
    }
    return end;
}

/* Merge the sorted SRC[lo..mid) and SRC[mid..hi) into DST[lo..hi); on a
 * tie the left element goes first, which keeps the sort stable. */
static void rs_merge(const struct runsort_ctx *s, const char *src, char *dst,
                     size_t lo, size_t mid, size_t hi)
{
    size_t sz = s->size, i = lo, j = mid, k = lo;

    if (mid < hi && rs_cmp(s, src + (mid - 1) * sz, src + mid * sz) <= 0) {
        memcpy(dst + lo * sz, src + lo * sz, (hi - lo) * sz);
        return;
    }
    while (i < mid && j < hi) {
        if (rs_cmp(s, src + j * sz, src + i * sz) < 0)
            memcpy(dst + k++ * sz, src + j++ * sz, sz);
        else
            memcpy(dst + k++ * sz, src + i++ * sz, sz);
    }
    memcpy(dst + k * sz, src + i * sz, (mid - i) * sz);
    k += mid - i;
    memcpy(dst + k * sz, src + j * sz, (hi - j) * sz);
}

/* One merge pass: adjacent pairs of the NRUNS runs whose ends are in
 * ENDS go from SRC to DST; ENDS is compacted in place.  Returns the new
 * number of runs. */
static size_t rs_pass(const struct runsort_ctx *s, const char *src,
                      char *dst, size_t *ends, size_t nruns)
{
    size_t out = 0, lo = 0;

    for (size_t r = 0; r < nruns; r += 2) {
        size_t mid = ends[r], hi = r + 1 < nruns ? ends[r + 1] : mid;

        rs_merge(s, src, dst, lo, mid, hi);
        ends[out++] = hi;
        lo = hi;
    }
    return out;
}

void runsort(void *base, size_t n, size_t size,
             int (*cmp)(const void *, const void *, void *), void *ctx)
{
    const struct runsort_ctx s = {size, cmp, ctx};
    size_t *ends, nruns = 0, start = 0;
    char *tmp, *src = base, *dst;

    if (n < 2 || size == 0)
        return;
    tmp = xmalloc(size);
    ends = xmalloc(((n + RUNSORT_MIN - 1) / RUNSORT_MIN + 1) * sizeof(*ends));
    while (start < n) {
        start = rs_run(&s, base, start, n, tmp);
        ends[nruns++] = start;
    }
    free(tmp);
    if (nruns > 1) {
        dst = xreallocarray(NULL, n, size);
        while (nruns > 1) {
            char *t;

            nruns = rs_pass(&s, src, dst, ends, nruns);
            t = src, src = dst, dst = t;
        }
        if (src != base) {
            memcpy(base, src, n * size);
            dst = src;
        }
        free(dst);
    }
    free(ends);
}

static uint64_t ks_key(const char *elem, size_t key_off)
{
    uint64_t k;

    memcpy(&k, elem + key_off, sizeof(k));
    return k;
}

/* memcpy with the common record sizes spelled out, so the compiler
 * turns each into a few moves instead of a call per element. */
static inline void ks_copy(char *dst, const char *src, size_t size)
{
    switch (size) {
    case 8: memcpy(dst, src, 8); break;
    case 16: memcpy(dst, src, 16); break;
    case 24: memcpy(dst, src, 24); break;
    case 32: memcpy(dst, src, 32); break;
    case 40: memcpy(dst, src, 40); break;
    default: memcpy(dst, src, size); break;
    }
}

/* One stable counting pass on byte SHIFT/8 of the key, SRC to DST. */
static void ks_pass(const char *src, char *dst, size_t n, size_t size,
                    size_t key_off, unsigned shift)
{
    size_t count[256] = {0}, pos = 0;

    for (size_t i = 0; i < n; i++)
        count[(ks_key(src + i * size, key_off) >> shift) & 0xff]++;
    for (size_t d = 0; d < 256; d++) {
        size_t c = count[d];

        count[d] = pos;
        pos += c;
    }
    for (size_t i = 0; i < n; i++) {
        const char *e = src + i * size;

        ks_copy(dst + count[(ks_key(e, key_off) >> shift) & 0xff]++ * size, e,
                size);
    }
}

/* Sort each run of equal keys in BASE by CMP (insertion: such runs are
 * aliases and duplicates, a handful of elements). */
static void ks_ties(const struct runsort_ctx *s, char *base, size_t n,
                    size_t key_off, char *tmp)
{
    size_t sz = s->size;

    for (size_t i = 1; i < n; i++)
        if (ks_key(base + (i - 1) * sz, key_off) ==
            ks_key(base + i * sz, key_off))
            rs_insert(s, base, i, key_off, tmp);
}

void keysort(void *base, size_t n, size_t size, size_t key_off,
             int (*cmp)(const void *, const void *, void *), void *ctx)
{
    const struct runsort_ctx s = {size, cmp, ctx};
    char *src = base, *dst, *tmp;
    uint64_t first, diff = 0;
    size_t descents = 0;

    if (n < 2 || size < key_off + sizeof(uint64_t))
        return;
    first = ks_key(src, key_off);
    for (size_t i = 1; i < n; i++) {
        diff |= ks_key(src + i * size, key_off) ^ first;
        if (cmp(src + (i - 1) * size, src + i * size, ctx) > 0)
            descents++;
    }
    if (descents == 0)
        return;
    /* A few long sorted runs (a line table's sequences) merge in fewer
     * passes than the key has varying bytes. */
    if (descents < n / 64) {
        runsort(base, n, size, cmp, ctx);
        return;
    }
    dst = xreallocarray(NULL, n, size);
    for (unsigned shift = 0; shift < 64; shift += 8) {
        char *t;

        if (((diff >> shift) & 0xff) == 0)
            continue;
        ks_pass(src, dst, n, size, key_off, shift);
        t = src, src = dst, dst = t;
    }
    if (src != base) {
        memcpy(base, src, n * size);
        dst = src;
    }
    free(dst);
    tmp = xmalloc(size);
    ks_ties(&s, base, n, key_off, tmp);
    free(tmp);
}
