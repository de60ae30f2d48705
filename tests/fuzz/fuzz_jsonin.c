/* SPDX-License-Identifier: MIT */
/* libFuzzer target: jsonin_parse() against jansson's json_loadb() with
 * JSON_REJECT_DUPLICATES, the parser it stands in for: both accept or
 * both refuse, and what they accept is equal. */
#include "symsrvd_config.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "jsonin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    json_t *want = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
                              NULL);
    json_t *got = jsonin_parse((const char *)data, size, err, sizeof(err));

    if ((want == NULL) != (got == NULL) ||
        (want != NULL && !json_equal(want, got)))
        abort();
    json_decref(want);
    json_decref(got);
    return 0;
}
