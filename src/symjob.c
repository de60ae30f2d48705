/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "symjob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "timeutil.h"
#include "xalloc.h"

#define SYMJOB_PATH_MAX 4096

/* A job of this process, from symjob_begin() until its starter collects
 * its result or, once exposed, until its result is a file. */
struct local {
    char id[SYMJOB_ID_LEN + 1];
    bool done, exposed;
    char *text; /* the result until collected */
    size_t len;
    int64_t done_ms; /* wall clock */
    struct local *next;
};

/* A slot this process holds: byte I of the slots file, locked. */
struct slot {
    char id[SYMJOB_ID_LEN + 1]; /* "" when free here */
    uint64_t start_ms;          /* monotonic */
    bool expired;               /* answered "timeout" already */
};

struct symjobs {
    char *dir;
    unsigned max_jobs;
    uint64_t keep_ms;
    uint64_t timeout_ms;
    int slots_fd; /* "<dir>/.slots", one byte-range lock per running job */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct slot *slots; /* [max_jobs], protected by lock */
    unsigned next;      /* where the next search starts, protected by lock */
    unsigned running; /* protected by lock */
    uint64_t finished; /* protected by lock; bumped per finish */
    struct local *jobs; /* protected by lock */
};

static const char timeout_answer[] = "{\"status\":\"timeout\"}";

int symjob_open(const char *cache_dir, unsigned max_jobs, uint64_t keep_ms,
                uint64_t timeout_ms, struct symjobs **out)
{
    struct symjobs *js = xcalloc(1, sizeof(*js));
    char *slots;
    int rc;

    js->dir = xasprintf("%s/.Symsrvd/requests", cache_dir);
    rc = mkdir_p(js->dir, 0750);
    slots = xasprintf("%s/.slots", js->dir);
    js->slots_fd = rc < 0 ? -1 : open(slots, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (rc == 0 && js->slots_fd < 0)
        rc = -errno;
    free(slots);
    if (rc < 0) {
        free(js->dir);
        free(js);
        return rc;
    }
    js->slots = xcalloc(max_jobs, sizeof(*js->slots));
    js->max_jobs = max_jobs;
    js->keep_ms = keep_ms;
    js->timeout_ms = timeout_ms;
    pthread_mutex_init(&js->lock, NULL);
    mono_cond_init(&js->changed);
    *out = js;
    return 0;
}

static void local_free(struct local *l)
{
    free(l->text);
    free(l);
}

void symjob_close(struct symjobs *js)
{
    if (js == NULL)
        return;
    while (js->jobs != NULL) {
        struct local *l = js->jobs;

        js->jobs = l->next;
        local_free(l);
    }
    pthread_cond_destroy(&js->changed);
    pthread_mutex_destroy(&js->lock);
    close(js->slots_fd); /* releases every slot still held */
    free(js->slots);
    free(js->dir);
    free(js);
}

bool symjob_valid_id(const char *id)
{
    size_t i;

    for (i = 0; id[i] != '\0'; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = id[i];

        if (i >= SYMJOB_ID_LEN ||
            (dash ? c != '-'
                  : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))))
            return false;
    }
    return i == SYMJOB_ID_LEN;
}

static void new_id(char id[SYMJOB_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t b[16];
    size_t off = 0;

    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        abort(); /* the kernel's CSPRNG does not fail for 16 bytes */
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            id[off++] = '-';
        id[off++] = hex[b[i] >> 4];
        id[off++] = hex[b[i] & 15];
    }
    id[off] = '\0';
}

static void job_path(const struct symjobs *js, const char *id,
                     const char *suffix, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s.%s", js->dir, id, suffix);
}

/* Publish FILE holding TEXT for ID by temp file and rename, so that a
 * reader never sees it half written. */
