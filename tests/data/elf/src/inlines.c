/* SPDX-License-Identifier: MIT */
/* Test program for check_elfdw: inline chains of depth 1 to 4 (forced
 * with always_inline), a recursive out-of-line function, a callback, and
 * a function split by -O2 into hot and cold parts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inlines.h"

static inline __attribute__((always_inline)) unsigned leaf(unsigned x)
{
    return mix(x) + (x >> 3);
}

static inline __attribute__((always_inline)) unsigned middle(unsigned x)
{
    unsigned s = 0;

    for (unsigned i = 0; i < (x & 7); i++)
        s += leaf(i + x);
    return s;
}

static inline __attribute__((always_inline)) unsigned outer(unsigned x)
{
    return middle(x) ^ middle(x + 1) ^ leaf(x * 5);
}

static unsigned __attribute__((noinline)) work(unsigned n)
{
    unsigned acc = 0;

    for (unsigned i = 0; i < n; i++)
        acc ^= outer(i);
    return acc;
}

static unsigned __attribute__((noinline)) fib(unsigned n)
{
    if (n < 2)
        return n;
    return fib(n - 1) + fib(n - 2);
}

static int by_value(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

    return (x > y) - (x < y);
}

static void __attribute__((noinline, cold)) fail(const char *what)
{
    fprintf(stderr, "failed: %s\n", what);
    exit(2);
}

static unsigned __attribute__((noinline)) checked(unsigned v)
{
    if (__builtin_expect(v == 0xdeadbeefu, 0))
        fail("magic value");
    return v + mix(v);
}

int main(int argc, char **argv)
{
    unsigned v[32];

    for (int i = 0; i < 32; i++)
        v[i] = work((unsigned)argc + (unsigned)i) ^ checked((unsigned)i);
    qsort(v, 32, sizeof(v[0]), by_value);
    printf("%u %u %u %u\n", v[0], fib((unsigned)argc + 20),
           util_hash(argv[0]), util_fold(v, 32));
    return 0;
}
