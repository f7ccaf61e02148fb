#include <apr_strings.h>

#include "mod_ingest_cache.h"
#include "mod_ingest_store.h"

/* The listing: one statement per filter (none, status, user, both) and per
 * way in (the first page, after a cursor's row, at an offset), so that each
 * is a plain range of one of sql/001's (tenant_id, [status | user_id,]
 * created_at DESC, job_id DESC) indexes. (One statement with optional
 * predicates, "$2 IS NULL OR status = $2", has no good generic plan, so
 * PostgreSQL planned it afresh on every call, inlining ingest_job_json's
 * body each time.) A page takes limit + 1 rows, the extra one saying
 * whether there is a next page, and answers {"total", "jobs", "keys"}: keys
 * are the rows' created_at in microseconds, for the cursor.
 *
 * The first page and the page after a cursor read at most
 * INGEST_LIST_LIMIT_MAX + 1 rows in an inner LIMIT of that constant: the
 * planner then costs their generic plan by it, not by a tenth of the
 * tenant's rows (its guess for "LIMIT $n"), so the plan is made once per
 * session and reused. An offset page cannot be capped so and is planned
 * per call.
 *
 * Placeholders, in order: the total's, tenant, the filter's, the cursor's
 * (created_at, job_id), limit + 1, offset. */
#define STR_(x) #x
#define STR(x)  STR_(x)
#define LIST_SELECT(TOTAL)                                                                                   \
    "SELECT json_build_object('total', " TOTAL ","                                                           \
    " 'jobs', coalesce(json_agg(ingest_job_json(p.j) ORDER BY p.created_at DESC, p.job_id DESC), "           \
    "'[]'::json),"                                                                                           \
    " 'keys', coalesce(json_agg((extract(epoch FROM p.created_at) * 1000000)::bigint"                        \
    "                           ORDER BY p.created_at DESC, p.job_id DESC), '[]'::json)) FROM "
#define LIST_ROWS(FILTER) "(SELECT j, j.created_at, j.job_id FROM ingest_jobs j WHERE j.tenant_id = %s" FILTER
#define NEWEST_FIRST(T)   " ORDER BY " T ".created_at DESC, " T ".job_id DESC"
#define LIST_CAPPED(TOTAL, FILTER, AFTER)                                                                    \
    LIST_SELECT(TOTAL)                                                                                       \
    "(SELECT * FROM " LIST_ROWS(FILTER) AFTER NEWEST_FIRST("j") " LIMIT " STR(                               \
        INGEST_LIST_LIMIT_MAX) " + 1) c" NEWEST_FIRST("c") " LIMIT %s::int) p"
#define LIST_OFFSET(TOTAL, FILTER)                                                                           \
    LIST_SELECT(TOTAL) LIST_ROWS(FILTER) NEWEST_FIRST("j") " LIMIT %s::int OFFSET %s::bigint) p"
/* the tenant's counts (sql/006), summed here rather than by calling
 * ingest_job_count(): a SQL function with a FROM clause is never inlined,
 * and PostgreSQL parses and plans its body again on every call; only a
 * user's own jobs are counted */
#define TOTAL_ALL "(SELECT coalesce(sum(c.n), 0)::bigint FROM ingest_job_counts c WHERE c.tenant_id = %s)"
#define TOTAL_S                                                                                              \
    "(SELECT coalesce(sum(c.n), 0)::bigint FROM ingest_job_counts c WHERE c.tenant_id = %s"                  \
    " AND c.status = %s::ingest_job_status)"
#define TOTAL_U "(SELECT count(*) FROM ingest_jobs c WHERE c.tenant_id = %s AND c.user_id = %s)"
#define TOTAL_SU                                                                                             \
    "(SELECT count(*) FROM ingest_jobs c WHERE c.tenant_id = %s AND c.status = %s::ingest_job_status"        \
    " AND c.user_id = %s)"
#define BY_S  " AND j.status = %s::ingest_job_status"
#define BY_U  " AND j.user_id = %s"
#define AFTER " AND (j.created_at, j.job_id) < (%s::timestamptz, %s::uuid)"

/* by index: 1 = status filter, 2 = user filter; 0 = first page, 4 = after
 * a cursor, 8 = at an offset */
static const char *const list_labels[12] = {
    "ingest_job_list",          "ingest_job_list_s",        "ingest_job_list_u",
    "ingest_job_list_su",       "ingest_job_list_after",    "ingest_job_list_s_after",
    "ingest_job_list_u_after",  "ingest_job_list_su_after", "ingest_job_list_offset",
    "ingest_job_list_s_offset", "ingest_job_list_u_offset", "ingest_job_list_su_offset",
};

/* POST init's row; placeholders: tenant, user, source_type, filename,
 * file_type, file_size, idempotency key, upload TTL (s), status, due in (s),
 * record schema, on_bad_record, notify_url */
#define JOB_INSERT                                                                                           \
    " INSERT INTO ingest_jobs (tenant_id, user_id, source_type, filename, file_type, file_size,"             \
    "                          idempotency_key, upload_expires_at, status, due_at, record_schema,"           \
    "                          on_bad_record, notify_url)"                                                   \
    " VALUES (%s, %s, %s, %s, %s, %s::bigint, %s, now() + make_interval(secs => %s::int),"                   \
    "         %s::text::ingest_job_status, now() + make_interval(secs => %s::float8), %s::jsonb, %s, %s)"
/* {"created", "job", "expires"} of a job row R shown as JOB */
#define JOB_CREATED(CREATED, JOB, R)                                                                         \
    "json_build_object('created', " CREATED ", 'job', " JOB ","                                              \
    " 'expires', floor(extract(epoch FROM " R ".upload_expires_at))::bigint)"
