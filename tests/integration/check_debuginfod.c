/* SPDX-License-Identifier: MIT */
/*
 * The debuginfod API end to end: /buildid/<hex>/... served from a stub
 * upstream configured with "layout = debuginfod", then the real Linux
 * clients (debuginfod-find, gdb, llvm-symbolizer-14) fetching a split-off
 * debug file through the daemon with DEBUGINFOD_URLS pointing at it.
 */
#include "symsrvd_config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckrun.h"
#include "fileio.h"
#include "itest.h"
#include "needtool.h"
#include "xalloc.h"

#define ID "3dcf4233fa9a5664c8c24f014d1d3725dd25d617"
#define ID_UPPER "3DCF4233FA9A5664C8C24F014D1D3725DD25D617"
#define DEBUGINFO "/buildid/" ID "/debuginfo"

static struct itest t;

static void stop(void)
{
    itest_stop(&t);
}

/* A symbol store first, a debuginfod server second. */
static const char *const both_conf =
    "[upstream store]\nurl = @UP0@\nretries = 0\n"
    "[upstream dbg]\nurl = @UP1@\nlayout = debuginfod\nretries = 0\n";

static void start_both(void)
{
    itest_start_conf(&t, 2, both_conf);
}

/* GET PATH: status STATUS, and the value of header NAME when not NULL
 * (new string, or NULL when absent). */
static char *get(const char *path, long status, const char *name)
{
    struct http_resp r;
    char *v = NULL;

    itest_get(&t, path, NULL, &r);
    ck_assert_msg(r.status == status, "%s: %ld %s", path, r.status,
                  r.body ? r.body : "");
    if (name != NULL)
        v = http_header(&r, name);
    http_resp_free(&r);
    return v;
}

static void expect_header(const char *path, const char *name,
                          const char *want)
{
    char *v = get(path, 200, name);

    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v, want);
    free(v);
}

