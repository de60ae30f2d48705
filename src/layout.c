/* SPDX-License-Identifier: MIT */
/*
 * layout: Symbolicator's symbol-path rules (crates/symbolicator-sources/
 * src/paths.rs and filetype.rs), one function per layout.  Every rule
 * writes into a small list; casing and the compressed "_" names are
 * applied to the whole list afterwards, as Symbolicator does.
 */
#include "symsrvd_config.h"

#include "layout.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const layout_type_names[] = {
    "native",   "symstore", "symstore_index2", "ssqp",
    "debuginfod", "unified", "slashsymbols", "breakpad",
};

static const char *const layout_ft_names[LAYOUT_FT_COUNT] = {
    "pe",        "pdb",       "portablepdb", "mach_debug", "mach_code",
    "elf_debug", "elf_code",  "wasm_debug",  "wasm_code",  "breakpad",
};

static int layout_find(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

int layout_parse_type(const char *s, enum layout_type *out)
{
    int i = layout_find(layout_type_names,
                        sizeof(layout_type_names) / sizeof(*layout_type_names),
                        s);

    if (i < 0)
        return -EINVAL;
    *out = (enum layout_type)i;
    return 0;
}

int layout_parse_casing(const char *s, enum layout_casing *out)
{
    static const char *const names[] = {"default", "lowercase", "uppercase"};
    int i = layout_find(names, 3, s);

    if (i < 0)
        return -EINVAL;
    *out = (enum layout_casing)i;
    return 0;
}

enum layout_obj layout_parse_obj(const char *s)
{
    static const char *const names[] = {"unknown", "pe",    "pe_dotnet",
                                        "elf",     "macho", "wasm"};
    int i = s ? layout_find(names, 6, s) : -1;

    return i < 0 ? LAYOUT_OBJ_UNKNOWN : (enum layout_obj)i;
}

int layout_parse_filetype(const char *s, enum layout_ft *out)
{
    int i = layout_find(layout_ft_names, LAYOUT_FT_COUNT, s);

    if (i < 0)
        return -EINVAL;
    *out = (enum layout_ft)i;
    return 0;
}

const char *layout_filetype_name(enum layout_ft ft)
{
    return ft < LAYOUT_FT_COUNT ? layout_ft_names[ft] : "unknown";
}

/* --- identifiers ------------------------------------------------------ */

/* ASCII alone, without tolower()'s locale look-up: every request
 * normalises its modules' ids. */
static int hexval(char c)
{
    char lc = (char)(c | 0x20);

    if (c >= '0' && c <= '9')
        return c - '0';
    return lc >= 'a' && lc <= 'f' ? lc - 'a' + 10 : -1;
}

/* NDIGITS hex digits at S into OUT (big-endian bytes).  False on a
 * non-hex character. */
static bool hex_bytes(const char *s, size_t ndigits, uint8_t *out)
{
    for (size_t i = 0; i < ndigits; i++) {
        int v = hexval(s[i]);

        if (v < 0)
            return false;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(v << 4);
        else
            out[i / 2] |= (uint8_t)v;
    }
    return true;
}

/* Up to 8 hex digits; whatever follows is ignored, as rust-debugid does.
 * An empty appendix is age 0. */
static bool parse_age(const char *s, uint32_t *age)
{
    size_t i;

    *age = 0;
    for (i = 0; i < 8 && hexval(s[i]) >= 0; i++)
        *age = (*age << 4) | (uint32_t)hexval(s[i]);
    return i > 0 || s[0] == '\0';
}

static bool parse_hyphenated(const char *s, uint8_t uuid[16], uint32_t *age)
{
    static const size_t groups[] = {8, 4, 4, 4, 12};
    size_t off = 0, nib = 0;

    for (size_t g = 0; g < 5; g++) {
        if (g > 0 && s[off++] != '-')
            return false;
        for (size_t i = 0; i < groups[g]; i++, nib++) {
            int v = hexval(s[off++]);

            if (v < 0)
                return false;
            if (nib % 2 == 0)
                uuid[nib / 2] = (uint8_t)(v << 4);
            else
                uuid[nib / 2] |= (uint8_t)v;
        }
    }
    if (s[off] == '\0') {
        *age = 0;
        return true;
    }
    return s[off] == '-' && s[off + 1] != '\0' && parse_age(s + off + 1, age);
}

int layout_parse_debug_id(const char *s, uint8_t uuid[16], uint32_t *age)
{
    size_t len = s ? strlen(s) : 0;

    if (len >= 36 && s[8] == '-')
        return parse_hyphenated(s, uuid, age) ? 0 : -EINVAL;
    if (len >= 32 && hex_bytes(s, 32, uuid))
        return parse_age(s + 32, age) ? 0 : -EINVAL;
    if (len >= 9 && len <= 17 && hex_bytes(s, 8, uuid)) {
        /* PDB 2.0: a 32-bit signature and the age */
        memset(uuid + 4, 0, 12);
        return parse_age(s + 8, age) ? 0 : -EINVAL;
    }
    return -EINVAL;
}

void layout_format_debug_id(const uint8_t uuid[16], uint32_t age, char *buf,
                            size_t len)
{
    size_t off = 0;

    for (size_t i = 0; i < 16 && off + 3 < len; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            buf[off++] = '-';
        off += (size_t)snprintf(buf + off, len - off, "%02x", uuid[i]);
    }
    if (age > 0 && off < len)
        snprintf(buf + off, len - off, "-%x", age);
}

void layout_breakpad_id(const uint8_t uuid[16], uint32_t age, char *buf,
                        size_t len)
{
    size_t off = 0;

    for (size_t i = 0; i < 16 && off + 2 < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%02X", uuid[i]);
    if (off < len)
        snprintf(buf + off, len - off, "%x", age);
}

void layout_normalize_code_id(const char *s, char *buf, size_t len)
{
    size_t n = 0;

    for (; s != NULL && *s != '\0' && n + 1 < len; s++)
        if (hexval(*s) >= 0)
            buf[n++] = (char)(*s | 0x20); /* a digit keeps its bit 5 */
    if (len > 0)
        buf[n] = '\0';
}

/* --- file types per module type ---------------------------------------- */

size_t layout_filetypes(enum layout_obj obj,
                        enum layout_ft out[LAYOUT_MAX_FILETYPES])
{
    static const enum layout_ft tail[] = {LAYOUT_FT_BREAKPAD,
                                          LAYOUT_FT_MACH_DEBUG, LAYOUT_FT_PDB,
                                          LAYOUT_FT_ELF_DEBUG};
    size_t n = 0;

    switch (obj) {
    case LAYOUT_OBJ_MACHO:
        out[n++] = LAYOUT_FT_MACH_CODE;
        break;
    case LAYOUT_OBJ_PE:
        out[n++] = LAYOUT_FT_PE;
        break;
    case LAYOUT_OBJ_ELF:
        out[n++] = LAYOUT_FT_ELF_CODE;
        break;
    case LAYOUT_OBJ_WASM:
        out[n++] = LAYOUT_FT_WASM_CODE;
        out[n++] = LAYOUT_FT_WASM_DEBUG;
        return n;
    case LAYOUT_OBJ_PE_DOTNET:
        out[n++] = LAYOUT_FT_PORTABLEPDB;
        return n;
    case LAYOUT_OBJ_UNKNOWN:
        for (n = 0; n < LAYOUT_FT_COUNT; n++)
            out[n] = (enum layout_ft)n;
        return n;
    }
    for (size_t i = 0; i < sizeof(tail) / sizeof(*tail); i++)
        out[n++] = tail[i];
    return n;
}

/* --- paths --------------------------------------------------------------- */

struct plist {
    char (*p)[LAYOUT_PATH_MAX];
    size_t n;
};

static void add(struct plist *l, const char *f, ...)
    __attribute__((format(printf, 2, 3)));

static void add(struct plist *l, const char *f, ...)
{
    va_list ap;
    int n;

    if (l->n >= LAYOUT_MAX_PATHS)
        return;
    va_start(ap, f);
    n = vsnprintf(l->p[l->n], LAYOUT_PATH_MAX, f, ap);
    va_end(ap);
    if (n > 0 && n < LAYOUT_PATH_MAX)
        l->n++;
}

/* The last component of PATH split on '/' and '\', copied to BUF; false
 * when absent, too long, "." or "..", or holding control bytes (a name
 * that would make a bad path component). */
static bool basename_of(const char *path, char *buf, size_t len)
{
    const char *b = path;
    size_t n;

    if (path == NULL)
        return false;
    for (const char *p = path; *p != '\0'; p++)
        if (*p == '/' || *p == '\\')
            b = p + 1;
    n = strlen(b);
    if (n == 0 || n >= 256 || n >= len || strcmp(b, ".") == 0 ||
        strcmp(b, "..") == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (iscntrl((unsigned char)b[i]))
            return false;
    memcpy(buf, b, n + 1);
    return true;
}

static void lower(char *s)
{
    for (; *s != '\0'; s++)
        *s = (char)tolower((unsigned char)*s);
}

static void upper(char *s)
{
    for (; *s != '\0'; s++)
        *s = (char)toupper((unsigned char)*s);
}

/* Names and ids one module offers, computed once per call. */
struct names {
    const struct layout_ids *ids;
    bool df, cf;
    char dfn[256], cfn[256];
    char sig[33];  /* debug UUID, 32 upper-case hex */
    char bpid[48]; /* SIG + age lower hex */
    char mach[33]; /* Mach-O UUID, 32 upper-case hex, "" when none */
};

static void names_init(struct names *nm, const struct layout_ids *ids)
{
    memset(nm, 0, sizeof(*nm));
    nm->ids = ids;
    nm->df = basename_of(ids->debug_file, nm->dfn, sizeof(nm->dfn));
    nm->cf = basename_of(ids->code_file, nm->cfn, sizeof(nm->cfn));
    if (ids->has_debug_id) {
        layout_breakpad_id(ids->uuid, 0, nm->sig, sizeof(nm->sig));
        nm->sig[32] = '\0';
        layout_breakpad_id(ids->uuid, ids->age, nm->bpid, sizeof(nm->bpid));
    }
    if (strlen(ids->code_id) == 32) {
        snprintf(nm->mach, sizeof(nm->mach), "%s", ids->code_id);
        upper(nm->mach);
    } else if (ids->has_debug_id) {
        snprintf(nm->mach, sizeof(nm->mach), "%s", nm->sig);
    }
}

/* PE code id as symstore writes it: timestamp upper, size lower. */
static bool pe_sig(const struct names *nm, char *buf, size_t len)
{
    const char *cid = nm->ids->code_id;

    if (strlen(cid) < 9 || strlen(cid) >= len)
        return false;
    snprintf(buf, len, "%s", cid);
    for (size_t i = 0; i < 8; i++)
        buf[i] = (char)toupper((unsigned char)buf[i]);
    return true;
}

/* Age as the pdb path writes it: pe_dotnet modules use ffffffff. */
static uint32_t pdb_age(const struct names *nm)
{
    return nm->ids->obj == LAYOUT_OBJ_PE_DOTNET ? 0xffffffffu : nm->ids->age;
}

static void native_paths(const struct names *nm, enum layout_ft ft,
                         struct plist *l)
{
    const char *cid = nm->ids->code_id;
    char sig[80], name[256];
    const char *m = nm->mach;

    switch (ft) {
    case LAYOUT_FT_ELF_CODE:
    case LAYOUT_FT_WASM_CODE:
        if (strlen(cid) > 2)
            add(l, "%.2s/%s", cid, cid + 2);
        break;
    case LAYOUT_FT_ELF_DEBUG:
    case LAYOUT_FT_WASM_DEBUG:
        if (strlen(cid) > 2)
            add(l, "%.2s/%s.debug", cid, cid + 2);
        break;
    case LAYOUT_FT_MACH_CODE:
    case LAYOUT_FT_MACH_DEBUG:
        if (m[0] != '\0')
            add(l, "%.4s/%.4s/%.4s/%.4s/%.4s/%s%s", m, m + 4, m + 8, m + 12,
                m + 16, m + 20, ft == LAYOUT_FT_MACH_CODE ? ".app" : "");
        break;
    case LAYOUT_FT_PDB:
    case LAYOUT_FT_PORTABLEPDB:
        if (nm->df && nm->ids->has_debug_id)
            add(l, "%s/%s%x/%s", nm->dfn, nm->sig, pdb_age(nm), nm->dfn);
        break;
    case LAYOUT_FT_PE:
        if (nm->cf && pe_sig(nm, sig, sizeof(sig)))
            add(l, "%s/%s/%s", nm->cfn, sig, nm->cfn);
        break;
    case LAYOUT_FT_BREAKPAD:
        if (nm->df && nm->ids->has_debug_id &&
            nm->ids->obj != LAYOUT_OBJ_WASM) {
            size_t n = strlen(nm->dfn);

            snprintf(name, sizeof(name), "%s", nm->dfn);
            /* only ".pdb" is stripped (see the fact sheet, §2.3) */
            if (n > 4 && strcasecmp(name + n - 4, ".pdb") == 0)
                name[n - 4] = '\0';
            add(l, "%s/%s/%s.sym", nm->dfn, nm->bpid, name);
        }
        break;
    default:
        break;
    }
}

static void symstore_paths(const struct names *nm, enum layout_ft ft,
                           bool ssqp, struct plist *l)
{
    const char *cid = nm->ids->code_id, *df = nm->dfn, *cf = nm->cfn;
    char sig[80], ldf[sizeof(nm->dfn)], lcf[sizeof(nm->cfn)], lid[33];

    /* copies only to lower: every warm request asks for these paths */
    if (ssqp) {
        memcpy(ldf, nm->dfn, sizeof(ldf));
        memcpy(lcf, nm->cfn, sizeof(lcf));
        lower(ldf);
        lower(lcf);
        df = ldf;
        cf = lcf;
    }
    switch (ft) {
    case LAYOUT_FT_PDB:
    case LAYOUT_FT_PORTABLEPDB:
        if (!nm->df || !nm->ids->has_debug_id)
            break;
        if (ssqp) {
            snprintf(lid, sizeof(lid), "%s", nm->sig);
            lower(lid);
            add(l, "%s/%s%X/%s", df, lid, pdb_age(nm), df);
        } else {
            add(l, "%s/%s%x/%s", df, nm->sig, pdb_age(nm), df);
        }
        break;
    case LAYOUT_FT_PE:
        if (nm->cf && pe_sig(nm, sig, sizeof(sig)))
            add(l, "%s/%s/%s", cf, ssqp ? cid : sig, cf);
        break;
    case LAYOUT_FT_ELF_CODE:
        if (nm->cf && cid[0] != '\0')
            add(l, "%s/elf-buildid-%s/%s", cf, cid, cf);
        break;
    case LAYOUT_FT_ELF_DEBUG:
        if (cid[0] != '\0')
            add(l, "_.debug/elf-buildid-sym-%s/_.debug", cid);
        break;
    case LAYOUT_FT_MACH_CODE:
    case LAYOUT_FT_MACH_DEBUG:
        if (nm->mach[0] == '\0')
            break;
        snprintf(lid, sizeof(lid), "%s", nm->mach);
        lower(lid);
        if (ft == LAYOUT_FT_MACH_DEBUG)
            add(l, "_.dwarf/mach-uuid-sym-%s/_.dwarf", lid);
        else if (nm->cf)
            add(l, "%s/mach-uuid-%s/%s", cf, lid, cf);
        break;
    default:
        break;
    }
}

/* The id unified paths split as ID[0:2]/ID[2:]: PE/PDB use the lower-case
 * Breakpad id, ELF the code id, Mach-O and WASM the code id or the debug
 * UUID. */
static bool unified_id(const struct names *nm, enum layout_ft ft, char *buf,
                       size_t len)
{
    enum layout_obj obj = nm->ids->obj;
    bool pe = ft == LAYOUT_FT_PE || ft == LAYOUT_FT_PDB ||
              ft == LAYOUT_FT_PORTABLEPDB;

    if (ft == LAYOUT_FT_BREAKPAD)
        pe = obj == LAYOUT_OBJ_PE || obj == LAYOUT_OBJ_PE_DOTNET;
    if (pe) {
        if (!nm->ids->has_debug_id)
            return false;
        snprintf(buf, len, "%s", nm->bpid);
        lower(buf);
        return true;
    }
    if (nm->ids->code_id[0] != '\0') {
        snprintf(buf, len, "%s", nm->ids->code_id);
        return true;
    }
    bool elf = ft == LAYOUT_FT_ELF_CODE || ft == LAYOUT_FT_ELF_DEBUG ||
               (ft == LAYOUT_FT_BREAKPAD && obj == LAYOUT_OBJ_ELF);
    if (elf || !nm->ids->has_debug_id)
        return false;
    snprintf(buf, len, "%s", nm->sig);
    lower(buf);
    return true;
}

static void unified_paths(const struct names *nm, enum layout_ft ft,
                          struct plist *l)
{
    const char *suffix;
    char id[96];

    switch (ft) {
    case LAYOUT_FT_PE:
    case LAYOUT_FT_ELF_CODE:
    case LAYOUT_FT_MACH_CODE:
    case LAYOUT_FT_WASM_CODE:
        suffix = "executable";
        break;
    case LAYOUT_FT_BREAKPAD:
        suffix = "breakpad";
        break;
    default:
        suffix = "debuginfo";
        break;
    }
    if (unified_id(nm, ft, id, sizeof(id)) && strlen(id) > 2)
        add(l, "%.2s/%s/%s", id, id + 2, suffix);
}

static void apply_casing(enum layout_casing casing, struct plist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (casing == LAYOUT_CASE_LOWER)
            lower(l->p[i]);
        else if (casing == LAYOUT_CASE_UPPER)
            upper(l->p[i]);
    }
}

/* PE and PDB files are also asked for under their compressed name, the
 * last character replaced by '_' (crash.pd_), after the plain one. */
static void add_compressed(struct plist *l)
{
    size_t n = l->n;

    for (size_t i = 0; i < n && l->n < LAYOUT_MAX_PATHS; i++) {
        size_t len = strlen(l->p[i]);

        memcpy(l->p[l->n], l->p[i], len + 1);
        l->p[l->n][len - 1] = '_';
        l->n++;
    }
}

/* symstore_index2: the first two characters as a folder, one when the
 * second is '/' or '.'. */
static void index2(struct plist *l)
{
    char tmp[LAYOUT_PATH_MAX];

    for (size_t i = 0; i < l->n; i++) {
        const char *p = l->p[i];
        size_t pre = (p[1] == '/' || p[1] == '.') ? 1 : 2;

        snprintf(tmp, sizeof(tmp), "%.*s/%s", (int)pre, p, p);
        memcpy(l->p[i], tmp, sizeof(tmp));
    }
}

size_t layout_paths(enum layout_type type, enum layout_casing casing,
                    const struct layout_ids *ids, enum layout_ft ft,
                    char out[LAYOUT_MAX_PATHS][LAYOUT_PATH_MAX])
{
    struct plist l = {.p = out, .n = 0};
    struct names nm;
    const char *cid = ids->code_id;

    names_init(&nm, ids);
    switch (type) {
    case LAYOUT_NATIVE:
        native_paths(&nm, ft, &l);
        break;
    case LAYOUT_SYMSTORE:
    case LAYOUT_SYMSTORE_INDEX2:
    case LAYOUT_SSQP:
        symstore_paths(&nm, ft, type == LAYOUT_SSQP, &l);
        if (type == LAYOUT_SYMSTORE_INDEX2)
            index2(&l);
        break;
    case LAYOUT_DEBUGINFOD:
        if (cid[0] != '\0' && ft == LAYOUT_FT_ELF_CODE)
            add(&l, "%s/executable", cid);
        else if (cid[0] != '\0' && ft == LAYOUT_FT_ELF_DEBUG)
            add(&l, "%s/debuginfo", cid);
        break;
    case LAYOUT_UNIFIED:
        unified_paths(&nm, ft, &l);
        break;
    case LAYOUT_BREAKPAD:
        /* tecken: PE and PDB files as symstore, .sym files Breakpad's way */
        if (ft == LAYOUT_FT_BREAKPAD)
            native_paths(&nm, ft, &l);
        else
            symstore_paths(&nm, ft, false, &l);
        break;
    case LAYOUT_SLASHSYMBOLS:
        if (nm.cf && cid[0] != '\0') {
            char up[80];

            snprintf(up, sizeof(up), "%s", cid);
            upper(up);
            add(&l, "%s/%s/symbols", nm.cfn, cid);
            add(&l, "%s/%s/symbols", nm.cfn, up);
        }
        break;
    }
    apply_casing(casing, &l);
    if (ft == LAYOUT_FT_PE || ft == LAYOUT_FT_PDB)
        add_compressed(&l);
    return l.n;
}

/* --- request keys --------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n > m && strcasecmp(s + n - m, suffix) == 0;
}

static bool all_hex(const char *s)
{
    for (; *s != '\0'; s++)
        if (hexval(*s) < 0)
            return false;
    return true;
}

int layout_key(const char *name, const char *id, const char *file,
               struct layout_ids *ids, enum layout_ft *ft)
{
    size_t idlen = strlen(id);

    memset(ids, 0, sizeof(*ids));
    if (ends_with(file, ".sym") || ends_with(name, ".pdb")) {
        /* a debug id is a GUID and an age: at least 33 digits */
        if (idlen < 33 || !all_hex(id) ||
            layout_parse_debug_id(id, ids->uuid, &ids->age) != 0)
            return -EINVAL;
        ids->has_debug_id = true;
        ids->debug_file = name;
        ids->obj = ends_with(name, ".pdb") ? LAYOUT_OBJ_PE : LAYOUT_OBJ_UNKNOWN;
        *ft = ends_with(file, ".sym") ? LAYOUT_FT_BREAKPAD : LAYOUT_FT_PDB;
        return *ft == LAYOUT_FT_BREAKPAD || strcasecmp(name, file) == 0
                   ? 0
                   : -EINVAL;
    }
    if (strcasecmp(name, file) != 0 || idlen < 9 || idlen > 16 ||
        !all_hex(id))
        return -EINVAL;
    ids->obj = LAYOUT_OBJ_PE;
    ids->code_file = name;
    layout_normalize_code_id(id, ids->code_id, sizeof(ids->code_id));
    *ft = LAYOUT_FT_PE;
    return 0;
}

int layout_buildid(const char *build_id, bool exe, struct layout_ids *ids,
                   enum layout_ft *ft)
{
    memset(ids, 0, sizeof(*ids));
    if (strlen(build_id) >= sizeof(ids->code_id) || !all_hex(build_id))
        return -EINVAL;
    ids->obj = LAYOUT_OBJ_ELF;
    layout_normalize_code_id(build_id, ids->code_id, sizeof(ids->code_id));
    *ft = exe ? LAYOUT_FT_ELF_CODE : LAYOUT_FT_ELF_DEBUG;
    return 0;
}
