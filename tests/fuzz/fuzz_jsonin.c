/* SPDX-License-Identifier: MIT */
/* libFuzzer target: jsonin_parse() against jansson's json_loadb() with
 * JSON_REJECT_DUPLICATES, the parser it stands in for: both accept or
 * both refuse, and what they accept is equal.  One known difference:
 * jansson skips a NUL byte right after a number or literal ("[1\0]"),
 * which jsonin refuses; with a NUL in the input jsonin may refuse more. */
#include "symsrvd_config.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    json_t *want = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
                              NULL);
    json_t *got = jsonin_parse((const char *)data, size, err, sizeof(err));
    bool nul = memchr(data, 0, size) != NULL;

    if ((got != NULL && (want == NULL || !json_equal(want, got))) ||
        (got == NULL && want != NULL && !nul))
        abort();
    json_decref(want);
    json_decref(got);
    return 0;
}
