/* SPDX-License-Identifier: MIT */
/*
 * testutil: helpers for tests that run the real symsrvd binary over
 * loopback: temporary directories, starting and stopping the daemon (with
 * its stderr in a log file and its port read from the log), finding its
 * worker processes, HTTP requests through libcurl or a raw socket, and
 * reading Prometheus metrics.
 *
 * THREADING: the HTTP and metrics helpers may be called from many threads
 * at once (each uses its own curl handle).  daemon_start() forks: call it
 * from the thread that will stop the daemon, because the daemon is killed
 * when that thread exits (PR_SET_PDEATHSIG), so a crashed test never leaves
 * a daemon behind.  A daemon still running when the test process exits
 * (a failed assertion) is killed by an atexit handler, which first prints
 * the tail of its log to stderr, where the test's .log file catches it.
 */
#ifndef SYMSRVD_TESTUTIL_H
#define SYMSRVD_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Create a fresh directory under $TMPDIR (or /tmp).  Returns a new string
 * (free it); aborts on failure. */
char *testutil_tmpdir(void);

/* Remove DIR and everything below it (symlinks are not followed).
 * NULL-safe; errors are ignored. */
void testutil_rmtree(const char *dir);

/* Mount a tmpfs with FLAGS (MS_NOATIME, ...) and OPTS ("size=4M") at DIR
 * in a mount namespace of this process's own (and a user namespace when not root), which the
 * daemons it starts afterwards inherit.  0 or -errno.  Call it in a test
 * that runs in a child of its own (Check's fork mode). */
int testutil_mount_tmpfs(const char *dir, unsigned long flags,
                        const char *opts);

/* Can testutil_mount_tmpfs() work here?  Tried in a child. */
bool testutil_can_mount_tmpfs(void);

/* The contents of $abs_top_srcdir/tests/data/REL (at most 64 MiB): a new
 * NUL-terminated buffer, its length in *LEN.  Aborts when unreadable. */
char *testutil_read_data(const char *rel, size_t *len);

/* A TCP socket listening on 127.0.0.1 at a port the kernel chose
 * (close-on-exec), its port in *PORT.  Aborts on failure.  Give it to
 * daemon_start_activated(): the port is held from the start, so no other
 * process can take it between choosing and serving, and clients may connect
 * before the daemon runs (the backlog keeps them). */
int testutil_listen(unsigned *port);

/* A 127.0.0.1 port nothing is bound to at the time of the call, for a
 * server that binds its port itself and cannot be handed a socket (nginx).
 * Any other process may take the port before that server binds it: the
 * caller must recognise "Address already in use" and try another one. */
unsigned testutil_unused_port(void);

/* As testutil_unused_port, but outside the kernel's range of ephemeral
 * ports (net.ipv4.ip_local_port_range), so no outgoing connection can
 * take it as its source port: for a test that frees a port and binds it
 * again while other tests connect in parallel. */
unsigned testutil_unused_fixed_port(void);

struct daemon;

/* Start "$abs_top_builddir/src/symsrvd" (see daemon_start_prog()). */
struct daemon *daemon_start(const char *const *argv, const char *const *env);

/* Start PROG with the NULL-terminated extra arguments ARGV (may be NULL) and
 * the environment plus ENV's "KEY=VALUE" strings (NULL-terminated, may be
 * NULL; a KEY already set is replaced).  stdout and stderr go to a log file
 * in a new temp directory.  Waits at most 10 s for the log to contain
 * "listening on 127.0.0.1:PORT" (the first such line gives the port), then
 * at most 10 s for GET /health to answer 200.  Returns a new daemon, or NULL
 * after printing the reason and the log to stderr (the process is killed). */
struct daemon *daemon_start_prog(const char *prog, const char *const *argv,
                                 const char *const *env);

/* As daemon_start(), handing symsrvd LISTEN_FD the way systemd starts a
 * socket-activated service (fd 3, LISTEN_FDS=1, LISTEN_PID its pid): it
 * serves on that socket and uses no listen setting.  Needs a symsrvd built
 * with libsystemd (HAVE_SYSTEMD).  LISTEN_FD stays the caller's to close. */
struct daemon *daemon_start_activated(int listen_fd, const char *const *argv,
                                      const char *const *env);

unsigned daemon_port(const struct daemon *d);

/* "http://127.0.0.1:PORT", borrowed until daemon_stop(). */
const char *daemon_url(const struct daemon *d);

/* The master process. */
pid_t daemon_pid(const struct daemon *d);

/* The log file (stdout and stderr), borrowed until daemon_stop(). */
const char *daemon_log_path(const struct daemon *d);

/* The log's contents so far as a new string (free it); "" if unreadable. */
char *daemon_log(const struct daemon *d);

/* Send SIGTERM, wait up to 15 s for the master to exit (then SIGKILL it),
 * SIGKILL whatever is left of its process group, remove the log directory
 * and free D.  Returns the master's wait status (as from waitpid), or -1
 * when D is NULL or waiting failed.  Aborts the test, after printing it,
 * when the log holds a sanitizer's report (a worker that stopped on one is
 * restarted, and its clients see only a body cut short). */
int daemon_stop(struct daemon *d);

