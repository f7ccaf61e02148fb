/* The records of parsed files (sql/014_records.sql): landed with the COPY
 * protocol in batches under the job's lease, read back a page at a time,
 * removed in batches once their job is gone. */

#include <stdlib.h>
#include <string.h>

#include "mod_ingest_store.h"

#include <apr_strings.h>
#include <http_log.h>
#include <libpq-fe.h>

#include "ingest_identity.h"
#include "mod_ingest_metrics.h"

/* A job's records are deleted this many at a time (a re-run's clean-up,
 * the sweep of deleted jobs): no statement holds more locks or writes more
 * WAL than that, however many records a job has. */
#define RECORDS_DELETE_BATCH "10000"

/* The first RECORDS_DELETE_BATCH of the records of job `job` (an SQL
 * expression), as a range of seq, so that the primary key's index finds
 * them whatever the plan: "seq IN (SELECT seq ... LIMIT n)" was planned as
 * a sequential scan of the whole table (EXPLAIN with 2,000,000 records of
 * one job: Seq Scan + Hash Semi Join, in the generic plan and in the custom
 * one), which held the job's row, and so its lease, for minutes. The upper
 * bound is open when fewer than a batch are left. */
#define FIRST_BATCH(job)                                                                                     \
    " seq >= (SELECT seq FROM ingest_records WHERE job_id = " job " ORDER BY seq LIMIT 1)"                   \
    " AND seq <= coalesce((SELECT seq FROM ingest_records WHERE job_id = " job " ORDER BY seq"               \
    " OFFSET " RECORDS_DELETE_BATCH " - 1 LIMIT 1), 9223372036854775807)"
/* ... of the job the sweep took */
#define GONE_FIRST_BATCH FIRST_BATCH("(SELECT job_id FROM g)")

