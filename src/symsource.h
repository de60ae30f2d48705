/* SPDX-License-Identifier: MIT */
/*
 * symsource: the symbol sources of a /symbolicate request (its "sources"
 * array, or the box's own cache when it has none) and getting one file
 * from one of them.
 *
 * An http source's files are downloaded with libcurl into
 * "<cache dir>/.Symsrvd/sources/<hash>" (temp file, then rename; a 404 is
 * remembered as an empty file for [cache] negative_ttl), keyed by scope,
 * source id and URL, so a private source's files stay in their scope and
 * a public one's (is_public) are shared.  Request-supplied URLs are a
 * server-side request forgery hole: with allow_request_sources = public,
 * every address the host resolves to must be public, the checked address
 * is pinned for the connection (CURLOPT_RESOLVE), only http and https are
 * spoken, and redirects are followed by hand and checked the same way.
 *
 * THREADS.  A parsed source list is immutable; any thread may fetch.
 */
#ifndef SYMSRVD_SYMSOURCE_H
#define SYMSRVD_SYMSOURCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "layout.h"

struct config;

enum symsource_kind {
    SYMSOURCE_CACHE,      /* the box's own symstore tree */
    SYMSOURCE_HTTP,
    SYMSOURCE_FILESYSTEM,
    SYMSOURCE_UNSUPPORTED /* s3, gcs, sentry: known, not served yet */
};

struct symsource {
    char *id;
    enum symsource_kind kind;
    char *base;    /* http: URL without trailing '/'; filesystem: dir */
    json_t *headers; /* http: object of extra headers (borrowed ref) */
    enum layout_type layout;
    enum layout_casing casing;
    bool filetypes[LAYOUT_FT_COUNT]; /* which file types it may serve */
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
};
const char *symsource_status_name(enum symsource_status st);

/* Context shared by the fetches of one job. */
struct symsource_ctx {
    const struct config *cfg;
    const char *scope; /* "global" when the request gave none */
};

/* Get REL (a layout path) from SRC.  On SYMSOURCE_OK *LOCAL is a new
 * string naming a local file to read.  LOCATION (new string) is what the
 * candidate list shows (URL or path).  DETAIL receives a reason for
 * errors. */
enum symsource_status symsource_get(const struct symsource_ctx *ctx,
                                    const struct symsource *src,
                                    const char *rel, char **local,
                                    char **location, char *detail,
                                    size_t dlen);

/* Is the IPv4/IPv6 address SA public (not loopback, private, link-local,
 * CGNAT, multicast, documentation or otherwise reserved)? */
struct sockaddr;
bool symsource_addr_public(const struct sockaddr *sa);

#endif
