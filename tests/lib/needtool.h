/* SPDX-License-Identifier: MIT */
/*
 * needtool: tests that compare with, or build with, an optional program
 * (LLVM, elfutils, g++, dwz...) look it up here.  Those programs come from
 * scripts/debian-test-packages, which a new user may not have installed:
 * a test without them skips (exit 77, or leaves a case out) and says which
 * Debian package brings the program, instead of failing.
 */
#ifndef SYMSRVD_NEEDTOOL_H
#define SYMSRVD_NEEDTOOL_H

#include <stdbool.h>

/* Whether TOOL is an executable file in a directory of $PATH. */
bool needtool_have(const char *tool);

/* The Debian package that installs TOOL ("llvm-14" for
 * "llvm-symbolizer-14"); TOOL itself when the table does not know it. */
const char *needtool_package(const char *tool);

/* Whether every tool of the NULL-terminated list is on $PATH.  For the
 * first one missing, prints "WHO: skipped: TOOL not found (Debian package
 * PKG)" to stderr and returns false. */
bool needtool(const char *who, const char *tool, ...);

#endif
