/* SPDX-License-Identifier: MIT */
/*
 * server_accept: a new connection wakes one thread that waits for it, not
 * all of them (see server_accept.c).  Part of the server module.
 */
#ifndef SYMSRVD_SERVER_ACCEPT_H
#define SYMSRVD_SERVER_ACCEPT_H

/* FD is a listen socket about to be handed to MHD: its epoll entries are
 * to wake one waiter per event.  Call before the threads start. */
void server_accept_note(int fd);

#endif
