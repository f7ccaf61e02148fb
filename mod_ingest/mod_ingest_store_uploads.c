/* The SQL of data arriving: a presigned upload completing (pending ->
 * queued), and jobs created from a JSON body (records or mappings). */

#include <apr_strings.h>

#include "mod_ingest_cache.h"
#include "mod_ingest_store.h"

const ingest_stmt_t ingest_upload_statements[] = {
    {"ingest_up_job",
     "SELECT json_build_object('tenant_id', tenant_id, 'status', status, 'file_size', file_size)"
     " FROM ingest_jobs WHERE job_id = %s::uuid",
     1},
    /* pending -> queued, only once the file is durable; a second upload
     * (or one racing it) finds the job no longer pending */
    {"ingest_up_done",
     "UPDATE ingest_jobs SET status = 'queued', content_sha256 = %s, storage_path = %s, due_at = now()"
     " WHERE job_id = %s::uuid AND status = 'pending' AND upload_expires_at > now()"
     " RETURNING ingest_job_json(ingest_jobs)",
     0},
    {"ingest_json_records",
     "WITH ins AS ("
     " INSERT INTO ingest_jobs (job_id, tenant_id, user_id, source_type, filename, file_type, file_size,"
     "   content_sha256, storage_path, total_items, priority, idempotency_key, status, record_schema,"
     "   on_bad_record, notify_url)"
     " VALUES (%s::uuid, %s, %s, %s, %s, 'ndjson', %s::bigint, %s, %s, %s::bigint,"
     "   %s::text::ingest_job_priority, %s, 'queued', %s::jsonb, %s, %s)"
     " ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"
     " RETURNING ingest_job_json(ingest_jobs) AS job)"
     " SELECT json_build_object('created', true, 'job', ins.job) FROM ins"
     " UNION ALL"
     " SELECT json_build_object('created', false, 'job', ingest_job_json(j)) FROM ingest_jobs j"
     "  WHERE j.tenant_id = %s AND j.idempotency_key = %s AND NOT EXISTS (SELECT 1 FROM ins)",
     0},
    /* the job and its items in one statement: both or neither */
    {"ingest_json_mappings",
     "WITH ins AS ("
     " INSERT INTO ingest_jobs (tenant_id, user_id, source_type, total_items, priority, idempotency_key, "
     "status, content_sha256, notify_url)"
     " VALUES (%s, %s, 'mappings', %s::bigint, %s::text::ingest_job_priority, %s, 'queued', %s, %s)"
     " ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"
     " RETURNING job_id, ingest_job_json(ingest_jobs) AS job),"
     " items AS ("
     " INSERT INTO ingest_job_items (job_id, idx, item_id, source, target, transformation)"
     " SELECT ins.job_id, (t.ord - 1)::int, t.e->>'id', t.e->>'source', t.e->>'target', "
     "(t.e->'transformation')::jsonb"
     " FROM ins, json_array_elements(%s::json) WITH ORDINALITY AS t(e, ord) RETURNING 1)"
     " SELECT json_build_object('created', true, 'job', ins.job, 'items', (SELECT count(*) FROM items)) FROM "
     "ins"
     " UNION ALL"
     " SELECT json_build_object('created', false, 'job', ingest_job_json(j)) FROM ingest_jobs j"
     "  WHERE j.tenant_id = %s AND j.idempotency_key = %s AND NOT EXISTS (SELECT 1 FROM ins)",
     0},
    {NULL, NULL, 0},
};

apr_status_t ingest_store_upload_job(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id,
                                     json_t **job)
{
    const char *args[1] = {job_id};
    return ingest_db_select_json(p, s, dbd, "ingest_up_job", 1, args, job);
}

apr_status_t ingest_store_upload_done(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id,
                                      const char *sha256, const char *rel, json_t **job)
{
    const char *args[3] = {sha256, rel, job_id};
    apr_status_t rv = ingest_db_select_json(p, s, dbd, "ingest_up_done", 3, args, job);
    ingest_cache_forget(s, p, job_id);
    return rv;
}

/* ON CONFLICT waits for a concurrent insert of the same key; no row means
 * it committed after this statement's snapshot, which a retry sees. */
static apr_status_t create_with_retry(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *label,
                                      int nargs, const char **args, json_t **job, int *created)
{
    json_t *res = NULL;
    apr_status_t rv = APR_NOTFOUND;
    int attempt;
    for (attempt = 0; attempt < 3 && rv == APR_NOTFOUND; ++attempt) {
        rv = ingest_db_select_json(p, s, dbd, label, nargs, args, &res);
    }
    if (rv != APR_SUCCESS) {
        return rv == APR_NOTFOUND ? INGEST_EDB_QUERY : rv;
    }
    *job = json_object_get(res, "job");
    *created = json_is_true(json_object_get(res, "created"));
    return *job ? APR_SUCCESS : INGEST_EDB_QUERY;
}

apr_status_t ingest_store_json_records(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                       const ingest_identity_t *id, const char *source_type,
                                       const char *job_id, apr_off_t size, const char *sha256,
                                       const char *rel, const ingest_json_req_t *req, const char *key,
                                       json_t **job, int *created)
{
    const char *args[16];
    args[0] = job_id;
    args[1] = id->tenant;
    args[2] = id->user;
    args[3] = source_type;
    args[4] = !strcmp(source_type, "job_metadata") ? "jobs.ndjson" : "records.ndjson";
    args[5] = apr_off_t_toa(p, size);
    args[6] = sha256;
    args[7] = rel;
    args[8] = apr_psprintf(p, "%" APR_SIZE_T_FMT, req->count);
    args[9] = ingest_priority_name(req->priority);
    args[10] = key;
    args[11] = req->schema;
    args[12] = req->on_bad_record;
    args[13] = req->notify_url;
    args[14] = id->tenant;
    args[15] = key;
    return create_with_retry(p, s, dbd, "ingest_json_records", 16, args, job, created);
}

apr_status_t ingest_store_json_mappings(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                        const ingest_identity_t *id, const char *mappings_json,
                                        const char *sha256, apr_size_t count, ingest_priority_e prio,
                                        const char *key, const char *notify_url, json_t **job, int *created)
{
    const char *args[10];
    args[0] = id->tenant;
    args[1] = id->user;
    args[2] = apr_psprintf(p, "%" APR_SIZE_T_FMT, count);
    args[3] = ingest_priority_name(prio);
    args[4] = key;
    args[5] = sha256;
    args[6] = notify_url;
    args[7] = mappings_json;
    args[8] = id->tenant;
    args[9] = key;
    return create_with_retry(p, s, dbd, "ingest_json_mappings", 10, args, job, created);
}
