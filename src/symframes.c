/* SPDX-License-Identifier: MIT */
/*
 * symframes: the frames of a /symbolicate answer, written straight as
 * JSON text (jsonout.h): where an address falls, the caller-address rule
 * (fact sheet §1.7), the lookup, inline expansion innermost first, and
 * Symbolicator's frame fields (§1.6).
 */
#include "symsrvd_config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "demangle/demangle.h"
#include "fileio.h"
#include "jsonout.h"
#include "stabcache.h"
#include "strmemo.h"
#include "symbolicate_int.h"
#include "table/symtable.h"
#include "xalloc.h"

#define SYM_MAX_INLINE 64
#define MEMO_MAX 4096 /* texts remembered per job, at most */
#define MEMO_MIN 64

/* Which text of a name: as it is, or demangled as language
 * TEXT_DEMANGLED + lang. */
enum { TEXT_RAW = 0, TEXT_DEMANGLED = 1 };

/* Strings as JSON text, by the address of the string and the kind: only
 * for strings that stay put for the whole job (the tables' and the
 * request's).  A stack repeats its functions; in front of the tables'
 * own memos (struct stab's texts), which make later requests cheap. */
struct text_slot {
    const char *s;
    unsigned kind;
    const char *json; /* quoted and escaped */
    size_t len;
    bool owned; /* else the table's memo holds it */
};

struct frames_ctx {
    const struct symreq *r;
    struct module *mods;
    size_t nmods;
    struct text_slot *texts; /* made at the first use: a warm request's
                              * names come from its tables' memos */
    size_t memo_mask;        /* texts' size - 1 */
    struct text_slot package; /* the last module's code_file */
    /* per thread */
    bool any_adjust_field, has_ip;
    uint64_t ip;
};

/* "0x" and 1 to 16 hex digits, the form nearly every address comes in,
 * without strtoull()'s locale and base handling; false for anything
 * else, which hexvalue_text() leaves to strtoull(). */
static bool plain_hex(const char *s, size_t len, uint64_t *out)
{
    /* a digit's value + 1, 0 for other bytes */
    static const unsigned char digit[256] = {
        ['0'] = 1,   ['1'] = 2,   ['2'] = 3,   ['3'] = 4,   ['4'] = 5,
        ['5'] = 6,   ['6'] = 7,   ['7'] = 8,   ['8'] = 9,   ['9'] = 10,
        ['a'] = 11,  ['b'] = 12,  ['c'] = 13,  ['d'] = 14,  ['e'] = 15,
        ['f'] = 16,  ['A'] = 11,  ['B'] = 12,  ['C'] = 13,  ['D'] = 14,
        ['E'] = 15,  ['F'] = 16,
    };
    uint64_t v = 0;

    /* 17 digits or more: strtoull() decides */
    if (len < 3 || len > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return false;
    for (size_t i = 2; i < len; i++) {
        unsigned d = digit[(unsigned char)s[i]];

        if (d == 0)
            return false;
        v = v << 4 | (d - 1);
    }
    *out = v;
    return true;
}

bool hexvalue_text(const char *text, size_t len, uint64_t *out)
{
    char small[64], *copy = small, *s, *end;
    bool hex, ok;

    if (plain_hex(text, len, out))
        return true;
    /* strtoull() wants a C string; long ones are rare */
    if (len >= sizeof(small))
        copy = xmalloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    s = copy;
    hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    if (hex)
        s += 2;
    /* digits only: strtoull() would skip blanks and take a sign, and
     * "0x" alone must not read as 0 */
    ok = isxdigit((unsigned char)*s);
    if (ok) {
        errno = 0;
        *out = strtoull(s, &end, hex ? 16 : 10);
        ok = errno == 0 && *end == '\0';
    }
    if (copy != small)
        free(copy);
    return ok;
}

bool hexvalue(const json_t *v, uint64_t *out)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    return json_is_string(v) &&
           hexvalue_text(json_string_value(v), json_string_length(v), out);
}

/* Keys are literals: written pre-quoted, never scanned for escapes. */
#define KEY(o, first, k) jsonout_keyq((o), (first), "\"" k "\":", \
                                      sizeof("\"" k "\":") - 1)

/* The JSON text of KIND of S. */
static char *make_text(const char *s, unsigned kind, size_t *len)
{
    char *dem = kind >= TEXT_DEMANGLED
                    ? demangle_name(s, (enum symtable_lang)(kind -
                                                            TEXT_DEMANGLED))
                    : NULL;
    struct jsonout t = {0};

    jsonout_str(&t, dem != NULL ? dem : s);
    free(dem);
    return jsonout_take(&t, len);
}

