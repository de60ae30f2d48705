/* SPDX-License-Identifier: MIT */
/* libFuzzer target: request-target and header parsers of lib/ (symkey,
 * httphdr).  The first byte picks the parser, the rest is the input. */
#include "symsrvd_config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httphdr.h"
#include "symkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A source path is absolute and has no empty, "." or ".." component. */
static bool canonical_path(const char *p)
{
    if (p[0] != '/')
        return false;
    while (*p == '/') {
        const char *end = strchr(p + 1, '/');
        size_t len = end ? (size_t)(end - p - 1) : strlen(p + 1);

        if (len == 0 || (len == 1 && p[1] == '.') ||
            (len == 2 && p[1] == '.' && p[2] == '.'))
            return false;
        p += 1 + len;
    }
    return *p == '\0';
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        n += *s == c;
    return n;
}

/* A build-id key's cache name is "buildid/<id>/<artifact>[-<escaped>]":
 * its source path may hold '/', the name on disk never does. */
static void check_buildid(const struct symkey *k, const char *canon)
{
    if (strchr(k->id, '/') || strchr(k->name, '/') ||
        count_char(canon, '/') != 2 || k->id[0] == '.' || k->name[0] == '.')
        abort();
    if (strcmp(k->name, SYMKEY_SOURCE) == 0 ? !canonical_path(k->file)
                                            : strchr(k->file, '/') != NULL)
        abort();
}

static void fuzz_key(const char *s, size_t n)
{
    struct symkey k;
    char canon[SYMKEY_CANON_MAX], exact[SYMKEY_CANON_MAX];
    const char *why;

    if (symkey_parse(s, n, &k, &why) != 0)
        return;
    if (k.kind == SYMKEY_BUILDID) {
        if (symkey_canonical(&k, canon, sizeof(canon)) < 0)
            abort(); /* the parser checked that it fits */
        check_buildid(&k, canon);
        return;
    }
    /* Parsed components never carry a separator or a dot-name. */
    if (strchr(k.name, '/') || strchr(k.file, '/') || strchr(k.id, '/') ||
        strcmp(k.name, "..") == 0 || strcmp(k.file, "..") == 0 ||
        k.id[0] == '.')
        abort();
    symkey_canonical(&k, canon, sizeof(canon));
    symkey_exact(&k, exact, sizeof(exact));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;
    uint64_t off, len;

    if (size < 1)
        return 0;
    s = malloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0] % 3) {
    case 0:
        fuzz_key(s, size - 1);
        break;
    case 1:
        if (httphdr_range(s, 1000, &off, &len) == 0 &&
            (len == 0 || off + len > 1000))
            abort();
        break;
    default:
        httphdr_etag_match(s, "\"abc-1\"");
        break;
    }
    free(s);
    return 0;
}
