/* SPDX-License-Identifier: MIT */
/*
 * pdb_lines: the C13 debug subsections at the end of a module's symbol
 * stream.  DEBUG_S_LINES maps code to file:line (the outer function's
 * view: inlined code shows as the line of the call), DEBUG_S_FILECHKSMS
 * names the files through the "/names" string table, and
 * DEBUG_S_INLINEELINES gives the file and first line of each function
 * inlined in the module, which inline sites' binary annotations are
 * relative to.  pdb_lines_emit() then flattens the outer line table and
 * the inline sites' rows into the innermost location of each address.
 */
#include "symsrvd_config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bound.h"
#include "pdb/pdb_int.h"
#include "xalloc.h"

#define CV_LINES_HAVE_COLUMNS 0x0001
#define CV_LINE_NUMBER_MASK   0x00FFFFFFu

void pdb_rows_push(struct pdb_rows *r, uint64_t start, uint64_t end,
                   uint32_t file, uint32_t line, uint32_t depth)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->v = xreallocarray(r->v, r->cap, sizeof(*r->v));
    }
    r->v[r->n] = (struct pdb_row){start, end, file, line, depth, r->n};
    r->n++;
}

void pdb_rows_free(struct pdb_rows *r)
{
    free(r->v);
    memset(r, 0, sizeof(*r));
}

static int row_cmp(const void *a, const void *b)
{
    const struct pdb_row *x = a, *y = b;

    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->depth != y->depth)
        return x->depth < y->depth ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void pdb_rows_normalize(struct pdb_rows *r)
{
    size_t out = 0;

    if (r->n > 1)
        qsort(r->v, r->n, sizeof(*r->v), row_cmp);
    for (size_t i = 0; i < r->n; i++) {
        struct pdb_row row = r->v[i];

        if (i + 1 < r->n && r->v[i + 1].start < row.end)
            row.end = r->v[i + 1].start;
        if (row.end > row.start)
            r->v[out++] = row;
    }
    r->n = out;
}

size_t pdb_rows_upper(const struct pdb_rows *r, uint64_t addr)
{
    return bound_upper(r->v, r->n, sizeof(*r->v),
                       offsetof(struct pdb_row, start), addr);
}

ptrdiff_t pdb_rows_find(const struct pdb_rows *r, uint64_t addr)
{
    size_t k = pdb_rows_upper(r, addr);

    if (k == 0 || r->v[k - 1].end <= addr)
        return -1;
    return (ptrdiff_t)k - 1;
}

uint32_t pdb_c13_file(struct pdb *p, const struct pdb_c13 *c, uint32_t off,
                      struct symtable_builder *b)
{
    const char *name;

    if (!c->checksums || off > c->checksums_len ||
        c->checksums_len - off < 6)
        return 0;
    name = pdb_cstr(p->names.data, p->names.len, le32(c->checksums + off));
    return name ? symtable_builder_file(b, name) : 0;
}

static int inlinee_cmp(const void *a, const void *b)
{
    const struct pdb_inlinee *x = a, *y = b;

    return x->item < y->item ? -1 : x->item > y->item;
}

const struct pdb_inlinee *pdb_c13_inlinee(const struct pdb_c13 *c,
                                          uint32_t item)
{
    struct pdb_inlinee key = {.item = item};

    if (!c->num_inlinees)
        return NULL;
    return bsearch(&key, c->inlinees, c->num_inlinees,
                   sizeof(key), inlinee_cmp);
}

/* DEBUG_S_INLINEELINES: a signature (0, or 1 when each entry lists extra
 * files), then entries {inlinee, file, line[, count, files[count]]}. */
static int c13_inlinees(struct pdb *p, const uint8_t *d, size_t len,
                        struct pdb_c13 *c)
{
    size_t pos = 4, cap;
    uint32_t sig;

    if (len < 4)
        return objfile_fail(p->map, -EINVAL,
                            "inlinee lines subsection is truncated");
    sig = le32(d);
    if (sig > 1)
        return objfile_fail(p->map, -EINVAL,
                            "inlinee lines: unknown signature %u", sig);
    cap = c->num_inlinees + len / 12;
    c->inlinees = xreallocarray(c->inlinees, cap + 1, sizeof(*c->inlinees));
    while (pos + 12 <= len) {
        struct pdb_inlinee *e = &c->inlinees[c->num_inlinees++];

        e->item = le32(d + pos);
        e->file = le32(d + pos + 4);
        e->line = le32(d + pos + 8);
        pos += 12;
        if (sig == 1) {
            if (pos + 4 > len || le32(d + pos) > (len - pos - 4) / 4)
                return objfile_fail(p->map, -EINVAL,
                                    "inlinee lines: extra files overrun");
            pos += 4 + (size_t)le32(d + pos) * 4;
        }
    }
    return 0;
}

