/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/config.c: the duration, size and listen parsers, loading
 * files (every error with its line), environment overrides, the command
 * line replacements, and that etc/symsrvd.conf and symsrvd.conf(5) stay
 * in step with the key table (through config_dump()).
 */
#include "symsrvd_config.h"

#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];
static int file_seq;

/* Tests set SYMSRVD_* themselves; each starts from none (also with
 * CK_FORK=no, where the environment outlives a test). */
static void clear_symsrvd_env(void)
{
    extern char **environ;
    char name[128];
    size_t i = 0;

    while (environ[i] != NULL) {
        const char *eq = strchr(environ[i], '=');
        size_t len = eq != NULL ? (size_t)(eq - environ[i]) : 0;

        if (strncmp(environ[i], "SYMSRVD_", 8) == 0 && eq != NULL &&
            len < sizeof(name)) {
            memcpy(name, environ[i], len);
            name[len] = '\0';
            if (unsetenv(name) == 0)
                continue; /* environ[i] is now the next entry */
        }
        i++;
    }
}

static void setup(void)
{
    clear_symsrvd_env();
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_config.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Write LEN bytes of TEXT to a new file in tmpdir; returns its path. */
static char *write_file(const char *text, size_t len)
{
    static char path[128];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/t%d.conf", tmpdir, ++file_seq);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
    ck_assert_int_eq(fclose(fp), 0);
    return path;
}

static int load_text(const char *text, struct config **cfg, char *err,
                     size_t errlen)
{
    *cfg = NULL;
    err[0] = '\0';
    return config_load(write_file(text, strlen(text)), cfg, err, errlen);
}

/* config_dump() as a new string. */
static char *dump(const struct config *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);

    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(config_dump(cfg, fp), 0);
    ck_assert_int_eq(fclose(fp), 0);
    return buf;
}

static char *dump_defaults(void)
{
    struct config *cfg = NULL;
    char err[256], *text;

    ck_assert_int_eq(config_load(NULL, &cfg, err, sizeof(err)), 0);
    text = dump(cfg);
    config_free(cfg);
    return text;
}

/* The whole of a file under the source tree, or NULL. */
static char *read_source(const char *rel)
{
    const char *top = getenv("abs_top_srcdir");
    char path[4096], *buf = NULL;
    size_t len = 0;
    FILE *fp, *out;
    int c;

    snprintf(path, sizeof(path), "%s/%s", top != NULL ? top : "..", rel);
    fp = fopen(path, "r");
    if (fp == NULL)
        return NULL;
    out = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(out);
    while ((c = getc(fp)) != EOF)
        putc(c, out);
    fclose(fp);
    fclose(out);
    return buf;
}

/* ---- parsers ---- */

START_TEST(test_config_duration_good)
{
    static const struct {
        const char *s;
        uint64_t ms;
    } cases[] = {
        {"250ms", 250},
        {"5s", 5000},
        {"10m", 600000},
        {"1h", 3600000},
        {"2d", 172800000},
        {"7", 7000},
        {"0", 0},
        {"0ms", 0},
        {"007s", 7000},
        {"18446744073709551615ms", UINT64_MAX},
        {"213503982334d", UINT64_C(213503982334) * 86400000},
    };
    uint64_t ms;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ms = 12345;
        ck_assert_msg(config_parse_duration(cases[i].s, &ms) == 0, "%s",
                      cases[i].s);
        ck_assert_msg(ms == cases[i].ms, "%s -> %llu", cases[i].s,
                      (unsigned long long)ms);
    }
}
END_TEST

START_TEST(test_config_duration_bad)
{
    static const char *const cases[] = {
        "",
        "-1",
        "+1",
        "1x",
        "1 s",
        " 1s",
        "1s ",
        "s",
        "ms",
        "1.5h",
        "1sec",
        "5S",
        "1h30m",
        "0x10",
        "1e3",
        "1d2",
        "213503982335d",
        "18446744073709551616",
        "18446744073709551615s",
        "99999999999999999999999ms",
    };
    uint64_t ms = 42;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(config_parse_duration(cases[i], &ms) == -EINVAL,
                      "accepted '%s'", cases[i]);
    ck_assert_int_eq(config_parse_duration(NULL, &ms), -EINVAL);
    ck_assert_uint_eq(ms, 42);
}
END_TEST

START_TEST(test_config_size_good)
{
    static const struct {
        const char *s;
        uint64_t bytes;
    } cases[] = {
        {"1024", 1024},
        {"0", 0},
        {"1K", 1024},
        {"1k", 1024},
        {"10M", 10485760},
        {"1G", 1073741824},
        {"2T", UINT64_C(2199023255552)},
        {"16777215T", UINT64_C(16777215) << 40},
        {"18446744073709551615", UINT64_MAX},
    };
    uint64_t bytes;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_msg(config_parse_size(cases[i].s, &bytes) == 0, "%s",
                      cases[i].s);
        ck_assert_msg(bytes == cases[i].bytes, "%s", cases[i].s);
    }
}
END_TEST

