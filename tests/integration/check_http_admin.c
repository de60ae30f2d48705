/* SPDX-License-Identifier: MIT */
/*
 * Admin actions in the real daemon: DELETE of a key path drops its
 * remembered miss (the next GET goes upstream at once, well inside
 * negative_ttl) and its cached file with the gzip copy (the next GET
 * fetches it again); DELETE /symbols?negative=1 forgets every miss; a
 * peer outside admin_allow gets 403 and changes nothing; a dropped file
 * stops holding disk space even in a worker thread that serves nothing
 * more.
 */
#include "symsrvd_config.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/types.h>

#include "ckrun.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"
#include "store.h"
#include "xalloc.h"

#define ID "0123456789ABCDEF0123456789ABCDEF1"
#define PDB "/app.pdb/" ID "/app.pdb"
#define MISS1 "/late.pdb/" ID "/late.pdb"
#define MISS2 "/later.pdb/" ID "/later.pdb"

static struct itest t;

static void stop(void)
{
    itest_stop(&t);
}

static long del(const char *path)
{
    char *url = itest_url(&t, path);
    struct http_resp r;
    long status;

    ck_assert_int_eq(http_request("DELETE", url, NULL, &r), 0);
    status = r.status;
    if (status == 204)
        ck_assert_uint_eq(r.len, 0);
    http_resp_free(&r);
    free(url);
    return status;
}

/* DELETE PATH right after a download of it: its downloader may still hold
 * the key's lock for a moment after the body went out (409 meanwhile). */
static long del_settled(const char *path)
{
    unsigned waited;
    long status = del(path);

    for (waited = 0; status == 409 && waited < 5000; waited += 50) {
        usleep(50 * 1000);
        status = del(path);
    }
    return status;
}

static void get_status(const char *path, long want)
{
    struct http_resp r;

    itest_get(&t, path, NULL, &r);
    ck_assert_int_eq(r.status, want);
    http_resp_free(&r);
}

static bool cached(const char *suffix)
{
    char *p = xasprintf("%s" PDB "%s", t.dir, suffix);
    bool yes;

    /* the cache tree uses the canonical case: lower name, upper ID */
    yes = access(p, F_OK) == 0;
    free(p);
    return yes;
}

static bool wait_cached(const char *suffix, unsigned timeout_ms)
{
    unsigned waited;

    for (waited = 0; waited <= timeout_ms; waited += 50) {
        if (cached(suffix))
            return true;
        usleep(50 * 1000);
    }
    return false;
}

START_TEST(test_admin_delete_forgets_a_miss)
{
    itest_start(&t, 1, "2", NULL, NULL); /* negative_ttl: the default 1h */
    get_status(MISS1, 404);
    get_status(MISS1, 404);
    ck_assert_uint_eq(stub_hits(t.up[0], MISS1), 1);
    stub_add(t.up[0], MISS1, "uploaded", 8);
    get_status(MISS1, 404); /* still remembered */
    ck_assert_int_eq(del_settled(MISS1), 204);
    itest_get_body(&t, MISS1, "uploaded", 8);
    ck_assert_uint_eq(stub_hits(t.up[0], MISS1), 2);
    /* nothing left to drop for a key never asked for */
    ck_assert_int_eq(del(MISS2), 404);
}
END_TEST

/* A DELETE refused with 409 while the key's lock is held changes
 * nothing: the retry still finds the remembered miss (204, not 404). */
START_TEST(test_admin_delete_conflict_keeps_the_miss)
{
    char lock[STORE_PATH_MAX];
    int fd;

    itest_start(&t, 1, "1", NULL, NULL);
    get_status(MISS1, 404);
    ck_assert_int_eq(store_lock_path(t.dir, "late.pdb/" ID "/late.pdb", lock,
                                     sizeof(lock)),
                     0);
    fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(flock(fd, LOCK_EX), 0); /* as a download holds it */
    ck_assert_int_eq(del(MISS1), 409);
    close(fd);
    ck_assert_int_eq(del(MISS1), 204);
    ck_assert_int_eq(del(MISS1), 404);
}
END_TEST

START_TEST(test_admin_delete_all_misses)
{
    itest_start(&t, 1, "2", NULL, NULL);
    get_status(MISS1, 404);
    get_status(MISS2, 404);
    stub_add(t.up[0], MISS1, "one", 3);
    stub_add(t.up[0], MISS2, "two", 3);
    ck_assert_int_eq(del("/symbols?negative=1"), 204);
    itest_get_body(&t, MISS1, "one", 3);
    itest_get_body(&t, MISS2, "two", 3);
    ck_assert_uint_eq(stub_hits(t.up[0], MISS1), 2);
    ck_assert_uint_eq(stub_hits(t.up[0], MISS2), 2);
    ck_assert_int_eq(del("/symbols"), 400);
}
END_TEST

