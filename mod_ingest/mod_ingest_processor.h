#ifndef MOD_INGEST_PROCESSOR_H
#define MOD_INGEST_PROCESSOR_H

/* One step of a running job, by the worker that holds its lease: a batch
 * of a mappings job, the simulated outcome of a file, or the real parse of
 * a stored file. Every write is guarded by the lease, so a worker that
 * lost the job (its lease expired and someone else took it) changes
 * nothing. */

#include <apr_thread_mutex.h>

#include "ingest_simulate.h"
#include "mod_ingest.h"
#include "mod_ingest_config.h"
#include "mod_ingest_db.h"

typedef struct {
    apr_pool_t *p;
    server_rec *s;
    ap_dbd_t *dbd;
    const ingest_srv_conf *conf;
    const char *owner;
    ingest_rng_t *rng;
    volatile apr_uint32_t *stopping; /* set when the child is exiting */
    /* with IngestWorkerThreads: held around the statements that renew
     * every lease of the owner (see ingest_wthreads_lease_lock); NULL
     * when one thread does all the steps */
    apr_thread_mutex_t *lease_lock;
} ingest_step_t;

/* job: one element of ingest_store_worker_due(). *finished: the job ended. */
typedef apr_status_t ingest_step_fn(const ingest_step_t *st, json_t *job, int *finished);

/* fn over the job with st->p a pool of its own, destroyed however the step
 * ends; tag names the pool. */
apr_status_t ingest_processor_in_pool(const ingest_step_t *st, json_t *job, int *finished, const char *tag,
                                      ingest_step_fn *fn);
/* running -> completed or failed, with result (JSON, may be NULL), error
 * and the item count, under the lease. */
apr_status_t ingest_processor_finish(const ingest_step_t *st, const char *job_id, int success, json_t *result,
                                     const char *error, apr_int64_t items, int *finished);

/* The same, also setting the job's result_url (NULL: left as it is). */
apr_status_t ingest_processor_finish_url(const ingest_step_t *st, const char *job_id, int success,
                                         json_t *result, const char *result_url, const char *error,
                                         apr_int64_t items, int *finished);

/* Take and give back a lease lock (ingest_step_t.lease_lock), when there
 * is one: NULL without step threads. */
void ingest_lease_enter(apr_thread_mutex_t *lease_lock);
void ingest_lease_leave(apr_thread_mutex_t *lease_lock);

/* A long step's progress (ingest_store_worker_progress), which renews the
 * holder's every lease, under st->lease_lock. *held 0: the lease is lost. */
apr_status_t ingest_processor_progress(const ingest_step_t *st, const char *job_id, apr_int64_t processed,
                                       apr_int64_t total, int *held);

apr_status_t ingest_processor_mappings(const ingest_step_t *st, json_t *job, int *finished);
/* The simulated outcome of a batch of jobs (not a step per job: one
 * statement finishes them all); *finished: how many ended. */
apr_status_t ingest_processor_simulate(const ingest_step_t *st, json_t *jobs, int *finished);
apr_status_t ingest_processor_parse(const ingest_step_t *st, json_t *job, int *finished);
/* ML job metadata, under any processor (mod_ingest_processor_jobmeta.c). */
apr_status_t ingest_processor_jobmeta(const ingest_step_t *st, json_t *job, int *finished);

#endif