/* One file block of a DEBUG_S_LINES subsection, at D[0..LEN). */
static int c13_line_block(struct pdb *p, const uint8_t *d, size_t len,
                          bool columns, uint64_t base, uint64_t end,
                          struct symtable_builder *b, struct pdb_c13 *c)
{
    uint32_t nlines = le32(d + 4);
    size_t each = columns ? 12 : 8;
    uint32_t file;

    if (nlines > (len - 12) / each)
        return objfile_fail(p->map, -EINVAL, "line block: %u lines do not fit",
                            nlines);
    file = pdb_c13_file(p, c, le32(d), b);
    for (uint32_t i = 0; i < nlines; i++) {
        const uint8_t *l = d + 12 + (size_t)i * 8;
        uint32_t line = le32(l + 4) & CV_LINE_NUMBER_MASK;

        pdb_rows_push(&c->lines, base + le32(l), end, file, line, 0);
    }
    return 0;
}

/* DEBUG_S_LINES: {offset, segment, flags, code size} and file blocks.
 * Each line runs to the next line's offset, the last to the code size;
 * pdb_rows_normalize() cuts them so. */
static int c13_lines(struct pdb *p, const uint8_t *d, size_t len,
                     struct symtable_builder *b, struct pdb_c13 *c)
{
    uint64_t base;
    size_t pos = 12;
    int rc;

    if (len < 12)
        return objfile_fail(p->map, -EINVAL, "lines subsection is truncated");
    if (!pdb_dbi_rva(p, le16(d + 4), le32(d), &base))
        return 0; /* code the linker dropped */
    while (pos + 12 <= len) {
        uint32_t cb = le32(d + pos + 8);

        if (cb < 12 || cb > len - pos)
            return objfile_fail(p->map, -EINVAL,
                                "line block of %u bytes overruns", cb);
        rc = c13_line_block(p, d + pos, cb, le16(d + 6) & CV_LINES_HAVE_COLUMNS,
                            base, base + le32(d + 8), b, c);
        if (rc < 0)
            return rc;
        pos += cb;
    }
    return 0;
}

/* Call VISIT for each subsection of KIND, stopping at the first error or
 * positive return. */
static int c13_walk(struct pdb *p, const uint8_t *data, size_t len,
                    uint32_t kind,
                    int (*visit)(struct pdb *, const uint8_t *, size_t,
                                 void *),
                    void *arg)
{
    size_t pos = 0;
    int rc = 0;

    while (rc == 0 && len - pos >= 8) {
        uint32_t k = le32(data + pos), n = le32(data + pos + 4);

        if (n > len - pos - 8)
            return objfile_fail(p->map, -EINVAL,
                                "C13 subsection %#x of %u bytes overruns", k,
                                n);
        if (k == kind)
            rc = visit(p, data + pos + 8, n, arg);
        pos += 8 + (size_t)n;
        pos += (4 - pos % 4) % 4;
        if (pos > len)
            break;
    }
    return rc < 0 ? rc : 0;
}

struct c13_found {
    const uint8_t *d;
    size_t len;
};

static int c13_take(struct pdb *p, const uint8_t *d, size_t len, void *arg)
{
    struct c13_found *f = arg;

    (void)p;
    f->d = d;
    f->len = len;
    return 1;
}

int pdb_c13_find(struct pdb *p, const uint8_t *data, size_t len,
                 uint32_t kind, const uint8_t **sub, size_t *sublen)
{
    struct c13_found f = {NULL, 0};
    int rc = c13_walk(p, data, len, kind, c13_take, &f);

    *sub = f.d;
    *sublen = f.len;
    return rc;
}

struct c13_lines_arg {
    struct symtable_builder *b;
    struct pdb_c13 *c;
};

static int c13_visit_inlinees(struct pdb *p, const uint8_t *d, size_t len,
                              void *arg)
{
    return c13_inlinees(p, d, len, arg);
}

static int c13_visit_lines(struct pdb *p, const uint8_t *d, size_t len,
                           void *arg)
{
    struct c13_lines_arg *a = arg;

    return c13_lines(p, d, len, a->b, a->c);
}

