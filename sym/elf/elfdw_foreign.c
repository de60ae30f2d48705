/* SPDX-License-Identifier: MIT */
/*
 * elfdw_foreign: the DWARF path for containers that are not ELF (Mach-O
 * dSYMs, WebAssembly).  libdw opens DWARF only through an Elf handle, so
 * the container's debug sections are copied into a minimal ELF image:
 *
 *   [ELF header][section 1 data]...[section n data][.shstrtab][headers]
 *
 * with a null section, one SHT_PROGBITS section per debug section and the
 * name table.  The image is ET_EXEC (libdw applies no relocations to
 * anything, and the containers we read are linked) and of the container's
 * class, which libdw uses as the address size where a table has none of
 * its own.  Then the ELF reader's own walk (elfdw_dwarf.c) and symbol
 * fallback (elfdw_symtab.c) run on it, so every format gets the same
 * functions, lines and inline chains.
 *
 * Why not our own DWARF decoder: there is none, and libdw is already the
 * ELF reader's bounds-checked decoder of DWARF 2 to 5; the price is one
 * copy of the debug sections per build.
 */
#include "symsrvd_config.h"
#include "elf/elfdw.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "elf/elfdw_int.h"
#include "table/symtable.h"
#include "xalloc.h"

/* The in-memory image and its libelf/libdw handles. */
struct elfdw_image {
    uint8_t *buf;
    size_t len;
    Elf *elf;
    Dwarf *dw;
};

static size_t elfdw_align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* Section header I of the image (I 0 is the null section). */
static void elfdw_image_shdr(struct elfdw_image *im, bool is64, size_t shoff,
                             size_t i, uint32_t name, uint32_t type, size_t off,
                             size_t size, uint64_t addr)
{
    if (is64) {
        Elf64_Shdr sh = {.sh_name = name,
                         .sh_type = type,
                         .sh_addr = addr,
                         .sh_offset = off,
                         .sh_size = size,
                         .sh_addralign = 1};

        memcpy(im->buf + shoff + i * sizeof(sh), &sh, sizeof(sh));
    } else {
        Elf32_Shdr sh = {.sh_name = name,
                         .sh_type = type,
                         .sh_addr = (Elf32_Addr)addr,
                         .sh_offset = (Elf32_Off)off,
                         .sh_size = (Elf32_Word)size,
                         .sh_addralign = 1};

        memcpy(im->buf + shoff + i * sizeof(sh), &sh, sizeof(sh));
    }
}

static void elfdw_image_ehdr(struct elfdw_image *im, bool is64,
                             uint16_t machine, size_t shoff, size_t shnum)
{
    unsigned char ident[EI_NIDENT] = {ELFMAG0,
                                      ELFMAG1,
                                      ELFMAG2,
                                      ELFMAG3,
                                      is64 ? ELFCLASS64 : ELFCLASS32,
                                      ELFDATA2LSB,
                                      EV_CURRENT};

    if (is64) {
        Elf64_Ehdr eh = {.e_type = ET_EXEC,
                         .e_machine = machine,
                         .e_version = EV_CURRENT,
                         .e_shoff = shoff,
                         .e_ehsize = sizeof(eh),
                         .e_shentsize = sizeof(Elf64_Shdr),
                         .e_shnum = (Elf64_Half)shnum,
                         .e_shstrndx = (Elf64_Half)(shnum - 1)};

        memcpy(eh.e_ident, ident, EI_NIDENT);
        memcpy(im->buf, &eh, sizeof(eh));
    } else {
        Elf32_Ehdr eh = {.e_type = ET_EXEC,
                         .e_machine = machine,
                         .e_version = EV_CURRENT,
                         .e_shoff = (Elf32_Off)shoff,
                         .e_ehsize = sizeof(eh),
                         .e_shentsize = sizeof(Elf32_Shdr),
                         .e_shnum = (Elf32_Half)shnum,
                         .e_shstrndx = (Elf32_Half)(shnum - 1)};

        memcpy(eh.e_ident, ident, EI_NIDENT);
        memcpy(im->buf, &eh, sizeof(eh));
    }
}

/* Lay out and fill the image of the N sections SECS.  -EINVAL when it
 * would not fit the class (a 32-bit container with more than 4 GiB). */
