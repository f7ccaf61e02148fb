/* GET /api/analytics/cost/by-model, /api/analytics/cost/by-team and
 * /api/analytics/jobs: seed 003's cost analytics and ML jobs listing, of
 * the caller's tenant only. */

#include "ingest_analytics.h"
#include "ingest_query.h"
#include "mod_ingest_api.h"
#include "mod_ingest_http.h"
#include "mod_ingest_store.h"

/* The query string as a table; 0 with *sent the 422 that says which
 * parameter is not %-encoded. */
static int query(request_rec *r, apr_table_t **args, int *sent)
{
    const char *bad;
    if (ingest_query_parse(r->pool, r->args, args, &bad) != APR_SUCCESS) {
        *sent = ingest_send_invalid(r, bad, "is not correctly %-encoded");
        return 0;
    }
    return 1;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static int cost(request_rec *r, const ingest_identity_t *id, int by_team)
{
    apr_table_t *args;
    ingest_cost_req_t req;
    ingest_verr_t verr;
    ap_dbd_t *dbd;
    json_t *res = NULL, *out;
    apr_status_t rv;
    int st;

    if (!query(r, &args, &st)) {
        return st;
    }
    if (ingest_validate_cost(r->pool, args, &req, &verr) != APR_SUCCESS) {
        return ingest_send_invalid(r, verr.field, verr.detail);
    }
    if ((rv = ingest_db_acquire(r, &dbd)) != APR_SUCCESS
        || (rv = ingest_store_ml_cost(r->pool, r->server, dbd, id, by_team, req.start, req.end, &res))
               != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    out = ingest_json_pool_own(r->pool, json_object());
    json_object_set_new(out, "start", str_or_null(req.start));
    json_object_set_new(out, "end", str_or_null(req.end));
    json_object_set_new(out, "currency", json_string("USD"));
    json_object_set(out, "total_cost_usd", json_object_get(res, "total_cost_usd"));
    json_object_set(out, "results", json_object_get(res, "results"));
    return ingest_send_json(r, HTTP_OK, out);
}

int ingest_api_cost_by_model(request_rec *r, const ingest_identity_t *id, const char *param)
{
    (void)param;
    return cost(r, id, 0);
}

int ingest_api_cost_by_team(request_rec *r, const ingest_identity_t *id, const char *param)
{
    (void)param;
    return cost(r, id, 1);
}

int ingest_api_ml_jobs(request_rec *r, const ingest_identity_t *id, const char *param)
{
    apr_table_t *args;
    ingest_ml_jobs_req_t req;
    ingest_verr_t verr;
    ap_dbd_t *dbd;
    json_t *page = NULL;
    apr_status_t rv;
    int st;

    (void)param;
    if (!query(r, &args, &st)) {
        return st;
    }
    if (ingest_validate_ml_jobs(r->pool, args, &req, &verr) != APR_SUCCESS) {
        return ingest_send_invalid(r, verr.field, verr.detail);
    }
    if ((rv = ingest_db_acquire(r, &dbd)) != APR_SUCCESS
        || (rv = ingest_store_ml_jobs(r->pool, r->server, dbd, id, &req, &page)) != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    return ingest_send_page(r, NULL, page, "jobs", req.limit, "skip", req.skip);
}
