/* SPDX-License-Identifier: MIT */
/* Unit tests for src/evict: the limits, the least-recently-used order and
 * what one pass removes and counts, against a real index in a temp dir. */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "evict.h"
#include "fileio.h"
#include "log.h"
#include "metrics.h"
#include "publish.h"
#include "store.h"
#include "timeutil.h"
#include "xalloc.h"

static char *dir;
static struct cache *c;
static atomic_bool no_stop;

static void setup(void)
{
    char tmpl[] = "/tmp/check_evict.XXXXXX";

    dir = xstrdup(mkdtemp(tmpl));
    log_init(LOG_LEVEL_WARN, "test");
    if (metrics == NULL)
        metrics_create();
    memset(metrics, 0, sizeof(*metrics));
    atomic_init(&no_stop, false);
    ck_assert_int_eq(store_prepare(dir), 0);
    ck_assert_int_eq(cache_open(dir, 16 << 20, &c), 0);
}

static void teardown(void)
{
    cache_close(c);
    remove_tree(dir);
    free(dir);
}

/* A file of SIZE bytes at PATH. */
static void put_file(const char *path, size_t size)
{
    char *buf = xcalloc(1, size + 1);
    char *slash = strrchr(path, '/');
    char *parent = xstrndup(path, (size_t)(slash - path));
    int fd;

    ck_assert_int_eq(mkdir_p(parent, 0755), 0);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write_full(fd, buf, size), 0);
    close(fd);
    free(parent);
    free(buf);
}

/* KEY cached with SIZE bytes at CACHED_AT (its file written too). */
static void cached(const char *key, uint64_t size, int64_t cached_at)
{
    char path[STORE_PATH_MAX];
    struct cache_entry e;

    ck_assert_int_eq(store_file_path(dir, key, path, sizeof(path)), 0);
    put_file(path, size);
    memset(&e, 0, sizeof(e));
    e.size = size;
    e.cached_at_ms = cached_at;
    ck_assert_int_eq(cache_insert(c, key, NULL, &e), 0);
}

static void hit(const char *key, int64_t when)
{
    struct cache_hit h = {.key = key, .count = 1, .when_ms = when};

    ck_assert_int_eq(cache_record_hits(c, &h, 1), 0);
}

static bool present(const char *key)
{
    char path[STORE_PATH_MAX];
    struct cache_entry e;

    store_file_path(dir, key, path, sizeof(path));
    return cache_lookup(c, key, &e) == 0 && access(path, F_OK) == 0;
}

static bool exists(const char *key, const char *suffix)
{
    char *path = xasprintf("%s/%s%s", dir, key, suffix);
    bool yes = access(path, F_OK) == 0;

    free(path);
    return yes;
}

START_TEST(test_evict_need)
{
    /* Under both limits, or limits off. */
    ck_assert_uint_eq(evict_need(100, 0, 0, 0), 0);
    ck_assert_uint_eq(evict_need(1000, 1000, 5000, 1000), 0);
    /* Over max_size: down to 90 % of it. */
    ck_assert_uint_eq(evict_need(1001, 1000, 5000, 1000), 101);
    ck_assert_uint_eq(evict_need(3000, 1000, UINT64_MAX, 1000), 2100);
    /* Under min_free: up to 110 % of it. */
    ck_assert_uint_eq(evict_need(10, 0, 999, 1000), 101);
    ck_assert_uint_eq(evict_need(10, 0, 0, 1000), 1100);
    /* Both: the larger need. */
    ck_assert_uint_eq(evict_need(1500, 1000, 900, 1000), 600);
    ck_assert_uint_eq(evict_need(1010, 1000, 0, 1000), 1100);
}
END_TEST

START_TEST(test_evict_order)
{
    struct evict_item v[] = {
        {(char *)"c", 10, 300, 0, false}, {(char *)"a", 10, 100, 0, false},
        {(char *)"d", 10, 100, 0, false}, {(char *)"b", 50, 200, 0, false},
    };

    /* Oldest first, ties by key; enough items to cover NEED. */
    ck_assert_uint_eq(evict_order(v, 4, 1), 1);
    ck_assert_str_eq(v[0].key, "a");
    ck_assert_str_eq(v[1].key, "d");
    ck_assert_str_eq(v[2].key, "b");
    ck_assert_str_eq(v[3].key, "c");
    ck_assert_uint_eq(evict_order(v, 4, 0), 0);
    ck_assert_uint_eq(evict_order(v, 4, 20), 2);
    ck_assert_uint_eq(evict_order(v, 4, 21), 3);
    ck_assert_uint_eq(evict_order(v, 4, 70), 3);
    ck_assert_uint_eq(evict_order(v, 4, 71), 4);
    ck_assert_uint_eq(evict_order(v, 4, 1000), 4);
    /* a scan that kept every record has no array at all */
    ck_assert_uint_eq(evict_order(NULL, 0, 1000), 0);
}
END_TEST

