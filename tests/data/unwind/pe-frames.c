/* SPDX-License-Identifier: MIT */
/* Test code for the PE unwinder (check_unwind_pe): a frame-pointer
 * function with pushes, a large stack allocation and a variable-length
 * array, and a vectorised leaf that saves XMM registers. */
volatile int sink;
__declspec(noinline) int leaf(int *p, int n)
{
    int s = 0;
    for (int i = 0; i < n; i++)
        s += p[i] * (i + 3);
    return s;
}
__declspec(noinline) int framed(int n, int a, int b, int c)
{
    int big[800];
    int *v = __builtin_alloca(n * sizeof(int));
    int x = a, y = b, z = c, w = a ^ b;
    for (int i = 0; i < n; i++) {
        v[i] = x + i; big[i % 800] = y * i;
        x = leaf(v, i) + z; y = leaf(big, i) - w; z += x; w ^= y;
    }
    return x + y + z + w + leaf(big, 7);
}
int mainCRTStartup(void)
{
    sink = framed(sink + 9, 1, 2, 3);
    return 0;
}
