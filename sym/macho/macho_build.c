/* SPDX-License-Identifier: MIT */
/*
 * macho_build: the symbol half of the Mach-O reader.  It gathers what
 * elfdw_build_foreign() needs from a parsed image:
 *   - code ranges: the sections marked as holding instructions;
 *   - function symbols: LC_SYMTAB entries defined in those sections (no
 *     stabs), '_' prefix removed, each ending at the next function start
 *     (another symbol or an LC_FUNCTION_STARTS entry) or at its section's
 *     end, since nlist entries carry no size;
 *   - the __DWARF,__debug_* sections under their ELF names, from the file
 *     itself (a dSYM) or from the dSYM beside a binary.
 */
#include "symsrvd_config.h"
#include "macho/macho.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "elf/elfdw.h"
#include "macho/macho_int.h"
#include "runsort.h"
#include "table/symtable.h"
#include "xalloc.h"

#define MACHO_N_STAB 0xe0u
#define MACHO_N_TYPE 0x0eu
#define MACHO_N_SECT 0x0eu

#define MACHO_S_ATTR_PURE_INSTRUCTIONS 0x80000000u
#define MACHO_S_ATTR_SOME_INSTRUCTIONS 0x00000400u

/* Longest ELF name a Mach-O debug section maps to. */
#define MACHO_ELF_NAME 24

struct macho_dwarf {
    struct elfdw_section *v;
    char (*names)[MACHO_ELF_NAME];
    size_t n;
};

static bool macho_is_code(const struct macho_section *s)
{
    return (s->flags & (MACHO_S_ATTR_PURE_INSTRUCTIONS |
                        MACHO_S_ATTR_SOME_INSTRUCTIONS)) != 0 &&
           s->size > 0;
}

static int macho_u64_cmp(const void *a, const void *b, void *ctx)
{
    const uint64_t *x = a, *y = b;

    (void)ctx;
    return (*x > *y) - (*x < *y);
}

static void macho_push_u64(uint64_t **v, size_t *n, size_t *cap, uint64_t x)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        *v = xreallocarray(*v, *cap, sizeof(**v));
    }
    (*v)[(*n)++] = x;
}

/* Sorted function starts of IM: the symbols' addresses and
 * LC_FUNCTION_STARTS (ULEB128 deltas from the __TEXT vmaddr). */
static uint64_t *macho_starts(const struct macho_image *im,
                              const struct elfdw_symbol *syms, size_t nsyms,
                              size_t *n)
{
    uint64_t *v = NULL, addr = im->text_vmaddr;
    size_t cap = 0, i = 0;

    *n = 0;
    for (size_t k = 0; k < nsyms; k++)
        macho_push_u64(&v, n, &cap, syms[k].addr);
    while (im->fstarts != NULL && i < im->fstarts_len) {
        uint64_t delta = 0;
        unsigned shift = 0;
        uint8_t byte;

        do {
            byte = im->fstarts[i++];
            if (shift < 64)
                delta |= (uint64_t)(byte & 0x7f) << shift;
            shift += 7;
        } while ((byte & 0x80) != 0 && i < im->fstarts_len);
        if (delta == 0)
            break;
        addr += delta;
        macho_push_u64(&v, n, &cap, addr);
    }
    keysort(v, *n, sizeof(*v), 0, macho_u64_cmp, NULL);
    return v;
}

/* The symbol I of IM as a function in a code section, or false. */
static bool macho_sym_get(const struct macho_image *im, uint32_t i,
                          struct elfdw_symbol *out, uint64_t *sect_end)
{
    const uint8_t *p = im->syms + (size_t)i * (im->is64 ? 16 : 12);
    uint32_t strx = le32(p);
    uint8_t type = p[4], sect = p[5];
    const struct macho_section *s;
    const char *name;

