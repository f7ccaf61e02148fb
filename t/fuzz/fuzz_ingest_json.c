/* fuzz_ingest_json: the validators of the JSON request bodies and their
 * headers: POST /api/ingest/json (ingest_ingest_json.c), POST
 * /api/ingest/init and Idempotency-Key (ingest_validate.c).
 *
 * Input: byte 0 picks what the rest is, by its value modulo 3: 'i' the
 * body of an init, 'j' the body of a JSON ingestion, 'k' an
 * Idempotency-Key header (also checked as a filename). Bodies are parsed
 * as the handlers parse them (json_loadb, JSON_REJECT_DUPLICATES).
 *
 * Promises checked (ingest_validate.h, ingest_ingest_json.h):
 *  - a refusal names its reason, which reaches the problem document, and
 *    leaves nothing half-filled;
 *  - what is accepted is within the documented limits: an init's filename
 *    passes the filename rules, its file_type is known and its file_size
 *    is 0..the maximum; a JSON ingestion has 1..max records, all objects,
 *    whose NDJSON text is one line per record that reads back equal, or
 *    1..max mappings with unique ids and fields within their lengths. */

#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <jansson.h>

#include "fuzz.h"
#include "ingest_ingest_json.h"
#include "ingest_validate.h"

#define T "ingest_json"

/* A small maximum, so that file_size hits it. */
#define MAX_FILE_SIZE APR_INT64_C(1048576)

static void init_body(apr_pool_t *p, json_t *body)
{
    ingest_init_req_t req;
    ingest_verr_t err = {NULL, NULL};
    const char *why;

    if (ingest_validate_init(p, body, MAX_FILE_SIZE, &req, &err) != APR_SUCCESS) {
        fuzz_reportable(T, err.field, err.detail);
        return;
    }
    FUZZ_CHECK(T, req.filename && ingest_validate_filename(req.filename, &why) == APR_SUCCESS);
    FUZZ_CHECK(T, req.file_type && ingest_file_type_valid(req.file_type));
    FUZZ_CHECK(T, req.file_size >= 0 && req.file_size <= MAX_FILE_SIZE);
    FUZZ_CHECK(T, req.source_type
                      && (!strcmp(req.source_type, "file_upload")
                          || (!strcmp(req.source_type, "job_metadata")
                              && (!strcmp(req.file_type, "json") || !strcmp(req.file_type, "ndjson")))));
}

/* records (objects each) or jobs (any values, each checked by the worker):
 * the stored NDJSON reads back as the array, one line each */
static void check_records(apr_pool_t *p, const ingest_json_req_t *req, int objects, apr_size_t max)
{
    const char *line, *nl;
    apr_size_t len, i;
    json_error_t jerr;
    json_t *back;
    char *text;

    FUZZ_CHECK(T, json_is_array(req->records) && req->count == json_array_size(req->records));
    FUZZ_CHECK(T, req->count >= 1 && req->count <= max && req->mappings == NULL);
    text = ingest_records_ndjson(p, req->records, &len);
    FUZZ_CHECK(T, text != NULL && strlen(text) == len);
    for (i = 0, line = text; i < req->count; ++i, line = nl + 1) {
        nl = strchr(line, '\n');
        FUZZ_CHECK(T, nl != NULL);
        back = json_loadb(line, (size_t)(nl - line), JSON_DECODE_ANY, &jerr);
        if (!back || (objects && !json_is_object(back))
            || !json_equal(back, json_array_get(req->records, i))) {
            fuzz_fail(T, "NDJSON line %zu does not read back as records[%zu]: %.*s", (size_t)i + 1, (size_t)i,
                      (int)(nl - line), line);
        }
        json_decref(back);
    }
    FUZZ_CHECK(T, *line == '\0');
}

