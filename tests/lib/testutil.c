/* SPDX-License-Identifier: MIT */
/*
 * testutil: temp directories and the life cycle of a daemon under test.
 *
 * The daemon is a child in its own process group, so stopping it can also
 * kill workers its master left behind, and it gets PR_SET_PDEATHSIG so a
 * test that dies mid-way does not leave it running.  Its port comes from
 * its log ("listening on 127.0.0.1:PORT"): it binds port 0 and only it
 * knows what the kernel chose.  A test that must know a daemon's port
 * before it starts does not pick a free port and hope: it listens itself
 * and hands the socket over, as systemd does (a port freed and bound again
 * later is open to any other process in between).  The HTTP helpers live
 * in testutil_http.c.
 *
 * A failing Check assertion ends the test process with exit() (fork mode)
 * before the test can stop its daemons, so live daemons are kept on a list
 * and an atexit handler prints the tail of each one's log (it usually says
 * why the test failed) into the test's own log, then kills it.
 */
#include "symsrvd_config.h"

#include "testutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "xalloc.h"

#define DAEMON_READY_TIMEOUT_MS 10000
#define DAEMON_STOP_GRACE_MS    15000
#define DAEMON_POLL_MS          20
#define DAEMON_LISTEN_MARK      "listening on 127.0.0.1:"
/* How much of a leftover daemon's log the exit handler prints. */
#define DAEMON_LOG_TAIL 8192
/* Where a socket-activated service finds its first socket (sd_listen_fds). */
#define LISTEN_FDS_START 3

extern char **environ;

struct daemon {
    pid_t pid;
    unsigned port;
    char url[40];
    char *logdir;
    char *log_path;
    struct daemon *next_live; /* protected by live_lock */
};

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct daemon *live_head; /* protected by live_lock */
static pid_t live_owner; /* protected by live_lock: whose daemons they are */

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        continue;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *testutil_read_data(const char *rel, size_t *len)
{
    const char *top = getenv("abs_top_srcdir");
    char *path = xasprintf("%s/tests/data/%s", top ? top : "..", rel);
    char *buf = NULL;
    int rc = read_small_file(path, (size_t)64 << 20, &buf, len);

    if (rc != 0) {
        fprintf(stderr, "testutil: read %s: %s\n", path, strerror(-rc));
        abort();
    }
    free(path);
    return buf;
}

char *testutil_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *dir;

    if (base == NULL || *base == '\0')
        base = "/tmp";
    dir = xasprintf("%s/symsrvd-test-XXXXXX", base);
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "testutil: mkdtemp %s: %s\n", dir, strerror(errno));
        abort();
    }
    return dir;
}

static int rmtree_unlock(const char *path, const struct stat *sb, int type,
                         struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (type == FTW_D || type == FTW_DNR)
        chmod(path, S_IRWXU);
    return 0;
}