/* Five files of 1000 bytes; b and d hit later than e was cached. */
static void five_files(void)
{
    cached("a.pdb/1/a.pdb", 1000, 1000);
    cached("b.pdb/1/b.pdb", 1000, 2000);
    cached("c.pdb/1/c.pdb", 1000, 3000);
    cached("d.pdb/1/d.pdb", 1000, 4000);
    cached("e.pdb/1/e.pdb", 1000, 5000);
    hit("b.pdb/1/b.pdb", 6000);
    hit("d.pdb/1/d.pdb", 7000);
}

START_TEST(test_evict_lru_by_hits)
{
    struct evict *ev = evict_new(dir, c, 4000, 0);
    struct evict_stats st = {0, 0, 0};
    uint64_t n, bytes;

    five_files();
    /* 5000 > 4000: down to 3600, so two files go: a, c (never hit). */
    ck_assert_int_eq(evict_tick(ev, 1, &no_stop, &st), 0);
    ck_assert_uint_eq(st.evicted, 2);
    ck_assert_uint_eq(st.freed, 2000);
    ck_assert(!present("a.pdb/1/a.pdb"));
    ck_assert(!present("c.pdb/1/c.pdb"));
    ck_assert(present("b.pdb/1/b.pdb"));
    ck_assert(present("d.pdb/1/d.pdb"));
    ck_assert(present("e.pdb/1/e.pdb"));
    ck_assert_int_eq(cache_totals(c, &n, &bytes), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(bytes, 3000);
    ck_assert_uint_eq(evict_used(ev), 3000);
    ck_assert_uint_eq(metrics_read(&metrics->evictions), 2);
    ck_assert_uint_eq(metrics_read(&metrics->evicted_bytes), 2000);
    /* Under the limit now: a second tick removes nothing. */
    ck_assert_int_eq(evict_tick(ev, 2, &no_stop, &st), 0);
    ck_assert_uint_eq(st.evicted, 2);
    evict_free(ev);
}
END_TEST

/* Mark KEY's record as a published file (see publish.h). */
static void published(const char *key)
{
    struct cache_entry e;

    ck_assert_int_eq(cache_lookup(c, key, &e), 0);
    snprintf(e.upstream, sizeof(e.upstream), "%s", PUBLISH_LABEL);
    ck_assert_int_eq(cache_insert(c, key, NULL, &e), 0);
}

/* publish_evictable = no: the oldest files are published, so newer
 * downloads go in their place; = yes: they go like any other. */
START_TEST(test_evict_keeps_published)
{
    struct evict *ev = evict_new(dir, c, 4000, 0);
    struct evict_stats st = {0, 0, 0};

    five_files();
    published("a.pdb/1/a.pdb");
    published("c.pdb/1/c.pdb");
    evict_keep_published(ev, true);
    ck_assert_int_eq(evict_tick(ev, 1, &no_stop, &st), 0);
    ck_assert_uint_eq(st.evicted, 2);
    ck_assert(present("a.pdb/1/a.pdb"));
    ck_assert(present("c.pdb/1/c.pdb"));
    ck_assert(!present("e.pdb/1/e.pdb")); /* never hit */
    ck_assert(!present("b.pdb/1/b.pdb")); /* hit first */
    ck_assert(present("d.pdb/1/d.pdb"));
    cached("f.pdb/1/f.pdb", 2000, 8000);
    evict_keep_published(ev, false);
    ck_assert_int_eq(evict_tick(ev, 2, &no_stop, &st), 0);
    ck_assert(!present("a.pdb/1/a.pdb"));
    ck_assert(!present("c.pdb/1/c.pdb"));
    evict_free(ev);
}
END_TEST

/* The gzip copy and the symbol table count and go with their file. */
START_TEST(test_evict_derived_files)
{
    struct evict *ev = evict_new(dir, c, 5000, 0);
    struct evict_stats st = {0, 0, 0};
    char path[STORE_PATH_MAX];
    uint64_t n, bytes, gz;

    five_files();
    store_gzip_path(dir, "a.pdb/1/a.pdb", path, sizeof(path));
    put_file(path, 300);
    ck_assert_int_eq(cache_set_gzip(c, "a.pdb/1/a.pdb", CACHE_GZ_READY, 300),
                     0);
    store_table_path(dir, "c.pdb/1/c.pdb", path, sizeof(path));
    put_file(path, 700);
    ck_assert_int_eq(cache_totals_gz(c, &n, &bytes, &gz), 0);
    ck_assert_uint_eq(gz, 300);
    /* 6000 > 5000: down to 4500: a with its copy (1300), then c with its
     * table (1700). */
    ck_assert_int_eq(evict_tick(ev, 1, &no_stop, &st), 0);
    ck_assert_uint_eq(st.evicted, 2);
    ck_assert_uint_eq(st.freed, 3000);
    ck_assert(!exists("a.pdb/1/a.pdb", ".GZIP"));
    ck_assert(!exists("c.pdb/1/c.pdb", ".SYMTABLE"));
    ck_assert(!exists("c.pdb/1/c.pdb", ""));
    ck_assert_int_eq(cache_totals_gz(c, &n, &bytes, &gz), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(bytes, 3000);
    ck_assert_uint_eq(gz, 0);
    ck_assert_uint_eq(metrics_read(&metrics->evicted_bytes), 3000);
    evict_free(ev);
}
END_TEST

/* A table under .Symsrvd/tables of SIZE bytes, last used at AT_MS. */
static char *loose_table(const char *name, size_t size, int64_t at_ms)
{
    char *path = xasprintf("%s/.Symsrvd/tables/%s", dir, name);
    struct timespec ts[2] = {{at_ms / 1000, (at_ms % 1000) * 1000000},
                             {0, UTIME_OMIT}};

    put_file(path, size);
    ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
    return path;
}

/* The tables kept without a record (files outside the cache, later
 * slices) count toward max_size and go by their last use like files. */
START_TEST(test_evict_loose_tables)
{
    struct evict *ev = evict_new(dir, c, 6000, 0);
    struct evict_stats st = {0, 0, 0};
    char *old, *recent;

    five_files();
    old = loose_table("0123.SYMTABLE", 1500, 500);
    recent = loose_table("4567.SYMTABLE", 500, wall_ms());
    /* 7000 > 6000: down to 5400: the old table (1500), then a (1000) */
    ck_assert_int_eq(evict_tick(ev, 1, &no_stop, &st), 0);
    ck_assert_uint_eq(st.evicted, 2);
    ck_assert_uint_eq(st.freed, 2500);
    ck_assert_int_ne(access(old, F_OK), 0);
    ck_assert_int_eq(access(recent, F_OK), 0);
    ck_assert(!present("a.pdb/1/a.pdb"));
    ck_assert(present("c.pdb/1/c.pdb"));
    ck_assert_uint_eq(evict_used(ev), 4500);
    ck_assert_uint_eq(metrics_read(&metrics->evicted_bytes), 2500);
    free(old);
    free(recent);
    evict_free(ev);
}
END_TEST

/* A key whose download lock is held (a download in progress) is skipped
 * and the next one goes instead. */
START_TEST(test_evict_skips_downloading)
{
    struct evict *ev = evict_new(dir, c, 4500, 0);
    struct evict_stats st = {0, 0, 0};
    char lock[STORE_PATH_MAX];
    int fd;

    five_files();
    store_lock_path(dir, "a.pdb/1/a.pdb", lock, sizeof(lock));
    fd = open(lock, O_RDWR | O_CREAT, 0640);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(flock(fd, LOCK_EX), 0);
    /* Need 950, which a alone covers: busy, so this pass frees nothing;
     * the next one, after the download, takes it. */
    ck_assert_int_eq(evict_tick(ev, 1, &no_stop, &st), 0);
    ck_assert_uint_eq(st.skipped, 1);
    ck_assert_uint_eq(st.evicted, 0);
    ck_assert(present("a.pdb/1/a.pdb"));
    close(fd);
    ck_assert_int_eq(evict_tick(ev, 2, &no_stop, &st), 0);
    ck_assert_uint_eq(st.evicted, 1);
    ck_assert(!present("a.pdb/1/a.pdb"));
    evict_free(ev);
}
END_TEST

/* A record without its file (a crash between the unlink and the index
 * write) is not an error, and is not counted as freed. */
START_TEST(test_evict_file_already_gone)
{
    struct evict *ev = evict_new(dir, c, 4500, 0);
    struct evict_stats st = {0, 0, 0};
    char path[STORE_PATH_MAX];

    five_files();
    store_file_path(dir, "a.pdb/1/a.pdb", path, sizeof(path));
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(evict_tick(ev, 1, &no_stop, &st), 0);
    ck_assert_uint_eq(st.evicted, 1);
    ck_assert_uint_eq(st.freed, 0);
    ck_assert_int_eq(cache_lookup(c, "a.pdb/1/a.pdb",
                                  &(struct cache_entry){0}), -ENOENT);
    evict_free(ev);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("evict");
    TCase *tc = tcase_create("evict");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_evict_need);
    tcase_add_test(tc, test_evict_order);
    tcase_add_test(tc, test_evict_lru_by_hits);
    tcase_add_test(tc, test_evict_derived_files);
    tcase_add_test(tc, test_evict_loose_tables);
    tcase_add_test(tc, test_evict_skips_downloading);
    tcase_add_test(tc, test_evict_file_already_gone);
    tcase_add_test(tc, test_evict_keeps_published);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
