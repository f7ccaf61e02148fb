/* GET /api/ingest/status/{job_id}/records: a job's records (sql/014), in
 * file order, a page at a time after a seq: constant cost per page
 * however deep (the primary key's range). */

#include "ingest_query.h"
#include "ingest_validate.h"
#include "mod_ingest_api.h"
#include "mod_ingest_http.h"
#include "mod_ingest_store.h"

int ingest_api_records(request_rec *r, const ingest_identity_t *id, const char *job_id)
{
    apr_table_t *args;
    const char *bad;
    ingest_records_req_t req;
    ingest_verr_t verr;
    ap_dbd_t *dbd;
    json_t *page = NULL, *out, *records, *job;
    apr_status_t rv;
    int more;

    if (ingest_query_parse(r->pool, r->args, &args, &bad) != APR_SUCCESS) {
        return ingest_send_invalid(r, bad, "is not correctly %-encoded");
    }
    if (ingest_validate_records(r->pool, args, &req, &verr) != APR_SUCCESS) {
        return ingest_send_invalid(r, verr.field, verr.detail);
    }
    if ((rv = ingest_db_acquire(r, &dbd)) != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    rv = ingest_store_records_page(r->pool, r->server, dbd, id, job_id, req.after, req.limit, &page);
    if (rv != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    if (!json_is_true(json_object_get(page, "exists"))) {
        return ingest_send_not_found(r);
    }
    /* one more than the page was read: whether there are more */
    records = json_object_get(page, "records");
    more = json_array_size(records) > (size_t)req.limit;
    if (more) {
        json_array_remove(records, (size_t)req.limit);
    }
    job = json_object_get(page, "job");
    out = ingest_json_pool_own(r->pool, json_object());
    json_object_set_new(out, "job_id", json_string(job_id));
    json_object_set(out, "status", json_object_get(job, "status"));
    json_object_set(out, "records_committed", json_object_get(job, "processed_items"));
    json_object_set(out, "records", records);
    json_object_set(out, "next_after",
                    json_array_size(records)
                        ? json_object_get(json_array_get(records, json_array_size(records) - 1), "seq")
                        : json_null());
    json_object_set_new(out, "has_more", json_boolean(more));
    return ingest_send_json(r, HTTP_OK, out);
}
