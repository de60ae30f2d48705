/* SPDX-License-Identifier: MIT */
/* Test code for the ELF unwinder (check_unwind_elf): gcc -O2 gives
 * pushed callee-saved registers and a stack frame; the array forces a
 * stack allocation, the calls through a volatile pointer keep the
 * values live across calls. */
int (*volatile hook)(int *, int);

static int step(int *p, int n)
{
    return p[n & 63] + n;
}

__attribute__((noinline)) int busy(int a, int b, int c, int d, int e)
{
    int buf[64];

    for (int i = 0; i < 64; i++)
        buf[i] = a * i + b;
    a += hook(buf, c);
    b += hook(buf, a ^ d);
    c += hook(buf, b + e);
    d += hook(buf, c - a);
    e += hook(buf, d * b);
    return a + b + c + d + e;
}

int main(int argc, char **argv)
{
    (void)argv;
    hook = step;
    return busy(argc, argc + 1, argc + 2, argc + 3, argc + 4) & 1;
}
