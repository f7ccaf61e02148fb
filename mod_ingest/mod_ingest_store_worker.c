/* The worker's SQL: every transition a background worker makes, each one a
 * guarded UPDATE, so two workers (threads, processes or hosts) racing for
 * the same job cannot both win: the loser's statement matches no row.
 * The transitions are counted for the metrics here, where they are made,
 * by the rows the statements changed. */

#include <apr_strings.h>

#include "mod_ingest_cache.h"
#include "mod_ingest_config.h"
#include "mod_ingest_metrics.h"
#include "mod_ingest_store.h"

/* rv, once the n jobs a successful statement changed are counted as m */
static apr_status_t counted(apr_status_t rv, ingest_metric_e m, int n)
{
    if (rv == APR_SUCCESS && n > 0) {
        ingest_metrics_add(m, (apr_uint64_t)n);
    }
    return rv;
}

/* The end of a statement that changes many jobs (its UPDATE or DELETE as
 * "u", returning job_id): how many, and which, for the status cache. */
#define CHANGED_JOBS                                                                                         \
    " SELECT json_build_object('n', count(*), 'ids', coalesce(json_agg(job_id), '[]'::json)) FROM u"

/* Claimed rows are chosen with FOR UPDATE SKIP LOCKED: concurrent workers
 * take disjoint sets instead of queueing behind each other's locks. */