static void check_mappings(apr_pool_t *p, const ingest_json_req_t *req)
{
    apr_hash_t *ids = apr_hash_make(p);
    json_error_t jerr;
    json_t *back;
    int i;

    FUZZ_CHECK(T, req->mappings && req->records == NULL);
    FUZZ_CHECK(T, req->count >= 1 && req->count <= INGEST_MAPPINGS_MAX);
    FUZZ_CHECK(T, (apr_size_t)req->mappings->nelts == req->count);
    for (i = 0; i < req->mappings->nelts; ++i) {
        const ingest_mapping_t *m = &APR_ARRAY_IDX(req->mappings, i, ingest_mapping_t);
        FUZZ_CHECK(T, m->id && *m->id && strlen(m->id) <= INGEST_MAPPING_ID_MAX);
        FUZZ_CHECK(T, apr_hash_get(ids, m->id, APR_HASH_KEY_STRING) == NULL);
        apr_hash_set(ids, m->id, APR_HASH_KEY_STRING, m);
        FUZZ_CHECK(T, m->source && *m->source && strlen(m->source) <= INGEST_MAPPING_STR_MAX);
        FUZZ_CHECK(T, !ingest_has_control(m->source, strlen(m->source)));
        FUZZ_CHECK(T, m->target && *m->target && strlen(m->target) <= INGEST_MAPPING_STR_MAX);
        FUZZ_CHECK(T, !ingest_has_control(m->target, strlen(m->target)));
        if (m->transformation) {
            back = json_loads(m->transformation, 0, &jerr);
            FUZZ_CHECK(T, json_is_object(back));
            json_decref(back);
        }
    }
}

static void json_ingest_body(apr_pool_t *p, json_t *body)
{
    ingest_json_req_t req;
    ingest_verr_t err = {NULL, NULL};

    if (ingest_validate_json_ingest(p, body, &req, &err) != APR_SUCCESS) {
        fuzz_reportable(T, err.field, err.detail);
        FUZZ_CHECK(T, req.kind == 0 && req.count == 0 && !req.records && !req.mappings);
        return;
    }
    FUZZ_CHECK(T, req.priority >= INGEST_PRIO_HIGH && req.priority < INGEST_PRIO_COUNT);
    if (req.kind == INGEST_JSON_RECORDS) {
        check_records(p, &req, 1, INGEST_RECORDS_MAX);
    } else if (req.kind == INGEST_JSON_JOBS) {
        check_records(p, &req, 0, INGEST_JOBS_MAX);
    } else {
        FUZZ_CHECK(T, req.kind == INGEST_JSON_MAPPINGS);
        check_mappings(p, &req);
    }
}

static void header(const char *s)
{
    const char *why = NULL;
    const char *c;

    if (ingest_validate_idempotency_key(s, &why) == APR_SUCCESS) {
        FUZZ_CHECK(T, *s && strlen(s) <= INGEST_IDEMPOTENCY_KEY_MAX);
        for (c = s; *c; ++c) {
            FUZZ_CHECK(T, *c >= 0x20 && *c <= 0x7E);
        }
    } else {
        fuzz_reportable(T, "Idempotency-Key", why);
    }
    why = NULL;
    if (ingest_validate_filename(s, &why) == APR_SUCCESS) {
        FUZZ_CHECK(T, *s && strlen(s) <= INGEST_FILENAME_MAX && !strpbrk(s, "/\\"));
        FUZZ_CHECK(T, ingest_utf8_valid(s, strlen(s)) && !ingest_has_control(s, strlen(s)));
    } else {
        FUZZ_CHECK(T, why != NULL);
    }
}

int fuzz_ingest_json(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    fuzz_field_t f;
    json_error_t jerr;
    json_t *body;
    int mode;

    if (size < 1) {
        return 0;
    }
    mode = data[0] % 3;
    p = fuzz_pool();
    fuzz_split(data + 1, size - 1, &f, 1);
    if (mode == 2) {
        header(f.s);
    } else {
        body = json_loadb(f.s, f.len, JSON_REJECT_DUPLICATES, &jerr);
        if (body) {
            if (mode == 0) {
                init_body(p, body);
            } else {
                json_ingest_body(p, body);
            }
            json_decref(body);
        }
    }
    fuzz_split_free(&f, 1);
    apr_pool_destroy(p);
    return 0;
}
