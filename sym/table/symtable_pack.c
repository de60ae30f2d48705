/* SPDX-License-Identifier: MIT */
/*
 * symtable_pack: symtable_builder_finish(), which turns what the readers
 * gave (symtable_build.c) into the maps of symtable_format.h.
 *
 * DESIGN.  Every kind of record goes through the same three steps:
 *   1. sort by start with a total tie order that compares strings, not
 *      insertion ids, so the result does not depend on reader order;
 *   2. give "size 0" records an end (the next distinct start of the same
 *      kind) and cut every line at the end of its function;
 *   3. sweep the ranges with a stack: the range that starts later is the
 *      more specific one and wins while it lasts, then the one it
 *      interrupted resumes.  Equal starts keep only the first in tie
 *      order.
 * Publics are then laid into the gaps the functions leave, and each
 * resolved list becomes a map: starts, info records, explicit holes for
 * the gaps, and the sparse index (map_emit()).
 */
#include "symsrvd_config.h"

#include "bound.h"
#include "runsort.h"
#include "table/symtable.h"
#include "table/symtable_build.h"
#include "table/symtable_format.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* A range in a sweep; IDX names the record it came from. */
struct range {
    uint64_t start, end;
    size_t idx;
};

/* --- sorting -------------------------------------------------------- */

static int cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

/* Known sizes before unknown ones, then larger first. */
static int cmp_size(uint64_t a, uint64_t b)
{
    if ((a == 0) != (b == 0))
        return a == 0 ? 1 : -1;
    return cmp_u64(b, a);
}

static int cmp_sym(const void *pa, const void *pb, void *ctx)
{
    const struct bsym *a = pa, *b = pb;
    const char *str = ctx;
    int c = cmp_u64(a->rva, b->rva);

    if (c == 0)
        c = cmp_size(a->size, b->size);
    if (c == 0)
        c = strcmp(str + a->name, str + b->name);
    if (c == 0)
        c = cmp_u64(a->lang, b->lang);
    return c;
}

static int cmp_line(const void *pa, const void *pb, void *ctx)
{
    const struct bline *a = pa, *b = pb;
    const struct symtable_builder *bld = ctx;
    int c = cmp_u64(a->rva, b->rva);

    if (c == 0)
        c = cmp_size(a->size, b->size);
    if (c == 0)
        c = cmp_u64(a->line, b->line);
    if (c == 0)
        c = strcmp(bld->str + bld->files[a->file],
                   bld->str + bld->files[b->file]);
    return c;
}

static int cmp_inline(const void *pa, const void *pb, void *ctx)
{
    const struct binline *a = pa, *b = pb;
    const struct symtable_builder *bld = ctx;
    int c = cmp_u64(a->depth, b->depth);

    if (c == 0)
        c = cmp_u64(a->rva, b->rva);
    if (c == 0)
        c = cmp_size(a->size, b->size);
    if (c == 0)
        c = strcmp(bld->str + a->name, bld->str + b->name);
    if (c == 0)
        c = cmp_u64(a->call_line, b->call_line);
    if (c == 0)
        c = strcmp(bld->str + bld->files[a->call_file],
                   bld->str + bld->files[b->call_file]);
    if (c == 0)
        c = cmp_u64(a->lang, b->lang);
    return c;
}


/* --- the sweep ------------------------------------------------------ */

struct seglist {
    struct range *v;
    size_t n, cap;
};

static void seg_emit(struct seglist *out, uint64_t start, uint64_t end,
                     size_t idx)
{
    if (start >= end)
        return;
    if (out->n > 0 && out->v[out->n - 1].idx == idx &&
        out->v[out->n - 1].end == start) {
        out->v[out->n - 1].end = end;
        return;
    }
    VEC_PUSH(out->v, out->n, out->cap);
    out->v[out->n++] = (struct range){start, end, idx};
}

/* Emit what the stack covers from *CUR up to UPTO, popping what ends. */
static void sweep_flush(struct range *stack, size_t *depth, uint64_t *cur,
                        uint64_t upto, struct seglist *out)
{
    while (*depth > 0 && *cur < upto) {
        struct range *top = &stack[*depth - 1];
        uint64_t end = top->end < upto ? top->end : upto;

        if (top->end <= *cur) {
            (*depth)--;
            continue;
        }
        seg_emit(out, *cur, end, top->idx);
        *cur = end;
        if (top->end <= upto)
            (*depth)--;
    }
    if (*cur < upto)
        *cur = upto;
}

