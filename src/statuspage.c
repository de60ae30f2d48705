/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "statuspage.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "board.h"
#include "log.h"
#include "symkey.h"
#include "xalloc.h"

#define SHOW_TOP 10
#define BAR_W 320 /* px of a full chart bar */

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
    "h1{font-size:1.4em;margin:0}h2{font-size:1.1em;margin:1.4em 0 .4em}"
    "table{border-collapse:collapse}td,th{padding:2px 10px 2px 0;"
    "text-align:left;vertical-align:top}td.n{text-align:right;"
    "font-variant-numeric:tabular-nums}td.k{font-family:monospace;"
    "word-break:break-all;max-width:50em}.closed{color:#1a7f37}"
    ".open{color:#c62828;font-weight:bold}.half-open{color:#b26a00}"
    ".legend span{margin-right:1em}.muted{color:#777}";

/* Series colours, in the order of enum metrics_kind and of the outcomes. */
static const char *const colours[] = {
    "#2e7d32", "#1565c0", "#6a1b9a", "#9e9e9e", "#c62828", "#ef6c00",
};

/* The entity for a byte HTML gives a meaning to, or NULL. */
static const char *entity(unsigned char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    default:
        return NULL;
    }
}

void statuspage_text(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    const char *ent;
    size_t u;

    while (*p != '\0') {
        ent = entity(*p);
        if (ent != NULL) {
            fputs(ent, f);
            p++;
            continue;
        }
        u = *p < 0x80 ? (*p >= 0x20 && *p != 0x7f) : log_utf8_len(p);
        if (u == 0) {
            fprintf(f, "\\x%02x", *p++);
            continue;
        }
        fwrite(p, 1, u, f);
        p += u;
    }
}

static void print_bytes(FILE *f, uint64_t n)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB",
                                        "PiB"};
    double v = (double)n;
    size_t u = 0;

    while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        fprintf(f, "%" PRIu64 " B", n);
    else
        fprintf(f, "%.1f %s", v, units[u]);
}

/* A table row whose figure the test reads back: ID, the exact VALUE in
 * data-value, and the text a person reads. */
static void row_count(FILE *f, const char *label, const char *id,
                      uint64_t value)
{
    fprintf(f,
            "<tr><th>%s</th><td class=\"n\" id=\"%s\" data-value=\"%" PRIu64
            "\">%" PRIu64 "</td></tr>\n",
            label, id, value, value);
}

static void row_bytes(FILE *f, const char *label, const char *id,
                      uint64_t value)
{
    fprintf(f,
            "<tr><th>%s</th><td class=\"n\" id=\"%s\" data-value=\"%" PRIu64
            "\">",
            label, id, value);
    print_bytes(f, value);
    fputs("</td></tr>\n", f);
}

/* What a bar's legend says of its values. */
enum legend { LEGEND_NONE, LEGEND_COUNTS, LEGEND_BYTES };

/* The colour of series I, as a square for a legend. */
static void swatch(FILE *f, size_t i)
{
    fprintf(f, "<svg width=\"10\" height=\"10\" "
               "xmlns=\"http://www.w3.org/2000/svg\"><rect width=\"10\" "
               "height=\"10\" fill=\"%s\"/></svg> ",
            colours[i % (sizeof(colours) / sizeof(colours[0]))]);
}

/* The legend of N series; series I has colour COLOUR[I] (COLOUR NULL:
 * colour I). */
static void legend_in(FILE *f, const char *const *names,
                      const uint64_t *values, size_t n, enum legend how,
                      const size_t *colour)
{
    size_t i;

    fputs("<div class=\"legend\">", f);
    for (i = 0; i < n; i++) {
        fputs("<span>", f);
        swatch(f, colour != NULL ? colour[i] : i);
        statuspage_text(f, names[i]);
        fputc(' ', f);
        if (how == LEGEND_BYTES)
            print_bytes(f, values[i]);
        else
            fprintf(f, "%" PRIu64, values[i]);
        fputs("</span>", f);
    }
    fputs("</div>\n", f);
}

static void legend(FILE *f, const char *const *names, const uint64_t *values,
                   size_t n, enum legend how)
{
    legend_in(f, names, values, n, how, NULL);
}

/* One bar of N segments VALUES[i] labelled NAMES[i], scaled to TOTAL
 * (the sum when 0); what is left of TOTAL stays grey. */