#define CREATED_NEW JOB_CREATED("true", "ins.job", "ins")
#define CREATED_OLD JOB_CREATED("false", "ingest_job_json(j)", "j")

const ingest_stmt_t ingest_job_statements[] = {
    {"ingest_job_create",
     /* ON CONFLICT waits for a concurrent insert of the same key and then
      * does nothing; the second SELECT finds that job unless it committed
      * after this statement's snapshot, which the caller retries. */
     "WITH ins AS (" JOB_INSERT " ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL"
     " DO NOTHING RETURNING ingest_job_json(ingest_jobs) AS job, upload_expires_at)"
     " SELECT " CREATED_NEW " FROM ins"
     " UNION ALL"
     " SELECT " CREATED_OLD " FROM ingest_jobs j"
     "  WHERE j.tenant_id = %s AND j.idempotency_key = %s AND NOT EXISTS (SELECT 1 FROM ins)",
     0},
    /* without an Idempotency-Key (most requests) nothing can conflict: the
     * plain INSERT, ~15 % more inserts/s than the CTE above in pgbench */
    {"ingest_job_create_nokey",
     JOB_INSERT " RETURNING " JOB_CREATED("true", "ingest_job_json(ingest_jobs)", "ingest_jobs"), 0},
    {"ingest_job_get",
     "SELECT ingest_job_json(j) FROM ingest_jobs j WHERE j.job_id = %s::uuid AND j.tenant_id = %s", 1},
    {"ingest_job_list", LIST_CAPPED(TOTAL_ALL, "", ""), 1},
    {"ingest_job_list_s", LIST_CAPPED(TOTAL_S, BY_S, ""), 1},
    {"ingest_job_list_u", LIST_CAPPED(TOTAL_U, BY_U, ""), 1},
    {"ingest_job_list_su", LIST_CAPPED(TOTAL_SU, BY_S BY_U, ""), 1},
    {"ingest_job_list_after", LIST_CAPPED(TOTAL_ALL, "", AFTER), 1},
    {"ingest_job_list_s_after", LIST_CAPPED(TOTAL_S, BY_S, AFTER), 1},
    {"ingest_job_list_u_after", LIST_CAPPED(TOTAL_U, BY_U, AFTER), 1},
    {"ingest_job_list_su_after", LIST_CAPPED(TOTAL_SU, BY_S BY_U, AFTER), 1},
    {"ingest_job_list_offset", LIST_OFFSET(TOTAL_ALL, ""), 1},
    {"ingest_job_list_s_offset", LIST_OFFSET(TOTAL_S, BY_S), 1},
    {"ingest_job_list_u_offset", LIST_OFFSET(TOTAL_U, BY_U), 1},
    {"ingest_job_list_su_offset", LIST_OFFSET(TOTAL_SU, BY_S BY_U), 1},
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
    const char *args[15];
    json_t *res = NULL;
    apr_status_t rv = APR_NOTFOUND;
    int attempt;

    args[0] = id->tenant;
    args[1] = id->user;
    args[2] = req->source_type;
    args[3] = req->filename;
    args[4] = req->file_type;
    args[5] = ingest_db_i64(p, req->file_size);
    args[6] = idempotency_key;
    args[7] = apr_itoa(p, upload_ttl);
    args[8] = status;
    args[9] = apr_psprintf(p, "%.3f", (double)due_in / APR_USEC_PER_SEC);
    args[10] = req->schema;
    args[11] = req->on_bad_record;
    args[12] = req->notify_url;
    args[13] = id->tenant;
    args[14] = idempotency_key;

    /* No row means a concurrent request with the same key committed its
     * job after our snapshot was taken: a fresh snapshot sees it. */
    for (attempt = 0; attempt < 3 && rv == APR_NOTFOUND; ++attempt) {
        rv = idempotency_key ? ingest_db_select_json(p, s, dbd, "ingest_job_create", 15, args, &res)
                             : ingest_db_select_json(p, s, dbd, "ingest_job_create_nokey", 13, args, &res);
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
    const char *next = NULL;
    json_t *jobs, *keys, *last;
    apr_status_t rv;
    int n = 0, pass, way;

    /* the total's placeholders, then the page's: the same filter twice */
    for (pass = 0; pass < 2; ++pass) {
        args[n++] = id->tenant;
        if (status) {
            args[n++] = status;
        }
        if (user) {
            args[n++] = user;
        }
    }
    if (req->has_cursor) {
        args[n++] = req->cursor.created_at;
        args[n++] = req->cursor.job_id;
    }
    args[n++] = apr_itoa(p, req->limit + 1);
    way = req->has_cursor ? 4 : 0;
    if (req->offset > 0) {
        args[n++] = ingest_db_i64(p, req->offset);
        way = 8;
    }
    rv =
        ingest_db_select_json(p, s, dbd, list_labels[(status ? 1 : 0) | (user ? 2 : 0) | way], n, args, page);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* a row past the limit: there is a next page, after the last row shown */
    jobs = json_object_get(*page, "jobs");
    keys = json_object_get(*page, "keys");
    if (json_array_size(jobs) > (size_t)req->limit) {
        json_array_remove(jobs, (size_t)req->limit);
        last = json_array_get(jobs, (size_t)req->limit - 1);
        next = ingest_cursor_format(p, json_integer_value(json_array_get(keys, (size_t)req->limit - 1)),
                                    json_string_value(json_object_get(last, "job_id")));
        if (!next) {
            return INGEST_EDB_QUERY;
        }
    }
    json_object_del(*page, "keys");
    json_object_set_new(*page, "next_cursor", next ? json_string(next) : json_null());
    return APR_SUCCESS;
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