/* IN is sorted by start, preferred first among equal starts.  Appends the
 * non-overlapping segments to OUT: a later start wins while it lasts. */
static void sweep(const struct range *in, size_t n, struct seglist *out)
{
    struct range *stack = xmalloc((n ? n : 1) * sizeof(*stack));
    size_t depth = 0;
    uint64_t cur = 0;

    for (size_t i = 0; i < n; i++) {
        if (i > 0 && in[i].start == in[i - 1].start)
            continue;
        if (in[i].end <= in[i].start)
            continue;
        sweep_flush(stack, &depth, &cur, in[i].start, out);
        stack[depth++] = in[i];
    }
    sweep_flush(stack, &depth, &cur, UINT64_MAX, out);
    free(stack);
}

/* Index of the segment of SEGS containing RVA, or SIZE_MAX. */
static size_t seg_find(const struct seglist *segs, uint64_t rva)
{
    size_t lo = bound_upper(segs->v, segs->n, sizeof(*segs->v),
                            offsetof(struct range, start), rva);

    if (lo == 0 || segs->v[lo - 1].end <= rva)
        return SIZE_MAX;
    return lo - 1;
}

/* --- building the sections ------------------------------------------ */

/* A growable array of SIZE-byte elements. */
struct vec {
    uint8_t *v;
    size_t n, cap, size;
};

static void vec_push(struct vec *vec, const void *elem)
{
    if (vec->n == vec->cap) {
        vec->cap = vec->cap ? vec->cap * 2 : 256;
        vec->v = xreallocarray(vec->v, vec->cap, vec->size);
    }
    memcpy(vec->v + vec->n * vec->size, elem, vec->size);
    vec->n++;
}

struct packed {
    struct vec sym_starts, sym_info;
    struct vec line_starts, line_info;
    struct vec inl_starts, inl_info;
    struct vec depths, index;
    struct symtable_rec_map syms, lines;
};

/* Fills OUT (one info record) for the segment R. */
typedef void info_fn(const void *ctx, const struct range *r, void *out);

struct map_out {
    struct vec *starts, *infos;
    const void *hole; /* the info record of a gap */
    info_fn *info;
    const void *ctx;
};

static void map_push(const struct map_out *m, uint64_t start, const void *info)
{
    vec_push(m->starts, &start);
    vec_push(m->infos, info);
}

/* Appends SEGS[0..N) as one map: a start and an info record per segment,
 * a hole wherever a segment does not begin where the last one ended, and
 * one after the last; equal neighbours merge.  Then its sparse index. */
static struct symtable_rec_map map_emit(struct packed *p,
                                        const struct map_out *m,
                                        const struct range *segs, size_t n)
{
    struct symtable_rec_map map = {(uint32_t)m->starts->n, 0, 0, 0};
    uint8_t rec[32];
    uint64_t end = 0;
    size_t sz = m->infos->size;

    for (size_t i = 0; i < n; i++) {
        bool have = m->starts->n > map.first;

        if (have && end < segs[i].start)
            map_push(m, end, m->hole);
        m->info(m->ctx, &segs[i], rec);
        if (!(have && end == segs[i].start &&
              memcmp(m->infos->v + (m->infos->n - 1) * sz, rec, sz) == 0))
            map_push(m, segs[i].start, rec);
        end = segs[i].end;
    }
    if (n > 0 && end != UINT64_MAX)
        map_push(m, end, m->hole);
    map.count = (uint32_t)(m->starts->n - map.first);
    map.index_first = (uint32_t)p->index.n;
    for (size_t k = 0; k < map.count; k += SYMTABLE_FANOUT)
        vec_push(&p->index, m->starts->v + (map.first + k) * m->starts->size);
    map.index_count = (uint32_t)(p->index.n - map.index_first);
    return map;
}

static uint64_t open_end(const struct symtable_builder *b, uint64_t start)
{
    if (b->image_size > start)
        return b->image_size;
    return UINT64_MAX;
}

