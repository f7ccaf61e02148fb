/* PUT /api/ingest/upload/{job_id}?expires=E&sig=S: the presigned upload.
 * The URL is the credential (like an S3 presigned URL): an HMAC of method,
 * job and expiry under IngestUploadSecret. The body is streamed to the
 * storage (a temporary file, or an S3 multipart upload) with its sha256
 * computed on the way, made durable, and only then does the job become
 * queued. Memory stays bounded by one brigade read (and, for S3, one
 * part), whatever the file's size. */

#include <apr_strings.h>
#include <http_protocol.h>

#include "ingest_sign.h"
#include "mod_ingest_api.h"
#include "mod_ingest_config.h"
#include "mod_ingest_http.h"
#include "mod_ingest_quota.h"
#include "mod_ingest_metrics.h"
#include "mod_ingest_storage.h"
#include "mod_ingest_store.h"

#define READ_CHUNK (64 * 1024)

static int forbidden(request_rec *r, const char *why)
{
    return ingest_send_error(r, HTTP_FORBIDDEN, "bad-signature", "Upload URL not valid", why);
}

typedef struct {
    request_rec *r;
    ingest_storage_file_t *f;
    apr_off_t declared, max;
    apr_status_t failed; /* why the storage refused a chunk */
} upload_t;

/* Each chunk to the file; refuses at once what passes the limits. */
static int store_chunk(void *ctx, const char *data, apr_size_t n)
{
    upload_t *u = ctx;
    apr_status_t rv;
    if (ingest_storage_size(u->f) + (apr_off_t)n > u->max) {
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    if (ingest_storage_size(u->f) + (apr_off_t)n > u->declared) {
        return HTTP_UNPROCESSABLE_ENTITY;
    }
    if ((rv = ingest_storage_write(u->f, data, n)) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, INGEST_LOG_RV(rv), u->r, IGLOGNO(00602) "cannot write an upload to %s",
                      ingest_storage_describe(u->f->st));
        u->failed = rv;
        return HTTP_INSUFFICIENT_STORAGE;
    }
    return OK;
}

static int stream_body(request_rec *r, ingest_storage_file_t *f, apr_off_t declared, apr_off_t max,
                       apr_status_t *failed)
{
    upload_t u = {r, f, declared, max, APR_SUCCESS};
    int rc = ingest_stream_body(r, READ_CHUNK, store_chunk, &u);
    *failed = u.failed;
    if (rc != OK) {
        return rc;
    }
    return ingest_storage_size(f) == declared ? OK : HTTP_UNPROCESSABLE_ENTITY;
}

