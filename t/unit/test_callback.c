#include <string.h>

#include <apr_strings.h>

#include "ingest_callback.h"
#include "unit.h"

#define JOB       "123e4567-e89b-12d3-a456-426614174000"
#define JOB_UPPER "123E4567-E89B-12D3-A456-426614174000"
/* the required members, for bodies that test one optional member */
#define BASE(status) "\"job_id\": \"" JOB "\", \"status\": \"" status "\""

static ingest_callback_t parse_ok_json(json_t *body)
{
    ingest_callback_t cb;
    ingest_verr_t err = {NULL, NULL};
    apr_status_t rv = ingest_callback_parse(unit_pool, body, &cb, &err);
    ck_assert_msg(rv == APR_SUCCESS, "refused: %s %s", err.field ? err.field : "(body)",
                  err.detail ? err.detail : "(no detail)");
    return cb;
}

static ingest_callback_t parse_ok(const char *text)
{
    return parse_ok_json(unit_json(text));
}

static void parse_bad_json(json_t *body, const char *field, const char *detail)
{
    ingest_callback_t cb;
    ingest_verr_t err = {"unset", NULL};
    apr_status_t rv = ingest_callback_parse(unit_pool, body, &cb, &err);
    ck_assert_int_eq(rv, APR_EINVAL);
    if (field) {
        ck_assert_ptr_nonnull(err.field);
        ck_assert_str_eq(err.field, field);
    } else {
        ck_assert_ptr_null(err.field);
    }
    ck_assert_ptr_nonnull(err.detail);
    ck_assert_str_eq(err.detail, detail);
}

static void parse_bad(const char *text, const char *field, const char *detail)
{
    parse_bad_json(unit_json(text), field, detail);
}

