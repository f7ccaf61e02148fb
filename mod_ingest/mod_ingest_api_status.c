/* GET /api/ingest/status/{job_id}: one job, with progress. The status
 * cache (IngestStatusCache) first, then the database; a cached answer is
 * the same bytes the database's would be. */

#include <stdlib.h>

#include "mod_ingest_api.h"
#include "mod_ingest_cache.h"
#include "mod_ingest_http.h"
#include "mod_ingest_store.h"

int ingest_api_status(request_rec *r, const ingest_identity_t *id, const char *job_id)
{
    ingest_cache_ticket_t ticket;
    ingest_cache_entry_t hit;
    ap_dbd_t *dbd;
    json_t *job = NULL;
    const char *ctype = "application/json";
    int status = HTTP_OK, rc;
    char *text;
    apr_status_t rv;

    if (ingest_cache_lookup(r, id->tenant, job_id, &ticket, &hit) == APR_SUCCESS) {
        return ingest_send_text(r, hit.status, hit.ctype, hit.body, hit.body_len);
    }
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
    if (!(text = ingest_render_document(r, &status, &ctype, job))) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ingest_cache_store(r, &ticket, id->tenant, status, ctype, text, strlen(text));
    rc = ingest_send_text(r, status, ctype, text, strlen(text));
    free(text);
    return rc;
}
