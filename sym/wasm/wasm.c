/* SPDX-License-Identifier: MIT */
/*
 * wasm: read a WebAssembly module's sections, identity, function bodies
 * and names, and hand its DWARF custom sections to the ELF reader's
 * DWARF path.  See wasm.h for the address and identity conventions.
 *
 * Every LEB128 and every length is checked against the enclosing section
 * (struct wasm_cur) before use; a count is never trusted to size an
 * allocation before the bytes it promises are seen to exist.
 */
#include "symsrvd_config.h"
#include "wasm/wasm.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf/elfdw.h"
#include "table/symtable.h"
#include "xalloc.h"

#define WASM_SEC_CUSTOM 0
#define WASM_SEC_IMPORT 2
#define WASM_SEC_CODE 10
#define WASM_NAME_FUNCS 1 /* "name" subsection: function names */

/* A bounded reader over [p, end). */
struct wasm_cur {
    const uint8_t *p, *end;
    bool bad;
};

/* A named function body, address relative to the code contents. */
struct wasm_func {
    uint64_t addr, size;
    char *name; /* owned; NULL until the name section names it */
};

struct wasm_module {
    const uint8_t *code; /* code section contents, NULL when absent */
    size_t code_len;
    const uint8_t *build_id;
    size_t build_id_len;
    struct elfdw_section *dwarf; /* owned array; names in dwarf_names */
    char (*dwarf_names)[32];
    size_t ndwarf, dwarf_cap;
    struct wasm_func *funcs; /* owned */
    size_t nfuncs;
    uint32_t nimported;    /* imported functions come first in the index */
    struct wasm_cur names; /* the "name" section's data (p NULL: none) */
};

bool wasm_is_module(const uint8_t *data, size_t len)
{
    return len >= 8 && memcmp(data, "\0asm\1\0\0\0", 8) == 0;
}

static uint64_t wasm_leb(struct wasm_cur *c)
{
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t byte;

    do {
        if (c->p >= c->end || shift > 63) {
            c->bad = true;
            return 0;
        }
        byte = *c->p++;
        v |= (uint64_t)(byte & 0x7f) << shift;
        shift += 7;
    } while ((byte & 0x80) != 0);
    return v;
}

static uint8_t wasm_byte(struct wasm_cur *c)
{
    if (c->p >= c->end) {
        c->bad = true;
        return 0;
    }
    return *c->p++;
}

/* N bytes at the cursor (NULL and bad when fewer remain). */
static const uint8_t *wasm_bytes(struct wasm_cur *c, uint64_t n)
{
    const uint8_t *at = c->p;

    if (n > (uint64_t)(c->end - c->p)) {
        c->bad = true;
        return NULL;
    }
    c->p += n;
    return at;
}

/* Skip wasm limits: a flags byte, a minimum and, with bit 0, a maximum. */
static void wasm_skip_limits(struct wasm_cur *c)
{
    uint8_t flags = wasm_byte(c);

    wasm_leb(c);
    if (flags & 1)
        wasm_leb(c);
}

/* Count the imported functions, which number before the module's own. */
static void wasm_imports(struct wasm_module *m, struct wasm_cur c)
{
    uint64_t n = wasm_leb(&c);

    for (uint64_t i = 0; i < n && !c.bad; i++) {
        wasm_bytes(&c, wasm_leb(&c)); /* module */
        wasm_bytes(&c, wasm_leb(&c)); /* field */
        switch (wasm_byte(&c)) {
        case 0: /* function: type index */
            wasm_leb(&c);
            m->nimported++;
            break;
        case 1: /* table: reference type, limits */
            wasm_byte(&c);
            wasm_skip_limits(&c);
            break;
        case 2: /* memory */
            wasm_skip_limits(&c);
            break;
        case 3: /* global: value type, mutability */
            wasm_byte(&c);
            wasm_byte(&c);
            break;
        case 4: /* tag: attribute, type index */
            wasm_byte(&c);
            wasm_leb(&c);
            break;
        default:
            c.bad = true;
        }
    }
}

/* The function bodies of the code section C (its contents). */
static int wasm_code(struct objfile_map *map, struct wasm_module *m,
                     struct wasm_cur c)
{
    uint64_t n = wasm_leb(&c);

