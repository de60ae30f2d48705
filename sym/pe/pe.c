/* SPDX-License-Identifier: MIT */
/*
 * pe: PE/COFF images (see pe.h).  The headers give the identity; the
 * debug directory's CodeView RSDS record names the PDB; the export
 * directory is the fallback symbol source when that PDB is not at hand.
 * RVAs are turned into file offsets through the section table, checking
 * that what is read lies inside both the section's raw data and the file.
 */
#include "symsrvd_config.h"

#include "pe/pe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "codeview/codeview.h"
#include "pdb/pdb.h"
#include "table/symtable.h"
#include "xalloc.h"

#define DIR_EXPORT         0
#define DIR_DEBUG          6
#define DEBUG_ENTRY_LEN    28
#define DEBUG_TYPE_CV      2
#define SECTION_HEADER_LEN 40

struct pe_image {
    struct objfile_map *map;
    uint16_t machine;
    uint32_t timestamp;
    uint32_t size_of_image;
    uint64_t image_base;
    size_t sections; /* file offset of the section table */
    uint16_t num_sections;
    uint32_t num_dirs;
    size_t dirs; /* file offset of the data directories */
    bool has_cv;
    uint8_t guid[16];
    uint32_t age;
    char cv_path[260];
};

/* File offset of NEED bytes at RVA, or false when they are not all in
 * one section's raw data inside the file. */
static bool pe_rva_off(const struct pe_image *pe, uint32_t rva, size_t need,
                       size_t *off)
{
    const uint8_t *d = pe->map->data;

    for (uint16_t i = 0; i < pe->num_sections; i++) {
        const uint8_t *s = d + pe->sections + (size_t)i * SECTION_HEADER_LEN;
        uint32_t va = le32(s + 12), raw = le32(s + 16), ptr = le32(s + 20);
        uint64_t o;

        if (rva < va || rva - va >= raw || need > raw - (rva - va))
            continue;
        o = (uint64_t)ptr + (rva - va);
        if (o > pe->map->len || need > pe->map->len - o)
            return false;
        *off = (size_t)o;
        return true;
    }
    return false;
}

static bool pe_dir(const struct pe_image *pe, int idx, uint32_t *rva,
                   uint32_t *size)
{
    if ((uint32_t)idx >= pe->num_dirs)
        return false;
    *rva = le32(pe->map->data + pe->dirs + (size_t)idx * 8);
    *size = le32(pe->map->data + pe->dirs + (size_t)idx * 8 + 4);
    return *rva != 0 && *size != 0;
}

/* Optional header: where ImageBase, SizeOfImage and the directory count
 * sit depends on PE32 (0x10b) or PE32+ (0x20b). */
static int pe_optional(struct pe_image *pe, size_t opt, size_t opt_len)
{
    const uint8_t *o = pe->map->data + opt;
    size_t count_at, dirs_at;

    if (opt_len < 2)
        return objfile_fail(pe->map, -EINVAL, "no optional header");
    if (le16(o) == 0x10b && opt_len >= 96) {
        pe->image_base = le32(o + 28);
        count_at = 92;
        dirs_at = 96;
    } else if (le16(o) == 0x20b && opt_len >= 112) {
        pe->image_base = le64(o + 24);
        count_at = 108;
        dirs_at = 112;
    } else {
        return objfile_fail(pe->map, -EINVAL,
                            "unknown or short optional header (magic %#x)",
                            le16(o));
    }
    pe->size_of_image = le32(o + 56);
    pe->num_dirs = le32(o + count_at);
    if (pe->num_dirs > (opt_len - dirs_at) / 8)
        pe->num_dirs = (uint32_t)((opt_len - dirs_at) / 8);
    pe->dirs = opt + dirs_at;
    return 0;
}

