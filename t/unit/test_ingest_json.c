#include <string.h>

#include <apr_strings.h>

#include "ingest_ingest_json.h"
#include "unit.h"

static void body_bad(const char *text, const char *want_field, const char *want_detail)
{
    ingest_json_req_t req;
    ingest_verr_t err = {"(unset)", NULL};
    apr_status_t rv = ingest_validate_json_ingest(unit_pool, unit_json(text), &req, &err);

    ck_assert_msg(rv == APR_EINVAL, "accepted: %s", text);
    if (want_field) {
        ck_assert_msg(err.field && !strcmp(err.field, want_field), "%s: field %s, want %s", text,
                      err.field ? err.field : "NULL", want_field);
    } else {
        ck_assert_msg(err.field == NULL, "%s: field %s, want NULL", text, err.field);
    }
    ck_assert_ptr_nonnull(err.detail);
    ck_assert_str_eq(err.detail, want_detail);
}

static ingest_json_req_t *body_ok(json_t *body)
{
    ingest_json_req_t *req = apr_pcalloc(unit_pool, sizeof(*req));
    ingest_verr_t err = {NULL, NULL};
    apr_status_t rv = ingest_validate_json_ingest(unit_pool, body, req, &err);

    ck_assert_msg(rv == APR_SUCCESS, "refused: %s %s", err.field ? err.field : "(body)",
                  err.detail ? err.detail : "");
    return req;
}

/* {"mappings":[...]} with n mappings m0.., each {"id":..., "source":"s", "target":"t"}, and then
 * extra members in mapping i. */
static char *mappings_with(int n, int i, const char *extra)
{
    char *s = apr_pstrdup(unit_pool, "{\"mappings\":[");
    int k;
    for (k = 0; k < n; ++k) {
        s = apr_psprintf(unit_pool, "%s%s{\"id\":\"m%d\",\"source\":\"s\",\"target\":\"t\"%s%s}", s,
                         k ? "," : "", k, k == i && extra ? "," : "", k == i && extra ? extra : "");
    }
    return apr_pstrcat(unit_pool, s, "]}", NULL);
}

/* One mapping of the given members, as mapping 1 of 2. */
static char *second_mapping(const char *members)
{
    return apr_psprintf(
        unit_pool, "{\"mappings\":[{\"id\":\"first\",\"source\":\"s\",\"target\":\"t\"},{%s}]}", members);
}