static void bar(FILE *f, const char *title, const char *const *names,
                const uint64_t *values, size_t n, uint64_t total,
                enum legend how)
{
    double x = 0, w;
    size_t i;

    for (i = 0; total == 0 && i < n; i++)
        total += values[i];
    fprintf(f,
            "<svg width=\"%d\" height=\"18\" role=\"img\" "
            "xmlns=\"http://www.w3.org/2000/svg\"><title>",
            BAR_W);
    statuspage_text(f, title);
    fprintf(f, "</title><rect width=\"%d\" height=\"18\" fill=\"#eee\"/>",
            BAR_W);
    for (i = 0; i < n && total > 0; i++) {
        w = (double)values[i] * BAR_W / (double)total;
        fprintf(f,
                "<rect x=\"%.1f\" width=\"%.1f\" height=\"18\" "
                "fill=\"%s\"><title>",
                x, w, colours[i % (sizeof(colours) / sizeof(colours[0]))]);
        statuspage_text(f, names[i]);
        fprintf(f, ": %" PRIu64 "</title></rect>", values[i]);
        x += w;
    }
    fputs("</svg>\n", f);
    if (how != LEGEND_NONE)
        legend(f, names, values, n, how);
}

static uint64_t kind(struct metrics *m, enum metrics_kind k)
{
    return metrics_read(&m->kinds[k]);
}

static void section_traffic(FILE *f, const struct statuspage_in *in)
{
    struct metrics *m = in->m;
    uint64_t v[METRICS_KIND_N], lookups, served, down;
    const char *names[METRICS_KIND_N];
    size_t i;

    for (i = 0; i < METRICS_KIND_N; i++) {
        v[i] = kind(m, (enum metrics_kind)i);
        names[i] = metrics_kind_name((enum metrics_kind)i);
    }
    lookups = v[METRICS_HIT] + v[METRICS_MISS] + v[METRICS_COALESCED] +
              v[METRICS_NEGATIVE];
    served = metrics_read(&m->bytes_served);
    down = metrics_read(&m->bytes_downloaded);
    fputs("<section id=\"traffic\"><h2>Traffic</h2><table>\n", f);
    fprintf(f,
            "<tr><th>Hit ratio</th><td class=\"n\" id=\"hit-ratio\" "
            "data-value=\"%.4f\">%.1f %%</td></tr>\n",
            lookups ? (double)v[METRICS_HIT] / (double)lookups : 0.0,
            lookups ? 100.0 * (double)v[METRICS_HIT] / (double)lookups : 0.0);
    row_count(f, "Hits", "hits", v[METRICS_HIT]);
    row_count(f, "Misses", "misses", v[METRICS_MISS]);
    row_count(f, "Coalesced", "coalesced", v[METRICS_COALESCED]);
    row_count(f, "Remembered misses", "negative", v[METRICS_NEGATIVE]);
    row_bytes(f, "Bytes served", "served", served);
    row_bytes(f, "Bytes from upstreams", "downloaded", down);
    /* What the upstream link did not have to carry. */
    row_bytes(f, "Bytes saved", "saved", served > down ? served - down : 0);
    fputs("</table>\n", f);
    bar(f, "Answers by kind", names, v, METRICS_KIND_N - 1, 0,
        LEGEND_COUNTS);
    fputs("</section>\n", f);
}

static void print_time(FILE *f, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[32];

    if (gmtime_r(&t, &tm) == NULL ||
        strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, sizeof(buf), "-");
    fputs(buf, f);
}

#define HOUR_BAR 6 /* px per minute */
#define HOUR_H 60

static const char *const series_names[BOARD_SERIES] = {"hits", "misses",
                                                       "failures"};
static const size_t series_colour[BOARD_SERIES] = {0, 1, 4};

/* One minute's stacked column at X: hits at the bottom, then lookups that
 * missed, then failures, scaled so that MAX fills the height. */
static void minute_column(FILE *f, const struct board_minute *m, int x,
                          uint64_t max)
{
    double y = HOUR_H, h;
    size_t s;

    for (s = 0; s < BOARD_SERIES; s++) {
        if (m->n[s] == 0)
            continue;
        h = (double)m->n[s] * HOUR_H / (double)max;
        y -= h;
        fprintf(f,
                "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" "
                "fill=\"%s\"><title>",
                x, y, HOUR_BAR - 1, h, colours[series_colour[s]]);
        print_time(f, m->minute * 60000);
        fprintf(f, ": %" PRIu64 " %s</title></rect>", m->n[s],
                series_names[s]);
    }
}