START_TEST(test_config_size_bad)
{
    static const char *const cases[] = {
        "",          "-1",
        "+1",        "1P",
        "1KB",       "1KiB",
        "1 K",       " 1K",
        "K",         "1.5G",
        "1e6",       "0x400",
        "16777216T", "18446744073709551616",
        "1K1",       "1KK",
    };
    uint64_t bytes = 42;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(config_parse_size(cases[i], &bytes) == -EINVAL,
                      "accepted '%s'", cases[i]);
    ck_assert_uint_eq(bytes, 42);
}
END_TEST

START_TEST(test_config_listen_good)
{
    static const struct {
        const char *s;
        enum config_listen_kind kind;
        const char *host, *port, *path;
    } cases[] = {
        {"127.0.0.1:8080", CONFIG_LISTEN_TCP, "127.0.0.1", "8080", ""},
        {"0.0.0.0:0", CONFIG_LISTEN_TCP, "0.0.0.0", "0", ""},
        {"localhost:80", CONFIG_LISTEN_TCP, "localhost", "80", ""},
        {"sym-box.example.com:65535", CONFIG_LISTEN_TCP, "sym-box.example.com",
         "65535", ""},
        {"1.2.3.4:0080", CONFIG_LISTEN_TCP, "1.2.3.4", "80", ""},
        {"[::1]:443", CONFIG_LISTEN_TCP, "::1", "443", ""},
        {"[::]:8080", CONFIG_LISTEN_TCP, "::", "8080", ""},
        {"[fe80::1%eth0]:80", CONFIG_LISTEN_TCP, "fe80::1%eth0", "80", ""},
        {"[::ffff:10.0.0.1]:1", CONFIG_LISTEN_TCP, "::ffff:10.0.0.1", "1", ""},
        {"unix:/run/symsrvd.sock", CONFIG_LISTEN_UNIX, "", "",
         "/run/symsrvd.sock"},
        {"unix:rel.sock", CONFIG_LISTEN_UNIX, "", "", "rel.sock"},
    };
    struct config_listen l;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_msg(config_parse_listen(cases[i].s, &l) == 0, "%s",
                      cases[i].s);
        ck_assert_int_eq(l.kind, cases[i].kind);
        ck_assert_str_eq(l.host, cases[i].host);
        ck_assert_str_eq(l.port, cases[i].port);
        ck_assert_str_eq(l.path, cases[i].path);
    }
}
END_TEST

START_TEST(test_config_listen_bad)
{
    static const char *const cases[] = {
        "127.0.0.1",     "127.0.0.1:",
        ":80",           "1.2.3.4:65536",
        "1.2.3.4:-1",    "1.2.3.4:+80",
        "1.2.3.4:80x",   "1.2.3.4:123456",
        "1.2.3.4: 80",   "::1:80",
        "[::1]80",       "[::1]",
        "[::1]:",        "[zz::1]:80",
        "[]:80",         "[1.2.3.4]:80",
        "[fe80::1%]:80", "[::1%a b]:80",
        "999.1.1.1:80",  "1.2.3:80",
        "host name:80",  "-x:80",
        ".x:80",         "a/b:80",
        "unix:",         "",
        "8080",          "http://x:80",
    };
    char longpath[200], longhost[300];
    struct config_listen l;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(config_parse_listen(cases[i], &l) == -EINVAL,
                      "accepted '%s'", cases[i]);
    /* sun_path holds 107 bytes and a NUL */
    snprintf(longpath, sizeof(longpath), "unix:/%0107d", 0);
    ck_assert_int_eq(config_parse_listen(longpath, &l), -EINVAL);
    longpath[strlen(longpath) - 1] = '\0';
    ck_assert_int_eq(config_parse_listen(longpath, &l), 0);
    ck_assert_uint_eq(strlen(l.path), 107);
    memset(longhost, 'a', sizeof(longhost));
    strcpy(longhost + 256, ":80");
    ck_assert_int_eq(config_parse_listen(longhost, &l), -EINVAL);
    strcpy(longhost + 255, ":80");
    ck_assert_int_eq(config_parse_listen(longhost, &l), 0);
    ck_assert_int_eq(config_parse_listen(NULL, &l), -EINVAL);
}
END_TEST

/* ---- defaults and the example file ---- */