    if (c.bad || n > (uint64_t)(c.end - c.p))
        return objfile_fail(map, -EINVAL, "code section: %llu bodies",
                            (unsigned long long)n);
    m->funcs = xcalloc(n ? n : 1, sizeof(*m->funcs));
    for (uint64_t i = 0; i < n; i++) {
        uint64_t size = wasm_leb(&c);
        const uint8_t *body = wasm_bytes(&c, size);

        if (c.bad || body == NULL)
            return objfile_fail(map, -EINVAL, "code body %llu truncated",
                                (unsigned long long)i);
        m->funcs[m->nfuncs].addr = (uint64_t)(body - m->code);
        m->funcs[m->nfuncs].size = size;
        m->nfuncs++;
    }
    return 0;
}

static void wasm_custom(struct wasm_module *m, const char *name, size_t nlen,
                        struct wasm_cur data)
{
    size_t len = (size_t)(data.end - data.p);

    if (nlen == 8 && memcmp(name, "build_id", 8) == 0) {
        m->build_id = data.p;
        m->build_id_len = len;
    } else if (nlen == 4 && memcmp(name, "name", 4) == 0) {
        m->names = data;
    } else if (nlen > 7 && nlen < sizeof(m->dwarf_names[0]) &&
               memcmp(name, ".debug_", 7) == 0) {
        if (m->ndwarf == m->dwarf_cap) {
            m->dwarf_cap = m->dwarf_cap ? m->dwarf_cap * 2 : 16;
            m->dwarf = xreallocarray(m->dwarf, m->dwarf_cap, sizeof(*m->dwarf));
            m->dwarf_names = xreallocarray(m->dwarf_names, m->dwarf_cap,
                                           sizeof(*m->dwarf_names));
            /* the sections so far point into the moved names */
            for (size_t i = 0; i < m->ndwarf; i++)
                m->dwarf[i].name = m->dwarf_names[i];
        }
        memcpy(m->dwarf_names[m->ndwarf], name, nlen);
        m->dwarf_names[m->ndwarf][nlen] = '\0';
        m->dwarf[m->ndwarf] = (struct elfdw_section){
            .name = m->dwarf_names[m->ndwarf], .data = data.p, .size = len};
        m->ndwarf++;
    }
}

/* One section of kind ID with contents C. */
static int wasm_section(struct objfile_map *map, struct wasm_module *m,
                        uint8_t id, struct wasm_cur c)
{
    const uint8_t *name;
    uint64_t nlen;

    switch (id) {
    case WASM_SEC_CUSTOM:
        nlen = wasm_leb(&c);
        name = wasm_bytes(&c, nlen);
        if (c.bad)
            return objfile_fail(map, -EINVAL, "custom section name");
        wasm_custom(m, (const char *)name, (size_t)nlen, c);
        return 0;
    case WASM_SEC_IMPORT:
        wasm_imports(m, c);
        return 0;
    case WASM_SEC_CODE:
        if (m->code != NULL)
            return objfile_fail(map, -EINVAL, "two code sections");
        m->code_len = (size_t)(c.end - c.p);
        m->code = c.p;
        return wasm_code(map, m, c);
    default:
        return 0;
    }
}

static void wasm_module_free(struct wasm_module *m)
{
    for (size_t i = 0; i < m->nfuncs; i++)
        free(m->funcs[i].name);
    free(m->funcs);
    free(m->dwarf);
    free(m->dwarf_names);
    memset(m, 0, sizeof(*m));
}

/* Walk the sections of MAP into *M (released with wasm_module_free()). */
static int wasm_module_read(struct objfile_map *map, struct wasm_module *m)
{
    struct wasm_cur c = {NULL, NULL, false};
    int rc = 0;

    memset(m, 0, sizeof(*m));
    if (!wasm_is_module(map->data, map->len))
        return objfile_fail(map, -EINVAL, "not a WebAssembly module");
    c.p = map->data + 8;
    c.end = map->data + map->len;
    while (rc == 0 && c.p < c.end) {
        uint8_t id = wasm_byte(&c);
        uint64_t size = wasm_leb(&c);
        const uint8_t *body = wasm_bytes(&c, size);

        if (c.bad)
            rc = objfile_fail(map, -EINVAL, "section at %zu truncated",
                              (size_t)(c.p - map->data));
        else
            rc = wasm_section(map, m, id,
                              (struct wasm_cur){body, body + size, false});
    }
    if (rc != 0)
        wasm_module_free(m);
    return rc;
}

