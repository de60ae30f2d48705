/* SPDX-License-Identifier: MIT */
/*
 * server_sendfile: an fd response's body in as few sendfile calls as the
 * socket allows (see server_sendfile.c).  Part of the server module.
 */
#ifndef SYMSRVD_SERVER_SENDFILE_H
#define SYMSRVD_SERVER_SENDFILE_H

#include <stdint.h>

struct stat;

/* FD is about to back an fd response whose body ends at byte END of the
 * file (its size for a whole file, offset + length for a range): MHD's
 * sendfile calls on it may then ask for everything up to END at once.
 * A response that ends before its file does must be noted, so that no
 * note left by an earlier descriptor with the same number is taken for
 * it; an unnoted whole-file response is safe.  ST is FD's fstat(),
 * which the caller has already taken. */
void server_sendfile_note(int fd, const struct stat *st, uint64_t end);

#endif
