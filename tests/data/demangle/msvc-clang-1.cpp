// SPDX-License-Identifier: MIT
// Corpus of MSVC-mangled names for the demangler oracle test.
typedef decltype(sizeof(0)) size_t;
namespace std { struct nothrow_t {}; template <class T> struct allocator { T *allocate(size_t n); void deallocate(T *, size_t); };
  template <class C> struct char_traits {};
  template <class C, class T = char_traits<C>, class A = allocator<C>> struct basic_string { basic_string(); ~basic_string(); const C *c_str() const; size_t size() const noexcept; basic_string &operator+=(const C *); };
  typedef basic_string<char> string; typedef basic_string<wchar_t> wstring;
  template <class T, class A = allocator<T>> struct vector { void push_back(const T &); void push_back(T &&); T &operator[](size_t); template <class... Args> void emplace_back(Args &&...); };
  template <class K, class V> struct pair { K first; V second; };
}
void *operator new(size_t, void *p) noexcept { return p; }
namespace ns { namespace inner {
struct Base { virtual ~Base(); virtual int f(int); virtual void g() const; int x; static int counter; static const char *const name; };
struct Base2 { virtual ~Base2(); virtual int h(double); long long y; };
struct Multi : Base, Base2 { ~Multi() override; int f(int) override; int h(double) override; };
struct VBase : virtual Base { int f(int) override; };
struct VBase2 : virtual Base, virtual Base2 { VBase2(); int f(int) override; int h(double) override; };
class Ops {
public:
  Ops(); Ops(const Ops &); Ops(Ops &&) noexcept; ~Ops();
  Ops &operator=(const Ops &); Ops &operator=(Ops &&);
  Ops operator+(const Ops &) const; Ops operator-(const Ops &) const; Ops operator*(int) const; Ops operator/(int) const; Ops operator%(int) const;
  Ops &operator+=(const Ops &); Ops &operator-=(const Ops &); Ops &operator*=(int); Ops &operator/=(int); Ops &operator%=(int);
  Ops &operator<<=(int); Ops &operator>>=(int); Ops &operator&=(int); Ops &operator|=(int); Ops &operator^=(int);
  Ops operator<<(int) const; Ops operator>>(int) const; Ops operator&(int) const; Ops operator|(int) const; Ops operator^(int) const;
  bool operator==(const Ops &) const; bool operator!=(const Ops &) const; bool operator<(const Ops &) const; bool operator>(const Ops &) const;
  bool operator<=(const Ops &) const; bool operator>=(const Ops &) const; bool operator!() const; bool operator&&(const Ops &) const; bool operator||(const Ops &) const;
  Ops operator~() const; Ops operator-() const; Ops operator+() const; Ops &operator++(); Ops operator++(int); Ops &operator--(); Ops operator--(int);
  int operator()(int, ...) ; int &operator[](size_t); Ops *operator->(); int operator*() const; int operator->*(int Ops::*);
  Ops &operator,(int);
  operator int() const; operator bool() const volatile; explicit operator const char *() &; operator double() &&;
  static void *operator new(size_t); static void operator delete(void *); static void *operator new[](size_t); static void operator delete[](void *);
  int operator<=>(const Ops &) const;
protected: void prot(int) const; static int sprot(short);
private: virtual void priv(unsigned char, signed char, char, wchar_t, char16_t, char32_t, bool); static unsigned long long spriv(long, unsigned long, float, double, long double);
};
enum E1 { e1a }; enum class E2 : short { e2a }; union U1 { int a; float b; };
struct Nested { struct In { struct Deep { static void f(); }; }; enum En { x }; };
}}
namespace { int anon_var; void anon_fn(int *) {} struct AnonS { void m(); }; void AnonS::m() {} }
using namespace ns::inner;
int Base::counter = 1; const char *const Base::name = "base";
Base::~Base() {} int Base::f(int a) { return a; } void Base::g() const {}
Base2::~Base2() {} int Base2::h(double) { return 0; }
Multi::~Multi() {} int Multi::f(int a) { return a + 1; } int Multi::h(double) { return 2; }
int VBase::f(int a) { return a + 2; }
VBase2::VBase2() {} int VBase2::f(int a) { return a + 3; } int VBase2::h(double) { return 4; }
void Nested::In::Deep::f() {}
Ops::Ops() {} Ops::Ops(const Ops &) {} Ops::Ops(Ops &&) noexcept {} Ops::~Ops() {}
Ops &Ops::operator=(const Ops &) { return *this; } Ops &Ops::operator=(Ops &&) { return *this; }
Ops Ops::operator+(const Ops &) const { return *this; } Ops Ops::operator-(const Ops &) const { return *this; }
Ops Ops::operator*(int) const { return *this; } Ops Ops::operator/(int) const { return *this; } Ops Ops::operator%(int) const { return *this; }
Ops &Ops::operator+=(const Ops &) { return *this; } Ops &Ops::operator-=(const Ops &) { return *this; } Ops &Ops::operator*=(int) { return *this; }
Ops &Ops::operator/=(int) { return *this; } Ops &Ops::operator%=(int) { return *this; } Ops &Ops::operator<<=(int) { return *this; }
Ops &Ops::operator>>=(int) { return *this; } Ops &Ops::operator&=(int) { return *this; } Ops &Ops::operator|=(int) { return *this; } Ops &Ops::operator^=(int) { return *this; }
Ops Ops::operator<<(int) const { return *this; } Ops Ops::operator>>(int) const { return *this; } Ops Ops::operator&(int) const { return *this; }
Ops Ops::operator|(int) const { return *this; } Ops Ops::operator^(int) const { return *this; }
bool Ops::operator==(const Ops &) const { return 1; } bool Ops::operator!=(const Ops &) const { return 0; } bool Ops::operator<(const Ops &) const { return 0; }
bool Ops::operator>(const Ops &) const { return 0; } bool Ops::operator<=(const Ops &) const { return 0; } bool Ops::operator>=(const Ops &) const { return 0; }
bool Ops::operator!() const { return 0; } bool Ops::operator&&(const Ops &) const { return 0; } bool Ops::operator||(const Ops &) const { return 0; }
Ops Ops::operator~() const { return *this; } Ops Ops::operator-() const { return *this; } Ops Ops::operator+() const { return *this; }
Ops &Ops::operator++() { return *this; } Ops Ops::operator++(int) { return *this; } Ops &Ops::operator--() { return *this; } Ops Ops::operator--(int) { return *this; }
int Ops::operator()(int, ...) { return 0; } int &Ops::operator[](size_t) { static int z; return z; } Ops *Ops::operator->() { return this; }
int Ops::operator*() const { return 0; } int Ops::operator->*(int Ops::*) { return 0; } Ops &Ops::operator,(int) { return *this; }
Ops::operator int() const { return 0; } Ops::operator bool() const volatile { return 0; } Ops::operator const char *() & { return ""; } Ops::operator double() && { return 0; }
void *Ops::operator new(size_t) { return 0; } void Ops::operator delete(void *) {} void *Ops::operator new[](size_t) { return 0; } void Ops::operator delete[](void *) {}
int Ops::operator<=>(const Ops &) const { return 0; }
void Ops::prot(int) const {} int Ops::sprot(short) { return 0; }
void Ops::priv(unsigned char, signed char, char, wchar_t, char16_t, char32_t, bool) {}
unsigned long long Ops::spriv(long, unsigned long, float, double, long double) { return 0; }
template <class T> struct Box { T v; T get() const { return v; } template <class U> U conv(U u) { return u; } static Box *inst; };
template <class T> Box<T> *Box<T>::inst = nullptr;
template <int N, unsigned M, long long K> int nttp() { return N + M + K; }
template <bool B, char C> int nttp2() { return B + C; }
template <class C, int C::*P> int memptr() { return 0; }
template <class T> struct Tag { static int id() { return 1; } };
template <int (Ops::*P)(int, ...)> int memfnptr() { return 0; }
template <void (*F)(int *)> int fnptr() { return 0; }
template <int *P> int varptr() { return 0; }
template <int &R> int varref() { return 0; }
template <class... Ts> int pack(Ts...) { return sizeof...(Ts); }
template <template <class> class TT> int tt() { return 0; }
template <decltype(nullptr) N> int nullp() { return 0; }
template <auto V> int autov() { return 0; }
int gvar; int garr[10]; int garr2[3][4];
int instantiate() {
  Box<int> b; Box<Box<char>> bb; Box<const int *> bc; Box<int (*)(int)> bf; Box<int Ops::*> bm; Box<int (Ops::*)(int) const> bmf;
  Box<E1> be; Box<E2> be2; Box<U1> bu; Box<Nested::En> ben; int tg = Tag<int[4]>::id() + Tag<int (&)[3]>::id() + Tag<int &&>::id() + Tag<const int[2][3]>::id() + Tag<int (*)[4]>::id(); Box<void (*)(...)> bv;
  Box<std::string> bs; Box<std::wstring> bws; Box<std::vector<std::pair<int, std::string>>> bvec;
  int r = b.get() + bb.get().get() + *bc.get() + (int)(long long)bf.get() + (bm.get() != nullptr) + (bmf.get() != nullptr) + be.get() + (int)be2.get() + bu.get().a + ben.get();
  r += b.conv<long>(1) + b.conv<unsigned short>(2) + (int)b.conv<double>(3.0) + (int)(long long)b.conv<const volatile char *>(nullptr) + (int)b.conv<int *__restrict>(nullptr)[0];
  r += nttp<-5, 17u, 1234567890123LL>() + nttp<0, 0, -1>() + nttp<1, 16, 256>() + nttp2<true, 'a'>();
  r += memfnptr<&Ops::operator()>() + fnptr<anon_fn>() + varptr<&gvar>() + varref<gvar>();
  r += pack() + pack(1) + pack(1, 2.0, 'c', "s", L"w") + tt<Box>() + nullp<nullptr>() + autov<5>() + autov<'x'>();
  r += (int)Box<int>::inst + (int)Box<double>::inst + tg + (int)(long long)bv.get();
  return r;
}
int memptr_data() { return memptr<Base, &Base::x>(); }
const char *strings(int i) {
  static const char *s[] = {"hello", "hello world, this is a fairly long literal string exceeding 32 bytes", "tab\there\nnl", "quote\"'\\", "\x01\x7f\xff\xe9", ""};
  static const wchar_t *w[] = {L"wide", L"a much longer wide string literal to exceed the limit", L"\u00e9\u4e2d"};
  static const char16_t *u16[] = {u"sixteen", u"\u4e2d\u6587"};
  static const char32_t *u32[] = {U"thirtytwo", U"\U0001F600"};
  static const char8_t *u8s[] = {u8"eight"};
  return s[i] + (long long)w[i] + (long long)u16[i] + (long long)u32[i] + (long long)u8s[i];
}
int local_statics(int i) { static int a = i * 2; struct Local { static int f() { static int q = 3; return q; } }; { static int b = a + 1; return b + Local::f(); } }
int lambdas(int k) { auto l1 = [](int x) { return x + 1; }; auto l2 = [k](double d) mutable { return k * d; }; auto l3 = [&](auto y) { return y + k; }; return l1(k) + (int)l2(2.0) + l3(3) + (int)l3(4.0f); }
extern "C" int c_func(int x) { static int cs = x; return cs; }
void *__restrict rptr(int *__restrict, const volatile int *const) { return 0; }
int __unaligned *uptr(int __unaligned *) { return 0; }
int (*fp_returning())(int, long) { return 0; }
int (Ops::*mfp_returning())(int, ...) { return 0; }
void arrays(int (*)[5], int (&)[5][6], const int (*const)[2]) {}
auto autoret() { return 1; } decltype(auto) dautoret() { return (gvar); }
void variadic(const char *, ...) {}
int operator""_km(unsigned long long v) { return (int)v; }
void funcs(void (*)(void), int (*)(int, int), void (*const &)(double), int (&)(char)) {}
void nullfn(decltype(nullptr)) {}
struct WithStatic { static WithStatic inst; static int arr[3]; static int (*fp)(int); WithStatic(); ~WithStatic(); };
WithStatic WithStatic::inst; int WithStatic::arr[3]; int (*WithStatic::fp)(int);
WithStatic::WithStatic() {} WithStatic::~WithStatic() {}
WithStatic g_dyn; std::string g_str_dummy_ptr_not;
thread_local int tls_var = 3; int tls_use() { thread_local static WithStatic tw; return tls_var; }
void use_rtti(Base *b) { (void)typeid(*b); (void)dynamic_cast<Multi *>(b); try { throw Multi(); } catch (Base &) {} }
int noexcept_fn() noexcept { return 0; } void takes_noexcept(void (*)() noexcept) {}
int volatile_mem(volatile int *, const volatile int &, int *const *, int **const, const int *const *const) { return 0; }
long double ld(long double) { return 0; } __int64 i64(unsigned __int64) { return 0; } char16_t c16(char32_t) { return 0; }
