/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "stabcache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macho/macho.h"
#include "strhash.h"
#include "strmemo.h"
#include "table/symtable.h"
#include "xalloc.h"

struct entry {
    struct stab s; /* first: a struct stab * is a struct entry * */
    char *path;
    /* the slice asked for ("" the first) of a universal Mach-O file, and
     * the index of the one answering; NULL: the file has one slice, which
     * answers whatever is asked */
    char *want;
    size_t slice;
    off_t size;
    struct timespec mtime;
    unsigned refs;   /* protected by the cache lock */
    bool cached;     /* in the list; freed by stabcache_free() */
    bool partial;    /* some compile units only: never cached or saved */
    void *blob;      /* owned when built here (else the table maps it) */
    struct entry *next;
};

/* A path whose complete table a background thread is building. */
struct building {
    struct stabcache *c;
    char *path, *want;
    struct building *next;
};

struct stabcache {
    char *dir; /* the cache directory */
    size_t max, n;
    struct strmemo_budget memo;
    pthread_mutex_t lock;
    pthread_cond_t idle;       /* signalled when a background build ends */
    struct entry *head;        /* protected by lock */
    struct building *building; /* protected by lock */
};

struct stabcache *stabcache_new(const char *cache_dir, size_t max_entries,
                                size_t memo_bytes)
{
    struct stabcache *c = xcalloc(1, sizeof(*c));

    c->dir = xstrdup(cache_dir);
    c->max = max_entries;
    c->memo.max = memo_bytes;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->idle, NULL);
    return c;
}

static void entry_free(struct entry *e)
{
    strmemo_free(e->s.texts);
    strmemo_free(e->s.lookups);
    symtable_close(e->s.t);
    free(e->blob);
    free(e->want);
    free(e->path);
    free(e);
}

void stabcache_free(struct stabcache *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    while (c->building != NULL)
        pthread_cond_wait(&c->idle, &c->lock);
    pthread_mutex_unlock(&c->lock);
    while (c->head != NULL) {
        struct entry *e = c->head;

        c->head = e->next;
        entry_free(e);
    }
    pthread_cond_destroy(&c->idle);
    pthread_mutex_destroy(&c->lock);
    free(c->dir);
    free(c);
}

static bool same_file(const struct entry *e, const char *path,
                      const char *want, const struct stat *st)
{
    return e->size == st->st_size &&
           e->mtime.tv_sec == st->st_mtim.tv_sec &&
           e->mtime.tv_nsec == st->st_mtim.tv_nsec &&
           strcmp(e->path, path) == 0 &&
           (e->want == NULL || strcmp(e->want, want) == 0);
}

/* The entry for PATH and WANT, referenced and moved to the front (the
 * list runs from most to least recently used), or NULL. */
static struct entry *find(struct stabcache *c, const char *path,
                          const char *want, const struct stat *st)
{
    struct entry **pp, *e;

    pthread_mutex_lock(&c->lock);
    for (pp = &c->head; (e = *pp) != NULL; pp = &e->next)
        if (same_file(e, path, want, st))
            break;
    if (e != NULL) {
        e->refs++;
        *pp = e->next;
        e->next = c->head;
        c->head = e;
    }
    pthread_mutex_unlock(&c->lock);
    return e;
}

/* Drop the least recently used entry no one holds.  False when every
 * entry is held.  Called with the lock held. */
static bool evict_one(struct stabcache *c)
{
    struct entry **pp, **victim = NULL;

    for (pp = &c->head; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->refs == 0)
            victim = pp;
    if (victim == NULL)
        return false;
    {
        struct entry *e = *victim;

        *victim = e->next;
        c->n--;
        entry_free(e);
    }
    return true;
}

size_t stabcache_memo_bytes(struct stabcache *c)
{
    return atomic_load(&c->memo.used);
}

size_t stabcache_count(struct stabcache *c)
{
    size_t n;

    pthread_mutex_lock(&c->lock);
    n = c->n;
    pthread_mutex_unlock(&c->lock);
    return n;
}

/* "<file>.SYMTABLE" for files in the cache directory (upper case: never a
 * canonical symbol name), else one per path under .Symsrvd/tables.  A
 * universal Mach-O file's later slices (SLICE > 0) are kept there too,
 * one per path and slice: the store's eviction and reconciliation know
 * one table beside a file. */
