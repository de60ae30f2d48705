/* SPDX-License-Identifier: MIT */
/*
 * server_api: Sentry Symbolicator's HTTP API on the worker's MHD server:
 * POST /symbolicate, GET /requests/<id>, GET /healthcheck.
 *
 * POST /minidump is multipart/form-data: MHD's parser streams the
 * upload_file_minidump field into a file under .Symsrvd/requests/ (never
 * held in memory; over max_minidump_size -> 413) and keeps the small
 * sources and options fields.
 *
 * A POST is parsed on the MHD thread (400/422 come back at once).  A
 * /symbolicate request that needs no download and whose tables are all in
 * memory is answered right there (symbolicator_try(): a warm request is
 * too quick to be worth two thread hand-offs, and is no job: max_jobs
 * does not count it).  Others run on a job thread (at most [symbolicate]
 * max_jobs on the box, else 503; answered "timeout" after job_timeout).  The connection is
 * suspended until the job is done (its result then comes from memory) or
 * the request's timeout passes (the job is then exposed, see symjob.h, and
 * "pending" sent).  The job thread resumes its starter; one waiter thread
 * per worker resumes the others: it wakes when an exposed job of this
 * worker finishes and every WAIT_POLL_MS to notice deadlines and jobs of
 * other workers (a poll may land on any worker), expires jobs past
 * job_timeout and sweeps old results.
 */
#include "symsrvd_config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "server_int.h"
#include "fileio.h"
#include "jsonout.h"
#include "symbolicate.h"
#include "symjob.h"
#include "symminidump.h"
#include "symsource.h"
#include "timeutil.h"
#include "xalloc.h"

#define WAIT_POLL_MS 20
#define IDLE_THREAD_MS 30000 /* a job thread waits this long for more */
#define SWEEP_EVERY_MS 5000
#define EXPIRE_EVERY_MS 250 /* how late past job_timeout "timeout" comes */
#define RETRY_AFTER_S 30
#define FIELD_MAX (1024 * 1024) /* multipart fields but the dump */
#define FORM_BUFFER (64 * 1024)

struct api {
    struct server *srv;
    struct symjobs *jobs;
    struct symbolicator *engine;
    pthread_t waiter;
    pthread_mutex_t lock;
    pthread_cond_t idle;
    pthread_cond_t work;     /* a job was queued, or stop */
    struct req *waiting;     /* protected by lock: suspended requests */
    struct job *queue, *qtail; /* protected by lock: jobs to run */
    unsigned queued;         /* protected by lock: jobs in queue */
    unsigned threads;        /* protected by lock: job threads alive */
    unsigned idle_threads;   /* protected by lock: waiting for work */
    bool stop;               /* protected by lock */
};

/* One job: a /symbolicate request or a minidump. */
struct job {
    struct api *api;
    struct symreq *req;
    struct mdjob *md;
    char id[SYMJOB_ID_LEN + 1];
    struct job *next; /* in the queue */
};

/* What a POST /minidump upload collects (server_api_upload()). */
struct upload {
    struct MHD_PostProcessor *pp;
    int fd;          /* the dump's temp file, -1 until its first byte */
    char *path;      /* its name; NULL once a job owns it */
    uint64_t len;
    bool too_big, field_too_big;
    char *field[2];  /* "sources", "options" */
    size_t flen[2];
};

/* --- answers --------------------------------------------------------- */

static enum MHD_Result answer_json(struct req *r, unsigned status, char *body,
                                   size_t len)
{
    return server_owned(r, status, body, len, "application/json");
}

static enum MHD_Result answer_detail(struct req *r, unsigned status,
                                     const char *detail)
{
    json_t *o = json_pack("{s:s}", "detail", detail);
    char *text = json_dumps(o, JSON_COMPACT);

    json_decref(o);
    if (status == MHD_HTTP_BAD_REQUEST)
        r->kind = METRICS_BAD;
    return answer_json(r, status, text, strlen(text));
}

