/* SPDX-License-Identifier: MIT */
/*
 * symbolicate: request parsing, module resolution and the answer's shape.
 * Field names, statuses and the caller-address rules follow the fact sheet
 * (../shared/reference/symbolicator-behaviour.md, §1.3, §1.6, §1.7).
 */
#include "symsrvd_config.h"

#include "symbolicate.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "demangle/demangle.h"
#include "fileio.h"
#include "jsonarena.h"
#include "jsonin.h"
#include "jsonout.h"
#include "layout.h"
#include "stabcache.h"
#include "symbolicate_int.h"
#include "symsource.h"
#include "table/symtable.h"
#include "timeutil.h"
#include "xalloc.h"

#define SYM_TABLES_IN_MEMORY 4096


int symbolicator_new(const struct config *cfg,
                     const struct symsource_pool *pool,
                     struct symbolicator **out)
{
    struct symbolicator *s = xcalloc(1, sizeof(*s));

    s->cfg = cfg;
    if (pool != NULL) {
        s->pool = *pool;
        s->has_pool = true;
    }
    s->tables = stabcache_new(cfg->cache_dir, SYM_TABLES_IN_MEMORY,
                              cfg->memo_size);
    *out = s;
    return 0;
}

void symbolicator_free(struct symbolicator *s)
{
    if (s == NULL)
        return;
    stabcache_free(s->tables);
    free(s);
}

/* --- parsing ------------------------------------------------------------- */

/* Check R's stacks and read their frames into r->frames. */
static int read_frames(struct symreq *r, char *err, size_t errlen)
{
    size_t i, j;
    json_t *st, *f;

    if (!json_is_array(r->stacks)) {
        snprintf(err, errlen, "stacktraces: expected an array");
        return -EPROTO;
    }
    json_array_foreach(r->stacks, i, st) {
        const json_t *frames = json_object_get(st, "frames");

        if (!json_is_object(st) || !json_is_array(frames)) {
            snprintf(err, errlen, "stacktraces[%zu]: missing field `frames`", i);
            return -EPROTO;
        }
        r->stack_nframes = xreallocarray(r->stack_nframes, i + 1,
                                         sizeof(*r->stack_nframes));
        r->stack_nframes[i] = json_array_size(frames);
        json_array_foreach(frames, j, f) {
            if (!symreqin_frame(r, f)) {
                snprintf(err, errlen,
                        "stacktraces[%zu].frames[%zu]: instruction_addr: "
                        "expected a hex string, decimal string or number",
                        i, j);
                return -EPROTO;
            }
        }
    }
    return 0;
}

static int check_modules(const json_t *modules, char *err, size_t errlen)
{
    size_t i;
    json_t *m;
    uint64_t a;

    if (modules != NULL && !json_is_array(modules)) {
        snprintf(err, errlen, "modules: expected an array");
        return -EPROTO;
    }
    json_array_foreach(modules, i, m) {
        const json_t *ia = json_object_get(m, "image_addr");

        if (!json_is_string(json_object_get(m, "type"))) {
            snprintf(err, errlen, "modules[%zu]: missing field `type`", i);
            return -EPROTO;
        }
        if (ia != NULL && !hexvalue(ia, &a)) {
            snprintf(err, errlen, "modules[%zu]: bad image_addr", i);
            return -EPROTO;
        }
    }
    return 0;
}

static void parse_options(struct symreq *r)
{
    const json_t *o = json_object_get(r->root, "options");
    const char *order = json_string_value(json_object_get(o, "frame_order"));
    const json_t *sig = json_object_get(r->root, "signal");

    r->dif_candidates = json_is_true(json_object_get(o, "dif_candidates"));
    r->caller_first = order != NULL && strcmp(order, "caller_first") == 0;
    r->has_signal = json_is_integer(sig);
    r->signal = json_integer_value(sig);
}

/* Forget what a direct read that gave up left in R. */
static void forget_direct(struct symreq *r)
{
    free(r->stack_nframes);
    r->stack_nframes = NULL;
    free(r->frames);
    r->frames = NULL;
    r->nframes = r->framecap = 0;
    free(r->members);
    r->members = NULL;
    r->nmembers = r->memcap = 0;
}

