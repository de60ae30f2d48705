/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a POST /symbolicate body through the parser, the
 * module lookup (no reachable sources: allow_request_sources = no, and an
 * empty cache) and the answer's writer, which must always produce JSON
 * that parses again. */
#include "symsrvd_config.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "symbolicate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct symbolicator *engine(void)
{
    static struct symbolicator *s;
    static struct config *cfg;
    char err[256], dir[] = "/tmp/fuzz_symreq.XXXXXX";

    if (s != NULL)
        return s;
    if (mkdtemp(dir) == NULL || config_load(NULL, &cfg, err, sizeof(err)) < 0 ||
        config_set(cfg, "cache", "dir", dir, err, sizeof(err)) < 0 ||
        config_set(cfg, "symbolicate", "allow_request_sources", "no", err,
                   sizeof(err)) < 0)
        abort();
    symbolicator_new(cfg, NULL, &s);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct symreq_params p = {.scope = "fuzz", .demangle = true};
    struct symreq *r = NULL;
    char err[512], *text;
    size_t len = 0;
    json_t *back;

    if (symreq_parse((const char *)data, size, &p, &r, err, sizeof(err)) < 0)
        return 0;
    text = symbolicator_run(engine(), r, &len);
    back = json_loadb(text, len, 0, NULL);
    if (back == NULL)
        abort(); /* the writer produced broken JSON */
    json_decref(back);
    free(text);
    symreq_free(r);
    return 0;
}
