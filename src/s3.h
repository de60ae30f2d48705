/* SPDX-License-Identifier: MIT */
/*
 * s3: where an S3-compatible bucket is and how requests to it are signed,
 * for the /symbolicate s3 sources and for upstreams with an s3:// URL.
 * A bucket is reached at Amazon's virtual-host URL for its region, or
 * path-style under an endpoint (MinIO, Ceph); requests are signed by
 * libcurl's CURLOPT_AWS_SIGV4 from the "aws:amz:REGION:s3" parameter and
 * the "ACCESS:SECRET" user and password these functions make.
 *
 * THREADS.  Stateless; s3_env_keys() reads the environment, which nobody
 * changes after start-up.
 */
#ifndef SYMSRVD_S3_H
#define SYMSRVD_S3_H

#include <stdbool.h>

/* A bucket name as S3 allows it (3 to 63 of a-z 0-9 '-' '.'), which also
 * keeps it one URL label. */
bool s3_bucket_ok(const char *bucket);

/* The same for a Google Cloud Storage bucket, which may also hold '_'. */
bool s3_gcs_bucket_ok(const char *bucket);

/* PREFIX (NULL: "") without leading and trailing '/' (new string). */
char *s3_trim_slashes(const char *prefix);

/* Split "s3://bucket[/prefix]" into new strings: the bucket and the
 * prefix without leading or trailing '/' ("" when none).  0 or -EINVAL. */
int s3_parse_uri(const char *uri, char **bucket, char **prefix);

/* The https URL of PREFIX ("" for none) in BUCKET: under ENDPOINT
 * (http(s)://host[:port], path-style) when not NULL, else at Amazon's
 * endpoint for REGION.  A new string without trailing '/'. */
char *s3_base_url(const char *bucket, const char *prefix, const char *region,
                  const char *endpoint);

/* "s3://BUCKET[/PREFIX]" with PREFIX trimmed of '/' (new string). */
char *s3_uri(const char *bucket, const char *prefix);

/* CURLOPT_AWS_SIGV4's parameter for REGION (new string). */
char *s3_sigv4(const char *region);

/* The region the environment names (AWS_REGION, then AWS_DEFAULT_REGION),
 * else "us-east-1".  Borrowed. */
const char *s3_env_region(void);

/* "ACCESS:SECRET" from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (new
 * string), and *TOKEN the AWS_SESSION_TOKEN (borrowed, NULL when unset);
 * NULL when the keys are not both set. */
char *s3_env_keys(const char **token);

#endif
