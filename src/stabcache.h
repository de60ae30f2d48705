/* SPDX-License-Identifier: MIT */
/*
 * stabcache: symbol tables of symbol files, built once and reused.
 *
 * A file's table is looked for in memory (keyed by path, size and mtime,
 * and for a universal Mach-O file the slice asked for),
 * then on disk (see symbolicate.h for where), and only then built with
 * the file's reader; a built table is written to disk (temp file, then
 * rename) for other workers and restarts, and then used from there
 * (mapped, not heap).  A table read from disk is validated by
 * symtable_open(); an invalid or older-version one is rebuilt and
 * replaced.  At most MAX_ENTRIES tables are kept; the least recently used
 * one that no request holds makes room.
 *
 * THREADS.  Any thread may call any function; a struct stab is immutable
 * and stays valid until stabcache_put().  Background builds hold no
 * struct stab; stabcache_free() waits for them.
 */
#ifndef SYMSRVD_STABCACHE_H
#define SYMSRVD_STABCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "objfile/objfile.h"

struct stabcache;
struct strmemo;
struct symtable;

struct stab {
    struct symtable *t;
    struct objfile_ident id;
    int quality; /* 0 debug info, 1 symbols only (Symbolicator's order) */
    bool has_debug_info, has_unwind_info, has_symbols;
    /* text derived from T (answers' JSON of names, keyed by the name's
     * address; of whole lookups, keyed by address), kept as long as the
     * table: at most STABCACHE_TEXT_BYTES each per table, and all tables'
     * together at most the cache's MEMO_BYTES */
    struct strmemo *texts, *lookups;
};

#define STABCACHE_TEXT_BYTES (2u << 20)
#define STABCACHE_LOOKUP_BYTES (8u << 20)

/* CACHE_DIR: where tables of files outside it are kept.  MAX_ENTRIES:
 * tables kept in memory.  MEMO_BYTES: what their memos hold together. */
struct stabcache *stabcache_new(const char *cache_dir, size_t max_entries,
                                size_t memo_bytes);

/* Bytes the memos of all tables hold now. */
size_t stabcache_memo_bytes(struct stabcache *c);
/* NULL-safe; no stab held.  Waits for background builds to end. */
void stabcache_free(struct stabcache *c);

/* The table of the symbol file PATH: 0 and *OUT (give it back with
 * stabcache_put()), or -errno with ERR set: -EINVAL/-ENOTSUP the file is
 * not a symbol file we read (malformed), -ENOENT it holds no symbols. */
int stabcache_get(struct stabcache *c, const char *path, struct stab **out,
                  char *err, size_t errlen);
void stabcache_put(struct stabcache *c, struct stab *s);

/* stabcache_get() of the slice WANT of a universal Mach-O file (a debug
 * id or UUID; the first slice when NULL, "" or none has it: the caller
 * checks the identity) for looking up the NRVAS addresses RVAS (relative
 * to the image base) only.  Files of one slice ignore WANT.  A first
 * answer must not wait for a whole-file build: when PATH is an ELF file
 * with no table in memory or on disk yet, *OUT is read only from the
 * compile units RVAS fall in (lookups of RVAS equal the complete table's;
 * others may not resolve), is not shared, and the complete table is built
 * once in the background for the requests after.  NRVAS 0: stabcache_get(). */
int stabcache_get_for(struct stabcache *c, const char *path,
                      const char *want, const uint64_t *rvas, size_t nrvas,
                      struct stab **out, char *err, size_t errlen);

/* The table of PATH (slice WANT, as for stabcache_get_for()) only when it
 * is in memory and made from the file that stat() described as ST (the
 * caller's, taken just before: a file replaced since has other times or
 * size): 0 and *OUT (give it back with stabcache_put()), or -EWOULDBLOCK
 * when getting it would read or build one.  Never waits for anything
 * but the cache's lock, never touches the file system. */
int stabcache_peek(struct stabcache *c, const char *path, const char *want,
                   const struct stat *st, struct stab **out);

/* Tables kept now. */
size_t stabcache_count(struct stabcache *c);

#endif
