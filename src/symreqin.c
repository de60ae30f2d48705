/* SPDX-License-Identifier: MIT */
/*
 * symreqin: the frames of a POST /symbolicate body, into struct frame_in.
 *
 * A body is mostly frames, and a frame is read once: as jansson values,
 * each frame cost an object, a string per member and a hash table, which
 * were then read back (issue 9).  symreqin_direct() reads the stacks'
 * frames straight from the text with jsonin's scanner: a member's value
 * is kept as the text the answer writes back, a span of the body when it
 * is already written that way (plain strings, literals, small
 * non-negative integers), else the text jsonout_json() makes of it; the
 * rest of the body becomes jansson values as before.
 *
 * It does not judge a body: at anything it does not take (an error, a
 * key with escapes, a frame with many members, both "stacktraces" and
 * "threads", a shape symreq_parse() refuses) it gives up, and the body
 * goes through jsonin_parse() and symreqin_frame(), which give the
 * errors.  What it does take comes out as theirs would, frame by frame;
 * tests/fuzz/fuzz_symreq.c compares the two.
 */
#include "symsrvd_config.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonarena.h"
#include "jsonin.h"
#include "jsonout.h"
#include "symbolicate_int.h"
#include "xalloc.h"

/* Containers around a root member's value, a stack's and a frame's. */
#define DEPTH_ROOT 1
#define DEPTH_STACK 3
#define DEPTH_FRAME 5
/* Members of a frame compared pairwise for duplicates; a frame with more
 * takes jansson's hash table. */
#define FRAME_KEYS_MAX 32

/* --- frames, from either path ------------------------------------------- */

/* The text of O (then emptied) in R's arena. */
static struct jtext keep_text(struct symreq *r, struct jsonout *o)
{
    size_t len = o->len;
    char *p = jsonarena_alloc(r->arena, len + 1);

    memcpy(p, o->p, len);
    p[len] = '\0';
    o->len = 0;
    return (struct jtext){p, len};
}

/* A new frame at the end of R's frames. */
static struct frame_in *frame_new(struct symreq *r)
{
    struct frame_in *fi;

    /* cleared as the array grows, at once: a frame at a time took a
     * string instruction's start-up each */
    if (r->nframes == r->framecap) {
        size_t was = r->framecap;

        r->framecap = was ? 2 * was : 64;
        r->frames = xreallocarray(r->frames, r->framecap, sizeof(*r->frames));
        memset(&r->frames[was], 0, (r->framecap - was) * sizeof(*r->frames));
    }
    fi = &r->frames[r->nframes++];
    fi->member0 = r->nmembers;
    return fi;
}

/* Is K[0..KLEN) the string literal LIT?  A macro: lengths are constants. */
#define KEY_IS(k, klen, lit)                                                 \
    ((klen) == sizeof(lit) - 1 && memcmp((k), (lit), sizeof(lit) - 1) == 0)

/* addr_mode's string S[0..LEN): "rel:" and a module index, as strtoul()
 * reads one. */
static void addr_mode(struct frame_in *fi, const char *s, size_t len)
{
    char *copy, *end;
    unsigned long idx;

    if (len < 4 || memcmp(s, "rel:", 4) != 0)
        return;
    copy = xstrndup(s, len);
    idx = strtoul(copy + 4, &end, 10);
    fi->rel = true;
    fi->rel_index = *end == '\0' ? (size_t)idx : SIZE_MAX;
    free(copy);
}

/* The member K[0..KLEN) of frame FI (KEYTEXT as written back), whose
 * value is VAL, a string S[0..SLEN) when S is not NULL. */
static void frame_field(struct symreq *r, struct frame_in *fi, const char *k,
                        size_t klen, struct jtext keytext, struct jtext val,
                        const char *s, size_t slen)
{
    /* the caller reads instruction_addr; it and these are not repeated */
    if (KEY_IS(k, klen, "instruction_addr") || KEY_IS(k, klen, "status") ||
        KEY_IS(k, klen, "original_index"))
        return;
    if (KEY_IS(k, klen, "addr_mode")) {
        fi->addr_mode = val;
        if (s != NULL)
            addr_mode(fi, s, slen);
        return;
    }
    if (KEY_IS(k, klen, "adjust_instruction_addr")) {
        fi->adjust = val;
    } else if (KEY_IS(k, klen, "platform")) {
        fi->platform = val;
    } else if (KEY_IS(k, klen, "in_app")) {
        fi->in_app = val;
    } else if (KEY_IS(k, klen, "trust")) {
        fi->trust = val;
        fi->scan = s != NULL && (KEY_IS(s, slen, "scan") ||
                                 KEY_IS(s, slen, "cfiscan"));
    } else if (KEY_IS(k, klen, "package")) {
        fi->has_package = true;
    }
    if (r->nmembers == r->memcap) {
        r->memcap = r->memcap ? 2 * r->memcap : 16;
        r->members = xreallocarray(r->members, r->memcap, sizeof(*r->members));
    }
    r->members[r->nmembers++] = (struct frame_member){keytext, val};
    fi->nmembers++;
}

