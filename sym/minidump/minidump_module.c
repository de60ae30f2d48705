/* SPDX-License-Identifier: MIT */
/*
 * minidump_module: ModuleList and UnloadedModuleList, with the identities
 * symbol stores key modules by.
 *
 * CodeView records: "RSDS" (PDB 7.0: GUID, age, PDB path) gives the PDB
 * debug id; Breakpad's Linux writer stores "BpEL" + the ELF build id, from
 * which the debug id is derived as objfile.h says for ELF (the first 16
 * bytes, zero-padded, with the GUID byte swap, age 0); "NB10" (PDB 2.0)
 * gives signature + age.  Breakpad's macOS writer stores the Mach-O UUID
 * as an RSDS GUID with age 0, so its debug id comes out as the UUID plus
 * "0" like dump_syms writes it; the code id of such a module is the UUID
 * in lower hex, as Crashpad and rust-minidump report it.
 */
#include "symsrvd_config.h"

#include "minidump/minidump_int.h"

#include "codeview/codeview.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODULE_SIZE 108
#define CV_PDB70 0x53445352 /* "RSDS" */
#define CV_PDB20 0x3031424e /* "NB10" */
#define CV_ELF 0x4270454c   /* "LEpB": Breakpad's 'BpEL' */
#define VS_SIGNATURE 0xfeef04bd

/* GUID G (16 bytes as stored) + AGE as symbol stores key it (new string). */
static char *guid_age_id(const uint8_t *g, uint32_t age)
{
    char id[CODEVIEW_DEBUG_ID_LEN];

    codeview_format_debug_id(g, age, id, sizeof(id));
    return xstrdup(id);
}
static char *hex_lower(const uint8_t *p, size_t n)
{
    char *s = xmalloc(2 * n + 1);

    for (size_t i = 0; i < n; i++)
        snprintf(s + 2 * i, 3, "%02x", p[i]);
    s[2 * n] = '\0';
    return s;
}

/* A NUL-terminated (or record-bounded) byte string of the record. */
static char *cv_name(const uint8_t *p, size_t n)
{
    return xstrndup((const char *)p, strnlen((const char *)p, n));
}

static bool is_apple(const struct minidump *md)
{
    return md->has_system_info && (md->sys.platform_id == MD_OS_MAC_OS_X ||
                                   md->sys.platform_id == MD_OS_IOS);
}

static void cv_pdb70(struct minidump *md, const struct md_view *cv,
                     struct minidump_module *m)
{
    m->debug_id = md_own(md, guid_age_id(cv->p + 4, le32(cv->p + 20)));
    m->debug_file = md_own(md, cv_name(cv->p + 24, cv->len - 24));
    if (is_apple(md)) {
        /* The UUID is the GUID as printed, without the age, lower case. */
        char *id = xstrndup(m->debug_id, 32);

        for (char *c = id; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
        m->code_id = md_own(md, id);
    }
}

static void cv_elf(struct minidump *md, const struct md_view *cv,
                   struct minidump_module *m)
{
    const uint8_t *id = cv->p + 4;
    size_t n = cv->len - 4;
    uint8_t g[16] = {0};

    memcpy(g, id, n < 16 ? n : 16);
    /* The GUID fields are read little-endian from the build id's bytes,
     * exactly as dump_syms does: printing them swaps the first 8 bytes. */
    m->debug_id = md_own(md, guid_age_id(g, 0));
    m->code_id = md_own(md, hex_lower(id, n));
    m->debug_file = m->code_file;
}

static void read_cv(struct minidump *md, const uint8_t *e,
                    struct minidump_module *m)
{
    uint32_t size = le32(e + 76), rva = le32(e + 80);
    struct md_view cv;

    if (size == 0)
        return;
    if (!md_span(md, rva, size, &cv) || size < 4) {
        md_warn(md, "module %s: CodeView record (%u bytes at 0x%x) is past "
                    "the end", m->code_file, size, rva);
        return;
    }
    switch (le32(cv.p)) {
    case CV_PDB70:
        if (cv.len >= 24)
            cv_pdb70(md, &cv, m);
        break;
    case CV_PDB20:
        if (cv.len >= 16) {
            m->debug_id = md_own(
                md, xasprintf("%08X%X", le32(cv.p + 8), le32(cv.p + 12)));
            m->debug_file = md_own(md, cv_name(cv.p + 16, cv.len - 16));
        }
        break;
    case CV_ELF:
        cv_elf(md, &cv, m);
        break;
    default:
        md_warn(md, "module %s: unknown CodeView signature 0x%08x",
                m->code_file, le32(cv.p));
        break;
    }
}

static void read_version(struct minidump *md, const uint8_t *vs,
                         struct minidump_module *m)
{
    uint32_t hi = le32(vs + 8), lo = le32(vs + 12);