static int pe_headers(struct pe_image *pe)
{
    const uint8_t *d = pe->map->data;
    size_t len = pe->map->len, coff, opt, opt_len;
    int rc;

    if (len < 0x40 || d[0] != 'M' || d[1] != 'Z')
        return objfile_fail(pe->map, -EINVAL, "not a PE image (no MZ header)");
    coff = le32(d + 0x3c);
    if (coff > len || len - coff < 24 || memcmp(d + coff, "PE\0\0", 4))
        return objfile_fail(pe->map, -EINVAL,
                            "not a PE image (no PE signature)");
    coff += 4;
    pe->machine = le16(d + coff);
    pe->num_sections = le16(d + coff + 2);
    pe->timestamp = le32(d + coff + 4);
    opt_len = le16(d + coff + 16);
    opt = coff + 20;
    if (opt_len > len - opt)
        return objfile_fail(pe->map, -EINVAL,
                            "optional header runs past the file");
    rc = pe_optional(pe, opt, opt_len);
    if (rc < 0)
        return rc;
    pe->sections = opt + opt_len;
    if ((uint64_t)pe->num_sections * SECTION_HEADER_LEN > len - pe->sections)
        return objfile_fail(pe->map, -EINVAL,
                            "section table runs past the file");
    return 0;
}

/* "RSDS", GUID, age, NUL-terminated PDB path. */
static void pe_codeview(struct pe_image *pe, size_t off, uint32_t size)
{
    const uint8_t *cv = pe->map->data + off;
    const uint8_t *nul;

    if (size < 25 || memcmp(cv, "RSDS", 4) != 0)
        return;
    nul = memchr(cv + 24, '\0', size - 24);
    if (!nul || (size_t)(nul - (cv + 24)) >= sizeof(pe->cv_path))
        return;
    memcpy(pe->guid, cv + 4, 16);
    pe->age = le32(cv + 20);
    memcpy(pe->cv_path, cv + 24, (size_t)(nul - (cv + 24)) + 1);
    pe->has_cv = true;
}

static void pe_debug_dir(struct pe_image *pe)
{
    uint32_t rva, size;
    size_t off;

    if (!pe_dir(pe, DIR_DEBUG, &rva, &size) ||
        !pe_rva_off(pe, rva, size, &off))
        return;
    for (uint32_t i = 0; i + DEBUG_ENTRY_LEN <= size; i += DEBUG_ENTRY_LEN) {
        const uint8_t *e = pe->map->data + off + i;
        uint32_t n = le32(e + 16), ptr = le32(e + 24);

        if (le32(e + 12) != DEBUG_TYPE_CV || ptr > pe->map->len ||
            n > pe->map->len - ptr)
            continue;
        pe_codeview(pe, ptr, n);
        if (pe->has_cv)
            return;
    }
}

static int pe_open(struct objfile_map *map, struct pe_image *pe)
{
    int rc;

    memset(pe, 0, sizeof(*pe));
    pe->map = map;
    map->err[0] = '\0';
    rc = pe_headers(pe);
    if (rc == 0)
        pe_debug_dir(pe);
    return rc;
}

static const char *pe_basename(const char *path)
{
    const char *s = path;

    for (const char *c = path; c && *c; c++) {
        if (*c == '/' || *c == '\\')
            s = c + 1;
    }
    return s ? s : "";
}

int pe_identify(struct objfile_map *map, struct objfile_ident *id)
{
    struct pe_image pe;
    int rc;

    memset(id, 0, sizeof(*id));
    rc = pe_open(map, &pe);
    if (rc < 0)
        return rc;
    id->kind = OBJFILE_PE;
    id->image_base = pe.image_base;
    snprintf(id->arch, sizeof(id->arch), "%s",
             codeview_machine_name(pe.machine));
    snprintf(id->code_id, sizeof(id->code_id), "%08X%X", pe.timestamp,
             pe.size_of_image);
    snprintf(id->code_file, sizeof(id->code_file), "%s",
             pe_basename(map->path));
    if (pe.has_cv) {
        codeview_format_debug_id(pe.guid, pe.age, id->debug_id,
                                 sizeof(id->debug_id));
        snprintf(id->debug_file, sizeof(id->debug_file), "%.255s",
                 pe_basename(pe.cv_path));
    }
    return 0;
}

