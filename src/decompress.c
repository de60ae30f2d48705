/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "decompress.h"

#include <errno.h>
#include <fcntl.h>
#include <mspack.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gzip.h"

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

enum decompress_kind decompress_sniff(const char *file,
                                      const unsigned char *head, size_t len)
{
    if (len >= 4 && memcmp(head, "MSCF", 4) == 0 &&
        !has_suffix(file, ".cab"))
        return DECOMPRESS_CAB;
    /* Method 8 (deflate) is the only one gzip defines. */
    if (len >= 3 && head[0] == 0x1f && head[1] == 0x8b && head[2] == 8 &&
        !has_suffix(file, ".gz") && !has_suffix(file, ".tgz"))
        return DECOMPRESS_GZIP;
    return DECOMPRESS_NONE;
}

bool decompress_twin(const char *file, char *buf, size_t len)
{
    static const char *const ext[] = {".pdb", ".dll", ".exe", ".sys", ".dbg"};
    size_t i, n = strlen(file);

    for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
        if (n > 4 && has_suffix(file, ext[i]) && n < len) {
            memcpy(buf, file, n + 1);
            buf[n - 1] = '_';
            return true;
        }
    }
    return false;
}

/* Check that CAB is one whole cabinet holding just WANT. */
static const char *cab_check(const struct mscabd_cabinet *cab,
                             const char *want)
{
    if (cab->flags & (MSCAB_HDR_PREVCAB | MSCAB_HDR_NEXTCAB))
        return "cabinet is part of a multi-cabinet set";
    if (cab->files == NULL || cab->files->next != NULL)
        return "cabinet does not hold exactly one file";
    if (strcasecmp(cab->files->filename, want) != 0)
        return "cabinet member is not the requested file";
    return NULL;
}

static int uncab(const char *src, const char *dst, const char *want,
                 const struct decompress_room *room, uint64_t *size,
                 const char **why)
{
    struct mscab_decompressor *cabd = mspack_create_cab_decompressor(NULL);
    struct mscabd_cabinet *cab = NULL;
    struct stat st;
    int rc = -EBADMSG;

    if (cabd == NULL)
        return -ENOMEM;
    cab = cabd->open(cabd, src);
    if (cab == NULL) {
        *why = "not a valid cabinet";
        goto out;
    }
    *why = cab_check(cab, want);
    if (*why != NULL)
        goto out;
    /* the member's length is what extract() writes, checked below */
    if (room != NULL && !room->hold(room->arg, cab->files->length)) {
        rc = -ENOSPC;
        goto out;
    }
    /* libmspack checks each data block's checksum while extracting. */
    if (cabd->extract(cabd, cab->files, dst) != MSPACK_ERR_OK) {
        *why = "cabinet data is corrupt";
        goto out;
    }
    if (stat(dst, &st) != 0) {
        rc = -errno;
        goto out;
    }
    if ((uint64_t)st.st_size != cab->files->length) {
        *why = "cabinet member has the wrong size";
        goto out;
    }
    *size = (uint64_t)st.st_size;
    rc = 0;
out:
    if (cab != NULL)
        cabd->close(cabd, cab);
    mspack_destroy_cab_decompressor(cabd);
    return rc;
}

static int ungzip(const char *src, const char *dst,
                  const struct decompress_room *room, uint64_t *size,
                  const char **why)
{
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc;

    if (in < 0)
        return -errno;
    out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        rc = -errno;
        goto out;
    }
    rc = room != NULL ? gunzip_fd(in, out, size, room->hold, room->arg)
                      : gunzip_fd(in, out, size, NULL, NULL);
    if (rc == -EBADMSG)
        *why = "gzip data is corrupt or truncated";
out:
    if (out >= 0)
        close(out);
    close(in);
    return rc;
}

int decompress_file(enum decompress_kind kind, const char *src,
                    const char *dst, const char *want,
                    const struct decompress_room *room, uint64_t *size,
                    const char **why)
{
    int rc;

    *why = NULL;
    if (kind == DECOMPRESS_CAB)
        rc = uncab(src, dst, want, room, size, why);
    else if (kind == DECOMPRESS_GZIP)
        rc = ungzip(src, dst, room, size, why);
    else
        rc = -EINVAL;
    if (rc != 0)
        unlink(dst);
    if (rc == -ENOSPC && *why == NULL)
        *why = "no room for the decoded file";
    if (rc != 0 && *why == NULL)
        *why = "local file error";
    return rc;
}
