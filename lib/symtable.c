/* SPDX-License-Identifier: MIT */
/*
 * symtable: loading and querying the blobs symtable_build.c writes.
 *
 * symtable_load() checks everything a lookup will rely on (magic, version,
 * CRC, every section in bounds and aligned, every string offset and file
 * id in range, every section sorted and non-overlapping) once, so that
 * symtable_lookup() can then binary-search the mapped records with no
 * further checks and no allocation.  Loading is O(n) in the blob size;
 * each lookup is O((1 + inline depth) * log n).
 */
#include "config.h"

#include "symtable.h"
#include "symtable_format.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

struct symtable {
    const char *str;
    size_t str_len;
    const uint32_t *files;
    size_t nfiles;
    const struct symtable_rec_sym *syms;
    size_t nsyms;
    const struct symtable_rec_line *lines;
    size_t nlines;
    const struct symtable_rec_inline *inl;
    size_t ninl;
    const struct symtable_rec_depth *depths;
    size_t ndepths;
    uint64_t image_base;
    void *map; /* owned mapping from symtable_open(), else NULL */
    size_t map_len;
};

static const size_t rec_size[SYMTABLE_NSEC] = {
    1,
    sizeof(uint32_t),
    sizeof(struct symtable_rec_sym),
    sizeof(struct symtable_rec_line),
    sizeof(struct symtable_rec_inline),
    sizeof(struct symtable_rec_depth),
};

static int check_header(const uint8_t *data, size_t len,
                        struct symtable_rec_header *h)
{
    if (len < sizeof(*h) || ((uintptr_t)data & 7) != 0)
        return -EINVAL;
    memcpy(h, data, sizeof(*h));
    if (memcmp(h->magic, SYMTABLE_MAGIC, sizeof(h->magic)) != 0 ||
        h->version != SYMTABLE_VERSION || h->len != len)
        return -EINVAL;
    if (crc32_z(0, data + SYMTABLE_CRC_START, len - SYMTABLE_CRC_START) !=
        h->crc)
        return -EINVAL;
    for (int i = 0; i < SYMTABLE_NSEC; i++) {
        const struct symtable_rec_section *s = &h->sec[i];

        if (s->off < sizeof(*h) || (s->off & 7) != 0 || s->off > len ||
            s->size > len - s->off || s->size % rec_size[i] != 0)
            return -EINVAL;
    }
    /* Every string offset then lands on a NUL-terminated string. */
    if (h->sec[SYMTABLE_SEC_STRINGS].size == 0 ||
        data[h->sec[SYMTABLE_SEC_STRINGS].off +
             h->sec[SYMTABLE_SEC_STRINGS].size - 1] != '\0')
        return -EINVAL;
    return 0;
}

static bool check_range(uint64_t start, uint64_t end, uint64_t *prev_end,
                        size_t i)
{
    if (start >= end || (i > 0 && start < *prev_end))
        return false;
    *prev_end = end;
    return true;
}

static bool check_file(const struct symtable *t, uint32_t file)
{
    return file < t->nfiles;
}

static int check_syms(const struct symtable *t)
{
    uint64_t prev = 0;

    for (size_t i = 0; i < t->nfiles; i++)
        if (t->files[i] >= t->str_len)
            return -EINVAL;
    for (size_t i = 0; i < t->nsyms; i++) {
        const struct symtable_rec_sym *s = &t->syms[i];

        if (!check_range(s->start, s->end, &prev, i) ||
            s->name >= t->str_len || s->lang > SYMTABLE_LANG_MAX)
            return -EINVAL;
    }
    prev = 0;
    for (size_t i = 0; i < t->nlines; i++) {
        const struct symtable_rec_line *l = &t->lines[i];

        if (!check_range(l->start, l->end, &prev, i) ||
            !check_file(t, l->file))
            return -EINVAL;
    }
    return 0;
}

static int check_inlines(const struct symtable *t)
{
    size_t next = 0;

    for (size_t d = 0; d < t->ndepths; d++) {
        const struct symtable_rec_depth *dp = &t->depths[d];
        uint64_t prev = 0;

        if (dp->first != next || dp->count == 0 ||
            dp->count > t->ninl - next)
            return -EINVAL;
        for (size_t i = 0; i < dp->count; i++) {
            const struct symtable_rec_inline *r = &t->inl[next + i];

            if (!check_range(r->start, r->end, &prev, i) ||
                r->name >= t->str_len || !check_file(t, r->call_file) ||
                r->lang > SYMTABLE_LANG_MAX)
                return -EINVAL;
        }
        next += dp->count;
    }
    return next == t->ninl ? 0 : -EINVAL;
}