int pdb_c13_parse(struct pdb *p, const uint8_t *data, size_t len,
                  struct symtable_builder *b, struct pdb_c13 *c)
{
    struct c13_lines_arg la = {b, c};
    int rc;

    memset(c, 0, sizeof(*c));
    rc = pdb_c13_find(p, data, len, DEBUG_S_FILECHKSMS, &c->checksums,
                      &c->checksums_len);
    if (rc == 0)
        rc = pdb_c13_find(p, data, len, DEBUG_S_CROSSSCOPEIMPORTS,
                          &c->imports, &c->imports_len);
    if (rc == 0)
        rc = c13_walk(p, data, len, DEBUG_S_INLINEELINES,
                      c13_visit_inlinees, c);
    if (rc == 0)
        rc = c13_walk(p, data, len, DEBUG_S_LINES, c13_visit_lines, &la);
    if (rc == 0 && c->num_inlinees > 1)
        qsort(c->inlinees, c->num_inlinees, sizeof(*c->inlinees),
              inlinee_cmp);
    pdb_rows_normalize(&c->lines);
    return rc;
}

void pdb_c13_free(struct pdb_c13 *c)
{
    free(c->inlinees);
    pdb_rows_free(&c->lines);
    memset(c, 0, sizeof(*c));
}

/* A max-heap of row indices, deepest (then latest) row on top. */
struct row_heap {
    const struct pdb_row *rows;
    size_t *v;
    size_t n;
};

static bool heap_above(const struct row_heap *h, size_t a, size_t b)
{
    const struct pdb_row *x = &h->rows[h->v[a]], *y = &h->rows[h->v[b]];

    return x->depth != y->depth ? x->depth > y->depth : h->v[a] > h->v[b];
}

static void heap_swap(struct row_heap *h, size_t a, size_t b)
{
    size_t t = h->v[a];

    h->v[a] = h->v[b];
    h->v[b] = t;
}

static void heap_push(struct row_heap *h, size_t row)
{
    size_t i = h->n++;

    h->v[i] = row;
    while (i > 0 && heap_above(h, i, (i - 1) / 2)) {
        heap_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_pop(struct row_heap *h)
{
    size_t i = 0;

    h->v[0] = h->v[--h->n];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, top = i;

        if (l < h->n && heap_above(h, l, top))
            top = l;
        if (r < h->n && heap_above(h, r, top))
            top = r;
        if (top == i)
            return;
        heap_swap(h, i, top);
        i = top;
    }
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Emit [start, end) with ROW's location, merging with the pending one. */
static void lines_flush(struct pdb_row *pend, const struct pdb_row *row,
                        uint64_t start, uint64_t end,
                        struct symtable_builder *b)
{
    if (row && pend->end == start && pend->file == row->file &&
        pend->line == row->line) {
        pend->end = end;
        return;
    }
    if (pend->end > pend->start)
        symtable_builder_add_line(b, pend->start, pend->end - pend->start,
                                  pend->file, pend->line);
    if (row)
        *pend = (struct pdb_row){start, end, row->file, row->line, 0, 0};
}

void pdb_lines_emit(struct pdb_rows *rows, struct symtable_builder *b)
{
    size_t nb = 0, next = 0;
    uint64_t *bounds = xcalloc(rows->n * 2 + 1, sizeof(*bounds));
    struct row_heap h = {rows->v, xcalloc(rows->n + 1, sizeof(size_t)), 0};
    struct pdb_row pend = {0};

    if (rows->n > 1)
        qsort(rows->v, rows->n, sizeof(*rows->v), row_cmp);
    for (size_t i = 0; i < rows->n; i++) {
        bounds[nb++] = rows->v[i].start;
        bounds[nb++] = rows->v[i].end;
    }
    qsort(bounds, nb, sizeof(*bounds), u64_cmp);
    for (size_t i = 0; i + 1 < nb; i++) {
        if (bounds[i] == bounds[i + 1])
            continue;
        while (next < rows->n && rows->v[next].start <= bounds[i])
            heap_push(&h, next++);
        while (h.n && rows->v[h.v[0]].end <= bounds[i])
            heap_pop(&h);
        if (h.n)
            lines_flush(&pend, &rows->v[h.v[0]], bounds[i], bounds[i + 1],
                        b);
    }
    lines_flush(&pend, NULL, 0, 0, b);
    free(h.v);
    free(bounds);
}
