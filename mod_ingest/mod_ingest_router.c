/* The routes of the location's API profile (IngestAPIProfile, the native
 * one by default) onto the native handlers. A seed profile's route may
 * rewrite the query string before the handler reads it, and its answers
 * (and errors) are rewritten in the profile's words as they are sent
 * (ingest_send_document); the handler is the native one either way. */

#include <httpd.h>
#include <apr_strings.h>
#include <http_protocol.h>

#include "ingest_profile.h"
#include "mod_ingest.h"
#include "mod_ingest_api.h"
#include "mod_ingest_auth.h"
#include "mod_ingest_config.h"
#include "mod_ingest_db.h"
#include "mod_ingest_http.h"
#include "mod_ingest_router.h"

/* The handler of each native endpoint. */
static ingest_api_fn *const handlers[INGEST_EP_COUNT] = {
    [INGEST_EP_INIT] = ingest_api_init,
    [INGEST_EP_JOBS] = ingest_api_jobs,
    [INGEST_EP_STATS] = ingest_api_stats,
    [INGEST_EP_HEALTH] = ingest_api_health,
    [INGEST_EP_CALLBACK] = ingest_api_callback,
    [INGEST_EP_JSON] = ingest_api_json,
    [INGEST_EP_STATUS] = ingest_api_status,
    [INGEST_EP_RESULTS] = ingest_api_results,
    [INGEST_EP_UPLOAD] = ingest_api_upload,
    [INGEST_EP_DELETE] = ingest_api_delete,
    [INGEST_EP_COST_BY_MODEL] = ingest_api_cost_by_model,
    [INGEST_EP_COST_BY_TEAM] = ingest_api_cost_by_team,
    [INGEST_EP_ML_JOBS] = ingest_api_ml_jobs,
    [INGEST_EP_ADMIN_MOCK] = ingest_api_admin_mock,
    [INGEST_EP_RECORDS] = ingest_api_records,
    [INGEST_EP_RECORDS_NDJSON] = ingest_api_records_ndjson,
    [INGEST_EP_RECORDS_CSV] = ingest_api_records_csv,
    [INGEST_EP_RECORD_ERRORS] = ingest_api_record_errors,
    [INGEST_EP_EVENTS] = ingest_api_events,
    [INGEST_EP_DELIVERIES] = ingest_api_deliveries,
    [INGEST_EP_REDELIVER] = ingest_api_redeliver,
};

/* What the send functions need to answer in the profile's words. */
typedef struct {
    const ingest_profile_t *profile;
    const ingest_profile_route_t *route;
} route_ctx_t;

static const char *method_name(const char *m)
{
    return !strcmp(m, "GET") ? "GET, HEAD" : m;
}

static int method_matches(request_rec *r, const char *m)
{
    /* httpd answers HEAD through the GET handler */
    return !strcmp(r->method, m) || (r->header_only && !strcmp(m, "GET"));
}

json_t *ingest_route_shape(request_rec *r, int *status, json_t *body)
{
    route_ctx_t *rc = ap_get_module_config(r->request_config, &ingest_module);
    ingest_shape_fn *fn;

    if (!rc) {
        return NULL;
    }
    fn = *status < 400 || (rc->route && rc->route->endpoint == INGEST_EP_HEALTH)
             ? (rc->route ? rc->route->shape : NULL)
             : rc->profile->error;
    return fn ? fn(r->pool, r->method, status, body) : NULL;
}

apr_uint32_t ingest_route_variant(request_rec *r)
{
    route_ctx_t *rc = ap_get_module_config(r->request_config, &ingest_module);
    apr_uint32_t profile, route;

    if (!rc) {
        return 0;
    }
    for (profile = 0; profile < INGEST_PROFILE_COUNT; ++profile) {
        if (ingest_profile_get((ingest_profile_e)profile) == rc->profile) {
            break;
        }
    }
    route = rc->route ? (apr_uint32_t)(rc->route - rc->profile->routes) + 1 : 0;
    return profile << 16 | route;
}

int ingest_route(request_rec *r)
{
    const ingest_profile_t *prof = ingest_profile_get(ingest_conf_profile(ingest_dconf(r)));
    const ingest_profile_route_t *rt;
    const char *param = NULL, *allow = NULL;
    route_ctx_t *rc = apr_pcalloc(r->pool, sizeof(*rc));
    int st;

    /* the profile's words from the first answer on, a 404 or 405 too */
    rc->profile = prof;
    ap_set_module_config(r->request_config, &ingest_module, rc);
    for (rt = prof->routes; rt->pattern; ++rt) {
        const char *p;
        if (!ingest_profile_match(r->pool, rt->pattern, r->uri, &p)) {
            continue;
        }
        if (method_matches(r, rt->method)) {
            ingest_identity_t id;
            param = p;
            rc->route = rt;
            if (rt->query) {
                r->args = (char *)rt->query(r->pool, r->args);
            }
            if (ingest_endpoint_identity(rt->endpoint)) {
                ingest_problem_t pb;
                if (ingest_auth_identify(r, &id, &pb) != APR_SUCCESS) {
                    return ingest_send_problem(r, &pb);
                }
                st = handlers[rt->endpoint](r, &id, param);
            } else {
                st = handlers[rt->endpoint](r, NULL, param);
            }
            /* an answer without a body (204) the profile may still word */
            if (st == OK && r->status == HTTP_NO_CONTENT && rt->shape) {
                int status = HTTP_NO_CONTENT;
                json_t *body = rt->shape(r->pool, r->method, &status, NULL);
                if (body) {
                    rc->route = NULL; /* worded already */
                    st = ingest_send_document(r, status, "application/json",
                                              ingest_json_pool_own(r->pool, body));
                }
            }
            return st;
        }
        allow = allow ? apr_pstrcat(r->pool, allow, ", ", method_name(rt->method), NULL)
                      : method_name(rt->method);
        if (!p) {
            break; /* a literal path is never also a {job_id} */
        }
    }
    /* A seed profile's location may cover files too (seed 002's
     * ^/(ingest|status|health)(/|$) takes in the dashboard at /ingest/):
     * what is none of its routes but a file or a directory httpd maps the
     * path to is left to httpd to serve. */
    if (!allow && prof != ingest_profile_get(INGEST_PROFILE_NATIVE) && r->finfo.filetype != APR_NOFILE) {
        ap_set_module_config(r->request_config, &ingest_module, NULL);
        r->handler = "default-handler";
        return DECLINED;
    }
    if (allow) {
        apr_table_setn(r->headers_out, "Allow", allow);
        return ingest_send_error(
            r, HTTP_METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed",
            apr_psprintf(r->pool, "%s is not allowed here; allowed: %s", r->method, allow));
    }
    return ingest_send_error(r, HTTP_NOT_FOUND, "no-route", "Not found",
                             apr_psprintf(r->pool, "no API endpoint at %s", r->uri));
}
