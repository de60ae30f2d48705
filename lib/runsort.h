/* SPDX-License-Identifier: MIT */
/*
 * runsort: a stable natural merge sort for arrays that arrive mostly in
 * order.
 *
 * Symbol readers emit records in runs that are already sorted (a DWARF
 * line sequence, a module's symbols, a symbol table ordered by section),
 * then sort the whole array.  glibc's qsort is a merge sort that never
 * looks for that order: it splits and copies everything, and sorts
 * elements larger than 32 bytes through a pointer array.  This sort finds
 * the sorted runs first, so sorted input costs one comparison per element
 * and no copy, and K runs cost O(n log K).  It is stable: equal elements
 * keep their input order.
 */
#ifndef SYMSRVD_RUNSORT_H
#define SYMSRVD_RUNSORT_H

#include <stddef.h>

/* Sort BASE[0..N) of SIZE-byte elements by CMP (qsort_r's contract: CTX is
 * passed through).  Allocates one scratch array of N * SIZE bytes when
 * the input is not already sorted (aborts on OOM, as xmalloc does). */
void runsort(void *base, size_t n, size_t size,
             int (*cmp)(const void *, const void *, void *), void *ctx);

/* The same contract for elements whose order is first by a uint64_t at
 * byte offset KEY_OFF (CMP must agree: CMP(a, b) < 0 whenever a's key is
 * below b's).  Unsorted input is sorted by an LSD radix sort on the bytes
 * of the key that vary, then each run of equal keys by CMP: O(n) per
 * varying key byte instead of O(n log n) comparisons, which matters for
 * the tens of thousands of symbols a symbol table lists in hash order. */
void keysort(void *base, size_t n, size_t size, size_t key_off,
             int (*cmp)(const void *, const void *, void *), void *ctx);

#endif
