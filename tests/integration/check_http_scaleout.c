/* SPDX-License-Identifier: MIT */
/*
 * The scale-out recipe of README.md, run: three instances behind nginx
 * with etc/nginx-symsrvd.conf (its ports swapped for free ones), so each
 * key is fetched upstream once and stored by exactly one instance; and a
 * site instance with etc/symsrvd-site.conf whose upstream is that front,
 * so the site's misses are the region's hits.
 */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "itest.h"
#include "needtool.h"
#include "stub_upstream.h"
#include "testutil.h"
#include "xalloc.h"

#define NSHARDS 3
#define NKEYS 25
#define ID "0123456789ABCDEF0123456789ABCDEF1"

static struct stub *up;
static char *dirs[NSHARDS + 1];
static struct daemon *shards[NSHARDS], *site;
static char *nginx_dir;
static pid_t nginx_pid;
static unsigned nginx_port;

static void key_path(char *buf, size_t len, int i)
{
    snprintf(buf, len, "/lib%02d.pdb/" ID "/lib%02d.pdb", i, i);
}

/* S with every WHAT replaced by WITH (new string). */
static char *replace_all(const char *s, const char *what, const char *with)
{
    char *out = xstrdup(""), *next;
    const char *p;

    while ((p = strstr(s, what)) != NULL) {
        next = xasprintf("%s%.*s%s", out, (int)(p - s), s, with);
        free(out);
        out = next;
        s = p + strlen(what);
    }
    next = xasprintf("%s%s", out, s);
    free(out);
    return next;
}

/* The example etc/NAME (new string). */
static char *read_example(const char *name)
{
    const char *top = getenv("abs_top_srcdir");
    char *file, *text = NULL;
    size_t len;

    ck_assert_ptr_nonnull(top);
    file = xasprintf("%s/etc/%s", top, name);
    ck_assert_int_eq(read_small_file(file, 1 << 20, &text, &len), 0);
    free(file);
    return text;
}

/* etc/nginx-symsrvd.conf with the shards' and the front's ports. */
static char *example_conf(void)
{
    char *text = read_example("nginx-symsrvd.conf"), *next, from[32],
         to[32];
    int i;

    for (i = 0; i < NSHARDS; i++) {
        snprintf(from, sizeof(from), "127.0.0.1:%d;", 8081 + i);
        snprintf(to, sizeof(to), "127.0.0.1:%u;", daemon_port(shards[i]));
        next = replace_all(text, from, to);
        free(text);
        text = next;
    }
    snprintf(to, sizeof(to), "listen 127.0.0.1:%u;", nginx_port);
    next = replace_all(text, "listen 8080;", to);
    free(text);
    return next;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* Fork nginx with CONF; its error log goes to DIR/error.log. */
static pid_t spawn_nginx(const char *dir, const char *conf)
{
    char *log = xasprintf("%s/error.log", dir);
    pid_t pid;

    unlink(log);
    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execlp("nginx", "nginx", "-p", dir, "-e", log, "-c", conf,
               (char *)NULL);
        _exit(127);
    }
    free(log);
    return pid;
}

/* Wait until nginx (PID) has bound its port, which it does before it
 * writes DIR/nginx.pid, or has exited (left unreaped, so its PID stays
 * ours to kill).  True once it has bound. */
static bool nginx_bound(pid_t pid, const char *dir)
{
    char *pidfile = xasprintf("%s/nginx.pid", dir), *text = NULL;
    size_t len;
    unsigned waited;
    bool bound = false;
    siginfo_t si;

    for (waited = 0; waited < 10000 && !bound; waited += 50) {
        memset(&si, 0, sizeof(si));
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            si.si_pid == pid)
            break;
        bound = read_small_file(pidfile, 64, &text, &len) == 0 &&
                strtol(text, NULL, 10) == pid;
        free(text);
        text = NULL;
        if (!bound)
            usleep(50 * 1000);
    }
    free(pidfile);
    return bound;
}

/* DIR/error.log (new string, "" when unreadable). */
static char *nginx_log(const char *dir)
{
    char *path = xasprintf("%s/error.log", dir), *text = NULL;
    size_t len;

    if (read_small_file(path, 1 << 20, &text, &len) != 0)
        text = xstrdup("");
    free(path);
    return text;
}

/* nginx can only bind its port itself: when another process took the
 * port testutil_unused_port() chose before nginx bound it, take another
 * one (a few times), saying so. */
static void start_nginx(void)
{
    char *example, *conf, *main_conf, *site_conf, *log = NULL;
    int attempt;

    nginx_dir = testutil_tmpdir();
    site_conf = xasprintf("%s/symsrvd.conf", nginx_dir);
    conf = xasprintf("%s/nginx.conf", nginx_dir);
    main_conf = xasprintf(
        "daemon off;\nworker_processes 1;\npid %1$s/nginx.pid;\n"
        "error_log %1$s/error.log;\nevents { worker_connections 256; }\n"
        "http {\n access_log off;\n client_body_temp_path %1$s/body;\n"
        " proxy_temp_path %1$s/proxy;\n fastcgi_temp_path %1$s/fcgi;\n"
        " uwsgi_temp_path %1$s/uwsgi;\n scgi_temp_path %1$s/scgi;\n"
        " include %2$s;\n}\n",
        nginx_dir, site_conf);
    write_file(conf, main_conf);
    for (attempt = 0; attempt < 5; attempt++) {
        nginx_port = testutil_unused_port();
        example = example_conf();
        write_file(site_conf, example);
        free(example);
        nginx_pid = spawn_nginx(nginx_dir, conf);
        if (nginx_bound(nginx_pid, nginx_dir))
            break;
        kill(nginx_pid, SIGKILL);
        waitpid(nginx_pid, NULL, 0);
        nginx_pid = 0;
        free(log);
        log = nginx_log(nginx_dir);
        ck_assert_msg(strstr(log, "Address already in use") != NULL,
                      "nginx did not start:\n%s", log);
        fprintf(stderr, "port %u was taken before nginx bound it: "
                        "trying another\n", nginx_port);
    }
    ck_assert_msg(nginx_pid > 0, "nginx never bound a port:\n%s", log);
    free(log);
    free(site_conf);
    free(conf);
    free(main_conf);
}

