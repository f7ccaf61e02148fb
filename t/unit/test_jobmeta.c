#include <math.h>
#include <stdio.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "ingest_jobmeta.h"
#include "unit.h"

#ifndef INGEST_DATA_DIR
#error "compile with -DINGEST_DATA_DIR=\"<top_srcdir>/data\""
#endif

#define US_PER_DAY  86400000000LL
#define US_PER_HOUR 3600000000LL

#define D_STRING100 "must be a string of 1 to 100 bytes"
#define D_STRING200 "must be a string of 1 to 200 bytes"
#define D_STATUS    "must be one of queued, running, completed, failed, cancelled"
#define D_TIME      "must be an RFC 3339 date-time with a UTC offset, e.g. 2026-01-03T22:00:00Z"
#define D_NUMBER    "must be a number >= 0"
#define D_CONTROL   "must not contain control characters"

/* 2026-01-03T22:00:00Z */
#define JAN3_22 1767477600000000LL
#define JAN3    20456

#define BASE                                                                                                 \
    "{\"job_id\":\"mlj-2026-0001\",\"team\":\"nlp-research\",\"model_name\":\"llama-3-8b-finetune\","        \
    "\"gpu_type\":\"A100-80GB\",\"provider\":\"gcp\",\"status\":\"completed\","                              \
    "\"started_at\":\"2026-01-03T22:00:00Z\",\"ended_at\":\"2026-01-04T04:00:00Z\",\"gpu_hours\":48,"        \
    "\"cost_usd\":100}"

/* The base record with member key set to the JSON value text, or removed
 * when value is NULL. */
static json_t *rec_with(const char *key, const char *value)
{
    json_t *rec = unit_json(BASE);
    if (value) {
        json_object_set(rec, key, unit_json(value));
    } else {
        json_object_del(rec, key);
    }
    return rec;
}

static ingest_jobmeta_t *parse_ok(json_t *rec)
{
    ingest_jobmeta_t *m = apr_pcalloc(unit_pool, sizeof(*m));
    ingest_verr_t err = {NULL, NULL};
    apr_status_t rv = ingest_jobmeta_parse(unit_pool, rec, m, &err);

    ck_assert_msg(rv == APR_SUCCESS, "refused: %s: %s", err.field ? err.field : "(record)",
                  err.detail ? err.detail : "");
    return m;
}

static void parse_bad(json_t *rec, const char *want_field, const char *want_detail)
{
    ingest_jobmeta_t m;
    ingest_verr_t err = {"(unset)", NULL};
    char *text = unit_str_own(json_dumps(rec, JSON_ENCODE_ANY | JSON_COMPACT));
    apr_status_t rv = ingest_jobmeta_parse(unit_pool, rec, &m, &err);

    ck_assert_msg(rv == APR_EINVAL, "accepted: %s", text);
    if (want_field) {
        ck_assert_msg(err.field && !strcmp(err.field, want_field), "%s: field %s, want %s", text,
                      err.field ? err.field : "NULL", want_field);
    } else {
        ck_assert_msg(err.field == NULL, "%s: field %s, want NULL", text, err.field);
    }
    ck_assert_ptr_nonnull(err.detail);
    ck_assert_msg(!strcmp(err.detail, want_detail), "%s: detail \"%s\", want \"%s\"", text, err.detail,
                  want_detail);
    /* nothing half-filled */
    ck_assert_ptr_null(m.job_id);
    ck_assert_int_eq(m.started_us, 0);
}

static void field_bad(const char *key, const char *value, const char *want_detail)
{
    parse_bad(rec_with(key, value), key, want_detail);
}

/* key set to the string s followed by a NUL and an 'x' (jansson makes
 * those with JSON_ALLOW_NUL, or json_stringn) */
static void field_nul(const char *key, const char *s, const char *want_detail)
{
    json_t *rec = unit_json(BASE);
    char *v = apr_pstrcat(unit_pool, s, "?x", NULL);

    v[strlen(s)] = '\0';
    json_object_set_new(rec, key, json_stringn(v, strlen(s) + 2));
    parse_bad(rec, key, want_detail);
}

static char *repeat(const char *s, int n)
{
    char *out = apr_pstrdup(unit_pool, "");
    int i;
    for (i = 0; i < n; ++i) {
        out = apr_pstrcat(unit_pool, out, s, NULL);
    }
    return out;
}

static json_t *jstr(const char *s)
{
    return unit_json_own(json_string(s));
}

static apr_int64_t ts(const char *s)
{
    apr_int64_t us = -42;
    ck_assert_msg(ingest_rfc3339_parse(s, &us) == APR_SUCCESS, "refused: %s", s);
    return us;
}

static void ts_bad(const char *s)
{
    apr_int64_t us = -42;
    ck_assert_msg(ingest_rfc3339_parse(s, &us) == APR_EINVAL, "accepted: \"%s\"", s);
    ck_assert_int_eq(us, -42);
}

static apr_int64_t date(const char *s)
{
    apr_int64_t d = -42;
    ck_assert_msg(ingest_date_parse(s, &d) == APR_SUCCESS, "refused: %s", s);
    return d;
}

static ingest_jobmeta_day_t *day_at(apr_array_header_t *days, int i)
{
    return &APR_ARRAY_IDX(days, i, ingest_jobmeta_day_t);
}

/* the days' costs and GPU hours summed in order, as a consumer would */
static void days_sum(apr_array_header_t *days, double *cost, double *gpu)
{
    int i;
    *cost = 0;
    *gpu = 0;
    for (i = 0; i < days->nelts; ++i) {
        ck_assert_msg(day_at(days, i)->cost_usd >= 0 && day_at(days, i)->gpu_hours >= 0, "day %d negative",
                      i);
        if (i) {
            ck_assert_int_eq(day_at(days, i)->day, day_at(days, i - 1)->day + 1);
        }
        *cost += day_at(days, i)->cost_usd;
        *gpu += day_at(days, i)->gpu_hours;
    }
}

static apr_array_header_t *days_of(const char *started, const char *ended, double cost, double gpu)
{
    ingest_jobmeta_t *m = apr_pcalloc(unit_pool, sizeof(*m));
    apr_array_header_t *days;
    double sc, sg;

    m->started_us = ts(started);
    if (ended) {
        m->ended_us = ts(ended);
        m->has_ended = 1;
    }
    if (gpu >= 0) {
        m->gpu_hours = gpu;
        m->has_gpu_hours = 1;
    }
    m->cost_usd = cost;
    days = ingest_jobmeta_days(unit_pool, m);
    ck_assert_ptr_nonnull(days);
    ck_assert_int_ge(days->nelts, 1);
    days_sum(days, &sc, &sg);
    ck_assert_msg(sc == cost, "costs sum to %.17g, not %.17g", sc, cost);
    ck_assert_msg(sg == (gpu >= 0 ? gpu : 0), "GPU hours sum to %.17g, not %.17g", sg, gpu);
    return days;
}