const ingest_stmt_t ingest_worker_statements[] = {
    {"ingest_w_heartbeat",
     "INSERT INTO ingest_workers (worker, lease_owner, processor, last_progress)"
     " VALUES (%s, %s, %s, now() - make_interval(secs => %s::float8))"
     " ON CONFLICT (worker) DO UPDATE SET lease_owner = EXCLUDED.lease_owner,"
     "  processor = EXCLUDED.processor, last_tick = now(),"
     "  last_progress = greatest(ingest_workers.last_progress, EXCLUDED.last_progress)",
     1},
    /* A running job whose lease ran out lost its worker (child killed,
     * host gone): back to queued with backoff, or failed after
     * IngestMaxAttempts. A job handed to an external pipeline that missed
     * its deadline fails. */
    {"ingest_w_rescue",
     "WITH expired AS ("
     " SELECT job_id FROM ingest_jobs WHERE status = 'running' AND lease_expires_at < now()"
     " ORDER BY lease_expires_at LIMIT %s::int FOR UPDATE SKIP LOCKED),"
     " u AS (UPDATE ingest_jobs j SET"
     "  status = CASE WHEN j.lease_owner = 'external' OR j.attempts + 1 >= %s::int"
     "                THEN 'failed'::ingest_job_status ELSE 'queued'::ingest_job_status END,"
     "  attempts = CASE WHEN j.lease_owner = 'external' THEN j.attempts ELSE j.attempts + 1 END,"
     "  error = CASE WHEN j.lease_owner = 'external'"
     "               THEN 'the external pipeline did not finish the job within IngestExternalDeadline'"
     "               WHEN j.attempts + 1 >= %s::int"
     "               THEN 'the worker running the job was lost ' || (j.attempts + 1) ||"
     "                    ' times (lease expired); giving up after IngestMaxAttempts'"
     "               ELSE j.error END,"
     "  completed_at = CASE WHEN j.lease_owner = 'external' OR j.attempts + 1 >= %s::int THEN now() END,"
     "  due_at = now() + make_interval(secs => least(power(2, j.attempts), 300)),"
     "  lease_owner = NULL, lease_expires_at = NULL"
     " FROM expired WHERE j.job_id = expired.job_id AND j.status = 'running' RETURNING "
     "j.job_id)" CHANGED_JOBS,
     0},
    /* The holder keeps its leases fresh while its jobs are in progress. */
    {"ingest_w_renew",
     "UPDATE ingest_jobs SET lease_expires_at = now() + make_interval(secs => %s::float8)"
     " WHERE status = 'running' AND lease_owner = %s"
     "   AND lease_expires_at < now() + make_interval(secs => %s::float8 / 2)",
     1},
    /* queued -> running. The due time becomes the end of the running phase
     * (simulate; job metadata has none) and the lease the external
     * deadline (external). Which jobs: all, job metadata only, or all but
     * job metadata (INGEST_CLAIM_*).
     * Fair to every tenant (sql/010): the tenants with queued jobs, at
     * most a batch of them in random order, each get a share of the batch
     * in proportion to its IngestTenantWeight (1 unless configured; at
     * least one job), taken in priority and age order within the tenant;
     * priority never orders jobs across tenants. A tenant with fewer due
     * jobs than its share leaves the rest to the next claim.
     * The chosen ids are updated through the primary key (= ANY of an
     * array): a join with them could be planned as a hash of every queued
     * job, a cost that grows with the backlog. */
    {"ingest_w_claim",
     "WITH t AS ("
     " SELECT tenant_id, coalesce((%s::jsonb ->> tenant_id)::float8, 1) AS w FROM ingest_job_counts"
     " WHERE status = 'queued' AND n <> 0"
     " GROUP BY tenant_id HAVING sum(n) > 0 ORDER BY random() LIMIT %s::int),"
     " share AS (SELECT greatest(sum(w), 1) AS total FROM t),"
     " c AS ("
     " SELECT p.job_id FROM t CROSS JOIN share CROSS JOIN LATERAL ("
     "  SELECT j.job_id FROM ingest_jobs j WHERE j.tenant_id = t.tenant_id AND j.status = 'queued'"
     "   AND j.due_at <= now()"
     "   AND CASE %s::text WHEN 'jobmeta' THEN j.source_type = 'job_metadata'"
     "        WHEN 'not_jobmeta' THEN j.source_type <> 'job_metadata' ELSE true END"
     "  ORDER BY j.priority, j.created_at LIMIT ceil(%s::float8 * t.w / share.total)::int"
     "  FOR UPDATE SKIP LOCKED) p),"
     " u AS (UPDATE ingest_jobs j SET status = 'running', lease_owner = %s,"
     "  lease_expires_at = now() + make_interval(secs => %s::float8),"
     "  started_at = coalesce(j.started_at, now()),"
     "  due_at = now() + CASE WHEN j.source_type = 'job_metadata' THEN interval '0'"
     "                   ELSE make_interval(secs => %s::float8) END"
     " WHERE j.job_id = ANY (ARRAY(SELECT job_id FROM c)) AND j.status = 'queued' RETURNING "
     "j.job_id)" CHANGED_JOBS,
     0},
    /* The holder's running jobs whose running phase is over. */
    {"ingest_w_due",
     "SELECT json_build_object('jobs', coalesce(json_agg(json_build_object("
     "  'job_id', job_id, 'tenant_id', tenant_id, 'record_schema', record_schema, 'on_bad_record', "
     "on_bad_record, 'elapsed_ms', (extract(epoch FROM now() - started_at) * "
     "1000)::bigint,"
     "  'source_type', source_type, 'file_type', file_type, 'file_size', file_size,"
     "  'content_sha256', content_sha256, 'storage_path', storage_path)), '[]'))"
     " FROM (SELECT * FROM ingest_jobs WHERE status = 'running' AND lease_owner = %s"
     "       AND due_at <= now() ORDER BY due_at, priority, created_at LIMIT %s::int) d",
     1},
    /* Progress of a long step. It also keeps fresh the leases of every
     * job the holder has claimed (those waiting behind this step too: a
     * rescue on another host must not take them), and the worker's own
     * tick; 0 rows means the lease was lost and the step must stop. */
    {"ingest_w_progress",
     "WITH renewed AS ("
     "  UPDATE ingest_jobs SET lease_expires_at = now() + make_interval(secs => %s::float8)"
     "  WHERE status = 'running' AND lease_owner = %s AND job_id <> %s::uuid),"
     " ticked AS ("
     "  UPDATE ingest_workers SET last_tick = now(), last_progress = now() WHERE lease_owner = %s)"
     " UPDATE ingest_jobs SET processed_items = %s::bigint, total_items = %s::bigint,"
     "  lease_expires_at = now() + make_interval(secs => %s::float8)"
     " WHERE job_id = %s::uuid AND status = 'running' AND lease_owner = %s",
     0},
    /* A step that failed on the job's own data (a statement the database
     * refused, a file that cannot be opened for parsing): running -> queued
     * with backoff, one attempt counted, or failed once IngestMaxAttempts
     * is reached. The rest of the batch goes on. */
    {"ingest_w_retry",
     "UPDATE ingest_jobs SET"
     "  status = CASE WHEN attempts + 1 >= %s::int THEN 'failed'::ingest_job_status"
     "                ELSE 'queued'::ingest_job_status END,"
     "  error = %s || CASE WHEN attempts + 1 >= %s::int"
     "                     THEN ' (attempt ' || (attempts + 1) || '; giving up after IngestMaxAttempts)'"
     "                     ELSE ' (attempt ' || (attempts + 1) || '; will retry)' END,"
     "  completed_at = CASE WHEN attempts + 1 >= %s::int THEN now() END,"
     "  due_at = now() + make_interval(secs => least(power(2, attempts), 300)),"
     "  attempts = attempts + 1, lease_owner = NULL, lease_expires_at = NULL"
     " WHERE job_id = %s::uuid AND status = 'running' AND lease_owner = %s",
     0},
    /* A step that could not reach the file storage: running -> queued,
     * due again after a delay, no attempt counted (the job is not at
     * fault). */
    {"ingest_w_defer",
     "UPDATE ingest_jobs SET status = 'queued', error = %s,"
     "  due_at = now() + make_interval(secs => %s::float8), lease_owner = NULL, lease_expires_at = NULL"
     " WHERE job_id = %s::uuid AND status = 'running' AND lease_owner = %s",
     0},
    /* pending -> failed when the upload window closed without a file */
    {"ingest_w_expire_uploads",
     "WITH u AS (UPDATE ingest_jobs SET status = 'failed', completed_at = now(),"
     "  error = 'upload expired: no file arrived before expires_at'"
     " WHERE job_id IN (SELECT job_id FROM ingest_jobs WHERE status = 'pending' AND upload_expires_at < now()"
     "                  LIMIT 500 FOR UPDATE SKIP LOCKED) AND status = 'pending'"
     " RETURNING job_id)" CHANGED_JOBS,
     0},
    /* running -> completed | failed, only by the lease holder. */
    {"ingest_w_finish",
     "UPDATE ingest_jobs SET status = %s::text::ingest_job_status, result_data = %s::jsonb, error = %s,"
     "  result_url = coalesce(%s, result_url),"
     "  total_items = %s::bigint, processed_items = %s::bigint, completed_at = now(),"
     "  lease_owner = NULL, lease_expires_at = NULL"
     " WHERE job_id = %s::uuid AND status = 'running' AND lease_owner = %s",
     0},
    /* The same for a batch of jobs in one statement: outcomes is a JSON
     * array of {job_id, status, result_data, error, items}. */
    {"ingest_w_finish_batch",
     "WITH f AS (SELECT * FROM json_to_recordset(%s::json)"
     "  AS x(job_id uuid, status ingest_job_status, result_data jsonb, error text, items bigint)),"
     " u AS (UPDATE ingest_jobs j SET status = f.status, result_data = f.result_data, error = f.error,"
     "  total_items = f.items, processed_items = f.items, completed_at = now(),"
     "  lease_owner = NULL, lease_expires_at = NULL"
     "  FROM f WHERE j.job_id = f.job_id AND j.status = 'running' AND j.lease_owner = %s"
     "  RETURNING j.job_id, j.status)"
     " SELECT json_build_object('n', count(*), 'ids', coalesce(json_agg(job_id), '[]'::json),"
     "  'completed', count(*) FILTER (WHERE status = 'completed'))"
     " FROM u",
     0},
    /* A stopping worker gives its running jobs back at once instead of
     * leaving them to wait out their leases. */
    {"ingest_w_release",
     "WITH u AS (UPDATE ingest_jobs SET status = 'queued', due_at = now(), lease_owner = NULL,"
     "  lease_expires_at = NULL WHERE status = 'running' AND lease_owner = %s RETURNING job_id)" CHANGED_JOBS,
     0},
    /* Retention, a small batch at a time: never one long transaction. */
    {"ingest_w_prune",
     "WITH d AS (DELETE FROM ingest_jobs WHERE job_id IN ("
     " SELECT job_id FROM ingest_jobs WHERE status IN ('completed', 'failed')"
     " AND completed_at < now() - make_interval(days => %s::int) LIMIT 500) RETURNING job_id, storage_path)"
     " SELECT json_build_object('pruned', (SELECT count(*) FROM d),"
     "  'ids', coalesce((SELECT json_agg(job_id) FROM d), '[]'),"
     "  'files', coalesce((SELECT json_agg(storage_path) FROM d WHERE storage_path IS NOT NULL), '[]'))",
     0},
    /* A delivery older than the callback tolerance can never be replayed
     * (its timestamp is refused first), so its record can go. */
    {"ingest_w_prune_deliveries",
     "DELETE FROM ingest_webhook_deliveries WHERE webhook_id IN ("
     " SELECT webhook_id FROM ingest_webhook_deliveries"
     " WHERE received_at < now() - make_interval(secs => %s::float8) LIMIT 500)",
     0},
    /* heartbeats of servers gone for a day (a full restart names a new one) */
    {"ingest_w_prune_workers", "DELETE FROM ingest_workers WHERE last_tick < now() - interval '1 day'", 0},
    {NULL, NULL, 0},
};

