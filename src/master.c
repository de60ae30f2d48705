/* SPDX-License-Identifier: MIT */
/*
 * master: the supervising process.  It forks the workers on the listen
 * sockets, restarts one that dies (removing its half-written temp files)
 * or stops beating, reloads on SIGHUP (see struct master), stops every
 * worker gracefully on SIGTERM/SIGINT, and tells systemd about all of it
 * (READY/RELOADING/STOPPING, WATCHDOG while the workers beat).
 *
 * Each worker holds the write end of a pipe to the master: one byte when
 * it starts serving and then every second (a heartbeat), end-of-file when
 * it stops accepting connections.
 */
#include "symsrvd_config.h"

#include "master.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "timeutil.h"
#include "upslot.h"
#include "worker.h"

#define STOP_GRACE_MS 12000
#define TICK_MS 50
/* A serving worker this long without a heartbeat is killed (and so
 * restarted); one this long silent stops the systemd watchdog pings. */
#define STALL_MS 15000
#define FRESH_MS 5000
/* A reload whose first new worker does not serve by then is abandoned. */
#define RELOAD_START_MS 10000

/* One worker process as the master sees it. */
struct slot {
    pid_t pid;           /* 0: none */
    int beat_fd;         /* read end of its heartbeat pipe, -1: none */
    uint64_t started_ms; /* last fork into this slot, 0: never */
    uint64_t beat_ms;    /* last heartbeat, 0: not serving yet */
    bool retired;        /* sent SIGQUIT: finishing its work */
    bool quiet;          /* closed its pipe: accepts no more connections */
};

/*
 * RELOAD.  SIGHUP reads the configuration again.  If it is valid, the
 * running workers move to OLD and slots of W are started one at a time
 * (NEXT is the one starting); when it serves (its first heartbeat), the
 * old worker of that slot is retired: SIGQUIT makes it stop accepting and
 * exit once its requests and downloads are done.  The listen sockets stay
 * open throughout, so no connection is refused.  If the first new worker
 * does not serve within RELOAD_START_MS (the settings load but cannot
 * run), the reload is abandoned and the old workers go on.  A SIGHUP that
 * comes before every old worker has exited waits for that (upslot.h:
 * their upstream rows must not be reused while they run).
 */
struct master {
    master_load_fn load; /* reads the configuration again */
    void *load_arg;
    struct config *cfg;
    struct config *prev_cfg; /* while reloading: the one to go back to */
    int fds[MASTER_MAX_LISTEN];
    size_t nfds;
    bool inherited; /* the sockets came from systemd */
    struct slot w[MASTER_MAX_WORKERS];   /* workers of cfg */
    struct slot old[MASTER_MAX_WORKERS]; /* of the one before a reload */
    size_t nold;
    size_t next;
    uint64_t reload_ms; /* when the reload began */
    bool reloading;
    bool reload_wanted; /* a SIGHUP waits for the old workers */
    bool ready;         /* READY=1 sent */
    bool stopping;
    uint64_t watchdog_ms; /* ping interval, 0: no watchdog */
    uint64_t next_ping_ms;
};

/* sd_notify(3) to the service manager, when there is one. */
static void notify(const char *state)
{
#ifdef HAVE_SYSTEMD
    sd_notify(0, state);
#else
    (void)state;
#endif
}