const ingest_stmt_t ingest_record_statements[] = {
    /* The lease, checked and renewed by the transaction of each batch: the
     * row lock it takes keeps a rescue or another worker's claim from
     * passing between the check and the commit. */
    {"ingest_w_records_hold",
     "UPDATE ingest_jobs SET processed_items = %s::bigint, failed_items = %s::bigint,"
     "  total_items = greatest(%s::bigint, %s::bigint),"
     "  lease_expires_at = now() + make_interval(secs => %s::float8),"
     "  record_columns = coalesce(%s::jsonb, record_columns)"
     " WHERE job_id = %s::uuid AND status = 'running' AND lease_owner = %s",
     0},
    /* The bad records kept, with the batch they were found in. */
    {"ingest_w_records_errors",
     "INSERT INTO ingest_record_errors (job_id, seq, line, field, reason)"
     " SELECT %s::uuid, e.seq, e.line, e.field, e.reason"
     " FROM json_to_recordset(%s::json) AS e(seq bigint, line bigint, field text, reason text)",
     0},
    /* An earlier run's bad records (at most 1,000) go with its first batch
     * of records. */
    {"ingest_w_records_clear",
     "WITH e AS (DELETE FROM ingest_record_errors WHERE job_id = %s::uuid)"
     " DELETE FROM ingest_records WHERE job_id = %s::uuid AND" FIRST_BATCH("%s::uuid"),
     0},
    /* A failed parse's records go as a deleted job's do. */
    {"ingest_w_records_forget",
     "INSERT INTO ingest_records_gone (job_id) VALUES (%s::uuid) ON CONFLICT DO NOTHING", 1},
    /* One batch of the oldest gone job's records; the job leaves the list
     * with its last batch. */
    {"ingest_w_records_sweep",
     "WITH g AS (SELECT job_id FROM ingest_records_gone ORDER BY deleted_at LIMIT 1 FOR UPDATE SKIP LOCKED),"
     " d AS (DELETE FROM ingest_records WHERE job_id = (SELECT job_id FROM g) AND" GONE_FIRST_BATCH
     " RETURNING 1),"
     " n AS (SELECT count(*) AS n FROM d),"
     " e AS (DELETE FROM ingest_records_gone WHERE job_id = (SELECT job_id FROM g)"
     "   AND (SELECT n FROM n) < " RECORDS_DELETE_BATCH " RETURNING 1),"
     /* a deleted job's bad records with its first batch; a failed job
      * (still there) keeps them */
     " x AS (DELETE FROM ingest_record_errors WHERE job_id = (SELECT job_id FROM g)"
     "   AND NOT EXISTS (SELECT 1 FROM ingest_jobs WHERE job_id = (SELECT job_id FROM g)))"
     " SELECT json_build_object('job', (SELECT job_id FROM g), 'deleted', (SELECT n FROM n),"
     "  'done', EXISTS (SELECT 1 FROM e))",
     1},
    /* A page of a job's records after seq `after`, one more than asked
     * (to tell whether there are more); a failed job shows none. */
    {"ingest_records_page",
     "WITH job AS (SELECT job_id, status, processed_items - failed_items AS committed FROM ingest_jobs"
     "  WHERE job_id = %s::uuid AND tenant_id = %s)"
     " SELECT json_build_object('exists', EXISTS (SELECT 1 FROM job),"
     "  'job', (SELECT json_build_object('status', status, 'committed', committed) FROM job),"
     "  'records', coalesce((SELECT json_agg(json_build_object('seq', r.seq, 'line', r.line, 'data', r.data)"
     "     ORDER BY r.seq) FROM (SELECT seq, line, data FROM ingest_records"
     "       WHERE job_id = (SELECT job_id FROM job WHERE status <> 'failed') AND seq > %s::bigint"
     "       ORDER BY seq LIMIT %s::int + 1) r), '[]'::json))",
     1},
    /* A page of a job's bad records after seq `after`, one more than
     * asked; a failed job shows those committed before it failed. */
    {"ingest_records_errors_page",
     "WITH job AS (SELECT job_id, status, failed_items FROM ingest_jobs WHERE job_id = %s::uuid AND "
     "tenant_id = %s)"
     " SELECT json_build_object('exists', EXISTS (SELECT 1 FROM job),"
     "  'job', (SELECT json_build_object('status', status, 'failed_items', failed_items) FROM job),"
     "  'errors', coalesce((SELECT json_agg(json_build_object('seq', e.seq, 'line', e.line,"
     "     'field', e.field, 'reason', e.reason) ORDER BY e.seq)"
     "   FROM (SELECT seq, line, field, reason FROM ingest_record_errors"
     "     WHERE job_id = (SELECT job_id FROM job) AND seq > %s::bigint"
     "     ORDER BY seq LIMIT %s::int + 1) e), '[]'::json))",
     1},
/* A piece of a job's NDJSON export: up to 1,000 records after seq
 * `after`, cut after the record that passes 4 MiB stored (the first
 * always comes), as text: whether the job is the tenant's, its file
 * name, the records, the last seq, their data one per line. */
#define EXPORT_JOB                                                                                           \
    "WITH job AS (SELECT job_id, filename, status, record_columns FROM ingest_jobs"                          \
    "   WHERE job_id = %s::uuid AND tenant_id = %s),"
#define EXPORT_PAGE                                                                                          \
    " page AS (SELECT seq, data FROM (SELECT seq, data,"                                                     \
    "   sum(pg_column_size(data)) OVER (ORDER BY seq) - pg_column_size(data) AS before"                      \
    "   FROM (SELECT seq, data FROM ingest_records"                                                          \
    "     WHERE job_id = (SELECT job_id FROM job WHERE status <> 'failed') AND seq > %s::bigint"             \
    "     ORDER BY seq LIMIT 1000) l) x WHERE before < 4194304)"                                             \
    " SELECT EXISTS (SELECT 1 FROM job), (SELECT filename FROM job), (SELECT count(*) FROM page),"           \
    "  (SELECT max(seq) FROM page), "
    /* A piece of a job's export: up to 1,000 records after seq `after`,
     * cut after the record that passes 4 MiB stored (the first always
     * comes): whether the job is the tenant's, its file name, the count,
     * the last seq, the records as text (one per line, no final line
     * feed), and (CSV) the header line. */
    {"ingest_records_export_ndjson",
     EXPORT_JOB EXPORT_PAGE "(SELECT string_agg(data::text, E'\\n' ORDER BY seq) FROM page), NULL", 1},
    {"ingest_records_export_csv",
     EXPORT_JOB " cols AS (SELECT c, o FROM job,"
                "   jsonb_array_elements_text(coalesce(job.record_columns, '[]')) WITH ORDINALITY AS k(c, "
                "o))," EXPORT_PAGE
                "(SELECT string_agg(coalesce((SELECT string_agg(ingest_csv_field(p.data->>cols.c), ','"
                "   ORDER BY cols.o) FROM cols), ''), E'\\n' ORDER BY p.seq) FROM page p),"
                "  (SELECT string_agg(ingest_csv_field(c), ',' ORDER BY o) FROM cols)",
     1},
    {NULL, NULL, 0},
};

/* The lease check of a batch's transaction: *held 0 when the job is no
 * longer ours. */
