/* SPDX-License-Identifier: MIT */
/*
 * Publishing a team's own builds (issue 11, item 7): PUT with a bearer
 * token, the identity read from the body checked against the key (422
 * naming what was found), max_upload_size (413), a PUT racing a GET of
 * the same key, and the drop directory.
 */
#include "symsrvd_config.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "ckrun.h"
#include "fileio.h"
#include "itest.h"
#include "xalloc.h"

#define TOKEN "s3cret-publish-token-0123456789"
#define PDB_KEY "/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb"
#define EXE_KEY "/crash.exe/5AB380779000/crash.exe"
#define SYM_KEY "/xul.pdb/09F9D7ECF31F60E34C4C44205044422E1/xul.sym"
#define ELF_ID "f1c3bcc0279865fe3058404b2831d9e64135386c"

static struct itest t;
static char *side; /* tokens file and drop directory */

/* The daemon with publishing on; files from GZIP_MIN bytes get gzip
 * copies. */
static void start_gzip(const char *gzip_min)
{
    char *conf, *tokens, *drop;
    FILE *f;

    if (side == NULL)
        side = testutil_tmpdir();
    tokens = xasprintf("%s/tokens", side);
    drop = xasprintf("%s/drop", side);
    ck_assert_int_eq(mkdir_p(drop, 0750), 0);
    f = fopen(tokens, "w");
    ck_assert_ptr_nonnull(f);
    fputs("# CI tokens\nother-token-that-is-not-it\n\n" TOKEN "\n", f);
    fclose(f);
    conf = xasprintf("[cache]\nnegative_ttl = 1h\ngzip_min_size = %s\n"
                     "[publish]\ntokens_file = %s\ndrop_dir = %s\n"
                     "max_upload_size = 2M\n"
                     "[upstream store]\nurl = @UP0@\nretries = 0\n"
                     "[upstream dbg]\nurl = @UP1@\nlayout = debuginfod\n"
                     "retries = 0\n",
                     gzip_min, tokens, drop);
    itest_start_conf(&t, 2, conf);
    free(conf);
    free(tokens);
    free(drop);
}

static void start(void)
{
    start_gzip("1G");
}

static void stop(void)
{
    itest_stop(&t);
    testutil_rmtree(side);
    free(side);
    side = NULL;
}

static char *fixture(const char *rel, size_t *len)
{
    return testutil_read_data(rel, len);
}

/* PUT BODY at PATH with the request headers HDRS (NULL-terminated). */
static long put_with(const char *path, const char *const *hdrs,
                     const char *body, size_t len, struct http_resp *r)
{
    char *url = itest_url(&t, path);
    struct http_opts o = {.body = body, .body_len = len};

    ck_assert_int_eq(http_request_opts("PUT", url, hdrs, &o, r), 0);
    free(url);
    return r->status;
}

/* PUT BODY at PATH with the Authorization header AUTH (NULL: none). */
static long put(const char *path, const char *auth, const char *body,
                size_t len, struct http_resp *r)
{
    return put_with(path, (const char *const[]){auth, NULL}, body, len, r);
}

static const char *const bearer = "Authorization: Bearer " TOKEN;

/* PUT BODY at PATH with the token, chunked: no Content-Length. */
static long put_chunked(const char *path, const char *body, size_t len,
                        struct http_resp *r)
{
    return put_with(path,
                    (const char *const[]){bearer,
                                          "Transfer-Encoding: chunked", NULL},
                    body, len, r);
}

static bool stored(const char *path)
{
    char *disk = xasprintf("%s%s", t.dir, path);
    bool there = access(disk, F_OK) == 0;

    free(disk);
    return there;
}

