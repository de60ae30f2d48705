/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "itest.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "xalloc.h"

static char *saved_args[32];
static char *saved_env[8];

static void save(char **dst, size_t max, const char *const *src)
{
    size_t i;

    for (i = 0; i < max - 1 && src != NULL && src[i] != NULL; i++)
        dst[i] = xstrdup(src[i]);
    dst[i] = NULL;
}

static void clear(char **v)
{
    for (; *v != NULL; v++) {
        free(*v);
        *v = NULL;
    }
}

static void launch(struct itest *t)
{
    t->d = daemon_start((const char *const *)saved_args,
                        (const char *const *)saved_env);
    ck_assert_msg(t->d != NULL, "daemon did not start");
}

static void start_stubs(struct itest *t, unsigned nup)
{
    unsigned i;

    t->dir = testutil_tmpdir();
    for (i = 0; i < nup && i < 2; i++)
        t->up[i] = stub_start();
}

void itest_start(struct itest *t, unsigned nup, const char *workers,
                 const char *const *extra, const char *const *env)
{
    itest_start_port(t, 0, nup, workers, extra, env);
}

void itest_start_port(struct itest *t, unsigned port, unsigned nup,
                      const char *workers, const char *const *extra,
                      const char *const *env)
{
    const char *args[32];
    char listen[32];
    size_t n = 0, i;

    memset(t, 0, sizeof(*t));
    start_stubs(t, nup);
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
    args[n++] = "-l";
    args[n++] = listen;
    args[n++] = "-d";
    args[n++] = t->dir;
    args[n++] = "-w";
    args[n++] = workers;
    for (i = 0; i < nup && i < 2; i++) {
        args[n++] = "-u";
        args[n++] = stub_url(t->up[i]);
    }
    for (i = 0; extra != NULL && extra[i] != NULL && n < 30; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    clear(saved_args);
    clear(saved_env);
    save(saved_args, 32, args);
    save(saved_env, 8, env);
    launch(t);
}

/* S with every WHAT replaced by WITH (a new string). */
static char *replace(const char *s, const char *what, const char *with)
{
    const char *p = strstr(s, what);
    char *rest, *out;

    if (p == NULL || with == NULL)
        return xstrdup(s);
    rest = replace(p + strlen(what), what, with);
    out = xasprintf("%.*s%s%s", (int)(p - s), s, with, rest);
    free(rest);
    return out;
}

void itest_start_conf(struct itest *t, unsigned nup, const char *conf_body)
{
    itest_start_conf_env(t, nup, conf_body, NULL);
}

void itest_start_conf_env(struct itest *t, unsigned nup, const char *conf_body,
                          const char *const *env)
{
    char *a, *b, *body;
    FILE *f;

    memset(t, 0, sizeof(*t));
    start_stubs(t, nup);
    a = replace(conf_body, "@UP0@", t->up[0] ? stub_url(t->up[0]) : NULL);
    b = replace(a, "@UP1@", t->up[1] ? stub_url(t->up[1]) : NULL);
    body = xasprintf("[server]\nlisten = 127.0.0.1:0\n[cache]\ndir = %s\n%s",
                     t->dir, b);
    t->conf = xasprintf("%s.conf", t->dir);
    f = fopen(t->conf, "w");
    ck_assert_ptr_nonnull(f);
    fputs(body, f);
    fclose(f);
    clear(saved_args);
    clear(saved_env);
    saved_args[0] = xstrdup("-c");
    saved_args[1] = xstrdup(t->conf);
    saved_args[2] = NULL;
    save(saved_env, 8, env);
    launch(t);
    free(a);
    free(b);
    free(body);
}

void itest_restart(struct itest *t)
{
    daemon_stop(t->d);
    launch(t);
}

void itest_stop(struct itest *t)
{
    unsigned i;

    daemon_stop(t->d);
    for (i = 0; i < 2; i++)
        stub_stop(t->up[i]);
    testutil_rmtree(t->dir);
    if (t->conf != NULL)
        unlink(t->conf);
    free(t->conf);
    free(t->dir);
    memset(t, 0, sizeof(*t));
}

char *itest_url(const struct itest *t, const char *path)
{
    return xasprintf("%s%s", daemon_url(t->d), path);
}

void itest_get(const struct itest *t, const char *path,
               const char *const *headers, struct http_resp *out)
{
    char *url = itest_url(t, path);

    http_get(url, headers, out);
    ck_assert_msg(out->status != 0, "no response for %s", path);
    free(url);
}

void itest_expect_status(const struct itest *t, const char *path,
                         const char *const *headers, long want)
{
    struct http_resp r;

    itest_get(t, path, headers, &r);
    ck_assert_msg(r.status == want, "%s: %ld, want %ld", path, r.status, want);
    http_resp_free(&r);
}

void itest_get_body(const struct itest *t, const char *path,
                    const char *body, size_t len)
{
    struct http_resp r;

    itest_get(t, path, NULL, &r);
    ck_assert_msg(r.status == 200, "%s: status %ld", path, r.status);
    ck_assert_uint_eq(r.len, len);
    ck_assert_msg(memcmp(r.body, body, len) == 0, "%s: body differs", path);
    http_resp_free(&r);
}

bool itest_metric_at_least(const struct itest *t, const char *name,
                           const char *label, double value,
                           unsigned timeout_ms)
{
    unsigned waited;

    for (waited = 0; waited <= timeout_ms; waited += 20) {
        if (metrics_get(daemon_url(t->d), name, label) >= value)
            return true;
        usleep(20 * 1000);
    }
    return false;
}

int itest_connect(unsigned port)
{
    return itest_connect_rcvbuf(port, 0);
}

int itest_connect_rcvbuf(unsigned port, int rcvbuf)
{
    struct sockaddr_in sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    return fd;
}

int itest_refusing_port(unsigned *port)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    *port = ntohs(sin.sin_port);
    return fd;
}