static char *repeat(char c, apr_size_t n)
{
    char *s = apr_palloc(unit_pool, n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

START_TEST(records_good)
{
    json_t *body = unit_json("{\"records\":[{\"a\":1},{\"b\":\"x\",\"c\":[1,{}]},{}]}");
    ingest_json_req_t *req = body_ok(body);

    ck_assert_int_eq(req->kind, INGEST_JSON_RECORDS);
    ck_assert_int_eq(req->priority, INGEST_PRIO_MEDIUM);
    ck_assert_uint_eq(req->count, 3);
    /* borrowed, not copied */
    ck_assert_ptr_eq(req->records, json_object_get(body, "records"));
    ck_assert_ptr_null(req->mappings);

    req = body_ok(unit_json("{\"priority\":\"HIGH\",\"records\":[{\"a\":1}]}"));
    ck_assert_int_eq(req->kind, INGEST_JSON_RECORDS);
    ck_assert_int_eq(req->priority, INGEST_PRIO_HIGH);
    ck_assert_uint_eq(req->count, 1);
}
END_TEST

START_TEST(mappings_good)
{
    ingest_json_req_t *req =
        body_ok(unit_json("{\"mappings\":["
                          "{\"id\":\"m1\",\"source\":\"order.total\",\"target\":\"amount\","
                          "\"transformation\":{\"op\":\"round\",\"args\":[2, \"half-up\"]}},"
                          "{\"target\":\"t\xC3\xA9\",\"source\":\"s\",\"id\":\"M1\"}],"
                          "\"priority\":\"LOW\"}"));
    ingest_mapping_t *m;

    ck_assert_int_eq(req->kind, INGEST_JSON_MAPPINGS);
    ck_assert_int_eq(req->priority, INGEST_PRIO_LOW);
    ck_assert_uint_eq(req->count, 2);
    ck_assert_ptr_null(req->records);
    ck_assert_int_eq(req->mappings->nelts, 2);
    m = &APR_ARRAY_IDX(req->mappings, 0, ingest_mapping_t);
    ck_assert_str_eq(m->id, "m1");
    ck_assert_str_eq(m->source, "order.total");
    ck_assert_str_eq(m->target, "amount");
    ck_assert_str_eq(m->transformation, "{\"op\":\"round\",\"args\":[2,\"half-up\"]}");
    m = &APR_ARRAY_IDX(req->mappings, 1, ingest_mapping_t);
    /* ids are compared exactly: M1 is not m1 */
    ck_assert_str_eq(m->id, "M1");
    ck_assert_str_eq(m->source, "s");
    ck_assert_str_eq(m->target, "t\xC3\xA9");
    ck_assert_ptr_null(m->transformation);

    req = body_ok(
        unit_json("{\"mappings\":[{\"id\":\"a\",\"source\":\"b\",\"target\":\"c\",\"transformation\":{}}],"
                  "\"priority\":\"MEDIUM\"}"));
    ck_assert_int_eq(req->priority, INGEST_PRIO_MEDIUM);
    ck_assert_str_eq(APR_ARRAY_IDX(req->mappings, 0, ingest_mapping_t).transformation, "{}");
}
END_TEST

START_TEST(body_shape)
{
    const char *either = "the body must have exactly one of \"records\", \"mappings\" or \"jobs\"";

    body_bad("[]", NULL, "the request body must be a JSON object");
    body_bad("\"records\"", NULL, "the request body must be a JSON object");
    body_bad("null", NULL, "the request body must be a JSON object");
    body_bad("{}", NULL, either);
    body_bad("{\"priority\":\"HIGH\"}", NULL, either);
    body_bad("{\"records\":[{}],\"mappings\":[{\"id\":\"a\",\"source\":\"b\",\"target\":\"c\"}]}", NULL,
             either);
    body_bad("{\"records\":[{}],\"jobs\":[{}]}", NULL, either);
    body_bad("{\"records\":[{}],\"extra\":1}", "extra", "unknown field");
    body_bad("{\"Records\":[{}]}", "Records", "unknown field");
}
END_TEST

START_TEST(priority_values)
{
    const char *why = "must be one of HIGH, MEDIUM, LOW";

    body_bad("{\"records\":[{}],\"priority\":\"URGENT\"}", "priority", why);
    body_bad("{\"records\":[{}],\"priority\":\"high\"}", "priority", why);
    body_bad("{\"records\":[{}],\"priority\":\"\"}", "priority", why);
    body_bad("{\"records\":[{}],\"priority\":1}", "priority", why);
    body_bad("{\"records\":[{}],\"priority\":null}", "priority", why);
    body_bad("{\"mappings\":[{\"id\":\"a\",\"source\":\"b\",\"target\":\"c\"}],\"priority\":[\"LOW\"]}",
             "priority", why);
}
END_TEST

START_TEST(records_rules)
{
    json_t *body, *arr;
    ingest_json_req_t *req;
    int i;

    body_bad("{\"records\":{}}", "records", "must be an array");
    body_bad("{\"records\":null}", "records", "must be an array");
    body_bad("{\"records\":[]}", "records", "must not be empty");
    body_bad("{\"records\":[1]}", "records[0]", "must be an object");
    body_bad("{\"records\":[{},{},[]]}", "records[2]", "must be an object");
    body_bad("{\"records\":[{},null]}", "records[1]", "must be an object");

    /* the most records, and one more */
    arr = json_array();
    body = unit_json_own(json_pack("{s:o}", "records", arr));
    for (i = 0; i < INGEST_RECORDS_MAX; ++i) {
        json_array_append_new(arr, json_object());
    }
    req = body_ok(body);
    ck_assert_uint_eq(req->count, INGEST_RECORDS_MAX);
    json_array_append_new(arr, json_object());
    {
        ingest_json_req_t r;
        ingest_verr_t err;
        ck_assert_int_eq(ingest_validate_json_ingest(unit_pool, body, &r, &err), APR_EINVAL);
        ck_assert_str_eq(err.field, "records");
        ck_assert_str_eq(err.detail, "must have at most 100000 records");
    }
}
END_TEST

START_TEST(mappings_shape)
{
    json_t *body, *arr;
    ingest_json_req_t *req;
    int i;

    body_bad("{\"mappings\":{}}", "mappings", "must be an array");
    body_bad("{\"mappings\":\"a\"}", "mappings", "must be an array");
    body_bad("{\"mappings\":[]}", "mappings", "must not be empty");
    body_bad("{\"mappings\":[{\"id\":\"a\",\"source\":\"s\",\"target\":\"t\"},"
             "{\"id\":\"b\",\"source\":\"s\",\"target\":\"t\"},[1]]}",
             "mappings[2]", "must be an object");
    body_bad("{\"mappings\":[\"m1\"]}", "mappings[0]", "must be an object");
    body_bad(mappings_with(3, 1, "\"extra\":true"), "mappings[1].extra", "unknown field");
    body_bad(mappings_with(1, 0, "\"Source\":\"x\""), "mappings[0].Source", "unknown field");

    arr = json_array();
    body = unit_json_own(json_pack("{s:o}", "mappings", arr));
    for (i = 0; i < INGEST_MAPPINGS_MAX; ++i) {
        json_array_append_new(arr, json_pack("{s:s+, s:s, s:s}", "id", "m", apr_itoa(unit_pool, i), "source",
                                             "s", "target", "t"));
    }
    req = body_ok(body);
    ck_assert_uint_eq(req->count, INGEST_MAPPINGS_MAX);
    ck_assert_int_eq(req->mappings->nelts, INGEST_MAPPINGS_MAX);
    ck_assert_str_eq(APR_ARRAY_IDX(req->mappings, 9999, ingest_mapping_t).id, "m9999");
    json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "id", "last", "source", "s", "target", "t"));
    {
        ingest_json_req_t r;
        ingest_verr_t err;
        ck_assert_int_eq(ingest_validate_json_ingest(unit_pool, body, &r, &err), APR_EINVAL);
        ck_assert_str_eq(err.field, "mappings");
        ck_assert_str_eq(err.detail, "must have at most 10000 mappings");
    }
}
END_TEST

