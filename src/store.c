/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "fileio.h"
#include "gzip.h"
#include "log.h"
#include "metrics.h"
#include "nospace.h"
#include "timeutil.h"

/* A gzip job waits this long for the download that queued it to let go
 * of the key's lock. */
#define STORE_GZIP_LOCK_WAIT_MS 2000
#define STORE_LOCK_POLL_US 20000

static int fmt_path(size_t len, int n)
{
    return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

int store_file_path(const char *dir, const char *key, char *buf, size_t len)
{
    return fmt_path(len, snprintf(buf, len, "%s/%s", dir, key));
}

int store_gzip_path(const char *dir, const char *key, char *buf, size_t len)
{
    return fmt_path(len, snprintf(buf, len, "%s/%s.GZIP", dir, key));
}

int store_table_path(const char *dir, const char *key, char *buf, size_t len)
{
    return fmt_path(len, snprintf(buf, len, "%s/%s.SYMTABLE", dir, key));
}

/* Two FNV-1a-64 passes with different offset bases: 128 bits, enough
 * that distinct keys never share a temp or lock file in practice. */
static void key_hash(const char *key, char out[33])
{
    uint64_t a = 14695981039346656037ull, b = 0x6c62272e07bb0142ull;
    const unsigned char *p;

    for (p = (const unsigned char *)key; *p != '\0'; p++) {
        a = (a ^ *p) * 1099511628211ull;
        b = (b ^ *p) * 1099511628211ull;
        b ^= b >> 29;
    }
    snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, a, b);
}

int store_tmp_path(const char *dir, const char *key, const char *suffix,
                   char *buf, size_t len)
{
    char h[33];

    key_hash(key, h);
    return fmt_path(len, snprintf(buf, len, "%s/.Symsrvd/tmp/%s.%s",
                                       dir, h, suffix));
}

int store_lock_path(const char *dir, const char *key, char *buf, size_t len)
{
    char h[33];

    key_hash(key, h);
    return fmt_path(len, snprintf(buf, len, "%s/.Symsrvd/locks/%s.lock",
                                       dir, h));
}

/* Create the directory that KEY's file goes in. */
static int make_parent(char *final)
{
    char *slash = strrchr(final, '/');
    int rc;

    *slash = '\0';
    rc = mkdir_p(final, 0755);
    *slash = '/';
    return rc;
}

int store_publish(const char *dir, struct cache *cache, const char *key,
                  const char *neg, int fd, const char *part,
                  struct cache_entry *e)
{
    char final[STORE_PATH_MAX];
    int rc;

    rc = store_file_path(dir, key, final, sizeof(final));
    if (rc != 0)
        return rc;
    rc = make_parent(final);
    if (rc == 0)
        rc = publish_file(fd, part, final);
    if (rc != 0) {
        errno = -rc;
        log_warn("download %s: publish %s", key, final);
        if (nospace_errno(rc))
            nospace_note(NOSPACE_DISK, key, e->size);
        return rc;
    }
    e->cached_at_ms = wall_ms();
    rc = cache_insert(cache, key, neg, e);
    if (rc != 0) {
        unlink(final); /* unindexed files are never served; keep it tidy */
        if (nospace_errno(rc))
            nospace_note(NOSPACE_INDEX, key, e->size);
        return rc;
    }
    nospace_clear();
    return 0;
}

bool store_present(const char *dir, struct cache *cache, const char *key)
{
    struct cache_entry e;
    char path[STORE_PATH_MAX];

    if (cache_lookup(cache, key, &e) != 0)
        return false;
    if (store_file_path(dir, key, path, sizeof(path)) == 0 &&
        access(path, F_OK) == 0)
        return true;
    cache_remove(cache, key);
    return false;
}

/* The copy of KEY's file as it is now: a file published meanwhile would
 * get the copy of the one it replaced. */
static void make_gzip_locked(const char *dir, struct cache *cache,
                             const char *key)
{
    char src[STORE_PATH_MAX], dst[STORE_PATH_MAX];
    struct cache_entry e;
    uint64_t size = 0;
    int rc;

    if (cache_lookup(cache, key, &e) != 0 || e.gz != CACHE_GZ_UNKNOWN ||
        store_file_path(dir, key, src, sizeof(src)) != 0 ||
        store_gzip_path(dir, key, dst, sizeof(dst)) != 0)
        return;
    rc = gzip_file(src, dst, &size);
    if (rc != 0) {
        errno = -rc;
        log_warn("gzip %s", dst);
        return;
    }
    if (size >= e.size) {
        unlink(dst); /* does not shrink: identity only */
        cache_set_gzip(cache, key, CACHE_GZ_NONE, 0);
        return;
    }
    cache_set_gzip(cache, key, CACHE_GZ_READY, size);
    metrics_add(&metrics->gzip_created, 1);
}

void store_make_gzip(const char *dir, struct cache *cache, const char *key)
{
    /* the download that queued it may still be letting its lock go; a
     * key still busy after that is copied at a later hit */
    int lock = store_lock_wait(dir, key, STORE_GZIP_LOCK_WAIT_MS);

    if (lock < 0)
        return;
    make_gzip_locked(dir, cache, key);
    close(lock);
}

int store_lock_wait(const char *dir, const char *key, uint64_t wait_ms)
{
    uint64_t until = mono_ms() + wait_ms;
    int fd;

    while ((fd = store_lock_try(dir, key)) == -EBUSY && mono_ms() < until)
        usleep(STORE_LOCK_POLL_US);
    return fd;
}