/* KIND of a string S that outlives the job, as JSON text; S is one of
 * table T's strings, or T is NULL. */
static void put_text(struct frames_ctx *fc, struct jsonout *o,
                     const struct stab *t, const char *s, unsigned kind)
{
    struct text_slot *slot;

    if (fc->texts == NULL)
        fc->texts = xcalloc(fc->memo_mask + 1, sizeof(*fc->texts));
    slot = &fc->texts[(((uintptr_t)s >> 3) + kind) & fc->memo_mask];
    if (slot->s != s || slot->kind != kind) {
        size_t len = 0;
        const char *json =
            t != NULL ? strmemo_get(t->texts, (uintptr_t)s, kind, &len) : NULL;
        char *made;

        if (slot->owned)
            free((char *)slot->json);
        slot->owned = false;
        if (json == NULL) {
            made = make_text(s, kind, &len);
            json = t != NULL
                       ? strmemo_put(t->texts, (uintptr_t)s, kind, made, len)
                       : NULL;
            if (json == NULL) { /* no table, or its memo is full */
                json = made;
                slot->owned = true;
            }
        }
        slot->s = s;
        slot->kind = kind;
        slot->json = json;
        slot->len = len;
    }
    jsonout_raw(o, slot->json, slot->len);
}

/* A module's code_file S as JSON text: the same for most frames. */
static void put_package(struct frames_ctx *fc, struct jsonout *o,
                        const char *s)
{
    struct text_slot *p = &fc->package;

    if (p->s != s) {
        free((char *)p->json);
        p->json = make_text(s, TEXT_RAW, &p->len);
        p->s = s;
    }
    jsonout_raw(o, p->json, p->len);
}

static struct module *module_at(struct module *m, size_t n, uint64_t addr)
{
    struct module *best = NULL;

    for (size_t i = 0; i < n; i++)
        if (addr >= m[i].addr &&
            (m[i].size == UINT64_MAX || addr - m[i].addr < m[i].size) &&
            (best == NULL || m[i].addr > best->addr))
            best = &m[i];
    return best;
}

static struct module *module_of(struct module *mods, size_t nmods,
                                const struct frame_in *fi, uint64_t *addr)
{
    *addr = fi->addr;
    if (fi->rel) {
        if (fi->rel_index >= nmods)
            return NULL;
        *addr += mods[fi->rel_index].addr;
        return &mods[fi->rel_index];
    }
    return module_at(mods, nmods, *addr);
}

struct module *frame_module(struct module *mods, size_t nmods,
                            const struct frame_in *fi, uint64_t *addr)
{
    return module_of(mods, nmods, fi, addr);
}

/* Step back from a return address into the call (symbolic's
 * InstructionInfo): arm64 4 (aligned), arm 2, x86 and others 1. */
static uint64_t caller_addr(const struct module *m, uint64_t addr)
{
    const char *arch = m->stab ? m->stab->id.arch : "";

    if (arch[0] != 'a') /* x86 and most others: no string compared per frame */
        return addr - 1;
    if (strcmp(arch, "arm64") == 0)
        return (addr & ~(uint64_t)3) - 4;
    if (strcmp(arch, "arm") == 0)
        return (addr & ~(uint64_t)1) - 2;
    return addr - 1;
}

static bool thread_ip(const json_t *thread, uint64_t *ip)
{
    static const char *const names[] = {"rip", "eip", "pc"};
    const json_t *regs = json_object_get(thread, "registers");

    for (size_t i = 0; i < 3; i++)
        if (hexvalue(json_object_get(regs, names[i]), ip))
            return true;
    return false;
}

/* Should frame I at ADDR be looked up at its caller address?  Not the
 * crashing frame, unless a SIGILL/SIGBUS/SIGSEGV happened somewhere else
 * than the IP; a frame's adjust_instruction_addr decides for it, and its
 * mere presence on any frame makes "yes" the thread's default. */
static bool wants_adjust(const struct frames_ctx *fc,
                         const struct frame_in *fi, size_t i, uint64_t addr)
{
    const struct jtext *force = &fi->adjust;
    const struct symreq *r = fc->r;
    bool sig;

    if (force->len == 4 && memcmp(force->p, "true", 4) == 0)
        return true;
    if (force->len == 5 && memcmp(force->p, "false", 5) == 0)
        return false;
    if (fc->any_adjust_field || i > 0)
        return true;
    sig = r->has_signal &&
          (r->signal == 4 || r->signal == 10 || r->signal == 11);
    return sig && fc->has_ip && fc->ip != addr;
}