/* The first start in the sorted STARTS[0..N) that is above RVA. */
static uint64_t next_start(const uint64_t *starts, size_t n, uint64_t rva,
                           uint64_t none)
{
    size_t i = symtable_upper_bound(starts, n, rva);

    return i < n ? starts[i] : none;
}

static int cmp_u64_plain(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    return cmp_u64(*(const uint64_t *)a, *(const uint64_t *)b);
}

/* Sorted starts of every function and public: where size-0 ends. */
static uint64_t *symbol_starts(const struct symtable_builder *b, size_t *n)
{
    uint64_t *s = xmalloc((b->nfuncs + b->npubs + 1) * sizeof(*s));
    size_t k = 0;

    for (size_t i = 0; i < b->nfuncs; i++)
        s[k++] = b->funcs[i].rva;
    for (size_t i = 0; i < b->npubs; i++)
        s[k++] = b->pubs[i].rva;
    if (k > 1)
        keysort(s, k, sizeof(*s), 0, cmp_u64_plain, NULL);
    *n = k;
    return s;
}

/* Ranges of N sorted symbols; size 0 extends to the next symbol. */
static struct range *sym_ranges(const struct symtable_builder *b,
                                const struct bsym *v, size_t n,
                                const uint64_t *starts, size_t nstarts)
{
    struct range *r = xmalloc((n ? n : 1) * sizeof(*r));

    for (size_t i = 0; i < n; i++) {
        uint64_t end = v[i].rva + v[i].size;

        if (v[i].size == 0 || end < v[i].rva)
            end = next_start(starts, nstarts, v[i].rva, open_end(b, v[i].rva));
        r[i] = (struct range){v[i].rva, end, i};
    }
    return r;
}

/* Remove from the sorted non-overlapping PUB the parts FUNCS covers. */
static void seg_subtract(const struct seglist *pub, const struct seglist *funcs,
                         struct seglist *out)
{
    size_t j = 0;

    for (size_t i = 0; i < pub->n; i++) {
        uint64_t cur = pub->v[i].start, end = pub->v[i].end;

        while (j < funcs->n && funcs->v[j].end <= cur)
            j++;
        for (size_t k = j; k < funcs->n && funcs->v[k].start < end; k++) {
            seg_emit(out, cur, funcs->v[k].start, pub->v[i].idx);
            if (funcs->v[k].end > cur)
                cur = funcs->v[k].end;
        }
        seg_emit(out, cur, end, pub->v[i].idx);
    }
}

/* Segment indexes below NFUNCS name functions, the rest publics. */
static void sym_info(const void *ctx, const struct range *r, void *out)
{
    const struct symtable_builder *b = ctx;
    const struct bsym *s =
        r->idx < b->nfuncs ? &b->funcs[r->idx] : &b->pubs[r->idx - b->nfuncs];
    struct symtable_rec_sym rec = {s->rva, s->name, s->lang};

    memcpy(out, &rec, sizeof(rec));
}

/* Functions and, in the gaps they leave, publics, in address order. */
static struct range *merge_syms(const struct symtable_builder *b,
                                const struct seglist *fsegs,
                                const struct seglist *pfree, size_t *n)
{
    struct range *all = xmalloc((fsegs->n + pfree->n + 1) * sizeof(*all));
    size_t i = 0, j = 0, k = 0;

    while (i < fsegs->n || j < pfree->n) {
        if (j >= pfree->n ||
            (i < fsegs->n && fsegs->v[i].start < pfree->v[j].start)) {
            all[k++] = fsegs->v[i++];
        } else {
            all[k] = pfree->v[j++];
            all[k++].idx += b->nfuncs;
        }
    }
    *n = k;
    return all;
}

static void pack_syms(struct symtable_builder *b, struct seglist *fsegs,
                      struct packed *p)
{
    static const struct symtable_rec_sym hole = {0, SYMTABLE_NONE, 0};
    const struct map_out m = {&p->sym_starts, &p->sym_info, &hole, sym_info, b};
    size_t nstarts, n;
    uint64_t *starts = symbol_starts(b, &nstarts);
    struct range *fr, *pr, *all;
    struct seglist psegs = {0}, pfree = {0};

