/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "tlq.h"

#include <ck_ring.h>
#include <pthread.h>
#include <stdlib.h>

#include "xalloc.h"

struct tlq_ring {
    ck_ring_t ring;          /* SPSC: its thread produces, drain consumes */
    ck_ring_buffer_t *slots;
    struct tlq *owner;       /* immutable */
    struct tlq_ring *next;   /* protected by owner->lock */
};

struct tlq {
    unsigned capacity;       /* immutable */
    pthread_mutex_t lock;    /* taken once per thread, and by drain */
    struct tlq_ring *rings;  /* protected by lock */
};

static _Thread_local struct tlq_ring *tl_ring;

struct tlq *tlq_new(unsigned capacity)
{
    struct tlq *q = xcalloc(1, sizeof(*q));

    q->capacity = 4;
    while (q->capacity < capacity)
        q->capacity <<= 1;
    pthread_mutex_init(&q->lock, NULL);
    return q;
}

void tlq_free(struct tlq *q)
{
    struct tlq_ring *r, *next;

    if (q == NULL)
        return;
    for (r = q->rings; r != NULL; r = next) {
        next = r->next;
        free(r->slots);
        free(r);
    }
    pthread_mutex_destroy(&q->lock);
    free(q);
}

static struct tlq_ring *my_ring(struct tlq *q)
{
    struct tlq_ring *r = tl_ring;

    if (r != NULL && r->owner == q)
        return r;
    r = xcalloc(1, sizeof(*r));
    r->slots = xcalloc(q->capacity, sizeof(*r->slots));
    ck_ring_init(&r->ring, q->capacity);
    r->owner = q;
    pthread_mutex_lock(&q->lock);
    r->next = q->rings;
    q->rings = r;
    pthread_mutex_unlock(&q->lock);
    tl_ring = r;
    return r;
}

bool tlq_push(struct tlq *q, void *item)
{
    struct tlq_ring *r = my_ring(q);

    return ck_ring_enqueue_spsc(&r->ring, r->slots, item);
}

size_t tlq_drain(struct tlq *q, void **out, size_t max)
{
    struct tlq_ring *r;
    size_t n = 0;

    /* The lock only keeps the list stable against new threads
     * registering; the rings themselves need none. */
    pthread_mutex_lock(&q->lock);
    for (r = q->rings; r != NULL && n < max; r = r->next) {
        while (n < max && ck_ring_dequeue_spsc(&r->ring, r->slots, &out[n]))
            n++;
    }
    pthread_mutex_unlock(&q->lock);
    return n;
}
