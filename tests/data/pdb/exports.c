/* SPDX-License-Identifier: MIT */
/* A DLL with named exports, for the PE reader's export-table fallback. */
__declspec(dllexport) int exp_add(int a, int b)
{
    return a + b;
}

__declspec(dllexport) int exp_mul(int a, int b)
{
    return a * b + exp_add(a, b);
}

__declspec(dllexport) int exp_value = 42;
