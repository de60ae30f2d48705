/* SPDX-License-Identifier: MIT */
/*
 * config: one table of keys, and the code that fills a struct config from
 * it.  Each row names the section, the key, how to parse the value, where
 * it goes, its default as text and its range.  The embedded defaults are
 * applied by parsing those default strings through the same path as a
 * file's values, so a default can never be out of its own range.
 *
 * READING A FILE.  inih splits "key = value" lines, but its Debian build
 * gives the handler no line number, strips inline comments only after ";",
 * treats indented lines as continuations and never reports an empty
 * section.  We therefore hand inih our own line reader (ini_parse_stream):
 * it counts lines, strips "#" and ";" comments, removes leading blanks,
 * rejects NUL and control bytes, and handles "[section]" lines itself, so
 * inih only ever sees blank lines and "key = value" lines.  The first
 * error stops the parse (the reader reports end of file) and is the one
 * reported, with its line.
 */
#include "symsrvd_config.h"

#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "config_value.h"
#include "hostlist.h"
#include "s3.h"
#include "xalloc.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

/* Longest upstream name: it ends up in log lines and metric labels. */
#define CONFIG_NAME_MAX 64
/* Longest value quoted back in an error message. */
#define CONFIG_QUOTE_MAX 64

enum config_section {
    CONFIG_SEC_NONE = -1,
    CONFIG_SEC_SERVER,
    CONFIG_SEC_CACHE,
    CONFIG_SEC_SYMBOLICATE,
    CONFIG_SEC_PUBLISH,
    CONFIG_SEC_UPSTREAM
};

enum config_type {
    CONFIG_T_UINT,     /* unsigned, decimal; CHOICES may hold the word "auto" */
    CONFIG_T_DURATION, /* uint64_t milliseconds */
    CONFIG_T_SIZE,     /* uint64_t bytes */
    CONFIG_T_STRING,   /* char *, non-empty */
    CONFIG_T_ENUM,     /* an enum stored as unsigned; CHOICES in enum order */
    CONFIG_T_URL,      /* char *, http(s), trailing slashes removed */
    CONFIG_T_LISTEN,   /* struct config's listen list */
    CONFIG_T_ACL,      /* char *, an address range list (acl.h) */
    CONFIG_T_STORE_URL, /* char *, a CONFIG_T_URL or s3://bucket/prefix */
    CONFIG_T_GLOBS,    /* char *, globs separated by ',' */
    CONFIG_T_HEADER,   /* struct config_strlist, "Name: value" appended */
    CONFIG_T_SECRET,   /* a CONFIG_T_STRING never quoted in a message */
    CONFIG_T_HOSTS,    /* char *, "none" or host[:port] items (hostlist.h) */
};

struct config_key {
    const char *name;
    enum config_type type;
    enum config_section section;
    size_t offset;   /* in struct config, or struct config_upstream */
    const char *def; /* NULL: no default, the key is required */
    uint64_t min, max;
    const char *const *choices; /* NULL-terminated */
};

static const char *const config_workers_words[] = {"auto", NULL};
static const char *const config_miss_names[] = {"wait", "background", NULL};
static const char *const config_log_format_names[] = {"text", "json", NULL};
static const char *const config_casing_names[] = {"keep", "lower", "upper",
                                                  NULL};
static const char *const config_layout_names[] = {
    "native", "debuginfod", "symstore", "symstore_index2", "ssqp",
    "breakpad", "unified", NULL};
static const char *const config_sources_names[] = {"no", "public", "any",
                                                   NULL};
static const char *const config_no_yes_names[] = {"no", "yes", NULL};

_Static_assert(sizeof(enum config_miss) == sizeof(unsigned) &&
                   sizeof(enum config_casing) == sizeof(unsigned),
               "CONFIG_T_ENUM fields are stored as unsigned");
_Static_assert(sizeof(enum config_log_format) == sizeof(unsigned),
               "CONFIG_T_ENUM fields are stored as unsigned");
_Static_assert(sizeof(enum config_sources) == sizeof(unsigned) &&
                   sizeof(enum config_layout) == sizeof(unsigned),
               "CONFIG_T_ENUM fields are stored as unsigned");

#define SRV(f) CONFIG_SEC_SERVER, offsetof(struct config, f)
#define CCH(f) CONFIG_SEC_CACHE, offsetof(struct config, f)
#define SYM(f) CONFIG_SEC_SYMBOLICATE, offsetof(struct config, f)
#define UPS(f) CONFIG_SEC_UPSTREAM, offsetof(struct config_upstream, f)
#define PUB(f) CONFIG_SEC_PUBLISH, offsetof(struct config, f)

/* Order: [server], [cache], [symbolicate], [publish], [upstream];
 * config_dump() writes this order. */
