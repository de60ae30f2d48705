/* SPDX-License-Identifier: MIT */
/*
 * mdwriter: an in-memory minidump writer for tests (see mdwriter.h).
 *
 * Structure sizes and field offsets come from the format's documentation
 * (minidumpapiset.h: MINIDUMP_HEADER, _DIRECTORY, _THREAD, _MODULE,
 * _MEMORY_DESCRIPTOR(64), _EXCEPTION_STREAM, _SYSTEM_INFO, _MISC_INFO,
 * _THREAD_NAME, _UNLOADED_MODULE; winnt.h CONTEXT for x86 and amd64,
 * ARM64_NT_CONTEXT; Breakpad's minidump_format.h for its own streams and
 * its ARM/old ARM64 contexts).
 */
#include "symsrvd_config.h"

#include "mdwriter.h"

#include "byteorder.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MDW_HEADER_SIZE 32
#define MDW_DIR_ENTRY 12
#define MDW_DATA_START (MDW_HEADER_SIZE + MDW_DIR_ENTRY * MDW_MAX_STREAMS)

struct mdw_buf {
    uint8_t *p;
    size_t len, cap;
    size_t count; /* entries, for list buffers */
};

struct mdw {
    uint32_t timestamp;
    bool pad_lists;
    struct mdw_buf file;    /* header + directory + data */
    uint32_t nstreams;
    struct mdw_buf threads, names, modules, unloaded, memory;
    struct mdw_buf mem64_desc, mem64_data;
};

