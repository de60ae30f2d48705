/* SPDX-License-Identifier: MIT */
/*
 * symtable_build: the collecting half of the builder in symtable.h.
 * Readers pour records in any order, possibly overlapping or repeated;
 * they are kept as given (names and paths interned once in the string
 * section under construction) until symtable_builder_finish(), in
 * symtable_pack.c, resolves and writes them.
 */
#include "symsrvd_config.h"

#include "table/symtable.h"
#include "table/symtable_build.h"

#include <stdlib.h>
#include <string.h>

struct symtable_builder *symtable_builder_new(void)
{
    struct symtable_builder *b = xcalloc(1, sizeof(*b));

    b->str_cap = 4096;
    b->str = xmalloc(b->str_cap);
    b->str[0] = '\0';
    b->str_len = 1;
    b->nslots = 1024;
    b->slots = xcalloc(b->nslots, sizeof(*b->slots));
    b->files_cap = 64;
    b->files = xmalloc(b->files_cap * sizeof(*b->files));
    b->files[0] = 0;
    b->nfiles = 1;
    return b;
}

void symtable_builder_free(struct symtable_builder *b)
{
    if (b == NULL)
        return;
    free(b->str);
    free(b->ents);
    free(b->slots);
    free(b->files);
    free(b->funcs);
    free(b->pubs);
    free(b->lines);
    free(b->inl);
    free(b);
}

void symtable_builder_set_image_base(struct symtable_builder *b,
                                     uint64_t image_base)
{
    b->image_base = image_base;
}

void symtable_builder_set_image_size(struct symtable_builder *b,
                                     uint64_t image_size)
{
    b->image_size = image_size;
}

/* FNV-1a: short names, no need for anything stronger. */
static uint32_t str_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static void str_rehash(struct symtable_builder *b)
{
    size_t n = b->nslots * 2;
    uint32_t *slots = xcalloc(n, sizeof(*slots));

    for (size_t i = 0; i < b->nents; i++) {
        size_t j = b->ents[i].hash & (n - 1);

        while (slots[j] != 0)
            j = (j + 1) & (n - 1);
        slots[j] = (uint32_t)(i + 1);
    }
    free(b->slots);
    b->slots = slots;
    b->nslots = n;
}

static struct strent *str_append(struct symtable_builder *b, const char *s,
                                 size_t len, uint32_t h, size_t slot)
{
    struct strent *e;

    while (b->str_len + len + 1 > b->str_cap) {
        b->str_cap *= 2;
        b->str = xreallocarray(b->str, b->str_cap, 1);
    }
    VEC_PUSH(b->ents, b->nents, b->ents_cap);
    e = &b->ents[b->nents++];
    /* Offsets past 4 GiB are caught by finish(); keep the low bits. */
    e->off = (uint32_t)b->str_len;
    e->hash = h;
    e->file_id = 0;
    memcpy(b->str + b->str_len, s, len);
    b->str[b->str_len + len] = '\0';
    b->str_len += len + 1;
    b->slots[slot] = (uint32_t)b->nents;
    if (b->nents * 2 > b->nslots)
        str_rehash(b);
    return &b->ents[b->nents - 1];
}

/* The entry of S in the string section, added when new.  NULL is "". */
static struct strent *str_intern(struct symtable_builder *b, const char *s)
{
    size_t len = s ? strlen(s) : 0;
    uint32_t h = str_hash(s ? s : "", len);
    size_t j = h & (b->nslots - 1);

    while (b->slots[j] != 0) {
        struct strent *e = &b->ents[b->slots[j] - 1];

        if (e->hash == h && strncmp(b->str + e->off, s ? s : "", len) == 0 &&
            b->str[e->off + len] == '\0')
            return e;
        j = (j + 1) & (b->nslots - 1);
    }
    return str_append(b, s ? s : "", len, h, j);
}

uint32_t symtable_builder_file(struct symtable_builder *b, const char *path)
{
    struct strent *e = str_intern(b, path);

    if (e->file_id == 0) {
        VEC_PUSH(b->files, b->nfiles, b->files_cap);
        b->files[b->nfiles] = e->off;
        e->file_id = (uint32_t)b->nfiles++;
    }
    return e->file_id;
}

void symtable_builder_add_func(struct symtable_builder *b, uint64_t rva,
                               uint64_t size, const char *name,
                               enum symtable_lang lang)
{
    VEC_PUSH(b->funcs, b->nfuncs, b->funcs_cap);
    b->funcs[b->nfuncs++] =
        (struct bsym){rva, size, str_intern(b, name)->off, (uint32_t)lang};
}

void symtable_builder_add_public(struct symtable_builder *b, uint64_t rva,
                                 const char *name)
{
    VEC_PUSH(b->pubs, b->npubs, b->pubs_cap);
    b->pubs[b->npubs++] =
        (struct bsym){rva, 0, str_intern(b, name)->off, SYMTABLE_LANG_UNKNOWN};
}

void symtable_builder_add_line(struct symtable_builder *b, uint64_t rva,
                               uint64_t size, uint32_t file, uint32_t line)
{
    if (file >= b->nfiles)
        file = 0;
    VEC_PUSH(b->lines, b->nlines, b->lines_cap);
    b->lines[b->nlines++] = (struct bline){rva, size, file, line};
}

void symtable_builder_add_inline(struct symtable_builder *b, uint64_t rva,
                                 uint64_t size, uint32_t depth,
                                 const char *name, uint32_t call_file,
                                 uint32_t call_line, enum symtable_lang lang)
{
    if (size == 0 || depth == 0 || rva + size < rva)
        return; /* an empty range covers nothing */
    if (call_file >= b->nfiles)
        call_file = 0;
    VEC_PUSH(b->inl, b->ninl, b->inl_cap);
    b->inl[b->ninl++] = (struct binline){
        rva,       size,      depth,         str_intern(b, name)->off,
        call_file, call_line, (uint32_t)lang};
}