static const struct config_key config_keys[] = {
    {"listen", CONFIG_T_LISTEN, CONFIG_SEC_SERVER, 0, "127.0.0.1:8080", 0, 0,
     NULL},
    {"workers", CONFIG_T_UINT, SRV(workers), "2", 1, 256, config_workers_words},
    {"threads", CONFIG_T_UINT, SRV(threads), "8", 1, 1024, NULL},
    {"downloaders", CONFIG_T_UINT, SRV(downloaders), "8", 1, 1024, NULL},
    {"access_log", CONFIG_T_STRING, SRV(access_log), "-", 0, 0, NULL},
    {"access_log_format", CONFIG_T_ENUM, SRV(access_log_format), "text", 0, 0,
     config_log_format_names},
    {"max_connections", CONFIG_T_UINT, SRV(max_connections), "1024", 1, 1048576,
     NULL},
    {"connection_timeout", CONFIG_T_DURATION, SRV(connection_timeout_ms), "30s",
     MS_PER_S, MS_PER_D, NULL},
    {"max_hops", CONFIG_T_UINT, SRV(max_hops), "8", 1, 64, NULL},
    {"admin_allow", CONFIG_T_ACL, SRV(admin_allow), "127.0.0.0/8, ::1", 0, 0,
     NULL},
    {"dir", CONFIG_T_STRING, CCH(cache_dir), "./symsrvd-cache", 0, 0, NULL},
    {"negative_ttl", CONFIG_T_DURATION, CCH(negative_ttl_ms), "1h", 0,
     365 * MS_PER_D, NULL},
    {"miss", CONFIG_T_ENUM, CCH(miss), "wait", 0, 0, config_miss_names},
    {"miss_timeout", CONFIG_T_DURATION, CCH(miss_timeout_ms), "25s", 1,
     MS_PER_H, NULL},
    {"gzip_min_size", CONFIG_T_SIZE, CCH(gzip_min_size), "1K", 0, TIB, NULL},
    {"map_size", CONFIG_T_SIZE, CCH(map_size), "1G", MIB, 64 * TIB, NULL},
    {"map_size_max", CONFIG_T_SIZE, CCH(map_size_max), "16G", MIB, 64 * TIB,
     NULL},
    {"max_tmp_size", CONFIG_T_SIZE, CCH(max_tmp_size), "16G", 0, 1024 * TIB,
     NULL},
    {"max_size", CONFIG_T_SIZE, CCH(max_size), "0", 0, 1024 * TIB, NULL},
    {"min_free", CONFIG_T_SIZE, CCH(min_free), "1G", 0, 1024 * TIB, NULL},
    {"max_jobs", CONFIG_T_UINT, SYM(max_jobs), "200", 1, 100000, NULL},
    {"max_body_size", CONFIG_T_SIZE, SYM(max_body_size), "55M", 1024, 4 * GIB,
     NULL},
    {"max_minidump_size", CONFIG_T_SIZE, SYM(max_minidump_size), "250M", 1024,
     64 * TIB, NULL},
    {"memo_size", CONFIG_T_SIZE, SYM(memo_size), "64M", 0, 64 * GIB, NULL},
    {"result_ttl", CONFIG_T_DURATION, SYM(result_ttl_ms), "90s", MS_PER_S,
     MS_PER_D, NULL},
    {"allow_request_sources", CONFIG_T_ENUM, SYM(allow_request_sources),
     "public", 0, 0, config_sources_names},
    {"filesystem_roots", CONFIG_T_STRING, SYM(filesystem_roots), "none", 0, 0,
     NULL},
    {"allowed_source_hosts", CONFIG_T_HOSTS, SYM(allowed_source_hosts), "none",
     0, 0, NULL},
    {"download_timeout", CONFIG_T_DURATION, SYM(download_timeout_ms), "60s", 1,
     MS_PER_H, NULL},
    {"max_download_size", CONFIG_T_SIZE, SYM(max_download_size), "4G", 1024,
     64 * TIB, NULL},
    /* [symbolicate] job limits and gcs/sentry sources */
    {"job_timeout", CONFIG_T_DURATION, SYM(job_timeout_ms), "15m", MS_PER_S,
     MS_PER_D, NULL},
    {"gcs_url", CONFIG_T_URL, SYM(gcs_url), "https://storage.googleapis.com", 0,
     0, NULL},
    {"gcs_token_url", CONFIG_T_URL, SYM(gcs_token_url),
     "https://www.googleapis.com/oauth2/v4/token", 0, 0, NULL},
    {"tokens_file", CONFIG_T_STRING, PUB(publish_tokens_file), "none", 0, 0,
     NULL},
    {"drop_dir", CONFIG_T_STRING, PUB(publish_drop_dir), "none", 0, 0, NULL},
    {"max_upload_size", CONFIG_T_SIZE, PUB(publish_max_size), "4G", 1024,
     64 * TIB, NULL},
    {"publish_evictable", CONFIG_T_ENUM, PUB(publish_evictable), "no", 0, 0,
     config_no_yes_names},
    {"url", CONFIG_T_STORE_URL, UPS(url), NULL, 0, 0, NULL},
    {"timeout", CONFIG_T_DURATION, UPS(timeout_ms), "60s", 1, 7 * MS_PER_D,
     NULL},
    {"connect_timeout", CONFIG_T_DURATION, UPS(connect_timeout_ms), "5s", 1,
     MS_PER_H, NULL},
    {"max_time", CONFIG_T_DURATION, UPS(max_time_ms), "6h", MS_PER_S,
     7 * MS_PER_D, NULL},
    {"max_file_size", CONFIG_T_SIZE, UPS(max_file_size), "4G", 1024,
     64 * TIB, NULL},
    {"low_speed_limit", CONFIG_T_SIZE, UPS(low_speed_limit), "1K", 1, GIB,
     NULL},
    {"low_speed_time", CONFIG_T_DURATION, UPS(low_speed_time_ms), "30s",
     MS_PER_S, MS_PER_H, NULL},
    {"retries", CONFIG_T_UINT, UPS(retries), "3", 0, 20, NULL},
    {"resumes", CONFIG_T_UINT, UPS(resumes), "3", 0, 100, NULL},
    {"retry_backoff", CONFIG_T_DURATION, UPS(retry_backoff_ms), "250ms", 0,
     10 * MS_PER_MIN, NULL},
    {"casing", CONFIG_T_ENUM, UPS(casing), "keep", 0, 0, config_casing_names},
    /* what the upstream is asked for, and how: one block (see
     * config_load_end_section() for the rules between them) */
    {"layout", CONFIG_T_ENUM, UPS(layout), "native", 0, 0, config_layout_names},
    {"filter", CONFIG_T_GLOBS, UPS(filter), NULL, 0, 0, NULL},
    {"header", CONFIG_T_HEADER, UPS(headers), NULL, 0, 0, NULL},
    {"region", CONFIG_T_STRING, UPS(region), NULL, 0, 0, NULL},
    {"endpoint", CONFIG_T_URL, UPS(endpoint), NULL, 0, 0, NULL},
    {"access_key", CONFIG_T_STRING, UPS(access_key), NULL, 0, 0, NULL},
    {"secret_key", CONFIG_T_SECRET, UPS(secret_key), NULL, 0, 0, NULL},
    {"breaker_failures", CONFIG_T_UINT, UPS(breaker_failures), "5", 0, 1000,
     NULL},
    {"breaker_window", CONFIG_T_DURATION, UPS(breaker_window_ms), "10m",
     MS_PER_S, MS_PER_D, NULL},
    {"breaker_cooldown", CONFIG_T_DURATION, UPS(breaker_cooldown_ms), "15m",
     1, MS_PER_D, NULL},
};
#define CONFIG_NKEYS CONFIG_VALUE_NELEM(config_keys)

