/* SPDX-License-Identifier: MIT */
/*
 * The paths symsrvd-key prints are keys the daemon serves: every fixture
 * (PDB, PE, Breakpad .sym in Mozilla's layout, ELF program and debug
 * file) is put at each of its keys on a stub upstream, a symbol store for
 * symstore paths and a debuginfod server for buildid/ paths, then fetched
 * through the daemon twice: the same bytes both times, one upstream
 * request, and the Breakpad files kept under their .sym names
 * (issue 11, items 4 and 9).
 */
#include "symsrvd_config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ckrun.h"
#include "itest.h"
#include "xalloc.h"

static struct itest t;

static void start(void)
{
    itest_start_conf(&t, 2,
                     "[upstream store]\nurl = @UP0@\nretries = 0\n"
                     "[upstream dbg]\nurl = @UP1@\nlayout = debuginfod\n"
                     "retries = 0\n");
}

static void stop(void)
{
    itest_stop(&t);
}

/* Fetch "/KEY" twice through the daemon: BODY both times, one request to
 * the upstream that holds it. */
static void serve_twice(const char *key, const char *body, size_t len)
{
    struct stub *up = strncmp(key, "buildid/", 8) == 0 ? t.up[1] : t.up[0];
    char *path = xasprintf("/%s", key);

    stub_add(up, path, body, len);
    for (int i = 0; i < 2; i++) {
        struct http_resp r;

        itest_get(&t, path, NULL, &r);
        ck_assert_msg(r.status == 200, "%s: %ld", path, r.status);
        ck_assert_uint_eq(r.len, len);
        ck_assert(memcmp(r.body, body, len) == 0);
        http_resp_free(&r);
    }
    ck_assert_uint_eq(stub_hits(up, path), 1);
    free(path);
}

static void serve_all_keys(const char *rel)
{
    char *file = xasprintf("%s/tests/data/%s", getenv("abs_top_srcdir"), rel);
    char *keys = itest_keys_of(file), *save = NULL;
    size_t len;
    char *body = testutil_read_data(rel, &len);

    for (char *k = strtok_r(keys, "\n", &save); k != NULL;
         k = strtok_r(NULL, "\n", &save))
        serve_twice(k, body, len);
    free(body);
    free(keys);
    free(file);
}

START_TEST(test_breakpad_sym_paths_served)
{
    serve_all_keys("breakpad/xul.sym");
    serve_all_keys("breakpad/linux/crash.sym");
    serve_all_keys("breakpad/windows/CrashWithException.pdb.sym");
    ck_assert(itest_tree_has(t.dir, "xul.sym"));
    ck_assert(itest_tree_has(t.dir, "crashwithexception.sym"));
}
END_TEST

START_TEST(test_pdb_pe_elf_keys_served)
{
    serve_all_keys("pdb/crash.pdb");
    serve_all_keys("pdb/crash.exe");
    serve_all_keys("elf/crash");
    serve_all_keys("elf/crash.debug");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_keys");
    TCase *tc = tcase_create("keys");

    tcase_add_checked_fixture(tc, start, stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_breakpad_sym_paths_served);
    tcase_add_test(tc, test_pdb_pe_elf_keys_served);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