START_TEST(test_publish_pdb_then_served)
{
    size_t len;
    char *pdb = fixture("pdb/crash.pdb", &len), *listing;
    struct http_resp r;

    /* a remembered miss first: the upload replaces it */
    itest_get(&t, PDB_KEY, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    http_resp_free(&r);
    ck_assert_int_eq(put(PDB_KEY, bearer, pdb, len, &r), 201);
    http_resp_free(&r);
    itest_get_body(&t, PDB_KEY, pdb, len);
    ck_assert_uint_eq(stub_hits(t.up[0], PDB_KEY), 1); /* the miss only */
    itest_get(&t, "/symbols?q=crash", NULL, &r);
    listing = strstr(r.body, "@published");
    ck_assert_msg(listing != NULL, "listing: %s", r.body);
    http_resp_free(&r);
    free(pdb);
}
END_TEST

START_TEST(test_publish_breakpad_and_debuginfo)
{
    size_t len, dlen;
    char *sym = fixture("breakpad/xul.sym", &len);
    char *dbg = fixture("elf/crash.debug", &dlen);
    struct http_resp r;

    ck_assert_int_eq(put(SYM_KEY, bearer, sym, len, &r), 201);
    http_resp_free(&r);
    itest_get_body(&t, SYM_KEY, sym, len);
    ck_assert_int_eq(put("/buildid/" ELF_ID "/debuginfo", bearer, dbg, dlen,
                         &r),
                     201);
    http_resp_free(&r);
    itest_get_body(&t, "/buildid/" ELF_ID "/debuginfo", dbg, dlen);
    ck_assert_uint_eq(stub_total_hits(t.up[0]) + stub_total_hits(t.up[1]),
                      0);
    free(sym);
    free(dbg);
}
END_TEST

START_TEST(test_publish_needs_the_token)
{
    size_t len;
    char *pdb = fixture("pdb/crash.pdb", &len), *www;
    struct http_resp r;

    ck_assert_int_eq(put(PDB_KEY, NULL, pdb, len, &r), 401);
    www = http_header(&r, "WWW-Authenticate");
    ck_assert_ptr_nonnull(www);
    ck_assert_str_eq(www, "Bearer");
    free(www);
    http_resp_free(&r);
    ck_assert_int_eq(put(PDB_KEY, "Authorization: Bearer " TOKEN "x", pdb,
                         len, &r),
                     401);
    http_resp_free(&r);
    ck_assert_int_eq(put(PDB_KEY, "Authorization: Bearer other-token", pdb,
                         len, &r),
                     401);
    http_resp_free(&r);
    ck_assert_int_eq(put(PDB_KEY, "Authorization: Basic " TOKEN, pdb, len,
                         &r),
                     401);
    http_resp_free(&r);
    /* answered before the body, to a client that waits for 100 Continue
     * (and after reading it to one that does not, above) */
    ck_assert_int_eq(put_with(PDB_KEY,
                              (const char *const[]){"Expect: 100-continue",
                                                    NULL},
                              pdb, len, &r),
                     401);
    http_resp_free(&r);
    ck_assert(!stored(PDB_KEY));
    free(pdb);
}
END_TEST

START_TEST(test_publish_identity_must_match)
{
    size_t len;
    char *exe = fixture("pdb/crash.exe", &len);
    const char *other = "/crash.pdb/3249D99D0C4049318610F4E4FB0B69362/crash.pdb";
    struct http_resp r;

    /* a PE at a PDB's key: refused, saying what it is (a PE file names
     * itself no more than a PDB does: the name is the key's) */
    ck_assert_int_eq(put(PDB_KEY, bearer, exe, len, &r), 422);
    ck_assert_msg(strstr(r.body, "a pe, stored as "
                                 "/crash.pdb/5AB380779000/crash.pdb") != NULL,
                  "%s", r.body);
    http_resp_free(&r);
    ck_assert(!stored(PDB_KEY));
    ck_assert(!stored(other));
    /* not a symbol file at all */
    ck_assert_int_eq(put(EXE_KEY, bearer, "hello", 5, &r), 422);
    ck_assert_msg(strstr(r.body, "no symbol file identity") != NULL, "%s",
                  r.body);
    http_resp_free(&r);
    ck_assert_int_eq(put(EXE_KEY, bearer, exe, len, &r), 201);
    http_resp_free(&r);
    ck_assert(stored(EXE_KEY));
    ck_assert_uint_eq(itest_count_files(t.dir, true), 1);
    free(exe);
}
END_TEST

START_TEST(test_publish_too_large)
{
    size_t len = 3 * 1024 * 1024;
    char *big = xcalloc(1, len), *tmp;
    struct http_resp r;

    ck_assert_int_eq(put(PDB_KEY, bearer, big, len, &r), 413);
    http_resp_free(&r);
    /* without a Content-Length it is cut while it streams */
    ck_assert_int_eq(put_chunked(PDB_KEY, big, len, &r), 413);
    http_resp_free(&r);
    ck_assert_uint_eq(itest_count_files(t.dir, true), 0);
    /* no upload left once the requests completed (just after answering) */
    tmp = xasprintf("%s/.Symsrvd/tmp", t.dir);
    for (int i = 0; i < 100 && itest_count_files(tmp, false) > 0; i++)
        usleep(20000);
    ck_assert_uint_eq(itest_count_files(tmp, false), 0);
    free(tmp);
    free(big);
}
END_TEST

/* A source file is no artifact a build publishes. */
START_TEST(test_publish_bad_keys)
{
    struct http_resp r;

    ck_assert_int_eq(put("/buildid/" ELF_ID "/source/a.c", bearer, "x", 1,
                         &r),
                     400);
    http_resp_free(&r);
    ck_assert_int_eq(put("/a/b", bearer, "x", 1, &r), 404);
    http_resp_free(&r);
}
END_TEST

struct getter {
    struct http_resp r;
};

static void *get_thread(void *arg)
{
    struct getter *g = arg;

    itest_get(&t, PDB_KEY, NULL, &g->r);
    return NULL;
}

/* A GET streams the key from a slow upstream while it is published: the
 * GET gets the whole file, the PUT waits for the download and then
 * replaces it, and later GETs are hits on the published file. */
START_TEST(test_publish_while_downloading)
{
    size_t len;
    char *pdb = fixture("pdb/crash.pdb", &len), *listing;
    struct getter g;
    struct http_resp r;
    pthread_t th;

    stub_add(t.up[0], PDB_KEY, pdb, len);
    stub_fault(t.up[0], PDB_KEY, STUB_SLOW, len);
    ck_assert_int_eq(pthread_create(&th, NULL, get_thread, &g), 0);
    ck_assert(stub_wait_hits(t.up[0], PDB_KEY, 1, 10000));
    ck_assert_int_eq(put(PDB_KEY, bearer, pdb, len, &r), 201);
    http_resp_free(&r);
    pthread_join(th, NULL);
    ck_assert_int_eq(g.r.status, 200);
    ck_assert_int_eq(g.r.curl_rc, 0);
    ck_assert_uint_eq(g.r.len, len);
    ck_assert(memcmp(g.r.body, pdb, len) == 0);
    http_resp_free(&g.r);
    itest_get_body(&t, PDB_KEY, pdb, len);
    ck_assert_uint_eq(stub_hits(t.up[0], PDB_KEY), 1);
    itest_get(&t, "/symbols?q=crash", NULL, &r);
    listing = strstr(r.body, "@published");
    ck_assert_msg(listing != NULL, "listing: %s", r.body);
    http_resp_free(&r);
    ck_assert_uint_eq(itest_count_files(t.dir, true), 1);
    free(pdb);
}
END_TEST

static void drop(const char *rel, const char *name)
{
    size_t len;
    char *body = fixture(rel, &len), *tmp, *to;
    FILE *f;

    /* written under a dot name, then renamed: never taken half-written */
    tmp = xasprintf("%s/drop/.%s", side, name);
    to = xasprintf("%s/drop/%s", side, name);
    f = fopen(tmp, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(body, 1, len, f), len);
    fclose(f);
    ck_assert_int_eq(rename(tmp, to), 0);
    free(tmp);
    free(to);
    free(body);
}

static bool wait_stored(const char *path, unsigned ms)
{
    for (unsigned i = 0; i < ms / 50; i++) {
        if (stored(path))
            return true;
        usleep(50000);
    }
    return stored(path);
}

START_TEST(test_publish_drop_dir)
{
    size_t len, dlen;
    char *pdb = fixture("pdb/crash.pdb", &len), *rejected;
    char *dbg = fixture("elf/crash.debug", &dlen);
    char *notes = xasprintf("%s/drop/notes.txt", side);
    FILE *f;

    drop("pdb/crash.pdb", "crash.pdb");
    drop("elf/crash.debug", "whatever-name");
    f = fopen(notes, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not a symbol file\n", f);
    fclose(f);
    free(notes);
    ck_assert(wait_stored(PDB_KEY, 10000));
    itest_get_body(&t, PDB_KEY, pdb, len);
    ck_assert(wait_stored("/buildid/" ELF_ID "/debuginfo", 10000));
    /* and under its other key, which the store keeps in upper case */
    itest_get_body(&t, "/buildid/" ELF_ID "/debuginfo", dbg, dlen);
    itest_get_body(&t, "/_.debug/elf-buildid-sym-" ELF_ID "/_.debug", dbg,
                   dlen);
    rejected = xasprintf("%s/drop/.rejected/notes.txt", side);
    for (int i = 0; i < 100 && access(rejected, F_OK) != 0; i++)
        usleep(50000);
    ck_assert_int_eq(access(rejected, F_OK), 0);
    ck_assert_uint_eq(itest_count_files(side, false), 2); /* tokens, notes */
    ck_assert_uint_eq(stub_total_hits(t.up[0]) + stub_total_hits(t.up[1]),
                      0);
    free(rejected);
    free(dbg);
    free(pdb);
}
END_TEST

/* A Breakpad file of LEN bytes for xul.pdb's key, its FUNC lines made
 * from SEED: two seeds, two files with one identity. */
static char *xul_sym(size_t len, unsigned seed)
{
    char *s = xmalloc(len + 1);
    int n = snprintf(s, len + 1,
                     "MODULE windows x86_64 09F9D7ECF31F60E34C4C44205044422E1"
                     " xul.pdb\n");

    while ((size_t)n + 40 < len)
        n += snprintf(s + n, len + 1 - (size_t)n, "FUNC %x 10 0 f%u_%d\n",
                      0x1000 + 16 * n, seed, n);
    memset(s + n, '\n', len - (size_t)n);
    return s;
}

/* Publishing over a downloaded file drops the gzip copy and the symbol
 * table made from it (a table on disk is not checked against its file),
 * and gzip'd answers are the published bytes. */
START_TEST(test_publish_replaces_gzip_copy)
{
    size_t len = 20000;
    char *v1 = xul_sym(len, 1), *v2 = xul_sym(len, 2), *plain = NULL;
    const char *gz[] = {"Accept-Encoding: gzip", NULL};
    struct http_resp r;
    size_t plen = 0;
    char *copy, *table;
    FILE *f;

    itest_stop(&t);
    start_gzip("1K");
    copy = xasprintf("%s/xul.pdb/09F9D7ECF31F60E34C4C44205044422E1/"
                     "xul.sym.GZIP",
                     t.dir);
    table = xasprintf("%s/xul.pdb/09F9D7ECF31F60E34C4C44205044422E1/"
                      "xul.sym.SYMTABLE",
                      t.dir);
    stub_add(t.up[0], SYM_KEY, v1, len);
    itest_get_body(&t, SYM_KEY, v1, len);
    itest_get(&t, SYM_KEY, gz, &r); /* asks for the copy */
    http_resp_free(&r);
    for (int i = 0; i < 200 && access(copy, F_OK) != 0; i++)
        usleep(25000);
    ck_assert_int_eq(access(copy, F_OK), 0);
    f = fopen(table, "w"); /* stands for the table of v1 */
    ck_assert_ptr_nonnull(f);
    fclose(f);
    ck_assert_int_eq(put(SYM_KEY, bearer, v2, len, &r), 201);
    http_resp_free(&r);
    ck_assert_int_ne(access(copy, F_OK), 0);
    ck_assert_int_ne(access(table, F_OK), 0);
    itest_get(&t, SYM_KEY, gz, &r);
    ck_assert_int_eq(r.status, 200);
    if (strstr(r.headers, "Content-Encoding: gzip") != NULL) {
        ck_assert_int_eq(testutil_gunzip(r.body, r.len, &plain, &plen), 0);
        ck_assert_uint_eq(plen, len);
        ck_assert(memcmp(plain, v2, len) == 0);
        free(plain);
    } else {
        ck_assert_uint_eq(r.len, len);
        ck_assert(memcmp(r.body, v2, len) == 0);
    }
    http_resp_free(&r);
    itest_get_body(&t, SYM_KEY, v2, len);
    free(copy);
    free(table);
    free(v1);
    free(v2);
}
END_TEST

/* An upload whose writer died is removed when the cache is reconciled;
 * one still being written (its lock held) is not. */
START_TEST(test_publish_dead_upload_removed)
{
    char *dead = xasprintf("%s/.Symsrvd/tmp/upload-dead01", t.dir);
    char *live = xasprintf("%s/.Symsrvd/tmp/upload-live01", t.dir);
    int dfd = open(dead, O_WRONLY | O_CREAT, 0640);
    int lfd = open(live, O_WRONLY | O_CREAT, 0640);

    ck_assert_int_ge(dfd, 0);
    ck_assert_int_ge(lfd, 0);
    close(dfd);
    ck_assert_int_eq(flock(lfd, LOCK_EX), 0);
    itest_restart(&t); /* the new janitor reconciles */
    for (int i = 0; i < 200 && access(dead, F_OK) == 0; i++)
        usleep(25000);
    ck_assert_int_ne(access(dead, F_OK), 0);
    ck_assert_int_eq(access(live, F_OK), 0);
    close(lfd);
    free(dead);
    free(live);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_publish");
    TCase *tc = tcase_create("publish");

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, start, stop);
    tcase_add_test(tc, test_publish_pdb_then_served);
    tcase_add_test(tc, test_publish_breakpad_and_debuginfo);
    tcase_add_test(tc, test_publish_needs_the_token);
    tcase_add_test(tc, test_publish_identity_must_match);
    tcase_add_test(tc, test_publish_too_large);
    tcase_add_test(tc, test_publish_bad_keys);
    tcase_add_test(tc, test_publish_while_downloading);
    tcase_add_test(tc, test_publish_drop_dir);
    tcase_add_test(tc, test_publish_dead_upload_removed);
    tcase_add_test(tc, test_publish_replaces_gzip_copy);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
