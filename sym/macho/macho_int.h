/* SPDX-License-Identifier: MIT */
/*
 * macho_int: what the two halves of the Mach-O reader share.  macho.c
 * finds slices and parses load commands into struct macho_image (every
 * offset checked against the slice); macho_build.c turns an image's
 * symbols and DWARF into a symtable.  Not part of the API: include
 * macho.h.
 */
#ifndef SYMSRVD_MACHO_INT_H
#define SYMSRVD_MACHO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "objfile/objfile.h"

#define MACHO_MH_OBJECT 0x1
#define MACHO_MH_DSYM 0xa

/* A section as the load commands describe it; DATA is NULL when the
 * section has no bytes in the file (zerofill, or a dSYM's copy of the
 * binary's code sections). */
struct macho_section {
    char segname[17], sectname[17];
    uint64_t addr, size;
    uint32_t flags;
    const uint8_t *data;
};

/* One parsed slice. */
struct macho_image {
    const uint8_t *d; /* the slice, inside the map */
    size_t len;
    bool is64;
    uint32_t cputype, cpusubtype, filetype;
    bool has_uuid;
    uint8_t uuid[16];
    bool has_text;
    uint64_t text_vmaddr, text_vmsize;
    struct macho_section *sects; /* owned */
    size_t nsects;
    /* LC_SYMTAB, checked to lie in the slice (nsyms 0 when absent) */
    const uint8_t *syms, *strs;
    uint32_t nsyms, strsize;
    /* LC_FUNCTION_STARTS data (NULL when absent) */
    const uint8_t *fstarts;
    uint32_t fstarts_len;
};

/* Parse the slice WANT selects (see macho_identify_slice()) of MAP into
 * *IM (released with macho_image_free()).  0, -ENOENT when no slice
 * matches, -EINVAL or -ENOTSUP with map->err set. */
int macho_image_open(struct objfile_map *map, const char *want,
                     struct macho_image *im);
void macho_image_free(struct macho_image *im);

/* Fill *ID from IM (map->path names the file). */
void macho_image_ident(const struct objfile_map *map,
                       const struct macho_image *im, struct objfile_ident *id);

/* IM's UUID in upper hex, 32 digits and a NUL. */
void macho_uuid_hex(const struct macho_image *im, char out[33]);

#endif