/* "KEY":V for a value V the request had (none when its text is NULL). */
#define PASS(o, first, k, v)                                                \
    do {                                                                    \
        if ((v).p != NULL) {                                                \
            KEY(o, first, k);                                               \
            jsonout_raw(o, (v).p, (v).len);                                 \
        }                                                                   \
    } while (0)

static void frame_head(struct jsonout *o, int *first, const char *status,
                       size_t index)
{
    jsonout_raw(o, "{", 1);
    KEY(o, first, "status");
    jsonout_str(o, status);
    KEY(o, first, "original_index");
    jsonout_uint(o, index);
}

/* A frame we could not symbolicate: what the client sent, normalised. */
static void frame_failed(struct frames_ctx *fc, struct jsonout *o,
                         const char *status, size_t index,
                         const struct frame_in *fi, uint64_t addr,
                         const struct module *m)
{
    int first = 1;

    frame_head(o, &first, status, index);
    if (m == NULL || m->addr == 0)
        PASS(o, &first, "addr_mode", fi->addr_mode);
    KEY(o, &first, "instruction_addr");
    jsonout_hex(o, addr);
    if (m != NULL && m->ids.code_file != NULL && !fi->has_package) {
        KEY(o, &first, "package");
        jsonout_str(o, m->ids.code_file);
    }
    for (size_t i = 0; i < fi->nmembers; i++) {
        const struct frame_member *mb = &fc->r->members[fi->member0 + i];

        jsonout_raw(o, ",", 1); /* never first: the head came before */
        jsonout_raw(o, mb->key.p, mb->key.len);
        jsonout_raw(o, ":", 1);
        jsonout_raw(o, mb->val.p, mb->val.len);
    }
    jsonout_raw(o, "}", 1);
}

/* The fields of frame F of table T from "lang" to "symbol" into O, and
 * (from *MID on) those from "function" to "lineno": what depends on the
 * table's address alone (and demangle). */
static void frame_names(struct frames_ctx *fc, struct jsonout *o,
                        const struct stab *t, const struct symtable_frame *f,
                        size_t *mid)
{
    enum symtable_lang lang = f->lang != SYMTABLE_LANG_UNKNOWN
                                  ? f->lang
                                  : demangle_guess_lang(f->function);
    const char *lname = symtable_lang_name(lang);
    int first = 0;

    if (lname != NULL) {
        KEY(o, &first, "lang");
        jsonout_str(o, lname);
    }
    KEY(o, &first, "symbol");
    put_text(fc, o, t, f->function, TEXT_RAW);
    *mid = o->len;
    KEY(o, &first, "function");
    put_text(fc, o, t, f->function,
             fc->r->demangle ? TEXT_DEMANGLED + (unsigned)lang : TEXT_RAW);
    if (f->file != NULL && *f->file != '\0') {
        KEY(o, &first, "filename");
        put_text(fc, o, t, path_base(f->file), TEXT_RAW);
        KEY(o, &first, "abs_path");
        put_text(fc, o, t, f->file, TEXT_RAW);
    }
    KEY(o, &first, "lineno");
    jsonout_uint(o, f->line);
}

/* The frames a lookup gives, as kept in a table's lookups memo: N frames
 * (innermost first), the outermost one's symbol address, and the text of
 * frame_names() of frame I at [cut[2I], cut[2I + 1]) and
 * [cut[2I + 1], cut[2I + 2]) of the text after the cuts. */
struct lookup_text {
    uint64_t sym_rva;
    uint32_t n;
    uint32_t cut[];
};

static const char *lookup_chars(const struct lookup_text *lt)
{
    return (const char *)&lt->cut[2 * lt->n + 1];
}

/* The lookup of RVA in T, made into a new struct lookup_text (*SIZE
 * bytes). */
static struct lookup_text *lookup_make(struct frames_ctx *fc,
                                       const struct stab *t, uint64_t rva,
                                       size_t *size)
{
    struct symtable_frame f[SYM_MAX_INLINE];
    size_t n = symtable_lookup(t->t, rva, f, SYM_MAX_INLINE, NULL), mid;
    size_t head = offsetof(struct lookup_text, cut) +
                  (2 * n + 1) * sizeof(uint32_t);
    struct jsonout text = {0};
    uint32_t cut[2 * SYM_MAX_INLINE + 1];
    struct lookup_text *lt;

    for (size_t i = 0; i < n; i++) {
        cut[2 * i] = (uint32_t)text.len;
        frame_names(fc, &text, t, &f[i], &mid);
        cut[2 * i + 1] = (uint32_t)mid;
    }
    cut[2 * n] = (uint32_t)text.len;
    lt = xmalloc(head + text.len);
    lt->sym_rva = n > 0 ? f[n - 1].sym_rva : 0;
    lt->n = (uint32_t)n;
    memcpy(lt->cut, cut, (2 * n + 1) * sizeof(uint32_t));
    if (text.len > 0)
        memcpy((char *)lt + head, text.p, text.len);
    free(text.p);
    *size = head + text.len;
    return lt;
}

