#ifndef MOD_INGEST_STORE_H
#define MOD_INGEST_STORE_H

/* The SQL behind the API, one function per statement. Every function is
 * scoped by tenant in the statement itself: a job of another tenant is not
 * "forbidden", it is not found. */

#include "ingest_callback.h"
#include "ingest_identity.h"
#include "ingest_validate.h"
#include "mod_ingest_db.h"

extern const ingest_stmt_t ingest_job_statements[];

/* Inserts a file-upload job in status (pending, or queued and due in
 * due_in when a processor needs no upload), or finds the one this tenant created
 * with the same Idempotency-Key (*created = 0).
 * *expires is the upload deadline in epoch seconds. */
apr_status_t ingest_store_job_create(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                                     const ingest_init_req_t *req, const char *idempotency_key,
                                     int upload_ttl, const char *status, apr_interval_time_t due_in,
                                     json_t **job, int *created, apr_int64_t *expires);

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

/* A round trip that proves the database answers: {schema_version, queued,
 * running, worker_age_ms (null without a heartbeat from worker)}. */
apr_status_t ingest_store_ping(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *worker,
                               json_t **health);

/* ---- the worker (mod_ingest_store_worker.c) */
extern const ingest_stmt_t ingest_worker_statements[];

apr_status_t ingest_store_worker_heartbeat(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *worker,
                                           const char *owner, const char *processor);
apr_status_t ingest_store_worker_rescue(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, int batch,
                                        int max_attempts, int *rescued);
apr_status_t ingest_store_worker_renew(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *owner,
                                       apr_interval_time_t lease);
apr_status_t ingest_store_worker_claim(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, int batch,
                                       const char *owner, apr_interval_time_t lease,
                                       apr_interval_time_t run_for, int *claimed);
/* [{job_id, elapsed_ms}] of the owner's running jobs whose phase is over */
apr_status_t ingest_store_worker_due(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *owner,
                                     int batch, json_t **jobs);
apr_status_t ingest_store_worker_finish(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id,
                                        const char *owner, int success, const char *result_data,
                                        const char *error, apr_int64_t items, int *done);
apr_status_t ingest_store_worker_release(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *owner,
                                         int *released);
apr_status_t ingest_store_worker_prune(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, int days, int *pruned);
/* Also forgets heartbeats of workers silent for a day. */
apr_status_t ingest_store_worker_prune_deliveries(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                                  apr_interval_time_t older_than, int *pruned);

/* ---- the pipeline callback (mod_ingest_store_callback.c) */
extern const ingest_stmt_t ingest_callback_statements[];

/* {http_status, response} of an earlier delivery; APR_NOTFOUND if none. */
apr_status_t ingest_store_callback_delivery(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                            const char *webhook_id, json_t **delivery);
/* Applies a reported transition and records the delivery (when
 * webhook_id is not NULL): {http_status: 200|404|409, response}. */
apr_status_t ingest_store_callback_apply(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *webhook_id,
                                         const ingest_callback_t *cb, apr_interval_time_t deadline,
                                         json_t **outcome);

#endif
