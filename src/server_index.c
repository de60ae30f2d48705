/* SPDX-License-Identifier: MIT */
/*
 * server_index: GET /health, /metrics and /symbols.
 *
 * /symbols streams its JSON in batches read from the index, so memory
 * stays flat however many entries the cache holds; the cursor is the hex
 * form of the last key returned.
 */
#include "symsrvd_config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "config.h"
#include "listing.h"
#include "log.h"
#include "nospace.h"
#include "server_int.h"
#include "store.h"
#include "symkey.h"
#include "timeutil.h"
#include "upslot.h"
#include "xalloc.h"

#define LIST_DEFAULT 100
#define LIST_MAX 10000
#define LIST_BATCH 128

static enum MHD_Result queue_owned(struct req *r, char *body, size_t len,
                                   const char *type)
{
    return server_owned(r, MHD_HTTP_OK, body, len, type);
}

enum MHD_Result server_health(struct req *r)
{
    const struct config *cfg = r->srv->cfg;
    struct listing_upstream ups[METRICS_MAX_UPSTREAMS];
    uint64_t entries = 0, bytes = 0;
    int64_t started = atomic_load(&metrics->started_ms);
    int64_t now = (int64_t)mono_ms();
    char *body;
    size_t i;

    for (i = 0; i < cfg->nupstreams && i < METRICS_MAX_UPSTREAMS; i++) {
        ups[i].name = cfg->upstreams[i].name;
        /* without a row it is never skipped: closed */
        ups[i].breaker = breaker_state_name(
            upslot_of(i) == UPSLOT_NONE
                ? BREAKER_CLOSED
                : breaker_state(&metrics->breakers[upslot_of(i)], now));
    }
    cache_totals(r->srv->cache, &entries, &bytes);
    body = listing_health(nospace_reason(wall_ms()),
                          (wall_ms() - started) / 1000,
                          (unsigned)atomic_load(&metrics->workers_alive),
                          entries, bytes, ups, i);
    return queue_owned(r, body, strlen(body), "application/json");
}

enum MHD_Result server_metrics(struct req *r)
{
    const struct config *cfg = r->srv->cfg;
    struct metrics_env env;
    char *body = NULL;
    size_t len = 0, i;
    FILE *f = open_memstream(&body, &len);

    if (f == NULL)
        return server_text(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "no memory",
                           NULL, NULL);
    memset(&env, 0, sizeof(env));
    for (i = 0; i < cfg->nupstreams && i < METRICS_MAX_UPSTREAMS; i++)
        env.upstreams[i] = cfg->upstreams[i].name;
    env.nupstreams = i;
    cache_totals(r->srv->cache, &env.cache_entries, &env.cache_bytes);
    env.now_ms = (int64_t)mono_ms();
    env.no_space = nospace_reason(wall_ms()) != NULL;
    metrics_print(f, metrics, &env);
    fclose(f);
    return queue_owned(r, body, len, "text/plain; version=0.0.4");
}

/* --- /symbols ----------------------------------------------------------- */

struct list_state {
    struct server *srv;
    bool negative;
    char *q;                     /* lower-cased name filter, or NULL */
    size_t remaining;            /* entries still to emit */
    char last[SYMKEY_CANON_MAX]; /* cursor: last key emitted */
    bool have_last;
    bool more;                   /* entries remain after the last one */
    int phase;                   /* 0 head, 1 entries, 2 tail, 3 done */
    size_t emitted;
    char *out;                   /* pending output */
    size_t out_len, out_off;
    FILE *batch;                 /* memstream while filling a batch */
};

struct list_query {
    size_t limit;
    bool negative;
    char *q;
    char after[SYMKEY_CANON_MAX];
    bool have_after;
};

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The cursor is the last key in lower-case hex. */
static int cursor_decode(const char *hex, char *out, size_t len)
{
    size_t n = strlen(hex), i;

    if (n == 0 || n % 2 != 0 || n / 2 >= len)
        return -EINVAL;
    for (i = 0; i < n / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return -EINVAL;
        out[i] = (char)(hi << 4 | lo);
    }
    out[n / 2] = '\0';
    return 0;
}

static const char *query_param(struct list_query *lq, const char *name,
                               const char *value)
{
    char *end;

    if (strcmp(name, "limit") == 0) {
        unsigned long v = strtoul(value, &end, 10);

        if (*value < '0' || *value > '9' || *end != '\0' || v == 0 ||
            v > LIST_MAX)
            return "limit must be an integer from 1 to 10000";
        lq->limit = v;
    } else if (strcmp(name, "after") == 0) {
        if (cursor_decode(value, lq->after, sizeof(lq->after)) != 0)
            return "after must be a cursor from a previous 'next'";
        lq->have_after = true;
    } else if (strcmp(name, "q") == 0) {
        char *p;

        free(lq->q);
        lq->q = value[0] ? xstrdup(value) : NULL;
        for (p = lq->q; p != NULL && *p != '\0'; p++)
            *p = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
    } else if (strcmp(name, "negative") == 0) {
        if (strcmp(value, "1") != 0 && strcmp(value, "0") != 0)
            return "negative must be 0 or 1";
        lq->negative = value[0] == '1';
    } else {
        return "unknown query parameter";
    }
    return NULL;
}

