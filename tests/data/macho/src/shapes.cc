// SPDX-License-Identifier: MIT
// C++ test program for check_macho and check_wasm without a C++ library:
// namespaces, classes with virtual and inline members, a template, so
// that names are Itanium-mangled and inlined members nest.
namespace shapes {

struct Shape {
    virtual ~Shape() {}
    virtual unsigned area() const = 0;
};

template <unsigned N> struct Poly : Shape {
    unsigned side;
    explicit Poly(unsigned s) : side(s) {}
    inline unsigned perimeter() const { return side * N; }
    unsigned area() const override { return perimeter() * side / 2; }
};

__attribute__((noinline)) unsigned total(const Shape *const *v, unsigned n)
{
    unsigned s = 0;

    for (unsigned i = 0; i < n; i++)
        s += v[i]->area();
    return s;
}

} // namespace shapes

extern "C" int main(void)
{
    shapes::Poly<3> a(4);
    shapes::Poly<4> b(5);
    const shapes::Shape *v[] = {&a, &b};

    return (int)(shapes::total(v, 2) + a.perimeter());
}
