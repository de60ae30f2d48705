/* SPDX-License-Identifier: MIT */
/*
 * pdb_sym: a module's symbol stream.  Procedures (S_GPROC32, S_LPROC32
 * and their _ID variants) become functions; inline sites (S_INLINESITE,
 * S_INLINESITE2) become inline ranges whose extent and lines come from
 * their binary annotations, a small program of code-offset and
 * line-offset changes relative to the procedure start and to the
 * inlinee's first line (DEBUG_S_INLINEELINES).  The call site of an
 * inline range is where its parent (the procedure's line table, or the
 * enclosing inline site's rows) is at that address.  Scopes nest with
 * S_END, S_PROC_ID_END and S_INLINESITE_END; thunks are functions too;
 * blocks and the like only keep the nesting straight.
 */
#include "symsrvd_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdb/pdb_int.h"
#include "xalloc.h"

enum {
    S_END = 0x0006,
    S_THUNK32 = 0x1102,
    S_BLOCK32 = 0x1103,
    S_WITH32 = 0x1104,
    S_LPROC32 = 0x110F,
    S_GPROC32 = 0x1110,
    S_COMPILE2 = 0x1116,
    S_GMANPROC = 0x112A,
    S_LMANPROC = 0x112B,
    S_SEPCODE = 0x1132,
    S_COMPILE3 = 0x113C,
    S_LPROC32_ID = 0x1146,
    S_GPROC32_ID = 0x1147,
    S_INLINESITE = 0x114D,
    S_INLINESITE_END = 0x114E,
    S_PROC_ID_END = 0x114F,
    S_LPROC32_DPC = 0x1155,
    S_LPROC32_DPC_ID = 0x1156,
    S_INLINESITE2 = 0x115D,
};

#define CV_SIGNATURE_C13 4
#define PROC_NAME_OFF    35
#define THUNK_NAME_OFF   21

enum scope_kind { SCOPE_OTHER, SCOPE_PROC, SCOPE_SITE };

struct scope {
    enum scope_kind kind;
    uint32_t depth;        /* inline depth: 0 for a procedure */
    uint64_t start, end;   /* procedure extent (sites: their proc's) */
    struct pdb_rows rows;  /* a site's own rows, normalized */
};

struct sym_ctx {
    struct pdb *p;
    struct symtable_builder *b;
    struct pdb_c13 c13;
    enum symtable_lang lang;
    struct scope *stack;
    size_t depth, cap;
    struct pdb_rows all; /* outer lines and every site's rows */
    size_t pieces;       /* inline ranges added so far */
    int err;             /* first failure inside a record */
};

/* Annotation decoder state (see the file comment). */
struct ann {
    const uint8_t *d;
    size_t len, pos;
    uint64_t proc;       /* procedure start */
    uint32_t code, base; /* code offset and its base */
    int64_t line;
    uint32_t file;       /* file checksum offset */
    bool open;           /* a row was emitted and not yet closed */
    uint64_t row_start;
    uint32_t row_len;    /* 0: up to the next row */
    int64_t row_line;
    uint32_t row_file;
};

static enum symtable_lang sym_lang(uint32_t cv_lang)
{
    switch (cv_lang) {
    case 0x00: return SYMTABLE_LANG_C;
    case 0x01: return SYMTABLE_LANG_CPP;
    case 0x03: return SYMTABLE_LANG_ASM;
    case 0x13: return SYMTABLE_LANG_SWIFT;
    case 0x15: return SYMTABLE_LANG_RUST;
    case 0x44: return SYMTABLE_LANG_D;
    default: return SYMTABLE_LANG_UNKNOWN;
    }
}

static struct scope *sym_push(struct sym_ctx *x, enum scope_kind kind)
{
    struct scope *s;

    if (x->depth == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 16;
        x->stack = xreallocarray(x->stack, x->cap, sizeof(*x->stack));
    }
    s = &x->stack[x->depth++];
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    return s;
}

static void sym_pop(struct sym_ctx *x)
{
    if (x->depth == 0)
        return;
    x->depth--;
    pdb_rows_free(&x->stack[x->depth].rows);
}

/* The innermost procedure or inline site below the top scope, and the
 * procedure itself. */
static struct scope *sym_parent(struct sym_ctx *x, struct scope **proc)
{
    struct scope *up = NULL;

    *proc = NULL;
    for (size_t i = 0; i + 1 < x->depth; i++) {
        if (x->stack[i].kind != SCOPE_OTHER)
            up = &x->stack[i];
        if (x->stack[i].kind == SCOPE_PROC)
            *proc = &x->stack[i];
    }
    return up;
}

static void sym_proc(struct sym_ctx *x, const uint8_t *r, size_t len)
{
    struct scope *s = sym_push(x, SCOPE_OTHER);
    const char *name = pdb_cstr(r, len, PROC_NAME_OFF);
    uint32_t size;
    uint64_t rva;

    if (len <= PROC_NAME_OFF || !name ||
        !pdb_dbi_rva(x->p, le16(r + 32), le32(r + 28), &rva))
        return;
    size = le32(r + 12);
    s->kind = SCOPE_PROC;
    s->start = rva;
    s->end = rva + size;
    symtable_builder_add_func(x->b, rva, size, name, x->lang);
}

