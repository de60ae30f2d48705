/* SPDX-License-Identifier: MIT */
/* Unit tests for src/inflight: what a client sees of a download through
 * dl_status() and dl_readable(), when it is parked and woken, the held-back
 * last byte, first-byte deadlines and coalescing by key. */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "inflight.h"
#include "timeutil.h"

/* A client that counts its parks and wakes instead of suspending. */
struct client {
    struct dl_waiter w;
    unsigned parks, wakes;
};

static void on_wake(void *arg)
{
    ((struct client *)arg)->wakes++;
}

static void on_park(void *arg)
{
    ((struct client *)arg)->parks++;
}

static void client_init(struct client *c, uint64_t deadline_ms)
{
    memset(c, 0, sizeof(*c));
    c->w.wake = on_wake;
    c->w.park = on_park;
    c->w.arg = c;
    c->w.deadline_ms = deadline_ms;
}

static struct symkey key_of(const char *name)
{
    struct symkey k;

    memset(&k, 0, sizeof(k));
    snprintf(k.name, sizeof(k.name), "%s", name);
    snprintf(k.id, sizeof(k.id), "ABC1");
    snprintf(k.file, sizeof(k.file), "%s", name);
    return k;
}

/* A download of KEY in a new table T; the caller drops the reference. */
static struct dl *start(struct inflight **t, const char *name)
{
    struct symkey k = key_of(name);
    bool created;
    struct dl *d;

    *t = inflight_new();
    d = inflight_get(*t, name, &k, &created);
    ck_assert(created);
    return d;
}

/* A temp file's fd for dl_stream() to own. */
static int temp_fd(void)
{
    char path[] = "/tmp/check_inflight.XXXXXX";
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    unlink(path);
    return fd;
}

START_TEST(test_inflight_pending_parks_until_first_byte)
{
    struct inflight *t;
    struct dl *d = start(&t, "a.pdb");
    struct dl_status st;
    struct client c;

    client_init(&c, 0);
    dl_status(d, &c.w, &st);
    ck_assert(st.parked);
    ck_assert_int_eq(st.state, DL_PENDING);
    ck_assert_uint_eq(c.parks, 1);
    ck_assert_uint_eq(c.wakes, 0);

    dl_stream(d, temp_fd(), 10, "up0");
    ck_assert_uint_eq(c.wakes, 1);
    dl_status(d, &c.w, &st);
    ck_assert(!st.parked);
    ck_assert_int_eq(st.state, DL_STREAMING);
    ck_assert_int_eq(st.length, 10);
    ck_assert_str_eq(st.upstream, "up0");
    ck_assert_uint_eq(c.parks, 1);

    dl_finish(d, true, DL_REASON_NONE);
    ck_assert_uint_eq(c.wakes, 1); /* one-shot: not queued any more */
    ck_assert_uint_eq(inflight_count(t), 0);
    dl_unref(d);
    inflight_free(t);
}
END_TEST

START_TEST(test_inflight_last_byte_held_until_done)
{
    struct inflight *t;
    struct dl *d = start(&t, "b.pdb");
    enum dl_state state;
    struct client c;
    int fd = temp_fd(), got;

    client_init(&c, 0);
    dl_stream(d, fd, 10, "up0");
    ck_assert_uint_eq(dl_readable(d, &c.w, 0, &got, &state), 0);
    ck_assert_int_eq(state, DL_STREAMING);
    ck_assert_uint_eq(c.parks, 1); /* nothing yet: parked */

    dl_progress(d, 4);
    ck_assert_uint_eq(c.wakes, 1);
    ck_assert_uint_eq(dl_readable(d, &c.w, 0, &got, &state), 4);
    ck_assert_int_eq(got, fd);
    dl_progress(d, 10);
    ck_assert_uint_eq(dl_readable(d, &c.w, 4, &got, &state), 5);
    ck_assert_uint_eq(dl_readable(d, &c.w, 9, &got, &state), 0);
    ck_assert_uint_eq(c.parks, 2); /* the last byte waits for DONE */

    dl_finish(d, true, DL_REASON_NONE);
    ck_assert_uint_eq(c.wakes, 2);
    ck_assert_uint_eq(dl_readable(d, &c.w, 9, &got, &state), 1);
    ck_assert_uint_eq(dl_readable(d, &c.w, 10, &got, &state), 0);
    ck_assert_int_eq(state, DL_DONE);
    ck_assert_uint_eq(c.parks, 2); /* end of body: not parked */
    dl_unref(d);
    inflight_free(t);
}
END_TEST

START_TEST(test_inflight_unknown_length_streams_everything)
{
    struct inflight *t;
    struct dl *d = start(&t, "c.pdb");
    enum dl_state state;
    struct client c;
    int got;

    client_init(&c, 0);
    dl_stream(d, temp_fd(), -1, "up0");
    dl_progress(d, 7);
    ck_assert_uint_eq(dl_readable(d, &c.w, 0, &got, &state), 7);
    dl_finish(d, false, DL_REASON_UPSTREAM_ERROR);
    ck_assert_uint_eq(dl_readable(d, &c.w, 7, &got, &state), 0);
    ck_assert_int_eq(state, DL_FAILED);
    ck_assert_uint_eq(c.parks, 0);
    dl_unref(d);
    inflight_free(t);
}
END_TEST

