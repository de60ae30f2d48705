/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "strmemo.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "xalloc.h"

#define STRMEMO_MIN_SLOTS 256

struct slot {
    uintptr_t key; /* 0: free */
    unsigned kind;
    char *text;
    size_t len;
};

struct strmemo {
    pthread_mutex_t lock;
    struct slot *v; /* open addressing, linear probing */
    size_t cap, n;  /* cap a power of two, n at most cap / 2 */
    size_t bytes, max_bytes;
    struct strmemo_budget *budget;
};

struct strmemo *strmemo_new(size_t max_bytes, struct strmemo_budget *budget)
{
    struct strmemo *m = xcalloc(1, sizeof(*m));

    pthread_mutex_init(&m->lock, NULL);
    m->cap = STRMEMO_MIN_SLOTS;
    m->v = xcalloc(m->cap, sizeof(*m->v));
    m->max_bytes = max_bytes;
    m->budget = budget;
    return m;
}

void strmemo_free(struct strmemo *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->v[i].text);
    free(m->v);
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

/* The slot of (KEY, KIND), or the free one where it would go. */
static struct slot *find(struct slot *v, size_t cap, uintptr_t key,
                         unsigned kind)
{
    size_t i = hash(key, kind) & (cap - 1);

    while (v[i].key != 0 && (v[i].key != key || v[i].kind != kind))
        i = (i + 1) & (cap - 1);
    return &v[i];
}

static void grow(struct strmemo *m)
{
    size_t cap = m->cap * 2;
    struct slot *v = xcalloc(cap, sizeof(*v));

    for (size_t i = 0; i < m->cap; i++)
        if (m->v[i].key != 0)
            *find(v, cap, m->v[i].key, m->v[i].kind) = m->v[i];
    free(m->v);
    m->v = v;
    m->cap = cap;
}

const char *strmemo_get(struct strmemo *m, uintptr_t key, unsigned kind,
                        size_t *len)
{
    const struct slot *sl;
    const char *text;

    pthread_mutex_lock(&m->lock);
    sl = find(m->v, m->cap, key, kind);
    text = sl->text;
    *len = sl->len;
    pthread_mutex_unlock(&m->lock);
    return text;
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
    struct slot *sl;
    const char *kept = NULL;

    pthread_mutex_lock(&m->lock);
    sl = find(m->v, m->cap, key, kind);
    if (sl->key != 0) {
        kept = sl->text; /* another thread was first */
        free(text);
    } else if (charge(m, len + STRMEMO_ENTRY_OVERHEAD)) {
        sl->key = key;
        sl->kind = kind;
        sl->text = text;
        sl->len = len;
        kept = text;
        if (++m->n > m->cap / 2)
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
