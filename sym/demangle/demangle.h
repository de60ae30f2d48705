/* SPDX-License-Identifier: MIT */
/*
 * demangle: one entry point that turns a linker symbol name into readable
 * text, whatever compiler produced it.  Itanium C++ (_Z), Rust (legacy
 * _ZN...17h<hash>E and v0 _R) and D (_D) names go to libiberty's
 * cplus_demangle, the demangler GNU binutils use; MSVC decorated names
 * (?foo@@YAXH@Z) go to our own msvc_demangle module.
 *
 * Rust legacy names are printed without their "::h<hash>" suffix, as
 * rustfilt and Sentry's symbolicator print them (c++filt keeps it).
 *
 * THREADS.  Stateless: any thread may call any function at any time.
 */
#ifndef SYMSRVD_DEMANGLE_H
#define SYMSRVD_DEMANGLE_H

#include "table/symtable.h"

/* Longest name demangle_name() accepts, in bytes.  libiberty's D
 * demangler takes time quadratic in the length of some hostile names. */
#define DEMANGLE_MAX_INPUT (32 * 1024)

/* Guess the source language of a mangled NAME from its prefix:
 *   SYMTABLE_LANG_RUST     "_R..." (v0), and "_ZN..." ending in a Rust
 *                          legacy hash "17h<16 hex digits>E" (possibly
 *                          followed by a ".llvm.<n>" suffix);
 *   SYMTABLE_LANG_CPP      other "_Z..." names, and MSVC names ("?...",
 *                          ".?A...");
 *   SYMTABLE_LANG_D        "_D" followed by a digit;
 *   SYMTABLE_LANG_UNKNOWN  anything else, plain C names included.
 * Mach-O names, with one more leading underscore ("__Z", "__R", "__D"),
 * count the same.  NAME may be NULL. */
enum symtable_lang demangle_guess_lang(const char *name);

/* Demangle NAME.  Returns a new string the caller frees with free(), or
 * NULL when NAME is not a mangled name we understand or is longer than
 * DEMANGLE_MAX_INPUT (the caller then shows NAME as is).  LANG is a hint:
 * SYMTABLE_LANG_UNKNOWN means guess from the prefix; SYMTABLE_LANG_RUST
 * makes any "_ZN" name try the Rust scheme first; other hints do not
 * change the answer, as the prefix decides.  MSVC names are printed in
 * full (MSVC_DEMANGLE_DEFAULT); call demangle_msvc() for other flags.
 * Thread-safe. */
char *demangle_name(const char *name, enum symtable_lang lang);

/* Strip the decorations 32-bit Windows compilers put on C functions, as
 * llvm-symbolizer does for x86 PE/PDB modules: a leading '_' or '@', an
 * '@<bytes of arguments>' suffix (__stdcall "_f@8", __fastcall "@f@8"),
 * and the '@' left of __vectorcall's "f@@8".  Returns a new string the
 * caller frees with free(), or NULL when NAME carries none of these or is
 * an MSVC C++ name ("?...", see demangle_msvc()).  Thread-safe. */
char *demangle_win32_c_name(const char *name);

#endif
