/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "strmemo.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "xalloc.h"

#define STRMEMO_MIN_SLOTS 256

/* A slot is written once, under the lock: its text and kind first, then
 * its key with release order, so that a reader that sees the key sees
 * the rest. */
struct slot {
    _Atomic uintptr_t key; /* 0: free */
    unsigned kind;
    char *text;
    size_t len;
};

/* The hash table, open addressing with linear probing.  Gets read it
 * without the lock (a frame's lookup is one get: a lock pair was most of
 * its cost); a full table is copied into one twice its size, and the old
 * one, which readers may still be probing, is kept until the memo goes:
 * all the smaller ones together are never bigger than the current one. */
struct table {
    struct table *older; /* retired, protected by lock */
    size_t cap;          /* a power of two */
    struct slot v[];
};

struct strmemo {
    pthread_mutex_t lock;
    _Atomic(struct table *) cur;
    size_t n;       /* protected by lock: entries, at most cap / 2 */
    size_t bytes, max_bytes;
    struct strmemo_budget *budget;
};

static struct table *table_new(size_t cap, struct table *older)
{
    struct table *t = xcalloc(1, sizeof(*t) + cap * sizeof(t->v[0]));

    t->cap = cap;
    t->older = older;
    return t;
}

struct strmemo *strmemo_new(size_t max_bytes, struct strmemo_budget *budget)
{
    struct strmemo *m = xcalloc(1, sizeof(*m));

    pthread_mutex_init(&m->lock, NULL);
    atomic_init(&m->cur, table_new(STRMEMO_MIN_SLOTS, NULL));
    m->max_bytes = max_bytes;
    m->budget = budget;
    return m;
}

void strmemo_free(struct strmemo *m)
{
    struct table *t;

    if (m == NULL)
        return;
    t = atomic_load(&m->cur);
    /* the texts are the current table's; older ones hold copies of
     * their pointers */
    for (size_t i = 0; i < t->cap; i++)
        free(t->v[i].text);
    while (t != NULL) {
        struct table *older = t->older;

        free(t);
        t = older;
    }
    if (m->budget != NULL)
        atomic_fetch_sub(&m->budget->used, m->bytes);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static size_t hash(uintptr_t key, unsigned kind)
{
    uint64_t h = (uint64_t)key * 0x9e3779b97f4a7c15ull;

    return (size_t)((h ^ (h >> 29)) + kind * 0x85ebca6bu);
}

/* The slot of (KEY, KIND) in T, or the free one where it would go (*FREE
 * then: without the lock, another thread may fill it any time). */
static struct slot *find(struct table *t, uintptr_t key, unsigned kind,
                         bool *free_slot)
{
    size_t i = hash(key, kind) & (t->cap - 1);
    uintptr_t k;

    while ((k = atomic_load_explicit(&t->v[i].key, memory_order_acquire)) !=
               0 &&
           (k != key || t->v[i].kind != kind))
        i = (i + 1) & (t->cap - 1);
    *free_slot = k == 0;
    return &t->v[i];
}

/* Called with the lock held. */
static void grow(struct strmemo *m)
{
    struct table *old = atomic_load_explicit(&m->cur, memory_order_relaxed);
    struct table *t = table_new(old->cap * 2, old);

    for (size_t i = 0; i < old->cap; i++) {
        uintptr_t k =
            atomic_load_explicit(&old->v[i].key, memory_order_relaxed);
        struct slot *sl;
        bool free_slot;

        if (k == 0)
            continue;
        sl = find(t, k, old->v[i].kind, &free_slot);
        sl->kind = old->v[i].kind;
        sl->text = old->v[i].text;
        sl->len = old->v[i].len;
        atomic_store_explicit(&sl->key, k, memory_order_relaxed);
    }
    /* the copies are complete before a reader can find the table */
    atomic_store_explicit(&m->cur, t, memory_order_release);
}

const char *strmemo_get(struct strmemo *m, uintptr_t key, unsigned kind,
                        size_t *len)
{
    bool free_slot;
    const struct slot *sl =
        find(atomic_load_explicit(&m->cur, memory_order_acquire), key, kind,
             &free_slot);

    /* a free slot's other fields may be being written for another key */
    *len = free_slot ? 0 : sl->len;
    return free_slot ? NULL : sl->text;
}

/* Take COST bytes from M's bounds; false when either is full.  Called
 * with the lock held. */
static bool charge(struct strmemo *m, size_t cost)
{
    if (m->bytes + cost > m->max_bytes)
        return false;
    if (m->budget != NULL &&
        atomic_fetch_add(&m->budget->used, cost) + cost > m->budget->max) {
        atomic_fetch_sub(&m->budget->used, cost);
        return false;
    }
    m->bytes += cost;
    return true;
}

const char *strmemo_put(struct strmemo *m, uintptr_t key, unsigned kind,
                        char *text, size_t len)
{
    struct table *t;
    struct slot *sl;
    bool free_slot;
    const char *kept = NULL;

    pthread_mutex_lock(&m->lock);
    t = atomic_load_explicit(&m->cur, memory_order_relaxed);
    sl = find(t, key, kind, &free_slot);
    if (!free_slot) {
        kept = sl->text; /* another thread was first */
        free(text);
    } else if (charge(m, len + STRMEMO_ENTRY_OVERHEAD)) {
        sl->kind = kind;
        sl->text = text;
        sl->len = len;
        atomic_store_explicit(&sl->key, key, memory_order_release);
        kept = text;
        if (++m->n > t->cap / 2)
            grow(m);
    }
    pthread_mutex_unlock(&m->lock);
    return kept;
}

size_t strmemo_bytes(struct strmemo *m)
{
    size_t n;

    pthread_mutex_lock(&m->lock);
    n = m->bytes;
    pthread_mutex_unlock(&m->lock);
    return n;
}
