/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "reconcile.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "log.h"
#include "store.h"
#include "symkey.h"
#include "timeutil.h"
#include "xalloc.h"

#define RECONCILE_PAGE 256
#define RECONCILE_ADOPT_BATCH 64 /* each holds a lock descriptor */

/* Files being adopted, each under its download lock until the batch's
 * records are written. */
struct adoption {
    char *keys[RECONCILE_ADOPT_BATCH];
    struct cache_entry e[RECONCILE_ADOPT_BATCH];
    int fds[RECONCILE_ADOPT_BATCH];
    size_t n;
};

struct rec {
    const char *dir;
    struct cache *cache;
    const atomic_bool *stop;
    struct reconcile_stats *st;
    time_t settled_before; /* files changed since are not adopted */
    struct adoption *ad;
};

/* --- records without a whole file ---------------------------------------- */

struct page {
    char *keys[RECONCILE_PAGE];
    uint64_t sizes[RECONCILE_PAGE];
    int64_t cached_at[RECONCILE_PAGE];
    size_t n;
};

static bool page_add(void *arg, const char *key, size_t keylen,
                     const struct cache_entry *e)
{
    struct page *p = arg;

    p->keys[p->n] = xstrndup(key, keylen);
    p->sizes[p->n] = e->size;
    p->cached_at[p->n] = e->cached_at_ms;
    p->n++;
    return true;
}

/* Drop KEY's record (and a wrong-sized file) unless its file is whole. */
static void check_record(struct rec *r, const char *key, uint64_t size,
                         int64_t cached_at)
{
    char path[STORE_PATH_MAX];
    struct stat st;
    uint64_t freed;

    if (store_file_path(r->dir, key, path, sizeof(path)) != 0)
        return;
    if (stat(path, &st) == 0 && (uint64_t)st.st_size == size)
        return;
    if (store_evict(r->dir, r->cache, key, cached_at, &freed) == 0) {
        log_info("reconcile: dropped %s (file missing or wrong size)", key);
        r->st->dropped++;
    }
}

static int check_records(struct rec *r)
{
    char *after = NULL;
    struct page p;
    bool more = true;
    size_t i;
    int rc = 0;

    while (more && rc == 0 && !atomic_load(r->stop)) {
        p.n = 0;
        rc = cache_list(r->cache, false, after, NULL, RECONCILE_PAGE,
                        page_add, &p, &more);
        for (i = 0; i < p.n; i++) {
            if (rc == 0)
                check_record(r, p.keys[i], p.sizes[i], p.cached_at[i]);
            if (i + 1 < p.n)
                free(p.keys[i]);
        }
        free(after);
        after = p.n > 0 ? p.keys[p.n - 1] : NULL;
        more = more && after != NULL;
    }
    free(after);
    return rc;
}

/* --- files without a record ---------------------------------------------- */

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n > m && strcmp(s + n - m, suffix) == 0;
}

/* Is KEY ("name/ID/file") a key in its canonical case? */
static bool canonical_key(const char *key)
{
    char path[SYMKEY_CANON_MAX + 1], canon[SYMKEY_CANON_MAX];
    struct symkey k;
    const char *why;
    int n = snprintf(path, sizeof(path), "/%s", key);

    if (n < 0 || (size_t)n >= sizeof(path) ||
        symkey_parse(path, (size_t)n, &k, &why) != 0 ||
        symkey_canonical(&k, canon, sizeof(canon)) < 0)
        return false;
    return strcmp(canon, key) == 0;
}

/* A gzip copy or symbol table at PATH (SUFFIX) whose file is gone. */
static void check_derived(struct rec *r, const char *path, size_t suffix)
{
    char *base = xstrndup(path, strlen(path) - suffix);

    if (access(base, F_OK) != 0 && errno == ENOENT && unlink(path) == 0)
        r->st->orphans++;
    free(base);
}

/* Record the batch of adopted files in one index write. */
static void adopt_flush(struct rec *r)
{
    struct adoption *ad = r->ad;
    size_t i;

    if (cache_insert_many(r->cache, (const char *const *)ad->keys, ad->e,
                          ad->n) == 0)
        r->st->adopted += (unsigned)ad->n;
    for (i = 0; i < ad->n; i++) {
        close(ad->fds[i]); /* releases the lock */
        free(ad->keys[i]);
    }
    ad->n = 0;
}

static void adopt(struct rec *r, const char *key, const struct stat *st)
{
    struct adoption *ad = r->ad;
    struct cache_entry *e = &ad->e[ad->n];
    int fd = store_lock_try(r->dir, key);

    if (fd < 0)
        return;
    if (cache_lookup(r->cache, key, e) == 0) {
        close(fd); /* downloaded meanwhile */
        return;
    }
    memset(e, 0, sizeof(*e));
    e->size = (uint64_t)st->st_size;
    e->cached_at_ms = wall_ms();
    snprintf(e->upstream, sizeof(e->upstream), "adopted");
    ad->keys[ad->n] = xstrdup(key);
    ad->fds[ad->n++] = fd;
    if (ad->n == RECONCILE_ADOPT_BATCH)
        adopt_flush(r);
}

static void check_file(struct rec *r, const char *key)
{
    char path[STORE_PATH_MAX];
    struct cache_entry e;
    struct stat st;

    if (store_file_path(r->dir, key, path, sizeof(path)) != 0)
        return;
    if (has_suffix(key, ".GZIP")) {
        check_derived(r, path, 5);
        return;
    }
    if (has_suffix(key, ".SYMTABLE")) {
        check_derived(r, path, 9);
        return;
    }
    if (!canonical_key(key) || lstat(path, &st) != 0 ||
        !S_ISREG(st.st_mode) || st.st_mtime >= r->settled_before ||
        cache_lookup(r->cache, key, &e) == 0)
        return;
    adopt(r, key, &st);
}

typedef void level_fn(struct rec *r, const char *rel);

/* Call FN with "REL/<entry>" for every entry of DIR/REL (REL "" for DIR
 * itself) but dot files: no symbol has a name starting with '.', and
 * .Symsrvd holds the daemon's state. */
static void walk(struct rec *r, const char *rel, level_fn *fn)
{
    char *path = xasprintf("%s%s%s", r->dir, *rel ? "/" : "", rel);
    DIR *d = opendir(path);
    struct dirent *de;

    free(path);
    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL && !atomic_load(r->stop)) {
        char *sub;

        if (de->d_name[0] == '.')
            continue;
        sub = xasprintf("%s%s%s", rel, *rel ? "/" : "", de->d_name);
        fn(r, sub);
        free(sub);
    }
    closedir(d);
}

static void walk_ids(struct rec *r, const char *name_id)
{
    walk(r, name_id, check_file);
}

static void walk_names(struct rec *r, const char *name)
{
    walk(r, name, walk_ids);
}

int reconcile_run(const char *dir, struct cache *cache,
                  const atomic_bool *stop, struct reconcile_stats *out)
{
    struct rec r = {dir, cache, stop, out, 0, NULL};
    int rc;

    memset(out, 0, sizeof(*out));
    r.settled_before = time(NULL) - RECONCILE_SETTLE_S;
    r.ad = xcalloc(1, sizeof(*r.ad));
    out->tmp_removed = store_clean_tmp(dir);
    rc = check_records(&r);
    if (rc == 0)
        walk(&r, "", walk_names);
    adopt_flush(&r);
    free(r.ad);
    return rc;
}
