/* SPDX-License-Identifier: MIT */
/*
 * pdb_ipi: the type (TPI, stream 2) and id (IPI, stream 4) streams, read
 * only as far as naming inlined functions needs: an inline site points at
 * an LF_FUNC_ID or LF_MFUNC_ID record in the IPI stream, whose name is
 * qualified the way llvm-symbolizer does it, by the LF_STRING_ID of its
 * parent scope or by the name of its class in the TPI stream.
 */
#include "symsrvd_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pdb/pdb_int.h"
#include "xalloc.h"

#define TPI_HEADER_MIN 56
#define TI_FIRST_RECORD 0x1000u

enum {
    LF_CLASS = 0x1504,
    LF_STRUCTURE = 0x1505,
    LF_UNION = 0x1506,
    LF_ENUM = 0x1507,
    LF_INTERFACE = 0x1519,
    LF_FUNC_ID = 0x1601,
    LF_MFUNC_ID = 0x1602,
    LF_STRING_ID = 0x1605,
};

/* Record the offset of each record; stop quietly at the first one that
 * does not fit (names behind it are then unknown, not wrong). */
static int types_index(struct pdb *p, uint32_t idx, struct pdb_types *t)
{
    uint32_t hdr, bytes, end_ti;
    size_t pos, end;
    int rc;

    rc = pdb_msf_stream(p, idx, &t->s);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    if (t->s.len < TPI_HEADER_MIN)
        return objfile_fail(p->map, -EINVAL,
                            "type stream %u is shorter than its header", idx);
    hdr = le32(t->s.data + 4);
    t->first = le32(t->s.data + 8);
    end_ti = le32(t->s.data + 12);
    bytes = le32(t->s.data + 16);
    if (hdr > t->s.len || bytes > t->s.len - hdr || end_ti < t->first)
        return objfile_fail(p->map, -EINVAL, "type stream %u: bad header", idx);
    end = (size_t)hdr + bytes;
    t->offsets = xcalloc(bytes / 4 + 1, sizeof(uint32_t));
    for (pos = hdr; pos + 4 <= end && t->count < end_ti - t->first;) {
        size_t rec = le16(t->s.data + pos);

        if (rec < 2 || pos + 2 + rec > end)
            break;
        t->offsets[t->count++] = (uint32_t)pos;
        pos += 2 + rec;
    }
    return 0;
}

int pdb_types_open(struct pdb *p)
{
    int rc = types_index(p, 2, &p->tpi);

    if (rc == 0)
        rc = types_index(p, 4, &p->ipi);
    return rc;
}

/* Payload of record TI (after its kind), its kind and length. */
static const uint8_t *types_record(const struct pdb_types *t, uint32_t ti,
                                   uint16_t *kind, size_t *len)
{
    const uint8_t *r;

    if (ti < t->first || ti - t->first >= t->count)
        return NULL;
    r = t->s.data + t->offsets[ti - t->first];
    *len = (size_t)le16(r) - 2;
    *kind = le16(r + 2);
    return r + 4;
}

/* Bytes taken by the numeric leaf at P (0: unknown encoding). */
static size_t numeric_leaf_len(const uint8_t *p, size_t avail)
{
    uint16_t v;

    if (avail < 2)
        return 0;
    v = le16(p);
    if (v < 0x8000)
        return 2;
    switch (v) {
    case 0x8000: return 3;                 /* LF_CHAR */
    case 0x8001: case 0x8002: return 4;    /* LF_SHORT, LF_USHORT */
    case 0x8003: case 0x8004: case 0x8005: /* LF_LONG, LF_ULONG, REAL32 */
        return 6;
    case 0x8006: case 0x8009: case 0x800a: /* REAL64, (U)QUADWORD */
        return 10;
    default: return 0;
    }
}

/* Name of the class, structure, union or enum TI in the TPI stream. */
static const char *tpi_udt_name(const struct pdb *p, uint32_t ti)
{
    uint16_t kind;
    size_t len, off, n;
    const uint8_t *r = types_record(&p->tpi, ti, &kind, &len);

    if (!r)
        return NULL;
    switch (kind) {
    case LF_CLASS:
    case LF_STRUCTURE:
    case LF_INTERFACE: off = 16; break;
    case LF_UNION: off = 8; break;
    case LF_ENUM: return pdb_cstr(r, len, 12);
    default: return NULL;
    }
    if (off > len)
        return NULL;
    n = numeric_leaf_len(r + off, len - off);
    return n ? pdb_cstr(r, len, off + n) : NULL;
}

static const char *ipi_string(const struct pdb *p, uint32_t ti)
{
    uint16_t kind;
    size_t len;
    const uint8_t *r = types_record(&p->ipi, ti, &kind, &len);

    if (!r || kind != LF_STRING_ID)
        return NULL;
    return pdb_cstr(r, len, 4);
}

/* Length of an MSVC anonymous-namespace tag ("?A0x" and hex digits) at
 * S, 0 when S does not start with one. */
static size_t anon_tag_len(const char *s)
{
    size_t n = 4;

    if (strncmp(s, "?A0x", 4) != 0)
        return 0;
    while (isxdigit((unsigned char)s[n]))
        n++;
    return n > 4 && (s[n] == '\0' || s[n] == ':') ? n : 0;
}

/* SCOPE into BUF[0..BLEN) with MSVC's anonymous-namespace tags
 * ("?A0xc3a0617d") spelled as undname and clang spell them.  Returns the
 * length written (truncated to fit). */
static size_t scope_copy(const char *scope, char *buf, size_t blen)
{
    static const char anon[] = "`anonymous namespace'";
    size_t out = 0;

    for (const char *s = scope; *s && out + 1 < blen;) {
        bool start = s == scope || s[-1] == ':';
        size_t tag = start ? anon_tag_len(s) : 0;
        const char *src = tag ? anon : s;
        size_t n = tag ? sizeof(anon) - 1 : 1;

        if (n > blen - 1 - out)
            n = blen - 1 - out;
        memcpy(buf + out, src, n);
        out += n;
        s += tag ? tag : 1;
    }
    if (blen > 0)
        buf[out] = '\0';
    return out;
}

bool pdb_ipi_func_name(struct pdb *p, uint32_t item, char *buf, size_t blen)
{
    uint16_t kind;
    size_t len;
    const uint8_t *r = types_record(&p->ipi, item, &kind, &len);
    const char *name, *scope = NULL;
    int n;

    if (!r || (kind != LF_FUNC_ID && kind != LF_MFUNC_ID) || len < 8)
        return false;
    name = pdb_cstr(r, len, 8);
    if (!name)
        return false;
    if (kind == LF_MFUNC_ID)
        scope = tpi_udt_name(p, le32(r));
    else if (le32(r) >= TI_FIRST_RECORD)
        scope = ipi_string(p, le32(r));
    if (scope && *scope && blen > 0) {
        size_t k = scope_copy(scope, buf, blen);

        n = snprintf(buf + k, blen - k, "::%s", name);
    } else
        n = snprintf(buf, blen, "%s", name);
    return n >= 0;
}