    if ((type & MACHO_N_STAB) != 0 || (type & MACHO_N_TYPE) != MACHO_N_SECT ||
        sect == 0 || sect > im->nsects || strx >= im->strsize)
        return false;
    s = &im->sects[sect - 1];
    out->addr = im->is64 ? le64(p + 8) : le32(p + 8);
    if (!macho_is_code(s) || out->addr < s->addr ||
        out->addr >= s->addr + s->size)
        return false;
    name = (const char *)im->strs + strx;
    if (memchr(name, '\0', im->strsize - strx) == NULL)
        return false;
    out->name = name[0] == '_' ? name + 1 : name;
    out->size = 0;
    *sect_end = s->addr + s->size;
    return true;
}

/* IM's function symbols, each ending at the next start or at its
 * section's end. */
static struct elfdw_symbol *macho_symbols(const struct macho_image *im,
                                          size_t *n)
{
    struct elfdw_symbol *v =
        xreallocarray(NULL, im->nsyms ? im->nsyms : 1, sizeof(*v));
    uint64_t *ends =
        xreallocarray(NULL, im->nsyms ? im->nsyms : 1, sizeof(*ends));
    uint64_t *starts;
    size_t nstarts;

    *n = 0;
    for (uint32_t i = 0; i < im->nsyms; i++)
        if (macho_sym_get(im, i, &v[*n], &ends[*n]))
            (*n)++;
    starts = macho_starts(im, v, *n, &nstarts);
    for (size_t i = 0; i < *n; i++) {
        size_t k = 0, lo = 0, hi = nstarts;

        while (lo < hi) { /* first start above the symbol */
            k = lo + (hi - lo) / 2;
            if (starts[k] <= v[i].addr)
                lo = k + 1;
            else
                hi = k;
        }
        if (lo < nstarts && starts[lo] < ends[i])
            ends[i] = starts[lo];
        v[i].size = ends[i] - v[i].addr;
    }
    free(starts);
    free(ends);
    return v;
}

/* The ELF name of Mach-O debug section S into OUT, or false when S is
 * not DWARF.  Mach-O section names stop at 16 characters, which cuts
 * one DWARF 5 name. */
static bool macho_dwarf_name(const struct macho_section *s,
                             char out[MACHO_ELF_NAME])
{
    if (strcmp(s->segname, "__DWARF") != 0 ||
        strncmp(s->sectname, "__debug_", 8) != 0 || s->data == NULL)
        return false;
    if (strcmp(s->sectname, "__debug_str_offs") == 0)
        snprintf(out, MACHO_ELF_NAME, ".debug_str_offsets");
    else
        snprintf(out, MACHO_ELF_NAME, ".%s", s->sectname + 2);
    return true;
}

static void macho_dwarf_collect(const struct macho_image *im,
                                struct macho_dwarf *dw)
{
    dw->v = xreallocarray(NULL, im->nsects + 1, sizeof(*dw->v));
    dw->names = xreallocarray(NULL, im->nsects + 1, sizeof(*dw->names));
    dw->n = 0;
    for (size_t i = 0; i < im->nsects; i++) {
        const struct macho_section *s = &im->sects[i];

        if (!macho_dwarf_name(s, dw->names[dw->n]))
            continue;
        dw->v[dw->n] = (struct elfdw_section){
            .name = dw->names[dw->n], .data = s->data, .size = s->size};
        dw->n++;
    }
}

static void macho_dwarf_free(struct macho_dwarf *dw)
{
    free(dw->v);
    free(dw->names);
    memset(dw, 0, sizeof(*dw));
}

static struct elfdw_range *macho_code(const struct macho_image *im, size_t *n)
{
    struct elfdw_range *v = xreallocarray(NULL, im->nsects + 1, sizeof(*v));

    *n = 0;
    for (size_t i = 0; i < im->nsects; i++)
        if (macho_is_code(&im->sects[i]))
            v[(*n)++] = (struct elfdw_range){
                im->sects[i].addr, im->sects[i].addr + im->sects[i].size};
    return v;
}