/* S_THUNK32 {parent, end, next, offset, segment, length, ordinal, name}:
 * import and incremental-linking thunks, functions of their own. */
static void sym_thunk(struct sym_ctx *x, const uint8_t *r, size_t len)
{
    const char *name = pdb_cstr(r, len, THUNK_NAME_OFF);
    uint64_t rva;

    sym_push(x, SCOPE_OTHER);
    if (len > THUNK_NAME_OFF && name && *name &&
        pdb_dbi_rva(x->p, le16(r + 16), le32(r + 12), &rva))
        symtable_builder_add_func(x->b, rva, le16(r + 18), name,
                                  SYMTABLE_LANG_UNKNOWN);
}

/* CVUncompressData: 1, 2 or 4 bytes, big-endian, length in the top bits. */
static bool ann_uint(struct ann *a, uint32_t *out)
{
    const uint8_t *d = a->d + a->pos;
    size_t left = a->len - a->pos;

    if (left >= 1 && (d[0] & 0x80) == 0) {
        *out = d[0];
        a->pos += 1;
    } else if (left >= 2 && (d[0] & 0xC0) == 0x80) {
        *out = ((uint32_t)(d[0] & 0x3F) << 8) | d[1];
        a->pos += 2;
    } else if (left >= 4 && (d[0] & 0xE0) == 0xC0) {
        *out = ((uint32_t)(d[0] & 0x1F) << 24) | ((uint32_t)d[1] << 16) |
               ((uint32_t)d[2] << 8) | d[3];
        a->pos += 4;
    } else {
        return false;
    }
    return true;
}

static int32_t ann_signed(uint32_t v)
{
    return (v & 1) ? -(int32_t)(v >> 1) : (int32_t)(v >> 1);
}

/* Close the open row at END (or its own length) into OUT. */
static void ann_close(struct ann *a, uint64_t end, struct sym_ctx *x,
                      struct pdb_rows *out)
{
    uint32_t line;

    if (!a->open)
        return;
    if (a->row_len)
        end = a->row_start + a->row_len;
    line = (a->row_line > 0 && a->row_line <= 0xFFFFFF) ? (uint32_t)a->row_line
                                                        : 0;
    if (end > a->row_start)
        pdb_rows_push(out, a->row_start, end,
                      pdb_c13_file(x->p, &x->c13, a->row_file, x->b), line,
                      0);
    a->open = false;
}

static void ann_emit(struct ann *a, uint32_t len, struct sym_ctx *x,
                     struct pdb_rows *out)
{
    uint64_t at = a->proc + a->base + a->code;

    ann_close(a, at, x, out);
    a->open = true;
    a->row_start = at;
    a->row_len = len;
    a->row_line = a->line;
    a->row_file = a->file;
}

/* Run one opcode; false at the end of the program. */
static bool ann_step(struct ann *a, struct sym_ctx *x, struct pdb_rows *out)
{
    uint32_t op, v, w;

    if (!ann_uint(a, &op) || op == 0 || !ann_uint(a, &v))
        return false;
    switch (op) {
    case 1: a->code = v; break;                     /* CodeOffset */
    case 2: a->base = v; break;                     /* ChangeCodeOffsetBase */
    case 3: a->code += v; ann_emit(a, 0, x, out); break;
    case 4:                                         /* ChangeCodeLength */
        if (a->open && a->row_len == 0)
            a->row_len = v;
        a->code += v;
        break;
    case 5: a->file = v; break;                     /* ChangeFile */
    case 6: a->line += ann_signed(v); break;        /* ChangeLineOffset */
    case 11:                          /* ChangeCodeOffsetAndLineOffset */
        a->line += ann_signed(v >> 4);
        a->code += v & 0xF;
        ann_emit(a, 0, x, out);
        break;
    case 12:                          /* ChangeCodeLengthAndCodeOffset */
        if (!ann_uint(a, &w))
            return false;
        a->code += w;
        ann_emit(a, v, x, out);
        break;
    default: break; /* columns, range kind, line end: not needed */
    }
    return true;
}

/* Decode a site's annotations into its rows. */
static void sym_site_rows(struct sym_ctx *x, const uint8_t *d, size_t len,
                          const struct scope *proc, uint32_t item,
                          struct pdb_rows *out)
{
    const struct pdb_inlinee *in = pdb_c13_inlinee(&x->c13, item);
    struct ann a = {.d = d, .len = len, .proc = proc->start};

    a.line = in ? in->line : 0;
    a.file = in ? in->file : UINT32_MAX;
    while (ann_step(&a, x, out))
        ;
    ann_close(&a, proc->end, x, out);
    pdb_rows_normalize(out);
}

/* Add [start, end) of a site at DEPTH, split where the parent's location
 * (the call site) changes. */