START_TEST(mapping_id)
{
    json_error_t jerr;
    json_t *body;
    ingest_json_req_t req;
    ingest_verr_t err;

    body_bad(second_mapping("\"source\":\"s\",\"target\":\"t\""), "mappings[1].id", "is required");
    body_bad(second_mapping("\"id\":7,\"source\":\"s\",\"target\":\"t\""), "mappings[1].id",
             "must be a string");
    body_bad(second_mapping("\"id\":null,\"source\":\"s\",\"target\":\"t\""), "mappings[1].id",
             "must be a string");
    body_bad(second_mapping("\"id\":\"\",\"source\":\"s\",\"target\":\"t\""), "mappings[1].id",
             "must not be empty");
    body_bad(second_mapping(apr_psprintf(unit_pool, "\"id\":\"%s\",\"source\":\"s\",\"target\":\"t\"",
                                         repeat('i', 256))),
             "mappings[1].id", "must be at most 255 bytes");
    body_ok(unit_json(second_mapping(
        apr_psprintf(unit_pool, "\"id\":\"%s\",\"source\":\"s\",\"target\":\"t\"", repeat('i', 255)))));
    /* bytes, not characters: 128 two-byte characters are 256 bytes */
    body_bad(second_mapping(apr_psprintf(unit_pool, "\"id\":\"%s\",\"source\":\"s\",\"target\":\"t\"",
                                         apr_pstrcat(unit_pool, repeat('i', 254), "\xC3\xA9", NULL))),
             "mappings[1].id", "must be at most 255 bytes");

    /* unique across the array: the later one is wrong, and says which */
    body_bad(second_mapping("\"id\":\"first\",\"source\":\"s2\",\"target\":\"t2\""), "mappings[1].id",
             "duplicates mappings[0].id");
    body_bad("{\"mappings\":[{\"id\":\"a\",\"source\":\"s\",\"target\":\"t\"},"
             "{\"id\":\"b\",\"source\":\"s\",\"target\":\"t\"},"
             "{\"id\":\"c\",\"source\":\"s\",\"target\":\"t\"},"
             "{\"id\":\"b\",\"source\":\"s\",\"target\":\"t\"}]}",
             "mappings[3].id", "duplicates mappings[1].id");
    /* an id is a name: spaces and other text are fine */
    body_ok(unit_json(second_mapping("\"id\":\"my id / \xC3\xA9\",\"source\":\"s\",\"target\":\"t\"")));

    /* a NUL would make the C string a prefix: "a\u0000x" would be "a" */
    body = unit_json_own(json_loads(
        "{\"mappings\":[{\"id\":\"a\\u0000x\",\"source\":\"s\",\"target\":\"t\"}]}", JSON_ALLOW_NUL, &jerr));
    ck_assert_ptr_nonnull(body);
    ck_assert_int_eq(ingest_validate_json_ingest(unit_pool, body, &req, &err), APR_EINVAL);
    ck_assert_str_eq(err.field, "mappings[0].id");
    ck_assert_str_eq(err.detail, "must not contain NUL characters");
}
END_TEST

