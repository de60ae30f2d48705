/* SPDX-License-Identifier: MIT */
/*
 * breakpad: Breakpad text symbol files into the symtable.
 *
 * DESIGN.  The file is walked line by line straight over the mapping
 * (never NUL-terminated), with a cursor that reads one token at a time
 * and knows the end of the line.  Building takes two walks: the first
 * checks every record's syntax and collects FILE and INLINE_ORIGIN
 * (which may come after their users), the second feeds the builder and
 * resolves the ids.  Names are the rest of their line and may hold
 * spaces; they are copied into one scratch buffer to NUL-terminate them.
 */
#include "symsrvd_config.h"

#include "breakpad/breakpad.h"
#include "table/symtable.h"
#include "xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A FILE or INLINE_ORIGIN: its Breakpad id and name. */
struct bp_name {
    uint64_t id;
    const char *name;
    size_t len;
    uint32_t file_id; /* symtable file id once interned, else 0 */
    size_t lineno;    /* where it was defined, for messages */
};

struct bp_names {
    struct bp_name *v;
    size_t n, cap;
};

struct bp_ctx {
    struct objfile_map *map;
    struct symtable_builder *b; /* NULL on the checking walk */
    struct bp_names files, origins;
    struct breakpad_stack *stack; /* collected when WANT_STACK */
    size_t nstack, stack_cap;
    bool want_stack;
    bool in_func; /* line and INLINE records belong to the last FUNC */
    size_t lineno;
    char *scratch;
    size_t scratch_cap;
};

/* One line being parsed: P advances over tokens up to END. */
struct bp_cur {
    const char *p, *end;
};

static int __attribute__((format(printf, 2, 3)))
bp_fail(struct bp_ctx *c, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = objfile_vfail(c->map, -EINVAL, c->lineno, fmt, ap);
    va_end(ap);
    return rc;
}

static bool bp_tok(struct bp_cur *cur, const char **s, size_t *len)
{
    while (cur->p < cur->end && *cur->p == ' ')
        cur->p++;
    *s = cur->p;
    while (cur->p < cur->end && *cur->p != ' ')
        cur->p++;
    *len = (size_t)(cur->p - *s);
    return *len > 0;
}

static bool bp_word(struct bp_cur *cur, const char *word)
{
    struct bp_cur save = *cur;
    const char *s;
    size_t len;

    if (bp_tok(cur, &s, &len) && len == strlen(word) &&
        memcmp(s, word, len) == 0)
        return true;
    *cur = save;
    return false;
}

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* A number in BASE 16 or 10 that fits in MAX. */
static bool bp_num(struct bp_cur *cur, int base, uint64_t max, uint64_t *v)
{
    const char *s;
    size_t len;

    *v = 0;
    if (!bp_tok(cur, &s, &len) || len > 20)
        return false;
    for (size_t i = 0; i < len; i++) {
        int d = hex_digit(s[i]);

        if (d < 0 || d >= base || *v > (max - (uint64_t)d) / (uint64_t)base)
            return false;
        *v = *v * (uint64_t)base + (uint64_t)d;
    }
    return true;
}

static bool bp_hex(struct bp_cur *cur, uint64_t *v)
{
    return bp_num(cur, 16, UINT64_MAX, v);
}

static bool bp_dec32(struct bp_cur *cur, uint32_t *v)
{
    uint64_t x;

    if (!bp_num(cur, 10, UINT32_MAX, &x))
        return false;
    *v = (uint32_t)x;
    return true;
}

/* The rest of the line after one separating space: a name. */
static void bp_rest(struct bp_cur *cur, const char **s, size_t *len)
{
    if (cur->p < cur->end && *cur->p == ' ')
        cur->p++;
    *s = cur->p;
    *len = (size_t)(cur->end - cur->p);
    cur->p = cur->end;
}

static bool bp_at_end(const struct bp_cur *cur)
{
    const char *p = cur->p;

    while (p < cur->end && *p == ' ')
        p++;
    return p == cur->end;
}

/* S[0..LEN) as a NUL-terminated string, valid until the next call. */
static const char *bp_cstr(struct bp_ctx *c, const char *s, size_t len)
{
    if (len + 1 > c->scratch_cap) {
        c->scratch_cap = len + 64;
        c->scratch = xreallocarray(c->scratch, c->scratch_cap, 1);
    }
    memcpy(c->scratch, s, len);
    c->scratch[len] = '\0';
    return c->scratch;
}

