/* SPDX-License-Identifier: MIT */
/*
 * elfdw: the ELF side of the ELF/DWARF reader: open a mapped file with
 * libelf, report its identity, read its load segments and find its
 * separate debug file, then hand the DWARF and the symbol table to
 * elfdw_dwarf.c.  The identity conventions are documented in elfdw.h.
 *
 * The file is opened with elf_memory() on the read-only mapping: libelf
 * reads in place and copies only what it must convert, so nothing is
 * written to the map (the fuzz target checks that).  libelf and libdw
 * bounds-check every header, section and note they read; the little we
 * read ourselves (the .text page for the fallback id) goes through
 * elf_getdata(), which checks the section against the file size.
 */
#include "symsrvd_config.h"
#include "elf/elfdw.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elfutils/libdwelf.h>

#include "bound.h"
#include "elf/elfdw_int.h"
#include "runsort.h"
#include "table/symtable.h"
#include "xalloc.h"

#define ELFDW_TEXT_HASH_BYTES 4096 /* Breakpad's "first page of .text" */
#define ELFDW_ID_BYTES        16

void elfdw_ranges_add(struct elfdw_ranges *r, uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->v = xreallocarray(r->v, r->cap, sizeof(*r->v));
    }
    r->v[r->n].lo = lo;
    r->v[r->n].hi = hi;
    r->n++;
}

static int elfdw_range_cmp(const void *a, const void *b, void *ctx)
{
    const struct elfdw_range *x = a, *y = b;

    (void)ctx;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return (x->hi > y->hi) - (x->hi < y->hi);
}

void elfdw_ranges_normalize(struct elfdw_ranges *r)
{
    size_t i, out = 0;

    if (r->n == 0)
        return;
    keysort(r->v, r->n, sizeof(*r->v), offsetof(struct elfdw_range, lo),
            elfdw_range_cmp, NULL);
    for (i = 1; i < r->n; i++) {
        if (r->v[i].lo <= r->v[out].hi) {
            if (r->v[i].hi > r->v[out].hi)
                r->v[out].hi = r->v[i].hi;
        } else {
            r->v[++out] = r->v[i];
        }
    }
    r->n = out + 1;
}

size_t elfdw_ranges_find(const struct elfdw_ranges *r, uint64_t addr)
{
    return bound_upper(r->v, r->n, sizeof(*r->v),
                       offsetof(struct elfdw_range, hi), addr);
}

bool elfdw_ranges_contains(const struct elfdw_ranges *r, uint64_t addr)
{
    size_t i = elfdw_ranges_find(r, addr);

    return i < r->n && r->v[i].lo <= addr;
}

void elfdw_ranges_free(struct elfdw_ranges *r)
{
    free(r->v);
    memset(r, 0, sizeof(*r));
}

int elfdw_open(struct objfile_map *map, Elf **out, GElf_Ehdr *eh)
{
    Elf *elf;

    *out = NULL;
    if (map->len < EI_NIDENT || memcmp(map->data, ELFMAG, SELFMAG) != 0)
        return objfile_fail(map, -EINVAL, "not an ELF file");
    elf_version(EV_CURRENT);
    /* libelf's API takes char *, but with ELF_C_READ_MMAP semantics it
     * only reads the image. */
    elf = elf_memory((char *)(uintptr_t)map->data, map->len);
    if (elf == NULL || elf_kind(elf) != ELF_K_ELF ||
        gelf_getehdr(elf, eh) == NULL) {
        int rc =
            objfile_fail(map, -EINVAL, "bad ELF header: %s", elf_errmsg(-1));
        elf_end(elf);
        return rc;
    }
    *out = elf;
    return 0;
}