static int publish(const struct symjobs *js, const char *id, const char *file,
                   const char *text, size_t len)
{
    char tmp[SYMJOB_PATH_MAX], dst[SYMJOB_PATH_MAX], suffix[32];
    int fd, rc;

    snprintf(suffix, sizeof(suffix), "%s.tmp", file);
    job_path(js, id, suffix, tmp, sizeof(tmp));
    job_path(js, id, file, dst, sizeof(dst));
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    rc = write_full(fd, text, len);
    /* no fsync: a result need not survive a power cut, only a worker */
    if (rc == 0 && rename(tmp, dst) != 0)
        rc = -errno;
    close(fd);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

/* The entry of ID, or NULL; js->lock held. */
static struct local **local_find(struct symjobs *js, const char *id)
{
    struct local **pp;

    for (pp = &js->jobs; *pp != NULL; pp = &(*pp)->next)
        if (memcmp((*pp)->id, id, SYMJOB_ID_LEN + 1) == 0)
            return pp;
    return NULL;
}

/* Lock (LOCK) or unlock byte I of the slots file.  Open file description
 * locks: other processes' (other workers') slots conflict, and the kernel
 * drops a process's slots when it dies, so a crashed worker leaks none. */
static bool slot_lock(const struct symjobs *js, unsigned i, bool lock)
{
    struct flock fl = {.l_type = lock ? F_WRLCK : F_UNLCK,
                       .l_whence = SEEK_SET,
                       .l_start = (off_t)i,
                       .l_len = 1};

    return fcntl(js->slots_fd, F_OFD_SETLK, &fl) == 0;
}

/* Take a slot free in every process for ID; its index or -EBUSY.  Called
 * with the lock held. */
static int slot_take(struct symjobs *js, const char *id)
{
    for (unsigned n = 0; n < js->max_jobs; n++) {
        unsigned i = (js->next + n) % js->max_jobs;

        if (js->slots[i].id[0] != '\0' || !slot_lock(js, i, true))
            continue;
        memcpy(js->slots[i].id, id, SYMJOB_ID_LEN + 1);
        js->slots[i].start_ms = mono_ms();
        js->slots[i].expired = false;
        js->next = (i + 1) % js->max_jobs;
        return (int)i;
    }
    return -EBUSY;
}

/* The slot of ID in this process, or NULL.  Called with the lock held. */
static struct slot *slot_find(struct symjobs *js, const char *id)
{
    for (unsigned i = 0; i < js->max_jobs; i++)
        if (strcmp(js->slots[i].id, id) == 0)
            return &js->slots[i];
    return NULL;
}

static void slot_free(struct symjobs *js, struct slot *sl)
{
    slot_lock(js, (unsigned)(sl - js->slots), false);
    sl->id[0] = '\0';
}

int symjob_begin(struct symjobs *js, char id[SYMJOB_ID_LEN + 1])
{
    struct local *l;
    int rc;

    new_id(id);
    pthread_mutex_lock(&js->lock);
    rc = slot_take(js, id);
    if (rc >= 0) {
        js->running++;
        l = xcalloc(1, sizeof(*l));
        memcpy(l->id, id, sizeof(l->id));
        l->next = js->jobs;
        js->jobs = l;
    }
    pthread_mutex_unlock(&js->lock);
    return rc < 0 ? rc : 0;
}

/* The running mark says which process to ask whether the job still
 * runs; a mark read half written would say "no owner": unknown job. */
static int write_mark(const struct symjobs *js, const char *id)
{
    char pid[24];

    snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    return publish(js, id, "running", pid, strlen(pid));
}

/* Answer ID with TEXT[0..LEN) (heap; taken): kept for its starter's
 * symjob_collect(), or, when the job was exposed, published as its file,
 * its running mark dropped and symjob_wait() callers woken (only polls of
 * an exposed job wait there; the starter of another is resumed by the
 * caller).  Called with the lock held, so an expiry and a finish cannot
 * both answer. */
static int answer(struct symjobs *js, const char *id, char *text,
                  size_t len)
{
    char path[SYMJOB_PATH_MAX];
    struct local **pp = local_find(js, id), *l;
    int rc;

    if (pp != NULL && !(*pp)->exposed) {
        (*pp)->done = true;
        (*pp)->text = text;
        (*pp)->len = len;
        (*pp)->done_ms = wall_ms();
        return 0;
    }
    if (pp != NULL) { /* exposed: no new reader looks for it here any more */
        l = *pp;
        *pp = l->next;
        local_free(l);
    }
    rc = publish(js, id, "json", text, len);
    free(text);
    job_path(js, id, "running", path, sizeof(path));
    unlink(path);
    js->finished++;
    pthread_cond_broadcast(&js->changed);
    return rc;
}

int symjob_finish(struct symjobs *js, const char *id, char *text,
                  size_t len)
{
    struct slot *sl;
    int rc = 0;

    pthread_mutex_lock(&js->lock);
    sl = slot_find(js, id);
    /* a job past its time is answered "timeout" (perhaps already), even
     * if its downloads, cut at the deadline, let it finish */
    if (sl != NULL && !sl->expired &&
        mono_ms() - sl->start_ms >= js->timeout_ms) {
        rc = answer(js, id, xstrdup(timeout_answer),
                    sizeof(timeout_answer) - 1);
        free(text);
    } else if (sl == NULL || !sl->expired) {
        rc = answer(js, id, text, len);
    } else {
        free(text);
    }
    if (sl != NULL)
        slot_free(js, sl);
    js->running--;
    pthread_mutex_unlock(&js->lock);
    return rc;
}

enum symjob_state symjob_collect(struct symjobs *js, const char *id,
                                 bool expose, char **text, size_t *len,
                                 int *err)
{
    enum symjob_state st = SYMJOB_UNKNOWN;
    struct local **pp, *l = NULL;

    *err = 0;
    pthread_mutex_lock(&js->lock);
    pp = local_find(js, id);
    if (pp != NULL && (*pp)->done) {
        l = *pp;
        *pp = l->next;
        *text = l->text;
        *len = l->len;
        l->text = NULL;
        st = SYMJOB_DONE;
    } else if (pp != NULL && !(*pp)->exposed) {
        st = SYMJOB_PENDING;
        /* under the lock: symjob_finish() must see the mark to drop it */
        if (expose) {
            (*pp)->exposed = true;
            *err = write_mark(js, id);
        }
    }
    pthread_mutex_unlock(&js->lock);
    free(l);
    return st;
}

bool symjob_local_running(struct symjobs *js, const char *id)
{
    struct local **pp;
    bool running;

    pthread_mutex_lock(&js->lock);
    pp = local_find(js, id);
    running = pp != NULL && !(*pp)->done && !(*pp)->exposed;
    pthread_mutex_unlock(&js->lock);
    return running;
}

unsigned symjob_expire(struct symjobs *js)
{
    uint64_t now = mono_ms();
    unsigned n = 0;

    pthread_mutex_lock(&js->lock);
    for (unsigned i = 0; i < js->max_jobs; i++) {
        struct slot *sl = &js->slots[i];

        if (sl->id[0] == '\0' || sl->expired ||
            now - sl->start_ms < js->timeout_ms)
            continue;
        sl->expired = true;
        answer(js, sl->id, xstrdup(timeout_answer),
               sizeof(timeout_answer) - 1);
        n++;
    }
    pthread_mutex_unlock(&js->lock);
    return n;
}

/* The pid in a running mark, or -1 when unreadable. */
static long mark_owner(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    long pid = -1;

    if (read_small_file(path, 64, &text, &len) == 0)
        pid = strtol(text, NULL, 10);
    free(text);
    return pid;
}

static bool owner_alive(long pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static bool done(const struct symjobs *js, const char *id)
{
    char path[SYMJOB_PATH_MAX];
    struct stat st;

    job_path(js, id, "json", path, sizeof(path));
    return stat(path, &st) == 0;
}

enum symjob_state symjob_state(struct symjobs *js, const char *id)
{
    char path[SYMJOB_PATH_MAX];

    if (!symjob_valid_id(id))
        return SYMJOB_UNKNOWN;
    if (done(js, id))
        return SYMJOB_DONE;
    job_path(js, id, "running", path, sizeof(path));
    if (owner_alive(mark_owner(path)))
        return SYMJOB_PENDING;
    /* the job may have finished between the two looks */
    return done(js, id) ? SYMJOB_DONE : SYMJOB_UNKNOWN;
}

int symjob_open_result(struct symjobs *js, const char *id, int *fd,
                       uint64_t *size)
{
    char path[SYMJOB_PATH_MAX];
    struct stat st;

    if (!symjob_valid_id(id))
        return -ENOENT;
    job_path(js, id, "json", path, sizeof(path));
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return -errno;
    if (fstat(*fd, &st) != 0) {
        close(*fd);
        return -EIO;
    }
    *size = (uint64_t)st.st_size;
    return 0;
}

void symjob_wait(struct symjobs *js, unsigned timeout_ms)
{
    struct timespec ts;
    uint64_t seen;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&js->lock);
    seen = js->finished;
    while (js->finished == seen &&
           pthread_cond_timedwait(&js->changed, &js->lock, &ts) == 0)
        ;
    pthread_mutex_unlock(&js->lock);
}

unsigned symjob_running(struct symjobs *js)
{
    unsigned n;

    pthread_mutex_lock(&js->lock);
    n = js->running;
    pthread_mutex_unlock(&js->lock);
    return n;
}

char *symjob_upload_path(struct symjobs *js)
{
    uint8_t b[8];

    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        abort();
    return xasprintf("%s/%ld-%02x%02x%02x%02x%02x%02x%02x%02x.upload", js->dir,
                     (long)getpid(), b[0], b[1], b[2], b[3], b[4], b[5], b[6],
                     b[7]);
}

/* An upload ("<pid>-...upload", or its ".d" directory) of a dead process. */
static bool orphan_upload(const char *name)
{
    const char *dot = strchr(name, '.');

    return dot != NULL &&
           (strcmp(dot, ".upload") == 0 || strcmp(dot, ".upload.d") == 0) &&
           !owner_alive(strtol(name, NULL, 10));
}

/* Should the file NAME (with status ST) go? */
static bool stale(const struct symjobs *js, const char *path, const char *name,
                  const struct stat *st, int64_t now_ms)
{
    int64_t age_ms = now_ms - (int64_t)st->st_mtime * 1000;
    const char *dot = strchr(name, '.');

    if (dot == NULL)
        return false;
    if (strcmp(dot, ".json") == 0 || strcmp(dot, ".json.tmp") == 0 ||
        strcmp(dot, ".running.tmp") == 0)
        return age_ms > (int64_t)js->keep_ms;
    if (strcmp(dot, ".running") == 0)
        return !owner_alive(mark_owner(path));
    return false;
}

/* Results whose starter never came for them (it cannot lose them, but
 * a bound costs nothing). */
static void forget_uncollected(struct symjobs *js, int64_t now_ms)
{
    struct local **pp = &js->jobs, *l;

    pthread_mutex_lock(&js->lock);
    while ((l = *pp) != NULL) {
        if (l->done && now_ms - l->done_ms > (int64_t)js->keep_ms) {
            *pp = l->next;
            local_free(l);
        } else {
            pp = &l->next;
        }
    }
    pthread_mutex_unlock(&js->lock);
}

unsigned symjob_sweep(struct symjobs *js, int64_t now_ms)
{
    DIR *d;
    struct dirent *e;
    unsigned n = 0;

    forget_uncollected(js, now_ms);
    d = opendir(js->dir);

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char path[SYMJOB_PATH_MAX];
        struct stat st;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", js->dir, e->d_name);
        if (lstat(path, &st) != 0)
            continue;
        if (orphan_upload(e->d_name))
            n += remove_tree(path) == 0;
        else if (S_ISREG(st.st_mode) &&
                 stale(js, path, e->d_name, &st, now_ms) && unlink(path) == 0)
            n++;
    }
    closedir(d);
    return n;
}
