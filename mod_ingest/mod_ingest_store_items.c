/* The SQL of per-item results: paging through them, and the worker's
 * batch step over a mappings job. */

#include <apr_strings.h>

#include "mod_ingest_metrics.h"
#include "mod_ingest_cache.h"
#include "mod_ingest_store.h"

const ingest_stmt_t ingest_item_statements[] = {
    {"ingest_items_page",
     "WITH job AS (SELECT job_id, status, total_items, processed_items, failed_items FROM ingest_jobs"
     "   WHERE job_id = %s::uuid AND tenant_id = %s),"
     " f AS NOT MATERIALIZED (SELECT i AS row, i.idx FROM ingest_job_items i JOIN job USING (job_id)"
     "   WHERE %s::text IS NULL OR i.status = %s)"
     " SELECT json_build_object('exists', EXISTS (SELECT 1 FROM job), 'total', (SELECT count(*) FROM f),"
     "  'job', (SELECT json_build_object('status', status, 'total_items', total_items,"
     "    'processed_items', processed_items, 'failed_items', failed_items) FROM job),"
     "  'results', coalesce((SELECT json_agg(ingest_item_json(pg.row) ORDER BY pg.idx)"
     "    FROM (SELECT * FROM f ORDER BY idx LIMIT %s::int OFFSET %s::bigint) pg), '[]'::json))",
     1},
    {"ingest_w_items_pending",
     "SELECT json_build_object('items', coalesce(json_agg(json_build_object('idx', idx, 'id', item_id,"
     "  'target', target) ORDER BY idx), '[]'))"
     " FROM (SELECT idx, item_id, target FROM ingest_job_items WHERE job_id = %s::uuid AND status = 'pending'"
     "       ORDER BY idx LIMIT %s::int) x",
     1},
    /* One batch's results, the job's counts and, after the last batch, its
     * end: one statement, under the job's lease (the row lock is taken
     * first, so nothing moves the job meanwhile). */
    {"ingest_w_items_apply",
     "WITH lease AS (SELECT job_id, total_items FROM ingest_jobs"
     "   WHERE job_id = %s::uuid AND status = 'running' AND lease_owner = %s FOR UPDATE),"
     " upd AS (UPDATE ingest_job_items i SET status = r.status, error = r.error, processed_at = now()"
     "   FROM json_to_recordset(%s::json) AS r(idx int, status text, error text), lease"
     "   WHERE i.job_id = lease.job_id AND i.idx = r.idx AND i.status = 'pending' RETURNING i.status),"
     " c AS (SELECT"
     "   (SELECT count(*) FROM ingest_job_items i, lease WHERE i.job_id = lease.job_id AND i.status <> "
     "'pending')"
     "     + (SELECT count(*) FROM upd) AS done,"
     "   (SELECT count(*) FROM ingest_job_items i, lease WHERE i.job_id = lease.job_id AND i.status = "
     "'failed')"
     "     + (SELECT count(*) FROM upd WHERE status = 'failed') AS failed),"
     " job AS (UPDATE ingest_jobs j SET processed_items = c.done, failed_items = c.failed,"
     "   status = CASE WHEN c.done < lease.total_items THEN 'running'::ingest_job_status"
     "                 WHEN c.failed = lease.total_items THEN 'failed'::ingest_job_status"
     "                 ELSE 'completed'::ingest_job_status END,"
     "   error = CASE WHEN c.done >= lease.total_items AND c.failed = lease.total_items"
     "                THEN 'all ' || c.failed || ' mappings failed' ELSE j.error END,"
     "   result_data = CASE WHEN c.done >= lease.total_items THEN json_build_object('mappings', "
     "lease.total_items,"
     "                 'succeeded', c.done - c.failed, 'failed', c.failed,"
     "                 'results_url', '/api/ingest/status/' || j.job_id || '/results')::jsonb END,"
     "   completed_at = CASE WHEN c.done >= lease.total_items THEN now() END,"
     "   lease_owner = CASE WHEN c.done >= lease.total_items THEN NULL ELSE j.lease_owner END,"
     "   lease_expires_at = CASE WHEN c.done >= lease.total_items THEN NULL ELSE j.lease_expires_at END,"
     "   due_at = now() + make_interval(secs => %s::float8)"
     "   FROM lease, c WHERE j.job_id = lease.job_id RETURNING j.status)"
     " SELECT json_build_object('status', (SELECT status FROM job), 'applied', (SELECT count(*) FROM upd))",
     0},
    {NULL, NULL, 0},
};

apr_status_t ingest_store_items_page(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                                     const char *job_id, const char *status, int limit, apr_int64_t offset,
                                     json_t **page)
{
    const char *args[6];
    args[0] = job_id;
    args[1] = id->tenant;
    args[2] = status;
    args[3] = status;
    args[4] = apr_itoa(p, limit);
    args[5] = ingest_db_i64(p, offset);
    return ingest_db_select_json(p, s, dbd, "ingest_items_page", 6, args, page);
}

apr_status_t ingest_store_items_pending(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id,
                                        int limit, json_t **items)
{
    const char *args[2] = {job_id, apr_itoa(p, limit)};
    json_t *res = NULL;
    apr_status_t rv = ingest_db_select_json(p, s, dbd, "ingest_w_items_pending", 2, args, &res);
    *items = rv == APR_SUCCESS ? json_object_get(res, "items") : NULL;
    return rv;
}

apr_status_t ingest_store_items_apply(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id,
                                      const char *owner, const char *results_json,
                                      apr_interval_time_t next_in, json_t **outcome)
{
    const char *args[4] = {job_id, owner, results_json,
                           apr_psprintf(p, "%.3f", (double)next_in / APR_USEC_PER_SEC)};
    apr_status_t rv = ingest_db_select_json(p, s, dbd, "ingest_w_items_apply", 4, args, outcome);
    const char *status = rv == APR_SUCCESS ? json_string_value(json_object_get(*outcome, "status")) : NULL;
    /* the statement that ends a mappings job: a worker's finish */
    if (status && !strcmp(status, "completed")) {
        ingest_metrics_inc(INGEST_M_FINISH_COMPLETED);
    } else if (status && !strcmp(status, "failed")) {
        ingest_metrics_inc(INGEST_M_FINISH_FAILED);
    }
    ingest_cache_forget(s, p, job_id);
    return rv;
}
