/* SPDX-License-Identifier: MIT */
/*
 * macho: the container half of the Mach-O reader: universal headers,
 * the mach header and its load commands, identity, dSYM bundles.
 *
 * Every length field is checked against the slice before use: a load
 * command must be at least 8 bytes, a multiple of 4 and inside
 * sizeofcmds; a segment's sections must fit its command; symbol and
 * string tables, function starts and section bytes must lie in the
 * slice; a universal header's slices must lie in the file.  Nothing is
 * allocated in proportion to a count before that check.
 */
#include "symsrvd_config.h"
#include "macho/macho.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "byteorder.h"
#include "macho/macho_int.h"
#include "xalloc.h"

#define MACHO_MAGIC_32 0xfeedfaceu
#define MACHO_MAGIC_64 0xfeedfacfu
#define MACHO_CIGAM_32 0xcefaedfeu
#define MACHO_CIGAM_64 0xcffaedfeu
#define MACHO_FAT_MAGIC 0xcafebabeu
#define MACHO_FAT_MAGIC64 0xcafebabfu

#define MACHO_LC_SEGMENT 0x1
#define MACHO_LC_SYMTAB 0x2
#define MACHO_LC_UUID 0x1b
#define MACHO_LC_SEGMENT_64 0x19
#define MACHO_LC_FUNCTION_STARTS 0x26

#define MACHO_CPU_X86 7u
#define MACHO_CPU_ARM 12u
#define MACHO_CPU_ABI64 0x01000000u
#define MACHO_CPU_ABI64_32 0x02000000u
#define MACHO_SUBTYPE_MASK 0x00ffffffu

#define MACHO_S_ZEROFILL 0x1u
#define MACHO_S_TYPE 0xffu

/* A slice of the file: [off, off + len). */
struct macho_slice {
    uint64_t off, len;
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static const char *macho_arch_name(uint32_t cpu, uint32_t sub)
{
    sub &= MACHO_SUBTYPE_MASK;
    switch (cpu) {
    case MACHO_CPU_X86:
        return "x86";
    case MACHO_CPU_X86 | MACHO_CPU_ABI64:
        return sub == 8 ? "x86_64h" : "x86_64";
    case MACHO_CPU_ARM:
        return "arm";
    case MACHO_CPU_ARM | MACHO_CPU_ABI64:
        return sub == 2 ? "arm64e" : "arm64";
    case MACHO_CPU_ARM | MACHO_CPU_ABI64_32:
        return "arm64_32";
    default:
        return "";
    }
}

/* The slices of a universal file into V[0..*N), or the whole file as one
 * slice for a thin file. */
static int macho_fat_slices(struct objfile_map *map, struct macho_slice *v,
                            size_t *n)
{
    uint32_t magic, count;
    size_t entsize;

    *n = 0;
    if (map->len < 8)
        return objfile_fail(map, -EINVAL, "too short for Mach-O");
    magic = be32(map->data);
    if (magic != MACHO_FAT_MAGIC && magic != MACHO_FAT_MAGIC64) {
        v[0] = (struct macho_slice){0, map->len};
        *n = 1;
        return 0;
    }
    entsize = magic == MACHO_FAT_MAGIC ? 20 : 32;
    count = be32(map->data + 4);
    if (count == 0 || count > MACHO_MAX_SLICES ||
        8 + (size_t)count * entsize > map->len)
        return objfile_fail(map, -EINVAL, "universal header: %u slices", count);
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *a = map->data + 8 + (size_t)i * entsize;
        uint64_t off = entsize == 20 ? be32(a + 8) : be64(a + 8);
        uint64_t len = entsize == 20 ? be32(a + 12) : be64(a + 16);

        if (off > map->len || len > map->len - off || len == 0)
            return objfile_fail(map, -EINVAL,
                                "universal slice %u lies outside the file", i);
        v[i] = (struct macho_slice){off, len};
    }
    *n = count;
    return 0;
}

/* Bytes [OFF, OFF + LEN) of IM, or NULL when they leave the slice. */
static const uint8_t *macho_at(const struct macho_image *im, uint64_t off,
                               uint64_t len)
{
    if (off > im->len || len > im->len - off)
        return NULL;
    return im->d + off;
}