int ingest_api_upload(request_rec *r, const ingest_identity_t *id, const char *job_id)
{
    const ingest_dir_conf *dc = ingest_dconf(r);
    const ingest_srv_conf *sc = ingest_sconf(r->server);
    const ingest_storage_t *storage = ingest_conf_storage(sc);
    const char *why, *cl, *rel, *sha;
    apr_off_t declared, max = ingest_conf_max_upload(dc);
    ingest_storage_file_t *f;
    json_t *job = NULL;
    ap_dbd_t *dbd;
    apr_status_t rv;
    int rc;
    ingest_quota_t quota = {0};

    (void)id;
    if (ingest_upload_verify(r->pool, sc->upload_secret, sc->upload_secret_len, "PUT", job_id, r->args,
                             apr_time_now(), &why)
        != APR_SUCCESS) {
        return forbidden(r, why);
    }
    if (!storage) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            IGLOGNO(00603) "an upload arrived but neither IngestStorage nor IngestStorageDir is set");
        return ingest_send_error(r, HTTP_SERVICE_UNAVAILABLE, "storage-unavailable", "Storage not configured",
                                 "this server has no IngestStorage");
    }
    /* Look the job up, give the connection back while the body streams
     * (a client may take hours), take one again to commit. */
    if ((rv = ingest_db_take(r, &dbd)) == APR_SUCCESS) {
        rv = ingest_store_upload_job(r->pool, r->server, dbd, job_id, &job);
    }
    ingest_db_release(r);
    if (rv == APR_NOTFOUND) {
        return ingest_send_not_found(r);
    }
    if (rv != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    if (strcmp(json_string_value(json_object_get(job, "status")), "pending")) {
        return ingest_send_error(r, HTTP_CONFLICT, "already-uploaded", "Upload not expected",
                                 apr_psprintf(r->pool,
                                              "the job is %s: its file has already arrived or it is over",
                                              json_string_value(json_object_get(job, "status"))));
    }
    declared = (apr_off_t)json_integer_value(json_object_get(job, "file_size"));
    /* announced sizes are judged before a byte is read */
    if ((cl = apr_table_get(r->headers_in, "Content-Length")) != NULL) {
        char *end;
        apr_off_t n;
        if (apr_strtoff(&n, cl, &end, 10) == APR_SUCCESS && !*end) {
            if (n > max) {
                r->connection->keepalive = AP_CONN_CLOSE;
                return ingest_send_error(
                    r, HTTP_REQUEST_ENTITY_TOO_LARGE, "upload-too-large", "Upload too large",
                    apr_psprintf(r->pool, "uploads may be at most %" APR_OFF_T_FMT " bytes", max));
            }
            if (n != declared) {
                r->connection->keepalive = AP_CONN_CLOSE;
                return ingest_send_error(r, HTTP_UNPROCESSABLE_ENTITY, "size-mismatch", "Size mismatch",
                                         apr_psprintf(r->pool,
                                                      "the body has %" APR_OFF_T_FMT
                                                      " bytes; the job declared "
                                                      "file_size %" APR_OFF_T_FMT,
                                                      n, declared));
            }
        }
    }
    if ((rv = ingest_storage_begin(r->pool, storage, json_string_value(json_object_get(job, "tenant_id")),
                                   job_id, &f))
        != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, INGEST_LOG_RV(rv), r, IGLOGNO(00604) "cannot create an upload file in %s",
                      ingest_storage_describe(storage));
        return ingest_send_storage_error(r, rv, "Cannot store the file",
                                         "the server could not create the file");
    }
    rc = stream_body(r, f, declared, max, &rv);
    if (rc != OK) {
        /* the temporary file (or multipart upload) goes with the request
         * pool */
        r->connection->keepalive = AP_CONN_CLOSE;
        if (rv == INGEST_ESTORAGE_DOWN) {
            return ingest_send_storage_error(r, rv, NULL, NULL);
        }
        if (rc == HTTP_REQUEST_ENTITY_TOO_LARGE) {
            return ingest_send_error(
                r, rc, "upload-too-large", "Upload too large",
                apr_psprintf(r->pool, "uploads may be at most %" APR_OFF_T_FMT " bytes", max));
        }
        if (rc == HTTP_UNPROCESSABLE_ENTITY) {
            return ingest_send_error(
                r, rc, "size-mismatch", "Size mismatch",
                apr_psprintf(r->pool, "the body's size differs from the declared file_size %" APR_OFF_T_FMT,
                             declared));
        }
        return ingest_send_error(r, rc, "upload-failed", "Upload failed",
                                 "the body could not be read or stored");
    }
    if ((rv = ingest_storage_commit(f, &rel, &sha)) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, INGEST_LOG_RV(rv), r, IGLOGNO(00605) "cannot make an upload durable in %s",
                      ingest_storage_describe(storage));
        return ingest_send_storage_error(r, rv, "Cannot store the file",
                                         "the server could not make the file durable");
    }
    if ((rv = ingest_db_take(r, &dbd)) != APR_SUCCESS) {
        ingest_storage_remove(r->pool, storage, rel); /* nothing was sent: the job still waits */
        return ingest_send_db_error(r, rv);
    }
    /* the file's bytes against the tenant's storage quota: the init
     * reserved them, so only a lowered quota refuses here */
    quota.tenant = json_string_value(json_object_get(job, "tenant_id"));
    quota.job_id = job_id;
    quota.bytes = declared;
    if ((rc = ingest_quota_enter(r, dbd, &quota)) != DECLINED) {
        ingest_db_release(r);
        ingest_storage_remove(r->pool, storage, rel); /* the job still waits for its file */
        return rc;
    }
    rv = ingest_store_upload_done(r->pool, r->server, dbd, job_id, sha, rel, &job);
    rv = ingest_quota_leave(r, dbd, &quota, rv);
    ingest_db_release(r);
    if (rv == APR_NOTFOUND) {
        ingest_storage_remove(r->pool, storage, rel); /* the job did not take it */
        return ingest_send_error(r, HTTP_CONFLICT, "already-uploaded", "Upload not expected",
                                 "the job stopped waiting for its file while it was uploaded");
    }
    if (rv != APR_SUCCESS) {
        /* The connection may have failed after the UPDATE committed: then
         * the job points at this file. A file no job names is garbage; a
         * job whose file was removed is lost work. Keep it. */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r,
                      IGLOGNO(00608) "upload of job %s stored as %s, but the job could not be updated",
                      job_id, rel);
        return ingest_send_db_error(r, rv);
    }
    ingest_metrics_inc(INGEST_M_UPLOADS);
    ingest_metrics_add(INGEST_M_UPLOAD_BYTES, (apr_uint64_t)declared);
    ingest_job_add_derived(job);
    apr_table_setn(r->headers_out, "ETag", apr_pstrcat(r->pool, "\"", sha, "\"", NULL));
    return ingest_send_json(r, HTTP_OK, job);
}
