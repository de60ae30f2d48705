/* SPDX-License-Identifier: MIT */
/*
 * gcsauth: access tokens for a /symbolicate gcs source that gives a
 * Google service account key (client_email, private_key) rather than a
 * bearer token, got as Symbolicator gets them: a JWT signed RS256 with the
 * key, asserting the account for the scope devstorage.read_only with the
 * token endpoint as audience, is exchanged at that endpoint (POST
 * grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT)
 * for an access token.  Tokens live an hour; one is kept for 58 minutes
 * per account and key, so a job rarely waits for the endpoint.
 *
 * The endpoint is the box's configuration ([symbolicate] gcs_token_url),
 * not the request's, so no address check applies.  Keys and tokens never
 * reach a log line.
 *
 * THREADS.  Any thread; the token cache is under a lock.
 */
#ifndef SYMSRVD_GCSAUTH_H
#define SYMSRVD_GCSAUTH_H

#include <stddef.h>
#include <stdint.h>

/* The signed JWT asserting EMAIL for AUD at NOW_S (Unix seconds), with
 * PEM, an RSA private key in PEM form (literal "\n" pairs, as keys pasted
 * from JSON have them, are read as newlines).  A new string, or NULL with
 * ERR set. */
char *gcsauth_jwt(const char *email, const char *pem, const char *aud,
                  int64_t now_s, char *err, size_t errlen);

/* An access token for EMAIL and PEM from TOKEN_URL (cached), waiting at
 * most TIMEOUT_MS, into OUT.  0, or -EACCES (the key or the endpoint
 * refused) / -EIO with ERR set. */
int gcsauth_token(const char *token_url, const char *email, const char *pem,
                  uint64_t timeout_ms, char *out, size_t outlen, char *err,
                  size_t errlen);

#endif
