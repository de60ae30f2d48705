/* SPDX-License-Identifier: MIT */
/*
 * jobq: a bounded multi-producer multi-consumer queue of pointers.
 *
 * The ring is Concurrency Kit's ck_ring in MPMC mode (lock-free); a POSIX
 * semaphore counts the queued items so consumers sleep when it is empty
 * instead of spinning.  A pointer pushed into the queue belongs to the
 * consumer that pops it; the producer must not touch it again.
 *
 * PRODUCERS: ck_ring's MPMC enqueue makes a producer spin until every
 * producer that reserved a slot before it has published, so one producer
 * preempted mid-push keeps the others burning their time slices; on a
 * two-core box with a dozen threads a stress run stalled for minutes.
 * Pushes (one per new download) are rare, so producers take a mutex
 * around the enqueue and sleep instead of spinning; consumers stay
 * lock-free.  Hot paths with many producers use lib/tlq instead.
 *
 * THREADS: any thread may push, pop or read the depth.  jobq_close() is
 * called once, by the owner, before jobq_free().
 */
#ifndef SYMSRVD_JOBQ_H
#define SYMSRVD_JOBQ_H

#include <stdbool.h>

struct jobq;

/* New queue holding up to CAPACITY - 1 items (CAPACITY is rounded up to a
 * power of two, at least 4).  Free with jobq_free(). */
struct jobq *jobq_new(unsigned capacity);
void jobq_free(struct jobq *q);

/* Queue JOB (not NULL) without blocking.  False when the queue is full or
 * closed; the caller then still owns JOB. */
bool jobq_try_push(struct jobq *q, void *job);

/* Take the oldest job, sleeping while the queue is empty.  Returns NULL
 * once the queue is closed and drained. */
void *jobq_pop(struct jobq *q);

/* Take a job if one is queued, else NULL at once. */
void *jobq_try_pop(struct jobq *q);

/* Refuse further pushes and wake every sleeping consumer. */
void jobq_close(struct jobq *q);

/* Number of queued jobs (a snapshot). */
unsigned jobq_depth(const struct jobq *q);

#endif
