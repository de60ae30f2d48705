/* SPDX-License-Identifier: MIT */
/* upslot: an upstream's breaker and counters follow its name and URL
 * across reloads; rows a running generation uses are never handed out. */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "metrics.h"
#include "upslot.h"
#include "xalloc.h"

static struct metrics m;

/* A config with the upstreams NAMES ("a b c"), URL http://NAME/ unless a
 * name is "x=URL". */
static struct config *cfg_of(const char *names)
{
    struct config *c = xcalloc(1, sizeof(*c));
    char *copy = xstrdup(names), *save = NULL, *tok, *eq;

    for (tok = strtok_r(copy, " ", &save); tok != NULL;
         tok = strtok_r(NULL, " ", &save)) {
        struct config_upstream *u;

        c->upstreams = xreallocarray(c->upstreams, c->nupstreams + 1,
                                     sizeof(*c->upstreams));
        u = &c->upstreams[c->nupstreams++];
        memset(u, 0, sizeof(*u));
        eq = strchr(tok, '=');
        u->name = eq ? xstrndup(tok, (size_t)(eq - tok)) : xstrdup(tok);
        u->url = eq ? xstrdup(eq + 1) : xasprintf("http://%s/", tok);
    }
    free(copy);
    return c;
}

static void cfg_drop(struct config *c)
{
    size_t i;

    for (i = 0; i < c->nupstreams; i++) {
        free(c->upstreams[i].name);
        free(c->upstreams[i].url);
    }
    free(c->upstreams);
    free(c);
}

static void init(const char *names)
{
    struct config *c = cfg_of(names);

    memset(&m, 0, sizeof(m));
    upslot_init(c);
    cfg_drop(c);
}

static size_t reload(const char *names)
{
    struct config *c = cfg_of(names);
    size_t lost = upslot_reload(c, &m);

    cfg_drop(c);
    return lost;
}

START_TEST(test_upslot_identity_without_init)
{
    ck_assert_uint_eq(upslot_of(0), 0);
    ck_assert_uint_eq(upslot_of(METRICS_MAX_UPSTREAMS - 1),
                      METRICS_MAX_UPSTREAMS - 1);
    ck_assert(upslot_of(METRICS_MAX_UPSTREAMS) == UPSLOT_NONE);
}
END_TEST

START_TEST(test_upslot_reorder_keeps_rows_and_state)
{
    init("a b c");
    m.upstream[1][METRICS_UP_OK] = 7; /* b's */
    m.breakers[2].trips = 3;          /* c's */
    ck_assert_uint_eq(reload("c b a"), 0);
    ck_assert_uint_eq(upslot_of(0), 2);
    ck_assert_uint_eq(upslot_of(1), 1);
    ck_assert_uint_eq(upslot_of(2), 0);
    ck_assert_uint_eq(m.upstream[1][METRICS_UP_OK], 7);
    ck_assert_uint_eq(m.breakers[2].trips, 3);
    ck_assert(upslot_of(3) == UPSLOT_NONE);
}
END_TEST

START_TEST(test_upslot_new_upstream_gets_a_cleared_unused_row)
{
    init("a b");
    /* a row no generation uses may hold stale numbers */
    m.upstream[2][METRICS_UP_ERROR] = 5;
    m.breakers[2].open_until_ms = 99;
    /* b's URL changed: a different upstream under the old name */
    ck_assert_uint_eq(reload("d b=http://elsewhere/ a"), 0);
    ck_assert_uint_eq(upslot_of(2), 0);
    ck_assert(upslot_of(0) >= 2 && upslot_of(1) >= 2);
    ck_assert_uint_ne(upslot_of(0), upslot_of(1));
    ck_assert_uint_eq(m.upstream[upslot_of(0)][METRICS_UP_ERROR], 0);
    ck_assert_int_eq(m.breakers[upslot_of(0)].open_until_ms, 0);
}
END_TEST

START_TEST(test_upslot_rows_of_removed_upstreams_wait_a_generation)
{
    init("a b");
    ck_assert_uint_eq(reload("c"), 0);
    /* a's and b's workers may still run: c must not take rows 0 or 1 */
    ck_assert_uint_eq(upslot_of(0), 2);
    m.upstream[0][METRICS_UP_OK] = 4;
    /* a generation later rows 0 and 1 are free again, and cleared */
    ck_assert_uint_eq(reload("c d"), 0);
    ck_assert_uint_eq(upslot_of(0), 2);
    ck_assert_uint_eq(upslot_of(1), 0);
    ck_assert_uint_eq(m.upstream[0][METRICS_UP_OK], 0);
}
END_TEST

START_TEST(test_upslot_rollback_restores_the_running_map)
{
    init("a b");
    ck_assert_uint_eq(reload("b c"), 0);
    ck_assert_uint_eq(upslot_of(0), 1);
    upslot_rollback();
    ck_assert_uint_eq(upslot_of(0), 0);
    ck_assert_uint_eq(upslot_of(1), 1);
    ck_assert(upslot_of(2) == UPSLOT_NONE);
    /* c's row is free again, and a and b keep theirs */
    ck_assert_uint_eq(reload("b a d"), 0);
    ck_assert_uint_eq(upslot_of(0), 1);
    ck_assert_uint_eq(upslot_of(1), 0);
    ck_assert_uint_eq(upslot_of(2), 2);
}
END_TEST

START_TEST(test_upslot_runs_out_of_rows)
{
    char names[1024] = "", name[16];
    unsigned i;

    for (i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "o%u ", i);
        strcat(names, name);
    }
    init(names);
    names[0] = '\0';
    for (i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "n%u ", i);
        strcat(names, name);
    }
    /* 20 rows in use by the old generation leave 12 for the new one */
    ck_assert_uint_eq(reload(names), 8);
    ck_assert(upslot_of(11) != UPSLOT_NONE);
    ck_assert(upslot_of(12) == UPSLOT_NONE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("upslot");
    TCase *tc = tcase_create("upslot");

    tcase_add_test(tc, test_upslot_identity_without_init);
    tcase_add_test(tc, test_upslot_reorder_keeps_rows_and_state);
    tcase_add_test(tc, test_upslot_new_upstream_gets_a_cleared_unused_row);
    tcase_add_test(tc, test_upslot_rows_of_removed_upstreams_wait_a_generation);
    tcase_add_test(tc, test_upslot_runs_out_of_rows);
    tcase_add_test(tc, test_upslot_rollback_restores_the_running_map);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