static int rmtree_remove(const char *path, const struct stat *sb, int type,
                         struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (type == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void testutil_rmtree(const char *dir)
{
    if (dir == NULL)
        return;
    /* Tests may leave directories without permissions (to make writes
     * fail); each pass opens one more level of them. */
    for (int i = 0; i < 16; i++)
        nftw(dir, rmtree_unlock, 16, FTW_PHYS);
    nftw(dir, rmtree_remove, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- ports ---- */

/* A TCP socket bound to a 127.0.0.1 port the kernel chose; its port. */
static int bind_loopback(unsigned *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        fprintf(stderr, "testutil: bind 127.0.0.1:0: %s\n", strerror(errno));
        abort();
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

int testutil_listen(unsigned *port)
{
    int fd = bind_loopback(port);

    if (listen(fd, 128) != 0) {
        fprintf(stderr, "testutil: listen: %s\n", strerror(errno));
        abort();
    }
    return fd;
}

unsigned testutil_unused_port(void)
{
    unsigned port;

    close(bind_loopback(&port));
    return port;
}

/* Whether 127.0.0.1:PORT can be bound now. */
static bool port_free(unsigned port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

unsigned testutil_unused_fixed_port(void)
{
    unsigned low = 32768, high = 60999, first, span, i, port;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

    if (f != NULL) {
        if (fscanf(f, "%u %u", &low, &high) != 2)
            low = 32768, high = 60999;
        fclose(f);
    }
    /* below the range if it leaves room above the privileged ports,
     * else above it */
    first = low > 2048 ? 1024 : high + 1;
    span = low > 2048 ? low - 1024 : 65536 - first;
    for (i = 0; first + span <= 65536 && span > 0 && i < 256; i++) {
        port = first + ((unsigned)getpid() * 7919u + i * 104729u) % span;
        if (port_free(port))
            return port;
    }
    return testutil_unused_port();
}

/* ---- starting ---- */

static size_t strv_len(const char *const *v)
{
    size_t n = 0;

    while (v != NULL && v[n] != NULL)
        n++;
    return n;
}

static char **daemon_argv(const char *prog, const char *const *argv)
{
    size_t n = strv_len(argv);
    char **av = xcalloc(n + 2, sizeof(*av));

    av[0] = (char *)(uintptr_t)prog;
    for (size_t i = 0; i < n; i++)
        av[i + 1] = (char *)(uintptr_t)argv[i];
    return av;
}

/* environ with ENV's entries added, replacing variables of the same name. */
static char **daemon_envp(const char *const *env)
{
    size_t nenv = strv_len(env), n = 0;
    char **ev =
        xcalloc(strv_len((const char *const *)environ) + nenv + 1, sizeof(*ev));

    for (char **e = environ; *e != NULL; e++) {
        bool replaced = false;

        for (size_t i = 0; i < nenv && !replaced; i++) {
            const char *eq = strchr(env[i], '=');
            size_t klen = eq != NULL ? (size_t)(eq - env[i]) : strlen(env[i]);

            replaced = strncmp(*e, env[i], klen) == 0 && (*e)[klen] == '=';
        }
        if (!replaced)
            ev[n++] = *e;
    }
    for (size_t i = 0; i < nenv; i++)
        ev[n++] = (char *)(uintptr_t)env[i];
    return ev;
}

/* ENV followed by EXTRA (both NULL-terminated, may be NULL): a new array
 * of borrowed strings. */
static const char **strv_cat(const char *const *env, const char *const *extra)
{
    size_t n = strv_len(env), m = strv_len(extra);
    const char **v = xcalloc(n + m + 1, sizeof(*v));

    for (size_t i = 0; i < n; i++)
        v[i] = env[i];
    for (size_t i = 0; i < m; i++)
        v[n + i] = extra[i];
    return v;
}

/* Write "LISTEN_PID=<our pid>" into VAR (room for any pid): in the child,
 * without stdio, which is not async-signal-safe. */
static void set_listen_pid(char *var)
{
    static const char name[] = "LISTEN_PID=";
    char digits[16];
    unsigned long pid = (unsigned long)getpid();
    size_t n = 0;

    do {
        digits[n++] = (char)('0' + pid % 10);
        pid /= 10;
    } while (pid != 0);
    memcpy(var, name, sizeof(name) - 1);
    var += sizeof(name) - 1;
    while (n > 0)
        *var++ = digits[--n];
    *var = '\0';
}

/* In the child: only async-signal-safe calls, the parent may be threaded.
 * LISTEN_FD (-1: none) becomes fd 3 and LISTEN_PID (a slot of EV) names
 * this process, as systemd passes a socket-activated service its socket. */
static void __attribute__((noreturn))
daemon_exec(char **av, char **ev, int logfd, int listen_fd, char *listen_pid,
            pid_t parent)
{
    static const char msg[] = "testutil: exec failed\n";
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigset_t none;
    int nullfd;

    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    sigaction(SIGPIPE, &dfl, NULL);
    nullfd = open("/dev/null", O_RDONLY);
    if (nullfd >= 0)
        dup2(nullfd, STDIN_FILENO);
    dup2(logfd, STDOUT_FILENO);
    dup2(logfd, STDERR_FILENO);
    if (listen_fd >= 0) {
        /* dup2 onto itself would keep the close-on-exec flag */
        if (listen_fd != LISTEN_FDS_START)
            dup2(listen_fd, LISTEN_FDS_START);
        fcntl(LISTEN_FDS_START, F_SETFD, 0);
        set_listen_pid(listen_pid);
    }
    execve(av[0], av, ev);
    (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
    _exit(127);
}

static bool daemon_exited(const struct daemon *d)
{
    siginfo_t si = {0};

    /* WNOWAIT keeps the zombie, so the PID (and the process group) cannot
     * be reused before daemon_reap(). */
    return waitid(P_PID, (id_t)d->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
           si.si_pid == d->pid;
}

char *daemon_log(const struct daemon *d)
{
    FILE *f = fopen(d->log_path, "re");
    char *buf = NULL;
    size_t len = 0;

    if (f != NULL) {
        FILE *mem = open_memstream(&buf, &len);
        char chunk[4096];
        size_t n;

        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            fwrite(chunk, 1, n, mem);
        fclose(mem);
        fclose(f);
    }
    return buf != NULL ? buf : xstrdup("");
}

/* The port of the first complete "listening on 127.0.0.1:PORT" line. */
static unsigned daemon_log_port(const struct daemon *d)
{
    char *log = daemon_log(d);
    char *mark = strstr(log, DAEMON_LISTEN_MARK);
    unsigned long port = 0;
    char *end;

    if (mark != NULL) {
        port = strtoul(mark + strlen(DAEMON_LISTEN_MARK), &end, 10);
        if (*end != '\n' && *end != '\r' && *end != ' ')
            port = 0; /* the line is not complete yet */
    }
    free(log);
    return port <= 65535 ? (unsigned)port : 0;
}

static int daemon_wait_ready(struct daemon *d, const char **why)
{
    long long deadline = now_ms() + DAEMON_READY_TIMEOUT_MS;
    struct http_resp r;
    char *url;

    while ((d->port = daemon_log_port(d)) == 0) {
        *why = daemon_exited(d) ? "exited before listening"
                                : "no \"" DAEMON_LISTEN_MARK "PORT\" line";
        if (daemon_exited(d) || now_ms() > deadline)
            return -1;
        sleep_ms(DAEMON_POLL_MS);
    }
    snprintf(d->url, sizeof(d->url), "http://127.0.0.1:%u", d->port);
    url = xasprintf("%s/health", d->url);
    deadline = now_ms() + DAEMON_READY_TIMEOUT_MS;
    for (;;) {
        http_get(url, NULL, &r);
        if (r.status == 200 || daemon_exited(d) || now_ms() > deadline)
            break;
        http_resp_free(&r);
        sleep_ms(DAEMON_POLL_MS);
    }
    *why = r.status == 200 ? NULL : "GET /health never answered 200";
    http_resp_free(&r);
    free(url);
    return *why == NULL ? 0 : -1;
}

static int daemon_reap(struct daemon *d)
{
    int status = -1;

    kill(-d->pid, SIGKILL); /* leftovers of the group, if any */
    while (waitpid(d->pid, &status, 0) < 0 && errno == EINTR)
        continue;
    return status;
}

static void daemon_free(struct daemon *d)
{
    testutil_rmtree(d->logdir);
    free(d->logdir);
    free(d->log_path);
    free(d);
}

static void daemon_print_tail(const struct daemon *d, size_t max)
{
    char *log = daemon_log(d);
    size_t len = strlen(log);
    const char *tail = log;

    if (len > max) {
        tail = strchr(log + len - max, '\n');
        tail = tail != NULL ? tail + 1 : log + len - max;
    }
    fprintf(stderr, "%s%s\n", tail != log ? "[...]\n" : "", tail);
    free(log);
}

static void daemon_atexit(void)
{
    struct daemon *d;

    pthread_mutex_lock(&live_lock);
    if (getpid() != live_owner)
        live_head = NULL; /* a forked copy of the test: not its daemons */
    while ((d = live_head) != NULL) {
        live_head = d->next_live;
        fprintf(stderr,
                "testutil: daemon %d still running at exit (did the test "
                "fail?); its log %s:\n",
                (int)d->pid, d->log_path);
        daemon_print_tail(d, DAEMON_LOG_TAIL);
        kill(d->pid, SIGKILL);
        daemon_reap(d);
        daemon_free(d);
    }
    pthread_mutex_unlock(&live_lock);
}

static void daemon_track(struct daemon *d)
{
    pthread_mutex_lock(&live_lock);
    if (live_owner != getpid()) {
        /* First daemon of this process (maybe a fork of a test that had
         * some: those are its parent's, not ours to kill). */
        live_owner = getpid();
        live_head = NULL;
        atexit(daemon_atexit);
    }
    d->next_live = live_head;
    live_head = d;
    pthread_mutex_unlock(&live_lock);
}

static void daemon_untrack(struct daemon *d)
{
    pthread_mutex_lock(&live_lock);
    for (struct daemon **p = &live_head; *p != NULL; p = &(*p)->next_live) {
        if (*p == d) {
            *p = d->next_live;
            break;
        }
    }
    pthread_mutex_unlock(&live_lock);
}

static void daemon_fail(struct daemon *d, const char *prog, const char *why)
{
    char *log = daemon_log(d);

    fprintf(stderr, "testutil: %s: %s; its log:\n%s\n", prog, why, log);
    free(log);
    kill(d->pid, SIGKILL);
    daemon_reap(d);
    daemon_free(d);
}

/* Start PROG as daemon_start_prog() says, handing it LISTEN_FD (-1:
 * none) as a socket-activated service's socket. */
static struct daemon *daemon_spawn(const char *prog, const char *const *argv,
                                   const char *const *env, int listen_fd)
{
    struct daemon *d = xcalloc(1, sizeof(*d));
    char listen_pid[40] = "LISTEN_PID=";
    const char **all = strv_cat(
        env, listen_fd >= 0
                 ? (const char *const[]){"LISTEN_FDS=1", listen_pid, NULL}
                 : NULL);
    char **av = daemon_argv(prog, argv);
    char **ev = daemon_envp(all);
    pid_t parent = getpid();
    const char *why = NULL;
    int logfd;

    d->logdir = testutil_tmpdir();
    d->log_path = xasprintf("%s/daemon.log", d->logdir);
    logfd = open(d->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (logfd < 0) {
        fprintf(stderr, "testutil: %s: %s\n", d->log_path, strerror(errno));
        abort();
    }
    fflush(NULL); /* or the child's exit could flush our buffers twice */
    d->pid = fork();
    if (d->pid == 0)
        daemon_exec(av, ev, logfd, listen_fd, listen_pid, parent);
    close(logfd);
    free(av);
    free(ev);
    free(all);
    if (d->pid < 0) {
        fprintf(stderr, "testutil: fork: %s\n", strerror(errno));
        abort();
    }
    if (daemon_wait_ready(d, &why) != 0) {
        daemon_fail(d, prog, why);
        return NULL;
    }
    daemon_track(d);
    return d;
}

struct daemon *daemon_start_prog(const char *prog, const char *const *argv,
                                 const char *const *env)
{
    return daemon_spawn(prog, argv, env, -1);
}

static char *symsrvd_path(void)
{
    const char *top = getenv("abs_top_builddir");

    return xasprintf("%s/src/symsrvd", top != NULL ? top : "..");
}

struct daemon *daemon_start(const char *const *argv, const char *const *env)
{
    char *prog = symsrvd_path();
    struct daemon *d = daemon_spawn(prog, argv, env, -1);

    free(prog);
    return d;
}

struct daemon *daemon_start_activated(int listen_fd, const char *const *argv,
                                      const char *const *env)
{
    char *prog = symsrvd_path();
    struct daemon *d = daemon_spawn(prog, argv, env, listen_fd);

    free(prog);
    return d;
}

unsigned daemon_port(const struct daemon *d)
{
    return d->port;
}

const char *daemon_url(const struct daemon *d)
{
    return d->url;
}

pid_t daemon_pid(const struct daemon *d)
{
    return d->pid;
}

const char *daemon_log_path(const struct daemon *d)
{
    return d->log_path;
}

/* A sanitizer's report in the log of a daemon that ran under one: a
 * worker that stops on one is restarted by the master, and its clients
 * only see bodies cut short, so the report is the fault to show. */
static const char *sanitizer_report(const char *log)
{
    static const char *const marks[] = {
        "runtime error: ", "ERROR: AddressSanitizer",
        "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer"};

    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
        const char *p = strstr(log, marks[i]);

        if (p != NULL)
            return p;
    }
    return NULL;
}

/* Stop the test (abort) when D's log holds a sanitizer report. */
static void daemon_check_log(const struct daemon *d)
{
    char *log = daemon_log(d);
    const char *report = sanitizer_report(log);

    if (report != NULL) {
        fprintf(stderr, "testutil: the daemon's log %s has a sanitizer "
                        "report:\n%.4000s\n", d->log_path, report);
        abort();
    }
    free(log);
}

int daemon_stop_within(struct daemon *d, unsigned grace_ms)
{
    long long deadline;
    int status;

    if (d == NULL)
        return -1;
    daemon_untrack(d);
    deadline = now_ms() + grace_ms;
    kill(d->pid, SIGTERM);
    while (!daemon_exited(d) && now_ms() < deadline)
        sleep_ms(10);
    if (!daemon_exited(d))
        kill(d->pid, SIGKILL);
    status = daemon_reap(d);
    daemon_check_log(d);
    daemon_free(d);
    return status;
}

int daemon_stop(struct daemon *d)
{
    return daemon_stop_within(d, DAEMON_STOP_GRACE_MS);
}

/* The parent PID of a live process from /proc/PID/stat ("pid (comm) state
 * ppid ..."; comm may hold spaces and parentheses, so parse after the last
 * ')'), or -1 for a zombie or a vanished process. */
static pid_t proc_live_ppid(const char *pid)
{
    char path[64], buf[512];
    char *paren;
    char state = 'Z';
    int ppid = -1;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%s/stat", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    paren = strrchr(buf, ')');
    if (paren == NULL || sscanf(paren + 1, " %c %d", &state, &ppid) != 2 ||
        state == 'Z' || state == 'X')
        return -1;
    return (pid_t)ppid;
}

size_t daemon_workers(const struct daemon *d, pid_t *out, size_t max)
{
    DIR *proc = opendir("/proc");
    struct dirent *de;
    size_t n = 0;

    if (proc == NULL)
        return 0;
    while ((de = readdir(proc)) != NULL) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        if (proc_live_ppid(de->d_name) != d->pid)
            continue;
        if (n < max)
            out[n] = (pid_t)strtol(de->d_name, NULL, 10);
        n++;
    }
    closedir(proc);
    return n;
}

bool daemon_wait_workers(const struct daemon *d, size_t n, unsigned timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;

    while (daemon_workers(d, NULL, 0) != n) {
        if (now_ms() >= deadline)
            return false;
        sleep_ms(DAEMON_POLL_MS);
    }
    return true;
}

int testutil_mount_tmpfs(const char *dir, unsigned long flags,
                        const char *opts)
{
    if (unshare(getuid() == 0 ? CLONE_NEWNS : CLONE_NEWNS | CLONE_NEWUSER) !=
        0)
        return -errno;
    if (getuid() != 0) {
        /* unprivileged: map ourselves to root in the new namespace */
        char map[64];
        int fd;

        snprintf(map, sizeof(map), "0 %u 1", (unsigned)geteuid());
        fd = open("/proc/self/uid_map", O_WRONLY);
        if (fd < 0 || write_full(fd, map, strlen(map)) != 0)
            return -EPERM;
        close(fd);
    }
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return -errno;
    return mount("symsrvd-test", dir, "tmpfs", flags, opts) == 0 ? 0 : -errno;
}

bool testutil_can_mount_tmpfs(void)
{
    char *d = testutil_tmpdir();
    pid_t pid = fork();
    int status = 1;

    if (pid == 0)
        _exit(testutil_mount_tmpfs(d, 0, "size=1M") == 0 ? 0 : 1);
    if (pid > 0)
        waitpid(pid, &status, 0);
    rmdir(d);
    free(d);
    return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
