#ifndef MOD_INGEST_WORKER_THREADS_H
#define MOD_INGEST_WORKER_THREADS_H

/* The worker's step threads (IngestWorkerThreads): a small fixed set of
 * threads with a FIFO of jobs, in the child process that holds the
 * worker's mod_watchdog singleton. The watchdog thread claims and hands
 * long steps (a parse, a mappings batch, an ingestion of job metadata)
 * over; a thread runs each with a pool and a random generator of its own,
 * and the watchdog thread goes on claiming meanwhile.
 *
 * In-flight jobs are tracked here, in memory, by job id (see
 * ingest_wthreads_dispatch): the due query keeps returning a job while its
 * step is queued or running, and the set is what keeps the watchdog
 * thread from handing it over twice. Nothing of it is persistent: a job's
 * state stays in PostgreSQL, under the lease. */

#include <apr_thread_mutex.h>
#include <jansson.h>

#include "ingest_simulate.h"
#include "mod_ingest.h"

typedef struct ingest_wthreads_t ingest_wthreads_t;

/* One step, on a step thread: p is the task's own pool (destroyed when fn
 * returns), rng the thread's, job the caller's job (a copy of its own). */
typedef void ingest_wtask_fn(apr_pool_t *p, ingest_rng_t *rng, json_t *job, void *baton);

/* Starts n (>= 1) threads running fn over dispatched jobs. Everything is
 * allocated from a pool of its own that nothing destroys before the
 * process ends, so a thread that outlives a bounded stop never runs on
 * freed memory. */
apr_status_t ingest_wthreads_create(ingest_wthreads_t **out, server_rec *s, int n, ingest_wtask_fn *fn,
                                    void *baton);

/* Serializes the statements that renew every lease of the worker's owner
 * at once (ingest_w_progress of each step thread, the pass's
 * ingest_w_renew, the simulated batch finish), whose row locks would
 * otherwise be taken in opposite orders by concurrent threads (a deadlock
 * PostgreSQL resolves by failing one of them). NULL with wt NULL. */
apr_thread_mutex_t *ingest_wthreads_lease_lock(ingest_wthreads_t *wt);

/* Forgets the jobs whose step ended before this call; answers how many
 * did. Call it before each due query: a job whose step ended after the
 * call stays "busy" until the next call, because the query may have read
 * the job's row before the step's last statement committed. */
int ingest_wthreads_forget_ended(ingest_wthreads_t *wt);

/* How many handed-over jobs are not yet forgotten. */
int ingest_wthreads_inflight(ingest_wthreads_t *wt);

/* Queues job (by its "job_id") for a thread, unless it is in flight:
 * handed over and not yet forgotten (queued, running, or ended after the
 * last ingest_wthreads_forget_ended), APR_EEXIST then. APR_EINVAL without
 * a job id, APR_EINCOMPLETE once stopping. */
apr_status_t ingest_wthreads_dispatch(ingest_wthreads_t *wt, json_t *job);

/* No step starts any more (queued ones are dropped: their jobs stay
 * running under the lease, for the release at exit); waits up to wait for
 * the running steps to end, and answers how many threads are still
 * running. Steps end early on their own stopping flag, which the caller
 * sets first. Safe to call from several threads, and more than once. */
int ingest_wthreads_stop(ingest_wthreads_t *wt, apr_interval_time_t wait);

#endif