static const char *elfdw_arch(const GElf_Ehdr *eh)
{
    bool is64 = eh->e_ident[EI_CLASS] == ELFCLASS64;

    switch (eh->e_machine) {
    case EM_386:
        return "x86";
    case EM_X86_64:
        return "x86_64";
    case EM_ARM:
        return "arm";
    case EM_AARCH64:
        return "arm64";
    case EM_MIPS:
        return is64 ? "mips64" : "mips";
    case EM_PPC:
        return "ppc";
    case EM_PPC64:
        return "ppc64";
    case EM_RISCV:
        return is64 ? "riscv64" : "riscv32";
    case EM_S390:
        return is64 ? "s390x" : "s390";
    case EM_SPARC:
        return "sparc";
    case EM_SPARCV9:
        return "sparc64";
    default:
        return "";
    }
}

/* The image base (lowest PT_LOAD p_vaddr), the end of the highest
 * PT_LOAD (when END is not NULL) and, when EXEC is not NULL, the
 * executable PT_LOAD segments.  -EINVAL when a program header is
 * unreadable. */
static int elfdw_segments(struct objfile_map *map, Elf *elf, uint64_t *base,
                          uint64_t *end, struct elfdw_ranges *exec)
{
    size_t i, phnum;
    bool any = false;

    *base = 0;
    if (end != NULL)
        *end = 0;
    if (elf_getphdrnum(elf, &phnum) != 0)
        return objfile_fail(map, -EINVAL, "bad program headers: %s",
                            elf_errmsg(-1));
    for (i = 0; i < phnum; i++) {
        GElf_Phdr ph;

        if (gelf_getphdr(elf, (int)i, &ph) == NULL)
            return objfile_fail(map, -EINVAL, "bad program header %zu: %s", i,
                                elf_errmsg(-1));
        if (ph.p_type != PT_LOAD)
            continue;
        if (!any || ph.p_vaddr < *base)
            *base = ph.p_vaddr;
        if (end != NULL && ph.p_vaddr <= UINT64_MAX - ph.p_memsz &&
            ph.p_vaddr + ph.p_memsz > *end)
            *end = ph.p_vaddr + ph.p_memsz;
        any = true;
        if (exec != NULL && (ph.p_flags & PF_X) != 0 &&
            ph.p_vaddr <= UINT64_MAX - ph.p_memsz)
            elfdw_ranges_add(exec, ph.p_vaddr, ph.p_vaddr + ph.p_memsz);
    }
    return 0;
}

/* The section named NAME, or NULL. */
static Elf_Scn *elfdw_section(Elf *elf, const char *name, GElf_Shdr *sh)
{
    Elf_Scn *scn = NULL;
    size_t shstrndx;

    if (elf_getshdrstrndx(elf, &shstrndx) != 0)
        return NULL;
    for (scn = elf_nextscn(elf, NULL); scn != NULL;
         scn = elf_nextscn(elf, scn)) {
        const char *n;

        if (gelf_getshdr(scn, sh) == NULL)
            return NULL;
        n = elf_strptr(elf, shstrndx, sh->sh_name);
        if (n != NULL && strcmp(n, name) == 0)
            return scn;
    }
    return NULL;
}

/* Breakpad's and symbolic's fallback identifier: the first page of .text
 * XOR-folded into 16 bytes.  false when there is no .text with contents
 * (e.g. in a separate debug file, where it is NOBITS). */
static bool elfdw_text_hash(Elf *elf, uint8_t out[ELFDW_ID_BYTES])
{
    GElf_Shdr sh;
    Elf_Scn *scn = elfdw_section(elf, ".text", &sh);
    Elf_Data *d;
    const uint8_t *p;
    size_t i, n;

    if (scn == NULL || sh.sh_type != SHT_PROGBITS)
        return false;
    d = elf_rawdata(scn, NULL);
    if (d == NULL || d->d_buf == NULL || d->d_size == 0)
        return false;
    p = d->d_buf;
    n = d->d_size < ELFDW_TEXT_HASH_BYTES ? d->d_size : ELFDW_TEXT_HASH_BYTES;
    memset(out, 0, ELFDW_ID_BYTES);
    for (i = 0; i < n; i++)
        out[i % ELFDW_ID_BYTES] ^= p[i];
    return true;
}

