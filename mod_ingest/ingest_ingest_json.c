#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "ingest_ingest_json.h"

/* A required string member of a mapping, 1..max bytes. */
static apr_status_t mapping_string(apr_pool_t *p, json_t *m, const char *name, apr_size_t i, apr_size_t max,
                                   int controls_allowed, const char **out, ingest_verr_t *err)
{
    json_t *v = json_object_get(m, name);
    const char *field = apr_psprintf(p, "mappings[%" APR_SIZE_T_FMT "].%s", i, name);
    apr_size_t len;

    if (!v) {
        return ingest_verr(err, field, "is required");
    }
    if (!json_is_string(v)) {
        return ingest_verr(err, field, "must be a string");
    }
    len = json_string_length(v);
    if (len == 0) {
        return ingest_verr(err, field, "must not be empty");
    }
    if (len > max) {
        return ingest_verr(err, field, apr_psprintf(p, "must be at most %" APR_SIZE_T_FMT " bytes", max));
    }
    /* the C string must be the whole value: a NUL (possible if the body was
     * parsed with JSON_ALLOW_NUL) would make it a prefix */
    if (controls_allowed ? strlen(json_string_value(v)) != len
                         : ingest_has_control(json_string_value(v), len)) {
        return ingest_verr(err, field,
                           controls_allowed ? "must not contain NUL characters"
                                            : "must not contain control characters");
    }
    *out = apr_pstrmemdup(p, json_string_value(v), len);
    return APR_SUCCESS;
}

static apr_status_t validate_mapping(apr_pool_t *p, json_t *m, apr_size_t i, apr_hash_t *ids,
                                     ingest_mapping_t *out, ingest_verr_t *err)
{
    const char *key, *first;
    apr_size_t *at;
    apr_status_t rv;
    json_t *v;
    char *dump;

    if (!json_is_object(m)) {
        return ingest_verr(err, apr_psprintf(p, "mappings[%" APR_SIZE_T_FMT "]", i), "must be an object");
    }
    json_object_foreach(m, key, v)
    {
        if (strcmp(key, "id") && strcmp(key, "source") && strcmp(key, "target")
            && strcmp(key, "transformation")) {
            return ingest_verr(err, apr_psprintf(p, "mappings[%" APR_SIZE_T_FMT "].%s", i, key),
                               "unknown field");
        }
    }
    /* ids are names, not text: any character but NUL */
    if ((rv = mapping_string(p, m, "id", i, INGEST_MAPPING_ID_MAX, 1, &out->id, err)) != APR_SUCCESS) {
        return rv;
    }
    if ((at = apr_hash_get(ids, out->id, APR_HASH_KEY_STRING)) != NULL) {
        return ingest_verr(err, apr_psprintf(p, "mappings[%" APR_SIZE_T_FMT "].id", i),
                           apr_psprintf(p, "duplicates mappings[%" APR_SIZE_T_FMT "].id", *at));
    }
    at = apr_palloc(p, sizeof(*at));
    *at = i;
    apr_hash_set(ids, out->id, APR_HASH_KEY_STRING, at);

    if ((rv = mapping_string(p, m, "source", i, INGEST_MAPPING_STR_MAX, 0, &out->source, err))
        != APR_SUCCESS) {
        return rv;
    }
    if ((rv = mapping_string(p, m, "target", i, INGEST_MAPPING_STR_MAX, 0, &out->target, err))
        != APR_SUCCESS) {
        return rv;
    }

    out->transformation = NULL;
    /* null is how many clients write "absent" */
    if ((v = json_object_get(m, "transformation")) != NULL && !json_is_null(v)) {
        first = apr_psprintf(p, "mappings[%" APR_SIZE_T_FMT "].transformation", i);
        if (!json_is_object(v)) {
            return ingest_verr(err, first, "must be an object");
        }
        dump = json_dumps(v, JSON_COMPACT);
        if (!dump) {
            err->field = first;
            err->detail = "could not be serialized";
            return APR_ENOMEM;
        }
        out->transformation = apr_pstrdup(p, dump);
        free(dump);
    }
    return APR_SUCCESS;
}

static apr_status_t validate_records(apr_pool_t *p, json_t *records, ingest_json_req_t *out,
                                     ingest_verr_t *err)
{
    apr_size_t i, n;

    if (!json_is_array(records)) {
        return ingest_verr(err, "records", "must be an array");
    }
    n = json_array_size(records);
    if (n == 0) {
        return ingest_verr(err, "records", "must not be empty");
    }
    if (n > INGEST_RECORDS_MAX) {
        return ingest_verr(err, "records",
                           apr_psprintf(p, "must have at most %d records", INGEST_RECORDS_MAX));
    }
    for (i = 0; i < n; ++i) {
        if (!json_is_object(json_array_get(records, i))) {
            return ingest_verr(err, apr_psprintf(p, "records[%" APR_SIZE_T_FMT "]", i), "must be an object");
        }
    }
    out->kind = INGEST_JSON_RECORDS;
    out->records = records;
    out->count = n;
    return APR_SUCCESS;
}

