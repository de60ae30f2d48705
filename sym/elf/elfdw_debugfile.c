/* SPDX-License-Identifier: MIT */
/*
 * elfdw_debugfile: the files an ELF file's DWARF lives in besides itself.
 *
 * A separate debug file is looked up as GDB and llvm-symbolizer do (see
 * elfdw.h), and accepted only when its build id or its CRC-32 matches.
 *
 * A dwz-compressed debug file moves DIEs shared by several programs into
 * one "alt" file named by .gnu_debugaltlink (Debian's -dbgsym packages
 * point to /usr/lib/debug/.dwz/...).  libdw would look for it itself, but
 * opens the path the section names without checking what it is or its
 * build id; from an untrusted file that could be a FIFO that blocks for
 * ever.  So we find and verify the alt file ourselves and hand it to libdw
 * with dwarf_setalt(), and refuse a file whose altlink names something
 * that exists but is not the right regular file.
 */
#include "symsrvd_config.h"
#include "elf/elfdw.h"

#include "elf/elfdw_int.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <elfutils/libdwelf.h>
#include <zlib.h>

#include "xalloc.h"

/* What a candidate debug file must match. */
struct elfdw_want {
    const void *build_id; /* NULL: not checked */
    size_t build_id_len;
    bool check_crc;
    uint32_t crc;
    dev_t self_dev; /* the stripped file itself is never its debug file */
    ino_t self_ino;
};

static bool elfdw_candidate_ok(const char *path, const struct elfdw_want *w)
{
    struct objfile_map m;
    struct stat st;
    GElf_Ehdr eh;
    Elf *elf = NULL;
    const void *bid = NULL;
    ssize_t n;
    bool ok = false;

    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
        (st.st_dev == w->self_dev && st.st_ino == w->self_ino))
        return false;
    memset(&m, 0, sizeof(m));
    if (objfile_map(path, &m) != 0)
        return false;
    if (elfdw_open(&m, &elf, &eh) != 0)
        goto out;
    n = dwelf_elf_gnu_build_id(elf, &bid);
    if (w->build_id != NULL && n > 0 &&
        ((size_t)n != w->build_id_len || memcmp(bid, w->build_id, n) != 0))
        goto out;
    if (w->build_id != NULL && !w->check_crc && n <= 0)
        goto out;
    if (w->check_crc && (uint32_t)crc32_z(0, m.data, m.len) != w->crc)
        goto out;
    ok = true;
out:
    elf_end(elf);
    objfile_unmap(&m);
    return ok;
}