char *itest_gzip(const char *body, size_t blen, size_t *len)
{
    z_stream zs;
    size_t cap = blen + 1024;
    char *out = xmalloc(cap);

    memset(&zs, 0, sizeof(zs));
    ck_assert_int_eq(
        deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY),
        Z_OK);
    zs.next_in = (unsigned char *)(uintptr_t)body;
    zs.avail_in = (uInt)blen;
    zs.next_out = (unsigned char *)out;
    zs.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *len = zs.total_out;
    deflateEnd(&zs);
    return out;
}

char *itest_body(size_t len, bool compressible, unsigned seed)
{
    char *b = xmalloc(len + 1);
    size_t i;

    for (i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = compressible ? (char)('a' + (i / 7 + seed % 3) % 26)
                            : (char)(seed >> 16);
    }
    b[len] = '\0';
    return b;
}

static size_t walk(const char *dir, bool skip_state, const char *needle,
                   bool *found)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        char *p;
        struct stat st;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (skip_state && strcmp(de->d_name, ".Symsrvd") == 0)
            continue;
        if (needle != NULL && strstr(de->d_name, needle) != NULL)
            *found = true;
        p = xasprintf("%s/%s", dir, de->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            n += walk(p, skip_state, needle, found);
        else
            n++;
        free(p);
    }
    closedir(d);
    return n;
}

size_t itest_count_files(const char *dir, bool skip_state)
{
    bool found = false;

    return walk(dir, skip_state, NULL, &found);
}

bool itest_tree_has(const char *dir, const char *needle)
{
    bool found = false;

    walk(dir, false, needle, &found);
    return found;
}

char *itest_keys_of(const char *path)
{
    const char *top = getenv("abs_top_builddir");
    char *cmd = xasprintf("'%s/tools/symsrvd-key' '%s'", top ? top : "..",
                          path);
    FILE *p = popen(cmd, "r");
    char *out = xmalloc(4096);
    size_t len;

    ck_assert_ptr_nonnull(p);
    len = fread(out, 1, 4095, p);
    out[len] = '\0';
    ck_assert_int_eq(pclose(p), 0);
    ck_assert_msg(len > 0, "no key for %s", path);
    free(cmd);
    return out;
}

char *itest_key_path(unsigned i)
{
    return xasprintf("/f%u.pdb/" ITEST_KEY_ID "/f%u.pdb", i, i);
}

void itest_key_add(struct itest *t, unsigned i, uint64_t len)
{
    char *path = itest_key_path(i);

    stub_add_generated(t->up[0], path, len, i);
    free(path);
}

void itest_key_get(const struct itest *t, unsigned i, uint64_t len)
{
    char *path = itest_key_path(i);
    struct http_resp r;

    itest_get(t, path, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, len);
    ck_assert(stub_generated_equal(i, 0, r.body, r.len));
    http_resp_free(&r);
    free(path);
}

unsigned itest_key_hits(const struct itest *t, unsigned i)
{
    char *path = itest_key_path(i);
    unsigned n = stub_hits(t->up[0], path);

    free(path);
    return n;
}

bool itest_key_on_disk(const char *dir, unsigned i)
{
    char *k = itest_key_path(i), *p = xasprintf("%s%s", dir, k);
    bool yes = access(p, F_OK) == 0;

    free(k);
    free(p);
    return yes;
}
