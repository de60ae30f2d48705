/* SPDX-License-Identifier: MIT */
/* breaker: when an upstream is skipped, probed and trusted again. */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <string.h>

#include "breaker.h"

static const struct breaker_rule rule = {
    .failures = 3, .window_ms = 1000, .cooldown_ms = 5000};

static struct breaker b;

static void reset(void)
{
    memset(&b, 0, sizeof(b));
}

/* Fail N times at NOW; true when the last one opened it. */
static bool fail_n(unsigned n, int64_t now)
{
    bool opened = false;

    while (n-- > 0) {
        ck_assert(breaker_allow(&b, &rule, now));
        opened = breaker_record(&b, &rule, true, now);
    }
    return opened;
}

START_TEST(test_breaker_opens_at_threshold_within_window)
{
    ck_assert(!fail_n(2, 100));
    ck_assert(breaker_state(&b, 100) == BREAKER_CLOSED);
    ck_assert(fail_n(1, 900));
    ck_assert(breaker_state(&b, 900) == BREAKER_OPEN);
    ck_assert(!breaker_allow(&b, &rule, 901));
    ck_assert(!breaker_allow(&b, &rule, 5899));
    ck_assert_uint_eq(b.trips, 1);
    ck_assert_uint_eq(b.skips, 2);
}
END_TEST

START_TEST(test_breaker_window_forgets_old_failures)
{
    ck_assert(!fail_n(2, 100));
    /* the third is more than a window after the first: a new count */
    ck_assert(!fail_n(1, 1200));
    ck_assert(!fail_n(1, 1300));
    ck_assert(breaker_state(&b, 1300) == BREAKER_CLOSED);
    ck_assert(fail_n(1, 1400));
}
END_TEST

START_TEST(test_breaker_answers_do_not_count)
{
    ck_assert(!fail_n(2, 100));
    ck_assert(breaker_allow(&b, &rule, 200));
    ck_assert(!breaker_record(&b, &rule, false, 200));
    ck_assert(breaker_state(&b, 200) == BREAKER_CLOSED);
    ck_assert(fail_n(1, 300)); /* a closed breaker's answers reset nothing */
}
END_TEST

START_TEST(test_breaker_one_probe_then_closes)
{
    ck_assert(fail_n(3, 10)); /* mono_ms() is never 0 */
    ck_assert(breaker_state(&b, 5010) == BREAKER_HALF_OPEN);
    ck_assert(breaker_allow(&b, &rule, 5010)); /* the probe */
    ck_assert(!breaker_allow(&b, &rule, 5001));
    ck_assert(!breaker_allow(&b, &rule, 6000));
    breaker_record(&b, &rule, false, 6000);
    ck_assert(breaker_state(&b, 6000) == BREAKER_CLOSED);
    ck_assert(breaker_allow(&b, &rule, 6001));
    ck_assert(breaker_allow(&b, &rule, 6002));
    /* closed again with a fresh count */
    ck_assert(!fail_n(2, 6100));
    ck_assert(fail_n(1, 6200));
    ck_assert_uint_eq(b.trips, 2);
}
END_TEST

START_TEST(test_breaker_failed_probe_reopens)
{
    ck_assert(fail_n(3, 10)); /* mono_ms() is never 0 */
    ck_assert(breaker_allow(&b, &rule, 5500));
    ck_assert(!breaker_record(&b, &rule, true, 5600));
    ck_assert(breaker_state(&b, 5600) == BREAKER_OPEN);
    ck_assert(!breaker_allow(&b, &rule, 10599));
    ck_assert(breaker_allow(&b, &rule, 10600));
    ck_assert_uint_eq(b.trips, 1); /* a reopening is not a new trip */
}
END_TEST

START_TEST(test_breaker_lost_probe_is_replaced)
{
    ck_assert(fail_n(3, 10)); /* mono_ms() is never 0 */
    ck_assert(breaker_allow(&b, &rule, 5010)); /* its worker dies */
    ck_assert(!breaker_allow(&b, &rule, 9999));
    ck_assert(breaker_allow(&b, &rule, 10010));
}
END_TEST

START_TEST(test_breaker_zero_failures_never_opens)
{
    const struct breaker_rule off = {.failures = 0, .window_ms = 1000,
                                     .cooldown_ms = 5000};
    unsigned i;

    for (i = 0; i < 100; i++) {
        ck_assert(breaker_allow(&b, &off, i));
        ck_assert(!breaker_record(&b, &off, true, i));
    }
    ck_assert(breaker_state(&b, 100) == BREAKER_CLOSED);
    ck_assert_str_eq(breaker_state_name(BREAKER_HALF_OPEN), "half-open");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("breaker");
    TCase *tc = tcase_create("breaker");

    tcase_add_checked_fixture(tc, reset, NULL);
    tcase_add_test(tc, test_breaker_opens_at_threshold_within_window);
    tcase_add_test(tc, test_breaker_window_forgets_old_failures);
    tcase_add_test(tc, test_breaker_answers_do_not_count);
    tcase_add_test(tc, test_breaker_one_probe_then_closes);
    tcase_add_test(tc, test_breaker_failed_probe_reopens);
    tcase_add_test(tc, test_breaker_lost_probe_is_replaced);
    tcase_add_test(tc, test_breaker_zero_failures_never_opens);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
