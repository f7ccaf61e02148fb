/* The job event log's statements (sql/017): a stream's replay from the
 * database when it is behind its child's ring, and the worker's pruning of
 * events older than IngestEventsHistory. */

#include <apr_strings.h>

#include "mod_ingest_store.h"

/* A page of final events after a position, oldest first, with the horizon
 * (events below it are final) and the highest id ever pruned (a position
 * below it may have lost events). Placeholders: tenant, after[, job]. */
#define REPLAY(FILTER, EXTRA)                                                                                \
    "WITH h AS (SELECT ingest_events_horizon() AS h)"                                                        \
    " SELECT json_build_object('horizon', h.h, 'pruned', (SELECT last_id FROM ingest_events_pruned),"        \
    "  'events', (SELECT coalesce(json_agg(json_build_object('id', e.id, 'job_id', e.job_id,"                \
    "                                 'terminal', e.terminal, 'job', e.job) ORDER BY e.id), '[]'::json)"     \
    "             FROM (SELECT id, job_id, terminal, job FROM ingest_job_events"                             \
    "                   WHERE tenant_id = %s AND id > %s::bigint" FILTER " AND id < h.h"                     \
    "                   ORDER BY id LIMIT " INGEST_EVENTS_REPLAY_PAGE_S ") e)" EXTRA ")"                     \
    " FROM h"

const ingest_stmt_t ingest_event_statements[] = {
    {"ingest_events_replay", REPLAY("", ""), 1},
    /* one job's, with the job as it is now (NULL when it is not the
     * tenant's, or gone) */
    {"ingest_events_replay_job",
     REPLAY(" AND job_id = %s::uuid", ", 'job', (SELECT ingest_job_json(j) FROM ingest_jobs j WHERE j.job_id "
                                      "= %s::uuid AND j.tenant_id = %s)"),
     1},
    /* a batch at a time (never one long transaction); the highest id
     * deleted is remembered, so a stream resuming below it is told to
     * reload */
    {"ingest_events_prune",
     "WITH d AS (DELETE FROM ingest_job_events WHERE id IN ("
     "  SELECT id FROM ingest_job_events WHERE at < now() - make_interval(secs => %s::int)"
     "  ORDER BY id LIMIT 5000) RETURNING id),"
     " u AS (UPDATE ingest_events_pruned SET last_id = greatest(last_id, (SELECT max(id) FROM d))"
     "  WHERE EXISTS (SELECT 1 FROM d))"
     " SELECT json_build_object('pruned', (SELECT count(*) FROM d))",
     0},
    {NULL, NULL, 0},
};

apr_status_t ingest_store_events_replay(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *tenant,
                                        const char *job_id, apr_int64_t after, json_t **page)
{
    const char *args[5] = {tenant, ingest_db_i64(p, after), job_id, job_id, tenant};
    return job_id ? ingest_db_select_json(p, s, dbd, "ingest_events_replay_job", 5, args, page)
                  : ingest_db_select_json(p, s, dbd, "ingest_events_replay", 2, args, page);
}

apr_status_t ingest_store_events_prune(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, int seconds, int *pruned)
{
    const char *args[1] = {apr_itoa(p, seconds)};
    json_t *n = NULL;
    apr_status_t rv = ingest_db_select_json(p, s, dbd, "ingest_events_prune", 1, args, &n);
    *pruned = rv == APR_SUCCESS ? (int)json_integer_value(json_object_get(n, "pruned")) : 0;
    return rv;
}
