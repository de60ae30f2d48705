/* SPDX-License-Identifier: MIT */
/*
 * symdir: the directory symbol provider (see symdir.h for the layouts).
 *
 * DESIGN.  Each module identity gets one cache entry, filled on first
 * request by walking the candidate paths in order of preference and
 * taking from each file what it offers that is still missing: a symbol
 * table, Breakpad STACK records, PE unwind info, ELF CFI.  The entry owns
 * everything the provider hands out (tables, indexes, and the mappings
 * they borrow), so results stay valid until symdir_free().
 */
#include "symsrvd_config.h"
#include "fileio.h"

#include "symdir/symdir.h"

#include "breakpad/breakpad.h"
#include "macho/macho.h"
#include "objfile/objfile.h"
#include "pdb/pdb.h"
#include "table/symtable.h"
#include "unwind/unwind.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* A module's identity, as the paths use it. */
struct symdir_key {
    char *debug_file, *debug_id, *code_file, *code_id;
};

struct symdir_entry {
    struct symdir_key key;
    struct stackwalk_symbols syms;
    /* Owned: what syms points at, and the mappings those borrow. */
    struct symtable *table;
    void *blob;
    void *table_handle; /* the table is symdir_tables' */
    struct unwind_bpindex *bp;
    struct breakpad_stack *stack;
    char *stack_strings; /* the rules of STACK, when they come from a PDB */
    struct objfile_map bp_map;
    struct unwind_pe *pe;
    struct objfile_map pe_map;
    struct unwind_elf *elf;
    struct unwind_macho *macho;
    char *bp_path, *pe_path;
};

struct symdir {
    char **dirs;
    size_t ndirs;
    struct symdir_entry **entries;
    size_t nentries, cap;
    size_t files_read;
    struct symdir_tables tables; /* get NULL: build them here */
};

struct symdir *symdir_new(const char *const *dirs, size_t n)
{
    struct symdir *sd = xcalloc(1, sizeof(*sd));

    sd->dirs = xcalloc(n + 1, sizeof(*sd->dirs));
    for (size_t i = 0; i < n; i++)
        sd->dirs[i] = xstrdup(dirs[i]);
    sd->ndirs = n;
    return sd;
}

static void key_free(struct symdir_key *k)
{
    free(k->debug_file);
    free(k->debug_id);
    free(k->code_file);
    free(k->code_id);
}

static void entry_free(struct symdir *sd, struct symdir_entry *e)
{
    if (e == NULL)
        return;
    if (e->table_handle != NULL)
        sd->tables.put(sd->tables.ctx, e->table_handle);
    else
        symtable_close(e->table);
    free(e->blob);
    unwind_bpindex_free(e->bp);
    free(e->stack);
    free(e->stack_strings);
    if (e->bp_map.data)
        objfile_unmap(&e->bp_map);
    unwind_pe_free(e->pe);
    if (e->pe_map.data)
        objfile_unmap(&e->pe_map);
    unwind_elf_free(e->elf);
    unwind_macho_free(e->macho);
    free(e->bp_path);
    free(e->pe_path);
    key_free(&e->key);
    free(e);
}

void symdir_free(struct symdir *sd)
{
    if (sd == NULL)
        return;
    for (size_t i = 0; i < sd->nentries; i++)
        entry_free(sd, sd->entries[i]);
    free(sd->entries);
    for (size_t i = 0; i < sd->ndirs; i++)
        free(sd->dirs[i]);
    free(sd->dirs);
    free(sd);
}

void symdir_set_tables(struct symdir *sd, const struct symdir_tables *t)
{
    sd->tables = *t;
}

size_t symdir_files_read(const struct symdir *sd)
{
    return sd->files_read;
}

/* A name safe to use as one path component: no separators, no "." or
 * "..", not empty.  A hostile dump must not steer us out of the
 * directory. */