/* ------------------------------------------------------------------ the record */

START_TEST(parse_good)
{
    ingest_jobmeta_t *m = parse_ok(unit_json(BASE));

    ck_assert_str_eq(m->job_id, "mlj-2026-0001");
    ck_assert_str_eq(m->team, "nlp-research");
    ck_assert_str_eq(m->model_name, "llama-3-8b-finetune");
    ck_assert_str_eq(m->gpu_type, "A100-80GB");
    ck_assert_str_eq(m->provider, "gcp");
    ck_assert_str_eq(m->status, "completed");
    ck_assert_int_eq(m->started_us, JAN3_22);
    ck_assert_int_eq(m->has_ended, 1);
    ck_assert_int_eq(m->ended_us, JAN3_22 + 6 * US_PER_HOUR);
    ck_assert_int_eq(m->has_gpu_hours, 1);
    ck_assert_double_eq(m->gpu_hours, 48);
    ck_assert_double_eq(m->cost_usd, 100);

    /* optional fields absent, or null, which is the same */
    m = parse_ok(unit_json("{\"job_id\":\"j\",\"team\":\"t\",\"model_name\":\"m\",\"gpu_type\":\"g\","
                           "\"provider\":\"p\",\"started_at\":\"2026-01-03T22:00:00Z\",\"cost_usd\":0.5}"));
    ck_assert_ptr_null(m->status);
    ck_assert_int_eq(m->has_ended, 0);
    ck_assert_int_eq(m->has_gpu_hours, 0);
    ck_assert_double_eq(m->cost_usd, 0.5);
    m = parse_ok(unit_json("{\"job_id\":\"j\",\"team\":\"t\",\"model_name\":\"m\",\"gpu_type\":\"g\","
                           "\"provider\":\"p\",\"started_at\":\"2026-01-03T22:00:00Z\",\"cost_usd\":1,"
                           "\"status\":null,\"ended_at\":null,\"gpu_hours\":null}"));
    ck_assert_ptr_null(m->status);
    ck_assert_int_eq(m->has_ended, 0);
    ck_assert_int_eq(m->has_gpu_hours, 0);

    /* every status */
    ck_assert_str_eq(parse_ok(rec_with("status", "\"queued\""))->status, "queued");
    ck_assert_str_eq(parse_ok(rec_with("status", "\"running\""))->status, "running");
    ck_assert_str_eq(parse_ok(rec_with("status", "\"failed\""))->status, "failed");
    ck_assert_str_eq(parse_ok(rec_with("status", "\"cancelled\""))->status, "cancelled");

    /* unknown fields are ignored */
    m = parse_ok(rec_with("gpu_count", "8"));
    ck_assert_str_eq(m->job_id, "mlj-2026-0001");

    /* numbers: integers, reals, 0, -0 is 0 */
    ck_assert_double_eq(parse_ok(rec_with("cost_usd", "0"))->cost_usd, 0);
    ck_assert_double_eq(parse_ok(rec_with("cost_usd", "12.75"))->cost_usd, 12.75);
    ck_assert_double_eq(parse_ok(rec_with("cost_usd", "1e3"))->cost_usd, 1000);
    ck_assert_double_eq(parse_ok(rec_with("gpu_hours", "0.25"))->gpu_hours, 0.25);
    ck_assert_int_eq(signbit(parse_ok(rec_with("cost_usd", "-0.0"))->cost_usd), 0);
    ck_assert_int_eq(signbit(parse_ok(rec_with("gpu_hours", "-0"))->gpu_hours), 0);

    /* ended_at == started_at is fine; the offset is applied */
    m = parse_ok(rec_with("ended_at", "\"2026-01-03T22:00:00Z\""));
    ck_assert_int_eq(m->ended_us, m->started_us);
    m = parse_ok(rec_with("started_at", "\"2026-01-04T03:30:00+05:30\""));
    ck_assert_int_eq(m->started_us, JAN3_22);

    /* strings up to the limit, in bytes: 50 two-byte characters are 100 bytes */
    ck_assert_str_eq(
        parse_ok(rec_with("job_id", apr_psprintf(unit_pool, "\"%s\"", repeat("x", 100))))->job_id,
        repeat("x", 100));
    ck_assert_str_eq(
        parse_ok(rec_with("team", apr_psprintf(unit_pool, "\"%s\"", repeat("\xC3\xA9", 50))))->team,
        repeat("\xC3\xA9", 50));
    ck_assert_str_eq(
        parse_ok(rec_with("model_name", apr_psprintf(unit_pool, "\"%s\"", repeat("m", 200))))->model_name,
        repeat("m", 200));
    ck_assert_str_eq(
        parse_ok(rec_with("gpu_type", apr_psprintf(unit_pool, "\"%s\"", repeat("g", 100))))->gpu_type,
        repeat("g", 100));
    ck_assert_str_eq(
        parse_ok(rec_with("provider", apr_psprintf(unit_pool, "\"%s\"", repeat("p", 100))))->provider,
        repeat("p", 100));
    /* spaces are not control characters */
    ck_assert_str_eq(parse_ok(rec_with("team", "\" a b \""))->team, " a b ");
}
END_TEST

START_TEST(parse_not_object)
{
    parse_bad(unit_json("[]"), NULL, "the record must be a JSON object");
    parse_bad(unit_json("\"mlj-1\""), NULL, "the record must be a JSON object");
    parse_bad(unit_json("null"), NULL, "the record must be a JSON object");
    parse_bad(unit_json("42"), NULL, "the record must be a JSON object");
    parse_bad(NULL, NULL, "the record must be a JSON object");
}
END_TEST

START_TEST(parse_required)
{
    static const char *const required[] = {"job_id",   "team",       "model_name", "gpu_type",
                                           "provider", "started_at", "cost_usd",   NULL};
    int i;
    for (i = 0; required[i]; ++i) {
        field_bad(required[i], NULL, "is required");
        field_bad(required[i], "null", "is required");
    }
    parse_bad(unit_json("{}"), "job_id", "is required");
}
END_TEST

