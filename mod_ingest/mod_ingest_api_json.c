/* POST /api/ingest/json: a job from a JSON body. {"records": [...]} is
 * stored as an NDJSON file and processed like an uploaded one (seed 001),
 * and so is {"jobs": [...]}, ML job metadata that the worker upserts
 * (seed 003); {"mappings": [...], "priority": ...} becomes a job with one
 * result row per mapping (seed 002). Either way the data is durable
 * before the 202. */

#include <apr_strings.h>
#include <http_protocol.h>

#include "ingest_ingest_json.h"
#include "ingest_job.h"
#include "ingest_sign.h"
#include "mod_ingest_api.h"
#include "mod_ingest_config.h"
#include "mod_ingest_deliver.h"
#include "mod_ingest_http.h"
#include "mod_ingest_quota.h"
#include "mod_ingest_storage.h"
#include "mod_ingest_store.h"

int ingest_api_json(request_rec *r, const ingest_identity_t *id, const char *param)
{
    ingest_problem_t pb;
    json_t *body;

    (void)param;
    if (ingest_read_json(r, ingest_conf_max_body(ingest_dconf(r)), &body, &pb) != APR_SUCCESS) {
        return ingest_send_problem(r, &pb);
    }
    return ingest_json_ingest(r, id, body);
}

int ingest_json_ingest(request_rec *r, const ingest_identity_t *id, json_t *body)
{
    const ingest_srv_conf *sc = ingest_sconf(r->server);
    const char *key = apr_table_get(r->headers_in, "Idempotency-Key");
    const char *why, *status_url, *rel = NULL, *records_sha = "", *source;
    ingest_json_req_t req;
    ingest_verr_t verr;
    json_t *job = NULL, *out;
    ap_dbd_t *dbd;
    apr_status_t rv;
    int created = 0, rc;
    ingest_quota_t quota = {0};

    if (key && ingest_validate_idempotency_key(key, &why) != APR_SUCCESS) {
        return ingest_send_invalid(r, "Idempotency-Key", why);
    }
    if (ingest_validate_json_ingest(r->pool, body, &req, &verr) != APR_SUCCESS) {
        return ingest_send_invalid(r, verr.field, verr.detail);
    }
    if ((rc = ingest_notify_accept(r, req.notify_url)) != DECLINED) {
        return rc;
    }
    if ((rv = ingest_db_acquire(r, &dbd)) != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }

    source = req.kind == INGEST_JSON_RECORDS ? "json_records"
             : req.kind == INGEST_JSON_JOBS  ? "job_metadata"
                                             : "mappings";
    if (req.kind != INGEST_JSON_MAPPINGS) {
        const ingest_storage_t *storage = ingest_conf_storage(sc);
        const char *sha, *job_id = ingest_uuid_v7(r->pool, apr_time_now());
        ingest_storage_file_t *f;
        apr_size_t len;
        char *ndjson;

        if (!storage) {
            ap_log_rerror(
                APLOG_MARK, APLOG_ERR, 0, r,
                IGLOGNO(00606) "records arrived but neither IngestStorage nor IngestStorageDir is set");
            return ingest_send_error(r, HTTP_SERVICE_UNAVAILABLE, "storage-unavailable",
                                     "Storage not configured", "this server has no IngestStorage");
        }
        ndjson = ingest_records_ndjson(r->pool, req.records, &len);
        if ((rv = ingest_storage_begin(r->pool, storage, id->tenant, job_id, &f)) != APR_SUCCESS
            || (rv = ingest_storage_write(f, ndjson, len)) != APR_SUCCESS
            || (rv = ingest_storage_commit(f, &rel, &sha)) != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, INGEST_LOG_RV(rv), r,
                          IGLOGNO(00607) "cannot store records in %s", ingest_storage_describe(storage));
            return ingest_send_storage_error(r, rv, "Cannot store the records",
                                             "the server could not store the records");
        }
        records_sha = sha;
        quota.tenant = id->tenant;
        quota.key = key;
        quota.new_job = 1;
        quota.bytes = (apr_off_t)len;
        if ((rc = ingest_quota_enter(r, dbd, &quota)) != DECLINED) {
            ingest_storage_remove(r->pool, storage, rel); /* refused: no job names this file */
            return rc;
        }
        rv = ingest_store_json_records(r->pool, r->server, dbd, id, source, job_id, (apr_off_t)len, sha, rel,
                                       &req, key, &job, &created);
        rv = ingest_quota_leave(r, dbd, &quota, rv);
        if ((rv == APR_SUCCESS && !created) || rv == INGEST_EDB_QUERY || rv == INGEST_EDB_CONFLICT) {
            /* a replay (its job has its own file), or an INSERT that was
             * refused: no job names this file */
            ingest_storage_remove(r->pool, storage, rel);
        } else if (rv != APR_SUCCESS) {
            /* The connection failed: the INSERT may have committed, and
             * then its job names this file. A file no job names is
             * garbage; a job whose file was removed is lost work. */
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r,
                          IGLOGNO(00609) "records of job %s stored as %s, but the job may not have been "
                                         "created",
                          job_id, rel);
        }
    } else {
        char *mappings = json_dumps(json_object_get(body, "mappings"), JSON_COMPACT);
        records_sha = ingest_sha256_hex(r->pool, mappings, strlen(mappings));
        /* mappings are rows, not a stored file: only the job count applies */
        quota.tenant = id->tenant;
        quota.key = key;
        quota.new_job = 1;
        if ((rc = ingest_quota_enter(r, dbd, &quota)) != DECLINED) {
            free(mappings);
            return rc;
        }
        rv = ingest_store_json_mappings(r->pool, r->server, dbd, id, mappings, records_sha, req.count,
                                        req.priority, key, req.notify_url, &job, &created);
        rv = ingest_quota_leave(r, dbd, &quota, rv);
        free(mappings);
    }
    if (rv != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    /* A replay must be the same request: same kind and the same digest of
     * the records' stored form or of the mappings as sent (total_items is
     * the worker's to rewrite). */
    if (!created
        && (strcmp(json_string_value(json_object_get(job, "source_type")) ?: "", source)
            || strcmp(json_string_value(json_object_get(job, "content_sha256")) ?: "", records_sha))) {
        return ingest_send_error(r, HTTP_UNPROCESSABLE_ENTITY, "idempotency-key-reused",
                                 "Idempotency-Key reused",
                                 "Idempotency-Key was already used for a different ingestion");
    }
    out = ingest_json_pool_own(r->pool, json_deep_copy(job));
    ingest_job_add_derived(out);
    status_url =
        apr_pstrcat(r->pool, "/api/ingest/status/", json_string_value(json_object_get(out, "job_id")), NULL);
    json_object_set_new(out, "status_url", json_string(status_url));
    if (req.kind != INGEST_JSON_RECORDS) {
        json_object_set_new(out, "results_url",
                            json_string(apr_pstrcat(r->pool, status_url, "/results", NULL)));
    }
    apr_table_setn(r->headers_out, "Location", status_url);
    return ingest_send_json(r, created ? HTTP_ACCEPTED : HTTP_OK, out);
}