static void notify_reloading(void)
{
    struct timespec ts;
    char msg[80];

    /* systemd 253's Type=notify-reload wants the time with RELOADING=1;
     * older versions ignore it. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
             (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
    notify(msg);
}

static void empty_slots(struct slot *v)
{
    size_t i;

    memset(v, 0, MASTER_MAX_WORKERS * sizeof(*v));
    for (i = 0; i < MASTER_MAX_WORKERS; i++)
        v[i].beat_fd = -1;
}

static void slot_clear(struct slot *s)
{
    if (s->beat_fd >= 0)
        close(s->beat_fd);
    s->beat_fd = -1;
    s->pid = 0;
    s->beat_ms = 0;
    s->retired = false;
    s->quiet = false;
}

static void spawn(struct master *m, size_t i)
{
    struct worker_args a = {.fds = m->fds, .nfds = m->nfds};
    struct slot *s = &m->w[i];
    int beat[2];
    pid_t pid;

    s->started_ms = mono_ms();
    if (pipe2(beat, O_CLOEXEC | O_NONBLOCK) != 0) {
        log_warn("pipe");
        return;
    }
    a.master = getpid();
    a.beat_fd = beat[1];
    pid = fork();
    if (pid < 0) {
        log_warn("fork");
        close(beat[0]);
        close(beat[1]);
        return;
    }
    if (pid == 0) {
        close(beat[0]);
        worker_run(m->cfg, &a);
    }
    close(beat[1]);
    s->pid = pid;
    s->beat_fd = beat[0];
    s->beat_ms = 0;
    metrics_gauge_add(&metrics->workers_alive, 1);
}

static void log_exit(pid_t pid, int status)
{
    if (WIFSIGNALED(status))
        log_warnx("worker %d killed by signal %d", (int)pid, WTERMSIG(status));
    else
        log_warnx("worker %d exited with status %d", (int)pid,
                  WEXITSTATUS(status));
}

/* The slot of PID in V (N slots), or NULL. */
static struct slot *find(struct slot *v, size_t n, pid_t pid)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (v[i].pid == pid)
            return &v[i];
    }
    return NULL;
}

static void reap(struct master *m)
{
    struct slot *s;
    pid_t pid;
    int status;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if ((s = find(m->w, m->cfg->workers, pid)) != NULL) {
            if (!m->stopping)
                log_exit(pid, status);
        } else if ((s = find(m->old, m->nold, pid)) != NULL) {
            /* a retired worker's clean exit is the plan */
            if (!m->stopping && (!s->retired || !WIFEXITED(status) ||
                                 WEXITSTATUS(status) != 0))
                log_exit(pid, status);
        } else {
            continue;
        }
        slot_clear(s);
        metrics_gauge_add(&metrics->workers_alive, -1);
    }
}

/* Restart empty slots, but not more than once a second per slot, so a
 * worker that cannot start does not spin the machine.  While reloading,
 * only the slots up to the one starting. */
static void respawn(struct master *m)
{
    size_t n = m->reloading && m->next < m->cfg->workers ? m->next + 1
                                                         : m->cfg->workers;
    uint64_t now = mono_ms();
    bool cleaned = false;
    size_t i;

    for (i = 0; i < n; i++) {
        struct slot *s = &m->w[i];

        if (s->pid != 0 || (s->started_ms != 0 && now - s->started_ms < 1000))
            continue;
        if (!cleaned && s->started_ms != 0) {
            unsigned k = store_clean_tmp(m->cfg->cache_dir);

            if (k > 0)
                log_info("removed %u temp files of dead workers", k);
            cleaned = true;
        }
        if (s->started_ms != 0)
            metrics_add(&metrics->worker_restarts, 1);
        spawn(m, i);
    }
}

/* Read the heartbeats in V (N slots): the pipes are non-blocking, and
 * end-of-file says the worker stopped accepting. */
static void read_beats(struct slot *v, size_t n, uint64_t now)
{
    char buf[64];
    ssize_t len;
    size_t i;

    for (i = 0; i < n; i++) {
        bool got = false;

        if (v[i].pid == 0 || v[i].beat_fd < 0 || v[i].quiet)
            continue;
        while ((len = read(v[i].beat_fd, buf, sizeof(buf))) > 0)
            got = true;
        if (got)
            v[i].beat_ms = now;
        if (len == 0)
            v[i].quiet = true;
    }
}

/* A worker silent for STALL_MS since its last heartbeat (or its start) is
 * stuck: kill it, so it is restarted, rather than let it hold connections
 * it never answers. */
static void kill_stalled(struct slot *v, size_t n, uint64_t now)
{
    uint64_t last;
    size_t i;

    for (i = 0; i < n; i++) {
        last = v[i].beat_ms != 0 ? v[i].beat_ms : v[i].started_ms;
        if (v[i].pid != 0 && !v[i].retired && !v[i].quiet &&
            now - last > STALL_MS) {
            log_warnx("worker %d silent for %" PRIu64 " s: killed",
                      (int)v[i].pid, (now - last) / 1000);
            kill(v[i].pid, SIGKILL);
            v[i].beat_ms = 0;
            v[i].started_ms = now; /* once: reap() restarts it */
        }
    }
}

/* Serving workers in V (N slots), and whether every one that has served
 * beat lately. */
