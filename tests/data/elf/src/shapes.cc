// SPDX-License-Identifier: MIT
// C++ test program for check_elfdw: member functions, namespaces and
// templates, so DWARF names come from DW_AT_linkage_name through
// DW_AT_specification, and inlined members through DW_AT_abstract_origin.
#include <cstdio>
#include <vector>

namespace geo {

struct shape {
    virtual ~shape() = default;
    virtual double area() const = 0;
};

struct rect : shape {
    double w, h;
    rect(double a, double b) : w(a), h(b) {}
    double area() const override { return w * h; }
};

struct square : rect {
    explicit square(double s) : rect(s, s) {}
    double area() const override { return rect::area(); }
};

template <typename T> T total(const std::vector<T> &v)
{
    T s = 0;
    for (const T &x : v)
        s += x;
    return s;
}

} // namespace geo

static double __attribute__((noinline)) sum_areas(int n)
{
    std::vector<double> areas;
    for (int i = 0; i < n; i++) {
        geo::square sq(i);
        geo::rect r(i, i + 1);
        areas.push_back(sq.area() + r.area());
    }
    return geo::total(areas);
}

int main(int argc, char **)
{
    std::printf("%f\n", sum_areas(argc + 10));
    return 0;
}
