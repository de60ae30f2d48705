/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "symsource.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "config.h"
#include "decompress.h"
#include "fetch.h"
#include "inflight.h"
#include "metrics.h"
#include "store.h"
#include "strhash.h"
#include "symkey.h"
#include "timeutil.h"
#include "xalloc.h"


const char *symsource_status_name(enum symsource_status st)
{
    static const char *const names[] = {"ok", "notfound", "noperm", "error"};

    return names[st];
}

/* --- parsing ----------------------------------------------------------- */

static void source_free(struct symsource *s)
{
    free(s->id);
    free(s->base);
    json_decref(s->headers);
    free(s->s3_uri);
    free(s->s3_sigv4);
    free(s->s3_keys);
}

bool symsource_remote(const struct symsource *src)
{
    return src->kind == SYMSOURCE_HTTP || src->kind == SYMSOURCE_S3;
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

/* filters.filetypes: [] means all; names we do not serve select nothing. */
static void parse_filters(const json_t *o, struct symsource *s)
{
    const json_t *fts = json_object_get(json_object_get(o, "filters"),
                                        "filetypes");
    size_t i;
    json_t *v;

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

/* A bucket name as S3 allows it (also keeps it a single URL label). */
static bool bucket_ok(const char *b)
{
    size_t n = strlen(b);

    if (n < 3 || n > 63)
        return false;
    for (; *b != '\0'; b++)
        if (!((*b >= 'a' && *b <= 'z') || (*b >= '0' && *b <= '9') ||
              *b == '-' || *b == '.'))
            return false;
    return true;
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
    char *pre;
    size_t n;

    if (json_is_array(region)) {
        name = json_string_value(json_array_get(region, 0));
        endpoint = json_string_value(json_array_get(region, 1));
    }
    if (bucket == NULL || !bucket_ok(bucket) || name == NULL ||
        strpbrk(name, "/:?#@ ") != NULL ||
        (endpoint != NULL && strncmp(endpoint, "http://", 7) != 0 &&
         strncmp(endpoint, "https://", 8) != 0)) {
        snprintf(err, errlen,
                 "sources: %s: s3 needs a bucket and a region (a name, or "
                 "[name, \"http(s)://endpoint\"])",
                 s->id);
        return -EPROTO;
    }
    /* the prefix without leading and trailing '/' */
    prefix = prefix ? prefix : "";
    while (*prefix == '/')
        prefix++;
    pre = xstrdup(prefix);
    for (n = strlen(pre); n > 0 && pre[n - 1] == '/';)
        pre[--n] = '\0';
    if (endpoint != NULL) {
        char *ep = strip_slashes(endpoint);

        s->base = xasprintf("%s/%s%s%s", ep, bucket, *pre ? "/" : "", pre);
        free(ep);
    } else {
        s->base = xasprintf("https://%s.s3.%s.amazonaws.com%s%s", bucket, name,
                            *pre ? "/" : "", pre);
    }
    s->s3_uri = xasprintf("s3://%s%s%s", bucket, *pre ? "/" : "", pre);
    if (ak != NULL && sk != NULL) {
        s->s3_sigv4 = xasprintf("aws:amz:%s:s3", name);
        s->s3_keys = xasprintf("%s:%s", ak, sk);
    }
    s->kind = SYMSOURCE_S3;
    free(pre);
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
    } else if (strcmp(type, "gcs") == 0 || strcmp(type, "sentry") == 0) {
        s->kind = SYMSOURCE_UNSUPPORTED;
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
    if (rc == 0)
        rc = parse_layout(o, s, err, errlen);
    parse_filters(o, s);
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

    if (p == NULL || !fetch_serves(ctx->cfg, key))
        return SYMSOURCE_NOTFOUND;
    if (symkey_exact(key, neg, sizeof(neg)) >= 0 &&
        cache_negative(p->cache, neg, NULL))
        return SYMSOURCE_NOTFOUND;
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
                                       char **location, char *detail,
                                       size_t dlen)
{
    struct symkey key;
    char canon[SYMKEY_CANON_MAX], path[STORE_PATH_MAX];
    enum symsource_status st = SYMSOURCE_OK;
    struct stat sb;

    if (!rel_key(rel, &key) ||
        symkey_canonical(&key, canon, sizeof(canon)) < 0 ||
        store_file_path(ctx->cfg->cache_dir, canon, path, sizeof(path)) < 0)
        return SYMSOURCE_NOTFOUND;
    *location = xasprintf("symsrvd://%s", canon);
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0)
        st = pool_get(ctx, &key, canon, detail, dlen);
    if (st == SYMSOURCE_OK &&
        (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0))
        st = SYMSOURCE_NOTFOUND; /* published, then evicted already */
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
                                    char **location, char *detail, size_t dlen)
{
    char *path = xasprintf("%s/%s", src->base, rel), real[PATH_MAX];
    enum symsource_status st = SYMSOURCE_NOTFOUND;
    struct stat sb;

    *location = xasprintf("file://%s", path);
    if (ctx->cfg->allow_request_sources == CONFIG_SOURCES_NO) {
        snprintf(detail, dlen, "request sources are not allowed");
        st = SYMSOURCE_NOPERM;
    } else if (realpath(path, real) == NULL) {
        st = SYMSOURCE_NOTFOUND;
    } else if (!under_roots(ctx->cfg->filesystem_roots, real)) {
        snprintf(detail, dlen, "path is outside [symbolicate] filesystem_roots");
        st = SYMSOURCE_NOPERM;
    } else if (stat(real, &sb) == 0 && S_ISREG(sb.st_mode) &&
               sb.st_size > 0) {
        *local = xstrdup(real);
        st = SYMSOURCE_OK;
    }
    free(path);
    return st;
}

/* --- http ------------------------------------------------------------------ */

static bool v4_public(uint32_t a)
{
    static const struct {
        uint32_t net, mask;
    } blocked[] = {
        {0x00000000, 0xff000000}, {0x0a000000, 0xff000000}, /* 0/8 10/8 */
        {0x64400000, 0xffc00000}, {0x7f000000, 0xff000000}, /* CGNAT, lo */
        {0xa9fe0000, 0xffff0000}, {0xac100000, 0xfff00000}, /* link-local */
        {0xc0000000, 0xffffff00}, {0xc0000200, 0xffffff00}, /* 192.0.0/24 */
        {0xc0a80000, 0xffff0000}, {0xc6120000, 0xfffe0000}, /* 192.168 */
        {0xc6336400, 0xffffff00}, {0xcb007100, 0xffffff00}, /* TEST-NETs */
        {0xe0000000, 0xf0000000}, {0xf0000000, 0xf0000000}, /* mc, res */
    };

    for (size_t i = 0; i < sizeof(blocked) / sizeof(*blocked); i++)
        if ((a & blocked[i].mask) == blocked[i].net)
            return false;
    return true;
}

static bool v6_public(const uint8_t *b)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};

    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
        return v4_public((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
                         (uint32_t)b[14] << 8 | b[15]);
    if ((b[0] & 0xe0) != 0x20) /* only 2000::/3 is global unicast */
        return false;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
        return false; /* documentation */
    if (b[0] == 0x20 && b[1] == 0x02) /* 6to4: check the embedded v4 */
        return v4_public((uint32_t)b[2] << 24 | (uint32_t)b[3] << 16 |
                         (uint32_t)b[4] << 8 | b[5]);
    return true;
}

