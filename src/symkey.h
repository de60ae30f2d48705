/* SPDX-License-Identifier: MIT */
/*
 * symkey: parse and validate SymSrv request paths.
 *
 * A request path is "/<name>/<id>/<file>" or
 * "/download/symbols/<name>/<id>/<file>", percent-encoded.  It is decoded
 * exactly once and then validated, so "%2e%2e", "%2f" and "%00" can never
 * become a path component the file system would interpret.  The parsed key
 * keeps the client's letter case (upstream object stores are
 * case-sensitive); symkey_canonical() folds it for the cache index and the
 * on-disk symstore tree.
 */
#ifndef SYMSRVD_SYMKEY_H
#define SYMSRVD_SYMKEY_H

#include <stddef.h>

#define SYMKEY_NAME_MAX 255 /* bytes of name and file after decoding */
#define SYMKEY_ID_MAX   128 /* characters of the index directory */
/* "name/ID/file" plus NUL */
#define SYMKEY_CANON_MAX (SYMKEY_NAME_MAX * 2 + SYMKEY_ID_MAX + 3)

/* A decoded, validated key in the client's case. */
struct symkey {
    char name[SYMKEY_NAME_MAX + 1];
    char id[SYMKEY_ID_MAX + 1];
    char file[SYMKEY_NAME_MAX + 1];
};

/* Parse PATH, the raw request target up to (not including) any '?'.
 * PATH_LEN is its length.  Returns 0 and fills *KEY, or -EINVAL with *WHY
 * pointing to a static one-line reason (never an echo of the input), or
 * -ENOENT when PATH is well-formed but not a symbol path (wrong number of
 * components), so the caller can route it elsewhere. */
int symkey_parse(const char *path, size_t path_len, struct symkey *key,
                 const char **why);

/* Write the canonical key "name/ID/file" (name and file lower-cased, id
 * upper-cased, ASCII only) into BUF of LEN bytes.  Returns the string
 * length, or -ENAMETOOLONG if it does not fit. */
int symkey_canonical(const struct symkey *key, char *buf, size_t len);

/* Write KEY as sent, "name/id/file" in the client's case: the key of a
 * remembered miss, since upstream stores are case-sensitive.  Returns the
 * string length, or -ENAMETOOLONG. */
int symkey_exact(const struct symkey *key, char *buf, size_t len);

/* Percent-decode SRC[0..LEN) into DST (at least LEN + 1 bytes) and
 * NUL-terminate it.  Returns the decoded length, or -EINVAL for a '%' not
 * followed by two hex digits or a decoded NUL byte. */
int symkey_decode(const char *src, size_t len, char *dst);

/* Percent-encode S for use as one URL path component: everything but
 * RFC 3986 unreserved characters is escaped.  Returns the length or
 * -ENAMETOOLONG. */
int symkey_encode(const char *s, char *buf, size_t len);

#endif