static enum MHD_Result answer_pending(struct req *r)
{
    char *text = xasprintf(
        "{\"status\":\"pending\",\"request_id\":\"%s\",\"retry_after\":%d}",
        r->job_id, RETRY_AFTER_S);

    return answer_json(r, MHD_HTTP_OK, text, strlen(text));
}

/* A finished result straight from its file (sendfile, no copy). */
static enum MHD_Result answer_file(struct req *r, int fd, uint64_t size)
{
    struct MHD_Response *resp = MHD_create_response_from_fd64(size, fd);

    if (resp == NULL) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    r->bytes = size;
    return server_queue(r, MHD_HTTP_OK, resp);
}

/* The job's state decides: result, pending, or 404 for an unknown id.
 * The request that started the job takes the result from memory, or
 * exposes the job to polls when it is still running. */
static enum MHD_Result answer_job(struct req *r)
{
    struct symjobs *js = r->srv->api->jobs;
    uint64_t size;
    size_t len;
    char *text;
    int fd, err;

    if (r->job_own) {
        r->job_own = false;
        switch (symjob_collect(js, r->job_id, true, &text, &len, &err)) {
        case SYMJOB_DONE:
            return answer_json(r, MHD_HTTP_OK, text, len);
        case SYMJOB_PENDING:
            /* a poll then finds no mark: 404, and clients resubmit */
            if (err < 0)
                log_warn("request %s: cannot mark it running: %s", r->job_id,
                         strerror(-err));
            return answer_pending(r);
        case SYMJOB_UNKNOWN:
            break;
        }
    }
    if (symjob_open_result(js, r->job_id, &fd, &size) == 0)
        return answer_file(r, fd, size);
    switch (symjob_state(js, r->job_id)) {
    case SYMJOB_DONE:
        if (symjob_open_result(js, r->job_id, &fd, &size) == 0)
            return answer_file(r, fd, size);
        break;
    case SYMJOB_PENDING:
        return answer_pending(r);
    case SYMJOB_UNKNOWN:
        break;
    }
    return server_owned(r, MHD_HTTP_NOT_FOUND, xstrdup(""), 0, "text/plain");
}

/* Is R's job still running?  Its starter asks its own process's memory. */
static bool job_pending(struct api *a, const struct req *r)
{
    if (r->job_own)
        return symjob_local_running(a->jobs, r->job_id);
    return symjob_state(a->jobs, r->job_id) == SYMJOB_PENDING;
}

enum MHD_Result server_api_resume(struct req *r)
{
    return answer_job(r);
}

/* --- waiting ------------------------------------------------------------ */

/* "timeout" in seconds: *MS and true when given and valid. */
static bool query_timeout(struct req *r, uint64_t *ms)
{
    const char *t = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
                                                "timeout");
    char *end;
    unsigned long long v;

    if (t == NULL || *t < '0' || *t > '9')
        return false;
    v = strtoull(t, &end, 10);
    if (*end != '\0' || v > 86400ull * 365)
        return false;
    *ms = v * 1000;
    return true;
}

/* Suspend R until its job is done or DEADLINE_MS (0: none) passes. */
static enum MHD_Result wait_job(struct req *r, uint64_t deadline_ms)
{
    struct api *a = r->srv->api;

    r->deadline_ms = deadline_ms;
    pthread_mutex_lock(&a->lock);
    /* asked again under the lock wake_starter() takes: a job that ended
     * since is answered now, one that ends later finds R in the list */
    if (a->stop || !job_pending(a, r)) {
        pthread_mutex_unlock(&a->lock);
        return answer_job(r);
    }
    MHD_suspend_connection(r->conn);
    r->wnext = a->waiting;
    a->waiting = r;
    pthread_mutex_unlock(&a->lock);
    return MHD_YES;
}

static enum MHD_Result wait_or_answer(struct req *r)
{
    uint64_t timeout_ms = 0;
    bool has_timeout = query_timeout(r, &timeout_ms);

