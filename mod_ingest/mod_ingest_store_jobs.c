#include <apr_strings.h>

#include "mod_ingest_cache.h"
#include "mod_ingest_store.h"

/* The listing filter, shared by the count and the page: status and user
 * are optional (NULL matches all), each passed twice because apr_dbd
 * numbers placeholders by position. */
#define LIST_FILTER                                                                                          \
    " j.tenant_id = %s"                                                                                      \
    " AND (%s::text IS NULL OR j.status = %s::text::ingest_job_status)"                                      \
    " AND (%s::text IS NULL OR j.user_id = %s)"

const ingest_stmt_t ingest_job_statements[] = {
    {"ingest_job_create",
     /* ON CONFLICT waits for a concurrent insert of the same key and then
      * does nothing; the second SELECT finds that job unless it committed
      * after this statement's snapshot, which the caller retries. */
     "WITH ins AS ("
     " INSERT INTO ingest_jobs (tenant_id, user_id, source_type, filename, file_type, file_size,"
     "                          idempotency_key, upload_expires_at, status, due_at)"
     " VALUES (%s, %s, %s, %s, %s, %s::bigint, %s, now() + make_interval(secs => %s::int),"
     "         %s::text::ingest_job_status, now() + make_interval(secs => %s::float8))"
     " ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"
     " RETURNING ingest_job_json(ingest_jobs) AS job, upload_expires_at)"
     " SELECT json_build_object('created', true, 'job', ins.job,"
     "                           'expires', floor(extract(epoch FROM ins.upload_expires_at))::bigint) FROM "
     "ins"
     " UNION ALL"
     " SELECT json_build_object('created', false, 'job', ingest_job_json(j),"
     "                           'expires', floor(extract(epoch FROM j.upload_expires_at))::bigint) FROM "
     "ingest_jobs j"
     "  WHERE j.tenant_id = %s AND j.idempotency_key = %s AND NOT EXISTS (SELECT 1 FROM ins)",
     0},
    {"ingest_job_get",
     "SELECT ingest_job_json(j) FROM ingest_jobs j WHERE j.job_id = %s::uuid AND j.tenant_id = %s", 1},
    {"ingest_job_list",
     "WITH f AS NOT MATERIALIZED (SELECT j AS row, j.created_at, j.job_id FROM ingest_jobs j "
     "WHERE" LIST_FILTER ")"
     " SELECT json_build_object("
     /* the tenant's counts (sql/006), unless only the user's jobs count */
     "  'total', CASE WHEN %s::text IS NULL THEN ingest_job_count(%s, %s::text::ingest_job_status)"
     "                ELSE (SELECT count(*) FROM f) END,"
     "  'jobs', coalesce((SELECT json_agg(ingest_job_json(pg.row) ORDER BY pg.created_at DESC, pg.job_id "
     "DESC)"
     "                    FROM (SELECT * FROM f ORDER BY created_at DESC, job_id DESC"
     "                          LIMIT %s::int OFFSET %s::bigint) pg), '[]'::json))",
     1},
    /* from the counts the triggers keep (sql/006): a few rows, however
     * many jobs the tenant has */
    {"ingest_job_stats",
     "SELECT json_build_object('total', coalesce(sum(n), 0)::bigint,"
     " 'pending', coalesce(sum(n) FILTER (WHERE status = 'pending'), 0)::bigint,"
     " 'queued', coalesce(sum(n) FILTER (WHERE status = 'queued'), 0)::bigint,"
     " 'running', coalesce(sum(n) FILTER (WHERE status = 'running'), 0)::bigint,"
     " 'completed', coalesce(sum(n) FILTER (WHERE status = 'completed'), 0)::bigint,"
     " 'failed', coalesce(sum(n) FILTER (WHERE status = 'failed'), 0)::bigint)"
     " FROM ingest_job_counts WHERE tenant_id = %s",
     1},
    {"ingest_health_ping",
     "WITH w AS (SELECT * FROM ingest_workers WHERE worker = %s)"
     " SELECT json_build_object('schema_version', (SELECT max(version) FROM schema_migrations),"
     " 'queued', (SELECT count(*) FROM ingest_jobs WHERE status = 'queued'),"
     " 'running', (SELECT count(*) FROM ingest_jobs WHERE status = 'running'),"
     " 'worker_age_ms', (SELECT (extract(epoch FROM now() - last_tick) * 1000)::bigint FROM w),"
     " 'worker_progress_age_ms', (SELECT (extract(epoch FROM now() - last_progress) * 1000)::bigint FROM w),"
     " 'due_waiting', EXISTS (SELECT 1 FROM ingest_jobs WHERE status = 'queued'"
     "                        AND due_at < now() - make_interval(secs => %s::float8))"
     "             OR EXISTS (SELECT 1 FROM ingest_jobs WHERE status = 'running'"
     "                        AND lease_owner = (SELECT lease_owner FROM w)"
     "                        AND due_at < now() - make_interval(secs => %s::float8)))",
     1},
    {"ingest_job_delete",
     "WITH d AS (DELETE FROM ingest_jobs WHERE job_id = %s::uuid AND tenant_id = %s RETURNING storage_path)"
     " SELECT json_build_object('storage_path', storage_path) FROM d",
     0},
    {NULL, NULL, 0},
};