static const char *const config_section_names[] = {
    "server", "cache", "symbolicate", "publish", "upstream"};

static const struct {
    const char *name, *url;
} config_default_upstreams[] = {
    {"microsoft", "https://msdl.microsoft.com/download/symbols"},
    {"chromium", "https://chromium-browser-symsrv.commondatastorage."
                 "googleapis.com"},
    {"mozilla", "https://symbols.mozilla.org"},
};

/* A parsed value, held until it is known to be good. */
union config_value {
    uint64_t u;
    char *s;
    struct config_listen listen;
};

static void config_fmt(char *buf, size_t len, const char *f, ...)
    __attribute__((format(printf, 3, 4)));

static void config_fmt(char *buf, size_t len, const char *f, ...)
{
    va_list ap;

    if (buf == NULL || len == 0)
        return;
    va_start(ap, f);
    (void)vsnprintf(buf, len, f, ap);
    va_end(ap);
}

/* ---- one key ---- */

static unsigned config_online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : (unsigned)n;
}

static bool config_key_has_range(const struct config_key *k)
{
    return k->type == CONFIG_T_UINT || k->type == CONFIG_T_DURATION ||
           k->type == CONFIG_T_SIZE;
}

/* An address range list is kept as its text, checked here once so that
 * the server's own parse of it cannot fail. */
static int config_key_parse_acl(const char *value, char **out)
{
    struct acl *a;

    if (config_value_has_control(value) || acl_parse(value, &a) != 0)
        return -EINVAL;
    acl_free(a);
    *out = xstrdup(value);
    return 0;
}

/* http(s)://host..., or s3://bucket[/prefix] kept as written. */
static char *config_key_parse_store_url(const char *value)
{
    char *bucket, *prefix, *url;

    if (strncmp(value, "s3://", 5) != 0)
        return config_value_url_dup(value);
    if (config_value_has_control(value) ||
        s3_parse_uri(value, &bucket, &prefix) != 0)
        return NULL;
    url = s3_uri(bucket, prefix);
    free(bucket);
    free(prefix);
    return url;
}

/* "*.sym, *.pd_": no empty item between the commas. */
static bool config_globs_ok(const char *value)
{
    const char *p = value;

    if (*value == '\0' || config_value_has_control(value))
        return false;
    for (;;) {
        size_t n = strcspn(p, ","), lead = strspn(p, " ");

        if (lead >= n)
            return false;
        if (p[n] == '\0')
            return true;
        p += n + 1;
    }
}

/* "Name: value": an HTTP token, a colon and a value without control
 * bytes, so the line can be sent as it is. */
static bool config_header_ok(const char *value)
{
    size_t n = strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
                             "vwxyz0123456789!#$%&'*+-.^_`|~");
    const char *v = value + n + 1;

    if (n == 0 || value[n] != ':' || config_value_has_control(value))
        return false;
    while (*v == ' ')
        v++;
    return *v != '\0';
}

