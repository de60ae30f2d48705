/* SPDX-License-Identifier: MIT */
/* Inline helpers for the PDB reader's generated test image: code from a
 * header inlined into callers in other files. */
static inline int inl_square(int x)
{
    return x * x;
}

static inline int inl_sum_squares(const int *v, int n)
{
    int s = 0;
    for (int i = 0; i < n; i++)
        s += inl_square(v[i]);
    return s;
}