START_TEST(parse_strings)
{
    static const char *const names[] = {"job_id", "team", "model_name", "gpu_type", "provider", NULL};
    const char *too_long, *want;
    json_t *rec;
    int i, max;

    for (i = 0; names[i]; ++i) {
        max = strcmp(names[i], "model_name") ? 100 : 200;
        want = max == 100 ? D_STRING100 : D_STRING200;
        too_long = apr_psprintf(unit_pool, "\"%s\"", repeat("y", max + 1));
        field_bad(names[i], "\"\"", want);
        field_bad(names[i], too_long, want);
        field_bad(names[i], "42", want);
        field_bad(names[i], "true", want);
        field_bad(names[i], "[\"a\"]", want);
        field_bad(names[i], "{}", want);
        /* C0, DEL, C1, NUL */
        field_bad(names[i], "\"a\\u0001b\"", D_CONTROL);
        field_bad(names[i], "\"tab\\there\"", D_CONTROL);
        field_bad(names[i], "\"line\\n\"", D_CONTROL);
        field_bad(names[i], "\"del\\u007f\"", D_CONTROL);
        field_bad(names[i], "\"c1\\u0085\"", D_CONTROL);
        rec = unit_json(BASE);
        json_object_set_new(rec, names[i], json_stringn("a\0b", 3));
        parse_bad(rec, names[i], D_CONTROL);
        /* not UTF-8 (jansson's parser would not make one; a caller may) */
        rec = unit_json(BASE);
        json_object_set_new(rec, names[i], json_string_nocheck("caf\xE9"));
        parse_bad(rec, names[i], "must be valid UTF-8");
    }
    /* bytes, not characters: 51 two-byte characters are 102 bytes */
    field_bad("team", apr_psprintf(unit_pool, "\"%s\"", repeat("\xC3\xA9", 51)), D_STRING100);
    /* model_name's limit is its own */
    parse_ok(rec_with("model_name", apr_psprintf(unit_pool, "\"%s\"", repeat("m", 101))));
}
END_TEST

START_TEST(parse_status)
{
    field_bad("status", "\"done\"", D_STATUS);
    field_bad("status", "\"Completed\"", D_STATUS);
    field_bad("status", "\"completed \"", D_STATUS);
    field_bad("status", "\"\"", D_STATUS);
    field_bad("status", "\"pending\"", D_STATUS);
    field_bad("status", "1", D_STATUS);
    field_bad("status", "[\"completed\"]", D_STATUS);
    /* a NUL would make strcmp see "completed" */
    field_nul("status", "completed", D_STATUS);
}
END_TEST

START_TEST(parse_times)
{
    field_bad("started_at", "\"2026-01-03\"", D_TIME);
    field_bad("started_at", "\"2026-01-03T22:00:00\"", D_TIME);
    field_bad("started_at", "\"yesterday\"", D_TIME);
    field_bad("started_at", "1767477600", D_TIME);
    field_bad("started_at", "\"2026-02-29T00:00:00Z\"", D_TIME);
    field_nul("started_at", "2026-01-03T22:00:00Z", D_TIME);
    field_nul("ended_at", "2026-01-04T04:00:00Z", D_TIME);
    field_bad("ended_at", "\"2026-01-04 04:00\"", D_TIME);
    field_bad("ended_at", "true", D_TIME);
    field_bad("ended_at", "\"2026-01-03T21:59:59.999999Z\"", "must not be before started_at");
    /* the same instant written with another offset is not before */
    parse_ok(rec_with("ended_at", "\"2026-01-03T14:00:00-08:00\""));
    field_bad("ended_at", "\"2026-01-03T13:59:59-08:00\"", "must not be before started_at");

    /* at most 3660 days: 2026-01-03T22:00Z + 3660 days is 2036-01-11T22:00Z */
    parse_ok(rec_with("ended_at", "\"2036-01-11T22:00:00Z\""));
    field_bad("ended_at", "\"2036-01-11T22:00:00.000001Z\"", "must be at most 3660 days after started_at");
    field_bad("ended_at", "\"9999-12-31T23:59:59Z\"", "must be at most 3660 days after started_at");
}
END_TEST

START_TEST(parse_numbers)
{
    static const char *const names[] = {"gpu_hours", "cost_usd", NULL};
    int i;
    for (i = 0; names[i]; ++i) {
        field_bad(names[i], "-1", D_NUMBER);
        field_bad(names[i], "-0.01", D_NUMBER);
        field_bad(names[i], "-1e-300", D_NUMBER);
        field_bad(names[i], "\"12.5\"", D_NUMBER);
        field_bad(names[i], "true", D_NUMBER);
        field_bad(names[i], "[1]", D_NUMBER);
        field_bad(names[i], "{}", D_NUMBER);
    }
}
END_TEST

START_TEST(parse_order)
{
    /* several wrong fields: the first in the schema's order is reported */
    parse_bad(unit_json("{\"cost_usd\":-1,\"team\":\"\",\"job_id\":1}"), "job_id", D_STRING100);
    parse_bad(unit_json("{\"job_id\":\"j\",\"cost_usd\":-1,\"provider\":3}"), "team", "is required");
    parse_bad(unit_json("{\"job_id\":\"j\",\"team\":\"t\",\"model_name\":\"m\",\"gpu_type\":\"g\","
                        "\"provider\":\"\",\"status\":\"x\"}"),
              "provider", D_STRING100);
    parse_bad(unit_json("{\"job_id\":\"j\",\"team\":\"t\",\"model_name\":\"m\",\"gpu_type\":\"g\","
                        "\"provider\":\"p\",\"status\":\"x\",\"started_at\":\"x\"}"),
              "status", D_STATUS);
    parse_bad(unit_json("{\"job_id\":\"j\",\"team\":\"t\",\"model_name\":\"m\",\"gpu_type\":\"g\","
                        "\"provider\":\"p\",\"ended_at\":\"x\",\"gpu_hours\":-1}"),
              "started_at", "is required");
    parse_bad(unit_json("{\"job_id\":\"j\",\"team\":\"t\",\"model_name\":\"m\",\"gpu_type\":\"g\","
                        "\"provider\":\"p\",\"started_at\":\"2026-01-03T22:00:00Z\",\"ended_at\":\"x\","
                        "\"gpu_hours\":-1}"),
              "ended_at", D_TIME);
    parse_bad(unit_json("{\"job_id\":\"j\",\"team\":\"t\",\"model_name\":\"m\",\"gpu_type\":\"g\","
                        "\"provider\":\"p\",\"started_at\":\"2026-01-03T22:00:00Z\",\"gpu_hours\":-1}"),
              "gpu_hours", D_NUMBER);
    parse_bad(unit_json("{\"job_id\":\"j\",\"team\":\"t\",\"model_name\":\"m\",\"gpu_type\":\"g\","
                        "\"provider\":\"p\",\"started_at\":\"2026-01-03T22:00:00Z\",\"gpu_hours\":1}"),
              "cost_usd", "is required");
}
END_TEST

/* ------------------------------------------------------------------ RFC 3339 */