/* R's stacks (a reference): "stacktraces", what deployed clients send, or
 * "threads", the API document's name; none is an empty list. */
static void take_stacks(struct symreq *r)
{
    r->stacks = json_object_get(r->root, "stacktraces");
    if (r->stacks == NULL)
        r->stacks = json_object_get(r->root, "threads");
    if (r->stacks == NULL)
        r->stacks = json_array();
    else
        json_incref(r->stacks);
}

/* BODY's values, its stacks and their frames into R, by jansson values:
 * every body, and every error's reason. */
static int read_generic(struct symreq *r, const char *body, size_t len,
                        char *err, size_t errlen)
{
    char why[256];

    jsonarena_begin(r->arena);
    r->root = jsonin_parse(body, len, why, sizeof(why));
    jsonarena_end();
    if (r->root == NULL || !json_is_object(r->root)) {
        if (r->root == NULL)
            snprintf(err, errlen, "invalid JSON: %s", why);
        else
            snprintf(err, errlen, "invalid JSON: expected an object");
        return -EINVAL;
    }
    take_stacks(r);
    return read_frames(r, err, errlen);
}

int symreq_parse_how(const char *body, size_t len,
                     const struct symreq_params *p, bool direct,
                     struct symreq **out, char *err, size_t errlen)
{
    struct symreq *r = xcalloc(1, sizeof(*r));
    int rc = 0;

    /* read directly, a body takes its copy and a little more; as values,
     * a few times its size */
    r->arena = jsonarena_new(len * 2);
    if (!direct || !symreqin_direct(r, body, len)) {
        forget_direct(r);
        jsonarena_free(r->arena); /* what it took */
        r->arena = jsonarena_new(len * 8);
        rc = read_generic(r, body, len, err, errlen);
    } else {
        take_stacks(r);
    }
    r->modules = json_object_get(r->root, "modules");
    if (rc == 0)
        rc = check_modules(r->modules, err, errlen);
    if (rc == 0)
        rc = symsource_parse(json_object_get(r->root, "sources"), &r->sources,
                             err, errlen);
    if (rc < 0) {
        symreq_free(r);
        return rc;
    }
    r->scope = xstrdup(p->scope && *p->scope ? p->scope : "global");
    r->demangle = p->demangle;
    parse_options(r);
    *out = r;
    return 0;
}

int symreq_parse(const char *body, size_t len, const struct symreq_params *p,
                 struct symreq **out, char *err, size_t errlen)
{
    return symreq_parse_how(body, len, p, true, out, err, errlen);
}

void symreq_free(struct symreq *r)
{
    if (r == NULL)
        return;
    /* references into the arena go back; its values go with it */
    json_decref(r->stacks);
    free(r->stack_nframes);
    free(r->frames);
    free(r->members);
    symsource_list_free(&r->sources);
    jsonarena_free(r->arena);
    free(r->scope);
    free(r);
}

/* --- modules ------------------------------------------------------------- */


void module_init(struct module *m, const json_t *raw, bool candidates)
{
    const char *did = json_string_value(json_object_get(raw, "debug_id"));
    const json_t *size = json_object_get(raw, "image_size");

    memset(m, 0, sizeof(*m));
    m->raw = raw;
    m->ids.obj = layout_parse_obj(json_string_value(json_object_get(raw, "type")));
    if (did && layout_parse_debug_id(did, m->ids.uuid, &m->ids.age) == 0) {
        m->ids.has_debug_id = true;
        layout_format_debug_id(m->ids.uuid, m->ids.age, m->debug_id,
                               sizeof(m->debug_id));
    }
    layout_normalize_code_id(json_string_value(json_object_get(raw, "code_id")),
                             m->ids.code_id, sizeof(m->ids.code_id));
    m->ids.debug_file = json_string_value(json_object_get(raw, "debug_file"));
    m->ids.code_file = json_string_value(json_object_get(raw, "code_file"));
    if (!hexvalue(json_object_get(raw, "image_addr"), &m->addr))
        m->addr = 0;
    m->size = json_is_integer(size) ? (uint64_t)json_integer_value(size) : 0;
    m->status = "unused";
    m->candidates = candidates ? json_array() : NULL;
}

