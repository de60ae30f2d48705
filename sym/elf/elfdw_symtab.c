/* SPDX-License-Identifier: MIT */
/*
 * elfdw_symtab: the ELF symbol table as the fallback source of function
 * names, for files without DWARF and for code no DWARF function covers
 * (CRT start-up code, assembly, libraries linked in without -g).
 *
 * .symtab is used when present, else .dynsym.  Only STT_FUNC and
 * STT_GNU_IFUNC symbols defined in an executable segment count.  Several
 * symbols often share an address (aliases such as C1/C2 constructors);
 * like llvm-symbolizer we keep one per address: the largest size, then
 * the one last in the table.
 * A symbol without a size runs to the next one.  A local
 * function also gets the source file of the STT_FILE symbol before it
 * (line 0), as llvm-symbolizer reports it, e.g. "crtstuff.c:0".
 */
#include "symsrvd_config.h"
#include "elf/elfdw_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bound.h"
#include "runsort.h"
#include "table/symtable.h"
#include "xalloc.h"

static int elfdw_sym_cmp(const void *a, const void *b, void *ctx)
{
    const struct elfdw_sym *x = a, *y = b;

    (void)ctx;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return (x->index < y->index) - (x->index > y->index);
}

static Elf_Scn *elfdw_symtab_section(Elf *elf, GElf_Shdr *sh)
{
    static const GElf_Word types[] = {SHT_SYMTAB, SHT_DYNSYM};
    size_t i;

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        Elf_Scn *scn = NULL;

        for (scn = elf_nextscn(elf, NULL); scn != NULL;
             scn = elf_nextscn(elf, scn)) {
            if (gelf_getshdr(scn, sh) != NULL && sh->sh_type == types[i])
                return scn;
        }
    }
    return NULL;
}

/* Append symbol I of DATA to OUT when it is a function worth keeping;
 * *FILE tracks the last STT_FILE name. */
static void elfdw_sym_take(struct elfdw_build_ctx *c, Elf *elf,
                           const GElf_Shdr *sh, Elf_Data *data, size_t i,
                           bool thumb, const char **file,
                           struct elfdw_syms *out)
{
    GElf_Sym s;
    const char *name;
    uint64_t addr;
    unsigned char type;

    if (gelf_getsym(data, (int)i, &s) == NULL)
        return;
    type = GELF_ST_TYPE(s.st_info);
    if (type == STT_FILE) {
        *file = elf_strptr(elf, sh->sh_link, s.st_name);
        return;
    }
    if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
        s.st_shndx == SHN_UNDEF)
        return;
    /* On 32-bit ARM the low bit of a function address marks Thumb code. */
    addr = thumb ? s.st_value & ~(uint64_t)1 : s.st_value;
    if (!elfdw_ranges_contains(&c->exec, addr))
        return;
    name = elf_strptr(elf, sh->sh_link, s.st_name);
    if (name == NULL || name[0] == '\0')
        return;
    if (out->n == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 256;
        out->v = xreallocarray(out->v, out->cap, sizeof(*out->v));
    }
    out->v[out->n].addr = addr;
    out->v[out->n].size = s.st_size;
    out->v[out->n].name = name;
    out->v[out->n].index = i;
    out->v[out->n].file =
        GELF_ST_BIND(s.st_info) == STB_LOCAL && *file && **file ? *file
                                                               : NULL;
    out->n++;
}

void elfdw_syms_sort(struct elfdw_syms *syms)
{
    size_t i, out = 0;

    if (syms->n == 0)
        return;
    keysort(syms->v, syms->n, sizeof(*syms->v),
            offsetof(struct elfdw_sym, addr), elfdw_sym_cmp, NULL);
    for (i = 1; i < syms->n; i++) {
        if (syms->v[i].addr != syms->v[out].addr)
            syms->v[++out] = syms->v[i];
    }
    syms->n = out + 1;
}