bool symreqin_frame(struct symreq *r, const json_t *in)
{
    struct frame_in *fi = frame_new(r);
    struct jsonout o = {0};
    bool has_addr = false;
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)in, k, v) {
        struct jtext keytext, val;

        jsonout_str(&o, k);
        keytext = keep_text(r, &o);
        jsonout_json(&o, v);
        val = keep_text(r, &o);
        if (strcmp(k, "instruction_addr") == 0)
            has_addr = hexvalue(v, &fi->addr);
        frame_field(r, fi, k, strlen(k), keytext, val, json_string_value(v),
                    json_string_length(v));
    }
    free(o.p);
    return has_addr;
}

/* --- straight from the text --------------------------------------------- */

struct direct {
    struct jsonin_scan s;
    struct symreq *r;
    struct jsonout scratch; /* a value's text on its way to the arena */
};

/* A frame member's value as read: its text, its string S[0..SLEN) when it
 * is one, the jansson value V when it was made one, INT when it is a
 * small non-negative integer, written as TEXT. */
struct fval {
    struct jtext text;
    const char *s;
    size_t slen;
    json_t *v;
    bool is_int;
};

static bool in_text(const struct direct *d, const char *p)
{
    return p >= d->s.start && p < d->s.end;
}

/* A member's key, plain ASCII without escapes (*K, in the text), and its
 * ':'. */
static bool key(struct direct *d, const char **k, size_t *klen)
{
    static const char addr[] = "\"instruction_addr\"";
    const size_t n = sizeof(addr) - 1;

    /* the key of nearly every frame, as the scanner would take it */
    jsonin_scan_blanks(&d->s);
    if ((size_t)(d->s.end - d->s.p) > n && memcmp(d->s.p, addr, n) == 0) {
        *k = d->s.p + 1;
        *klen = n - 2;
        d->s.p += n;
        return jsonin_scan_take(&d->s, ':');
    }
    return jsonin_scan_string(&d->s, k, klen) && in_text(d, *k) &&
           jsonin_scan_take(&d->s, ':');
}

/* "K": and a value of any kind, into the object O. */
static bool value_member(struct direct *d, json_t *o, const char *k,
                         size_t klen, unsigned depth)
{
    json_t *v;

    if (json_object_getn(o, k, klen) != NULL)
        return false;
    v = jsonin_scan_value(&d->s, depth);
    if (v != NULL)
        json_object_setn_new_nocheck(o, k, klen, v);
    return v != NULL;
}

/* A literal or a small integer at the cursor, already written the way
 * jsonout_json() writes it: into *OUT, or false. */
static bool written_as_is(struct direct *d, struct fval *out)
{
    static const char *const lits[] = {"true", "false", "null"};
    const char *from = d->s.p, *q = from;
    size_t n;

    for (size_t i = 0; i < sizeof(lits) / sizeof(*lits); i++) {
        n = strlen(lits[i]);
        if ((size_t)(d->s.end - from) >= n && memcmp(from, lits[i], n) == 0) {
            d->s.p += n;
            out->text = (struct jtext){from, n};
            return true;
        }
    }
    while (q < d->s.end && *q >= '0' && *q <= '9')
        q++;
    n = (size_t)(q - from);
    /* no leading zero, no fraction or exponent, below 10^18 */
    if (n == 0 || n > 18 || (n > 1 && *from == '0') ||
        (q < d->s.end && (*q == '.' || *q == 'e' || *q == 'E')))
        return false;
    d->s.p = q;
    out->text = (struct jtext){from, n};
    out->is_int = true;
    return true;
}

/* A frame member's value. */
static bool frame_value(struct direct *d, struct fval *out)
{
    const char *from, *str;
    size_t len;
    int c = jsonin_scan_peek(&d->s);

    memset(out, 0, sizeof(*out));
    from = d->s.p;
    if (c == '"') {
        if (!jsonin_scan_string(&d->s, &str, &len))
            return false;
        if (in_text(d, str)) {
            out->text = (struct jtext){from, (size_t)(d->s.p - from)};
            out->s = str;
            out->slen = len;
            return true;
        }
        d->s.p = from; /* escapes or UTF-8: decoded, then written back */
    } else if (c != '-' && written_as_is(d, out)) {
        return true;
    }
    out->v = jsonin_scan_value(&d->s, DEPTH_FRAME);
    if (out->v == NULL)
        return false;
    /* jsonout_json() may take json_dumps() text, which it free()s: made
     * outside the arena */
    jsonarena_end();
    jsonout_json(&d->scratch, out->v);
    jsonarena_begin(d->r->arena);
    out->text = keep_text(d->r, &d->scratch);
    out->s = json_string_value(out->v);
    out->slen = json_string_length(out->v);
    return true;
}