/* As daemon_stop() with a grace period of GRACE_MS before SIGKILL. */
int daemon_stop_within(struct daemon *d, unsigned grace_ms);

/* Store up to MAX PIDs of the master's live child processes (zombies not
 * yet reaped are left out) in OUT (may be NULL when MAX is 0).  Returns how
 * many there are, which may exceed MAX. */
size_t daemon_workers(const struct daemon *d, pid_t *out, size_t max);

/* Poll daemon_workers() until it counts N, at most TIMEOUT_MS.  Returns true
 * when it did (e.g. after killing a worker, to see it replaced). */
bool daemon_wait_workers(const struct daemon *d, size_t n, unsigned timeout_ms);

/* A response as libcurl saw it.  BODY and HEADERS are NUL-terminated (the
 * NUL is not counted in LEN).  HEADERS holds the raw header blocks of every
 * response received (interim ones included). */
struct http_resp {
    long status; /* 0 when no response line arrived */
    char *body;
    size_t len;
    char *headers;
    double first_byte_s; /* CURLINFO_STARTTRANSFER_TIME (headers count) */
    double first_body_s; /* until the first body byte; -1 when none came */
    double total_s;      /* CURLINFO_TOTAL_TIME */
    int curl_rc;         /* CURLcode of the transfer */
};

/* GET URL with the NULL-terminated "Name: value" strings REQ_HEADERS (may be
 * NULL).  Never follows redirects, sends no Accept-Encoding unless given,
 * gives up after 60 s.  Fills OUT (release with http_resp_free(), also on
 * failure).  Returns 0 when a complete response arrived (any status), else
 * the CURLcode (e.g. CURLE_PARTIAL_FILE for a body cut short; OUT still holds
 * the status and what arrived). */
int http_get(const char *url, const char *const *req_headers,
             struct http_resp *out);

/* Client behaviour for http_request_opts(); zero fields are defaults. */
struct http_opts {
    unsigned timeout_ms; /* give up after this long (0: 30 s) */
    size_t abort_after;  /* hang up once this many body bytes came (0: no) */
    uint64_t max_speed;  /* read at most this many bytes/s (0: no limit) */
    const void *body;    /* request body (sent when not NULL) */
    size_t body_len;
};

/* As http_request() with client behaviour OPTS (NULL: defaults), to play a
 * client that times out (CURLE_OPERATION_TIMEDOUT), hangs up mid-body
 * (CURLE_WRITE_ERROR, with at least ABORT_AFTER bytes in OUT) or reads
 * slowly (it stops reading while ahead of MAX_SPEED, so the server feels
 * back-pressure once the socket buffers are full). */
int http_request_opts(const char *method, const char *url,
                      const char *const *req_headers,
                      const struct http_opts *opts, struct http_resp *out);

/* Run N GETs of URL at once, from N threads released together, into
 * OUT[0..N-1] (free each with http_resp_free()).  Returns how many transfers
 * failed (nonzero curl_rc). */
size_t http_get_many(const char *url, const char *const *req_headers, size_t n,
                     struct http_resp *out);

/* As http_get() with HEAD. */
int http_head(const char *url, const char *const *req_headers,
              struct http_resp *out);

/* As http_get() with METHOD ("GET", "HEAD", or any other verb). */
int http_request(const char *method, const char *url,
                 const char *const *req_headers, struct http_resp *out);

/* POST BODY[0..LEN) to URL with the given headers (may be NULL). */
int http_post(const char *url, const char *const *req_headers,
              const void *body, size_t len, struct http_resp *out);

/* Free R's buffers and zero it.  NULL-safe. */
void http_resp_free(struct http_resp *r);

/* The value of header NAME (case-insensitive) in the last response's header
 * block, without surrounding blanks.  Returns a new string or NULL. */
char *http_header(const struct http_resp *r, const char *name);

/* Decompress the gzip (RFC 1952) data IN of LEN bytes into *OUT (new,
 * NUL-terminated; free it) and *OUTLEN.  Returns 0, or -EINVAL when IN is not
 * one complete gzip stream. */
int testutil_gunzip(const void *in, size_t len, char **out, size_t *outlen);

/* Send REQUEST exactly as given to 127.0.0.1:PORT over a plain socket (for
 * paths libcurl would normalise, like "/../x").  Reads the reply until the
 * server closes, the announced Content-Length has arrived, or 10 s pass.
 * Copies the reply (NUL-terminated, truncated) into OUT when OUT is not
 * NULL.  Returns the reply's status code, or -1. */
int http_raw(unsigned port, const char *request, char *out, size_t outlen);

/* GET BASE_URL/metrics and sum the samples of metric NAME (lines starting
 * with NAME followed by '{' or ' '), only those whose line contains LABEL
 * (e.g. "status=\"200\"") when LABEL is not NULL.  Returns -1 when no
 * sample matched or the request failed. */
double metrics_get(const char *base_url, const char *name, const char *label);

/* Poll metrics_get() until it returns VALUE or TIMEOUT_MS pass.  Returns
 * true when VALUE was reached. */
bool metrics_wait(const char *base_url, const char *name, const char *label,
                  double value, unsigned timeout_ms);

#endif
