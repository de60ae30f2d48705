/* SPDX-License-Identifier: MIT */
/*
 * pdb_xmod: cross-module id references.  MSVC's linker may leave an inline
 * site's inlinee as a module-local "decorated" id (top bit set): bits
 * 20..30 pick an entry of the module's DEBUG_S_CROSSSCOPEIMPORTS (the
 * name of the exporting module and a list of its local ids), bits 0..19
 * an id in that list, and the exporting module's
 * DEBUG_S_CROSSSCOPEEXPORTS maps its local ids to IPI indices.  The
 * export tables of all modules are read once, on the first such id.
 */
#include "symsrvd_config.h"

#include <errno.h>
#include <stdlib.h>
#include <strings.h>

#include "pdb/pdb_int.h"
#include "xalloc.h"

#define XMOD_DECORATED 0x80000000u

static int xexport_cmp(const void *a, const void *b)
{
    const struct pdb_xexport *x = a, *y = b;

    return x->local < y->local ? -1 : x->local > y->local;
}

/* Copy module M's export pairs. */
static int xmod_load_one(struct pdb *p, struct pdb_module *m)
{
    struct pdb_stream s;
    const uint8_t *d;
    size_t n;
    int rc;

    rc = pdb_dbi_module_stream(p, m, &s);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    rc = pdb_c13_find(p, s.data + m->sym_bytes + m->c11_bytes, m->c13_bytes,
                      DEBUG_S_CROSSSCOPEEXPORTS, &d, &n);
    if (rc == 0 && d && n >= 8) {
        m->num_exports = n / 8;
        m->exports = xcalloc(m->num_exports, sizeof(*m->exports));
        for (size_t i = 0; i < m->num_exports; i++) {
            m->exports[i].local = le32(d + i * 8);
            m->exports[i].global = le32(d + i * 8 + 4);
        }
        qsort(m->exports, m->num_exports, sizeof(*m->exports), xexport_cmp);
    }
    pdb_stream_free(&s);
    return rc;
}

static void xmod_load(struct pdb *p)
{
    p->exports_loaded = true;
    for (uint32_t i = 0; i < p->num_modules; i++) {
        if (xmod_load_one(p, &p->modules[i]) < 0)
            return; /* names behind a damaged module stay unknown */
    }
}

/* The module named NAME (as the string table spells it: any case). */
static const struct pdb_module *xmod_module(const struct pdb *p,
                                            const char *name)
{
    for (uint32_t i = 0; i < p->num_modules; i++) {
        if (strcasecmp(p->modules[i].name, name) == 0)
            return &p->modules[i];
    }
    return NULL;
}

uint32_t pdb_xmod_resolve(struct pdb *p, const struct pdb_c13 *c,
                          uint32_t item)
{
    uint32_t entry = (item >> 20) & 0x7FF, idx = item & 0xFFFFF;
    const struct pdb_module *m;
    struct pdb_xexport key, *hit;
    const char *name;
    size_t pos = 0;

    if (!(item & XMOD_DECORATED))
        return item;
    for (uint32_t i = 0; c->imports && c->imports_len - pos >= 8; i++) {
        uint32_t count = le32(c->imports + pos + 4);

        if (count > (c->imports_len - pos - 8) / 4)
            return 0;
        if (i == entry) {
            if (idx >= count)
                return 0;
            name =
                pdb_cstr(p->names.data, p->names.len, le32(c->imports + pos));
            m = name ? xmod_module(p, name) : NULL;
            if (!m)
                return 0;
            if (!p->exports_loaded)
                xmod_load(p);
            key.local = le32(c->imports + pos + 8 + (size_t)idx * 4);
            hit = m->num_exports ? bsearch(&key, m->exports, m->num_exports,
                                           sizeof(key), xexport_cmp)
                                 : NULL;
            return hit ? hit->global : 0;
        }
        pos += 8 + (size_t)count * 4;
    }
    return 0;
}

void pdb_xmod_free(struct pdb *p)
{
    for (uint32_t i = 0; i < p->num_modules; i++)
        free(p->modules[i].exports);
}