/* An instruction_addr V as a HexValue. */
static bool frame_addr(const struct fval *v, uint64_t *addr)
{
    if (v->s != NULL)
        return hexvalue_text(v->s, v->slen, addr);
    if (v->v != NULL)
        return hexvalue(v->v, addr);
    return v->is_int && hexvalue_text(v->text.p, v->text.len, addr);
}

/* One frame object, with an instruction_addr. */
static bool frame(struct direct *d)
{
    struct frame_in *fi = frame_new(d->r);
    struct jtext keys[FRAME_KEYS_MAX];
    size_t nkeys = 0, klen;
    bool has_addr = false;
    const char *k;
    struct fval v;

    if (!jsonin_scan_take(&d->s, '{') || jsonin_scan_take(&d->s, '}'))
        return false;
    do {
        if (nkeys == FRAME_KEYS_MAX || !key(d, &k, &klen))
            return false;
        for (size_t i = 0; i < nkeys; i++)
            if (keys[i].len == klen && memcmp(keys[i].p, k, klen) == 0)
                return false;
        keys[nkeys++] = (struct jtext){k, klen};
        if (!frame_value(d, &v))
            return false;
        if (KEY_IS(k, klen, "instruction_addr"))
            has_addr = frame_addr(&v, &fi->addr);
        /* a plain key is written back as it came, quotes and all */
        frame_field(d->r, fi, k, klen, (struct jtext){k - 1, klen + 2},
                    v.text, v.s, v.slen);
    } while (jsonin_scan_take(&d->s, ','));
    return jsonin_scan_take(&d->s, '}') && has_addr;
}

/* '[' ITEMs separated by ',' ']'. */
static bool array(struct direct *d, bool (*item)(struct direct *, void *),
                  void *arg)
{
    if (!jsonin_scan_take(&d->s, '['))
        return false;
    if (jsonin_scan_take(&d->s, ']'))
        return true;
    do {
        if (!item(d, arg))
            return false;
    } while (jsonin_scan_take(&d->s, ','));
    return jsonin_scan_take(&d->s, ']');
}

/* '{' MEMBERs (after their key) separated by ',' '}'. */
static bool object(struct direct *d,
                   bool (*member)(struct direct *, void *, const char *,
                                  size_t),
                   void *arg)
{
    const char *k;
    size_t klen;

    if (!jsonin_scan_take(&d->s, '{'))
        return false;
    if (jsonin_scan_take(&d->s, '}'))
        return true;
    do {
        if (!key(d, &k, &klen) || !member(d, arg, k, klen))
            return false;
    } while (jsonin_scan_take(&d->s, ','));
    return jsonin_scan_take(&d->s, '}');
}

static bool frame_item(struct direct *d, void *arg)
{
    (void)arg;
    return frame(d);
}

struct stack {
    json_t *obj; /* its members but frames */
    bool has_frames;
};

static bool stack_member(struct direct *d, void *arg, const char *k,
                         size_t klen)
{
    struct stack *st = arg;

    if (!KEY_IS(k, klen, "frames"))
        return value_member(d, st->obj, k, klen, DEPTH_STACK);
    if (st->has_frames)
        return false;
    st->has_frames = true;
    return array(d, frame_item, NULL);
}

static bool stack_item(struct direct *d, void *arg)
{
    struct symreq *r = d->r;
    struct stack st = {.obj = json_object()};
    size_t before = r->nframes, i;

    json_array_append_new(arg, st.obj);
    if (!object(d, stack_member, &st) || !st.has_frames)
        return false;
    i = json_array_size(arg) - 1;
    r->stack_nframes = xreallocarray(r->stack_nframes, i + 1,
                                     sizeof(*r->stack_nframes));
    r->stack_nframes[i] = r->nframes - before;
    return true;
}

static bool root_member(struct direct *d, void *arg, const char *k,
                        size_t klen)
{
    json_t *root = arg, *stacks;

    if (!KEY_IS(k, klen, "stacktraces") && !KEY_IS(k, klen, "threads"))
        return value_member(d, root, k, klen, DEPTH_ROOT);
    /* a repeated key, or both kinds of stack: jansson's path decides */
    if (json_object_get(root, "stacktraces") != NULL ||
        json_object_get(root, "threads") != NULL)
        return false;
    stacks = json_array();
    json_object_setn_new_nocheck(root, k, klen, stacks);
    return array(d, stack_item, stacks);
}

bool symreqin_direct(struct symreq *r, const char *body, size_t len)
{
    /* the answer's texts point into the body, which the request outlives */
    char *text = jsonarena_alloc(r->arena, len + 1);
    struct direct d = {.r = r};
    json_t *root;
    bool ok;

    memcpy(text, body, len);
    text[len] = '\0';
    jsonin_scan_init(&d.s, text, len);
    jsonarena_begin(r->arena);
    root = json_object();
    ok = object(&d, root_member, root) && jsonin_scan_peek(&d.s) == -1;
    jsonarena_end();
    jsonin_scan_free(&d.s);
    free(d.scratch.p);
    if (!ok)
        return false;
    r->root = root;
    return true;
}