/* Runs a CHANGED_JOBS statement: *n jobs changed, each forgotten by the
 * status cache (after the commit: every statement here commits alone). */
static apr_status_t exec_changing(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *label, int nargs,
                                  const char **args, int *n)
{
    json_t *res = NULL;
    apr_status_t rv = ingest_db_select_json(p, s, dbd, label, nargs, args, &res);
    ingest_cache_forget_all(s, p, json_object_get(res, "ids"));
    *n = rv == APR_SUCCESS ? (int)json_integer_value(json_object_get(res, "n")) : 0;
    return rv;
}

static const char *secs(apr_pool_t *p, apr_interval_time_t t)
{
    return apr_psprintf(p, "%.3f", (double)t / APR_USEC_PER_SEC);
}

apr_status_t ingest_store_worker_heartbeat(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *worker,
                                           const char *owner, const char *processor,
                                           apr_interval_time_t progress_age)
{
    const char *args[4] = {worker, owner, processor, secs(p, progress_age)};
    int n;
    return ingest_db_exec(p, s, dbd, "ingest_w_heartbeat", 4, args, &n);
}

apr_status_t ingest_store_worker_defer(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id,
                                       const char *owner, apr_interval_time_t delay, const char *error,
                                       int *done)
{
    const char *args[4] = {error, secs(p, delay), job_id, owner};
    apr_status_t rv = ingest_db_exec(p, s, dbd, "ingest_w_defer", 4, args, done);
    ingest_cache_forget(s, p, job_id);
    return rv;
}

