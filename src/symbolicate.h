/* SPDX-License-Identifier: MIT */
/*
 * symbolicate: the engine behind POST /symbolicate.  A request (Sentry
 * Symbolicator's JSON: stacktraces or threads, modules, sources, options)
 * is parsed and checked on the HTTP thread, then run on a job thread:
 * every module a frame points into is looked up in the sources (see
 * layout.h and symsource.h), its symbol file read into a symtable once,
 * and every frame answered with Symbolicator's fields, inline frames
 * expanded innermost first.
 *
 * Symbol tables are kept per process (keyed by file, size and mtime, and
 * a universal Mach-O file's slice) and on disk: "<file>.SYMTABLE" beside
 * a file in the cache directory, or
 * "<cache dir>/.Symsrvd/tables/<hash>.SYMTABLE" for a filesystem source's
 * file and for the slices after the first of a universal file.  A table on disk is validated (magic, version, checksum) when it
 * is loaded; a bad or older one is rebuilt.
 *
 * THREADS.  One struct symbolicator per process; any thread may run
 * requests at once.  A struct symreq belongs to one thread at a time.
 */
#ifndef SYMSRVD_SYMBOLICATE_H
#define SYMSRVD_SYMBOLICATE_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct symbolicator;
struct symreq;

/* What the query string says. */
struct symreq_params {
    const char *scope; /* NULL: "global" */
    bool demangle;     /* false keeps the raw name in "function" */
};

struct symsource_pool;

/* POOL (copied; NULL: none) is where the box's own cache source fetches
 * what it lacks. */
int symbolicator_new(const struct config *cfg,
                     const struct symsource_pool *pool,
                     struct symbolicator **out);
void symbolicator_free(struct symbolicator *s); /* NULL-safe */

/* Parse and check BODY[0..LEN).  0 and *OUT; -EINVAL when it is not JSON
 * (answer 400); -EPROTO when its shape is wrong or a source has an
 * unknown type (answer 422).  ERR gets the reason. */
int symreq_parse(const char *body, size_t len, const struct symreq_params *p,
                 struct symreq **out, char *err, size_t errlen);
void symreq_free(struct symreq *r); /* NULL-safe */

/* Run R and return the completed answer as new JSON text (*LEN bytes). */
char *symbolicator_run(struct symbolicator *s, const struct symreq *r,
                       size_t *len);

/* symbolicator_run() when R needs nothing that could wait: no download,
 * no listing, no table that is not in memory already (a warm request,
 * answered where it arrived, without a thread hand-off).  NULL when it
 * would wait: symbolicator_run() then gives the answer, which for a
 * request both answer is the same text. */
char *symbolicator_try(struct symbolicator *s, const struct symreq *r,
                       size_t *len);

#endif