START_TEST(rfc3339_good)
{
    ck_assert_int_eq(ts("1970-01-01T00:00:00Z"), 0);
    ck_assert_int_eq(ts("2026-01-03T22:00:00Z"), JAN3_22);
    ck_assert_int_eq(ts("2026-01-03t22:00:00z"), JAN3_22);
    ck_assert_int_eq(ts("2026-01-03 22:00:00Z"), JAN3_22);
    ck_assert_int_eq(ts("2026-01-03T22:00:00+00:00"), JAN3_22);
    ck_assert_int_eq(ts("2026-01-03T22:00:00-00:00"), JAN3_22);
    ck_assert_int_eq(ts("2026-01-04T03:30:00+05:30"), JAN3_22);
    ck_assert_int_eq(ts("2026-01-03T14:00:00-08:00"), JAN3_22);
    ck_assert_int_eq(ts("2026-01-04T21:59:00+23:59"), JAN3_22);
    ck_assert_int_eq(ts("2026-01-02T22:01:00-23:59"), JAN3_22);
    /* fractions: 1..9 digits, truncated to the microsecond */
    ck_assert_int_eq(ts("2026-01-03T22:00:00.5Z"), JAN3_22 + 500000);
    ck_assert_int_eq(ts("2026-01-03T22:00:00.000001Z"), JAN3_22 + 1);
    ck_assert_int_eq(ts("2026-01-03T22:00:00.123456Z"), JAN3_22 + 123456);
    ck_assert_int_eq(ts("2026-01-03T22:00:00.1234567Z"), JAN3_22 + 123456);
    ck_assert_int_eq(ts("2026-01-03T22:00:00.999999999Z"), JAN3_22 + 999999);
    ck_assert_int_eq(ts("2026-01-03T22:00:00.0000009Z"), JAN3_22);
    ck_assert_int_eq(ts("2026-01-04T03:30:00.25+05:30"), JAN3_22 + 250000);
    /* before the epoch */
    ck_assert_int_eq(ts("1969-12-31T23:59:59.999999Z"), -1);
    ck_assert_int_eq(ts("1969-07-20T20:17:40Z"), -14182940000000LL);
    ck_assert_int_eq(ts("1970-01-01T00:00:00+01:00"), -3600000000LL);
    /* the ends of the range */
    ck_assert_int_eq(ts("0001-01-01T00:00:00Z"), -62135596800000000LL);
    ck_assert_int_eq(ts("9999-12-31T23:59:59.999999Z"), 253402300799999999LL);
    /* Feb 29 in leap years, also the centuries divisible by 400 */
    ck_assert_int_eq(ts("2024-02-29T12:00:00Z") + US_PER_DAY, ts("2024-03-01T12:00:00Z"));
    ck_assert_int_eq(ts("2000-02-29T00:00:00Z"), 951782400000000LL);
    ts("1600-02-29T00:00:00Z");
    ck_assert_int_eq(ts("2023-02-28T00:00:00Z") + US_PER_DAY, ts("2023-03-01T00:00:00Z"));
    /* the last of each month */
    ts("2026-01-31T23:59:59Z");
    ts("2026-04-30T00:00:00Z");
    ts("2026-12-31T00:00:00Z");
}
END_TEST

START_TEST(rfc3339_bad)
{
    static const char *const bad[] = {
        "", "now", "2026", "2026-01-03", "2026-01-03T", "2026-01-03T22:00Z", "2026-01-03T22:00:00",
        "2026-01-03T22:00:00 ", /* no offset */
        "2026-01-03T22:00:00Z ", "2026-01-03T22:00:00Zx", "2026-01-03T22:00:00ZZ", " 2026-01-03T22:00:00Z",
        /* in range as written, out of it in UTC (found by fuzz_records) */
        "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01",
        "2026-01-03T22:00:00+05:30x", "2026-01-03T22:00:00+0530", "2026-01-03T22:00:00+05",
        "2026-01-03T22:00:00+5:30", "2026-01-03T22:00:00+24:00", "2026-01-03T22:00:00+05:60",
        "2026-01-03T22:00:00 +05:30", "2026-01-03T22:00:00UTC", "2026-01-03T22:00:00GMT",
        "2026-01-03X22:00:00Z", "2026-01-03_22:00:00Z", "2026-01-03T22:00:00.Z",
        "2026-01-03T22:00:00.1234567890Z", "2026-01-03T22:00:00,5Z", "2026-01-03T22:00:00.5",
        "2026-1-03T22:00:00Z", "2026-01-3T22:00:00Z", "26-01-03T22:00:00Z", "+2026-01-03T22:00:00Z",
        "02026-01-03T22:00:00Z", "2026/01/03T22:00:00Z", "2026-01-03T2:00:00Z", "2026-01-03T22:0:00Z",
        "2026-01-03T22:00:0Z", "2026-01-03T22-00-00Z", "2026-01-03T-1:00:00Z",
        /* calendar */
        "2026-00-10T00:00:00Z", "2026-13-10T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z",
        "2026-04-31T00:00:00Z", "2026-06-31T00:00:00Z", "2026-02-29T00:00:00Z", "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2024-02-30T00:00:00Z", "0000-01-01T00:00:00Z",
        /* clock */
        "2026-01-03T24:00:00Z", "2026-01-03T23:60:00Z", "2026-01-03T23:59:60Z", "2026-01-03T99:00:00Z", NULL};
    int i;
    for (i = 0; bad[i]; ++i) {
        ts_bad(bad[i]);
    }
    ts_bad(NULL);
    /* every prefix of a good one is refused, so nothing reads past the end */
    {
        const char *good = "2026-01-04T03:30:00.250+05:30";
        for (i = 0; i < (int)strlen(good); ++i) {
            ts_bad(apr_pstrndup(unit_pool, good, i));
        }
        ts(good);
    }
}
END_TEST

START_TEST(rfc3339_format)
{
    apr_pool_t *p = unit_pool;
    ck_assert_str_eq(ingest_rfc3339_format(p, 0), "1970-01-01T00:00:00.000000Z");
    ck_assert_str_eq(ingest_rfc3339_format(p, JAN3_22), "2026-01-03T22:00:00.000000Z");
    ck_assert_str_eq(ingest_rfc3339_format(p, JAN3_22 + 123456), "2026-01-03T22:00:00.123456Z");
    ck_assert_str_eq(ingest_rfc3339_format(p, -1), "1969-12-31T23:59:59.999999Z");
    ck_assert_str_eq(ingest_rfc3339_format(p, -US_PER_DAY), "1969-12-31T00:00:00.000000Z");
    ck_assert_str_eq(ingest_rfc3339_format(p, -14182940000000LL), "1969-07-20T20:17:40.000000Z");
    ck_assert_str_eq(ingest_rfc3339_format(p, ts("2026-01-08T19:30:00.5-08:00")),
                     "2026-01-09T03:30:00.500000Z");
    ck_assert_str_eq(ingest_rfc3339_format(p, -62135596800000000LL), "0001-01-01T00:00:00.000000Z");
    ck_assert_str_eq(ingest_rfc3339_format(p, 253402300799999999LL), "9999-12-31T23:59:59.999999Z");
    /* and back */
    ck_assert_int_eq(ts(ingest_rfc3339_format(p, 951782399999999LL)), 951782399999999LL);
    ck_assert_int_eq(ts(ingest_rfc3339_format(p, -62135596799999999LL)), -62135596799999999LL);
}
END_TEST

/* ------------------------------------------------------------------ dates */