START_TEST(test_config_defaults)
{
    static const char *const names[] = {"microsoft", "chromium", "mozilla"};
    static const char *const urls[] = {
        "https://msdl.microsoft.com/download/symbols",
        "https://chromium-browser-symsrv.commondatastorage.googleapis.com",
        "https://symbols.mozilla.org",
    };
    struct config *cfg = NULL;
    char err[256];
    size_t i;

    ck_assert_int_eq(config_load(NULL, &cfg, err, sizeof(err)), 0);
    ck_assert_ptr_null(cfg->path);
    ck_assert_uint_eq(cfg->nlisten, 1);
    ck_assert_int_eq(cfg->listen[0].kind, CONFIG_LISTEN_TCP);
    ck_assert_str_eq(cfg->listen[0].host, "127.0.0.1");
    ck_assert_str_eq(cfg->listen[0].port, "8080");
    ck_assert_uint_eq(cfg->workers, 2);
    ck_assert_uint_eq(cfg->threads, 8);
    ck_assert_uint_eq(cfg->downloaders, 8);
    ck_assert_str_eq(cfg->access_log, "-");
    ck_assert_uint_eq(cfg->max_connections, 1024);
    ck_assert_uint_eq(cfg->connection_timeout_ms, 30000);
    ck_assert_str_eq(cfg->cache_dir, "./symsrvd-cache");
    ck_assert_uint_eq(cfg->negative_ttl_ms, 3600000);
    ck_assert_int_eq(cfg->miss, CONFIG_MISS_WAIT);
    ck_assert_uint_eq(cfg->miss_timeout_ms, 25000);
    ck_assert_uint_eq(cfg->gzip_min_size, 1024);
    ck_assert_uint_eq(cfg->map_size, 1073741824);
    ck_assert_uint_eq(cfg->nupstreams, 3);
    for (i = 0; i < 3; i++) {
        const struct config_upstream *up = &cfg->upstreams[i];

        ck_assert_str_eq(up->name, names[i]);
        ck_assert_str_eq(up->url, urls[i]);
        ck_assert_uint_eq(up->timeout_ms, 60000);
        ck_assert_uint_eq(up->connect_timeout_ms, 5000);
        ck_assert_uint_eq(up->retries, 3);
        ck_assert_uint_eq(up->retry_backoff_ms, 250);
        ck_assert_int_eq(up->casing, CONFIG_CASING_KEEP);
        ck_assert_int_eq(up->layout, CONFIG_LAYOUT_NATIVE);
    }
    config_free(cfg);
    config_free(NULL);
    ck_assert_str_eq(config_default_path() + strlen(config_default_path()) -
                         strlen("/symsrvd/symsrvd.conf"),
                     "/symsrvd/symsrvd.conf");
}
END_TEST

/* The example as shipped, and with every "#key = value" and "#[section]"
 * line uncommented, both load to exactly the embedded defaults: so its
 * documented defaults are the real ones. */
START_TEST(test_config_example_is_defaults)
{
    char *example = read_source("etc/symsrvd.conf");
    char *defaults = dump_defaults(), *got, *p, err[512];
    struct config *cfg = NULL;
    size_t n = 0;

    ck_assert_ptr_nonnull(example);
    ck_assert_int_eq(load_text(example, &cfg, err, sizeof(err)), 0);
    got = dump(cfg);
    ck_assert_str_eq(got, defaults);
    free(got);
    config_free(cfg);

    for (p = example; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
        if (*p == '\n')
            p++;
        if (p[0] == '#' && (p[1] == '[' || (p[1] >= 'a' && p[1] <= 'z'))) {
            p[0] = ' ';
            n++;
        }
    }
    ck_assert_uint_ge(n, 20);
    ck_assert_msg(load_text(example, &cfg, err, sizeof(err)) == 0, "%s", err);
    got = dump(cfg);
    ck_assert_str_eq(got, defaults);
    free(got);
    config_free(cfg);
    free(example);
    free(defaults);
}
END_TEST

/* Every key config_dump() knows appears in etc/symsrvd.conf as "#key = "
 * and in symsrvd.conf(5) as ".It Ic key". */
