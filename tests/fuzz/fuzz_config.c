/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for config_load(): the bytes are a config file.  They
 * go through a memfd so the real file path (fopen, getline, inih) is what
 * gets fuzzed, without touching the disk.  Loading must either succeed
 * with a config that dumps cleanly or fail with a one-line message.
 */
#include "symsrvd_config.h"

#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    struct config *cfg = NULL;
    char err[512];
    FILE *null;
    int rc;

    if (fd < 0) {
        fd = memfd_create("fuzz_config", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    err[0] = '\0';
    rc = config_load(path, &cfg, err, sizeof(err));
    if (rc == 0) {
        null = fopen("/dev/null", "w");
        if (null == NULL || config_dump(cfg, null) != 0)
            abort();
        fclose(null);
        config_free(cfg);
    } else if (rc != -EINVAL || err[0] == '\0' || strchr(err, '\n') != NULL) {
        abort();
    }
    return 0;
}
