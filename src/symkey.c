/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "symkey.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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
    if (err != NULL) {
        *why = err;
        return -EINVAL;
    }
    return 0;
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static char ascii_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

int symkey_canonical(const struct symkey *key, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/%s/%s", key->name, key->id, key->file);
    size_t i, name_end, id_end;

    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
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
    int n = snprintf(buf, len, "%s/%s/%s", key->name, key->id, key->file);

    return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : n;
}

int symkey_encode(const char *s, char *buf, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                     (c >= 'A' && c <= 'Z') || c == '-' || c == '.' ||
                     c == '_' || c == '~';

        if (n + (plain ? 1 : 3) >= len)
            return -ENAMETOOLONG;
        if (plain) {
            buf[n++] = (char)c;
        } else {
            buf[n++] = '%';
            buf[n++] = hex[c >> 4];
            buf[n++] = hex[c & 15];
        }
    }
    buf[n] = '\0';
    return (int)n;
}