apr_status_t ingest_store_worker_retry(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id,
                                       const char *owner, int max_attempts, const char *error, int *done)
{
    const char *m = apr_itoa(p, max_attempts);
    const char *args[6] = {m, error, m, m, job_id, owner};
    apr_status_t rv = ingest_db_exec(p, s, dbd, "ingest_w_retry", 6, args, done);
    ingest_cache_forget(s, p, job_id);
    return counted(rv, INGEST_M_RETRIES, *done);
}

apr_status_t ingest_store_worker_rescue(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, int batch,
                                        int max_attempts, int *rescued)
{
    const char *m = apr_itoa(p, max_attempts);
    const char *args[4] = {apr_itoa(p, batch), m, m, m};
    apr_status_t rv = exec_changing(p, s, dbd, "ingest_w_rescue", 4, args, rescued);
    return counted(rv, INGEST_M_RESCUES, *rescued);
}

apr_status_t ingest_store_worker_renew(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *owner,
                                       apr_interval_time_t lease)
{
    const char *args[3] = {secs(p, lease), owner, secs(p, lease)};
    int n;
    return ingest_db_exec(p, s, dbd, "ingest_w_renew", 3, args, &n);
}

apr_status_t ingest_store_worker_claim(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, int batch,
                                       const char *which, const char *owner, apr_interval_time_t lease,
                                       apr_interval_time_t run_for, int *claimed)
{
    const char *b = apr_itoa(p, batch);
    const char *args[7] = {
        ingest_conf_tenant_weights(ingest_sconf(s)), b, which, b, owner, secs(p, lease), secs(p, run_for)};
    apr_status_t rv = exec_changing(p, s, dbd, "ingest_w_claim", 7, args, claimed);
    return counted(rv, INGEST_M_CLAIMS, *claimed);
}

