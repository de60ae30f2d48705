/* SPDX-License-Identifier: MIT */
/*
 * After a crash: the start-up reconciliation of the index with the files
 * (run in the background by the janitor), and workers that exit as soon
 * as their master is killed, so a restart can bind the same port.
 */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "itest.h"
#include "xalloc.h"

#define ID "0123456789ABCDEF0123456789ABCDEF1"

static struct itest t;

static void stop(void)
{
    itest_stop(&t);
}

static char *cpath(const char *rel)
{
    return xasprintf("%s/%s", t.dir, rel);
}

/* Write LEN bytes of BODY at REL under the cache dir, AGE seconds old. */
static void put(const char *rel, const char *body, size_t len, long age)
{
    char *path = cpath(rel), *slash = strrchr(path, '/');
    struct timeval tv[2];
    int fd;

    *slash = '\0';
    ck_assert_int_eq(mkdir_p(path, 0755), 0);
    *slash = '/';
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write_full(fd, body, len), 0);
    close(fd);
    gettimeofday(&tv[0], NULL);
    tv[0].tv_sec -= age;
    tv[1] = tv[0];
    ck_assert_int_eq(utimes(path, tv), 0);
    free(path);
}

static bool exists(const char *rel)
{
    char *path = cpath(rel);
    bool yes = access(path, F_OK) == 0;

    free(path);
    return yes;
}

static void get(const char *path, long status, const char *body)
{
    struct http_resp r;

    itest_get(&t, path, NULL, &r);
    ck_assert_int_eq(r.status, status);
    if (body != NULL) {
        ck_assert_uint_eq(r.len, strlen(body));
        ck_assert(memcmp(r.body, body, r.len) == 0);
    }
    http_resp_free(&r);
}

static bool log_has(const char *needle, unsigned timeout_ms)
{
    unsigned waited;

    for (waited = 0; waited <= timeout_ms; waited += 50) {
        char *log = daemon_log(t.d);
        bool yes = strstr(log, needle) != NULL;

        free(log);
        if (yes)
            return true;
        usleep(50 * 1000);
    }
    return false;
}

START_TEST(test_reconcile_on_start)
{
    const char *tmp = ".Symsrvd/tmp/0123456789abcdef0123456789abcdef.part";
    char *k1;

    itest_start(&t, 1, "2", NULL, NULL);
    stub_add(t.up[0], "/k1.pdb/" ID "/k1.pdb", "one", 3);
    stub_add(t.up[0], "/k2.pdb/" ID "/k2.pdb", "two", 3);
    stub_add(t.up[0], "/k3.pdb/" ID "/k3.pdb", "three", 5);
    get("/k1.pdb/" ID "/k1.pdb", 200, "one");
    get("/k2.pdb/" ID "/k2.pdb", 200, "two");
    get("/k3.pdb/" ID "/k3.pdb", 200, "three");
    daemon_stop(t.d);
    t.d = NULL;

    /* What a crash and an admin leave behind. */
    ck_assert(exists("k1.pdb/" ID "/k1.pdb"));
    k1 = cpath("k1.pdb/" ID "/k1.pdb");
    ck_assert_int_eq(unlink(k1), 0);
    free(k1);
    put("k2.pdb/" ID "/k2.pdb", "two!", 4, 0);   /* wrong size */
    put(tmp, "partial", 7, 0);                 /* a dead download */
    put("gone.pdb/" ID "/gone.pdb.GZIP", "gz", 2, 0); /* orphan copy */
    put("adopt.pdb/" ID "/adopt.pdb", "copied", 6, 3600);
    put("fresh.pdb/" ID "/fresh.pdb", "still copying", 13, 0);
    put("Bad.PDB/" ID "/Bad.PDB", "not canonical", 13, 3600);
    put("junk/readme.txt", "not a key", 9, 3600);

    itest_restart(&t);
    ck_assert_msg(log_has("reconciled:", 10000), "no reconciliation");
    ck_assert(log_has("reconciled: 1 temp files removed, 2 records dropped, "
                      "1 orphaned copies removed, 1 files adopted", 0));
    ck_assert(!exists(tmp));
    ck_assert(!exists("gone.pdb/" ID "/gone.pdb.GZIP"));
    ck_assert(!exists("k2.pdb/" ID "/k2.pdb"));
    ck_assert(exists("fresh.pdb/" ID "/fresh.pdb"));
    ck_assert(exists("Bad.PDB/" ID "/Bad.PDB"));
    ck_assert(exists("junk/readme.txt"));
    /* k3 and the adopted file. */
    ck_assert_double_eq(
        metrics_get(daemon_url(t.d), "symsrvd_cache_entries", NULL), 2);
    get("/adopt.pdb/" ID "/adopt.pdb", 200, "copied"); /* not upstream */
    ck_assert_uint_eq(stub_hits(t.up[0], "/adopt.pdb/" ID "/adopt.pdb"), 0);
    get("/k2.pdb/" ID "/k2.pdb", 200, "two");
    ck_assert_uint_eq(stub_hits(t.up[0], "/k2.pdb/" ID "/k2.pdb"), 2);
    get("/k3.pdb/" ID "/k3.pdb", 200, "three");
    ck_assert_uint_eq(stub_hits(t.up[0], "/k3.pdb/" ID "/k3.pdb"), 1);
}
END_TEST

