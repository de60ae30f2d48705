/* SPDX-License-Identifier: MIT */
/*
 * minidump: load a minidump (header, stream directory, threads, exception,
 * memory) and answer the accessors of minidump.h.  Modules, system info
 * and the Breakpad/Crashpad streams are read by minidump_module.c and
 * minidump_sysinfo.c, contexts by minidump_context.c, crash reasons by
 * minidump_reason.c.
 *
 * DESIGN.  Every stream is first clamped to the file (md_stream); every
 * list count is then cut to what its stream holds (md_list), so no loop
 * and no allocation is larger than the file.  A stream that does not
 * parse is skipped with a warning and the rest of the dump is still read:
 * a truncated dump keeps whatever lies before the cut.
 */
#include "symsrvd_config.h"

#include "minidump/minidump.h"
#include "minidump/minidump_int.h"

#include "bound.h"
#include "xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MD_SIGNATURE 0x504d444d /* "MDMP" */
#define MD_VERSION 0xa793
#define MD_HEADER_SIZE 32

/* --- little helpers every part uses ------------------------------------- */

void md_warn(struct minidump *md, const char *fmt, ...)
{
    char line[256];
    va_list ap;

    if (md->nwarnings >= MD_MAX_WARNINGS)
        return;
    if (md->nwarnings == MD_MAX_WARNINGS - 1) {
        md->warnings[md->nwarnings++] = xstrdup("further problems not listed");
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    md->warnings[md->nwarnings++] = xstrdup(line);
}

char *md_own(struct minidump *md, char *s)
{
    if (md->nowned == md->cap_owned) {
        md->cap_owned = md->cap_owned ? 2 * md->cap_owned : 64;
        md->owned = xreallocarray(md->owned, md->cap_owned, sizeof(char *));
    }
    md->owned[md->nowned++] = s;
    return s;
}

bool md_span(const struct minidump *md, uint64_t rva, uint64_t size,
             struct md_view *out)
{
    if (rva > md->len || size > md->len - rva)
        return false;
    out->p = md->data + rva;
    out->len = (size_t)size;
    return true;
}

const struct md_view *md_stream(const struct minidump *md, uint32_t type)
{
    for (size_t i = 0; i < md->nstreams; i++)
        if (md->streams[i].type == type)
            return &md->streams[i].v;
    return NULL;
}

size_t md_list(struct minidump *md, const struct md_view *s, size_t entry,
               const char *what, const uint8_t **first)
{
    size_t head = 4, count, fits;

    *first = NULL;
    if (s->len < 4) {
        md_warn(md, "%s: stream of %zu bytes has no count", what, s->len);
        return 0;
    }
    count = le32(s->p);
    /* Breakpad's macOS writer puts 4 bytes of padding after the count. */
    if (count <= (s->len - 4) / entry && s->len == 8 + count * entry)
        head = 8;
    fits = (s->len - head) / entry;
    if (count > fits) {
        md_warn(md, "%s: %zu entries, only %zu fit in the stream", what,
                count, fits);
        count = fits;
    }
    *first = s->p + head;
    return count;
}

/* --- strings -------------------------------------------------------------- */

static size_t utf8_put(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

char *md_utf16_to_utf8(const uint8_t *p, size_t n)
{
    /* A unit gives at most 3 bytes; a pair (2 units) gives 4. */
    char *out = xmalloc(3 * n + 1);
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        uint32_t cp = le16(p + 2 * i);

        if (cp == 0)
            break;
        if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < n) {
            uint32_t lo = le16(p + 2 * (i + 1));

            if (lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i++;
            }
        }
        if (cp >= 0xd800 && cp < 0xe000)
            cp = 0xfffd;
        o += utf8_put(out + o, cp);
    }
    out[o] = '\0';
    return out;
}

const char *md_string(struct minidump *md, uint32_t rva, const char *what)
{
    struct md_view len, s;

    if (!md_span(md, rva, 4, &len)) {
        md_warn(md, "%s: string RVA 0x%x is past the end", what, rva);
        return "";
    }
    if (!md_span(md, (uint64_t)rva + 4, le32(len.p), &s)) {
        md_warn(md, "%s: string at 0x%x (%u bytes) runs past the end", what,
                rva, le32(len.p));
        return "";
    }
    return md_own(md, md_utf16_to_utf8(s.p, s.len / 2));
}

/* --- header and directory ------------------------------------------------- */