START_TEST(test_config_every_key_documented)
{
    char *example = read_source("etc/symsrvd.conf");
    char *man = read_source("man/symsrvd.conf.5");
    char *defaults = dump_defaults(), *line, *save = NULL, *eq;
    char want[128];
    size_t n = 0;

    ck_assert_ptr_nonnull(example);
    ck_assert_ptr_nonnull(man);
    for (line = strtok_r(defaults, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        eq = strstr(line, " = ");
        if (eq == NULL)
            continue;
        *eq = '\0';
        snprintf(want, sizeof(want), "\n#%s = ", line);
        ck_assert_msg(strstr(example, want) != NULL,
                      "etc/symsrvd.conf lacks '%s'", want + 1);
        snprintf(want, sizeof(want), "\n.It Ic %s ", line);
        ck_assert_msg(strstr(man, want) != NULL, "symsrvd.conf.5 lacks '%s'",
                      want + 1);
        n++;
    }
    ck_assert_uint_ge(n, 19);
    free(example);
    free(man);
    free(defaults);
}
END_TEST

/* ---- errors ---- */

START_TEST(test_config_errors_name_line_and_key)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"[server]\nworkers = 0\n", ":2: [server] workers: bad value '0'"},
        {"[server]\nworkers = 257\n", ":2: [server] workers: bad value"},
        {"[server]\nworkers = two\n", ":2: [server] workers: bad value"},
        {"[server]\n\n# c\n; c\nthreads = 2000\n",
         ":5: [server] threads: bad value '2000' (want 1..1024)"},
        {"[server]\ndownloaders = 0\n", ":2: [server] downloaders:"},
        {"[server]\nmax_connections = 0\n", ":2: [server] max_connections:"},
        {"[server]\nconnection_timeout = 500ms\n",
         ":2: [server] connection_timeout: bad duration '500ms' (want 1s..1d"},
        {"[server]\naccess_log =\n", ":2: [server] access_log: bad value ''"},
        {"[server]\nlisten = 1.2.3.4\n",
         ":2: [server] listen: bad address '1.2.3.4' (want HOST:PORT"},
        {"[server]\nadmin_allow = 127.0.0.0/33\n",
         ":2: [server] admin_allow: bad address list '127.0.0.0/33'"},
        {"[server]\nadmin_allow = localhost\n",
         ":2: [server] admin_allow: bad address list 'localhost'"},
        {"[server]\nbogus = 1\n", ":2: [server] unknown key 'bogus'"},
        {"[server]\nWorkers = 1\n", ":2: [server] unknown key 'Workers'"},
        {"[cache]\nnegative_ttl = x\n",
         ":2: [cache] negative_ttl: bad duration 'x'"},
        {"[cache]\nmiss = later\n",
         ":2: [cache] miss: bad value 'later' (want wait|background)"},
        {"[cache]\nmiss_timeout = 0\n", ":2: [cache] miss_timeout:"},
        {"[cache]\ngzip_min_size = 1P\n",
         ":2: [cache] gzip_min_size: bad size '1P'"},
        {"[cache]\nmap_size = 512K\n",
         ":2: [cache] map_size: bad size '512K' (want 1M..64T"},
        {"[cache]\ndir = \n", ":2: [cache] dir: bad value"},
        {"[bogus]\n", ":1: unknown section [bogus]"},
        {"[upstream]\n", ":1: unknown section [upstream]"},
        {"[upstream a/b]\n", ":1: unknown section [upstream a/b]"},
        {"[server\n", ":1: bad section line"},
        {"[server] x\n", ":1: bad section line"},
        {"workers = 2\n", ":1: key outside a section"},
        {"[server]\nworkers\n", ":2: syntax error"},
        {"[upstream a]\ntimeout = 1s\n[cache]\n", ":1: [upstream a]: no url"},
        {"[cache]\n[upstream a]\n", ":2: [upstream a]: no url"},
        {"[upstream a]\nurl = ftp://x\n",
         ":2: [upstream a] url: bad url 'ftp://x'"},
        {"[upstream a]\nurl = https://\n", ":2: [upstream a] url: bad url"},
        {"[upstream a]\nurl = https:///x\n", ":2: [upstream a] url: bad url"},
        {"[upstream a]\nurl = https://a b\n", ":2: [upstream a] url: bad url"},
        {"[upstream a]\nurl = http://a\n[upstream a]\nurl = http://b\n",
         ":3: duplicate section [upstream a]"},
        {"[upstream a]\nurl = http://a\nretries = 21\n",
         ":3: [upstream a] retries: bad value '21' (want 0..20)"},
        {"[upstream a]\nurl = http://a\ntimeout = 0\n",
         ":3: [upstream a] timeout: bad duration '0'"},
        {"[upstream a]\nurl = http://a\nconnect_timeout = 0s\n",
         ":3: [upstream a] connect_timeout:"},
        {"[upstream a]\nurl = http://a\nretry_backoff = 11m\n",
         ":3: [upstream a] retry_backoff:"},
        {"[upstream a]\nurl = http://a\ncasing = mixed\n",
         ":3: [upstream a] casing: bad value 'mixed' (want keep|lower|upper)"},
        {"[upstream a]\nurl = http://a\nlayout = symstor\n",
         ":3: [upstream a] layout: bad value 'symstor' (want "
         "native|debuginfod|symstore|symstore_index2|ssqp|breakpad|unified)"},
        {"[upstream a]\nurl = s3://AB\n",
         ":2: [upstream a] url: bad url 's3://AB' (want http:// or https:// "
         "and a host, or s3://bucket/prefix)"},
        {"[upstream a]\nurl = s3://syms/a?b\n", ":2: [upstream a] url: bad url"},
        {"[upstream a]\nurl = http://a\nfilter = *.sym,,*.pd_\n",
         ":3: [upstream a] filter: bad filter '*.sym,,*.pd_'"},
        {"[upstream a]\nurl = http://a\nfilter = *.sym, \n",
         ":3: [upstream a] filter: bad filter"},
        {"[upstream a]\nurl = http://a\nheader = Token\n",
         ":3: [upstream a] header: bad header, not shown (want 'Name: value')"},
        {"[upstream a]\nurl = s3://syms\nsecret_key =\n",
         ":3: [upstream a] secret_key: bad value, not shown"},
        {"[upstream a]\nurl = http://a\nheader = Private Token: x\n",
         ":3: [upstream a] header: bad header"},
        {"[upstream a]\nurl = http://a\nheader = Token:  \n",
         ":3: [upstream a] header: bad header"},
        {"[upstream a]\nurl = http://a\nregion = eu-west-1\n",
         ":1: [upstream a]: region, endpoint, access_key and secret_key need "
         "an s3:// url"},
        {"[upstream a]\nurl = s3://syms\naccess_key = AK\n",
         ":1: [upstream a]: access_key and secret_key go together"},
        {"[upstream a]\nurl = s3://syms\nregion = eu/west\n",
         ":1: [upstream a]: bad region"},
        {"[upstream a]\nurl = s3://syms\nlayout = debuginfod\n",
         ":1: [upstream a]: an s3:// bucket is not a debuginfod server"},
        {"[upstream a]\nurl = s3://syms\nendpoint = ftp://x\n",
         ":3: [upstream a] endpoint: bad url"},
        {"[upstream a]\nurl = http://a\nworkers = 2\n",
         ":3: [upstream a] unknown key 'workers'"},
        {"[server]\nthreads = 1\x01\n", ":2: control byte 0x01"},
        {"\n\n\n\n\n\n\n\n\n\n[cache]\nnegative_ttl = x\n",
         ":12: [cache] negative_ttl: bad duration 'x'"},
    };
    struct config *cfg;
    char err[512], *path;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_msg(load_text(cases[i].text, &cfg, err, sizeof(err)) ==
                          -EINVAL,
                      "accepted case %zu", i);
        ck_assert_ptr_null(cfg);
        path = strstr(err, ".conf:");
        ck_assert_msg(path != NULL && strncmp(err, tmpdir, strlen(tmpdir)) == 0,
                      "case %zu: no file in '%s'", i, err);
        ck_assert_msg(strstr(err, cases[i].want) == path + strlen(".conf"),
                      "case %zu: '%s' lacks '%s'", i, err, cases[i].want);
    }
}
END_TEST

