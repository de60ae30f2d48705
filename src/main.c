/* SPDX-License-Identifier: MIT */
/*
 * symsrvd: a caching symbol server for debuggers on a LAN.
 *
 * PROCESSES.  The master parses the configuration, binds the listen
 * sockets, maps the shared metrics block and pre-forks `workers` worker
 * processes, then only supervises: a worker that dies is restarted at
 * once (and its half-written temp files removed), one that stops
 * beating is killed; SIGHUP reloads the configuration (see struct master);
 * SIGTERM/SIGINT stop every worker gracefully.  It never daemonizes:
 * systemd supervises it (READY/RELOADING/STOPPING/WATCHDOG notifications,
 * socket activation).
 *
 * THREADS (per worker, see worker.c): the main thread waits for signals
 * and runs housekeeping; `threads` libmicrohttpd pool threads per listen
 * socket serve requests ("MHD-worker"); `downloaders` threads fetch from
 * the upstreams ("fetch-N").  Every signal is blocked before any thread
 * exists, so only sigtimedwait() in the main threads sees them.
 */
#include "symsrvd_config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
#include "fetch.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "timeutil.h"
#include "upslot.h"
#include "worker.h"
#include "xalloc.h"

#define MAX_WORKERS 256
#define MAX_LISTEN 16
#define STOP_GRACE_MS 12000
#define TICK_MS 50
/* A serving worker this long without a heartbeat is killed (and so
 * restarted); one this long silent stops the systemd watchdog pings. */
#define STALL_MS 15000
#define FRESH_MS 5000
/* A reload whose first new worker does not serve by then is abandoned. */
#define RELOAD_START_MS 10000

struct options {
    const char *config_path;
    const char **listen;
    size_t nlisten;
    const char **upstreams;
    size_t nupstreams;
    const char *cache_dir;
    const char *workers;
    bool test;
    bool verbose;
};

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
 * run), the reload is abandoned and the old workers go on.  A SIGHUP that comes
 * before every old worker has exited waits for that (upslot.h: their
 * upstream rows must not be reused while they run).
 */
struct master {
    const struct options *o;
    struct config *cfg;
    struct config *prev_cfg; /* while reloading: the one to go back to */
    int fds[MAX_LISTEN];
    size_t nfds;
    bool inherited; /* the sockets came from systemd */
    struct slot w[MAX_WORKERS];   /* workers of cfg */
    struct slot old[MAX_WORKERS]; /* of the configuration before a reload */
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

static void usage(FILE *f)
{
    fprintf(f, "usage: symsrvd [-c FILE] [-l ADDR]... [-d DIR] [-u URL]... "
               "[-w N] [-t] [-v]\n"
               "       symsrvd -V | --version | -h | --help\n"
               "  -c FILE        configuration file (default %s, when it "
               "exists)\n"
               "  -l ADDR        listen on HOST:PORT, [V6]:PORT or unix:/path "
               "(repeatable)\n"
               "  -d DIR         cache directory\n"
               "  -u URL         upstream symbol server (repeatable, in order)\n"
               "  -w N           worker processes (or \"auto\")\n"
               "  -t             check the configuration and exit\n"
               "  -v             more logging\n"
               "  -V, --version  print the version and exit\n"
               "  -h, --help     print this help and exit\n",
               config_default_path());
}

static const char **push_arg(const char **v, size_t *n, const char *arg)
{
    v = xreallocarray(v, *n + 1, sizeof(*v));
    v[(*n)++] = arg;
    return v;
}

static void parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;

