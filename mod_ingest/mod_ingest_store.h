#ifndef MOD_INGEST_STORE_H
#define MOD_INGEST_STORE_H

/* The SQL behind the API, one function per statement. Every function is
 * scoped by tenant in the statement itself: a job of another tenant is not
 * "forbidden", it is not found. */

#include "ingest_analytics.h"
#include "ingest_callback.h"
#include "ingest_identity.h"
#include "ingest_ingest_json.h"
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

/* {"total": n, "jobs": [...], "next_cursor": "..." or null}, newest first:
 * req->limit jobs at req->offset or after req->cursor, and the cursor of
 * the next page when there is one. */
apr_status_t ingest_store_job_list(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                                   const ingest_list_req_t *req, json_t **page);

/* {"total": n, "<status>": n, ...} for every status. */
apr_status_t ingest_store_job_stats(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                                    json_t **stats);

/* APR_NOTFOUND as for get. *storage_path: the job's stored file, or NULL. */
apr_status_t ingest_store_job_delete(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                                     const char *job_id, const char **storage_path);

/* A round trip that proves the database answers: {schema_version, queued,
 * running, worker_age_ms and worker_progress_age_ms (null without a
 * heartbeat from worker), due_waiting (work has been due for longer than
 * window: queued, or running under this worker's lease)}. */
apr_status_t ingest_store_ping(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *worker,
                               apr_interval_time_t window, json_t **health);

/* ---- the worker (mod_ingest_store_worker.c) */
extern const ingest_stmt_t ingest_worker_statements[];

apr_status_t ingest_store_worker_heartbeat(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *worker,
                                           const char *owner, const char *processor,
                                           apr_interval_time_t progress_age);
/* A step that could not reach the file storage: requeued, due after
 * delay, no attempt counted; error says why. */
apr_status_t ingest_store_worker_defer(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id,
                                       const char *owner, apr_interval_time_t delay, const char *error,
                                       int *done);
/* A step that failed on the job's data: requeued with backoff and an
 * attempt counted, or failed after max_attempts; error says why. */
apr_status_t ingest_store_worker_retry(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id,
                                       const char *owner, int max_attempts, const char *error, int *done);
apr_status_t ingest_store_worker_rescue(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, int batch,
                                        int max_attempts, int *rescued);
apr_status_t ingest_store_worker_renew(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *owner,
                                       apr_interval_time_t lease);
/* which: one of these */
#define INGEST_CLAIM_ALL         "all"
#define INGEST_CLAIM_JOBMETA     "jobmeta"
#define INGEST_CLAIM_NOT_JOBMETA "not_jobmeta"
apr_status_t ingest_store_worker_claim(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, int batch,
                                       const char *which, const char *owner, apr_interval_time_t lease,
                                       apr_interval_time_t run_for, int *claimed);
/* [{job_id, tenant_id, elapsed_ms, source_type, file_type, file_size, content_sha256,
 * storage_path}] of the owner's running jobs whose step is due */
apr_status_t ingest_store_worker_due(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *owner,
                                     int batch, json_t **jobs);
apr_status_t ingest_store_worker_finish(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id,
                                        const char *owner, int success, const char *result_data,
                                        const char *result_url, const char *error, apr_int64_t items,
                                        int *done);
/* ingest_store_worker_finish for many jobs in one statement: outcomes is
 * a JSON array of {job_id, status (completed|failed), result_data, error,
 * items}; *done: the jobs still held by owner, now finished. */
apr_status_t ingest_store_worker_finish_batch(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *owner,
                                              const char *outcomes, int *done);
apr_status_t ingest_store_worker_release(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *owner,
                                         int *released);
/* *files: the pruned jobs' storage paths, for the caller to remove. */
apr_status_t ingest_store_worker_prune(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, int days, int *pruned,
                                       json_t **files);
/* A long step's progress, renewing the lease; *held 0: the lease is lost. */
apr_status_t ingest_store_worker_progress(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id,
                                          const char *owner, apr_int64_t processed, apr_int64_t total,
                                          apr_interval_time_t lease, int *held);
/* Pending jobs past their upload window fail ("upload expired"). */
apr_status_t ingest_store_worker_expire_uploads(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, int *expired);
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

/* ---- records of parsed files (mod_ingest_store_records.c) */
extern const ingest_stmt_t ingest_record_statements[];

/* The job a batch of records belongs to, its holder, and the counts the
 * batch's commit shows: processed_items becomes `processed` (the records
 * committed with this batch included, and the bad records stepped over so
 * far, as a mappings job counts its failed items), failed_items `failed`
 * (those bad records), total_items at least `processed`. */
