/* The operator's SQL: counts across every tenant, for the metrics and the
 * server-status section. Read from the per-status counts the triggers
 * keep (sql/006_job_counts.sql), never by counting the jobs. */

#include "mod_ingest_store.h"

const ingest_stmt_t ingest_metrics_statements[] = {
    /* every status, in the enum's order, 0 where no tenant has one */
    {"ingest_metrics_jobs",
     "SELECT coalesce(json_agg(json_build_array(s.status::text, coalesce(c.n, 0)) ORDER BY s.status), '[]')"
     " FROM unnest(enum_range(NULL::ingest_job_status)) AS s(status)"
     " LEFT JOIN (SELECT status, sum(n)::bigint AS n FROM ingest_job_counts GROUP BY status) c"
     "  ON c.status = s.status",
     1},
    {NULL, NULL, 0},
};

apr_status_t ingest_store_jobs_by_status(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, json_t **pairs)
{
    return ingest_db_select_json(p, s, dbd, "ingest_metrics_jobs", 0, NULL, pairs);
}