START_TEST(date_parse_format)
{
    static const char *const bad[] = {
        "",           "2026-1-01",  "2026-01-1",  "2026-01-01x",          "2026-01-01 ", " 2026-01-01",
        "2026-02-29", "2026-13-01", "2026-00-01", "2026-01-00",           "2026-04-31",  "1900-02-29",
        "0000-01-01", "2026/01/01", "20260101",   "2026-01-01T00:00:00Z", NULL};
    char want[48];
    apr_int64_t d = -42, y;
    apr_pool_t *sub;
    int i, m, md;
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    ck_assert_int_eq(date("1970-01-01"), 0);
    ck_assert_int_eq(date("1969-12-31"), -1);
    ck_assert_int_eq(date("2026-01-03"), JAN3);
    ck_assert_int_eq(date("2000-03-01"), 11017);
    ck_assert_int_eq(date("1600-02-29"), -135081);
    ck_assert_int_eq(date("0001-01-01"), -719162);
    ck_assert_int_eq(date("9999-12-31"), 2932896);
    ck_assert_str_eq(ingest_date_format(unit_pool, 0), "1970-01-01");
    ck_assert_str_eq(ingest_date_format(unit_pool, -1), "1969-12-31");
    ck_assert_str_eq(ingest_date_format(unit_pool, JAN3), "2026-01-03");
    ck_assert_str_eq(ingest_date_format(unit_pool, -135081), "1600-02-29");
    ck_assert_str_eq(ingest_date_format(unit_pool, -719162), "0001-01-01");
    ck_assert_str_eq(ingest_date_format(unit_pool, 2932896), "9999-12-31");
    for (i = 0; bad[i]; ++i) {
        ck_assert_msg(ingest_date_parse(bad[i], &d) == APR_EINVAL, "accepted \"%s\"", bad[i]);
        ck_assert_int_eq(d, -42);
    }
    ck_assert_int_eq(ingest_date_parse(NULL, &d), APR_EINVAL);

    /* Years 1..9999 counted by hand, day by day: parse and format agree
     * with the count and with each other, also before 1970. Every day of
     * the years near the ends, the epoch and the centuries 1900..2100 and
     * 2400; the first and last of each month elsewhere (valgrind runs this
     * too). */
    ck_assert_int_eq(apr_pool_create(&sub, unit_pool), APR_SUCCESS);
    d = -719162;
    for (y = 1; y <= 9999; ++y) {
        for (m = 1; m <= 12; ++m) {
            md = dim[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
            for (i = 1; i <= md; ++i, ++d) {
                apr_int64_t got = -42;
                if (i != 1 && i != md && y > 4 && (y < 1896 || y > 2104) && (y < 2396 || y > 2404)
                    && y < 9996) {
                    continue;
                }
                snprintf(want, sizeof(want), "%04d-%02d-%02d", (int)y, m, i);
                if (ingest_date_parse(want, &got) != APR_SUCCESS || got != d) {
                    ck_abort_msg("%s parsed to %lld, want %lld", want, (long long)got, (long long)d);
                }
                if (strcmp(ingest_date_format(sub, d), want)) {
                    ck_abort_msg("day %lld formatted as %s, want %s", (long long)d,
                                 ingest_date_format(sub, d), want);
                }
                apr_pool_clear(sub);
            }
            /* one past the month's end is refused */
            snprintf(want, sizeof(want), "%04d-%02d-%02d", (int)y, m, md + 1);
            if (ingest_date_parse(want, &d) == APR_SUCCESS) {
                ck_abort_msg("accepted %s", want);
            }
        }
    }
    ck_assert_int_eq(d, 2932897);
    apr_pool_destroy(sub);
}
END_TEST

/* ------------------------------------------------------------------ cost per day */

START_TEST(days_worked_example)
{
    /* 2 of the 6 hours are on Jan 3, 4 on Jan 4 */
    apr_array_header_t *days = days_of("2026-01-03T22:00:00Z", "2026-01-04T04:00:00Z", 100, 48);

    ck_assert_int_eq(days->nelts, 2);
    ck_assert_int_eq(day_at(days, 0)->day, JAN3);
    ck_assert_int_eq(day_at(days, 1)->day, JAN3 + 1);
    ck_assert_double_eq_tol(day_at(days, 0)->cost_usd, 100.0 / 3, 1e-12);
    ck_assert_double_eq_tol(day_at(days, 1)->cost_usd, 200.0 / 3, 1e-12);
    /* the remainder, exactly */
    ck_assert_double_eq(day_at(days, 1)->cost_usd, 100 - day_at(days, 0)->cost_usd);
    ck_assert_double_eq(day_at(days, 0)->cost_usd + day_at(days, 1)->cost_usd, 100);
    ck_assert_double_eq_tol(day_at(days, 0)->gpu_hours, 16, 1e-12);
    ck_assert_double_eq_tol(day_at(days, 1)->gpu_hours, 32, 1e-12);
    ck_assert_double_eq(day_at(days, 0)->gpu_hours + day_at(days, 1)->gpu_hours, 48);
}
END_TEST

START_TEST(days_three)
{
    /* 6 h on Jan 1, 24 h on Jan 2, 6 h on Jan 3 */
    apr_array_header_t *days = days_of("2026-01-01T18:00:00Z", "2026-01-03T06:00:00Z", 90, 288);

    ck_assert_int_eq(days->nelts, 3);
    ck_assert_int_eq(day_at(days, 0)->day, date("2026-01-01"));
    ck_assert_int_eq(day_at(days, 2)->day, date("2026-01-03"));
    ck_assert_double_eq_tol(day_at(days, 0)->cost_usd, 15, 1e-12);
    ck_assert_double_eq_tol(day_at(days, 1)->cost_usd, 60, 1e-12);
    ck_assert_double_eq_tol(day_at(days, 2)->cost_usd, 15, 1e-12);
    ck_assert_double_eq_tol(day_at(days, 0)->gpu_hours, 48, 1e-12);
    ck_assert_double_eq_tol(day_at(days, 1)->gpu_hours, 192, 1e-12);
    ck_assert_double_eq_tol(day_at(days, 2)->gpu_hours, 48, 1e-12);

    /* a whole day in the middle, with a minute on either side */
    days = days_of("2026-01-01T23:59:00Z", "2026-01-03T00:01:00Z", 1442, -1);
    ck_assert_int_eq(days->nelts, 3);
    ck_assert_double_eq_tol(day_at(days, 0)->cost_usd, 1, 1e-9);
    ck_assert_double_eq_tol(day_at(days, 1)->cost_usd, 1440, 1e-9);
    ck_assert_double_eq_tol(day_at(days, 2)->cost_usd, 1, 1e-9);
    /* no gpu_hours: 0 on every day */
    ck_assert_double_eq(day_at(days, 0)->gpu_hours, 0);
    ck_assert_double_eq(day_at(days, 1)->gpu_hours, 0);
    ck_assert_double_eq(day_at(days, 2)->gpu_hours, 0);
}
END_TEST

START_TEST(days_offset)
{
    /* Jan 4 in Kolkata, Jan 3 in UTC */
    apr_array_header_t *days = days_of("2026-01-04T02:00:00+05:30", "2026-01-04T04:00:00+05:30", 7.5, 2);

    ck_assert_int_eq(days->nelts, 1);
    ck_assert_int_eq(day_at(days, 0)->day, JAN3);
    ck_assert_double_eq(day_at(days, 0)->cost_usd, 7.5);
    ck_assert_double_eq(day_at(days, 0)->gpu_hours, 2);

    /* Jan 8 in California, Jan 9 in UTC */
    days = days_of("2026-01-08T19:30:00-08:00", "2026-01-08T22:30:00-08:00", 1.59, 3);
    ck_assert_int_eq(days->nelts, 1);
    ck_assert_int_eq(day_at(days, 0)->day, date("2026-01-09"));

    /* one local day, two UTC days: 15:00-17:00 -08:00 is 23:00-01:00 UTC */
    days = days_of("2026-01-08T15:00:00-08:00", "2026-01-08T17:00:00-08:00", 10, 2);
    ck_assert_int_eq(days->nelts, 2);
    ck_assert_int_eq(day_at(days, 0)->day, date("2026-01-08"));
    ck_assert_double_eq_tol(day_at(days, 0)->cost_usd, 5, 1e-12);
    ck_assert_double_eq_tol(day_at(days, 1)->cost_usd, 5, 1e-12);
}
END_TEST

START_TEST(days_one)
{
    /* no ended_at: the day of started_at */
    apr_array_header_t *days = days_of("2026-01-14T06:00:00Z", NULL, 380.8, 80);
    ck_assert_int_eq(days->nelts, 1);
    ck_assert_int_eq(day_at(days, 0)->day, date("2026-01-14"));
    ck_assert_double_eq(day_at(days, 0)->cost_usd, 380.8);
    ck_assert_double_eq(day_at(days, 0)->gpu_hours, 80);

    days = days_of("2026-01-14T23:59:59.999999Z", NULL, 1, -1);
    ck_assert_int_eq(days->nelts, 1);
    ck_assert_int_eq(day_at(days, 0)->day, date("2026-01-14"));
    ck_assert_double_eq(day_at(days, 0)->gpu_hours, 0);

    /* ended == started */
    days = days_of("2026-01-03T23:59:59Z", "2026-01-03T23:59:59Z", 0.1, 0.3);
    ck_assert_int_eq(days->nelts, 1);
    ck_assert_int_eq(day_at(days, 0)->day, JAN3);
    ck_assert_double_eq(day_at(days, 0)->cost_usd, 0.1);
    ck_assert_double_eq(day_at(days, 0)->gpu_hours, 0.3);

    /* before 1970: the day is floored, not truncated */
    days = days_of("1969-12-31T12:00:00Z", NULL, 1, -1);
    ck_assert_int_eq(day_at(days, 0)->day, -1);
    days = days_of("1969-12-31T23:00:00Z", "1970-01-01T01:00:00Z", 2, -1);
    ck_assert_int_eq(days->nelts, 2);
    ck_assert_int_eq(day_at(days, 0)->day, -1);
    ck_assert_int_eq(day_at(days, 1)->day, 0);
    ck_assert_double_eq_tol(day_at(days, 0)->cost_usd, 1, 1e-12);

    /* zero cost */
    days = days_of("2026-01-03T22:00:00Z", "2026-01-05T22:00:00Z", 0, 0);
    ck_assert_int_eq(days->nelts, 3);
    ck_assert_double_eq(day_at(days, 0)->cost_usd, 0);
    ck_assert_double_eq(day_at(days, 1)->cost_usd, 0);
    ck_assert_double_eq(day_at(days, 2)->cost_usd, 0);
}
END_TEST

START_TEST(days_half_open)
{
    /* ending at midnight: nothing on the day after */
    apr_array_header_t *days = days_of("2026-01-03T22:00:00Z", "2026-01-04T00:00:00Z", 12.34, 2);
    ck_assert_int_eq(days->nelts, 1);
    ck_assert_int_eq(day_at(days, 0)->day, JAN3);
    ck_assert_double_eq(day_at(days, 0)->cost_usd, 12.34);
    ck_assert_double_eq(day_at(days, 0)->gpu_hours, 2);

    /* midnight to midnight: one day */
    days = days_of("2026-01-04T00:00:00Z", "2026-01-05T00:00:00Z", 24, 24);
    ck_assert_int_eq(days->nelts, 1);
    ck_assert_int_eq(day_at(days, 0)->day, JAN3 + 1);

    /* a microsecond past midnight is on the day after */
    days = days_of("2026-01-03T22:00:00Z", "2026-01-04T00:00:00.000001Z", 7200000001.0, -1);
    ck_assert_int_eq(days->nelts, 2);
    ck_assert_double_eq_tol(day_at(days, 0)->cost_usd, 7200000000.0, 1e-3);
    ck_assert_double_eq_tol(day_at(days, 1)->cost_usd, 1, 1e-3);

    /* starting at midnight: nothing on the day before */
    days = days_of("2026-01-04T00:00:00Z", "2026-01-04T06:00:00+05:30", 1, -1);
    ck_assert_int_eq(days->nelts, 1);
    ck_assert_int_eq(day_at(days, 0)->day, JAN3 + 1);
}
END_TEST

START_TEST(days_long_and_many)
{
    apr_array_header_t *days;
    ingest_jobmeta_t m;
    apr_uint64_t x = 88172645463325252ULL;
    apr_pool_t *sub;
    json_t *rec;
    double sc, sg;
    int i;

    /* the longest job: 3660 days, a microsecond of them on the first day */
    days = days_of("2026-01-01T23:59:59.999999Z", "2036-01-09T23:59:59.999999Z", 1, 3660);
    ck_assert_int_eq(days->nelts, 3661);
    ck_assert_int_eq(day_at(days, 0)->day, date("2026-01-01"));
    ck_assert_int_eq(day_at(days, 3660)->day, date("2036-01-09"));
    ck_assert_double_eq_tol(day_at(days, 0)->cost_usd, 1.0 / 3660 / 86400e6, 1e-16);
    ck_assert_double_eq_tol(day_at(days, 1)->cost_usd, 1.0 / 3660, 1e-15);
    ck_assert_double_eq_tol(day_at(days, 1829)->cost_usd, 1.0 / 3660, 1e-15);
    ck_assert_double_eq_tol(day_at(days, 3660)->cost_usd, 1.0 / 3660 - 1.0 / 3660 / 86400e6, 1e-15);
    ck_assert_double_eq_tol(day_at(days, 1829)->gpu_hours, 1, 1e-12);
    /* which ingest_jobmeta_parse takes */
    rec = rec_with("started_at", "\"2026-01-01T23:59:59.999999Z\"");
    json_object_set_new(rec, "ended_at", json_string("2036-01-09T23:59:59.999999Z"));
    parse_ok(rec);

    /* jobs of every length and price: in day order, none negative, summing
     * exactly to the total (days_sum, days_of) */
    memset(&m, 0, sizeof(m));
    ck_assert_int_eq(apr_pool_create(&sub, unit_pool), APR_SUCCESS);
    for (i = 0; i < 10000; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        m.started_us = JAN3_22 + (apr_int64_t)(x % (400 * US_PER_DAY)) - 200 * US_PER_DAY;
        m.has_ended = 1;
        /* mostly short jobs, some very long */
        m.ended_us = m.started_us + (apr_int64_t)((x >> 20) % ((i % 100 ? 5 : 3660) * US_PER_DAY));
        m.cost_usd = (double)(x % 1000003) / 100.0 * (i % 3 ? 1 : 1e-6 * (double)(i % 7 + 1));
        m.gpu_hours = (double)((x >> 32) % 100000) / 7.0;
        m.has_gpu_hours = i % 5 != 0;
        days = ingest_jobmeta_days(sub, &m);
        ck_assert_int_eq(day_at(days, 0)->day, m.started_us / US_PER_DAY - (m.started_us % US_PER_DAY < 0));
        days_sum(days, &sc, &sg);
        if (sc != m.cost_usd || sg != (m.has_gpu_hours ? m.gpu_hours : 0)) {
            ck_abort_msg("case %d: %d days sum to %.17g and %.17g, want %.17g and %.17g", i, days->nelts, sc,
                         sg, m.cost_usd, m.gpu_hours);
        }
        apr_pool_clear(sub);
    }
    apr_pool_destroy(sub);
}
END_TEST

/* ------------------------------------------------------------------ the row */

static void row_keys(json_t *row, const char *const *keys)
{
    int n = 0;
    for (; keys[n]; ++n) {
        ck_assert_msg(json_object_get(row, keys[n]) != NULL, "no %s", keys[n]);
    }
    ck_assert_int_eq(json_object_size(row), n);
}

static const char *str_member(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_string(v), "%s is not a string", key);
    return json_string_value(v);
}

