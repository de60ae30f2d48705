/* SPDX-License-Identifier: MIT */
/*
 * server: the HTTP front end of one worker process, on libmicrohttpd.
 *
 * One MHD daemon per inherited listen socket, each with an internal pool
 * of `threads` epoll threads.  Cache hits are answered from the pool
 * thread with an fd response (sendfile); misses suspend the connection
 * until the download has a first byte (see inflight.h) and then stream
 * the growing temp file.  No pool thread ever waits on the network.
 */
#ifndef SYMSRVD_SERVER_H
#define SYMSRVD_SERVER_H

#include <stddef.h>

struct config;
struct cache;
struct inflight;
struct fetch;
struct server;

/* Start serving on the listening sockets FDS[0..NFDS).  Everything passed
 * in must outlive the server.  0 and *OUT, or -errno (logged). */
int server_start(const struct config *cfg, struct cache *cache,
                 struct inflight *inflight, struct fetch *fetch,
                 const int *fds, size_t nfds, struct server **out);

/* Stop accepting new connections; requests in progress go on, and every
 * answer from now on closes its connection (Connection: close).  This
 * process's descriptors of the listen sockets stop accepting too, so a
 * late accept() cannot take a connection the worker would cut; the
 * sockets themselves stay open in the other processes. */
void server_quiesce(struct server *s);

/* Requests in progress (idle keep-alive connections do not count: they
 * are closed by server_stop()). */
unsigned server_requests(struct server *s);

/* Open connections, idle keep-alive ones included.  After
 * server_quiesce() every answer closes its connection, so this falls to
 * 0 once the clients have their answers (idle ones at the connection
 * timeout); it then also counts a connection a thread accept()ed but has
 * not handed to MHD yet (this process's descriptors of sockets accepted
 * on the listen addresses, read from /proc/self/fd), however long that
 * thread is held up. */
unsigned server_connections(struct server *s);

/* Refuse new downloads from now on (shutdown has begun). */
void server_refuse_downloads(struct server *s);

/* Write the batched hit counters to the index (call about once a second,
 * from one thread). */
void server_flush_hits(struct server *s);

/* Let go of kept responses whose file is gone, so evicted or replaced
 * files free their space (call with server_flush_hits()). */
void server_sweep_responses(struct server *s);

/* Close every connection, stop the threads and free S.  NULL-safe. */
void server_stop(struct server *s);

#endif