/* A live process, not a zombie waiting for its new parent to reap it. */
static bool alive(pid_t pid)
{
    char path[64], buf[512], *paren;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    paren = strrchr(buf, ')');
    return paren != NULL && paren[1] == ' ' && paren[2] != 'Z' &&
           paren[2] != 'X';
}

/* A socket listening on 127.0.0.1:PORT, bound as the daemon binds
 * (SO_REUSEADDR: the killed workers' connections may linger in TIME_WAIT),
 * or -errno. */
static int listen_on(unsigned port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, rc;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(fd, 128) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

START_TEST(test_workers_exit_with_master)
{
    const char *args[9];
    struct daemon *again;
    pid_t pids[8];
    size_t n, i, left = 0;
    unsigned waited, port;
    int idle, fd;

    /* A port no outgoing connection can take as its source port in the
     * moment between the workers' exit and the bind below (tests run in
     * parallel); one the kernel picks for us could be taken. */
    itest_start_port(&t, testutil_unused_fixed_port(), 1, "2", NULL, NULL);
    ck_assert(daemon_wait_workers(t.d, 2, 5000));
    n = daemon_workers(t.d, pids, 8);
    ck_assert_uint_eq(n, 2);
    /* A client in the middle of its request headers keeps a worker busy. */
    idle = itest_connect(daemon_port(t.d));
    ck_assert_int_eq(write(idle, "GET /health HTTP/1.1\r\n", 22), 22);
    ck_assert_int_eq(kill(daemon_pid(t.d), SIGKILL), 0);
    for (waited = 0; waited < 1000; waited += 10) {
        for (left = 0, i = 0; i < n; i++)
            left += alive(pids[i]);
        if (left == 0)
            break;
        usleep(10 * 1000);
    }
    ck_assert_msg(left == 0, "%zu workers outlived the master by 1 s", left);
    close(idle);
    /* The port is free again: bound here at once and handed to the
     * restart, so no other process can take it in between. */
    port = daemon_port(t.d);
    fd = listen_on(port);
    ck_assert_msg(fd >= 0, "port %u still taken: %s", port, strerror(-fd));
    args[0] = "-d";
    args[1] = t.dir;
    args[2] = "-u";
    args[3] = stub_url(t.up[0]);
    args[4] = "-w";
    args[5] = "2";
    args[6] = NULL;
#ifdef HAVE_SYSTEMD
    again = daemon_start_activated(fd, args, NULL);
    close(fd);
#else
    /* no socket activation: the restart binds the port itself, which
     * another process may take before it does */
    close(fd);
    char *addr = xasprintf("127.0.0.1:%u", port);

    args[6] = "-l";
    args[7] = addr;
    args[8] = NULL;
    again = daemon_start(args, NULL);
    free(addr);
#endif
    ck_assert_msg(again != NULL, "restart on port %u failed", port);
    ck_assert_uint_eq(daemon_port(again), port);
    daemon_stop(again);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_recovery");
    TCase *tc = tcase_create("recovery");

    tcase_add_checked_fixture(tc, NULL, stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_reconcile_on_start);
    tcase_add_test(tc, test_workers_exit_with_master);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
