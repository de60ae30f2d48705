/* SPDX-License-Identifier: MIT */
/*
 * itest: shared set-up of the integration tests: a temp cache dir, one or
 * two stub upstreams and the real daemon on 127.0.0.1 port 0.
 */
#ifndef SYMSRVD_ITEST_H
#define SYMSRVD_ITEST_H

#include <stdbool.h>
#include <stddef.h>

#include "stub_upstream.h"
#include "testutil.h"

struct itest {
    char *dir;           /* the cache directory */
    struct stub *up[2];  /* upstreams, in order */
    struct daemon *d;
    char *conf;          /* config file written by itest_start_conf */
};

/* Start NUP stubs and the daemon with "-w WORKERS" and EXTRA args/ENV
 * (NULL-terminated; either may be NULL).  Aborts the test on failure. */
void itest_start(struct itest *t, unsigned nup, const char *workers,
                 const char *const *extra, const char *const *env);

/* As itest_start with a config file: CONF_BODY is written to a file and
 * passed with -c; the upstreams are given by the config text, in which
 * every "@UP0@" and "@UP1@" is replaced by the stubs' URLs. */
void itest_start_conf(struct itest *t, unsigned nup, const char *conf_body);

/* The same with ENV (NULL-terminated "NAME=value") added to the daemon's. */
void itest_start_conf_env(struct itest *t, unsigned nup, const char *conf_body,
                          const char *const *env);

/* Restart the daemon on the same cache dir (same args), upstreams kept. */
void itest_restart(struct itest *t);

void itest_stop(struct itest *t);

/* BASE + PATH as a new string. */
char *itest_url(const struct itest *t, const char *path);

/* GET PATH from the daemon with optional headers; aborts if no response. */
void itest_get(const struct itest *t, const char *path,
               const char *const *headers, struct http_resp *out);

/* GET PATH with optional HEADERS and check the answer's status is WANT. */
void itest_expect_status(const struct itest *t, const char *path,
                         const char *const *headers, long want);

/* GET PATH and check the answer is 200 with BODY[0..LEN). */
void itest_get_body(const struct itest *t, const char *path,
                    const char *body, size_t len);

/* Poll /metrics until metric NAME (with LABEL, may be NULL) is at least
 * VALUE or TIMEOUT_MS pass.  True when reached.  (metrics_wait() wants an
 * exact value, which a counter that /metrics itself bumps can overshoot.) */
bool itest_metric_at_least(const struct itest *t, const char *name,
                           const char *label, double value,
                           unsigned timeout_ms);

/* A TCP connection to 127.0.0.1:PORT (aborts the test on failure). */
int itest_connect(unsigned port);

/* The same with a receive buffer of RCVBUF bytes (0: the default), set
 * before connecting so the window stays small: the daemon cannot push a
 * large body ahead of a slow reader. */
int itest_connect_rcvbuf(unsigned port, int rcvbuf);

/* A buffer of LEN compressible or random bytes (new). */
char *itest_body(size_t len, bool compressible, unsigned seed);

/* Number of regular files under DIR (recursively), excluding .Symsrvd
 * state when SKIP_STATE; whether any name under DIR contains NEEDLE. */
size_t itest_count_files(const char *dir, bool skip_state);
bool itest_tree_has(const char *dir, const char *needle);

/* The store paths tools/symsrvd-key prints for PATH, one a line (a new
 * string); fails the test when it prints none. */
char *itest_keys_of(const char *path);

#endif
