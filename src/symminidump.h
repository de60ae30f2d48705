/* SPDX-License-Identifier: MIT */
/*
 * symminidump: the engine behind POST /minidump.  The uploaded dump is
 * parsed with sym/minidump and walked with sym/stackwalk; the symbols and
 * unwind information of each module the walk meets are looked up in the
 * request's sources the way /symbolicate looks them up (symbolicate_int.h)
 * and handed to the walker through sym/symdir over a per-job directory of
 * links, and the answer is sym/stackwalk's Symbolicator-shaped report.
 * A dump that does not parse completes as {"status":"failed"} with the
 * reason, never an HTTP error.
 *
 * THREADS.  A struct mdjob belongs to one thread at a time.
 */
#ifndef SYMSRVD_SYMMINIDUMP_H
#define SYMSRVD_SYMMINIDUMP_H

#include <stddef.h>

struct symbolicator;
struct mdjob;

/* A job for the dump at DUMP_PATH, which the job owns from now on (it is
 * removed by mdjob_free(), also on failure).  SOURCES and OPTIONS are the
 * multipart fields' JSON texts (NULL when absent).  0 and *OUT, -EINVAL
 * when a field is not JSON (answer 400), -EPROTO when a source is bad
 * (422); ERR gets the reason. */
int mdjob_new(const char *dump_path, const char *sources, size_t slen,
              const char *options, size_t olen, const char *scope,
              struct mdjob **out, char *err, size_t errlen);
void mdjob_free(struct mdjob *j); /* NULL-safe */

/* Run J and return the answer as new JSON text (*LEN bytes). */
char *symbolicator_run_minidump(struct symbolicator *s, const struct mdjob *j,
                                size_t *len);

#endif
