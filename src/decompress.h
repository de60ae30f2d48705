/* SPDX-License-Identifier: MIT */
/*
 * decompress: turn what an upstream stored compressed into the plain file
 * the client asked for.  The only file that includes <mspack.h>.
 *
 * SymSrv stores may hold a file only as its compressed twin (name.pd_: a
 * Microsoft Cabinet, MSZIP or LZX, holding one member with the plain
 * name), and some stores keep files gzip'd without saying so in
 * Content-Encoding.  The downloader sniffs each body's first bytes, keeps
 * such a body out of the clients' stream, and has it decoded here before
 * the store publishes the plain file.
 */
#ifndef SYMSRVD_DECOMPRESS_H
#define SYMSRVD_DECOMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of a body's start that decompress_sniff() needs to decide. */
#define DECOMPRESS_SNIFF_LEN 4

enum decompress_kind {
    DECOMPRESS_NONE,  /* serve the body as it is */
    DECOMPRESS_CAB,   /* a Microsoft Cabinet ("MSCF") */
    DECOMPRESS_GZIP,  /* a gzip member (1f 8b 08) */
};

/* What the body of FILE starting with HEAD (LEN bytes) must be decoded
 * from.  A file whose own name says it is a cabinet or gzip (".cab",
 * ".gz", ".tgz") is served as it is. */
enum decompress_kind decompress_sniff(const char *file,
                                      const unsigned char *head, size_t len);

/* Does FILE (".pdb", ".dll", ".exe", ".sys", ".dbg", any case) have a
 * compressed twin in SymSrv stores?  If so, write the twin's name (the
 * last character replaced by '_') into BUF of LEN bytes. */
bool decompress_twin(const char *file, char *buf, size_t len);

/* The caller's say on the room the decoded file takes: asked, before DST
 * grows to TOTAL bytes, whether it may (a cabinet's member once, for its
 * whole length; gzip a chunk at a time).  False stops the decoding. */
struct decompress_room {
    bool (*hold)(void *arg, uint64_t total);
    void *arg;
};

/* Decode SRC, a KIND file, into a new file DST; *SIZE receives the plain
 * size.  A cabinet must be a single cabinet (not part of a set) holding
 * exactly one member named WANT (case-insensitive), and its checksums and
 * sizes must agree.  ROOM may be NULL (no limit).  0, or -EBADMSG with
 * *WHY a static reason, -ENOSPC when ROOM refused, or -errno.  On
 * failure nothing is left at DST. */
int decompress_file(enum decompress_kind kind, const char *src,
                    const char *dst, const char *want,
                    const struct decompress_room *room, uint64_t *size,
                    const char **why);

#endif
