/* SPDX-License-Identifier: MIT */
/*
 * demangle_oracle: test helper shared by check_demangle and
 * check_msvc_demangle.  Reads the name lists of tests/data/demangle and
 * runs a reference demangler (llvm-undname-14, c++filt, llvm-cxxfilt-14)
 * over a list in one process, returning its answer for every name.
 */
#ifndef SYMSRVD_DEMANGLE_ORACLE_H
#define SYMSRVD_DEMANGLE_ORACLE_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

/* A list of strings; entries may be NULL ("the oracle rejected it"). */
struct oracle_list {
    char **items;
    size_t count;
};

void oracle_list_free(struct oracle_list *l);

/* New path of FILE under $abs_top_srcdir/tests/data/demangle (or the
 * relative path when the variable is unset); the caller frees it. */
char *oracle_data_path(const char *file);

/* Read the non-empty lines of PATH into *OUT.  Returns 0 or -errno. */
int oracle_read_names(const char *path, struct oracle_list *out);

/* Write NAMES to PATH, one per line.  Returns 0 or -errno. */
int oracle_write_names(const char *path, const struct oracle_list *names);

/* Both NULL, or equal strings. */
bool oracle_same(const char *a, const char *b);


/* Run ARGV (argv[0] looked up in $PATH) with stdin from INPUT and give
 * the answer for each of the NAMES that INPUT holds, in order:
 * llvm-undname-14 style output (UNDNAME true: echo, result or nothing,
 * blank line) or one line per name (c++filt style).  For c++filt style,
 * a line equal to the name itself becomes NULL.  Returns 0, -ENOENT when
 * the tool is missing, -EPROTO when its output does not line up. */
int oracle_run(const char *const argv[], const char *input, bool undname,
               const struct oracle_list *names, struct oracle_list *out);

/* Run ARGV with stdin from INPUT; its stdout, split in lines (empty ones
 * kept), appended to *LINES.  Returns 0 (also when the tool exits 1),
 * -ENOENT when the tool is missing, -EIO when it fails. */
int oracle_output(const char *const argv[], const char *input,
                  struct oracle_list *lines);

/* Run ARGV (stdin /dev/null, stdout discarded); 0 when it exits 0,
 * -ENOENT when the tool is missing, -EIO otherwise. */
int oracle_exec(const char *const argv[]);

/* Run suite S and give the exit status for automake: EXIT_FAILURE when a
 * test failed, 77 (SKIP) when ORACLE_RAN is false (the reference tool was
 * missing, so its tests were left out), EXIT_SUCCESS otherwise. */
int oracle_run_suite(Suite *s, bool oracle_ran);

#endif
