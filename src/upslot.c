/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "upslot.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "metrics.h"
#include "xalloc.h"

#define NROWS METRICS_MAX_UPSTREAMS

/* The map of this process's generation.  Until upslot_init, the identity
 * (unit tests and tools that never call it). */
static size_t map[NROWS];
static size_t nmap;
static bool mapped;
/* The map before the last upslot_reload, for upslot_rollback. */
static size_t prev_map[NROWS];
static size_t prev_nmap;

/* The master's only: who owns each row ("name url"), NULL when free. */
static char *owner[NROWS];

static char *owner_key(const struct config_upstream *up)
{
    return xasprintf("%s %s", up->name, up->url);
}

void upslot_init(const struct config *cfg)
{
    size_t i;

    for (i = 0; i < NROWS; i++) {
        free(owner[i]);
        owner[i] = NULL;
    }
    for (nmap = 0; nmap < cfg->nupstreams && nmap < NROWS; nmap++) {
        map[nmap] = nmap;
        owner[nmap] = owner_key(&cfg->upstreams[nmap]);
    }
    mapped = true;
}

/* The row the current map gives KEY, or UPSLOT_NONE. */
static size_t kept_row(const char *key, const bool *taken)
{
    size_t i;

    for (i = 0; i < nmap; i++) {
        size_t r = map[i];

        if (r != UPSLOT_NONE && !taken[r] && owner[r] != NULL &&
            strcmp(owner[r], key) == 0)
            return r;
    }
    return UPSLOT_NONE;
}

/* A row neither the current map nor the next one (TAKEN) uses. */
static size_t free_row(const bool *taken)
{
    bool used[NROWS];
    size_t i;

    memcpy(used, taken, sizeof(used));
    for (i = 0; i < nmap; i++) {
        if (map[i] != UPSLOT_NONE)
            used[map[i]] = true;
    }
    for (i = 0; i < NROWS; i++) {
        if (!used[i])
            return i;
    }
    return UPSLOT_NONE;
}

static void clear_row(struct metrics *m, size_t r)
{
    memset(&m->breakers[r], 0, sizeof(m->breakers[r]));
    memset(m->upstream[r], 0, sizeof(m->upstream[r]));
}

size_t upslot_reload(const struct config *next, struct metrics *m)
{
    size_t next_map[NROWS], i, r, lost = 0;
    bool taken[NROWS] = {false};
    char *key[NROWS] = {NULL};
    size_t n = next->nupstreams < NROWS ? next->nupstreams : NROWS;

    if (!mapped)
        abort(); /* the master calls upslot_init first */
    /* Kept rows first, so a new upstream cannot take one that a later
     * entry of NEXT keeps. */
    for (i = 0; i < n; i++) {
        key[i] = owner_key(&next->upstreams[i]);
        next_map[i] = kept_row(key[i], taken);
        if (next_map[i] != UPSLOT_NONE)
            taken[next_map[i]] = true;
    }
    for (i = 0; i < n; i++) {
        if (next_map[i] != UPSLOT_NONE)
            continue;
        r = free_row(taken);
        next_map[i] = r;
        if (r == UPSLOT_NONE) {
            lost++;
            continue;
        }
        taken[r] = true;
        clear_row(m, r);
        free(owner[r]);
        owner[r] = key[i];
        key[i] = NULL;
    }
    lost += next->nupstreams - n;
    for (i = 0; i < n; i++)
        free(key[i]);
    memcpy(prev_map, map, sizeof(map));
    prev_nmap = nmap;
    memcpy(map, next_map, n * sizeof(map[0]));
    nmap = n;
    return lost;
}

void upslot_rollback(void)
{
    memcpy(map, prev_map, sizeof(map));
    nmap = prev_nmap;
}

size_t upslot_of(size_t i)
{
    if (!mapped)
        return i < NROWS ? i : UPSLOT_NONE;
    return i < nmap ? map[i] : UPSLOT_NONE;
}