static char *repeat(char c, apr_size_t n)
{
    char *s = apr_palloc(unit_pool, n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* BASE("failed") with one more member whose value is the string s. */
static json_t *with_string(const char *status, const char *name, const char *s, apr_size_t len)
{
    json_t *j = unit_json_own(json_object());
    ck_assert_int_eq(json_object_set_new(j, "job_id", json_string(JOB)), 0);
    ck_assert_int_eq(json_object_set_new(j, "status", json_string(status)), 0);
    ck_assert_int_eq(json_object_set_new(j, name, json_stringn(s, len)), 0);
    return j;
}

#define DETAIL_STATUS "must be one of running (or processing), completed, failed"
#define DETAIL_JOB    "must be a job id (UUID)"
#define DETAIL_COUNT  "must be a non-negative integer"

/* -------------------------------------------------------------------- valid */

START_TEST(full_body)
{
    ingest_callback_t cb = parse_ok("{\"job_id\": \"" JOB_UPPER "\", \"status\": \"completed\","
                                    " \"records_processed\": 1200, \"total_items\": 1250,"
                                    " \"result_url\": \"s3://results/job/out.parquet?v=2\","
                                    " \"result_data\": {\"rows\": 1200, \"skipped\": [3, 7],"
                                    " \"name\": \"caf\\u00e9\", \"ok\": true, \"none\": null}}");
    ck_assert_str_eq(cb.job_id, JOB);
    ck_assert_int_eq(cb.status, INGEST_ST_COMPLETED);
    ck_assert_int_eq(cb.has_processed, 1);
    ck_assert_int_eq(cb.processed, 1200);
    ck_assert_int_eq(cb.has_total, 1);
    ck_assert_int_eq(cb.total, 1250);
    ck_assert_str_eq(cb.result_url, "s3://results/job/out.parquet?v=2");
    ck_assert_str_eq(cb.result_data,
                     "{\"rows\":1200,\"skipped\":[3,7],\"name\":\"caf\xc3\xa9\",\"ok\":true,\"none\":null}");
    ck_assert_ptr_null(cb.error);
}
END_TEST

START_TEST(full_failed)
{
    ingest_callback_t cb = parse_ok("{" BASE("failed") ", \"records_processed\": 0, \"total_items\": 0,"
                                                       " \"error\": \"row 17: bad date\\n(at column 3)\"}");
    ck_assert_str_eq(cb.job_id, JOB);
    ck_assert_int_eq(cb.status, INGEST_ST_FAILED);
    ck_assert_int_eq(cb.has_processed, 1);
    ck_assert_int_eq(cb.processed, 0);
    ck_assert_int_eq(cb.has_total, 1);
    ck_assert_int_eq(cb.total, 0);
    ck_assert_str_eq(cb.error, "row 17: bad date\n(at column 3)");
    ck_assert_ptr_null(cb.result_url);
    ck_assert_ptr_null(cb.result_data);
}
END_TEST

START_TEST(minimal)
{
    ingest_callback_t cb = parse_ok("{" BASE("running") "}");
    ck_assert_str_eq(cb.job_id, JOB);
    ck_assert_int_eq(cb.status, INGEST_ST_RUNNING);
    ck_assert_int_eq(cb.has_processed, 0);
    ck_assert_int_eq(cb.has_total, 0);
    ck_assert_ptr_null(cb.result_url);
    ck_assert_ptr_null(cb.result_data);
    ck_assert_ptr_null(cb.error);

    cb = parse_ok("{\"status\": \"completed\", \"job_id\": \"" JOB "\"}");
    ck_assert_int_eq(cb.status, INGEST_ST_COMPLETED);
    cb = parse_ok("{" BASE("failed") "}");
    ck_assert_int_eq(cb.status, INGEST_ST_FAILED);
    ck_assert_ptr_null(cb.error);
}
END_TEST

START_TEST(null_is_absent)
{
    ingest_callback_t cb =
        parse_ok("{" BASE("completed") ", \"records_processed\": null, \"total_items\": null,"
                                       " \"result_url\": null, \"result_data\": null,"
                                       " \"error\": null}");
    ck_assert_int_eq(cb.has_processed, 0);
    ck_assert_int_eq(cb.has_total, 0);
    ck_assert_ptr_null(cb.result_url);
    ck_assert_ptr_null(cb.result_data);
    ck_assert_ptr_null(cb.error);
    /* a null total does not make records_processed exceed anything */
    cb = parse_ok("{" BASE("running") ", \"records_processed\": 5, \"total_items\": null}");
    ck_assert_int_eq(cb.has_processed, 1);
    ck_assert_int_eq(cb.processed, 5);
    ck_assert_int_eq(cb.has_total, 0);
    /* the required members are not optional because they are null */
    parse_bad("{\"job_id\": null, \"status\": \"running\"}", "job_id", "is required");
    parse_bad("{\"job_id\": \"" JOB "\", \"status\": null}", "status", "is required");
}
END_TEST

/* ------------------------------------------------------------------ shape */

START_TEST(not_an_object)
{
    static const char *const texts[] = {"[]", "[{\"job_id\": \"" JOB "\"}]", "\"x\"", "1", "null", "true"};
    apr_size_t i;
    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); ++i) {
        parse_bad(texts[i], NULL, "the request body must be a JSON object");
    }
    parse_bad_json(NULL, NULL, "the request body must be a JSON object");
}
END_TEST

START_TEST(unknown_fields)
{
    parse_bad("{" BASE("running") ", \"progress\": 5}", "progress", "unknown field");
    parse_bad("{" BASE("running") ", \"Status\": \"running\"}", "Status", "unknown field");
    parse_bad("{" BASE("running") ", \"\": 1}", "", "unknown field");
    /* even a null one, and before anything else is looked at */
    parse_bad("{\"extra\": null}", "extra", "unknown field");
    parse_bad("{\"job_id\": 5, \"jobid\": \"" JOB "\"}", "jobid", "unknown field");
}
END_TEST

/* ----------------------------------------------------------------- job_id */

