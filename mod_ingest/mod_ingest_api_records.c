/* GET /api/ingest/status/{job_id}/records: a job's records (sql/014), in
 * file order, a page at a time after a seq: constant cost per page
 * however deep (the primary key's range). GET …/errors: the bad records a
 * job stepped over and kept (sql/016), paged the same way. */

#include "ingest_query.h"
#include "ingest_validate.h"
#include "mod_ingest_api.h"
#include "mod_ingest_http.h"
#include "mod_ingest_store.h"

typedef apr_status_t page_fn(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const ingest_identity_t *id,
                             const char *job_id, apr_int64_t after, int limit, json_t **page);

/* A paged listing of a job's rows: the store's page, its array's name,
 * and the count of the job shown with it (the name in the answer, the
 * job's column). */
typedef struct {
    page_fn *read;
    const char *items;
    const char *count_as;
    const char *count_of;
} job_pages_t;

static const job_pages_t records_pages = {ingest_store_records_page, "records", "records_committed",
                                          "committed"};
static const job_pages_t error_pages = {ingest_store_records_errors, "errors", "failed_items",
                                        "failed_items"};

static int send_page(request_rec *r, const ingest_identity_t *id, const char *job_id, const job_pages_t *kind)
{
    apr_table_t *args;
    const char *bad;
    ingest_records_req_t req;
    ingest_verr_t verr;
    ap_dbd_t *dbd;
    json_t *page = NULL, *out, *items, *job;
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
    rv = kind->read(r->pool, r->server, dbd, id, job_id, req.after, req.limit, &page);
    if (rv != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    if (!json_is_true(json_object_get(page, "exists"))) {
        return ingest_send_not_found(r);
    }
    /* one more than the page was read: whether there are more */
    items = json_object_get(page, kind->items);
    more = json_array_size(items) > (size_t)req.limit;
    if (more) {
        json_array_remove(items, (size_t)req.limit);
    }
    job = json_object_get(page, "job");
    out = ingest_json_pool_own(r->pool, json_object());
    json_object_set_new(out, "job_id", json_string(job_id));
    json_object_set(out, "status", json_object_get(job, "status"));
    json_object_set(out, kind->count_as, json_object_get(job, kind->count_of));
    json_object_set(out, kind->items, items);
    json_object_set(out, "next_after",
                    json_array_size(items)
                        ? json_object_get(json_array_get(items, json_array_size(items) - 1), "seq")
                        : json_null());
    json_object_set_new(out, "has_more", json_boolean(more));
    return ingest_send_json(r, HTTP_OK, out);
}

int ingest_api_records(request_rec *r, const ingest_identity_t *id, const char *job_id)
{
    return send_page(r, id, job_id, &records_pages);
}

int ingest_api_record_errors(request_rec *r, const ingest_identity_t *id, const char *job_id)
{
    return send_page(r, id, job_id, &error_pages);
}
