#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "ingest_parse.h"
#include "mod_ingest_landing.h"
#include "mod_ingest_processor.h"
#include "mod_ingest_storage.h"
#include "mod_ingest_store.h"

#define PARSE_CHUNK (64 * 1024)
/* processed_items is written at most this often while a file is parsed */
#define PROGRESS_EVERY apr_time_from_msec(250)

static const char *str(json_t *job, const char *key)
{
    return json_string_value(json_object_get(job, key));
}

apr_status_t ingest_processor_mappings(const ingest_step_t *st, json_t *job, int *finished)
{
    const char *job_id = str(job, "job_id");
    json_t *items = NULL, *item, *results, *outcome = NULL;
    apr_status_t rv;
    char *text;
    size_t i;

    *finished = 0;
    rv = ingest_store_items_pending(st->p, st->s, st->dbd, job_id, ingest_conf_batch_size(st->conf), &items);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* the simulated external call, one per mapping */
    results = json_array();
    json_array_foreach(items, i, item)
    {
        int ok = ingest_rng_unit(st->rng) < ingest_conf_sim_success_rate(st->conf);
        json_array_append_new(
            results, json_pack("{s:O, s:s, s:s?}", "idx", json_object_get(item, "idx"), "status",
                               ok ? "success" : "failed", "error",
                               ok ? NULL
                                  : apr_psprintf(st->p,
                                                 "simulated external API error: target %s did not accept "
                                                 "mapping %s",
                                                 str(item, "target"), str(item, "id"))));
    }
    text = json_dumps(results, JSON_COMPACT);
    json_decref(results);
    /* also when the batch is empty: the job's counts and end are settled
     * by the same statement */
    rv = ingest_store_items_apply(st->p, st->s, st->dbd, job_id, st->owner, text,
                                  ingest_conf_sim_duration(st->conf), &outcome);
    free(text);
    if (rv == APR_SUCCESS) {
        const char *status = str(outcome, "status");
        *finished = status && strcmp(status, "running");
    }
    return rv;
}

void ingest_lease_enter(apr_thread_mutex_t *lease_lock)
{
    if (lease_lock) {
        apr_thread_mutex_lock(lease_lock);
    }
}

void ingest_lease_leave(apr_thread_mutex_t *lease_lock)
{
    if (lease_lock) {
        apr_thread_mutex_unlock(lease_lock);
    }
}

apr_status_t ingest_processor_simulate(const ingest_step_t *st, json_t *jobs, int *finished)
{
    json_t *outcomes = json_array(), *job;
    apr_status_t rv;
    char *text;
    size_t i;

    *finished = 0;
    json_array_foreach(jobs, i, job)
    {
        ingest_sim_outcome_t o;
        ingest_simulate_outcome(st->rng, ingest_conf_sim_failure_rate(st->conf),
                                json_integer_value(json_object_get(job, "elapsed_ms")), &o);
        json_array_append_new(
            outcomes, json_pack("{s:O, s:s, s:o?, s:s?, s:I}", "job_id", json_object_get(job, "job_id"),
                                "status", o.success ? "completed" : "failed", "result_data", o.result_data,
                                "error", o.error, "items", (json_int_t)o.rows));
    }
    if (!json_array_size(outcomes)) {
        json_decref(outcomes);
        return APR_SUCCESS;
    }
    text = json_dumps(outcomes, JSON_COMPACT);
    json_decref(outcomes);
    if (!text) {
        return APR_ENOMEM;
    }
    /* jobs whose lease was lost meanwhile are not finished (not counted) */
    ingest_lease_enter(st->lease_lock);
    rv = ingest_store_worker_finish_batch(st->p, st->s, st->dbd, st->owner, text, finished);
    ingest_lease_leave(st->lease_lock);
    free(text);
    return rv;
}

apr_status_t ingest_processor_progress(const ingest_step_t *st, const char *job_id, apr_int64_t processed,
                                       apr_int64_t total, int *held)
{
    apr_status_t rv;
    ingest_lease_enter(st->lease_lock);
    rv = ingest_store_worker_progress(st->p, st->s, st->dbd, job_id, st->owner, processed, total,
                                      ingest_conf_lease_time(st->conf), held);
    ingest_lease_leave(st->lease_lock);
    return rv;
}

