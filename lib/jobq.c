/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "jobq.h"

#include <ck_ring.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "xalloc.h"

struct jobq {
    ck_ring_t ring;            /* lock-free; ck's own atomics */
    ck_ring_buffer_t *slots;   /* immutable after jobq_new */
    sem_t items;               /* one token per queued job */
    atomic_bool closed;        /* set once by jobq_close */
    pthread_mutex_t push_lock; /* serialises producers: see jobq.h */
};

struct jobq *jobq_new(unsigned capacity)
{
    struct jobq *q = xcalloc(1, sizeof(*q));
    unsigned size = 4;

    while (size < capacity)
        size <<= 1;
    q->slots = xcalloc(size, sizeof(*q->slots));
    ck_ring_init(&q->ring, size);
    if (sem_init(&q->items, 0, 0) != 0)
        abort();
    atomic_init(&q->closed, false);
    pthread_mutex_init(&q->push_lock, NULL);
    return q;
}

void jobq_free(struct jobq *q)
{
    if (q == NULL)
        return;
    sem_destroy(&q->items);
    pthread_mutex_destroy(&q->push_lock);
    free(q->slots);
    free(q);
}

bool jobq_try_push(struct jobq *q, void *job)
{
    bool ok;

    /* Acquire pairs with the release in jobq_close: once closed is seen,
     * no job slips in behind the consumers' final drain. */
    if (atomic_load_explicit(&q->closed, memory_order_acquire))
        return false;
    pthread_mutex_lock(&q->push_lock);
    ok = ck_ring_enqueue_mpmc(&q->ring, q->slots, job);
    pthread_mutex_unlock(&q->push_lock);
    if (ok)
        sem_post(&q->items);
    return ok;
}

void *jobq_try_pop(struct jobq *q)
{
    void *job = NULL;

    if (sem_trywait(&q->items) != 0)
        return NULL;
    /* A token means an item was enqueued before its post, and no other
     * consumer takes an item without a token of its own; only the extra
     * token jobq_close posts has no item behind it. */
    if (ck_ring_dequeue_mpmc(&q->ring, q->slots, &job))
        return job;
    sem_post(&q->items);
    return NULL;
}

void *jobq_pop(struct jobq *q)
{
    void *job = NULL;

    for (;;) {
        while (sem_wait(&q->items) != 0 && errno == EINTR)
            ;
        if (ck_ring_dequeue_mpmc(&q->ring, q->slots, &job))
            return job;
        /* No item behind this token: it was posted by jobq_close.  Pass
         * it on so every other sleeper wakes too. */
        if (atomic_load_explicit(&q->closed, memory_order_acquire)) {
            sem_post(&q->items);
            return NULL;
        }
    }
}

void jobq_close(struct jobq *q)
{
    atomic_store_explicit(&q->closed, true, memory_order_release);
    sem_post(&q->items);
}

unsigned jobq_depth(const struct jobq *q)
{
    return ck_ring_size(&q->ring);
}
