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

/* The headers about to be sent on socket SOCK precede a body of at least
 * one byte that MHD sends with sendfile: SOCK is corked, and MHD's push
 * of the headers alone (TCP_CORK off) is skipped, so that they leave in
 * the body's first segment; the uncork is made up for once the body is
 * under way.  Called by the thread that queues the response, never for a
 * HEAD or an empty body. */
void server_sendfile_hold_headers(int sock);

/* SOCK's request is over (MHD's completion callback, which runs before
 * MHD closes the descriptor): a hold that its body never took back is
 * dropped, and an uncork still owed is made. */
void server_sendfile_release(int sock);

#endif