void module_release(struct symbolicator *s, struct module *m)
{
    stabcache_put(s->tables, m->stab);
    m->stab = NULL;
    json_decref(m->candidates);
    m->candidates = NULL;
    for (size_t i = 0; i < m->nfound; i++)
        free(m->found[i].path);
    free(m->found);
    m->found = NULL;
    m->nfound = 0;
    free(m->rvas);
    m->rvas = NULL;
    m->nrvas = m->rvacap = 0;
}

/* Modules without a size reach the next one's start (the last one: the
 * end of the address space), as Symbolicator's module_lookup.rs does. */
static void backfill_sizes(struct module *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t next = UINT64_MAX;

        if (m[i].size != 0)
            continue;
        for (size_t j = 0; j < n; j++)
            if (m[j].addr > m[i].addr && m[j].addr < next)
                next = m[j].addr;
        m[i].size = next == UINT64_MAX ? UINT64_MAX : next - m[i].addr;
    }
}

/* Does the file's identity match the module's?  A debug id matches with
 * an equal UUID and an age at least the requested one (Microsoft serves
 * newer ages); without debug ids, code ids must be equal. */
static bool ident_matches(const struct module *m, const struct objfile_ident *id)
{
    uint8_t uuid[16];
    uint32_t age;
    char cid[80];

    if (m->ids.has_debug_id && id->debug_id[0] != '\0' &&
        layout_parse_debug_id(id->debug_id, uuid, &age) == 0)
        return memcmp(uuid, m->ids.uuid, 16) == 0 && age >= m->ids.age;
    layout_normalize_code_id(id->code_id, cid, sizeof(cid));
    if (m->ids.code_id[0] != '\0' && cid[0] != '\0')
        return strcmp(cid, m->ids.code_id) == 0;
    return true;
}

static void add_candidate(struct module *m, const char *source,
                          const char *location, const char *status,
                          const char *details, const char *debug)
{
    json_t *c, *d;

    if (m->candidates == NULL)
        return; /* not asked for: a warm request need not build them */
    c = json_object();
    d = json_object();
    json_object_set_new(c, "source", json_string(source));
    json_object_set_new(c, "location", json_string(location ? location : ""));
    json_object_set_new(d, "status", json_string(status));
    if (details && *details)
        json_object_set_new(d, "details", json_string(details));
    json_object_set_new(c, "download", d);
    if (debug) {
        json_t *dbg = json_object();

        json_object_set_new(dbg, "status", json_string(debug));
        json_object_set_new(c, "debug", dbg);
    }
    json_array_append_new(m->candidates, c);
}

static void add_found(struct module *m, const char *path, const struct stab *t)
{
    struct symfound *f;

    m->found = xreallocarray(m->found, m->nfound + 1, sizeof(*m->found));
    f = &m->found[m->nfound++];
    f->path = xstrdup(path);
    f->kind = t->id.kind;
    f->quality = t->quality;
}

struct search {
    struct symbolicator *s;
    const struct symsource_ctx *ctx;
    struct module *m;
    bool malformed, failed;
};

/* Which slice of a universal Mach-O file answers for M: its UUID, from
 * the debug id or else the code id (a Mach-O code id is the UUID). */
static const char *slice_wanted(const struct module *m)
{
    return m->debug_id[0] != '\0' ? m->debug_id : m->ids.code_id;
}

/* The table of the file LOCAL (stat() said SB) for the module searched
 * for: *BLOCKED when nowait and it is not in memory.  0 and *T, or
 * -errno. */
static int get_table(struct search *se, const char *local,
                     const struct stat *sb, struct stab **t, bool *blocked,
                     char *err, size_t errlen)
{
    struct module *m = se->m;
    int rc;

    if (!se->ctx->nowait)
        return stabcache_get_for(se->s->tables, local, slice_wanted(m),
                                 m->rvas, m->nrvas, t, err, errlen);
    rc = stabcache_peek(se->s->tables, local, slice_wanted(m), sb, t);
    *blocked = rc == -EWOULDBLOCK;
    return rc;
}

/* Try one file at REL in SRC.  True when the search can stop (a file
 * with debug info was found). */