int symtable_load(const void *data, size_t len, struct symtable **out)
{
    const uint8_t *p = data;
    struct symtable_rec_header h;
    struct symtable *t;
    int rc = check_header(p, len, &h);

    if (rc < 0)
        return rc;
    t = xcalloc(1, sizeof(*t));
    t->image_base = h.image_base;
#define SEC(i, field, n)                                                       \
    do {                                                                       \
        t->field = (const void *)(p + h.sec[i].off);                           \
        t->n = h.sec[i].size / rec_size[i];                                    \
    } while (0)
    SEC(SYMTABLE_SEC_STRINGS, str, str_len);
    SEC(SYMTABLE_SEC_FILES, files, nfiles);
    SEC(SYMTABLE_SEC_SYMS, syms, nsyms);
    SEC(SYMTABLE_SEC_LINES, lines, nlines);
    SEC(SYMTABLE_SEC_INLINES, inl, ninl);
    SEC(SYMTABLE_SEC_DEPTHS, depths, ndepths);
#undef SEC
    rc = check_syms(t);
    if (rc == 0)
        rc = check_inlines(t);
    if (rc < 0) {
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

bool symtable_has_magic(const void *data, size_t len)
{
    return len >= sizeof(SYMTABLE_MAGIC) - 1 &&
           memcmp(data, SYMTABLE_MAGIC, sizeof(SYMTABLE_MAGIC) - 1) == 0;
}

int symtable_open(const char *path, struct symtable **out)
{
    struct stat st;
    void *map = MAP_FAILED;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uint64_t)st.st_size > SIZE_MAX) {
        rc = -EINVAL;
        goto out;
    }
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        rc = -errno;
        goto out;
    }
    rc = symtable_load(map, (size_t)st.st_size, out);
    if (rc == 0) {
        (*out)->map = map;
        (*out)->map_len = (size_t)st.st_size;
        map = MAP_FAILED;
    }
out:
    if (map != MAP_FAILED)
        munmap(map, (size_t)st.st_size);
    close(fd);
    return rc;
}

void symtable_close(struct symtable *t)
{
    if (t == NULL)
        return;
    if (t->map != NULL)
        munmap(t->map, t->map_len);
    free(t);
}

uint64_t symtable_image_base(const struct symtable *t)
{
    return t->image_base;
}

/* The record of the sorted, non-overlapping BASE[0..N) (STRIDE bytes
 * each, starting with uint64_t start, end) containing RVA, or NULL. */
static const void *find_range(const void *base, size_t n, size_t stride,
                              uint64_t rva)
{
    const uint8_t *p = base;
    size_t lo = 0, hi = n;
    const uint64_t *r;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (*(const uint64_t *)(const void *)(p + mid * stride) <= rva)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    r = (const void *)(p + (lo - 1) * stride);
    return rva < r[1] ? r : NULL;
}

static const struct symtable_rec_inline *
find_inline(const struct symtable *t, size_t depth, uint64_t rva)
{
    const struct symtable_rec_depth *d = &t->depths[depth - 1];

    return find_range(t->inl + d->first, d->count, sizeof(*t->inl), rva);
}

static const char *file_name(const struct symtable *t, uint32_t file)
{
    return file == 0 ? NULL : t->str + t->files[file];
}

/* Frame for function level D (0 = outer) whose location is FILE:LINE. */
static void fill_frame(const struct symtable *t, struct symtable_frame *f,
                       const struct symtable_rec_sym *sym,
                       const struct symtable_rec_inline *in, uint32_t file,
                       uint32_t line)
{
    f->function = t->str + (in ? in->name : sym->name);
    f->file = file_name(t, file);
    f->line = line;
    f->sym_rva = in ? in->sym_rva : sym->sym_rva;
    f->lang = (enum symtable_lang)(in ? in->lang : sym->lang);
    f->inlined = in != NULL;
}

size_t symtable_lookup(const struct symtable *t, uint64_t rva,
                       struct symtable_frame *frames, size_t max,
                       size_t *total)
{
    const struct symtable_rec_sym *sym;
    const struct symtable_rec_line *line;
    const struct symtable_rec_inline *in, *inner = NULL;
    size_t depth = 0, n = 0;

    sym = find_range(t->syms, t->nsyms, sizeof(*t->syms), rva);
    if (sym == NULL) {
        if (total)
            *total = 0;
        return 0;
    }
    while (depth < t->ndepths && find_inline(t, depth + 1, rva) != NULL)
        depth++;
    if (total)
        *total = depth + 1;
    line = find_range(t->lines, t->nlines, sizeof(*t->lines), rva);
    /* Walk outwards: each level's location is the call site recorded on
     * the level inside it, the innermost's is the line record. */
    for (size_t d = depth + 1; d-- > 0 && n < max;) {
        in = d > 0 ? find_inline(t, d, rva) : NULL;
        if (n == 0)
            fill_frame(t, &frames[n], sym, in, line ? line->file : 0,
                       line ? line->line : 0);
        else
            fill_frame(t, &frames[n], sym, in, inner->call_file,
                       inner->call_line);
        inner = in;
        n++;
    }
    return n;
}