START_TEST(job_id_rules)
{
    parse_bad("{\"status\": \"running\"}", "job_id", "is required");
    parse_bad("{}", "job_id", "is required");
    parse_bad("{\"job_id\": 5, \"status\": \"running\"}", "job_id", DETAIL_JOB);
    parse_bad("{\"job_id\": [\"" JOB "\"], \"status\": \"running\"}", "job_id", DETAIL_JOB);
    parse_bad("{\"job_id\": \"\", \"status\": \"running\"}", "job_id", DETAIL_JOB);
    parse_bad("{\"job_id\": \"job-1\", \"status\": \"running\"}", "job_id", DETAIL_JOB);
    parse_bad("{\"job_id\": \"{" JOB "}\", \"status\": \"running\"}", "job_id", DETAIL_JOB);
    parse_bad("{\"job_id\": \"123e4567e89b12d3a456426614174000\", \"status\": \"running\"}", "job_id",
              DETAIL_JOB);
    parse_bad("{\"job_id\": \"123e4567-e89b-12d3-a456-42661417400g\", \"status\": \"running\"}", "job_id",
              DETAIL_JOB);
    parse_bad("{\"job_id\": \" " JOB "\", \"status\": \"running\"}", "job_id", DETAIL_JOB);
    /* a NUL after a valid UUID is not the UUID */
    {
        static const char nul[] = JOB "\0x";
        json_t *j = with_string("running", "job_id", nul, sizeof(nul) - 1);
        parse_bad_json(j, "job_id", DETAIL_JOB);
    }
    /* the job id is checked before the status */
    parse_bad("{\"job_id\": \"x\"}", "job_id", DETAIL_JOB);
    {
        ingest_callback_t cb = parse_ok("{\"job_id\": \"123E4567-e89b-12D3-A456-42661417400F\","
                                        " \"status\": \"running\"}");
        ck_assert_str_eq(cb.job_id, "123e4567-e89b-12d3-a456-42661417400f");
    }
}
END_TEST

/* ----------------------------------------------------------------- status */

START_TEST(status_rules)
{
    static const char *const bad[] = {
        "\"pending\"", "\"queued\"", "\"RUNNING\"", "\"done\"",     "\"\"",
        "\"failed \"", "1",          "true",        "[\"failed\"]",
    };
    apr_size_t i;

    parse_bad("{\"job_id\": \"" JOB "\"}", "status", "is required");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        parse_bad(apr_psprintf(unit_pool, "{\"job_id\": \"" JOB "\", \"status\": %s}", bad[i]), "status",
                  DETAIL_STATUS);
    }
    {
        static const char nul[] = "failed\0x";
        json_t *j = unit_json("{\"job_id\": \"" JOB "\"}");
        ck_assert_int_eq(json_object_set_new(j, "status", json_stringn(nul, sizeof(nul) - 1)), 0);
        parse_bad_json(j, "status", DETAIL_STATUS);
    }
}
END_TEST

/* ----------------------------------------------------------------- counts */

START_TEST(count_rules)
{
    static const char *const bad[] = {"-1",   "1.5", "1.0", "\"5\"",
                                      "true", "[1]", "{}",  "-9223372036854775808"};
    static const char *const names[] = {"records_processed", "total_items"};
    apr_size_t i, n;
    ingest_callback_t cb;

    for (n = 0; n < 2; ++n) {
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
            parse_bad(apr_psprintf(unit_pool, "{" BASE("running") ", \"%s\": %s}", names[n], bad[i]),
                      names[n], DETAIL_COUNT);
        }
    }

    cb = parse_ok("{" BASE("running") ", \"records_processed\": 0}");
    ck_assert_int_eq(cb.has_processed, 1);
    ck_assert_int_eq(cb.processed, 0);
    ck_assert_int_eq(cb.has_total, 0);
    cb = parse_ok("{" BASE("running") ", \"total_items\": 9223372036854775807}");
    ck_assert_int_eq(cb.has_total, 1);
    ck_assert_int_eq(cb.total, APR_INT64_C(9223372036854775807));
    ck_assert_int_eq(cb.has_processed, 0);
    /* alone, records_processed is not bounded by anything */
    cb = parse_ok("{" BASE("running") ", \"records_processed\": 9007199254740993}");
    ck_assert_int_eq(cb.processed, APR_INT64_C(9007199254740993));
}
END_TEST

START_TEST(processed_vs_total)
{
    ingest_callback_t cb;

    parse_bad("{" BASE("running") ", \"records_processed\": 11, \"total_items\": 10}", "records_processed",
              "must not exceed total_items");
    parse_bad("{" BASE("completed") ", \"records_processed\": 1, \"total_items\": 0}", "records_processed",
              "must not exceed total_items");
    /* the order of the members does not matter */
    parse_bad("{\"total_items\": 10, " BASE("running") ", \"records_processed\": 11}", "records_processed",
              "must not exceed total_items");
    cb = parse_ok("{" BASE("running") ", \"records_processed\": 10, \"total_items\": 10}");
    ck_assert_int_eq(cb.processed, 10);
    ck_assert_int_eq(cb.total, 10);
    cb = parse_ok("{" BASE("running") ", \"records_processed\": 3, \"total_items\": 10}");
    ck_assert_int_eq(cb.processed, 3);
    ck_assert_int_eq(cb.total, 10);
    /* a bad total is reported as such, not as a comparison */
    parse_bad("{" BASE("running") ", \"records_processed\": 3, \"total_items\": -1}", "total_items",
              DETAIL_COUNT);
}
END_TEST

