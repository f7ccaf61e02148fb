#ifndef MOD_INGEST_PROCESSOR_H
#define MOD_INGEST_PROCESSOR_H

/* One step of a running job, by the worker that holds its lease: a batch
 * of a mappings job, the simulated outcome of a file, or the real parse of
 * a stored file. Every write is guarded by the lease, so a worker that
 * lost the job (its lease expired and someone else took it) changes
 * nothing. */

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
} ingest_step_t;

/* job: one element of ingest_store_worker_due(). *finished: the job ended. */
apr_status_t ingest_processor_mappings(const ingest_step_t *st, json_t *job, int *finished);
apr_status_t ingest_processor_simulate(const ingest_step_t *st, json_t *job, int *finished);
apr_status_t ingest_processor_parse(const ingest_step_t *st, json_t *job, int *finished);
/* ML job metadata, under any processor (mod_ingest_processor_jobmeta.c). */
apr_status_t ingest_processor_jobmeta(const ingest_step_t *st, json_t *job, int *finished);

#endif
