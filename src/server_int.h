/* SPDX-License-Identifier: MIT */
/*
 * server_int: what server.c, server_symbol.c and server_index.c share.
 * Not for use outside the server module.
 */
#ifndef SYMSRVD_SERVER_INT_H
#define SYMSRVD_SERVER_INT_H

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "inflight.h"
#include "jsonout.h"
#include "metrics.h"

struct config;
struct cache;
struct fetch;
struct tlq;
struct rcache;
struct api;
struct upload;
struct acl;
struct publish_upload;

#define SERVER_MAX_LISTENERS 16

struct server {
    const struct config *cfg;       /* immutable */
    struct cache *cache;            /* immutable */
    struct inflight *inflight;      /* immutable */
    struct fetch *fetch;            /* immutable */
    struct MHD_Daemon *mhd[SERVER_MAX_LISTENERS]; /* immutable after start */
    size_t nmhd;                    /* immutable after start */
    int access_fd;                  /* immutable; -1 when off */
    struct tlq *hitq;               /* keys of hits not yet counted */
    atomic_bool refusing;           /* set once at shutdown */
    atomic_bool closing;            /* set once by server_quiesce: every
                                     * answer closes its connection */
    atomic_uint active;             /* requests between start and completion */
    pthread_mutex_t rcache_lock;    /* registration of per-thread caches */
    struct rcache *rcaches;         /* protected by rcache_lock */
    int64_t started_ms;             /* immutable */
    struct api *api;                /* immutable after start */
    struct acl *admin_acl;          /* immutable: cfg->admin_allow */
    /* The listen sockets' addresses, kept by server_quiesce() (main
     * thread only) to recognise the connections accepted on them. */
    struct sockaddr_storage listen_addr[SERVER_MAX_LISTENERS];
    size_t nlisten_addr;
};

/* Per-connection state (MHD's socket context), for the whole keep-alive
 * life of a connection. */
struct server_conn {
    uint64_t warm_left; /* bytes of large bodies still to send from memory
                         * (see server_symbol.c) */
    char ip[INET6_ADDRSTRLEN + 1]; /* the client's, for the access log
                                    * ("" until its first line) */
    int sock;                      /* the connection's socket, or -1 */
};

/* A PUT refused before its body was read (server_publish.c). */
struct server_refusal {
    unsigned status;           /* 0: none */
    const char *text;          /* static */
    const char *name, *value;  /* an extra header, or NULL */
};

/* Per-request state, created by the URI log callback (con_cls). */
struct req {
    struct server *srv;
    struct MHD_Connection *conn;
    struct server_conn *sc;  /* the connection's state, or NULL */
    char *target;            /* raw request target, as received */
    uint64_t start_ms;
    bool seen;               /* the access handler has run once */
    bool head;               /* HEAD: headers only */
    char method[16];
    unsigned status;         /* 0 until a response is queued */
    uint64_t bytes;          /* body bytes sent or planned */
    enum metrics_kind kind;
    enum metrics_type type; /* what it asked for */
    char upstream[48];
    const char *miss_reason; /* static: X-Symsrvd-Miss when answered so */
    /* miss path */
    struct dl *dl;           /* a reference while waiting or streaming */
    struct dl_waiter waiter;
    bool wants_gzip;
    char dfile[256];         /* a build-id key's X-DEBUGINFOD-FILE, or "" */
    /* symbolication API (server_api.c) */
    struct jsonout body;     /* request body so far, NUL-terminated */
    bool body_too_big;       /* over max_body_size: the rest is dropped */
    char job_id[40];         /* "" unless waiting on or answering a job */
    bool job_own;            /* this request started the job and may
                              * collect its result from memory */
    uint64_t deadline_ms;    /* mono_ms() to give up waiting; 0: never */
    struct req *wnext;       /* in the API's list of waiting requests */
    struct upload *upload;   /* POST /minidump: the form so far */
    /* PUT: publishing (server_publish.c) */
    struct publish_upload *publish; /* the upload, or NULL */
    int publish_rc;          /* 0, or why the upload failed */
    struct server_refusal publish_refusal;
};

/* What a new connection starts with (server_symbol.c). */
void server_conn_init(struct server_conn *sc, int sock);

/* Queue a plain-text response STATUS with BODY (a static string) and
 * optional header NAME: VALUE. */
enum MHD_Result server_text(struct req *r, unsigned status, const char *body,
                            const char *name, const char *value);

/* Queue BODY[0..LEN) (heap, freed by MHD) with STATUS and content TYPE,
 * never cached by clients. */
enum MHD_Result server_owned(struct req *r, unsigned status, char *body,
                             size_t len, const char *type);

/* Queue RESP with STATUS, recording both for the log; destroys RESP. */
/* Mark RESP to close its connection once the server is quiescing, so a
 * keep-alive client moves to another worker (see worker.h). */
void server_mark_close(struct server *s, struct MHD_Response *resp);

enum MHD_Result server_queue(struct req *r, unsigned status,
                             struct MHD_Response *resp);

/* Symbol requests: KEY parsing done by the caller. */
enum MHD_Result server_symbol(struct req *r, const char *path, size_t len);
/* Continue a request that was waiting on a download. */
enum MHD_Result server_symbol_resume(struct req *r);
/* Drop the request's hold on its download (completion). */
void server_symbol_release(struct req *r);

/* DELETE of PATH[0..LEN) with QUERY ("" when none): server_admin.c. */
enum MHD_Result server_admin_delete(struct req *r, const char *path,
                                    size_t len, const char *query);

/* GET / for a browser (server_status.c): whether the client asks for
 * HTML, and the page. */
bool server_wants_status(struct req *r);
enum MHD_Result server_status(struct req *r);

enum MHD_Result server_health(struct req *r);
enum MHD_Result server_metrics(struct req *r);
enum MHD_Result server_listing(struct req *r, const char *query);

/* The symbolication API (server_api.c). */
int server_api_start(struct server *s);
void server_api_quiesce(struct server *s); /* answer every waiting request */
void server_api_stop(struct server *s);    /* after the MHD daemons stopped */
void server_api_body(struct req *r, const char *data, size_t len);
enum MHD_Result server_api_symbolicate(struct req *r);
void server_api_upload(struct req *r, const char *data, size_t len);
enum MHD_Result server_api_minidump(struct req *r);
void server_api_release(struct req *r); /* at completion */
enum MHD_Result server_api_poll(struct req *r, const char *id, size_t len);
enum MHD_Result server_api_resume(struct req *r);
enum MHD_Result server_api_healthcheck(struct req *r);

/* PUT: publishing (server_publish.c).  Begin on MHD's first call (may
 * queue a refusal), feed the body, answer when it is complete, and free
 * the upload at completion. */
enum MHD_Result server_publish_begin(struct req *r);
void server_publish_body(struct req *r, const char *data, size_t len);
enum MHD_Result server_publish_end(struct req *r);
/* Is R a PUT to answer with server_publish_end()? */
bool server_publish_pending(const struct req *r);
void server_publish_release(struct req *r);

/* The peer's address as text ("-" when unknown, "unix"). */
void server_client_ip(struct MHD_Connection *conn, char *buf, size_t len);

/* Request header NAME or NULL. */
const char *server_header(struct req *r, const char *name);

#endif
