// SPDX-License-Identifier: MIT
// More MSVC-mangled constructs: calling conventions, member pointers with
// inheritance models, vbtables, local vftables, long (MD5) names, strings.
typedef decltype(sizeof(0)) size_t;
struct A { virtual void fa(); int a; }; struct B { virtual void fb(); int b; };
struct __single_inheritance S1; struct __multiple_inheritance M1; struct __virtual_inheritance V1;
struct S1 { int s; void m(); }; struct M1 : A, B { int mm; void m(); }; struct V1 : virtual A { int v; void m(); };
struct U1; struct CC;
template <void (S1::*)()> struct TS {}; template <void (M1::*)()> struct TM {}; template <void (V1::*)()> struct TV {};
template <int S1::*> struct DS {}; template <int M1::*> struct DM {}; template <int V1::*> struct DV {};
void S1::m() {} void M1::m() {} void V1::m() {} void A::fa() {} void B::fb() {}
void take(TS<&S1::m>, TM<&M1::m>, TV<&V1::m>, DS<&S1::s>, DM<&M1::mm>, DV<&V1::v>) {}
void take_null(TS<nullptr>, DS<nullptr>, DV<nullptr>) {}
int U1mp(int U1::*p, void (U1::*f)(int)) { return 0; }
struct D1 : virtual A, virtual B { virtual void fa(); virtual void fb(); int d; D1(); };
D1::D1() {} void D1::fa() {} void D1::fb() {}
struct D2 : D1 { D2(); }; D2::D2() {}
#ifdef __i386__
int __stdcall f_std(int, int) { return 0; } int __fastcall f_fast(int) { return 0; } int __vectorcall f_vec(int) { return 0; }
struct CC { int __stdcall m_std(int); int __cdecl m_cdecl(int); static int __fastcall s_fast(int); };
int __stdcall CC::m_std(int) { return 0; } int __cdecl CC::m_cdecl(int) { return 0; } int __fastcall CC::s_fast(int) { return 0; }
void takes_cc(int (__stdcall *)(int), int (__fastcall *)(int), int (__thiscall CC::*)(int)) {}
#else
int __vectorcall f_vec(double) { return 0; } int __regcall f_reg(int) { return 0; }
#endif
// A name over 4096 characters: MSVC and clang then emit ??@<md5>@.
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define X2(x) CAT(x, x)
#define LONG_NAME X2(X2(X2(X2(X2(X2(X2(VeryLongIdentifierNameThatMakesTheSymbolNameExceedTheMSVCLimit)))))))
template <class T> struct LongNameTemplate { static void f(); };
struct LONG_NAME {};
template <class T> void LongNameTemplate<T>::f() {}
template struct LongNameTemplate<LONG_NAME>;
namespace X { namespace Y { template <class T, class U> struct Z { template <class V> static T foo(U, V, T, U, V); }; } }
template <class T, class U> template <class V> T X::Y::Z<T, U>::foo(U, V, T, U, V) { return T(); }
template int X::Y::Z<int, X::Y::Z<char, char>>::foo<X::Y::Z<int, int>>(X::Y::Z<char, char>, X::Y::Z<int, int>, int, X::Y::Z<char, char>, X::Y::Z<int, int>);
void backrefs(A *, B *, A *, B *, const A *, const A *, A &, A &, A **, A **, B &&, B &&) {}
void manyrefs(A *, B *, S1 *, M1 *, V1 *, D1 *, D2 *, CC *, U1 *, A &, B &, S1 &, A *, B *) {}
struct CC;
int fns(int (*)(int (*)(int), int (*)(int)), int (*)(int)) { return 0; }
const wchar_t *wstr() { return L"wide string here"; } const char *nstr() { return "narrow\x01\x02 \xe4\xf6\xfc END"; }
const char *empty() { return ""; } const char16_t *u16() { return u"\u00e9t\u00e9"; }
const char *longs() { return "0123456789abcdef0123456789abcdef0123456789"; } const wchar_t *longw() { return L"0123456789abcdef0123456789abcdef0123456789"; }
const char *specials() { return "comma,slash/back\\colon:dot. sp\tq'-"; }
struct Local { virtual ~Local(); }; Local::~Local() {}
int localclass() { struct In : Local { int v = 3; ~In() {} }; In i; return i.v; }
namespace { struct AnonV { virtual void f() {} }; }
void *anonv() { return new AnonV; }
extern "C" void cfunc_with_static() { static int s; s++; struct L { static void g() {} }; L::g(); }
int __cdecl ellipsis(...) { return 0; }
template <class... T> struct TL {}; void packs(TL<>, TL<int>, TL<int, char, TL<>>) {}
template <int... N> struct IL {}; void ipacks(IL<>, IL<1, 2, 3>, IL<-1>) {}
template <class T, int N> void arrtpl(T (&)[N]) {} void usearr() { int a[7]; arrtpl(a); char b[2][3]; arrtpl(b); }
struct Conv { template <class T> operator T() const { return T(); } }; int useconv() { Conv c; int i = c; double d = c; return i + (int)d; }
struct Fr { friend bool operator==(Fr, Fr) { return true; } }; bool usefr() { return Fr() == Fr(); }
auto lam = [](auto... xs) { return sizeof...(xs); }; size_t uselam() { return lam(1, 2) + lam(); }
int gen(int x) { auto f = [x](int y) { struct R { int r; }; return R{x + y}.r; }; return f(2); }
void *operator new[](size_t n, int, const char *) { return 0; }
void operator delete(void *, size_t) noexcept {}
struct alignas(32) Al { char c; }; Al *mkal() { return new Al[3]; }
int volatile *const volatile gptr = 0; const int *const *volatile gpp = 0; int A::*gdm = &A::a; void (A::*gmf)() = &A::fa;
int (*garr_fp[3])(int); int (A::*const gcmf)() const = nullptr; 
__declspec(thread) int tlsv; __declspec(dllexport) int exported(int) { return tlsv; }
