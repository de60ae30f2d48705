/* SPDX-License-Identifier: MIT */
/*
 * stub_body: the byte bodies the stub upstream serves.  A body is either a
 * buffer or a pseudo-random stream computed from a seed at any offset (so a
 * multi-gigabyte body costs no memory and any slice of it can be checked on
 * its own).  Bodies are reference-counted because a response keeps sending
 * its body after a test has replaced it.
 */
#include "symsrvd_config.h"

#include "stub_body.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "stub_upstream.h"
#include "xalloc.h"

#define STUB_GZIP_CHUNK (64 * 1024)

void stub_die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("stub_upstream: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

static uint64_t stub_mix(uint32_t seed, uint64_t block)
{
    /* splitmix64's finaliser over a counter: any block computable alone. */
    uint64_t z = (block + 1) * 0x9E3779B97F4A7C15ull ^
                 (uint64_t)seed * 0xD1B54A32D192ED03ull;

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void stub_generate(uint32_t seed, uint64_t offset, void *buf, size_t len)
{
    unsigned char *out = buf;

    while (len > 0) {
        uint64_t w = stub_mix(seed, offset / 8);
        unsigned skip = (unsigned)(offset % 8);
        size_t n = 8 - skip;
        unsigned char bytes[8];

        for (unsigned i = 0; i < 8; i++)
            bytes[i] = (unsigned char)(w >> (8 * i));
        if (n > len)
            n = len;
        memcpy(out, bytes + skip, n);
        out += n;
        offset += n;
        len -= n;
    }
}

bool stub_generated_equal(uint32_t seed, uint64_t offset, const void *buf,
                          size_t len)
{
    const unsigned char *p = buf;
    unsigned char want[4096];

    for (size_t done = 0; done < len; done += sizeof(want)) {
        size_t n = len - done < sizeof(want) ? len - done : sizeof(want);

        stub_generate(seed, offset + done, want, n);
        if (memcmp(p + done, want, n) != 0)
            return false;
    }
    return true;
}

struct stub_body *stub_body_new(uint64_t len, unsigned char *data,
                                uint32_t seed)
{
    struct stub_body *b = xcalloc(1, sizeof(*b));

    atomic_init(&b->refs, 1);
    b->len = len;
    b->data = data;
    b->seed = seed;
    return b;
}

struct stub_body *stub_body_ref(struct stub_body *b)
{
    if (b != NULL)
        atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void stub_body_unref(struct stub_body *b)
{
    /* acq_rel: the last owner must see every other owner's reads done. */
    if (b == NULL ||
        atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    free(b->data);
    free(b);
}

void stub_body_read(const struct stub_body *b, uint64_t pos, void *buf,
                    size_t n)
{
    if (b->data != NULL)
        memcpy(buf, b->data + pos, n);
    else
        stub_generate(b->seed, pos, buf, n);
}

struct stub_body *stub_body_gzip(const struct stub_body *b)
{
    z_stream z;
    unsigned char in[STUB_GZIP_CHUNK];
    uint64_t pos = 0;
    unsigned char *out;
    size_t cap;
    int rc;

    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        stub_die("deflateInit2 failed");
    cap = deflateBound(&z, (uLong)b->len) + 64;
    out = xmalloc(cap);
    z.next_out = out;
    z.avail_out = (uInt)cap;
    do {
        size_t n = b->len - pos < sizeof(in) ? b->len - pos : sizeof(in);

        stub_body_read(b, pos, in, n);
        pos += n;
        z.next_in = in;
        z.avail_in = (uInt)n;
        rc = deflate(&z, pos == b->len ? Z_FINISH : Z_NO_FLUSH);
    } while (rc == Z_OK);
    if (rc != Z_STREAM_END)
        stub_die("deflate failed (%d)", rc);
    deflateEnd(&z);
    return stub_body_new(cap - z.avail_out, out, 0);
}
