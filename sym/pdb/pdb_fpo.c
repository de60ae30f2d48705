/* SPDX-License-Identifier: MIT */
/*
 * pdb_fpo: the x86 frame-layout records of a PDB, as Breakpad STACK WIN
 * records, so that a stack walker with only the PDBs a symbol server
 * caches (not dump_syms output) can unwind frames that omit the frame
 * pointer.
 *
 * Two streams named by the DBI optional debug header hold them:
 *   - FPO (index 0): FPO_DATA, 16 bytes: start, size, locals in dwords,
 *     params in dwords, then a 16-bit field: prolog bytes (8 bits), saved
 *     registers (3), has SEH (1), uses EBP (1), reserved (1), frame type
 *     (2).  Becomes STACK WIN 0 (or the frame type) without a program.
 *   - new FPO (index 9): FRAMEDATA, 32 bytes: start, size, locals bytes,
 *     params bytes, max stack, program string offset in /names, prolog
 *     (16 bits), saved registers bytes (16), flags.  Becomes STACK WIN 4.
 * dump_syms (through DIA) writes one record per RVA, and so do we: the
 * linker repeats identical FRAMEDATA records for functions folded
 * together.  Checked against llvm-pdbutil-14 dump --fpo and the STACK WIN
 * lines of the fixture's Breakpad file (tests/unit/check_pdb.c).
 */
#include "symsrvd_config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "breakpad/breakpad.h"
#include "pdb/pdb.h"
#include "pdb/pdb_int.h"
#include "runsort.h"
#include "xalloc.h"

#define FPO_DATA_LEN 16
#define FRAME_DATA_LEN 32

/* Records being collected; program strings are offsets into STR until the
 * end, when the string buffer stops moving. */
struct fpo_out {
    struct breakpad_stack *v;
    size_t n;
    char *str;
    size_t str_len, str_cap;
};

static void fpo_push(struct fpo_out *o, const struct breakpad_stack *rec)
{
    o->v[o->n++] = *rec;
}

/* Copy PROG (trailing blanks dropped) into O->str; its offset goes into
 * REC->rules until fpo_finish() turns it into a pointer. */
static void fpo_program(struct fpo_out *o, const char *prog,
                        struct breakpad_stack *rec)
{
    size_t len = strlen(prog);

    while (len > 0 && prog[len - 1] == ' ')
        len--;
    if (o->str_len + len + 1 > o->str_cap) {
        o->str_cap = (o->str_len + len + 1) * 2;
        o->str = xrealloc(o->str, o->str_cap);
    }
    memcpy(o->str + o->str_len, prog, len);
    o->str[o->str_len + len] = '\0';
    rec->rules = (const char *)(uintptr_t)o->str_len;
    rec->rules_len = len;
    rec->has_program_string = len > 0;
    o->str_len += len + 1;
}

static int fpo_read_old(struct pdb *p, const struct pdb_stream *s,
                        struct fpo_out *o)
{
    for (size_t pos = 0; pos + FPO_DATA_LEN <= s->len; pos += FPO_DATA_LEN) {
        const uint8_t *d = s->data + pos;
        uint16_t bits = le16(d + 14);
        struct breakpad_stack rec = {
            .kind = BREAKPAD_STACK_WIN,
            .rva = le32(d),
            .size = le32(d + 4),
            .win_type = (uint32_t)(bits >> 14),
            .prolog_size = bits & 0xff,
            .parameter_size = (uint32_t)le16(d + 12) * 4,
            .saved_register_size = ((bits >> 8) & 7) * 4u,
            .local_size = le32(d + 8) * 4,
            .allocates_base_pointer = (bits >> 12) & 1,
            .rules = NULL, /* offset 0: the empty string */
        };

        (void)p;
        fpo_push(o, &rec);
    }
    return 0;
}

static int fpo_read_new(struct pdb *p, const struct pdb_stream *s,
                        struct fpo_out *o)
{
    for (size_t pos = 0; pos + FRAME_DATA_LEN <= s->len;
         pos += FRAME_DATA_LEN) {
        const uint8_t *d = s->data + pos;
        const char *prog = pdb_cstr(p->names.data, p->names.len, le32(d + 20));
        struct breakpad_stack rec = {
            .kind = BREAKPAD_STACK_WIN,
            .rva = le32(d),
            .size = le32(d + 4),
            .win_type = 4,
            .prolog_size = le16(d + 24),
            .parameter_size = le32(d + 12),
            .saved_register_size = le16(d + 26),
            .local_size = le32(d + 8),
            .max_stack_size = le32(d + 16),
        };

        if (prog == NULL)
            return objfile_fail(p->map, -EINVAL,
                                "frame data at %zu: program string outside "
                                "/names",
                                pos);
        fpo_program(o, prog, &rec);
        fpo_push(o, &rec);
    }
    return 0;
}

/* Read stream IDX (PDB_NO_STREAM: nothing) with READ. */
static int fpo_stream(struct pdb *p, uint16_t idx, size_t rec_len,
                      int (*read)(struct pdb *, const struct pdb_stream *,
                                  struct fpo_out *),
                      struct fpo_out *o)
{
    struct pdb_stream s;
    int rc;

    if (idx == PDB_NO_STREAM)
        return 0;
    rc = pdb_msf_stream(p, idx, &s);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    o->v = xreallocarray(o->v, o->n + s.len / rec_len + 1, sizeof(*o->v));
    rc = read(p, &s, o);
    pdb_stream_free(&s);
    return rc;
}

static int fpo_cmp(const void *a, const void *b, void *ctx)
{
    const struct breakpad_stack *x = a, *y = b;

    (void)ctx;
    if (x->rva != y->rva)
        return x->rva < y->rva ? -1 : 1;
    return (x->win_type > y->win_type) - (x->win_type < y->win_type);
}

/* Sort, keep the first record of each type and RVA, and turn the program
 * offsets into pointers. */
static void fpo_finish(struct fpo_out *o)
{
    size_t out = 0;

    keysort(o->v, o->n, sizeof(*o->v), offsetof(struct breakpad_stack, rva),
            fpo_cmp, NULL);
    for (size_t i = 0; i < o->n; i++) {
        if (out > 0 && fpo_cmp(&o->v[out - 1], &o->v[i], NULL) == 0)
            continue;
        o->v[out++] = o->v[i];
    }
    o->n = out;
    for (size_t i = 0; i < o->n; i++)
        o->v[i].rules = o->str + (uintptr_t)o->v[i].rules;
}

int pdb_stack_records(struct objfile_map *map, struct breakpad_stack **out,
                      size_t *n, char **strings)
{
    struct fpo_out o = {0};
    struct pdb p;
    int rc = pdb_open(map, &p, true);

    *out = NULL;
    *n = 0;
    *strings = NULL;
    o.str = xmalloc(1);
    o.str[0] = '\0';
    o.str_cap = o.str_len = 1;
    if (rc == 0)
        rc = fpo_stream(&p, p.newfpo_stream, FRAME_DATA_LEN, fpo_read_new,
                        &o);
    if (rc == 0)
        rc = fpo_stream(&p, p.fpo_stream, FPO_DATA_LEN, fpo_read_old, &o);
    pdb_close(&p);
    if (rc != 0) {
        free(o.v);
        free(o.str);
        return rc;
    }
    fpo_finish(&o);
    *out = o.v;
    *n = o.n;
    *strings = o.str;
    return 0;
}
