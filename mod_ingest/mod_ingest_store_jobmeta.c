/* The SQL of ML job metadata (seed 003): the worker's batch upsert, the
 * cost analytics and the jobs listing. Every statement is a tenant's. */

#include <apr_strings.h>

#include "mod_ingest_cache.h"
#include "mod_ingest_store.h"

/* Cost per model or per team over a date range: a plain sum of the
 * per-day rows, rounded to cents only for the answer. */
#define COST_BY(label, key, dim, join)                                                                       \
    {                                                                                                        \
        label,                                                                                               \
            "WITH q AS (SELECT %s::text AS tenant, %s::date AS lo, %s::date AS hi),"                         \
            " g AS (SELECT " dim " AS name, sum(c.cost_usd) AS cost, sum(c.gpu_hours) AS gpu_hours,"         \
            "   count(DISTINCT c.ml_job) AS jobs"                                                            \
            "   FROM q, ingest_ml_costs c JOIN ingest_ml_jobs j ON j.id = c.ml_job " join                    \
            "   WHERE c.tenant_id = q.tenant AND (q.lo IS NULL OR c.day >= q.lo) AND (q.hi IS NULL OR "      \
            "c.day <= q.hi)"                                                                                 \
            "   GROUP BY 1)"                                                                                 \
            " SELECT json_build_object('total_cost_usd', coalesce(round(sum(cost), 2), 0),"                  \
            "  'results', coalesce(json_agg(json_build_object('" key                                         \
            "', name, 'total_cost_usd', round(cost, 2),"                                                     \
            "    'gpu_hours', round(gpu_hours, 2), 'job_count', jobs) ORDER BY round(cost, 2) DESC, name), " \
            "'[]'))"                                                                                         \
            " FROM g",                                                                                       \
            1                                                                                                \
    }

