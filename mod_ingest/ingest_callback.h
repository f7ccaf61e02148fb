#ifndef INGEST_CALLBACK_H
#define INGEST_CALLBACK_H

/* The body of the pipeline's callback, POSTed when a job starts running,
 * reports progress, completes or fails. Pure: validation only; whether
 * the job may move to that status is the state machine's question
 * (ingest_status_can_transition) and the database's. */

#include <apr_pools.h>
#include <jansson.h>

#include "ingest_job.h"
#include "ingest_validate.h"

#define INGEST_CALLBACK_URL_MAX   2048
#define INGEST_CALLBACK_ERROR_MAX 4096

typedef struct {
    const char *job_id;     /* a UUID, lower-cased */
    ingest_status_e status; /* INGEST_ST_RUNNING, INGEST_ST_COMPLETED or INGEST_ST_FAILED */
    int has_processed;
    apr_int64_t processed;
    int has_total;
    apr_int64_t total;
    const char *result_url;  /* NULL when absent */
    const char *result_data; /* compact JSON text of the value, NULL when absent */
    const char *error;       /* NULL when absent */
} ingest_callback_t;

/* {job_id, status, records_processed?, total_items?, result_url?,
 * result_data?, error?}; a JSON null for an optional member is the same as
 * leaving it out. APR_SUCCESS, or APR_EINVAL with err set (err->field NULL
 * when the body is not an object), or APR_ENOMEM if result_data cannot be
 * serialized. Everything in out is allocated in p; body is not kept. */
apr_status_t ingest_callback_parse(apr_pool_t *p, json_t *body, ingest_callback_t *out, ingest_verr_t *err);

#endif