static int elfdw_image_make(struct elfdw_image *im,
                            const struct elfdw_section *secs, size_t n,
                            bool is64, uint16_t machine)
{
    size_t ehsize = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    size_t shsize = is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
    size_t shnum = n + 2, off = elfdw_align8(ehsize), names = 1;
    size_t i, stroff, shoff, nameoff = 1;

    for (i = 0; i < n; i++) {
        off = elfdw_align8(off + secs[i].size);
        names += strlen(secs[i].name) + 1;
    }
    names += sizeof(".shstrtab");
    stroff = off;
    shoff = elfdw_align8(stroff + names);
    im->len = shoff + shnum * shsize;
    if (!is64 && im->len > UINT32_MAX)
        return -EINVAL;
    im->buf = xcalloc(1, im->len);
    off = elfdw_align8(ehsize);
    for (i = 0; i < n; i++) {
        const struct elfdw_section *s = &secs[i];
        size_t len = strlen(s->name) + 1;

        if (s->size > 0)
            memcpy(im->buf + off, s->data, s->size);
        memcpy(im->buf + stroff + nameoff, s->name, len);
        elfdw_image_shdr(im, is64, shoff, i + 1, (uint32_t)nameoff,
                         SHT_PROGBITS, off, s->size, s->addr);
        nameoff += len;
        off = elfdw_align8(off + s->size);
    }
    memcpy(im->buf + stroff + nameoff, ".shstrtab", sizeof(".shstrtab"));
    elfdw_image_shdr(im, is64, shoff, shnum - 1, (uint32_t)nameoff, SHT_STRTAB,
                     stroff, names, 0);
    elfdw_image_ehdr(im, is64, machine, shoff, shnum);
    return 0;
}

int elfdw_image_build(const struct elfdw_section *secs, size_t n, bool is64,
                      uint16_t machine, uint8_t **buf, size_t *len)
{
    struct elfdw_image im;
    int rc;

    memset(&im, 0, sizeof(im));
    rc = elfdw_image_make(&im, secs, n, is64, machine);
    *buf = im.buf;
    *len = im.len;
    return rc;
}

/* Open F's DWARF; IM->dw stays NULL when it has no unit. */
static int elfdw_image_open(struct objfile_map *map, struct elfdw_image *im,
                            const struct elfdw_foreign *f)
{
    Dwarf_Off next;
    size_t hsize;

    if (f->nsections == 0)
        return 0;
    if (elfdw_image_make(im, f->sections, f->nsections, f->is64, EM_NONE) != 0)
        return objfile_fail(map, -EINVAL, "DWARF in %s: too large",
                            f->dwarf_path);
    elf_version(EV_CURRENT);
    im->elf = elf_memory((char *)im->buf, im->len);
    if (im->elf == NULL)
        return objfile_fail(map, -EINVAL, "DWARF in %s: %s", f->dwarf_path,
                            elf_errmsg(-1));
    im->dw = dwarf_begin_elf(im->elf, DWARF_C_READ, NULL);
    if (im->dw != NULL && dwarf_next_unit(im->dw, 0, &next, &hsize, NULL, NULL,
                                          NULL, NULL, NULL, NULL) != 0) {
        dwarf_end(im->dw);
        im->dw = NULL;
    }
    return 0;
}

static void elfdw_image_close(struct elfdw_image *im)
{
    if (im->dw != NULL)
        dwarf_end(im->dw);
    elf_end(im->elf);
    free(im->buf);
}

/* F's code ranges and symbols into C, as elfdw_symtab_load() fills them
 * from an ELF file. */
static void elfdw_foreign_ctx(struct elfdw_build_ctx *c,
                              const struct elfdw_foreign *f)
{
    for (size_t i = 0; i < f->ncode; i++)
        elfdw_ranges_add(&c->exec, f->code[i].lo, f->code[i].hi);
    elfdw_ranges_normalize(&c->exec);
    c->syms.v =
        xreallocarray(NULL, f->nsyms ? f->nsyms : 1, sizeof(*c->syms.v));
    for (size_t i = 0; i < f->nsyms; i++) {
        const struct elfdw_symbol *s = &f->syms[i];

        if (s->name == NULL || s->name[0] == '\0' ||
            !elfdw_ranges_contains(&c->exec, s->addr))
            continue;
        c->syms.v[c->syms.n++] = (struct elfdw_sym){
            .addr = s->addr, .size = s->size, .name = s->name, .index = i};
    }
    c->syms.cap = f->nsyms;
    elfdw_syms_sort(&c->syms);
}

int elfdw_build_foreign(struct objfile_map *map, const struct elfdw_foreign *f,
                        struct symtable_builder *b, const uint64_t *rvas,
                        size_t nrvas)
{
    struct elfdw_build_ctx c;
    struct elfdw_image im;
    int rc;

    memset(&c, 0, sizeof(c));
    memset(&im, 0, sizeof(im));
    c.map = map;
    c.b = b;
    c.base = f->base;
    c.dwarf_path = f->dwarf_path;
    c.dwarf_names_first = f->dwarf_names_first;
    symtable_builder_set_image_base(b, f->base);
    if (rvas != NULL)
        elfdw_want_set(&c, rvas, nrvas);
    elfdw_foreign_ctx(&c, f);
    rc = elfdw_image_open(map, &im, f);
    if (rc == 0 && im.dw != NULL)
        rc = elfdw_dwarf_feed(&c, im.dw);
    if (rc != 0)
        goto out;
    elfdw_ranges_normalize(&c.covered);
    elfdw_symtab_feed(&c);
    if (c.syms.n == 0 && im.dw == NULL)
        rc = objfile_fail(map, -ENOENT, "no DWARF and no function symbols");
out:
    elfdw_image_close(&im);
    elfdw_ranges_free(&c.exec);
    elfdw_ranges_free(&c.covered);
    free(c.syms.v);
    free(c.want_own);
    return rc;
}