static size_t serving(const struct slot *v, size_t n, uint64_t now,
                      bool *all_fresh)
{
    size_t i, k = 0;

    for (i = 0; i < n; i++) {
        if (v[i].pid == 0 || v[i].retired || v[i].beat_ms == 0)
            continue;
        if (now - v[i].beat_ms < FRESH_MS)
            k++;
        else
            *all_fresh = false;
    }
    return k;
}

/* WATCHDOG=1 only while the workers are alive and beating: a master whose
 * workers hang (or cannot start) is restarted by systemd. */
static void watchdog(struct master *m, uint64_t now)
{
    bool fresh = true;
    size_t k;

    if (m->watchdog_ms == 0 || now < m->next_ping_ms)
        return;
    k = serving(m->w, m->cfg->workers, now, &fresh) +
        serving(m->old, m->nold, now, &fresh);
    if (k > 0 && fresh) {
        notify("WATCHDOG=1");
        m->next_ping_ms = now + m->watchdog_ms;
    }
}

static bool all_serving(const struct master *m)
{
    size_t i;

    for (i = 0; i < m->cfg->workers; i++) {
        if (m->w[i].beat_ms == 0)
            return false;
    }
    return true;
}

static bool old_alive(const struct master *m)
{
    size_t i;

    for (i = 0; i < m->nold; i++) {
        if (m->old[i].pid != 0)
            return true;
    }
    return false;
}

/* Has every retired worker stopped accepting? */
static bool old_quiet(const struct master *m)
{
    size_t i;

    for (i = 0; i < m->nold; i++) {
        if (m->old[i].pid != 0 && !m->old[i].quiet)
            return false;
    }
    return true;
}

static void retire(struct master *m, size_t i)
{
    struct slot *s = &m->old[i];

    if (i >= m->nold || s->pid == 0 || s->retired)
        return;
    kill(s->pid, SIGQUIT);
    s->retired = true;
}

/* The new configuration NEXT replaces the running one: keep what cannot
 * change without closing the sockets.  False (logged) to refuse it. */
static bool reload_accept(struct master *m, struct config *next)
{
    size_t lost;

    if (!m->inherited && !config_same_listen(m->cfg, next)) {
        log_warnx("reload: listen addresses change only on restart: "
                  "keeping the current ones");
        config_copy_listen(next, m->cfg);
    }
    if (strcmp(next->cache_dir, m->cfg->cache_dir) != 0 &&
        store_prepare(next->cache_dir) != 0) {
        log_warnx("reload: cache directory %s unusable: keeping the running "
                  "configuration", next->cache_dir);
        return false;
    }
    lost = upslot_reload(next, metrics);
    if (lost > 0)
        log_warnx("reload: %zu upstreams without breaker and counters "
                  "(more than %d in use)", lost, METRICS_MAX_UPSTREAMS);
    return true;
}

static void reload_begin(struct master *m)
{
    struct config *next = NULL;
    char err[512] = "";

    notify_reloading();
    if (m->load(m->load_arg, &next, err, sizeof(err)) != 0) {
        log_warnx("reload refused: %s: keeping the running configuration",
                  err);
        notify("READY=1");
        return;
    }
    if (!reload_accept(m, next)) {
        config_free(next);
        notify("READY=1");
        return;
    }
    log_info("reload: %u workers, cache %s, %zu upstreams", next->workers,
             next->cache_dir, next->nupstreams);
    memcpy(m->old, m->w, sizeof(m->old));
    m->nold = m->cfg->workers;
    empty_slots(m->w);
    m->prev_cfg = m->cfg;
    m->cfg = next;
    m->next = 0;
    m->reload_ms = mono_ms();
    m->reloading = true;
}

/* The first new worker never served: kill it, give the old workers their
 * slots back and go on with the old configuration. */
static void reload_abandon(struct master *m)
{
    struct slot *s = &m->w[0];

    log_warnx("reload abandoned: no worker with the new configuration "
              "served within %d s; keeping the running configuration",
              RELOAD_START_MS / 1000);
    if (s->pid != 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        metrics_gauge_add(&metrics->workers_alive, -1);
    }
    slot_clear(s);
    memcpy(m->w, m->old, sizeof(m->w)); /* their pipes move back too */
    empty_slots(m->old);
    m->nold = 0;
    config_free(m->cfg);
    m->cfg = m->prev_cfg;
    m->prev_cfg = NULL;
    upslot_rollback();
    m->reloading = false;
    notify("READY=1");
}

