/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "symsource.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "config.h"
#include "decompress.h"
#include "fetch.h"
#include "fileio.h"
#include "gcsauth.h"
#include "inflight.h"
#include "metrics.h"
#include "s3.h"
#include "ssrf.h"
#include "store.h"
#include "strhash.h"
#include "symkey.h"
#include "upstream.h"
#include "timeutil.h"
#include "xalloc.h"


const char *symsource_status_name(enum symsource_status st)
{
    static const char *const names[] = {"ok", "notfound", "noperm", "error",
                                        "would_block"};

    return names[st];
}

/* --- parsing ----------------------------------------------------------- */

static void source_free(struct symsource *s)
{
    free(s->id);
    free(s->base);
    json_decref(s->headers);
    json_decref(s->path_patterns);
    free(s->uri);
    free(s->prefix);
    free(s->gcs_email);
    if (s->gcs_key != NULL)
        explicit_bzero(s->gcs_key, strlen(s->gcs_key));
    free(s->gcs_key);
    free(s->s3_sigv4);
    free(s->s3_keys);
}

bool symsource_remote(const struct symsource *src)
{
    return src->kind == SYMSOURCE_HTTP || src->kind == SYMSOURCE_S3 ||
           src->kind == SYMSOURCE_GCS || src->kind == SYMSOURCE_SENTRY;
}

bool symsource_lists(const struct symsource *src)
{
    return src->kind == SYMSOURCE_SENTRY ||
           (src->has_index && src->layout == LAYOUT_SYMSTORE &&
            src->kind != SYMSOURCE_CACHE);
}