static bool safe_component(const char *s)
{
    return s[0] != '\0' && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
           strchr(s, '/') == NULL;
}

static void key_init(struct symdir_key *k, const struct minidump_module *m)
{
    k->debug_file = xstrdup(path_base(m->debug_file));
    k->debug_id = xstrdup(m->debug_id);
    k->code_file = xstrdup(path_base(m->code_file));
    k->code_id = xstrdup(m->code_id);
}

static bool key_equal(const struct symdir_key *k,
                      const struct minidump_module *m)
{
    return strcmp(k->debug_file, path_base(m->debug_file)) == 0 &&
           strcmp(k->debug_id, m->debug_id) == 0 &&
           strcmp(k->code_file, path_base(m->code_file)) == 0 &&
           strcmp(k->code_id, m->code_id) == 0;
}

/* NAME without a trailing ".pdb" (any case), plus ".sym". */
static char *sym_name(const char *name)
{
    size_t len = strlen(name);

    if (len > 4 && strcasecmp(name + len - 4, ".pdb") == 0)
        len -= 4;
    return xasprintf("%.*s.sym", (int)len, name);
}

static bool regular_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* --- taking what one file offers -------------------------------------- */

/* The identity of MAP; of a universal Mach-O file, the slice with WANT
 * as its debug id (the first when none has it). */
static int identify(struct objfile_map *map, const char *want,
                    struct objfile_ident *id)
{
    if (objfile_detect(map) == OBJFILE_MACHO &&
        macho_identify_slice(map, want, id) == 0)
        return 0;
    return objfile_identify(map, id);
}

static int build_table(struct symdir_entry *e, struct objfile_map *map)
{
    struct objfile_ident id;
    struct symtable_builder *b = symtable_builder_new();
    size_t len;
    int rc = identify(map, e->key.debug_id, &id);

    if (rc == 0) {
        symtable_builder_set_image_base(b, id.image_base);
        /* A universal file answers for the module's slice. */
        if (id.kind == OBJFILE_MACHO)
            rc = macho_build_slice(map, id.debug_id, b, NULL, 0);
        else
            rc = objfile_build(map, b);
    }
    if (rc == 0)
        rc = symtable_builder_finish(b, &e->blob, &len);
    if (rc == 0)
        rc = symtable_load(e->blob, len, &e->table);
    if (rc < 0) {
        free(e->blob);
        e->blob = NULL;
    }
    symtable_builder_free(b);
    return rc;
}

/* Breakpad STACK records; the index borrows the mapping, so the entry
 * keeps it (the path too: the map's PATH points at it). */
static void take_breakpad_stack(struct symdir_entry *e, const char *path)
{
    size_t n = 0;

    e->bp_path = xstrdup(path);
    if (objfile_map(e->bp_path, &e->bp_map) < 0)
        goto fail;
    if (breakpad_stack_records(&e->bp_map, &e->stack, &n) < 0 || n == 0)
        goto fail;
    if (unwind_bpindex_new(e->stack, n, &e->bp, NULL, 0) == 0)
        return;
fail:
    free(e->stack);
    e->stack = NULL;
    if (e->bp_map.data)
        objfile_unmap(&e->bp_map);
    e->bp_map = (struct objfile_map){0};
    free(e->bp_path);
    e->bp_path = NULL;
}

/* A PDB's x86 frame data, as the STACK WIN records dump_syms would have
 * written: a store of PDBs alone then unwinds frames that omit EBP. */
static void take_pdb_stack(struct symdir_entry *e, struct objfile_map *map)
{
    size_t n = 0;

    if (pdb_stack_records(map, &e->stack, &n, &e->stack_strings) == 0 &&
        n > 0 && unwind_bpindex_new(e->stack, n, &e->bp, NULL, 0) == 0)
        return;
    free(e->stack);
    free(e->stack_strings);
    e->stack = NULL;
    e->stack_strings = NULL;
}

