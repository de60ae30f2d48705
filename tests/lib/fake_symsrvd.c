/* SPDX-License-Identifier: MIT */
/*
 * fake_symsrvd: a stand-in for the symsrvd binary, so check_testutil can
 * prove daemon_start()/daemon_stop()/daemon_workers() against a process that
 * behaves like the real master: it forks "workers" (and restarts one that
 * dies), serves /health and
 * /metrics over HTTP (through the stub upstream) on 127.0.0.1 port 0,
 * prints "symsrvd: listening on 127.0.0.1:PORT", and stops on SIGTERM.
 *
 * Options: -w N (workers, default 1), --fail (exit 3 at once),
 * --silent (never print the listening line), --unhealthy (/health
 * answers 503), --ignore-term (survive SIGTERM), --exit N (exit status
 * after SIGTERM, default 0).  The value of $FAKE_ECHO is logged.
 */
#include "symsrvd_config.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stub_upstream.h"

#define FAKE_MAX_WORKERS 16

static const char fake_metrics[] =
    "# HELP symsrvd_requests_total Requests by status.\n"
    "# TYPE symsrvd_requests_total counter\n"
    "symsrvd_requests_total{status=\"200\"} 3\n"
    "symsrvd_requests_total{status=\"404\"} 2\n"
    "symsrvd_requests_total_extra 100\n"
    "symsrvd_cache_entries 7\n";

struct fake_opts {
    int workers;
    bool fail, silent, unhealthy, ignore_term;
    int exit_status;
};

static void fake_parse(int argc, char **argv, struct fake_opts *o)
{
    o->workers = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-w") == 0 && i + 1 < argc)
            o->workers = atoi(argv[++i]);
        else if (strcmp(argv[i], "--exit") == 0 && i + 1 < argc)
            o->exit_status = atoi(argv[++i]);
        else if (strcmp(argv[i], "--fail") == 0)
            o->fail = true;
        else if (strcmp(argv[i], "--silent") == 0)
            o->silent = true;
        else if (strcmp(argv[i], "--unhealthy") == 0)
            o->unhealthy = true;
        else if (strcmp(argv[i], "--ignore-term") == 0)
            o->ignore_term = true;
    }
    if (o->workers < 0 || o->workers > FAKE_MAX_WORKERS)
        o->workers = 1;
}

static pid_t fake_worker(void)
{
    pid_t pid = fork();

    if (pid == 0) {
        sigset_t none;

        /* A replacement is forked with the master's signals blocked. */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (;;)
            pause();
    }
    return pid;
}

/* Reap dead workers and fork their replacements. */
static void fake_restart(pid_t *workers, int n)
{
    pid_t pid;

    while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
        for (int i = 0; i < n; i++) {
            if (workers[i] != pid)
                continue;
            workers[i] = fake_worker();
            fprintf(stderr, "symsrvd: worker %d died, restarted as %d\n",
                    (int)pid, (int)workers[i]);
        }
    }
}

/* Serve /health and /metrics and announce the port (unless silent). */
static struct stub *fake_serve(const struct fake_opts *o)
{
    struct stub *s = stub_start();

    stub_add(s, "/health", "{\"status\":\"ok\"}\n", 16);
    stub_add(s, "/metrics", fake_metrics, sizeof(fake_metrics) - 1);
    if (o->unhealthy)
        stub_fault_always(s, "/health", 503);
    if (!o->silent)
        fprintf(stderr,
                "symsrvd: listening on 127.0.0.1:%u\n"
                "symsrvd: listening on 127.0.0.1:9\n",
                stub_port(s));
    return s;
}

/* Supervise the workers until a stop signal; returns it. */
static int fake_supervise(const struct fake_opts *o, const sigset_t *set,
                          pid_t *workers)
{
    int sig;

    for (;;) {
        if (sigwait(set, &sig) != 0)
            continue;
        if (sig == SIGCHLD)
            fake_restart(workers, o->workers);
        else if (!o->ignore_term)
            return sig;
    }
}

int main(int argc, char **argv)
{
    struct fake_opts o = {0};
    pid_t workers[FAKE_MAX_WORKERS];
    const char *echo = getenv("FAKE_ECHO");
    struct stub *s;
    sigset_t set;
    int sig;

    fake_parse(argc, argv, &o);
    fprintf(stderr, "symsrvd: fake starting, FAKE_ECHO=%s\n",
            echo != NULL ? echo : "(unset)");
    if (o.fail) {
        fprintf(stderr, "symsrvd: failing as asked\n");
        return 3;
    }
    for (int i = 0; i < o.workers; i++)
        workers[i] = fake_worker();
    /* Block before the stub's threads exist so only sigwait sees them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    s = fake_serve(&o);
    sig = fake_supervise(&o, &set, workers);
    for (int i = 0; i < o.workers; i++)
        kill(workers[i], SIGTERM);
    while (wait(NULL) > 0)
        continue;
    stub_stop(s);
    fprintf(stderr, "symsrvd: stopped by signal %d\n", sig);
    return o.exit_status;
}
