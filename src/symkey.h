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
 *
 * A debuginfod path "/buildid/<hex>/debuginfo", "/executable",
 * "/source/<path>" or "/section/<name>" is a key like any other, of kind
 * SYMKEY_BUILDID: the build id is lower-cased, the source path made
 * absolute and canonical ("//", "/./" and "/x/.." folded, never above
 * "/"), and its canonical key "buildid/<hex>/<artifact>" names one file in
 * one directory whatever the path, so no source path can reach outside
 * the cache or collide with a directory, a gzip copy or a symstore key.
 */
#ifndef SYMSRVD_SYMKEY_H
#define SYMSRVD_SYMKEY_H

#include <stddef.h>

#define SYMKEY_NAME_MAX 255 /* bytes of name and file after decoding */
#define SYMKEY_ID_MAX   128 /* characters of the index directory */
#define SYMKEY_BUILD_ID_MAX 64 /* hex digits: a SHA-256 */
#define SYMKEY_SECTION_MAX 200
/* An escaped build-id file name: NAME_MAX less ".GZIP". */
#define SYMKEY_FILE_ON_DISK 250
/* "name/ID/file" plus NUL */
#define SYMKEY_CANON_MAX (SYMKEY_NAME_MAX * 2 + SYMKEY_ID_MAX + 3)

enum symkey_kind {
    SYMKEY_SYMSTORE, /* name/id/file */
    SYMKEY_BUILDID,  /* debuginfod: name is the artifact, id the build id */
};

/* What a build-id key asks for (its name). */
#define SYMKEY_DEBUGINFO "debuginfo"
#define SYMKEY_EXECUTABLE "executable"
#define SYMKEY_SOURCE "source"
#define SYMKEY_SECTION "section"

/* A decoded, validated key in the client's case.  SYMKEY_BUILDID: name
 * is one of the four artifacts above, id the build id in lower-case hex,
 * file the canonical absolute source path or the section name ("" for
 * debuginfo and executable). */
struct symkey {
    enum symkey_kind kind;
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
 * upper-cased, ASCII only; a build-id key as described above, its file
 * escaped) into BUF of LEN bytes.  Returns the string
 * length, or -ENAMETOOLONG if it does not fit. */
int symkey_canonical(const struct symkey *key, char *buf, size_t len);

/* Write KEY as sent, "name/id/file" in the client's case: the key of a
 * remembered miss, since upstream stores are case-sensitive.  Returns the
 * string length, or -ENAMETOOLONG. */
int symkey_exact(const struct symkey *key, char *buf, size_t len);

/* The name a build-id KEY's file goes by in X-DEBUGINFOD-FILE: the source
 * path's last component, the section's name or the artifact's. */
const char *symkey_file_label(const struct symkey *key);

/* Percent-decode SRC[0..LEN) into DST (at least LEN + 1 bytes) and
 * NUL-terminate it.  Returns the decoded length, or -EINVAL for a '%' not
 * followed by two hex digits or a decoded NUL byte. */
int symkey_decode(const char *src, size_t len, char *dst);

/* Percent-encode S for use as one URL path component: everything but
 * RFC 3986 unreserved characters is escaped.  Returns the length or
 * -ENAMETOOLONG. */
int symkey_encode(const char *s, char *buf, size_t len);

/* symkey_encode() for a path: its '/' stay, as the debuginfod client
 * sends source paths. */
int symkey_encode_path(const char *s, char *buf, size_t len);

#endif