static void take_pe(struct symdir_entry *e, const char *path)
{
    e->pe_path = xstrdup(path);
    if (objfile_map(e->pe_path, &e->pe_map) == 0 &&
        unwind_pe_open(e->pe_map.data, e->pe_map.len, &e->pe) == 0)
        return;
    if (e->pe_map.data)
        objfile_unmap(&e->pe_map);
    e->pe_map = (struct objfile_map){0};
    free(e->pe_path);
    e->pe_path = NULL;
}

/* Whether the file in MAP is the module's (for the flat layout, whose
 * paths carry no identity). */
static bool identity_matches(struct objfile_map *map,
                             const struct symdir_key *k)
{
    struct objfile_ident id;

    if (identify(map, k->debug_id, &id) < 0)
        return false;
    if (k->debug_id[0] && strcasecmp(id.debug_id, k->debug_id) == 0)
        return true;
    return k->code_id[0] && strcasecmp(id.code_id, k->code_id) == 0;
}

/* Take from the file at PATH whatever E still lacks. */
static void take_file(struct symdir *sd, struct symdir_entry *e,
                      const char *path, bool check_identity)
{
    struct objfile_map map;
    enum objfile_kind kind;
    char *inner = NULL;

    /* A dSYM bundle stands for the DWARF file inside it. */
    if (macho_dsym_file(path, &inner) == 0) {
        take_file(sd, e, inner, check_identity);
        free(inner);
        return;
    }
    if (!regular_file(path) || objfile_map(path, &map) < 0)
        return;
    sd->files_read++;
    kind = objfile_detect(&map);
    if (kind == OBJFILE_UNKNOWN ||
        (check_identity && !identity_matches(&map, &e->key))) {
        objfile_unmap(&map);
        return;
    }
    if (e->table == NULL &&
        (sd->tables.get == NULL ||
         sd->tables.get(sd->tables.ctx, path, e->key.debug_id, &e->table,
                        &e->table_handle) < 0) &&
        build_table(e, &map) < 0)
        e->syms.corrupt = true;
    if (kind == OBJFILE_PDB && e->bp == NULL)
        take_pdb_stack(e, &map);
    objfile_unmap(&map);
    if (kind == OBJFILE_BREAKPAD && e->bp == NULL)
        take_breakpad_stack(e, path);
    if (kind == OBJFILE_PE && e->pe == NULL)
        take_pe(e, path);
    if (kind == OBJFILE_ELF && e->elf == NULL &&
        unwind_elf_open(path, &e->elf) < 0)
        e->elf = NULL;
    if (kind == OBJFILE_MACHO && e->macho == NULL &&
        unwind_macho_open(path, e->key.debug_id, &e->macho) < 0)
        e->macho = NULL;
}

/* --- the candidate paths ------------------------------------------------ */

static void try_path(struct symdir *sd, struct symdir_entry *e, const char *dir,
                     const char *a, const char *b, const char *c,
                     bool check_identity)
{
    char *path;

    if (!safe_component(a) || (b && !safe_component(b)) ||
        (c && !safe_component(c)))
        return;
    if (b == NULL)
        path = xasprintf("%s/%s", dir, a);
    else if (c == NULL)
        path = xasprintf("%s/%s/%s", dir, a, b);
    else
        path = xasprintf("%s/%s/%s/%s", dir, a, b, c);
    take_file(sd, e, path, check_identity);
    free(path);
}

