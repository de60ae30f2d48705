/* SPDX-License-Identifier: MIT */
/*
 * swtest: helpers of the stack walker tests: load a dump, walk it with a
 * symbol directory, lay symbol files out in a scratch directory, and pick
 * the physical (non-inline) frames of a thread.  Test-only; aborts the
 * test on failure.
 */
#ifndef SYMSRVD_SWTEST_H
#define SYMSRVD_SWTEST_H

#include <stddef.h>
#include <stdint.h>

#include "minidump/minidump.h"
#include "stackwalk/stackwalk.h"
#include "symdir/symdir.h"

struct swtest {
    uint8_t *data; /* the dump's bytes (owned) */
    size_t len;
    struct minidump *md;
    struct symdir *sd;
    struct stackwalk_result *r;
};

/* Load the dump DATA[0..LEN) (taken: freed by swtest_free()) and walk it
 * with symbols from DIR (NULL: none) and OPTS (NULL: defaults). */
void swtest_walk_mem(struct swtest *t, uint8_t *data, size_t len,
                     const char *dir, const struct stackwalk_options *opts);

/* The same for tests/data/REL. */
void swtest_walk(struct swtest *t, const char *rel, const char *dir);

/* swtest_walk() with the symdir taking its tables through TABLES. */
void swtest_walk_tables(struct swtest *t, const char *rel, const char *dir,
                        const struct symdir_tables *tables);
void swtest_free(struct swtest *t);

/* Link tests/data/REL as DIR/PATH (directories created as needed). */
void swtest_place(const char *dir, const char *path, const char *rel);

/* The crashed thread (fails the test when there is none). */
const struct stackwalk_thread *swtest_crashed(const struct swtest *t);

/* Frame K of T counting only physical frames (inline frames skipped), or
 * NULL. */
const struct stackwalk_frame *swtest_phys(const struct stackwalk_thread *t,
                                          size_t k);
size_t swtest_phys_count(const struct stackwalk_thread *t);

/* The basename of a frame's module code file, or "". */
const char *swtest_module(const struct stackwalk_frame *f);

#endif