static int config_key_parse_choice(const struct config_key *k,
                                   const char *value, uint64_t *out)
{
    size_t i;

    for (i = 0; k->choices[i] != NULL; i++) {
        if (strcmp(value, k->choices[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return -EINVAL;
}

/* Parse VALUE for K into *V (a new string for string types). */
static int config_key_parse(const struct config_key *k, const char *value,
                            union config_value *v)
{
    const char *p = value;
    int rc = -EINVAL;

    memset(v, 0, sizeof(*v));
    switch (k->type) {
    case CONFIG_T_UINT:
        if (k->choices != NULL &&
            config_key_parse_choice(k, value, &v->u) == 0) {
            /* the only word a CONFIG_T_UINT accepts is "auto" */
            v->u = config_online_cpus();
            v->u = v->u < k->min ? k->min : v->u > k->max ? k->max : v->u;
            return 0;
        }
        rc = config_value_digits(&p, &v->u) == 0 && *p == '\0' ? 0 : -EINVAL;
        break;
    case CONFIG_T_DURATION:
        rc = config_parse_duration(value, &v->u);
        break;
    case CONFIG_T_SIZE:
        rc = config_parse_size(value, &v->u);
        break;
    case CONFIG_T_ENUM:
        return config_key_parse_choice(k, value, &v->u);
    case CONFIG_T_STRING:
    case CONFIG_T_SECRET:
        if (*value == '\0' || config_value_has_control(value))
            return -EINVAL;
        v->s = xstrdup(value);
        return 0;
    case CONFIG_T_ACL:
        return config_key_parse_acl(value, &v->s);
    case CONFIG_T_URL:
        v->s = config_value_url_dup(value);
        return v->s != NULL ? 0 : -EINVAL;
    case CONFIG_T_STORE_URL:
        v->s = config_key_parse_store_url(value);
        return v->s != NULL ? 0 : -EINVAL;
    case CONFIG_T_GLOBS:
        if (!config_globs_ok(value))
            return -EINVAL;
        v->s = xstrdup(value);
        return 0;
    case CONFIG_T_HEADER:
        if (!config_header_ok(value))
            return -EINVAL;
        v->s = xstrdup(value);
        return 0;
    case CONFIG_T_HOSTS:
        if (config_value_has_control(value) || !hostlist_valid(value))
            return -EINVAL;
        v->s = xstrdup(value);
        return 0;
    case CONFIG_T_LISTEN:
        return config_parse_listen(value, &v->listen);
    }
    if (rc == 0 && config_key_has_range(k) && (v->u < k->min || v->u > k->max))
        rc = -EINVAL;
    return rc;
}

static void config_key_fmt_value(const struct config_key *k, uint64_t v,
                                 char *buf, size_t len)
{
    if (k->type == CONFIG_T_DURATION)
        config_value_fmt_duration(buf, len, v);
    else if (k->type == CONFIG_T_SIZE)
        config_value_fmt_size(buf, len, v);
    else
        config_fmt(buf, len, "%" PRIu64, v);
}

/* Why VALUE is not good for K, as "bad duration 'x' (want ...)". */
static void config_key_why(const struct config_key *k, const char *value,
                           char *why, size_t whylen)
{
    static const char *const what[] = {
        [CONFIG_T_UINT] = "value",     [CONFIG_T_DURATION] = "duration",
        [CONFIG_T_SIZE] = "size",      [CONFIG_T_STRING] = "value",
        [CONFIG_T_ENUM] = "value",     [CONFIG_T_URL] = "url",
        [CONFIG_T_LISTEN] = "address", [CONFIG_T_ACL] = "address list",
        [CONFIG_T_STORE_URL] = "url",  [CONFIG_T_GLOBS] = "filter",
        [CONFIG_T_HEADER] = "header",  [CONFIG_T_SECRET] = "value",
        [CONFIG_T_HOSTS] = "host list",
    };
    char q[CONFIG_QUOTE_MAX + 1], lo[32], hi[32], want[96];
    size_t i, off;

    config_value_quote(q, sizeof(q), value);
    config_key_fmt_value(k, k->min, lo, sizeof(lo));
    config_key_fmt_value(k, k->max, hi, sizeof(hi));
    switch (k->type) {
    case CONFIG_T_UINT:
        config_fmt(want, sizeof(want), "%s..%s%s", lo, hi,
                   k->choices != NULL ? " or auto" : "");
        break;
    case CONFIG_T_DURATION:
        config_fmt(want, sizeof(want), "%s..%s with unit ms, s, m, h or d", lo,
                   hi);
        break;
    case CONFIG_T_SIZE:
        config_fmt(want, sizeof(want), "%s..%s with unit K, M, G or T", lo, hi);
        break;
    case CONFIG_T_ENUM:
        for (i = 0, off = 0; k->choices[i] != NULL && off < sizeof(want); i++)
            off += (size_t)snprintf(want + off, sizeof(want) - off, "%s%s",
                                    i > 0 ? "|" : "", k->choices[i]);
        break;
    case CONFIG_T_STRING:
    case CONFIG_T_SECRET:
        config_fmt(want, sizeof(want),
                   "a non-empty string without control bytes");
        break;
    case CONFIG_T_URL:
        config_fmt(want, sizeof(want), "http:// or https:// and a host");
        break;
    case CONFIG_T_LISTEN:
        config_fmt(want, sizeof(want), "HOST:PORT, [V6]:PORT or unix:/path");
        break;
    case CONFIG_T_ACL:
        config_fmt(want, sizeof(want), "addresses or ADDRESS/PREFIX, "
                                       "separated by commas");
        break;
    case CONFIG_T_STORE_URL:
        config_fmt(want, sizeof(want),
                   "http:// or https:// and a host, or s3://bucket/prefix");
        break;
    case CONFIG_T_GLOBS:
        config_fmt(want, sizeof(want), "file name globs separated by commas");
        break;
    case CONFIG_T_HEADER:
        config_fmt(want, sizeof(want), "'Name: value'");
        break;
    case CONFIG_T_HOSTS:
        config_fmt(want, sizeof(want), "none, or host[:port] names or "
                                       "addresses separated by commas");
        break;
    }
    /* tokens and keys stay out of logs, even mistyped ones */
    if (k->type == CONFIG_T_SECRET || k->type == CONFIG_T_HEADER)
        config_fmt(why, whylen, "bad %s, not shown (want %s)", what[k->type],
                   want);
    else
        config_fmt(why, whylen, "bad %s '%s' (want %s)", what[k->type], q,
                   want);
}

static void config_listen_put(struct config *cfg, const struct config_listen *l,
                              bool append)
{
    if (!append)
        cfg->nlisten = 0;
    cfg->listen =
        xreallocarray(cfg->listen, cfg->nlisten + 1, sizeof(*cfg->listen));
    cfg->listen[cfg->nlisten++] = *l;
}

/*
 * Parse VALUE and store it in BASE (the struct config, or the
 * struct config_upstream for upstream keys).  A listen value is appended
 * when APPEND, else it replaces the list.  On error nothing changes.
 */
static int config_key_set(struct config *cfg, const struct config_key *k,
                          void *base, const char *value, bool append, char *why,
                          size_t whylen)
{
    union config_value v;
    void *field = (char *)base + k->offset;

    if (config_key_parse(k, value, &v) < 0) {
        config_key_why(k, value, why, whylen);
        return -EINVAL;
    }
    switch (k->type) {
    case CONFIG_T_UINT:
    case CONFIG_T_ENUM:
        *(unsigned *)field = (unsigned)v.u;
        break;
    case CONFIG_T_DURATION:
    case CONFIG_T_SIZE:
        *(uint64_t *)field = v.u;
        break;
    case CONFIG_T_STRING:
    case CONFIG_T_URL:
    case CONFIG_T_ACL:
    case CONFIG_T_STORE_URL:
    case CONFIG_T_GLOBS:
    case CONFIG_T_HOSTS:
    case CONFIG_T_SECRET:
        free(*(char **)field);
        *(char **)field = v.s;
        break;
    case CONFIG_T_HEADER: {
        struct config_strlist *l = field;

        l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
        l->v[l->n++] = v.s;
        break;
    }
    case CONFIG_T_LISTEN:
        config_listen_put(cfg, &v.listen, append);
        break;
    }
    return 0;
}

static const struct config_key *config_key_find(enum config_section sec,
                                                const char *name)
{
    size_t i;

    for (i = 0; i < CONFIG_NKEYS; i++)
        if (config_keys[i].section == sec &&
            strcmp(config_keys[i].name, name) == 0)
            return &config_keys[i];
    return NULL;
}

/* Apply the defaults of SEC's keys to BASE. */
static void config_key_defaults(struct config *cfg, enum config_section sec,
                                void *base)
{
    size_t i;
    int rc;

    for (i = 0; i < CONFIG_NKEYS; i++) {
        const struct config_key *k = &config_keys[i];

        if (k->section != sec || k->def == NULL)
            continue;
        rc = config_key_set(cfg, k, base, k->def, false, NULL, 0);
        assert(rc == 0 && "a default is outside its own range");
        (void)rc;
    }
}

/* ---- sections and upstreams ---- */

static bool config_valid_upstream_name(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > CONFIG_NAME_MAX)
        return false;
    for (; *s != '\0'; s++)
        if (!isalnum((unsigned char)*s) && strchr("._-", *s) == NULL)
            return false;
    return true;
}

/* "server", "cache" or "upstream NAME"; NAME is copied to NAMEBUF. */
static int config_section_parse(const char *s, enum config_section *sec,
                                char *namebuf, size_t namelen)
{
    static const enum config_section fixed[] = {
        CONFIG_SEC_SERVER, CONFIG_SEC_CACHE, CONFIG_SEC_SYMBOLICATE,
        CONFIG_SEC_PUBLISH};
    size_t i;

    for (i = 0; i < CONFIG_VALUE_NELEM(fixed); i++) {
        if (strcmp(s, config_section_names[fixed[i]]) == 0) {
            *sec = fixed[i];
            namebuf[0] = '\0';
            return 0;
        }
    }
    if (strncmp(s, "upstream", 8) != 0 || !isblank((unsigned char)s[8]))
        return -EINVAL;
    s += 8;
    while (isblank((unsigned char)*s))
        s++;
    if (!config_valid_upstream_name(s) || strlen(s) >= namelen)
        return -EINVAL;
    memcpy(namebuf, s, strlen(s) + 1);
    *sec = CONFIG_SEC_UPSTREAM;
    return 0;
}

static struct config_upstream *config_upstream_find(struct config *cfg,
                                                    const char *name)
{
    size_t i;

    for (i = 0; i < cfg->nupstreams; i++)
        if (strcmp(cfg->upstreams[i].name, name) == 0)
            return &cfg->upstreams[i];
    return NULL;
}

/* Append an upstream with default knobs and no URL. */
static struct config_upstream *config_upstream_add(struct config *cfg,
                                                   const char *name)
{
    struct config_upstream *up;

    cfg->upstreams = xreallocarray(cfg->upstreams, cfg->nupstreams + 1,
                                   sizeof(*cfg->upstreams));
    up = &cfg->upstreams[cfg->nupstreams++];
    memset(up, 0, sizeof(*up));
    up->name = xstrdup(name);
    config_key_defaults(cfg, CONFIG_SEC_UPSTREAM, up);
    return up;
}

static void config_upstreams_free(struct config_upstream *ups, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(ups[i].name);
        free(ups[i].url);
        free(ups[i].filter);
        for (size_t h = 0; h < ups[i].headers.n; h++)
            free(ups[i].headers.v[h]);
        free(ups[i].headers.v);
        free(ups[i].region);
        free(ups[i].endpoint);
        free(ups[i].access_key);
        free(ups[i].secret_key);
    }
    free(ups);
}

void config_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->listen);
    free(cfg->access_log);
    free(cfg->admin_allow);
    free(cfg->cache_dir);
    free(cfg->filesystem_roots);
    free(cfg->allowed_source_hosts);
    free(cfg->gcs_url);
    free(cfg->gcs_token_url);
    free(cfg->publish_tokens_file);
    free(cfg->publish_drop_dir);
    config_upstreams_free(cfg->upstreams, cfg->nupstreams);
    free(cfg->path);
    free(cfg);
}

