/* SPDX-License-Identifier: MIT */
/*
 * config: the daemon's settings, from embedded defaults, an INI file read
 * with inih, SYMSRVD_<SECTION>_<KEY> environment variables and the command
 * line, in that order of increasing precedence.
 *
 * Every key is one row of a table in config.c ({section, key, type,
 * offset, default, min, max}); defaults, range checks, environment
 * overrides and config_dump() all come from that row, so a key is added in
 * one place (plus symsrvd.conf(5) and etc/symsrvd.conf, which a test keeps
 * in step with the table).
 *
 * THREADS.  A struct config is built and modified by one thread at
 * start-up; after that it is read-only and any thread may read it.
 */
#ifndef SYMSRVD_CONFIG_H
#define SYMSRVD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What a request does while its symbol is being downloaded. */
enum config_miss {
    CONFIG_MISS_WAIT,      /* stream the download to the first client */
    CONFIG_MISS_BACKGROUND /* answer 404 at once, fetch for the next one */
};

/* How the access log writes a request. */
enum config_log_format {
    CONFIG_LOG_TEXT, /* fields separated by spaces */
    CONFIG_LOG_JSON  /* one JSON object per line */
};

/* Letter case of name/id/file in the URL sent to an upstream. */
enum config_casing {
    CONFIG_CASING_KEEP, /* as the client sent it */
    CONFIG_CASING_LOWER,
    CONFIG_CASING_UPPER
};

/* Which protocol and tree an upstream speaks: under which path it is
 * asked for a client's key (layout.h has the rules). */
enum config_layout {
    CONFIG_LAYOUT_NATIVE,     /* the client's /<name>/<id>/<file> as sent */
    CONFIG_LAYOUT_DEBUGINFOD, /* build-id keys, /buildid/<hex>/... */
    CONFIG_LAYOUT_SYMSTORE,   /* symstore.exe's one-tier tree */
    CONFIG_LAYOUT_SYMSTORE_INDEX2, /* its two-tier tree (index2.txt) */
    CONFIG_LAYOUT_SSQP,       /* the Simple Symbol Query Protocol */
    CONFIG_LAYOUT_BREAKPAD,   /* Mozilla's: symstore plus Breakpad .sym */
    CONFIG_LAYOUT_UNIFIED,    /* Sentry's unified layout */
};

/* A list of strings a repeatable key collects. */
struct config_strlist {
    char **v;
    size_t n;
};

/* Which request-supplied sources /symbolicate may reach. */
enum config_sources {
    CONFIG_SOURCES_NO,     /* none: only the configured ones */
    CONFIG_SOURCES_PUBLIC, /* public addresses only (no SSRF to the LAN) */
    CONFIG_SOURCES_ANY     /* anything, loopback included (tests) */
};

enum config_listen_kind { CONFIG_LISTEN_TCP, CONFIG_LISTEN_UNIX };

/* One parsed listen address. */
struct config_listen {
    enum config_listen_kind kind;
    char host[256]; /* TCP: host name or address, without [] for IPv6 */
    char port[8];   /* TCP: decimal port, "0" allowed (ephemeral) */
    char path[108]; /* UNIX: socket path */
};