/* ------------------------------------------------------------- result_url */

START_TEST(result_url_rules)
{
    ingest_callback_t cb;
    const char *url2048 = apr_pstrcat(unit_pool, "https://x/", repeat('a', 2048 - 10), NULL);
    const char *url2049 = apr_pstrcat(unit_pool, url2048, "a", NULL);

    cb = parse_ok(apr_psprintf(unit_pool, "{" BASE("completed") ", \"result_url\": \"%s\"}", url2048));
    ck_assert_uint_eq(strlen(cb.result_url), 2048);
    ck_assert_str_eq(cb.result_url, url2048);
    parse_bad(apr_psprintf(unit_pool, "{" BASE("completed") ", \"result_url\": \"%s\"}", url2049),
              "result_url", "must be at most 2048 bytes");
    parse_bad("{" BASE("completed") ", \"result_url\": \"\"}", "result_url", "must not be empty");
    parse_bad("{" BASE("completed") ", \"result_url\": 5}", "result_url", "must be a string");
    parse_bad("{" BASE("completed") ", \"result_url\": {\"href\": \"x\"}}", "result_url", "must be a string");
    parse_bad("{" BASE("completed") ", \"result_url\": \"https://x/\\n\"}", "result_url",
              "must not contain control characters");
    parse_bad("{" BASE("completed") ", \"result_url\": \"https://x/\\t\"}", "result_url",
              "must not contain control characters");
    parse_bad("{" BASE("completed") ", \"result_url\": \"https://x/\\u007f\"}", "result_url",
              "must not contain control characters");
    parse_bad("{" BASE("completed") ", \"result_url\": \"https://x/\\u0085\"}", "result_url",
              "must not contain control characters");
    parse_bad_json(with_string("completed", "result_url", "https://x/\0y", 12), "result_url",
                   "must not contain control characters");
    /* bytes, not characters; non-ASCII text is fine */
    cb = parse_ok("{" BASE("running") ", \"result_url\": \"https://x/caf\\u00e9\"}");
    ck_assert_str_eq(cb.result_url, "https://x/caf\xc3\xa9");
    {
        char *u = repeat('a', 2048);
        u[2047] = '\0';
        u[2046] = '\0';
        /* 2046 ASCII bytes + one two-byte character = 2048 bytes */
        cb = parse_ok(apr_psprintf(unit_pool, "{" BASE("running") ", \"result_url\": \"%s\\u00e9\"}", u));
        ck_assert_uint_eq(strlen(cb.result_url), 2048);
        parse_bad(apr_psprintf(unit_pool, "{" BASE("running") ", \"result_url\": \"%sa\\u00e9\"}", u),
                  "result_url", "must be at most 2048 bytes");
    }
}
END_TEST

/* ------------------------------------------------------------ result_data */

START_TEST(result_data_rules)
{
    static const char *const scalars[] = {"1", "0", "-2.5", "\"{}\"", "\"\"", "true", "false"};
    ingest_callback_t cb;
    apr_size_t i;

    for (i = 0; i < sizeof(scalars) / sizeof(scalars[0]); ++i) {
        parse_bad(apr_psprintf(unit_pool, "{" BASE("completed") ", \"result_data\": %s}", scalars[i]),
                  "result_data", "must be a JSON object or array");
    }
    cb = parse_ok("{" BASE("completed") ", \"result_data\": {}}");
    ck_assert_str_eq(cb.result_data, "{}");
    cb = parse_ok("{" BASE("completed") ", \"result_data\": []}");
    ck_assert_str_eq(cb.result_data, "[]");
    cb = parse_ok("{" BASE("completed") ", \"result_data\": [ 1 , \"two\" , { \"three\" : [ null ] } ]}");
    ck_assert_str_eq(cb.result_data, "[1,\"two\",{\"three\":[null]}]");
    /* members keep their order; strings are re-escaped as needed */
    cb = parse_ok("{" BASE("completed") ", \"result_data\": {\"z\": 1, \"a\": \"q\\\"\\u0001\"}}");
    ck_assert_str_eq(cb.result_data, "{\"z\":1,\"a\":\"q\\\"\\u0001\"}");
    /* any status may carry it */
    cb = parse_ok("{" BASE("running") ", \"result_data\": {\"partial\": true}}");
    ck_assert_str_eq(cb.result_data, "{\"partial\":true}");
    cb = parse_ok("{" BASE("failed") ", \"result_data\": [0]}");
    ck_assert_str_eq(cb.result_data, "[0]");
}
END_TEST