static char *table_path(const struct stabcache *c, const char *path,
                        size_t slice)
{
    size_t n = strlen(c->dir);
    char hash[33], *key;

    if (slice == 0 && strncmp(path, c->dir, n) == 0 && path[n] == '/')
        return xasprintf("%s.SYMTABLE", path);
    key = slice == 0 ? xstrdup(path) : xasprintf("%s#slice%zu", path, slice);
    strhash128_hex(key, hash);
    free(key);
    return xasprintf("%s/.Symsrvd/tables/%s.SYMTABLE", c->dir, hash);
}

/* Save BLOB as DST, stamped with the modification time of the file it
 * was built from (SRC_MTIME), which is what tells later whether it still
 * belongs to that file (saved_is_current()). */
static bool save_table(const struct stabcache *c, const char *dst,
                       const void *blob, size_t len,
                       const struct timespec *src_mtime)
{
    const struct timespec ts[2] = {{0, UTIME_NOW}, *src_mtime};
    char *dir = xasprintf("%s/.Symsrvd/tables", c->dir);
    char *tmp = xasprintf("%s.%ld.%lu.tmp", dst, (long)getpid(),
                          (unsigned long)pthread_self());
    bool ok = false;
    int fd;

    (void)mkdir_p(dir, 0750);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd >= 0) {
        ok = write_full(fd, blob, len) == 0 && futimens(fd, ts) == 0 &&
             rename(tmp, dst) == 0;
        if (!ok)
            unlink(tmp);
        close(fd);
    }
    free(tmp);
    free(dir);
    return ok;
}

/* Serve E's table from its saved file from now on: mapped pages the
 * kernel can drop and share between workers, instead of heap. */
static void use_saved(struct entry *e, const char *tpath)
{
    struct symtable *t;

    if (symtable_open(tpath, &t) < 0)
        return;
    symtable_close(e->s.t);
    free(e->blob);
    e->blob = NULL;
    e->s.t = t;
}

/* What the file offers, in Symbolicator's terms. */
static void features(struct stab *s, const struct objfile_map *map)
{
    bool dwarf = map->len > 0 &&
                 memmem(map->data, map->len, ".debug_info", 12) != NULL;

    s->has_symbols = true;
    switch (s->id.kind) {
    case OBJFILE_PDB:
        s->has_debug_info = true;
        s->has_unwind_info = true; /* FPO / frame data */
        break;
    case OBJFILE_BREAKPAD:
        s->has_debug_info = memmem(map->data, map->len, "\nFUNC ", 6) != NULL;
        s->has_unwind_info = memmem(map->data, map->len, "\nSTACK ", 7) != NULL;
        break;
    case OBJFILE_ELF:
        s->has_debug_info = dwarf;
        s->has_unwind_info =
            memmem(map->data, map->len, ".eh_frame", 10) != NULL;
        break;
    case OBJFILE_MACHO: /* section names are "__debug_info", no dot */
        s->has_debug_info =
            memmem(map->data, map->len, "__debug_info", 12) != NULL;
        s->has_unwind_info =
            memmem(map->data, map->len, "__unwind_info", 13) != NULL ||
            memmem(map->data, map->len, "__eh_frame", 10) != NULL;
        break;
    case OBJFILE_WASM:
        s->has_debug_info = dwarf;
        s->has_unwind_info = false;
        break;
    default:
        s->has_unwind_info = s->id.arch[0] != '\0' &&
                             strcmp(s->id.arch, "x86") != 0;
        break;
    }
    s->quality = s->has_debug_info ? 0 : 1;
}

/* What names ID's slice to the Mach-O reader: its UUID, else (an image
 * without LC_UUID) its architecture. */
static const char *slice_name(const struct objfile_ident *id)
{
    return id->debug_id[0] != '\0' ? id->debug_id : id->arch;
}

/* Identify E's file (MAP): for a universal Mach-O file the slice WANT
 * names (a debug id), the first when none has it, as symdir does; the
 * identity check after tells the caller when that is the wrong one. */
