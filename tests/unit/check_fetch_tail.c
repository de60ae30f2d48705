/* SPDX-License-Identifier: MIT */
/* Unit tests for src/fetch_tail: following a download that another worker
 * process holds.  The "peer" is a thread holding the symbol's lock file
 * through its own open file description, which flock treats as another
 * holder; it writes the temp file and the sidecar as fetch.c does. */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cache.h"
#include "fetch_int.h"
#include "fileio.h"
#include "inflight.h"
#include "log.h"
#include "store.h"
#include "timeutil.h"
#include "xalloc.h"

#define KEY "t.pdb/ab1/t.pdb"

static char *dir;
static struct cache *c;
static struct inflight *table;
static struct dl *d;
static char part[STORE_PATH_MAX], info[STORE_PATH_MAX], lock[STORE_PATH_MAX];

/* The other process, as far as flock can tell. */
struct peer {
    pthread_t thread;
    int lockfd;
    int partfd;
    bool publish; /* finish by publishing; otherwise fail and clean up */
    const char *more; /* bytes to append before finishing */
};

static unsigned open_fds(void)
{
    DIR *fds = opendir("/proc/self/fd");
    unsigned n = 0;

    ck_assert_ptr_nonnull(fds);
    while (readdir(fds) != NULL)
        n++;
    closedir(fds);
    return n;
}

static void setup(void)
{
    char tmpl[] = "/tmp/check_fetch_tail.XXXXXX";
    struct symkey k;
    bool created;

    dir = xstrdup(mkdtemp(tmpl));
    log_init(LOG_LEVEL_WARN, "test");
    ck_assert_int_eq(store_prepare(dir), 0);
    ck_assert_int_eq(cache_open(dir, 16 << 20, &c), 0);
    ck_assert_int_eq(store_tmp_path(dir, KEY, "part", part, sizeof(part)), 0);
    ck_assert_int_eq(store_tmp_path(dir, KEY, "info", info, sizeof(info)), 0);
    ck_assert_int_eq(store_lock_path(dir, KEY, lock, sizeof(lock)), 0);
    memset(&k, 0, sizeof(k));
    snprintf(k.name, sizeof(k.name), "t.pdb");
    snprintf(k.id, sizeof(k.id), "AB1");
    snprintf(k.file, sizeof(k.file), "t.pdb");
    table = inflight_new();
    d = inflight_get(table, KEY, &k, &created);
}

static void teardown(void)
{
    dl_unref(d);
    inflight_free(table);
    cache_close(c);
    remove_tree(dir);
    free(dir);
}

static void *peer_main(void *arg)
{
    struct peer *p = arg;
    struct cache_entry e;
    size_t n = p->more != NULL ? strlen(p->more) : 0;

    usleep(30000); /* let the tailer start polling */
    if (n > 0)
        write_full(p->partfd, p->more, n);
    if (p->publish) {
        memset(&e, 0, sizeof(e));
        e.size = (uint64_t)lseek(p->partfd, 0, SEEK_END);
        snprintf(e.upstream, sizeof(e.upstream), "up0");
        store_publish(dir, c, KEY, NULL, p->partfd, part, &e);
    } else {
        unlink(part);
    }
    unlink(info);
    close(p->partfd);
    close(p->lockfd); /* releases the lock: the tailer stops */
    return NULL;
}

/* Take the lock as the peer, create its temp file with BODY, announce
 * LENGTH when ANNOUNCE, and start it. */
static void peer_start(struct peer *p, const char *body, bool announce,
                       int64_t length)
{
    p->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    ck_assert_int_ge(p->lockfd, 0);
    ck_assert_int_eq(flock(p->lockfd, LOCK_EX | LOCK_NB), 0);
    p->partfd = open(part, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(p->partfd, 0);
    ck_assert_int_eq(write_full(p->partfd, body, strlen(body)), 0);
    if (announce)
        fetch_tail_announce(info, length);
    ck_assert_int_eq(pthread_create(&p->thread, NULL, peer_main, p), 0);
}

/* Tail the peer through our own descriptor of the lock file. */
static bool tail(struct peer *p)
{
    atomic_bool stop;
    int fd = open(lock, O_RDWR | O_CLOEXEC);
    bool finished;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_ne(flock(fd, LOCK_EX | LOCK_NB), 0); /* the peer has it */
    atomic_init(&stop, false);
    finished = fetch_tail(dir, c, &stop, d, fd);
    pthread_join(p->thread, NULL);
    close(fd);
    return finished;
}

/* Where D stands now: a snapshot, never a wait. */
static void status_now(struct dl_status *st)
{
    struct dl_waiter w;

    memset(&w, 0, sizeof(w));
    w.timed_out = true;
    dl_status(d, &w, st);
    ck_assert(!st->parked);
}

START_TEST(test_tail_streams_the_peers_download)
{
    struct peer p = {.publish = true, .more = "67"};
    struct dl_status st;
    struct dl_waiter w;
    enum dl_state state;
    char buf[8];
    int fd;

    peer_start(&p, "12345", true, 7);
    ck_assert(tail(&p));
    status_now(&st);
    ck_assert_int_eq(st.state, DL_DONE);
    ck_assert_int_eq(st.length, 7);
    ck_assert_str_eq(st.upstream, "peer");
    memset(&w, 0, sizeof(w));
    ck_assert_uint_eq(dl_readable(d, &w, 0, &fd, &state), 7);
    ck_assert_int_eq(pread_full(fd, buf, 7, 0), 7);
    ck_assert(memcmp(buf, "1234567", 7) == 0);
}
END_TEST

START_TEST(test_tail_peer_done_before_announcing_leaks_no_fd)
{
    struct peer p = {.publish = true};
    unsigned before = open_fds();
    struct dl_status st;

    /* Small and fast: the peer publishes while we have its temp file open
     * but have not yet seen its sidecar. */
    peer_start(&p, "x", false, 0);
    ck_assert(tail(&p));
    status_now(&st);
    ck_assert_int_eq(st.state, DL_DONE);
    ck_assert_uint_eq(open_fds(), before);
}
END_TEST

START_TEST(test_tail_peer_failed_before_any_byte)
{
    struct peer p = {.publish = false};
    unsigned before = open_fds();
    struct dl_status st;

    peer_start(&p, "", false, 0);
    ck_assert(!tail(&p)); /* ours to download now */
    status_now(&st);
    ck_assert_int_eq(st.state, DL_PENDING);
    ck_assert_uint_eq(open_fds(), before);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fetch_tail");
    TCase *tc = tcase_create("tail");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_tail_streams_the_peers_download);
    tcase_add_test(tc, test_tail_peer_done_before_announcing_leaks_no_fd);
    tcase_add_test(tc, test_tail_peer_failed_before_any_byte);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
