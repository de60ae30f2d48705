/* SPDX-License-Identifier: MIT */
/*
 * pdb_dbi: the DBI stream (stream 3).  Its header carries the age symbol
 * stores key PDBs by, the machine type and the symbol record stream; its
 * substreams list the modules (whose symbol streams hold procedures and
 * line tables) and, through the optional debug header, the stream of PE
 * section headers needed to turn segment:offset addresses into RVAs.
 */
#include "symsrvd_config.h"

#include <errno.h>
#include <string.h>

#include "pdb/pdb_int.h"
#include "xalloc.h"

#define DBI_HEADER_LEN       64
#define DBI_MODI_FIXED_LEN   64
#define DBI_DBG_FPO          0
#define DBI_DBG_SECTION_HDR  5
#define DBI_DBG_NEW_FPO      9
#define SECTION_HEADER_LEN   40
#define IMAGE_SCN_MEM_EXECUTE 0x20000000u

/* Sizes of the substreams after the header, in file order. */
enum {
    DBI_SUB_MODI,
    DBI_SUB_SECCONTR,
    DBI_SUB_SECMAP,
    DBI_SUB_FILEINFO,
    DBI_SUB_TSMAP,
    DBI_SUB_EC,
    DBI_SUB_DBGHDR,
    DBI_SUB_COUNT
};

struct dbi_substreams {
    size_t off[DBI_SUB_COUNT];
    size_t len[DBI_SUB_COUNT];
};

static int dbi_layout(struct pdb *p, struct dbi_substreams *ss)
{
    static const size_t field[DBI_SUB_COUNT] = {24, 28, 32, 36, 40, 52, 48};
    const uint8_t *h = p->dbi.data;
    uint64_t pos = DBI_HEADER_LEN;

    for (int i = 0; i < DBI_SUB_COUNT; i++) {
        int32_t n = (int32_t)le32(h + field[i]);

        if (n < 0 || pos + (uint64_t)n > p->dbi.len)
            return objfile_fail(p->map, -EINVAL,
                                "DBI stream: substream %d (%d bytes) runs "
                                "past the stream",
                                i, n);
        ss->off[i] = (size_t)pos;
        ss->len[i] = (size_t)n;
        pos += (uint64_t)n;
    }
    return 0;
}

/* Walk the module info list once to count, once to fill. */
static int dbi_modules(struct pdb *p, const uint8_t *d, size_t len)
{
    size_t cap = len / DBI_MODI_FIXED_LEN, pos = 0;

    p->modules = xcalloc(cap + 1, sizeof(*p->modules));
    while (pos + DBI_MODI_FIXED_LEN <= len) {
        const uint8_t *m = d + pos;
        struct pdb_module *mod = &p->modules[p->num_modules];
        const char *name = pdb_cstr(d, len, pos + DBI_MODI_FIXED_LEN);
        const char *obj;

        if (!name)
            return objfile_fail(p->map, -EINVAL,
                                "DBI module %u: unterminated name",
                                p->num_modules);
        obj = pdb_cstr(d, len, pos + DBI_MODI_FIXED_LEN + strlen(name) + 1);
        if (!obj)
            return objfile_fail(p->map, -EINVAL,
                                "DBI module %u: unterminated object name",
                                p->num_modules);
        mod->stream = le16(m + 34);
        mod->sym_bytes = le32(m + 36);
        mod->c11_bytes = le32(m + 40);
        mod->c13_bytes = le32(m + 44);
        mod->name = name;
        p->num_modules++;
        pos = (size_t)(obj - (const char *)d) + strlen(obj) + 1;
        pos = (pos + 3) & ~(size_t)3;
    }
    return 0;
}

