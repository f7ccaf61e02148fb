/* DELETE /api/ingest/{job_id}: remove a job. */

#include "mod_ingest_api.h"
#include "mod_ingest_config.h"
#include "mod_ingest_storage.h"
#include "mod_ingest_http.h"
#include "mod_ingest_store.h"

int ingest_api_delete(request_rec *r, const ingest_identity_t *id, const char *job_id)
{
    ap_dbd_t *dbd;
    const char *stored = NULL;
    apr_status_t rv;

    if ((rv = ingest_db_acquire(r, &dbd)) != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    rv = ingest_store_job_delete(r->pool, r->server, dbd, id, job_id, &stored);
    if (rv == APR_NOTFOUND) {
        return ingest_send_not_found(r);
    }
    if (rv != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    /* the row is gone first: a file without a row is garbage an operator
     * can sweep, a row without its file would be a job that cannot run */
    if (stored
        && ingest_storage_remove(r->pool, ingest_conf_storage(ingest_sconf(r->server)), stored)
               != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, IGLOGNO(00601) "job %s deleted, but not its file %s",
                      job_id, stored);
    }
    r->status = HTTP_NO_CONTENT;
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    return OK;
}