START_TEST(row_valid)
{
    static const char *const keys[] = {"idx",       "ok",       "job_id", "team",       "model_name",
                                       "gpu_type",  "provider", "status", "started_at", "ended_at",
                                       "gpu_hours", "cost_usd", "days",   NULL};
    json_t *row = unit_json_own(ingest_jobmeta_row(unit_pool, 7, unit_json(BASE)));
    json_t *days, *day;

    ck_assert_ptr_nonnull(row);
    row_keys(row, keys);
    ck_assert_int_eq(json_integer_value(json_object_get(row, "idx")), 7);
    ck_assert(json_is_true(json_object_get(row, "ok")));
    ck_assert_str_eq(str_member(row, "job_id"), "mlj-2026-0001");
    ck_assert_str_eq(str_member(row, "team"), "nlp-research");
    ck_assert_str_eq(str_member(row, "model_name"), "llama-3-8b-finetune");
    ck_assert_str_eq(str_member(row, "gpu_type"), "A100-80GB");
    ck_assert_str_eq(str_member(row, "provider"), "gcp");
    ck_assert_str_eq(str_member(row, "status"), "completed");
    ck_assert_str_eq(str_member(row, "started_at"), "2026-01-03T22:00:00.000000Z");
    ck_assert_str_eq(str_member(row, "ended_at"), "2026-01-04T04:00:00.000000Z");
    ck_assert(json_is_number(json_object_get(row, "gpu_hours")));
    ck_assert_double_eq(json_number_value(json_object_get(row, "gpu_hours")), 48);
    ck_assert_double_eq(json_number_value(json_object_get(row, "cost_usd")), 100);
    days = json_object_get(row, "days");
    ck_assert(json_is_array(days));
    ck_assert_int_eq(json_array_size(days), 2);
    day = json_array_get(days, 0);
    ck_assert_int_eq(json_object_size(day), 3);
    ck_assert_str_eq(str_member(day, "day"), "2026-01-03");
    ck_assert_double_eq_tol(json_number_value(json_object_get(day, "cost_usd")), 100.0 / 3, 1e-12);
    ck_assert_double_eq_tol(json_number_value(json_object_get(day, "gpu_hours")), 16, 1e-12);
    day = json_array_get(days, 1);
    ck_assert_str_eq(str_member(day, "day"), "2026-01-04");
    ck_assert_double_eq_tol(json_number_value(json_object_get(day, "cost_usd")), 200.0 / 3, 1e-12);
    ck_assert_double_eq(json_number_value(json_object_get(day, "cost_usd"))
                            + json_number_value(json_object_get(json_array_get(days, 0), "cost_usd")),
                        100);

    /* the optional ones absent: null; the offset normalized to UTC */
    row = unit_json_own(ingest_jobmeta_row(
        unit_pool, 0,
        unit_json(
            "{\"job_id\":\"j\",\"team\":\"t\",\"model_name\":\"m\",\"gpu_type\":\"g\",\"provider\":\"p\","
            "\"started_at\":\"2026-01-08T19:30:00.25-08:00\",\"cost_usd\":3,\"ended_at\":null,\"x\":1}")));
    ck_assert_ptr_nonnull(row);
    row_keys(row, keys);
    ck_assert_int_eq(json_integer_value(json_object_get(row, "idx")), 0);
    ck_assert(json_is_null(json_object_get(row, "status")));
    ck_assert(json_is_null(json_object_get(row, "ended_at")));
    ck_assert(json_is_null(json_object_get(row, "gpu_hours")));
    ck_assert_str_eq(str_member(row, "started_at"), "2026-01-09T03:30:00.250000Z");
    days = json_object_get(row, "days");
    ck_assert_int_eq(json_array_size(days), 1);
    ck_assert_str_eq(str_member(json_array_get(days, 0), "day"), "2026-01-09");
    ck_assert_double_eq(json_number_value(json_object_get(json_array_get(days, 0), "cost_usd")), 3);
    ck_assert_double_eq(json_number_value(json_object_get(json_array_get(days, 0), "gpu_hours")), 0);
}
END_TEST

