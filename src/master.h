/* SPDX-License-Identifier: MIT */
/*
 * master: the supervising process (see master.c): it forks the workers,
 * restarts them, reloads the configuration on SIGHUP without closing the
 * listen sockets, stops them on SIGTERM/SIGINT, and speaks sd_notify.
 */
#ifndef SYMSRVD_MASTER_H
#define SYMSRVD_MASTER_H

#include <stdbool.h>
#include <stddef.h>

#define MASTER_MAX_WORKERS 256
#define MASTER_MAX_LISTEN 16

struct config;

/* Read the configuration again for a reload: 0 and *OUT (a new config),
 * or -errno with ERR set to one line. */
typedef int (*master_load_fn)(void *arg, struct config **out, char *err,
                              size_t errlen);

struct master_setup {
    struct config *cfg; /* taken over: master_run frees it */
    const int *fds;     /* the listen sockets, at most MASTER_MAX_LISTEN */
    size_t nfds;
    bool inherited;     /* they came from systemd: listen is not reloaded */
    master_load_fn load;
    void *load_arg;
};

/* Fork SETUP->cfg's workers and supervise them until SIGTERM or SIGINT,
 * then stop them and return.  Every signal must be blocked and the shared
 * metrics block mapped (metrics_create) before; the caller's thread is the
 * only one. */
void master_run(const struct master_setup *setup);

#endif
