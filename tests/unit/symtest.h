/* SPDX-License-Identifier: MIT */
/*
 * symtest: helpers shared by the symtable, Breakpad, objfile and
 * symsrvd-symbolize tests (data paths, scratch directories, the suite
 * runner).  Test-only; aborts the test on failure.
 */
#ifndef SYMSRVD_SYMTEST_H
#define SYMSRVD_SYMTEST_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct symtable;

/* $abs_top_srcdir/tests/data/REL: a new string, caller frees. */
char *symtest_data(const char *rel);

/* $abs_top_builddir/tools/symsrvd-symbolize (static storage). */
const char *symtest_tool(void);

/* A new directory /tmp/NAME.XXXXXX in BUF (LEN bytes), and its removal
 * with everything in it. */
void symtest_tmpdir(char *buf, size_t len, const char *name);
void symtest_rmdir(const char *dir);

/* Every byte of every FUNC of the Breakpad file REL (under tests/data),
 * in file order. */
struct symtest_funcs {
    uint64_t *addr; /* the addresses */
    bool *first;    /* the FUNC's first byte */
    bool *folded;   /* inside a FUNC with the m (multiple) flag */
    size_t n, cap;
};

void symtest_funcs_read(const char *rel, struct symtest_funcs *f);
void symtest_funcs_free(struct symtest_funcs *f);

/* The symtable of REL (under tests/data) read by objfile_build();
 * *BLOB backs it: free it after symtable_close(). */
struct symtable *symtest_table(const char *rel, void **blob);

/* Run every test of S; EXIT_SUCCESS when all pass, else EXIT_FAILURE. */
int symtest_run(Suite *s);

#endif
