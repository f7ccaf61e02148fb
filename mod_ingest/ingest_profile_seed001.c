/* seed001: the job status API of seed 001 (FastAPI): GET /api/job/{id}
 * and GET /api/jobs, its fields and its four statuses (a job still waiting
 * for its upload is queued), FastAPI's errors. */

#include <string.h>

#include "ingest_profile.h"

static const char *const words[5] = {"queued", "queued", "running", "completed", "failed"};

static json_t *job(json_t *native, int full)
{
    json_t *j = ingest_profile_status(native, words), *out;
    if (!j) {
        return NULL;
    }
    out = json_pack("{s:O, s:O, s:O}", "job_id", json_object_get(j, "job_id"), "status",
                    json_object_get(j, "status"), "submitted_at", json_object_get(j, "submitted_at"));
    if (full) {
        json_object_set(out, "started_at", json_object_get(j, "started_at"));
    }
    json_object_set(out, "completed_at", json_object_get(j, "completed_at"));
    json_object_set(out, "records_processed", json_object_get(j, "records_processed"));
    if (full) {
        json_object_set(out, "error", json_object_get(j, "error"));
    }
    json_decref(j);
    return out;
}

static json_t *status(apr_pool_t *p, const char *method, int *st, json_t *body)
{
    (void)p, (void)method, (void)st;
    return job(body, 1);
}

static json_t *list(apr_pool_t *p, const char *method, int *st, json_t *body)
{
    json_t *results = json_array(), *j;
    size_t i;
    (void)p, (void)method, (void)st;
    json_array_foreach(json_object_get(body, "jobs"), i, j)
    {
        json_array_append_new(results, job(j, 0));
    }
    return json_pack("{s:o, s:O, s:O}", "results", results, "offset", json_object_get(body, "offset"),
                     "limit", json_object_get(body, "limit"));
}

static json_t *error(apr_pool_t *p, const char *method, int *st, json_t *problem)
{
    return ingest_profile_fastapi_error_404(p, method, st, problem, "Job not found");
}

static const ingest_profile_route_t routes[] = {
    {"GET", "/api/jobs", INGEST_EP_JOBS, NULL, list},
    {"GET", "/api/job/{}", INGEST_EP_STATUS, NULL, status},
    {NULL, NULL, 0, NULL, NULL},
};

const ingest_profile_t ingest_profile_seed001 = {"seed001", routes, error};