START_TEST(test_admin_delete_drops_the_file)
{
    char *v1 = itest_body(8000, true, 1), *v2 = itest_body(9000, true, 2);
    struct http_resp r;

    itest_start(&t, 1, "2", NULL, NULL);
    stub_add(t.up[0], PDB, v1, 8000);
    itest_get(&t, PDB, (const char *const[]){"Accept-Encoding: gzip", NULL},
              &r);
    ck_assert_int_eq(r.status, 200);
    http_resp_free(&r);
    ck_assert(cached(""));
    ck_assert(wait_cached(".GZIP", 5000));
    /* the symbol was rebuilt upstream; the cached copy is stale */
    stub_add(t.up[0], PDB, v2, 9000);
    itest_get_body(&t, PDB, v1, 8000);
    ck_assert_int_eq(del_settled(PDB), 204);
    ck_assert(!cached(""));
    ck_assert(!cached(".GZIP"));
    itest_get_body(&t, PDB, v2, 9000);
    ck_assert_uint_eq(stub_hits(t.up[0], PDB), 2);
    /* the proxy path names the same key; a second DELETE finds nothing */
    ck_assert_int_eq(del_settled("/proxy" PDB), 204);
    ck_assert_int_eq(del(PDB), 404);
    free(v1);
    free(v2);
}
END_TEST

/* Open files and mappings of PID under the cache dir whose file has been
 * unlinked: space the disk cannot get back while they stay. */
static unsigned held_unlinked(pid_t pid)
{
    char path[64], line[4096], *link;
    unsigned n = 0;
    struct dirent *de;
    DIR *fds;
    FILE *maps;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    fds = opendir(path);
    ck_assert_ptr_nonnull(fds);
    while ((de = readdir(fds)) != NULL) {
        ssize_t len;
        char *fd = xasprintf("%s/%s", path, de->d_name);

        link = xcalloc(1, 4096);
        len = readlink(fd, link, 4095);
        if (len > 0 && strstr(link, t.dir) && strstr(link, "(deleted)"))
            n++;
        free(link);
        free(fd);
    }
    closedir(fds);
    snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
    maps = fopen(path, "r");
    ck_assert_ptr_nonnull(maps);
    while (fgets(line, sizeof(line), maps) != NULL)
        n += strstr(line, t.dir) && strstr(line, "(deleted)");
    fclose(maps);
    return n;
}

START_TEST(test_admin_delete_frees_the_space)
{
    char *v1 = itest_body(8000, true, 1);
    unsigned i, waited, held = 0;
    pid_t worker;

    itest_start(&t, 1, "1", NULL, NULL);
    ck_assert_uint_eq(daemon_workers(t.d, &worker, 1), 1);
    stub_add(t.up[0], PDB, v1, 8000);
    for (i = 0; i < 8; i++) /* hits on every pool thread, kept for reuse */
        itest_get_body(&t, PDB, v1, 8000);
    ck_assert_int_eq(del_settled(PDB), 204);
    for (waited = 0; waited <= 3000; waited += 50) {
        held = held_unlinked(worker);
        if (held == 0)
            break;
        usleep(50 * 1000);
    }
    ck_assert_uint_eq(held, 0);
    free(v1);
}
END_TEST

START_TEST(test_admin_delete_during_download_conflicts)
{
    struct http_resp r;
    unsigned waited;

    itest_start(&t, 1, "2", NULL,
                (const char *const[]){"SYMSRVD_CACHE_MISS=background", NULL});
    stub_add(t.up[0], MISS1, "slow", 4);
    stub_fault(t.up[0], MISS1, STUB_DELAY, 1500);
    get_status(MISS1, 404); /* pending: the download goes on */
    ck_assert(stub_wait_hits(t.up[0], MISS1, 1, 5000));
    ck_assert_int_eq(del(MISS1), 409);
    /* the download was not disturbed and publishes its file */
    for (waited = 0; waited < 5000; waited += 100) {
        itest_get(&t, MISS1, NULL, &r);
        if (r.status == 200)
            break;
        http_resp_free(&r);
        usleep(100 * 1000);
    }
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, 4);
    http_resp_free(&r);
    ck_assert_uint_eq(stub_hits(t.up[0], MISS1), 1);
}
END_TEST

START_TEST(test_admin_refused_outside_admin_allow)
{
    char *body = itest_body(3000, false, 3);

    /* the test client is 127.0.0.1: outside these ranges */
    itest_start(&t, 1, "2", NULL,
                (const char *const[]){
                    "SYMSRVD_SERVER_ADMIN_ALLOW=10.0.0.0/8, ::1", NULL});
    stub_add(t.up[0], PDB, body, 3000);
    itest_get_body(&t, PDB, body, 3000);
    get_status(MISS1, 404);
    stub_add(t.up[0], MISS1, "late", 4);
    ck_assert_int_eq(del(PDB), 403);
    ck_assert_int_eq(del(MISS1), 403);
    ck_assert_int_eq(del("/symbols?negative=1"), 403);
    ck_assert(cached(""));
    itest_get_body(&t, PDB, body, 3000);
    get_status(MISS1, 404);
    ck_assert_uint_eq(stub_hits(t.up[0], PDB), 1);
    ck_assert_uint_eq(stub_hits(t.up[0], MISS1), 1);
    free(body);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_admin");
    TCase *tc = tcase_create("admin");

    tcase_add_checked_fixture(tc, NULL, stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_admin_delete_forgets_a_miss);
    tcase_add_test(tc, test_admin_delete_conflict_keeps_the_miss);
    tcase_add_test(tc, test_admin_delete_all_misses);
    tcase_add_test(tc, test_admin_delete_drops_the_file);
    tcase_add_test(tc, test_admin_delete_frees_the_space);
    tcase_add_test(tc, test_admin_delete_during_download_conflicts);
    tcase_add_test(tc, test_admin_refused_outside_admin_allow);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