/* The array only: each record is the worker's to check, and one that is
 * wrong fails alone, named in the job's results. */
static apr_status_t validate_jobs(apr_pool_t *p, json_t *jobs, ingest_json_req_t *out, ingest_verr_t *err)
{
    apr_size_t n;

    if (!json_is_array(jobs)) {
        return ingest_verr(err, "jobs", "must be an array");
    }
    n = json_array_size(jobs);
    if (n == 0) {
        return ingest_verr(err, "jobs", "must not be empty");
    }
    if (n > INGEST_JOBS_MAX) {
        return ingest_verr(err, "jobs", apr_psprintf(p, "must have at most %d records", INGEST_JOBS_MAX));
    }
    out->kind = INGEST_JSON_JOBS;
    out->records = jobs;
    out->count = n;
    return APR_SUCCESS;
}

static apr_status_t validate_mappings(apr_pool_t *p, json_t *mappings, ingest_json_req_t *out,
                                      ingest_verr_t *err)
{
    apr_hash_t *ids;
    apr_size_t i, n;
    apr_status_t rv;

    if (!json_is_array(mappings)) {
        return ingest_verr(err, "mappings", "must be an array");
    }
    n = json_array_size(mappings);
    if (n == 0) {
        return ingest_verr(err, "mappings", "must not be empty");
    }
    if (n > INGEST_MAPPINGS_MAX) {
        return ingest_verr(err, "mappings",
                           apr_psprintf(p, "must have at most %d mappings", INGEST_MAPPINGS_MAX));
    }
    ids = apr_hash_make(p);
    out->mappings = apr_array_make(p, (int)n, sizeof(ingest_mapping_t));
    for (i = 0; i < n; ++i) {
        ingest_mapping_t *m = apr_array_push(out->mappings);
        rv = validate_mapping(p, json_array_get(mappings, i), i, ids, m, err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    out->kind = INGEST_JSON_MAPPINGS;
    out->count = n;
    return APR_SUCCESS;
}

apr_status_t ingest_validate_json_ingest(apr_pool_t *p, json_t *body, ingest_json_req_t *out,
                                         ingest_verr_t *err)
{
    json_t *records, *mappings, *jobs, *v;
    const char *key;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    out->priority = INGEST_PRIO_MEDIUM;
    if (!json_is_object(body)) {
        return ingest_verr(err, NULL, "the request body must be a JSON object");
    }
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "records") && strcmp(key, "mappings") && strcmp(key, "jobs")
            && strcmp(key, "priority") && strcmp(key, "schema") && strcmp(key, "on_bad_record")
            && strcmp(key, "notify_url")) {
            return ingest_verr(err, apr_pstrdup(p, key), "unknown field");
        }
    }
    records = json_object_get(body, "records");
    mappings = json_object_get(body, "mappings");
    jobs = json_object_get(body, "jobs");
    if (!records + !mappings + !jobs != 2) {
        return ingest_verr(err, NULL,
                           "the body must have exactly one of \"records\", \"mappings\" or \"jobs\"");
    }
    if ((v = json_object_get(body, "priority")) != NULL) {
        if (!json_is_string(v)
            || ingest_priority_parse(json_string_value(v), &out->priority) != APR_SUCCESS) {
            return ingest_verr(err, "priority", "must be one of HIGH, MEDIUM, LOW");
        }
    }
    if (ingest_validate_record_options(p, body, &out->schema, &out->on_bad_record, err) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if (ingest_validate_notify_url(p, body, &out->notify_url, err) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if (!records && (out->schema || out->on_bad_record)) {
        out->schema = out->on_bad_record = NULL;
        return ingest_verr(err, json_object_get(body, "schema") ? "schema" : "on_bad_record",
                           "is for records, not for mappings or jobs");
    }
    rv = records ? validate_records(p, records, out, err)
         : jobs  ? validate_jobs(p, jobs, out, err)
                 : validate_mappings(p, mappings, out, err);
    if (rv != APR_SUCCESS) {
        /* nothing half-filled for a caller that looks anyway */
        ingest_priority_e prio = out->priority;
        memset(out, 0, sizeof(*out));
        out->priority = prio;
    }
    return rv;
}

char *ingest_records_ndjson(apr_pool_t *p, json_t *records, apr_size_t *len)
{
    apr_size_t i, n, total = 0, size;
    json_t *item;
    char *buf;

    *len = 0;
    /* measured first, then written in place: one allocation, no copies */
    json_array_foreach(records, i, item)
    {
        n = json_dumpb(item, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
        if (n == 0) {
            return NULL;
        }
        total += n + 1;
    }
    buf = apr_palloc(p, total + 1);
    json_array_foreach(records, i, item)
    {
        size = json_dumpb(item, buf + *len, total - *len, JSON_COMPACT | JSON_ENCODE_ANY);
        /* compact JSON has no line break: strings escape theirs */
        buf[*len + size] = '\n';
        *len += size + 1;
    }
    buf[*len] = '\0';
    return buf;
}
