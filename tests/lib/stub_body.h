/* SPDX-License-Identifier: MIT */
/*
 * stub_body: reference-counted bodies for the stub upstream (internal to
 * tests/lib; tests use stub_upstream.h).  THREADING: a body is immutable
 * after stub_body_new(); references may be taken and dropped from any
 * thread.
 */
#ifndef SYMSRVD_STUB_BODY_H
#define SYMSRVD_STUB_BODY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct stub_body {
    atomic_uint refs;
    uint64_t len;
    unsigned char *data; /* NULL: generated from seed */
    uint32_t seed;
};

/* A body of LEN bytes: DATA (taken; freed with the body) or, when DATA is
 * NULL, stub_generate(SEED).  Returns a new body holding one reference. */
struct stub_body *stub_body_new(uint64_t len, unsigned char *data,
                                uint32_t seed);

/* Take a reference to B (NULL-safe); returns B. */
struct stub_body *stub_body_ref(struct stub_body *b);

/* Drop a reference to B, freeing it with the last one.  NULL-safe. */
void stub_body_unref(struct stub_body *b);

/* Copy N bytes of B at POS (POS + N <= B->len) into BUF. */
void stub_body_read(const struct stub_body *b, uint64_t pos, void *buf,
                    size_t n);

/* A new gzip (RFC 1952) copy of B, made in memory: it gives the response a
 * Content-Length, and tests gzip only small bodies. */
struct stub_body *stub_body_gzip(const struct stub_body *b);

/* Print "stub_upstream: " and the message to stderr, then abort: the
 * stub's setup errors end the test. */
void stub_die(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

#endif
