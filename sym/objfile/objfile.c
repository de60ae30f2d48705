/* SPDX-License-Identifier: MIT */
/*
 * objfile: map a file, tell its format by content and hand it to the
 * reader of that format.
 *
 * Detection looks only at magic numbers (and Breakpad's first line), never
 * at the file name, so a PDB stored as "crash.pd_" or a debug file without
 * extension is still recognised.  The readers live in their own modules
 * (breakpad.c, pdb*.c, pe.c, elfdw*.c, macho*.c,
 * wasm.c) and are listed in objfile_readers.
 */
#include "symsrvd_config.h"

#include "objfile/objfile.h"
#include "breakpad/breakpad.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "byteorder.h"
#include "elf/elfdw.h"
#include "macho/macho.h"
#include "pdb/pdb.h"
#include "pe/pe.h"
#include "wasm/wasm.h"

int objfile_vfail(struct objfile_map *map, int rc, size_t line, const char *fmt,
                  va_list ap)
{
    const char *path = map->path ? map->path : "(memory)";
    size_t n;
    int w;

    if (line != 0)
        w = snprintf(map->err, sizeof(map->err), "%s:%zu: ", path, line);
    else
        w = snprintf(map->err, sizeof(map->err), "%s: ", path);
    n = w < 0 ? 0 : (size_t)w;
    if (n < sizeof(map->err))
        vsnprintf(map->err + n, sizeof(map->err) - n, fmt, ap);
    return rc;
}

int objfile_fail(struct objfile_map *map, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    rc = objfile_vfail(map, rc, 0, fmt, ap);
    va_end(ap);
    return rc;
}
/* PATH is borrowed: it must outlive the map (readers use it to find
 * companion files such as a PE's PDB). */
int objfile_map(const char *path, struct objfile_map *map)
{
    struct stat st;
    int fd, rc = 0;

    memset(map, 0, sizeof(*map));
    map->path = path;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return objfile_fail(map, -errno, "%s", strerror(errno));
    if (fstat(fd, &st) < 0) {
        rc = objfile_fail(map, -errno, "%s", strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = objfile_fail(map, -EINVAL, "not a regular file");
        goto out;
    }
    if (st.st_size == 0)
        goto out; /* detected as unknown, nothing to map */
    map->data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map->data == MAP_FAILED) {
        map->data = NULL;
        rc = objfile_fail(map, -errno, "%s", strerror(errno));
        goto out;
    }
    map->len = (size_t)st.st_size;
out:
    close(fd);
    return rc;
}

void objfile_unmap(struct objfile_map *map)
{
    if (map->data != NULL && map->len > 0)
        munmap((void *)map->data, map->len);
    map->data = NULL;
    map->len = 0;
}

