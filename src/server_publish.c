/* SPDX-License-Identifier: MIT */
/*
 * server_publish: PUT /<name>/<id>/<file> and PUT /buildid/<id>/debuginfo
 * (or /executable), the HTTP side of publishing (see publish.h).
 *
 * What can be refused before the body is read (publishing off, no or a
 * wrong token, a bad key, a Content-Length over max_upload_size) is
 * answered on MHD's first call when the client sent "Expect:
 * 100-continue", so it never sends the body; a client that sends it at
 * once gets the answer after the body was read and dropped.  An accepted
 * body is streamed into the upload's temp file as it comes; the identity
 * is checked and the file stored once it is complete.
 */
#include "symsrvd_config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "publish.h"
#include "server_int.h"
#include "symkey.h"
#include "xalloc.h"

#define TOO_LARGE "upload larger than max_upload_size\n"

/* The answer to a finished upload of R->target. */
static enum MHD_Result finished(struct req *r, int rc, uint64_t size,
                                const char *found)
{
    char *text;

    switch (rc) {
    case 0:
        text = xasprintf("published %s (%" PRIu64 " bytes)\n", r->target, size);
        return server_owned(r, MHD_HTTP_CREATED, text, strlen(text),
                            "text/plain; charset=utf-8");
    case -EFBIG:
        return server_text(r, MHD_HTTP_CONTENT_TOO_LARGE, TOO_LARGE, NULL,
                           NULL);
    case -EBADMSG:
    case -EINVAL:
        text = rc == -EINVAL ? xasprintf("%s\n", found)
                             : xasprintf("the file does not belong at %s: "
                                         "it is %s\n",
                                         r->target, found);
        return server_owned(r, MHD_HTTP_UNPROCESSABLE_CONTENT, text,
                            strlen(text), "text/plain; charset=utf-8");
    case -EBUSY:
        return server_text(r, MHD_HTTP_SERVICE_UNAVAILABLE,
                           "a download of this key is still running\n",
                           MHD_HTTP_HEADER_RETRY_AFTER, "10");
    default:
        return server_text(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "could not store the upload\n", NULL, NULL);
    }
}

static bool refuse(struct req *r, unsigned status, const char *text,
                   const char *name, const char *value)
{
    r->publish_refusal.status = status;
    r->publish_refusal.text = text;
    r->publish_refusal.name = name;
    r->publish_refusal.value = value;
    return true;
}

/* KEY's canonical and exact forms, or a refusal (returns true). */
static bool bad_key(struct req *r, char *key, char *neg, size_t len)
{
    const char *q = strchr(r->target, '?'), *why = NULL;
    size_t plen = q ? (size_t)(q - r->target) : strlen(r->target);
    struct symkey k;
    int rc = symkey_parse(r->target, plen, &k, &why);

    if (rc == -ENOENT)
        return refuse(r, MHD_HTTP_NOT_FOUND, "not a symbol path\n", NULL,
                      NULL);
    if (rc == 0 && k.kind == SYMKEY_BUILDID && k.file[0] != '\0')
        why = "only debuginfo and executable files can be published";
    if (rc != 0 || why != NULL || symkey_canonical(&k, key, len) < 0 ||
        symkey_exact(&k, neg, len) < 0) {
        r->kind = METRICS_BAD;
        return refuse(r, MHD_HTTP_BAD_REQUEST, why ? why : "key too long",
                      NULL, NULL);
    }
    return false;
}

/* What refuses the upload before its body is read, if anything. */
static bool refused(struct req *r, char *key, char *neg, size_t len)
{
    const struct config *cfg = r->srv->cfg;
    const char *cl = server_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);

    if (!publish_enabled(cfg))
        return refuse(r, MHD_HTTP_METHOD_NOT_ALLOWED,
                      "publishing is off ([publish] tokens_file)\n", NULL,
                      NULL);
    if (!publish_token_ok(cfg, server_header(r, MHD_HTTP_HEADER_AUTHORIZATION)))
        return refuse(r, MHD_HTTP_UNAUTHORIZED,
                      "a publish token is needed "
                      "(Authorization: Bearer TOKEN)\n",
                      MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (bad_key(r, key, neg, len))
        return true;
    if (cl != NULL && strtoull(cl, NULL, 10) > cfg->publish_max_size)
        return refuse(r, MHD_HTTP_CONTENT_TOO_LARGE, TOO_LARGE, NULL, NULL);
    return false;
}

static enum MHD_Result answer_refusal(struct req *r)
{
    const struct server_refusal *f = &r->publish_refusal;

    return server_text(r, f->status, f->text, f->name, f->value);
}

/* Is the client waiting for "100 Continue" before it sends the body? */
static bool expects_continue(struct req *r)
{
    const char *v = server_header(r, MHD_HTTP_HEADER_EXPECT);

    return v != NULL && strcasecmp(v, "100-continue") == 0;
}

enum MHD_Result server_publish_begin(struct req *r)
{
    char key[SYMKEY_CANON_MAX], neg[SYMKEY_CANON_MAX];

    /* A client that already sends its body would see the connection
     * closed under it (MHD closes after an answer on the first call):
     * that one gets its answer once the body was read and dropped. */
    if (refused(r, key, neg, sizeof(key)))
        return expects_continue(r) ? answer_refusal(r) : MHD_YES;
    r->publish_rc = publish_upload_new(r->srv->cfg, r->srv->cache, key, neg,
                                       &r->publish);
    if (r->publish_rc != 0)
        return finished(r, r->publish_rc, 0, NULL);
    return MHD_YES;
}

bool server_publish_pending(const struct req *r)
{
    return r->publish != NULL || r->publish_refusal.status != 0;
}

void server_publish_body(struct req *r, const char *data, size_t len)
{
    /* after an error the rest is read and dropped, then answered */
    if (r->publish_rc == 0)
        r->publish_rc = publish_upload_write(r->publish, data, len);
}

enum MHD_Result server_publish_end(struct req *r)
{
    char found[512] = "";
    uint64_t size = 0;
    int rc = r->publish_rc;

    if (r->publish_refusal.status != 0)
        return answer_refusal(r);
    if (rc == 0)
        rc = publish_upload_finish(r->publish, &size, found, sizeof(found));
    return finished(r, rc, size, found);
}

void server_publish_release(struct req *r)
{
    publish_upload_free(r->publish);
    r->publish = NULL;
}
