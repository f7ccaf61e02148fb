#ifndef INGEST_ANALYTICS_H
#define INGEST_ANALYTICS_H

/* The query strings of the cost analytics and of the ML jobs listing
 * (seed 003). Pure. */

#include <apr_pools.h>
#include <apr_tables.h>

#include "ingest_validate.h"

/* A cost query's range covers at most this many days, both ends included. */
#define INGEST_COST_RANGE_MAX        366
#define INGEST_ML_JOBS_LIMIT_DEFAULT 50

typedef struct {
    const char *start, *end; /* YYYY-MM-DD, or NULL: open on that side */
} ingest_cost_req_t;

typedef struct {
    /* NULL: not filtered */
    const char *team, *model_name, *status, *provider, *gpu_type;
    int limit;
    apr_int64_t skip;
} ingest_ml_jobs_req_t;

/* start and end: calendar dates YYYY-MM-DD, optional each; end not before
 * start, and at most INGEST_COST_RANGE_MAX days when both are given. */
apr_status_t ingest_validate_cost(apr_pool_t *p, apr_table_t *args, ingest_cost_req_t *out,
                                  ingest_verr_t *err);

/* team, model_name, provider, gpu_type (1..200 bytes of UTF-8 each), status
 * (queued, running, completed, failed, cancelled), limit (1..100, default
 * 50), skip or offset (the same thing). */
apr_status_t ingest_validate_ml_jobs(apr_pool_t *p, apr_table_t *args, ingest_ml_jobs_req_t *out,
                                     ingest_verr_t *err);

#endif
