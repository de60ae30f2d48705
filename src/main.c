/* SPDX-License-Identifier: MIT */
/*
 * symsrvd: a caching symbol server for debuggers on a LAN.
 *
 * PROCESSES.  The master parses the configuration, binds the listen
 * sockets, maps the shared metrics block and pre-forks `workers` worker
 * processes, then only supervises: a worker that dies is restarted at
 * once (and its half-written temp files removed); SIGTERM/SIGINT stop
 * every worker gracefully.  It never daemonizes: systemd supervises it.
 *
 * THREADS (per worker, see worker.c): the main thread waits for signals
 * and runs housekeeping; `threads` libmicrohttpd pool threads per listen
 * socket serve requests ("MHD-worker"); `downloaders` threads fetch from
 * the upstreams ("fetch-N").  Every signal is blocked before any thread
 * exists, so only sigtimedwait() in the main threads sees them.
 */
#include "symsrvd_config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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
#include "worker.h"
#include "xalloc.h"

#define MAX_WORKERS 256
#define STOP_GRACE_MS 12000

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

struct master {
    const struct config *cfg;
    int fds[16];
    size_t nfds;
    pid_t pids[MAX_WORKERS];
    uint64_t started_ms[MAX_WORKERS];
    bool stopping;
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

/* Load the configuration and apply the command line over it. */
static struct config *load_config(const struct options *o)
{
    const char *path = o->config_path;
    struct config *cfg = NULL;
    char err[512] = "";
    int rc;

    if (path == NULL && access(config_default_path(), F_OK) == 0)
        path = config_default_path();
    rc = config_load(path, &cfg, err, sizeof(err));
    if (rc == 0 && o->nlisten > 0)
        rc = config_replace_listen(cfg, o->listen, o->nlisten, err,
                                   sizeof(err));
    if (rc == 0 && o->nupstreams > 0)
        rc = config_replace_upstreams(cfg, o->upstreams, o->nupstreams, err,
                                      sizeof(err));
    if (rc == 0 && o->cache_dir != NULL)
        rc = config_set(cfg, "cache", "dir", o->cache_dir, err, sizeof(err));
    if (rc == 0 && o->workers != NULL)
        rc = config_set(cfg, "server", "workers", o->workers, err,
                        sizeof(err));
    if (rc == 0 && cfg->workers > MAX_WORKERS) {
        snprintf(err, sizeof(err), "at most %d workers", MAX_WORKERS);
        rc = -EINVAL;
    }
    if (rc != 0) {
        fprintf(stderr, "symsrvd: %s\n", err);
        config_free(cfg);
        exit(1);
    }
    return cfg;
}

static void spawn(struct master *m, size_t slot)
{
    pid_t self = getpid(), pid = fork();

    if (pid < 0) {
        log_warn("fork");
        m->pids[slot] = 0;
        return;
    }
    if (pid == 0)
        worker_run(m->cfg, m->fds, m->nfds, self);
    m->pids[slot] = pid;
    m->started_ms[slot] = mono_ms();
    metrics_gauge_add(&metrics->workers_alive, 1);
}

static void reap(struct master *m)
{
    pid_t pid;
    int status;
    size_t i;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (i = 0; i < m->cfg->workers; i++) {
            if (m->pids[i] != pid)
                continue;
            m->pids[i] = 0;
            metrics_gauge_add(&metrics->workers_alive, -1);
            if (m->stopping)
                break;
            if (WIFSIGNALED(status))
                log_warnx("worker %d killed by signal %d", (int)pid,
                          WTERMSIG(status));
            else
                log_warnx("worker %d exited with status %d", (int)pid,
                          WEXITSTATUS(status));
        }
    }
}

/* Restart empty slots, but not more than once a second per slot, so a
 * worker that cannot start does not spin the machine. */
static void respawn(struct master *m)
{
    uint64_t now = mono_ms();
    bool cleaned = false;
    size_t i;

    for (i = 0; i < m->cfg->workers; i++) {
        if (m->pids[i] != 0 || (m->started_ms[i] != 0 &&
                                now - m->started_ms[i] < 1000))
            continue;
        if (!cleaned && m->started_ms[i] != 0) {
            unsigned n = store_clean_tmp(m->cfg->cache_dir);

            if (n > 0)
                log_info("removed %u temp files of dead workers", n);
            cleaned = true;
        }
        if (m->started_ms[i] != 0)
            metrics_add(&metrics->worker_restarts, 1);
        spawn(m, i);
    }
}

static void stop_workers(struct master *m)
{
    uint64_t deadline = mono_ms() + STOP_GRACE_MS;
    size_t i, alive;

    m->stopping = true;
    for (i = 0; i < m->cfg->workers; i++) {
        if (m->pids[i] != 0)
            kill(m->pids[i], SIGTERM);
    }
    do {
        reap(m);
        for (alive = 0, i = 0; i < m->cfg->workers; i++)
            alive += m->pids[i] != 0;
        if (alive > 0)
            usleep(20000);
    } while (alive > 0 && mono_ms() < deadline);
    for (i = 0; i < m->cfg->workers; i++) {
        if (m->pids[i] != 0) {
            log_warnx("worker %d did not stop in time", (int)m->pids[i]);
            kill(m->pids[i], SIGKILL);
            waitpid(m->pids[i], NULL, 0);
        }
    }
}

static void supervise(struct master *m)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000000L};
    sigset_t set;
    int sig;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    for (;;) {
        sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        reap(m);
        respawn(m);
    }
    log_info("stopping on signal %d", sig);
#ifdef HAVE_SYSTEMD
    sd_notify(0, "STOPPING=1");
#endif
    stop_workers(m);
}

static void open_listeners(struct master *m)
{
    size_t i;

    if (m->cfg->nlisten > sizeof(m->fds) / sizeof(m->fds[0]))
        fatalx("at most %zu listen addresses",
               sizeof(m->fds) / sizeof(m->fds[0]));
    for (i = 0; i < m->cfg->nlisten; i++) {
        int fd = listen_open(&m->cfg->listen[i]);

        if (fd < 0)
            exit(1);
        m->fds[m->nfds++] = fd;
    }
}

int main(int argc, char **argv)
{
    struct options o;
    struct master m;
    struct config *cfg;
    sigset_t all;

    memset(&o, 0, sizeof(o));
    memset(&m, 0, sizeof(m));
    parse_args(argc, argv, &o);
    log_init(o.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, "master");
    cfg = load_config(&o);
    if (o.test) {
        printf("configuration OK\n");
        config_free(cfg);
        return 0;
    }
    m.cfg = cfg;
    /* Before any thread exists: only sigtimedwait sees signals, and a
     * write to a closed socket returns EPIPE instead of killing us. */
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    /* Temp files a crash left are the janitor's (see reconcile.h): the
     * first requests must not wait for a walk of the cache. */
    if (store_prepare(cfg->cache_dir) != 0)
        exit(1);
    open_listeners(&m);
    metrics_create();
    atomic_store(&metrics->started_ms, wall_ms());
    fetch_global_init();
    log_info("%s: %u workers, cache %s, %zu upstreams", PACKAGE_STRING,
             cfg->workers, cfg->cache_dir, cfg->nupstreams);
    respawn(&m);
#ifdef HAVE_SYSTEMD
    sd_notify(0, "READY=1");
#endif
    supervise(&m);
    config_free(cfg);
    free(o.listen);
    free(o.upstreams);
    return 0;
}
