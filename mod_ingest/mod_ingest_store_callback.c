/* The pipeline callback's SQL: the transition an external pipeline
 * reports, and the record of the delivery that makes a replay harmless. */

#include <apr_strings.h>

#include "mod_ingest_cache.h"
#include "mod_ingest_store.h"

const ingest_stmt_t ingest_callback_statements[] = {
    {"ingest_cb_delivery",
     "SELECT json_build_object('http_status', http_status, 'response', response)"
     " FROM ingest_webhook_deliveries WHERE webhook_id = %s",
     1},
    /* One statement, so the job's change and the delivery's record commit
     * together or not at all. The job row is locked first: a concurrent
     * worker step or callback waits, then this sees the status it left.
     * A second delivery of the same webhook-id racing this one violates the
     * primary key and changes nothing; the caller then replays the first. */
    {"ingest_cb_apply",
     "WITH j AS (SELECT job_id, status FROM ingest_jobs WHERE job_id = %s::uuid FOR UPDATE),"
     " upd AS ("
     "  UPDATE ingest_jobs t SET"
     "   status = %s::text::ingest_job_status,"
     "   processed_items = coalesce(%s::bigint, t.processed_items),"
     "   total_items = coalesce(%s::bigint, t.total_items),"
     "   result_url = coalesce(%s, t.result_url),"
     "   result_data = coalesce(%s::jsonb, t.result_data),"
     "   error = coalesce(%s, CASE WHEN %s = 'failed' THEN 'the pipeline reported a failure' END, t.error),"
     "   started_at = coalesce(t.started_at, now()),"
     "   completed_at = CASE WHEN %s IN ('completed', 'failed') THEN now() END,"
     "   lease_owner = CASE WHEN %s = 'running' THEN 'external' END,"
     "   lease_expires_at = CASE WHEN %s = 'running' THEN"
     "     CASE WHEN t.lease_owner = 'external' AND t.lease_expires_at IS NOT NULL THEN t.lease_expires_at"
     "          ELSE now() + make_interval(secs => %s::float8) END END"
     "  FROM j WHERE t.job_id = j.job_id AND j.status IN ('pending', 'queued', 'running')"
     "  RETURNING ingest_job_json(t) AS doc),"
     " outcome AS (SELECT CASE WHEN EXISTS (SELECT 1 FROM upd) THEN 200"
     "                         WHEN EXISTS (SELECT 1 FROM j) THEN 409 ELSE 404 END AS code),"
     " rec AS ("
     "  INSERT INTO ingest_webhook_deliveries (webhook_id, job_id, http_status, response)"
     "  SELECT %s, %s::uuid, o.code, CASE o.code WHEN 200 THEN (SELECT doc FROM upd)"
     "   WHEN 409 THEN json_build_object('status', (SELECT status FROM j)) END"
     "  FROM outcome o WHERE %s::text IS NOT NULL RETURNING 1)"
     " SELECT json_build_object('http_status', (SELECT code FROM outcome), 'response',"
     "  CASE (SELECT code FROM outcome) WHEN 200 THEN (SELECT doc FROM upd)"
     "   WHEN 409 THEN json_build_object('status', (SELECT status FROM j)) END,"
     "  'recorded', (SELECT count(*) FROM rec))",
     0},
    {NULL, NULL, 0},
};

apr_status_t ingest_store_callback_delivery(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                            const char *webhook_id, json_t **delivery)
{
    const char *args[1] = {webhook_id};
    return ingest_db_select_json(p, s, dbd, "ingest_cb_delivery", 1, args, delivery);
}

apr_status_t ingest_store_callback_apply(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *webhook_id,
                                         const ingest_callback_t *cb, apr_interval_time_t deadline,
                                         json_t **outcome)
{
    const char *st = ingest_status_name(cb->status);
    const char *args[15];

    args[0] = cb->job_id;
    args[1] = st;
    args[2] = cb->has_processed ? ingest_db_i64(p, cb->processed) : NULL;
    args[3] = cb->has_total ? ingest_db_i64(p, cb->total) : NULL;
    args[4] = cb->result_url;
    args[5] = cb->result_data;
    args[6] = cb->error;
    args[7] = st;
    args[8] = st;
    args[9] = st;
    args[10] = st;
    args[11] = apr_psprintf(p, "%.3f", (double)deadline / APR_USEC_PER_SEC);
    args[12] = webhook_id;
    args[13] = cb->job_id;
    args[14] = webhook_id;
    apr_status_t rv = ingest_db_select_json(p, s, dbd, "ingest_cb_apply", 15, args, outcome);
    ingest_cache_forget(s, p, cb->job_id);
    return rv;
}
