/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "gcsauth.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strhash.h"
#include "timeutil.h"
#include "xalloc.h"

#define GCSAUTH_SCOPE "https://www.googleapis.com/auth/devstorage.read_only"
#define GCSAUTH_GRANT "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
#define GCSAUTH_LIFE_S 3600          /* what the JWT asks for */
#define GCSAUTH_KEEP_MS (58 * 60000) /* how long a token is reused */
#define GCSAUTH_CACHED 16
#define GCSAUTH_ANSWER_MAX 65536
#define GCSAUTH_TOKEN_MAX 4096

/* S (LEN bytes) in base64url without padding, as JWTs want (new). */
static char *b64url(const unsigned char *s, size_t len)
{
    char *out = xmalloc(4 * ((len + 2) / 3) + 1);
    int n = EVP_EncodeBlock((unsigned char *)out, s, (int)len);

    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (char *p = out; *p != '\0'; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

static char *b64url_json(const json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT), *out;

    out = b64url((const unsigned char *)text, strlen(text));
    free(text);
    return out;
}

/* PEM with literal "\n" pairs made newlines (new). */
static char *pem_text(const char *pem)
{
    char *out = xmalloc(strlen(pem) + 1), *o = out;

    for (const char *p = pem; *p != '\0'; p++) {
        if (p[0] == '\\' && p[1] == 'n') {
            *o++ = '\n';
            p++;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

static EVP_PKEY *load_key(const char *pem)
{
    char *text = pem_text(pem);
    BIO *bio = BIO_new_mem_buf(text, -1);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

    BIO_free(bio);
    OPENSSL_cleanse(text, strlen(text));
    free(text);
    if (key != NULL && EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    return key;
}

/* RS256 of DATA with KEY, base64url (new), or NULL. */
static char *sign(EVP_PKEY *key, const char *data)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t len = 0;
    char *out = NULL;

    if (md != NULL &&
        EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
        EVP_DigestSign(md, NULL, &len, (const unsigned char *)data,
                       strlen(data)) == 1) {
        sig = xmalloc(len);
        if (EVP_DigestSign(md, sig, &len, (const unsigned char *)data,
                           strlen(data)) == 1)
            out = b64url(sig, len);
    }
    free(sig);
    EVP_MD_CTX_free(md);
    return out;
}

char *gcsauth_jwt(const char *email, const char *pem, const char *aud,
                  int64_t now_s, char *err, size_t errlen)
{
    json_t *head = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
    json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", email,
                               "scope", GCSAUTH_SCOPE, "aud", aud, "exp",
                               (json_int_t)(now_s + GCSAUTH_LIFE_S), "iat",
                               (json_int_t)now_s);
    EVP_PKEY *key = load_key(pem);
    char *h = NULL, *c = NULL, *data = NULL, *sig = NULL, *jwt = NULL;

    if (key == NULL || head == NULL || claims == NULL) {
        snprintf(err, errlen, "gcs: private_key is not an RSA key in PEM form");
        goto out;
    }
    h = b64url_json(head);
    c = b64url_json(claims);
    data = xasprintf("%s.%s", h, c);
    sig = sign(key, data);
    if (sig == NULL) {
        snprintf(err, errlen, "gcs: cannot sign with private_key");
        goto out;
    }
    jwt = xasprintf("%s.%s", data, sig);
out:
    free(h);
    free(c);
    free(data);
    free(sig);
    EVP_PKEY_free(key);
    json_decref(head);
    json_decref(claims);
    return jwt;
}

/* --- the exchange ------------------------------------------------------- */

struct answer {
    char *buf;
    size_t len;
    bool too_big;
};

static size_t on_answer(char *p, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t len = size * n;

    if (a->len + len > GCSAUTH_ANSWER_MAX) {
        a->too_big = true;
        return 0;
    }
    a->buf = xrealloc(a->buf, a->len + len + 1);
    memcpy(a->buf + a->len, p, len);
    a->len += len;
    a->buf[a->len] = '\0';
    return len;
}

/* POST the assertion JWT to URL; the access token into OUT. */
static int exchange(const char *url, const char *jwt, uint64_t timeout_ms,
                    char *out, size_t outlen, char *err, size_t errlen)
{
    CURL *c = curl_easy_init();
    char *form = xasprintf("grant_type=%s&assertion=%s", GCSAUTH_GRANT, jwt);
    struct answer a = {0};
    long status = 0;
    json_t *j = NULL;
    const char *tok;
    int rc = -EIO;

    if (c == NULL) {
        snprintf(err, errlen, "gcs: no curl handle");
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "symsrvd/" PACKAGE_VERSION);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_answer);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    if (curl_easy_perform(c) != CURLE_OK) {
        snprintf(err, errlen, "gcs: token endpoint unreachable");
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    j = a.buf ? json_loads(a.buf, 0, NULL) : NULL;
    tok = json_string_value(json_object_get(j, "access_token"));
    if (status < 200 || status >= 300 || tok == NULL || *tok == '\0' ||
        strlen(tok) >= outlen || strpbrk(tok, "\r\n") != NULL) {
        snprintf(err, errlen, "gcs: token endpoint refused the key (HTTP %ld)",
                 status);
        rc = -EACCES;
        goto out;
    }
    snprintf(out, outlen, "%s", tok);
    rc = 0;
out:
    json_decref(j);
    free(a.buf);
    free(form);
    curl_easy_cleanup(c);
    return rc;
}

/* --- the cache ------------------------------------------------------------ */

static struct {
    pthread_mutex_t lock;
    struct {
        char id[33]; /* hash of token URL, account and key; "" when free */
        char token[GCSAUTH_TOKEN_MAX];
        uint64_t until_ms; /* monotonic */
    } slot[GCSAUTH_CACHED];
    unsigned next;
} tokens = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool cached(const char *id, char *out, size_t outlen)
{
    bool hit = false;

    pthread_mutex_lock(&tokens.lock);
    for (unsigned i = 0; i < GCSAUTH_CACHED && !hit; i++)
        if (strcmp(tokens.slot[i].id, id) == 0 &&
            mono_ms() < tokens.slot[i].until_ms) {
            snprintf(out, outlen, "%s", tokens.slot[i].token);
            hit = true;
        }
    pthread_mutex_unlock(&tokens.lock);
    return hit;
}

static void keep(const char *id, const char *token)
{
    unsigned i;

    pthread_mutex_lock(&tokens.lock);
    i = tokens.next++ % GCSAUTH_CACHED;
    snprintf(tokens.slot[i].id, sizeof(tokens.slot[i].id), "%s", id);
    snprintf(tokens.slot[i].token, sizeof(tokens.slot[i].token), "%s", token);
    tokens.slot[i].until_ms = mono_ms() + GCSAUTH_KEEP_MS;
    pthread_mutex_unlock(&tokens.lock);
}

int gcsauth_token(const char *token_url, const char *email, const char *pem,
                  uint64_t timeout_ms, char *out, size_t outlen, char *err,
                  size_t errlen)
{
    char *who = xasprintf("%s\n%s\n%s", token_url, email, pem), id[33];
    char *jwt;
    int rc;

    strhash128_hex(who, id);
    free(who);
    if (cached(id, out, outlen))
        return 0;
    jwt = gcsauth_jwt(email, pem, token_url, wall_ms() / 1000, err, errlen);
    if (jwt == NULL)
        return -EACCES;
    rc = exchange(token_url, jwt, timeout_ms, out, outlen, err, errlen);
    free(jwt);
    if (rc == 0)
        keep(id, out);
    return rc;
}
