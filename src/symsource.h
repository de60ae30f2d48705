/* SPDX-License-Identifier: MIT */
/*
 * symsource: the symbol sources of a /symbolicate request (its "sources"
 * array, or the box's own cache when it has none) and getting one file
 * from one of them.
 *
 * An http source's files are downloaded by the worker's downloader pool
 * (fetch.h, as a struct fetch_origin) and stored under the key
 * ".Symsrvd/sources/<hash>" of scope, source id and URL, so a private
 * source's files stay in their scope and a public one's (is_public) are
 * shared; like a proxy download, it is shared by the jobs that ask at
 * once, a compressed twin (name.pd_) is tried and decoded, the file is
 * published and indexed (so evicted like the rest), a 404 is remembered
 * for [cache] negative_ttl, and the bytes are counted in /metrics.  The
 * proxy never serves or lists these keys.  Request-supplied URLs are a
 * server-side request forgery hole: every URL, the first and each
 * redirect's target (followed by hand), passes ssrf_check() (ssrf.h) and
 * is pinned to the addresses it checked; a source's headers and keys go
 * to its own URL only, never to a redirect's target.  An s3 source is an
 * http source at its bucket's URL (Amazon's, or the endpoint its region
 * names), signed with libcurl's CURLOPT_AWS_SIGV4 when it has keys.
 *
 * The box's own cache source reads the proxy's store; a file it lacks is
 * fetched from the configured upstreams by the worker's downloader pool
 * (src/fetch.c) exactly as a proxy miss is: one download per key shared
 * with the proxy's clients and other jobs (inflight.c), decoded from
 * CAB/gzip, published by store_publish(), a 404 remembered in the
 * negative cache, counted in /metrics.  The job's thread blocks in
 * dl_wait_end() until the download ends.
 *
 * THREADS.  A parsed source list is immutable; any thread may fetch.
 */
#ifndef SYMSRVD_SYMSOURCE_H
#define SYMSRVD_SYMSOURCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "layout.h"

struct config;

enum symsource_kind {
    SYMSOURCE_CACHE,      /* the box's own symstore tree */
    SYMSOURCE_HTTP,
    SYMSOURCE_S3,         /* over HTTP, signed with SigV4 when keyed */
    SYMSOURCE_FILESYSTEM,
    SYMSOURCE_GCS,    /* over HTTP (the JSON API's media download) */
    SYMSOURCE_SENTRY, /* Sentry's debug-files API: listed, then by id */
};

struct symsource {
    char *id;
    enum symsource_kind kind;
    char *base;    /* http, s3, sentry: URL without trailing '/'; gcs: the
                    * bucket; filesystem: dir */
    json_t *headers; /* object of extra headers (new or a reference) */
    char *uri;       /* s3, gcs: "s3://bucket/prefix", for candidate lists */
    char *prefix;    /* gcs: the object name prefix, "" or ending in '/' */
    char *gcs_email; /* gcs with a service account key: its account */
    char *gcs_key;   /* and its private key, PEM (never logged) */
    char *s3_sigv4;  /* s3: "aws:amz:REGION:s3", NULL when unsigned */
    char *s3_keys;   /* s3: "ACCESS:SECRET" (never logged), or NULL */
    enum layout_type layout;
    enum layout_casing casing;
    bool filetypes[LAYOUT_FT_COUNT]; /* which file types it may serve */
    json_t *path_patterns; /* globs on code_file/debug_file, or NULL */
    bool has_index;        /* symstore: only what 000Admin lists */
    bool is_public;
};

struct symsource_list {
    struct symsource *v;
    size_t n;
};

/* Parse the request's SOURCES (NULL or JSON null: the box's own cache).
 * 0, or -EPROTO for an unknown source type or a bad field (answer 422),
 * with ERR set.  Free with symsource_list_free(). */
int symsource_parse(const json_t *sources, struct symsource_list *out,
                    char *err, size_t errlen);
void symsource_list_free(struct symsource_list *l);

/* How one download ended, as Symbolicator's candidate "download.status". */
enum symsource_status {
    SYMSOURCE_OK,
    SYMSOURCE_NOTFOUND,
    SYMSOURCE_NOPERM,
    SYMSOURCE_ERROR,
    SYMSOURCE_WOULDBLOCK, /* only with nowait: it needs a download */
};
const char *symsource_status_name(enum symsource_status st);

struct cache;
struct fetch;
struct inflight;

/* The worker's downloader pool and what it publishes into; all three
 * outlive every job. */
struct symsource_pool {
    struct fetch *fetch;
    struct inflight *inflight;
    struct cache *cache;
};

/* Context shared by the fetches of one job. */
struct symsource_ctx {
    const struct config *cfg;
    const struct symsource_pool *pool; /* NULL: the cache is only read */
    const char *scope; /* "global" when the request gave none */
    /* mono_ms() at which the job is answered "timeout" (0: never): no
     * download is waited for past it */
    uint64_t deadline_ms;
    /* answer SYMSOURCE_WOULDBLOCK instead of starting or joining a
     * download (a request answered on the HTTP thread when it can be) */
    bool nowait;
};

/* What SRC is asked for, for file type FT of the module IDS, preferred
 * first, into OUT: layout paths, or a sentry source's file ids, which it
 * lists (one download, cached for up to an hour).  None when SRC's
 * filters (filetypes, path_patterns) leave the module or FT out, or when
 * its symstore index (has_index) lists none of them.  Returns how many;
 * each is a REL for symsource_get(). */
size_t symsource_paths(const struct symsource_ctx *ctx,
                       const struct symsource *src,
                       const struct layout_ids *ids, enum layout_ft ft,
                       char out[LAYOUT_MAX_PATHS][LAYOUT_PATH_MAX]);

/* Does the glob PATTERN match PATH as Symbolicator's path_patterns do:
 * case-insensitive, '*' and '?' crossing '/', [classes], with every '\'
 * in PATH taken as '/'? */
bool symsource_glob(const char *pattern, const char *path);

/* Get REL (from symsource_paths()) from SRC.  On SYMSOURCE_OK *LOCAL is a new
 * string naming a local file to read and *SB its stat(), taken on the
 * way (the table cache compares it with its table's instead of taking
 * another).  LOCATION (new string; not made when LOCATION is NULL) is what
 * the candidate list shows (URL or path).  DETAIL receives a reason for errors. */
enum symsource_status symsource_get(const struct symsource_ctx *ctx,
                                    const struct symsource *src,
                                    const char *rel, char **local,
                                    struct stat *sb, char **location,
                                    char *detail, size_t dlen);

/* Does SRC fetch over the network (http, s3, gcs, sentry)? */
bool symsource_remote(const struct symsource *src);

/* Does symsource_paths() for SRC download a listing (a sentry source's
 * file list, a symstore index), which nowait does not cover? */
bool symsource_lists(const struct symsource *src);

#endif