static struct config *config_new_defaults(void)
{
    struct config *cfg = xcalloc(1, sizeof(*cfg));
    size_t i;
    int rc;

    config_key_defaults(cfg, CONFIG_SEC_SERVER, cfg);
    config_key_defaults(cfg, CONFIG_SEC_CACHE, cfg);
    config_key_defaults(cfg, CONFIG_SEC_SYMBOLICATE, cfg);
    config_key_defaults(cfg, CONFIG_SEC_PUBLISH, cfg);
    for (i = 0; i < CONFIG_VALUE_NELEM(config_default_upstreams); i++) {
        struct config_upstream *up =
            config_upstream_add(cfg, config_default_upstreams[i].name);

        rc =
            config_key_set(cfg, config_key_find(CONFIG_SEC_UPSTREAM, "url"), up,
                           config_default_upstreams[i].url, false, NULL, 0);
        assert(rc == 0);
        (void)rc;
    }
    return cfg;
}

/* ---- reading a file ---- */

struct config_loader {
    struct config *cfg;
    const char *path;
    FILE *fp;
    char *line; /* getline() buffer */
    size_t cap;
    unsigned lineno;
    enum config_section section;
    char secname[sizeof("upstream ") + CONFIG_NAME_MAX]; /* for messages */
    unsigned section_line;
    size_t up; /* index of the current upstream */
    bool listen_seen, upstreams_seen;
    int rc; /* the first error; it ends the parse */
    char *err;
    size_t errlen;
};

static void config_load_fail(struct config_loader *st, unsigned line,
                             const char *f, ...)
    __attribute__((format(printf, 3, 4)));

static void config_load_fail(struct config_loader *st, unsigned line,
                             const char *f, ...)
{
    char msg[512];
    va_list ap;

    if (st->rc != 0)
        return;
    va_start(ap, f);
    (void)vsnprintf(msg, sizeof(msg), f, ap);
    va_end(ap);
    st->rc = -EINVAL;
    config_fmt(st->err, st->errlen, "%s:%u: %s", st->path, line, msg);
}

