/* SPDX-License-Identifier: MIT */
/*
 * Interoperability with Windows' SymSrv, replayed (issue 11, item 8, the
 * Windows half; there is no real SymSrv client on Linux).  Real PE and
 * PDB files are built here with clang-14 --target=x86_64-pc-windows-msvc
 * and lld-link-14 (no SDK: -nostdlib, /entry, /Brepro), put in a symbol
 * store on a stub upstream the way symstore.exe lays them out, one-tier
 * (layout = symstore) and two-tier (layout = symstore_index2, with its
 * index2.txt), plain and CAB-compressed (gcab, MSZIP: only name.pd_ in
 * the store), and symsrvd is asked exactly what symsrv.dll asks, with its
 * headers: index2.txt once, then for each file name.pdb, and on a 404
 * name.pd_ and file.ptr.  Every answer's status and every byte is
 * checked, and a second round must not reach the upstream.
 *
 * Without clang-14 or lld-link-14 the test is skipped (77); without gcab
 * the CAB cases are left out.
 */
#include "symsrvd_config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckrun.h"
#include "fileio.h"
#include "itest.h"
#include "needtool.h"
#include "xalloc.h"

/* What symsrv.dll sends (blog.insanegenius.com's capture, with the UA of
 * a current dbghelp). */
static const char *const symsrv_headers[] = {
    "User-Agent: Microsoft-Symbol-Server/10.0.0.0", "Accept-Encoding: gzip",
    "Cache-Control: no-cache", NULL};

static const char tiny_c[] =
    "static int square(int x) { return x * x; }\n"
    "int add_squares(int a, int b) { return square(a) + square(b); }\n"
    "int mainCRTStartup(void) { return add_squares(2, 3); }\n";
static const char lib_c[] =
    "__declspec(dllexport) int triple(int x) { return 3 * x; }\n";

#define NFILES 4
static const char *const names[NFILES] = {"tiny.exe", "tiny.pdb",
                                          "tinylib.dll", "tinylib.pdb"};

static struct fixture {
    char *dir;            /* where they were built */
    char *key[NFILES];    /* "name/ID/name", as symsrvd-key prints it */
    char *body[NFILES];   /* the file */
    size_t len[NFILES];
    char *cab[NFILES];    /* its gcab'd twin, or NULL without gcab */
    size_t cablen[NFILES];
} fx;

static struct itest t;

static void sh(const char *cmd)
{
    ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char *path = xasprintf("%s/%s", dir, name), *buf = NULL;

    ck_assert_msg(read_small_file(path, 64 << 20, &buf, len) == 0, "%s", path);
    free(path);
    return buf;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    free(path);
}

/* The store path symsrvd-key prints for FILE in DIR. */
static char *key_of(const char *dir, const char *file)
{
    const char *top = getenv("abs_top_builddir");
    char *cmd = xasprintf("'%s/tools/symsrvd-key' --no-filename '%s/%s'",
                          top ? top : "..", dir, file);
    FILE *p = popen(cmd, "r");
    char line[512];

    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
    ck_assert_int_eq(pclose(p), 0);
    line[strcspn(line, "\n")] = '\0';
    free(cmd);
    return xstrdup(line);
}

static bool have_gcab;

/* Build the exe, the dll and their PDBs, their keys and CABs (once, in
 * the runner's process: an unchecked fixture). */
static void build_fixtures(void)
{
    bool cabs = have_gcab;
    char *cmd;

    fx.dir = testutil_tmpdir();
    write_file(fx.dir, "tiny.c", tiny_c);
    write_file(fx.dir, "lib.c", lib_c);
    cmd = xasprintf(
        "cd '%s' && for f in tiny lib; do clang-14 "
        "--target=x86_64-pc-windows-msvc -c -g -gcodeview -O0 -nostdlib "
        "-ffreestanding -fno-stack-protector -fdebug-compilation-dir=. "
        "-o $f.obj $f.c || exit 1; done && "
        "lld-link-14 /nologo /debug /Brepro /pdbaltpath:%%_PDB%% "
        "/nodefaultlib /entry:mainCRTStartup /subsystem:console "
        "/out:tiny.exe /pdb:tiny.pdb tiny.obj && "
        "lld-link-14 /nologo /debug /Brepro /pdbaltpath:%%_PDB%% "
        "/nodefaultlib /dll /noentry /out:tinylib.dll /pdb:tinylib.pdb "
        "lib.obj",
        fx.dir);
    sh(cmd);
    free(cmd);
    for (size_t i = 0; i < NFILES; i++) {
        fx.key[i] = key_of(fx.dir, names[i]);
        fx.body[i] = slurp(fx.dir, names[i], &fx.len[i]);
        if (!cabs)
            continue;
        cmd = xasprintf("cd '%s' && gcab -c -z -n '%s.cab' '%s'", fx.dir,
                        names[i], names[i]);
        sh(cmd);
        free(cmd);
        cmd = xasprintf("%s.cab", names[i]);
        fx.cab[i] = slurp(fx.dir, cmd, &fx.cablen[i]);
        free(cmd);
    }
}

static void free_fixtures(void)
{
    for (size_t i = 0; i < NFILES; i++) {
        free(fx.key[i]);
        free(fx.body[i]);
        free(fx.cab[i]);
    }
    testutil_rmtree(fx.dir);
    free(fx.dir);
}

