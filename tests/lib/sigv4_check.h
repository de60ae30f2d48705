/* SPDX-License-Identifier: MIT */
/*
 * sigv4_check: what an S3 server does with a request, for the tests' S3
 * stub: recompute its AWS Signature Version 4 (AWS4-HMAC-SHA256, a
 * request without a body) from the secret key and compare.  Needs
 * libcrypto (Debian libssl-dev); without it sigv4_check_available() is
 * false and every check fails.
 */
#ifndef SYMSRVD_SIGV4_CHECK_H
#define SYMSRVD_SIGV4_CHECK_H

#include <stdbool.h>
#include <stddef.h>

bool sigv4_check_available(void);

/* The keys and scope a request must be signed for. */
struct sigv4_key {
    const char *access, *secret, *region;
    /* written by sigv4_check_gate(): requests seen and rejected */
    unsigned seen, rejected;
    char why[256]; /* the last rejection's reason */
};

/* 0 when HEADERS ("Name: value\n" lines) carry an Authorization that K's
 * secret gives for METHOD and PATH (no query) with service s3; else -1
 * with WHY set. */
int sigv4_check(const struct sigv4_key *k, const char *method,
                const char *path, const char *headers, char *why,
                size_t whylen);

/* A stub_gate_fn (ARG a struct sigv4_key): 403 for a request that is
 * unsigned or wrongly signed, as S3 answers. */
unsigned sigv4_check_gate(void *arg, const char *method, const char *path,
                          const char *headers);

#endif
