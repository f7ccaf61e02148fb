/* The worker's step over an ingestion of ML job metadata (seed 003), under
 * any IngestProcessor: the stored file (JSON or NDJSON) is read twice. The
 * first pass counts the records and checks the syntax and the sizes, so
 * that a broken file fails the ingestion before anything is written; the
 * second checks each record (ingest_jobmeta_row) and upserts them in
 * batches, one statement a batch, under the ingestion's lease. A record
 * that is wrong fails alone, named in the ingestion's results. A step that
 * is cut off (lease lost, child exiting) is run again from the start by
 * the next holder: every write is an upsert. */

#include <stdlib.h>

#include <apr_atomic.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "ingest_jobmeta.h"
#include "ingest_records.h"
#include "mod_ingest_processor.h"
#include "mod_ingest_storage.h"
#include "mod_ingest_store.h"

#define READ_CHUNK (64 * 1024)
#define BATCH      500
/* the holder's other leases and its tick are renewed this often */
#define PROGRESS_EVERY apr_time_from_msec(250)

/* The read stops: the lease was lost or the child is exiting. */
#define STEP_CUT (APR_OS_START_USERERR + 201)

typedef struct {
    const ingest_step_t *st;
    const char *job_id;
    apr_pool_t *batch_pool;
    json_t *rows;
    apr_int64_t total, processed, failed, changed;
    apr_int64_t written; /* records whose batch is committed */
    apr_time_t last_progress;
    apr_status_t db_rv; /* a statement's failure */
} jm_run_t;

static const char *str(json_t *job, const char *key)
{
    return json_string_value(json_object_get(job, key));
}

/* Renews the holder's leases and tick now and then, in a long pass; 0 when
 * the step must stop. */
static int keep_going(jm_run_t *run)
{
    const ingest_step_t *st = run->st;
    apr_status_t rv;
    int held = 1;

    if (apr_atomic_read32(st->stopping)) {
        return 0;
    }
    if (apr_time_now() - run->last_progress < PROGRESS_EVERY) {
        return 1;
    }
    run->last_progress = apr_time_now();
    rv = ingest_processor_progress(st, run->job_id, run->written,
                                   run->total > run->written ? run->total : run->written, &held);
    if (rv != APR_SUCCESS) {
        run->db_rv = rv;
    }
    return rv == APR_SUCCESS && held;
}

static apr_status_t flush(jm_run_t *run)
{
    const ingest_step_t *st = run->st;
    apr_int64_t changed = 0;
    apr_status_t rv;
    char *text;
    int held = 0;

    if (!json_array_size(run->rows)) {
        return APR_SUCCESS;
    }
    /* 15 significant digits: a cost written 12.3 is stored as 12.3 */
    if (!(text = json_dumps(run->rows, JSON_COMPACT | JSON_REAL_PRECISION(15)))) {
        return APR_ENOMEM;
    }
    rv = ingest_store_jobmeta_batch(run->batch_pool, st->s, st->dbd, run->job_id, st->owner, text,
                                    run->processed, run->failed, run->total, ingest_conf_lease_time(st->conf),
                                    &held, &changed);
    free(text);
    json_array_clear(run->rows);
    apr_pool_clear(run->batch_pool);
    if (rv != APR_SUCCESS) {
        run->db_rv = rv;
        return rv;
    }
    run->changed += changed;
    run->written = run->processed;
    return held ? APR_SUCCESS : STEP_CUT;
}

static apr_status_t counted(void *ctx, apr_int64_t idx, apr_int64_t line, json_t *rec, const char *bad)
{
    jm_run_t *run = ctx;
    (void)idx;
    (void)line;
    (void)rec;
    (void)bad;
    return (idx + 1) % 1000 || keep_going(run) ? APR_SUCCESS : STEP_CUT;
}

