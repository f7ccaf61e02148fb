#include <string.h>

#include <apr_strings.h>

#include "ingest_analytics.h"
#include "ingest_jobmeta.h"

static const char *const ml_statuses[] = {"queued", "running", "completed", "failed", "cancelled", NULL};

static apr_status_t date(apr_table_t *args, const char *name, const char **out, apr_int64_t *day,
                         ingest_verr_t *err)
{
    const char *v = apr_table_get(args, name);
    *out = NULL;
    if (!v) {
        return APR_SUCCESS;
    }
    if (strlen(v) != 10 || ingest_date_parse(v, day) != APR_SUCCESS) {
        return ingest_verr(err, name, "must be a date YYYY-MM-DD");
    }
    *out = v;
    return APR_SUCCESS;
}

apr_status_t ingest_validate_cost(apr_pool_t *p, apr_table_t *args, ingest_cost_req_t *out,
                                  ingest_verr_t *err)
{
    static const char *const allowed[] = {"start", "end", NULL};
    apr_int64_t lo = 0, hi = 0, unused_offset;
    apr_status_t rv;
    int unused_limit;

    memset(out, 0, sizeof(*out));
    /* no paging: only the names and the repeats are checked */
    if ((rv = ingest_validate_page(p, args, allowed, "unknown query parameter (expected start, end)", 1,
                                   &unused_limit, &unused_offset, err))
            != APR_SUCCESS
        || (rv = date(args, "start", &out->start, &lo, err)) != APR_SUCCESS
        || (rv = date(args, "end", &out->end, &hi, err)) != APR_SUCCESS) {
        out->start = out->end = NULL;
        return rv;
    }
    if (out->start && out->end) {
        if (hi < lo) {
            out->start = out->end = NULL;
            return ingest_verr(err, "end", "must not be before start");
        }
        if (hi - lo + 1 > INGEST_COST_RANGE_MAX) {
            out->start = out->end = NULL;
            return ingest_verr(
                err, "end",
                apr_psprintf(p, "must be at most %d days from start, both included", INGEST_COST_RANGE_MAX));
        }
    }
    return APR_SUCCESS;
}

static apr_status_t filter(apr_table_t *args, const char *name, const char **out, ingest_verr_t *err)
{
    const char *v = apr_table_get(args, name);
    apr_size_t len = v ? strlen(v) : 0;
    *out = NULL;
    if (!v) {
        return APR_SUCCESS;
    }
    if (len == 0 || len > 200 || !ingest_utf8_valid(v, len) || ingest_has_control(v, len)) {
        return ingest_verr(err, name, "must be 1 to 200 bytes of UTF-8 without control characters");
    }
    *out = v;
    return APR_SUCCESS;
}

apr_status_t ingest_validate_ml_jobs(apr_pool_t *p, apr_table_t *args, ingest_ml_jobs_req_t *out,
                                     ingest_verr_t *err)
{
    static const char *const allowed[] = {"team",  "model_name", "status", "provider", "gpu_type",
                                          "limit", "skip",       "offset", NULL};
    const char *const *st;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    rv = ingest_validate_page(p, args, allowed,
                              "unknown query parameter (expected team, model_name, status, provider, "
                              "gpu_type, limit, skip, offset)",
                              INGEST_ML_JOBS_LIMIT_DEFAULT, &out->limit, &out->skip, err);
    if (rv == APR_SUCCESS && (rv = filter(args, "team", &out->team, err)) == APR_SUCCESS
        && (rv = filter(args, "model_name", &out->model_name, err)) == APR_SUCCESS
        && (rv = filter(args, "provider", &out->provider, err)) == APR_SUCCESS
        && (rv = filter(args, "gpu_type", &out->gpu_type, err)) == APR_SUCCESS
        && (out->status = apr_table_get(args, "status")) != NULL) {
        for (st = ml_statuses; *st && strcmp(*st, out->status); ++st) {
        }
        if (!*st) {
            rv = ingest_verr(err, "status", "must be one of queued, running, completed, failed, cancelled");
        }
    }
    if (rv != APR_SUCCESS) {
        memset(out, 0, sizeof(*out));
    }
    return rv;
}
