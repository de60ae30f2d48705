/* SPDX-License-Identifier: MIT */
/*
 * worker: one pre-forked worker process.  It opens the index after the
 * fork (LMDB handles never cross one), starts the downloader pool and the
 * HTTP server on the inherited listen sockets, and its main thread then
 * only waits for signals, expires first-byte deadlines and flushes the
 * batched hit counters.
 */
#ifndef SYMSRVD_WORKER_H
#define SYMSRVD_WORKER_H

#include <stddef.h>
#include <sys/types.h>

struct config;

/* Run the worker until SIGTERM/SIGINT, then stop gracefully (requests in
 * progress get up to 10 s) and exit; when MASTER (the pid that forked it)
 * dies, exit at once.  Called in the child after fork, with every signal
 * blocked.  Never returns. */
void worker_run(const struct config *cfg, const int *fds, size_t nfds,
                pid_t master) __attribute__((noreturn));

#endif