    if (!job_pending(r->srv->api, r) || (has_timeout && timeout_ms == 0))
        return answer_job(r);
    return wait_job(r, has_timeout ? mono_ms() + timeout_ms : 0);
}

/* Resume every waiting request whose job is no longer pending or whose
 * deadline passed (all of them when ALL). */
static void wake_ready(struct api *a, bool all)
{
    uint64_t now = mono_ms();
    struct req **pp, *r;

    pthread_mutex_lock(&a->lock);
    for (pp = &a->waiting; (r = *pp) != NULL;) {
        if (all || (r->deadline_ms != 0 && now >= r->deadline_ms) ||
            !job_pending(a, r)) {
            *pp = r->wnext;
            r->wnext = NULL;
            MHD_resume_connection(r->conn);
        } else {
            pp = &r->wnext;
        }
    }
    pthread_mutex_unlock(&a->lock);
}

/* The job ID just finished: resume the request that started it, if it
 * waits (a thread hop less than through the waiter). */
static void wake_starter(struct api *a, const char *id)
{
    struct req **pp, *r;

    pthread_mutex_lock(&a->lock);
    for (pp = &a->waiting; (r = *pp) != NULL; pp = &r->wnext) {
        if (r->job_own && strcmp(r->job_id, id) == 0) {
            *pp = r->wnext;
            r->wnext = NULL;
            MHD_resume_connection(r->conn);
            break;
        }
    }
    pthread_mutex_unlock(&a->lock);
}

static void *waiter_main(void *arg)
{
    struct api *a = arg;
    uint64_t next_sweep = 0, next_expire = 0;
    bool stop = false;

    while (!stop) {
        symjob_wait(a->jobs, WAIT_POLL_MS);
        if (mono_ms() >= next_expire) {
            symjob_expire(a->jobs);
            next_expire = mono_ms() + EXPIRE_EVERY_MS;
        }
        wake_ready(a, false);
        if (mono_ms() >= next_sweep) {
            symjob_sweep(a->jobs, wall_ms());
            next_sweep = mono_ms() + SWEEP_EVERY_MS;
        }
        pthread_mutex_lock(&a->lock);
        stop = a->stop;
        pthread_mutex_unlock(&a->lock);
    }
    return NULL;
}

/* --- jobs ----------------------------------------------------------------- */

/* Run J and publish its result; J is freed.  The thread counts as idle
 * again (a->idle_threads) before the result is out: whoever sees the
 * result may send the next request at once, which must find this thread
 * rather than start another. */
static void run_job(struct api *a, struct job *j)
{
    size_t len = 0;
    char *text = j->req ? symbolicator_run(a->engine, j->req, &len)
                        : symbolicator_run_minidump(a->engine, j->md, &len);

    pthread_mutex_lock(&a->lock);
    a->idle_threads++;
    pthread_mutex_unlock(&a->lock);

    if (text == NULL) {
        text = xstrdup("{\"status\":\"internal_error\"}");
        len = strlen(text);
    }
    /* clean up (the uploaded dump) before the answer is out */
    symreq_free(j->req);
    mdjob_free(j->md);
    if (symjob_finish(a->jobs, j->id, text, len) < 0)
        log_warn("request %s: cannot write the result", j->id);
    metrics_gauge_add(&metrics->symjobs_running, -1);
    free(j);
}

/* The next queued job, waiting up to IDLE_THREAD_MS for one; NULL when
 * the thread should end.  a->lock held; the caller counts among the
 * idle threads until it has a job. */
static struct job *next_job(struct api *a)
{
    struct timespec until;
    struct job *j;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += IDLE_THREAD_MS / 1000;
    while (a->queue == NULL && !a->stop &&
           pthread_cond_timedwait(&a->work, &a->lock, &until) != ETIMEDOUT)
        ;
    j = a->queue;
    if (j != NULL) {
        a->queue = j->next;
        if (a->queue == NULL)
            a->qtail = NULL;
        a->queued--;
        a->idle_threads--;
    }
    return j;
}

