/* DELETE /api/ingest/{job_id}: remove a job. */

#include "mod_ingest_api.h"
#include "mod_ingest_http.h"
#include "mod_ingest_store.h"

int ingest_api_delete(request_rec *r, const ingest_identity_t *id, const char *job_id)
{
    ap_dbd_t *dbd;
    apr_status_t rv;

    if ((rv = ingest_db_acquire(r, &dbd)) != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    rv = ingest_store_job_delete(r->pool, r->server, dbd, id, job_id);
    if (rv == APR_NOTFOUND) {
        return ingest_send_not_found(r);
    }
    if (rv != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    r->status = HTTP_NO_CONTENT;
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    return OK;
}
