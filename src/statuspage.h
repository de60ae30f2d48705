/* SPDX-License-Identifier: MIT */
/*
 * statuspage: the HTML page GET / gives a browser.  It draws what
 * /metrics and /health count (the shared metrics block and its status
 * board) for a person: hit ratio, bytes, upstream health, cache use
 * against its limit, recent misses and errors, top keys, with charts as
 * inline SVG.  No script and no asset from elsewhere: the one <style>
 * carries the response's CSP nonce, and every value that can come from a
 * client or an upstream is escaped, control bytes and broken UTF-8 shown
 * as \xNN.
 */
#ifndef SYMSRVD_STATUSPAGE_H
#define SYMSRVD_STATUSPAGE_H

#include <stdint.h>
#include <stdio.h>

#include "metrics.h"

struct statuspage_in {
    struct metrics *m;
    const struct metrics_env *env; /* upstream names, index totals */
    int64_t uptime_s;
    unsigned workers;
    uint64_t max_size;  /* [cache] max_size, 0: unbounded */
    uint64_t min_free;  /* [cache] min_free */
    uint64_t disk_size; /* the cache's file system, 0: unknown */
    uint64_t disk_free;
    const char *nonce;  /* the Content-Security-Policy style nonce */
    int64_t now_ms;     /* wall clock, for the last hour's chart */
};

/* Print the page for IN to F. */
void statuspage_print(FILE *f, const struct statuspage_in *in);

/* Print S to F as HTML text (also safe inside a quoted attribute). */
void statuspage_text(FILE *f, const char *s);

#endif