/* The line without BOM, comments and surrounding blanks, or NULL after
 * reporting a NUL or control byte. */
static char *config_load_clean(struct config_loader *st, size_t n)
{
    char *s = st->line, *p, *end;

    if (strlen(s) != n) {
        config_load_fail(st, st->lineno, "NUL byte in line");
        return NULL;
    }
    if (st->lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3;
    for (p = s; *p != '\0'; p++) {
        if ((*p == '#' || *p == ';') &&
            (p == s || isspace((unsigned char)p[-1]))) {
            *p = '\0';
            break;
        }
        if (iscntrl((unsigned char)*p) && !isspace((unsigned char)*p)) {
            config_load_fail(st, st->lineno, "control byte 0x%02x in line",
                             (unsigned char)*p);
            return NULL;
        }
    }
    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* The rules between an upstream's keys, or NULL when they hold. */
static const char *config_upstream_why(const struct config_upstream *up)
{
    bool s3 = up->url != NULL && strncmp(up->url, "s3://", 5) == 0;

    if (up->url == NULL)
        return "no url";
    if (!s3 && (up->region != NULL || up->endpoint != NULL ||
                up->access_key != NULL || up->secret_key != NULL))
        return "region, endpoint, access_key and secret_key need an s3:// url";
    if ((up->access_key == NULL) != (up->secret_key == NULL))
        return "access_key and secret_key go together";
    if (up->region != NULL && strpbrk(up->region, "/:?#@ ") != NULL)
        return "bad region (a name such as us-east-1)";
    if (s3 && up->layout == CONFIG_LAYOUT_DEBUGINFOD)
        return "an s3:// bucket is not a debuginfod server";
    return NULL;
}

static void config_load_end_section(struct config_loader *st)
{
    const char *why;

    if (st->section != CONFIG_SEC_UPSTREAM)
        return;
    why = config_upstream_why(&st->cfg->upstreams[st->up]);
    if (why != NULL)
        config_load_fail(st, st->section_line, "[%s]: %s", st->secname, why);
}

static void config_load_upstream(struct config_loader *st, const char *name)
{
    struct config *cfg = st->cfg;

    if (!st->upstreams_seen) {
        /* the file's upstreams replace the embedded ones */
        config_upstreams_free(cfg->upstreams, cfg->nupstreams);
        cfg->upstreams = NULL;
        cfg->nupstreams = 0;
        st->upstreams_seen = true;
    }
    if (config_upstream_find(cfg, name) != NULL) {
        config_load_fail(st, st->lineno, "duplicate section [upstream %s]",
                         name);
        return;
    }
    config_upstream_add(cfg, name);
    st->up = cfg->nupstreams - 1;
}

/* A "[...]" line. */
static void config_load_section(struct config_loader *st, char *s)
{
    char *close = strchr(s, ']'), *inner = s + 1, *end;
    char name[CONFIG_NAME_MAX + 1], q[CONFIG_QUOTE_MAX + 1];
    enum config_section sec;

    config_load_end_section(st);
    if (close == NULL || close[1] != '\0') {
        config_load_fail(st, st->lineno,
                         "bad section line (want [server], "
                         "[cache], [symbolicate], [publish] or "
                         "[upstream NAME])");
        return;
    }
    *close = '\0';
    while (isblank((unsigned char)*inner))
        inner++;
    for (end = close; end > inner && isblank((unsigned char)end[-1]);)
        *--end = '\0';
    if (config_section_parse(inner, &sec, name, sizeof(name)) < 0) {
        config_value_quote(q, sizeof(q), inner);
        config_load_fail(
            st, st->lineno,
            "unknown section [%s] (want [server], [cache], [symbolicate], "
            "[publish] or [upstream NAME], NAME of letters, digits, '.', '_', '-')",
            q);
        return;
    }
    if (sec == CONFIG_SEC_UPSTREAM)
        config_load_upstream(st, name);
    st->section = sec;
    st->section_line = st->lineno;
    config_fmt(st->secname, sizeof(st->secname), "%s%s%s",
               config_section_names[sec], name[0] != '\0' ? " " : "", name);
}

/*
 * inih's line reader: hands inih blank lines and "key = value" lines only.
 * Returning NULL ends the parse, which is how the first error stops it.
 */
static char *config_load_read(char *buf, int num, void *stream)
{
    struct config_loader *st = stream;
    ssize_t n;
    char *s;

    if (st->rc != 0)
        return NULL;
    n = getline(&st->line, &st->cap, st->fp);
    if (n < 0)
        return NULL;
    st->lineno++;
    s = config_load_clean(st, (size_t)n);
    if (s == NULL)
        return NULL;
    if (*s == '[') {
        config_load_section(st, s);
        s = "";
    } else if (*s != '\0' && strpbrk(s, "=:") == NULL) {
        config_load_fail(st, st->lineno,
                         "syntax error (want 'key = value', "
                         "'[section]' or a comment)");
    } else if (*s != '\0' && st->section == CONFIG_SEC_NONE) {
        config_load_fail(st, st->lineno,
                         "key outside a section (start with "
                         "[server], [cache] or [upstream NAME])");
    } else if (strlen(s) + 2 > (size_t)num) {
        config_load_fail(st, st->lineno, "line too long (at most %d bytes)",
                         num - 2);
    }
    if (st->rc != 0)
        return NULL;
    (void)snprintf(buf, (size_t)num, "%s\n", s);
    return buf;
}

static int config_load_handler(void *user, const char *section,
                               const char *name, const char *value)
{
    struct config_loader *st = user;
    const struct config_key *k;
    char why[256], q[CONFIG_QUOTE_MAX + 1];
    void *base = st->cfg;
    bool append;

    (void)section; /* ours: inih truncates section names at 49 bytes */
    if (st->rc != 0)
        return 0;
    k = config_key_find(st->section, name);
    if (k == NULL) {
        config_value_quote(q, sizeof(q), name);
        config_load_fail(st, st->lineno, "[%s] unknown key '%s'", st->secname,
                         q);
        return 0;
    }
    if (st->section == CONFIG_SEC_UPSTREAM)
        base = &st->cfg->upstreams[st->up];
    /* the file's first listen replaces the default, later ones append */
    append = k->type == CONFIG_T_LISTEN && st->listen_seen;
    if (config_key_set(st->cfg, k, base, value, append, why, sizeof(why)) < 0) {
        config_load_fail(st, st->lineno, "[%s] %s: %s", st->secname, name, why);
        return 0;
    }
    if (k->type == CONFIG_T_LISTEN)
        st->listen_seen = true;
    return 1;
}

static int config_load_file(struct config *cfg, const char *path, char *err,
                            size_t errlen)
{
    struct config_loader st = {.cfg = cfg,
                               .path = path,
                               .section = CONFIG_SEC_NONE,
                               .err = err,
                               .errlen = errlen};
    int line;

    st.fp = fopen(path, "re");
    if (st.fp == NULL) {
        int e = errno;

        errno = e;
        config_fmt(err, errlen, "%s: %m", path);
        return e == ENOENT ? -ENOENT : -EIO;
    }
    line = ini_parse_stream(config_load_read, &st, config_load_handler, &st);
    if (st.rc == 0 && ferror(st.fp)) {
        config_fmt(err, errlen, "%s: read error", path);
        st.rc = -EIO;
    }
    config_load_end_section(&st);
    if (line != 0)
        config_load_fail(&st, line > 0 ? (unsigned)line : st.lineno,
                         "syntax error");
    free(st.line);
    (void)fclose(st.fp);
    return st.rc;
}

/* ---- environment, command line ---- */

/* SYMSRVD_<SECTION>_<KEY>, upper case. */
static void config_env_name(const struct config_key *k, char *buf, size_t len)
{
    char *p;

    config_fmt(buf, len, "SYMSRVD_%s_%s", config_section_names[k->section],
               k->name);
    for (p = buf; *p != '\0'; p++)
        *p = (char)toupper((unsigned char)*p);
}

/* SYMSRVD_SERVER_LISTEN: blank-separated addresses. */
static int config_env_listen(struct config *cfg, const char *value, char *why,
                             size_t whylen)
{
    char *copy = xstrdup(value), *save = NULL, *tok;
    const char **addrs = xcalloc(strlen(value) / 2 + 1, sizeof(*addrs));
    size_t n = 0;
    int rc;

    for (tok = strtok_r(copy, " \t", &save); tok != NULL;
         tok = strtok_r(NULL, " \t", &save))
        addrs[n++] = tok;
    rc = config_replace_listen(cfg, addrs, n, why, whylen);
    free(addrs);
    free(copy);
    return rc;
}

static int config_load_env(struct config *cfg, char *err, size_t errlen)
{
    char var[64], why[256];
    const char *value;
    size_t i;
    int rc;

    for (i = 0; i < CONFIG_NKEYS; i++) {
        const struct config_key *k = &config_keys[i];

        if (k->section == CONFIG_SEC_UPSTREAM)
            continue;
        config_env_name(k, var, sizeof(var));
        value = getenv(var); /* NOLINT(concurrency-mt-unsafe): start-up */
        if (value == NULL)
            continue;
        if (k->type == CONFIG_T_LISTEN)
            rc = config_env_listen(cfg, value, why, sizeof(why));
        else
            rc = config_key_set(cfg, k, cfg, value, false, why, sizeof(why));
        if (rc < 0) {
            config_fmt(err, errlen, "environment: %s: %s", var, why);
            return rc;
        }
    }
    return 0;
}

int config_load(const char *path, struct config **out, char *err, size_t errlen)
{
    struct config *cfg = config_new_defaults();
    int rc = 0;

    if (path != NULL) {
        cfg->path = xstrdup(path);
        rc = config_load_file(cfg, path, err, errlen);
        if (rc < 0)
            goto out;
    }
    rc = config_load_env(cfg, err, errlen);
    if (rc < 0)
        goto out;
    *out = cfg;
    cfg = NULL;
out:
    config_free(cfg);
    return rc;
}

int config_set(struct config *cfg, const char *section, const char *key,
               const char *value, char *err, size_t errlen)
{
    char name[CONFIG_NAME_MAX + 1], why[256], q[CONFIG_QUOTE_MAX + 1];
    char qkey[CONFIG_QUOTE_MAX + 1];
    const struct config_key *k = NULL;
    enum config_section sec;
    void *base = cfg;

    config_value_quote(q, sizeof(q), section);
    if (config_section_parse(section, &sec, name, sizeof(name)) < 0) {
        config_fmt(err, errlen, "unknown section [%s]", q);
        return -EINVAL;
    }
    if (sec == CONFIG_SEC_UPSTREAM)
        base = config_upstream_find(cfg, name);
    if (base == NULL) {
        config_fmt(err, errlen, "[%s]: no such upstream", q);
        return -EINVAL;
    }
    k = config_key_find(sec, key);
    if (k == NULL) {
        config_value_quote(qkey, sizeof(qkey), key);
        config_fmt(err, errlen, "[%s] unknown key '%s'", q, qkey);
        return -EINVAL;
    }
    if (config_key_set(cfg, k, base, value, false, why, sizeof(why)) < 0) {
        config_fmt(err, errlen, "[%s] %s: %s", q, key, why);
        return -EINVAL;
    }
    return 0;
}

int config_replace_listen(struct config *cfg, const char *const *addrs,
                          size_t n, char *err, size_t errlen)
{
    struct config_listen *l;
    size_t i;

    if (n == 0) {
        config_fmt(err, errlen, "no listen address");
        return -EINVAL;
    }
    l = xcalloc(n, sizeof(*l));
    for (i = 0; i < n; i++) {
        if (config_parse_listen(addrs[i], &l[i]) < 0) {
            config_key_why(config_key_find(CONFIG_SEC_SERVER, "listen"),
                           addrs[i], err, errlen);
            free(l);
            return -EINVAL;
        }
    }
    free(cfg->listen);
    cfg->listen = l;
    cfg->nlisten = n;
    return 0;
}

int config_replace_upstreams(struct config *cfg, const char *const *urls,
                             size_t n, char *err, size_t errlen)
{
    const struct config_key *k = config_key_find(CONFIG_SEC_UPSTREAM, "url");
    char name[32];
    size_t i;
    int rc;

    if (n == 0) {
        config_fmt(err, errlen, "no upstream url");
        return -EINVAL;
    }
    for (i = 0; i < n; i++) {
        char *url = config_value_url_dup(urls[i]);

        if (url == NULL) {
            config_key_why(k, urls[i], err, errlen);
            return -EINVAL;
        }
        free(url);
    }
    config_upstreams_free(cfg->upstreams, cfg->nupstreams);
    cfg->upstreams = NULL;
    cfg->nupstreams = 0;
    for (i = 0; i < n; i++) {
        config_fmt(name, sizeof(name), "cli%zu", i + 1);
        rc = config_key_set(cfg, k, config_upstream_add(cfg, name), urls[i],
                            false, NULL, 0);
        assert(rc == 0);
        (void)rc;
    }
    return 0;
}

const char *config_default_path(void)
{
    return SYSCONFDIR "/symsrvd/symsrvd.conf";
}

/* ---- writing ---- */

static void config_dump_listen(const struct config_listen *l, FILE *fp)
{
    if (l->kind == CONFIG_LISTEN_UNIX)
        (void)fprintf(fp, "listen = unix:%s\n", l->path);
    else if (strchr(l->host, ':') != NULL)
        (void)fprintf(fp, "listen = [%s]:%s\n", l->host, l->port);
    else
        (void)fprintf(fp, "listen = %s:%s\n", l->host, l->port);
}

static void config_dump_key(const struct config *cfg,
                            const struct config_key *k, const void *base,
                            FILE *fp)
{
    const void *field = (const char *)base + k->offset;
    char buf[32];
    size_t i;

    switch (k->type) {
    case CONFIG_T_UINT:
        (void)fprintf(fp, "%s = %u\n", k->name, *(const unsigned *)field);
        break;
    case CONFIG_T_ENUM:
        (void)fprintf(fp, "%s = %s\n", k->name,
                      k->choices[*(const unsigned *)field]);
        break;
    case CONFIG_T_DURATION:
    case CONFIG_T_SIZE:
        config_key_fmt_value(k, *(const uint64_t *)field, buf, sizeof(buf));
        (void)fprintf(fp, "%s = %s\n", k->name, buf);
        break;
    case CONFIG_T_STRING:
    case CONFIG_T_URL:
    case CONFIG_T_ACL:
    case CONFIG_T_STORE_URL:
    case CONFIG_T_GLOBS:
    case CONFIG_T_HOSTS:
    case CONFIG_T_SECRET:
        if (*(char *const *)field != NULL)
            (void)fprintf(fp, "%s = %s\n", k->name, *(char *const *)field);
        break;
    case CONFIG_T_HEADER: {
        const struct config_strlist *l = field;

        for (i = 0; i < l->n; i++)
            (void)fprintf(fp, "%s = %s\n", k->name, l->v[i]);
        break;
    }
    case CONFIG_T_LISTEN:
        for (i = 0; i < cfg->nlisten; i++)
            config_dump_listen(&cfg->listen[i], fp);
        break;
    }
}

static void config_dump_section(const struct config *cfg,
                                enum config_section sec, const void *base,
                                FILE *fp)
{
    size_t i;

    for (i = 0; i < CONFIG_NKEYS; i++)
        if (config_keys[i].section == sec)
            config_dump_key(cfg, &config_keys[i], base, fp);
}

int config_dump(const struct config *cfg, FILE *fp)
{
    size_t i;

    (void)fprintf(fp, "[server]\n");
    config_dump_section(cfg, CONFIG_SEC_SERVER, cfg, fp);
    (void)fprintf(fp, "\n[cache]\n");
    config_dump_section(cfg, CONFIG_SEC_CACHE, cfg, fp);
    (void)fprintf(fp, "\n[symbolicate]\n");
    config_dump_section(cfg, CONFIG_SEC_SYMBOLICATE, cfg, fp);
    (void)fprintf(fp, "\n[publish]\n");
    config_dump_section(cfg, CONFIG_SEC_PUBLISH, cfg, fp);
    for (i = 0; i < cfg->nupstreams; i++) {
        (void)fprintf(fp, "\n[upstream %s]\n", cfg->upstreams[i].name);
        config_dump_section(cfg, CONFIG_SEC_UPSTREAM, &cfg->upstreams[i], fp);
    }
    return fflush(fp) != 0 || ferror(fp) ? -EIO : 0;
}

/* --- reload: what the master keeps across a SIGHUP (main.c) ---------- */

static bool config_listen_equal(const struct config_listen *a,
                                const struct config_listen *b)
{
    return a->kind == b->kind && strcmp(a->host, b->host) == 0 &&
           strcmp(a->port, b->port) == 0 && strcmp(a->path, b->path) == 0;
}

bool config_same_listen(const struct config *a, const struct config *b)
{
    size_t i;

    if (a->nlisten != b->nlisten)
        return false;
    for (i = 0; i < a->nlisten; i++) {
        if (!config_listen_equal(&a->listen[i], &b->listen[i]))
            return false;
    }
    return true;
}

void config_copy_listen(struct config *dst, const struct config *src)
{
    free(dst->listen);
    dst->listen = xcalloc(src->nlisten, sizeof(*dst->listen));
    memcpy(dst->listen, src->listen, src->nlisten * sizeof(*dst->listen));
    dst->nlisten = src->nlisten;
}