    while ((c = getopt_long(argc, argv, "c:l:d:u:w:tvVh", longopts, NULL)) !=
           -1) {
        switch (c) {
        case 'c':
            o->config_path = optarg;
            break;
        case 'l':
            o->listen = push_arg(o->listen, &o->nlisten, optarg);
            break;
        case 'd':
            o->cache_dir = optarg;
            break;
        case 'u':
            o->upstreams = push_arg(o->upstreams, &o->nupstreams, optarg);
            break;
        case 'w':
            o->workers = optarg;
            break;
        case 't':
            o->test = true;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'V':
            printf("symsrvd (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
            exit(0);
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(1);
        }
    }
    if (optind != argc) {
        usage(stderr);
        exit(1);
    }
}

/* Load the configuration and apply the command line over it.  0 and
 * *OUT, or -errno with ERR set. */
static int load_config(const struct options *o, struct config **out,
                       char *err, size_t errlen)
{
    const char *path = o->config_path;
    struct config *cfg = NULL;
    int rc;

    if (path == NULL && access(config_default_path(), F_OK) == 0)
        path = config_default_path();
    rc = config_load(path, &cfg, err, errlen);
    if (rc == 0 && o->nlisten > 0)
        rc = config_replace_listen(cfg, o->listen, o->nlisten, err, errlen);
    if (rc == 0 && o->nupstreams > 0)
        rc = config_replace_upstreams(cfg, o->upstreams, o->nupstreams, err,
                                      errlen);
    if (rc == 0 && o->cache_dir != NULL)
        rc = config_set(cfg, "cache", "dir", o->cache_dir, err, errlen);
    if (rc == 0 && o->workers != NULL)
        rc = config_set(cfg, "server", "workers", o->workers, err, errlen);
    if (rc == 0 && cfg->workers > MAX_WORKERS) {
        snprintf(err, errlen, "at most %d workers", MAX_WORKERS);
        rc = -EINVAL;
    }
    if (rc == 0 && cfg->nlisten > MAX_LISTEN) {
        snprintf(err, errlen, "at most %d listen addresses", MAX_LISTEN);
        rc = -EINVAL;
    }
    if (rc != 0) {
        config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

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

    memset(v, 0, MAX_WORKERS * sizeof(*v));
    for (i = 0; i < MAX_WORKERS; i++)
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
    if (load_config(m->o, &next, err, sizeof(err)) != 0) {
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

static void open_listeners(struct master *m)
{
    int n = listen_inherited(m->fds, MAX_LISTEN);
    size_t i;

    if (n < 0)
        exit(1);
    if (n > 0) {
        log_info("%d listen sockets from systemd: the listen setting is "
                 "not used", n);
        m->nfds = (size_t)n;
        m->inherited = true;
        return;
    }
    for (i = 0; i < m->cfg->nlisten; i++) {
        int fd = listen_open(&m->cfg->listen[i]);

        if (fd < 0)
            exit(1);
        m->fds[m->nfds++] = fd;
    }
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

int main(int argc, char **argv)
{
    static struct master m; /* large: not on the stack */
    struct options o;
    char err[512] = "";
    sigset_t all;

    memset(&o, 0, sizeof(o));
    parse_args(argc, argv, &o);
    log_init(o.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, "master");
    if (load_config(&o, &m.cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "symsrvd: %s\n", err);
        exit(1);
    }
    if (o.test) {
        printf("configuration OK\n");
        config_free(m.cfg);
        return 0;
    }
    m.o = &o;
    empty_slots(m.w);
    empty_slots(m.old);
    /* Before any thread exists: only sigtimedwait sees signals, and a
     * write to a closed socket returns EPIPE instead of killing us. */
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    /* Temp files a crash left are the janitor's (see reconcile.h): the
     * first requests must not wait for a walk of the cache. */
    if (store_prepare(m.cfg->cache_dir) != 0)
        exit(1);
    open_listeners(&m);
    metrics_create();
    atomic_store(&metrics->started_ms, wall_ms());
    upslot_init(m.cfg);
    fetch_global_init();
    watchdog_init(&m);
    log_info("%s: %u workers, cache %s, %zu upstreams", PACKAGE_STRING,
             m.cfg->workers, m.cfg->cache_dir, m.cfg->nupstreams);
    respawn(&m);
    supervise(&m);
    config_free(m.prev_cfg);
    config_free(m.cfg);
    free(o.listen);
    free(o.upstreams);
    return 0;
}