int store_lock_try(const char *dir, const char *key)
{
    char lock[STORE_PATH_MAX];
    int fd, rc;

    rc = store_lock_path(dir, key, lock, sizeof(lock));
    if (rc != 0)
        return rc;
    fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return -EBUSY;
    }
    return fd;
}

static uint64_t file_bytes(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Unlink PATH, adding its size to *FREED. */
static void unlink_counted(const char *path, uint64_t *freed)
{
    uint64_t n = file_bytes(path);

    if (unlink(path) == 0)
        *freed += n;
}

/* The file first: a crash before the record goes leaves a record without
 * its file, which store_present() and the hit path drop. */
static void unlink_all(const char *dir, const char *key, uint64_t *freed)
{
    char path[STORE_PATH_MAX];

    if (store_file_path(dir, key, path, sizeof(path)) == 0)
        unlink_counted(path, freed);
    if (store_gzip_path(dir, key, path, sizeof(path)) == 0)
        unlink_counted(path, freed);
    if (store_table_path(dir, key, path, sizeof(path)) == 0)
        unlink_counted(path, freed);
}

void store_drop_derived(const char *dir, const char *key)
{
    char path[STORE_PATH_MAX];

    if (store_gzip_path(dir, key, path, sizeof(path)) == 0)
        unlink(path);
    if (store_table_path(dir, key, path, sizeof(path)) == 0)
        unlink(path);
}

int store_evict_files(const char *dir, struct cache *cache, const char *key,
                      int64_t cached_at_ms, uint64_t *freed)
{
    struct cache_entry e;
    int fd, rc;

    *freed = 0;
    fd = store_lock_try(dir, key);
    if (fd < 0)
        return fd;
    rc = cache_lookup(cache, key, &e);
    if (rc == 0 && cached_at_ms != 0 && e.cached_at_ms != cached_at_ms)
        rc = -ESTALE;
    if (rc != 0) {
        close(fd);
        return rc;
    }
    unlink_all(dir, key, freed);
    return fd;
}

int store_evict(const char *dir, struct cache *cache, const char *key,
                int64_t cached_at_ms, uint64_t *freed)
{
    int fd = store_evict_files(dir, cache, key, cached_at_ms, freed), rc;

    if (fd < 0)
        return fd;
    rc = cache_remove(cache, key);
    close(fd); /* releases the lock */
    return rc == -ENOENT ? 0 : rc; /* a hit may have dropped it first */
}

int store_prepare(const char *dir)
{
    static const char *const subdirs[] = {"tmp", "locks", "index"};
    char path[STORE_PATH_MAX];
    size_t i;
    int rc;

    for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
        if (snprintf(path, sizeof(path), "%s/.Symsrvd/%s", dir,
                     subdirs[i]) >= (int)sizeof(path))
            return -ENAMETOOLONG;
        rc = mkdir_p(path, 0750);
        if (rc != 0) {
            errno = -rc;
            log_warn("cannot create %s", path);
            return rc;
        }
    }
    return 0;
}

/* Remove tmp/NAME when the lock of the same hash is free: hold that lock
 * while unlinking, so no downloader can start in between. */
int store_upload_tmp(const char *dir, char *buf, size_t len)
{
    char hidden[STORE_PATH_MAX];
    const char *base;
    int fd, rc;

    /* made under a dot name, which store_clean_tmp() skips, and renamed
     * once locked: it never shows unlocked under the name it cleans */
    if (snprintf(hidden, sizeof(hidden), "%s/.Symsrvd/tmp/.%sXXXXXX", dir,
                 STORE_UPLOAD_PREFIX) >= (int)sizeof(hidden))
        return -ENAMETOOLONG;
    fd = mkostemp(hidden, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    base = strrchr(hidden, '/') + 2;
    rc = snprintf(buf, len, "%s/.Symsrvd/tmp/%s", dir, base) >= (int)len
             ? -ENAMETOOLONG
             : 0;
    if (rc == 0 && (flock(fd, LOCK_EX | LOCK_NB) != 0 ||
                    rename(hidden, buf) != 0))
        rc = -errno;
    if (rc != 0) {
        close(fd);
        unlink(hidden);
        return rc;
    }
    return fd;
}

/* An upload whose writer is gone: nobody holds its own lock. */
static unsigned clean_upload(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    unsigned n = 0;

    if (fd < 0)
        return 0;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0 && unlink(path) == 0)
        n = 1;
    close(fd);
    return n;
}

static unsigned clean_one(const char *dir, const char *name)
{
    char hash[33], path[STORE_PATH_MAX];
    const char *dot = strchr(name, '.');
    int fd;
    unsigned n = 0;

    if (strncmp(name, STORE_UPLOAD_PREFIX, strlen(STORE_UPLOAD_PREFIX)) ==
            0 &&
        snprintf(path, sizeof(path), "%s/.Symsrvd/tmp/%s", dir, name) <
            (int)sizeof(path))
        return clean_upload(path);
    if (dot == NULL || dot - name != 32)
        return 0;
    memcpy(hash, name, 32);
    hash[32] = '\0';
    snprintf(path, sizeof(path), "%s/.Symsrvd/locks/%s.lock", dir, hash);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return 0;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        snprintf(path, sizeof(path), "%s/.Symsrvd/tmp/%s", dir, name);
        if (unlink(path) == 0)
            n = 1;
    }
    close(fd); /* releases the lock */
    return n;
}

unsigned store_clean_tmp(const char *dir)
{
    char path[STORE_PATH_MAX];
    struct dirent *de;
    unsigned n = 0;
    DIR *d;

    snprintf(path, sizeof(path), "%s/.Symsrvd/tmp", dir);
    d = opendir(path);
    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.')
            n += clean_one(dir, de->d_name);
    }
    closedir(d);
    return n;
}
