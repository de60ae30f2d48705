// SPDX-License-Identifier: MIT
// Functions of every 32-bit Windows C calling convention and a few C++
// ones, linked into an x86 PE whose PDB holds only public symbols, so
// that llvm-symbolizer-14 names each function from its public symbol.
extern "C" int _fltused = 0; // no CRT: the float support marker
void operator delete(void *, unsigned int) {}
void operator delete(void *) {}
extern "C" {
int __cdecl c_cdecl(int x) { return x + 1; }
int __cdecl c_variadic(int n, ...) { return n; }
int __stdcall c_std(int x, int y) { return x + y; }
int __stdcall c_std0(void) { return 7; }
int __fastcall c_fast(int x) { return x * 2; }
int __vectorcall c_vec(int x) { return x * 3; }
int __cdecl _leading_underscore(int x) { return x - 1; }
int __stdcall with_at_digits2(long long x) { return (int)x; }
}
namespace ns {
namespace deeper {
struct K {
    int v;
    K(int x);
    ~K();
    int m(int) const;
    static int s(double);
    K &operator+=(const K &);
    operator bool() const;
};
K::K(int x) : v(x) {}
K::~K() {}
int K::m(int a) const { return a + v; }
int K::s(double d) { return (int)d; }
K &K::operator+=(const K &o) { v += o.v; return *this; }
K::operator bool() const { return v != 0; }
} // namespace deeper
} // namespace ns
template <class T> T twice(T t) { return t + t; }
int __stdcall cpp_std(int a) { return a; }
int __fastcall cpp_fast(int (*f)(int), int a) { return f(a); }
static int apply(int (*f)(int), int a) { return f(a); }
extern "C" int __cdecl main()
{
    ns::deeper::K k(1), j(2);
    k += j;
    auto lam = [](int x) { return x + 5; };
    return c_cdecl(1) + c_variadic(2, 3) + c_std(1, 2) + c_std0() +
           c_fast(3) + c_vec(4) + _leading_underscore(5) +
           with_at_digits2(6) + k.m(5) + ns::deeper::K::s(1.0) + (bool)k +
           twice(6) + (int)twice(7.0) + cpp_std(8) + cpp_fast(c_cdecl, 9) +
           apply(lam, 10);
}
