/* GET /api/ingest/status/{job_id}: one job, with progress. */

#include "mod_ingest_api.h"
#include "mod_ingest_http.h"
#include "mod_ingest_store.h"

int ingest_api_status(request_rec *r, const ingest_identity_t *id, const char *job_id)
{
    ap_dbd_t *dbd;
    json_t *job = NULL;
    apr_status_t rv;

    if ((rv = ingest_db_acquire(r, &dbd)) != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    rv = ingest_store_job_get(r->pool, r->server, dbd, id, job_id, &job);
    if (rv == APR_NOTFOUND) {
        return ingest_send_not_found(r);
    }
    if (rv != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    ingest_job_add_derived(job);
    return ingest_send_json(r, HTTP_OK, job);
}
