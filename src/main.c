/* SPDX-License-Identifier: MIT */
/*
 * symsrvd: a caching symbol server for debuggers on a LAN.
 *
 * PROCESSES.  The master parses the configuration, binds the listen
 * sockets (or takes systemd's), maps the shared metrics block and
 * pre-forks `workers` worker processes, then only supervises (master.c):
 * restarts, SIGHUP reloads, graceful stops, systemd notifications.  It
 * never daemonizes: systemd supervises it.
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
#include <unistd.h>

#include "config.h"
#include "fetch.h"
#include "listen.h"
#include "log.h"
#include "master.h"
#include "metrics.h"
#include "store.h"
#include "timeutil.h"
#include "xalloc.h"

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
    if (rc == 0 && cfg->workers > MASTER_MAX_WORKERS) {
        snprintf(err, errlen, "at most %d workers", MASTER_MAX_WORKERS);
        rc = -EINVAL;
    }
    if (rc == 0 && cfg->nlisten > MASTER_MAX_LISTEN) {
        snprintf(err, errlen, "at most %d listen addresses", MASTER_MAX_LISTEN);
        rc = -EINVAL;
    }
    if (rc != 0) {
        config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

/* The sockets systemd passed, else the configured addresses, into S. */
static void open_listeners(struct master_setup *s, int *fds)
{
    int n = listen_inherited(fds, MASTER_MAX_LISTEN);
    size_t i;

    s->fds = fds;
    if (n < 0)
        exit(1);
    if (n > 0) {
        log_info("%d listen sockets from systemd: the listen setting is "
                 "not used", n);
        s->nfds = (size_t)n;
        s->inherited = true;
        return;
    }
    for (i = 0; i < s->cfg->nlisten; i++) {
        int fd = listen_open(&s->cfg->listen[i]);

        if (fd < 0)
            exit(1);
        fds[s->nfds++] = fd;
    }
}

/* master_load_fn: the same file, environment and command line again. */
static int reload_config(void *arg, struct config **out, char *err,
                         size_t errlen)
{
    return load_config(arg, out, err, errlen);
}

int main(int argc, char **argv)
{
    struct master_setup setup;
    struct options o;
    int fds[MASTER_MAX_LISTEN];
    char err[512] = "";
    sigset_t all;

    memset(&o, 0, sizeof(o));
    memset(&setup, 0, sizeof(setup));
    parse_args(argc, argv, &o);
    log_init(o.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, "master");
    if (load_config(&o, &setup.cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "symsrvd: %s\n", err);
        exit(1);
    }
    if (o.test) {
        printf("configuration OK\n");
        config_free(setup.cfg);
        return 0;
    }
    /* Before any thread exists: only sigtimedwait sees signals, and a
     * write to a closed socket returns EPIPE instead of killing us. */
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    /* Temp files a crash left are the janitor's (see reconcile.h): the
     * first requests must not wait for a walk of the cache. */
    if (store_prepare(setup.cfg->cache_dir) != 0)
        exit(1);
    open_listeners(&setup, fds);
    metrics_create();
    atomic_store(&metrics->started_ms, wall_ms());
    fetch_global_init();
    log_info("%s: %u workers, cache %s, %zu upstreams", PACKAGE_STRING,
             setup.cfg->workers, setup.cfg->cache_dir,
             setup.cfg->nupstreams);
    setup.load = reload_config;
    setup.load_arg = &o;
    master_run(&setup);
    free(o.listen);
    free(o.upstreams);
    return 0;
}