/* Job threads stay for more jobs a while: creating one per request was
 * a visible share of a small request's time.  A thread counts as idle
 * again before its job's result is out (run_job()), so that the next
 * request of the client that waited for it finds it instead of starting
 * another thread. */
static void *job_thread(void *arg)
{
    struct api *a = arg;
    char id[SYMJOB_ID_LEN + 1];
    struct job *j;

    pthread_setname_np(pthread_self(), "symjob");
    pthread_mutex_lock(&a->lock);
    a->idle_threads++;
    while ((j = next_job(a)) != NULL) {
        pthread_mutex_unlock(&a->lock);
        memcpy(id, j->id, sizeof(id));
        run_job(a, j);
        wake_starter(a, id);
        pthread_mutex_lock(&a->lock);
    }
    a->idle_threads--;
    if (--a->threads == 0)
        pthread_cond_broadcast(&a->idle);
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

/* Queue J; start a thread when no idle one is left for it.  0 or -errno
 * (J is then out of the queue again). */
static int queue_job(struct api *a, struct job *j)
{
    pthread_attr_t attr;
    pthread_t t;
    int rc = 0;

    pthread_mutex_lock(&a->lock);
    if (a->qtail != NULL)
        a->qtail->next = j;
    else
        a->queue = j;
    a->qtail = j;
    if (++a->queued <= a->idle_threads) {
        pthread_cond_signal(&a->work);
        pthread_mutex_unlock(&a->lock);
        return 0;
    }
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = -pthread_create(&t, &attr, job_thread, a);
    pthread_attr_destroy(&attr);
    if (rc == 0) {
        a->threads++;
    } else if (a->threads == 0) {
        /* J is the only job in the queue: nobody else would run it */
        a->queue = a->qtail = NULL;
        a->queued = 0;
    } else {
        rc = 0; /* a running thread takes it next */
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

/* Run REQ or MD (the job owns it, also on failure) on a job thread. */
static int start_job(struct api *a, struct symreq *req, struct mdjob *md,
                     char *id_out)
{
    struct job *j = xcalloc(1, sizeof(*j));
    int rc = symjob_begin(a->jobs, j->id);

    if (rc < 0) {
        if (rc == -EBUSY)
            metrics_add(&metrics->symjobs_refused, 1);
        symreq_free(req);
        mdjob_free(md);
        free(j);
        return rc;
    }
    metrics_add(&metrics->symjobs_started, 1);
    metrics_gauge_add(&metrics->symjobs_running, 1);
    j->api = a;
    j->req = req;
    j->md = md;
    memcpy(id_out, j->id, sizeof(j->id));
    rc = queue_job(a, j);
    if (rc < 0) {
        symjob_finish(a->jobs, j->id,
                      xstrdup("{\"status\":\"internal_error\"}"), 28);
        metrics_gauge_add(&metrics->symjobs_running, -1);
        symreq_free(req);
        mdjob_free(md);
        free(j);
    }
    return rc;
}

/* --- endpoints ------------------------------------------------------------- */

static bool query_bool(struct req *r, const char *name, bool def)
{
    const char *v =
        MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);

    if (v == NULL)
        return def;
    return !(strcmp(v, "false") == 0 || strcmp(v, "0") == 0 ||
             strcmp(v, "no") == 0);
}

void server_api_body(struct req *r, const char *data, size_t len)
{
    if (r->body_too_big || r->body.len + len > r->srv->cfg->max_body_size) {
        r->body_too_big = true;
        return;
    }
    jsonout_raw(&r->body, data, len);
}

/* Answer R according to RC, how starting its job went. */
static enum MHD_Result started(struct req *r, int rc)
{
    if (rc == -EBUSY)
        return answer_detail(r, MHD_HTTP_SERVICE_UNAVAILABLE,
                             "maximum number of concurrent requests reached");
    if (rc < 0)
        return answer_detail(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
                             "cannot start the job");
    r->job_own = true;
    return wait_or_answer(r);
}

enum MHD_Result server_api_symbolicate(struct req *r)
{
    struct symreq_params p = {
        .scope = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
                                             "scope"),
        .demangle = query_bool(r, "demangle", true),
    };
    struct symreq *req = NULL;
    char err[512], *text;
    size_t len;
    int rc;

    if (r->body_too_big)
        return answer_detail(r, MHD_HTTP_CONTENT_TOO_LARGE,
                             "request body too large");
    rc = symreq_parse(r->body.p ? r->body.p : "", r->body.len, &p, &req, err,
                      sizeof(err));
    if (rc == -EINVAL)
        return answer_detail(r, MHD_HTTP_BAD_REQUEST, err);
    if (rc < 0)
        return answer_detail(r, MHD_HTTP_UNPROCESSABLE_CONTENT, err);
    text = symbolicator_try(r->srv->api->engine, req, &len);
    if (text != NULL) {
        symreq_free(req);
        metrics_add(&metrics->symbolicate_inline, 1);
        return answer_json(r, MHD_HTTP_OK, text, len);
    }
    return started(r, start_job(r->srv->api, req, NULL, r->job_id));
}

enum MHD_Result server_api_poll(struct req *r, const char *id, size_t len)
{
    if (len != SYMJOB_ID_LEN)
        return server_owned(r, MHD_HTTP_NOT_FOUND, xstrdup(""), 0,
                            "text/plain");
    memcpy(r->job_id, id, len);
    r->job_id[len] = '\0';
    return wait_or_answer(r);
}

/* --- POST /minidump --------------------------------------------------------- */

static int open_dump(struct req *r, struct upload *u)
{
    u->path = symjob_upload_path(r->srv->api->jobs);
    u->fd = open(u->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    return u->fd < 0 ? -errno : 0;
}

static void take_field(struct upload *u, int i, const char *data, size_t size)
{
    if (u->flen[i] + size > FIELD_MAX) {
        u->field_too_big = true;
        return;
    }
    u->field[i] = xreallocarray(u->field[i], u->flen[i] + size + 1, 1);
    memcpy(u->field[i] + u->flen[i], data, size);
    u->flen[i] += size;
    u->field[i][u->flen[i]] = '\0';
}

/* MHD's multipart parser calls this with each field's data in pieces;
 * the dump goes straight to its file. */
static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind,
                                const char *key, const char *filename,
                                const char *content_type,
                                const char *transfer_encoding,
                                const char *data, uint64_t off, size_t size)
{
    struct req *r = cls;
    struct upload *u = r->upload;

    (void)kind;
    (void)filename;
    (void)content_type;
    (void)transfer_encoding;
    (void)off;
    if (key == NULL) /* a part without a name="" parameter */
        return MHD_YES;
    if (strcmp(key, "upload_file_minidump") == 0) {
        if (u->fd < 0 && u->path == NULL && open_dump(r, u) < 0)
            return MHD_NO;
        u->len += size;
        if (u->len > r->srv->cfg->max_minidump_size)
            u->too_big = true;
        if (!u->too_big && size > 0 && write_full(u->fd, data, size) < 0)
            return MHD_NO;
    } else if (strcmp(key, "sources") == 0) {
        take_field(u, 0, data, size);
    } else if (strcmp(key, "options") == 0) {
        take_field(u, 1, data, size);
    }
    return MHD_YES;
}

void server_api_upload(struct req *r, const char *data, size_t len)
{
    struct upload *u = r->upload;

    if (u == NULL) {
        u = r->upload = xcalloc(1, sizeof(*u));
        u->fd = -1;
        u->pp = MHD_create_post_processor(r->conn, FORM_BUFFER, on_field, r);
    }
    if (u->pp != NULL && MHD_post_process(u->pp, data, len) != MHD_YES) {
        MHD_destroy_post_processor(u->pp);
        u->pp = NULL;
    }
}

void server_api_release(struct req *r)
{
    struct upload *u = r->upload;

    if (u == NULL)
        return;
    if (u->pp != NULL)
        MHD_destroy_post_processor(u->pp);
    if (u->fd >= 0)
        close(u->fd);
    if (u->path != NULL)
        unlink(u->path);
    free(u->path);
    free(u->field[0]);
    free(u->field[1]);
    free(u);
    r->upload = NULL;
}

enum MHD_Result server_api_minidump(struct req *r)
{
    struct upload *u = r->upload;
    const char *scope = MHD_lookup_connection_value(
        r->conn, MHD_GET_ARGUMENT_KIND, "scope");
    struct mdjob *md = NULL;
    char err[512];
    int rc;

    if (u != NULL && u->pp != NULL) {
        MHD_destroy_post_processor(u->pp);
        u->pp = NULL;
    }
    if (u != NULL && (u->too_big || u->field_too_big))
        return answer_detail(r, MHD_HTTP_CONTENT_TOO_LARGE,
                             u->too_big ? "minidump too large"
                                        : "form field too large");
    if (u == NULL || u->path == NULL)
        return answer_detail(r, MHD_HTTP_BAD_REQUEST, "missing minidump");
    close(u->fd);
    u->fd = -1;
    rc = mdjob_new(u->path, u->field[0], u->flen[0], u->field[1], u->flen[1],
                   scope, &md, err, sizeof(err));
    free(u->path); /* the job owns the file now, also on failure */
    u->path = NULL;
    if (rc == -EINVAL)
        return answer_detail(r, MHD_HTTP_BAD_REQUEST, err);
    if (rc < 0)
        return answer_detail(r, MHD_HTTP_UNPROCESSABLE_CONTENT, err);
    return started(r, start_job(r->srv->api, NULL, md, r->job_id));
}

enum MHD_Result server_api_healthcheck(struct req *r)
{
    return server_owned(r, MHD_HTTP_OK, xstrdup("ok"), 2,
                        "text/plain; charset=utf-8");
}

/* --- life cycle -------------------------------------------------------------- */

int server_api_start(struct server *s)
{
    struct symsource_pool pool = {.fetch = s->fetch, .inflight = s->inflight,
                                  .cache = s->cache};
    struct api *a = xcalloc(1, sizeof(*a));
    int rc = symjob_open(s->cfg->cache_dir, s->cfg->max_jobs,
                         s->cfg->result_ttl_ms, s->cfg->job_timeout_ms,
                         &a->jobs);
    if (rc < 0) {
        free(a);
        return rc;
    }
    symbolicator_new(s->cfg, &pool, &a->engine);
    a->srv = s;
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->idle, NULL);
    mono_cond_init(&a->work);
    rc = -pthread_create(&a->waiter, NULL, waiter_main, a);
    if (rc < 0) {
        symbolicator_free(a->engine);
        symjob_close(a->jobs);
        free(a);
        return rc;
    }
    s->api = a;
    return 0;
}

void server_api_quiesce(struct server *s)
{
    struct api *a = s->api;

    if (a == NULL)
        return;
    pthread_mutex_lock(&a->lock);
    a->stop = true;
    pthread_cond_broadcast(&a->work);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->waiter, NULL);
    wake_ready(a, true);
}

void server_api_stop(struct server *s)
{
    struct api *a = s->api;

    if (a == NULL)
        return;
    pthread_mutex_lock(&a->lock);
    while (a->threads > 0)
        pthread_cond_wait(&a->idle, &a->lock);
    pthread_mutex_unlock(&a->lock);
    symbolicator_free(a->engine);
    symjob_close(a->jobs);
    pthread_cond_destroy(&a->work);
    pthread_cond_destroy(&a->idle);
    pthread_mutex_destroy(&a->lock);
    free(a);
    s->api = NULL;
}