static int read_header(struct minidump *md, char *err, size_t errlen)
{
    struct md_view dir;
    uint32_t n;

    if (md->len < MD_HEADER_SIZE || le32(md->data) != MD_SIGNATURE) {
        snprintf(err, errlen, "not a minidump (no MDMP signature)");
        return -EINVAL;
    }
    if ((le32(md->data + 4) & 0xffff) != MD_VERSION) {
        snprintf(err, errlen, "unknown minidump version 0x%x",
                 le32(md->data + 4) & 0xffff);
        return -EINVAL;
    }
    n = le32(md->data + 8);
    if (!md_span(md, le32(md->data + 12), (uint64_t)n * 12, &dir)) {
        snprintf(err, errlen, "stream directory (%u entries) is past the end",
                 n);
        return -EINVAL;
    }
    md->timestamp = le32(md->data + 20);
    md->streams = xcalloc(n ? n : 1, sizeof(*md->streams));
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = dir.p + 12 * (size_t)i;
        struct md_stream *s = &md->streams[md->nstreams];
        uint32_t size = le32(e + 4), rva = le32(e + 8);

        s->type = le32(e);
        if (s->type == 0 && size == 0)
            continue; /* an unused slot (MINIDUMP_STREAM_TYPE UnusedStream) */
        if (!md_span(md, rva, size, &s->v)) {
            md_warn(md, "stream 0x%x: %u bytes at 0x%x run past the end "
                        "(%zu bytes); cut short", s->type, size, rva, md->len);
            s->v.p = md->data + (rva < md->len ? rva : md->len);
            s->v.len = rva < md->len ? md->len - rva : 0;
        }
        md->nstreams++;
    }
    return 0;
}

static int cmp_stream_pos(const void *a, const void *b)
{
    const struct md_stream *x = *(const struct md_stream *const *)a;
    const struct md_stream *y = *(const struct md_stream *const *)b;

    return x->v.p < y->v.p ? -1 : x->v.p > y->v.p;
}

/* Overlapping streams are legal to read (every read is bounds-checked)
 * but say the file was not written by a sane writer: note them. */
static void check_overlaps(struct minidump *md)
{
    const struct md_stream **by_pos;
    size_t n = 0;

    by_pos = xcalloc(md->nstreams ? md->nstreams : 1, sizeof(*by_pos));
    for (size_t i = 0; i < md->nstreams; i++)
        if (md->streams[i].v.len > 0)
            by_pos[n++] = &md->streams[i];
    qsort(by_pos, n, sizeof(*by_pos), cmp_stream_pos);
    for (size_t i = 1; i < n; i++) {
        const struct md_stream *a = by_pos[i - 1], *b = by_pos[i];

        if (a->v.p + a->v.len > b->v.p)
            md_warn(md, "streams 0x%x and 0x%x overlap", a->type, b->type);
    }
    free(by_pos);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* Accessors use the first stream of a type; say when others were left. */
static void check_duplicates(struct minidump *md)
{
    uint32_t *types = xcalloc(md->nstreams ? md->nstreams : 1, 4);

    for (size_t i = 0; i < md->nstreams; i++)
        types[i] = md->streams[i].type;
    qsort(types, md->nstreams, sizeof(*types), cmp_u32);
    for (size_t i = 1; i < md->nstreams; i++)
        if (types[i] == types[i - 1] && (i < 2 || types[i - 2] != types[i]))
            md_warn(md, "stream 0x%x appears more than once; using the first",
                    types[i]);
    free(types);
}

/* --- memory ---------------------------------------------------------------- */

static void add_range(struct minidump *md, uint64_t addr, const uint8_t *p,
                      size_t len)
{
    if (len == 0)
        return;
    if (md->nranges == md->cap_ranges) {
        md->cap_ranges = md->cap_ranges ? 2 * md->cap_ranges : 16;
        md->ranges =
            xreallocarray(md->ranges, md->cap_ranges, sizeof(*md->ranges));
    }
    if (len - 1 > UINT64_MAX - addr)
        len = (size_t)(UINT64_MAX - addr) + 1; /* no range wraps around */
    md->ranges[md->nranges++] = (struct md_range){addr, p, len};
}

/* The file bytes of a memory descriptor, cut to the file with a warning. */
static void add_descriptor(struct minidump *md, uint64_t addr, uint64_t size,
                           uint64_t rva, const char *what)
{
    struct md_view v;

    if (!md_span(md, rva, size, &v)) {
        md_warn(md, "%s: memory at 0x%llx (%llu bytes at 0x%llx) runs past "
                    "the end", what, (unsigned long long)addr,
                (unsigned long long)size, (unsigned long long)rva);
        if (!md_span(md, rva, md->len - (rva < md->len ? rva : md->len), &v))
            return;
    }
    add_range(md, addr, v.p, v.len);
}

static void read_memory_list(struct minidump *md)
{
    const struct md_view *s = md_stream(md, MD_STREAM_MEMORY_LIST);
    const uint8_t *e;
    size_t n;

    if (s == NULL)
        return;
    n = md_list(md, s, 16, "MemoryList", &e);
    for (size_t i = 0; i < n; i++, e += 16)
        add_descriptor(md, le64(e), le32(e + 8), le32(e + 12), "MemoryList");
}

static void read_memory64_list(struct minidump *md)
{
    const struct md_view *s = md_stream(md, MD_STREAM_MEMORY64_LIST);
    uint64_t count, rva;

    if (s == NULL)
        return;
    if (s->len < 16) {
        md_warn(md, "Memory64List: stream of %zu bytes is too short", s->len);
        return;
    }
    count = le64(s->p);
    rva = le64(s->p + 8);
    if (count > (s->len - 16) / 16) {
        md_warn(md, "Memory64List: %llu entries, only %zu fit",
                (unsigned long long)count, (s->len - 16) / 16);
        count = (s->len - 16) / 16;
    }
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *e = s->p + 16 + 16 * i;
        uint64_t size = le64(e + 8);

        if (rva >= md->len && size > 0) {
            md_warn(md, "Memory64List: ranges %llu.. are past the end",
                    (unsigned long long)i);
            break;
        }
        add_descriptor(md, le64(e), size, rva, "Memory64List");
        rva = size > UINT64_MAX - rva ? UINT64_MAX : rva + size;
    }
}