/* --- FILE and INLINE_ORIGIN ids ------------------------------------- */

static int cmp_name_id(const void *a, const void *b)
{
    const struct bp_name *x = a, *y = b;

    return x->id < y->id ? -1 : x->id > y->id;
}

static void names_add(struct bp_names *ns, uint64_t id, const char *s,
                      size_t len, size_t lineno)
{
    if (ns->n == ns->cap) {
        ns->cap = ns->cap ? ns->cap * 2 : 64;
        ns->v = xreallocarray(ns->v, ns->cap, sizeof(*ns->v));
    }
    ns->v[ns->n++] = (struct bp_name){id, s, len, 0, lineno};
}

/* Sort by id and refuse an id defined twice. */
static int names_seal(struct bp_ctx *c, struct bp_names *ns, const char *what)
{
    if (ns->n > 1)
        qsort(ns->v, ns->n, sizeof(*ns->v), cmp_name_id);
    for (size_t i = 1; i < ns->n; i++)
        if (ns->v[i].id == ns->v[i - 1].id) {
            c->lineno = ns->v[i].lineno > ns->v[i - 1].lineno
                            ? ns->v[i].lineno
                            : ns->v[i - 1].lineno;
            return bp_fail(c, "%s %llu defined twice", what,
                           (unsigned long long)ns->v[i].id);
        }
    return 0;
}

static struct bp_name *names_find(struct bp_names *ns, uint64_t id)
{
    struct bp_name key = {.id = id};

    if (ns->n == 0)
        return NULL;
    return bsearch(&key, ns->v, ns->n, sizeof(*ns->v), cmp_name_id);
}

/* The symtable file id of Breakpad file ID, or 0 with an error. */
static int bp_file(struct bp_ctx *c, uint32_t id, uint32_t *out)
{
    struct bp_name *f = names_find(&c->files, id);

    if (f == NULL)
        return bp_fail(c, "FILE %u is not defined", id);
    if (f->file_id == 0)
        f->file_id = symtable_builder_file(c->b, bp_cstr(c, f->name, f->len));
    *out = f->file_id;
    return 0;
}

/* --- records -------------------------------------------------------- */

static int bp_rec_named(struct bp_ctx *c, struct bp_cur *cur,
                        struct bp_names *ns, const char *what)
{
    uint64_t id;
    const char *s;
    size_t len;

    if (!bp_num(cur, 10, UINT64_MAX, &id))
        return bp_fail(c, "%s: bad id", what);
    bp_rest(cur, &s, &len);
    if (c->b == NULL)
        names_add(ns, id, s, len, c->lineno);
    return 0;
}

static const char *bp_name_or_omitted(struct bp_ctx *c, const char *s,
                                      size_t len)
{
    return len > 0 ? bp_cstr(c, s, len) : "<name omitted>";
}

static int bp_rec_func(struct bp_ctx *c, struct bp_cur *cur)
{
    uint64_t addr, size, params;
    const char *s;
    size_t len;

    bp_word(cur, "m");
    if (!bp_hex(cur, &addr) || !bp_hex(cur, &size) || !bp_hex(cur, &params))
        return bp_fail(c, "FUNC: expected address, size, parameter size");
    bp_rest(cur, &s, &len);
    if (c->b)
        symtable_builder_add_func(c->b, addr, size,
                                  bp_name_or_omitted(c, s, len),
                                  SYMTABLE_LANG_UNKNOWN);
    c->in_func = true;
    return 0;
}

static int bp_rec_public(struct bp_ctx *c, struct bp_cur *cur)
{
    uint64_t addr, params;
    const char *s;
    size_t len;

    bp_word(cur, "m");
    if (!bp_hex(cur, &addr) || !bp_hex(cur, &params))
        return bp_fail(c, "PUBLIC: expected address, parameter size");
    bp_rest(cur, &s, &len);
    if (c->b)
        symtable_builder_add_public(c->b, addr, bp_name_or_omitted(c, s, len));
    return 0;
}