static int identify(struct entry *e, struct objfile_map *map, const char *want)
{
    struct objfile_ident *ids;
    size_t n = 0;
    int rc;

    if (objfile_detect(map) != OBJFILE_MACHO)
        return objfile_identify(map, &e->s.id);
    rc = macho_identify_slice(map, want, &e->s.id);
    if (rc == -ENOENT)
        rc = macho_identify_slice(map, "", &e->s.id);
    if (rc < 0)
        return rc;
    ids = xcalloc(MACHO_MAX_SLICES, sizeof(*ids));
    rc = macho_slices(map, ids, MACHO_MAX_SLICES, &n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (strcmp(ids[i].debug_id, e->s.id.debug_id) == 0 &&
            strcmp(ids[i].arch, e->s.id.arch) == 0) {
            e->slice = i;
            break;
        }
    if (rc == 0 && n > 1)
        e->want = xstrdup(want);
    free(ids);
    return rc;
}

/* Say TPATH was used now: the evictor ages the tables it has no index
 * record for by their access time (see evict.h), which a noatime mount
 * would never move.  The modification time stays the build's. */
static void touch_used(const char *tpath)
{
    const struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};

    (void)utimensat(AT_FDCWD, tpath, ts, 0);
}

/* Was the table saved at TPATH (its stat TS) built from the file whose
 * stat is ST?  Its modification time is the file's, to the nanosecond,
 * as save_table() stamped it.  "Newer than the file" would not do: a
 * file replaced by an older one (cp -p, rsync, tar, a rollback) would be
 * answered from the newer file's table. */
static bool saved_is_current(const struct stat *ts, const struct stat *st)
{
    return ts->st_mtim.tv_sec == st->st_mtim.tv_sec &&
           ts->st_mtim.tv_nsec == st->st_mtim.tv_nsec;
}

/* Load the saved table at TPATH if it belongs to the file (ST), else
 * build it from MAP and save it; or, for an ELF file and RVAS, build the
 * compile units RVAS fall in (E->partial). */
static int load_or_build(struct stabcache *c, struct entry *e,
                         struct objfile_map *map, const struct stat *st,
                         const uint64_t *rvas, size_t nrvas, char *err,
                         size_t errlen)
{
    char *tpath = table_path(c, e->path, e->slice);
    struct symtable_builder *b;
    struct stat ts;
    size_t len = 0;
    int rc;

    if (stat(tpath, &ts) == 0 && saved_is_current(&ts, st) &&
        symtable_open(tpath, &e->s.t) == 0) {
        touch_used(tpath);
        free(tpath);
        return 0;
    }
    /* Only DWARF readers can skip the compile units RVAS miss. */
    e->partial = nrvas > 0 && (e->s.id.kind == OBJFILE_ELF ||
                               e->s.id.kind == OBJFILE_MACHO ||
                               e->s.id.kind == OBJFILE_WASM);
    b = symtable_builder_new();
    symtable_builder_set_image_base(b, e->s.id.image_base);
    if (e->s.id.kind == OBJFILE_MACHO)
        rc = macho_build_slice(map, slice_name(&e->s.id), b,
                               e->partial ? rvas : NULL,
                               e->partial ? nrvas : 0);
    else
        rc = e->partial ? objfile_build_for(map, b, rvas, nrvas)
                        : objfile_build(map, b);
    if (rc < 0)
        snprintf(err, errlen, "%s", map->err);
    if (rc == 0)
        rc = symtable_builder_finish(b, &e->blob, &len);
    if (rc == 0)
        rc = symtable_load(e->blob, len, &e->s.t);
    if (rc == 0 && !e->partial &&
        save_table(c, tpath, e->blob, len, &st->st_mtim))
        use_saved(e, tpath);
    symtable_builder_free(b);
    free(tpath);
    return rc;
}

static struct entry *open_entry(struct stabcache *c, const char *path,
                                const char *want, const struct stat *st,
                                const uint64_t *rvas,
                                size_t nrvas, char *err, size_t errlen,
                                int *rcp)
{
    struct entry *e = xcalloc(1, sizeof(*e));
    struct objfile_map map;
    int rc;

    e->path = xstrdup(path);
    e->s.texts = strmemo_new(STABCACHE_TEXT_BYTES, &c->memo);
    e->s.lookups = strmemo_new(STABCACHE_LOOKUP_BYTES, &c->memo);
    e->size = st->st_size;
    e->mtime = st->st_mtim;
    e->refs = 1;
    rc = objfile_map(path, &map);
    if (rc == 0) {
        rc = identify(e, &map, want);
        if (rc < 0)
            snprintf(err, errlen, "%s", map.err);
        if (rc == 0) {
            features(&e->s, &map);
            rc = load_or_build(c, e, &map, st, rvas, nrvas, err, errlen);
        }
        objfile_unmap(&map);
    } else {
        snprintf(err, errlen, "%s", map.err);
    }
    *rcp = rc;
    if (rc < 0) {
        entry_free(e);
        return NULL;
    }
    return e;
}