static bool try_path(struct search *se, const struct symsource *src,
                     const char *rel)
{
    char *local = NULL, *loc = NULL, detail[256], err[256] = "";
    struct stat sb;
    /* the location is for candidates alone */
    enum symsource_status st =
        symsource_get(se->ctx, src, rel, &local, &sb,
                      se->m->candidates != NULL ? &loc : NULL, detail,
                      sizeof(detail));
    struct module *m = se->m;
    struct stab *t = NULL;
    bool done = false, blocked = st == SYMSOURCE_WOULDBLOCK;
    int rc = 0;

    if (st == SYMSOURCE_OK)
        rc = get_table(se, local, &sb, &t, &blocked, err, sizeof(err));
    if (st == SYMSOURCE_NOPERM || st == SYMSOURCE_ERROR)
        se->failed = true;
    if (blocked) {
        m->would_block = true;
        done = true;
    } else if (st != SYMSOURCE_OK) {
        add_candidate(m, src->id, loc, symsource_status_name(st), detail, NULL);
    } else if (rc < 0) {
        se->malformed = true;
        add_candidate(m, src->id, loc, "malformed", err, NULL);
    } else if (!ident_matches(m, &t->id)) {
        add_candidate(m, src->id, loc, "notfound", "identifier mismatch", NULL);
        stabcache_put(se->s->tables, t);
    } else if (m->stab == NULL || t->quality < m->stab->quality) {
        add_found(m, local, t);
        add_candidate(m, src->id, loc, "ok", NULL, "ok");
        stabcache_put(se->s->tables, m->stab);
        m->stab = t;
        done = t->quality == 0;
    } else {
        add_found(m, local, t);
        add_candidate(m, src->id, loc, "ok", NULL, NULL);
        stabcache_put(se->s->tables, t);
    }
    free(local);
    free(loc);
    return done;
}

void module_resolve(struct symbolicator *s,
                    const struct symsource_list *sources,
                    const struct symsource_ctx *ctx, struct module *m)
{
    struct search se = {.s = s, .ctx = ctx, .m = m};
    enum layout_ft fts[LAYOUT_MAX_FILETYPES];
    size_t nft = layout_filetypes(m->ids.obj, fts);
    char paths[LAYOUT_MAX_PATHS][LAYOUT_PATH_MAX];
    bool done = false, any = false;

    for (size_t i = 0; i < sources->n && !done; i++) {
        const struct symsource *src = &sources->v[i];

        for (size_t f = 0; f < nft && !done; f++) {
            size_t np = symsource_paths(ctx, src, &m->ids, fts[f], paths);

            for (size_t k = 0; k < np && !done; k++) {
                /* "_"-compressed (CAB) files are not unpacked yet (a
                 * sentry source's paths are file ids) */
                if (paths[k][strlen(paths[k]) - 1] == '_' &&
                    src->kind != SYMSOURCE_SENTRY)
                    continue;
                any = true;
                done = try_path(&se, src, paths[k]);
            }
        }
        if (!any)
            add_candidate(m, src->id, "No object files listed on this source",
                          "notfound", NULL, NULL);
        any = false;
    }
    if (m->stab != NULL)
        m->status = "found";
    else if (se.malformed)
        m->status = "malformed";
    else if (se.failed)
        m->status = "fetching_failed";
    else
        m->status = "missing";
}

/* --- frames ---------------------------------------------------------------- */

/* What of the request's module the answer repeats, in this order. */
static const char *const module_keep[] = {"type", "code_id", "code_file",
                                          "debug_id", "debug_file",
                                          "debug_checksum"};

/* "KEY":V (escaped key) after a ',' unless *FIRST. */
static void put_member(struct jsonout *o, int *first, const char *key,
                       const json_t *v)
{
    jsonout_key(o, first, key);
    jsonout_json(o, v);
}

static void put_string_member(struct jsonout *o, int *first, const char *key,
                              const char *s)
{
    jsonout_key(o, first, key);
    jsonout_str(o, s);
}

