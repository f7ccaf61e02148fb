/* The SQL of the tenant quotas (IngestTenantMaxActiveJobs,
 * IngestTenantMaxStorage): a per-tenant lock and the tenant's usage, read
 * in one transaction before the statement that creates a job or stores a
 * file (mod_ingest_quota.c). */

#include <apr_strings.h>

#include "mod_ingest_store.h"

const ingest_stmt_t ingest_quota_statements[] = {
    /* held until COMMIT or ROLLBACK: every quota-checked write of one
     * tenant waits here for the previous one to commit, so the usage read
     * by the next statement (a new snapshot under READ COMMITTED) includes
     * it. Two tenants whose keys hash alike merely wait for each other. */
    {"ingest_quota_lock",
     "SELECT '{}'::json FROM (SELECT pg_advisory_xact_lock(hashtextextended('ingest-quota:' || %s, 0))) l",
     0},
    /* active: pending + queued + running, from the counts (sql/006, 009),
     * which commit with the job's insert. stored: bytes of the files the
     * tenant's jobs still name (a job keeps its storage_path until
     * retention prunes or DELETE removes the row). reserved: bytes that
     * pending jobs have announced and may still upload (their URL has not
     * expired), but the job of this upload (placeholder 3, NULL at init).
     * replay: the Idempotency-Key (placeholder 5) names an existing job. */
    {"ingest_quota_usage",
     "SELECT json_build_object("
     " 'active', (SELECT coalesce(sum(c.n), 0)::bigint FROM ingest_job_counts c WHERE c.tenant_id = %s"
     "            AND c.status IN ('pending', 'queued', 'running')),"
     " 'stored', coalesce(sum(j.file_size) FILTER (WHERE j.storage_path IS NOT NULL), 0)::bigint,"
     " 'reserved', coalesce(sum(j.file_size) FILTER (WHERE j.storage_path IS NULL AND j.status = 'pending'"
     "             AND j.upload_expires_at > now() AND j.job_id IS DISTINCT FROM %s::uuid), 0)::bigint,"
     " 'replay', %s::text IS NOT NULL AND EXISTS (SELECT 1 FROM ingest_jobs k WHERE k.tenant_id = %s"
     "           AND k.idempotency_key = %s))"
     " FROM ingest_jobs j WHERE j.tenant_id = %s"
     "  AND (j.storage_path IS NOT NULL OR j.status = 'pending')",
     0},
    {NULL, NULL, 0},
};

apr_status_t ingest_store_quota_usage(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *tenant,
                                      const char *key, const char *job_id, ingest_quota_usage_t *u)
{
    const char *lock[1] = {tenant};
    const char *args[6] = {tenant, job_id, key, tenant, key, tenant};
    json_t *res = NULL;
    apr_status_t rv;

    memset(u, 0, sizeof(*u));
    if ((rv = ingest_db_select_json(p, s, dbd, "ingest_quota_lock", 1, lock, &res)) != APR_SUCCESS
        || (rv = ingest_db_select_json(p, s, dbd, "ingest_quota_usage", 6, args, &res)) != APR_SUCCESS) {
        return rv == APR_NOTFOUND ? INGEST_EDB_QUERY : rv;
    }
    u->active = json_integer_value(json_object_get(res, "active"));
    u->stored = json_integer_value(json_object_get(res, "stored"));
    u->reserved = json_integer_value(json_object_get(res, "reserved"));
    u->replay = json_is_true(json_object_get(res, "replay"));
    return APR_SUCCESS;
}
