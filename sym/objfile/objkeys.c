/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "objfile/objkeys.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "elf/elfdw.h"

static void add(struct objkeys *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add(struct objkeys *out, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(out->key[out->n++], OBJKEYS_LEN, fmt, ap);
    va_end(ap);
}

/* A name a key repeats must be one path component the daemon accepts. */
static bool component_ok(const char *s)
{
    return s[0] != '\0' && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
           strpbrk(s, "/\\") == NULL;
}

/* Breakpad's store names the .sym after the module, less only ".pdb"
 * (Mozilla: xul.pdb/ID/xul.sym, libxul.so/ID/libxul.so.sym). */
static void breakpad_key(const struct objfile_ident *id, struct objkeys *out)
{
    size_t n = strlen(id->debug_file);
    int stem = (int)n;

    if (n > 4 && strcasecmp(id->debug_file + n - 4, ".pdb") == 0)
        stem -= 4;
    add(out, "%s/%s/%.*s.sym", id->debug_file, id->debug_id, stem,
        id->debug_file);
}

static int elf_keys(struct objfile_map *map, const struct objfile_ident *id,
                    struct objkeys *out)
{
    const char *bid = id->code_id;
    bool exe, dbg;
    int rc;

    if (bid[0] == '\0')
        return objfile_fail(map, -EINVAL,
                            "no GNU build id (link with -Wl,--build-id)");
    rc = elfdw_artifacts(map, &exe, &dbg);
    if (rc != 0)
        return rc;
    if (!exe && !dbg)
        return objfile_fail(map, -EINVAL,
                            "neither loadable code nor debug sections");
    if (dbg)
        add(out, "buildid/%s/debuginfo", bid);
    if (exe)
        add(out, "buildid/%s/executable", bid);
    if (dbg)
        add(out, "_.debug/elf-buildid-sym-%s/_.debug", bid);
    if (exe && component_ok(id->code_file))
        add(out, "%s/elf-buildid-%s/%s", id->code_file, bid, id->code_file);
    return 0;
}

int objkeys_list(struct objfile_map *map, const struct objfile_ident *id,
                 struct objkeys *out)
{
    out->n = 0;
    switch (id->kind) {
    case OBJFILE_PDB:
    case OBJFILE_BREAKPAD:
        if (!component_ok(id->debug_file))
            return objfile_fail(map, -EINVAL,
                                "debug file name is not a file name: %s",
                                id->debug_file);
        if (id->kind == OBJFILE_BREAKPAD)
            breakpad_key(id, out);
        else
            add(out, "%s/%s/%s", id->debug_file, id->debug_id,
                id->debug_file);
        return 0;
    case OBJFILE_PE:
        if (!component_ok(id->code_file))
            return objfile_fail(map, -EINVAL, "not a file name");
        add(out, "%s/%s/%s", id->code_file, id->code_id, id->code_file);
        return 0;
    case OBJFILE_ELF:
        return elf_keys(map, id, out);
    default:
        return objfile_fail(map, -EINVAL, "no store key for a %s",
                            objfile_kind_name(id->kind));
    }
}
