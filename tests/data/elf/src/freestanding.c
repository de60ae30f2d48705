/* SPDX-License-Identifier: MIT */
/* Test program for check_elfdw, built for other architectures with
 * clang-14 --target=... -ffreestanding -nostdlib and ld.lld (never run):
 * ELF32 and ELF64, little- and big-endian, with a two-deep inline chain. */
static inline __attribute__((always_inline)) unsigned mix(unsigned x)
{
    x ^= x >> 7;
    return x * 0x9e3779b1u;
}

static inline __attribute__((always_inline)) unsigned twice(unsigned x)
{
    return mix(x) + mix(x + 1);
}

__attribute__((noinline)) unsigned work(unsigned n)
{
    unsigned s = 0;

    for (unsigned i = 0; i < n; i++)
        s += twice(s ^ i);
    return s;
}

void _start(void);

void _start(void)
{
    volatile unsigned r = work(5);

    (void)r;
    for (;;)
        ;
}
