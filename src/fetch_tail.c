/* SPDX-License-Identifier: MIT */
/*
 * fetch_tail: when another worker process holds a symbol's download lock,
 * this one's clients still stream: the holder announces the length in an
 * "info" sidecar beside its temp file once the first byte arrives, and the
 * tailer polls the temp file's size until the lock is released, then
 * looks in the index to learn how it ended.  Polling is cheap here (one
 * fstat per slice) and needs no channel between the processes.
 *
 * A body the holder could not keep (no space) is not in the index, but its
 * temp file, unlinked, is still whole behind our descriptor: when it has
 * the announced length, our clients get the rest of it as the holder's own
 * do.  A body of unannounced length cannot be told from one cut short, so
 * its clients are cut.
 */
#include "symsrvd_config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fetch_int.h"
#include "fileio.h"
#include "inflight.h"
#include "store.h"

#define TAIL_POLL_US 5000

void fetch_tail_announce(const char *info, int64_t length)
{
    char tmp[STORE_PATH_MAX + 8], line[32];
    int fd, n;

    snprintf(tmp, sizeof(tmp), "%s.tmp", info);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return;
    n = snprintf(line, sizeof(line), "%" PRId64 "\n", length);
    if (write_full(fd, line, (size_t)n) == 0)
        rename(tmp, info);
    else
        unlink(tmp);
    close(fd);
}

static int64_t read_info(const char *path)
{
    char *buf = NULL;
    size_t len;
    int64_t v;

    if (read_small_file(path, 64, &buf, &len) != 0)
        return INT64_MIN;
    v = strtoll(buf, NULL, 10);
    free(buf);
    return v;
}

/* Does RFD hold all of a body announced as LENGTH bytes? */
static bool whole(int rfd, int64_t length)
{
    struct stat st;

    return length > 0 && fstat(rfd, &st) == 0 && st.st_size == length;
}

static bool stopping(const atomic_bool *stop)
{
    return atomic_load_explicit(stop, memory_order_acquire);
}

bool fetch_tail(const char *dir, struct cache *cache, const atomic_bool *stop,
                struct dl *d, int lockfd)
{
    char part[STORE_PATH_MAX], info[STORE_PATH_MAX];
    bool streaming = false, finished = true;
    int64_t length = -1;
    int rfd = -1;
    struct stat st;

    store_tmp_path(dir, dl_key(d), "part", part, sizeof(part));
    store_tmp_path(dir, dl_key(d), "info", info, sizeof(info));
    while (flock(lockfd, LOCK_EX | LOCK_NB) != 0 && !stopping(stop)) {
        if (rfd < 0)
            rfd = open(part, O_RDONLY | O_CLOEXEC);
        if (rfd >= 0 && !streaming &&
            (length = read_info(info)) != INT64_MIN) {
            dl_stream(d, rfd, length, "peer");
            streaming = true;
        }
        if (streaming && fstat(rfd, &st) == 0)
            dl_progress(d, (uint64_t)st.st_size);
        usleep(TAIL_POLL_US);
    }
    if (store_present(dir, cache, dl_key(d))) {
        if (streaming && fstat(rfd, &st) == 0)
            dl_progress(d, (uint64_t)st.st_size);
        dl_finish(d, true, DL_REASON_NONE);
    } else if (streaming && whole(rfd, length)) {
        dl_finish_unstored(d, (uint64_t)length);
    } else if (!streaming && !stopping(stop)) {
        finished = false;
    } else {
        dl_finish(d, false, DL_REASON_UPSTREAM_ERROR);
    }
    /* Once streaming, D owns RFD; before that (the peer finished or failed
     * between two polls, before its sidecar was seen) it is still ours. */
    if (!streaming && rfd >= 0)
        close(rfd);
    return finished;
}