START_TEST(test_inflight_deadline_expires_pending_only)
{
    struct inflight *t;
    struct dl *d = start(&t, "d.pdb");
    struct client early, late, none;
    struct dl_status st;

    client_init(&early, 100);
    client_init(&late, 500);
    client_init(&none, 0);
    dl_status(d, &early.w, &st);
    dl_status(d, &late.w, &st);
    dl_status(d, &none.w, &st);
    ck_assert_uint_eq(inflight_expire(t, 99), 0);
    ck_assert_uint_eq(inflight_expire(t, 100), 1);
    ck_assert_uint_eq(early.wakes, 1);
    ck_assert(early.w.timed_out);
    ck_assert_uint_eq(late.wakes + none.wakes, 0);

    /* Timed out: told where the download stands, not parked again. */
    dl_status(d, &early.w, &st);
    ck_assert(!st.parked);
    ck_assert_int_eq(st.state, DL_PENDING);
    ck_assert_uint_eq(early.parks, 1);

    dl_stream(d, temp_fd(), -1, "up0"); /* wakes late and none */
    ck_assert_uint_eq(inflight_expire(t, 1000), 0);
    ck_assert(!late.w.timed_out);
    ck_assert_uint_eq(late.wakes + none.wakes, 2);
    dl_finish(d, false, DL_REASON_TIMEOUT);
    dl_status(d, &late.w, &st);
    ck_assert_int_eq(st.state, DL_FAILED);
    ck_assert_int_eq(st.reason, DL_REASON_TIMEOUT);
    dl_unref(d);
    inflight_free(t);
}
END_TEST

START_TEST(test_inflight_unwait_and_coalescing)
{
    struct inflight *t;
    struct dl *d = start(&t, "e.pdb"), *again;
    struct symkey other = key_of("E.PDB");
    struct dl_status st;
    struct client c;
    bool created;

    again = inflight_get(t, "e.pdb", &other, &created);
    ck_assert(!created);
    ck_assert_ptr_eq(again, d);
    ck_assert_str_eq(dl_key(d), "e.pdb");
    ck_assert_str_eq(dl_orig(d)->name, "e.pdb"); /* the first requester's */
    ck_assert_uint_eq(inflight_count(t), 1);

    client_init(&c, 0);
    dl_status(again, &c.w, &st);
    dl_unwait(again, &c.w);
    dl_unwait(again, &c.w); /* not queued: no-op */
    dl_unref(again);
    dl_finish(d, false, DL_REASON_NOT_FOUND);
    ck_assert_uint_eq(c.wakes, 0);
    dl_unref(d);
    inflight_free(t);
}
END_TEST

/* A downloader that ends D after a pause, from another thread. */
static void *finish_later(void *arg)
{
    struct dl *d = arg;

    usleep(100 * 1000);
    dl_stream(d, temp_fd(), 3, "up");
    dl_progress(d, 3);
    dl_finish(d, false, DL_REASON_UPSTREAM_ERROR);
    return NULL;
}

START_TEST(test_inflight_wait_end_blocks_until_finish)
{
    struct inflight *t;
    struct dl *d = start(&t, "f.pdb");
    enum dl_reason why = DL_REASON_NONE;
    uint64_t t0;
    pthread_t th;

    /* nothing ends it: the wait gives up at its timeout, still pending */
    ck_assert_int_eq(dl_wait_end(d, 20, &why), DL_PENDING);
    t0 = mono_ms();
    ck_assert_int_eq(pthread_create(&th, NULL, finish_later, d), 0);
    /* the first byte and progress do not end the wait; the finish does,
     * long before the timeout */
    ck_assert_int_eq(dl_wait_end(d, 10000, &why), DL_FAILED);
    ck_assert_uint_lt(mono_ms() - t0, 5000);
    ck_assert_int_eq(why, DL_REASON_UPSTREAM_ERROR);
    pthread_join(th, NULL);
    /* an ended download answers at once */
    ck_assert_int_eq(dl_wait_end(d, 0, &why), DL_FAILED);
    dl_unref(d);
    inflight_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("inflight");
    TCase *tc = tcase_create("inflight");

    tcase_add_test(tc, test_inflight_pending_parks_until_first_byte);
    tcase_add_test(tc, test_inflight_last_byte_held_until_done);
    tcase_add_test(tc, test_inflight_unknown_length_streams_everything);
    tcase_add_test(tc, test_inflight_deadline_expires_pending_only);
    tcase_add_test(tc, test_inflight_unwait_and_coalescing);
    tcase_add_test(tc, test_inflight_wait_end_blocks_until_finish);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
