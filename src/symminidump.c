/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "symminidump.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fileio.h"
#include "minidump/minidump.h"
#include "stackwalk/stackwalk.h"
#include "stackwalk/stackwalk_report.h"
#include "symbolicate_int.h"
#include "symdir/symdir.h"
#include "stabcache.h"
#include "symsource.h"
#include "timeutil.h"
#include "xalloc.h"

#define MD_MAX_FRAMES 256 /* per thread, as Symbolicator */

struct mdjob {
    char *dump;
    struct symsource_list sources;
    char *scope;
    bool dif_candidates;
};

/* FIELD's JSON text (NULL: absent) into *OUT (new reference or NULL). */
static int load_field(const char *name, const char *text, size_t len,
                      json_t **out, char *err, size_t errlen)
{
    json_error_t je;

    *out = NULL;
    if (text == NULL)
        return 0;
    *out = json_loadb(text, len, JSON_DECODE_ANY, &je);
    if (*out == NULL) {
        snprintf(err, errlen, "invalid JSON in %s: %s", name, je.text);
        return -EINVAL;
    }
    return 0;
}

int mdjob_new(const char *dump_path, const char *sources, size_t slen,
              const char *options, size_t olen, const char *scope,
              struct mdjob **out, char *err, size_t errlen)
{
    struct mdjob *j = xcalloc(1, sizeof(*j));
    json_t *src = NULL, *opt = NULL;
    int rc;

    j->dump = xstrdup(dump_path);
    j->scope = xstrdup(scope && *scope ? scope : "global");
    rc = load_field("sources", sources, slen, &src, err, errlen);
    if (rc == 0)
        rc = load_field("options", options, olen, &opt, err, errlen);
    if (rc == 0)
        rc = symsource_parse(src, &j->sources, err, errlen);
    j->dif_candidates = json_is_true(json_object_get(opt, "dif_candidates"));
    json_decref(src);
    json_decref(opt);
    if (rc < 0) {
        mdjob_free(j);
        return rc;
    }
    *out = j;
    return 0;
}

void mdjob_free(struct mdjob *j)
{
    if (j == NULL)
        return;
    unlink(j->dump);
    free(j->dump);
    symsource_list_free(&j->sources);
    free(j->scope);
    free(j);
}

/* --- the walker's symbols ------------------------------------------------ */

/* A provider that resolves each module the walk meets through the
 * request's sources, links the files found into DIR in the layout
 * sym/symdir reads, and lets symdir take tables and unwind data from
 * them. */
struct mdprov {
    struct symbolicator *s;
    const struct mdjob *j;
    struct symsource_ctx ctx;
    const struct minidump *md;
    const char *type; /* module type by the dump's OS */
    char *dir;
    struct symdir *sd;
    struct stackwalk_provider inner;
    json_t *raws;          /* module objects built from the dump */
    struct module *mods;   /* per module index */
    bool *resolved;
};

/* symdir's tables come from the process's table cache: built once (or
 * read back from disk) for every job and for POST /symbolicate alike,
 * not once per walk.  The scratch links are followed to the file itself,
 * which keys the cache with the module's debug id (a universal Mach-O
 * file's slice). */
static int table_get(void *ctx, const char *path, const char *debug_id,
                     struct symtable **table, void **handle)
{
    char *real = realpath(path, NULL), err[256];
    struct stab *st = NULL;
    int rc = real ? stabcache_get_for(ctx, real, debug_id, NULL, 0, &st, err,
                                      sizeof(err))
                  : -errno;

    free(real);
    if (rc < 0)
        return rc;
    *table = st->t;
    *handle = st;
    return 0;
}

static void table_put(void *ctx, void *handle)
{
    stabcache_put(ctx, handle);
}

static bool safe_name(const char *s)
{
    return s[0] != '\0' && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
           strchr(s, '/') == NULL;
}

/* DIR/A/B/A -> TARGET. */
static void link_as(const char *dir, const char *a, const char *b,
                    const char *target)
{
    char *d, *p;

    if (!safe_name(a) || !safe_name(b))
        return;
    d = xasprintf("%s/%s/%s", dir, a, b);
    p = xasprintf("%s/%s", d, a);
    if (mkdir_p(d, 0750) == 0)
        (void)symlink(target, p);
    free(p);
    free(d);
}

/* The best debug file goes where symdir looks first (D/I/D), the best
 * binary where it looks for code (C/K/C). */
static void link_found(const struct mdprov *p, const struct minidump_module *mm,
                       const struct module *m)
{
    bool debug = false, code = false;

    for (size_t i = 0; i < m->nfound; i++) {
        const struct symfound *f = &m->found[i];

        if (f->quality == 0 && !debug) {
            link_as(p->dir, path_base(mm->debug_file), mm->debug_id, f->path);
            debug = true;
        } else if (f->quality > 0 && !code && mm->code_id[0] != '\0') {
            link_as(p->dir, path_base(mm->code_file), mm->code_id, f->path);
            code = true;
        }
    }
}

static json_t *raw_module(const struct mdprov *p,
                          const struct minidump_module *mm)
{
    char addr[24];

    snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)mm->base);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "type", p->type,
                     "code_id", mm->code_id, "code_file", mm->code_file,
                     "debug_id", mm->debug_id, "debug_file", mm->debug_file,
                     "image_addr", addr, "image_size", (json_int_t)mm->size);
}

static int mdprov_get(void *ctx, const struct minidump_module *mm,
                      struct stackwalk_symbols *out)
{
    struct mdprov *p = ctx;
    size_t n = minidump_module_count(p->md);