static int cmp_range(const void *a, const void *b)
{
    const struct md_range *x = a, *y = b;

    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* The range holding ADDR: the last one starting at or below it (with equal
 * starts sorted by length, that is the longest), or NULL. */
static const struct md_range *find_range(const struct minidump *md,
                                         uint64_t addr)
{
    size_t lo = bound_upper(md->ranges, md->nranges, sizeof(*md->ranges),
                            offsetof(struct md_range, addr), addr);
    const struct md_range *r;

    if (lo == 0)
        return NULL;
    r = &md->ranges[lo - 1];
    return addr - r->addr < r->len ? r : NULL;
}

int minidump_read(const struct minidump *md, uint64_t addr, void *buf,
                  size_t len)
{
    uint8_t *out = buf;

    /* A read may cross from one range into the next adjacent one. */
    while (len > 0) {
        const struct md_range *r = find_range(md, addr);
        size_t off, n;

        if (r == NULL)
            return -1;
        off = (size_t)(addr - r->addr);
        n = r->len - off < len ? r->len - off : len;
        memcpy(out, r->data + off, n);
        out += n;
        len -= n;
        if (len > 0 && n > UINT64_MAX - addr)
            return -1;
        addr += n;
    }
    return 0;
}

/* --- threads and the exception -------------------------------------------- */

static void read_context(struct minidump *md, uint32_t size, uint32_t rva,
                         bool *has, struct unwind_regs *regs,
                         const char *what, uint32_t tid)
{
    struct md_view v;

    *has = false;
    if (size == 0 && rva == 0)
        return;
    if (!md_span(md, rva, size, &v)) {
        md_warn(md, "%s %u: context (%u bytes at 0x%x) runs past the end",
                what, tid, size, rva);
        return;
    }
    if (md_context_parse(&v, regs) != 0) {
        md_warn(md, "%s %u: context of %u bytes is of no known CPU", what,
                tid, size);
        return;
    }
    *has = true;
}

static void read_thread(struct minidump *md, const uint8_t *e,
                        struct minidump_thread *t)
{
    uint64_t start = le64(e + 24);
    uint32_t size = le32(e + 32), rva = le32(e + 36);
    struct md_view stack = {NULL, 0};

    t->thread_id = le32(e);
    t->name = "";
    t->suspend_count = le32(e + 4);
    t->priority_class = le32(e + 8);
    t->priority = le32(e + 12);
    t->teb = le64(e + 16);
    t->stack_start = start;
    if (size > 0 && !md_span(md, rva, size, &stack)) {
        md_warn(md, "thread %u: stack (%u bytes at 0x%x) runs past the end",
                t->thread_id, size, rva);
        if (rva < md->len)
            md_span(md, rva, md->len - rva, &stack);
        else
            stack = (struct md_view){NULL, 0};
    }
    if (size > 0 && stack.len > 0) {
        t->stack = stack.p;
        t->stack_len = stack.len;
        add_range(md, start, stack.p, stack.len);
    }
    read_context(md, le32(e + 40), le32(e + 44), &t->has_context, &t->context,
                 "thread", t->thread_id);
}

static void read_threads(struct minidump *md)
{
    const struct md_view *s = md_stream(md, MD_STREAM_THREAD_LIST);
    const uint8_t *e;

    if (s == NULL)
        return;
    md->nthreads = md_list(md, s, 48, "ThreadList", &e);
    md->threads = xcalloc(md->nthreads ? md->nthreads : 1,
                          sizeof(*md->threads));
    for (size_t i = 0; i < md->nthreads; i++, e += 48)
        read_thread(md, e, &md->threads[i]);
}

static void read_thread_names(struct minidump *md)
{
    const struct md_view *s = md_stream(md, MD_STREAM_THREAD_NAMES);
    const uint8_t *e;
    size_t n;

    if (s == NULL)
        return;
    n = md_list(md, s, 12, "ThreadNames", &e);
    for (size_t i = 0; i < n; i++, e += 12) {
        uint32_t tid = le32(e);
        uint64_t rva = le64(e + 4);

        for (size_t t = 0; t < md->nthreads; t++) {
            if (md->threads[t].thread_id != tid)
                continue;
            if (rva > UINT32_MAX)
                md_warn(md, "thread %u: name RVA 0x%llx is past the end",
                        tid, (unsigned long long)rva);
            else
                md->threads[t].name =
                    md_string(md, (uint32_t)rva, "thread name");
            break;
        }
    }
}

static void read_exception(struct minidump *md)
{
    const struct md_view *s = md_stream(md, MD_STREAM_EXCEPTION);
    struct minidump_exception *x = &md->exc;

    if (s == NULL)
        return;
    if (s->len < 168) {
        md_warn(md, "Exception: stream of %zu bytes, need 168", s->len);
        return;
    }
    x->thread_id = le32(s->p);
    x->code = le32(s->p + 8);
    x->flags = le32(s->p + 12);
    x->address = le64(s->p + 24);
    x->nparams = le32(s->p + 32);
    if (x->nparams > 15) {
        md_warn(md, "Exception: %u parameters, at most 15", x->nparams);
        x->nparams = 15;
    }
    for (uint32_t i = 0; i < x->nparams; i++)
        x->params[i] = le64(s->p + 40 + 8 * i);
    read_context(md, le32(s->p + 160), le32(s->p + 164), &x->has_context,
                 &x->context, "exception thread", x->thread_id);
    md->has_exception = true;
}

/* --- load and free ---------------------------------------------------------- */

int minidump_load(const uint8_t *data, size_t len, struct minidump **out,
                  char *err, size_t errlen)
{
    struct minidump *md = xcalloc(1, sizeof(*md));
    char dummy[1];
    int rc;

    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    md->data = data;
    md->len = data ? len : 0;
    rc = read_header(md, err, errlen);
    if (rc != 0)
        goto out;
    check_overlaps(md);
    check_duplicates(md);
    md_read_system_info(md);
    md_read_misc_info(md);
    read_threads(md);
    read_thread_names(md);
    read_exception(md);
    md_read_modules(md);
    md_read_unloaded_modules(md);
    read_memory_list(md);
    read_memory64_list(md);
    if (md->nranges > 1)
        qsort(md->ranges, md->nranges, sizeof(*md->ranges), cmp_range);
    md_read_breakpad_streams(md);
    md_read_crashpad_info(md);
    md_read_crash_reason(md);
    *out = md;
    md = NULL;
out:
    minidump_free(md);
    return rc;
}

void minidump_free(struct minidump *md)
{
    if (md == NULL)
        return;
    for (size_t i = 0; i < md->nowned; i++)
        free(md->owned[i]);
    for (size_t i = 0; i < md->nwarnings; i++)
        free(md->warnings[i]);
    free(md->owned);
    free(md->streams);
    free(md->threads);
    free(md->modules);
    free(md->unloaded);
    free(md->module_order);
    free(md->ranges);
    free(md->annotations);
    free(md);
}

/* --- accessors ----------------------------------------------------------- */

uint32_t minidump_timestamp(const struct minidump *md)
{
    return md->timestamp;
}

const struct minidump_system_info *
minidump_system_info(const struct minidump *md)
{
    return md->has_system_info ? &md->sys : NULL;
}

const struct minidump_misc_info *minidump_misc_info(const struct minidump *md)
{
    return md->has_misc_info ? &md->misc : NULL;
}

const struct minidump_exception *minidump_exception(const struct minidump *md)
{
    return md->has_exception ? &md->exc : NULL;
}

size_t minidump_thread_count(const struct minidump *md)
{
    return md->nthreads;
}

const struct minidump_thread *minidump_thread(const struct minidump *md,
                                              size_t i)
{
    return i < md->nthreads ? &md->threads[i] : NULL;
}

size_t minidump_module_count(const struct minidump *md)
{
    return md->nmodules;
}

const struct minidump_module *minidump_module(const struct minidump *md,
                                              size_t i)
{
    return i < md->nmodules ? &md->modules[i] : NULL;
}

size_t minidump_unloaded_count(const struct minidump *md)
{
    return md->nunloaded;
}

const struct minidump_module *minidump_unloaded(const struct minidump *md,
                                                size_t i)
{
    return i < md->nunloaded ? &md->unloaded[i] : NULL;
}

const struct minidump_module *
minidump_module_at(const struct minidump *md, uint64_t addr)
{
    size_t lo = 0, hi = md->nmodules;
    const struct minidump_module *m;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (md->modules[md->module_order[mid]].base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    m = &md->modules[md->module_order[lo - 1]];
    return addr - m->base < m->size ? m : NULL;
}

static int memory_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    return minidump_read(ctx, addr, buf, len);
}

static bool memory_is_code(void *ctx, uint64_t addr)
{
    return minidump_module_at(ctx, addr) != NULL;
}

void minidump_memory(const struct minidump *md, struct unwind_memory *mem)
{
    mem->read = memory_read;
    mem->is_code = memory_is_code;
    /* The callbacks only read through the const accessors. */
    mem->ctx = (void *)(uintptr_t)md;
}

bool minidump_dump_thread(const struct minidump *md, uint32_t *tid)
{
    if (!md->has_breakpad_info || !(md->bp_validity & 1))
        return false;
    *tid = md->bp_dump_tid;
    return true;
}

bool minidump_requesting_thread(const struct minidump *md, uint32_t *tid)
{
    if (!md->has_breakpad_info || !(md->bp_validity & 2))
        return false;
    *tid = md->bp_requesting_tid;
    return true;
}

const char *minidump_crash_reason(const struct minidump *md,
                                  uint64_t *crash_address)
{
    if (md->crash_reason != NULL && crash_address != NULL)
        *crash_address = md->crash_address;
    return md->crash_reason;
}

const char *minidump_assertion(const struct minidump *md)
{
    return md->assertion;
}

static const char *const linux_stream_names[] = {
    "/proc/cpuinfo",      "/proc/self/status",  "/etc/lsb-release",
    "/proc/self/cmdline", "/proc/self/environ", "/proc/self/auxv",
    "/proc/self/maps",    "DSO_DEBUG",
};

const char *minidump_linux_stream(const struct minidump *md,
                                  const char *name, size_t *len)
{
    size_t n = sizeof(linux_stream_names) / sizeof(linux_stream_names[0]);

    for (size_t i = 0; i < n; i++) {
        const struct md_view *s;

        if (strcmp(name, linux_stream_names[i]) != 0)
            continue;
        s = md_stream(md, MD_STREAM_LINUX_FIRST + (uint32_t)i);
        if (s == NULL)
            return NULL;
        *len = s->len;
        return (const char *)s->p;
    }
    return NULL;
}

size_t minidump_annotation_count(const struct minidump *md)
{
    return md->nannotations;
}

bool minidump_annotation(const struct minidump *md, size_t i,
                         const char **key, const char **value)
{
    if (i >= md->nannotations)
        return false;
    *key = md->annotations[2 * i];
    *value = md->annotations[2 * i + 1];
    return true;
}

size_t minidump_warning_count(const struct minidump *md)
{
    return md->nwarnings;
}

const char *minidump_warning(const struct minidump *md, size_t i)
{
    return i < md->nwarnings ? md->warnings[i] : NULL;
}
