/* SPDX-License-Identifier: MIT */
/*
 * upstream: what one configured upstream is asked for, and how.  A
 * client's key becomes the upstream's own URLs by its layout (layout.c's
 * rules, shared with the /symbolicate sources), casing and filter; a
 * request carries its configured headers and, for an s3:// bucket, the
 * SigV4 parameter and keys (s3.c) that libcurl signs with.  fetch.c
 * turns these strings into curl options.
 *
 * THREADS.  Pure functions of the immutable configuration (and, for s3
 * keys, the environment); any thread may call them.
 */
#ifndef SYMSRVD_UPSTREAM_H
#define SYMSRVD_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "layout.h"

struct config_upstream;
struct symkey;

#define UPSTREAM_MAX_URLS LAYOUT_MAX_PATHS

/* The URLs under which UP is asked for KEY, preferred first, as new
 * strings into URLS; the first *NPLAIN name the file itself, the rest its
 * compressed twins (cabinets).  Returns how many: 0 when UP is never
 * asked for KEY (its layout cannot say it, or its filter leaves it out).
 * Free with upstream_urls_free(). */
size_t upstream_urls(const struct config_upstream *up,
                     const struct symkey *key,
                     char *urls[UPSTREAM_MAX_URLS], size_t *nplain);
void upstream_urls_free(char **urls, size_t n);

/* Is UP asked for KEY at all? */
bool upstream_serves(const struct config_upstream *up,
                     const struct symkey *key);

/* BASE + "/" + each '/'-separated component of REL percent-encoded (a
 * new string); empty components are dropped. */
char *upstream_join(const char *base, const char *rel);

/* What a request to an upstream carries besides its URL. */
struct upstream_auth {
    char **headers; /* "Name: value" lines, NULL-terminated */
    char *sigv4;    /* CURLOPT_AWS_SIGV4, NULL: unsigned */
    char *userpwd;  /* "ACCESS:SECRET" for SIGV4 (never logged) */
};

/* Fill *A for UP: its header lines, and for an s3:// bucket with keys
 * (its own, else AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, with
 * AWS_SESSION_TOKEN as X-Amz-Security-Token) the signing.  Release with
 * upstream_auth_clear(). */
void upstream_auth_init(const struct config_upstream *up,
                        struct upstream_auth *a);
void upstream_auth_clear(struct upstream_auth *a);

#endif