static void elfdw_format_debug_id(const uint8_t *id, size_t len,
                                  bool little_endian, char *out, size_t size)
{
    uint8_t g[ELFDW_ID_BYTES] = {0};
    size_t i, pos = 0;

    memcpy(g, id, len < sizeof(g) ? len : sizeof(g));
    if (little_endian) {
        /* GUID Data1 (4 bytes), Data2 (2), Data3 (2) are little-endian
         * integers in the Breakpad/Sentry reading. */
        uint8_t t;

        t = g[0], g[0] = g[3], g[3] = t;
        t = g[1], g[1] = g[2], g[2] = t;
        t = g[4], g[4] = g[5], g[5] = t;
        t = g[6], g[6] = g[7], g[7] = t;
    }
    for (i = 0; i < sizeof(g); i++)
        pos += (size_t)snprintf(out + pos, size - pos, "%02X", g[i]);
    snprintf(out + pos, size - pos, "0"); /* age */
}

static void elfdw_format_code_id(const uint8_t *id, size_t len, char *out,
                                 size_t size)
{
    size_t i;

    out[0] = '\0';
    /* Build ids are 20 bytes (SHA-1) in practice; one that does not fit
     * the field is reported truncated rather than not at all. */
    for (i = 0; i < len && 2 * i + 2 < size; i++)
        snprintf(out + 2 * i, size - 2 * i, "%02x", id[i]);
}

