/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "upstream.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "decompress.h"
#include "s3.h"
#include "symkey.h"
#include "xalloc.h"

/* Does FILE match one of FILTER's comma-separated globs (any case: the
 * clients do not agree on it)?  No filter matches everything. */
static bool filter_match(const char *filter, const char *file)
{
    char *copy, *save = NULL;
    bool hit = false;

    if (filter == NULL)
        return true;
    copy = xstrdup(filter);
    for (char *g = strtok_r(copy, ",", &save); g != NULL && !hit;
         g = strtok_r(NULL, ",", &save)) {
        while (*g == ' ')
            g++;
        for (size_t n = strlen(g); n > 0 && g[n - 1] == ' ';)
            g[--n] = '\0';
        hit = fnmatch(g, file, FNM_CASEFOLD) == 0;
    }
    free(copy);
    return hit;
}

/* The root every path of UP hangs under (new string). */
static char *base_url(const struct config_upstream *up)
{
    char *bucket, *prefix, *url;

    if (strncmp(up->url, "s3://", 5) != 0 ||
        s3_parse_uri(up->url, &bucket, &prefix) != 0)
        return xstrdup(up->url);
    url = s3_base_url(bucket, prefix,
                      up->region != NULL ? up->region : s3_env_region(),
                      up->endpoint);
    free(bucket);
    free(prefix);
    return url;
}

char *upstream_join(const char *base, const char *rel)
{
    char *copy = xstrdup(rel), *save = NULL, enc[3 * SYMKEY_NAME_MAX + 1];
    size_t cap = strlen(base) + 3 * strlen(rel) + 2, off;
    char *url = xmalloc(cap);

    off = (size_t)snprintf(url, cap, "%s", base);
    for (char *seg = strtok_r(copy, "/", &save); seg != NULL;
         seg = strtok_r(NULL, "/", &save))
        if (symkey_encode(seg, enc, sizeof(enc)) > 0)
            off += (size_t)snprintf(url + off, cap - off, "/%s", enc);
    free(copy);
    return url;
}