static void row_bad(apr_size_t idx, json_t *rec, const char *want_job_id, const char *want_error)
{
    static const char *const keys[] = {"idx", "ok", "job_id", "error", NULL};
    json_t *row = unit_json_own(ingest_jobmeta_row(unit_pool, idx, rec));

    ck_assert_ptr_nonnull(row);
    row_keys(row, keys);
    ck_assert_int_eq(json_integer_value(json_object_get(row, "idx")), idx);
    ck_assert(json_is_false(json_object_get(row, "ok")));
    if (want_job_id) {
        ck_assert_str_eq(str_member(row, "job_id"), want_job_id);
    } else {
        ck_assert(json_is_null(json_object_get(row, "job_id")));
    }
    ck_assert_str_eq(str_member(row, "error"), want_error);
}

START_TEST(row_invalid)
{
    row_bad(3, rec_with("cost_usd", "-5"), "mlj-2026-0001", "cost_usd: must be a number >= 0");
    row_bad(99999, rec_with("team", "\"\""), "mlj-2026-0001", "team: must be a string of 1 to 100 bytes");
    row_bad(4, rec_with("ended_at", "\"2026-01-03T21:00:00Z\""), "mlj-2026-0001",
            "ended_at: must not be before started_at");
    row_bad(5, rec_with("started_at", "\"2026-01-03T22:00:00\""), "mlj-2026-0001", "started_at: " D_TIME);
    row_bad(6, rec_with("status", "\"done\""), "mlj-2026-0001", "status: " D_STATUS);
    /* no job_id, or not a valid one: null */
    row_bad(0, rec_with("job_id", NULL), NULL, "job_id: is required");
    row_bad(1, rec_with("job_id", "42"), NULL, "job_id: must be a string of 1 to 100 bytes");
    row_bad(2, rec_with("job_id", "\"bad\\u0007id\""), NULL, "job_id: must not contain control characters");
    row_bad(8, rec_with("job_id", apr_psprintf(unit_pool, "\"%s\"", repeat("j", 101))), NULL,
            "job_id: must be a string of 1 to 100 bytes");
    /* not an object: the detail alone */
    row_bad(9, unit_json("[1,2]"), NULL, "the record must be a JSON object");
    row_bad(10, jstr("mlj-2026-0001"), NULL, "the record must be a JSON object");
}
END_TEST