const char *objfile_basename(const char *path)
{
    const char *slash;

    if (path == NULL)
        return "";
    slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static bool has_prefix(const struct objfile_map *map, const void *magic,
                       size_t len)
{
    return map->len >= len && memcmp(map->data, magic, len) == 0;
}

static bool is_pdb2(const struct objfile_map *map)
{
    return pdb_msf_version(map->data, map->len) == PDB_MSF_2;
}

static bool is_pe(const struct objfile_map *map)
{
    uint32_t lfanew;

    if (!has_prefix(map, "MZ", 2) || map->len < 0x40)
        return false;
    lfanew = le32(map->data + 0x3c);
    return lfanew <= map->len - 4 &&
           memcmp(map->data + lfanew, "PE\0\0", 4) == 0;
}

/* Thin (either byte order, 32/64-bit) and fat (32/64-bit) Mach-O.  Fat
 * shares 0xcafebabe with Java class files, whose second word (the class
 * version) is at least 45 where a fat header has a small arch count. */
static bool is_macho(const struct objfile_map *map)
{
    static const uint8_t thin[4][4] = {{0xce, 0xfa, 0xed, 0xfe},
                                       {0xcf, 0xfa, 0xed, 0xfe},
                                       {0xfe, 0xed, 0xfa, 0xce},
                                       {0xfe, 0xed, 0xfa, 0xcf}};
    const uint8_t *d = map->data;

    if (map->len < 8)
        return false;
    for (int i = 0; i < 4; i++)
        if (memcmp(d, thin[i], 4) == 0)
            return true;
    if (d[0] == 0xca && d[1] == 0xfe && d[2] == 0xba &&
        (d[3] == 0xbe || d[3] == 0xbf))
        return d[4] == 0 && d[5] == 0 && d[6] == 0 && d[7] > 0 && d[7] < 45;
    return false;
}

enum objfile_kind objfile_detect(const struct objfile_map *map)
{
    if (map->data == NULL)
        return OBJFILE_UNKNOWN;
    if (pdb_msf_version(map->data, map->len) != PDB_MSF_NONE)
        return OBJFILE_PDB;
    if (is_pe(map))
        return OBJFILE_PE;
    if (has_prefix(map,
                   "\x7f"
                   "ELF",
                   4))
        return OBJFILE_ELF;
    if (has_prefix(map, "MODULE ", 7))
        return OBJFILE_BREAKPAD;
    if (is_macho(map))
        return OBJFILE_MACHO;
    if (wasm_is_module(map->data, map->len))
        return OBJFILE_WASM;
    return OBJFILE_UNKNOWN;
}

const char *objfile_kind_name(enum objfile_kind kind)
{
    switch (kind) {
    case OBJFILE_PDB:
        return "pdb";
    case OBJFILE_PE:
        return "pe";
    case OBJFILE_ELF:
        return "elf";
    case OBJFILE_BREAKPAD:
        return "breakpad";
    case OBJFILE_MACHO:
        return "macho";
    case OBJFILE_WASM:
        return "wasm";
    case OBJFILE_UNKNOWN:
        break;
    }
    return "unknown";
}

/* The kinds this build recognises but has no reader for. */
static int objfile_unsupported(struct objfile_map *map, enum objfile_kind kind)
{
    if (kind == OBJFILE_PDB && is_pdb2(map))
        return objfile_fail(map, -ENOTSUP, "PDB 2.0 is not supported");
    if (kind == OBJFILE_UNKNOWN)
        return objfile_fail(map, -EINVAL, "unknown file format");
    return objfile_fail(map, -ENOTSUP, "%s files are not supported",
                        objfile_kind_name(kind));
}

/* The readers, by the kind they read. */
static const struct objfile_reader {
    enum objfile_kind kind;
    int (*identify)(struct objfile_map *, struct objfile_ident *);
    int (*build)(struct objfile_map *, struct symtable_builder *);
} objfile_readers[] = {
    {OBJFILE_BREAKPAD, breakpad_identify, breakpad_build},
    {OBJFILE_PDB, pdb_identify, pdb_build},
    {OBJFILE_PE, pe_identify, pe_build},
    {OBJFILE_ELF, elfdw_identify, elfdw_build},
    {OBJFILE_MACHO, macho_identify, macho_build},
    {OBJFILE_WASM, wasm_identify, wasm_build},
};

static const struct objfile_reader *
objfile_reader(const struct objfile_map *map, enum objfile_kind kind)
{
    if (kind == OBJFILE_PDB && is_pdb2(map))
        return NULL;
    for (size_t i = 0; i < sizeof(objfile_readers) / sizeof(objfile_readers[0]);
         i++)
        if (objfile_readers[i].kind == kind)
            return &objfile_readers[i];
    return NULL;
}

int objfile_identify(struct objfile_map *map, struct objfile_ident *id)
{
    enum objfile_kind kind = objfile_detect(map);
    const struct objfile_reader *r = objfile_reader(map, kind);

    memset(id, 0, sizeof(*id));
    id->kind = kind;
    return r ? r->identify(map, id) : objfile_unsupported(map, kind);
}

int objfile_build(struct objfile_map *map, struct symtable_builder *b)
{
    const struct objfile_reader *r = objfile_reader(map, objfile_detect(map));

    return r ? r->build(map, b) : objfile_unsupported(map, objfile_detect(map));
}

int objfile_build_for(struct objfile_map *map, struct symtable_builder *b,
                      const uint64_t *rvas, size_t nrvas)
{
    /* Only DWARF is split into units a reader can skip cheaply; the other
     * formats are read whole. */
    if (objfile_detect(map) == OBJFILE_ELF)
        return elfdw_build_for(map, b, rvas, nrvas);
    if (objfile_detect(map) == OBJFILE_MACHO)
        return macho_build_for(map, b, rvas, nrvas);
    if (objfile_detect(map) == OBJFILE_WASM)
        return wasm_build_for(map, b, rvas, nrvas);
    return objfile_build(map, b);
}