/* Named exports that are code, not forwarder strings. */
static int pe_exports(struct pe_image *pe, struct symtable_builder *b,
                      size_t *count)
{
    const uint8_t *d = pe->map->data;
    uint32_t rva, size, nfunc, nname;
    size_t off, funcs, names, ords;

    *count = 0;
    if (!pe_dir(pe, DIR_EXPORT, &rva, &size))
        return 0;
    if (!pe_rva_off(pe, rva, 40, &off))
        return objfile_fail(pe->map, -EINVAL,
                            "export directory is outside the image");
    nfunc = le32(d + off + 20);
    nname = le32(d + off + 24);
    if (!pe_rva_off(pe, le32(d + off + 28), (size_t)nfunc * 4, &funcs) ||
        !pe_rva_off(pe, le32(d + off + 32), (size_t)nname * 4, &names) ||
        !pe_rva_off(pe, le32(d + off + 36), (size_t)nname * 2, &ords))
        return objfile_fail(pe->map, -EINVAL,
                            "export tables are outside the image");
    for (uint32_t i = 0; i < nname; i++) {
        uint16_t ord = le16(d + ords + (size_t)i * 2);
        uint32_t fn = ord < nfunc ? le32(d + funcs + (size_t)ord * 4) : 0;
        size_t name_off;

        if (fn == 0 || (fn >= rva && fn - rva < size) ||
            !pe_rva_off(pe, le32(d + names + (size_t)i * 4), 1, &name_off) ||
            !memchr(d + name_off, '\0', pe->map->len - name_off))
            continue;
        symtable_builder_add_public(b, fn, (const char *)d + name_off);
        (*count)++;
    }
    return 0;
}

/* The path of the PDB the RSDS record names, in the image's directory
 * (new string). */
static char *pe_pdb_path(const struct pe_image *pe)
{
    const char *img = pe->map->path ? pe->map->path : "";
    const char *slash = strrchr(img, '/');

    return xasprintf("%.*s%s", slash ? (int)(slash - img + 1) : 0, img,
                     pe_basename(pe->cv_path));
}

/* Build from the companion PDB when it matches: 1 used, 0 not found or
 * not matching (*WHY says which), <0 error reading it. */
static int pe_build_pdb(struct pe_image *pe, struct symtable_builder *b,
                        const char **why)
{
    struct objfile_map pdb;
    struct objfile_ident id;
    char want[CODEVIEW_DEBUG_ID_LEN], *path;
    int rc;

    *why = "no CodeView record";
    if (!pe->has_cv || !*pe_basename(pe->cv_path))
        return 0;
    codeview_format_debug_id(pe->guid, pe->age, want, sizeof(want));
    path = pe_pdb_path(pe);
    rc = objfile_map(path, &pdb);
    *why = "PDB not found next to the image";
    if (rc == 0) {
        rc = pdb_identify(&pdb, &id);
        *why = "PDB does not match the image";
        if (rc == 0 && strcmp(id.debug_id, want) == 0) {
            rc = pdb_build(&pdb, b);
            if (rc < 0)
                snprintf(pe->map->err, sizeof(pe->map->err), "%s", pdb.err);
            else
                rc = 1;
        } else {
            rc = 0;
        }
        objfile_unmap(&pdb);
    } else {
        rc = 0;
    }
    free(path);
    return rc;
}

int pe_build(struct objfile_map *map, struct symtable_builder *b)
{
    struct pe_image pe;
    const char *why;
    size_t n;
    int rc = pe_open(map, &pe);

    if (rc < 0)
        return rc;
    symtable_builder_set_image_base(b, pe.image_base);
    symtable_builder_set_image_size(b, pe.size_of_image);
    rc = pe_build_pdb(&pe, b, &why);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        snprintf(map->err, sizeof(map->err), "%.120s: symbols from %.120s",
                 map->path, pe_basename(pe.cv_path));
        return 0;
    }
    rc = pe_exports(&pe, b, &n);
    if (rc == 0)
        snprintf(map->err, sizeof(map->err),
                 "%.120s: %s; using %zu exported names", map->path, why, n);
    return rc;
}
