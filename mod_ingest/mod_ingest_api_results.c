/* GET /api/ingest/status/{job_id}/results: a job's per-item results,
 * paginated like the jobs listing. */

#include "ingest_query.h"
#include "ingest_validate.h"
#include "mod_ingest_api.h"
#include "mod_ingest_http.h"
#include "mod_ingest_store.h"

int ingest_api_results(request_rec *r, const ingest_identity_t *id, const char *job_id)
{
    apr_table_t *args;
    const char *bad;
    ingest_results_req_t req;
    ingest_verr_t verr;
    ap_dbd_t *dbd;
    json_t *page = NULL, *out;
    apr_status_t rv;

    if (ingest_query_parse(r->pool, r->args, &args, &bad) != APR_SUCCESS) {
        return ingest_send_invalid(r, bad, "is not correctly %-encoded");
    }
    if (ingest_validate_results(r->pool, args, &req, &verr) != APR_SUCCESS) {
        return ingest_send_invalid(r, verr.field, verr.detail);
    }
    if ((rv = ingest_db_acquire(r, &dbd)) != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    rv = ingest_store_items_page(r->pool, r->server, dbd, id, job_id, req.status, req.limit, req.offset,
                                 &page);
    if (rv != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    if (!json_is_true(json_object_get(page, "exists"))) {
        return ingest_send_not_found(r);
    }
    /* the job's status and counts, so a client needs no second request */
    out = ingest_json_pool_own(r->pool, json_deep_copy(json_object_get(page, "job")));
    json_object_set_new(out, "job_id", json_string(job_id));
    return ingest_send_page(r, out, page, "results", req.limit, "offset", req.offset);
}
