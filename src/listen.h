/* SPDX-License-Identifier: MIT */
/*
 * listen: the master binds every listen address before it forks, or takes
 * the sockets systemd passed (socket activation), so all workers accept on
 * the same sockets.  They stay open for the master's life: a reload
 * replaces the workers, never the sockets.
 */
#ifndef SYMSRVD_LISTEN_H
#define SYMSRVD_LISTEN_H

#include <stddef.h>

struct config_listen;

/* Bind and listen on L; print "listening on ADDR:PORT" with the port the
 * kernel chose for port 0.  Returns the socket or -errno (logged). */
int listen_open(const struct config_listen *l);

/* The listening sockets systemd passed (LISTEN_PID, LISTEN_FDS: fds from
 * 3 on, see sd_listen_fds(3)), made non-blocking and close-on-exec, and
 * announced as listen_open() does; the variables are removed from the
 * environment.  Stores at most MAX fds in FDS.  Returns how many (0: none
 * passed, or built without libsystemd), or -errno (logged) when one is not
 * a listening stream socket or there are more than MAX. */
int listen_inherited(int *fds, size_t max);

#endif
