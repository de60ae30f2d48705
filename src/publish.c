/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "publish.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "config.h"
#include "fileio.h"
#include "log.h"
#include "objfile/objfile.h"
#include "objfile/objkeys.h"
#include "store.h"
#include "symkey.h"
#include "timeutil.h"
#include "xalloc.h"

/* How long a publish waits for a download of the same key to finish. */
#define PUBLISH_LOCK_WAIT_MS 10000
/* A tokens file larger than this is a mistake, not a list of tokens. */
#define PUBLISH_TOKENS_MAX (1024 * 1024)

struct publish_upload {
    const struct config *cfg;
    struct cache *cache;
    char key[SYMKEY_CANON_MAX];
    char neg[SYMKEY_CANON_MAX];
    char tmp[STORE_PATH_MAX]; /* "" once stored */
    int fd;
    uint64_t size;
};

static bool configured(const char *v)
{
    return v != NULL && strcmp(v, "none") != 0;
}

bool publish_enabled(const struct config *cfg)
{
    return configured(cfg->publish_tokens_file);
}

/* --- tokens -------------------------------------------------------------- */

/* Compare in time that depends only on GOT's length, never on where the
 * first difference is or on the secret's length. */
static bool token_equal(const char *want, size_t wlen, const char *got,
                        size_t glen)
{
    volatile unsigned char diff = wlen != glen;

    for (size_t i = 0; i < glen; i++)
        diff |= (unsigned char)(got[i] ^ (wlen != 0 ? want[i % wlen] : 0));
    return wlen != 0 && diff == 0;
}

/* The token of "Bearer TOKEN" (scheme in any case), or NULL. */
static const char *bearer(const char *auth, size_t *len)
{
    const char *end;

    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
        return NULL;
    auth += 7;
    while (*auth == ' ')
        auth++;
    for (end = auth + strlen(auth); end > auth && end[-1] == ' ';)
        end--;
    *len = (size_t)(end - auth);
    return *len > 0 ? auth : NULL;
}