    keysort(b->funcs, b->nfuncs, sizeof(*b->funcs),
            offsetof(struct bsym, rva), cmp_sym, b->str);
    keysort(b->pubs, b->npubs, sizeof(*b->pubs), offsetof(struct bsym, rva),
            cmp_sym, b->str);
    fr = sym_ranges(b, b->funcs, b->nfuncs, starts, nstarts);
    pr = sym_ranges(b, b->pubs, b->npubs, starts, nstarts);
    sweep(fr, b->nfuncs, fsegs);
    sweep(pr, b->npubs, &psegs);
    seg_subtract(&psegs, fsegs, &pfree);
    all = merge_syms(b, fsegs, &pfree, &n);
    p->syms = map_emit(p, &m, all, n);
    free(all);
    free(starts);
    free(fr);
    free(pr);
    free(psegs.v);
    free(pfree.v);
}

static void line_info(const void *ctx, const struct range *r, void *out)
{
    const struct bline *l =
        &((const struct symtable_builder *)ctx)->lines[r->idx];
    struct symtable_rec_line rec = {l->file, l->line};

    memcpy(out, &rec, sizeof(rec));
}

/* Size-0 lines end at the next line start; no line outlives the function
 * it starts in. */
static void pack_lines(struct symtable_builder *b, const struct seglist *fsegs,
                       struct packed *p)
{
    static const struct symtable_rec_line hole = {0, 0};
    const struct map_out m = {&p->line_starts, &p->line_info, &hole, line_info,
                              b};
    struct range *r = xmalloc((b->nlines + 1) * sizeof(*r));
    struct seglist segs = {0};
    size_t next = 0;

    keysort(b->lines, b->nlines, sizeof(*b->lines), offsetof(struct bline, rva),
            cmp_line, b);
    for (size_t i = 0; i < b->nlines; i++) {
        const struct bline *l = &b->lines[i];
        uint64_t end = l->rva + l->size;
        size_t f = seg_find(fsegs, l->rva);

        if (l->size == 0 || end < l->rva) {
            while (next < b->nlines && b->lines[next].rva <= l->rva)
                next++;
            end = next < b->nlines ? b->lines[next].rva : UINT64_MAX;
        }
        /* No line runs past the function it starts in, whatever size a
         * reader gave it: the code after belongs to someone else. */
        if (f != SIZE_MAX && fsegs->v[f].end < end)
            end = fsegs->v[f].end;
        r[i] = (struct range){l->rva, end, i};
    }
    sweep(r, b->nlines, &segs);
    p->lines = map_emit(p, &m, segs.v, segs.n);
    free(r);
    free(segs.v);
}

static void inline_info(const void *ctx, const struct range *r, void *out)
{
    const struct binline *s = &((const struct binline *)ctx)[r->idx];
    struct symtable_rec_inline rec = {s->rva, s->name, s->call_file,
                                      s->call_line, s->lang};

    memcpy(out, &rec, sizeof(rec));
}

/* Appends the map of one depth, INL[0..N), to P; false when the ranges
 * cover nothing. */
static bool pack_depth(const struct binline *inl, size_t n, struct packed *p)
{
    static const struct symtable_rec_inline hole = {0, SYMTABLE_NONE, 0, 0, 0};
    const struct map_out m = {&p->inl_starts, &p->inl_info, &hole, inline_info,
                              inl};
    struct range *r = xmalloc((n + 1) * sizeof(*r));
    struct seglist segs = {0};
    struct symtable_rec_map map;

    for (size_t i = 0; i < n; i++) {
        uint64_t end = inl[i].rva + inl[i].size;

        r[i] =
            (struct range){inl[i].rva, end < inl[i].rva ? UINT64_MAX : end, i};
    }
    sweep(r, n, &segs);
    free(r);
    if (segs.n > 0) {
        map = map_emit(p, &m, segs.v, segs.n);
        vec_push(&p->depths, &map);
    }
    free(segs.v);
    return segs.n > 0;
}

/* Depths are kept only while contiguous from 1: a range at depth D with
 * no depth D-1 anywhere has no caller to hang from. */
static void pack_inlines(struct symtable_builder *b, struct packed *p)
{
    size_t i = 0;
    uint32_t want = 1;

    runsort(b->inl, b->ninl, sizeof(*b->inl), cmp_inline, b);
    while (i < b->ninl && b->inl[i].depth == want) {
        size_t j = i;

        while (j < b->ninl && b->inl[j].depth == want)
            j++;
        if (!pack_depth(&b->inl[i], j - i, p))
            break;
        i = j;
        want++;
    }
}

