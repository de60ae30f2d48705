/* SPDX-License-Identifier: MIT */
/*
 * store: where things live under the cache directory (see cache.h for
 * the layout) and the clean-up of temp files a dead worker left behind.
 *
 * Temp and lock files are named by a 128-bit hash of the canonical key,
 * so their names stay short whatever the key's length.
 */
#ifndef SYMSRVD_STORE_H
#define SYMSRVD_STORE_H

#include <stddef.h>

#define STORE_PATH_MAX 4096

/* "<dir>/<key>": the published file.  0 or -ENAMETOOLONG. */
int store_file_path(const char *dir, const char *key, char *buf, size_t len);

/* "<dir>/<key>.GZIP": its gzip copy.  Canonical file names are lower-case,
 * so the upper-case suffix can never be another symbol's name. */
int store_gzip_path(const char *dir, const char *key, char *buf, size_t len);

/* "<dir>/.Symsrvd/tmp/<hash>.<SUFFIX>" ("part", "info"). */
int store_tmp_path(const char *dir, const char *key, const char *suffix,
                   char *buf, size_t len);

/* "<dir>/.Symsrvd/locks/<hash>.lock". */
int store_lock_path(const char *dir, const char *key, char *buf, size_t len);

/* Create the directories the daemon writes to.  0 or -errno (logged). */
int store_prepare(const char *dir);

/* Remove every temp file under DIR/.Symsrvd/tmp whose download lock is
 * not held (its writer died).  Returns the number removed. */
unsigned store_clean_tmp(const char *dir);

#endif
