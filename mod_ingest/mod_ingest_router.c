#include <httpd.h>
#include <apr_strings.h>
#include <http_protocol.h>

#include "ingest_validate.h"
#include "mod_ingest.h"
#include "mod_ingest_api.h"
#include "mod_ingest_auth.h"
#include "mod_ingest_http.h"
#include "mod_ingest_router.h"

typedef struct {
    int method;          /* M_GET also answers HEAD */
    const char *pattern; /* "{}" stands for one path segment holding a UUID */
    int identity;        /* tenant-scoped */
    ingest_api_fn *fn;
} route_t;

/* Literal paths before parameterised ones, so /api/ingest/jobs is the
 * listing, not a job called "jobs". */
static const route_t routes[] = {
    {M_POST, "/api/ingest/init", 1, ingest_api_init},
    {M_GET, "/api/ingest/jobs", 1, ingest_api_jobs},
    {M_GET, "/api/ingest/stats", 1, ingest_api_stats},
    {M_GET, "/api/ingest/health", 0, ingest_api_health},
    {M_POST, "/api/pipeline/callback", 0, ingest_api_callback},
    {M_POST, "/api/ingest/json", 1, ingest_api_json},
    {M_GET, "/api/ingest/status/{}", 1, ingest_api_status},
    {M_GET, "/api/ingest/status/{}/results", 1, ingest_api_results},
    {M_PUT, "/api/ingest/upload/{}", 0, ingest_api_upload},
    {M_DELETE, "/api/ingest/{}", 1, ingest_api_delete},
    {M_GET, "/api/analytics/cost/by-model", 1, ingest_api_cost_by_model},
    {M_GET, "/api/analytics/cost/by-team", 1, ingest_api_cost_by_team},
    {M_GET, "/api/analytics/jobs", 1, ingest_api_ml_jobs},
    {M_POST, "/api/admin/ingest/jobs/mock", 1, ingest_api_admin_mock},
    {0, NULL, 0, NULL},
};

/* Matches uri against pattern; *param gets the "{}" segment. */
static int match(apr_pool_t *p, const char *pattern, const char *uri, const char **param)
{
    const char *ph = strstr(pattern, "{}");
    apr_size_t pre;
    const char *seg_end;

    *param = NULL;
    if (!ph) {
        return !strcmp(pattern, uri);
    }
    pre = (apr_size_t)(ph - pattern);
    if (strncmp(pattern, uri, pre)) {
        return 0;
    }
    uri += pre;
    seg_end = strchr(uri, '/');
    if (seg_end == uri || !*uri) {
        return 0;
    }
    if (!seg_end) {
        seg_end = uri + strlen(uri);
    }
    if (strcmp(ph + 2, seg_end)) {
        return 0;
    }
    *param = apr_pstrmemdup(p, uri, (apr_size_t)(seg_end - uri));
    /* only a job id makes a job path: /api/ingest/nope is no resource at
     * all (404), not a job that refuses GET (405) */
    return ingest_is_uuid(*param);
}

static const char *method_name(int m)
{
    switch (m) {
    case M_GET: return "GET, HEAD";
    case M_POST: return "POST";
    case M_PUT: return "PUT";
    case M_DELETE: return "DELETE";
    default: return "";
    }
}

int ingest_route(request_rec *r)
{
    const route_t *rt;
    const char *param = NULL, *allow = NULL;

    for (rt = routes; rt->pattern; ++rt) {
        const char *p;
        if (!match(r->pool, rt->pattern, r->uri, &p)) {
            continue;
        }
        if (rt->method == r->method_number) {
            ingest_identity_t id;
            param = p;
            if (rt->identity) {
                ingest_problem_t pb;
                if (ingest_auth_identify(r, &id, &pb) != APR_SUCCESS) {
                    return ingest_send_problem(r, &pb);
                }
                return rt->fn(r, &id, param);
            }
            return rt->fn(r, NULL, param);
        }
        allow = allow ? apr_pstrcat(r->pool, allow, ", ", method_name(rt->method), NULL)
                      : method_name(rt->method);
        if (!p) {
            break; /* a literal path is never also a {job_id} */
        }
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