/* One step of a reload: when the starting worker serves, retire its old
 * counterpart and go on with the next slot.  Done when no old worker
 * accepts connections any more: from then on every new request gets the
 * new settings. */
static void reload_step(struct master *m)
{
    size_t i;

    if (!m->reloading)
        return;
    if (m->next == 0 && m->w[0].beat_ms == 0 &&
        mono_ms() - m->reload_ms > RELOAD_START_MS) {
        reload_abandon(m);
        return;
    }
    while (m->next < m->cfg->workers) {
        if (m->w[m->next].beat_ms == 0)
            return; /* respawn() starts it */
        retire(m, m->next++);
    }
    for (i = m->cfg->workers; i < m->nold; i++)
        retire(m, i);
    if (!old_quiet(m))
        return;
    m->reloading = false;
    config_free(m->prev_cfg);
    m->prev_cfg = NULL;
    log_info("reload done: %u new workers serve", m->cfg->workers);
    notify("READY=1");
}

static void on_hangup(struct master *m)
{
    if (m->reloading || old_alive(m)) {
        log_info("reload: waiting for the previous one to finish");
        m->reload_wanted = true;
        return;
    }
    reload_begin(m);
}

static void stop_all(struct slot *v, size_t n, int sig)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (v[i].pid != 0)
            kill(v[i].pid, sig);
    }
}

static size_t count_alive(const struct slot *v, size_t n)
{
    size_t i, k = 0;

    for (i = 0; i < n; i++)
        k += v[i].pid != 0;
    return k;
}

static void stop_workers(struct master *m)
{
    uint64_t deadline = mono_ms() + STOP_GRACE_MS;
    size_t n = m->cfg->workers;

    m->stopping = true;
    stop_all(m->w, n, SIGTERM);
    stop_all(m->old, m->nold, SIGTERM);
    for (;;) {
        reap(m);
        if (count_alive(m->w, n) + count_alive(m->old, m->nold) == 0)
            return;
        if (mono_ms() >= deadline)
            break;
        usleep(20000);
    }
    log_warnx("%zu workers did not stop in time",
              count_alive(m->w, n) + count_alive(m->old, m->nold));
    stop_all(m->w, n, SIGKILL);
    stop_all(m->old, m->nold, SIGKILL);
    while (waitpid(-1, NULL, 0) > 0)
        ;
}

/* Once a tick and after every signal. */
static void housekeeping(struct master *m)
{
    uint64_t now = mono_ms();

    reap(m);
    read_beats(m->w, m->cfg->workers, now);
    read_beats(m->old, m->nold, now);
    kill_stalled(m->w, m->cfg->workers, now);
    respawn(m);
    reload_step(m);
    if (!m->ready && all_serving(m)) {
        notify("READY=1");
        m->ready = true;
    }
    if (m->reload_wanted && !m->reloading && !old_alive(m)) {
        m->reload_wanted = false;
        reload_begin(m);
    }
    watchdog(m, now);
}

static void supervise(struct master *m)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = TICK_MS * 1000000L};
    sigset_t set;
    int sig;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    for (;;) {
        sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (sig == SIGHUP)
            on_hangup(m);
        housekeeping(m);
    }
    log_info("stopping on signal %d", sig);
    notify("STOPPING=1");
    stop_workers(m);
}

/* WatchdogSec= in the unit: ping at half the interval. */
static void watchdog_init(struct master *m)
{
#ifdef HAVE_SYSTEMD
    uint64_t usec = 0;

    if (sd_watchdog_enabled(1, &usec) > 0 && usec >= 2000)
        m->watchdog_ms = usec / 2000;
#else
    (void)m;
#endif
}

void master_run(const struct master_setup *setup)
{
    static struct master m; /* large: not on the stack */

    memset(&m, 0, sizeof(m));
    m.cfg = setup->cfg;
    m.load = setup->load;
    m.load_arg = setup->load_arg;
    memcpy(m.fds, setup->fds, setup->nfds * sizeof(m.fds[0]));
    m.nfds = setup->nfds;
    m.inherited = setup->inherited;
    empty_slots(m.w);
    empty_slots(m.old);
    upslot_init(m.cfg);
    watchdog_init(&m);
    respawn(&m);
    supervise(&m);
    config_free(m.prev_cfg);
    config_free(m.cfg);
}