static const char *parse_query(const char *query, struct list_query *lq)
{
    char *copy = xstrdup(query), *save = NULL, *tok;
    const char *why = NULL;

    lq->limit = LIST_DEFAULT;
    for (tok = strtok_r(copy, "&", &save); tok != NULL && why == NULL;
         tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '=');
        char name[32], *value;
        int n;

        if (eq == NULL || (size_t)(eq - tok) >= sizeof(name)) {
            why = "malformed query";
            break;
        }
        memcpy(name, tok, (size_t)(eq - tok));
        name[eq - tok] = '\0';
        value = xmalloc(strlen(eq + 1) + 1);
        n = symkey_decode(eq + 1, strlen(eq + 1), value);
        why = n < 0 ? "bad percent-encoding in query"
                    : query_param(lq, name, value);
        free(value);
    }
    free(copy);
    return why;
}

static bool list_one(void *arg, const char *key, size_t keylen,
                     const struct cache_entry *e)
{
    struct list_state *st = arg;
    size_t plen = strlen(STORE_SOURCES_PREFIX);
    char *json;

    if (keylen >= plen && memcmp(key, STORE_SOURCES_PREFIX, plen) == 0)
        return true; /* a job's file: none of the lister's business */
    json = listing_entry(key, keylen, e, st->negative);
    fprintf(st->batch, "%s%s", st->emitted++ > 0 ? "," : "", json);
    free(json);
    if (keylen < sizeof(st->last)) {
        memcpy(st->last, key, keylen);
        st->last[keylen] = '\0';
        st->have_last = true;
    }
    st->remaining--;
    return true;
}

static void list_tail(struct list_state *st, FILE *f)
{
    size_t i;

    fputs("],\"next\":", f);
    if (!st->more || !st->have_last) {
        fputs("null}\n", f);
        return;
    }
    fputc('"', f);
    for (i = 0; st->last[i] != '\0'; i++)
        fprintf(f, "%02x", (unsigned char)st->last[i]);
    fputs("\"}\n", f);
}

/* Produce the next piece of output into st->out.  False on error. */
static bool list_fill(struct list_state *st)
{
    size_t batch;
    int rc;

    free(st->out);
    st->out = NULL;
    st->out_len = st->out_off = 0;
    st->batch = open_memstream(&st->out, &st->out_len);
    if (st->batch == NULL)
        return false;
    if (st->phase == 0) {
        fputs("{\"symbols\":[", st->batch);
        st->phase = 1;
    } else if (st->phase == 1) {
        batch = st->remaining < LIST_BATCH ? st->remaining : LIST_BATCH;
        rc = cache_list(st->srv->cache, st->negative,
                        st->have_last ? st->last : NULL, st->q, batch,
                        list_one, st, &st->more);
        if (rc != 0 || !st->more || st->remaining == 0)
            st->phase = 2;
    } else {
        list_tail(st, st->batch);
        st->phase = 3;
    }
    fclose(st->batch);
    st->batch = NULL;
    return true;
}

static ssize_t list_body(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct list_state *st = cls;
    size_t n;

    (void)pos;
    while (st->out_off == st->out_len) {
        if (st->phase == 3)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (!list_fill(st))
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    n = st->out_len - st->out_off;
    if (n > max)
        n = max;
    memcpy(buf, st->out + st->out_off, n);
    st->out_off += n;
    return (ssize_t)n;
}

static void list_free(void *cls)
{
    struct list_state *st = cls;

    free(st->q);
    free(st->out);
    free(st);
}

enum MHD_Result server_listing(struct req *r, const char *query)
{
    struct list_query lq;
    struct list_state *st;
    struct MHD_Response *resp;
    const char *why;

    memset(&lq, 0, sizeof(lq));
    why = parse_query(query, &lq);
    if (why != NULL) {
        free(lq.q);
        return server_text(r, MHD_HTTP_BAD_REQUEST, why, NULL, NULL);
    }
    st = xcalloc(1, sizeof(*st));
    st->srv = r->srv;
    st->negative = lq.negative;
    st->q = lq.q;
    st->remaining = lq.limit;
    if (lq.have_after) {
        memcpy(st->last, lq.after, sizeof(st->last));
        st->have_last = true;
    }
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024,
                                             list_body, st, list_free);
    if (resp == NULL) {
        list_free(st);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return server_queue(r, MHD_HTTP_OK, resp);
}
