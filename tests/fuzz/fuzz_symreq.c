/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a POST /symbolicate body through the parser, the
 * module lookup (no reachable sources: allow_request_sources = no, and an
 * empty cache) and the answer's writer, which must always produce JSON
 * that parses again.  The body is parsed both ways symreq_parse_how()
 * knows: frames read straight from the text (symreqin_direct()) and from
 * jansson values; both must refuse it for the same reason or answer it
 * with the same bytes. */
#include "symsrvd_config.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "symbolicate.h"
#include "symbolicate_int.h"

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
    struct symreq *r = NULL, *g = NULL;
    char err[512], gerr[512], *text, *gtext;
    size_t len = 0, glen = 0;
    int rc = symreq_parse_how((const char *)data, size, &p, true, &r, err,
                              sizeof(err));
    int grc = symreq_parse_how((const char *)data, size, &p, false, &g, gerr,
                               sizeof(gerr));
    json_t *back;

    if (rc != grc || (rc < 0 && strcmp(err, gerr) != 0))
        abort(); /* the two paths judge the body differently */
    if (rc < 0)
        return 0;
    text = symbolicator_run(engine(), r, &len);
    gtext = symbolicator_run(engine(), g, &glen);
    if (len != glen || memcmp(text, gtext, len) != 0)
        abort(); /* the two paths answer differently */
    back = json_loadb(text, len, 0, NULL);
    if (back == NULL)
        abort(); /* the writer produced broken JSON */
    json_decref(back);
    free(text);
    free(gtext);
    symreq_free(r);
    symreq_free(g);
    return 0;
}
