/* SPDX-License-Identifier: MIT */
/*
 * listen: the master binds every listen address before it forks, so all
 * workers accept on the same sockets.
 */
#ifndef SYMSRVD_LISTEN_H
#define SYMSRVD_LISTEN_H

#include <stddef.h>

struct config_listen;

/* Bind and listen on L; print "listening on ADDR:PORT" with the port the
 * kernel chose for port 0.  Returns the socket or -errno (logged). */
int listen_open(const struct config_listen *l);

#endif
