// SPDX-License-Identifier: MIT
// Corpus of Itanium-mangled names for the demangle oracle test (g++ -O0).
#include <map>
#include <string>
#include <vector>
#include <memory>
#include <functional>
#include <algorithm>
#include <stdexcept>
namespace ns { namespace inner {
struct Base { virtual ~Base() {} virtual int f(int a) const { return a; } static int counter; };
struct Derived : Base { int f(int a) const override { return a + 1; } };
struct V : virtual Base { int f(int a) const override { return a + 2; } };
template <class T, int N> struct Arr { T v[N]; T &operator[](int i) { return v[i]; } template <class U> U conv() const { return U(v[0]); } };
struct Ops { Ops operator+(const Ops &) const { return *this; } bool operator<(const Ops &) const { return false; } operator bool() const { return true; }
  Ops &operator<<(int) { return *this; } void *operator new(std::size_t n) { return ::operator new(n); } void operator delete(void *p) { ::operator delete(p); } };
int Base::counter;
}}
namespace { int anon(int x) { return x; } }
using namespace ns::inner;
template <class... Ts> int pack(Ts... ts) { return sizeof...(ts); }
template <int (*F)(int)> int fptr() { return F(1); }
template <class T> auto deduced(T t) -> decltype(t + 1) { return t + 1; }
extern "C" int c_linkage(int x) { return x; }
int use_all() {
  std::map<std::string, std::vector<std::pair<int, double>>> m; m["a"].push_back({1, 2.0});
  std::unique_ptr<Base> b(new Derived); std::shared_ptr<V> v = std::make_shared<V>();
  std::function<int(int)> fn = [](int x) { return x * 2; };
  std::vector<int> vec{3, 1, 2}; std::sort(vec.begin(), vec.end(), [](int a, int b) { return a > b; });
  Arr<long, 4> arr{}; arr[0] = 5; Arr<Ops, 2> ops{};
  Ops o = ops[0] + ops[1]; o << 3; Ops *po = new Ops; delete po;
  int (Base::*pmf)(int) const = &Base::f; int Base::*pmd = &Base::counter == nullptr ? nullptr : nullptr;
  try { throw std::runtime_error("x"); } catch (const std::exception &) {}
  return (int)m.size() + b->f(1) + v->f(2) + fn(3) + vec[0] + (int)arr[0] + arr.conv<int>() + (int)arr.conv<double>() + (o < o) + (b.get()->*pmf)(4)
    + (pmd != nullptr) + pack() + pack(1, 'c', 2.0, "s", nullptr) + fptr<anon>() + deduced(1) + (int)deduced(2.5f) + c_linkage(1)
    + std::count_if(vec.begin(), vec.end(), [&](int x) { return x > arr[0]; });
}