apr_status_t ingest_processor_finish(const ingest_step_t *st, const char *job_id, int success, json_t *result,
                                     const char *error, apr_int64_t items, int *finished)
{
    return ingest_processor_finish_url(st, job_id, success, result, NULL, error, items, finished);
}

apr_status_t ingest_processor_finish_url(const ingest_step_t *st, const char *job_id, int success,
                                         json_t *result, const char *result_url, const char *error,
                                         apr_int64_t items, int *finished)
{
    char *rd = result ? json_dumps(result, JSON_COMPACT) : NULL;
    apr_status_t rv = ingest_store_worker_finish(st->p, st->s, st->dbd, job_id, st->owner, success, rd,
                                                 result_url, error, items, finished);
    free(rd);
    return rv;
}

static apr_status_t finish(const ingest_step_t *st, json_t *job, int success, json_t *result,
                           const char *error, apr_int64_t items, int *finished)
{
    return ingest_processor_finish(st, str(job, "job_id"), success, result, error, items, finished);
}

/* The parse of one job, everything allocated from st->p, the job's own
 * pool. */
static apr_status_t parse_file(const ingest_step_t *st, json_t *job, int *finished)
{
    apr_off_t size = (apr_off_t)json_integer_value(json_object_get(job, "file_size")), done_bytes = 0;
    apr_time_t t0 = apr_time_now(), last = t0;
    ingest_parse_limits_t lim = {.record_bytes = ingest_conf_max_record(st->conf)};
    ingest_parse_kind_e kind = ingest_parse_kind(str(job, "file_type"));
    ingest_landing_t *land = NULL;
    ingest_parser_t *ps;
    ingest_storage_reader_t *fd;
    apr_status_t rv, prv = APR_SUCCESS;
    json_t *summary;
    char *buf;
    int held = 1;

    *finished = 0;
    rv = ingest_storage_open(st->p, ingest_conf_storage(st->conf), str(job, "storage_path"), &fd);
    if (rv == INGEST_ESTORAGE_DOWN) {
        return rv; /* the job is given back for later */
    }
    if (rv != APR_SUCCESS) {
        return finish(st, job, 0, NULL, "the stored file is missing", 0, finished);
    }
    if ((rv = ingest_parser_create(st->p, kind, &lim, &ps)) != APR_SUCCESS) {
        return rv;
    }
    /* every record lands in ingest_records (a re-run replaces them) */
    if (kind != INGEST_PARSE_BINARY) {
        /* the job's own on_bad_record, else IngestOnBadRecord */
        const char *on_bad = str(job, "on_bad_record");
        ingest_landing_opts_t opts = {
            .schema = json_object_get(job, "record_schema"),
            .skip =
                on_bad ? !strcmp(on_bad, "skip") : ingest_conf_on_bad_record(st->conf) == INGEST_ON_BAD_SKIP,
            .max_bad = ingest_conf_max_bad_records(st->conf),
        };
        rv = ingest_landing_start(st, ps, str(job, "job_id"), str(job, "tenant_id"), &opts, &land, &held);
        if (rv != APR_SUCCESS || !held) {
            return rv;
        }
    }
    buf = apr_palloc(st->p, PARSE_CHUNK);
    for (;;) {
        apr_size_t n = PARSE_CHUNK;
        rv = ingest_storage_read(fd, buf, &n);
        if (rv == APR_EOF) {
            prv = ingest_parser_finish(ps);
            break;
        }
        if (rv != APR_SUCCESS) {
            if (land) {
                ingest_landing_abort(land);
            }
            if (rv == INGEST_ESTORAGE_DOWN) {
                return rv; /* the job is given back for later: it starts again */
            }
            return finish(st, job, 0, NULL,
                          rv == APR_ENOENT ? "the stored file is missing"
                                           : "the stored file could not be read",
                          ingest_parser_records(ps), finished);
        }
        if (land) {
            ingest_landing_position(land, done_bytes, size);
        }
        done_bytes += (apr_off_t)n;
        if ((prv = ingest_parser_feed(ps, buf, n)) != APR_SUCCESS) {
            break;
        }
        if (apr_time_now() - last >= PROGRESS_EVERY) {
            /* the records committed and the total estimated with them
             * (ingest_landing_progress); pdf and xlsx have no records */
            apr_int64_t done = 0, est = 1;
            if (land) {
                /* the open batch first: the report runs on the same connection */
                rv = ingest_landing_commit(land, &held);
                if (rv != APR_SUCCESS || !held) {
                    return rv;
                }
                ingest_landing_progress(land, &done, &est);
            }
            last = apr_time_now();
            rv = ingest_processor_progress(st, str(job, "job_id"), done, est, &held);
            if (rv != APR_SUCCESS || !held || apr_atomic_read32(st->stopping)) {
                /* lost the job, or the child is exiting: the next holder
                 * parses the file again from the start */
                return rv;
            }
        }
    }
    if (prv != APR_SUCCESS && land) {
        /* the database or the lease stopped the parse, not the file */
        ingest_landing_abort(land);
        rv = ingest_landing_status(land, &held);
        if (rv != APR_SUCCESS || !held) {
            return rv;
        }
    }
    if (prv != APR_SUCCESS) {
        int line = 0, column = 0;
        const char *why = ingest_parser_error(ps, &line, &column);
        /* some messages name their line already ("line 7 is not ...") */
        const char *err = !why || !strncmp(why, "line ", 5) ? why
                          : column > 0 ? apr_psprintf(st->p, "line %d, column %d: %s", line, column, why)
                          : line > 0   ? apr_psprintf(st->p, "line %d: %s", line, why)
                                       : why;
        rv = finish(st, job, 0, NULL, err ? err : "the file could not be parsed", ingest_parser_records(ps),
                    finished);
        /* a failed job keeps none of its records */
        if (rv == APR_SUCCESS && *finished && land) {
            rv = ingest_store_records_forget(st->p, st->s, st->dbd, str(job, "job_id"));
        }
        return rv;
    }
    if (land && ((rv = ingest_landing_commit(land, &held)) != APR_SUCCESS || !held)) {
        return rv;
    }
    summary = ingest_parser_summary(ps);
    json_object_set_new(summary, "size", json_integer(size));
    if (str(job, "content_sha256")) {
        json_object_set_new(summary, "sha256", json_string(str(job, "content_sha256")));
    }
    json_object_set_new(summary, "processing_time_ms", json_integer(apr_time_as_msec(apr_time_now() - t0)));
    /* a job with records is read back through its export */
    rv = ingest_processor_finish_url(
        st, str(job, "job_id"), 1, summary,
        land ? apr_pstrcat(st->p, "/api/ingest/status/", str(job, "job_id"), "/records.ndjson", NULL) : NULL,
        NULL, ingest_parser_records(ps) + ingest_parser_bad_records(ps), finished);
    json_decref(summary);
    return rv;
}

apr_status_t ingest_processor_in_pool(const ingest_step_t *st, json_t *job, int *finished, const char *tag,
                                      ingest_step_fn *fn)
{
    ingest_step_t job_st = *st;
    apr_status_t rv;

    /* the step's library state (by pool cleanups), open files, buffers
     * and messages live as long as the job's step, whichever way it ends:
     * not until the end of the pass */
    *finished = 0;
    if ((rv = apr_pool_create(&job_st.p, st->p)) != APR_SUCCESS) {
        return rv;
    }
    apr_pool_tag(job_st.p, tag);
    rv = fn(&job_st, job, finished);
    apr_pool_destroy(job_st.p);
    return rv;
}

apr_status_t ingest_processor_parse(const ingest_step_t *st, json_t *job, int *finished)
{
    return ingest_processor_in_pool(st, job, finished, "ingest_parse_job", parse_file);
}
