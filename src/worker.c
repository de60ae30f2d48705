/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
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
#define WORKER_DRAIN_MS 10000

/* Wait for a stop signal for up to TICK ms.  True when one arrived. */
static bool tick(const sigset_t *stop, unsigned tick_ms)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)tick_ms * 1000000};

    return sigtimedwait(stop, NULL, &ts) > 0;
}

static void housekeeping(struct server *s, struct inflight *t,
                         uint64_t *next_flush)
{
    uint64_t now = mono_ms();

    inflight_expire(t, now);
    if (now >= *next_flush) {
        server_flush_hits(s);
        *next_flush = now + WORKER_FLUSH_MS;
    }
}

/* Let requests in progress finish, for at most WORKER_DRAIN_MS. */
static void drain(struct server *s, struct inflight *t, uint64_t *next_flush)
{
    uint64_t deadline = mono_ms() + WORKER_DRAIN_MS;

    server_quiesce(s);
    while (server_requests(s) > 0 && mono_ms() < deadline) {
        usleep(WORKER_TICK_MS * 1000);
        housekeeping(s, t, next_flush);
    }
}

void worker_run(const struct config *cfg, const int *fds, size_t nfds,
                pid_t master)
{
    struct cache *cache = NULL;
    struct inflight *t = inflight_new();
    struct fetch *f = NULL;
    struct server *s = NULL;
    struct janitor *j = NULL;
    uint64_t next_flush = 0;
    sigset_t stop;

    /* Die with the master, at once: an orphaned worker would keep the
     * listen sockets (a restart would fail with EADDRINUSE) and a graceful
     * stop could take WORKER_DRAIN_MS.  Nothing is lost that a crash does
     * not already handle: the next janitor removes the temp files.  The
     * master may have died before prctl(): then we have a new parent. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != master)
        _exit(1);
    log_init(log_enabled(LOG_LEVEL_DEBUG) ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO,
             "worker");
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    if (cache_open(cfg->cache_dir, cfg->map_size, &cache) != 0)
        exit(1);
    cache_set_map_max(cache, cfg->map_size_max);
    if (fetch_start(cfg, cache, &f) != 0 ||
        server_start(cfg, cache, t, f, fds, nfds, &s) != 0 ||
        janitor_start(cfg, cache, &j) != 0)
        exit(1);
    while (!tick(&stop, WORKER_TICK_MS))
        housekeeping(s, t, &next_flush);
    janitor_stop(j);
    drain(s, t, &next_flush);
    server_refuse_downloads(s);
    fetch_stop(f);
    server_flush_hits(s);
    server_stop(s);
    fetch_free(f);
    cache_close(cache);
    inflight_free(t);
    exit(0);
}
