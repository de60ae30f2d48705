/* SPDX-License-Identifier: MIT */
/*
 * publish: a team's own builds put into the cache beside what upstreams
 * send, by an authenticated PUT (server_publish.c) or by dropping files
 * into [publish] drop_dir.
 *
 * DESIGN.  An upload streams into its own temp file under the cache
 * directory (never the download temp files, which other workers tail),
 * bounded by max_upload_size.  When it is complete its identity is read
 * from its content with the symbol readers (objfile_identify) and the
 * store paths that identity has (objkeys.h) must include the key asked
 * for, or it is refused with what was found.  A file that matches is
 * stored like a download: under the key's download lock (so a download of
 * the same key in progress finishes first and is then replaced), fsync'd,
 * renamed into place and indexed, clearing a remembered miss.  Its index
 * record names the upstream PUBLISH_LABEL, which the evictor skips unless
 * publish_evictable = yes.
 *
 * The drop directory is scanned once a second by the janitor (see
 * janitor.h), not watched with inotify: the janitor's worker can change,
 * and a scan also finds what was dropped while no worker ran.  A file is
 * taken once it has not changed for PUBLISH_DROP_SETTLE_MS, stored under
 * every key its identity has, and removed; one without a key goes to
 * "<drop_dir>/.rejected/" and the reason is logged.  Names starting with
 * '.' are left alone, so a writer may use one until its file is complete.
 *
 * THREADS.  Every function may be called from any thread; struct
 * publish_upload belongs to one request.
 */
#ifndef SYMSRVD_PUBLISH_H
#define SYMSRVD_PUBLISH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cache;
struct config;
struct publish_upload;

/* The upstream a published file's index record names; '@' is in no
 * upstream's name. */
#define PUBLISH_LABEL "@published"

/* A dropped file untouched this long is complete. */
#define PUBLISH_DROP_SETTLE_MS 1000

/* Is publishing by PUT on (a tokens_file is configured)? */
bool publish_enabled(const struct config *cfg);

/* Does AUTHORIZATION ("Bearer TOKEN", NULL when absent) carry one of the
 * tokens in CFG's tokens_file (one a line; blank lines and lines starting
 * with '#' skipped)?  The file is read on every call, so tokens can be
 * changed without a restart; each is compared in constant time. */
bool publish_token_ok(const struct config *cfg, const char *authorization);

/* Start an upload for the canonical KEY (NEG: its exact-case key, whose
 * remembered miss it clears).  0 and *OUT, or -errno (logged). */
int publish_upload_new(const struct config *cfg, struct cache *cache,
                       const char *key, const char *neg,
                       struct publish_upload **out);

/* Append DATA[0..LEN).  -EFBIG once the upload passes max_upload_size
 * (the rest may be dropped), another -errno on a write error. */
int publish_upload_write(struct publish_upload *u, const char *data,
                         size_t len);

/* Check the complete upload's identity and store it.  0 on success, with
 * *SIZE its length; -EBADMSG when its identity has other keys, -EINVAL
 * when it has none it could be stored under (FOUND gets one line saying
 * what was found either way); -EBUSY when a download of the key kept its
 * lock too long; another -errno (logged).  U stays the caller's. */
int publish_upload_finish(struct publish_upload *u, uint64_t *size,
                          char *found, size_t foundlen);

/* Remove what is left of U (its temp file) and free it.  NULL-safe. */
void publish_upload_free(struct publish_upload *u);

/* Take the settled files out of CFG's drop_dir, stopping early when *STOP
 * becomes true.  Returns how many were stored. */
unsigned publish_drop_scan(const struct config *cfg, struct cache *cache,
                           const atomic_bool *stop);

#endif