/* The frames of RVA in T: remembered, or made now and remembered.  *OWNED
 * when the memo is full and the caller frees it. */
static const struct lookup_text *lookup_text(struct frames_ctx *fc,
                                             const struct stab *t,
                                             uint64_t rva, bool *owned)
{
    unsigned kind = fc->r->demangle;
    size_t len;
    const struct lookup_text *lt =
        (const void *)strmemo_get(t->lookups, (uintptr_t)rva + 1, kind, &len);
    struct lookup_text *made;

    *owned = false;
    if (lt != NULL)
        return lt;
    made = lookup_make(fc, t, rva, &len);
    lt = (const void *)strmemo_put(t->lookups, (uintptr_t)rva + 1, kind,
                                   (char *)made, len);
    if (lt == NULL) {
        *owned = true;
        lt = made;
    }
    return lt;
}

/* Frame I of LT, looked up at LOOKUP in M, for request frame FI. */
static void frame_ok(struct frames_ctx *fc, struct jsonout *o, size_t index,
                     const struct frame_in *fi, const struct module *m,
                     uint64_t lookup, const struct lookup_text *lt, size_t i)
{
    static const char head[] =
        "{\"status\":\"symbolicated\",\"original_index\":";
    const char *text = lookup_chars(lt);
    const uint32_t *cut = &lt->cut[2 * i];
    int first = 0;

    /* frame_head() of a literal status, in one piece */
    jsonout_raw(o, head, sizeof(head) - 1);
    jsonout_uint(o, index);
    PASS(o, &first, "platform", fi->platform);
    /* without an image address (WASM) addresses stay module-relative */
    if (m->addr == 0)
        PASS(o, &first, "addr_mode", fi->addr_mode);
    KEY(o, &first, "instruction_addr");
    jsonout_hex(o, lookup);
    PASS(o, &first, "adjust_instruction_addr", fi->adjust);
    if (m->ids.code_file != NULL) {
        KEY(o, &first, "package");
        put_package(fc, o, m->ids.code_file);
    }
    jsonout_raw(o, text + cut[0], cut[1] - cut[0]);
    if (i + 1 == lt->n) {
        KEY(o, &first, "sym_addr");
        jsonout_hex(o, m->addr + lt->sym_rva);
    }
    jsonout_raw(o, text + cut[1], cut[2] - cut[1]);
    PASS(o, &first, "in_app", fi->in_app);
    PASS(o, &first, "trust", fi->trust);
    jsonout_raw(o, "}", 1);
}

/* Where output frames go: straight into the answer, comma-separated, or
 * (to be reversed for caller_first) into a buffer, with where each one
 * starts in V. */
struct sink {
    struct jsonout *o;
    bool marked;
    size_t *v, n, cap;
};

static void begin_frame(struct sink *k)
{
    if (!k->marked) {
        if (k->n++ > 0)
            jsonout_raw(k->o, ",", 1);
        return;
    }
    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 64;
        k->v = xreallocarray(k->v, k->cap, sizeof(*k->v));
    }
    k->v[k->n++] = k->o->len;
}

