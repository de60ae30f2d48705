/* SPDX-License-Identifier: MIT */
/*
 * server_status: GET / for a browser (statuspage.h draws it).
 *
 * Only a request that asks for text/html gets the page; anything else
 * asking for "/" is answered as before (404, not a symbol path), so a
 * symbol client or a script probing the root sees no change.  The page
 * runs no script: its Content-Security-Policy allows nothing but the one
 * <style> carrying this response's nonce and data: images, so even a
 * value that slipped past the escaping could not run or load anything.
 */
#include "symsrvd_config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/statvfs.h>

#include "cache.h"
#include "config.h"
#include "server_int.h"
#include "statuspage.h"
#include "timeutil.h"

#define CSP                                                                  \
    "default-src 'none'; style-src 'nonce-%s'; img-src data:; "              \
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

bool server_wants_status(struct req *r)
{
    const char *accept = server_header(r, MHD_HTTP_HEADER_ACCEPT);

    return accept != NULL && strstr(accept, "text/html") != NULL;
}

/* 128 random bits as hex: a fresh nonce per response. */
static int make_nonce(char *out, size_t len)
{
    unsigned char raw[16];
    size_t i;

    if (len < 2 * sizeof(raw) + 1 ||
        getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return -1;
    for (i = 0; i < sizeof(raw); i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

static void fill_input(struct req *r, struct metrics_env *env,
                       struct statuspage_in *in, const char *nonce)
{
    const struct config *cfg = r->srv->cfg;
    struct statvfs sv;
    size_t i;

    memset(env, 0, sizeof(*env));
    for (i = 0; i < cfg->nupstreams && i < METRICS_MAX_UPSTREAMS; i++)
        env->upstreams[i] = cfg->upstreams[i].name;
    env->nupstreams = i;
    cache_totals(r->srv->cache, &env->cache_entries, &env->cache_bytes);
    env->now_ms = (int64_t)mono_ms();
    memset(in, 0, sizeof(*in));
    in->m = metrics;
    in->env = env;
    in->uptime_s = (wall_ms() - metrics_gauge_read(&metrics->started_ms)) /
                   1000;
    in->workers = (unsigned)metrics_gauge_read(&metrics->workers_alive);
    in->max_size = cfg->max_size;
    in->min_free = cfg->min_free;
    if (statvfs(cfg->cache_dir, &sv) == 0) {
        in->disk_size = (uint64_t)sv.f_blocks * sv.f_frsize;
        in->disk_free = (uint64_t)sv.f_bavail * sv.f_frsize;
    }
    in->nonce = nonce;
    in->now_ms = wall_ms();
}

enum MHD_Result server_status(struct req *r)
{
    char nonce[33], csp[sizeof(CSP) + 32];
    struct metrics_env env;
    struct statuspage_in in;
    struct MHD_Response *resp;
    char *body = NULL;
    size_t len = 0;
    FILE *f;

    if (make_nonce(nonce, sizeof(nonce)) != 0)
        return server_text(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "no randomness for the page's nonce\n", NULL,
                           NULL);
    f = open_memstream(&body, &len);
    if (f == NULL)
        return server_text(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "no memory\n",
                           NULL, NULL);
    fill_input(r, &env, &in, nonce);
    statuspage_print(f, &in);
    fclose(f);
    resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    snprintf(csp, sizeof(csp), CSP, nonce);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/html; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "Content-Security-Policy", csp);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept");
    r->bytes = len;
    return server_queue(r, MHD_HTTP_OK, resp);
}