    for (size_t i = 0; i < n; i++) {
        if (minidump_module(p->md, i) != mm || p->resolved[i])
            continue;
        json_array_append_new(p->raws, raw_module(p, mm));
        module_init(&p->mods[i],
                    json_array_get(p->raws, json_array_size(p->raws) - 1),
                    p->j->dif_candidates);
        module_resolve(p->s, &p->j->sources, &p->ctx, &p->mods[i]);
        link_found(p, mm, &p->mods[i]);
        p->resolved[i] = true;
    }
    return p->inner.get(p->inner.ctx, mm, out);
}

static void mdprov_init(struct mdprov *p, struct symbolicator *s,
                        const struct mdjob *j, const struct minidump *md)
{
    size_t n = minidump_module_count(md);
    const char *dir;

    memset(p, 0, sizeof(*p));
    p->s = s;
    p->j = j;
    p->ctx.cfg = s->cfg;
    p->ctx.pool = s->has_pool ? &s->pool : NULL;
    p->ctx.scope = j->scope;
    p->ctx.deadline_ms = mono_ms() + s->cfg->job_timeout_ms;
    p->md = md;
    p->type = stackwalk_report_module_type(md);
    p->dir = xasprintf("%s.d", j->dump);
    dir = p->dir;
    p->sd = symdir_new(&dir, 1);
    symdir_set_tables(p->sd, &(struct symdir_tables){
                                 .get = table_get,
                                 .put = table_put,
                                 .ctx = s->tables,
                             });
    symdir_provider(p->sd, &p->inner);
    p->raws = json_array();
    p->mods = xcalloc(n + 1, sizeof(*p->mods));
    p->resolved = xcalloc(n + 1, sizeof(*p->resolved));
}

static void mdprov_free(struct mdprov *p)
{
    size_t n = minidump_module_count(p->md);

    for (size_t i = 0; i < n; i++)
        if (p->resolved[i])
            module_release(p->s, &p->mods[i]);
    symdir_free(p->sd);
    (void)remove_tree(p->dir);
    json_decref(p->raws);
    free(p->mods);
    free(p->resolved);
    free(p->dir);
}

/* --- the answer ------------------------------------------------------------ */

/* Our view of each module we looked up replaces the walker's. */
static void merge_modules(json_t *answer, const struct mdprov *p)
{
    json_t *mods = json_object_get(answer, "modules");
    static const char *const keys[] = {"debug_status", "features", "arch",
                                       "candidates"};

    for (size_t i = 0; i < json_array_size(mods); i++) {
        json_t *ours, *theirs = json_array_get(mods, i);

        if (!p->resolved[i])
            continue;
        ours = module_json(p->j->dif_candidates, &p->mods[i]);
        for (size_t k = 0; k < sizeof(keys) / sizeof(*keys); k++)
            if (json_object_get(ours, keys[k]) != NULL)
                json_object_set(theirs, keys[k], json_object_get(ours, keys[k]));
        json_decref(ours);
    }
}

/* Scan frames that name nothing are dropped, as Symbolicator does. */
static void drop_scan_noise(json_t *answer)
{
    json_t *traces = json_object_get(answer, "stacktraces"), *t;
    size_t i;

    json_array_foreach(traces, i, t) {
        json_t *frames = json_object_get(t, "frames");

        for (size_t k = json_array_size(frames); k > 0; k--) {
            json_t *f = json_array_get(frames, k - 1);
            const char *trust = json_string_value(json_object_get(f, "trust"));
            const char *st = json_string_value(json_object_get(f, "status"));

            if (trust && st &&
                (strcmp(trust, "scan") == 0 || strcmp(trust, "cfiscan") == 0) &&
                (strcmp(st, "unknown_image") == 0 ||
                 strcmp(st, "missing_symbol") == 0))
                json_array_remove(frames, k - 1);
        }
    }
}

static char *failed(const char *why, size_t *len)
{
    json_t *o = json_pack("{s:s, s:s}", "status", "failed", "message", why);
    char *text = json_dumps(o, JSON_COMPACT);

    json_decref(o);
    *len = strlen(text);
    return text;
}

static char *walk(struct symbolicator *s, const struct mdjob *j,
                  const struct minidump *md, size_t *len)
{
    struct stackwalk_options wo = {.max_frames = MD_MAX_FRAMES, .scan = true};
    struct stackwalk_result *r = NULL;
    struct stackwalk_provider prov;
    struct mdprov p;
    json_t *answer;
    char *text;

    mdprov_init(&p, s, j, md);
    prov.get = mdprov_get;
    prov.ctx = &p;
    if (stackwalk_run(md, &prov, &wo, &r) < 0) {
        mdprov_free(&p);
        return failed("minidump has no CPU context this reader knows", len);
    }
    answer = stackwalk_report_json(md, r);
    json_object_set_new(answer, "timestamp",
                        json_integer(minidump_timestamp(md)));
    merge_modules(answer, &p);
    drop_scan_noise(answer);
    text = json_dumps(answer, JSON_COMPACT | JSON_PRESERVE_ORDER);
    *len = text ? strlen(text) : 0;
    json_decref(answer);
    stackwalk_result_free(r); /* borrows symdir's tables: free it first */
    mdprov_free(&p);
    return text;
}

char *symbolicator_run_minidump(struct symbolicator *s, const struct mdjob *j,
                                size_t *len)
{
    struct objfile_map map;
    struct minidump *md = NULL;
    char err[256], why[300];
    char *text;

    if (objfile_map(j->dump, &map) < 0)
        return failed(map.err, len);
    if (minidump_load(map.data, map.len, &md, err, sizeof(err)) < 0) {
        snprintf(why, sizeof(why), "invalid minidump: %s", err);
        objfile_unmap(&map);
        return failed(why, len);
    }
    text = walk(s, j, md, len);
    minidump_free(md);
    objfile_unmap(&map);
    return text;
}