static void macho_name16(char out[17], const uint8_t *p)
{
    memcpy(out, p, 16);
    out[16] = '\0';
}

/* One section header at P (80 bytes for 64-bit, 68 for 32-bit). */
static int macho_section(struct objfile_map *map, struct macho_image *im,
                         const uint8_t *p)
{
    struct macho_section *s = &im->sects[im->nsects];
    uint32_t off;

    macho_name16(s->sectname, p);
    macho_name16(s->segname, p + 16);
    s->addr = im->is64 ? le64(p + 32) : le32(p + 32);
    s->size = im->is64 ? le64(p + 40) : le32(p + 36);
    off = le32(p + (im->is64 ? 48 : 40));
    s->flags = le32(p + (im->is64 ? 64 : 56));
    s->data = NULL;
    if (s->addr > UINT64_MAX - s->size)
        return objfile_fail(map, -EINVAL, "section %s,%s wraps", s->segname,
                            s->sectname);
    if (off != 0 && (s->flags & MACHO_S_TYPE) != MACHO_S_ZEROFILL) {
        s->data = macho_at(im, off, s->size);
        if (s->data == NULL)
            return objfile_fail(map, -EINVAL,
                                "section %s,%s lies outside the file",
                                s->segname, s->sectname);
    }
    im->nsects++;
    return 0;
}