/* --- writing -------------------------------------------------------- */

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static void *write_blob(const struct symtable_builder *b,
                        const struct packed *p, size_t *len)
{
    const struct vec *v[SYMTABLE_NSEC] = {NULL,
                                          NULL,
                                          &p->sym_starts,
                                          &p->sym_info,
                                          &p->line_starts,
                                          &p->line_info,
                                          &p->inl_starts,
                                          &p->inl_info,
                                          &p->depths,
                                          &p->index};
    struct symtable_rec_header h = {0};
    size_t off = align8(sizeof(h)), sizes[SYMTABLE_NSEC];
    const void *src[SYMTABLE_NSEC];
    uint8_t *blob;

    for (int i = 0; i < SYMTABLE_NSEC; i++) {
        src[i] = v[i] ? (const void *)v[i]->v : NULL;
        sizes[i] = v[i] ? v[i]->n * v[i]->size : 0;
    }
    src[SYMTABLE_SEC_STRINGS] = b->str;
    sizes[SYMTABLE_SEC_STRINGS] = b->str_len;
    src[SYMTABLE_SEC_FILES] = b->files;
    sizes[SYMTABLE_SEC_FILES] = b->nfiles * sizeof(uint32_t);
    for (int i = 0; i < SYMTABLE_NSEC; i++) {
        h.sec[i].off = off;
        h.sec[i].size = sizes[i];
        off = align8(off + sizes[i]);
    }
    blob = xcalloc(1, off);
    memcpy(h.magic, SYMTABLE_MAGIC, sizeof(h.magic));
    h.version = SYMTABLE_VERSION;
    h.len = off;
    h.image_base = b->image_base;
    h.syms = p->syms;
    h.lines = p->lines;
    for (int i = 0; i < SYMTABLE_NSEC; i++)
        if (sizes[i] > 0)
            memcpy(blob + h.sec[i].off, src[i], sizes[i]);
    memcpy(blob, &h, sizeof(h));
    h.crc = (uint32_t)crc32_z(0, blob + SYMTABLE_CRC_START,
                              off - SYMTABLE_CRC_START);
    memcpy(blob + offsetof(struct symtable_rec_header, crc), &h.crc,
           sizeof(h.crc));
    *len = off;
    return blob;
}

static void packed_free(struct packed *p)
{
    struct vec *v[] = {&p->sym_starts, &p->sym_info,   &p->line_starts,
                       &p->line_info,  &p->inl_starts, &p->inl_info,
                       &p->depths,     &p->index};

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        free(v[i]->v);
}

int symtable_builder_finish(struct symtable_builder *b, void **out, size_t *len)
{
    struct packed p = {
        .sym_starts = {.size = sizeof(uint64_t)},
        .sym_info = {.size = sizeof(struct symtable_rec_sym)},
        .line_starts = {.size = sizeof(uint64_t)},
        .line_info = {.size = sizeof(struct symtable_rec_line)},
        .inl_starts = {.size = sizeof(uint64_t)},
        .inl_info = {.size = sizeof(struct symtable_rec_inline)},
        .depths = {.size = sizeof(struct symtable_rec_map)},
        .index = {.size = sizeof(uint64_t)},
    };
    struct seglist fsegs = {0};
    int rc = 0;

    /* Every map position must fit the uint32_t fields of the format;
     * a map has at most twice as many entries as input records. */
    if (b->str_len > UINT32_MAX || (b->nfuncs + b->npubs) > UINT32_MAX / 4 ||
        b->nlines > UINT32_MAX / 4 || b->ninl > UINT32_MAX / 4)
        return -EINVAL;
    pack_syms(b, &fsegs, &p);
    pack_lines(b, &fsegs, &p);
    pack_inlines(b, &p);
    if (p.inl_starts.n > UINT32_MAX || p.sym_starts.n > UINT32_MAX ||
        p.line_starts.n > UINT32_MAX) {
        rc = -EINVAL;
        goto out;
    }
    *out = write_blob(b, &p, len);
out:
    free(fsegs.v);
    packed_free(&p);
    return rc;
}
