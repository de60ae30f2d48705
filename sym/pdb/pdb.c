/* SPDX-License-Identifier: MIT */
/*
 * pdb: entry points of the PDB reader (see pdb.h): open the MSF container,
 * read the PDB info stream (GUID, age, the named stream map that locates
 * the "/names" string table) and the DBI stream, then hand each module to
 * pdb_sym.c and the publics of the symbol record stream to the builder.
 * The parts of the reader are described in pdb_int.h.
 */
#include "symsrvd_config.h"

#include "pdb/pdb.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "codeview/codeview.h"
#include "pdb/pdb_int.h"
#include "table/symtable.h"

#define INFO_HEADER_LEN 28
#define NAMES_SIGNATURE 0xEFFEEFFEu
#define S_PUB32         0x110E

/* The named stream map: a string buffer, then a hash table of
 * {name offset, stream} pairs behind two bit vectors. */
static int info_names_stream(struct pdb *p, const uint8_t *d, size_t len)
{
    uint64_t pos = INFO_HEADER_LEN, strs, nstr, size;

    if (len < pos + 4)
        return 0;
    nstr = le32(d + pos);
    strs = pos + 4;
    pos = strs + nstr;
    if (pos + 8 > len)
        return objfile_fail(p->map, -EINVAL,
                            "PDB info stream: named stream map overruns");
    size = le32(d + pos);
    pos += 8;
    for (int vec = 0; vec < 2; vec++) {
        if (pos + 4 > len)
            return objfile_fail(p->map, -EINVAL,
                                "PDB info stream: bit vector overruns");
        pos += 4 + (uint64_t)le32(d + pos) * 4;
    }
    if (pos > len || size > (len - pos) / 8)
        return objfile_fail(p->map, -EINVAL,
                            "PDB info stream: %u named streams do not fit",
                            (unsigned)size);
    for (uint64_t i = 0; i < size; i++) {
        const uint8_t *e = d + pos + i * 8;
        const char *name = pdb_cstr(d + strs, nstr, le32(e));

        if (name && strcmp(name, "/names") == 0)
            p->names_stream = le32(e + 4);
    }
    return 0;
}

static int info_read(struct pdb *p)
{
    struct pdb_stream s;
    int rc = pdb_msf_stream(p, 1, &s);

    if (rc == -ENOENT)
        return objfile_fail(p->map, -EINVAL, "no PDB info stream");
    if (rc < 0)
        return rc;
    if (s.len < INFO_HEADER_LEN) {
        rc = objfile_fail(p->map, -EINVAL, "PDB info stream is truncated");
        goto out;
    }
    p->info_age = le32(s.data + 8);
    memcpy(p->guid, s.data + 12, 16);
    rc = info_names_stream(p, s.data, s.len);
out:
    pdb_stream_free(&s);
    return rc;
}

/* The "/names" string table: signature, version, size, strings. */
static int names_read(struct pdb *p)
{
    int rc;

    if (p->names_stream == UINT32_MAX)
        return 0;
    rc = pdb_msf_stream(p, p->names_stream, &p->names);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    if (p->names.len < 12 || le32(p->names.data) != NAMES_SIGNATURE ||
        le32(p->names.data + 8) > p->names.len - 12)
        return objfile_fail(p->map, -EINVAL, "string table /names is damaged");
    p->names.len = le32(p->names.data + 8);
    p->names.data += 12;
    return 0;
}

int pdb_open(struct objfile_map *map, struct pdb *p, bool full)
{
    int rc;

    memset(p, 0, sizeof(*p));
    p->map = map;
    p->names_stream = UINT32_MAX;
    p->fpo_stream = p->newfpo_stream = PDB_NO_STREAM;
    map->err[0] = '\0';
    rc = pdb_msf_open(p);
    if (rc == 0)
        rc = info_read(p);
    if (rc == 0)
        rc = pdb_dbi_open(p, full);
    if (rc == 0 && full)
        rc = names_read(p);
    if (rc == 0 && full)
        rc = pdb_types_open(p);
    return rc;
}

static const char *pdb_basename(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;

    return s ? s + 1 : (path ? path : "");
}

int pdb_identify(struct objfile_map *map, struct objfile_ident *id)
{
    struct pdb p;
    int rc;

    memset(id, 0, sizeof(*id));
    rc = pdb_open(map, &p, false);
    if (rc == 0) {
        id->kind = OBJFILE_PDB;
        codeview_format_debug_id(p.guid, p.has_dbi ? p.dbi_age : p.info_age,
                                 id->debug_id, sizeof(id->debug_id));
        if (p.has_dbi)
            snprintf(id->arch, sizeof(id->arch), "%s",
                     codeview_machine_name(p.machine));
        snprintf(id->debug_file, sizeof(id->debug_file), "%s",
                 pdb_basename(map->path));
    }
    pdb_close(&p);
    return rc;
}

/* S_PUB32 records of the symbol record stream: {flags, offset, segment,
 * name}.  Only those in executable sections help symbolication. */
static int pdb_publics(struct pdb *p, struct symtable_builder *b)
{
    struct pdb_stream s;
    size_t pos = 0;
    int rc = pdb_msf_stream(p, p->sym_record_stream, &s);

    if (rc == -ENOENT)
        return 0;
    while (rc == 0 && s.len - pos >= 4) {
        size_t rec = le16(s.data + pos);
        const uint8_t *r = s.data + pos + 4;
        const char *name;
        uint64_t rva;

        if (rec < 2 || rec > s.len - pos - 2) {
            rc = objfile_fail(p->map, -EINVAL, "public symbol at %zu overruns",
                              pos);
            break;
        }
        name = pdb_cstr(r, rec - 2, 10);
        if (le16(r - 2) == S_PUB32 && name && pdb_dbi_is_code(p, le16(r + 8)) &&
            pdb_dbi_rva(p, le16(r + 8), le32(r + 4), &rva))
            symtable_builder_add_public(b, rva, name);
        pos += 2 + rec;
    }
    pdb_stream_free(&s);
    return rc;
}

int pdb_build(struct objfile_map *map, struct symtable_builder *b)
{
    struct pdb p;
    int rc = pdb_open(map, &p, true);

    if (rc == 0 && !p.has_dbi)
        rc = objfile_fail(p.map, -EINVAL,
                          "no DBI stream: nothing to symbolicate with");
    if (rc == 0)
        rc = pdb_publics(&p, b);
    for (uint32_t i = 0; rc == 0 && i < p.num_modules; i++)
        rc = pdb_sym_module(&p, &p.modules[i], b);
    pdb_close(&p);
    return rc;
}
