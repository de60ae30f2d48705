/* SPDX-License-Identifier: MIT */
/*
 * sigv4_check: the server side of AWS Signature Version 4, as Amazon's
 * "Create a signed AWS API request" describes it: the canonical request
 * (method, URI, empty query, the signed headers as lower-case
 * "name:value" lines, their names, the payload hash), the string to sign
 * and the HMAC chain date -> region -> service -> "aws4_request".
 */
#include "symsrvd_config.h"

#include "sigv4_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifdef HAVE_LIBCRYPTO
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#endif

#include "xalloc.h"

bool sigv4_check_available(void)
{
#ifdef HAVE_LIBCRYPTO
    return true;
#else
    return false;
#endif
}

#ifdef HAVE_LIBCRYPTO
/* The value of header NAME in HEADERS, trimmed, into BUF; false when
 * absent. */
static bool header_value(const char *headers, const char *name, char *buf,
                         size_t len)
{
    size_t n = strlen(name);

    for (const char *l = headers; l != NULL && *l != '\0';) {
        const char *end = strchr(l, '\n');
        size_t ll = end ? (size_t)(end - l) : strlen(l);

        if (ll > n && strncasecmp(l, name, n) == 0 && l[n] == ':') {
            const char *v = l + n + 1;
            size_t vl = ll - n - 1;

            while (vl > 0 && *v == ' ')
                v++, vl--;
            while (vl > 0 && v[vl - 1] == ' ')
                vl--;
            snprintf(buf, len, "%.*s", (int)vl, v);
            return true;
        }
        l = end ? end + 1 : NULL;
    }
    buf[0] = '\0';
    return false;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static void sha256_hex(const char *s, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];

    SHA256((const unsigned char *)s, strlen(s), md);
    hex(md, sizeof(md), out);
}

static void hmac(const unsigned char *key, size_t klen, const char *msg,
                 unsigned char out[32])
{
    unsigned int n = 32;

    HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg,
         strlen(msg), out, &n);
}

/* "name:value\n" for each of SIGNED's ';'-separated names (new). */
static char *canonical_headers(const char *headers, const char *signed_h)
{
    char *copy = xstrdup(signed_h), *save = NULL, *out = NULL, val[1024];
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    for (char *h = strtok_r(copy, ";", &save); h != NULL;
         h = strtok_r(NULL, ";", &save)) {
        header_value(headers, h, val, sizeof(val));
        fprintf(f, "%s:%s\n", h, val);
    }
    fclose(f);
    free(copy);
    return out;
}

static int fail(char *why, size_t whylen, const char *msg)
{
    snprintf(why, whylen, "%s", msg);
    return -1;
}

int sigv4_check(const struct sigv4_key *k, const char *method,
                const char *path, const char *headers, char *why,
                size_t whylen)
{
    char auth[1024], amzdate[32], payload[80], ak[128], date[16], region[64];
    char service[16], signed_h[512], sig[65], creq_hash[65], want[65];
    unsigned char key[32];
    char *creq, *canon, *sts, *secret;
    int n = 0;

    if (!header_value(headers, "Authorization", auth, sizeof(auth)))
        return fail(why, whylen, "unsigned request");
    if (sscanf(auth,
               "AWS4-HMAC-SHA256 Credential=%127[^/]/%15[^/]/%63[^/]/%15[^/]"
               "/aws4_request, SignedHeaders=%511[^,], Signature=%64[0-9a-f]%n",
               ak, date, region, service, signed_h, sig, &n) != 6 ||
        auth[n] != '\0')
        return fail(why, whylen, "malformed Authorization");
    if (strcmp(ak, k->access) != 0 || strcmp(region, k->region) != 0 ||
        strcmp(service, "s3") != 0)
        return fail(why, whylen, "wrong key, region or service");
    if (!header_value(headers, "X-Amz-Date", amzdate, sizeof(amzdate)) ||
        strncmp(amzdate, date, 8) != 0)
        return fail(why, whylen, "no X-Amz-Date of the credential's day");
    if (!header_value(headers, "X-Amz-Content-Sha256", payload,
                      sizeof(payload)))
        sha256_hex("", payload);
    canon = canonical_headers(headers, signed_h);
    creq = xasprintf("%s\n%s\n\n%s\n%s\n%s", method, path, canon, signed_h,
                     payload);
    sha256_hex(creq, creq_hash);
    sts = xasprintf("AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s", amzdate,
                    date, region, creq_hash);
    secret = xasprintf("AWS4%s", k->secret);
    hmac((const unsigned char *)secret, strlen(secret), date, key);
    hmac(key, 32, region, key);
    hmac(key, 32, "s3", key);
    hmac(key, 32, "aws4_request", key);
    hmac(key, 32, sts, key);
    hex(key, 32, want);
    free(secret);
    free(sts);
    free(creq);
    free(canon);
    if (strcmp(want, sig) != 0)
        return fail(why, whylen, "signature does not match");
    return 0;
}
#else
int sigv4_check(const struct sigv4_key *k, const char *method,
                const char *path, const char *headers, char *why,
                size_t whylen)
{
    (void)k;
    (void)method;
    (void)path;
    (void)headers;
    snprintf(why, whylen, "built without libcrypto");
    return -1;
}
#endif

unsigned sigv4_check_gate(void *arg, const char *method, const char *path,
                          const char *headers)
{
    struct sigv4_key *k = arg;
    char why[256];

    k->seen++;
    if (sigv4_check(k, method, path, headers, why, sizeof(why)) == 0)
        return 0;
    k->rejected++;
    snprintf(k->why, sizeof(k->why), "%s", why);
    return 403;
}