static void strings_rules(const char *name, const char *other)
{
    const char *field = apr_psprintf(unit_pool, "mappings[1].%s", name);
#define WITH(value)                                                                                          \
    second_mapping(apr_psprintf(unit_pool, "\"id\":\"x\",\"%s\":\"o\",\"%s\":%s", other, name, value))

    body_bad(second_mapping(apr_psprintf(unit_pool, "\"id\":\"x\",\"%s\":\"o\"", other)), field,
             "is required");
    body_bad(WITH("1"), field, "must be a string");
    body_bad(WITH("{}"), field, "must be a string");
    body_bad(WITH("null"), field, "must be a string");
    body_bad(WITH("\"\""), field, "must not be empty");
    body_bad(WITH(apr_psprintf(unit_pool, "\"%s\"", repeat('s', 1025))), field, "must be at most 1024 bytes");
    body_ok(unit_json(WITH(apr_psprintf(unit_pool, "\"%s\"", repeat('s', 1024)))));
    body_bad(WITH("\"a\\tb\""), field, "must not contain control characters");
    body_bad(WITH("\"a\\nb\""), field, "must not contain control characters");
    body_bad(WITH("\"\\u007f\""), field, "must not contain control characters");
    body_bad(WITH("\"x\\u0085\""), field, "must not contain control characters");
    body_ok(unit_json(WITH("\"caf\xC3\xA9 \\u00a0 \xE2\x82\xAC.field[0]\"")));
#undef WITH
}

START_TEST(mapping_source_target)
{
    strings_rules("source", "target");
    strings_rules("target", "source");
}
END_TEST

