/* SPDX-License-Identifier: MIT */
/*
 * gzip: the only file that includes <zlib.h>.  Makes the gzip copy of a
 * cached file once (so requests never compress), inflates gzip bodies
 * upstreams store as files (decompress.c), and parses Accept-Encoding.
 */
#ifndef SYMSRVD_GZIP_H
#define SYMSRVD_GZIP_H

#include <stdbool.h>
#include <stdint.h>

/* Compress SRC into a new file DST (written to DST.tmp, fsync'd and
 * renamed).  *SIZE receives the compressed size.  0 or -errno; on failure
 * nothing is left at DST. */
int gzip_file(const char *src, const char *dst, uint64_t *size);

/* Inflate the gzip file on IN (one or more members) into OUT, both at
 * their current offsets; *SIZE receives the inflated size.  HOLD (if not
 * NULL) is asked before OUT grows to each new total: false stops with
 * -ENOSPC.  0, -EBADMSG for a corrupt or truncated stream, or -errno. */
int gunzip_fd(int in, int out, uint64_t *size,
              bool (*hold)(void *arg, uint64_t total), void *arg);

/* Does the Accept-Encoding header value VALUE (may be NULL) accept gzip
 * with a non-zero q?  "gzip;q=0" refuses it, "*" accepts it unless gzip is
 * refused explicitly. */
bool gzip_accepted(const char *value);

#endif
