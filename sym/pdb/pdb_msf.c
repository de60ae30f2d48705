/* SPDX-License-Identifier: MIT */
/*
 * pdb_msf: the MSF 7.0 container a PDB lives in.  The file is an array of
 * fixed-size blocks; a superblock at offset 0 names the blocks holding the
 * stream directory, and the directory lists every stream's size and
 * blocks.  Streams whose blocks are consecutive are read in place from the
 * mapping; scattered ones are gathered into one heap buffer, never larger
 * than the file itself.
 */
#include "symsrvd_config.h"

#include "pdb/pdb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pdb/pdb_int.h"
#include "xalloc.h"

static const char msf7_magic[32] = "Microsoft C/C++ MSF 7.00\r\n\x1a"
                                   "DS\0\0\0";
static const char msf2_magic[] = "Microsoft C/C++ program database 2.00\r\n"
                                 "\x1a"
                                 "JG\0";

#define MSF_SUPERBLOCK_LEN 56
#define MSF_NIL_STREAM     0xFFFFFFFFu

const char *pdb_cstr(const uint8_t *buf, size_t len, size_t off)
{
    if (off >= len || !memchr(buf + off, '\0', len - off))
        return NULL;
    return (const char *)buf + off;
}

static bool msf_block_size_ok(uint32_t bs)
{
    return bs >= 512 && bs <= 32768 && (bs & (bs - 1)) == 0;
}

static uint64_t msf_blocks(uint64_t bytes, uint32_t bs)
{
    return (bytes + bs - 1) / bs;
}

/* Offset in the file of BLOCK, checking that NEED bytes fit there. */
static int msf_block_off(struct pdb *p, uint32_t block, size_t need,
                         size_t *off)
{
    uint64_t o = (uint64_t)block * p->block_size;

    if (block >= p->num_blocks || o > p->map->len || need > p->map->len - o)
        return objfile_fail(p->map, -EINVAL, "block %u is outside the file",
                            block);
    *off = (size_t)o;
    return 0;
}

/* Gather the directory, whose block numbers sit (as u32s) at block
 * BLOCK_MAP. */
static int msf_read_directory(struct pdb *p, uint32_t block_map,
                              uint32_t dir_bytes)
{
    uint64_t nblocks = msf_blocks(dir_bytes, p->block_size);
    size_t map_off = 0, off = 0, done = 0;
    int rc;

    if (dir_bytes < 4 || dir_bytes > p->map->len)
        return objfile_fail(p->map, -EINVAL,
                            "stream directory size %u is impossible",
                            dir_bytes);
    rc = msf_block_off(p, block_map, (size_t)nblocks * 4, &map_off);
    if (rc < 0)
        return rc;
    p->dir = xmalloc(dir_bytes);
    p->dir_len = dir_bytes;
    for (uint64_t i = 0; i < nblocks; i++) {
        size_t chunk = p->dir_len - done;
        uint32_t blk = le32(p->map->data + map_off + i * 4);

        if (chunk > p->block_size)
            chunk = p->block_size;
        rc = msf_block_off(p, blk, chunk, &off);
        if (rc < 0)
            return rc;
        memcpy(p->dir + done, p->map->data + off, chunk);
        done += chunk;
    }
    return 0;
}

/* Check the stream count and find where each stream's block list is. */
static int msf_index_directory(struct pdb *p)
{
    uint64_t pos;

    p->num_streams = le32(p->dir);
    if ((uint64_t)p->num_streams * 4 + 4 > p->dir_len)
        return objfile_fail(p->map, -EINVAL,
                            "stream directory: %u streams do not fit",
                            p->num_streams);
    p->stream_blocks = xcalloc(p->num_streams + 1, sizeof(size_t));
    pos = 4 + (uint64_t)p->num_streams * 4;
    for (uint32_t i = 0; i < p->num_streams; i++) {
        uint32_t size = le32(p->dir + 4 + (size_t)i * 4);
        uint64_t n = size == MSF_NIL_STREAM ? 0 : msf_blocks(size, p->block_size);

        p->stream_blocks[i] = (size_t)pos;
        pos += n * 4;
        if (pos > p->dir_len)
            return objfile_fail(p->map, -EINVAL,
                                "stream directory: block list of stream %u "
                                "runs past its end",
                                i);
    }
    return 0;
}

