#include <string.h>

#include <apr_strings.h>

#include "ingest_profile.h"
#include "ingest_validate.h"

/* This module's own API. Literal paths before parameterised ones, so
 * /api/ingest/jobs is the listing, not a job called "jobs". */
static const ingest_profile_route_t native_routes[] = {
    {"POST", "/api/ingest/init", INGEST_EP_INIT, NULL, NULL},
    {"GET", "/api/ingest/jobs", INGEST_EP_JOBS, NULL, NULL},
    {"GET", "/api/ingest/stats", INGEST_EP_STATS, NULL, NULL},
    {"GET", "/api/ingest/health", INGEST_EP_HEALTH, NULL, NULL},
    {"POST", "/api/pipeline/callback", INGEST_EP_CALLBACK, NULL, NULL},
    {"POST", "/api/ingest/json", INGEST_EP_JSON, NULL, NULL},
    {"GET", "/api/ingest/status/{}", INGEST_EP_STATUS, NULL, NULL},
    {"GET", "/api/ingest/status/{}/results", INGEST_EP_RESULTS, NULL, NULL},
    {"GET", "/api/ingest/status/{}/records", INGEST_EP_RECORDS, NULL, NULL},
    {"GET", "/api/ingest/status/{}/records.ndjson", INGEST_EP_RECORDS_NDJSON, NULL, NULL},
    {"GET", "/api/ingest/status/{}/records.csv", INGEST_EP_RECORDS_CSV, NULL, NULL},
    {"GET", "/api/ingest/status/{}/errors", INGEST_EP_RECORD_ERRORS, NULL, NULL},
    {"GET", "/api/ingest/events", INGEST_EP_EVENTS, NULL, NULL},
    {"PUT", "/api/ingest/upload/{}", INGEST_EP_UPLOAD, NULL, NULL},
    {"DELETE", "/api/ingest/{}", INGEST_EP_DELETE, NULL, NULL},
    {"GET", "/api/analytics/cost/by-model", INGEST_EP_COST_BY_MODEL, NULL, NULL},
    {"GET", "/api/analytics/cost/by-team", INGEST_EP_COST_BY_TEAM, NULL, NULL},
    {"GET", "/api/analytics/jobs", INGEST_EP_ML_JOBS, NULL, NULL},
    {"POST", "/api/admin/ingest/jobs/mock", INGEST_EP_ADMIN_MOCK, NULL, NULL},
    {"GET", "/api/ingest/status/{}/deliveries", INGEST_EP_DELIVERIES, NULL, NULL},
    {"POST", "/api/ingest/status/{}/deliveries/redeliver", INGEST_EP_REDELIVER, NULL, NULL},
    {NULL, NULL, 0, NULL, NULL},
};

static const ingest_profile_t native = {"native", native_routes, NULL};

static const ingest_profile_t *const profiles[INGEST_PROFILE_COUNT] = {
    &native,
    &ingest_profile_seed000,
    &ingest_profile_seed001,
    &ingest_profile_seed002,
    &ingest_profile_seed003,
};

const ingest_profile_t *ingest_profile_get(ingest_profile_e which)
{
    return (unsigned)which < INGEST_PROFILE_COUNT ? profiles[which] : &native;
}

apr_status_t ingest_profile_parse(const char *name, ingest_profile_e *out)
{
    int i;
    for (i = 0; i < INGEST_PROFILE_COUNT; ++i) {
        if (name && !strcasecmp(name, profiles[i]->name)) {
            *out = (ingest_profile_e)i;
            return APR_SUCCESS;
        }
    }
    return APR_EINVAL;
}

int ingest_profile_match(apr_pool_t *p, const char *pattern, const char *uri, const char **param)
{
    const char *ph = strstr(pattern, "{}");
    const char *seg_end;
    apr_size_t pre;

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

int ingest_endpoint_identity(ingest_endpoint_e ep)
{
    return ep != INGEST_EP_HEALTH && ep != INGEST_EP_CALLBACK && ep != INGEST_EP_UPLOAD;
}

/* The length of the parameter name at s (up to '=', '&' or the end). */
static apr_size_t name_len(const char *s)
{
    return strcspn(s, "=&");
}

const char *ingest_query_rename(apr_pool_t *p, const char *args, const char *from, const char *to)
{
    apr_size_t flen = strlen(from), n;
    const char *s = args, *amp;
    char *out = NULL;

    if (!args) {
        return NULL;
    }
    for (;;) {
        amp = strchr(s, '&');
        n = amp ? (apr_size_t)(amp - s) : strlen(s);
        out = apr_pstrcat(p, out ? out : "", out ? "&" : "",
                          name_len(s) == flen && !strncmp(s, from, flen)
                              ? apr_pstrcat(p, to, apr_pstrmemdup(p, s + flen, n - flen), NULL)
                              : apr_pstrmemdup(p, s, n),
                          NULL);
        if (!amp) {
            return out;
        }
        s = amp + 1;
    }
}

const char *ingest_query_default(apr_pool_t *p, const char *args, const char *name, const char *value)
{
    apr_size_t nlen = strlen(name);
    const char *s;

    for (s = args; s && *s; s = strchr(s, '&') ? strchr(s, '&') + 1 : "") {
        if (name_len(s) == nlen && !strncmp(s, name, nlen)) {
            return args;
        }
    }
    return args && *args ? apr_pstrcat(p, args, "&", name, "=", value, NULL)
                         : apr_pstrcat(p, name, "=", value, NULL);
}

json_t *ingest_profile_status(json_t *job, const char *const words[5])
{
    static const char *const native_words[] = {"pending", "queued", "running", "completed", "failed"};
    const char *st = json_string_value(json_object_get(job, "status"));
    json_t *out = json_deep_copy(job);
    int i;

    for (i = 0; st && out && i < 5; ++i) {
        if (!strcmp(st, native_words[i])) {
            json_object_set_new(out, "status", json_string(words[i]));
            break;
        }
    }
    return out;
}

json_t *ingest_profile_fastapi_error(apr_pool_t *p, const char *method, int *status, json_t *problem)
{
    const char *field = json_string_value(json_object_get(problem, "field"));
    const char *detail = json_string_value(json_object_get(problem, "detail"));
    const char *title = json_string_value(json_object_get(problem, "title"));
    apr_size_t flen;

    if (*status == 422 && field) {
        /* the native detail is "<field> <why>": FastAPI's msg is the why */
        flen = strlen(field);
        if (detail && !strncmp(detail, field, flen) && detail[flen] == ' ') {
            detail += flen + 1;
        }
        return json_pack(
            "{s:[{s:[s,s], s:s, s:s}]}", "detail", "loc",
            strcmp(method, "GET") && strcmp(method, "HEAD") && strcmp(method, "DELETE") ? "body" : "query",
            field, "msg", detail ? detail : "is not valid", "type", "value_error");
    }
    (void)p;
    return json_pack("{s:s}", "detail", detail ? detail : title ? title : "error");
}

json_t *ingest_profile_fastapi_error_404(apr_pool_t *p, const char *method, int *status, json_t *problem,
                                         const char *not_found)
{
    if (*status == 404) {
        return json_pack("{s:s}", "detail", not_found);
    }
    return ingest_profile_fastapi_error(p, method, status, problem);
}
