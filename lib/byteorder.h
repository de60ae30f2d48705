/* SPDX-License-Identifier: MIT */
/*
 * byteorder: read little-endian integers from a byte pointer.
 *
 * Every format the symbol side parses (PDB, PE, minidumps, the PE unwind
 * tables) stores its integers little-endian at offsets with no alignment
 * promise, inside an untrusted mapping.  The bytes are copied with memcpy,
 * which is defined at any alignment and compiles to one load, then swapped
 * only on a big-endian host.  The caller has already checked that the
 * bytes lie inside its buffer.
 */
#ifndef SYMSRVD_BYTEORDER_H
#define SYMSRVD_BYTEORDER_H

#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define BYTEORDER_SWAP 1
#else
#define BYTEORDER_SWAP 0
#endif

static inline uint16_t le16(const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, sizeof(v));
    return BYTEORDER_SWAP ? __builtin_bswap16(v) : v;
}

static inline uint32_t le32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return BYTEORDER_SWAP ? __builtin_bswap32(v) : v;
}

static inline uint64_t le64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return BYTEORDER_SWAP ? __builtin_bswap64(v) : v;
}

#endif
