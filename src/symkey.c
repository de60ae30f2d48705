/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "symkey.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int symkey_decode(const char *src, size_t len, char *dst)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        char c = src[i];

        if (c == '%') {
            int hi, lo;

            if (i + 2 >= len)
                return -EINVAL;
            hi = hexval(src[i + 1]);
            lo = hi < 0 ? -1 : hexval(src[i + 2]);
            if (lo < 0)
                return -EINVAL;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0')
            return -EINVAL;
        dst[n++] = c;
    }
    dst[n] = '\0';
    return (int)n;
}

/* name and file: 1..255 bytes, no separators, NUL or control characters,
 * and not a directory reference. */
static const char *check_filename(const char *s, size_t n)
{
    size_t i;

    if (n == 0)
        return "empty path component";
    if (n > SYMKEY_NAME_MAX)
        return "file name longer than 255 bytes";
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return "'.' and '..' are not file names";
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '/' || c == '\\')
            return "file name contains a path separator";
        if (c < 0x20 || c == 0x7f)
            return "file name contains a control character";
    }
    return NULL;
}

static const char *check_id(const char *s, size_t n)
{
    size_t i;

    if (n == 0)
        return "empty path component";
    if (n > SYMKEY_ID_MAX)
        return "index longer than 128 characters";
    if (s[0] == '.')
        return "index starts with '.'";
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                  (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == '-';

        if (!ok)
            return "index has a character outside [A-Za-z0-9._-]";
    }
    return NULL;
}

/* Split PATH on '/' into at most MAX raw components.  Returns the count,
 * MAX + 1 when there are more. */
static size_t split_path(const char *path, size_t len, const char **seg,
                         size_t *seglen, size_t max)
{
    size_t n = 0, i = 1, start = 1;

    for (; i <= len; i++) {
        if (i < len && path[i] != '/')
            continue;
        if (n == max)
            return max + 1;
        seg[n] = path + start;
        seglen[n] = i - start;
        n++;
        start = i + 1;
    }
    return n;
}

/* Decode one raw component into DST (DSTLEN bytes) and validate it. */
static const char *decode_component(const char *raw, size_t rawlen, char *dst,
                                    size_t dstlen, bool is_id)
{
    char tmp[3 * SYMKEY_NAME_MAX + 1];
    int n;
    const char *err;

    if (rawlen > sizeof(tmp) - 1)
        return "path component too long";
    n = symkey_decode(raw, rawlen, tmp);
    if (n < 0)
        return "bad percent-encoding";
    err = is_id ? check_id(tmp, (size_t)n) : check_filename(tmp, (size_t)n);
    if (err != NULL)
        return err;
    if ((size_t)n >= dstlen)
        return "path component too long";
    memcpy(dst, tmp, (size_t)n + 1);
    return NULL;
}

/* --- build-id keys ------------------------------------------------------ */

static bool seg_is(const char *seg, size_t len, const char *word)
{
    return len == strlen(word) && memcmp(seg, word, len) == 0;
}

/* 2..SYMKEY_BUILD_ID_MAX hex digits, an even count; lower-cased into DST. */
static const char *parse_build_id(const char *raw, size_t rawlen, char *dst)
{
    size_t i;

    if (rawlen == 0 || rawlen % 2 != 0)
        return "build id must be an even number of hex digits";
    if (rawlen > SYMKEY_BUILD_ID_MAX)
        return "build id longer than 64 hex digits";
    for (i = 0; i < rawlen; i++) {
        if (hexval(raw[i]) < 0)
            return "build id must be an even number of hex digits";
        dst[i] = ascii_lower(raw[i]);
    }
    dst[rawlen] = '\0';
    return NULL;
}

/* Fold S (decoded, N bytes) into an absolute path without empty, "." or
 * ".." components into DST (DSTLEN bytes); ".." at the root stays there,
 * as the kernel resolves it. */
static const char *canon_source(const char *s, size_t n, char *dst,
                                size_t dstlen)
{
    size_t i = 0, out = 0;

    while (i < n) {
        size_t start, len;

        while (i < n && s[i] == '/')
            i++;
        start = i;
        while (i < n && s[i] != '/')
            i++;
        len = i - start;
        if (len == 0 || (len == 1 && s[start] == '.'))
            continue;
        if (len == 2 && s[start] == '.' && s[start + 1] == '.') {
            while (out > 0 && dst[out] != '/')
                out--;
            dst[out] = '\0';
            continue;
        }
        if (out + 1 + len >= dstlen)
            return "source path too long";
        dst[out++] = '/';
        memcpy(dst + out, s + start, len);
        out += len;
        dst[out] = '\0';
    }
    if (out == 0)
        return "source path names no file";
    dst[out] = '\0';
    return NULL;
}