int elfdw_symtab_load(struct elfdw_build_ctx *c, Elf *elf)
{
    GElf_Shdr sh;
    GElf_Ehdr eh;
    Elf_Scn *scn = elfdw_symtab_section(elf, &sh);
    Elf_Data *data;
    const char *file = NULL;
    size_t i, n, entsize;
    bool thumb;

    if (scn == NULL || sh.sh_type == SHT_NOBITS)
        return 0;
    data = elf_getdata(scn, NULL);
    entsize = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
    if (data == NULL || entsize == 0 || gelf_getehdr(elf, &eh) == NULL)
        return objfile_fail(c->map, -EINVAL, "symbol table: %s",
                            elf_errmsg(-1));
    thumb = eh.e_machine == EM_ARM;
    /* elf_getdata() checked the section against the file, so N is bounded
     * by the file size. */
    n = data->d_size / entsize;
    for (i = 0; i < n; i++)
        elfdw_sym_take(c, elf, &sh, data, i, thumb, &file, &c->syms);
    elfdw_syms_sort(&c->syms);
    return 0;
}

const char *elfdw_symtab_name_at(const struct elfdw_build_ctx *c,
                                 uint64_t addr)
{
    size_t lo = bound_lower(c->syms.v, c->syms.n, sizeof(*c->syms.v),
                            offsetof(struct elfdw_sym, addr), addr);

    if (lo < c->syms.n && c->syms.v[lo].addr == addr)
        return c->syms.v[lo].name;
    return NULL;
}

/* Whether C->want has an address in [LO, HI). */
static bool elfdw_want_in(const struct elfdw_build_ctx *c, uint64_t lo,
                          uint64_t hi)
{
    size_t k = bound_lower(c->want, c->nwant, sizeof(*c->want), 0, lo);

    return k < c->nwant && c->want[k] < hi;
}

/* Whether symbol I may cover an address of C->want: by its own size, or
 * up to the next symbol when that is further (a size-0 symbol runs to
 * the next start). */
static bool elfdw_sym_covers_want(const struct elfdw_build_ctx *c, size_t i)
{
    const struct elfdw_sym *s = &c->syms.v[i];
    uint64_t next = i + 1 < c->syms.n ? c->syms.v[i + 1].addr : UINT64_MAX;
    uint64_t end = s->addr + s->size > next ? s->addr + s->size : next;

    return elfdw_want_in(c, s->addr, end);
}

static bool elfdw_same_file(const struct elfdw_sym *a,
                            const struct elfdw_sym *b)
{
    return a->file != NULL && b->file != NULL && strcmp(a->file, b->file) == 0;
}

/* Mark in WANTED the symbols that can matter to a lookup of C->want: those
 * that may cover one, the symbol after each (it bounds a size-0 one), and
 * the whole run of neighbours from the same STT_FILE (their line records
 * are merged into one, whose start a lookup reports).  Feeding the other
 * tens of thousands would cost more than the CUs a cold answer reads. */
static void elfdw_syms_wanted(const struct elfdw_build_ctx *c, bool *wanted)
{
    const struct elfdw_sym *v = c->syms.v;
    size_t n = c->syms.n;

    for (size_t i = 0; i < n; i++) {
        size_t lo = i, hi = i + 1;

        if (!elfdw_sym_covers_want(c, i))
            continue;
        while (lo > 0 && elfdw_same_file(&v[lo - 1], &v[lo]))
            lo--;
        while (hi < n && elfdw_same_file(&v[hi - 1], &v[hi]))
            hi++;
        if (hi < n)
            hi++; /* the next start */
        for (size_t k = lo; k < hi; k++)
            wanted[k] = true;
    }
}

void elfdw_symtab_feed(struct elfdw_build_ctx *c)
{
    bool *wanted = NULL;
    size_t i;

    if (c->want != NULL) {
        wanted = xcalloc(c->syms.n ? c->syms.n : 1, sizeof(*wanted));
        elfdw_syms_wanted(c, wanted);
    }
    for (i = 0; i < c->syms.n; i++) {
        const struct elfdw_sym *s = &c->syms.v[i];

        if (elfdw_ranges_contains(&c->covered, s->addr) ||
            (wanted != NULL && !wanted[i]))
            continue;
        /* Size 0 (hand-written assembly) lets the function run to the
         * next symbol, as llvm-symbolizer assumes. */
        symtable_builder_add_func(c->b, s->addr - c->base, s->size, s->name,
                                  SYMTABLE_LANG_UNKNOWN);
        if (s->file != NULL)
            symtable_builder_add_line(c->b, s->addr - c->base, s->size,
                                      symtable_builder_file(c->b, s->file),
                                      0);
    }
    free(wanted);
}