static void symbolicate_frame(struct frames_ctx *fc, struct sink *k,
                              size_t index, const struct frame_in *in)
{
    struct jsonout *o = k->o;
    uint64_t addr, lookup;
    struct module *m = module_of(fc->mods, fc->nmods, in, &addr);
    const struct lookup_text *lt = NULL;
    const char *fail = NULL;
    bool owned = false;

    if (m == NULL)
        fail = "unknown_image";
    else if (m->stab == NULL)
        fail = strcmp(m->status, "malformed") == 0 ? "malformed" : "missing";
    lookup = addr;
    if (fail == NULL && m->addr != 0 && wants_adjust(fc, in, index, addr))
        lookup = caller_addr(m, addr);
    if (fail == NULL && lookup >= m->addr)
        lt = lookup_text(fc, m->stab, lookup - m->addr, &owned);
    if (fail == NULL && (lt == NULL || lt->n == 0))
        fail = "missing_symbol";
    if (fail != NULL) {
        /* scan frames that name nothing are dropped */
        if (!(in->scan && (strcmp(fail, "missing_symbol") == 0 ||
                              strcmp(fail, "unknown_image") == 0))) {
            begin_frame(k);
            frame_failed(fc, o, fail, index, in, addr, m);
        }
    } else {
        for (size_t i = 0; i < lt->n; i++) {
            begin_frame(k);
            frame_ok(fc, o, index, in, m, lookup, lt, i);
        }
    }
    if (owned)
        free((void *)lt);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Registers as "0x..." strings in key order (Symbolicator's BTreeMap). */
static void registers(struct jsonout *o, int *first, const json_t *regs)
{
    size_t n = json_object_size(regs), i = 0;
    const char **keys = xcalloc(n + 1, sizeof(*keys));
    const char *k;
    json_t *v;
    uint64_t x;
    int rfirst = 1;

    json_object_foreach((json_t *)regs, k, v)
        keys[i++] = k;
    qsort(keys, n, sizeof(*keys), cmp_str);
    jsonout_key(o, first, "registers");
    jsonout_raw(o, "{", 1);
    for (i = 0; i < n; i++) {
        if (!hexvalue(json_object_get(regs, keys[i]), &x))
            continue;
        jsonout_key(o, &rfirst, keys[i]);
        jsonout_hex(o, x);
    }
    jsonout_raw(o, "}", 1);
    free(keys);
}

/* The frames of a caller_first thread, reversed (inline expansions stay
 * innermost first, so the reversal is by output frame). */
static void frames_reversed(struct frames_ctx *fc, struct jsonout *out,
                            const struct frame_in *fi, size_t n)
{
    struct jsonout buf = {0};
    struct sink k = {.o = &buf, .marked = true};
    size_t i;

    for (i = 0; i < n; i++)
        symbolicate_frame(fc, &k, i, &fi[n - 1 - i]);
    for (i = 0; i < k.n; i++) {
        size_t at = k.n - 1 - i;
        size_t end = at + 1 < k.n ? k.v[at + 1] : buf.len;

        if (i > 0)
            jsonout_raw(out, ",", 1);
        jsonout_raw(out, buf.p + k.v[at], end - k.v[at]);
    }
    free(k.v);
    free(buf.p);
}

/* THREAD, whose N frames are FI (read by symreq_parse()). */
static void thread_json(struct frames_ctx *fc, struct jsonout *out,
                        const json_t *thread, const struct frame_in *fi,
                        size_t n)
{
    static const char *const keep[] = {"thread_id", "thread_name",
                                       "is_requesting"};
    struct sink k = {.o = out};
    int first = 1;
    size_t i;

    fc->has_ip = thread_ip(thread, &fc->ip);
    fc->any_adjust_field = false;
    for (i = 0; i < n; i++)
        if (fi[i].adjust.p != NULL)
            fc->any_adjust_field = true;
    jsonout_raw(out, "{", 1);
    for (i = 0; i < 3; i++) {
        const json_t *v = json_object_get(thread, keep[i]);

        if (v != NULL) {
            jsonout_key(out, &first, keep[i]);
            jsonout_json(out, v);
        }
    }
    if (json_object_size(json_object_get(thread, "registers")) > 0)
        registers(out, &first, json_object_get(thread, "registers"));
    KEY(out, &first, "frames");
    jsonout_raw(out, "[", 1);
    if (fc->r->caller_first)
        frames_reversed(fc, out, fi, n);
    else
        for (i = 0; i < n; i++)
            symbolicate_frame(fc, &k, i, &fi[i]);
    jsonout_raw(out, "]}", 2);
}

void frames_write(struct jsonout *out, const struct symreq *r,
                  struct module *mods, size_t nmods)
{
    struct frames_ctx fc = {.r = r, .mods = mods, .nmods = nmods};
    size_t i, nframes = r->nframes, size = MEMO_MIN, done = 0;
    const json_t *st;

    /* a few hundred bytes per frame: grow once, not by doubling */
    jsonout_reserve(out, nframes * 512);
    /* small requests must not pay for clearing big tables */
    while (size < MEMO_MAX && size < 4 * nframes)
        size *= 2;
    fc.memo_mask = size - 1;
    jsonout_raw(out, "[", 1);
    json_array_foreach(r->stacks, i, st) {
        size_t n = r->stack_nframes[i];

        if (i > 0)
            jsonout_raw(out, ",", 1);
        /* no frames at all: r->frames is NULL */
        thread_json(&fc, out, st, n > 0 ? &r->frames[done] : NULL, n);
        done += n;
    }
    jsonout_raw(out, "]", 1);
    for (i = 0; fc.texts != NULL && i < size; i++)
        if (fc.texts[i].owned)
            free((char *)fc.texts[i].json);
    free(fc.texts);
    free((char *)fc.package.json);
}