/* Code ids are written upper or lower case by different tools. */
static void try_code_id(struct symdir *sd, struct symdir_entry *e,
                        const char *dir, const char *code)
{
    char *id = xstrdup(e->key.code_id);

    try_path(sd, e, dir, code, id, code, false);
    for (char *p = id; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    if (strcmp(id, e->key.code_id) != 0)
        try_path(sd, e, dir, code, id, code, false);
    for (char *p = id; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (strcmp(id, e->key.code_id) != 0)
        try_path(sd, e, dir, code, id, code, false);
    free(id);
}

/* debuginfod's K/debuginfo and K/executable (K: the build id, lower hex,
 * as ELF code ids are). */
static void try_build_id(struct symdir *sd, struct symdir_entry *e,
                         const char *dir, const char *what)
{
    char *id = xstrdup(e->key.code_id);

    for (char *p = id; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    try_path(sd, e, dir, id, what, NULL, false);
    free(id);
}

/* LLDB's UUID-mapped layout: the 32 hex digits of the UUID (the debug id
 * without its age) as XXXX/XXXX/XXXX/XXXX/XXXX/XXXXXXXXXXXX, naming the
 * binary or its dSYM, the bundle also with ".dSYM" appended.  The UUID
 * in the path is the file's identity, so none is checked. */
static void try_lldb_uuid(struct symdir *sd, struct symdir_entry *e,
                          const char *dir)
{
    const char *id = e->key.debug_id;
    char *path, *dsym;

    if (strlen(id) < 32 || strspn(id, "0123456789abcdefABCDEF") < 32)
        return;
    path = xasprintf("%s/%.4s/%.4s/%.4s/%.4s/%.4s/%.12s", dir, id, id + 4,
                     id + 8, id + 12, id + 16, id + 20);
    dsym = xasprintf("%s.dSYM", path);
    take_file(sd, e, path, false);
    take_file(sd, e, dsym, false);
    free(dsym);
    free(path);
}

static void search_dir(struct symdir *sd, struct symdir_entry *e,
                       const char *dir)
{
    const struct symdir_key *k = &e->key;
    char *sym = sym_name(k->debug_file);

    try_path(sd, e, dir, k->debug_file, k->debug_id, k->debug_file, false);
    if (k->code_id[0])
        try_build_id(sd, e, dir, "debuginfo");
    try_path(sd, e, dir, k->debug_file, k->debug_id, sym, false);
    try_lldb_uuid(sd, e, dir);
    if (k->code_id[0]) {
        try_code_id(sd, e, dir, k->code_file);
        try_build_id(sd, e, dir, "executable");
    }
    try_path(sd, e, dir, sym, NULL, NULL, true);
    try_path(sd, e, dir, k->debug_file, NULL, NULL, true);
    if (strcmp(k->code_file, k->debug_file) != 0)
        try_path(sd, e, dir, k->code_file, NULL, NULL, true);
    free(sym);
}

static struct symdir_entry *entry_load(struct symdir *sd,
                                       const struct minidump_module *m)
{
    struct symdir_entry *e = xcalloc(1, sizeof(*e));

    key_init(&e->key, m);
    for (size_t i = 0; i < sd->ndirs; i++)
        search_dir(sd, e, sd->dirs[i]);
    e->syms.table = e->table;
    e->syms.bp = e->bp;
    e->syms.pe = e->pe;
    e->syms.elf = e->elf;
    e->syms.macho = e->macho;
    if (e->table)
        e->syms.corrupt = false;
    return e;
}

static int symdir_get(void *ctx, const struct minidump_module *m,
                      struct stackwalk_symbols *out)
{
    struct symdir *sd = ctx;
    struct symdir_entry *e = NULL;

    for (size_t i = 0; i < sd->nentries && e == NULL; i++) {
        if (key_equal(&sd->entries[i]->key, m))
            e = sd->entries[i];
    }
    if (e == NULL) {
        e = entry_load(sd, m);
        if (sd->nentries == sd->cap) {
            sd->cap = sd->cap ? sd->cap * 2 : 16;
            sd->entries =
                xreallocarray(sd->entries, sd->cap, sizeof(*sd->entries));
        }
        sd->entries[sd->nentries++] = e;
    }
    *out = e->syms;
    return 0;
}

void symdir_provider(struct symdir *sd, struct stackwalk_provider *p)
{
    p->get = symdir_get;
    p->ctx = sd;
}
