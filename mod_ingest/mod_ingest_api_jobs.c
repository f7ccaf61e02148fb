/* GET /api/ingest/jobs: the tenant's jobs, newest first, paginated by
 * offset or by keyset cursor (next_cursor of the page before). */

#include "ingest_query.h"
#include "ingest_validate.h"
#include "mod_ingest_api.h"
#include "mod_ingest_http.h"
#include "mod_ingest_store.h"

int ingest_api_jobs(request_rec *r, const ingest_identity_t *id, const char *param)
{
    apr_table_t *args;
    const char *bad;
    ingest_list_req_t req;
    ingest_verr_t verr;
    ap_dbd_t *dbd;
    json_t *page = NULL, *jobs, *job, *out, *next;
    apr_status_t rv;
    size_t i;

    (void)param;
    if (ingest_query_parse(r->pool, r->args, &args, &bad) != APR_SUCCESS) {
        return ingest_send_invalid(r, bad, "is not correctly %-encoded");
    }
    if (ingest_validate_list(r->pool, args, &req, &verr) != APR_SUCCESS) {
        return ingest_send_invalid(r, verr.field, verr.detail);
    }
    if (req.mine && !id->user) {
        return ingest_send_invalid(r, "user", "cannot be \"me\": this request has no authenticated user");
    }
    if ((rv = ingest_db_acquire(r, &dbd)) != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    if ((rv = ingest_store_job_list(r->pool, r->server, dbd, id, &req, &page)) != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    jobs = json_object_get(page, "jobs");
    json_array_foreach(jobs, i, job)
    {
        ingest_job_add_derived(job);
    }
    out = ingest_page_json(r, NULL, page, "jobs", req.limit, "offset", req.offset);
    next = json_object_get(page, "next_cursor");
    if (req.has_cursor) {
        /* the position is the cursor's: no offset, and more when a next cursor */
        json_object_set_new(out, "offset", json_null());
        json_object_set_new(out, "has_more", json_boolean(json_is_string(next)));
    }
    json_object_set(out, "next_cursor", next);
    return ingest_send_json(r, HTTP_OK, out);
}
