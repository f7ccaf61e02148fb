#ifndef MOD_INGEST_API_H
#define MOD_INGEST_API_H

/* One handler per endpoint, one file per handler: mod_ingest_api_<name>.c.
 * id is the caller's identity (NULL on routes without one), param the
 * path's {job_id} segment, already known to be UUID-shaped (NULL where the
 * route has none). */

#include "ingest_identity.h"
#include "mod_ingest.h"

typedef int ingest_api_fn(request_rec *r, const ingest_identity_t *id, const char *param);

ingest_api_fn ingest_api_init;           /* POST   /api/ingest/init */
ingest_api_fn ingest_api_status;         /* GET    /api/ingest/status/{job_id} */
ingest_api_fn ingest_api_jobs;           /* GET    /api/ingest/jobs */
ingest_api_fn ingest_api_stats;          /* GET    /api/ingest/stats */
ingest_api_fn ingest_api_delete;         /* DELETE /api/ingest/{job_id} */
ingest_api_fn ingest_api_health;         /* GET    /api/ingest/health */
ingest_api_fn ingest_api_callback;       /* POST   /api/pipeline/callback */
ingest_api_fn ingest_api_upload;         /* PUT    /api/ingest/upload/{job_id} (presigned) */
ingest_api_fn ingest_api_json;           /* POST   /api/ingest/json */
ingest_api_fn ingest_api_results;        /* GET    /api/ingest/status/{job_id}/results */
ingest_api_fn ingest_api_records;        /* GET    /api/ingest/status/{job_id}/records */
ingest_api_fn ingest_api_records_ndjson; /* GET  /api/ingest/status/{job_id}/records.ndjson */
ingest_api_fn ingest_api_records_csv;    /* GET  /api/ingest/status/{job_id}/records.csv */
ingest_api_fn ingest_api_record_errors;  /* GET  /api/ingest/status/{job_id}/errors */
ingest_api_fn ingest_api_cost_by_model;  /* GET /api/analytics/cost/by-model */
ingest_api_fn ingest_api_cost_by_team;   /* GET /api/analytics/cost/by-team */
ingest_api_fn ingest_api_ml_jobs;        /* GET /api/analytics/jobs */
ingest_api_fn ingest_api_admin_mock;     /* POST /api/admin/ingest/jobs/mock */
ingest_api_fn ingest_api_events;         /* GET /api/ingest/events (Server-Sent Events) */
ingest_api_fn ingest_api_deliveries;     /* GET  /api/ingest/status/{job_id}/deliveries */
ingest_api_fn ingest_api_redeliver;      /* POST /api/ingest/status/{job_id}/deliveries/redeliver */

/* The ingestion of a JSON body ({"records"}, {"mappings"} or {"jobs"}), as
 * POST /api/ingest/json answers it: 202 with the job, or a problem. The
 * admin's mock loader goes the same way. */
int ingest_json_ingest(request_rec *r, const ingest_identity_t *id, json_t *body);

#endif
