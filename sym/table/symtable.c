/* SPDX-License-Identifier: MIT */
/*
 * symtable: loading and querying the blobs symtable_build.c writes.
 *
 * symtable_load() checks everything a lookup will rely on (magic, version,
 * CRC, every section in bounds and aligned, every string offset and file
 * id in range, every map inside its arrays with strictly increasing
 * starts and an exact index) once, so that symtable_lookup() can then
 * search the mapped records with no further checks and no allocation.
 * Loading is O(n) in the blob size; each lookup is O((1 + inline depth) *
 * log n), two binary searches per map (index, then 16 starts).
 */
#include "symsrvd_config.h"

#include "table/symtable.h"
#include "table/symtable_format.h"
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
    const uint64_t *sym_starts, *line_starts, *inl_starts, *index;
    size_t nsym_starts, nline_starts, ninl_starts, nindex;
    const struct symtable_rec_sym *sym_info;
    const struct symtable_rec_line *line_info;
    const struct symtable_rec_inline *inl_info;
    const struct symtable_rec_map *depths;
    size_t ndepths;
    struct symtable_rec_map syms, lines;
    uint64_t image_base;
    void *map; /* owned mapping from symtable_open(), else NULL */
    size_t map_len;
};

static const size_t rec_size[SYMTABLE_NSEC] = {
    1,
    sizeof(uint32_t),
    sizeof(uint64_t),
    sizeof(struct symtable_rec_sym),
    sizeof(uint64_t),
    sizeof(struct symtable_rec_line),
    sizeof(uint64_t),
    sizeof(struct symtable_rec_inline),
    sizeof(struct symtable_rec_map),
    sizeof(uint64_t),
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

/* M lies inside the N starts, its starts increase strictly, and its index
 * is exactly every FANOUT-th of them. */
static bool check_map(const struct symtable *t,
                      const struct symtable_rec_map *m, const uint64_t *starts,
                      size_t n)
{
    const uint64_t *s = starts + m->first;

    if (m->first > n || m->count > n - m->first || m->index_first > t->nindex ||
        m->index_count > t->nindex - m->index_first ||
        m->index_count != (m->count + SYMTABLE_FANOUT - 1) / SYMTABLE_FANOUT)
        return false;
    for (size_t i = 1; i < m->count; i++)
        if (s[i] <= s[i - 1])
            return false;
    for (size_t k = 0; k < m->index_count; k++)
        if (t->index[m->index_first + k] != s[k * SYMTABLE_FANOUT])
            return false;
    return true;
}

static bool check_name(const struct symtable *t, uint32_t name, uint32_t lang)
{
    return name == SYMTABLE_NONE ||
           (name < t->str_len && lang <= SYMTABLE_LANG_MAX);
}

static int check_records(const struct symtable *t)
{
    for (size_t i = 0; i < t->nfiles; i++)
        if (t->files[i] >= t->str_len)
            return -EINVAL;
    if (!check_map(t, &t->syms, t->sym_starts, t->nsym_starts) ||
        !check_map(t, &t->lines, t->line_starts, t->nline_starts))
        return -EINVAL;
    for (size_t i = 0; i < t->nsym_starts; i++)
        if (!check_name(t, t->sym_info[i].name, t->sym_info[i].lang))
            return -EINVAL;
    for (size_t i = 0; i < t->nline_starts; i++)
        if (t->line_info[i].file >= t->nfiles)
            return -EINVAL;
    for (size_t i = 0; i < t->ninl_starts; i++) {
        const struct symtable_rec_inline *r = &t->inl_info[i];

        if (!check_name(t, r->name, r->lang) || r->call_file >= t->nfiles)
            return -EINVAL;
    }
    for (size_t d = 0; d < t->ndepths; d++)
        if (!check_map(t, &t->depths[d], t->inl_starts, t->ninl_starts))
            return -EINVAL;
    return 0;
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
    t->syms = h.syms;
    t->lines = h.lines;
#define SEC(i, field, n)                                                       \
    do {                                                                       \
        t->field = (const void *)(p + h.sec[i].off);                           \
        t->n = h.sec[i].size / rec_size[i];                                    \
    } while (0)
    SEC(SYMTABLE_SEC_STRINGS, str, str_len);
    SEC(SYMTABLE_SEC_FILES, files, nfiles);
    SEC(SYMTABLE_SEC_SYM_STARTS, sym_starts, nsym_starts);
    SEC(SYMTABLE_SEC_LINE_STARTS, line_starts, nline_starts);
    SEC(SYMTABLE_SEC_INL_STARTS, inl_starts, ninl_starts);
    SEC(SYMTABLE_SEC_DEPTHS, depths, ndepths);
    SEC(SYMTABLE_SEC_INDEX, index, nindex);
#undef SEC
    t->sym_info = (const void *)(p + h.sec[SYMTABLE_SEC_SYM_INFO].off);
    t->line_info = (const void *)(p + h.sec[SYMTABLE_SEC_LINE_INFO].off);
    t->inl_info = (const void *)(p + h.sec[SYMTABLE_SEC_INL_INFO].off);
    /* Each info array runs parallel to its starts. */
    if (h.sec[SYMTABLE_SEC_SYM_INFO].size / rec_size[SYMTABLE_SEC_SYM_INFO] !=
            t->nsym_starts ||
        h.sec[SYMTABLE_SEC_LINE_INFO].size / rec_size[SYMTABLE_SEC_LINE_INFO] !=
            t->nline_starts ||
        h.sec[SYMTABLE_SEC_INL_INFO].size / rec_size[SYMTABLE_SEC_INL_INFO] !=
            t->ninl_starts)
        rc = -EINVAL;
    if (rc == 0)
        rc = check_records(t);
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

/* The last position in map M whose start is at or below RVA, or
 * SIZE_MAX: a binary search of the sparse index, then of the FANOUT
 * starts it points to. */
static size_t map_find(const struct symtable *t,
                       const struct symtable_rec_map *m, const uint64_t *starts,
                       uint64_t rva)
{
    const uint64_t *s = starts + m->first;
    size_t k, base, end;

    if (m->count == 0 || s[0] > rva)
        return SIZE_MAX;
    k = symtable_upper_bound(t->index + m->index_first, m->index_count, rva);
    base = (k - 1) * SYMTABLE_FANOUT;
    end = base + SYMTABLE_FANOUT < m->count ? base + SYMTABLE_FANOUT : m->count;
    return m->first + base + symtable_upper_bound(s + base, end - base, rva) -
           1;
}

static const struct symtable_rec_inline *find_inline(const struct symtable *t,
                                                     size_t depth, uint64_t rva)
{
    size_t i = map_find(t, &t->depths[depth - 1], t->inl_starts, rva);

    if (i == SIZE_MAX || t->inl_info[i].name == SYMTABLE_NONE)
        return NULL;
    return &t->inl_info[i];
}

static const char *file_name(const struct symtable *t, uint32_t file)
{
    return file == 0 ? NULL : t->str + t->files[file];
}

/* A frame for the outer symbol SYM or, when IN is set, that inline
 * function, located at FILE:LINE. */
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
                       struct symtable_frame *frames, size_t max, size_t *total)
{
    const struct symtable_rec_sym *sym = NULL;
    const struct symtable_rec_line *line = NULL;
    const struct symtable_rec_inline *in, *inner = NULL;
    size_t depth = 0, n = 0, i;
    uint64_t line_rva;

    i = map_find(t, &t->syms, t->sym_starts, rva);
    if (i != SIZE_MAX && t->sym_info[i].name != SYMTABLE_NONE)
        sym = &t->sym_info[i];
    if (sym == NULL) {
        if (total)
            *total = 0;
        return 0;
    }
    while (depth < t->ndepths && find_inline(t, depth + 1, rva) != NULL)
        depth++;
    if (total)
        *total = depth + 1;
    /* A hole is no line record: its start is wherever the previous
     * record happened to end, which depends on what else the table holds
     * (a cold table built from some compile units only must answer as
     * the complete one). */
    i = map_find(t, &t->lines, t->line_starts, rva);
    if (i != SIZE_MAX &&
        (t->line_info[i].file != 0 || t->line_info[i].line != 0))
        line = &t->line_info[i];
    line_rva = line ? t->line_starts[i] : sym->sym_rva;
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
        frames[n].line_rva = line_rva;
        inner = in;
        n++;
    }
    return n;
}

const char *symtable_lang_name(enum symtable_lang lang)
{
    static const char *const names[] = {
        [SYMTABLE_LANG_C] = "c",       [SYMTABLE_LANG_CPP] = "cpp",
        [SYMTABLE_LANG_RUST] = "rust", [SYMTABLE_LANG_D] = "d",
        [SYMTABLE_LANG_SWIFT] = "swift", [SYMTABLE_LANG_ASM] = "asm",
    };

    return (size_t)lang < sizeof(names) / sizeof(names[0]) ? names[lang] : NULL;
}
