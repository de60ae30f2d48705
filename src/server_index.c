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
#include "server_int.h"
#include "symkey.h"
#include "timeutil.h"
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
    uint64_t entries = 0, bytes = 0;
    int64_t started = atomic_load(&metrics->started_ms);
    char *body;

    cache_totals(r->srv->cache, &entries, &bytes);
    body = listing_health((wall_ms() - started) / 1000,
                          (unsigned)atomic_load(&metrics->workers_alive),
                          entries, bytes);
    return queue_owned(r, body, strlen(body), "application/json");
}

static void metrics_upstreams(FILE *f, const struct config *cfg)
{
    size_t i, o;

    fprintf(f, "# HELP symsrvd_upstream_requests_total Upstream attempts "
               "by upstream and outcome.\n"
               "# TYPE symsrvd_upstream_requests_total counter\n");
    for (i = 0; i < cfg->nupstreams && i < METRICS_MAX_UPSTREAMS; i++) {
        for (o = 0; o < METRICS_UP_OUTCOME_N; o++)
            fprintf(f,
                    "symsrvd_upstream_requests_total{upstream=\"%s\","
                    "outcome=\"%s\"} %" PRIu64 "\n",
                    cfg->upstreams[i].name, metrics_outcome_name(o),
                    metrics_get(&metrics->upstream[i][o]));
    }
}

static void metric(FILE *f, const char *name, const char *type,
                   const char *help, int64_t value)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %" PRId64 "\n", name, help,
            name, type, name, value);
}

enum MHD_Result server_metrics(struct req *r)
{
    uint64_t entries = 0, bytes = 0;
    char *body = NULL;
    size_t len = 0, i;
    FILE *f = open_memstream(&body, &len);

    if (f == NULL)
        return server_text(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "no memory",
                           NULL, NULL);
    cache_totals(r->srv->cache, &entries, &bytes);
    fprintf(f, "# HELP symsrvd_requests_total Requests by status.\n"
               "# TYPE symsrvd_requests_total counter\n");
    for (i = 0; i < METRICS_STATUS_N; i++)
        fprintf(f, "symsrvd_requests_total{status=\"%s\"} %" PRIu64 "\n",
                metrics_status_label(i), metrics_get(&metrics->requests[i]));
    fprintf(f, "# HELP symsrvd_responses_total Requests by how they were "
               "answered.\n# TYPE symsrvd_responses_total counter\n");
    for (i = 0; i < METRICS_KIND_N; i++)
        fprintf(f, "symsrvd_responses_total{kind=\"%s\"} %" PRIu64 "\n",
                metrics_kind_name(i), metrics_get(&metrics->kinds[i]));
    metric(f, "symsrvd_hits_total", "counter", "Requests served from cache.",
           (int64_t)metrics_get(&metrics->kinds[METRICS_HIT]));
    metric(f, "symsrvd_misses_total", "counter", "Requests that started a download.",
           (int64_t)metrics_get(&metrics->kinds[METRICS_MISS]));
    metric(f, "symsrvd_coalesced_total", "counter",
           "Requests that joined a download in flight.",
           (int64_t)metrics_get(&metrics->kinds[METRICS_COALESCED]));
    metric(f, "symsrvd_negative_hits_total", "counter",
           "Requests answered from a remembered miss.",
           (int64_t)metrics_get(&metrics->kinds[METRICS_NEGATIVE]));
    metrics_upstreams(f, r->srv->cfg);
    metric(f, "symsrvd_served_bytes_total", "counter", "Body bytes sent.",
           (int64_t)metrics_get(&metrics->bytes_served));
    metric(f, "symsrvd_downloaded_bytes_total", "counter",
           "Body bytes received from upstreams.",
           (int64_t)metrics_get(&metrics->bytes_downloaded));
    metric(f, "symsrvd_downloads_in_flight", "gauge", "Downloads running.",
           atomic_load(&metrics->downloads_in_flight));
    metric(f, "symsrvd_job_queue_depth", "gauge", "Jobs waiting for a downloader.",
           atomic_load(&metrics->queue_depth));
    metric(f, "symsrvd_miss_timeouts_total", "counter",
           "Requests answered 404 at miss_timeout while the download went on.",
           (int64_t)metrics_get(&metrics->miss_timeouts));
    metric(f, "symsrvd_gzip_copies_total", "counter", "gzip copies made.",
           (int64_t)metrics_get(&metrics->gzip_created));
    metric(f, "symsrvd_worker_restarts_total", "counter",
           "Workers restarted after dying.",
           (int64_t)metrics_get(&metrics->worker_restarts));
    metric(f, "symsrvd_workers", "gauge", "Worker processes running.",
           atomic_load(&metrics->workers_alive));
    metric(f, "symsrvd_cache_entries", "gauge", "Files in the cache.",
           (int64_t)entries);
    metric(f, "symsrvd_cache_bytes", "gauge", "Bytes of files in the cache.",
           (int64_t)bytes);
    metric(f, "symsrvd_ready", "gauge", "1 when serving.", 1);
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
    char *json = listing_entry(key, keylen, e, st->negative);

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