START_TEST(mapping_transformation)
{
    const char *base = "\"id\":\"x\",\"source\":\"s\",\"target\":\"t\",\"transformation\":";
    const char *field = "mappings[1].transformation";
    ingest_json_req_t *req;

    body_bad(second_mapping(apr_pstrcat(unit_pool, base, "[]", NULL)), field, "must be an object");
    body_bad(second_mapping(apr_pstrcat(unit_pool, base, "\"upper\"", NULL)), field, "must be an object");
    /* null is absent, as many clients write it */
    req = body_ok(unit_json(second_mapping(apr_pstrcat(unit_pool, base, "null", NULL))));
    ck_assert_ptr_null(APR_ARRAY_IDX(req->mappings, 1, ingest_mapping_t).transformation);
    /* stored compact, in the order given */
    req = body_ok(unit_json(second_mapping(apr_pstrcat(
        unit_pool, base, "{ \"z\" : 1, \"a\" : { \"n\" : [ true, null, \"\xC3\xA9\" ] } }", NULL))));
    ck_assert_ptr_null(APR_ARRAY_IDX(req->mappings, 0, ingest_mapping_t).transformation);
    ck_assert_str_eq(APR_ARRAY_IDX(req->mappings, 1, ingest_mapping_t).transformation,
                     "{\"z\":1,\"a\":{\"n\":[true,null,\"\xC3\xA9\"]}}");
}
END_TEST

/* {"jobs": [...]}: the array is checked here, each record by the worker */
START_TEST(jobs_rules)
{
    ingest_json_req_t *req;

    body_bad("{\"jobs\":{}}", "jobs", "must be an array");
    body_bad("{\"jobs\":[]}", "jobs", "must not be empty");
    body_bad("{\"jobs\":[{}],\"priority\":\"x\"}", "priority", "must be one of HIGH, MEDIUM, LOW");
    req = body_ok(unit_json("{\"jobs\":[{\"job_id\":\"a\"},7,null],\"priority\":\"LOW\"}"));
    ck_assert_int_eq(req->kind, INGEST_JSON_JOBS);
    ck_assert_uint_eq(req->count, 3);
    ck_assert_int_eq(req->priority, INGEST_PRIO_LOW);
    ck_assert_ptr_nonnull(req->records);
}
END_TEST

START_TEST(records_ndjson)
{
    apr_size_t len = 99;
    char *s;

    s = ingest_records_ndjson(unit_pool,
                              unit_json("[{\"a\":1,\"b\":\"x\\ny\"},{\"c\":[1,2.5,null]},{},"
                                        "{\"\xC3\xA9\":\"\\u2028\"}]"),
                              &len);
    ck_assert_str_eq(
        s, "{\"a\":1,\"b\":\"x\\ny\"}\n{\"c\":[1,2.5,null]}\n{}\n{\"\xC3\xA9\":\"\xE2\x80\xA8\"}\n");
    ck_assert_uint_eq(len, strlen(s));

    s = ingest_records_ndjson(unit_pool, unit_json("[]"), &len);
    ck_assert_str_eq(s, "");
    ck_assert_uint_eq(len, 0);

    /* the validated records of a body, as they will be stored */
    {
        json_t *body = unit_json("{\"records\":[{\"id\":1},{\"id\":2}]}");
        ingest_json_req_t *req = body_ok(body);
        s = ingest_records_ndjson(unit_pool, req->records, &len);
        ck_assert_str_eq(s, "{\"id\":1}\n{\"id\":2}\n");
        ck_assert_uint_eq(len, 18);
    }
}
END_TEST

Suite *suite_ingest_json(void)
{
    Suite *s = suite_create("ingest_json");
    TCase *tc = unit_tcase("ingest_json");
    tcase_add_test(tc, records_good);
    tcase_add_test(tc, mappings_good);
    tcase_add_test(tc, body_shape);
    tcase_add_test(tc, priority_values);
    tcase_add_test(tc, records_rules);
    tcase_add_test(tc, mappings_shape);
    tcase_add_test(tc, mapping_id);
    tcase_add_test(tc, mapping_source_target);
    tcase_add_test(tc, mapping_transformation);
    tcase_add_test(tc, records_ndjson);
    tcase_add_test(tc, jobs_rules);
    suite_add_tcase(s, tc);
    return s;
}