static void mdw_die(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

static void mdw_die(const char *fmt, ...)
{
    va_list ap;

    fputs("mdwriter: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

static void *buf_grow(struct mdw_buf *b, size_t n)
{
    void *at;

    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 256;

        while (cap - b->len < n)
            cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    at = b->p + b->len;
    memset(at, 0, n);
    b->len += n;
    return at;
}

static void buf_add(struct mdw_buf *b, const void *data, size_t n)
{
    if (n > 0)
        memcpy(buf_grow(b, n), data, n);
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

struct mdw *mdw_new(uint32_t timestamp)
{
    struct mdw *w = xcalloc(1, sizeof(*w));

    w->timestamp = timestamp;
    buf_grow(&w->file, MDW_DATA_START);
    return w;
}

void mdw_free(struct mdw *w)
{
    if (w == NULL)
        return;
    free(w->file.p);
    free(w->threads.p);
    free(w->names.p);
    free(w->modules.p);
    free(w->unloaded.p);
    free(w->memory.p);
    free(w->mem64_desc.p);
    free(w->mem64_data.p);
    free(w);
}

void mdw_set_list_padding(struct mdw *w, bool pad)
{
    w->pad_lists = pad;
}

static uint32_t file_rva(const struct mdw *w)
{
    if (w->file.len > UINT32_MAX)
        mdw_die("dump larger than 4 GiB");
    return (uint32_t)w->file.len;
}

uint32_t mdw_blob(struct mdw *w, const void *data, size_t len)
{
    uint32_t rva;

    buf_grow(&w->file, (4 - w->file.len % 4) % 4);
    rva = file_rva(w);
    buf_add(&w->file, data, len);
    return rva;
}

/* One UTF-8 sequence at S into *CP; returns its length. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
    size_t n = s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;

    *cp = n == 1 ? s[0] : s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            mdw_die("string is not UTF-8");
        *cp = (*cp << 6) | (s[i] & 0x3f);
    }
    return n;
}

uint32_t mdw_string(struct mdw *w, const char *utf8)
{
    const unsigned char *s = (const unsigned char *)utf8;
    struct mdw_buf u16 = {0};
    uint8_t *p;
    uint32_t rva, cp;

    while (*s != 0) {
        s += utf8_decode(s, &cp);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            put_le16(buf_grow(&u16, 2), (uint16_t)(0xd800 | (cp >> 10)));
            cp = 0xdc00 | (cp & 0x3ff);
        }
        put_le16(buf_grow(&u16, 2), (uint16_t)cp);
    }
    p = xcalloc(1, 4 + u16.len + 2);
    put_le32(p, (uint32_t)u16.len);
    if (u16.len > 0)
        memcpy(p + 4, u16.p, u16.len);
    rva = mdw_blob(w, p, 4 + u16.len + 2);
    free(p);
    free(u16.p);
    return rva;
}

/* --- contexts ------------------------------------------------------------ */

struct ctx_layout {
    size_t size, flags_off;
    uint32_t default_flags;
    unsigned word;       /* register width in bytes */
    unsigned nregs;
    const uint16_t *off; /* offset of DWARF register N */
};

/* winnt.h CONTEXT (x86): Edi 0x9c, Esi 0xa0, Ebx 0xa4, Edx 0xa8, Ecx 0xac,
 * Eax 0xb0, Ebp 0xb4, Eip 0xb8, EFlags 0xc0, Esp 0xc4. */
static const uint16_t x86_off[] = {0xb0, 0xac, 0xa8, 0xa4, 0xc4,
                                   0xb4, 0xa0, 0x9c, 0xb8, 0xc0};
/* winnt.h CONTEXT (amd64): Rax 0x78, Rcx 0x80, Rdx 0x88, Rbx 0x90, Rsp
 * 0x98, Rbp 0xa0, Rsi 0xa8, Rdi 0xb0, R8..R15 0xb8.., Rip 0xf8. */
static const uint16_t amd64_off[] = {
    0x78, 0x88, 0x80, 0x90, 0xa8, 0xb0, 0xa0, 0x98, 0xb8,
    0xc0, 0xc8, 0xd0, 0xd8, 0xe0, 0xe8, 0xf0, 0xf8};
static uint16_t arm_off[16], arm64_off[33];

static void ctx_layout_of(enum mdw_ctx kind, struct ctx_layout *l)
{
    for (unsigned i = 0; i < 16; i++)
        arm_off[i] = (uint16_t)(4 + 4 * i); /* iregs[16] after the flags */
    for (unsigned i = 0; i < 33; i++)
        arm64_off[i] = (uint16_t)(8 + 8 * i); /* X0..X28, Fp, Lr, Sp, Pc */
    switch (kind) {
    case MDW_CTX_X86:
        *l = (struct ctx_layout){716, 0, 0x10003, 4, 10, x86_off};
        return;
    case MDW_CTX_AMD64:
        *l = (struct ctx_layout){1232, 48, 0x100003, 8, 17, amd64_off};
        return;
    case MDW_CTX_ARM:
        *l = (struct ctx_layout){368, 0, 0x40000002, 4, 16, arm_off};
        return;
    case MDW_CTX_ARM64:
        *l = (struct ctx_layout){912, 0, 0x400003, 8, 33, arm64_off};
        return;
    case MDW_CTX_ARM64_OLD:
        *l = (struct ctx_layout){796, 0, 0x80000002, 8, 33, arm64_off};
        return;
    case MDW_CTX_NONE:
        break;
    }
    mdw_die("no layout for context kind %d", (int)kind);
}

uint32_t mdw_context(struct mdw *w, const struct mdw_context *ctx,
                     uint32_t *size)
{
    struct ctx_layout l;
    uint8_t *p;
    uint32_t rva;

    *size = 0;
    if (ctx->kind == MDW_CTX_NONE)
        return 0;
    ctx_layout_of(ctx->kind, &l);
    p = xcalloc(1, l.size);
    put_le32(p + l.flags_off, ctx->flags ? ctx->flags : l.default_flags);
    for (unsigned r = 0; ctx->regs != NULL && r < l.nregs; r++) {
        if (!(ctx->regs->valid & (UINT64_C(1) << r)))
            continue;
        if (l.word == 4)
            put_le32(p + l.off[r], (uint32_t)ctx->regs->r[r]);
        else
            put_le64(p + l.off[r], ctx->regs->r[r]);
    }
    rva = mdw_blob(w, p, l.size);
    free(p);
    *size = (uint32_t)l.size;
    return rva;
}

/* --- CodeView records ----------------------------------------------------- */

size_t mdw_cv_pdb70(uint8_t *buf, size_t cap, const uint8_t guid[16],
                    uint32_t age, const char *pdb)
{
    size_t n = 24 + strlen(pdb) + 1;

    if (n > cap)
        mdw_die("CodeView buffer too small");
    memcpy(buf, "RSDS", 4);
    memcpy(buf + 4, guid, 16);
    put_le32(buf + 20, age);
    memcpy(buf + 24, pdb, n - 24);
    return n;
}

size_t mdw_cv_elf(uint8_t *buf, size_t cap, const uint8_t *build_id,
                  size_t len)
{
    if (4 + len > cap)
        mdw_die("CodeView buffer too small");
    put_le32(buf, 0x4270454c); /* "LEpB" on disk: Breakpad's 'BpEL' constant */
    memcpy(buf + 4, build_id, len);
    return 4 + len;
}

/* --- streams ------------------------------------------------------------- */

static void add_stream(struct mdw *w, uint32_t type, const void *data,
                       size_t len)
{
    uint8_t *e;
    uint32_t rva;

    if (w->nstreams == MDW_MAX_STREAMS)
        mdw_die("more than %d streams", MDW_MAX_STREAMS);
    if (len > UINT32_MAX)
        mdw_die("stream too large");
    rva = mdw_blob(w, data, len);
    e = w->file.p + MDW_HEADER_SIZE + MDW_DIR_ENTRY * w->nstreams++;
    put_le32(e, type);
    put_le32(e + 4, (uint32_t)len);
    put_le32(e + 8, rva);
}

void mdw_stream(struct mdw *w, uint32_t type, const void *data, size_t len)
{
    add_stream(w, type, data, len);
}

void mdw_system_info(struct mdw *w, const struct mdw_system_info *si)
{
    uint8_t s[56] = {0};

    put_le16(s, si->arch);
    put_le16(s + 2, si->level);
    put_le16(s + 4, si->revision);
    s[6] = si->ncpus;
    s[7] = si->product_type;
    put_le32(s + 8, si->major);
    put_le32(s + 12, si->minor);
    put_le32(s + 16, si->build);
    put_le32(s + 20, si->platform);
    if (si->csd != NULL)
        put_le32(s + 24, mdw_string(w, si->csd));
    if (si->vendor != NULL) {
        memcpy(s + 32, si->vendor, strnlen(si->vendor, 12));
    } else {
        put_le32(s + 32, si->arm_cpuid);
        put_le32(s + 36, si->arm_hwcaps);
    }
    add_stream(w, MDW_SYSTEM_INFO, s, sizeof(s));
}

void mdw_misc_info(struct mdw *w, uint32_t flags1, uint32_t pid,
                   uint32_t create_time, uint32_t user_time,
                   uint32_t kernel_time)
{
    uint8_t s[24];

    put_le32(s, sizeof(s));
    put_le32(s + 4, flags1);
    put_le32(s + 8, pid);
    put_le32(s + 12, create_time);
    put_le32(s + 16, user_time);
    put_le32(s + 20, kernel_time);
    add_stream(w, MDW_MISC_INFO, s, sizeof(s));
}

void mdw_exception(struct mdw *w, const struct mdw_exception *e)
{
    uint8_t s[168] = {0};
    uint32_t size, rva = mdw_context(w, &e->ctx, &size);

    if (e->nparams > 15)
        mdw_die("more than 15 exception parameters");
    put_le32(s, e->tid);
    put_le32(s + 8, e->code);
    put_le32(s + 12, e->flags);
    put_le64(s + 24, e->address);
    put_le32(s + 32, e->nparams);
    for (uint32_t i = 0; i < e->nparams; i++)
        put_le64(s + 40 + 8 * i, e->params[i]);
    put_le32(s + 160, size);
    put_le32(s + 164, rva);
    add_stream(w, MDW_EXCEPTION, s, sizeof(s));
}

void mdw_breakpad_info(struct mdw *w, uint32_t validity, uint32_t dump_tid,
                       uint32_t requesting_tid)
{
    uint8_t s[12];

    put_le32(s, validity);
    put_le32(s + 4, dump_tid);
    put_le32(s + 8, requesting_tid);
    add_stream(w, MDW_BREAKPAD_INFO, s, sizeof(s));
}

/* --- list entries ---------------------------------------------------------- */

void mdw_thread(struct mdw *w, const struct mdw_thread *t)
{
    uint8_t *e;
    uint32_t ctx_size, ctx_rva = mdw_context(w, &t->ctx, &ctx_size);
    uint32_t stack_rva = t->stack ? mdw_blob(w, t->stack, t->stack_len) : 0;

    e = buf_grow(&w->threads, 48);
    w->threads.count++;
    put_le32(e, t->tid);
    put_le32(e + 4, t->suspend_count);
    put_le32(e + 8, t->priority_class);
    put_le32(e + 12, t->priority);
    put_le64(e + 16, t->teb);
    put_le64(e + 24, t->stack_start);
    put_le32(e + 32, (uint32_t)t->stack_len);
    put_le32(e + 36, stack_rva);
    put_le32(e + 40, ctx_size);
    put_le32(e + 44, ctx_rva);
}

void mdw_thread_name(struct mdw *w, uint32_t tid, const char *name)
{
    uint8_t *e = buf_grow(&w->names, 12);

    w->names.count++;
    put_le32(e, tid);
    put_le64(e + 4, mdw_string(w, name));
}

static void module_entry(struct mdw *w, const struct mdw_module *m,
                         uint8_t *e)
{
    put_le64(e, m->base);
    put_le32(e + 8, m->size);
    put_le32(e + 12, m->checksum);
    put_le32(e + 16, m->timestamp);
    put_le32(e + 20, mdw_string(w, m->name ? m->name : ""));
    if (m->has_version) {
        put_le32(e + 24, 0xfeef04bd); /* VS_FIXEDFILEINFO signature */
        put_le32(e + 28, 0x00010000); /* struct version 1.0 */
        put_le32(e + 32, m->version_hi);
        put_le32(e + 36, m->version_lo);
    }
    if (m->cv != NULL) {
        put_le32(e + 76, (uint32_t)m->cv_len);
        put_le32(e + 80, mdw_blob(w, m->cv, m->cv_len));
    }
}

void mdw_module(struct mdw *w, const struct mdw_module *m)
{
    uint8_t e[108] = {0};

    module_entry(w, m, e);
    buf_add(&w->modules, e, sizeof(e));
    w->modules.count++;
}

void mdw_unloaded_module(struct mdw *w, const struct mdw_module *m)
{
    uint8_t e[24];

    put_le64(e, m->base);
    put_le32(e + 8, m->size);
    put_le32(e + 12, m->checksum);
    put_le32(e + 16, m->timestamp);
    put_le32(e + 20, mdw_string(w, m->name ? m->name : ""));
    buf_add(&w->unloaded, e, sizeof(e));
    w->unloaded.count++;
}

void mdw_memory(struct mdw *w, uint64_t addr, const void *data, size_t len)
{
    uint8_t e[16];

    put_le64(e, addr);
    put_le32(e + 8, (uint32_t)len);
    put_le32(e + 12, mdw_blob(w, data, len));
    buf_add(&w->memory, e, sizeof(e));
    w->memory.count++;
}

void mdw_memory64(struct mdw *w, uint64_t addr, const void *data,
                  size_t len)
{
    uint8_t e[16];

    put_le64(e, addr);
    put_le64(e + 8, len);
    buf_add(&w->mem64_desc, e, sizeof(e));
    buf_add(&w->mem64_data, data, len);
    w->mem64_desc.count++;
}

/* --- finishing ------------------------------------------------------------ */

/* A list stream: a 32-bit count (plus Breakpad's padding when asked), then
 * the entries. */
static void finish_list(struct mdw *w, uint32_t type, struct mdw_buf *b,
                        bool may_pad)
{
    struct mdw_buf s = {0};
    size_t head = may_pad && w->pad_lists ? 8 : 4;

    if (b->count == 0)
        return;
    put_le32(buf_grow(&s, head), (uint32_t)b->count);
    buf_add(&s, b->p, b->len);
    add_stream(w, type, s.p, s.len);
    free(s.p);
}

static void finish_unloaded(struct mdw *w)
{
    struct mdw_buf s = {0};
    uint8_t *h;

    if (w->unloaded.count == 0)
        return;
    h = buf_grow(&s, 12);
    put_le32(h, 12);
    put_le32(h + 4, 24);
    put_le32(h + 8, (uint32_t)w->unloaded.count);
    buf_add(&s, w->unloaded.p, w->unloaded.len);
    add_stream(w, MDW_UNLOADED_MODULE_LIST, s.p, s.len);
    free(s.p);
}

/* The data of all Memory64 ranges follows the stream, back to back. */
static void finish_memory64(struct mdw *w)
{
    struct mdw_buf s = {0};
    uint8_t *h;
    size_t body = 16 + w->mem64_desc.len;

    if (w->mem64_desc.count == 0)
        return;
    h = buf_grow(&s, 16);
    put_le64(h, w->mem64_desc.count);
    /* add_stream() aligns to 4 first: predict where the body lands */
    put_le64(h + 8, (w->file.len + 3) / 4 * 4 + body);
    buf_add(&s, w->mem64_desc.p, w->mem64_desc.len);
    add_stream(w, MDW_MEMORY64_LIST, s.p, s.len);
    buf_add(&w->file, w->mem64_data.p, w->mem64_data.len);
    free(s.p);
}

void mdw_finish(struct mdw *w, uint8_t **out, size_t *len)
{
    uint8_t *h;

    finish_list(w, MDW_THREAD_LIST, &w->threads, true);
    finish_list(w, MDW_THREAD_NAMES, &w->names, false);
    finish_list(w, MDW_MODULE_LIST, &w->modules, true);
    finish_unloaded(w);
    finish_list(w, MDW_MEMORY_LIST, &w->memory, true);
    finish_memory64(w);
    h = w->file.p;
    memcpy(h, "MDMP", 4);
    put_le32(h + 4, 0xa793); /* MINIDUMP_VERSION; the high half is free */
    put_le32(h + 8, w->nstreams);
    put_le32(h + 12, MDW_HEADER_SIZE);
    put_le32(h + 20, w->timestamp);
    *out = w->file.p;
    *len = w->file.len;
    w->file = (struct mdw_buf){0};
}

/* --- corruption helpers ----------------------------------------------------- */

int mdw_dir_find(const uint8_t *dump, size_t len, uint32_t type)
{
    for (int i = 0; i < MDW_MAX_STREAMS; i++) {
        size_t off = MDW_HEADER_SIZE + (size_t)MDW_DIR_ENTRY * i;

        if (off + MDW_DIR_ENTRY > len)
            break;
        if (le32(dump + off) == type &&
            (type != 0 || le32(dump + off + 8) != 0))
            return i;
    }
    return -1;
}

bool mdw_dir_get(const uint8_t *dump, size_t len, uint32_t type,
                 uint32_t *size, uint32_t *rva)
{
    int i = mdw_dir_find(dump, len, type);
    const uint8_t *e;

    if (i < 0)
        return false;
    e = dump + MDW_HEADER_SIZE + MDW_DIR_ENTRY * i;
    *size = le32(e + 4);
    *rva = le32(e + 8);
    return true;
}

void mdw_dir_set(uint8_t *dump, size_t len, uint32_t type, uint32_t size,
                 uint32_t rva)
{
    int i = mdw_dir_find(dump, len, type);
    size_t off = MDW_HEADER_SIZE + (size_t)MDW_DIR_ENTRY * (size_t)i;

    if (i < 0)
        mdw_die("no stream of type 0x%x", type);
    mdw_put32(dump, len, off + 4, size);
    mdw_put32(dump, len, off + 8, rva);
}

void mdw_put32(uint8_t *dump, size_t len, size_t off, uint32_t v)
{
    if (off > len || len - off < 4)
        mdw_die("put32 at %zu past %zu", off, len);
    put_le32(dump + off, v);
}

void mdw_put64(uint8_t *dump, size_t len, size_t off, uint64_t v)
{
    if (off > len || len - off < 8)
        mdw_die("put64 at %zu past %zu", off, len);
    put_le64(dump + off, v);
}
