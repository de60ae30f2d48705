/* SPDX-License-Identifier: MIT */
/*
 * store: where things live under the cache directory (see cache.h for
 * the layout), how a finished download and its gzip copy enter it, and
 * the clean-up of temp files a dead worker left behind.
 *
 * A file and its index record go in together: the file is fsync'd and
 * renamed into the tree before the record is written, and removed again
 * when the index refuses it, so a record never names a file that is not
 * whole and an unindexed file is never left to be served.
 *
 * Temp and lock files are named by a 128-bit hash of the canonical key,
 * so their names stay short whatever the key's length.
 */
#ifndef SYMSRVD_STORE_H
#define SYMSRVD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_PATH_MAX 4096

/* Keys of files downloaded from /symbolicate request sources (see
 * symsource.h): indexed and evicted like the rest, never served or
 * listed, since a private source's files belong to its scope. */
#define STORE_SOURCES_PREFIX ".Symsrvd/sources/"

/* Uploads' temp files (see store_upload_tmp()). */
#define STORE_UPLOAD_PREFIX "upload-"

struct cache;
struct cache_entry;

/* "<dir>/<key>": the published file.  0 or -ENAMETOOLONG. */
int store_file_path(const char *dir, const char *key, char *buf, size_t len);

/* "<dir>/<key>.GZIP": its gzip copy.  Canonical file names are lower-case,
 * so the upper-case suffix can never be another symbol's name. */
int store_gzip_path(const char *dir, const char *key, char *buf, size_t len);

/* "<dir>/<key>.SYMTABLE": its symbol table, written by stabcache.c. */
int store_table_path(const char *dir, const char *key, char *buf, size_t len);

/* "<dir>/.Symsrvd/tmp/<hash>.<SUFFIX>" ("part", "info", "plain": a
 * decoded body). */
int store_tmp_path(const char *dir, const char *key, const char *suffix,
                   char *buf, size_t len);

/* "<dir>/.Symsrvd/locks/<hash>.lock". */
int store_lock_path(const char *dir, const char *key, char *buf, size_t len);

/* Publish a complete download under DIR: fsync FD, the temp file PART,
 * rename it to KEY's place in the tree, stamp E->cached_at_ms with that
 * moment and record E in CACHE under KEY and NEG (the exact-case key
 * whose remembered miss it clears).  0 or -errno (logged); a lack of
 * space is reported to nospace.h, and a success ends that condition. */
int store_publish(const char *dir, struct cache *cache, const char *key,
                  const char *neg, int fd, const char *part,
                  struct cache_entry *e);

/* Is KEY indexed with its file present?  A record whose file vanished is
 * dropped, so the download that asked replaces it. */
bool store_present(const char *dir, struct cache *cache, const char *key);

/* Make KEY's gzip copy beside its file, unless its record says one was
 * made or found not worth it, and record the outcome: READY, or NONE when
 * the copy does not shrink the file.  Under KEY's download lock, so that
 * a file published meanwhile (publish.h) never gets the copy of the one
 * it replaced; skipped when the lock stays busy. */
void store_make_gzip(const char *dir, struct cache *cache, const char *key);

/* Take KEY's download lock without waiting: the descriptor (closing it
 * releases the lock), -EBUSY while a download of KEY holds it, or
 * another -errno. */
int store_lock_try(const char *dir, const char *key);

/* The same, trying for up to WAIT_MS while it is busy. */
int store_lock_wait(const char *dir, const char *key, uint64_t wait_ms);

/* Remove KEY's file, its gzip copy and symbol table, then its record,
 * under its download lock, adding the bytes unlinked to *FREED.  When
 * CACHED_AT_MS is not 0, only that download of KEY goes.  0, -EBUSY (a
 * download of KEY is in progress), -ESTALE (KEY was fetched again),
 * -ENOENT (no record) or another -errno. */
int store_evict(const char *dir, struct cache *cache, const char *key,
                int64_t cached_at_ms, uint64_t *freed);

/* The first half of store_evict() for callers that batch the index
 * writes: the files are unlinked and KEY's lock descriptor returned, held
 * until the caller has removed the record (cache_remove_many()) and
 * closes it; or the negative errors of store_evict(). */
int store_evict_files(const char *dir, struct cache *cache, const char *key,
                      int64_t cached_at_ms, uint64_t *freed);

/* Remove what was made from KEY's file (its gzip copy and symbol table)
 * before the file is replaced; hold KEY's download lock. */
void store_drop_derived(const char *dir, const char *key);

/* Create the directories the daemon writes to.  0 or -errno (logged). */
int store_prepare(const char *dir);

/* A new temp file for an upload, "<dir>/.Symsrvd/tmp/upload-XXXXXX" (its
 * name in BUF of LEN bytes), open read-write and flock'ed for as long as
 * it stays open, so that store_clean_tmp() removes it only once its
 * writer is gone.  The descriptor, or -errno. */
int store_upload_tmp(const char *dir, char *buf, size_t len);

/* Remove every temp file under DIR/.Symsrvd/tmp whose download lock is
 * not held, and every upload whose own lock is not (its writer died).
 * Returns the number removed. */
unsigned store_clean_tmp(const char *dir);

#endif
