/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "board.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"

int board_init(struct board *b)
{
    pthread_mutexattr_t a;
    int rc = pthread_mutexattr_init(&a);

    if (rc != 0)
        return rc;
    rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (rc == 0)
        rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (rc == 0)
        rc = pthread_mutex_init(&b->lock, &a);
    pthread_mutexattr_destroy(&a);
    return rc;
}

/* A holder that died leaves the data as it was; strings are bounded on
 * read, so it is consistent enough to go on with. */
static void lock(struct board *b)
{
    if (pthread_mutex_lock(&b->lock) == EOWNERDEAD)
        pthread_mutex_consistent(&b->lock);
}

static void unlock(struct board *b)
{
    pthread_mutex_unlock(&b->lock);
}

static void copy_text(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src != NULL ? src : "");
}

/* Add N to SERIES in the minute of WHEN_MS; the lock is held.  A slot
 * still holding an older minute starts again from zero; a count that
 * comes late for a slot already reused (a clock step back) is dropped. */
static void count_minute(struct board *b, enum board_series series,
                         int64_t when_ms, uint64_t n)
{
    int64_t minute = when_ms / 60000;
    struct board_minute *m = &b->minutes[minute % BOARD_MINUTES];

    if (m->minute > minute)
        return;
    if (m->minute != minute) {
        memset(m, 0, sizeof(*m));
        m->minute = minute;
    }
    m->n[series] += n;
}

void board_count(struct board *b, enum board_series series, int64_t when_ms)
{
    lock(b);
    count_minute(b, series, when_ms, 1);
    unlock(b);
}

void board_note(struct board *b, enum board_list list, const char *target,
                unsigned status, const char *reason, int64_t when_ms)
{
    struct board_event *e;

    lock(b);
    e = &b->recent[list][b->next[list]++ % BOARD_RECENT];
    e->when_ms = when_ms;
    e->status = status;
    copy_text(e->reason, sizeof(e->reason), reason);
    copy_text(e->target, sizeof(e->target), target);
    if (list == BOARD_ERRORS)
        count_minute(b, BOARD_FAILURES, when_ms, 1);
    unlock(b);
}

/* The slot tracking KEY, else the one with the fewest hits. */
static struct board_top *top_slot(struct board *b, const char *key,
                                  bool *found)
{
    struct board_top *min = &b->top[0];
    size_t i;

    for (i = 0; i < BOARD_TOP; i++) {
        struct board_top *t = &b->top[i];

        if (t->hits > 0 && strncmp(t->key, key, BOARD_TEXT - 1) == 0) {
            *found = true;
            return t;
        }
        if (t->hits < min->hits)
            min = t;
    }
    *found = false;
    return min;
}

void board_hits(struct board *b, const struct cache_hit *hits, size_t n)
{
    size_t i;
    bool found;

    lock(b);
    for (i = 0; i < n; i++) {
        struct board_top *t = top_slot(b, hits[i].key, &found);

        if (!found) {
            t->error = t->hits;
            copy_text(t->key, sizeof(t->key), hits[i].key);
        }
        t->hits += hits[i].count;
        count_minute(b, BOARD_HITS, hits[i].when_ms, hits[i].count);
    }
    unlock(b);
}

static int cmp_top(const void *a, const void *b)
{
    const struct board_top *x = a, *y = b;

    return x->hits < y->hits ? 1 : x->hits > y->hits ? -1 : 0;
}

static void read_list(const struct board *b, enum board_list list,
                      struct board_view *v)
{
    uint64_t next = b->next[list];
    size_t i, n = next < BOARD_RECENT ? (size_t)next : BOARD_RECENT;
    struct board_event *e;

    for (i = 0; i < n; i++) {
        e = &v->recent[list][i];
        *e = b->recent[list][(next - 1 - i) % BOARD_RECENT];
        e->reason[sizeof(e->reason) - 1] = '\0';
        e->target[sizeof(e->target) - 1] = '\0';
    }
    v->nrecent[list] = n;
}

static void read_minutes(const struct board *b, int64_t now_ms,
                         struct board_view *v)
{
    int64_t first = now_ms / 60000 - (BOARD_MINUTES - 1);
    size_t i;

    for (i = 0; i < BOARD_MINUTES; i++) {
        int64_t minute = first + (int64_t)i;
        const struct board_minute *m = &b->minutes[minute % BOARD_MINUTES];

        if (m->minute == minute)
            v->minutes[i] = *m;
        else
            v->minutes[i] = (struct board_minute){.minute = minute};
    }
}

void board_read(struct board *b, int64_t now_ms, struct board_view *v)
{
    size_t i;

    lock(b);
    read_minutes(b, now_ms, v);
    for (i = 0; i < BOARD_LISTS; i++)
        read_list(b, (enum board_list)i, v);
    v->ntop = 0;
    for (i = 0; i < BOARD_TOP; i++) {
        if (b->top[i].hits == 0)
            continue;
        v->top[v->ntop] = b->top[i];
        v->top[v->ntop].key[BOARD_TEXT - 1] = '\0';
        v->ntop++;
    }
    unlock(b);
    qsort(v->top, v->ntop, sizeof(v->top[0]), cmp_top);
}
