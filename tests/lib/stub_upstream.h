/* SPDX-License-Identifier: MIT */
/*
 * stub_upstream: an in-process fake upstream symbol server for tests.
 *
 * It is a libmicrohttpd daemon on 127.0.0.1 (port chosen by the kernel)
 * serving byte bodies registered by exact path, counting every request, and
 * injecting the faults a real symbol store shows: error statuses, delays,
 * truncated and reset bodies, slow bodies, redirects, gzip encoding and
 * chunked bodies without Content-Length.  Integration tests point symsrvd at
 * stub_url() and assert on what the daemon does and on the stub's counters.
 *
 * THREADING: every function may be called from any thread while the stub
 * serves; each connection is served by its own thread.  Functions abort the
 * process (with a message on stderr) on setup failure: they are for tests.
 */
#ifndef SYMSRVD_STUB_UPSTREAM_H
#define SYMSRVD_STUB_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stub;

/* Faults for a path, consumed one per request (any method) in the order
 * they were added.  ARG is the per-kind argument named below.  STATUS, DELAY
 * and REDIRECT also apply to a path with no body (which is then a 404 after
 * the delay, or behind the redirect); the others need a body. */
enum stub_fault_kind {
    /* Answer ARG (an HTTP status) with a short text body. */
    STUB_STATUS,
    /* Sleep ARG milliseconds before the headers, then answer normally (the
     * sleep ends early, dropping the request, if the client hangs up). */
    STUB_DELAY,
    /* Announce the full Content-Length, send headers and the first ARG body
     * bytes, then close the connection (the client sees a short body). */
    STUB_TRUNCATE,
    /* Send headers and the first ARG body bytes, wait until the client has
     * acknowledged them, then reset the connection (TCP RST). */
    STUB_RESET,
    /* Send the body at ARG bytes per second (0 counts as 1) in chunks of
     * ARG/20 bytes (at most 64 KiB); headers and first chunk go out at once.
     * A client that hangs up ends the response. */
    STUB_SLOW,
    /* 302 to stub_url() + "/redirected" + PATH, which serves PATH's body. */
    STUB_REDIRECT,
    /* The body gzip-compressed, with Content-Encoding: gzip and the
     * compressed Content-Length (ARG is unused). */
    STUB_GZIP,
    /* The body chunked, without Content-Length (ARG is unused). */
    STUB_NO_LENGTH,
    /* Answer with the whole body and 200 even when a Range was asked for,
     * like a server that does not do ranges (ARG is unused). */
    STUB_IGNORE_RANGE,
    /* Answer a Range request with 206 and the body from byte ARG, not
     * from the byte asked for. */
    STUB_RANGE_FROM,
    /* The file was replaced just before this request: PATH's validators
     * change (see stub_set_validators()), so an If-Range naming the old
     * ones gets the whole body with 200 (ARG is unused). */
    STUB_REPLACED,
    /* Hold the request until ARG requests that took a BARRIER are held at
     * once (they then all go on and are answered normally): proof that a
     * client asks for them in parallel.  One held longer than the
     * barrier time (stub_set_barrier_ms(), 20 s by default) is answered
     * 503 instead. */
    STUB_BARRIER,
};

/* Start a stub on 127.0.0.1 port 0.  Returns a new stub, released with
 * stub_stop().  Aborts on failure. */
struct stub *stub_start(void);

/* Stop accepting, wait (at most 10 s) for requests in flight to finish, then
 * close every connection and free S.  NULL-safe. */
void stub_stop(struct stub *s);

/* The TCP port the stub listens on. */
unsigned stub_port(const struct stub *s);

/* "http://127.0.0.1:PORT", borrowed: valid until stub_stop(). */
const char *stub_url(const struct stub *s);

/* Serve a copy of BODY (LEN bytes) at exactly PATH (as sent on the request
 * line, no percent-decoding, case-sensitive like GCS and S3; the query string
 * is ignored).  Replaces an earlier body; responses in flight keep theirs. */
void stub_add(struct stub *s, const char *path, const void *body, size_t len);

/* As stub_add() with the contents of FILE.  Aborts if FILE can't be read. */
void stub_add_file(struct stub *s, const char *path, const char *file);

/* Serve LEN deterministic pseudo-random bytes from SEED at PATH.  They are
 * generated while streaming, never held whole in memory, so LEN may be
 * gigabytes; stub_generate() gives the same bytes to compare with. */
void stub_add_generated(struct stub *s, const char *path, uint64_t len,
                        uint32_t seed);

