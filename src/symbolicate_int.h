/* SPDX-License-Identifier: MIT */
/*
 * symbolicate_int: module resolution, shared by symbolicate.c (POST
 * /symbolicate) and symminidump.c (POST /minidump).  Not for use outside
 * them.
 */
#ifndef SYMSRVD_SYMBOLICATE_INT_H
#define SYMSRVD_SYMBOLICATE_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "layout.h"
#include "objfile/objfile.h"
#include "symsource.h"

struct symbolicator;
struct stabcache;

struct symbolicator {
    const struct config *cfg;
    struct stabcache *tables;
};

/* A usable symbol file found for a module. */
struct symfound {
    char *path; /* local file */
    enum objfile_kind kind;
    int quality; /* 0 debug info, 1 symbols only */
};

/* One module of a request, as parsed and as resolved. */
struct module {
    const json_t *raw;
    struct layout_ids ids;
    char debug_id[48]; /* canonical, "" when absent or unparsable */
    uint64_t addr, size; /* size UINT64_MAX: reaches to the end */
    bool used;
    const char *status;
    struct stab *stab;
    json_t *candidates;
    struct symfound *found; /* usable files, in the order tried */
    size_t nfound;
};

/* Fill M from the request's module object RAW (borrowed). */
void module_init(struct module *m, const json_t *raw);

/* Look M up in SOURCES: sets status, stab, found and candidates. */
void module_resolve(struct symbolicator *s,
                    const struct symsource_list *sources,
                    const struct symsource_ctx *ctx, struct module *m);

/* M in the answer's "modules" (candidates when DIF_CANDIDATES). */
json_t *module_json(bool dif_candidates, const struct module *m);

/* Free what module_init() and module_resolve() took. */
void module_release(struct symbolicator *s, struct module *m);

#endif
