/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "worker.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cache.h"
#include "config.h"
#include "fetch.h"
#include "inflight.h"
#include "janitor.h"
#include "log.h"
#include "server.h"
#include "timeutil.h"

#define WORKER_TICK_MS 50
#define WORKER_FLUSH_MS 200
#define WORKER_BEAT_MS 1000
#define WORKER_DRAIN_MS 10000
#define WORKER_RETIRE_MS (10 * 60 * 1000)
/* A connection accept()ed just before the quiesce counts in busy() from
 * the moment its descriptor exists (server_connections()), however long
 * its MHD thread then takes to set it up; a retiring worker (whose socket
 * goes on serving) lingers this long for the few instructions inside
 * accept() between taking the connection and giving it a descriptor. */
#define WORKER_SETTLE_MS 500
/* See worker_run(). */
#define WORKER_MMAP_THRESHOLD (1 << 20)
#define WORKER_TRIM_THRESHOLD (4 << 20)

struct worker {
    struct server *s;
    struct inflight *t;
    struct fetch *f;
    int beat_fd;
    uint64_t next_flush;
    uint64_t next_beat;
    sigset_t stop; /* SIGTERM, SIGINT and SIGQUIT */
};

/* Wait for a stop signal for up to TICK ms: the signal, or 0. */
static int tick(const sigset_t *stop, unsigned tick_ms)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)tick_ms * 1000000};
    int sig = sigtimedwait(stop, NULL, &ts);

    return sig > 0 ? sig : 0;
}

static void housekeeping(struct worker *w)
{
    uint64_t now = mono_ms();

    inflight_expire(w->t, now);
    if (now >= w->next_flush) {
        server_flush_hits(w->s);
        server_sweep_responses(w->s);
        w->next_flush = now + WORKER_FLUSH_MS;
    }
}

/* Tell the master we serve.  A full pipe (a master that does not read)
 * only drops beats: the fd is non-blocking. */
static void beat(struct worker *w)
{
    uint64_t now = mono_ms();

    if (now < w->next_beat)
        return;
    if (write(w->beat_fd, "b", 1) < 0 && errno != EAGAIN)
        log_debug("heartbeat: %s", strerror(errno));
    w->next_beat = now + WORKER_BEAT_MS;
}

/* A retiring worker also waits for its downloads and for its clients to
 * close their connections: a keep-alive client must not send its next
 * request into a worker that no longer downloads. */
static bool busy(struct worker *w, bool retiring)
{
    return server_requests(w->s) > 0 ||
           (retiring && (fetch_pending(w->f) > 0 ||
                         server_connections(w->s) > 0));
}

/* Let requests in progress finish, for at most WORKER_DRAIN_MS, and when
 * RETIRING (a reload replaces this worker, SIGQUIT) downloads in progress
 * too, for at most WORKER_RETIRE_MS, and never less than WORKER_SETTLE_MS;
 * a SIGTERM meanwhile shortens that to a stop's drain.  The master stops
 * counting on us: no more beats. */
static void drain(struct worker *w, bool retiring)
{
    uint64_t now = mono_ms();
    uint64_t deadline = now + (retiring ? WORKER_RETIRE_MS : WORKER_DRAIN_MS);
    uint64_t settle = now + (retiring ? WORKER_SETTLE_MS : 0);
    int sig;

    server_quiesce(w->s);
    /* EOF on the pipe tells the master we accept no more connections: a
     * reload is done only when no old worker can take a new request. */
    close(w->beat_fd);
    w->beat_fd = -1;
    while ((busy(w, retiring) || mono_ms() < settle) &&
           mono_ms() < deadline) {
        sig = tick(&w->stop, WORKER_TICK_MS);
        if (retiring && (sig == SIGTERM || sig == SIGINT)) {
            retiring = false;
            deadline = mono_ms() + WORKER_DRAIN_MS;
        }
        housekeeping(w);
    }
}

void worker_run(const struct config *cfg, const struct worker_args *a)
{
    struct cache *cache = NULL;
    struct janitor *j = NULL;
    struct worker w;
    int sig;

    /* Die with the master, at once: an orphaned worker would keep the
     * listen sockets (a restart would fail with EADDRINUSE) and a graceful
     * stop could take WORKER_DRAIN_MS.  Nothing is lost that a crash does
     * not already handle: the next janitor removes the temp files.  The
     * master may have died before prctl(): then we have a new parent. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != a->master)
        _exit(1);
    log_init(log_enabled(LOG_LEVEL_DEBUG) ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO,
             "worker");
    /* A /symbolicate answer, its request body and its values are buffers
     * of a few hundred KiB made and freed per request.  With glibc's
     * defaults a free gave the pages back (mmap, trimming each thread's
     * heap) and the next request faulted them in again: a tenth of a warm
     * 500-frame request.  Keep them: up to 1 MiB from the heap, and up to
     * 4 MiB of free heap left per malloc arena. */
    mallopt(M_MMAP_THRESHOLD, WORKER_MMAP_THRESHOLD);
    mallopt(M_TRIM_THRESHOLD, WORKER_TRIM_THRESHOLD);
    memset(&w, 0, sizeof(w));
    w.t = inflight_new();
    w.beat_fd = a->beat_fd;
    sigemptyset(&w.stop);
    sigaddset(&w.stop, SIGTERM);
    sigaddset(&w.stop, SIGINT);
    sigaddset(&w.stop, SIGQUIT);
    if (cache_open(cfg->cache_dir, cfg->map_size, &cache) != 0)
        exit(1);
    cache_set_map_max(cache, cfg->map_size_max);
    if (fetch_start(cfg, cache, &w.f) != 0 ||
        server_start(cfg, cache, w.t, w.f, a->fds, a->nfds, &w.s) != 0 ||
        janitor_start(cfg, cache, &j) != 0)
        exit(1);
    beat(&w); /* we serve from now on */
    while ((sig = tick(&w.stop, WORKER_TICK_MS)) == 0) {
        beat(&w);
        housekeeping(&w);
    }
    janitor_stop(j);
    drain(&w, sig == SIGQUIT);
    server_refuse_downloads(w.s);
    fetch_stop(w.f);
    server_flush_hits(w.s);
    server_stop(w.s);
    fetch_free(w.f);
    cache_close(cache);
    inflight_free(w.t);
    exit(0);
}