static void apply_casing(char *s, enum config_casing casing)
{
    for (; *s != '\0'; s++) {
        if (casing == CONFIG_CASING_LOWER && *s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
        else if (casing == CONFIG_CASING_UPPER && *s >= 'a' && *s <= 'z')
            *s = (char)(*s - 'a' + 'A');
    }
}

/* native: the client's own path in UP's casing, then its twin. */
static size_t native_paths(const struct config_upstream *up,
                           const struct symkey *k,
                           char out[LAYOUT_MAX_PATHS][LAYOUT_PATH_MAX],
                           size_t *nplain)
{
    char twin[SYMKEY_NAME_MAX + 1];
    size_t n = 0;

    if (k->kind != SYMKEY_SYMSTORE)
        return 0;
    snprintf(out[n++], LAYOUT_PATH_MAX, "%s/%s/%s", k->name, k->id, k->file);
    *nplain = 1;
    if (decompress_twin(k->file, twin, sizeof(twin)))
        snprintf(out[n++], LAYOUT_PATH_MAX, "%s/%s/%s", k->name, k->id, twin);
    for (size_t i = 0; i < n; i++)
        apply_casing(out[i], up->casing);
    return n;
}

/* A build-id key's source file or section on a debuginfod server (no
 * such file type in the layout rules), spelled as the debuginfod client
 * does.  A source path is absolute: its '/' stay. */
static char *debuginfod_file_url(const char *base, const struct symkey *k)
{
    char enc[3 * SYMKEY_NAME_MAX + 1];

    if (symkey_encode_path(k->file, enc, sizeof(enc)) < 0)
        return NULL;
    return xasprintf("%s/buildid/%s/%s%s%s", base, k->id, k->name,
                     enc[0] == '/' ? "" : "/", enc);
}

static const enum layout_type layout_of[] = {
    [CONFIG_LAYOUT_DEBUGINFOD] = LAYOUT_DEBUGINFOD,
    [CONFIG_LAYOUT_SYMSTORE] = LAYOUT_SYMSTORE,
    [CONFIG_LAYOUT_SYMSTORE_INDEX2] = LAYOUT_SYMSTORE_INDEX2,
    [CONFIG_LAYOUT_SSQP] = LAYOUT_SSQP,
    [CONFIG_LAYOUT_BREAKPAD] = LAYOUT_BREAKPAD,
    [CONFIG_LAYOUT_UNIFIED] = LAYOUT_UNIFIED,
};

/* Any other layout: the key as ids, then layout.c's paths. */
static size_t layout_rule_paths(const struct config_upstream *up,
                                const struct symkey *k,
                                char out[LAYOUT_MAX_PATHS][LAYOUT_PATH_MAX],
                                size_t *nplain)
{
    static const enum layout_casing casing[] = {
        [CONFIG_CASING_KEEP] = LAYOUT_CASE_DEFAULT,
        [CONFIG_CASING_LOWER] = LAYOUT_CASE_LOWER,
        [CONFIG_CASING_UPPER] = LAYOUT_CASE_UPPER,
    };
    struct layout_ids ids;
    enum layout_ft ft;
    size_t n;
    int rc;

    if (k->kind == SYMKEY_SYMSTORE)
        rc = layout_key(k->name, k->id, k->file, &ids, &ft);
    else if (k->file[0] == '\0')
        rc = layout_buildid(k->id, strcmp(k->name, SYMKEY_EXECUTABLE) == 0,
                            &ids, &ft);
    else
        rc = -1; /* a source file or a section: debuginfod's own */
    if (rc != 0)
        return 0;
    n = layout_paths(layout_of[up->layout], casing[up->casing], &ids, ft,
                     out);
    *nplain = ft == LAYOUT_FT_PE || ft == LAYOUT_FT_PDB ? n / 2 : n;
    return n;
}

size_t upstream_urls(const struct config_upstream *up,
                     const struct symkey *key,
                     char *urls[UPSTREAM_MAX_URLS], size_t *nplain)
{
    char paths[LAYOUT_MAX_PATHS][LAYOUT_PATH_MAX];
    size_t n = 0, k;
    char *base;

    *nplain = 0;
    if (!filter_match(up->filter, key->kind == SYMKEY_SYMSTORE ? key->file
                                                               : key->name))
        return 0;
    if (up->layout == CONFIG_LAYOUT_DEBUGINFOD && key->kind == SYMKEY_BUILDID &&
        key->file[0] != '\0') {
        urls[0] = debuginfod_file_url(up->url, key);
        *nplain = urls[0] != NULL;
        return *nplain;
    }
    if (up->layout == CONFIG_LAYOUT_NATIVE)
        n = native_paths(up, key, paths, nplain);
    else
        n = layout_rule_paths(up, key, paths, nplain);
    if (n == 0)
        return 0;
    /* a debuginfod server's root is where DEBUGINFOD_URLS points */
    base = up->layout == CONFIG_LAYOUT_DEBUGINFOD
               ? xasprintf("%s/buildid", up->url)
               : base_url(up);
    for (k = 0; k < n; k++)
        urls[k] = upstream_join(base, paths[k]);
    free(base);
    return n;
}

void upstream_urls_free(char **urls, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(urls[i]);
}

bool upstream_serves(const struct config_upstream *up,
                     const struct symkey *key)
{
    char *urls[UPSTREAM_MAX_URLS];
    size_t nplain, n = upstream_urls(up, key, urls, &nplain);

    upstream_urls_free(urls, n);
    return n > 0;
}

void upstream_auth_init(const struct config_upstream *up,
                        struct upstream_auth *a)
{
    const char *token = NULL;
    size_t n = 0;

    memset(a, 0, sizeof(*a));
    a->headers = xcalloc(up->headers.n + 2, sizeof(*a->headers));
    for (size_t i = 0; i < up->headers.n; i++)
        a->headers[n++] = xstrdup(up->headers.v[i]);
    if (strncmp(up->url, "s3://", 5) != 0)
        return;
    if (up->access_key != NULL)
        a->userpwd = xasprintf("%s:%s", up->access_key, up->secret_key);
    else
        a->userpwd = s3_env_keys(&token);
    if (a->userpwd == NULL)
        return; /* a public bucket: unsigned requests */
    a->sigv4 = s3_sigv4(up->region != NULL ? up->region : s3_env_region());
    if (token != NULL)
        a->headers[n++] = xasprintf("X-Amz-Security-Token: %s", token);
}

void upstream_auth_clear(struct upstream_auth *a)
{
    for (char **h = a->headers; h != NULL && *h != NULL; h++)
        free(*h);
    free(a->headers);
    free(a->sigv4);
    free(a->userpwd);
    memset(a, 0, sizeof(*a));
}
