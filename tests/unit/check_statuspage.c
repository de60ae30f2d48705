/* SPDX-License-Identifier: MIT */
/* Unit tests for src/board and src/statuspage: the recent lists keep the
 * newest lines in order, the top keys survive a stream of one-off keys,
 * and the HTML escaping leaves nothing a browser would parse as markup
 * while keeping valid UTF-8 readable. */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "board.h"
#include "cache.h"
#include "statuspage.h"
#include "xalloc.h"

static struct board *b;     /* process-private: see the lock test */
static struct board_view *v;

static void setup(void)
{
    b = xcalloc(1, sizeof(*b));
    v = xmalloc(sizeof(*v));
    ck_assert_int_eq(board_init(b), 0);
}

static void teardown(void)
{
    free(v);
    free(b);
}

static char *escaped(const char *s)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    ck_assert_ptr_nonnull(f);
    statuspage_text(f, s);
    fclose(f);
    return out;
}

START_TEST(test_text_escapes_markup_and_bytes)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"<script>alert(1)</script>",
         "&lt;script&gt;alert(1)&lt;/script&gt;"},
        {"a\"b'c&d", "a&quot;b&#39;c&amp;d"},
        {"\x01\x1b[31m\x7f", "\\x01\\x1b[31m\\x7f"},
        {"\xff\xc0\xaf", "\\xff\\xc0\\xaf"},         /* not UTF-8, overlong */
        {"\xed\xa0\x80", "\\xed\\xa0\\x80"},         /* a surrogate */
        {"caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac"}, /* kept */
        {"\xe2\x82", "\\xe2\\x82"},                  /* cut short */
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = escaped(cases[i].in);

        ck_assert_str_eq(got, cases[i].out);
        free(got);
    }
}
END_TEST

START_TEST(test_recent_newest_first_and_bounded)
{
    char target[32];
    int i;

    board_read(b, 0, v);
    ck_assert_uint_eq(v->nrecent[BOARD_MISSES], 0);
    for (i = 0; i < BOARD_RECENT + 5; i++) {
        snprintf(target, sizeof(target), "/k%d/ID/f", i);
        board_note(b, BOARD_MISSES, target, 404, "not-found", i);
    }
    board_note(b, BOARD_ERRORS, "/e/ID/f", 500, NULL, 7);
    board_read(b, 0, v);
    ck_assert_uint_eq(v->nrecent[BOARD_MISSES], BOARD_RECENT);
    ck_assert_str_eq(v->recent[BOARD_MISSES][0].target, "/k24/ID/f");
    ck_assert_str_eq(v->recent[BOARD_MISSES][BOARD_RECENT - 1].target,
                     "/k5/ID/f");
    ck_assert_str_eq(v->recent[BOARD_MISSES][0].reason, "not-found");
    ck_assert_uint_eq(v->nrecent[BOARD_ERRORS], 1);
    ck_assert_str_eq(v->recent[BOARD_ERRORS][0].reason, "");
    ck_assert_uint_eq(v->recent[BOARD_ERRORS][0].status, 500);
}
END_TEST

START_TEST(test_top_keys_survive_one_offs)
{
    struct cache_hit h;
    char key[32];
    int i;

    for (i = 0; i < 1000; i++) {
        /* a hot key in every batch, among ten times as many cold ones */
        h = (struct cache_hit){.key = "hot.pdb/ID/hot.pdb", .count = 3};
        board_hits(b, &h, 1);
        snprintf(key, sizeof(key), "cold%d.pdb/ID/x", i);
        h = (struct cache_hit){.key = key, .count = 1};
        board_hits(b, &h, 1);
        if (i % 10 == 0) {
            h = (struct cache_hit){.key = "warm.pdb/ID/warm.pdb", .count = 2};
            board_hits(b, &h, 1);
        }
    }
    board_read(b, 0, v);
    ck_assert_uint_eq(v->ntop, BOARD_TOP);
    ck_assert_str_eq(v->top[0].key, "hot.pdb/ID/hot.pdb");
    ck_assert_uint_eq(v->top[0].hits, 3000);
    ck_assert_uint_eq(v->top[0].error, 0);
    ck_assert_str_eq(v->top[1].key, "warm.pdb/ID/warm.pdb");
    ck_assert_uint_ge(v->top[1].hits, 200);
    for (i = 1; i < (int)v->ntop; i++)
        ck_assert_uint_le(v->top[i].hits, v->top[i - 1].hits);
}
END_TEST

START_TEST(test_minutes_of_the_last_hour)
{
    struct cache_hit h = {.key = "a.pdb/ID/a.pdb", .count = 5};
    int64_t now = 1000 * 60000 + 30000; /* half a minute into minute 1000 */

    h.when_ms = now;
    board_hits(b, &h, 1);
    board_count(b, BOARD_DOWNLOADS, now - 60000);
    board_count(b, BOARD_DOWNLOADS, now - 60000);
    board_note(b, BOARD_ERRORS, "/e/ID/f", 503, NULL, now - 59 * 60000);
    /* an hour ago shares a slot with now: too late, dropped */
    board_count(b, BOARD_DOWNLOADS, now - 60 * 60000);
    board_read(b, now, v);
    ck_assert_int_eq(v->minutes[BOARD_MINUTES - 1].minute, 1000);
    ck_assert_uint_eq(v->minutes[BOARD_MINUTES - 1].n[BOARD_HITS], 5);
    ck_assert_uint_eq(v->minutes[BOARD_MINUTES - 1].n[BOARD_DOWNLOADS], 0);
    ck_assert_uint_eq(v->minutes[BOARD_MINUTES - 2].n[BOARD_DOWNLOADS], 2);
    ck_assert_int_eq(v->minutes[0].minute, 941);
    ck_assert_uint_eq(v->minutes[0].n[BOARD_FAILURES], 1);
    /* an hour later every minute is new */
    board_read(b, now + 60 * 60000, v);
    ck_assert_uint_eq(v->minutes[0].n[BOARD_HITS], 0);
    ck_assert_uint_eq(v->minutes[BOARD_MINUTES - 1].n[BOARD_HITS], 0);
}
END_TEST

/* A worker killed while it holds the board's lock must not stop the
 * others: the next locker takes the lock over. */
START_TEST(test_lock_survives_a_dead_holder)
{
    struct board *shared = mmap(NULL, sizeof(*shared),
                                PROT_READ | PROT_WRITE,
                                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int status;
    pid_t pid;

    ck_assert_ptr_ne(shared, MAP_FAILED);
    ck_assert_int_eq(board_init(shared), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        pthread_mutex_lock(&shared->lock);
        _exit(0); /* as a worker killed mid-write */
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    board_note(shared, BOARD_ERRORS, "/after/ID/f", 500, NULL, 1);
    board_read(shared, 0, v);
    ck_assert_uint_eq(v->nrecent[BOARD_ERRORS], 1);
    ck_assert_str_eq(v->recent[BOARD_ERRORS][0].target, "/after/ID/f");
    munmap(shared, sizeof(*shared));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("statuspage");
    TCase *tc = tcase_create("statuspage");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_text_escapes_markup_and_bytes);
    tcase_add_test(tc, test_recent_newest_first_and_bounded);
    tcase_add_test(tc, test_top_keys_survive_one_offs);
    tcase_add_test(tc, test_lock_survives_a_dead_holder);
    tcase_add_test(tc, test_minutes_of_the_last_hour);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