static const char *elfdw_basename(const char *path)
{
    const char *slash;

    if (path == NULL)
        return "";
    slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static void elfdw_names(struct objfile_map *map, Elf *elf,
                        struct objfile_ident *id)
{
    const char *base = elfdw_basename(map->path);
    const char *link;
    size_t n = strlen(base);
    GElf_Word crc;

    if (n > 6 && strcmp(base + n - 6, ".debug") == 0)
        n -= 6;
    if (n >= sizeof(id->code_file))
        n = sizeof(id->code_file) - 1;
    memcpy(id->code_file, base, n);
    id->code_file[n] = '\0';
    link = dwelf_elf_gnu_debuglink(elf, &crc);
    snprintf(id->debug_file, sizeof(id->debug_file), "%s",
             link != NULL ? link : base);
}

int elfdw_identify(struct objfile_map *map, struct objfile_ident *id)
{
    GElf_Ehdr eh;
    Elf *elf = NULL;
    const void *bid = NULL;
    ssize_t bid_len;
    uint8_t hash[ELFDW_ID_BYTES];
    bool le;
    int rc;

    memset(id, 0, sizeof(*id));
    rc = elfdw_open(map, &elf, &eh);
    if (rc != 0)
        goto out;
    rc = elfdw_segments(map, elf, &id->image_base, NULL, NULL);
    if (rc != 0)
        goto out;
    id->kind = OBJFILE_ELF;
    snprintf(id->arch, sizeof(id->arch), "%s", elfdw_arch(&eh));
    le = eh.e_ident[EI_DATA] == ELFDATA2LSB;
    bid_len = dwelf_elf_gnu_build_id(elf, &bid);
    if (bid_len > 0) {
        elfdw_format_code_id(bid, (size_t)bid_len, id->code_id,
                             sizeof(id->code_id));
        elfdw_format_debug_id(bid, (size_t)bid_len, le, id->debug_id,
                              sizeof(id->debug_id));
    } else if (elfdw_text_hash(elf, hash)) {
        elfdw_format_debug_id(hash, sizeof(hash), le, id->debug_id,
                              sizeof(id->debug_id));
    }
    elfdw_names(map, elf, id);
out:
    elf_end(elf);
    return rc;
}

/* One section's contribution to elfdw_artifacts(). */
static void elfdw_classify_section(Elf *elf, size_t shstrndx, Elf_Scn *scn,
                                   bool loadable, bool *executable,
                                   bool *debuginfo)
{
    GElf_Shdr sh;
    const char *name;

    if (gelf_getshdr(scn, &sh) == NULL)
        return;
    if (loadable && sh.sh_type == SHT_PROGBITS && (sh.sh_flags & SHF_ALLOC))
        *executable = true;
    name = elf_strptr(elf, shstrndx, sh.sh_name);
    if (name != NULL && (strncmp(name, ".debug_", 7) == 0 ||
                         strncmp(name, ".zdebug_", 8) == 0))
        *debuginfo = true;
}

int elfdw_artifacts(struct objfile_map *map, bool *executable,
                    bool *debuginfo)
{
    GElf_Ehdr eh;
    Elf *elf;
    Elf_Scn *scn = NULL;
    size_t shstrndx;
    bool loadable;
    int rc = elfdw_open(map, &elf, &eh);

    *executable = *debuginfo = false;
    if (rc != 0)
        return rc;
    if (elf_getshdrstrndx(elf, &shstrndx) != 0) {
        rc = objfile_fail(map, -EINVAL, "no section names: %s",
                          elf_errmsg(-1));
        goto out;
    }
    loadable = eh.e_type == ET_EXEC || eh.e_type == ET_DYN;
    while ((scn = elf_nextscn(elf, scn)) != NULL)
        elfdw_classify_section(elf, shstrndx, scn, loadable, executable,
                               debuginfo);
out:
    elf_end(elf);
    return rc;
}

/* --- building ------------------------------------------------------------ */

/* An opened ELF file and its DWARF (dw NULL when it has no CU). */
struct elfdw_file {
    struct objfile_map *map; /* the caller's, or &own */
    struct objfile_map own;  /* a companion debug file's mapping */
    Elf *elf;
    Dwarf *dw;
    struct elfdw_alt alt; /* dwz alt file of DW, if any */
};

static void elfdw_file_close(struct elfdw_file *f)
{
    if (f->dw != NULL)
        dwarf_end(f->dw);
    elfdw_alt_close(&f->alt);
    elf_end(f->elf);
    if (f->map == &f->own)
        objfile_unmap(&f->own);
    memset(f, 0, sizeof(*f));
}

/* Open the DWARF of F and its dwz alt file; a file without .debug_info
 * units is not an error, F->dw just stays NULL. */
static int elfdw_file_dwarf(struct elfdw_file *f)
{
    Dwarf_Off next;
    size_t hsize;

    f->dw = dwarf_begin_elf(f->elf, DWARF_C_READ, NULL);
    if (f->dw != NULL && dwarf_next_unit(f->dw, 0, &next, &hsize, NULL, NULL,
                                         NULL, NULL, NULL, NULL) != 0) {
        dwarf_end(f->dw);
        f->dw = NULL;
    }
    if (f->dw == NULL)
        return 0;
    return elfdw_alt_open(f->map, f->dw, ELFDW_DEBUG_ROOT, &f->alt);
}

/* Open the separate debug file of MAIN into *DBG when MAIN has no DWARF;
 * not finding one is not an error. */
static int elfdw_open_companion(struct elfdw_file *main_file,
                                struct elfdw_file *dbg)
{
    GElf_Ehdr eh;
    char *path = NULL;
    int rc;

    memset(dbg, 0, sizeof(*dbg));
    if (elfdw_find_companion(main_file->map, main_file->elf,
                             ELFDW_DEBUG_ROOT, &path) != 0)
        return 0;
    rc = objfile_map(path, &dbg->own);
    if (rc != 0) {
        rc = objfile_fail(main_file->map, rc, "debug file %s: %s", path,
                          dbg->own.err);
        goto out;
    }
    dbg->map = &dbg->own;
    rc = elfdw_open(dbg->map, &dbg->elf, &eh);
    if (rc != 0) {
        snprintf(main_file->map->err, sizeof(main_file->map->err), "%s",
                 dbg->map->err);
        goto out;
    }
    rc = elfdw_file_dwarf(dbg);
out:
    free(path);
    return rc;
}

/* Load the symbol table of the DWARF file, else that of the main file. */
static int elfdw_load_symbols(struct elfdw_build_ctx *c,
                              struct elfdw_file *main_file,
                              struct elfdw_file *dbg)
{
    int rc = 0;

    if (dbg->elf != NULL)
        rc = elfdw_symtab_load(c, dbg->elf);
    if (rc == 0 && c->syms.n == 0)
        rc = elfdw_symtab_load(c, main_file->elf);
    return rc;
}

static int elfdw_build_from(struct elfdw_build_ctx *c,
                            struct elfdw_file *main_file,
                            struct elfdw_file *dbg)
{
    Dwarf *dw = main_file->dw ? main_file->dw : dbg->dw;
    int rc;

    c->dwarf_path = main_file->dw || dbg->map == NULL ? main_file->map->path
                                                      : dbg->map->path;
    elfdw_ranges_normalize(&c->exec);
    rc = elfdw_load_symbols(c, main_file, dbg);
    if (rc == 0 && dw != NULL)
        rc = elfdw_dwarf_feed(c, dw);
    if (rc != 0)
        return rc;
    elfdw_ranges_normalize(&c->covered);
    elfdw_symtab_feed(c);
    if (c->syms.n == 0 && dw == NULL)
        rc = objfile_fail(c->map, -ENOENT,
                          "no DWARF, no debug file and no function symbols");
    return rc;
}

static int elfdw_u64_cmp(const void *a, const void *b, void *ctx)
{
    const uint64_t *x = a, *y = b;

    (void)ctx;
    return (*x > *y) - (*x < *y);
}

/* C->want: the RVAS made absolute and sorted.  An RVA that wraps past the
 * top of the address space cannot be in any CU and is dropped. */
void elfdw_want_set(struct elfdw_build_ctx *c, const uint64_t *rvas, size_t n)
{
    size_t k = 0;

    c->want_own = xreallocarray(NULL, n ? n : 1, sizeof(*c->want_own));
    for (size_t i = 0; i < n; i++)
        if (rvas[i] <= UINT64_MAX - c->base)
            c->want_own[k++] = rvas[i] + c->base;
    keysort(c->want_own, k, sizeof(*c->want_own), 0, elfdw_u64_cmp, NULL);
    c->want = c->want_own;
    c->nwant = k;
}

static int elfdw_build_want(struct objfile_map *map,
                            struct symtable_builder *b, const uint64_t *rvas,
                            size_t nrvas)
{
    struct elfdw_build_ctx c;
    struct elfdw_file main_file, dbg;
    GElf_Ehdr eh;
    uint64_t end;
    int rc;

    memset(&c, 0, sizeof(c));
    memset(&main_file, 0, sizeof(main_file));
    memset(&dbg, 0, sizeof(dbg));
    c.map = map;
    c.b = b;
    main_file.map = map;
    rc = elfdw_open(map, &main_file.elf, &eh);
    if (rc != 0)
        goto out;
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
        rc = objfile_fail(map, -ENOTSUP,
                          "ELF type %u: only executables and shared objects "
                          "(and their debug files) are read",
                          (unsigned)eh.e_type);
        goto out;
    }
    rc = elfdw_segments(map, main_file.elf, &c.base, &end, &c.exec);
    if (rc != 0)
        goto out;
    symtable_builder_set_image_base(b, c.base);
    if (rvas != NULL)
        elfdw_want_set(&c, rvas, nrvas);
    /* A debug file's PT_LOADs describe its binary's, so this holds for
     * both: the last open-ended symbol stops at the image's end. */
    if (end > c.base)
        symtable_builder_set_image_size(b, end - c.base);
    rc = elfdw_file_dwarf(&main_file);
    if (rc == 0 && main_file.dw == NULL)
        rc = elfdw_open_companion(&main_file, &dbg);
    if (rc == 0)
        rc = elfdw_build_from(&c, &main_file, &dbg);
out:
    elfdw_file_close(&dbg);
    elfdw_file_close(&main_file);
    elfdw_ranges_free(&c.exec);
    elfdw_ranges_free(&c.covered);
    free(c.syms.v);
    free(c.want_own);
    return rc;
}

int elfdw_build(struct objfile_map *map, struct symtable_builder *b)
{
    return elfdw_build_want(map, b, NULL, 0);
}

int elfdw_build_for(struct objfile_map *map, struct symtable_builder *b,
                    const uint64_t *rvas, size_t nrvas)
{
    return elfdw_build_want(map, b, rvas, nrvas);
}
