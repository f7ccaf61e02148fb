#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "ingest_callback.h"

static const char *const known_fields[] = {
    "job_id", "status", "records_processed", "total_items", "result_url", "result_data", "error", NULL,
};

static int known_field(const char *key)
{
    int i;
    for (i = 0; known_fields[i]; ++i) {
        if (!strcmp(key, known_fields[i])) {
            return 1;
        }
    }
    return 0;
}

/* A member that is JSON null is treated as left out, as senders that
 * serialise a struct write every field. */
static json_t *member(json_t *body, const char *name)
{
    json_t *v = json_object_get(body, name);
    return json_is_null(v) ? NULL : v;
}

/* The value as a C string, or NULL when it is not a string or holds a NUL
 * (possible if the caller parsed with JSON_ALLOW_NUL): the C string would
 * silently be a prefix of what was sent. */
static const char *cstring(json_t *v)
{
    const char *s = json_string_value(v);
    if (!s || strlen(s) != json_string_length(v)) {
        return NULL;
    }
    return s;
}

static const char *lower_dup(apr_pool_t *p, const char *s)
{
    char *d = apr_pstrdup(p, s), *c;
    for (c = d; *c; ++c) {
        if (*c >= 'A' && *c <= 'Z') {
            *c = (char)(*c - 'A' + 'a');
        }
    }
    return d;
}

static apr_status_t count_member(json_t *body, const char *name, int *has, apr_int64_t *out,
                                 ingest_verr_t *err)
{
    json_t *v = member(body, name);
    *has = 0;
    if (!v) {
        return APR_SUCCESS;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        return ingest_verr(err, name, "must be a non-negative integer");
    }
    *has = 1;
    *out = (apr_int64_t)json_integer_value(v);
    return APR_SUCCESS;
}

apr_status_t ingest_callback_parse(apr_pool_t *p, json_t *body, ingest_callback_t *out, ingest_verr_t *err)
{
    const char *key, *s;
    apr_status_t rv;
    json_t *v;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(body)) {
        return ingest_verr(err, NULL, "the request body must be a JSON object");
    }
    json_object_foreach(body, key, v)
    {
        if (!known_field(key)) {
            return ingest_verr(err, apr_pstrdup(p, key), "unknown field");
        }
    }

    v = member(body, "job_id");
    if (!v) {
        return ingest_verr(err, "job_id", "is required");
    }
    s = cstring(v);
    if (!s || !ingest_is_uuid(s)) {
        return ingest_verr(err, "job_id", "must be a job id (UUID)");
    }
    /* the database prints UUIDs in lower case; comparing and logging the
     * same spelling avoids surprises */
    out->job_id = lower_dup(p, s);

    v = member(body, "status");
    if (!v) {
        return ingest_verr(err, "status", "is required");
    }
    s = cstring(v);
    /* seed 000's pipelines say processing for running */
    if (s && !strcmp(s, "processing")) {
        s = "running";
    }
    if (!s || ingest_status_parse(s, &out->status) != APR_SUCCESS
        || (out->status != INGEST_ST_RUNNING && out->status != INGEST_ST_COMPLETED
            && out->status != INGEST_ST_FAILED)) {
        return ingest_verr(err, "status", "must be one of running (or processing), completed, failed");
    }

    rv = count_member(body, "records_processed", &out->has_processed, &out->processed, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = count_member(body, "total_items", &out->has_total, &out->total, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (out->has_processed && out->has_total && out->processed > out->total) {
        return ingest_verr(err, "records_processed", "must not exceed total_items");
    }

    if ((v = member(body, "result_url")) != NULL) {
        apr_size_t len;
        if (!json_is_string(v)) {
            return ingest_verr(err, "result_url", "must be a string");
        }
        len = json_string_length(v);
        if (len == 0) {
            return ingest_verr(err, "result_url", "must not be empty");
        }
        if (len > INGEST_CALLBACK_URL_MAX) {
            return ingest_verr(err, "result_url", "must be at most 2048 bytes");
        }
        if (ingest_has_control(json_string_value(v), len)) {
            return ingest_verr(err, "result_url", "must not contain control characters");
        }
        out->result_url = apr_pstrdup(p, json_string_value(v));
    }

    if ((v = member(body, "result_data")) != NULL) {
        char *dump;
        if (!json_is_object(v) && !json_is_array(v)) {
            return ingest_verr(err, "result_data", "must be a JSON object or array");
        }
        dump = json_dumps(v, JSON_COMPACT);
        if (!dump) {
            err->field = "result_data";
            err->detail = "could not be serialized";
            return APR_ENOMEM;
        }
        out->result_data = apr_pstrdup(p, dump);
        free(dump);
    }

    if ((v = member(body, "error")) != NULL) {
        if (!json_is_string(v)) {
            return ingest_verr(err, "error", "must be a string");
        }
        if (json_string_length(v) > INGEST_CALLBACK_ERROR_MAX) {
            return ingest_verr(err, "error", "must be at most 4096 bytes");
        }
        if (!cstring(v)) {
            return ingest_verr(err, "error", "must not contain NUL characters");
        }
        if (out->status != INGEST_ST_FAILED) {
            return ingest_verr(err, "error", "is only allowed with status failed");
        }
        out->error = apr_pstrdup(p, json_string_value(v));
    }
    return APR_SUCCESS;
}
