/* The SQL of notifications when a job ends (sql/017 part B): the sender's
 * claim and record of attempts, and the tenant's view of a job's
 * deliveries and its redeliver. */

#include <apr_strings.h>

#include "mod_ingest_store.h"

/* A delivery row D as GET .../deliveries shows it, with its attempts. */
#define DELIVERY_JSON(D)                                                                                     \
    "json_build_object('webhook_id', 'msg_' || " D ".delivery_id, 'state', " D ".state,"                     \
    " 'attempts', " D ".attempts, 'next_attempt_at', ingest_ts(" D ".next_attempt_at),"                      \
    " 'delivered_at', ingest_ts(" D ".delivered_at), 'created_at', ingest_ts(" D ".created_at),"             \
    " 'attempt_log', coalesce((SELECT json_agg(json_build_object('attempt', a.attempt, 'at', "               \
    "ingest_ts(a.at),"                                                                                       \
    " 'http_status', a.http_status, 'error', a.error, 'duration_ms', a.duration_ms) ORDER BY a.attempt)"     \
    " FROM ingest_notify_attempts a WHERE a.delivery_id = " D ".delivery_id), '[]'::json))"

const ingest_stmt_t ingest_delivery_statements[] = {
    /* Due deliveries, each leased: due again after the lease unless an
     * attempt is recorded first. One statement, so claimed and committed
     * at once; SKIP LOCKED lets several hosts' senders share the table. */
    {"ingest_dlv_claim",
     "WITH c AS (SELECT delivery_id FROM ingest_notify_deliveries"
     "            WHERE state = 'pending' AND next_attempt_at <= now()"
     "            ORDER BY next_attempt_at LIMIT %s::int FOR UPDATE SKIP LOCKED),"
     " u AS (UPDATE ingest_notify_deliveries d"
     "          SET next_attempt_at = now() + make_interval(secs => %s::float8)"
     "         FROM c WHERE d.delivery_id = c.delivery_id"
     "       RETURNING d.delivery_id, d.url, d.job, d.attempts)"
     " SELECT coalesce(json_agg(json_build_object('delivery_id', u.delivery_id, 'url', u.url, 'job', u.job,"
     "                                            'attempts', u.attempts)), '[]'::json) FROM u",
     0},
    /* The attempts of one pass: [{delivery_id, attempts (as claimed),
     * delivered, http_status, error, duration_ms}]. A row is only
     * written while it is still as claimed (pending, same attempts): an
     * attempt whose lease ran out and that another sender made meanwhile
     * is recorded once. Then max attempts, backoff (s). */
    {"ingest_dlv_record",
     "WITH o AS (SELECT (e->>'delivery_id')::uuid AS delivery_id, (e->>'attempts')::int AS claimed,"
     "                  (e->>'delivered')::boolean AS delivered, (e->>'http_status')::int AS http_status,"
     "                  e->>'error' AS error, (e->>'duration_ms')::int AS duration_ms"
     "             FROM json_array_elements(%s::json) e),"
     " m AS (SELECT %s::int AS max_attempts, %s::float8 AS backoff),"
     " d AS (UPDATE ingest_notify_deliveries n"
     "          SET attempts = n.attempts + 1,"
     "              state = CASE WHEN o.delivered THEN 'delivered'"
     "                           WHEN n.attempts + 1 - n.budget_from >= m.max_attempts THEN 'failed'"
     "                           ELSE 'pending' END,"
     "              next_attempt_at = CASE WHEN o.delivered OR n.attempts + 1 - n.budget_from >= "
     "m.max_attempts"
     "                                     THEN NULL"
     "                                     ELSE now() + make_interval(secs => least(86400,"
     "                                          m.backoff * power(3, n.attempts - n.budget_from))) END,"
     "              delivered_at = CASE WHEN o.delivered THEN now() ELSE n.delivered_at END"
     "         FROM o, m"
     "        WHERE n.delivery_id = o.delivery_id AND n.attempts = o.claimed AND n.state = 'pending'"
     "       RETURNING n.delivery_id, n.attempts, n.state, o.http_status, o.error, o.duration_ms),"
     " a AS (INSERT INTO ingest_notify_attempts (delivery_id, attempt, http_status, error, duration_ms)"
     "       SELECT delivery_id, attempts, http_status, error, duration_ms FROM d"
     "       ON CONFLICT DO NOTHING RETURNING 1)"
     " SELECT json_build_object('recorded', (SELECT count(*) FROM a),"
     "   'failed', coalesce((SELECT json_agg(d.delivery_id) FROM d WHERE d.state = 'failed'), '[]'::json))",
     0},
    {"ingest_dlv_list",
     "SELECT json_build_object('job_id', j.job_id, 'notify_url', j.notify_url,"
     " 'deliveries', coalesce((SELECT json_agg(" DELIVERY_JSON(
         "d") " ORDER BY d.created_at)"
              "                          FROM ingest_notify_deliveries d WHERE d.job_id = j.job_id), "
              "'[]'::json))"
              " FROM ingest_jobs j WHERE j.job_id = %s::uuid AND j.tenant_id = %s",
     1},
    /* Pending again, due now, same id (the row of a job that ended with a
     * notify_url, or made now for one that has none, e.g. whose row an
     * operator deleted); the attempt budget starts again. */
    {"ingest_dlv_redeliver",
     "WITH j AS (SELECT x.job_id, x.tenant_id, x.notify_url, x.status, ingest_job_json(x) AS job"
     "             FROM ingest_jobs x WHERE x.job_id = %s::uuid AND x.tenant_id = %s),"
     " u AS (INSERT INTO ingest_notify_deliveries AS d (job_id, tenant_id, url, job, next_attempt_at)"
     "       SELECT j.job_id, j.tenant_id, j.notify_url, j.job, now() FROM j"
     "        WHERE j.notify_url IS NOT NULL AND j.status IN ('completed', 'failed')"
     "       ON CONFLICT (job_id) DO UPDATE SET state = 'pending', next_attempt_at = now(),"
     "                                         delivered_at = NULL, budget_from = d.attempts"
     "       RETURNING d.*)"
     " SELECT json_build_object('job_id', j.job_id, 'notify_url', j.notify_url, 'status', j.status,"
     "                          'delivery', (SELECT " DELIVERY_JSON("u") " FROM u))"
                                                                         " FROM j",
     0},
    {NULL, NULL, 0},
};

