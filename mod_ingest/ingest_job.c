#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "ingest_job.h"

static const char *const status_names[INGEST_ST_COUNT] = {
    "pending", "queued", "running", "completed", "failed",
};

static const char *const priority_names[INGEST_PRIO_COUNT] = {
    "HIGH",
    "MEDIUM",
    "LOW",
};

const char *const ingest_file_types[] = {
    "csv", "json", "ndjson", "xml", "pdf", "xlsx", "txt", "log", NULL,
};

const char *ingest_status_name(ingest_status_e st)
{
    return (st >= 0 && st < INGEST_ST_COUNT) ? status_names[st] : NULL;
}

apr_status_t ingest_status_parse(const char *s, ingest_status_e *out)
{
    int i;
    if (!s) {
        return APR_EINVAL;
    }
    for (i = 0; i < INGEST_ST_COUNT; ++i) {
        if (!strcmp(s, status_names[i])) {
            *out = (ingest_status_e)i;
            return APR_SUCCESS;
        }
    }
    return APR_EINVAL;
}

int ingest_status_is_terminal(ingest_status_e st)
{
    return st == INGEST_ST_COMPLETED || st == INGEST_ST_FAILED;
}

int ingest_status_can_transition(ingest_status_e from, ingest_status_e to)
{
    switch (from) {
    case INGEST_ST_PENDING:
        /* upload done, upload expired, or an external pipeline that got the
         * data by its own route and reports directly */
        return to == INGEST_ST_QUEUED || to == INGEST_ST_RUNNING || to == INGEST_ST_COMPLETED
               || to == INGEST_ST_FAILED;
    case INGEST_ST_QUEUED:
        return to == INGEST_ST_RUNNING || to == INGEST_ST_COMPLETED || to == INGEST_ST_FAILED;
    case INGEST_ST_RUNNING:
        /* running -> queued is the lease rescue; running -> running is a
         * progress report from the pipeline */
        return to == INGEST_ST_QUEUED || to == INGEST_ST_RUNNING || to == INGEST_ST_COMPLETED
               || to == INGEST_ST_FAILED;
    case INGEST_ST_COMPLETED:
    case INGEST_ST_FAILED:
    default: return 0;
    }
}

const char *ingest_priority_name(ingest_priority_e p)
{
    return (p >= 0 && p < INGEST_PRIO_COUNT) ? priority_names[p] : NULL;
}

apr_status_t ingest_priority_parse(const char *s, ingest_priority_e *out)
{
    int i;
    if (!s) {
        return APR_EINVAL;
    }
    for (i = 0; i < INGEST_PRIO_COUNT; ++i) {
        if (!strcmp(s, priority_names[i])) {
            *out = (ingest_priority_e)i;
            return APR_SUCCESS;
        }
    }
    return APR_EINVAL;
}

int ingest_file_type_valid(const char *s)
{
    int i;
    if (!s) {
        return 0;
    }
    for (i = 0; ingest_file_types[i]; ++i) {
        if (!strcmp(s, ingest_file_types[i])) {
            return 1;
        }
    }
    return 0;
}

int ingest_job_progress(ingest_status_e st, apr_int64_t total, apr_int64_t processed)
{
    double pct;
    if (st == INGEST_ST_COMPLETED) {
        return 100;
    }
    if (total <= 0 || processed <= 0) {
        return 0;
    }
    if (processed >= total) {
        return 99;
    }
    /* in floating point: processed * 100 overflows for counters past 9e16 */
    pct = (double)processed * 100.0 / (double)total;
    return pct > 99.0 ? 99 : (int)pct;
}

void ingest_job_add_derived(json_t *job)
{
    ingest_status_e st = INGEST_ST_PENDING;
    json_t *total = json_object_get(job, "total_items");
    json_t *done = json_object_get(job, "processed_items");

    if (!json_is_object(job)) {
        return;
    }
    if (ingest_status_parse(json_string_value(json_object_get(job, "status")), &st) != APR_SUCCESS) {
        return;
    }
    json_object_set_new(
        job, "progress",
        json_integer(ingest_job_progress(st, json_is_integer(total) ? json_integer_value(total) : 0,
                                         json_is_integer(done) ? json_integer_value(done) : 0)));
}

const char *ingest_uuid_v7(apr_pool_t *p, apr_time_t now)
{
    unsigned char b[16];
    apr_uint64_t ms = (apr_uint64_t)apr_time_as_msec(now);
    int i;
    apr_generate_random_bytes(b, sizeof(b));
    for (i = 0; i < 6; i++) {
        b[i] = (unsigned char)(ms >> (8 * (5 - i)));
    }
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x70); /* version 7 */
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80); /* RFC 4122 variant */
    return apr_psprintf(p, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                        b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                        b[15]);
}