static apr_status_t hold(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_records_batch_t *b,
                         int *held)
{
    const char *done = ingest_db_i64(p, b->processed), *failed = ingest_db_i64(p, b->failed);
    const char *args[8] = {done,
                           failed,
                           done,
                           ingest_db_i64(p, b->total),
                           apr_psprintf(p, "%.3f", (double)b->lease / APR_USEC_PER_SEC),
                           b->columns,
                           b->job_id,
                           b->owner};
    const char *errs[2] = {b->job_id, b->errors};
    int n = 0;
    apr_status_t rv = ingest_db_exec(p, s, dbd, "ingest_w_records_hold", 8, args, &n);

    *held = rv == APR_SUCCESS && n == 1;
    if (*held && b->errors) {
        rv = ingest_db_exec(p, s, dbd, "ingest_w_records_errors", 2, errs, &n);
    }
    return rv;
}

/* A COPY failure, logged once with PostgreSQL's message. */
static apr_status_t copy_failed(server_rec *s, PGconn *c, const char *why)
{
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, IGLOGNO(00901) "COPY of records failed: %s",
                 why && *why ? why : PQerrorMessage(c));
    ingest_metrics_inc(INGEST_M_DB_ERRORS);
    return PQstatus(c) == CONNECTION_OK ? INGEST_EDB_QUERY : INGEST_EDB_DOWN;
}

apr_status_t ingest_store_records_open(server_rec *s, ap_dbd_t *dbd)
{
    PGconn *c = apr_dbd_native_handle(dbd->driver, dbd->handle);
    PGresult *res;
    apr_status_t rv;

    if (!c) {
        return INGEST_EDB_DOWN;
    }
    if ((rv = ingest_db_begin(s, dbd)) != APR_SUCCESS) {
        return rv;
    }
    res =
        PQexec(c, "COPY ingest_records (job_id, seq, line, tenant_id, data) FROM STDIN WITH (FORMAT binary)");
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        rv = copy_failed(s, c, PQresultErrorMessage(res));
        PQclear(res);
        ingest_db_end(s, dbd, rv);
        return rv;
    }
    PQclear(res);
    return APR_SUCCESS;
}

apr_status_t ingest_store_records_send(server_rec *s, ap_dbd_t *dbd, const char *buf, apr_size_t len)
{
    PGconn *c = apr_dbd_native_handle(dbd->driver, dbd->handle);

    /* the socket blocks: PostgreSQL reads as the parser goes on */
    while (len) {
        int n = len > 1024 * 1024 ? 1024 * 1024 : (int)len;
        if (PQputCopyData(c, buf, n) != 1) {
            return copy_failed(s, c, NULL);
        }
        buf += n;
        len -= (apr_size_t)n;
    }
    return APR_SUCCESS;
}

/* Ends the COPY: with errmsg, abandoned (PostgreSQL fails it). */
static apr_status_t copy_end(server_rec *s, ap_dbd_t *dbd, const char *errmsg)
{
    PGconn *c = apr_dbd_native_handle(dbd->driver, dbd->handle);
    PGresult *res;
    apr_status_t rv = APR_SUCCESS;

    /* an abandoned COPY is expected to fail: only a real one is logged,
     * while its result (and message) is still there */
    if (PQputCopyEnd(c, errmsg) != 1) {
        rv = errmsg ? INGEST_EDB_QUERY : copy_failed(s, c, NULL);
    }
    while ((res = PQgetResult(c)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rv == APR_SUCCESS) {
            rv = errmsg ? INGEST_EDB_QUERY : copy_failed(s, c, PQresultErrorMessage(res));
        }
        PQclear(res);
    }
    return rv;
}

/* Ends a batch's transaction: COMMIT when rv is APR_SUCCESS and the lease
 * held; a lost lease rolls back and is no error. */
static apr_status_t end_batch(server_rec *s, ap_dbd_t *dbd, apr_status_t rv, int held)
{
    if (rv == APR_SUCCESS && !held) {
        ingest_db_end(s, dbd, APR_EGENERAL);
        return APR_SUCCESS;
    }
    return ingest_db_end(s, dbd, rv);
}

apr_status_t ingest_store_records_close(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                        const ingest_records_batch_t *b, int *held)
{
    apr_status_t rv = copy_end(s, dbd, NULL);

    *held = 0;
    if (rv == APR_SUCCESS) {
        /* the lease, checked where the batch commits: its row lock keeps a
         * rescue or another worker's claim from passing in between */
        rv = hold(p, s, dbd, b, held);
    }
    return end_batch(s, dbd, rv, *held);
}

void ingest_store_records_abort(server_rec *s, ap_dbd_t *dbd)
{
    copy_end(s, dbd, "the worker abandoned the batch");
    ingest_db_end(s, dbd, APR_EGENERAL);
}

