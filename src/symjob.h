/* SPDX-License-Identifier: MIT */
/*
 * symjob: symbolication jobs as every worker process sees them.
 *
 * Workers are pre-forked processes sharing one listen socket, so a poll
 * (GET /requests/<id>) may land on a worker that did not run the job.  A
 * client learns a job's id only from a "pending" answer, so a job lives
 * in its process's memory until its starter gives up waiting and exposes
 * it (symjob_collect() with EXPOSE): most requests finish while their
 * connection waits, hand their result over in memory and never touch the
 * disk.  An exposed job's state lives in files under
 * "<cache dir>/.Symsrvd/requests/": "<id>.running" (holding the owner's
 * pid) while the job runs, then "<id>.json", the finished answer, written
 * to a temp file and renamed so a reader never sees half of it.  A
 * finished result outlives a worker restart; a job whose owner died is
 * unknown (404), and clients resubmit.  Results are swept KEEP_MS after
 * they were written.  Uploads (minidumps being received or walked) live
 * here too, named after their process, so a worker that died leaves
 * nothing behind for long.
 *
 * The slot count (max_jobs) is for the whole box: a job holds a lock on
 * one byte of "<dir>/.slots" (an open file description lock), which every
 * worker sees and the kernel releases when its process dies.  A job that
 * runs longer than its time limit is answered {"status":"timeout"} by
 * symjob_expire() and its late result dropped; it keeps its slot until
 * its thread ends, since that thread still runs.
 *
 * THREADS.  Any thread may call any function once symjob_open() returned.
 */
#ifndef SYMSRVD_SYMJOB_H
#define SYMSRVD_SYMJOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYMJOB_ID_LEN 36 /* a UUID v4, lower-case, hyphenated */

struct symjobs;

enum symjob_state { SYMJOB_UNKNOWN, SYMJOB_PENDING, SYMJOB_DONE };

/* Open the job directory under CACHE_DIR (created if needed), MAX_JOBS
 * jobs at once on the box, results kept KEEP_MS, jobs answered "timeout"
 * after TIMEOUT_MS.  Every process must pass the same MAX_JOBS.  0 and
 * *OUT, or -errno. */
int symjob_open(const char *cache_dir, unsigned max_jobs, uint64_t keep_ms,
                uint64_t timeout_ms, struct symjobs **out);
void symjob_close(struct symjobs *js); /* NULL-safe */

/* Take a slot (MAX_JOBS on the box) and a new id for a job known to this
 * process only.  0, or -EBUSY when MAX_JOBS jobs are running on the box. */
int symjob_begin(struct symjobs *js, char id[SYMJOB_ID_LEN + 1]);

/* ID is done and TEXT[0..LEN) (heap; taken) is its result, unless it was
 * answered "timeout" already (or runs past its time: then that is its
 * answer): kept for symjob_collect(), or, when the job was exposed,
 * published as its file, its running mark dropped and symjob_wait()
 * callers woken.  Frees the slot.  0 or -errno (the slot is freed in any
 * case). */
int symjob_finish(struct symjobs *js, const char *id, char *text,
                  size_t len);

/* For the request that started ID.  SYMJOB_DONE: *TEXT (the caller owns
 * it) and *LEN hold the result and this process forgets the job.
 * SYMJOB_PENDING: it still runs; with EXPOSE it is now pollable from
 * every worker and its result will be a file (-errno in *ERR when the
 * running mark could not be written, else 0).  SYMJOB_UNKNOWN: no such
 * job waits here (ask symjob_state()). */
enum symjob_state symjob_collect(struct symjobs *js, const char *id,
                                 bool expose, char **text, size_t *len,
                                 int *err);

/* Is ID a job of this process that is neither finished nor exposed? */
bool symjob_local_running(struct symjobs *js, const char *id);

/* Is ID a well-formed job id (so it can name a file)? */
bool symjob_valid_id(const char *id);

/* The state of job ID as every worker sees it (exposed jobs only). */
enum symjob_state symjob_state(struct symjobs *js, const char *id);

/* The finished result of ID as an open file: 0 with *FD (the caller
 * closes it) and *SIZE, or -ENOENT when there is none (yet). */
int symjob_open_result(struct symjobs *js, const char *id, int *fd,
                       uint64_t *size);

/* Answer {"status":"timeout"} for this process's jobs that have run for
 * TIMEOUT_MS, waking symjob_wait() callers of exposed ones (the starter of
 * another sees it done in symjob_local_running()).  Returns how many.
 * Call it now and then (it looks at every slot). */
unsigned symjob_expire(struct symjobs *js);

/* Sleep until an exposed job of this process finishes or TIMEOUT_MS
 * pass. */
void symjob_wait(struct symjobs *js, unsigned timeout_ms);

/* Jobs of this process still running. */
unsigned symjob_running(struct symjobs *js);

/* A new file name for an upload this process receives (a minidump):
 * "<dir>/<pid>-<random>.upload", swept when this process is gone.  The
 * caller frees it; "<name>.d" may hold the job's scratch files. */
char *symjob_upload_path(struct symjobs *js);

/* Remove results older than KEEP_MS at NOW_MS (wall clock), and the
 * running marks and uploads of dead processes, and forget results in
 * memory nobody collected for KEEP_MS.  Returns how many files went. */
unsigned symjob_sweep(struct symjobs *js, int64_t now_ms);

#endif
