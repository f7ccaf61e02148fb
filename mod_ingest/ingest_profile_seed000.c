/* seed000: the file-ingestion service of seed 000 and its React tab. Every
 * answer is {"success": true, "message"?, "data": {...}}, every error
 * {"success": false, "message"}; statuses in its words (queued shows as
 * pending, running as processing) and its timestamp and error names. The
 * module's other /api/ingest/ routes answer in the same envelope. */

#include <string.h>

#include "ingest_profile.h"

static const char *const words[5] = {"pending", "pending", "processing", "completed", "failed"};

static json_t *ok(const char *message, json_t *data)
{
    json_t *out = json_pack("{s:b}", "success", 1);
    if (message) {
        json_object_set_new(out, "message", json_string(message));
    }
    json_object_set_new(out, "data", data ? data : json_object());
    return out;
}

/* A job in the seed's words: its status, started_processing_at and
 * error_message besides the native members. */
static json_t *job(json_t *native)
{
    json_t *j = ingest_profile_status(native, words);
    if (j) {
        json_object_set(j, "started_processing_at", json_object_get(native, "started_at"));
        json_object_set(j, "error_message", json_object_get(native, "error"));
    }
    return j;
}

static json_t *init(apr_pool_t *p, const char *method, int *status, json_t *body)
{
    json_t *j = job(body), *data;
    (void)p, (void)method, (void)status;
    data =
        json_pack("{s:O, s:O, s:O, s:O}", "job_id", json_object_get(j, "job_id"), "upload_url",
                  json_object_get(body, "upload_url") ?: json_null(), "status", json_object_get(j, "status"),
                  "expires_at", json_object_get(body, "expires_at") ?: json_null());
    json_decref(j);
    return ok("Upload initiated successfully", data);
}

static json_t *status(apr_pool_t *p, const char *method, int *st, json_t *body)
{
    (void)p, (void)method, (void)st;
    return ok(NULL, json_pack("{s:o}", "job", job(body)));
}

static json_t *list(apr_pool_t *p, const char *method, int *st, json_t *body)
{
    json_t *jobs = json_array(), *j;
    size_t i;
    (void)p, (void)method, (void)st;
    json_array_foreach(json_object_get(body, "jobs"), i, j)
    {
        json_array_append_new(jobs, job(j));
    }
    return ok(NULL, json_pack("{s:o, s:O}", "jobs", jobs, "count", json_object_get(body, "total")));
}

static json_t *stats(apr_pool_t *p, const char *method, int *st, json_t *body)
{
    json_int_t pending = json_integer_value(json_object_get(body, "pending"))
                         + json_integer_value(json_object_get(body, "queued"));
    (void)p, (void)method, (void)st;
    return ok(NULL,
              json_pack("{s:{s:O, s:I, s:O, s:O, s:O}}", "stats", "total", json_object_get(body, "total"),
                        "pending", pending, "processing", json_object_get(body, "running"), "completed",
                        json_object_get(body, "completed"), "failed", json_object_get(body, "failed")));
}

static json_t *deleted(apr_pool_t *p, const char *method, int *st, json_t *body)
{
    (void)p, (void)method, (void)body;
    *st = 200; /* the envelope is the answer: a 204 has none */
    return json_pack("{s:b, s:s}", "success", 1, "message", "Job deleted successfully");
}

static json_t *error(apr_pool_t *p, const char *method, int *st, json_t *problem);

/* The module's other answers, in the envelope as they are; an unhealthy
 * health answer (a 503 problem) is an error. */
static json_t *wrap(apr_pool_t *p, const char *method, int *st, json_t *body)
{
    if (*st >= 400) {
        return error(p, method, st, body);
    }
    return ok(NULL, body ? json_incref(body) : NULL);
}

static const char *all_jobs(apr_pool_t *p, const char *args)
{
    /* the seed listed every job: the most a page holds */
    return ingest_query_default(p, args, "limit", "100");
}

static json_t *error(apr_pool_t *p, const char *method, int *st, json_t *problem)
{
    const char *detail = json_string_value(json_object_get(problem, "detail"));
    const char *title = json_string_value(json_object_get(problem, "title"));
    (void)p, (void)method, (void)st;
    return json_pack("{s:b, s:s}", "success", 0, "message", detail ? detail : title ? title : "error");
}

static const ingest_profile_route_t routes[] = {
    {"POST", "/api/ingest/init", INGEST_EP_INIT, NULL, init},
    {"GET", "/api/ingest/jobs", INGEST_EP_JOBS, all_jobs, list},
    {"GET", "/api/ingest/stats", INGEST_EP_STATS, NULL, stats},
    {"GET", "/api/ingest/health", INGEST_EP_HEALTH, NULL, wrap},
    {"POST", "/api/ingest/json", INGEST_EP_JSON, NULL, wrap},
    {"GET", "/api/ingest/status/{}", INGEST_EP_STATUS, NULL, status},
    {"GET", "/api/ingest/status/{}/results", INGEST_EP_RESULTS, NULL, wrap},
    {"GET", "/api/ingest/status/{}/records", INGEST_EP_RECORDS, NULL, wrap},
    /* a download: streamed as it is, only its errors in the envelope */
    {"GET", "/api/ingest/status/{}/records.ndjson", INGEST_EP_RECORDS_NDJSON, NULL, NULL},
    {"GET", "/api/ingest/status/{}/records.csv", INGEST_EP_RECORDS_CSV, NULL, NULL},
    {"GET", "/api/ingest/status/{}/errors", INGEST_EP_RECORD_ERRORS, NULL, wrap},
    {"PUT", "/api/ingest/upload/{}", INGEST_EP_UPLOAD, NULL, wrap},
    {"DELETE", "/api/ingest/{}", INGEST_EP_DELETE, NULL, deleted},
    {NULL, NULL, 0, NULL, NULL},
};

const ingest_profile_t ingest_profile_seed000 = {"seed000", routes, error};