static int macho_segment(struct objfile_map *map, struct macho_image *im,
                         const uint8_t *c, uint32_t size)
{
    size_t hdr = im->is64 ? 72 : 56, sect = im->is64 ? 80 : 68;
    uint32_t nsects;
    char name[17];
    int rc;

    if (size < hdr)
        return objfile_fail(map, -EINVAL, "segment command too short");
    nsects = le32(c + (im->is64 ? 64 : 48));
    if (nsects > (size - hdr) / sect)
        return objfile_fail(map, -EINVAL, "segment lists %u sections", nsects);
    macho_name16(name, c + 8);
    if (strcmp(name, "__TEXT") == 0 && !im->has_text) {
        im->has_text = true;
        im->text_vmaddr = im->is64 ? le64(c + 24) : le32(c + 24);
        im->text_vmsize = im->is64 ? le64(c + 32) : le32(c + 28);
    }
    im->sects =
        xreallocarray(im->sects, im->nsects + nsects + 1, sizeof(*im->sects));
    for (uint32_t i = 0; i < nsects; i++) {
        rc = macho_section(map, im, c + hdr + (size_t)i * sect);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int macho_symtab(struct objfile_map *map, struct macho_image *im,
                        const uint8_t *c, uint32_t size)
{
    uint32_t symoff, nsyms, stroff, strsize;
    size_t ent = im->is64 ? 16 : 12;

    if (size < 24)
        return objfile_fail(map, -EINVAL, "LC_SYMTAB too short");
    symoff = le32(c + 8);
    nsyms = le32(c + 12);
    stroff = le32(c + 16);
    strsize = le32(c + 20);
    im->syms = macho_at(im, symoff, (uint64_t)nsyms * ent);
    im->strs = macho_at(im, stroff, strsize);
    if (im->syms == NULL || im->strs == NULL)
        return objfile_fail(map, -EINVAL, "symbol table lies outside the file");
    im->nsyms = nsyms;
    im->strsize = strsize;
    return 0;
}

static int macho_command(struct objfile_map *map, struct macho_image *im,
                         const uint8_t *c, uint32_t cmd, uint32_t size)
{
    switch (cmd) {
    case MACHO_LC_SEGMENT:
    case MACHO_LC_SEGMENT_64:
        if ((cmd == MACHO_LC_SEGMENT_64) != im->is64)
            return objfile_fail(map, -EINVAL, "segment of the wrong width");
        return macho_segment(map, im, c, size);
    case MACHO_LC_SYMTAB:
        return macho_symtab(map, im, c, size);
    case MACHO_LC_UUID:
        if (size < 24)
            return objfile_fail(map, -EINVAL, "LC_UUID too short");
        memcpy(im->uuid, c + 8, 16);
        im->has_uuid = true;
        return 0;
    case MACHO_LC_FUNCTION_STARTS:
        if (size < 16)
            return objfile_fail(map, -EINVAL, "LC_FUNCTION_STARTS too short");
        im->fstarts = macho_at(im, le32(c + 8), le32(c + 12));
        im->fstarts_len = le32(c + 12);
        if (im->fstarts == NULL)
            return objfile_fail(map, -EINVAL,
                                "function starts lie outside the file");
        return 0;
    default:
        return 0;
    }
}

static int macho_commands(struct objfile_map *map, struct macho_image *im,
                          size_t hdr, uint32_t ncmds, uint32_t sizeofcmds)
{
    const uint8_t *p = macho_at(im, hdr, sizeofcmds);
    size_t off = 0;
    int rc;

    if (p == NULL)
        return objfile_fail(map, -EINVAL, "load commands leave the file");
    for (uint32_t i = 0; i < ncmds; i++) {
        uint32_t cmd, size;

        if (sizeofcmds - off < 8)
            return objfile_fail(map, -EINVAL, "load command %u truncated", i);
        cmd = le32(p + off);
        size = le32(p + off + 4);
        if (size < 8 || size % 4 != 0 || size > sizeofcmds - off)
            return objfile_fail(map, -EINVAL, "load command %u: bad size %u", i,
                                size);
        rc = macho_command(map, im, p + off, cmd & 0x7fffffffu, size);
        if (rc != 0)
            return rc;
        off += size;
    }
    return 0;
}

/* Parse the thin image at slice S of MAP. */
static int macho_image_parse(struct objfile_map *map,
                             const struct macho_slice *s,
                             struct macho_image *im)
{
    uint32_t magic;
    int rc;

    memset(im, 0, sizeof(*im));
    im->d = map->data + s->off;
    im->len = (size_t)s->len;
    magic = im->len >= 4 ? le32(im->d) : 0;
    if (magic == MACHO_CIGAM_32 || magic == MACHO_CIGAM_64)
        return objfile_fail(map, -ENOTSUP,
                            "big-endian (PowerPC) Mach-O is not read");
    if (im->len < 28)
        return objfile_fail(map, -EINVAL, "Mach-O header truncated");
    if (magic != MACHO_MAGIC_32 && magic != MACHO_MAGIC_64)
        return objfile_fail(map, -EINVAL, "bad Mach-O magic 0x%08x", magic);
    im->is64 = magic == MACHO_MAGIC_64;
    im->cputype = le32(im->d + 4);
    im->cpusubtype = le32(im->d + 8);
    im->filetype = le32(im->d + 12);
    rc = macho_commands(map, im, im->is64 ? 32 : 28, le32(im->d + 16),
                        le32(im->d + 20));
    if (rc == 0 && im->filetype == MACHO_MH_OBJECT)
        rc = objfile_fail(map, -ENOTSUP,
                          "relocatable Mach-O objects are not read");
    if (rc != 0)
        macho_image_free(im);
    return rc;
}

void macho_image_free(struct macho_image *im)
{
    free(im->sects);
    memset(im, 0, sizeof(*im));
}

void macho_uuid_hex(const struct macho_image *im, char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02X", im->uuid[i]);
}

/* Whether WANT (an arch name, or a UUID / debug id in hex with optional
 * dashes and age) names IM. */
static bool macho_wanted(const struct macho_image *im, const char *want)
{
    char hex[33], got[33];
    size_t n = 0;

    if (want == NULL || want[0] == '\0')
        return true;
    if (strcmp(want, macho_arch_name(im->cputype, im->cpusubtype)) == 0)
        return true;
    for (const char *p = want; *p != '\0' && n < 32; p++)
        if (*p != '-')
            hex[n++] = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
    hex[n] = '\0';
    if (n != 32 || !im->has_uuid)
        return false;
    macho_uuid_hex(im, got);
    return strcmp(hex, got) == 0;
}

int macho_image_open(struct objfile_map *map, const char *want,
                     struct macho_image *im)
{
    struct macho_slice v[MACHO_MAX_SLICES];
    size_t n;
    int rc = macho_fat_slices(map, v, &n);

    memset(im, 0, sizeof(*im));
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = macho_image_parse(map, &v[i], im);
        if (rc == 0 && macho_wanted(im, want))
            return 0;
        macho_image_free(im);
    }
    if (rc == 0)
        rc = objfile_fail(map, -ENOENT, "no slice for %s", want);
    return rc;
}

void macho_image_ident(const struct objfile_map *map,
                       const struct macho_image *im, struct objfile_ident *id)
{
    const char *base = objfile_basename(map->path);

    memset(id, 0, sizeof(*id));
    id->kind = OBJFILE_MACHO;
    snprintf(id->arch, sizeof(id->arch), "%s",
             macho_arch_name(im->cputype, im->cpusubtype));
    if (im->has_uuid) {
        char hex[33];

        macho_uuid_hex(im, hex);
        snprintf(id->debug_id, sizeof(id->debug_id), "%s0", hex);
        for (int i = 0; i < 32; i++)
            id->code_id[i] = (char)(hex[i] >= 'A' ? hex[i] + 32 : hex[i]);
        id->code_id[32] = '\0';
    }
    snprintf(id->code_file, sizeof(id->code_file), "%s", base);
    snprintf(id->debug_file, sizeof(id->debug_file), "%s", base);
    id->image_base = im->text_vmaddr;
}

int macho_identify_slice(struct objfile_map *map, const char *want,
                         struct objfile_ident *id)
{
    struct macho_image im;
    int rc = macho_image_open(map, want, &im);

    memset(id, 0, sizeof(*id));
    id->kind = OBJFILE_MACHO;
    if (rc != 0)
        return rc;
    macho_image_ident(map, &im, id);
    macho_image_free(&im);
    return 0;
}

int macho_identify(struct objfile_map *map, struct objfile_ident *id)
{
    return macho_identify_slice(map, NULL, id);
}

int macho_slices(struct objfile_map *map, struct objfile_ident *ids, size_t max,
                 size_t *n)
{
    struct macho_slice v[MACHO_MAX_SLICES];
    int rc = macho_fat_slices(map, v, n);

    for (size_t i = 0; rc == 0 && i < *n; i++) {
        struct macho_image im;

        rc = macho_image_parse(map, &v[i], &im);
        if (rc == 0 && i < max)
            macho_image_ident(map, &im, &ids[i]);
        macho_image_free(&im);
    }
    return rc;
}

int macho_section_find(struct objfile_map *map, const char *want,
                       const char *seg, const char *sect,
                       struct macho_section_info *out)
{
    struct macho_image im;
    int rc = macho_image_open(map, want, &im);

    memset(out, 0, sizeof(*out));
    if (rc != 0)
        return rc;
    rc = -ENOENT;
    for (size_t i = 0; i < im.nsects && rc != 0; i++) {
        const struct macho_section *s = &im.sects[i];

        if (strcmp(s->segname, seg) != 0 || strcmp(s->sectname, sect) != 0)
            continue;
        *out = (struct macho_section_info){.data = s->data,
                                           .len = s->data ? s->size : 0,
                                           .addr = s->addr,
                                           .text_addr = im.text_vmaddr};
        rc = 0;
    }
    macho_image_free(&im);
    return rc;
}

int macho_dsym_file(const char *path, char **out)
{
    size_t n = strlen(path);
    char *dir;
    DIR *d;
    struct dirent *e;
    int rc = -ENOENT;

    *out = NULL;
    while (n > 1 && path[n - 1] == '/')
        n--;
    if (n < 5 || strncmp(path + n - 5, ".dSYM", 5) != 0)
        return -ENOENT;
    dir = xasprintf("%.*s/Contents/Resources/DWARF", (int)n, path);
    d = opendir(dir);
    while (d != NULL && (e = readdir(d)) != NULL) {
        char *file = xasprintf("%s/%s", dir, e->d_name);
        struct stat st;

        if (e->d_name[0] != '.' && stat(file, &st) == 0 &&
            S_ISREG(st.st_mode) && *out == NULL) {
            *out = file;
            rc = 0;
            continue;
        }
        free(file);
    }
    if (d != NULL)
        closedir(d);
    free(dir);
    return rc;
}