START_TEST(test_config_errors_bytes_and_files)
{
    static const char nul[] = "[server]\nthreads = 1\0 2\n";
    char err[512], longline[400];
    struct config *cfg = NULL;

    err[0] = '\0';
    ck_assert_int_eq(
        config_load(write_file(nul, sizeof(nul) - 1), &cfg, err, sizeof(err)),
        -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, ".conf:2: NUL byte"));

    /* inih's line buffer is 200 bytes; longer lines are an error, not a
     * silently truncated value */
    snprintf(longline, sizeof(longline), "[cache]\ndir = /%0300d\n", 0);
    ck_assert_int_eq(load_text(longline, &cfg, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, ".conf:2: line too long"));

    ck_assert_int_eq(
        config_load("/nonexistent/symsrvd.conf", &cfg, err, sizeof(err)),
        -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/symsrvd.conf: "));
    ck_assert_int_eq(config_load(tmpdir, &cfg, err, sizeof(err)), -EIO);
    ck_assert_ptr_nonnull(strstr(err, tmpdir));
    ck_assert_ptr_null(cfg);
    /* a too-small error buffer is truncated, not overrun */
    ck_assert_int_eq(config_load("/nonexistent/x", &cfg, err, 4), -ENOENT);
    ck_assert_str_eq(err, "/no");
    ck_assert_int_eq(config_load("/nonexistent/x", &cfg, NULL, 0), -ENOENT);
}
END_TEST

/* ---- syntax ---- */

START_TEST(test_config_inline_comments_and_layout)
{
    static const char text[] =
        "\xEF\xBB\xBF# comment\r\n"
        "; another\n"
        "  [ server ]   # trailing\n"
        "workers = 3          # pre-forked processes\n"
        "  threads = 4 ; four\n"
        "\tdownloaders=5\n"
        "access_log = /var/log/a#b;c\r\n"
        "\n"
        "[upstream  my.store-1]  ; comment\n"
        "url = http://example.com/sym/?x=1&y=2   # query kept\n";
    struct config *cfg = NULL;
    char err[512];

    ck_assert_msg(config_load(write_file(text, sizeof(text) - 1), &cfg, err,
                              sizeof(err)) == 0,
                  "%s", err);
    ck_assert_uint_eq(cfg->workers, 3);
    ck_assert_uint_eq(cfg->threads, 4);
    ck_assert_uint_eq(cfg->downloaders, 5);
    ck_assert_str_eq(cfg->access_log, "/var/log/a#b;c");
    ck_assert_uint_eq(cfg->nupstreams, 1);
    ck_assert_str_eq(cfg->upstreams[0].name, "my.store-1");
    ck_assert_str_eq(cfg->upstreams[0].url, "http://example.com/sym/?x=1&y=2");
    ck_assert_ptr_nonnull(cfg->path);
    config_free(cfg);
}
END_TEST

