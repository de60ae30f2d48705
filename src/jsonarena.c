/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "jsonarena.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "xalloc.h"

#define ARENA_ALIGN 16
#define ARENA_MIN_BLOCK 4096

/* One block of an arena; its bytes follow. */
struct block {
    struct block *next;
    size_t size, used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

struct jsonarena {
    struct block *head; /* the one being filled; older ones follow */
    size_t bytes;
};

static _Thread_local struct jsonarena *current;

static struct block *block_new(size_t size)
{
    struct block *b = xmalloc(sizeof(*b) + size);

    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

struct jsonarena *jsonarena_new(size_t hint)
{
    struct jsonarena *a = xcalloc(1, sizeof(*a));
    size_t size = hint < ARENA_MIN_BLOCK ? ARENA_MIN_BLOCK : hint;

    a->head = block_new(size);
    a->bytes = size;
    return a;
}

void jsonarena_free(struct jsonarena *a)
{
    if (a == NULL)
        return;
    while (a->head != NULL) {
        struct block *b = a->head;

        a->head = b->next;
        free(b);
    }
    free(a);
}

size_t jsonarena_bytes(const struct jsonarena *a)
{
    return a->bytes;
}

void jsonarena_begin(struct jsonarena *a)
{
    current = a;
}

void jsonarena_end(void)
{
    current = NULL;
}

static void *arena_alloc(struct jsonarena *a, size_t n)
{
    struct block *b = a->head;
    void *p;

    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (b->size - b->used < n) {
        /* doubling: a few blocks for any body */
        size_t size = 2 * b->size > n ? 2 * b->size : n;

        b = block_new(size);
        b->next = a->head;
        a->head = b;
        a->bytes += size;
    }
    p = b->data + b->used;
    b->used += n;
    return p;
}

void *jsonarena_alloc(struct jsonarena *a, size_t n)
{
    return arena_alloc(a, n);
}

static bool arena_owns(const struct jsonarena *a, const void *p)
{
    for (const struct block *b = a->head; b != NULL; b = b->next)
        if ((const unsigned char *)p >= b->data &&
            (const unsigned char *)p < b->data + b->size)
            return true;
    return false;
}

static void *json_alloc(size_t n)
{
    return current != NULL ? arena_alloc(current, n) : malloc(n);
}

static void json_free(void *p)
{
    if (p != NULL && (current == NULL || !arena_owns(current, p)))
        free(p);
}

/* Before main(), so that no thread allocates while the functions change. */
__attribute__((constructor)) static void install(void)
{
    json_set_alloc_funcs(json_alloc, json_free);
}