/* What a batch's transaction does once the lease is held. */
typedef apr_status_t batch_fn(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_records_batch_t *b,
                              void *ctx);

/* One transaction: the lease, then fn; committed when both succeed, rolled
 * back when either fails or the lease is lost (*held 0: not an error). */
static apr_status_t in_batch(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_records_batch_t *b,
                             int *held, batch_fn *fn, void *ctx)
{
    apr_status_t rv = ingest_db_begin(s, dbd);

    *held = 0;
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = hold(p, s, dbd, b, held);
    if (rv == APR_SUCCESS && *held) {
        rv = fn(p, s, dbd, b, ctx);
    }
    return end_batch(s, dbd, rv, *held);
}

static apr_status_t clear_batch(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_records_batch_t *b,
                                void *ctx)
{
    const char *args[4] = {b->job_id, b->job_id, b->job_id, b->job_id};
    return ingest_db_exec(p, s, dbd, "ingest_w_records_clear", 4, args, ctx);
}

apr_status_t ingest_store_records_clear(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                        const ingest_records_batch_t *b, int *held, int *more)
{
    int n = 0;
    apr_status_t rv = in_batch(p, s, dbd, b, held, clear_batch, &n);

    *more = rv == APR_SUCCESS && *held && n >= atoi(RECORDS_DELETE_BATCH);
    return rv;
}

apr_status_t ingest_store_records_forget(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *job_id)
{
    const char *args[1] = {job_id};
    int n = 0;
    return ingest_db_exec(p, s, dbd, "ingest_w_records_forget", 1, args, &n);
}

apr_status_t ingest_store_records_sweep(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, apr_int64_t *deleted,
                                        int *more)
{
    json_t *res = NULL;
    apr_status_t rv = ingest_db_select_json(p, s, dbd, "ingest_w_records_sweep", 0, NULL, &res);

    *deleted = rv == APR_SUCCESS ? (apr_int64_t)json_integer_value(json_object_get(res, "deleted")) : 0;
    /* another batch of this job, or another job, may be waiting */
    *more = rv == APR_SUCCESS && json_is_string(json_object_get(res, "job"));
    return rv;
}

apr_status_t ingest_store_records_export(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                         const ingest_identity_t *id, const char *job_id, int csv,
                                         apr_int64_t after, ingest_records_piece_t *out)
{
    const char *args[3] = {job_id, id->tenant, ingest_db_i64(p, after)};
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *v;
    apr_status_t rv = ingest_db_select(
        p, s, dbd, csv ? "ingest_records_export_csv" : "ingest_records_export_ndjson", 3, args, &res);

    memset(out, 0, sizeof(*out));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* the entries live until the next row is asked for: copied */
    while (apr_dbd_get_row(dbd->driver, p, res, &row, -1) == 0) {
        out->exists = (v = apr_dbd_get_entry(dbd->driver, row, 0)) && *v == 't';
        /* apr_dbd gives a NULL as "": neither a file name nor a header is empty */
        out->filename = (v = apr_dbd_get_entry(dbd->driver, row, 1)) && *v ? apr_pstrdup(p, v) : NULL;
        out->records = (v = apr_dbd_get_entry(dbd->driver, row, 2)) ? apr_atoi64(v) : 0;
        out->last = (v = apr_dbd_get_entry(dbd->driver, row, 3)) ? apr_atoi64(v) : 0;
        out->text_len = (v = apr_dbd_get_entry(dbd->driver, row, 4)) ? strlen(v) : 0;
        out->text = v ? apr_pstrmemdup(p, v, out->text_len) : NULL;
        out->header = (v = apr_dbd_get_entry(dbd->driver, row, 5)) && *v ? apr_pstrdup(p, v) : NULL;
    }
    return APR_SUCCESS;
}

/* A page after seq `after` of the tenant's job, by the statement named. */
static apr_status_t page_of(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *label,
                            const ingest_identity_t *id, const char *job_id, apr_int64_t after, int limit,
                            json_t **page)
{
    const char *args[4] = {job_id, id->tenant, ingest_db_i64(p, after), apr_itoa(p, limit)};
    return ingest_db_select_json(p, s, dbd, label, 4, args, page);
}

apr_status_t ingest_store_records_page(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                       const ingest_identity_t *id, const char *job_id, apr_int64_t after,
                                       int limit, json_t **page)
{
    return page_of(p, s, dbd, "ingest_records_page", id, job_id, after, limit, page);
}

apr_status_t ingest_store_records_errors(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd,
                                         const ingest_identity_t *id, const char *job_id, apr_int64_t after,
                                         int limit, json_t **page)
{
    return page_of(p, s, dbd, "ingest_records_errors_page", id, job_id, after, limit, page);
}