static void setup(void)
{
    char path[128], body[64];
    int i;

    up = stub_start();
    for (i = 0; i < NKEYS; i++) {
        key_path(path, sizeof(path), i);
        snprintf(body, sizeof(body), "the bytes of key %d", i);
        stub_add(up, path, body, strlen(body));
    }
    for (i = 0; i < NSHARDS; i++) {
        dirs[i] = testutil_tmpdir();
        shards[i] = daemon_start(
            (const char *const[]){"-l", "127.0.0.1:0", "-d", dirs[i], "-w",
                                  "1", "-u", stub_url(up), NULL},
            NULL);
        ck_assert_ptr_nonnull(shards[i]);
    }
    start_nginx();
}

static void teardown(void)
{
    int i, status;

    if (nginx_pid > 0) {
        kill(nginx_pid, SIGTERM);
        waitpid(nginx_pid, &status, 0);
        nginx_pid = 0;
    }
    if (site != NULL)
        daemon_stop(site);
    site = NULL;
    for (i = 0; i < NSHARDS; i++) {
        daemon_stop(shards[i]);
        shards[i] = NULL;
    }
    for (i = 0; i <= NSHARDS; i++) {
        if (dirs[i] != NULL)
            testutil_rmtree(dirs[i]);
        free(dirs[i]);
        dirs[i] = NULL;
    }
    testutil_rmtree(nginx_dir);
    free(nginx_dir);
    stub_stop(up);
}

/* GET PATH from BASE and check it is key I's body. */
static void get_key(const char *base, int i)
{
    char path[128], want[64], *url;
    struct http_resp r;

    key_path(path, sizeof(path), i);
    snprintf(want, sizeof(want), "the bytes of key %d", i);
    url = xasprintf("%s%s", base, path);
    ck_assert_int_eq(http_get(url, NULL, &r), 0);
    ck_assert_msg(r.status == 200, "%s: %ld", url, r.status);
    ck_assert_uint_eq(r.len, strlen(want));
    ck_assert(memcmp(r.body, want, r.len) == 0);
    http_resp_free(&r);
    free(url);
}

START_TEST(test_each_key_fetched_once_by_one_shard)
{
    char *front = xasprintf("http://127.0.0.1:%u", nginx_port), path[128],
         name[32];
    int i, s, holders, used[NSHARDS] = {0}, nused = 0;

    for (i = 0; i < NKEYS; i++)
        get_key(front, i);
    /* again, in another order: every one a hit on its shard */
    for (i = NKEYS - 1; i >= 0; i--)
        get_key(front, i);
    for (i = 0; i < NKEYS; i++) {
        key_path(path, sizeof(path), i);
        ck_assert_uint_eq(stub_hits(up, path), 1);
        snprintf(name, sizeof(name), "lib%02d.pdb", i);
        for (s = 0, holders = 0; s < NSHARDS; s++) {
            if (itest_tree_has(dirs[s], name)) {
                holders++;
                used[s] = 1;
            }
        }
        ck_assert_msg(holders == 1, "%s cached by %d instances", name,
                      holders);
    }
    for (s = 0; s < NSHARDS; s++)
        nused += used[s];
    ck_assert_int_eq(nused, NSHARDS); /* 25 keys spread over all three */
    free(front);
}
END_TEST

START_TEST(test_site_cache_uses_the_regional_front)
{
    char *front = xasprintf("http://127.0.0.1:%u", nginx_port);
    char *text = read_example("symsrvd-site.conf"), *conf, *file, path[128];
    int i;

    /* the example site config, its upstream being our nginx front; -l and
     * -d stand in for its listen and dir */
    conf = replace_all(text, "http://regional-symbols.example.net:8080",
                       front);
    ck_assert(strcmp(conf, text) != 0);
    dirs[NSHARDS] = testutil_tmpdir();
    file = xasprintf("%s/site.conf", nginx_dir);
    write_file(file, conf);
    site = daemon_start(
        (const char *const[]){"-c", file, "-l", "127.0.0.1:0", "-d",
                              dirs[NSHARDS], "-w", "1", NULL},
        NULL);
    ck_assert_ptr_nonnull(site);
    for (i = 0; i < NKEYS / 2; i++) /* half the keys warm in the region */
        get_key(front, i);
    for (i = 0; i < NKEYS; i++)
        get_key(daemon_url(site), i);
    for (i = NKEYS - 1; i >= 0; i--) /* now from the site's own cache */
        get_key(daemon_url(site), i);
    for (i = 0; i < NKEYS; i++) {
        key_path(path, sizeof(path), i);
        ck_assert_uint_eq(stub_hits(up, path), 1);
    }
    ck_assert_uint_eq(itest_count_files(dirs[NSHARDS], true), NKEYS);
    free(front);
    free(text);
    free(conf);
    free(file);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_scaleout");
    TCase *tc = tcase_create("scaleout");

    if (!needtool("check_http_scaleout", "nginx", NULL))
        return 77;
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_each_key_fetched_once_by_one_shard);
    tcase_add_test(tc, test_site_cache_uses_the_regional_front);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
