/* SPDX-License-Identifier: MIT */
/*
 * stabcache: symbol tables of symbol files, built once and reused.
 *
 * A file's table is looked for in memory (keyed by path, size and mtime),
 * then on disk (see symbolicate.h for where), and only then built with
 * the file's reader; a built table is written to disk (temp file, then
 * rename) for other workers and restarts, and then used from there
 * (mapped, not heap).  A table read from disk is validated by
 * symtable_open(); an invalid or older-version one is rebuilt and
 * replaced.  At most MAX_ENTRIES tables are kept; the least recently used
 * one that no request holds makes room.
 *
 * THREADS.  Any thread may call any function; a struct stab is immutable
 * and stays valid until stabcache_put().
 */
#ifndef SYMSRVD_STABCACHE_H
#define SYMSRVD_STABCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "objfile/objfile.h"

struct stabcache;
struct symtable;

struct stab {
    struct symtable *t;
    struct objfile_ident id;
    int quality; /* 0 debug info, 1 symbols only (Symbolicator's order) */
    bool has_debug_info, has_unwind_info, has_symbols;
};

/* CACHE_DIR: where tables of files outside it are kept.  MAX_ENTRIES:
 * tables kept in memory. */
struct stabcache *stabcache_new(const char *cache_dir, size_t max_entries);
void stabcache_free(struct stabcache *c); /* NULL-safe; no stab held */

/* The table of the symbol file PATH: 0 and *OUT (give it back with
 * stabcache_put()), or -errno with ERR set: -EINVAL/-ENOTSUP the file is
 * not a symbol file we read (malformed), -ENOENT it holds no symbols. */
int stabcache_get(struct stabcache *c, const char *path, struct stab **out,
                  char *err, size_t errlen);
void stabcache_put(struct stabcache *c, struct stab *s);

/* Tables kept now. */
size_t stabcache_count(struct stabcache *c);

#endif