void module_write(struct jsonout *o, bool dif_candidates,
                  const struct module *m)
{
    const struct stab *t = m->stab;
    bool had_debug_id = false, had_code_id = false;
    int first = 1;

    jsonout_raw(o, "{", 1);
    put_string_member(o, &first, "debug_status", m->status);
    jsonout_lit(o, t && t->has_debug_info ? ",\"features\":{\"has_debug_info\":true"
                                          : ",\"features\":{\"has_debug_info\":false");
    jsonout_lit(o, t && t->has_unwind_info ? ",\"has_unwind_info\":true"
                                           : ",\"has_unwind_info\":false");
    jsonout_lit(o, t && t->has_symbols ? ",\"has_symbols\":true"
                                       : ",\"has_symbols\":false");
    jsonout_lit(o, ",\"has_sources\":false}");
    put_string_member(o, &first, "arch",
                      t && t->id.arch[0] ? t->id.arch : "unknown");
    /* the request's members in place; our debug and code ids replace
     * theirs there, or follow when they had none */
    for (size_t i = 0; i < sizeof(module_keep) / sizeof(*module_keep); i++) {
        const char *k = module_keep[i];
        const json_t *v = json_object_get(m->raw, k);

        if (v == NULL)
            continue;
        if (strcmp(k, "debug_id") == 0) {
            had_debug_id = true;
            if (m->debug_id[0] != '\0')
                put_string_member(o, &first, k, m->debug_id);
        } else if (strcmp(k, "code_id") == 0) {
            had_code_id = true;
            if (m->ids.code_id[0] != '\0')
                put_string_member(o, &first, k, m->ids.code_id);
        } else {
            put_member(o, &first, k, v);
        }
    }
    if (!had_debug_id && m->debug_id[0] != '\0')
        put_string_member(o, &first, "debug_id", m->debug_id);
    if (!had_code_id && m->ids.code_id[0] != '\0')
        put_string_member(o, &first, "code_id", m->ids.code_id);
    jsonout_key(o, &first, "image_addr");
    jsonout_hex(o, m->addr);
    if (json_object_get(m->raw, "image_size") != NULL)
        put_member(o, &first, "image_size",
                   json_object_get(m->raw, "image_size"));
    if (dif_candidates && json_array_size(m->candidates) > 0)
        put_member(o, &first, "candidates", m->candidates);
    jsonout_raw(o, "}", 1);
}

json_t *module_json(bool dif_candidates, const struct module *m)
{
    struct jsonout o = {0};
    json_t *v;

    module_write(&o, dif_candidates, m);
    v = json_loadb(o.p, o.len, 0, NULL);
    free(o.p);
    return v;
}

static void add_rva(struct module *m, uint64_t rva)
{
    if (m->nrvas == m->rvacap) {
        m->rvacap = m->rvacap ? 2 * m->rvacap : 16;
        m->rvas = xreallocarray(m->rvas, m->rvacap, sizeof(*m->rvas));
    }
    m->rvas[m->nrvas++] = rva;
}

/* ADDR and every caller address symframes.c may look up for it (the
 * module's architecture is not known yet: x86 and others subtract 1, arm
 * 2, arm64 4, each after alignment). */
static void add_lookups(struct module *m, uint64_t addr)
{
    uint64_t rva;

    if (addr < m->addr)
        return;
    rva = addr - m->addr;
    add_rva(m, rva);
    if (rva >= 1)
        add_rva(m, rva - 1);
    if ((rva & ~(uint64_t)1) >= 2)
        add_rva(m, (rva & ~(uint64_t)1) - 2);
    if ((rva & ~(uint64_t)3) >= 4)
        add_rva(m, (rva & ~(uint64_t)3) - 4);
}

/* Mark the modules some frame points into, and (LOOKUPS) note what each
 * frame may look up there. */
static void mark_used(const struct symreq *r, struct module *mods,
                      size_t nmods, bool lookups)
{
    for (size_t i = 0; i < r->nframes; i++) {
        uint64_t addr;
        struct module *m = frame_module(mods, nmods, &r->frames[i], &addr);

        if (m != NULL) {
            m->used = true;
            if (lookups)
                add_lookups(m, addr);
        }
    }
}

/* Modules are looked up in parallel when a source may be remote: each
 * lookup can wait on several downloads in turn. */
#define RESOLVE_THREADS 8

