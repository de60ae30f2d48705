/* SPDX-License-Identifier: MIT */
/*
 * fileio: EINTR-safe whole reads and writes, directory creation and the
 * durable publish step (fsync file, rename, fsync directory).
 */
#ifndef SYMSRVD_FILEIO_H
#define SYMSRVD_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* Write all LEN bytes of BUF to FD.  0 or -errno. */
int write_full(int fd, const void *buf, size_t len);

/* pread up to LEN bytes at OFF, retrying on EINTR and short reads until
 * LEN bytes or end of file.  Returns the byte count or -errno. */
ssize_t pread_full(int fd, void *buf, size_t len, off_t off);

/* Create DIR and its missing parents with MODE.  0 or -errno. */
int mkdir_p(const char *dir, mode_t mode);

/* Make a completed file durable and visible: fsync(FD), then rename(FROM,
 * TO), so TO never names a partly written file, even after a crash.  The
 * directory is not fsync'd: a rename lost in a crash merely leaves the
 * file unpublished.  0 or -errno; on failure FROM is left where it was
 * for the caller to unlink. */
int publish_file(int fd, const char *from, const char *to);

/* Remove DIR and everything below it (no symlinks followed).  0 or -errno. */
int remove_tree(const char *dir);

/* Read the whole (small) file PATH into a new NUL-terminated buffer,
 * refusing files above MAX bytes.  0 or -errno; caller frees *OUT. */
int read_small_file(const char *path, size_t max, char **out, size_t *len);

/* The last component of PATH, with '/' and '\\' both taken as
 * separators (paths in crash dumps and PDBs are often Windows paths).
 * Points into PATH. */
const char *path_base(const char *path);

#endif