enum pdb_msf_version pdb_msf_version(const uint8_t *data, size_t len)
{
    if (len >= sizeof(msf7_magic) &&
        memcmp(data, msf7_magic, sizeof(msf7_magic)) == 0)
        return PDB_MSF_7;
    /* The string literal's own NUL is not part of the magic. */
    if (len >= sizeof(msf2_magic) - 1 &&
        memcmp(data, msf2_magic, sizeof(msf2_magic) - 1) == 0)
        return PDB_MSF_2;
    return PDB_MSF_NONE;
}

int pdb_msf_open(struct pdb *p)
{
    const uint8_t *d = p->map->data;
    enum pdb_msf_version v = pdb_msf_version(d, p->map->len);
    int rc;

    if (v == PDB_MSF_2) {
        return objfile_fail(p->map, -ENOTSUP,
                            "PDB 2.0 files are not supported");
    }
    if (v != PDB_MSF_7 || p->map->len < MSF_SUPERBLOCK_LEN) {
        return objfile_fail(p->map, -ENOTSUP, "not an MSF 7.0 PDB file");
    }
    p->block_size = le32(d + 32);
    p->num_blocks = le32(d + 40);
    if (!msf_block_size_ok(p->block_size))
        return objfile_fail(p->map, -EINVAL,
                            "block size %u is not a power of two in "
                            "512..32768",
                            p->block_size);
    rc = msf_read_directory(p, le32(d + 52), le32(d + 44));
    if (rc == 0)
        rc = msf_index_directory(p);
    return rc;
}

/* Copy a stream whose blocks are scattered into one buffer. */
static int msf_gather(struct pdb *p, const uint8_t *list, uint32_t size,
                      struct pdb_stream *s)
{
    size_t done = 0, off = 0;
    int rc;

    s->owned = xmalloc(size ? size : 1);
    for (size_t i = 0; done < size; i++) {
        size_t chunk = size - done;

        if (chunk > p->block_size)
            chunk = p->block_size;
        rc = msf_block_off(p, le32(list + i * 4), chunk, &off);
        if (rc < 0) {
            pdb_stream_free(s);
            return rc;
        }
        memcpy(s->owned + done, p->map->data + off, chunk);
        done += chunk;
    }
    s->data = s->owned;
    s->len = size;
    return 0;
}

int pdb_msf_stream(struct pdb *p, uint32_t idx, struct pdb_stream *s)
{
    const uint8_t *list;
    uint32_t size, first;
    uint64_t n;
    size_t off = 0;
    int rc;

    memset(s, 0, sizeof(*s));
    if (idx >= p->num_streams)
        return -ENOENT;
    size = le32(p->dir + 4 + (size_t)idx * 4);
    if (size == MSF_NIL_STREAM)
        return -ENOENT;
    if (size > p->map->len)
        return objfile_fail(p->map, -EINVAL,
                            "stream %u is larger than the file", idx);
    list = p->dir + p->stream_blocks[idx];
    n = msf_blocks(size, p->block_size);
    if (n == 0) {
        s->data = (const uint8_t *)"";
        return 0;
    }
    first = le32(list);
    for (uint64_t i = 1; i < n; i++) {
        if (le32(list + i * 4) != first + i)
            return msf_gather(p, list, size, s);
    }
    rc = msf_block_off(p, first, size, &off);
    if (rc < 0)
        return rc;
    s->data = p->map->data + off;
    s->len = size;
    return 0;
}

void pdb_stream_free(struct pdb_stream *s)
{
    free(s->owned);
    memset(s, 0, sizeof(*s));
}

void pdb_close(struct pdb *p)
{
    free(p->dir);
    free(p->stream_blocks);
    pdb_xmod_free(p);
    free(p->modules);
    free(p->sections);
    pdb_stream_free(&p->dbi);
    pdb_stream_free(&p->names);
    pdb_stream_free(&p->tpi.s);
    pdb_stream_free(&p->ipi.s);
    free(p->tpi.offsets);
    free(p->ipi.offsets);
    memset(p, 0, sizeof(*p));
}