apr_status_t ingest_store_deliveries_claim(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, int batch,
                                           apr_interval_time_t lease, json_t **claimed)
{
    const char *args[2];
    args[0] = apr_itoa(p, batch);
    args[1] = apr_psprintf(p, "%.3f", (double)lease / APR_USEC_PER_SEC);
    return ingest_db_select_json(p, s, dbd, "ingest_dlv_claim", 2, args, claimed);
}

apr_status_t ingest_store_deliveries_record(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *attempts,
                                            int max_attempts, int backoff, json_t **outcome)
{
    const char *args[3];
    args[0] = attempts;
    args[1] = apr_itoa(p, max_attempts);
    args[2] = apr_itoa(p, backoff);
    return ingest_db_select_json(p, s, dbd, "ingest_dlv_record", 3, args, outcome);
}

apr_status_t ingest_store_deliveries_list(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                          const ingest_identity_t *id, const char *job_id, json_t **out)
{
    const char *args[2] = {job_id, id->tenant};
    return ingest_db_select_json(p, s, dbd, "ingest_dlv_list", 2, args, out);
}

apr_status_t ingest_store_deliveries_redeliver(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                               const ingest_identity_t *id, const char *job_id, json_t **out)
{
    const char *args[2] = {job_id, id->tenant};
    return ingest_db_select_json(p, s, dbd, "ingest_dlv_redeliver", 2, args, out);
}
