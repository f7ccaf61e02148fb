/* POST /api/ingest/init: create a pending file-upload job. */

#include <apr_strings.h>
#include <http_protocol.h>

#include "ingest_sign.h"
#include "ingest_simulate.h"
#include "ingest_validate.h"
#include "mod_ingest_api.h"
#include "mod_ingest_config.h"
#include "mod_ingest_deliver.h"
#include "mod_ingest_http.h"
#include "mod_ingest_quota.h"
#include "mod_ingest_store.h"

/* A retried Idempotency-Key must describe the same ingestion; otherwise the
 * client has a bug that silently answering the old job would hide. */
static int same_request(json_t *job, const ingest_init_req_t *req)
{
    return !strcmp(json_string_value(json_object_get(job, "source_type")) ?: "", req->source_type)
           && !strcmp(json_string_value(json_object_get(job, "filename")) ?: "", req->filename)
           && !strcmp(json_string_value(json_object_get(job, "file_type")) ?: "", req->file_type)
           && json_integer_value(json_object_get(job, "file_size")) == req->file_size;
}

int ingest_api_init(request_rec *r, const ingest_identity_t *id, const char *param)
{
    const ingest_dir_conf *dc = ingest_dconf(r);
    const ingest_srv_conf *sc = ingest_sconf(r->server);
    const char *key = apr_table_get(r->headers_in, "Idempotency-Key");
    const char *why, *job_id, *status_url, *upload_url;
    ingest_init_req_t req;
    ingest_verr_t verr;
    ingest_problem_t pb;
    json_t *body, *job = NULL, *out;
    ap_dbd_t *dbd;
    apr_int64_t expires = 0;
    apr_status_t rv;
    apr_interval_time_t due_in = 0;
    ingest_processor_e proc;
    int created = 0, wait_for_file, rc;
    ingest_quota_t quota = {0};

    (void)param;
    if (ingest_read_json(r, ingest_conf_max_body(dc), &body, &pb) != APR_SUCCESS) {
        return ingest_send_problem(r, &pb);
    }
    if (key && ingest_validate_idempotency_key(key, &why) != APR_SUCCESS) {
        return ingest_send_invalid(r, "Idempotency-Key", why);
    }
    if (ingest_validate_init(r->pool, body, ingest_conf_max_upload(dc), &req, &verr) != APR_SUCCESS) {
        return ingest_send_invalid(r, verr.field, verr.detail);
    }
    if ((rc = ingest_notify_accept(r, req.notify_url)) != DECLINED) {
        return rc;
    }
    if (!strcmp(req.source_type, "job_metadata") && !ingest_conf_storage(sc)) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            IGLOGNO(00611) "job metadata init refused: no IngestStorage (or IngestStorageDir) is set");
        return ingest_send_error(r, HTTP_SERVICE_UNAVAILABLE, "storage-unavailable", "Storage not configured",
                                 "this server has no IngestStorage to keep the job metadata file");
    }
    if ((rv = ingest_db_acquire(r, &dbd)) != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    /* simulate and external need no upload: the job is queued at once,
     * and simulate starts it after its configured delay; parse (and no
     * processor) wait for the file, as job metadata always does */
    proc = ingest_conf_processor(sc);
    wait_for_file =
        proc == INGEST_PROC_NONE || proc == INGEST_PROC_PARSE || !strcmp(req.source_type, "job_metadata");
    if (!wait_for_file && proc == INGEST_PROC_SIMULATE) {
        ingest_rng_t rng;
        apr_uint64_t seed = 0;
        apr_generate_random_bytes((unsigned char *)&seed, sizeof(seed));
        ingest_rng_seed(&rng, seed);
        due_in = ingest_rng_range(&rng, ingest_conf_sim_delay_min(sc), ingest_conf_sim_delay_max(sc));
    }
    /* only a job that waits for its file will store one */
    quota.tenant = id->tenant;
    quota.key = key;
    quota.new_job = 1;
    quota.bytes = wait_for_file ? req.file_size : 0;
    if ((rc = ingest_quota_enter(r, dbd, &quota)) != DECLINED) {
        return rc;
    }
    rv = ingest_store_job_create(r->pool, r->server, dbd, id, &req, key, ingest_conf_upload_ttl(dc),
                                 wait_for_file ? "pending" : "queued", due_in, &job, &created, &expires);
    rv = ingest_quota_leave(r, dbd, &quota, rv);
    if (rv != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    if (!created && !same_request(job, &req)) {
        return ingest_send_error(r, HTTP_UNPROCESSABLE_ENTITY, "idempotency-key-reused",
                                 "Idempotency-Key reused",
                                 "Idempotency-Key was already used for a different ingestion");
    }

    job_id = json_string_value(json_object_get(job, "job_id"));
    status_url = apr_pstrcat(r->pool, "/api/ingest/status/", job_id, NULL);
    upload_url = ingest_upload_url(r->pool, sc->upload_secret, sc->upload_secret_len, job_id, expires);
    out = json_deep_copy(job);
    ingest_job_add_derived(out);
    json_object_set_new(out, "status_url", json_string(status_url));
    if (upload_url) {
        json_object_set_new(out, "upload_url", json_string(upload_url));
    }
    apr_table_setn(r->headers_out, "Location", status_url);
    ingest_json_pool_own(r->pool, out);
    return ingest_send_json(r, created ? HTTP_CREATED : HTTP_OK, out);
}
