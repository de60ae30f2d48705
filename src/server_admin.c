/* SPDX-License-Identifier: MIT */
/*
 * server_admin: DELETE, for an admin who knows better than the cache.
 *
 *   DELETE /<key path>           drop the key's file (with its gzip copy
 *                                and symbol table) and its remembered miss
 *   DELETE /symbols?negative=1   forget every remembered miss
 *
 * Users upload symbols right after a crash; without this the box answers
 * the remembered miss until negative_ttl runs out.  Only peers inside
 * admin_allow may ask: anyone else could empty the cache.
 */
#include "symsrvd_config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "acl.h"
#include "cache.h"
#include "config.h"
#include "log.h"
#include "server_int.h"
#include "store.h"
#include "symkey.h"

/* 204 No Content: no body at all, not even server_text()'s newline. */
static enum MHD_Result answer_done(struct req *r)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);

    if (resp == NULL)
        return MHD_NO;
    r->bytes = 0;
    return server_queue(r, MHD_HTTP_NO_CONTENT, resp);
}

static bool peer_allowed(struct req *r)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
        r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    return acl_allows(r->srv->admin_acl, ci != NULL ? ci->client_addr : NULL);
}

static enum MHD_Result forget_negatives(struct req *r, const char *query)
{
    uint64_t n;

    if (strcmp(query, "negative=1") != 0)
        return server_text(r, MHD_HTTP_BAD_REQUEST,
                           "DELETE /symbols takes ?negative=1\n", NULL, NULL);
    if (cache_negative_clear(r->srv->cache, &n) != 0)
        return server_text(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "index write failed\n", NULL, NULL);
    log_info("admin: forgot %" PRIu64 " remembered misses", n);
    return answer_done(r);
}

/* Drop KEY's file and NEG's remembered miss: 204 when either was there. */
static enum MHD_Result drop_key(struct req *r, const char *key,
                                const char *neg)
{
    uint64_t freed = 0;
    int file = store_evict(r->srv->cfg->cache_dir, r->srv->cache, key, 0,
                           &freed);
    int miss;

    /* a 409 drops nothing, so that the client's retry finds the miss */
    if (file == -EBUSY)
        return server_text(r, MHD_HTTP_CONFLICT,
                           "a download of this key is in progress\n", NULL,
                           NULL);
    miss = cache_negative_remove(r->srv->cache, neg);
    if (file != 0 && file != -ENOENT)
        return server_text(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "cannot remove the cached file\n", NULL, NULL);
    if (file == -ENOENT && miss != 0)
        return server_text(r, MHD_HTTP_NOT_FOUND, "nothing cached\n", NULL,
                           NULL);
    log_info("admin: dropped %s (%" PRIu64 " bytes%s)", key, freed,
             miss == 0 ? ", remembered miss" : "");
    return answer_done(r);
}

enum MHD_Result server_admin_delete(struct req *r, const char *path,
                                    size_t len, const char *query)
{
    char key[SYMKEY_CANON_MAX], neg[SYMKEY_CANON_MAX];
    struct symkey k;
    const char *why;
    int rc;

    if (!peer_allowed(r))
        return server_text(r, MHD_HTTP_FORBIDDEN,
                           "not allowed from this address (admin_allow)\n",
                           NULL, NULL);
    if (len == 8 && memcmp(path, "/symbols", 8) == 0)
        return forget_negatives(r, query);
    rc = symkey_parse(path, len, &k, &why);
    if (rc == -ENOENT)
        return server_text(r, MHD_HTTP_NOT_FOUND, "not a symbol path\n",
                           NULL, NULL);
    if (rc != 0 || symkey_canonical(&k, key, sizeof(key)) < 0 ||
        symkey_exact(&k, neg, sizeof(neg)) < 0)
        return server_text(r, MHD_HTTP_BAD_REQUEST,
                           rc != 0 && why ? why : "key too long", NULL, NULL);
    return drop_key(r, key, neg);
}