static apr_status_t one_record(void *ctx, apr_int64_t idx, apr_int64_t line, json_t *rec, const char *bad)
{
    jm_run_t *run = ctx;
    json_t *row;

    (void)line;
    row = rec ? ingest_jobmeta_row(run->batch_pool, (apr_size_t)idx, rec)
              : json_pack("{s:I, s:b, s:n, s:s}", "idx", (json_int_t)idx, "ok", 0, "job_id", "error",
                          bad ? bad : "not a record");
    if (!row) {
        return APR_ENOMEM;
    }
    run->failed += !json_is_true(json_object_get(row, "ok"));
    run->processed = idx + 1;
    json_array_append_new(run->rows, row);
    if (json_array_size(run->rows) >= BATCH) {
        apr_status_t rv = flush(run);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return keep_going(run) ? APR_SUCCESS : STEP_CUT;
}

/* One pass over the file: *why is the file's fault, if it has one. */
static apr_status_t read_pass(jm_run_t *run, json_t *job, int build, const char **why)
{
    const ingest_step_t *st = run->st;
    const char *type = str(job, "file_type");
    ingest_storage_reader_t *fd;
    ingest_records_t *rr;
    apr_status_t rv;
    char *buf;

    *why = NULL;
    rv = ingest_storage_open(st->p, ingest_conf_storage(st->conf), str(job, "storage_path"), &fd);
    if (rv == INGEST_ESTORAGE_DOWN) {
        return rv; /* the job is given back for later */
    }
    if (rv != APR_SUCCESS) {
        *why = "the stored file is missing";
        return APR_EINVAL;
    }
    rv = ingest_records_create(st->p, type && !strcmp(type, "ndjson"), "jobs",
                               ingest_conf_max_record(st->conf), build, build ? one_record : counted, run,
                               &rr);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    buf = apr_palloc(st->p, READ_CHUNK);
    for (;;) {
        apr_size_t n = READ_CHUNK;
        rv = ingest_storage_read(fd, buf, &n);
        if (rv == APR_EOF) {
            rv = ingest_records_finish(rr);
            break;
        }
        if (rv == INGEST_ESTORAGE_DOWN) {
            return rv;
        }
        if (rv != APR_SUCCESS) {
            *why = "the stored file could not be read";
            return APR_EINVAL;
        }
        if ((rv = ingest_records_feed(rr, buf, n)) != APR_SUCCESS) {
            break;
        }
    }
    if (rv == APR_EINVAL && ingest_records_error(rr)) {
        *why = ingest_records_error(rr);
    }
    if (rv == APR_SUCCESS) {
        run->total = ingest_records_count(rr);
    }
    return rv;
}

static apr_status_t run_job(const ingest_step_t *st, json_t *job, int *finished)
{
    const char *type = str(job, "file_type"), *why = NULL;
    jm_run_t run;
    json_t *result;
    apr_status_t rv;

    memset(&run, 0, sizeof(run));
    run.st = st;
    run.job_id = str(job, "job_id");
    run.last_progress = apr_time_now();
    if (!type || (strcmp(type, "json") && strcmp(type, "ndjson"))) {
        return ingest_processor_finish(st, run.job_id, 0, NULL, "job metadata must be a json or ndjson file",
                                       0, finished);
    }
    if ((rv = read_pass(&run, job, 0, &why)) != APR_SUCCESS) {
        if (why) {
            return ingest_processor_finish(st, run.job_id, 0, NULL, why, 0, finished);
        }
        return rv == STEP_CUT ? run.db_rv : rv;
    }
    if (run.total == 0) {
        return ingest_processor_finish(st, run.job_id, 0, NULL, "the file holds no job records", 0, finished);
    }
    if ((rv = apr_pool_create(&run.batch_pool, st->p)) != APR_SUCCESS) {
        return rv;
    }
    run.rows = ingest_json_pool_own(st->p, json_array());
    rv = read_pass(&run, job, 1, &why);
    if (rv == APR_SUCCESS) {
        rv = flush(&run);
    }
    if (rv != APR_SUCCESS) {
        /* a file that passed the first pass fails the second only if it
         * changed under us: said so, not retried */
        if (why) {
            return ingest_processor_finish(st, run.job_id, 0, NULL, why, run.processed, finished);
        }
        return rv == STEP_CUT ? run.db_rv : rv;
    }
    result = ingest_json_pool_own(
        st->p, json_pack("{s:I, s:I, s:I, s:I, s:s}", "records", (json_int_t)run.total, "succeeded",
                         (json_int_t)(run.total - run.failed), "failed", (json_int_t)run.failed, "changed",
                         (json_int_t)run.changed, "results_url",
                         apr_pstrcat(st->p, "/api/ingest/status/", run.job_id, "/results", NULL)));
    if (run.failed == run.total) {
        return ingest_processor_finish(
            st, run.job_id, 0, result,
            apr_psprintf(st->p, "all %" APR_INT64_T_FMT " records failed; see the results", run.total),
            run.total, finished);
    }
    return ingest_processor_finish(st, run.job_id, 1, result, NULL, run.total, finished);
}

apr_status_t ingest_processor_jobmeta(const ingest_step_t *st, json_t *job, int *finished)
{
    return ingest_processor_in_pool(st, job, finished, "ingest_jobmeta_job", run_job);
}