START_TEST(test_config_listen_repeatable)
{
    static const char text[] = "[server]\n"
                               "listen = 0.0.0.0:80\n"
                               "listen = [::1]:8080\n"
                               "[cache]\n"
                               "[server]\n"
                               "listen = unix:/run/s.sock\n";
    struct config *cfg = NULL;
    char err[512];

    ck_assert_msg(load_text(text, &cfg, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(cfg->nlisten, 3);
    ck_assert_str_eq(cfg->listen[0].host, "0.0.0.0");
    ck_assert_str_eq(cfg->listen[0].port, "80");
    ck_assert_str_eq(cfg->listen[1].host, "::1");
    ck_assert_str_eq(cfg->listen[1].port, "8080");
    ck_assert_int_eq(cfg->listen[2].kind, CONFIG_LISTEN_UNIX);
    ck_assert_str_eq(cfg->listen[2].path, "/run/s.sock");
    config_free(cfg);
}
END_TEST

START_TEST(test_config_upstreams_from_file)
{
    static const char text[] = "[upstream b]\n"
                               "url = HTTPS://b.example/x///\n"
                               "casing = upper\n"
                               "layout = debuginfod\n"
                               "timeout = 2m\n"
                               "retries = 0\n"
                               "retry_backoff = 0\n"
                               "[upstream a]\n"
                               "url = http://a.example\n";
    struct config *cfg = NULL;
    char err[512];

    ck_assert_msg(load_text(text, &cfg, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(cfg->nupstreams, 2);
    ck_assert_str_eq(cfg->upstreams[0].name, "b");
    ck_assert_str_eq(cfg->upstreams[0].url, "HTTPS://b.example/x");
    ck_assert_int_eq(cfg->upstreams[0].casing, CONFIG_CASING_UPPER);
    ck_assert_int_eq(cfg->upstreams[0].layout, CONFIG_LAYOUT_DEBUGINFOD);
    ck_assert_int_eq(cfg->upstreams[1].layout, CONFIG_LAYOUT_NATIVE);
    ck_assert_uint_eq(cfg->upstreams[0].timeout_ms, 120000);
    ck_assert_uint_eq(cfg->upstreams[0].retries, 0);
    ck_assert_uint_eq(cfg->upstreams[0].retry_backoff_ms, 0);
    ck_assert_str_eq(cfg->upstreams[1].name, "a");
    ck_assert_str_eq(cfg->upstreams[1].url, "http://a.example");
    ck_assert_uint_eq(cfg->upstreams[1].timeout_ms, 60000);
    ck_assert_int_eq(cfg->upstreams[1].casing, CONFIG_CASING_KEEP);
    /* the file had no listen: the default stays */
    ck_assert_uint_eq(cfg->nlisten, 1);
    ck_assert_str_eq(cfg->listen[0].port, "8080");
    config_free(cfg);
}
END_TEST

/* A loaded config dumps to text that loads back to the same dump. */
START_TEST(test_config_dump_roundtrip)
{
    static const char text[] = "[server]\n"
                               "listen = [fe80::1%lo]:1\n"
                               "listen = unix:/tmp/x.sock\n"
                               "workers = 7\n"
                               "connection_timeout = 90s\n"
                               "[cache]\n"
                               "negative_ttl = 0\n"
                               "miss = background\n"
                               "gzip_min_size = 1536\n"
                               "map_size = 3072M\n"
                               "[upstream x]\n"
                               "url = http://x\n"
                               "retry_backoff = 1500ms\n"
                               "casing = lower\n"
                               "[upstream b]\n"
                               "url = s3://syms/pre/fix/\n"
                               "layout = symstore_index2\n"
                               "filter = *.pdb, *.sym\n"
                               "header = Authorization: Bearer t0k\n"
                               "header = X-Scope: team=a\n"
                               "region = eu-west-1\n"
                               "endpoint = http://minio.lan:9000/\n"
                               "access_key = AK\n"
                               "secret_key = SK\n";
    struct config *cfg = NULL, *again = NULL;
    char err[512], *first, *second;

    ck_assert_msg(load_text(text, &cfg, err, sizeof(err)) == 0, "%s", err);
    first = dump(cfg);
    ck_assert_ptr_nonnull(strstr(first, "map_size = 3G\n"));
    ck_assert_ptr_nonnull(strstr(first, "negative_ttl = 0ms\n"));
    ck_assert_ptr_nonnull(strstr(first, "gzip_min_size = 1536\n"));
    /* repeated headers are all kept, in order; an s3 URL is normalised */
    ck_assert_uint_eq(cfg->upstreams[1].headers.n, 2);
    ck_assert_str_eq(cfg->upstreams[1].headers.v[1], "X-Scope: team=a");
    ck_assert_str_eq(cfg->upstreams[1].url, "s3://syms/pre/fix");
    ck_assert_str_eq(cfg->upstreams[1].endpoint, "http://minio.lan:9000");
    ck_assert_int_eq(cfg->upstreams[1].layout, CONFIG_LAYOUT_SYMSTORE_INDEX2);
    ck_assert_ptr_null(cfg->upstreams[0].filter);
    ck_assert_msg(load_text(first, &again, err, sizeof(err)) == 0, "%s", err);
    second = dump(again);
    ck_assert_str_eq(first, second);
    free(first);
    free(second);
    config_free(cfg);
    config_free(again);
}
END_TEST

/* ---- environment ---- */

START_TEST(test_config_env_overrides)
{
    struct config *cfg = NULL;
    char err[512];

    setenv("SYMSRVD_CACHE_NEGATIVE_TTL", "10m", 1);
    setenv("SYMSRVD_SERVER_WORKERS", "3", 1);
    setenv("SYMSRVD_SERVER_LISTEN", " 10.0.0.1:81\t[::1]:82 ", 1);
    setenv("SYMSRVD_CACHE_DIR", "/srv/cache", 1);
    setenv("SYMSRVD_CACHE_MISS", "background", 1);
    ck_assert_msg(load_text("[server]\nworkers = 5\nthreads = 6\n", &cfg, err,
                            sizeof(err)) == 0,
                  "%s", err);
    ck_assert_uint_eq(cfg->negative_ttl_ms, 600000);
    ck_assert_uint_eq(cfg->workers, 3); /* the environment wins */
    ck_assert_uint_eq(cfg->threads, 6);
    ck_assert_uint_eq(cfg->nlisten, 2);
    ck_assert_str_eq(cfg->listen[0].host, "10.0.0.1");
    ck_assert_str_eq(cfg->listen[1].port, "82");
    ck_assert_str_eq(cfg->cache_dir, "/srv/cache");
    ck_assert_int_eq(cfg->miss, CONFIG_MISS_BACKGROUND);
    config_free(cfg);

    /* and without a file */
    ck_assert_int_eq(config_load(NULL, &cfg, err, sizeof(err)), 0);
    ck_assert_uint_eq(cfg->workers, 3);
    config_free(cfg);

    setenv("SYMSRVD_CACHE_MISS", "x", 1);
    ck_assert_int_eq(config_load(NULL, &cfg, err, sizeof(err)), -EINVAL);
    ck_assert_str_eq(err, "environment: SYMSRVD_CACHE_MISS: bad value 'x' "
                          "(want wait|background)");
    unsetenv("SYMSRVD_CACHE_MISS");
    setenv("SYMSRVD_SERVER_LISTEN", "  ", 1);
    ck_assert_int_eq(config_load(NULL, &cfg, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "SYMSRVD_SERVER_LISTEN: "));
    setenv("SYMSRVD_SERVER_LISTEN", "1.2.3.4:1 nope", 1);
    ck_assert_int_eq(config_load(NULL, &cfg, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(
        strstr(err, "SYMSRVD_SERVER_LISTEN: bad address 'nope'"));
}
END_TEST

/* Every [server], [cache] and [symbolicate] key has its variable: setting each one to a
 * bad value makes the load fail naming that variable. */
START_TEST(test_config_env_every_key)
{
    char *defaults = dump_defaults(), *line, *save = NULL, *eq, *p;
    char section[16] = "", var[96], err[512];
    struct config *cfg = NULL;
    size_t n = 0;

    for (line = strtok_r(defaults, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "[upstream", 9) == 0)
            break;
        if (sscanf(line, "[%15[a-z]]", section) == 1)
            continue;
        eq = strstr(line, " = ");
        ck_assert_ptr_nonnull(eq);
        *eq = '\0';
        snprintf(var, sizeof(var), "SYMSRVD_%s_%s", section, line);
        for (p = var; *p != '\0'; p++)
            *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
        setenv(var, "\x01", 1);
        ck_assert_int_eq(config_load(NULL, &cfg, err, sizeof(err)), -EINVAL);
        ck_assert_msg(strncmp(err, "environment: ", 13) == 0 &&
                          strncmp(err + 13, var, strlen(var)) == 0,
                      "%s: %s", var, err);
        ck_assert_ptr_nonnull(strstr(err, "'?'")); /* no raw control byte */
        unsetenv(var);
        n++;
    }
    ck_assert_uint_eq(n, 37);
    free(defaults);
}
END_TEST

/* ---- command line ---- */

START_TEST(test_config_replace_listen)
{
    static const char *const good[] = {"[::]:0", "unix:/x.sock"};
    static const char *const bad[] = {"1.2.3.4:1", "1.2.3.4"};
    struct config *cfg = NULL;
    char err[512];

    ck_assert_int_eq(config_load(NULL, &cfg, err, sizeof(err)), 0);
    ck_assert_int_eq(config_replace_listen(cfg, good, 2, err, sizeof(err)), 0);
    ck_assert_uint_eq(cfg->nlisten, 2);
    ck_assert_str_eq(cfg->listen[0].host, "::");
    ck_assert_int_eq(cfg->listen[1].kind, CONFIG_LISTEN_UNIX);
    ck_assert_int_eq(config_replace_listen(cfg, bad, 2, err, sizeof(err)),
                     -EINVAL);
    ck_assert_str_eq(err, "bad address '1.2.3.4' (want HOST:PORT, [V6]:PORT "
                          "or unix:/path)");
    ck_assert_uint_eq(cfg->nlisten, 2); /* unchanged */
    ck_assert_str_eq(cfg->listen[0].host, "::");
    ck_assert_int_eq(config_replace_listen(cfg, good, 0, err, sizeof(err)),
                     -EINVAL);
    ck_assert_uint_eq(cfg->nlisten, 2);
    config_free(cfg);
}
END_TEST

START_TEST(test_config_replace_upstreams)
{
    static const char *const good[] = {"http://10.0.0.5:8000/",
                                       "https://sym.example/store"};
    static const char *const bad[] = {"http://ok", "file:///etc/passwd"};
    struct config *cfg = NULL;
    char err[512];

    ck_assert_int_eq(config_load(NULL, &cfg, err, sizeof(err)), 0);
    ck_assert_int_eq(config_replace_upstreams(cfg, good, 2, err, sizeof(err)),
                     0);
    ck_assert_uint_eq(cfg->nupstreams, 2);
    ck_assert_str_eq(cfg->upstreams[0].name, "cli1");
    ck_assert_str_eq(cfg->upstreams[0].url, "http://10.0.0.5:8000");
    ck_assert_str_eq(cfg->upstreams[1].name, "cli2");
    ck_assert_str_eq(cfg->upstreams[1].url, "https://sym.example/store");
    ck_assert_uint_eq(cfg->upstreams[1].timeout_ms, 60000);
    ck_assert_uint_eq(cfg->upstreams[1].connect_timeout_ms, 5000);
    ck_assert_uint_eq(cfg->upstreams[1].retries, 3);
    ck_assert_uint_eq(cfg->upstreams[1].retry_backoff_ms, 250);
    ck_assert_int_eq(cfg->upstreams[1].casing, CONFIG_CASING_KEEP);
    ck_assert_int_eq(config_replace_upstreams(cfg, bad, 2, err, sizeof(err)),
                     -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "bad url 'file:///etc/passwd'"));
    ck_assert_uint_eq(cfg->nupstreams, 2);
    ck_assert_str_eq(cfg->upstreams[0].name, "cli1");
    ck_assert_int_eq(config_replace_upstreams(cfg, good, 0, err, sizeof(err)),
                     -EINVAL);
    config_free(cfg);
}
END_TEST

START_TEST(test_config_set)
{
    struct config *cfg = NULL;
    char err[512];
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    ck_assert_int_eq(config_load(NULL, &cfg, err, sizeof(err)), 0);
    ck_assert_int_eq(config_set(cfg, "cache", "dir", "/d", err, sizeof(err)),
                     0);
    ck_assert_str_eq(cfg->cache_dir, "/d");
    ck_assert_int_eq(
        config_set(cfg, "server", "workers", "auto", err, sizeof(err)), 0);
    ck_assert_uint_eq(cfg->workers, cpus < 1 ? 1 : cpus > 256 ? 256 : cpus);
    ck_assert_int_eq(
        config_set(cfg, "server", "listen", "[::1]:9", err, sizeof(err)), 0);
    ck_assert_uint_eq(cfg->nlisten, 1);
    ck_assert_str_eq(cfg->listen[0].host, "::1");
    ck_assert_int_eq(config_set(cfg, "upstream mozilla", "casing", "lower", err,
                                sizeof(err)),
                     0);
    ck_assert_int_eq(cfg->upstreams[2].casing, CONFIG_CASING_LOWER);

    ck_assert_int_eq(
        config_set(cfg, "server", "workers", "0", err, sizeof(err)), -EINVAL);
    ck_assert_str_eq(err, "[server] workers: bad value '0' (want 1..256 or "
                          "auto)");
    ck_assert_int_eq(config_set(cfg, "cache", "dir", "", err, sizeof(err)),
                     -EINVAL);
    ck_assert_str_eq(cfg->cache_dir, "/d"); /* unchanged */
    ck_assert_int_eq(
        config_set(cfg, "upstream nope", "casing", "lower", err, sizeof(err)),
        -EINVAL);
    ck_assert_str_eq(err, "[upstream nope]: no such upstream");
    ck_assert_int_eq(config_set(cfg, "server", "dir", "/x", err, sizeof(err)),
                     -EINVAL);
    ck_assert_str_eq(err, "[server] unknown key 'dir'");
    ck_assert_int_eq(config_set(cfg, "srv", "dir", "/x", err, sizeof(err)),
                     -EINVAL);
    ck_assert_str_eq(err, "unknown section [srv]");
    config_free(cfg);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc;

    tc = tcase_create("parse");
    tcase_add_test(tc, test_config_duration_good);
    tcase_add_test(tc, test_config_duration_bad);
    tcase_add_test(tc, test_config_size_good);
    tcase_add_test(tc, test_config_size_bad);
    tcase_add_test(tc, test_config_listen_good);
    tcase_add_test(tc, test_config_listen_bad);
    suite_add_tcase(s, tc);

    tc = tcase_create("load");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_config_defaults);
    tcase_add_test(tc, test_config_example_is_defaults);
    tcase_add_test(tc, test_config_every_key_documented);
    tcase_add_test(tc, test_config_errors_name_line_and_key);
    tcase_add_test(tc, test_config_errors_bytes_and_files);
    tcase_add_test(tc, test_config_inline_comments_and_layout);
    tcase_add_test(tc, test_config_listen_repeatable);
    tcase_add_test(tc, test_config_upstreams_from_file);
    tcase_add_test(tc, test_config_dump_roundtrip);
    tcase_add_test(tc, test_config_env_overrides);
    tcase_add_test(tc, test_config_env_every_key);
    suite_add_tcase(s, tc);

    tc = tcase_create("override");
    tcase_add_checked_fixture(tc, clear_symsrvd_env, NULL);
    tcase_add_test(tc, test_config_replace_listen);
    tcase_add_test(tc, test_config_replace_upstreams);
    tcase_add_test(tc, test_config_set);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