/* ------------------------------------------------------------------ error */

START_TEST(error_rules)
{
    ingest_callback_t cb;

    parse_bad("{" BASE("running") ", \"error\": \"boom\"}", "error", "is only allowed with status failed");
    parse_bad("{" BASE("completed") ", \"error\": \"boom\"}", "error", "is only allowed with status failed");
    parse_bad("{" BASE("completed") ", \"error\": \"\"}", "error", "is only allowed with status failed");
    parse_bad("{" BASE("failed") ", \"error\": 5}", "error", "must be a string");
    parse_bad("{" BASE("failed") ", \"error\": {\"message\": \"boom\"}}", "error", "must be a string");

    cb = parse_ok(apr_psprintf(unit_pool, "{" BASE("failed") ", \"error\": \"%s\"}", repeat('e', 4096)));
    ck_assert_uint_eq(strlen(cb.error), 4096);
    parse_bad(apr_psprintf(unit_pool, "{" BASE("failed") ", \"error\": \"%s\"}", repeat('e', 4097)), "error",
              "must be at most 4096 bytes");
    cb = parse_ok("{" BASE("failed") ", \"error\": \"\"}");
    ck_assert_str_eq(cb.error, "");
    /* free text: control characters and non-ASCII are kept */
    cb = parse_ok("{" BASE("failed") ", \"error\": \"line 1\\tcol 2\\r\\n\\u00e9\"}");
    ck_assert_str_eq(cb.error, "line 1\tcol 2\r\n\xc3\xa9");
    parse_bad_json(with_string("failed", "error", "a\0b", 3), "error", "must not contain NUL characters");
}
END_TEST

START_TEST(result_outlives_body)
{
    /* everything returned lives in the pool, not in the JSON */
    json_error_t jerr;
    json_t *j = json_loads("{" BASE("completed") ", \"result_url\": \"u\", \"result_data\": {\"k\": \"v\"}}",
                           0, &jerr);
    ingest_verr_t err = {NULL, NULL};
    ingest_callback_t cb;
    apr_status_t rv;

    ck_assert_ptr_nonnull(j);
    rv = ingest_callback_parse(unit_pool, j, &cb, &err);
    json_decref(j);
    ck_assert_int_eq(rv, APR_SUCCESS);
    ck_assert_str_eq(cb.job_id, JOB);
    ck_assert_str_eq(cb.result_url, "u");
    ck_assert_str_eq(cb.result_data, "{\"k\":\"v\"}");
}
END_TEST

Suite *suite_callback(void)
{
    Suite *s = suite_create("ingest_callback");
    TCase *tc;

    tc = unit_tcase("valid");
    tcase_add_test(tc, full_body);
    tcase_add_test(tc, full_failed);
    tcase_add_test(tc, minimal);
    tcase_add_test(tc, null_is_absent);
    tcase_add_test(tc, result_outlives_body);
    suite_add_tcase(s, tc);

    tc = unit_tcase("rules");
    tcase_add_test(tc, not_an_object);
    tcase_add_test(tc, unknown_fields);
    tcase_add_test(tc, job_id_rules);
    tcase_add_test(tc, status_rules);
    tcase_add_test(tc, count_rules);
    tcase_add_test(tc, processed_vs_total);
    tcase_add_test(tc, result_url_rules);
    tcase_add_test(tc, result_data_rules);
    tcase_add_test(tc, error_rules);
    suite_add_tcase(s, tc);
    return s;
}