typedef struct {
    const char *job_id;
    const char *owner;
    apr_interval_time_t lease;
    apr_int64_t processed;
    apr_int64_t failed;
    apr_int64_t total;
    const char *columns; /* the JSON array of the records' column names, NULL: unchanged */
    /* the bad records found since the last batch that are kept, as a JSON
     * array of {seq, line, field, reason}, written with the batch; NULL: none */
    const char *errors;
} ingest_records_batch_t;

/* A batch of records streamed in one transaction: open (BEGIN, then COPY
 * ... FROM STDIN in binary format), send the COPY stream in pieces
 * (ingest_copy.h: header, tuples, trailer), and close, which ends the
 * COPY, checks and renews the lease and COMMITs; *held 0: the job is no
 * longer this worker's, the batch is rolled back (APR_SUCCESS). Nothing
 * else may run on dbd between open and close; abort rolls an open batch
 * back. */
apr_status_t ingest_store_records_open(server_rec *s, ap_dbd_t *dbd);
apr_status_t ingest_store_records_send(server_rec *s, ap_dbd_t *dbd, const char *buf, apr_size_t len);
apr_status_t ingest_store_records_close(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                        const ingest_records_batch_t *b, int *held);
void ingest_store_records_abort(server_rec *s, ap_dbd_t *dbd);
/* Deletes a batch of the records an earlier run of the job wrote, in a
 * transaction under the lease; *more: there may be more. */
apr_status_t ingest_store_records_clear(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                        const ingest_records_batch_t *b, int *held, int *more);
/* A failed job's records are to be swept as a deleted job's. */
apr_status_t ingest_store_records_forget(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id);
/* Deletes one batch of a gone job's records; *more: there may be more. */
apr_status_t ingest_store_records_sweep(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, apr_int64_t *deleted,
                                        int *more);
/* A piece of a job's export (at most 1,000 records, about 4 MiB). */
typedef struct {
    int exists;           /* the job is the tenant's */
    const char *filename; /* its file's name, NULL for a records ingestion */
    apr_int64_t records;  /* in text; 0: the export is over */
    apr_int64_t last;     /* the last seq in text */
    const char *text;     /* the records, one per line, no final line feed */
    apr_size_t text_len;
    const char *header; /* CSV: the header line (no line feed); NULL when the job has no columns */
} ingest_records_piece_t;
/* The piece after seq `after`, as NDJSON (each record's data) or as CSV
 * (the fields of the job's record_columns); allocated from p. */
apr_status_t ingest_store_records_export(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                         const ingest_identity_t *id, const char *job_id, int csv,
                                         apr_int64_t after, ingest_records_piece_t *out);
/* {exists, job: {status, committed}, records: [{seq, line, data}]}:
 * up to limit + 1 records after seq `after`, the tenant's job only. */
apr_status_t ingest_store_records_page(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                       const ingest_identity_t *id, const char *job_id, apr_int64_t after,
                                       int limit, json_t **page);

/* {exists, job: {status, failed_items}, errors: [{seq, line, field, reason}]}:
 * up to limit + 1 of the bad records kept after seq `after`, the tenant's
 * job only. */
apr_status_t ingest_store_records_errors(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                         const ingest_identity_t *id, const char *job_id, apr_int64_t after,
                                         int limit, json_t **page);

/* ---- the job event log (mod_ingest_store_events.c, sql/017) */
extern const ingest_stmt_t ingest_event_statements[];

/* events a replay page holds at most */
#define INGEST_EVENTS_REPLAY_PAGE   200
#define INGEST_EVENTS_REPLAY_PAGE_S "200"

/* {"horizon", "pruned", "events": [{"id", "job_id", "terminal", "job"}]}:
 * the tenant's final events after `after` (one job's when job_id is not
 * NULL, with "job": the job as it is now, or null when it is not the
 * tenant's), at most INGEST_EVENTS_REPLAY_PAGE, oldest first. */
apr_status_t ingest_store_events_replay(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *tenant,
                                        const char *job_id, apr_int64_t after, json_t **page);
/* Deletes up to 5,000 events older than `seconds`; *pruned how many. */
apr_status_t ingest_store_events_prune(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, int seconds, int *pruned);

/* ---- tenant quotas (mod_ingest_store_quota.c) */
extern const ingest_stmt_t ingest_quota_statements[];

typedef struct {
    apr_int64_t active;   /* pending + queued + running jobs */
    apr_int64_t stored;   /* bytes of the files the tenant's jobs name */
    apr_int64_t reserved; /* bytes announced by pending jobs, not job_id's */
    int replay;           /* key names an existing job of the tenant */
} ingest_quota_usage_t;

/* Inside a transaction (ingest_db_begin): takes the tenant's quota lock
 * until the transaction ends, then reads its usage. key and job_id may be
 * NULL. */
apr_status_t ingest_store_quota_usage(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *tenant,
                                      const char *key, const char *job_id, ingest_quota_usage_t *u);

/* ---- uploads and JSON bodies (mod_ingest_store_uploads.c) */
extern const ingest_stmt_t ingest_upload_statements[];