START_TEST(test_debuginfod_serves_and_caches_build_ids)
{
    char *body = itest_body(3000, true, 1), *url = itest_url(&t, DEBUGINFO);
    struct http_resp r;

    stub_add(t.up[1], DEBUGINFO, body, 3000);
    /* Upper case is normalised: the same key, fetched once. */
    itest_get(&t, "/buildid/" ID_UPPER "/debuginfo", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, 3000);
    ck_assert_mem_eq(r.body, body, 3000);
    http_resp_free(&r);
    expect_header(DEBUGINFO, "X-DEBUGINFOD-SIZE", "3000");
    expect_header(DEBUGINFO, "X-DEBUGINFOD-FILE", "debuginfo");
    ck_assert_uint_eq(stub_hits(t.up[1], DEBUGINFO), 1);
    /* Never asked of the symbol store. */
    ck_assert_uint_eq(stub_total_hits(t.up[0]), 0);
    /* HEAD: the headers without a body. */
    ck_assert_int_eq(http_head(url, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, 0);
    {
        char *v = http_header(&r, "X-DEBUGINFOD-SIZE");

        ck_assert_str_eq(v, "3000");
        free(v);
    }
    http_resp_free(&r);
    /* Counted like any key: one miss, then hits (GET, GET, HEAD). */
    ck_assert(itest_metric_at_least(&t, "symsrvd_http_responses_total",
                                    "result=\"miss\"", 1,
                                    5000));
    ck_assert(itest_metric_at_least(&t, "symsrvd_http_responses_total",
                                    "result=\"hit\"", 3,
                                    5000));
    free(url);
    free(body);
}
END_TEST

START_TEST(test_debuginfod_source_paths_are_canonical)
{
    char reply[4096], last[512];
    int st;

    stub_add(t.up[1], "/buildid/" ID "/source/usr/src/a%20b.c", "int x;\n", 7);
    /* Sent as written, "..", "." and "//" included (libcurl would fold
     * them): the upstream is asked for the canonical path. */
    st = http_raw(daemon_port(t.d),
                  "GET /buildid/" ID "/source/usr/x/..//src/./a%20b.c "
                  "HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                  reply, sizeof(reply));
    ck_assert_int_eq(st, 200);
    ck_assert_ptr_nonnull(strstr(reply, "X-DEBUGINFOD-FILE: a b.c"));
    ck_assert_ptr_nonnull(strstr(reply, "int x;"));
    stub_last_path(t.up[1], last, sizeof(last));
    ck_assert_str_eq(last, "/buildid/" ID "/source/usr/src/a%20b.c");
    /* The same file under another spelling is a hit. */
    get("/buildid/" ID "/source/usr/src/a%20b.c", 200, NULL);
    ck_assert_uint_eq(stub_total_hits(t.up[1]), 1);
    /* Above the root folds to the root: nothing outside the cache. */
    st = http_raw(daemon_port(t.d),
                  "GET /buildid/" ID "/source/../../../etc/passwd "
                  "HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                  reply, sizeof(reply));
    ck_assert_int_eq(st, 404);
    stub_last_path(t.up[1], last, sizeof(last));
    ck_assert_str_eq(last, "/buildid/" ID "/source/etc/passwd");
}
END_TEST

START_TEST(test_debuginfod_sections_and_misses)
{
    stub_add(t.up[1], "/buildid/" ID "/section/.gdb_index", "idx", 3);
    expect_header("/buildid/" ID "/section/.gdb_index", "X-DEBUGINFOD-FILE",
                  ".gdb_index");
    /* A miss is remembered: the second one is not sent upstream. */
    free(get("/buildid/abcd/executable", 404, NULL));
    free(get("/buildid/ABCD/executable", 404, NULL));
    ck_assert_uint_eq(stub_hits(t.up[1], "/buildid/abcd/executable"), 1);
    /* Malformed: a reason, and no upstream asked. */
    free(get("/buildid/abc/debuginfo", 400, NULL));
    free(get("/buildid/xy/debuginfo", 400, NULL));
    free(get("/buildid/" ID "/symbols", 400, NULL));
    free(get("/buildid/" ID "/debuginfo/x", 400, NULL));
    free(get("/buildid/" ID "/source", 400, NULL));
    free(get("/download/symbols/buildid/" ID_UPPER "/debuginfo", 400, NULL));
    ck_assert_uint_eq(stub_total_hits(t.up[1]), 2);
    /* A symbol-store key is never sent to the debuginfod server. */
    free(get("/foo.pdb/ABC1/foo.pdb", 404, NULL));
    ck_assert_uint_eq(stub_hits(t.up[0], "/foo.pdb/ABC1/foo.pdb"), 1);
    ck_assert_uint_eq(stub_total_hits(t.up[1]), 2);
}
END_TEST

START_TEST(test_debuginfod_coalesces_and_streams)
{
    struct http_resp r[8];
    uint64_t len = 1 << 20;
    char *url = itest_url(&t, DEBUGINFO);
    size_t i;

    stub_add_generated(t.up[1], DEBUGINFO, len, 3);
    stub_fault(t.up[1], DEBUGINFO, STUB_SLOW, 2 << 20); /* 0.5 s */
    ck_assert_uint_eq(http_get_many(url, NULL, 8, r), 0);
    for (i = 0; i < 8; i++) {
        ck_assert_int_eq(r[i].status, 200);
        ck_assert(r[i].len == len &&
                  stub_generated_equal(3, 0, r[i].body, r[i].len));
        /* Before the whole body was there: streamed. */
        ck_assert_double_lt(r[i].first_body_s, 0.4);
        http_resp_free(&r[i]);
    }
    ck_assert_uint_eq(stub_hits(t.up[1], DEBUGINFO), 1);
    ck_assert(itest_metric_at_least(&t, "symsrvd_http_responses_total",
                                    "result=\"coalesced\"", 6,
                                    5000));
    free(url);
}
END_TEST

START_TEST(test_debuginfod_without_debuginfod_upstream)
{
    itest_start_conf(&t, 1, "[upstream store]\nurl = @UP0@\n");
    free(get(DEBUGINFO, 404, NULL));
    ck_assert_uint_eq(stub_total_hits(t.up[0]), 0);
}
END_TEST

/* --- real clients --------------------------------------------------------- */

static const char hello_c[] = "static int square(int x)\n"
                              "{\n"
                              "    return x * x;\n"
                              "}\n"
                              "\n"
                              "int main(void)\n"
                              "{\n"
                              "    return square(2) - 4;\n"
                              "}\n";

/* The program, its debug file and what the stub serves for them. */
struct prog {
    char *dir;
    char id[80];
    char square[32]; /* square's address, "0x..." */
};

static struct prog prog;

/* Run CMD with sh; its standard output and error (new string). */
static char *run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    char *out = NULL;
    size_t len = 0, cap = 0, n;
    char buf[4096];

    ck_assert_ptr_nonnull(p);
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            out = xrealloc(out, cap);
        }
        memcpy(out + len, buf, n);
        len += n;
    }
    pclose(p);
    if (out == NULL)
        out = xstrdup("");
    else
        out[len] = '\0';
    return out;
}

