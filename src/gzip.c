/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "gzip.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <zlib.h>

#include "fileio.h"
#include "xalloc.h"

#define GZIP_CHUNK (128 * 1024)

/* Deflate all of IN into OUT with a gzip wrapper.  0 or -errno. */
static int deflate_fd(int in, int out, uint64_t *size)
{
    unsigned char *ibuf = xmalloc(GZIP_CHUNK), *obuf = xmalloc(GZIP_CHUNK);
    z_stream zs;
    int rc, flush = Z_NO_FLUSH;

    memset(&zs, 0, sizeof(zs));
    /* 15 + 16: 32 KiB window with a gzip header and trailer. */
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        rc = -ENOMEM;
        goto out_free;
    }
    *size = 0;
    do {
        ssize_t n = read(in, ibuf, GZIP_CHUNK);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto out;
        }
        flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
        zs.next_in = ibuf;
        zs.avail_in = (uInt)n;
        do {
            size_t have;

            zs.next_out = obuf;
            zs.avail_out = GZIP_CHUNK;
            deflate(&zs, flush); /* cannot fail with valid state */
            have = GZIP_CHUNK - zs.avail_out;
            rc = write_full(out, obuf, have);
            if (rc != 0)
                goto out;
            *size += have;
        } while (zs.avail_out == 0);
    } while (flush != Z_FINISH);
    rc = 0;
out:
    deflateEnd(&zs);
out_free:
    free(ibuf);
    free(obuf);
    return rc;
}

int gzip_file(const char *src, const char *dst, uint64_t *size)
{
    char *tmp = xasprintf("%s.tmp", dst);
    int in = -1, out = -1, rc;

    in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        rc = -errno;
        goto out;
    }
    out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        rc = -errno;
        goto out;
    }
    rc = deflate_fd(in, out, size);
    if (rc == 0)
        rc = publish_file(out, tmp, dst);
out:
    if (rc != 0 && out >= 0)
        unlink(tmp);
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    free(tmp);
    return rc;
}

/* Inflate one or more gzip members from IN into OUT.  A body that ends
 * inside a member is -EBADMSG, never a short file.  0 or -errno. */
int gunzip_fd(int in, int out, uint64_t *size,
              bool (*hold)(void *arg, uint64_t total), void *arg)
{
    unsigned char *ibuf = xmalloc(GZIP_CHUNK), *obuf = xmalloc(GZIP_CHUNK);
    z_stream zs;
    int rc = 0, zrc = Z_OK;
    bool full = false; /* the last call filled OBUF: zlib may hold more */
    ssize_t n = 0;

    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 15 + 16) != Z_OK) {
        rc = -ENOMEM;
        goto out_free;
    }
    *size = 0;
    for (;;) {
        if (zs.avail_in == 0 && !full) {
            n = read(in, ibuf, GZIP_CHUNK);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            zs.next_in = ibuf;
            zs.avail_in = (uInt)n;
        }
        /* A finished member followed by more bytes: the next member. */
        if (zrc == Z_STREAM_END && inflateReset(&zs) != Z_OK)
            break;
        zs.next_out = obuf;
        zs.avail_out = GZIP_CHUNK;
        zrc = inflate(&zs, Z_NO_FLUSH);
        if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
            rc = -EBADMSG;
            goto out;
        }
        full = zs.avail_out == 0;
        if (hold != NULL && zs.avail_out < GZIP_CHUNK &&
            !hold(arg, *size + GZIP_CHUNK - zs.avail_out)) {
            rc = -ENOSPC;
            goto out;
        }
        rc = write_full(out, obuf, GZIP_CHUNK - zs.avail_out);
        if (rc != 0)
            goto out;
        *size += GZIP_CHUNK - zs.avail_out;
    }
    if (n < 0)
        rc = -errno;
    else if (zrc != Z_STREAM_END)
        rc = -EBADMSG;
out:
    inflateEnd(&zs);
out_free:
    free(ibuf);
    free(obuf);
    return rc;
}

/* The q value of one Accept-Encoding element's parameters P (e.g.
 * ";q=0.5"), 1.0 when absent. */
static double element_q(const char *p, const char *end)
{
    while (p < end) {
        while (p < end && (*p == ';' || *p == ' ' || *p == '\t'))
            p++;
        if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
            return strtod(p + 2, NULL);
        while (p < end && *p != ';')
            p++;
    }
    return 1.0;
}

bool gzip_accepted(const char *value)
{
    double gzip_q = -1, star_q = -1;
    const char *p = value;

    if (value == NULL)
        return false;
    while (*p != '\0') {
        const char *end = strchr(p, ','), *tok, *tokend;

        if (end == NULL)
            end = p + strlen(p);
        for (tok = p; tok < end && (*tok == ' ' || *tok == '\t'); tok++)
            ;
        for (tokend = tok; tokend < end && *tokend != ';' &&
                           *tokend != ' ' && *tokend != '\t';
             tokend++)
            ;
        if ((tokend - tok == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
            (tokend - tok == 6 && strncasecmp(tok, "x-gzip", 6) == 0))
            gzip_q = element_q(tokend, end);
        else if (tokend - tok == 1 && *tok == '*')
            star_q = element_q(tokend, end);
        p = *end == ',' ? end + 1 : end;
    }
    if (gzip_q >= 0)
        return gzip_q > 0;
    return star_q > 0;
}