void symsource_list_free(struct symsource_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        source_free(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void all_filetypes(struct symsource *s)
{
    for (size_t i = 0; i < LAYOUT_FT_COUNT; i++)
        s->filetypes[i] = true;
}

static int parse_layout(const json_t *o, struct symsource *s, char *err,
                        size_t errlen)
{
    const json_t *layout = json_object_get(o, "layout");
    const char *type = json_string_value(json_object_get(layout, "type"));
    const char *casing = json_string_value(json_object_get(layout, "casing"));

    if (type != NULL && layout_parse_type(type, &s->layout) < 0) {
        snprintf(err, errlen, "sources: unknown layout type '%.64s'", type);
        return -EPROTO;
    }
    if (casing != NULL && layout_parse_casing(casing, &s->casing) < 0) {
        snprintf(err, errlen, "sources: unknown casing '%.64s'", casing);
        return -EPROTO;
    }
    return 0;
}

/* filters.filetypes: [] means all; names we do not serve select nothing.
 * filters.path_patterns: [] means all.  has_index. */
static void parse_filters(const json_t *o, struct symsource *s)
{
    const json_t *filters = json_object_get(o, "filters");
    const json_t *fts = json_object_get(filters, "filetypes");
    json_t *pats = json_object_get(filters, "path_patterns");
    size_t i;
    json_t *v;

    s->has_index = json_is_true(json_object_get(o, "has_index"));
    if (json_array_size(pats) > 0)
        s->path_patterns = json_incref(pats);
    if (json_array_size(fts) == 0)
        return;
    memset(s->filetypes, 0, sizeof(s->filetypes));
    json_array_foreach(fts, i, v) {
        enum layout_ft ft;

        if (json_is_string(v) &&
            layout_parse_filetype(json_string_value(v), &ft) == 0)
            s->filetypes[ft] = true;
    }
}

static char *strip_slashes(const char *s)
{
    char *c = xstrdup(s);
    size_t n = strlen(c);

    while (n > 1 && c[n - 1] == '/')
        c[--n] = '\0';
    return c;
}

/* A header value a request may carry: no line breaks. */
static bool header_value_ok(const char *v)
{
    return v != NULL && *v != '\0' && strpbrk(v, "\r\n") == NULL;
}

/* HEADERS of S: a new object with NAME: VALUE. */
static void set_header(struct symsource *s, const char *name, const char *value)
{
    s->headers = json_object();
    json_object_set_new(s->headers, name, json_string(value));
}

/* gcs: bucket, prefix, and either bearer_token (a token the caller
 * obtained for the bucket) or a service account's private_key and
 * client_email, for which the box gets tokens itself (gcsauth.h). */
static int parse_gcs(const json_t *o, struct symsource *s, char *err,
                     size_t errlen)
{
    const char *bucket = json_string_value(json_object_get(o, "bucket"));
    const char *token = json_string_value(json_object_get(o, "bearer_token"));
    const char *key = json_string_value(json_object_get(o, "private_key"));
    const char *email = json_string_value(json_object_get(o, "client_email"));
    char *pre;

    if (bucket == NULL || !s3_gcs_bucket_ok(bucket) ||
        (!header_value_ok(token) && (key == NULL || *key == '\0' ||
                                     email == NULL || *email == '\0'))) {
        snprintf(err, errlen,
                 "sources: %s: gcs needs a bucket and a bearer_token, or a "
                 "private_key and client_email",
                 s->id);
        return -EPROTO;
    }
    pre = s3_trim_slashes(json_string_value(json_object_get(o, "prefix")));
    s->kind = SYMSOURCE_GCS;
    s->base = xstrdup(bucket);
    s->prefix = *pre ? xasprintf("%s/", pre) : xstrdup("");
    s->uri = xasprintf("gs://%s%s%s", bucket, *pre ? "/" : "", pre);
    if (header_value_ok(token)) {
        char *auth = xasprintf("Bearer %s", token);

        set_header(s, "Authorization", auth);
        free(auth);
    } else {
        s->gcs_email = xstrdup(email);
        s->gcs_key = xstrdup(key);
    }
    free(pre);
    return 0;
}

/* sentry: url (the project's debug-files endpoint) and token (bearer) or
 * cookies.  It has no layout and no filters: Sentry lists the files. */
static int parse_sentry(const json_t *o, struct symsource *s, char *err,
                        size_t errlen)
{
    const char *url = json_string_value(json_object_get(o, "url"));
    const char *token = json_string_value(json_object_get(o, "token"));
    const char *cookies = json_string_value(json_object_get(o, "cookies"));

    if (url == NULL || (strncmp(url, "http://", 7) != 0 &&
                        strncmp(url, "https://", 8) != 0) ||
        strchr(url, '#') != NULL ||
        (!header_value_ok(token) && !header_value_ok(cookies))) {
        snprintf(err, errlen,
                 "sources: %s: sentry needs an http(s) url and a token or "
                 "cookies",
                 s->id);
        return -EPROTO;
    }
    s->kind = SYMSOURCE_SENTRY;
    s->base = xstrdup(url);
    if (header_value_ok(token)) {
        char *auth = xasprintf("Bearer %s", token);

        set_header(s, "Authorization", auth);
        free(auth);
    } else {
        set_header(s, "Cookie", cookies);
    }
    return 0;
}

/* s3: bucket, prefix, region ("us-east-1" or ["name", "http://endpoint"]),
 * access_key, secret_key. */
static int parse_s3(const json_t *o, struct symsource *s, char *err,
                    size_t errlen)
{
    const char *bucket = json_string_value(json_object_get(o, "bucket"));
    const char *prefix = json_string_value(json_object_get(o, "prefix"));
    const json_t *region = json_object_get(o, "region");
    const char *name = json_string_value(region), *endpoint = NULL;
    const char *ak = json_string_value(json_object_get(o, "access_key"));
    const char *sk = json_string_value(json_object_get(o, "secret_key"));

    if (json_is_array(region)) {
        name = json_string_value(json_array_get(region, 0));
        endpoint = json_string_value(json_array_get(region, 1));
    }
    if (bucket == NULL || !s3_bucket_ok(bucket) || name == NULL ||
        strpbrk(name, "/:?#@ ") != NULL ||
        (endpoint != NULL && strncmp(endpoint, "http://", 7) != 0 &&
         strncmp(endpoint, "https://", 8) != 0)) {
        snprintf(err, errlen,
                 "sources: %s: s3 needs a bucket and a region (a name, or "
                 "[name, \"http(s)://endpoint\"])",
                 s->id);
        return -EPROTO;
    }
    s->base = s3_base_url(bucket, prefix ? prefix : "", name, endpoint);
    s->uri = s3_uri(bucket, prefix ? prefix : "");
    if (ak != NULL && sk != NULL) {
        s->s3_sigv4 = s3_sigv4(name);
        s->s3_keys = xasprintf("%s:%s", ak, sk);
    }
    s->kind = SYMSOURCE_S3;
    return 0;
}

static int parse_kind(const json_t *o, const char *type, struct symsource *s,
                      char *err, size_t errlen)
{
    const char *url = json_string_value(json_object_get(o, "url"));
    const char *path = json_string_value(json_object_get(o, "path"));

    if (strcmp(type, "http") == 0) {
        if (url == NULL || (strncmp(url, "http://", 7) != 0 &&
                            strncmp(url, "https://", 8) != 0)) {
            snprintf(err, errlen, "sources: %s: url must be http:// or https://",
                s->id);
            return -EPROTO;
        }
        s->kind = SYMSOURCE_HTTP;
        s->base = strip_slashes(url);
        s->headers = json_incref(json_object_get(o, "headers"));
    } else if (strcmp(type, "filesystem") == 0) {
        if (path == NULL || path[0] != '/') {
            snprintf(err, errlen, "sources: %s: path must be absolute", s->id);
            return -EPROTO;
        }
        s->kind = SYMSOURCE_FILESYSTEM;
        s->base = strip_slashes(path);
    } else if (strcmp(type, "s3") == 0) {
        return parse_s3(o, s, err, errlen);
    } else if (strcmp(type, "gcs") == 0) {
        return parse_gcs(o, s, err, errlen);
    } else if (strcmp(type, "sentry") == 0) {
        return parse_sentry(o, s, err, errlen);
    } else {
        snprintf(err, errlen,
            "sources: unknown variant `%.64s`, expected one of `http`, "
            "`filesystem`, `s3`, `gcs`, `sentry`",
            type);
        return -EPROTO;
    }
    return 0;
}

static int parse_one(const json_t *o, struct symsource *s, char *err,
                     size_t errlen)
{
    const char *id = json_string_value(json_object_get(o, "id"));
    const char *type = json_string_value(json_object_get(o, "type"));
    int rc;

    memset(s, 0, sizeof(*s));
    all_filetypes(s);
    if (!json_is_object(o) || id == NULL || type == NULL) {
        snprintf(err, errlen, "sources: every source needs a string id and type");
        return -EPROTO;
    }
    s->id = xstrdup(id);
    s->layout = LAYOUT_NATIVE;
    s->is_public = json_is_true(json_object_get(o, "is_public"));
    rc = parse_kind(o, type, s, err, errlen);
    if (rc == 0 && s->kind != SYMSOURCE_SENTRY) {
        rc = parse_layout(o, s, err, errlen);
        parse_filters(o, s);
    }
    return rc;
}

int symsource_parse(const json_t *sources, struct symsource_list *out,
                    char *err, size_t errlen)
{
    size_t i;
    json_t *v;
    int rc;

    memset(out, 0, sizeof(*out));
    if (sources == NULL || json_is_null(sources)) {
        out->v = xcalloc(1, sizeof(*out->v));
        out->n = 1;
        out->v[0].id = xstrdup("symsrvd");
        out->v[0].kind = SYMSOURCE_CACHE;
        out->v[0].layout = LAYOUT_SYMSTORE;
        out->v[0].is_public = true;
        all_filetypes(&out->v[0]);
        return 0;
    }
    if (!json_is_array(sources)) {
        snprintf(err, errlen, "sources: expected an array");
        return -EPROTO;
    }
    out->v = xcalloc(json_array_size(sources) + 1, sizeof(*out->v));
    json_array_foreach(sources, i, v) {
        rc = parse_one(v, &out->v[out->n], err, errlen);
        out->n++;
        if (rc < 0) {
            symsource_list_free(out);
            return rc;
        }
    }
    return 0;
}

/* --- the box's own cache ------------------------------------------------- */

/* How long a download may be waited for: WANT, cut at the job's
 * deadline (at least 1 ms, so a job past it still looks once). */
static uint64_t wait_ms(const struct symsource_ctx *ctx, uint64_t want)
{
    uint64_t now = mono_ms();

    if (ctx->deadline_ms == 0)
        return want;
    if (now >= ctx->deadline_ms)
        return 1;
    return ctx->deadline_ms - now < want ? ctx->deadline_ms - now : want;
}

/* REL ("name/id/file") as a symbol-store key. */
static bool rel_key(const char *rel, struct symkey *key)
{
    const char *a = rel, *b = strchr(a, '/'), *c = b ? strchr(b + 1, '/') : 0;

    if (c == NULL || strchr(c + 1, '/') != NULL ||
        (size_t)(b - a) > SYMKEY_NAME_MAX ||
        (size_t)(c - b - 1) > SYMKEY_ID_MAX || strlen(c + 1) > SYMKEY_NAME_MAX)
        return false;
    memset(key, 0, sizeof(*key));
    memcpy(key->name, a, (size_t)(b - a));
    memcpy(key->id, b + 1, (size_t)(c - b - 1));
    strcpy(key->file, c + 1);
    return true;
}

/* KEY (canonical CANON) is not in the store: have the pool fetch it from
 * the configured upstreams, joining a download already under way, and
 * wait for it to end. */
static enum symsource_status pool_get(const struct symsource_ctx *ctx,
                                      const struct symkey *key,
                                      const char *canon, char *detail,
                                      size_t dlen)
{
    const struct symsource_pool *p = ctx->pool;
    char neg[SYMKEY_CANON_MAX];
    enum dl_reason why = DL_REASON_NONE;
    enum dl_state st;
    bool created;
    struct dl *d;

    /* the remembered miss first: a warm request meets it for every file
     * it lacks, and it is one index read where fetch_serves() formats
     * every upstream's URLs */
    if (p == NULL || (symkey_exact(key, neg, sizeof(neg)) >= 0 &&
                      cache_negative(p->cache, neg, NULL)))
        return SYMSOURCE_NOTFOUND;
    if (!fetch_serves(ctx->cfg, key))
        return SYMSOURCE_NOTFOUND;
    if (ctx->nowait)
        return SYMSOURCE_WOULDBLOCK;
    d = inflight_get(p->inflight, canon, key, &created);
    metrics_add(created ? &metrics->symbolicate_misses
                        : &metrics->symbolicate_coalesced, 1);
    if (created && !fetch_download(p->fetch, d))
        dl_finish(d, false, DL_REASON_UPSTREAM_ERROR);
    st = dl_wait_end(d, wait_ms(ctx, ctx->cfg->download_timeout_ms), &why);
    dl_unref(d);
    if (st == DL_DONE)
        return SYMSOURCE_OK;
    if (st == DL_FAILED && why == DL_REASON_NOT_FOUND)
        return SYMSOURCE_NOTFOUND;
    snprintf(detail, dlen, "download failed: %s",
             st == DL_FAILED ? dl_reason_name(why) : "timeout");
    return SYMSOURCE_ERROR;
}

static enum symsource_status cache_get(const struct symsource_ctx *ctx,
                                       const char *rel, char **local,
                                       struct stat *sb, char **location,
                                       char *detail, size_t dlen)
{
    struct symkey key;
    char canon[SYMKEY_CANON_MAX], path[STORE_PATH_MAX];
    enum symsource_status st = SYMSOURCE_OK;

    if (!rel_key(rel, &key) ||
        symkey_canonical(&key, canon, sizeof(canon)) < 0 ||
        store_file_path(ctx->cfg->cache_dir, canon, path, sizeof(path)) < 0)
        return SYMSOURCE_NOTFOUND;
    if (location != NULL)
        *location = xasprintf("symsrvd://%s", canon);
    if (stat(path, sb) != 0 || !S_ISREG(sb->st_mode) || sb->st_size == 0) {
        st = pool_get(ctx, &key, canon, detail, dlen);
        if (st == SYMSOURCE_OK &&
            (stat(path, sb) != 0 || !S_ISREG(sb->st_mode) || sb->st_size == 0))
            st = SYMSOURCE_NOTFOUND; /* published, then evicted already */
    }
    if (st == SYMSOURCE_OK)
        *local = xstrdup(path);
    return st;
}

/* --- filesystem ------------------------------------------------------------ */

/* Is the real path REAL at or under one of the ':'-separated ROOTS? */
static bool under_roots(const char *roots, const char *real)
{
    char *copy, *save = NULL, *tok, rroot[PATH_MAX];
    bool ok = false;

    if (roots == NULL || strcmp(roots, "none") == 0)
        return false;
    copy = xstrdup(roots);
    for (tok = strtok_r(copy, ":", &save); tok != NULL && !ok;
         tok = strtok_r(NULL, ":", &save)) {
        size_t n;

        if (realpath(tok, rroot) == NULL)
            continue;
        n = strlen(rroot);
        ok = strncmp(real, rroot, n) == 0 &&
             (real[n] == '/' || real[n] == '\0' || strcmp(rroot, "/") == 0);
    }
    free(copy);
    return ok;
}

static enum symsource_status fs_get(const struct symsource_ctx *ctx,
                                    const struct symsource *src,
                                    const char *rel, char **local,
                                    struct stat *sb, char **location,
                                    char *detail, size_t dlen)
{
    char *path = xasprintf("%s/%s", src->base, rel), real[PATH_MAX];
    enum symsource_status st = SYMSOURCE_NOTFOUND;

    if (location != NULL)
        *location = xasprintf("file://%s", path);
    if (ctx->cfg->allow_request_sources == CONFIG_SOURCES_NO) {
        snprintf(detail, dlen, "request sources are not allowed");
        st = SYMSOURCE_NOPERM;
    } else if (realpath(path, real) == NULL) {
        st = SYMSOURCE_NOTFOUND;
    } else if (!under_roots(ctx->cfg->filesystem_roots, real)) {
        snprintf(detail, dlen, "path is outside [symbolicate] filesystem_roots");
        st = SYMSOURCE_NOPERM;
    } else if (stat(real, sb) == 0 && S_ISREG(sb->st_mode) &&
               sb->st_size > 0) {
        *local = xstrdup(real);
        st = SYMSOURCE_OK;
    }
    free(path);
    return st;
}

/* --- http ------------------------------------------------------------------ */

/* The source's headers as "Name: value" lines (NULL-terminated), those
 * that could not split a request left out, and BEARER's Authorization
 * when not NULL. */
static char **header_lines(const struct symsource *src, const char *bearer)
{
    char **l = xcalloc(json_object_size(src->headers) + 2, sizeof(*l));
    size_t n = 0;

    if (bearer != NULL)
        l[n++] = xasprintf("Authorization: Bearer %s", bearer);
    const char *k;
    json_t *v;

    json_object_foreach(src->headers, k, v) {
        if (json_is_string(v) && strpbrk(k, "\r\n:") == NULL &&
            strpbrk(json_string_value(v), "\r\n") == NULL)
            l[n++] = xasprintf("%s: %s", k, json_string_value(v));
    }
    return l;
}

static char *http_url(const struct symsource *src, const char *rel)
{
    return upstream_join(src->base, rel);
}

/* BASE with NAME=VALUE (VALUE percent-encoded) added to its query. */
static char *add_query(const char *base, const char *name, const char *value)
{
    char enc[1024];

    if (symkey_encode(value, enc, sizeof(enc)) < 0)
        enc[0] = '\0';
    return xasprintf("%s%c%s=%s", base, strchr(base, '?') ? '&' : '?', name,
                     enc);
}

/* Where REL of SRC is downloaded from: under the base URL (http, s3),
 * as an object of the bucket in Google's JSON API (gcs: the whole object
 * name, '/' included, is one encoded path segment), or as the file id
 * REL on the debug-files endpoint (sentry). */
static char *remote_url(const struct symsource_ctx *ctx,
                        const struct symsource *src, const char *rel)
{
    if (src->kind == SYMSOURCE_GCS) {
        char *name = xasprintf("%s%s", src->prefix, rel), enc[2048], *url;

        if (symkey_encode(name, enc, sizeof(enc)) < 0)
            enc[0] = '\0';
        url = xasprintf("%s/storage/v1/b/%s/o/%s?alt=media", ctx->cfg->gcs_url,
                        src->base, enc);
        free(name);
        return url;
    }
    if (src->kind == SYMSOURCE_SENTRY)
        return add_query(src->base, "id", rel);
    return http_url(src, rel);
}

/* What the candidate list shows for REL of SRC (at URL). */
static char *remote_location(const struct symsource *src, const char *rel,
                             const char *url)
{
    if (src->kind == SYMSOURCE_SENTRY)
        return xasprintf("sentry://project_debug_file/%s", rel);
    if (src->uri != NULL)
        return xasprintf("%s/%s", src->uri, rel);
    return xstrdup(url);
}

/* What the pool fetches for REL at URL in SRC. */
static struct fetch_origin *origin_new(const struct symsource_ctx *ctx,
                                       const struct symsource *src,
                                       const char *rel, const char *url,
                                       const char *bearer)
{
    struct fetch_origin *o = xcalloc(1, sizeof(*o));
    const char *file = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    char twin[SYMKEY_NAME_MAX + 1];

    o->label = xstrdup(src->id);
    o->urls[0] = xstrdup(url);
    if (decompress_twin(file, twin, sizeof(twin))) {
        char *trel = xasprintf("%.*s%s", (int)(file - rel), rel, twin);

        o->urls[1] = remote_url(ctx, src, trel);
        free(trel);
    }
    o->headers = header_lines(src, bearer);
    if (src->s3_sigv4 != NULL) {
        o->sigv4 = xstrdup(src->s3_sigv4);
        o->userpwd = xstrdup(src->s3_keys);
    }
    o->check = ssrf_check;
    o->check_arg = ctx->cfg;
    o->max_size = ctx->cfg->max_download_size;
    o->timeout_ms = ctx->cfg->download_timeout_ms;
    return o;
}

/* The store key of URL in SRC: one per scope for a private source, one
 * for all for a public one.  Under .Symsrvd, four components: never a
 * key a proxy client can name. */
static char *source_key(const struct symsource_ctx *ctx,
                        const struct symsource *src, const char *url)
{
    char *id = xasprintf("scope: %s\nsource: %s\nlocation: %s\n",
                         src->is_public ? "global" : ctx->scope, src->id, url);
    char hash[33];

    strhash128_hex(id, hash);
    free(id);
    return xasprintf(STORE_SOURCES_PREFIX "%.2s/%s", hash, hash + 2);
}

/* How the download of D (an origin's) ended, as a candidate status. */
static enum symsource_status origin_status(struct dl *d, enum dl_state st,
                                           enum dl_reason why, char *detail,
                                           size_t dlen)
{
    const struct fetch_origin *o = dl_origin(d);

    if (st == DL_DONE)
        return SYMSOURCE_OK;
    if (st == DL_FAILED && why == DL_REASON_NOT_FOUND)
        return SYMSOURCE_NOTFOUND;
    if (st != DL_FAILED) {
        snprintf(detail, dlen, "download failed: timeout");
        return SYMSOURCE_ERROR;
    }
    if (o != NULL && (o->status == 401 || o->status == 403)) {
        snprintf(detail, dlen, "%ld", o->status);
        return SYMSOURCE_NOPERM;
    }
    snprintf(detail, dlen, "%s",
             o != NULL && o->detail[0] ? o->detail : "download failed");
    return SYMSOURCE_ERROR;
}

/* Have the pool fetch URL under KEY (joining a download of it under way)
 * and wait for the end. */
static enum symsource_status pool_fetch(const struct symsource_ctx *ctx,
                                        const struct symsource *src,
                                        const char *rel, const char *url,
                                        const char *key, const char *bearer,
                                        char *detail, size_t dlen)
{
    const struct symsource_pool *p = ctx->pool;
    const char *file = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    enum dl_reason why = DL_REASON_NONE;
    enum symsource_status st;
    struct symkey orig;
    enum dl_state ds;
    bool created;
    struct dl *d;

    /* the plain file name is what a cabinet must hold */
    memset(&orig, 0, sizeof(orig));
    snprintf(orig.name, sizeof(orig.name), "%s", src->id);
    snprintf(orig.file, sizeof(orig.file), "%s", file);
    d = inflight_get(p->inflight, key, &orig, &created);
    metrics_add(created ? &metrics->symbolicate_misses
                        : &metrics->symbolicate_coalesced, 1);
    if (created) {
        dl_set_origin(d, origin_new(ctx, src, rel, url, bearer),
                      fetch_origin_free);
        if (!fetch_download(p->fetch, d))
            dl_finish(d, false, DL_REASON_UPSTREAM_ERROR);
    }
    /* every hop of both URLs may take the whole download timeout */
    ds = dl_wait_end(d, wait_ms(ctx, ctx->cfg->download_timeout_ms *
                                         (FETCH_ORIGIN_REDIRECTS + 1) * 2),
                     &why);
    st = origin_status(d, ds, why, detail, dlen);
    dl_unref(d);
    return st;
}

/* URL (REL of SRC) through the pool under KEY, with an access token
 * first when SRC is a gcs source with a service account key. */
static enum symsource_status fetch_new(const struct symsource_ctx *ctx,
                                       const struct symsource *src,
                                       const char *rel, const char *url,
                                       const char *key, char *detail,
                                       size_t dlen)
{
    char token[4096];
    enum symsource_status st;
    int rc;

    if (src->gcs_key == NULL)
        return pool_fetch(ctx, src, rel, url, key, NULL, detail, dlen);
    rc = gcsauth_token(ctx->cfg->gcs_token_url, src->gcs_email, src->gcs_key,
                       wait_ms(ctx, ctx->cfg->download_timeout_ms), token,
                       sizeof(token), detail, dlen);
    if (rc < 0)
        return rc == -EACCES ? SYMSOURCE_NOPERM : SYMSOURCE_ERROR;
    st = pool_fetch(ctx, src, rel, url, key, token, detail, dlen);
    explicit_bzero(token, sizeof(token));
    return st;
}

/* URL (REL of SRC) from the store under KEY, or through the pool. */
static enum symsource_status remote_fetch(const struct symsource_ctx *ctx,
                                          const struct symsource *src,
                                          const char *rel, const char *url,
                                          const char *key, char **local,
                                          struct stat *sb, char *detail,
                                          size_t dlen)
{
    char path[STORE_PATH_MAX];
    enum symsource_status st;

    if (ctx->cfg->allow_request_sources == CONFIG_SOURCES_NO) {
        snprintf(detail, dlen, "request sources are not allowed");
        return SYMSOURCE_NOPERM;
    }
    if (ctx->pool == NULL) {
        snprintf(detail, dlen, "no downloader");
        return SYMSOURCE_ERROR;
    }
    if (store_file_path(ctx->cfg->cache_dir, key, path, sizeof(path)) != 0)
        st = SYMSOURCE_ERROR;
    else if (store_present(ctx->cfg->cache_dir, ctx->pool->cache, key))
        st = SYMSOURCE_OK;
    else if (cache_negative(ctx->pool->cache, key, NULL))
        st = SYMSOURCE_NOTFOUND;
    else if (ctx->nowait)
        st = SYMSOURCE_WOULDBLOCK;
    else
        st = fetch_new(ctx, src, rel, url, key, detail, dlen);
    if (st == SYMSOURCE_OK && stat(path, sb) != 0)
        st = SYMSOURCE_NOTFOUND; /* evicted already */
    if (st == SYMSOURCE_OK)
        *local = xstrdup(path);
    return st;
}

static enum symsource_status remote_get(const struct symsource_ctx *ctx,
                                        const struct symsource *src,
                                        const char *rel, char **local,
                                        struct stat *sb, char **location,
                                        char *detail, size_t dlen)
{
    char *url = remote_url(ctx, src, rel), *key = source_key(ctx, src, url);
    enum symsource_status st;

    if (location != NULL)
        *location = remote_location(src, rel, url);
    st = remote_fetch(ctx, src, rel, url, key, local, sb, detail, dlen);
    free(key);
    free(url);
    return st;
}

/* --- listings: a sentry source's file list, a symstore index ------------ */

#define LISTING_MAX (16u << 20)
#define SENTRY_LIST_PERIOD_MS (60 * 60 * 1000) /* sentry_index_ttl */
#define INDEX_PERIOD_MS (10 * 60 * 1000) /* the index's miss retry */
#define INDEX_MAX_SEGMENTS 100000
#define INDEX_CACHED 8

/* The text of REL in SRC (at URL), into *TEXT (new, NUL-terminated).
 * With PERIOD_MS, the download is stored under a key naming the current
 * window of that length, so it is fetched afresh once per window.  0 or
 * -ENOENT. */
static int source_text(const struct symsource_ctx *ctx,
                       const struct symsource *src, const char *rel,
                       const char *url, uint64_t period_ms, char **text,
                       size_t *len)
{
    char *local = NULL, *loc = NULL, *id, *key, detail[256];
    enum symsource_status st;
    struct stat sb;
    int rc = -ENOENT;

    if (src->kind == SYMSOURCE_FILESYSTEM) {
        st = fs_get(ctx, src, rel, &local, &sb, &loc, detail, sizeof(detail));
    } else {
        id = period_ms ? xasprintf("%s#%" PRId64, url,
                                   wall_ms() / (int64_t)period_ms)
                       : xstrdup(url);
        key = source_key(ctx, src, id);
        st = remote_fetch(ctx, src, rel, url, key, &local, &sb, detail,
                          sizeof(detail));
        free(key);
        free(id);
    }
    if (st == SYMSOURCE_OK && read_small_file(local, LISTING_MAX, text, len) == 0)
        rc = 0;
    free(local);
    free(loc);
    return rc;
}

/* Sentry's name for the kind of file FT is. */
static const char *sentry_type(enum layout_ft ft)
{
    static const char *const names[LAYOUT_FT_COUNT] = {
        [LAYOUT_FT_PE] = "pe",          [LAYOUT_FT_PDB] = "pdb",
        [LAYOUT_FT_PORTABLEPDB] = "portablepdb",
        [LAYOUT_FT_MACH_DEBUG] = "macho", [LAYOUT_FT_MACH_CODE] = "macho",
        [LAYOUT_FT_ELF_DEBUG] = "elf",  [LAYOUT_FT_ELF_CODE] = "elf",
        [LAYOUT_FT_WASM_DEBUG] = "wasm", [LAYOUT_FT_WASM_CODE] = "wasm",
        [LAYOUT_FT_BREAKPAD] = "breakpad",
    };

    return names[ft];
}

/* The list query for module IDS: debug_id and code_id, whichever it has
 * (new string), or NULL with neither (which would list every file). */
static char *sentry_list_url(const struct symsource *src,
                             const struct layout_ids *ids)
{
    char did[48], *url = xstrdup(src->base), *next;

    if (ids->has_debug_id) {
        layout_format_debug_id(ids->uuid, ids->age, did, sizeof(did));
        next = add_query(url, "debug_id", did);
        free(url);
        url = next;
    }
    if (ids->code_id[0] != '\0') {
        next = add_query(url, "code_id", ids->code_id);
        free(url);
        url = next;
    }
    if (!ids->has_debug_id && ids->code_id[0] == '\0') {
        free(url);
        return NULL;
    }
    return url;
}

/* A file id as Sentry sends it (a string or a number), if it is safe to
 * put in a URL and a path: into BUF. */
static bool sentry_id(const json_t *v, char *buf, size_t len)
{
    if (json_is_integer(v))
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_string(v) && json_string_length(v) < len)
        snprintf(buf, len, "%s", json_string_value(v));
    else
        return false;
    return buf[0] != '\0' && strspn(buf, "0123456789abcdefghijklmnopqrstuvwxyz"
                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_.") ==
                                  strlen(buf);
}

/* The ids of the files of Sentry type FT that SRC lists for IDS.  Each
 * Sentry type is asked for once per module: for the first of the
 * module's file types that maps to it. */
static size_t sentry_paths(const struct symsource_ctx *ctx,
                           const struct symsource *src,
                           const struct layout_ids *ids, enum layout_ft ft,
                           char out[LAYOUT_MAX_PATHS][LAYOUT_PATH_MAX])
{
    enum layout_ft fts[LAYOUT_MAX_FILETYPES];
    size_t nft = layout_filetypes(ids->obj, fts), n = 0, i, len;
    char *url, *text = NULL;
    json_t *list, *e;

    for (i = 0; i < nft && fts[i] != ft; i++)
        if (strcmp(sentry_type(fts[i]), sentry_type(ft)) == 0)
            return 0;
    url = sentry_list_url(src, ids);
    if (url == NULL ||
        source_text(ctx, src, "debug-files", url, SENTRY_LIST_PERIOD_MS,
                    &text, &len) < 0) {
        free(url);
        return 0;
    }
    list = json_loadb(text, len, 0, NULL);
    json_array_foreach(list, i, e) {
        const char *type = json_string_value(json_object_get(e, "symbolType"));

        if (n < LAYOUT_MAX_PATHS && type != NULL &&
            strcasecmp(type, sentry_type(ft)) == 0 &&
            sentry_id(json_object_get(e, "id"), out[n], LAYOUT_PATH_MAX))
            n++;
    }
    json_decref(list);
    free(text);
    free(url);
    return n;
}

/* A symstore index: the "name/ID/name" paths 000Admin lists, sorted. */
struct symindex {
    char *key; /* which listing of lastid.txt it was built from */
    char **v;
    size_t n;
};

/* Indexes are kept per process, a few at a time: a module asks for
 * several file types, and a job for several modules. */
static struct {
    pthread_mutex_t lock;
    struct symindex slot[INDEX_CACHED];
    unsigned next;
} indexes = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add the entries of one 000Admin transaction file (lines of
 * "name\ID","...") to IX. */
static void index_add(struct symindex *ix, char *text)
{
    char *save = NULL, *line;

    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *name = line + (line[0] == '"'), *end = strchr(name, '"');
        char *sep = strchr(name, '\\');

        if (end == NULL || sep == NULL || sep > end || sep == name ||
            sep + 1 == end)
            continue;
        ix->v = xreallocarray(ix->v, ix->n + 1, sizeof(*ix->v));
        ix->v[ix->n++] = xasprintf("%.*s/%.*s/%.*s", (int)(sep - name), name,
                                   (int)(end - sep - 1), sep + 1,
                                   (int)(sep - name), name);
    }
}

static void index_free(struct symindex *ix)
{
    for (size_t i = 0; i < ix->n; i++)
        free(ix->v[i]);
    free(ix->v);
    free(ix->key);
    memset(ix, 0, sizeof(*ix));
}

/* Read SRC's index: 000Admin/lastid.txt (fetched again every
 * INDEX_PERIOD_MS), then the transactions 1..lastid.  KEY names this
 * listing.  0, or -ENOENT when SRC has no index. */
static int index_build(const struct symsource_ctx *ctx,
                       const struct symsource *src, const char *key,
                       struct symindex *ix)
{
    char *url = remote_url(ctx, src, "000Admin/lastid.txt"), *text = NULL;
    unsigned long last;
    size_t len;

    memset(ix, 0, sizeof(*ix));
    if (source_text(ctx, src, "000Admin/lastid.txt", url, INDEX_PERIOD_MS,
                    &text, &len) < 0) {
        free(url);
        return -ENOENT;
    }
    last = strtoul(text, NULL, 10);
    free(text);
    free(url);
    for (unsigned long i = 1; i <= last && i <= INDEX_MAX_SEGMENTS; i++) {
        char rel[32];

        snprintf(rel, sizeof(rel), "000Admin/%010lu", i);
        url = remote_url(ctx, src, rel);
        if (source_text(ctx, src, rel, url, 0, &text, &len) == 0)
            index_add(ix, text);
        free(text);
        text = NULL;
        free(url);
    }
    qsort(ix->v, ix->n, sizeof(*ix->v), cmp_str);
    ix->key = xstrdup(key);
    return 0;
}

/* Keep of OUT[0..N) (into *KEPT) the paths the cached index KEY lists.
 * False when KEY is not cached. */
static bool index_cached_filter(const char *key,
                                char out[LAYOUT_MAX_PATHS][LAYOUT_PATH_MAX],
                                size_t n, size_t *kept)
{
    struct symindex *ix = NULL;

    pthread_mutex_lock(&indexes.lock);
    for (unsigned i = 0; i < INDEX_CACHED && ix == NULL; i++)
        if (indexes.slot[i].key && strcmp(indexes.slot[i].key, key) == 0)
            ix = &indexes.slot[i];
    *kept = 0;
    for (size_t i = 0; ix != NULL && i < n; i++) {
        char *p = out[i];

        if (bsearch(&p, ix->v, ix->n, sizeof(*ix->v), cmp_str) == NULL)
            continue;
        if (*kept != i)
            memcpy(out[*kept], out[i], LAYOUT_PATH_MAX);
        (*kept)++;
    }
    pthread_mutex_unlock(&indexes.lock);
    return ix != NULL;
}

/* Keep of OUT[0..N) the paths SRC's index lists; with no index, all. */
static size_t index_filter(const struct symsource_ctx *ctx,
                           const struct symsource *src,
                           char out[LAYOUT_MAX_PATHS][LAYOUT_PATH_MAX],
                           size_t n)
{
    char *url = remote_url(ctx, src, "000Admin/lastid.txt");
    char *key = xasprintf("%s\n%s\n%s\n%" PRId64, src->is_public ? "global"
                                                              : ctx->scope,
                          src->id, url, wall_ms() / INDEX_PERIOD_MS);
    struct symindex fresh;
    size_t kept;
    bool found = index_cached_filter(key, out, n, &kept);

    if (!found && index_build(ctx, src, key, &fresh) == 0) {
        pthread_mutex_lock(&indexes.lock);
        index_free(&indexes.slot[indexes.next % INDEX_CACHED]);
        indexes.slot[indexes.next++ % INDEX_CACHED] = fresh;
        pthread_mutex_unlock(&indexes.lock);
        /* evicted already by other builds: then every path is tried */
        found = index_cached_filter(key, out, n, &kept);
    }
    free(url);
    free(key);
    return found ? kept : n;
}

/* --- which paths ----------------------------------------------------------- */

static char fold(char c)
{
    return c == '\\' ? '/' : (char)tolower((unsigned char)c);
}

/* The class at *P (just past '['), against C; *P moves past its ']'.  1
 * or 0, or -1 when there is no ']' (then '[' is a plain character). */
static int glob_class(const char **p, char c)
{
    const char *q = *p;
    bool neg = *q == '!' || *q == '^', hit = false;

    if (neg)
        q++;
    for (bool first = true; *q != '\0' && (first || *q != ']'); first = false) {
        char lo = fold(*q), hi = lo;

        if (q[1] == '-' && q[2] != '\0' && q[2] != ']') {
            hi = fold(q[2]);
            q += 2;
        }
        hit |= c >= lo && c <= hi;
        q++;
    }
    if (*q != ']')
        return -1;
    *p = q + 1;
    return hit != neg;
}

bool symsource_glob(const char *pattern, const char *path)
{
    const char *p = pattern, *s = path, *star_p = NULL, *star_s = NULL;

    while (*s != '\0') {
        char c = fold(*s);
        const char *q = p + 1;
        int m;

        if (*p == '*') {
            while (*p == '*')
                p++;
            star_p = p;
            star_s = s;
            continue;
        }
        if (*p == '[' && (m = glob_class(&q, c)) >= 0) {
            if (m) {
                p = q;
                s++;
                continue;
            }
        } else if (*p != '\0' && (*p == '?' || fold(*p) == c)) {
            p++;
            s++;
            continue;
        }
        if (star_p == NULL)
            return false;
        p = star_p;
        s = ++star_s;
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/* Does one of SRC's path_patterns match the module's code or debug file
 * (none set: all do; a module without either file: none)? */
static bool patterns_match(const struct symsource *src,
                           const struct layout_ids *ids)
{
    size_t i;
    json_t *v;

    if (src->path_patterns == NULL)
        return true;
    json_array_foreach(src->path_patterns, i, v) {
        const char *pat = json_string_value(v);

        if (pat != NULL &&
            ((ids->code_file && symsource_glob(pat, ids->code_file)) ||
             (ids->debug_file && symsource_glob(pat, ids->debug_file))))
            return true;
    }
    return false;
}

size_t symsource_paths(const struct symsource_ctx *ctx,
                       const struct symsource *src,
                       const struct layout_ids *ids, enum layout_ft ft,
                       char out[LAYOUT_MAX_PATHS][LAYOUT_PATH_MAX])
{
    size_t n;

    if (!src->filetypes[ft] || !patterns_match(src, ids))
        return 0;
    if (src->kind == SYMSOURCE_SENTRY)
        return sentry_paths(ctx, src, ids, ft, out);
    /* the box's cache holds Breakpad files at the native layout's path */
    if (src->kind == SYMSOURCE_CACHE && ft == LAYOUT_FT_BREAKPAD)
        return layout_paths(LAYOUT_NATIVE, LAYOUT_CASE_DEFAULT, ids, ft, out);
    n = layout_paths(src->layout, src->casing, ids, ft, out);
    if (n > 0 && symsource_lists(src)) /* a sentry source returned above */
        n = index_filter(ctx, src, out, n);
    return n;
}

enum symsource_status symsource_get(const struct symsource_ctx *ctx,
                                    const struct symsource *src,
                                    const char *rel, char **local,
                                    struct stat *sb, char **location,
                                    char *detail, size_t dlen)
{
    *local = NULL;
    if (location != NULL)
        *location = NULL;
    detail[0] = '\0';
    switch (src->kind) {
    case SYMSOURCE_CACHE:
        return cache_get(ctx, rel, local, sb, location, detail, dlen);
    case SYMSOURCE_FILESYSTEM:
        return fs_get(ctx, src, rel, local, sb, location, detail, dlen);
    case SYMSOURCE_HTTP:
    case SYMSOURCE_S3:
    case SYMSOURCE_GCS:
    case SYMSOURCE_SENTRY:
        break;
    }
    return remote_get(ctx, src, rel, local, sb, location, detail, dlen);
}