/* ROOT/.build-id/xx/rest.debug for build id BID. */
static char *elfdw_build_id_path(const char *root, const uint8_t *bid,
                                 size_t len)
{
    char *hex = xmalloc(2 * len + 1), *path;
    size_t i;

    for (i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", bid[i]);
    path = xasprintf("%s/.build-id/%.2s/%s.debug", root, hex, hex + 2);
    free(hex);
    return path;
}

/* The debuglink candidates of LINK for the file at PATH, in GDB's order;
 * NULL-terminated, the caller frees each and the array. */
static char **elfdw_debuglink_paths(const char *path, const char *root,
                                    const char *link)
{
    char **v = xcalloc(4, sizeof(*v));
    char *dup = xstrdup(path ? path : ".");
    const char *dir = dirname(dup);
    char abs[PATH_MAX];
    size_t n = 0;

    v[n++] = xasprintf("%s/%s", dir, link);
    v[n++] = xasprintf("%s/.debug/%s", dir, link);
    if (realpath(dir, abs) != NULL)
        v[n++] = xasprintf("%s%s/%s", root, strcmp(abs, "/") ? abs : "",
                           link);
    free(dup);
    return v;
}

static int elfdw_find_by_link(struct objfile_map *map, Elf *elf,
                              const char *root, struct elfdw_want *w,
                              char **out)
{
    GElf_Word crc;
    const char *link = dwelf_elf_gnu_debuglink(elf, &crc);
    char **cand;
    size_t i;
    int rc = -ENOENT;

    /* The name comes from an untrusted file: a base name only, so that it
     * cannot point the search anywhere else. */
    if (link == NULL || link[0] == '\0' || strchr(link, '/') != NULL ||
        strcmp(link, ".") == 0 || strcmp(link, "..") == 0)
        return -ENOENT;
    w->check_crc = true;
    w->crc = crc;
    cand = elfdw_debuglink_paths(map->path, root, link);
    for (i = 0; cand[i] != NULL; i++) {
        if (rc != 0 && elfdw_candidate_ok(cand[i], w)) {
            *out = cand[i];
            cand[i] = NULL;
            rc = 0;
        }
        free(cand[i]);
    }
    free(cand);
    return rc;
}

int elfdw_find_companion(struct objfile_map *map, Elf *elf, const char *root,
                         char **out)
{
    struct elfdw_want w;
    struct stat st;
    const void *bid = NULL;
    ssize_t n = dwelf_elf_gnu_build_id(elf, &bid);

    memset(&w, 0, sizeof(w));
    if (map->path != NULL && stat(map->path, &st) == 0) {
        w.self_dev = st.st_dev;
        w.self_ino = st.st_ino;
    }
    if (n >= 2) {
        char *p = elfdw_build_id_path(root, bid, (size_t)n);

        w.build_id = bid;
        w.build_id_len = (size_t)n;
        if (elfdw_candidate_ok(p, &w)) {
            *out = p;
            return 0;
        }
        free(p);
    }
    return elfdw_find_by_link(map, elf, root, &w, out);
}

int elfdw_find_debug_file(struct objfile_map *map, const char *root,
                          char **out)
{
    GElf_Ehdr eh;
    Elf *elf = NULL;
    int rc;

    *out = NULL;
    rc = elfdw_open(map, &elf, &eh);
    if (rc == 0)
        rc = elfdw_find_companion(map, elf, root ? root : ELFDW_DEBUG_ROOT, out);
    elf_end(elf);
    return rc;
}

/* The alt file candidates for altlink NAME of the DWARF file at PATH. */
static void elfdw_alt_paths(const char *path, const char *root,
                            const void *bid, size_t len, const char *name,
                            char *out[2])
{
    char *dup = xstrdup(path ? path : ".");

    out[0] = len >= 2 ? elfdw_build_id_path(root, bid, len) : NULL;
    if (name[0] == '/')
        out[1] = xstrdup(name);
    else
        out[1] = xasprintf("%s/%s", dirname(dup), name);
    free(dup);
}

static int elfdw_alt_load(struct objfile_map *map, const char *path,
                          Dwarf *dw, struct elfdw_alt *alt)
{
    GElf_Ehdr eh;
    int rc = objfile_map(path, &alt->map);

    if (rc != 0)
        return objfile_fail(map, rc, "dwz alt file %s: %s", path, alt->map.err);
    alt->mapped = true;
    rc = elfdw_open(&alt->map, &alt->elf, &eh);
    if (rc != 0)
        return objfile_fail(map, rc, "dwz alt file: %s", alt->map.err);
    alt->dw = dwarf_begin_elf(alt->elf, DWARF_C_READ, NULL);
    if (alt->dw == NULL)
        return objfile_fail(map, -EINVAL, "dwz alt file %s: %s", path,
                            dwarf_errmsg(-1));
    dwarf_setalt(dw, alt->dw);
    return 0;
}

int elfdw_alt_open(struct objfile_map *map, Dwarf *dw, const char *root,
                   struct elfdw_alt *alt)
{
    struct elfdw_want w;
    struct stat st;
    const char *name;
    const void *bid;
    ssize_t n = dwelf_dwarf_gnu_debugaltlink(dw, &name, &bid);
    char *cand[2];
    int rc = 0;

    memset(alt, 0, sizeof(*alt));
    if (n <= 0)
        return 0; /* libdw does not look either without a valid link */
    memset(&w, 0, sizeof(w));
    w.build_id = bid;
    w.build_id_len = (size_t)n;
    elfdw_alt_paths(map->path, root, bid, (size_t)n, name, cand);
    if (cand[0] != NULL && elfdw_candidate_ok(cand[0], &w))
        rc = elfdw_alt_load(map, cand[0], dw, alt);
    else if (elfdw_candidate_ok(cand[1], &w))
        rc = elfdw_alt_load(map, cand[1], dw, alt);
    else if (stat(cand[1], &st) == 0)
        rc = objfile_fail(map, -EINVAL,
                          "dwz alt file %s is not the one .gnu_debugaltlink "
                          "names (build id or file type differ)",
                          cand[1]);
    /* Nothing at either place: inlined names from the alt file stay
     * unknown, and libdw's own search looks at the same places. */
    free(cand[0]);
    free(cand[1]);
    return rc;
}

void elfdw_alt_close(struct elfdw_alt *alt)
{
    if (alt->dw != NULL)
        dwarf_end(alt->dw);
    elf_end(alt->elf);
    if (alt->mapped)
        objfile_unmap(&alt->map);
    memset(alt, 0, sizeof(*alt));
}