/* A source line record: addr size line file, inside a FUNC. */
static int bp_rec_line(struct bp_ctx *c, struct bp_cur *cur)
{
    uint64_t addr, size;
    uint32_t line, file, fid;
    int rc;

    if (!bp_hex(cur, &addr) || !bp_hex(cur, &size) || !bp_dec32(cur, &line) ||
        !bp_dec32(cur, &file) || !bp_at_end(cur))
        return bp_fail(c, "unknown record or malformed line record");
    if (!c->in_func)
        return bp_fail(c, "line record outside a FUNC");
    if (c->b == NULL)
        return 0;
    rc = bp_file(c, file, &fid);
    if (rc == 0)
        symtable_builder_add_line(c->b, addr, size, fid, line);
    return rc;
}

static int bp_inline_ranges(struct bp_ctx *c, struct bp_cur *cur,
                            uint32_t depth, const struct bp_name *origin,
                            uint32_t call_file, uint32_t call_line)
{
    uint64_t addr, size;
    int n = 0;

    while (!bp_at_end(cur)) {
        if (!bp_hex(cur, &addr) || !bp_hex(cur, &size))
            return bp_fail(c, "INLINE: bad address range");
        if (c->b)
            symtable_builder_add_inline(
                c->b, addr, size, depth + 1,
                bp_name_or_omitted(c, origin->name, origin->len), call_file,
                call_line, SYMTABLE_LANG_UNKNOWN);
        n++;
    }
    return n > 0 ? 0 : bp_fail(c, "INLINE: no address range");
}

static int bp_rec_inline(struct bp_ctx *c, struct bp_cur *cur)
{
    uint32_t depth, call_line, file, fid = 0;
    uint64_t origin_id;
    struct bp_name dummy = {0}, *origin = &dummy;
    int rc = 0;

    if (!bp_dec32(cur, &depth) || depth == UINT32_MAX ||
        !bp_dec32(cur, &call_line) || !bp_dec32(cur, &file) ||
        !bp_num(cur, 10, UINT64_MAX, &origin_id))
        return bp_fail(c, "INLINE: expected depth, call line, file, origin");
    if (!c->in_func)
        return bp_fail(c, "INLINE outside a FUNC");
    if (c->b) {
        origin = names_find(&c->origins, origin_id);
        if (origin == NULL)
            return bp_fail(c, "INLINE_ORIGIN %llu is not defined",
                           (unsigned long long)origin_id);
        rc = bp_file(c, file, &fid);
    }
    if (rc == 0)
        rc = bp_inline_ranges(c, cur, depth, origin, fid, call_line);
    return rc;
}

/* --- STACK records -------------------------------------------------- */

static void bp_stack_push(struct bp_ctx *c, const struct breakpad_stack *s)
{
    if (!c->want_stack)
        return;
    if (c->nstack == c->stack_cap) {
        c->stack_cap = c->stack_cap ? c->stack_cap * 2 : 256;
        c->stack = xreallocarray(c->stack, c->stack_cap, sizeof(*c->stack));
    }
    c->stack[c->nstack++] = *s;
}

static int bp_rec_cfi(struct bp_ctx *c, struct bp_cur *cur)
{
    struct breakpad_stack s = {.kind = BREAKPAD_STACK_CFI};

    if (bp_word(cur, "INIT")) {
        s.kind = BREAKPAD_STACK_CFI_INIT;
        if (!bp_hex(cur, &s.rva) || !bp_hex(cur, &s.size))
            return bp_fail(c, "STACK CFI INIT: expected address, size");
    } else if (!bp_hex(cur, &s.rva)) {
        return bp_fail(c, "STACK CFI: expected address");
    }
    bp_rest(cur, &s.rules, &s.rules_len);
    if (s.rules_len == 0)
        return bp_fail(c, "STACK CFI: no rules");
    bp_stack_push(c, &s);
    return 0;
}