static const char *no_controls(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return "path contains a control character";
    }
    return NULL;
}

/* The artifact SEG[2] and what follows it, the raw rest of the path. */
static const char *parse_artifact(const char *seg, size_t seglen,
                                  const char *rest, size_t restlen,
                                  struct symkey *key)
{
    char tmp[3 * SYMKEY_NAME_MAX + 1];
    int n;

    if (seg_is(seg, seglen, SYMKEY_DEBUGINFO) ||
        seg_is(seg, seglen, SYMKEY_EXECUTABLE)) {
        if (rest != NULL)
            return "nothing may follow debuginfo or executable";
        snprintf(key->name, sizeof(key->name), "%.*s", (int)seglen, seg);
        return NULL;
    }
    if (!seg_is(seg, seglen, SYMKEY_SOURCE) &&
        !seg_is(seg, seglen, SYMKEY_SECTION))
        return "unknown artifact (debuginfo, executable, source, section)";
    snprintf(key->name, sizeof(key->name), "%.*s", (int)seglen, seg);
    if (rest == NULL || restlen == 0)
        return "source and section need a name";
    if (restlen > sizeof(tmp) - 1)
        return "path too long";
    n = symkey_decode(rest, restlen, tmp);
    if (n < 0)
        return "bad percent-encoding";
    if (no_controls(tmp) != NULL)
        return no_controls(tmp);
    if (strcmp(key->name, SYMKEY_SOURCE) == 0)
        return canon_source(tmp, (size_t)n, key->file, sizeof(key->file));
    if (strchr(tmp, '/') != NULL || (size_t)n > SYMKEY_SECTION_MAX)
        return "section name must be one component of at most 200 bytes";
    memcpy(key->file, tmp, (size_t)n + 1);
    return NULL;
}

/* "/buildid/<hex>/<artifact>[/<name>]", PATH starting after "/buildid/". */
static int parse_buildid(const char *path, size_t len, struct symkey *key,
                         const char **why)
{
    const char *slash = memchr(path, '/', len), *art, *rest = NULL;
    char canon[SYMKEY_CANON_MAX];
    size_t artlen, restlen = 0;

    memset(key, 0, sizeof(*key));
    key->kind = SYMKEY_BUILDID;
    if (slash == NULL) {
        *why = "expected /buildid/<hex>/<artifact>";
        return -EINVAL;
    }
    *why = parse_build_id(path, (size_t)(slash - path), key->id);
    if (*why != NULL)
        return -EINVAL;
    art = slash + 1;
    artlen = len - (size_t)(art - path);
    slash = memchr(art, '/', artlen);
    if (slash != NULL) {
        rest = slash + 1;
        restlen = artlen - (size_t)(rest - art);
        artlen = (size_t)(slash - art);
    }
    *why = parse_artifact(art, artlen, rest, restlen, key);
    if (*why == NULL && symkey_canonical(key, canon, sizeof(canon)) < 0)
        *why = "source path too long";
    return *why == NULL ? 0 : -EINVAL;
}

int symkey_parse(const char *path, size_t path_len, struct symkey *key,
                 const char **why)
{
    const char *seg[6];
    size_t seglen[6], n, first = 0;
    const char *err;

    *why = NULL;
    if (path_len == 0 || path[0] != '/') {
        *why = "request target must start with '/'";
        return -EINVAL;
    }
    if (path_len > 9 && memcmp(path, "/buildid/", 9) == 0)
        return parse_buildid(path + 9, path_len - 9, key, why);
    key->kind = SYMKEY_SYMSTORE;
    n = split_path(path, path_len, seg, seglen, 5);
    if (n == 5 && seglen[0] == 8 && memcmp(seg[0], "download", 8) == 0 &&
        seglen[1] == 7 && memcmp(seg[1], "symbols", 7) == 0)
        first = 2;
    else if (n != 3)
        return -ENOENT;
    err = decode_component(seg[first], seglen[first], key->name,
                           sizeof(key->name), false);
    if (err == NULL)
        err = decode_component(seg[first + 1], seglen[first + 1], key->id,
                               sizeof(key->id), true);
    if (err == NULL)
        err = decode_component(seg[first + 2], seglen[first + 2], key->file,
                               sizeof(key->file), false);
    /* The build-id keys' directory in the cache. */
    if (err == NULL && strcasecmp(key->name, "buildid") == 0)
        err = "'buildid' is the debuginfod API's namespace";
    if (err != NULL) {
        *why = err;
        return -EINVAL;
    }
    return 0;
}

