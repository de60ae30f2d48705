/* SPDX-License-Identifier: MIT */
/* libFuzzer target: decompress_file() on hostile upstream bodies (cabinets
 * through libmspack, gzip through zlib), as the downloader feeds it: the
 * first byte picks the kind, the rest is the body written to a file. */
#include "symsrvd_config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decompress.h"
#include "fileio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char src[64], dst[64];

/* One pair of file names per fuzzing process. */
static void init_paths(void)
{
    if (src[0] != '\0')
        return;
    snprintf(src, sizeof(src), "/tmp/fuzz_decompress.%ld.in", (long)getpid());
    snprintf(dst, sizeof(dst), "/tmp/fuzz_decompress.%ld.out",
             (long)getpid());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum decompress_kind kind;
    const char *why;
    struct stat st;
    uint64_t out;
    int fd;

    if (size < 1)
        return 0;
    init_paths();
    kind = (data[0] & 1) ? DECOMPRESS_GZIP : DECOMPRESS_CAB;
    fd = open(src, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write_full(fd, data + 1, size - 1) != 0)
        abort();
    close(fd);
    if (decompress_file(kind, src, dst, "lzxtest.pdb", NULL, &out, &why) == 0) {
        /* A success leaves exactly the size it reports. */
        if (stat(dst, &st) != 0 || (uint64_t)st.st_size != out)
            abort();
        unlink(dst);
    } else if (why == NULL || access(dst, F_OK) == 0) {
        abort(); /* a failure says why and leaves nothing behind */
    }
    unlink(src);
    return 0;
}