static int bp_rec_win(struct bp_ctx *c, struct bp_cur *cur)
{
    struct breakpad_stack s = {.kind = BREAKPAD_STACK_WIN};
    uint32_t *u32[] = {&s.prolog_size,    &s.epilog_size,
                       &s.parameter_size, &s.saved_register_size,
                       &s.local_size,     &s.max_stack_size};
    uint64_t v;

    if (!bp_num(cur, 16, 0xffffffffu, &v) || !bp_hex(cur, &s.rva) ||
        !bp_hex(cur, &s.size))
        return bp_fail(c, "STACK WIN: expected type, address, size");
    s.win_type = (uint32_t)v;
    for (size_t i = 0; i < sizeof(u32) / sizeof(u32[0]); i++) {
        if (!bp_num(cur, 16, 0xffffffffu, &v))
            return bp_fail(c, "STACK WIN: bad numeric field %zu", i + 4);
        *u32[i] = (uint32_t)v;
    }
    if (!bp_num(cur, 10, 1, &v))
        return bp_fail(c, "STACK WIN: has_program_string must be 0 or 1");
    s.has_program_string = v == 1;
    if (s.has_program_string) {
        bp_rest(cur, &s.rules, &s.rules_len);
    } else {
        if (!bp_num(cur, 10, 1, &v) || !bp_at_end(cur))
            return bp_fail(c, "STACK WIN: allocates_base_pointer must be 0/1");
        s.allocates_base_pointer = v == 1;
        s.rules = cur->p;
    }
    bp_stack_push(c, &s);
    return 0;
}

static int bp_rec_stack(struct bp_ctx *c, struct bp_cur *cur)
{
    if (bp_word(cur, "CFI"))
        return bp_rec_cfi(c, cur);
    if (bp_word(cur, "WIN"))
        return bp_rec_win(c, cur);
    return bp_fail(c, "STACK: expected CFI or WIN");
}

/* --- walking the file ----------------------------------------------- */

static int bp_record(struct bp_ctx *c, struct bp_cur *cur)
{
    struct bp_cur save = *cur;
    bool was_in_func = c->in_func;
    const char *s;
    size_t len;

    c->in_func = false;
    if (!bp_tok(cur, &s, &len)) {
        c->in_func = was_in_func; /* blank: never written, but harmless */
        return 0;
    }
#define IS(word) (len == sizeof(word) - 1 && memcmp(s, word, len) == 0)
    if (IS("MODULE"))
        return c->lineno == 1 ? 0 : bp_fail(c, "MODULE must be line 1");
    if (IS("INFO"))
        return 0;
    if (IS("FILE"))
        return bp_rec_named(c, cur, &c->files, "FILE");
    if (IS("INLINE_ORIGIN"))
        return bp_rec_named(c, cur, &c->origins, "INLINE_ORIGIN");
    if (IS("FUNC"))
        return bp_rec_func(c, cur);
    if (IS("PUBLIC"))
        return bp_rec_public(c, cur);
    if (IS("STACK"))
        return bp_rec_stack(c, cur);
    c->in_func = was_in_func;
    if (IS("INLINE"))
        return bp_rec_inline(c, cur);
#undef IS
    *cur = save;
    return bp_rec_line(c, cur);
}

/* The next line of [*P, END) into *CUR without its CR LF; false at EOF. */
static bool bp_next_line(const char **p, const char *end, struct bp_cur *cur)
{
    size_t len;
    const char *nl;

    if (*p >= end)
        return false;
    len = (size_t)(end - *p);
    nl = memchr(*p, '\n', len);
    if (nl != NULL)
        len = (size_t)(nl - *p);
    cur->p = *p;
    *p += nl != NULL ? len + 1 : len;
    if (len > 0 && cur->p[len - 1] == '\r')
        len--;
    cur->end = cur->p + len;
    return true;
}

static int bp_walk(struct bp_ctx *c)
{
    const char *p = (const char *)c->map->data;
    const char *end = p ? p + c->map->len : p;
    struct bp_cur cur;
    int rc = 0;

    c->lineno = 0;
    c->in_func = false;
    while (rc == 0 && bp_next_line(&p, end, &cur)) {
        size_t len = (size_t)(cur.end - cur.p);

        c->lineno++;
        if (memchr(cur.p, '\0', len) != NULL)
            rc = bp_fail(c, "NUL byte in a text record");
        else if (len > 0)
            rc = bp_record(c, &cur);
    }
    return rc;
}

static void bp_ctx_free(struct bp_ctx *c)
{
    free(c->files.v);
    free(c->origins.v);
    free(c->stack);
    free(c->scratch);
}