/* The last hour, a column per minute (from the board, not /metrics: the
 * counters have no history). */
static void section_hour(FILE *f, const struct board_view *v)
{
    uint64_t max = 1, sum, total[BOARD_SERIES] = {0};
    size_t i, s;

    for (i = 0; i < BOARD_MINUTES; i++) {
        for (s = 0, sum = 0; s < BOARD_SERIES; s++) {
            sum += v->minutes[i].n[s];
            total[s] += v->minutes[i].n[s];
        }
        max = sum > max ? sum : max;
    }
    fprintf(f,
            "<section id=\"hour\"><h2>Last hour</h2><svg width=\"%d\" "
            "height=\"%d\" role=\"img\" "
            "xmlns=\"http://www.w3.org/2000/svg\"><title>Requests per "
            "minute, up to %" PRIu64 "</title><rect width=\"%d\" "
            "height=\"%d\" fill=\"#f6f6f6\"/>",
            BOARD_MINUTES * HOUR_BAR, HOUR_H, max, BOARD_MINUTES * HOUR_BAR,
            HOUR_H);
    for (i = 0; i < BOARD_MINUTES; i++)
        minute_column(f, &v->minutes[i], (int)i * HOUR_BAR, max);
    fputs("</svg>\n", f);
    legend_in(f, series_names, total, BOARD_SERIES, LEGEND_COUNTS,
              series_colour);
    fputs("</section>\n", f);
}

static void section_cache(FILE *f, const struct statuspage_in *in)
{
    const struct metrics_env *env = in->env;
    uint64_t limit = in->max_size ? in->max_size : in->disk_size;
    const char *names[2] = {"cached", "limit"};
    uint64_t v[2] = {env->cache_bytes, limit};

    fputs("<section id=\"cache\"><h2>Cache</h2><table>\n", f);
    row_count(f, "Files", "entries", env->cache_entries);
    row_bytes(f, "Size", "cache-bytes", env->cache_bytes);
    if (in->max_size)
        row_bytes(f, "Limit (max_size)", "max-size", in->max_size);
    else
        fputs("<tr><th>Limit (max_size)</th><td class=\"n\" id=\"max-size\" "
              "data-value=\"0\">unbounded</td></tr>\n",
              f);
    row_bytes(f, "Disk free", "disk-free", in->disk_free);
    row_bytes(f, "Keep free (min_free)", "min-free", in->min_free);
    row_count(f, "Evictions", "evictions",
              metrics_read(&in->m->evictions));
    row_bytes(f, "Evicted", "evicted-bytes",
              metrics_read(&in->m->evicted_bytes));
    fputs("</table>\n", f);
    if (limit > 0) {
        bar(f, in->max_size ? "Cache use against max_size"
                            : "Cache use against the disk",
            names, v, 1, limit, LEGEND_NONE);
        legend(f, names, v, 2, LEGEND_BYTES);
    }
    fputs("</section>\n", f);
}

static void upstream_row(FILE *f, const struct statuspage_in *in, size_t i)
{
    struct metrics *m = in->m;
    const char *state = breaker_state_name(
        breaker_state(&m->breakers[i], in->env->now_ms));
    const char *names[METRICS_UP_OUTCOME_N];
    uint64_t v[METRICS_UP_OUTCOME_N];
    size_t o;

    fputs("<tr><td class=\"k\">", f);
    statuspage_text(f, in->env->upstreams[i]);
    fprintf(f, "</td><td class=\"%s\" id=\"breaker-%zu\">%s</td>", state, i,
            state);
    for (o = 0; o < METRICS_UP_OUTCOME_N; o++) {
        v[o] = metrics_read(&m->upstream[i][o]);
        names[o] = metrics_outcome_name((enum metrics_outcome)o);
        fprintf(f, "<td class=\"n\">%" PRIu64 "</td>", v[o]);
    }
    fputs("<td>", f);
    bar(f, "Attempts by outcome", names, v, METRICS_UP_OUTCOME_N, 0,
        LEGEND_NONE);
    fputs("</td></tr>\n", f);
}