int wasm_identify(struct objfile_map *map, struct objfile_ident *id)
{
    struct wasm_module m;
    int rc;

    memset(id, 0, sizeof(*id));
    id->kind = OBJFILE_WASM;
    rc = wasm_module_read(map, &m);
    if (rc != 0)
        return rc;
    snprintf(id->arch, sizeof(id->arch), "wasm32");
    for (size_t i = 0; i < m.build_id_len && 2 * i + 2 < sizeof(id->code_id);
         i++)
        snprintf(id->code_id + 2 * i, 3, "%02x", m.build_id[i]);
    if (m.build_id_len >= 16) {
        for (size_t i = 0; i < 16; i++)
            snprintf(id->debug_id + 2 * i, 3, "%02X", m.build_id[i]);
        id->debug_id[32] = '0';
    }
    snprintf(id->code_file, sizeof(id->code_file), "%s",
             objfile_basename(map->path));
    snprintf(id->debug_file, sizeof(id->debug_file), "%s", id->code_file);
    wasm_module_free(&m);
    return 0;
}

/* Name the bodies from the "name" section's function-name subsection;
 * a malformed name section just leaves names out. */
static void wasm_names(struct wasm_module *m)
{
    struct wasm_cur c = m->names;

    while (c.p != NULL && c.p < c.end && !c.bad) {
        uint8_t sub = wasm_byte(&c);
        uint64_t size = wasm_leb(&c);
        const uint8_t *p = wasm_bytes(&c, size);
        struct wasm_cur s;
        uint64_t n;

        if (c.bad || sub != WASM_NAME_FUNCS)
            continue;
        s = (struct wasm_cur){p, p + size, false};
        n = wasm_leb(&s);
        for (uint64_t i = 0; i < n && !s.bad; i++) {
            uint64_t idx = wasm_leb(&s), len = wasm_leb(&s);
            const uint8_t *name = wasm_bytes(&s, len);

            if (s.bad || idx < m->nimported || idx - m->nimported >= m->nfuncs)
                continue;
            free(m->funcs[idx - m->nimported].name);
            m->funcs[idx - m->nimported].name =
                xasprintf("%.*s", (int)len, (const char *)name);
        }
    }
}

static int wasm_build_want(struct objfile_map *map, struct symtable_builder *b,
                           const uint64_t *rvas, size_t nrvas)
{
    struct wasm_module m;
    struct elfdw_symbol *syms;
    struct elfdw_range code;
    struct elfdw_foreign f;
    int rc = wasm_module_read(map, &m);

    if (rc != 0)
        return rc;
    wasm_names(&m);
    syms = xcalloc(m.nfuncs ? m.nfuncs : 1, sizeof(*syms));
    for (size_t i = 0; i < m.nfuncs; i++)
        syms[i] = (struct elfdw_symbol){.addr = m.funcs[i].addr,
                                        .size = m.funcs[i].size,
                                        .name = m.funcs[i].name};
    code = (struct elfdw_range){0, m.code_len};
    f = (struct elfdw_foreign){.dwarf_path = map->path ? map->path : "(memory)",
                               .is64 = false,
                               .base = 0,
                               .sections = m.dwarf,
                               .nsections = m.ndwarf,
                               .code = &code,
                               .ncode = m.code != NULL,
                               .syms = syms,
                               .nsyms = m.nfuncs,
                               .dwarf_names_first = true};
    rc = elfdw_build_foreign(map, &f, b, rvas, nrvas);
    if (rc == 0)
        symtable_builder_set_image_size(b, m.code_len);
    free(syms);
    wasm_module_free(&m);
    return rc;
}

int wasm_build(struct objfile_map *map, struct symtable_builder *b)
{
    return wasm_build_want(map, b, NULL, 0);
}

int wasm_build_for(struct objfile_map *map, struct symtable_builder *b,
                   const uint64_t *rvas, size_t nrvas)
{
    return wasm_build_want(map, b, rvas, nrvas);
}
