/* SPDX-License-Identifier: MIT */
/* Test image for the PDB reader: namespaces, classes, templates and
 * several levels of inlining, built freestanding with clang-14 for
 * x86_64-pc-windows-msvc and i686-pc-windows-msvc and linked by lld-link. */
#include "inl.h"

extern "C" int c_mix(int a, int b);
extern "C" volatile int sink;

namespace geo {
namespace detail {
inline int clamp(int v, int lo, int hi)
{
    if (v < lo)
        return lo;
    if (v > hi)
        return hi;
    return v;
}
} // namespace detail

class Shape {
public:
    explicit Shape(int w, int h) : w_(w), h_(h) {}
    int area() const
    {
        return detail::clamp(w_ * h_, 0, 1 << 20);
    }
    int scaled(int k) const
    {
        return area() * k + inl_square(k);
    }
    __attribute__((noinline)) int slow(int k) const;

private:
    int w_, h_;
};

int Shape::slow(int k) const
{
    int t = 0;
    for (int i = 0; i < k; i++)
        t += scaled(i) ^ sink;
    return t;
}
} // namespace geo

template <typename T> static inline T twice(T v)
{
    return v + v;
}

template <typename T> __attribute__((noinline)) T accumulate(const T *v, int n)
{
    T s = 0;
    for (int i = 0; i < n; i++)
        s += twice(v[i]);
    return s;
}

static int table[16];

static __attribute__((noinline)) int fill(int seed)
{
    for (int i = 0; i < 16; i++)
        table[i] = geo::detail::clamp(seed * i - 40, -7, 77);
    return inl_sum_squares(table, 16);
}

extern "C" int mainCRTStartup(void)
{
    geo::Shape s(sink, 3);
    int r = fill(sink);
    r += s.scaled(sink + 2);
    r += s.slow(sink & 7);
    r += accumulate(table, 8);
    r += (int)accumulate((const long long *)table, 4);
    r += c_mix(r, sink);
    sink = r;
    return 0;
}