static void *build_main(void *arg)
{
    struct building *bd = arg, **pp;
    struct stabcache *c = bd->c;
    struct stab *s;
    char err[256];

    /* A failure here is the next request's to report: it builds again. */
    if (stabcache_get_for(c, bd->path, bd->want, NULL, 0, &s, err,
                          sizeof(err)) == 0)
        stabcache_put(c, s);
    pthread_mutex_lock(&c->lock);
    for (pp = &c->building; *pp != bd; pp = &(*pp)->next)
        continue;
    *pp = bd->next;
    pthread_cond_broadcast(&c->idle);
    pthread_mutex_unlock(&c->lock);
    free(bd->path);
    free(bd->want);
    free(bd);
    return NULL;
}

/* Build the complete table of PATH's slice WANT in a thread of its own,
 * unless one is already at it. */
static void build_later(struct stabcache *c, const char *path,
                        const char *want)
{
    struct building *bd;
    pthread_attr_t attr;
    pthread_t t;

    pthread_mutex_lock(&c->lock);
    for (bd = c->building; bd != NULL; bd = bd->next)
        if (strcmp(bd->path, path) == 0 && strcmp(bd->want, want) == 0)
            break;
    if (bd != NULL) {
        pthread_mutex_unlock(&c->lock);
        return;
    }
    bd = xcalloc(1, sizeof(*bd));
    bd->c = c;
    bd->path = xstrdup(path);
    bd->want = xstrdup(want);
    bd->next = c->building;
    c->building = bd;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, build_main, bd) != 0) {
        c->building = bd->next; /* the next request builds it whole */
        free(bd->path);
        free(bd->want);
        free(bd);
    }
    pthread_attr_destroy(&attr);
    pthread_mutex_unlock(&c->lock);
}

int stabcache_get(struct stabcache *c, const char *path, struct stab **out,
                  char *err, size_t errlen)
{
    return stabcache_get_for(c, path, NULL, NULL, 0, out, err, errlen);
}

/* The entry of PATH and WANT in memory into *E (NULL when there is none),
 * with *ST; or -errno with ERR set. */
static int lookup(struct stabcache *c, const char *path, const char *want,
                  struct stat *st, struct entry **e, char *err, size_t errlen)
{
    *e = NULL;
    if (stat(path, st) != 0) {
        int rc = -errno;

        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return rc;
    }
    *e = find(c, path, want, st);
    return 0;
}

int stabcache_peek(struct stabcache *c, const char *path, const char *want,
                   const struct stat *st, struct stab **out)
{
    struct entry *e = find(c, path, want ? want : "", st);

    if (e == NULL)
        return -EWOULDBLOCK;
    *out = &e->s;
    return 0;
}

int stabcache_get_for(struct stabcache *c, const char *path, const char *want,
                      const uint64_t *rvas, size_t nrvas, struct stab **out,
                      char *err, size_t errlen)
{
    struct entry *e, *dup;
    struct stat st;
    int rc;

    if (want == NULL)
        want = "";
    rc = lookup(c, path, want, &st, &e, err, errlen);
    if (rc < 0)
        return rc;
    if (e == NULL) {
        /* built outside the lock: two threads may both build a table;
         * the loser's copy is dropped */
        e = open_entry(c, path, want, &st, rvas, nrvas, err, errlen, &rc);
        if (e == NULL)
            return rc;
        if (e->partial) {
            build_later(c, path, want);
            *out = &e->s;
            return 0;
        }
        pthread_mutex_lock(&c->lock);
        for (dup = c->head; dup != NULL; dup = dup->next)
            if (same_file(dup, path, want, &st))
                break;
        if (dup == NULL && (c->n < c->max || evict_one(c))) {
            e->cached = true;
            e->next = c->head;
            c->head = e;
            c->n++;
        }
        pthread_mutex_unlock(&c->lock);
    }
    *out = &e->s;
    return 0;
}

void stabcache_put(struct stabcache *c, struct stab *s)
{
    struct entry *e = (struct entry *)s;
    bool drop;

    if (s == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    drop = --e->refs == 0 && !e->cached;
    pthread_mutex_unlock(&c->lock);
    if (drop)
        entry_free(e);
}