const ingest_stmt_t ingest_jobmeta_statements[] = {
    /* One batch of records, under the ingestion's lease (the row lock is
     * taken first): teams by name, jobs by (tenant, job_id), each changed
     * job's days, every record's result, and the ingestion's counts. A job
     * whose values did not change is not written (its updated_at stays);
     * within a batch the later record of a job_id wins. */
    {"ingest_w_jobmeta_batch",
     "WITH lease AS (SELECT job_id, tenant_id FROM ingest_jobs"
     "   WHERE job_id = %s::uuid AND status = 'running' AND lease_owner = %s FOR UPDATE),"
     " r AS (SELECT x.* FROM lease, json_to_recordset(%s::json) AS x(idx int, ok boolean, job_id text, team "
     "text,"
     "   model_name text, gpu_type text, provider text, status text, started_at timestamptz,"
     "   ended_at timestamptz, gpu_hours numeric, cost_usd numeric, error text, days json)),"
     " good AS (SELECT DISTINCT ON (job_id) * FROM r WHERE ok ORDER BY job_id, idx DESC),"
     " teams AS (INSERT INTO ingest_ml_teams AS t (tenant_id, name)"
     "   SELECT DISTINCT lease.tenant_id, good.team FROM lease, good ORDER BY 2"
     "   ON CONFLICT (tenant_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING t.team_id, t.name),"
     " jobs AS (INSERT INTO ingest_ml_jobs AS m (tenant_id, job_id, team_id, model_name, gpu_type, provider,"
     "   status, started_at, ended_at, gpu_hours, cost_usd, ingestion_id)"
     "   SELECT lease.tenant_id, g.job_id, teams.team_id, g.model_name, g.gpu_type, g.provider, g.status,"
     "     g.started_at, g.ended_at, g.gpu_hours, g.cost_usd, lease.job_id"
     "   FROM lease, good g JOIN teams ON teams.name = g.team ORDER BY g.job_id"
     "   ON CONFLICT (tenant_id, job_id) DO UPDATE SET team_id = EXCLUDED.team_id,"
     "     model_name = EXCLUDED.model_name, gpu_type = EXCLUDED.gpu_type, provider = EXCLUDED.provider,"
     "     status = EXCLUDED.status, started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at,"
     "     gpu_hours = EXCLUDED.gpu_hours, cost_usd = EXCLUDED.cost_usd, ingestion_id = EXCLUDED.ingestion_id"
     "   WHERE (m.team_id, m.model_name, m.gpu_type, m.provider, m.status, m.started_at, m.ended_at,"
     "          m.gpu_hours, m.cost_usd)"
     "     IS DISTINCT FROM (EXCLUDED.team_id, EXCLUDED.model_name, EXCLUDED.gpu_type, EXCLUDED.provider,"
     "          EXCLUDED.status, EXCLUDED.started_at, EXCLUDED.ended_at, EXCLUDED.gpu_hours, "
     "EXCLUDED.cost_usd)"
     "   RETURNING m.id, m.job_id),"
     " days AS (SELECT jobs.id AS ml_job, d.day, d.cost_usd, d.gpu_hours FROM jobs JOIN good g USING "
     "(job_id),"
     "   json_to_recordset(g.days) AS d(day date, cost_usd numeric, gpu_hours numeric)),"
     " gone AS (DELETE FROM ingest_ml_costs c USING jobs WHERE c.ml_job = jobs.id"
     "   AND NOT EXISTS (SELECT 1 FROM days WHERE days.ml_job = c.ml_job AND days.day = c.day)),"
     " costs AS (INSERT INTO ingest_ml_costs (ml_job, tenant_id, day, cost_usd, gpu_hours)"
     "   SELECT days.ml_job, lease.tenant_id, days.day, days.cost_usd, days.gpu_hours FROM days, lease"
     "   ON CONFLICT (ml_job, day) DO UPDATE SET cost_usd = EXCLUDED.cost_usd, gpu_hours = "
     "EXCLUDED.gpu_hours),"
     " items AS (INSERT INTO ingest_job_items AS i (job_id, idx, item_id, status, error, processed_at)"
     "   SELECT lease.job_id, r.idx, r.job_id, CASE WHEN r.ok THEN 'success' ELSE 'failed' END, r.error, "
     "now()"
     "   FROM r, lease"
     "   ON CONFLICT (job_id, idx) DO UPDATE SET item_id = EXCLUDED.item_id, status = EXCLUDED.status,"
     "     error = EXCLUDED.error, processed_at = EXCLUDED.processed_at),"
     " counts AS (UPDATE ingest_jobs j SET processed_items = %s::bigint, failed_items = %s::bigint,"
     "   total_items = %s::bigint, lease_expires_at = now() + make_interval(secs => %s::float8)"
     "   FROM lease WHERE j.job_id = lease.job_id)"
     " SELECT json_build_object('held', EXISTS (SELECT 1 FROM lease), 'changed', (SELECT count(*) FROM "
     "jobs))",
     0},
    COST_BY("ingest_ml_cost_by_model", "model_name", "j.model_name", ""),
    COST_BY("ingest_ml_cost_by_team", "team", "t.name", "JOIN ingest_ml_teams t ON t.team_id = j.team_id"),
    {"ingest_ml_jobs",
     "WITH q AS (SELECT %s::text AS tenant, %s::text AS team, %s::text AS model_name, %s::text AS status,"
     "   %s::text AS provider, %s::text AS gpu_type),"
     " f AS NOT MATERIALIZED (SELECT j, t.name AS team FROM q, ingest_ml_jobs j JOIN ingest_ml_teams t USING "
     "(team_id)"
     "   WHERE j.tenant_id = q.tenant AND (q.team IS NULL OR t.name = q.team)"
     "     AND (q.model_name IS NULL OR j.model_name = q.model_name) AND (q.status IS NULL OR j.status = "
     "q.status)"
     "     AND (q.provider IS NULL OR j.provider = q.provider) AND (q.gpu_type IS NULL OR j.gpu_type = "
     "q.gpu_type))"
     " SELECT json_build_object('total', (SELECT count(*) FROM f),"
     "  'jobs', coalesce((SELECT json_agg(ingest_ml_job_json(pg.j, pg.team)"
     "      ORDER BY (pg.j).started_at DESC, (pg.j).job_id)"
     "    FROM (SELECT * FROM f ORDER BY (j).started_at DESC, (j).job_id LIMIT %s::int OFFSET %s::bigint) "
     "pg),"
     "   '[]'::json))",
     1},
    {NULL, NULL, 0},
};

apr_status_t ingest_store_jobmeta_batch(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id,
                                        const char *owner, const char *rows_json, apr_int64_t processed,
                                        apr_int64_t failed, apr_int64_t total, apr_interval_time_t lease,
                                        int *held, apr_int64_t *changed)
{
    const char *args[7] = {job_id,
                           owner,
                           rows_json,
                           ingest_db_i64(p, processed),
                           ingest_db_i64(p, failed),
                           ingest_db_i64(p, total),
                           apr_psprintf(p, "%.3f", (double)lease / APR_USEC_PER_SEC)};
    json_t *res = NULL;
    apr_status_t rv = ingest_db_select_json(p, s, dbd, "ingest_w_jobmeta_batch", 7, args, &res);
    ingest_cache_forget(s, p, job_id);

    *held = rv == APR_SUCCESS && json_is_true(json_object_get(res, "held"));
    *changed = rv == APR_SUCCESS ? json_integer_value(json_object_get(res, "changed")) : 0;
    return rv;
}

apr_status_t ingest_store_ml_cost(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                                  int by_team, const char *start, const char *end, json_t **out)
{
    const char *args[3] = {id->tenant, start, end};
    return ingest_db_select_json(p, s, dbd, by_team ? "ingest_ml_cost_by_team" : "ingest_ml_cost_by_model", 3,
                                 args, out);
}

apr_status_t ingest_store_ml_jobs(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                                  const ingest_ml_jobs_req_t *req, json_t **page)
{
    const char *args[8] = {
        id->tenant,    req->team,     req->model_name,         req->status,
        req->provider, req->gpu_type, apr_itoa(p, req->limit), ingest_db_i64(p, req->skip)};
    return ingest_db_select_json(p, s, dbd, "ingest_ml_jobs", 8, args, page);
}
