/* SPDX-License-Identifier: MIT */
/*
 * msvc_demangle: turns Microsoft Visual C++ decorated names
 * ("?foo@@YAXH@Z", "??0Foo@@QAE@XZ", "??_7Foo@@6B@", "??_C@_0...") into
 * readable C++ the way llvm-undname does, so that symbolicated frames from
 * PDBs and PE exports read the same as LLVM's tools print them.
 *
 * No Debian library demangles MSVC names (libiberty only knows the
 * Itanium, Rust and D schemes), hence this module.  It parses the name
 * into a small tree held in a per-call arena (back-references make the
 * name a DAG, and declarators such as function pointers must be printed
 * inside out) and prints the tree.  Unknown constructs make the whole
 * call fail: the caller then shows the raw name.  Recursion depth, input
 * length and output length are bounded, so hostile names cannot exhaust
 * the stack or memory.
 *
 * THREADS.  No global state: any number of threads may call at once.
 */
#ifndef SYMSRVD_MSVC_DEMANGLE_H
#define SYMSRVD_MSVC_DEMANGLE_H

/* Flags for demangle_msvc(); each drops one part of the output, like the
 * llvm-undname option of the same name. */
enum msvc_demangle_flags {
    MSVC_DEMANGLE_DEFAULT = 0,
    MSVC_DEMANGLE_NO_CALLING_CONVENTION = 1u << 0, /* __cdecl, __thiscall */
    MSVC_DEMANGLE_NO_ACCESS_SPECIFIER = 1u << 1,   /* public:, private: */
    MSVC_DEMANGLE_NO_RETURN_TYPE = 1u << 2,
    MSVC_DEMANGLE_NO_MEMBER_TYPE = 1u << 3,   /* static, virtual, extern "C" */
    MSVC_DEMANGLE_NO_VARIABLE_TYPE = 1u << 4, /* "int x" -> "x" */
    /* What llvm-symbolizer prints for a function: "ns::K::m(int)". */
    MSVC_DEMANGLE_SYMBOLIZER = MSVC_DEMANGLE_NO_ACCESS_SPECIFIER |
                               MSVC_DEMANGLE_NO_CALLING_CONVENTION |
                               MSVC_DEMANGLE_NO_MEMBER_TYPE |
                               MSVC_DEMANGLE_NO_RETURN_TYPE,
};

/* Longest name accepted and longest text produced, in bytes.  Longer
 * input, or input whose expansion would be longer, fails. */
#define MSVC_DEMANGLE_MAX_INPUT  (64 * 1024)
#define MSVC_DEMANGLE_MAX_OUTPUT (256 * 1024)

/* Demangle the MSVC-decorated NAME (it starts with '?', or is an RTTI type
 * name starting with '.').  FLAGS is a mask of enum msvc_demangle_flags.
 * Returns a new string the caller frees with free(), or NULL when NAME is
 * not a decorated name this demangler understands.  Thread-safe. */
char *demangle_msvc(const char *name, unsigned flags);

#endif
