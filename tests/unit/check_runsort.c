/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/runsort: runsort() and keysort() must give exactly
 * what a stable sort gives (checked against qsort on a total order that
 * includes the input position), on random input, sorted runs, reversed
 * input, all-equal keys and keys that vary in only some bytes.  Also
 * lib/bound.h, the search that goes with keysort(): bound_upper() and
 * bound_lower() must count what a linear scan counts. */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bound.h"
#include "runsort.h"

/* 40 bytes, like the symtable builder's inline records; the key first. */
struct rec {
    uint64_t key;
    uint32_t tie;  /* second sort key */
    uint32_t pos;  /* input position: proves stability */
    char pad[24];
};

static int cmp_rec(const void *a, const void *b, void *ctx)
{
    const struct rec *x = a, *y = b;

    (void)ctx;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->tie > y->tie) - (x->tie < y->tie);
}

/* The stable order: cmp_rec, then input position. */
static int cmp_stable(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    int c = cmp_rec(a, b, NULL);

    return c != 0 ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

enum shape { RANDOM, RUNS, REVERSED, EQUAL, FEW_BYTES };

static void fill(struct rec *v, size_t n, enum shape shape)
{
    for (size_t i = 0; i < n; i++) {
        memset(&v[i], 0, sizeof(v[i]));
        switch (shape) {
        case RANDOM: v[i].key = rng(); break;
        case RUNS: v[i].key = (i % 1000) * 16 + (i / 1000); break;
        case REVERSED: v[i].key = n - i; break;
        case EQUAL: v[i].key = 7; break;
        case FEW_BYTES: v[i].key = 0x123400000000ull | (rng() & 0xff00f0); break;
        }
        v[i].tie = (uint32_t)(rng() % 3);
        v[i].pos = (uint32_t)i;
    }
}

static void check_shape(enum shape shape, size_t n, bool keyed)
{
    struct rec *got = malloc((n + 1) * sizeof(*got));
    struct rec *want = malloc((n + 1) * sizeof(*want));

    fill(got, n, shape);
    memcpy(want, got, n * sizeof(*got));
    qsort(want, n, sizeof(*want), cmp_stable);
    if (keyed)
        keysort(got, n, sizeof(*got), offsetof(struct rec, key), cmp_rec,
                NULL);
    else
        runsort(got, n, sizeof(*got), cmp_rec, NULL);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(got[i].key, want[i].key);
        ck_assert_uint_eq(got[i].tie, want[i].tie);
        ck_assert_uint_eq(got[i].pos, want[i].pos);
    }
    free(got);
    free(want);
}

static const size_t sizes[] = {0, 1, 2, 31, 32, 33, 100, 1000, 20000};

START_TEST(test_runsort_matches_stable_qsort)
{
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
        for (int shape = RANDOM; shape <= FEW_BYTES; shape++)
            check_shape((enum shape)shape, sizes[s], false);
}
END_TEST

START_TEST(test_keysort_matches_stable_qsort)
{
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
        for (int shape = RANDOM; shape <= FEW_BYTES; shape++)
            check_shape((enum shape)shape, sizes[s], true);
}
END_TEST

/* Plain 8-byte keys, the layout of the symbol-start array. */
static int cmp_u64(const void *a, const void *b, void *ctx)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    (void)ctx;
    return (x > y) - (x < y);
}

START_TEST(test_keysort_u64)
{
    enum { N = 5000 };
    uint64_t v[N];

    for (size_t i = 0; i < N; i++)
        v[i] = rng() >> (i % 40);
    keysort(v, N, sizeof(v[0]), 0, cmp_u64, NULL);
    for (size_t i = 1; i < N; i++)
        ck_assert_uint_le(v[i - 1], v[i]);
}
END_TEST

/* The key inside a larger element, as the symbol readers' records have
 * it: not first, not at the end. */
struct keyed {
    uint32_t before;
    uint64_t key;
    uint16_t after;
};

static void check_bounds(const struct keyed *v, size_t n, uint64_t key)
{
    size_t le = 0, lt = 0;

    for (size_t i = 0; i < n; i++) {
        le += v[i].key <= key;
        lt += v[i].key < key;
    }
    ck_assert_uint_eq(
        bound_upper(v, n, sizeof(*v), offsetof(struct keyed, key), key), le);
    ck_assert_uint_eq(
        bound_lower(v, n, sizeof(*v), offsetof(struct keyed, key), key), lt);
}

START_TEST(test_bound_matches_linear_scan)
{
    enum { N = 300 };
    static const uint64_t edges[] = {0, 1, UINT64_MAX - 1, UINT64_MAX};
    struct keyed v[N];

    /* Sorted, with runs of equal keys and both ends of the range. */
    for (size_t i = 0; i < N; i++)
        v[i] = (struct keyed){.before = (uint32_t)rng(),
                              .key = i == 0       ? 0
                                     : i == N - 1 ? UINT64_MAX
                                                  : (i / 3) * 10,
                              .after = (uint16_t)i};
    for (size_t n = 0; n <= N; n += n < 4 ? 1 : 37) {
        for (size_t e = 0; e < sizeof(edges) / sizeof(edges[0]); e++)
            check_bounds(v, n, edges[e]);
        for (size_t i = 0; i < n; i++) {
            check_bounds(v, n, v[i].key);
            check_bounds(v, n, v[i].key + 1);
            check_bounds(v, n, v[i].key - 1);
        }
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("runsort");
    TCase *tc = tcase_create("sort");

    tcase_add_test(tc, test_runsort_matches_stable_qsort);
    tcase_add_test(tc, test_keysort_matches_stable_qsort);
    tcase_add_test(tc, test_keysort_u64);
    suite_add_tcase(s, tc);
    tc = tcase_create("search");
    tcase_add_test(tc, test_bound_matches_linear_scan);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
