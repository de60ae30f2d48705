/* SPDX-License-Identifier: MIT */
/* libFuzzer target: request-target and header parsers of lib/ (symkey,
 * httphdr).  The first byte picks the parser, the rest is the input. */
#include "symsrvd_config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httphdr.h"
#include "symkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_key(const char *s, size_t n)
{
    struct symkey k;
    char canon[SYMKEY_CANON_MAX], exact[SYMKEY_CANON_MAX];
    const char *why;

    if (symkey_parse(s, n, &k, &why) != 0)
        return;
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