struct resolver {
    struct symbolicator *s;
    const struct symreq *r;
    const struct symsource_ctx *ctx;
    struct module *mods;
    size_t nmods;
    atomic_size_t next;
};

static void *resolve_main(void *arg)
{
    struct resolver *rs = arg;
    size_t i;

    while ((i = atomic_fetch_add(&rs->next, 1)) < rs->nmods)
        if (rs->mods[i].used)
            module_resolve(rs->s, &rs->r->sources, rs->ctx, &rs->mods[i]);
    return NULL;
}

static void resolve_used(struct resolver *rs)
{
    pthread_t t[RESOLVE_THREADS];
    size_t used = 0, n = 0;
    bool remote = false;

    /* the box's own cache downloads what it lacks when it has a pool */
    for (size_t i = 0; i < rs->r->sources.n; i++)
        remote |= symsource_remote(&rs->r->sources.v[i]) ||
                  (rs->ctx->pool != NULL &&
                   rs->r->sources.v[i].kind == SYMSOURCE_CACHE);
    for (size_t i = 0; i < rs->nmods; i++)
        used += rs->mods[i].used;
    atomic_init(&rs->next, 0);
    while (remote && !rs->ctx->nowait && n < RESOLVE_THREADS && n + 1 < used &&
           pthread_create(&t[n], NULL, resolve_main, rs) == 0)
        n++;
    resolve_main(rs); /* this thread helps */
    while (n > 0)
        pthread_join(t[--n], NULL);
}

/* Did resolving some module stop at something that would wait?  Then
 * MODS are released. */
static bool would_block(struct symbolicator *s, struct module *mods,
                        size_t nmods)
{
    bool any = false;

    for (size_t i = 0; i < nmods; i++)
        any |= mods[i].would_block;
    for (size_t i = 0; any && i < nmods; i++)
        module_release(s, &mods[i]);
    return any;
}

static char *run(struct symbolicator *s, const struct symreq *r, bool nowait,
                 size_t *len)
{
    struct symsource_ctx ctx = {.cfg = s->cfg, .scope = r->scope,
                                .pool = s->has_pool ? &s->pool : NULL,
                                .deadline_ms = mono_ms() +
                                               s->cfg->job_timeout_ms,
                                .nowait = nowait};
    size_t nmods = json_array_size(r->modules), i;
    struct module *mods = xcalloc(nmods + 1, sizeof(*mods));
    struct resolver rs = {.s = s, .r = r, .ctx = &ctx, .mods = mods,
                          .nmods = nmods};
    struct jsonout out = {0};
    int first = 1;

    for (i = 0; i < nmods; i++)
        module_init(&mods[i], json_array_get(r->modules, i),
                    r->dif_candidates);
    backfill_sizes(mods, nmods);
    /* only a table built now needs them, never one nowait takes */
    mark_used(r, mods, nmods, !nowait);
    resolve_used(&rs);
    if (nowait && would_block(s, mods, nmods)) {
        free(mods);
        return NULL;
    }
    jsonout_raw(&out, "{", 1);
    jsonout_key(&out, &first, "status");
    jsonout_str(&out, "completed");
    if (r->has_signal) {
        jsonout_key(&out, &first, "signal");
        jsonout_json(&out, json_object_get(r->root, "signal"));
    }
    jsonout_key(&out, &first, "stacktraces");
    frames_write(&out, r, mods, nmods);
    jsonout_key(&out, &first, "modules");
    jsonout_raw(&out, "[", 1);
    for (i = 0; i < nmods; i++) {
        if (i > 0)
            jsonout_raw(&out, ",", 1);
        module_write(&out, r->dif_candidates, &mods[i]);
        module_release(s, &mods[i]);
    }
    jsonout_raw(&out, "]}", 2);
    free(mods);
    return jsonout_take(&out, len);
}

char *symbolicator_run(struct symbolicator *s, const struct symreq *r,
                       size_t *len)
{
    return run(s, r, false, len);
}

char *symbolicator_try(struct symbolicator *s, const struct symreq *r,
                       size_t *len)
{
    for (size_t i = 0; i < r->sources.n; i++)
        if (symsource_lists(&r->sources.v[i]))
            return NULL;
    return run(s, r, true, len);
}
