/* SPDX-License-Identifier: MIT */
/*
 * worker: one pre-forked worker process.  It opens the index after the
 * fork (LMDB handles never cross one), starts the downloader pool and the
 * HTTP server on the inherited listen sockets, and its main thread then
 * only waits for signals, expires first-byte deadlines and flushes the
 * batched hit counters, and tells the master it is alive.
 */
#ifndef SYMSRVD_WORKER_H
#define SYMSRVD_WORKER_H

#include <stddef.h>
#include <sys/types.h>

struct config;

struct worker_args {
    const int *fds; /* the listen sockets */
    size_t nfds;
    pid_t master;   /* the pid that forked it */
    int beat_fd;    /* non-blocking write end of a pipe to the master */
};

/* Run the worker until a signal, then exit; never returns.  Called in the
 * child after fork, with every signal blocked.
 *
 * Once it serves, it writes one byte to BEAT_FD about once a second, so
 * the master knows it started and is alive; it closes BEAT_FD when it
 * stops accepting connections.  SIGTERM/SIGINT stop it
 * gracefully: no new connections, requests in progress get up to 10 s,
 * downloads no client waits for are abandoned.  SIGQUIT retires it (a
 * reload): it stops accepting and exits when its requests and downloads
 * have finished, after 10 min at most.  When MASTER dies, it exits at
 * once. */
void worker_run(const struct config *cfg, const struct worker_args *a)
    __attribute__((noreturn));

#endif