apr_status_t ingest_store_job_create(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                                     const ingest_init_req_t *req, const char *idempotency_key,
                                     int upload_ttl, const char *status, apr_interval_time_t due_in,
                                     json_t **job, int *created, apr_int64_t *expires)
{
    const char *args[12];
    json_t *res = NULL;
    apr_status_t rv = APR_NOTFOUND;
    int attempt;

    args[0] = id->tenant;
    args[1] = id->user;
    args[2] = req->source_type;
    args[3] = req->filename;
    args[4] = req->file_type;
    args[5] = apr_psprintf(p, "%" APR_INT64_T_FMT, req->file_size);
    args[6] = idempotency_key;
    args[7] = apr_itoa(p, upload_ttl);
    args[8] = status;
    args[9] = apr_psprintf(p, "%.3f", (double)due_in / APR_USEC_PER_SEC);
    args[10] = id->tenant;
    args[11] = idempotency_key;

    /* No row means a concurrent request with the same key committed its
     * job after our snapshot was taken: a fresh snapshot sees it. */
    for (attempt = 0; attempt < 3 && rv == APR_NOTFOUND; ++attempt) {
        rv = ingest_db_select_json(p, s, dbd, "ingest_job_create", 12, args, &res);
    }
    if (rv != APR_SUCCESS) {
        return rv == APR_NOTFOUND ? INGEST_EDB_QUERY : rv;
    }
    *job = json_object_get(res, "job");
    *created = json_is_true(json_object_get(res, "created"));
    *expires = json_integer_value(json_object_get(res, "expires"));
    return *job ? APR_SUCCESS : INGEST_EDB_QUERY;
}

apr_status_t ingest_store_job_get(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                                  const char *job_id, json_t **job)
{
    const char *args[2] = {job_id, id->tenant};
    return ingest_db_select_json(p, s, dbd, "ingest_job_get", 2, args, job);
}

apr_status_t ingest_store_job_list(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                                   const ingest_list_req_t *req, json_t **page)
{
    const char *status = req->has_status ? ingest_status_name(req->status) : NULL;
    const char *user = req->mine ? id->user : NULL;
    const char *args[10];

    args[0] = id->tenant;
    args[1] = status;
    args[2] = status;
    args[3] = user;
    args[4] = user;
    args[5] = user;
    args[6] = id->tenant;
    args[7] = status;
    args[8] = apr_itoa(p, req->limit);
    args[9] = apr_psprintf(p, "%" APR_INT64_T_FMT, req->offset);
    return ingest_db_select_json(p, s, dbd, "ingest_job_list", 10, args, page);
}

apr_status_t ingest_store_job_stats(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                                    json_t **stats)
{
    const char *args[1] = {id->tenant};
    return ingest_db_select_json(p, s, dbd, "ingest_job_stats", 1, args, stats);
}

apr_status_t ingest_store_job_delete(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                                     const char *job_id, const char **storage_path)
{
    const char *args[2] = {job_id, id->tenant};
    json_t *res = NULL;
    apr_status_t rv = ingest_db_select_json(p, s, dbd, "ingest_job_delete", 2, args, &res);
    ingest_cache_forget(s, p, job_id);
    *storage_path = rv == APR_SUCCESS ? json_string_value(json_object_get(res, "storage_path")) : NULL;
    return rv;
}

apr_status_t ingest_store_ping(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *worker,
                               apr_interval_time_t window, json_t **health)
{
    const char *w = apr_psprintf(p, "%.3f", (double)window / APR_USEC_PER_SEC);
    const char *args[3] = {worker ? worker : "", w, w};
    return ingest_db_select_json(p, s, dbd, "ingest_health_ping", 3, args, health);
}
