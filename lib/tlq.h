/* SPDX-License-Identifier: MIT */
/*
 * tlq: per-thread queues with one consumer, for hot paths with many
 * producers (the hit counters).
 *
 * Each producing thread gets its own Concurrency Kit ring in SPSC mode on
 * first push, so a push is wait-free: unlike the MPMC ring of jobq, no
 * producer ever spins waiting for another to publish.  One consumer
 * drains every ring.  An item pushed belongs to the consumer.
 *
 * THREADS: any number of producers; exactly one consumer at a time.  A
 * thread may push into one tlq only (its ring is found through a
 * thread-local pointer); the daemon has one per process.
 */
#ifndef SYMSRVD_TLQ_H
#define SYMSRVD_TLQ_H

#include <stdbool.h>
#include <stddef.h>

struct tlq;

/* New set of rings, each holding up to CAPACITY - 1 items (rounded up to
 * a power of two).  Free with tlq_free() once no thread pushes. */
struct tlq *tlq_new(unsigned capacity);
void tlq_free(struct tlq *q);

/* Queue ITEM on the calling thread's ring.  False when it is full (the
 * caller keeps ITEM). */
bool tlq_push(struct tlq *q, void *item);

/* Move up to MAX queued items into OUT.  Returns how many. */
size_t tlq_drain(struct tlq *q, void **out, size_t max);

#endif
