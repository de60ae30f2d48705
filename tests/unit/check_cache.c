/* SPDX-License-Identifier: MIT */
/* Unit tests for src/cache (the LMDB index), src/store and src/gzip. */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cache.h"
#include "fileio.h"
#include "gzip.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "timeutil.h"
#include "xalloc.h"

static char *dir;
static struct cache *c;

static void setup(void)
{
    char tmpl[] = "/tmp/check_cache.XXXXXX";

    dir = xstrdup(mkdtemp(tmpl));
    log_init(LOG_LEVEL_WARN, "test");
    /* as the daemon does: gzip copies are made under the key's lock */
    ck_assert_int_eq(store_prepare(dir), 0);
    ck_assert_int_eq(cache_open(dir, 16 << 20, &c), 0);
}

static void teardown(void)
{
    cache_close(c);
    remove_tree(dir);
    free(dir);
}

static void insert(const char *key, uint64_t size)
{
    struct cache_entry e;

    memset(&e, 0, sizeof(e));
    e.size = size;
    e.cached_at_ms = wall_ms();
    snprintf(e.upstream, sizeof(e.upstream), "microsoft");
    ck_assert_int_eq(cache_insert(c, key, NULL, &e), 0);
}

START_TEST(test_cache_insert_lookup_totals)
{
    struct cache_entry e;
    uint64_t n, bytes;

    ck_assert_int_eq(cache_lookup(c, "a.pdb/1/a.pdb", &e), -ENOENT);
    insert("a.pdb/1/a.pdb", 100);
    insert("b.pdb/2/b.pdb", 50);
    insert("a.pdb/1/a.pdb", 70); /* replacing adjusts the totals */
    ck_assert_int_eq(cache_lookup(c, "a.pdb/1/a.pdb", &e), 0);
    ck_assert_uint_eq(e.size, 70);
    ck_assert_str_eq(e.upstream, "microsoft");
    ck_assert_int_eq(cache_totals(c, &n, &bytes), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(bytes, 120);
    ck_assert_int_eq(cache_remove(c, "b.pdb/2/b.pdb"), 0);
    ck_assert_int_eq(cache_totals(c, &n, &bytes), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(bytes, 70);
}
END_TEST

START_TEST(test_cache_negative_expiry_and_case)
{
    struct cache_entry e;
    int64_t exp = 0;

    ck_assert_int_eq(
        cache_negative_insert(c, "X.pdb/ab1/x.PDB", wall_ms() + 60000), 0);
    ck_assert(cache_negative(c, "X.pdb/ab1/x.PDB", &exp));
    ck_assert_int_gt(exp, wall_ms());
    /* Another case of the same key is not the remembered miss. */
    ck_assert(!cache_negative(c, "x.pdb/AB1/x.pdb", NULL));
    /* An expired record no longer counts. */
    ck_assert_int_eq(cache_negative_insert(c, "y.pdb/1/y.pdb", wall_ms() - 1),
                     0);
    ck_assert(!cache_negative(c, "y.pdb/1/y.pdb", NULL));
    /* A stored file clears the remembered miss of its key. */
    ck_assert_int_eq(cache_negative_insert(c, "z.pdb/1/z.pdb", wall_ms() + 1e6),
                     0);
    memset(&e, 0, sizeof(e));
    e.size = 1;
    ck_assert_int_eq(cache_insert(c, "z.pdb/1/z.pdb", "z.pdb/1/z.pdb", &e), 0);
    ck_assert_int_eq(cache_lookup(c, "z.pdb/1/z.pdb", &e), 0);
    ck_assert(!cache_negative(c, "z.pdb/1/z.pdb", NULL));
}
END_TEST

START_TEST(test_store_publish_and_present)
{
    const char *key = "p.pdb/ab1/p.pdb", *neg = "P.pdb/AB1/p.PDB";
    char part[STORE_PATH_MAX], final[STORE_PATH_MAX];
    struct cache_entry e;
    int64_t before = wall_ms();
    int fd;

    ck_assert_int_eq(store_prepare(dir), 0);
    ck_assert_int_eq(store_tmp_path(dir, key, "part", part, sizeof(part)), 0);
    ck_assert_int_eq(store_file_path(dir, key, final, sizeof(final)), 0);
    fd = open(part, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write_full(fd, "symbols", 7), 0);
    ck_assert_int_eq(cache_negative_insert(c, neg, wall_ms() + 60000), 0);
    ck_assert(!store_present(dir, c, key));

    memset(&e, 0, sizeof(e));
    e.size = 7;
    snprintf(e.upstream, sizeof(e.upstream), "up0");
    ck_assert_int_eq(store_publish(dir, c, key, neg, fd, part, &e), 0);
    close(fd);
    ck_assert_int_ge(e.cached_at_ms, before);
    ck_assert_int_eq(access(part, F_OK), -1); /* renamed, not copied */
    ck_assert_int_eq(access(final, F_OK), 0);
    ck_assert_int_eq(cache_lookup(c, key, &e), 0);
    ck_assert_uint_eq(e.size, 7);
    ck_assert_str_eq(e.upstream, "up0");
    ck_assert(!cache_negative(c, neg, NULL));
    ck_assert(store_present(dir, c, key));

    /* A record whose file vanished is dropped. */
    ck_assert_int_eq(unlink(final), 0);
    ck_assert(!store_present(dir, c, key));
    ck_assert_int_eq(cache_lookup(c, key, &e), -ENOENT);
}
END_TEST

/* Index KEY with a file of LEN bytes, all 'a' or pseudo-random. */
static void put_file(const char *key, size_t len, bool compressible)
{
    char path[STORE_PATH_MAX], *buf = xmalloc(len), *slash;
    uint32_t x = 2463534242u;
    size_t i;
    int fd;

    for (i = 0; i < len; i++) {
        x ^= x << 13; /* xorshift32: bytes gzip cannot shrink */
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = compressible ? 'a' : (char)x;
    }
    ck_assert_int_eq(store_file_path(dir, key, path, sizeof(path)), 0);
    slash = strrchr(path, '/');
    *slash = '\0';
    ck_assert_int_eq(mkdir_p(path, 0755), 0);
    *slash = '/';
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write_full(fd, buf, len), 0);
    close(fd);
    free(buf);
    insert(key, len);
}

START_TEST(test_store_make_gzip)
{
    char gz[STORE_PATH_MAX];
    struct cache_entry e;
    uint64_t made;

    metrics_create();
    made = metrics_read(&metrics->gzip_created);
    put_file("big.pdb/1/big.pdb", 64 * 1024, true);
    store_make_gzip(dir, c, "big.pdb/1/big.pdb");
    ck_assert_int_eq(cache_lookup(c, "big.pdb/1/big.pdb", &e), 0);
    ck_assert_int_eq(e.gz, CACHE_GZ_READY);
    ck_assert_uint_lt(e.gz_size, 64 * 1024);
    ck_assert_int_eq(store_gzip_path(dir, "big.pdb/1/big.pdb", gz, sizeof(gz)),
                     0);
    ck_assert_int_eq(access(gz, F_OK), 0);
    ck_assert_uint_eq(metrics_read(&metrics->gzip_created), made + 1);

    /* A copy that does not shrink is dropped and never tried again. */
    put_file("rnd.pdb/1/rnd.pdb", 4096, false);
    store_make_gzip(dir, c, "rnd.pdb/1/rnd.pdb");
    ck_assert_int_eq(cache_lookup(c, "rnd.pdb/1/rnd.pdb", &e), 0);
    ck_assert_int_eq(e.gz, CACHE_GZ_NONE);
    ck_assert_int_eq(store_gzip_path(dir, "rnd.pdb/1/rnd.pdb", gz, sizeof(gz)),
                     0);
    ck_assert_int_eq(access(gz, F_OK), -1);
    ck_assert_uint_eq(metrics_read(&metrics->gzip_created), made + 1);
}
END_TEST

/* A key whose lock stays held (a download, or a publish replacing the
 * file) gets no copy now: one made from the file being replaced would
 * be served for the new one.  A later hit asks again. */
START_TEST(test_store_make_gzip_waits_for_the_lock)
{
    struct cache_entry e;
    int lock;

    metrics_create();
    put_file("busy.pdb/1/busy.pdb", 64 * 1024, true);
    lock = store_lock_try(dir, "busy.pdb/1/busy.pdb");
    ck_assert_int_ge(lock, 0);
    store_make_gzip(dir, c, "busy.pdb/1/busy.pdb");
    ck_assert_int_eq(cache_lookup(c, "busy.pdb/1/busy.pdb", &e), 0);
    ck_assert_int_eq(e.gz, CACHE_GZ_UNKNOWN);
    close(lock);
    store_make_gzip(dir, c, "busy.pdb/1/busy.pdb");
    ck_assert_int_eq(cache_lookup(c, "busy.pdb/1/busy.pdb", &e), 0);
    ck_assert_int_eq(e.gz, CACHE_GZ_READY);
}
END_TEST

struct collect {
    char keys[16][64];
    size_t n;
};

static bool collect(void *arg, const char *key, size_t keylen,
                    const struct cache_entry *e)
{
    struct collect *cl = arg;

    (void)e;
    snprintf(cl->keys[cl->n++], 64, "%.*s", (int)keylen, key);
    return true;
}

START_TEST(test_cache_list_pages_and_filters)
{
    struct collect cl;
    bool more;

    insert("a.pdb/1/a.pdb", 1);
    insert("b.pdb/1/b.pdb", 1);
    insert("ca.pdb/1/ca.pdb", 1);
    memset(&cl, 0, sizeof(cl));
    ck_assert_int_eq(cache_list(c, false, NULL, NULL, 2, collect, &cl, &more),
                     0);
    ck_assert_uint_eq(cl.n, 2);
    ck_assert(more);
    ck_assert_str_eq(cl.keys[1], "b.pdb/1/b.pdb");
    ck_assert_int_eq(
        cache_list(c, false, cl.keys[1], NULL, 2, collect, &cl, &more), 0);
    ck_assert_uint_eq(cl.n, 3);
    ck_assert(!more);
    ck_assert_str_eq(cl.keys[2], "ca.pdb/1/ca.pdb");
    memset(&cl, 0, sizeof(cl));
    ck_assert_int_eq(cache_list(c, false, NULL, "a", 10, collect, &cl, &more),
                     0);
    ck_assert_uint_eq(cl.n, 2); /* a.pdb and ca.pdb, not b.pdb */
}
END_TEST

START_TEST(test_cache_hits_batched)
{
    struct cache_hit h[2] = {{"a.pdb/1/a.pdb", 3, 1000}, {"a.pdb/1/a.pdb", 2, 5000}};
    struct collect cl;
    bool more;

    insert("a.pdb/1/a.pdb", 1);
    ck_assert_int_eq(cache_record_hits(c, h, 2), 0);
    memset(&cl, 0, sizeof(cl));
    ck_assert_int_eq(cache_list(c, false, NULL, NULL, 10, collect, &cl, &more),
                     0);
    ck_assert_uint_eq(cl.n, 1);
}
END_TEST

START_TEST(test_gzip_accept_encoding)
{
    ck_assert(gzip_accepted("gzip"));
    ck_assert(gzip_accepted("deflate, gzip;q=0.5"));
    ck_assert(gzip_accepted("*"));
    ck_assert(gzip_accepted("x-gzip"));
    ck_assert(!gzip_accepted(NULL));
    ck_assert(!gzip_accepted("gzip;q=0"));
    ck_assert(!gzip_accepted("gzip; q=0.0, *"));
    ck_assert(!gzip_accepted("*, gzip;q=0"));
    ck_assert(!gzip_accepted("br, deflate"));
    ck_assert(!gzip_accepted("*;q=0"));
}
END_TEST

START_TEST(test_gzip_file_roundtrip)
{
    char *src = xasprintf("%s/src", dir), *dst = xasprintf("%s/src.GZIP", dir);
    char *cmd = xasprintf("gzip -dc %s | cmp - %s", dst, src);
    FILE *f = fopen(src, "w");
    uint64_t size = 0;
    int i;

    for (i = 0; i < 20000; i++)
        fprintf(f, "line %d of a compressible symbol file\n", i % 97);
    fclose(f);
    ck_assert_int_eq(gzip_file(src, dst, &size), 0);
    ck_assert_uint_gt(size, 0);
    ck_assert_uint_lt(size, 700000 / 4);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_lt(gzip_file("/nonexistent/x", dst, &size), 0);
    free(src);
    free(dst);
    free(cmd);
}
END_TEST


#define FILL_BATCH 250

/* Insert fill keys [FROM, TO) into CC, FILL_BATCH to a write (one sync
 * each); returns where the first batch that failed started (TO when none
 * did) and its error in *RC. */
static unsigned fill(struct cache *cc, unsigned from, unsigned to, int *rc)
{
    static char keys[FILL_BATCH][64];
    const char *kp[FILL_BATCH];
    struct cache_entry e[FILL_BATCH];
    unsigned i, k;

    memset(e, 0, sizeof(e));
    *rc = 0;
    for (i = from; i < to; i += k) {
        for (k = 0; k < FILL_BATCH && i + k < to; k++) {
            snprintf(keys[k], sizeof(keys[k]), "fill.pdb/%08X1/fill.pdb%u",
                     i + k, i + k);
            kp[k] = keys[k];
            e[k].size = 1;
        }
        *rc = cache_insert_many(cc, kp, e, k);
        if (*rc != 0)
            break;
    }
    return i;
}

/* A full map at its bound refuses with -ENOSPC; allowed to grow, the
 * same writes go through and the earlier records stay readable. */
START_TEST(test_cache_map_full_then_grows)
{
    char tmpl[] = "/tmp/check_cache_map.XXXXXX";
    char *d = xstrdup(mkdtemp(tmpl));
    struct cache *small;
    struct cache_entry e;
    unsigned n;
    int rc;

    metrics_create();
    ck_assert_int_eq(cache_open(d, 1 << 20, &small), 0);
    n = fill(small, 0, 100000, &rc);
    ck_assert_int_eq(rc, -ENOSPC);
    ck_assert_uint_gt(n, 100);
    ck_assert_uint_eq(metrics_read(&metrics->index_map_grows), 0);
    cache_set_map_max(small, 64 << 20);
    ck_assert_uint_eq(fill(small, n, n + 3 * n, &rc), n + 3 * n);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_ge(metrics_read(&metrics->index_map_grows), 1);
    ck_assert_int_gt(atomic_load(&metrics->index_map_bytes), 1 << 20);
    ck_assert_int_eq(cache_lookup(small, "fill.pdb/000000001/fill.pdb0", &e),
                     0);
    cache_close(small);
    remove_tree(d);
    free(d);
}
END_TEST

/* Another process grows the map; this one adopts the new size at its
 * next read and write instead of failing (MDB_MAP_RESIZED). */
START_TEST(test_cache_map_grown_by_another_process)
{
    char tmpl[] = "/tmp/check_cache_map.XXXXXX";
    char *d = xstrdup(mkdtemp(tmpl));
    struct cache *mine, *theirs;
    struct cache_entry e;
    char key[64];
    pid_t pid;
    int rc, status;
    unsigned n;

    ck_assert_int_eq(cache_open(d, 1 << 20, &mine), 0);
    cache_set_map_max(mine, 64 << 20);
    ck_assert_int_eq(cache_lookup(mine, "x.pdb/1/x.pdb", &e), -ENOENT);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (cache_open(d, 1 << 20, &theirs) != 0)
            _exit(2);
        cache_set_map_max(theirs, 64 << 20);
        n = fill(theirs, 0, 40000, &rc);
        cache_close(theirs);
        _exit(n == 40000 ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    snprintf(key, sizeof(key), "fill.pdb/%08X1/fill.pdb%u", 39999, 39999);
    ck_assert_int_eq(cache_lookup(mine, key, &e), 0);
    ck_assert_uint_eq(fill(mine, 40000, 40100, &rc), 40100);
    ck_assert_int_eq(rc, 0);
    cache_close(mine);
    remove_tree(d);
    free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("index");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_cache_insert_lookup_totals);
    tcase_add_test(tc, test_cache_negative_expiry_and_case);
    tcase_add_test(tc, test_store_publish_and_present);
    tcase_add_test(tc, test_store_make_gzip);
    tcase_add_test(tc, test_store_make_gzip_waits_for_the_lock);
    tcase_add_test(tc, test_cache_list_pages_and_filters);
    tcase_add_test(tc, test_cache_hits_batched);
    tcase_add_test(tc, test_gzip_accept_encoding);
    tcase_add_test(tc, test_gzip_file_roundtrip);
    tcase_add_test(tc, test_cache_map_full_then_grows);
    tcase_add_test(tc, test_cache_map_grown_by_another_process);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