    if (le32(vs) != VS_SIGNATURE || !(le32(vs + 4) & 0x00010000))
        return;
    m->version = md_own(md, xasprintf("%u.%u.%u.%u", hi >> 16, hi & 0xffff,
                                      lo >> 16, lo & 0xffff));
}

/* Fields shared by loaded and unloaded entries (same first 24 bytes). */
static void read_common(struct minidump *md, const uint8_t *e,
                        struct minidump_module *m)
{
    m->base = le64(e);
    m->size = le32(e + 8);
    m->checksum = le32(e + 12);
    m->time_date_stamp = le32(e + 16);
    m->code_file = md_string(md, le32(e + 20), "module name");
    m->code_id = "";
    m->debug_file = "";
    m->debug_id = "";
    m->version = "";
}

/* Windows modules are keyed by the PE timestamp and size of image
 * (Breakpad prints the size in lower hex). */
static void pe_code_id(struct minidump *md, struct minidump_module *m)
{
    bool windows = !md->has_system_info ||
                   md->sys.platform_id == MD_OS_WIN32_NT ||
                   md->sys.platform_id == MD_OS_WIN32_WINDOWS;

    if (m->code_id[0] == '\0' && windows)
        m->code_id = md_own(md, xasprintf("%08X%x", m->time_date_stamp,
                                          (unsigned)m->size));
}

struct module_key {
    uint64_t base;
    size_t index;
};

static int cmp_module_key(const void *a, const void *b)
{
    const struct module_key *x = a, *y = b;

    if (x->base != y->base)
        return x->base < y->base ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* MODULE_ORDER: module indexes by base address, for minidump_module_at. */
static void sort_modules(struct minidump *md)
{
    struct module_key *keys = xcalloc(md->nmodules + 1, sizeof(*keys));

    for (size_t i = 0; i < md->nmodules; i++)
        keys[i] = (struct module_key){md->modules[i].base, i};
    qsort(keys, md->nmodules, sizeof(*keys), cmp_module_key);
    md->module_order = xcalloc(md->nmodules + 1, sizeof(size_t));
    for (size_t i = 0; i < md->nmodules; i++)
        md->module_order[i] = keys[i].index;
    free(keys);
}

void md_read_modules(struct minidump *md)
{
    const struct md_view *s = md_stream(md, MD_STREAM_MODULE_LIST);
    const uint8_t *e = NULL;

    if (s != NULL)
        md->nmodules = md_list(md, s, MODULE_SIZE, "ModuleList", &e);
    md->modules = xcalloc(md->nmodules + 1, sizeof(*md->modules));
    for (size_t i = 0; i < md->nmodules; i++, e += MODULE_SIZE) {
        struct minidump_module *m = &md->modules[i];

        read_common(md, e, m);
        read_version(md, e + 24, m);
        read_cv(md, e, m);
        pe_code_id(md, m);
    }
    sort_modules(md);
}

void md_read_unloaded_modules(struct minidump *md)
{
    const struct md_view *s = md_stream(md, MD_STREAM_UNLOADED_MODULE_LIST);
    uint32_t head, entry;
    size_t n;

    if (s == NULL)
        return;
    if (s->len < 12 || le32(s->p) < 12 || le32(s->p + 4) < 24) {
        md_warn(md, "UnloadedModuleList: bad header");
        return;
    }
    head = le32(s->p);
    entry = le32(s->p + 4);
    n = le32(s->p + 8);
    if (head > s->len || n > (s->len - head) / entry) {
        md_warn(md, "UnloadedModuleList: %zu entries do not fit", n);
        n = head > s->len ? 0 : (s->len - head) / entry;
    }
    md->unloaded = xcalloc(n ? n : 1, sizeof(*md->unloaded));
    md->nunloaded = n;
    for (size_t i = 0; i < n; i++) {
        struct minidump_module *m = &md->unloaded[i];

        read_common(md, s->p + head + i * entry, m);
        m->unloaded = true;
        pe_code_id(md, m);
    }
}