/* Where symstore.exe puts KEY under /symbols: one-tier
 * "/symbols/name/ID/name", two-tier "/symbols/na/name/ID/name";
 * compressed, the last character '_'. */
static char *store_path(const char *key, bool two_tier, bool cab)
{
    char *p = two_tier ? xasprintf("/symbols/%.2s/%s", key, key)
                       : xasprintf("/symbols/%s", key);

    if (cab)
        p[strlen(p) - 1] = '_';
    return p;
}

static void expect_status(const char *path, long status)
{
    itest_expect_status(&t, path, symsrv_headers, status);
}

/* GET /KEY as symsrv does: 200 and file I's bytes, decoded when the
 * answer is gzip-encoded (symsrv asked for it). */
static void expect_file(size_t i)
{
    char *path = xasprintf("/%s", fx.key[i]), *plain = NULL;
    struct http_resp r;
    size_t len;

    itest_get(&t, path, symsrv_headers, &r);
    ck_assert_msg(r.status == 200, "%s: %ld", path, r.status);
    if (strcasestr(r.headers, "\nContent-Encoding: gzip") != NULL) {
        ck_assert_int_eq(testutil_gunzip(r.body, r.len, &plain, &len), 0);
    } else {
        plain = xmalloc(r.len + 1);
        memcpy(plain, r.body, r.len);
        len = r.len;
    }
    ck_assert_msg(len == fx.len[i] && memcmp(plain, fx.body[i], len) == 0,
                  "%s: %zu bytes differ from the %zu of %s", path, len,
                  fx.len[i], names[i]);
    free(plain);
    http_resp_free(&r);
    free(path);
}

static void run_store(bool two_tier, bool cab)
{
    static const char missing[] =
        "/nothere.pdb/0123456789ABCDEF0123456789ABCDEF1/nothere";
    char *conf = xasprintf("[upstream store]\nurl = @UP0@/symbols\n"
                           "layout = %s\nretries = 0\n",
                           two_tier ? "symstore_index2" : "symstore");
    char *path;
    unsigned hits;

    itest_start_conf(&t, 1, conf);
    if (two_tier)
        stub_add(t.up[0], "/symbols/index2.txt", "", 0);
    for (size_t i = 0; i < NFILES; i++) {
        path = store_path(fx.key[i], two_tier, cab);
        if (cab)
            stub_add(t.up[0], path, fx.cab[i], fx.cablen[i]);
        else
            stub_add(t.up[0], path, fx.body[i], fx.len[i]);
        free(path);
    }
    /* symsrv: once per store (with a doubled slash when the store's URL
     * ends in '/'), then each file in turn */
    expect_status("/index2.txt", 404);
    expect_status("//index2.txt", 404);
    for (size_t i = 0; i < NFILES; i++)
        expect_file(i);
    /* a file no store has: name.pdb, then name.pd_, then file.ptr, each a
     * plain 404 so that symsrv goes on; only the first asks upstream */
    hits = stub_total_hits(t.up[0]);
    path = xasprintf("%s.pdb", missing);
    expect_status(path, 404);
    free(path);
    ck_assert_uint_eq(stub_total_hits(t.up[0]), hits + 2); /* .pdb, .pd_ */
    path = xasprintf("%s.pd_", missing);
    expect_status(path, 404);
    free(path);
    path = xasprintf("%.*s/file.ptr", (int)(strrchr(missing, '/') - missing),
                     missing);
    expect_status(path, 404);
    free(path);
    /* the twin and pointer probes of a file it has are no round trip */
    path = xasprintf("/%s", fx.key[1]);
    path[strlen(path) - 1] = '_';
    expect_status(path, 404);
    free(path);
    ck_assert_uint_eq(stub_total_hits(t.up[0]), hits + 2);
    ck_assert_uint_eq(stub_hits(t.up[0], "/symbols/index2.txt"), 0);
    /* the second debugger on the LAN is served from the cache */
    for (size_t i = 0; i < NFILES; i++)
        expect_file(i);
    ck_assert_uint_eq(stub_total_hits(t.up[0]), hits + 2);
    itest_stop(&t);
    free(conf);
}

START_TEST(test_one_tier_plain)
{
    run_store(false, false);
}
END_TEST

START_TEST(test_two_tier_plain)
{
    run_store(true, false);
}
END_TEST

START_TEST(test_one_tier_cab)
{
    run_store(false, true);
}
END_TEST

START_TEST(test_two_tier_cab)
{
    run_store(true, true);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("symsrv_interop");
    TCase *tc = tcase_create("stores");

    if (!needtool("check_symsrv_interop", "clang-14", "lld-link-14", NULL))
        return 77;
    /* without gcab the CAB cases are left out (needtool() said so) */
    have_gcab = needtool("check_symsrv_interop", "gcab", NULL);
    tcase_add_unchecked_fixture(tc, build_fixtures, free_fixtures);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_one_tier_plain);
    tcase_add_test(tc, test_two_tier_plain);
    if (have_gcab) {
        tcase_add_test(tc, test_one_tier_cab);
        tcase_add_test(tc, test_two_tier_cab);
    }
    suite_add_tcase(s, tc);
    return ckrun(s);
}
