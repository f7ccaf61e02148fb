/* GET /api/ingest/stats: the tenant's job counts per status. */

#include "mod_ingest_api.h"
#include "mod_ingest_http.h"
#include "mod_ingest_store.h"

int ingest_api_stats(request_rec *r, const ingest_identity_t *id, const char *param)
{
    ap_dbd_t *dbd;
    json_t *stats = NULL;
    apr_status_t rv;

    (void)param;
    if ((rv = ingest_db_acquire(r, &dbd)) != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    if ((rv = ingest_store_job_stats(r->pool, r->server, dbd, id, &stats)) != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    return ingest_send_json(r, HTTP_OK, stats);
}