static int dbi_sections(struct pdb *p, const uint8_t *dbg, size_t dbg_len)
{
    struct pdb_stream s;
    uint16_t idx;
    int rc;

    p->fpo_stream = dbg_len >= (DBI_DBG_FPO + 1) * 2
                        ? le16(dbg + DBI_DBG_FPO * 2)
                        : PDB_NO_STREAM;
    p->newfpo_stream = dbg_len >= (DBI_DBG_NEW_FPO + 1) * 2
                           ? le16(dbg + DBI_DBG_NEW_FPO * 2)
                           : PDB_NO_STREAM;
    if (dbg_len < (DBI_DBG_SECTION_HDR + 1) * 2)
        return 0;
    idx = le16(dbg + DBI_DBG_SECTION_HDR * 2);
    if (idx == PDB_NO_STREAM)
        return 0;
    rc = pdb_msf_stream(p, idx, &s);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    p->num_sections = (uint32_t)(s.len / SECTION_HEADER_LEN);
    p->sections = xcalloc(p->num_sections + 1, sizeof(*p->sections));
    for (uint32_t i = 0; i < p->num_sections; i++) {
        const uint8_t *h = s.data + (size_t)i * SECTION_HEADER_LEN;

        p->sections[i].size = le32(h + 8);
        p->sections[i].rva = le32(h + 12);
        p->sections[i].flags = le32(h + 36);
    }
    pdb_stream_free(&s);
    return 0;
}

int pdb_dbi_open(struct pdb *p, bool want_sections)
{
    struct dbi_substreams ss;
    int rc;

    rc = pdb_msf_stream(p, 3, &p->dbi);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    if (p->dbi.len < DBI_HEADER_LEN)
        return objfile_fail(p->map, -EINVAL,
                            "DBI stream is shorter than its header");
    if ((int32_t)le32(p->dbi.data) != -1)
        return objfile_fail(p->map, -EINVAL, "DBI stream: unknown signature");
    p->has_dbi = true;
    p->dbi_age = le32(p->dbi.data + 8);
    p->sym_record_stream = le16(p->dbi.data + 20);
    p->machine = le16(p->dbi.data + 58);
    if (!want_sections)
        return 0;
    rc = dbi_layout(p, &ss);
    if (rc == 0)
        rc = dbi_modules(p, p->dbi.data + ss.off[DBI_SUB_MODI],
                         ss.len[DBI_SUB_MODI]);
    if (rc == 0)
        rc = dbi_sections(p, p->dbi.data + ss.off[DBI_SUB_DBGHDR],
                          ss.len[DBI_SUB_DBGHDR]);
    return rc;
}

int pdb_dbi_module_stream(struct pdb *p, const struct pdb_module *m,
                          struct pdb_stream *s)
{
    int rc;

    memset(s, 0, sizeof(*s));
    if (m->stream == PDB_NO_STREAM)
        return -ENOENT;
    rc = pdb_msf_stream(p, m->stream, s);
    if (rc < 0)
        return rc;
    /* Modules of a valid file have streams of their own: reading more
     * than a few times the file means they were made to overlap. */
    p->work += s->len;
    if (p->work > 4 * (uint64_t)p->map->len)
        rc = objfile_fail(p->map, -EINVAL, "module streams overlap (module %s)",
                          m->name);
    else if ((uint64_t)m->sym_bytes + m->c11_bytes + m->c13_bytes > s->len)
        rc = objfile_fail(p->map, -EINVAL,
                          "module %s: symbol stream is shorter than its "
                          "parts",
                          m->name);
    if (rc < 0)
        pdb_stream_free(s);
    return rc;
}

bool pdb_dbi_rva(const struct pdb *p, uint16_t seg, uint32_t off,
                 uint64_t *rva)
{
    if (seg == 0 || seg > p->num_sections)
        return false;
    *rva = (uint64_t)p->sections[seg - 1].rva + off;
    return true;
}

bool pdb_dbi_is_code(const struct pdb *p, uint16_t seg)
{
    return seg != 0 && seg <= p->num_sections &&
           (p->sections[seg - 1].flags & IMAGE_SCN_MEM_EXECUTE);
}