/* One [upstream NAME] section. */
struct config_upstream {
    char *name;                  /* section name after "upstream " */
    char *url;                   /* http(s) or s3 URL, no trailing slash */
    uint64_t timeout_ms;         /* default 60s: until the answer starts */
    uint64_t connect_timeout_ms; /* default 5s */
    uint64_t max_time_ms;        /* default 6h: whole transfer */
    uint64_t max_file_size;      /* default 4G: longer bodies are cut */
    uint64_t low_speed_limit;    /* default 1K: bytes per second ... */
    uint64_t low_speed_time_ms;  /* default 30s: ... below which so long stalls */
    unsigned retries;            /* default 3 */
    unsigned resumes;            /* default 3: Range requests after cuts */
    uint64_t retry_backoff_ms;   /* default 250ms */
    enum config_casing casing;   /* default keep */
    enum config_layout layout;   /* default native */
    /* which files this upstream is asked for, and how */
    char *filter;                /* globs separated by ',', NULL: all */
    struct config_strlist headers; /* "Name: value" lines sent with each
                                    * request (never logged) */
    char *region;                /* s3: default from AWS_REGION */
    char *endpoint;              /* s3: http(s) URL, NULL: Amazon's */
    char *access_key, *secret_key; /* s3: NULL: the environment's */
    unsigned breaker_failures;   /* default 5; 0: the breaker never opens */
    uint64_t breaker_window_ms;  /* default 10m */
    uint64_t breaker_cooldown_ms; /* default 15m */
};

struct config {
    /* [server] */
    struct config_listen *listen; /* default 127.0.0.1:8080 */
    size_t nlisten;
    unsigned workers; /* default 2; "auto" = online CPUs, resolved at load */
    unsigned threads; /* default 8, 1..1024 */
    unsigned downloaders;           /* default 8, 1..1024 */
    char *access_log;               /* "-" (default), "off", or a file path */
    enum config_log_format access_log_format; /* default text */
    unsigned max_connections;       /* default 1024 */
    uint64_t connection_timeout_ms; /* default 30s: idle/slow client dropped */
    unsigned max_hops; /* default 8: X-Forwarded-For entries before a 404 */
    char *admin_allow; /* address ranges allowed DELETE (acl.h), default
                        * "127.0.0.0/8, ::1" */
    /* [cache] */
    char *cache_dir;          /* default "./symsrvd-cache" */
    uint64_t negative_ttl_ms; /* default 1h */
    enum config_miss miss;    /* default wait */
    uint64_t miss_timeout_ms; /* default 25s */
    uint64_t gzip_min_size;   /* default 1K (1024) */
    uint64_t map_size;        /* LMDB map size, default 1G, min 1M */
    uint64_t map_size_max;    /* the map grows up to this, default 16G */
    uint64_t max_tmp_size;    /* temp bytes of all downloads, default 16G */
    uint64_t max_size;        /* cache size that starts eviction, 0 = none */
    uint64_t min_free;        /* free disk below which it evicts, 1G */
    /* [symbolicate] */
    unsigned max_jobs;                       /* default 200, box-wide */
    uint64_t max_body_size;                  /* default 55M */
    uint64_t max_minidump_size;              /* default 250M */
    uint64_t memo_size; /* default 64M: answer text the tables remember,
                         * per worker */
    uint64_t result_ttl_ms;                  /* default 90s */
    enum config_sources allow_request_sources; /* default public */
    char *filesystem_roots; /* "none" (default) or dirs separated by ':' */
    char *allowed_source_hosts; /* "none" (default) or host[:port] items
                                 * that allow_request_sources = public lets
                                 * reach any address (hostlist.h) */
    uint64_t download_timeout_ms;            /* default 60s */
    uint64_t max_download_size;              /* default 4G */
    /* [symbolicate] job limits and gcs/sentry sources */
    uint64_t job_timeout_ms;                 /* default 15m */
    char *gcs_url; /* Google Cloud Storage's API, no trailing '/' */
    char *gcs_token_url; /* where service account keys get tokens */
    /* [publish] */
    char *publish_tokens_file;  /* "none" (default): PUT is refused */
    char *publish_drop_dir;     /* "none" (default): no drop directory */
    uint64_t publish_max_size;  /* default 4G: larger uploads get 413 */
    unsigned publish_evictable; /* 0 no (default), 1 yes */
    /* [upstream NAME], in file order; default: microsoft, chromium, mozilla */
    struct config_upstream *upstreams;
    size_t nupstreams;
    char *path; /* file it was loaded from, or NULL for embedded defaults */
};