/* Build hello with a build id, split its debug info off, strip it. */
static void build_prog(void)
{
    char *path, *cmd, *out, *at;
    FILE *f;

    prog.dir = testutil_tmpdir();
    path = xasprintf("%s/hello.c", prog.dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(hello_c, f);
    fclose(f);
    free(path);
    cmd = xasprintf("cd '%s' && gcc -g -O0 -Wl,--build-id=sha1 -o hello.full "
                    "hello.c && objcopy --only-keep-debug hello.full "
                    "hello.debug && strip -g -o hello hello.full 2>&1",
                    prog.dir);
    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
    cmd = xasprintf("readelf -n '%s/hello'", prog.dir);
    out = run(cmd);
    at = strstr(out, "Build ID: ");
    ck_assert_ptr_nonnull(at);
    ck_assert_int_eq(sscanf(at + 10, "%79[0-9a-f]", prog.id), 1);
    free(out);
    free(cmd);
    cmd = xasprintf("nm '%s/hello.full'", prog.dir);
    out = run(cmd);
    at = strstr(out, " t square");
    ck_assert_ptr_nonnull(at);
    while (at > out && at[-1] != '\n')
        at--;
    ck_assert_int_eq(sscanf(at, "%16[0-9a-f]", prog.square + 2), 1);
    memcpy(prog.square, "0x", 2);
    free(out);
    free(cmd);
}

static void serve_prog(const char *artifact, const char *file)
{
    char *path = xasprintf("/buildid/%s/%s", prog.id, artifact);
    char *src = xasprintf("%s/%s", prog.dir, file);

    stub_add_file(t.up[1], path, src);
    free(src);
    free(path);
}

static unsigned debuginfo_hits(void)
{
    char *path = xasprintf("/buildid/%s/debuginfo", prog.id);
    unsigned n = stub_hits(t.up[1], path);

    free(path);
    return n;
}

static void start_prog(void)
{
    char *src;

    build_prog();
    start_both();
    serve_prog("debuginfo", "hello.debug");
    serve_prog("executable", "hello");
    src = xasprintf("source%s/hello.c", prog.dir);
    serve_prog(src, "hello.c");
    free(src);
}

static void stop_prog(void)
{
    stop();
    testutil_rmtree(prog.dir);
    free(prog.dir);
    memset(&prog, 0, sizeof(prog));
}

/* CMD run by sh with the client's environment: DEBUGINFOD_URLS at the
 * daemon and a new client cache (CACHE, under the program's directory),
 * so every client run goes to the daemon.  Its output (new string). */
static char *client(const char *cache, const char *cmd)
{
    char *full = xasprintf("cd '%s' && rm -rf '%s' && unset DEBUGINFOD_PROGRESS "
                           "&& DEBUGINFOD_URLS='%s' "
                           "DEBUGINFOD_CACHE_PATH='%s/%s' %s 2>&1",
                           prog.dir, cache, daemon_url(t.d), prog.dir, cache,
                           cmd);
    char *out = run(full);

    free(full);
    return out;
}

START_TEST(test_debuginfod_find)
{
    char *cmd, *out, *want;

    cmd = xasprintf("debuginfod-find debuginfo %s", prog.id);
    out = client("dc1", cmd);
    want = xasprintf("%s/dc1/%s/debuginfo\n", prog.dir, prog.id);
    ck_assert_str_eq(out, want);
    free(out);
    free(want);
    free(cmd);
    cmd = xasprintf("cmp '%s/dc1/%s/debuginfo' '%s/hello.debug' && echo same",
                    prog.dir, prog.id, prog.dir);
    out = run(cmd);
    ck_assert_str_eq(out, "same\n");
    free(out);
    free(cmd);
    cmd = xasprintf("debuginfod-find debuginfo %s", prog.id);
    /* A second client (its own cache empty) is served from ours. */
    free(client("dc2", cmd));
    ck_assert_uint_eq(debuginfo_hits(), 1);
    free(cmd);
    cmd = xasprintf("debuginfod-find source %s %s/hello.c && cat "
                    "dc3/%s/source*hello.c",
                    prog.id, prog.dir, prog.id);
    out = client("dc3", cmd);
    ck_assert_msg(strstr(out, "return square(2) - 4;") != NULL, "%s", out);
    free(out);
    free(cmd);
}
END_TEST

START_TEST(test_debuginfod_gdb)
{
    char *out;

    out = client("gdb", "gdb -q -batch -nx -iex 'set debuginfod enabled on' "
                        "-ex 'break square' -ex run -ex bt ./hello");
    ck_assert_msg(strstr(out, "#0  square (x=2) at hello.c:3") != NULL, "%s",
                  out);
    ck_assert_msg(strstr(out, "in main () at hello.c:8") != NULL, "%s", out);
    free(out);
    out = client("gdb2", "gdb -q -batch -nx -iex 'set debuginfod enabled on' "
                         "-ex 'info line square' ./hello");
    ck_assert_msg(strstr(out, "Line 2 of \"hello.c\"") != NULL, "%s", out);
    free(out);
    ck_assert_uint_eq(debuginfo_hits(), 1);
}
END_TEST

START_TEST(test_debuginfod_llvm_symbolizer)
{
    char *cmd, *out, *want;

    /* Without the debug file it would answer "square\n??:0:0". */
    cmd = xasprintf("llvm-symbolizer-14 --obj=./hello %s", prog.square);
    out = client("llvm", cmd);
    want = xasprintf("square\n%s/hello.c:2:1\n\n", prog.dir);
    ck_assert_str_eq(out, want);
    free(out);
    free(want);
    free(client("llvm2", cmd));
    ck_assert_uint_eq(debuginfo_hits(), 1);
    free(cmd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("debuginfod");
    TCase *tc = tcase_create("api");
    TCase *real = tcase_create("clients");

    tcase_add_checked_fixture(tc, start_both, stop);
    tcase_add_test(tc, test_debuginfod_serves_and_caches_build_ids);
    tcase_add_test(tc, test_debuginfod_source_paths_are_canonical);
    tcase_add_test(tc, test_debuginfod_sections_and_misses);
    tcase_add_test(tc, test_debuginfod_coalesces_and_streams);
    suite_add_tcase(s, tc);
    tc = tcase_create("none");
    tcase_add_checked_fixture(tc, NULL, stop);
    tcase_add_test(tc, test_debuginfod_without_debuginfod_upstream);
    suite_add_tcase(s, tc);
    /* The clients need a program to fetch the debug file of. */
    if (needtool("check_debuginfod", "gcc", "objcopy", "strip", "readelf",
                 "nm", NULL)) {
        tcase_set_timeout(real, 120);
        tcase_add_checked_fixture(real, start_prog, stop_prog);
        if (needtool("check_debuginfod", "debuginfod-find", NULL))
            tcase_add_test(real, test_debuginfod_find);
        if (needtool("check_debuginfod", "gdb", NULL))
            tcase_add_test(real, test_debuginfod_gdb);
        if (needtool("check_debuginfod", "llvm-symbolizer-14", NULL))
            tcase_add_test(real, test_debuginfod_llvm_symbolizer);
        suite_add_tcase(s, real);
    }
    return ckrun(s);
}
