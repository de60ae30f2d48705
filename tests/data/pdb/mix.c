/* SPDX-License-Identifier: MIT */
/* C part of the PDB reader's test image. */
#include "inl.h"

volatile int sink = 3;

static int mix_round(int a, int b)
{
    int v[4] = {a, b, a ^ b, a + b};
    return inl_sum_squares(v, 4) + (a << 3);
}

int c_mix(int a, int b)
{
    int r = 0;
    for (int i = 0; i < 3; i++)
        r += mix_round(a + i, b - i);
    return r;
}