static void sym_site_ranges(struct sym_ctx *x, const struct pdb_rows *parent,
                            const struct pdb_row *r, uint32_t depth,
                            const char *name)
{
    size_t k = pdb_rows_upper(parent, r->start);
    uint64_t a = r->start;

    while (a < r->end) {
        uint64_t e = r->end;
        uint32_t file = 0, line = 0;
        const struct pdb_row *pr = k ? &parent->v[k - 1] : NULL;

        if (pr && pr->start <= a && pr->end > a) {
            file = pr->file;
            line = pr->line;
            if (pr->end < e)
                e = pr->end;
        } else if (k < parent->n && parent->v[k].start < e) {
            e = parent->v[k].start;
        }
        /* Valid sites nest, so their pieces number at most about twice
         * the rows; overlapping hostile ones must not multiply them. */
        if (++x->pieces > 4 * x->all.n + 1024) {
            x->err = objfile_fail(x->p->map, -EINVAL, "inline sites overlap");
            return;
        }
        symtable_builder_add_inline(x->b, a, e - a, depth, name, file, line,
                                    x->lang);
        a = e;
        while (k < parent->n && parent->v[k].start <= a)
            k++;
    }
}

static void sym_site(struct sym_ctx *x, const uint8_t *r, size_t len,
                     size_t ann_off)
{
    struct scope *s = sym_push(x, SCOPE_OTHER), *proc;
    struct scope *up = sym_parent(x, &proc);
    const struct pdb_rows *parent_rows;
    char name[512];

    if (!up || !proc || len < ann_off)
        return;
    parent_rows = up->kind == SCOPE_SITE ? &up->rows : &x->c13.lines;
    s->kind = SCOPE_SITE;
    s->depth = up->depth + 1;
    s->start = proc->start;
    s->end = proc->end;
    if (!pdb_ipi_func_name(x->p, pdb_xmod_resolve(x->p, &x->c13, le32(r + 8)),
                           name, sizeof(name)))
        snprintf(name, sizeof(name), "??");
    sym_site_rows(x, r + ann_off, len - ann_off, proc, le32(r + 8), &s->rows);
    for (size_t i = 0; i < s->rows.n && !x->err; i++) {
        const struct pdb_row *row = &s->rows.v[i];

        pdb_rows_push(&x->all, row->start, row->end, row->file, row->line,
                      s->depth);
        sym_site_ranges(x, parent_rows, row, s->depth, name);
    }
}

static void sym_record(struct sym_ctx *x, uint16_t kind, const uint8_t *r,
                       size_t len)
{
    switch (kind) {
    case S_GPROC32: case S_LPROC32: case S_GPROC32_ID: case S_LPROC32_ID:
    case S_LPROC32_DPC: case S_LPROC32_DPC_ID:
        sym_proc(x, r, len);
        break;
    case S_INLINESITE: sym_site(x, r, len, 12); break;
    case S_INLINESITE2: sym_site(x, r, len, 16); break;
    case S_THUNK32: sym_thunk(x, r, len); break;
    case S_BLOCK32: case S_WITH32: case S_SEPCODE:
    case S_GMANPROC: case S_LMANPROC:
        sym_push(x, SCOPE_OTHER);
        break;
    case S_END: case S_PROC_ID_END: case S_INLINESITE_END:
        sym_pop(x);
        break;
    case S_COMPILE2: case S_COMPILE3:
        if (len >= 4)
            x->lang = sym_lang(le32(r) & 0xFF);
        break;
    default: break;
    }
}

static int sym_walk(struct sym_ctx *x, const uint8_t *d, size_t len)
{
    size_t pos = 4;

    if (len < 4 || le32(d) != CV_SIGNATURE_C13)
        return 0; /* no symbols, or pre-C13 (C7/C11) records */
    while (len - pos >= 4) {
        size_t rec = le16(d + pos);

        if (rec < 2 || rec > len - pos - 2)
            return objfile_fail(x->p->map, -EINVAL,
                                "symbol record at %zu overruns its "
                                "stream",
                                pos);
        sym_record(x, le16(d + pos + 2), d + pos + 4, rec - 2);
        if (x->err)
            return x->err;
        pos += 2 + rec;
    }
    return 0;
}

int pdb_sym_module(struct pdb *p, const struct pdb_module *m,
                   struct symtable_builder *b)
{
    struct sym_ctx x = {.p = p, .b = b};
    struct pdb_stream s;
    int rc;

    rc = pdb_dbi_module_stream(p, m, &s);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    rc = pdb_c13_parse(p, s.data + m->sym_bytes + m->c11_bytes,
                       m->c13_bytes, b, &x.c13);
    for (size_t i = 0; rc == 0 && i < x.c13.lines.n; i++)
        pdb_rows_push(&x.all, x.c13.lines.v[i].start, x.c13.lines.v[i].end,
                      x.c13.lines.v[i].file, x.c13.lines.v[i].line, 0);
    if (rc == 0)
        rc = sym_walk(&x, s.data, m->sym_bytes);
    if (rc == 0)
        pdb_lines_emit(&x.all, b);
    while (x.depth)
        sym_pop(&x);
    free(x.stack);
    pdb_rows_free(&x.all);
    pdb_c13_free(&x.c13);
    pdb_stream_free(&s);
    return rc;
}