static void section_upstreams(FILE *f, const struct statuspage_in *in)
{
    size_t i, o;

    fputs("<section id=\"upstreams\"><h2>Upstreams</h2><table>\n"
          "<tr><th>Upstream</th><th>Breaker</th>",
          f);
    for (o = 0; o < METRICS_UP_OUTCOME_N; o++) {
        fputs("<th>", f);
        swatch(f, o);
        fprintf(f, "%s</th>", metrics_outcome_name((enum metrics_outcome)o));
    }
    fputs("<th></th></tr>\n", f);
    for (i = 0; i < in->env->nupstreams && i < METRICS_MAX_UPSTREAMS; i++)
        upstream_row(f, in, i);
    fputs("</table></section>\n", f);
}


/* A request target as a person reads it: percent-decoded, unless it
 * does not decode (then as received).  Either way escaped. */
static void print_target(FILE *f, const char *target)
{
    char plain[BOARD_TEXT];

    if (symkey_decode(target, strlen(target), plain) >= 0)
        statuspage_text(f, plain);
    else
        statuspage_text(f, target);
}

static void section_recent(FILE *f, const struct board_view *v,
                           enum board_list list, const char *id,
                           const char *title)
{
    size_t i;

    fprintf(f,
            "<section id=\"recent-%s\"><h2>%s</h2><table>\n<tr><th>Time (UTC)</th>"
            "<th>Status</th><th>Reason</th><th>Request</th></tr>\n",
            id, title);
    for (i = 0; i < v->nrecent[list]; i++) {
        const struct board_event *e = &v->recent[list][i];

        fputs("<tr><td>", f);
        print_time(f, e->when_ms);
        fprintf(f, "</td><td class=\"n\">%u</td><td>", e->status);
        statuspage_text(f, e->reason[0] ? e->reason : "-");
        fputs("</td><td class=\"k\">", f);
        print_target(f, e->target);
        fputs("</td></tr>\n", f);
    }
    if (v->nrecent[list] == 0)
        fputs("<tr><td colspan=\"4\" class=\"muted\">none</td></tr>\n", f);
    fputs("</table></section>\n", f);
}

static void section_top(FILE *f, const struct board_view *v)
{
    size_t i, n = v->ntop < SHOW_TOP ? v->ntop : SHOW_TOP;
    const char *names[1] = {"hits"};
    uint64_t hits[1];

    fputs("<section id=\"top\"><h2>Top symbols</h2><table>\n<tr><th>Key"
          "</th><th>Hits</th><th></th></tr>\n",
          f);
    for (i = 0; i < n; i++) {
        fputs("<tr><td class=\"k\">", f);
        statuspage_text(f, v->top[i].key);
        fprintf(f, "</td><td class=\"n\">%" PRIu64 "</td><td>",
                v->top[i].hits);
        hits[0] = v->top[i].hits;
        bar(f, "Hits against the top key", names, hits, 1, v->top[0].hits,
            LEGEND_NONE);
        fputs("</td></tr>\n", f);
    }
    if (n == 0)
        fputs("<tr><td colspan=\"3\" class=\"muted\">no hits yet</td></tr>\n",
              f);
    fputs("</table></section>\n", f);
}

static void head(FILE *f, const struct statuspage_in *in)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta http-equiv=\"refresh\" content=\"30\">"
          "<meta name=\"viewport\" content=\"width=device-width\">"
          "<title>symsrvd status</title><link rel=\"icon\" href=\"data:,\">"
          "<style nonce=\"",
          f);
    statuspage_text(f, in->nonce);
    fprintf(f, "\">%s</style></head>\n<body><h1>symsrvd</h1>\n", style);
    fprintf(f,
            "<p class=\"muted\">up <span id=\"uptime\" data-value=\"%" PRId64
            "\">%" PRId64 "d %02" PRId64 ":%02" PRId64
            "</span>, <span id=\"workers\">%u</span> workers</p>\n",
            in->uptime_s, in->uptime_s / 86400, in->uptime_s / 3600 % 24,
            in->uptime_s / 60 % 60, in->workers);
}

void statuspage_print(FILE *f, const struct statuspage_in *in)
{
    struct board_view *v = xmalloc(sizeof(*v));

    board_read(&in->m->board, in->now_ms, v);
    head(f, in);
    section_traffic(f, in);
    section_hour(f, v);
    section_cache(f, in);
    section_upstreams(f, in);
    section_recent(f, v, BOARD_MISSES, "misses", "Recent misses");
    section_recent(f, v, BOARD_ERRORS, "errors", "Recent errors");
    section_top(f, v);
    fputs("</body></html>\n", f);
    free(v);
}
