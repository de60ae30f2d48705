/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "s3.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static bool bucket_name_ok(const char *b, bool underscore)
{
    size_t n = strlen(b);

    if (n < 3 || n > 63)
        return false;
    for (; *b != '\0'; b++)
        if (!((*b >= 'a' && *b <= 'z') || (*b >= '0' && *b <= '9') ||
              *b == '-' || *b == '.' || (underscore && *b == '_')))
            return false;
    return true;
}

bool s3_bucket_ok(const char *b)
{
    return bucket_name_ok(b, false);
}

bool s3_gcs_bucket_ok(const char *b)
{
    return bucket_name_ok(b, true);
}

char *s3_trim_slashes(const char *prefix)
{
    char *pre;
    size_t n;

    prefix = prefix ? prefix : "";
    while (*prefix == '/')
        prefix++;
    pre = xstrdup(prefix);
    for (n = strlen(pre); n > 0 && pre[n - 1] == '/';)
        pre[--n] = '\0';
    return pre;
}

int s3_parse_uri(const char *uri, char **bucket, char **prefix)
{
    const char *b, *slash;
    char *name;

    if (strncmp(uri, "s3://", 5) != 0)
        return -EINVAL;
    b = uri + 5;
    slash = strchr(b, '/');
    name = slash ? xstrndup(b, (size_t)(slash - b)) : xstrdup(b);
    if (!s3_bucket_ok(name) ||
        (slash != NULL && strpbrk(slash, " ?#%\\") != NULL)) {
        free(name);
        return -EINVAL;
    }
    *bucket = name;
    *prefix = s3_trim_slashes(slash ? slash : "");
    return 0;
}

char *s3_base_url(const char *bucket, const char *prefix, const char *region,
                  const char *endpoint)
{
    char *pre = s3_trim_slashes(prefix), *url, *ep;
    size_t n;

    if (endpoint != NULL) {
        ep = xstrdup(endpoint);
        for (n = strlen(ep); n > 1 && ep[n - 1] == '/';)
            ep[--n] = '\0';
        url = xasprintf("%s/%s%s%s", ep, bucket, *pre ? "/" : "", pre);
        free(ep);
    } else {
        url = xasprintf("https://%s.s3.%s.amazonaws.com%s%s", bucket, region,
                        *pre ? "/" : "", pre);
    }
    free(pre);
    return url;
}

char *s3_uri(const char *bucket, const char *prefix)
{
    char *pre = s3_trim_slashes(prefix);
    char *uri = xasprintf("s3://%s%s%s", bucket, *pre ? "/" : "", pre);

    free(pre);
    return uri;
}

char *s3_sigv4(const char *region)
{
    return xasprintf("aws:amz:%s:s3", region);
}

/* NOLINTBEGIN(concurrency-mt-unsafe): the environment is fixed at start */
const char *s3_env_region(void)
{
    const char *r = getenv("AWS_REGION");

    if (r == NULL || *r == '\0')
        r = getenv("AWS_DEFAULT_REGION");
    return r != NULL && *r != '\0' ? r : "us-east-1";
}

char *s3_env_keys(const char **token)
{
    const char *ak = getenv("AWS_ACCESS_KEY_ID");
    const char *sk = getenv("AWS_SECRET_ACCESS_KEY");
    const char *tok = getenv("AWS_SESSION_TOKEN");

    *token = tok != NULL && *tok != '\0' ? tok : NULL;
    if (ak == NULL || sk == NULL || *ak == '\0' || *sk == '\0')
        return NULL;
    return xasprintf("%s:%s", ak, sk);
}
/* NOLINTEND(concurrency-mt-unsafe) */