/* A binary's dSYM, mapped and parsed when it has the binary's UUID. */
struct macho_companion {
    char *path;
    struct objfile_map map;
    bool mapped;
    struct macho_image im;
    bool parsed;
};

/* Find and open PATH.dSYM/Contents/Resources/DWARF/NAME beside the
 * binary IM; not finding it (or finding another UUID) is not an error. */
static void macho_companion_open(const struct objfile_map *map,
                                 const struct macho_image *im,
                                 struct macho_companion *co)
{
    char uuid[33];

    memset(co, 0, sizeof(*co));
    if (map->path == NULL || !im->has_uuid)
        return;
    co->path = xasprintf("%s.dSYM/Contents/Resources/DWARF/%s", map->path,
                         objfile_basename(map->path));
    if (objfile_map(co->path, &co->map) != 0)
        return;
    co->mapped = true;
    macho_uuid_hex(im, uuid);
    co->parsed = macho_image_open(&co->map, uuid, &co->im) == 0;
}

static void macho_companion_close(struct macho_companion *co)
{
    if (co->parsed)
        macho_image_free(&co->im);
    if (co->mapped)
        objfile_unmap(&co->map);
    free(co->path);
}

/* Feed B from IM (symbols, code) and DWIM (DWARF: IM itself or its
 * dSYM). */
static int macho_feed(struct objfile_map *map, const struct macho_image *im,
                      const struct macho_image *dwim, const char *dwpath,
                      struct symtable_builder *b, const uint64_t *rvas,
                      size_t nrvas)
{
    struct macho_dwarf dw;
    struct elfdw_foreign f;
    struct elfdw_range *code;
    struct elfdw_symbol *syms;
    size_t ncode, nsyms;
    int rc;

    macho_dwarf_collect(dwim, &dw);
    code = macho_code(im, &ncode);
    syms = macho_symbols(im->nsyms > 0 ? im : dwim, &nsyms);
    f = (struct elfdw_foreign){.dwarf_path = dwpath,
                               .is64 = dwim->is64,
                               .base = im->text_vmaddr,
                               .sections = dw.v,
                               .nsections = dw.n,
                               .code = code,
                               .ncode = ncode,
                               .syms = syms,
                               .nsyms = nsyms};
    rc = elfdw_build_foreign(map, &f, b, rvas, nrvas);
    if (rc == 0 && im->text_vmsize > 0)
        symtable_builder_set_image_size(b, im->text_vmsize);
    free(syms);
    free(code);
    macho_dwarf_free(&dw);
    return rc;
}

int macho_build_slice(struct objfile_map *map, const char *want,
                      struct symtable_builder *b, const uint64_t *rvas,
                      size_t nrvas)
{
    struct macho_image im;
    struct macho_companion co;
    struct macho_dwarf probe;
    int rc = macho_image_open(map, want, &im);

    if (rc != 0)
        return rc;
    if (!im.has_text) {
        macho_image_free(&im);
        return objfile_fail(map, -EINVAL, "no __TEXT segment");
    }
    macho_dwarf_collect(&im, &probe);
    memset(&co, 0, sizeof(co));
    if (probe.n == 0)
        macho_companion_open(map, &im, &co);
    if (co.parsed)
        rc = macho_feed(map, &im, &co.im, co.path, b, rvas, nrvas);
    else
        rc = macho_feed(map, &im, &im, map->path ? map->path : "(memory)", b,
                        rvas, nrvas);
    macho_dwarf_free(&probe);
    macho_companion_close(&co);
    macho_image_free(&im);
    return rc;
}

int macho_build(struct objfile_map *map, struct symtable_builder *b)
{
    return macho_build_slice(map, NULL, b, NULL, 0);
}

int macho_build_for(struct objfile_map *map, struct symtable_builder *b,
                    const uint64_t *rvas, size_t nrvas)
{
    return macho_build_slice(map, NULL, b, rvas, nrvas);
}
