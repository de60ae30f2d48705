/* SPDX-License-Identifier: MIT */
/*
 * objfile: open any symbol-bearing file, tell its kind by content and
 * report its identity exactly as symbol stores key it.
 *
 * This header is the contract between the format readers (pdb.c, pe.c,
 * elfdw.c, breakpad.c) and their callers (the symsrvd-symbolize tool, and
 * later the daemon's symbolication API).  A reader sees the whole file as
 * one read-only mapping (struct objfile_map) and never allocates in
 * proportion to a length field it has not bounds-checked against the
 * mapping: hostile input yields -EINVAL and a message in map->err, never a
 * crash.
 *
 * Errors are negative errno values: -EINVAL malformed input, -ENOTSUP a
 * format we recognise but do not read (PDB 2.0, big-endian
 * Mach-O), -ENOENT a file
 * or a needed part of it is absent, -EIO a read failed.
 */
#ifndef SYMSRVD_OBJFILE_H
#define SYMSRVD_OBJFILE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct symtable_builder;

enum objfile_kind {
    OBJFILE_UNKNOWN = 0,
    OBJFILE_PDB,      /* MSF 7.0 program database */
    OBJFILE_PE,       /* PE32 / PE32+ image */
    OBJFILE_ELF,      /* ELF32 / ELF64, executable or separate debug file */
    OBJFILE_BREAKPAD, /* Breakpad text .sym */
    OBJFILE_MACHO,    /* Mach-O thin or universal, binary or dSYM */
    OBJFILE_WASM,     /* WebAssembly module */
};

/* A read-only view of one whole file.  Readers only read DATA[0..LEN) and
 * write a one-line reason into ERR when they fail. */
struct objfile_map {
    const char *path;    /* for messages and for finding companions */
    const uint8_t *data; /* the whole file, mmap'd (64-bit lengths) */
    size_t len;
    char err[256]; /* why the last call failed, NUL-terminated */
};

/* Write "<MAP->PATH>: <message>" into MAP->ERR ("(memory)" stands for a
 * NULL path; a message too long for ERR is cut, its start being the
 * useful part) and return RC, so that a reader says why and fails in one
 * statement: return objfile_fail(map, -EINVAL, "header at %zu", off); */
int objfile_fail(struct objfile_map *map, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same for text formats, as compilers do: "<path>:<LINE>: <message>"
 * when LINE is not 0.  For a reader's own printf-like wrapper. */
int objfile_vfail(struct objfile_map *map, int rc, size_t line, const char *fmt,
                  va_list ap) __attribute__((format(printf, 4, 0)));

/* Identity as symbol stores key it.  Strings are NUL-terminated and
 * empty when unknown. */
struct objfile_ident {
    enum objfile_kind kind;
    char arch[16];       /* "x86", "x86_64", "arm", "arm64", ... */
    char debug_id[48];   /* Breakpad/Sentry form, upper hex:
                          * GUID (Data1..3 as printed, %08X%04X%04X + 8
                          * bytes) followed by age in %X; ELF: first 16
                          * bytes of the build id with the GUID byte swap,
                          * age 0 */
    char code_id[80];    /* PE: %08X TimeDateStamp + %X SizeOfImage;
                          * ELF: build id, lower hex; Mach-O: UUID,
                          * lower hex; WASM: build_id section, lower
                          * hex */
    char debug_file[256]; /* PDB name (basename of the CodeView path), or
                           * the ELF/Breakpad debug file name */
    char code_file[256];  /* PE/ELF file name when known */
    uint64_t image_base;  /* PE ImageBase, ELF lowest PT_LOAD vaddr */
    /* Symbol-store key of this file itself: "<file>/<ID>/<file>" uses
     * debug_id for PDB/Breakpad and code_id for PE. */
};

/* Map PATH read-only.  Returns 0 and fills *MAP, or a negative errno with
 * map->err set (-ENOENT, -EACCES..., -EINVAL for a directory or other
 * non-regular file).  An empty file maps to DATA NULL, LEN 0.  MAP->PATH
 * borrows PATH, which must outlive the map.  Release with objfile_unmap(),
 * which leaves MAP->ERR and MAP->PATH alone. */
int objfile_map(const char *path, struct objfile_map *map);
void objfile_unmap(struct objfile_map *map);

/* Tell the kind of MAP by its content (magic numbers, first line). */
enum objfile_kind objfile_detect(const struct objfile_map *map);

/* Fill *ID for MAP, dispatching on objfile_detect().  0 or -errno. */
int objfile_identify(struct objfile_map *map, struct objfile_ident *id);

/* Feed every function, line and inline record of MAP into B, with
 * addresses relative to the image base.  0 or -errno. */
int objfile_build(struct objfile_map *map, struct symtable_builder *b);

/* objfile_build() for answering the NRVAS addresses RVAS (relative to
 * the image base) only: for ELF, Mach-O and WASM, just the compile units
 * they fall in (elfdw_build_for() and the foreign readers); other kinds
 * are read whole.  Lookups of RVAS in
 * the result equal those in the complete table; other addresses may not
 * resolve, so the result must not be cached as the file's table. */
int objfile_build_for(struct objfile_map *map, struct symtable_builder *b,
                      const uint64_t *rvas, size_t nrvas);

/* The last component of PATH ("" for NULL), for the readers' file
 * names. */
const char *objfile_basename(const char *path);

/* "pdb", "pe", "elf", "breakpad", "macho", "wasm" or "unknown". */
const char *objfile_kind_name(enum objfile_kind kind);

#endif