static char ascii_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* What percent-encoding leaves as it is. */
enum enc {
    ENC_COMPONENT,  /* RFC 3986 unreserved: one URL path component */
    ENC_PATH,       /* the same and '/' */
    /* A source path or section name as one file name in the cache: '/'
     * becomes '#', and every byte but [a-z0-9._+-] "%XX", so the name has
     * no separator and no upper-case letter (never a gzip copy's ".GZIP"). */
    ENC_CACHE_NAME,
};

static bool enc_plain(unsigned char c, enum enc mode)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' ||
        c == '.' || c == '_')
        return true;
    if (mode == ENC_CACHE_NAME)
        return c == '+' || c == '/';
    return (c >= 'A' && c <= 'Z') || c == '~' || (mode == ENC_PATH && c == '/');
}

static int encode(const char *s, enum enc mode, char *buf, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = enc_plain(c, mode);

        if (n + (plain ? 1 : 3) >= len)
            return -ENAMETOOLONG;
        if (plain) {
            buf[n++] = mode == ENC_CACHE_NAME && c == '/' ? '#' : (char)c;
        } else {
            buf[n++] = '%';
            buf[n++] = hex[c >> 4];
            buf[n++] = hex[c & 15];
        }
    }
    buf[n] = '\0';
    return (int)n;
}

/* "buildid/<hex>/debuginfo", ".../source-<escaped>", ".../section-<...>":
 * the escaped name within SYMKEY_FILE_ON_DISK bytes, the file system's
 * name limit less the gzip copy's suffix. */
static int buildid_canonical(const struct symkey *key, char *buf, size_t len)
{
    char esc[SYMKEY_FILE_ON_DISK + 1];
    size_t room = sizeof(esc) - strlen(key->name) - 1; /* after "name-" */
    int n;

    if (key->file[0] == '\0')
        n = snprintf(buf, len, "buildid/%s/%s", key->id, key->name);
    else if (encode(key->file, ENC_CACHE_NAME, esc, room) < 0)
        return -ENAMETOOLONG;
    else
        n = snprintf(buf, len, "buildid/%s/%s-%s", key->id, key->name, esc);
    return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : n;
}

/* "NAME/ID/FILE" of KEY into BUF: its length, or -ENAMETOOLONG.  By hand:
 * every lookup of a warm request makes one or two, and snprintf() cost
 * more than the copies. */
static int join_key(const struct symkey *key, char *buf, size_t len)
{
    size_t a = strlen(key->name), b = strlen(key->id), c = strlen(key->file);

    if (a + b + c + 3 > len)
        return -ENAMETOOLONG;
    memcpy(buf, key->name, a);
    buf[a] = '/';
    memcpy(buf + a + 1, key->id, b);
    buf[a + 1 + b] = '/';
    memcpy(buf + a + b + 2, key->file, c + 1);
    return (int)(a + b + c + 2);
}

int symkey_canonical(const struct symkey *key, char *buf, size_t len)
{
    size_t i, name_end, id_end;
    int n;

    if (key->kind == SYMKEY_BUILDID)
        return buildid_canonical(key, buf, len);
    n = join_key(key, buf, len);
    if (n < 0)
        return n;
    name_end = strlen(key->name);
    id_end = name_end + 1 + strlen(key->id);
    for (i = 0; i < (size_t)n; i++) {
        if (i > name_end && i < id_end)
            buf[i] = ascii_upper(buf[i]);
        else
            buf[i] = ascii_lower(buf[i]);
    }
    return n;
}

int symkey_exact(const struct symkey *key, char *buf, size_t len)
{
    /* Build ids are case-folded and source paths case-kept already. */
    if (key->kind == SYMKEY_BUILDID)
        return buildid_canonical(key, buf, len);
    return join_key(key, buf, len);
}

const char *symkey_file_label(const struct symkey *key)
{
    const char *slash = strrchr(key->file, '/');

    if (key->file[0] == '\0')
        return key->name;
    return slash != NULL ? slash + 1 : key->file;
}

int symkey_encode(const char *s, char *buf, size_t len)
{
    return encode(s, ENC_COMPONENT, buf, len);
}

int symkey_encode_path(const char *s, char *buf, size_t len)
{
    return encode(s, ENC_PATH, buf, len);
}