int breakpad_build(struct objfile_map *map, struct symtable_builder *b)
{
    struct bp_ctx c = {.map = map};
    int rc = bp_walk(&c);

    if (rc == 0)
        rc = names_seal(&c, &c.files, "FILE");
    if (rc == 0)
        rc = names_seal(&c, &c.origins, "INLINE_ORIGIN");
    if (rc == 0) {
        c.b = b;
        rc = bp_walk(&c);
    }
    bp_ctx_free(&c);
    return rc;
}

int breakpad_stack_records(struct objfile_map *map, struct breakpad_stack **out,
                           size_t *n)
{
    struct bp_ctx c = {.map = map, .want_stack = true};
    int rc = bp_walk(&c);

    if (rc == 0) {
        *out = c.stack;
        *n = c.nstack;
        c.stack = NULL;
    }
    bp_ctx_free(&c);
    return rc;
}

/* --- identity ------------------------------------------------------- */

static bool bp_copy(char *dst, size_t cap, const char *s, size_t len)
{
    if (len >= cap)
        return false;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return true;
}

static bool bp_is_hex(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (hex_digit(s[i]) < 0)
            return false;
    return len > 0;
}

static int bp_module(struct bp_ctx *c, struct bp_cur *cur,
                     struct objfile_ident *id, bool *windows)
{
    const char *os, *arch, *dbg, *name;
    size_t os_len, arch_len, dbg_len, name_len;

    if (!bp_word(cur, "MODULE") || !bp_tok(cur, &os, &os_len) ||
        !bp_tok(cur, &arch, &arch_len) || !bp_tok(cur, &dbg, &dbg_len))
        return bp_fail(c, "expected MODULE os arch id name");
    bp_rest(cur, &name, &name_len);
    if (!bp_is_hex(dbg, dbg_len) || dbg_len < 32)
        return bp_fail(c, "MODULE: id is not a GUID and age in hex");
    if (!bp_copy(id->arch, sizeof(id->arch), arch, arch_len) ||
        !bp_copy(id->debug_id, sizeof(id->debug_id), dbg, dbg_len) ||
        !bp_copy(id->debug_file, sizeof(id->debug_file), name, name_len))
        return bp_fail(c, "MODULE: field too long");
    for (char *p = id->debug_id; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    *windows = os_len == 7 && strncasecmp(os, "windows", 7) == 0;
    return 0;
}

static int bp_code_id(struct bp_ctx *c, struct bp_cur *cur,
                      struct objfile_ident *id, bool windows)
{
    const char *code, *file;
    size_t code_len, file_len;

    if (!bp_tok(cur, &code, &code_len) || !bp_is_hex(code, code_len))
        return bp_fail(c, "INFO CODE_ID: expected a hex id");
    bp_rest(cur, &file, &file_len);
    if (!bp_copy(id->code_id, sizeof(id->code_id), code, code_len) ||
        (file_len > 0 &&
         !bp_copy(id->code_file, sizeof(id->code_file), file, file_len)))
        return bp_fail(c, "INFO CODE_ID: field too long");
    for (char *p = id->code_id; *p; p++) {
        if (windows && *p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
        else if (!windows && *p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    }
    return 0;
}

/* The header records: MODULE on line 1, then INFO lines. */
static int bp_ident_walk(struct bp_ctx *c, struct objfile_ident *id,
                         bool *windows)
{
    const char *p = (const char *)c->map->data;
    const char *end = p ? p + c->map->len : p;
    struct bp_cur cur;
    int rc = 0;

    c->lineno = 0;
    while (rc == 0 && bp_next_line(&p, end, &cur)) {
        c->lineno++;
        if (c->lineno == 1)
            rc = bp_module(c, &cur, id, windows);
        else if (!bp_word(&cur, "INFO"))
            break;
        else if (bp_word(&cur, "CODE_ID"))
            rc = bp_code_id(c, &cur, id, *windows);
    }
    if (c->lineno == 0)
        rc = bp_fail(c, "empty file");
    return rc;
}

int breakpad_identify(struct objfile_map *map, struct objfile_ident *id)
{
    struct bp_ctx c = {.map = map};
    bool windows = false;
    int rc;

    id->kind = OBJFILE_BREAKPAD;
    id->image_base = 0;
    rc = bp_ident_walk(&c, id, &windows);
    if (rc == 0 && id->code_file[0] == '\0' && !windows)
        snprintf(id->code_file, sizeof(id->code_file), "%s", id->debug_file);
    return rc;
}
