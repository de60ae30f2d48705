/* SPDX-License-Identifier: MIT */
/* Test program for check_macho and check_wasm, built without a C library
 * (clang-14 for Mach-O and wasm32 targets, never run): inline chains of
 * depth 1 to 4 (forced with always_inline), recursion, a callback, a
 * static function and a function in a second file. */
#include "chains.h"

static inline __attribute__((always_inline)) unsigned mix(unsigned x)
{
    x ^= x >> 7;
    return x * 0x9e3779b1u;
}

static inline __attribute__((always_inline)) unsigned leaf(unsigned x)
{
    return mix(x) + (x >> 3);
}

static inline __attribute__((always_inline)) unsigned middle(unsigned x)
{
    unsigned s = 0;

    for (unsigned i = 0; i < (x & 7); i++)
        s += leaf(s ^ i);
    return s;
}

static inline __attribute__((always_inline)) unsigned top(unsigned x)
{
    return middle(x) ^ middle(x + 1);
}

__attribute__((noinline)) unsigned deep(unsigned n)
{
    unsigned s = 0;

    for (unsigned i = 0; i < n; i++)
        s += top(s + i);
    return s;
}

__attribute__((noinline)) static unsigned fib(unsigned n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

__attribute__((noinline)) unsigned apply(unsigned (*fn)(unsigned), unsigned x)
{
    return fn(x) + twice_util(x);
}

int main(void);

int main(void)
{
    volatile unsigned n = 9;

    return (int)(apply(deep, n) + apply(fib, n));
}
