/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "janitor.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "evict.h"
#include "log.h"
#include "publish.h"
#include "reconcile.h"
#include "store.h"
#include "timeutil.h"
#include "xalloc.h"

#define JANITOR_TICK_MS 1000

struct janitor {
    const struct config *cfg;
    struct cache *cache;
    struct evict *ev;
    int lockfd;
    bool elected;          /* janitor thread only */
    atomic_bool stop;
    pthread_mutex_t lock;
    pthread_cond_t cond;   /* signalled with stop */
    pthread_t thread;
    bool started;
};

/* Sleep one tick or until janitor_stop().  False when stopping. */
static bool janitor_wait(struct janitor *j)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += JANITOR_TICK_MS / 1000;
    pthread_mutex_lock(&j->lock);
    while (!atomic_load(&j->stop) &&
           pthread_cond_timedwait(&j->cond, &j->lock, &ts) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&j->lock);
    return !atomic_load(&j->stop);
}

/* Newly elected: the previous janitor's process is gone, maybe crashed,
 * so first make the index and the files agree. */
static void janitor_elected(struct janitor *j)
{
    struct reconcile_stats st;
    uint64_t start = mono_ms();

    log_info("janitor: this worker keeps the cache (max_size %llu, "
             "min_free %llu)", (unsigned long long)j->cfg->max_size,
             (unsigned long long)j->cfg->min_free);
    if (reconcile_run(j->cfg->cache_dir, j->cache, &j->stop, &st) == 0)
        log_info("reconciled: %u temp files removed, %u records dropped, "
                 "%u orphaned copies removed, %u files adopted in %llu ms",
                 st.tmp_removed, st.dropped, st.orphans, st.adopted,
                 (unsigned long long)(mono_ms() - start));
}

static void *janitor_main(void *arg)
{
    struct janitor *j = arg;

    pthread_setname_np(pthread_self(), "janitor");
    do {
        if (!j->elected && flock(j->lockfd, LOCK_EX | LOCK_NB) == 0) {
            j->elected = true;
            janitor_elected(j);
        }
        if (j->elected) {
            publish_drop_scan(j->cfg, j->cache, &j->stop);
            evict_tick(j->ev, mono_ms(), &j->stop, NULL);
        }
    } while (janitor_wait(j));
    return NULL;
}

int janitor_start(const struct config *cfg, struct cache *cache,
                  struct janitor **out)
{
    struct janitor *j = xcalloc(1, sizeof(*j));
    char *path = xasprintf("%s/.Symsrvd/janitor.lock", cfg->cache_dir);
    pthread_condattr_t ca;
    int rc = 0;

    j->cfg = cfg;
    j->cache = cache;
    atomic_init(&j->stop, false);
    j->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (j->lockfd < 0) {
        rc = -errno;
        log_warn("janitor: %s", path);
        free(path);
        free(j);
        return rc;
    }
    free(path);
    j->ev = evict_new(cfg->cache_dir, cache, cfg->max_size, cfg->min_free);
    evict_keep_published(j->ev, !cfg->publish_evictable);
    pthread_mutex_init(&j->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cond, &ca);
    pthread_condattr_destroy(&ca);
    rc = pthread_create(&j->thread, NULL, janitor_main, j);
    if (rc != 0) {
        errno = rc;
        log_warn("janitor: thread");
        janitor_stop(j);
        return -rc;
    }
    j->started = true;
    *out = j;
    return 0;
}

void janitor_stop(struct janitor *j)
{
    if (j == NULL)
        return;
    pthread_mutex_lock(&j->lock);
    atomic_store(&j->stop, true);
    pthread_cond_signal(&j->cond);
    pthread_mutex_unlock(&j->lock);
    if (j->started)
        pthread_join(j->thread, NULL);
    pthread_cond_destroy(&j->cond);
    pthread_mutex_destroy(&j->lock);
    evict_free(j->ev);
    close(j->lockfd); /* releases the election */
    free(j);
}