/* Fill BUF with LEN bytes of the stream for SEED starting at byte OFFSET.
 * The stream depends only on SEED, so any slice can be checked alone. */
void stub_generate(uint32_t seed, uint64_t offset, void *buf, size_t len);

/* True when the LEN bytes at BUF are the stream for SEED at OFFSET (what
 * stub_add_generated() served), without allocating a copy. */
bool stub_generated_equal(uint32_t seed, uint64_t offset, const void *buf,
                          size_t len);

/* Send ETAG (quotes included, e.g. "\"v1\"") and LAST_MODIFIED (an
 * HTTP-date) with PATH's bodies; either may be NULL for none.  Whatever
 * the validators, a GET with "Range: bytes=N-" gets 206 and the body from
 * byte N (416 when N is past its end), unless it has an If-Range that is
 * neither of them, which gets 200 and the whole body, as RFC 9110 says.
 * TRUNCATE and RESET count the bytes of the response, not of the file. */
void stub_set_validators(struct stub *s, const char *path, const char *etag,
                         const char *last_modified);

/* Append a fault to PATH's queue; each request for PATH takes the first
 * queued fault.  When the queue is empty requests are served normally (404
 * when PATH has no body). */
void stub_fault(struct stub *s, const char *path, enum stub_fault_kind kind,
                uint64_t arg);

/* Answer every later request for PATH with STATUS (e.g. a 503 storm),
 * overriding queued faults, which stay queued; 0 clears it. */
void stub_fault_always(struct stub *s, const char *path, unsigned status);

/* How long a BARRIER request waits for the rest of its party. */
void stub_set_barrier_ms(struct stub *s, unsigned ms);

/* BARRIER requests that waited in vain (answered 503). */
unsigned stub_barrier_missed(struct stub *s);

/* Answer every later request for PATH with a 302 to URL (any URL, e.g.
 * the daemon's own), overriding queued faults; NULL clears it. */
void stub_redirect_always(struct stub *s, const char *path, const char *url);

/* A gate every request passes before anything else: called with the
 * method, the path as sent (without the query) and the request's headers
 * as "Name: value\n" lines; a nonzero return is answered as that status
 * (an S3 stub that checks signatures, a store that wants a token).  The
 * request is counted either way.  It runs under the stub's lock: it must
 * not call stub functions.  NULL removes it. */
typedef unsigned (*stub_gate_fn)(void *arg, const char *method,
                                 const char *path, const char *headers);
void stub_set_gate(struct stub *s, stub_gate_fn gate, void *arg);

/* Requests received for PATH (any method, any outcome; query ignored). */
unsigned stub_hits(struct stub *s, const char *path);

/* Requests received for PATH with METHOD: "GET", "HEAD", or any other
 * string for all other methods together. */
unsigned stub_hits_method(struct stub *s, const char *path, const char *method);

/* Wait until PATH has received at least N requests, or TIMEOUT_MS passed
 * (for daemons that fetch in the background).  Returns true when reached. */
bool stub_wait_hits(struct stub *s, const char *path, unsigned n,
                    unsigned timeout_ms);

/* Requests received in total. */
unsigned stub_total_hits(struct stub *s);

/* Copy the User-Agent of the last request ("" when none was sent or no
 * request came yet) into BUF of LEN bytes, truncated and NUL-terminated. */
void stub_last_user_agent(struct stub *s, char *buf, size_t len);

/* Copy the value of request header NAME (case-insensitive) of the last
 * request into BUF of LEN bytes (truncated, NUL-terminated).  Returns false
 * (and sets BUF to "") when that request had no such header. */
bool stub_last_header(struct stub *s, const char *name, char *buf, size_t len);

/* Copy the path of the last request (as sent) into BUF, like
 * stub_last_user_agent(). */
void stub_last_path(struct stub *s, char *buf, size_t len);

/* From now on, a request's PATH is its path and query ("/p?a=1&b=2",
 * arguments in the order sent, as sent), so entries may be told apart by
 * their query (an API that names files by argument). */
void stub_keep_query(struct stub *s);

/* From now on, answer POST requests as GET ones (a token endpoint), and
 * keep each request's body (up to 64 KiB) for stub_last_body(). */
void stub_accept_post(struct stub *s);

/* Copy the body of the last request that sent one into BUF of LEN bytes
 * (truncated, NUL-terminated; "" when none), once stub_accept_post(). */
void stub_last_body(struct stub *s, char *buf, size_t len);

/* TCP connections accepted so far (to test upstream keep-alive reuse). */
unsigned stub_connections(struct stub *s);

#endif
