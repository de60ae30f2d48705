/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/jobq: ordering, bounds, close, and an MPMC stress
 * run in which every pushed item is popped exactly once. */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "jobq.h"
#include "tlq.h"
#include "xalloc.h"

#define PRODUCERS 4
#define CONSUMERS 4
#define PER_PRODUCER 20000

START_TEST(test_jobq_fifo_and_bounds)
{
    struct jobq *q = jobq_new(8);
    uintptr_t i;

    for (i = 1; i <= 7; i++)
        ck_assert(jobq_try_push(q, (void *)i));
    ck_assert(!jobq_try_push(q, (void *)99)); /* full: 8 slots hold 7 */
    ck_assert_uint_eq(jobq_depth(q), 7);
    for (i = 1; i <= 7; i++)
        ck_assert_ptr_eq(jobq_pop(q), (void *)i);
    ck_assert_ptr_null(jobq_try_pop(q));
    jobq_free(q);
}
END_TEST

static void *sleeper(void *arg)
{
    return jobq_pop(arg);
}

START_TEST(test_jobq_close_wakes_consumers)
{
    struct jobq *q = jobq_new(16);
    pthread_t t[3];
    void *ret;
    int i;

    for (i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, sleeper, q);
    jobq_close(q);
    for (i = 0; i < 3; i++) {
        pthread_join(t[i], &ret);
        ck_assert_ptr_null(ret);
    }
    ck_assert(!jobq_try_push(q, (void *)1));
    jobq_free(q);
}
END_TEST

struct stress {
    struct jobq *q;
    _Atomic unsigned char *seen;
    atomic_uint popped;
    atomic_uint dupes;
};

static void *producer(void *arg)
{
    struct stress *s = arg;
    static atomic_uint next_id;
    unsigned i;

    for (i = 0; i < PER_PRODUCER; i++) {
        uintptr_t id = atomic_fetch_add(&next_id, 1) + 1;

        while (!jobq_try_push(s->q, (void *)id))
            sched_yield(); /* full: the consumers catch up */
    }
    return NULL;
}

static void *consumer(void *arg)
{
    struct stress *s = arg;
    void *p;

    while ((p = jobq_pop(s->q)) != NULL) {
        uintptr_t id = (uintptr_t)p;

        if (atomic_fetch_add(&s->seen[id], 1) != 0)
            atomic_fetch_add(&s->dupes, 1);
        atomic_fetch_add(&s->popped, 1);
    }
    return NULL;
}

START_TEST(test_jobq_mpmc_stress)
{
    struct stress s;
    pthread_t p[PRODUCERS], c[CONSUMERS];
    unsigned total = PRODUCERS * PER_PRODUCER, i;

    s.q = jobq_new(256);
    s.seen = xcalloc(total + 1, 1);
    atomic_init(&s.popped, 0);
    atomic_init(&s.dupes, 0);
    for (i = 0; i < CONSUMERS; i++)
        pthread_create(&c[i], NULL, consumer, &s);
    for (i = 0; i < PRODUCERS; i++)
        pthread_create(&p[i], NULL, producer, &s);
    for (i = 0; i < PRODUCERS; i++)
        pthread_join(p[i], NULL);
    while (atomic_load(&s.popped) < total)
        sched_yield();
    jobq_close(s.q);
    for (i = 0; i < CONSUMERS; i++)
        pthread_join(c[i], NULL);
    ck_assert_uint_eq(atomic_load(&s.popped), total);
    ck_assert_uint_eq(atomic_load(&s.dupes), 0);
    for (i = 1; i <= total; i++)
        ck_assert_uint_eq(s.seen[i], 1);
    free((void *)s.seen);
    jobq_free(s.q);
}
END_TEST

static void *tlq_producer(void *arg)
{
    uintptr_t i;

    for (i = 1; i <= 1000; i++) {
        while (!tlq_push(arg, (void *)i))
            sched_yield(); /* full until the consumer drains */
    }
    return NULL;
}

START_TEST(test_tlq_every_push_drained_once)
{
    struct tlq *q = tlq_new(64);
    pthread_t t[4];
    void *out[256];
    unsigned long sum = 0, count = 0;
    size_t n, i;
    int k;

    for (k = 0; k < 4; k++)
        pthread_create(&t[k], NULL, tlq_producer, q);
    while (count < 4000) {
        n = tlq_drain(q, out, 256);
        for (i = 0; i < n; i++)
            sum += (uintptr_t)out[i];
        count += n;
        if (n == 0)
            sched_yield();
    }
    for (k = 0; k < 4; k++)
        pthread_join(t[k], NULL);
    ck_assert_uint_eq(count, 4000);
    ck_assert_uint_eq(sum, 4 * 500500ul);
    ck_assert_uint_eq(tlq_drain(q, out, 256), 0);
    tlq_free(q);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jobq");
    TCase *tc = tcase_create("queue");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_jobq_fifo_and_bounds);
    tcase_add_test(tc, test_jobq_close_wakes_consumers);
    tcase_add_test(tc, test_jobq_mpmc_stress);
    tcase_add_test(tc, test_tlq_every_push_drained_once);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