bool symsource_addr_public(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return v4_public(
            ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
    if (sa->sa_family == AF_INET6)
        return v6_public(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
    return false;
}

/* One hop's target, checked.  RESOLVE gets "host:port:addr" to pin. */
static int check_target(const void *arg, const char *url, char *resolve,
                        size_t rlen, char *detail, size_t dlen)
{
    const struct config *cfg = arg;
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL, *p;
    char addr[INET6_ADDRSTRLEN] = "";
    int rc = -EPERM;

    resolve[0] = '\0';
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
            CURLUE_OK) {
        snprintf(detail, dlen, "bad url");
        goto out;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        snprintf(detail, dlen, "only http and https are allowed");
        goto out;
    }
    if (cfg->allow_request_sources == CONFIG_SOURCES_ANY) {
        rc = 0;
        goto out;
    }
    {
        char h[256];
        size_t n = strlen(host);

        /* an IPv6 literal comes back in brackets */
        snprintf(h, sizeof(h), "%.*s", host[0] == '[' ? (int)n - 2 : (int)n,
            host[0] == '[' ? host + 1 : host);
        if (getaddrinfo(h, port, &hints, &ai) != 0 || ai == NULL) {
            snprintf(detail, dlen, "cannot resolve host");
            rc = -EIO;
            goto out;
        }
    }
    for (p = ai; p != NULL; p = p->ai_next) {
        if (!symsource_addr_public(p->ai_addr)) {
            snprintf(detail, dlen, "download failed: destination is restricted");
            goto out;
        }
    }
    if (ai->ai_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, addr,
                  sizeof(addr));
    else
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr,
                  addr, sizeof(addr));
    if (host[0] != '[')
        snprintf(resolve, rlen, "%s:%s:%s", host, port, addr);
    rc = 0;
out:
    if (ai)
        freeaddrinfo(ai);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

/* The source's headers as "Name: value" lines (NULL-terminated), those
 * that could not split a request left out. */
static char **header_lines(const struct symsource *src)
{
    char **l = xcalloc(json_object_size(src->headers) + 1, sizeof(*l));
    size_t n = 0;
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
    char *copy = xstrdup(rel), *save = NULL, *seg, enc[1024];
    size_t cap = strlen(src->base) + 3 * strlen(rel) + 2, off;
    char *url = xmalloc(cap);

    off = (size_t)snprintf(url, cap, "%s", src->base);
    for (seg = strtok_r(copy, "/", &save); seg != NULL;
         seg = strtok_r(NULL, "/", &save))
        if (symkey_encode(seg, enc, sizeof(enc)) > 0)
            off += (size_t)snprintf(url + off, cap - off, "/%s", enc);
    free(copy);
    return url;
}

/* What the pool fetches for REL at URL in SRC. */
static struct fetch_origin *origin_new(const struct symsource_ctx *ctx,
                                       const struct symsource *src,
                                       const char *rel, const char *url)
{
    struct fetch_origin *o = xcalloc(1, sizeof(*o));
    const char *file = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    char twin[SYMKEY_NAME_MAX + 1];

    o->label = xstrdup(src->id);
    o->urls[0] = xstrdup(url);
    if (decompress_twin(file, twin, sizeof(twin))) {
        char *trel = xasprintf("%.*s%s", (int)(file - rel), rel, twin);

        o->urls[1] = http_url(src, trel);
        free(trel);
    }
    o->headers = header_lines(src);
    if (src->s3_sigv4 != NULL) {
        o->sigv4 = xstrdup(src->s3_sigv4);
        o->userpwd = xstrdup(src->s3_keys);
    }
    o->check = check_target;
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
                                        const char *key, char *detail,
                                        size_t dlen)
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
        dl_set_origin(d, origin_new(ctx, src, rel, url), fetch_origin_free);
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

static enum symsource_status http_get(const struct symsource_ctx *ctx,
                                      const struct symsource *src,
                                      const char *rel, char **local,
                                      char **location, char *detail,
                                      size_t dlen)
{
    char *url = http_url(src, rel), *key, path[STORE_PATH_MAX];
    enum symsource_status st;

    *location = src->s3_uri ? xasprintf("%s/%s", src->s3_uri, rel)
                            : xstrdup(url);
    if (ctx->cfg->allow_request_sources == CONFIG_SOURCES_NO) {
        snprintf(detail, dlen, "request sources are not allowed");
        free(url);
        return SYMSOURCE_NOPERM;
    }
    if (ctx->pool == NULL) {
        snprintf(detail, dlen, "no downloader");
        free(url);
        return SYMSOURCE_ERROR;
    }
    key = source_key(ctx, src, url);
    if (store_file_path(ctx->cfg->cache_dir, key, path, sizeof(path)) != 0)
        st = SYMSOURCE_ERROR;
    else if (store_present(ctx->cfg->cache_dir, ctx->pool->cache, key))
        st = SYMSOURCE_OK;
    else if (cache_negative(ctx->pool->cache, key, NULL))
        st = SYMSOURCE_NOTFOUND;
    else
        st = pool_fetch(ctx, src, rel, url, key, detail, dlen);
    if (st == SYMSOURCE_OK)
        *local = xstrdup(path);
    free(key);
    free(url);
    return st;
}

enum symsource_status symsource_get(const struct symsource_ctx *ctx,
                                    const struct symsource *src,
                                    const char *rel, char **local,
                                    char **location, char *detail,
                                    size_t dlen)
{
    *local = NULL;
    *location = NULL;
    detail[0] = '\0';
    switch (src->kind) {
    case SYMSOURCE_CACHE:
        return cache_get(ctx, rel, local, location, detail, dlen);
    case SYMSOURCE_FILESYSTEM:
        return fs_get(ctx, src, rel, local, location, detail, dlen);
    case SYMSOURCE_HTTP:
    case SYMSOURCE_S3:
        return http_get(ctx, src, rel, local, location, detail, dlen);
    case SYMSOURCE_UNSUPPORTED:
        break;
    }
    *location = xstrdup(rel);
    snprintf(detail, dlen, "source type not supported by symsrvd yet");
    return SYMSOURCE_ERROR;
}
