#ifndef MOD_INGEST_STORE_H
#define MOD_INGEST_STORE_H

/* The SQL behind the API, one function per statement. Every function is
 * scoped by tenant in the statement itself: a job of another tenant is not
 * "forbidden", it is not found. */

#include "ingest_identity.h"
#include "ingest_validate.h"
#include "mod_ingest_db.h"

extern const ingest_stmt_t ingest_job_statements[];

/* Inserts a pending file-upload job, or finds the one this tenant created
 * with the same Idempotency-Key (*created = 0).
 * *expires is the upload deadline in epoch seconds. */
apr_status_t ingest_store_job_create(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                                     const ingest_init_req_t *req, const char *idempotency_key,
                                     int upload_ttl, json_t **job, int *created, apr_int64_t *expires);

/* APR_NOTFOUND for a job that does not exist or is another tenant's. */
apr_status_t ingest_store_job_get(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                                  const char *job_id, json_t **job);

/* {"total": n, "jobs": [...]}, newest first. */
apr_status_t ingest_store_job_list(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                                   const ingest_list_req_t *req, json_t **page);

/* {"total": n, "<status>": n, ...} for every status. */
apr_status_t ingest_store_job_stats(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                                    json_t **stats);

/* APR_NOTFOUND as for get. */
apr_status_t ingest_store_job_delete(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                                     const char *job_id);

/* A round trip that proves the database answers, with its schema version. */
apr_status_t ingest_store_ping(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, int *schema_version);

#endif