/* {tenant_id, status, file_size} of any tenant's job: the presigned URL,
 * not a bearer token, is the upload's credential. */
apr_status_t ingest_store_upload_job(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id,
                                     json_t **job);
/* pending -> queued with the stored file; APR_NOTFOUND when the job is no
 * longer pending. */
apr_status_t ingest_store_upload_done(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id,
                                      const char *sha256, const char *rel, json_t **job);
/* source_type: json_records or job_metadata, stored as NDJSON; the
 * count, priority, schema and on_bad_record from req. */
apr_status_t ingest_store_json_records(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                       const ingest_identity_t *id, const char *source_type,
                                       const char *job_id, apr_off_t size, const char *sha256,
                                       const char *rel, const ingest_json_req_t *req, const char *key,
                                       json_t **job, int *created);
/* sha256: the digest of mappings_json, kept as the job's content_sha256 so
 * an Idempotency-Key replay can be told from a different request;
 * notify_url may be NULL. */
apr_status_t ingest_store_json_mappings(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                        const ingest_identity_t *id, const char *mappings_json,
                                        const char *sha256, apr_size_t count, ingest_priority_e prio,
                                        const char *key, const char *notify_url, json_t **job, int *created);

/* ---- per-item results (mod_ingest_store_items.c) */
extern const ingest_stmt_t ingest_item_statements[];

/* {exists, total, results}; status NULL for every item. */
apr_status_t ingest_store_items_page(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                                     const char *job_id, const char *status, int limit, apr_int64_t offset,
                                     json_t **page);
/* [{idx, id, target}] of the next pending items of a mappings job. */
apr_status_t ingest_store_items_pending(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id,
                                        int limit, json_t **items);
/* results_json: [{idx, status: success|failed, error}]. {status, applied}:
 * status is null when the lease was lost. */
apr_status_t ingest_store_items_apply(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id,
                                      const char *owner, const char *results_json,
                                      apr_interval_time_t next_in, json_t **outcome);

/* ---- ML job metadata (mod_ingest_store_jobmeta.c) */
extern const ingest_stmt_t ingest_jobmeta_statements[];

/* rows_json: [ingest_jobmeta_row()...] of one batch; the ingestion's
 * counts so far; *held 0: the lease was lost and nothing was written;
 * *changed: the ML jobs inserted or changed. */
apr_status_t ingest_store_jobmeta_batch(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id,
                                        const char *owner, const char *rows_json, apr_int64_t processed,
                                        apr_int64_t failed, apr_int64_t total, apr_interval_time_t lease,
                                        int *held, apr_int64_t *changed);
/* {total_cost_usd, results: [{model_name|team, total_cost_usd, gpu_hours,
 * job_count}]} of the days start..end (NULL: open). */
apr_status_t ingest_store_ml_cost(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                                  int by_team, const char *start, const char *end, json_t **out);
/* {total, jobs}, newest first. */
apr_status_t ingest_store_ml_jobs(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                                  const ingest_ml_jobs_req_t *req, json_t **page);

/* ---- the operator's counts across tenants (mod_ingest_store_metrics.c) */
extern const ingest_stmt_t ingest_metrics_statements[];

/* [[status, n], ...] for every status in the enum's order, summed over all
 * tenants from ingest_job_counts. */
apr_status_t ingest_store_jobs_by_status(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, json_t **pairs);

/* ---- notifications when a job ends (mod_ingest_store_deliveries.c) */
extern const ingest_stmt_t ingest_delivery_statements[];

/* Up to batch due deliveries, each leased for lease (due again after it
 * unless an attempt is recorded): [{delivery_id, url, job, attempts}]. */
apr_status_t ingest_store_deliveries_claim(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, int batch,
                                           apr_interval_time_t lease, json_t **claimed);
/* attempts: a JSON array of {delivery_id, attempts (as claimed), delivered,
 * http_status, error, duration_ms}; each delivery becomes delivered, due
 * again after backoff * 3^(n-1) seconds (n: its attempts since the last
 * redeliver, at most a day), or failed after max_attempts of them.
 * {recorded, failed: [delivery_id...]}. */
apr_status_t ingest_store_deliveries_record(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *attempts,
                                            int max_attempts, int backoff, json_t **outcome);
/* {job_id, notify_url, deliveries: [...]}; APR_NOTFOUND for a job that
 * does not exist or is another tenant's. */
apr_status_t ingest_store_deliveries_list(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                          const ingest_identity_t *id, const char *job_id, json_t **out);
/* {job_id, notify_url, status, delivery}: delivery is null (and nothing
 * changed) when the job has no notify_url or has not ended; APR_NOTFOUND
 * as for list. */
apr_status_t ingest_store_deliveries_redeliver(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                               const ingest_identity_t *id, const char *job_id, json_t **out);

#endif