/*
 * Load PATH (NULL: embedded defaults only), then apply
 * SYMSRVD_<SECTION>_<KEY> environment overrides for [server]/[cache] keys
 * (SYMSRVD_SERVER_LISTEN takes one or more addresses separated by blanks
 * and replaces the list).
 *
 * In the file, the first listen line and the first [upstream NAME] section
 * replace the defaults; later ones append.  "#" or ";" at the start of a
 * line or after a blank starts a comment.  Without comments a line may be
 * at most 198 bytes (inih's line buffer); longer lines are an error.
 *
 * Returns 0 and sets *OUT to a new config (free with config_free()), or
 * -ENOENT (no such file: a caller trying the default path falls back to
 * config_load(NULL, ...)), -EIO (unreadable) or -EINVAL (bad content), with
 * ERR set to one line naming the file, line and key:
 *   "symsrvd.conf:12: [cache] negative_ttl: bad duration 'x' (...)"
 *   "environment: SYMSRVD_CACHE_MISS: bad value 'x' (wait|background)"
 */
int config_load(const char *path, struct config **out, char *err,
                size_t errlen);

/* Free CFG and everything it owns.  NULL-safe. */
void config_free(struct config *cfg);

/*
 * Set one key as if read from a file (used for -d, -w and the
 * environment).  SECTION is "server", "cache" or "upstream NAME" for an
 * existing upstream.  Setting "listen" replaces the whole list with that
 * one address.  Returns 0, or -EINVAL with ERR set ("[cache] miss: ...");
 * on error CFG is unchanged.
 */
int config_set(struct config *cfg, const char *section, const char *key,
               const char *value, char *err, size_t errlen);

/*
 * Replace the listen list with the N addresses ADDRS (command line -l), or
 * the upstream list with N upstreams at URLS named "cli1", "cli2"... with
 * default knobs (-u).  N must be at least 1.  Returns 0, or -EINVAL with
 * ERR set to the reason without a prefix ("bad address '1.2.3.4' (want
 * HOST:PORT, [V6]:PORT or unix:/path)"); on error CFG is unchanged.
 */
int config_replace_listen(struct config *cfg, const char *const *addrs,
                          size_t n, char *err, size_t errlen);
int config_replace_upstreams(struct config *cfg, const char *const *urls,
                             size_t n, char *err, size_t errlen);

/*
 * "250ms" "5s" "10m" "1h" "2d"; a bare number is seconds.  Digits then an
 * optional unit, nothing else (no sign, blanks or fractions).  Returns 0
 * and sets *MS, or -EINVAL (also on overflow).
 */
int config_parse_duration(const char *s, uint64_t *ms);

/*
 * "1024" "1K" "10M" "1G" "2T" (powers of 1024; unit letters in either
 * case); a bare number is bytes.  Returns 0 and sets *BYTES, or -EINVAL
 * (also on overflow).
 */
int config_parse_size(const char *s, uint64_t *bytes);

/*
 * "HOST:PORT" (IPv4 address or host name), "[V6]:PORT" (optionally with
 * a %zone) or "unix:/path".  PORT is 0..65535.  Returns 0 and fills *OUT
 * (unused fields zeroed), or -EINVAL.
 */
int config_parse_listen(const char *s, struct config_listen *out);

/* SYSCONFDIR "/symsrvd/symsrvd.conf": a static string. */
const char *config_default_path(void);

/* Do A and B listen on the same addresses, in the same order?  A reload
 * cannot change them: the sockets stay open across it (main.c). */
bool config_same_listen(const struct config *a, const struct config *b);

/* Replace DST's listen list with a copy of SRC's. */
void config_copy_listen(struct config *dst, const struct config *src);

/*
 * Write CFG to FP as an INI file that config_load() reads back to the same
 * settings (workers as a number).  Returns 0 or -EIO.
 */
int config_dump(const struct config *cfg, FILE *fp);

#endif