apr_status_t ingest_store_worker_due(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *owner,
                                     int batch, json_t **jobs)
{
    const char *args[2] = {owner, apr_itoa(p, batch)};
    json_t *res = NULL;
    apr_status_t rv = ingest_db_select_json(p, s, dbd, "ingest_w_due", 2, args, &res);
    *jobs = rv == APR_SUCCESS ? json_object_get(res, "jobs") : NULL;
    return rv;
}

apr_status_t ingest_store_worker_finish(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id,
                                        const char *owner, int success, const char *result_data,
                                        const char *result_url, const char *error, apr_int64_t items,
                                        int *done)
{
    const char *n = ingest_db_i64(p, items);
    const char *args[8] = {
        success ? "completed" : "failed", result_data, error, result_url, n, n, job_id, owner};
    apr_status_t rv = ingest_db_exec(p, s, dbd, "ingest_w_finish", 8, args, done);
    ingest_cache_forget(s, p, job_id);
    return counted(rv, success ? INGEST_M_FINISH_COMPLETED : INGEST_M_FINISH_FAILED, *done);
}

apr_status_t ingest_store_worker_finish_batch(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *owner,
                                              const char *outcomes, int *done)
{
    const char *args[2] = {outcomes, owner};
    json_t *res = NULL;
    apr_status_t rv = ingest_db_select_json(p, s, dbd, "ingest_w_finish_batch", 2, args, &res);
    int completed = (int)json_integer_value(json_object_get(res, "completed"));
    ingest_cache_forget_all(s, p, json_object_get(res, "ids"));
    *done = rv == APR_SUCCESS ? (int)json_integer_value(json_object_get(res, "n")) : 0;
    counted(rv, INGEST_M_FINISH_COMPLETED, completed);
    return counted(rv, INGEST_M_FINISH_FAILED, *done - completed);
}

apr_status_t ingest_store_worker_release(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *owner,
                                         int *released)
{
    const char *args[1] = {owner};
    return exec_changing(p, s, dbd, "ingest_w_release", 1, args, released);
}

apr_status_t ingest_store_worker_prune(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, int days, int *pruned,
                                       json_t **files)
{
    const char *args[1] = {apr_itoa(p, days)};
    json_t *res = NULL;
    apr_status_t rv = ingest_db_select_json(p, s, dbd, "ingest_w_prune", 1, args, &res);
    *pruned = rv == APR_SUCCESS ? (int)json_integer_value(json_object_get(res, "pruned")) : 0;
    *files = rv == APR_SUCCESS ? json_object_get(res, "files") : NULL;
    ingest_cache_forget_all(s, p, json_object_get(res, "ids"));
    return rv;
}

apr_status_t ingest_store_worker_prune_deliveries(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                                  apr_interval_time_t older_than, int *pruned)
{
    const char *args[1] = {secs(p, older_than)};
    apr_status_t rv = ingest_db_exec(p, s, dbd, "ingest_w_prune_deliveries", 1, args, pruned);
    int gone;
    if (rv == APR_SUCCESS) {
        rv = ingest_db_exec(p, s, dbd, "ingest_w_prune_workers", 0, NULL, &gone);
    }
    return rv;
}

apr_status_t ingest_store_worker_progress(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id,
                                          const char *owner, apr_int64_t processed, apr_int64_t total,
                                          apr_interval_time_t lease, int *held)
{
    const char *l = secs(p, lease);
    const char *args[9] = {l, owner,  job_id, owner, ingest_db_i64(p, processed), ingest_db_i64(p, total),
                           l, job_id, owner};
    apr_status_t rv = ingest_db_exec(p, s, dbd, "ingest_w_progress", 9, args, held);
    ingest_cache_forget(s, p, job_id);
    return rv;
}

apr_status_t ingest_store_worker_expire_uploads(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, int *expired)
{
    return exec_changing(p, s, dbd, "ingest_w_expire_uploads", 0, NULL, expired);
}