/* ------------------------------------------------------------------ the bundled dataset */

START_TEST(mock_dataset)
{
    const char *path = INGEST_DATA_DIR "/mock_jobs.json";
    json_error_t jerr;
    json_t *doc = unit_json_own(json_load_file(path, JSON_REJECT_DUPLICATES, &jerr));
    json_t *jobs, *rec;
    apr_hash_t *teams = apr_hash_make(unit_pool), *ids = apr_hash_make(unit_pool);
    apr_int64_t first = date("2026-01-01"), last = date("2026-01-14");
    int failed = 0, cancelled = 0, running = 0, completed = 0, spanning = 0, two_midnights = 0;
    int other_day = 0, no_gpu = 0;
    size_t i;

    ck_assert_msg(doc != NULL, "%s: %s (line %d)", path, jerr.text, jerr.line);
    ck_assert_int_eq(json_object_size(doc), 1);
    jobs = json_object_get(doc, "jobs");
    ck_assert(json_is_array(jobs));
    ck_assert_int_eq(json_array_size(jobs), 30);
    json_array_foreach(jobs, i, rec)
    {
        ingest_jobmeta_t *m = parse_ok(rec);
        apr_array_header_t *days = ingest_jobmeta_days(unit_pool, m);
        const char *started = json_string_value(json_object_get(rec, "started_at"));
        double sc, sg;
        int d;

        /* mlj-2026-0001.. in order, each once */
        ck_assert_str_eq(m->job_id, apr_psprintf(unit_pool, "mlj-2026-%04d", (int)i + 1));
        ck_assert_ptr_null(apr_hash_get(ids, m->job_id, APR_HASH_KEY_STRING));
        apr_hash_set(ids, m->job_id, APR_HASH_KEY_STRING, m);
        apr_hash_set(teams, m->team, APR_HASH_KEY_STRING, m);
        ck_assert_ptr_nonnull(m->status);
        failed += !strcmp(m->status, "failed");
        cancelled += !strcmp(m->status, "cancelled");
        completed += !strcmp(m->status, "completed");
        if (!strcmp(m->status, "running")) {
            ++running;
            ck_assert_msg(!m->has_ended, "%s is running but has ended_at", m->job_id);
        } else {
            ck_assert_msg(m->has_ended, "%s is %s without ended_at", m->job_id, m->status);
        }
        for (d = 0; d < days->nelts; ++d) {
            ck_assert_msg(day_at(days, d)->day >= first && day_at(days, d)->day <= last,
                          "%s has a cost on %s", m->job_id,
                          ingest_date_format(unit_pool, day_at(days, d)->day));
        }
        days_sum(days, &sc, &sg);
        ck_assert_double_eq(sc, m->cost_usd);
        spanning += days->nelts > 1;
        two_midnights += days->nelts > 2;
        /* a local date that is not the UTC one */
        other_day += strncmp(started, ingest_date_format(unit_pool, day_at(days, 0)->day), 10) != 0;
        ck_assert_msg(m->cost_usd > 0, "%s costs nothing", m->job_id);
        if (m->has_gpu_hours) {
            /* a whole number of GPUs for the whole time */
            double hours = (double)(m->ended_us - m->started_us) / US_PER_HOUR;
            double gpus = m->gpu_hours / hours;
            ck_assert_msg(gpus == 1 || gpus == 2 || gpus == 4 || gpus == 8, "%s: %g GPUs", m->job_id, gpus);
            /* $0.30 to $7 per GPU-hour */
            ck_assert_msg(m->cost_usd >= 0.3 * m->gpu_hours && m->cost_usd <= 7 * m->gpu_hours,
                          "%s: $%g for %g h", m->job_id, m->cost_usd, m->gpu_hours);
        } else {
            ++no_gpu;
        }
    }
    ck_assert_int_eq(apr_hash_count(teams), 3);
    ck_assert_int_eq(apr_hash_count(ids), 30);
    ck_assert_int_eq(failed, 2);
    ck_assert_int_eq(cancelled, 1);
    ck_assert_int_eq(running, 1);
    ck_assert_int_eq(completed, 26);
    ck_assert_int_ge(spanning, 4);
    ck_assert_int_ge(two_midnights, 1);
    ck_assert_int_ge(other_day, 1);
    ck_assert_int_ge(no_gpu, 2);
}
END_TEST

Suite *suite_jobmeta(void)
{
    Suite *s = suite_create("jobmeta");
    TCase *tc = unit_tcase("record");

    tcase_add_test(tc, parse_good);
    tcase_add_test(tc, parse_not_object);
    tcase_add_test(tc, parse_required);
    tcase_add_test(tc, parse_strings);
    tcase_add_test(tc, parse_status);
    tcase_add_test(tc, parse_times);
    tcase_add_test(tc, parse_numbers);
    tcase_add_test(tc, parse_order);
    suite_add_tcase(s, tc);

    tc = unit_tcase("time");
    tcase_add_test(tc, rfc3339_good);
    tcase_add_test(tc, rfc3339_bad);
    tcase_add_test(tc, rfc3339_format);
    tcase_add_test(tc, date_parse_format);
    suite_add_tcase(s, tc);

    tc = unit_tcase("days");
    tcase_add_test(tc, days_worked_example);
    tcase_add_test(tc, days_three);
    tcase_add_test(tc, days_offset);
    tcase_add_test(tc, days_one);
    tcase_add_test(tc, days_half_open);
    tcase_add_test(tc, days_long_and_many);
    suite_add_tcase(s, tc);

    tc = unit_tcase("row");
    tcase_add_test(tc, row_valid);
    tcase_add_test(tc, row_invalid);
    tcase_add_test(tc, mock_dataset);
    suite_add_tcase(s, tc);
    return s;
}