bool publish_token_ok(const struct config *cfg, const char *authorization)
{
    char *buf = NULL, *line, *save = NULL;
    size_t len = 0, glen = 0, n;
    const char *got = bearer(authorization, &glen);
    bool ok = false;
    int rc;

    if (got == NULL || !publish_enabled(cfg))
        return false;
    rc = read_small_file(cfg->publish_tokens_file, PUBLISH_TOKENS_MAX, &buf,
                         &len);
    if (rc != 0) {
        errno = -rc;
        log_warn("publish: tokens_file %s", cfg->publish_tokens_file);
        return false;
    }
    /* every line is compared: how many match says nothing to the timing */
    for (line = strtok_r(buf, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        n = strlen(line);
        while (n > 0 && strchr(" \t\r", line[n - 1]) != NULL)
            n--;
        if (n > 0 && line[0] != '#')
            ok |= token_equal(line, n, got, glen);
    }
    explicit_bzero(buf, len);
    free(buf);
    return ok;
}

/* --- identity ------------------------------------------------------------ */

/* The canonical form of the store path P, or "" when it is not a key. */
static void canonical_of(const char *p, char *out, size_t len)
{
    char path[OBJKEYS_LEN + 1];
    struct symkey k;
    const char *why;

    snprintf(path, sizeof(path), "/%s", p);
    if (symkey_parse(path, strlen(path), &k, &why) != 0 ||
        symkey_canonical(&k, out, len) < 0)
        out[0] = '\0';
}

/* FOUND: "a pdb, stored as KEY[, KEY...]" */
static void describe(const struct objfile_ident *id,
                     const struct objkeys *keys, char *found, size_t len)
{
    int n = snprintf(found, len, "a %s, stored as",
                     objfile_kind_name(id->kind));

    for (size_t i = 0; i < keys->n && n > 0 && (size_t)n < len; i++)
        n += snprintf(found + n, len - (size_t)n, "%s /%s", i ? "," : "",
                      keys->key[i]);
}

/* Read the store paths of PATH, a file uploaded or dropped under the name
 * NAME, into *KEYS.  0, or -EINVAL with FOUND saying why it has no key. */
static int identify(const char *path, const char *name, struct objkeys *keys,
                    char *found, size_t len)
{
    struct objfile_map map;
    struct objfile_ident id;
    int rc = objfile_map(path, &map);

    if (rc == 0)
        rc = objfile_identify(&map, &id);
    /* A PDB does not record its own name, nor a PE or ELF file its file
     * name: the readers take it from the path, which is ours here. */
    if (rc == 0 && id.kind == OBJFILE_PDB)
        snprintf(id.debug_file, sizeof(id.debug_file), "%s", name);
    else if (rc == 0 && (id.kind == OBJFILE_PE || id.kind == OBJFILE_ELF))
        snprintf(id.code_file, sizeof(id.code_file), "%s", name);
    if (rc == 0)
        rc = objkeys_list(&map, &id, keys);
    if (rc == 0)
        describe(&id, keys, found, len);
    else
        /* the temp file's name means nothing to the uploader */
        snprintf(found, len, "no symbol file identity: %s",
                 strncmp(map.err, path, strlen(path)) == 0
                     ? map.err + strlen(path) + 2
                     : map.err);
    objfile_unmap(&map);
    return rc < 0 ? -EINVAL : 0;
}

/* --- storing ------------------------------------------------------------- */

/* Store the complete file TMP (open as FD, SIZE bytes) under KEY, replacing
 * what is there, and index it as published.  0 or -errno (logged). */
static int store_as(const struct config *cfg, struct cache *cache,
                    const char *key, const char *neg, int fd, const char *tmp,
                    uint64_t size)
{
    struct cache_entry e;
    int lock, rc;

    /* a download of KEY in progress ends first */
    lock = store_lock_wait(cfg->cache_dir, key, PUBLISH_LOCK_WAIT_MS);
    if (lock < 0) {
        errno = -lock;
        log_warn("publish %s: download lock", key);
        return lock;
    }
    memset(&e, 0, sizeof(e));
    e.size = size;
    e.gz = size < cfg->gzip_min_size ? CACHE_GZ_NONE : CACHE_GZ_UNKNOWN;
    snprintf(e.upstream, sizeof(e.upstream), "%s", PUBLISH_LABEL);
    /* the copies made from the file it replaces would be served for it */
    store_drop_derived(cfg->cache_dir, key);
    rc = store_publish(cfg->cache_dir, cache, key, neg, fd, tmp, &e);
    close(lock);
    if (rc == 0)
        log_info("published %s (%" PRIu64 " bytes)", key, size);
    return rc;
}

/* A temp file of its own under the cache directory: uploads of one key
 * may run at once, and the download temp names are tailed by workers. */
static int make_tmp(const char *dir, char *path, size_t len)
{
    int fd = store_upload_tmp(dir, path, len);

    if (fd < 0) {
        errno = -fd;
        log_warn("publish: temp file under %s/.Symsrvd/tmp", dir);
    }
    return fd;
}

int publish_upload_new(const struct config *cfg, struct cache *cache,
                       const char *key, const char *neg,
                       struct publish_upload **out)
{
    struct publish_upload *u = xcalloc(1, sizeof(*u));

    u->cfg = cfg;
    u->cache = cache;
    snprintf(u->key, sizeof(u->key), "%s", key);
    snprintf(u->neg, sizeof(u->neg), "%s", neg);
    u->fd = make_tmp(cfg->cache_dir, u->tmp, sizeof(u->tmp));
    if (u->fd < 0) {
        int rc = u->fd;

        free(u);
        return rc;
    }
    *out = u;
    return 0;
}

int publish_upload_write(struct publish_upload *u, const char *data,
                         size_t len)
{
    int rc;

    if (u->size + len > u->cfg->publish_max_size)
        return -EFBIG;
    rc = write_full(u->fd, data, len);
    if (rc != 0) {
        errno = -rc;
        log_warn("publish %s: write %s", u->key, u->tmp);
        return rc;
    }
    u->size += len;
    return 0;
}

int publish_upload_finish(struct publish_upload *u, uint64_t *size,
                          char *found, size_t foundlen)
{
    char canon[SYMKEY_CANON_MAX];
    const char *name = strrchr(u->neg, '/');
    struct objkeys keys;
    int rc = identify(u->tmp, name != NULL ? name + 1 : u->neg, &keys, found,
                      foundlen);

    if (rc != 0)
        return rc;
    rc = -EBADMSG;
    for (size_t i = 0; i < keys.n && rc != 0; i++) {
        canonical_of(keys.key[i], canon, sizeof(canon));
        if (strcmp(canon, u->key) == 0)
            rc = 0;
    }
    if (rc == 0)
        rc = store_as(u->cfg, u->cache, u->key, u->neg, u->fd, u->tmp,
                      u->size);
    if (rc == 0) {
        u->tmp[0] = '\0'; /* renamed into the tree */
        *size = u->size;
    }
    return rc;
}

void publish_upload_free(struct publish_upload *u)
{
    if (u == NULL)
        return;
    if (u->tmp[0] != '\0')
        unlink(u->tmp);
    close(u->fd);
    free(u);
}

/* --- the drop directory -------------------------------------------------- */

/* Store the file TMP (open as FD) under every key KEYS has: all but the
 * last through a hard link of their own, since publishing renames.
 * Returns how many keys were stored. */
static unsigned store_all(const struct config *cfg, struct cache *cache,
                          const struct objkeys *keys, int fd, const char *tmp,
                          uint64_t size)
{
    char canon[SYMKEY_CANON_MAX], link_path[STORE_PATH_MAX];
    unsigned stored = 0;

    for (size_t i = 0; i < keys->n; i++) {
        const char *from = tmp;

        canonical_of(keys->key[i], canon, sizeof(canon));
        if (canon[0] == '\0')
            continue;
        if (i + 1 < keys->n) {
            if (snprintf(link_path, sizeof(link_path), "%s.%zu", tmp, i) >=
                    (int)sizeof(link_path) ||
                link(tmp, link_path) != 0) {
                log_warn("publish: link %s", link_path);
                continue;
            }
            from = link_path;
        }
        if (store_as(cfg, cache, canon, keys->key[i], fd, from, size) == 0)
            stored++;
        else if (from != tmp)
            unlink(from);
    }
    return stored;
}

/* Keep a file that has no key out of the way, where its owner can see
 * it: "<drop_dir>/.rejected/NAME". */
static void reject(const char *drop, const char *name, const char *tmp,
                   const char *why)
{
    char dir[STORE_PATH_MAX], to[STORE_PATH_MAX];

    log_warnx("publish: %s/%s: %s; moved to %s/.rejected", drop, name, why,
              drop);
    if (snprintf(dir, sizeof(dir), "%s/.rejected", drop) >=
            (int)sizeof(dir) ||
        snprintf(to, sizeof(to), "%s/%s", dir, name) >= (int)sizeof(to) ||
        mkdir_p(dir, 0750) != 0 || rename(tmp, to) != 0)
        unlink(tmp);
}

/* Open the dropped file FROM when it is a settled regular file, locked
 * the way uploads are (store_upload_tmp()): the lock is on the file, so
 * it holds once the file is renamed to an upload's name.  -1 otherwise. */
static int open_settled(const char *from, struct stat *st)
{
    int fd = open(from, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0)
        return -1;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) ||
        wall_ms() - ((int64_t)st->st_mtim.tv_sec * 1000 +
                     st->st_mtim.tv_nsec / 1000000) <
            PUBLISH_DROP_SETTLE_MS ||
        flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Move the file open as FD from FROM to a new upload name TMP: out of
 * the drop directory, so it is taken once.  0, or -1 when FROM is no
 * longer that file or cannot be moved. */
static int move_in(const char *dir, const char *from, int fd, char *tmp,
                   size_t len)
{
    struct stat a, b;
    int reserved = make_tmp(dir, tmp, len);

    if (reserved < 0)
        return -1;
    close(reserved);
    if (rename(from, tmp) != 0) {
        /* another file system: the drop dir must be on the cache's */
        log_warn("publish: move %s to %s", from, tmp);
        unlink(tmp);
        return -1;
    }
    /* replaced between open and rename: put it back, untouched */
    if (fstat(fd, &a) != 0 || stat(tmp, &b) != 0 || a.st_ino != b.st_ino ||
        a.st_dev != b.st_dev) {
        if (rename(tmp, from) != 0)
            unlink(tmp);
        return -1;
    }
    return 0;
}

/* Take the dropped file NAME: move it into the cache's temp directory,
 * identify it and store it under every key it has. */
static unsigned take(const struct config *cfg, struct cache *cache,
                     const char *name)
{
    char from[STORE_PATH_MAX], tmp[STORE_PATH_MAX], found[512];
    struct objkeys keys;
    struct stat st;
    unsigned stored = 0;
    int fd;

    if (snprintf(from, sizeof(from), "%s/%s", cfg->publish_drop_dir, name) >=
        (int)sizeof(from))
        return 0;
    fd = open_settled(from, &st);
    if (fd < 0)
        return 0;
    if (move_in(cfg->cache_dir, from, fd, tmp, sizeof(tmp)) != 0) {
        close(fd);
        return 0;
    }
    if (identify(tmp, name, &keys, found, sizeof(found)) != 0)
        reject(cfg->publish_drop_dir, name, tmp, found);
    else if ((stored = store_all(cfg, cache, &keys, fd, tmp,
                                 (uint64_t)st.st_size)) == 0)
        reject(cfg->publish_drop_dir, name, tmp, "could not be stored");
    else
        unlink(tmp); /* left when its last key could not be stored */
    close(fd);
    return stored;
}

unsigned publish_drop_scan(const struct config *cfg, struct cache *cache,
                           const atomic_bool *stop)
{
    struct dirent *de;
    unsigned n = 0;
    DIR *d;

    if (!configured(cfg->publish_drop_dir))
        return 0;
    d = opendir(cfg->publish_drop_dir);
    if (d == NULL)
        return 0;
    while (!atomic_load(stop) && (de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.')
            n += take(cfg, cache, de->d_name);
    }
    closedir(d);
    return n;
}
