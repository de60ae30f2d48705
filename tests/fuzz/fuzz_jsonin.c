/* SPDX-License-Identifier: MIT */
/* libFuzzer target: jsonin_parse() against jansson's json_loadb() with
 * JSON_REJECT_DUPLICATES, the parser it stands in for: both accept or
 * both refuse, and what they accept is equal.  One known difference:
 * jansson skips a NUL byte right after a number or literal ("[1\0]"),
 * which jsonin refuses; with a NUL in the input jsonin may refuse more.
 * The same parse into an arena (jsonarena.h) gives the same answer. */
#include "symsrvd_config.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonarena.h"
#include "jsonin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    json_t *want = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
                              NULL);
    json_t *got = jsonin_parse((const char *)data, size, err, sizeof(err));
    bool nul = memchr(data, 0, size) != NULL;
    struct jsonarena *a = jsonarena_new(size);
    json_t *in_arena;

    jsonarena_begin(a);
    in_arena = jsonin_parse((const char *)data, size, err, sizeof(err));
    jsonarena_end();
    if ((got != NULL && (want == NULL || !json_equal(want, got))) ||
        (got == NULL && want != NULL && !nul) ||
        (got == NULL) != (in_arena == NULL) ||
        (got != NULL && !json_equal(got, in_arena)))
        abort();
    json_decref(want);
    json_decref(got);
    jsonarena_free(a);
    return 0;
}
