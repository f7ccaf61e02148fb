/* seed002: the mappings ingestion API of seed 002 (FastAPI): POST /ingest,
 * GET /status/{request_id}, its results and GET /health, in its words
 * (pending, in_progress, completed, failed; request_id, *_mappings);
 * FastAPI's errors. */

#include <apr_time.h>

#include "ingest_profile.h"

static const char *const words[5] = {"pending", "pending", "in_progress", "completed", "failed"};

static json_t *created(apr_pool_t *p, const char *method, int *st, json_t *body)
{
    /* a replay (Idempotency-Key) shows the job as it is now */
    json_t *j = ingest_profile_status(body, words), *out;
    (void)p, (void)method;
    *st = 200; /* FastAPI's default; the job is committed all the same */
    out = json_pack("{s:O, s:s, s:s}", "request_id", json_object_get(body, "job_id"), "status",
                    json_string_value(json_object_get(j, "status")) ?: "pending", "message",
                    "Ingestion request created successfully");
    json_decref(j);
    return out;
}

/* request_id, status and the counts, from a job or a results page */
static json_t *counts(json_t *native, const char *id_key)
{
    json_t *j = ingest_profile_status(native, words), *out;
    if (!j) {
        return NULL;
    }
    out = json_pack("{s:O, s:O, s:O, s:O, s:O}", "request_id", json_object_get(j, id_key), "status",
                    json_object_get(j, "status"), "total_mappings", json_object_get(j, "total_items"),
                    "processed_mappings", json_object_get(j, "processed_items"), "failed_mappings",
                    json_object_get(j, "failed_items"));
    json_decref(j);
    return out;
}

static json_t *status(apr_pool_t *p, const char *method, int *st, json_t *body)
{
    json_t *out = counts(body, "job_id");
    (void)p, (void)method, (void)st;
    if (out) {
        json_object_set(out, "progress", json_object_get(body, "progress"));
        json_object_set(out, "details", json_object_get(body, "error"));
    }
    return out;
}

static json_t *results(apr_pool_t *p, const char *method, int *st, json_t *body)
{
    json_t *out = counts(body, "job_id");
    (void)p, (void)method, (void)st;
    if (out) {
        json_object_set(out, "results", json_object_get(body, "results"));
    }
    return out;
}

static const char *all_results(apr_pool_t *p, const char *args)
{
    return ingest_query_default(p, args, "limit", "100");
}

static json_t *health(apr_pool_t *p, const char *method, int *st, json_t *body)
{
    char ts[APR_RFC822_DATE_LEN];
    apr_time_exp_t t;
    apr_size_t n;
    (void)method;
    apr_time_exp_gmt(&t, apr_time_now());
    apr_strftime(ts, &n, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &t);
    (void)p;
    return json_pack("{s:s, s:s, s:I}", "status", *st < 400 ? "healthy" : "unhealthy", "timestamp", ts,
                     "active_requests",
                     (json_int_t)(json_integer_value(json_object_get(body, "queue_depth"))
                                  + json_integer_value(json_object_get(body, "running"))));
}

static json_t *error(apr_pool_t *p, const char *method, int *st, json_t *problem)
{
    return ingest_profile_fastapi_error_404(p, method, st, problem, "Request not found");
}

static const ingest_profile_route_t routes[] = {
    {"POST", "/ingest", INGEST_EP_JSON, NULL, created},
    {"GET", "/health", INGEST_EP_HEALTH, NULL, health},
    {"GET", "/status/{}", INGEST_EP_STATUS, NULL, status},
    {"GET", "/status/{}/results", INGEST_EP_RESULTS, all_results, results},
    {NULL, NULL, 0, NULL, NULL},
};

const ingest_profile_t ingest_profile_seed002 = {"seed002", routes, error};
