/* The API profiles (ingest_profile.c, ingest_profile_seed00N.c): the names,
 * the matching of paths, the route tables, the query rewrites and every
 * seed's answers and errors, shaped from native answers as the handlers
 * send them (a job as ingest_job_json() in SQL renders it plus
 * ingest_job_add_derived, the pages of ingest_send_page, the health
 * answers, problems from ingest_problem_json). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "ingest_job.h"
#include "ingest_problem.h"
#include "ingest_profile.h"
#include "unit.h"

#define JOB_ID     "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"
#define JOB_ID2    "0b8e7a6d-5c4b-4a39-8281-706f5e4d3c2b"
#define ROUTES_MAX 64

static const char *const profile_names[INGEST_PROFILE_COUNT] = {"native", "seed000", "seed001", "seed002",
                                                                "seed003"};

/* ------------------------------------------------------------ helpers */

static const char *dump(json_t *j)
{
    if (!j) {
        return "NULL";
    }
    return unit_str_own(json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY));
}

/* got is exactly the JSON text want (members in any order). */
#define expect_json(got, want)                                                                               \
    do {                                                                                                     \
        json_t *got_ = (got);                                                                                \
        json_t *want_ = unit_json(want);                                                                     \
        ck_assert_msg(got_ &&json_equal(got_, want_), "got %s\nwant %s", dump(got_), dump(want_));           \
    } while (0)

static const char *str_member(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    ck_assert_msg(json_is_string(v), "member %s missing or not a string in %s", k, dump(o));
    return json_string_value(v);
}

/* The route of a profile's table with this method and pattern. */
static const ingest_profile_route_t *route_of(ingest_profile_e which, const char *method, const char *pattern)
{
    const ingest_profile_route_t *rt;
    int n = 0;
    for (rt = ingest_profile_get(which)->routes; rt->pattern && n < ROUTES_MAX; ++rt, ++n) {
        if (!strcmp(rt->method, method) && !strcmp(rt->pattern, pattern)) {
            return rt;
        }
    }
    ck_abort_msg("%s has no route %s %s", profile_names[which], method, pattern);
    return NULL;
}

/* The route's answer to a native one, as the send functions call it: a
 * new reference (owned by the test's pool), NULL when the native answer
 * goes as it is. */
static json_t *shape(ingest_profile_e which, const char *method, const char *pattern, int *status,
                     json_t *body)
{
    const ingest_profile_route_t *rt = route_of(which, method, pattern);
    ck_assert_msg(rt->shape != NULL, "%s %s %s has no shape", profile_names[which], method, pattern);
    return unit_json_own(rt->shape(unit_pool, method, status, body));
}

/* The rewritten query of a route. */
static const char *query(ingest_profile_e which, const char *method, const char *pattern, const char *args)
{
    const ingest_profile_route_t *rt = route_of(which, method, pattern);
    ck_assert_msg(rt->query != NULL, "%s %s %s has no query rewrite", profile_names[which], method, pattern);
    return rt->query(unit_pool, args);
}

/* A problem as ingest_send_problem sends it (with its instance). */
static json_t *problem(int status, const char *type, const char *title, const char *detail, const char *field,
                       const char *uri)
{
    ingest_problem_t pb;
    json_t *o;
    memset(&pb, 0, sizeof(pb));
    pb.status = status;
    pb.type = type ? apr_pstrcat(unit_pool, INGEST_PROBLEM_BASE, type, NULL) : NULL;
    pb.title = title;
    pb.detail = detail;
    pb.field = field;
    if (!strcmp(type ? type : "", "malformed-json")) {
        pb.line = 1;
        pb.column = 1;
    }
    o = unit_json_own(ingest_problem_json(&pb));
    json_object_set_new(o, "instance", json_string(uri));
    return o;
}

/* The native problems the tests word, as the handlers and the router make
 * them (ingest_send_not_found, ingest_send_invalid, ingest_read_json,
 * ingest_auth_identify, ingest_send_db_error). */
enum { P_404, P_422, P_400, P_401, P_503, P_COUNT };

static json_t *native_problem(int which, const char *field, const char *uri)
{
    switch (which) {
    case P_404: return problem(404, "not-found", "Not found", "no such job", NULL, uri);
    case P_422:
        return problem(422, "invalid-field", "Invalid request field",
                       apr_pstrcat(unit_pool, field, " must be an integer from 1 to 100", NULL), field, uri);
    case P_400:
        return problem(400, "malformed-json", "Malformed JSON",
                       "'[' or '{' expected near 'mappings' at line 1, column 8", NULL, uri);
    case P_401: return problem(401, "unauthorized", "Unauthorized", "a bearer token is required", NULL, uri);
    default:
        return problem(503, "database-unavailable", "Database unavailable",
                       "the database cannot be reached; retry later", NULL, uri);
    }
}

static const int problem_status[P_COUNT] = {404, 422, 400, 401, 503};

/* The profile's error for a native problem; *status as sent. */
static json_t *error_of(ingest_profile_e which, const char *method, int *status, json_t *problem_doc)
{
    const ingest_profile_t *prof = ingest_profile_get(which);
    ck_assert_ptr_nonnull(prof->error);
    return unit_json_own(prof->error(unit_pool, method, status, problem_doc));
}

/* A job as GET /api/ingest/status/{id} answers it natively: the members
 * of ingest_job_json() (sql/001_jobs.sql) and "progress". pending and
 * queued: nothing started; running: 750 of 1500 items (3 failed);
 * completed: all 1500 with result_data; failed: an error. */
static json_t *native_job_id(const char *id, const char *status)
{
    const char *started = "null", *completed = "null", *error = "null", *result_data = "null",
               *result_url = "null";
    int total = 0, processed = 0, failed = 0, attempts = 0;
    json_t *j;

    if (!strcmp(status, "running")) {
        started = "\"2025-01-20T10:00:05.000Z\"";
        total = 1500, processed = 750, failed = 3, attempts = 1;
    } else if (!strcmp(status, "completed")) {
        started = "\"2025-01-20T10:00:05.000Z\"";
        completed = "\"2025-01-20T10:00:15.000Z\"";
        result_url = "\"https://storage.example.com/results/" JOB_ID ".json\"";
        result_data = "{\"rows_processed\":1500,\"columns\":12}";
        total = 1500, processed = 1500, failed = 0, attempts = 1;
    } else if (!strcmp(status, "failed")) {
        started = "\"2025-01-20T10:00:05.000Z\"";
        completed = "\"2025-01-20T10:00:07.000Z\"";
        error = "\"malformed CSV: a quoted field is not closed at the end of the file\"";
        attempts = 1;
    }
    j = unit_json(apr_psprintf(
        unit_pool,
        "{\"job_id\":\"%s\",\"tenant_id\":\"acme\",\"user_id\":\"alice\",\"source_type\":\"file_upload\","
        "\"filename\":\"project_data.csv\",\"file_type\":\"csv\",\"file_size\":2048000,"
        "\"content_sha256\":null,\"priority\":\"MEDIUM\",\"status\":\"%s\",\"error\":%s,\"result_url\":%s,"
        "\"result_data\":%s,\"total_items\":%d,\"processed_items\":%d,\"records_processed\":%d,"
        "\"failed_items\":%d,\"attempts\":%d,\"expires_at\":\"2025-01-20T12:00:00.000Z\","
        "\"created_at\":\"2025-01-20T10:00:00.000Z\",\"submitted_at\":\"2025-01-20T10:00:00.000Z\","
        "\"started_at\":%s,\"completed_at\":%s,\"updated_at\":\"2025-01-20T10:00:05.000Z\"}",
        id, status, error, result_url, result_data, total, processed, processed, failed, attempts, started,
        completed));
    ingest_job_add_derived(j);
    return j;
}

static json_t *native_job(const char *status)
{
    return native_job_id(JOB_ID, status);
}

static const char *const native_statuses[5] = {"pending", "queued", "running", "completed", "failed"};

/* GET /api/ingest/jobs natively: a page of two jobs out of 7. */
static json_t *native_jobs_page(void)
{
    json_t *page = json_pack("{s:[O,O], s:I, s:i, s:i, s:b}", "jobs", native_job("running"),
                             native_job_id(JOB_ID2, "completed"), "total", (json_int_t)7, "limit", 2,
                             "offset", 4, "has_more", 1);
    ck_assert_ptr_nonnull(page);
    return unit_json_own(page);
}

/* The native health answers (mod_ingest_api_health.c). */
static json_t *native_health_ok(void)
{
    return unit_json(
        "{\"status\":\"ok\",\"database\":\"ok\",\"schema_version\":5,\"schema_required\":5,"
        "\"version\":\"0.1.0\",\"queue_depth\":3,\"running\":2,\"worker\":{\"processor\":"
        "\"simulate\",\"last_tick_age_ms\":1200,\"last_progress_age_ms\":1200,\"state\":\"ok\"}}");
}

/* the database does not answer: no counts */
static json_t *native_health_down(const char *uri)
{
    return unit_json(apr_psprintf(
        unit_pool,
        "{\"type\":\"urn:mod-ingest:problem:unhealthy\",\"title\":\"Service unhealthy\",\"status\":503,"
        "\"detail\":\"the database cannot be reached\",\"health\":\"unhealthy\",\"instance\":\"%s\","
        "\"database\":\"unreachable\",\"schema_version\":5,\"schema_required\":5,\"version\":\"0.1.0\","
        "\"worker\":{\"processor\":\"simulate\",\"state\":\"unknown\"}}",
        uri));
}

/* the database answers, the worker is stale: with counts */
static json_t *native_health_stale(const char *uri)
{
    return unit_json(apr_psprintf(
        unit_pool,
        "{\"type\":\"urn:mod-ingest:problem:unhealthy\",\"title\":\"Service unhealthy\",\"status\":503,"
        "\"detail\":\"the background worker has not run "
        "lately\",\"health\":\"unhealthy\",\"instance\":\"%s\","
        "\"database\":\"ok\",\"schema_version\":5,\"schema_required\":5,\"version\":\"0.1.0\","
        "\"queue_depth\":4,\"running\":1,\"worker\":{\"processor\":\"simulate\",\"last_tick_age_ms\":95000,"
        "\"last_progress_age_ms\":95000,\"state\":\"stale\"}}",
        uri));
}

/* GET /api/ingest/status/{id}/results natively: the job's status and
 * counts, its id and a page of its items (ingest_item_json). */
static json_t *native_results_page(const char *status)
{
    return unit_json(apr_psprintf(
        unit_pool,
        "{\"status\":\"%s\",\"total_items\":2,\"processed_items\":2,\"failed_items\":1,\"job_id\":\"" JOB_ID
        "\",\"results\":[{\"index\":0,\"id\":\"map_001\",\"source\":\"source_1\",\"target\":\"target_1\","
        "\"transformation\":null,\"status\":\"success\",\"error\":null,\"processed_at\":"
        "\"2025-06-05T10:00:01.000Z\"},{\"index\":1,\"id\":\"map_002\",\"source\":\"source_2\",\"target\":"
        "\"target_2\",\"transformation\":{\"field1\":\"value1\"},\"status\":\"failed\",\"error\":"
        "\"the external API answered 502\",\"processed_at\":\"2025-06-05T10:00:02.000Z\"}],"
        "\"total\":2,\"limit\":100,\"offset\":0,\"has_more\":false}",
        status));
}

/* What the router does with a request path: the first route whose pattern
 * matches and whose method is the request's; NULL for a 404 or a 405 (a
 * literal path ends the search, mod_ingest_router.c). */
static const ingest_profile_route_t *resolve(ingest_profile_e which, const char *method, const char *uri,
                                             const char **param)
{
    const ingest_profile_route_t *rt;
    for (rt = ingest_profile_get(which)->routes; rt->pattern; ++rt) {
        const char *p;
        if (!ingest_profile_match(unit_pool, rt->pattern, uri, &p)) {
            continue;
        }
        if (!strcmp(rt->method, method)) {
            *param = p;
            return rt;
        }
        if (!p) {
            break;
        }
    }
    *param = NULL;
    return NULL;
}

/* ------------------------------------------------------------ names */

START_TEST(parse_names)
{
    static const char *const spellings[][3] = {
        {"native", "NATIVE", "Native"},    {"seed000", "SEED000", "Seed000"},
        {"seed001", "SEED001", "sEeD001"}, {"seed002", "SEED002", "Seed002"},
        {"seed003", "SEED003", "seeD003"},
    };
    static const char *const unknown[] = {"",         "seed004", "seed00",  "seed0000", "seed",
                                          "nativ",    "natives", " native", "native ",  "seed-000",
                                          "seed 001", "default", "fastapi", "000",      "seed0O2"};
    ingest_profile_e out;
    size_t i, k;

    for (i = 0; i < INGEST_PROFILE_COUNT; ++i) {
        for (k = 0; k < 3; ++k) {
            out = (ingest_profile_e)99;
            ck_assert_msg(ingest_profile_parse(spellings[i][k], &out) == APR_SUCCESS, "%s refused",
                          spellings[i][k]);
            ck_assert_int_eq(out, (int)i);
        }
    }
    for (i = 0; i < sizeof(unknown) / sizeof(*unknown); ++i) {
        out = (ingest_profile_e)99;
        ck_assert_msg(ingest_profile_parse(unknown[i], &out) == APR_EINVAL, "\"%s\" accepted", unknown[i]);
        ck_assert_int_eq(out, 99); /* untouched */
    }
    out = (ingest_profile_e)99;
    ck_assert_int_eq(ingest_profile_parse(NULL, &out), APR_EINVAL);
    ck_assert_int_eq(out, 99);
}
END_TEST

START_TEST(get_each)
{
    static const ingest_profile_t *const seeds[] = {NULL, &ingest_profile_seed000, &ingest_profile_seed001,
                                                    &ingest_profile_seed002, &ingest_profile_seed003};
    int i;

    for (i = 0; i < INGEST_PROFILE_COUNT; ++i) {
        const ingest_profile_t *prof = ingest_profile_get((ingest_profile_e)i);
        ck_assert_ptr_nonnull(prof);
        ck_assert_str_eq(prof->name, profile_names[i]);
        ck_assert_ptr_nonnull(prof->routes);
        if (seeds[i]) {
            ck_assert_ptr_eq(prof, seeds[i]);
            ck_assert_ptr_nonnull(prof->error);
        } else {
            /* native: problem+json as the handlers send it */
            ck_assert_ptr_null(prof->error);
        }
    }
    ck_assert_ptr_eq(ingest_profile_get(INGEST_PROFILE_SEED003)->error, ingest_profile_fastapi_error);
    /* out of range: the native one */
    ck_assert_ptr_eq(ingest_profile_get(INGEST_PROFILE_COUNT), ingest_profile_get(INGEST_PROFILE_NATIVE));
    ck_assert_ptr_eq(ingest_profile_get((ingest_profile_e)-1), ingest_profile_get(INGEST_PROFILE_NATIVE));
    ck_assert_ptr_eq(ingest_profile_get((ingest_profile_e)1000), ingest_profile_get(INGEST_PROFILE_NATIVE));
}
END_TEST

/* ------------------------------------------------------------ matching */

START_TEST(match_literal)
{
    const char *param = "untouched";

    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/jobs", "/api/ingest/jobs", &param), 1);
    ck_assert_ptr_null(param);
    param = "untouched";
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/jobs", "/api/jobs", &param), 1);
    ck_assert_ptr_null(param);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/health", "/health", &param), 1);

    param = "untouched";
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/jobs", "/api/ingest/jobs/", &param), 0);
    ck_assert_ptr_null(param);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/jobs", "/api/ingest/job", &param), 0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/jobs", "/api/ingest/jobsx", &param), 0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/jobs", "/API/INGEST/JOBS", &param), 0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/jobs", "", &param), 0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/jobs", "/", &param), 0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/jobs", "/api/job", &param), 0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/health", "/healthz", &param), 0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/health", "/api/health", &param), 0);
}
END_TEST

START_TEST(match_param)
{
    const char *param;

    /* a UUID, in either case */
    param = NULL;
    ck_assert_int_eq(
        ingest_profile_match(unit_pool, "/api/ingest/status/{}", "/api/ingest/status/" JOB_ID, &param), 1);
    ck_assert_str_eq(param, JOB_ID);
    param = NULL;
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/status/{}",
                                          "/api/ingest/status/6F1D2C3B-4A5E-4F60-8A7B-9C0D1E2F3A4B", &param),
                     1);
    ck_assert_str_eq(param, "6F1D2C3B-4A5E-4F60-8A7B-9C0D1E2F3A4B");
    param = NULL;
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/{}", "/api/ingest/" JOB_ID2, &param), 1);
    ck_assert_str_eq(param, JOB_ID2);
    param = NULL;
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/status/{}", "/status/" JOB_ID, &param), 1);
    ck_assert_str_eq(param, JOB_ID);
    param = NULL;
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/job/{}", "/api/job/" JOB_ID, &param), 1);
    ck_assert_str_eq(param, JOB_ID);

    /* a trailing part after the segment */
    param = NULL;
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/status/{}/results",
                                          "/api/ingest/status/" JOB_ID "/results", &param),
                     1);
    ck_assert_str_eq(param, JOB_ID);
    param = NULL;
    ck_assert_int_eq(
        ingest_profile_match(unit_pool, "/status/{}/results", "/status/" JOB_ID2 "/results", &param), 1);
    ck_assert_str_eq(param, JOB_ID2);

    /* only a UUID */
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/{}", "/api/ingest/jobs", &param), 0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/{}", "/api/ingest/nope", &param), 0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/job/{}", "/api/job/job_abc123xyz", &param), 0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/{}",
                                          "/api/ingest/6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4", &param),
                     0); /* one short */
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/{}", "/api/ingest/" JOB_ID "0", &param),
                     0); /* one long */
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/{}",
                                          "/api/ingest/6f1d2c3b04a5e-4f60-8a7b-9c0d1e2f3a4b", &param),
                     0); /* a dash missing */
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/{}",
                                          "/api/ingest/6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4g", &param),
                     0); /* not hex */
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/{}",
                                          "/api/ingest/6f1d2c3b4a5e4f608a7b9c0d1e2f3a4b", &param),
                     0);

    /* not empty */
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/status/{}", "/api/ingest/status/", &param),
                     0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/status/{}", "/api/ingest/status", &param),
                     0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/status/{}/results", "/status//results", &param), 0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/status/{}", "/status/", &param), 0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/status/{}", "", &param), 0);

    /* not with more segments, nor fewer */
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/status/{}",
                                          "/api/ingest/status/" JOB_ID "/results", &param),
                     0);
    ck_assert_int_eq(
        ingest_profile_match(unit_pool, "/api/ingest/status/{}", "/api/ingest/status/" JOB_ID "/", &param),
        0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/{}", "/api/ingest/status/" JOB_ID, &param),
                     0);
    ck_assert_int_eq(
        ingest_profile_match(unit_pool, "/api/ingest/{}", "/api/ingest/" JOB_ID "/" JOB_ID2, &param), 0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/status/{}", "/status/" JOB_ID "/results", &param), 0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/status/{}/results",
                                          "/api/ingest/status/" JOB_ID, &param),
                     0);

    /* the trailing part exactly */
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/status/{}/results",
                                          "/api/ingest/status/" JOB_ID "/results/", &param),
                     0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/status/{}/results",
                                          "/api/ingest/status/" JOB_ID "/resultsx", &param),
                     0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/status/{}/results",
                                          "/api/ingest/status/" JOB_ID "/result", &param),
                     0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/status/{}/results",
                                          "/api/ingest/status/" JOB_ID "/items", &param),
                     0);

    /* the prefix exactly */
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/{}", "/api/ingestx/" JOB_ID, &param), 0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/{}", "/api/" JOB_ID, &param), 0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/status/{}", "/api/status/" JOB_ID, &param), 0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/status/{}", "/Status/" JOB_ID, &param), 0);
    ck_assert_int_eq(ingest_profile_match(unit_pool, "/api/ingest/{}", "/api", &param), 0);
}
END_TEST

/* ------------------------------------------------------------ the tables */

/* Whether a "{}" pattern would take the literal path were the segment not
 * required to be a UUID: "{}" as any non-empty segment. */
static int could_shadow(const char *pattern, const char *literal)
{
    const char *ph = strstr(pattern, "{}");
    apr_size_t pre, seg;
    if (!ph) {
        return 0;
    }
    pre = (apr_size_t)(ph - pattern);
    if (strncmp(pattern, literal, pre)) {
        return 0;
    }
    literal += pre;
    seg = strcspn(literal, "/");
    return seg > 0 && !strcmp(ph + 2, literal + seg);
}

START_TEST(tables_wellformed)
{
    int i;

    for (i = 0; i < INGEST_PROFILE_COUNT; ++i) {
        const ingest_profile_route_t *routes = ingest_profile_get((ingest_profile_e)i)->routes;
        const char *name = profile_names[i];
        int n, a, b;

        for (n = 0; n < ROUTES_MAX && routes[n].pattern; ++n) {
            const ingest_profile_route_t *rt = &routes[n];
            const char *ph = strstr(rt->pattern, "{}");
            ck_assert_msg(rt->method
                              && (!strcmp(rt->method, "GET") || !strcmp(rt->method, "POST")
                                  || !strcmp(rt->method, "PUT") || !strcmp(rt->method, "DELETE")),
                          "%s route %d: method %s", name, n, rt->method ? rt->method : "NULL");
            ck_assert_msg(rt->pattern[0] == '/', "%s %s: not a path", name, rt->pattern);
            ck_assert_msg(!strstr(rt->pattern, "//") && rt->pattern[strlen(rt->pattern) - 1] != '/',
                          "%s %s: an empty segment", name, rt->pattern);
            ck_assert_msg((int)rt->endpoint >= 0 && rt->endpoint < INGEST_EP_COUNT, "%s %s: endpoint %d",
                          name, rt->pattern, (int)rt->endpoint);
            if (ph) {
                /* one "{}", a whole segment */
                ck_assert_msg(ph[-1] == '/' && (ph[2] == '/' || !ph[2]), "%s %s: {} not a segment", name,
                              rt->pattern);
                ck_assert_msg(!strstr(ph + 2, "{}"), "%s %s: two {}", name, rt->pattern);
            }
            {
                const char *c;
                int braces = 0;
                for (c = rt->pattern; *c; ++c) {
                    braces += *c == '{' || *c == '}';
                }
                ck_assert_msg(braces == (ph ? 2 : 0), "%s %s: a brace", name, rt->pattern);
            }
        }
        ck_assert_msg(n > 0 && n < ROUTES_MAX, "%s: %d routes (no end?)", name, n);
        ck_assert_int_eq(routes[n].method == NULL, 1);

        for (a = 0; a < n; ++a) {
            for (b = a + 1; b < n; ++b) {
                ck_assert_msg(strcmp(routes[a].method, routes[b].method)
                                  || strcmp(routes[a].pattern, routes[b].pattern),
                              "%s: %s %s twice", name, routes[a].method, routes[a].pattern);
                /* the router ends its search at the first literal path
                 * that matches (then 405 for another method): a literal
                 * path has one route */
                ck_assert_msg(strstr(routes[a].pattern, "{}") || strcmp(routes[a].pattern, routes[b].pattern),
                              "%s: literal %s in two routes; the second is never reached", name,
                              routes[a].pattern);
                /* literal paths before parameterised ones */
                ck_assert_msg(!could_shadow(routes[a].pattern, routes[b].pattern),
                              "%s: %s (%d) listed before %s (%d)", name, routes[a].pattern, a,
                              routes[b].pattern, b);
            }
        }
    }
}
END_TEST

typedef struct {
    const char *method, *pattern;
    ingest_endpoint_e endpoint;
    int query, shape;
} want_route_t;

static void table_is(ingest_profile_e which, const want_route_t *want, int count)
{
    const ingest_profile_route_t *routes = ingest_profile_get(which)->routes;
    int n;
    for (n = 0; n < count; ++n) {
        ck_assert_msg(routes[n].pattern != NULL, "%s: %d routes, want %d", profile_names[which], n, count);
        ck_assert_str_eq(routes[n].method, want[n].method);
        ck_assert_str_eq(routes[n].pattern, want[n].pattern);
        ck_assert_msg(routes[n].endpoint == want[n].endpoint, "%s %s %s: endpoint %d, want %d",
                      profile_names[which], want[n].method, want[n].pattern, (int)routes[n].endpoint,
                      (int)want[n].endpoint);
        ck_assert_msg((routes[n].query != NULL) == want[n].query, "%s %s %s: query %s", profile_names[which],
                      want[n].method, want[n].pattern, routes[n].query ? "set" : "NULL");
        ck_assert_msg((routes[n].shape != NULL) == want[n].shape, "%s %s %s: shape %s", profile_names[which],
                      want[n].method, want[n].pattern, routes[n].shape ? "set" : "NULL");
    }
    ck_assert_msg(routes[count].pattern == NULL, "%s: more than %d routes", profile_names[which], count);
}

START_TEST(tables_exact)
{
    static const want_route_t native[] = {
        {"POST", "/api/ingest/init", INGEST_EP_INIT, 0, 0},
        {"GET", "/api/ingest/jobs", INGEST_EP_JOBS, 0, 0},
        {"GET", "/api/ingest/stats", INGEST_EP_STATS, 0, 0},
        {"GET", "/api/ingest/health", INGEST_EP_HEALTH, 0, 0},
        {"POST", "/api/pipeline/callback", INGEST_EP_CALLBACK, 0, 0},
        {"POST", "/api/ingest/json", INGEST_EP_JSON, 0, 0},
        {"GET", "/api/ingest/status/{}", INGEST_EP_STATUS, 0, 0},
        {"GET", "/api/ingest/status/{}/results", INGEST_EP_RESULTS, 0, 0},
        {"GET", "/api/ingest/status/{}/records", INGEST_EP_RECORDS, 0, 0},
        {"GET", "/api/ingest/status/{}/records.ndjson", INGEST_EP_RECORDS_NDJSON, 0, 0},
        {"GET", "/api/ingest/status/{}/records.csv", INGEST_EP_RECORDS_CSV, 0, 0},
        {"GET", "/api/ingest/status/{}/errors", INGEST_EP_RECORD_ERRORS, 0, 0},
        {"GET", "/api/ingest/events", INGEST_EP_EVENTS, 0, 0},
        {"PUT", "/api/ingest/upload/{}", INGEST_EP_UPLOAD, 0, 0},
        {"DELETE", "/api/ingest/{}", INGEST_EP_DELETE, 0, 0},
        {"GET", "/api/analytics/cost/by-model", INGEST_EP_COST_BY_MODEL, 0, 0},
        {"GET", "/api/analytics/cost/by-team", INGEST_EP_COST_BY_TEAM, 0, 0},
        {"GET", "/api/analytics/jobs", INGEST_EP_ML_JOBS, 0, 0},
        {"POST", "/api/admin/ingest/jobs/mock", INGEST_EP_ADMIN_MOCK, 0, 0},
        {"GET", "/api/ingest/status/{}/deliveries", INGEST_EP_DELIVERIES, 0, 0},
        {"POST", "/api/ingest/status/{}/deliveries/redeliver", INGEST_EP_REDELIVER, 0, 0},
    };
    /* every /api/ingest/ route of the native API, in the envelope */
    static const want_route_t seed000[] = {
        {"POST", "/api/ingest/init", INGEST_EP_INIT, 0, 1},
        {"GET", "/api/ingest/jobs", INGEST_EP_JOBS, 1, 1},
        {"GET", "/api/ingest/stats", INGEST_EP_STATS, 0, 1},
        {"GET", "/api/ingest/health", INGEST_EP_HEALTH, 0, 1},
        {"POST", "/api/ingest/json", INGEST_EP_JSON, 0, 1},
        {"GET", "/api/ingest/status/{}", INGEST_EP_STATUS, 0, 1},
        {"GET", "/api/ingest/status/{}/results", INGEST_EP_RESULTS, 0, 1},
        {"GET", "/api/ingest/status/{}/records", INGEST_EP_RECORDS, 0, 1},
        {"GET", "/api/ingest/status/{}/records.ndjson", INGEST_EP_RECORDS_NDJSON, 0, 0},
        {"GET", "/api/ingest/status/{}/records.csv", INGEST_EP_RECORDS_CSV, 0, 0},
        {"GET", "/api/ingest/status/{}/errors", INGEST_EP_RECORD_ERRORS, 0, 1},
        {"PUT", "/api/ingest/upload/{}", INGEST_EP_UPLOAD, 0, 1},
        {"DELETE", "/api/ingest/{}", INGEST_EP_DELETE, 0, 1},
    };
    static const want_route_t seed001[] = {
        {"GET", "/api/jobs", INGEST_EP_JOBS, 0, 1},
        {"GET", "/api/job/{}", INGEST_EP_STATUS, 0, 1},
    };
    static const want_route_t seed002[] = {
        {"POST", "/ingest", INGEST_EP_JSON, 0, 1},
        {"GET", "/health", INGEST_EP_HEALTH, 0, 1},
        {"GET", "/status/{}", INGEST_EP_STATUS, 0, 1},
        {"GET", "/status/{}/results", INGEST_EP_RESULTS, 1, 1},
    };
    /* the native answers as they are: its contract is the native one */
    static const want_route_t seed003[] = {
        {"GET", "/api/v1/jobs", INGEST_EP_ML_JOBS, 1, 0},
        {"GET", "/api/v1/analytics/cost/by-model", INGEST_EP_COST_BY_MODEL, 0, 0},
        {"GET", "/api/v1/analytics/cost/by-team", INGEST_EP_COST_BY_TEAM, 0, 0},
        {"POST", "/api/v1/admin/ingest/jobs/mock", INGEST_EP_ADMIN_MOCK, 0, 0},
    };
    table_is(INGEST_PROFILE_NATIVE, native, (int)(sizeof(native) / sizeof(*native)));
    table_is(INGEST_PROFILE_SEED000, seed000, (int)(sizeof(seed000) / sizeof(*seed000)));
    table_is(INGEST_PROFILE_SEED001, seed001, (int)(sizeof(seed001) / sizeof(*seed001)));
    table_is(INGEST_PROFILE_SEED002, seed002, (int)(sizeof(seed002) / sizeof(*seed002)));
    table_is(INGEST_PROFILE_SEED003, seed003, (int)(sizeof(seed003) / sizeof(*seed003)));
}
END_TEST

/* Request paths through the tables as the router walks them. */
START_TEST(tables_resolve)
{
    const ingest_profile_route_t *rt;
    const char *param;

    rt = resolve(INGEST_PROFILE_NATIVE, "GET", "/api/ingest/jobs", &param);
    ck_assert_ptr_nonnull(rt);
    ck_assert_int_eq(rt->endpoint, INGEST_EP_JOBS);
    ck_assert_ptr_null(param);
    rt = resolve(INGEST_PROFILE_NATIVE, "DELETE", "/api/ingest/" JOB_ID, &param);
    ck_assert_ptr_nonnull(rt);
    ck_assert_int_eq(rt->endpoint, INGEST_EP_DELETE);
    ck_assert_str_eq(param, JOB_ID);
    rt = resolve(INGEST_PROFILE_NATIVE, "GET", "/api/ingest/status/" JOB_ID "/results", &param);
    ck_assert_ptr_nonnull(rt);
    ck_assert_int_eq(rt->endpoint, INGEST_EP_RESULTS);
    ck_assert_str_eq(param, JOB_ID);
    /* DELETE /api/ingest/jobs: the listing's path, not a job */
    ck_assert_ptr_null(resolve(INGEST_PROFILE_NATIVE, "DELETE", "/api/ingest/jobs", &param));

    rt = resolve(INGEST_PROFILE_SEED000, "DELETE", "/api/ingest/" JOB_ID, &param);
    ck_assert_ptr_nonnull(rt);
    ck_assert_int_eq(rt->endpoint, INGEST_EP_DELETE);
    rt = resolve(INGEST_PROFILE_SEED000, "GET", "/api/ingest/stats", &param);
    ck_assert_ptr_nonnull(rt);
    ck_assert_int_eq(rt->endpoint, INGEST_EP_STATS);
    /* the callback is the native profile's, wherever mounted */
    ck_assert_ptr_null(resolve(INGEST_PROFILE_SEED000, "POST", "/api/pipeline/callback", &param));

    rt = resolve(INGEST_PROFILE_SEED001, "GET", "/api/job/" JOB_ID, &param);
    ck_assert_ptr_nonnull(rt);
    ck_assert_int_eq(rt->endpoint, INGEST_EP_STATUS);
    ck_assert_str_eq(param, JOB_ID);
    rt = resolve(INGEST_PROFILE_SEED001, "GET", "/api/jobs", &param);
    ck_assert_ptr_nonnull(rt);
    ck_assert_int_eq(rt->endpoint, INGEST_EP_JOBS);
    ck_assert_ptr_null(resolve(INGEST_PROFILE_SEED001, "GET", "/api/job/job_abc123xyz", &param));
    ck_assert_ptr_null(resolve(INGEST_PROFILE_SEED001, "GET", "/api/ingest/jobs", &param));

    rt = resolve(INGEST_PROFILE_SEED002, "GET", "/status/" JOB_ID, &param);
    ck_assert_ptr_nonnull(rt);
    ck_assert_int_eq(rt->endpoint, INGEST_EP_STATUS);
    rt = resolve(INGEST_PROFILE_SEED002, "GET", "/status/" JOB_ID "/results", &param);
    ck_assert_ptr_nonnull(rt);
    ck_assert_int_eq(rt->endpoint, INGEST_EP_RESULTS);
    ck_assert_str_eq(param, JOB_ID);
    rt = resolve(INGEST_PROFILE_SEED002, "POST", "/ingest", &param);
    ck_assert_ptr_nonnull(rt);
    ck_assert_int_eq(rt->endpoint, INGEST_EP_JSON);
    rt = resolve(INGEST_PROFILE_SEED002, "GET", "/health", &param);
    ck_assert_ptr_nonnull(rt);
    ck_assert_int_eq(rt->endpoint, INGEST_EP_HEALTH);
    ck_assert_ptr_null(resolve(INGEST_PROFILE_SEED002, "GET", "/ingest", &param));

    rt = resolve(INGEST_PROFILE_SEED003, "GET", "/api/v1/jobs", &param);
    ck_assert_ptr_nonnull(rt);
    ck_assert_int_eq(rt->endpoint, INGEST_EP_ML_JOBS);
    rt = resolve(INGEST_PROFILE_SEED003, "POST", "/api/v1/admin/ingest/jobs/mock", &param);
    ck_assert_ptr_nonnull(rt);
    ck_assert_int_eq(rt->endpoint, INGEST_EP_ADMIN_MOCK);
    ck_assert_ptr_null(resolve(INGEST_PROFILE_SEED003, "GET", "/api/v1/analytics/cost", &param));
}
END_TEST

START_TEST(endpoint_identity)
{
    int ep;
    for (ep = 0; ep < INGEST_EP_COUNT; ++ep) {
        int want = ep != INGEST_EP_HEALTH && ep != INGEST_EP_CALLBACK && ep != INGEST_EP_UPLOAD;
        ck_assert_msg(ingest_endpoint_identity((ingest_endpoint_e)ep) == want, "endpoint %d: %d", ep,
                      ingest_endpoint_identity((ingest_endpoint_e)ep));
    }
    ck_assert_int_eq(ingest_endpoint_identity(INGEST_EP_INIT), 1);
    ck_assert_int_eq(ingest_endpoint_identity(INGEST_EP_DELETE), 1);
    ck_assert_int_eq(ingest_endpoint_identity(INGEST_EP_ADMIN_MOCK), 1);
    ck_assert_int_eq(ingest_endpoint_identity(INGEST_EP_ML_JOBS), 1);
    ck_assert_int_eq(ingest_endpoint_identity(INGEST_EP_HEALTH), 0);
    ck_assert_int_eq(ingest_endpoint_identity(INGEST_EP_CALLBACK), 0);
    ck_assert_int_eq(ingest_endpoint_identity(INGEST_EP_UPLOAD), 0);
}
END_TEST

/* ------------------------------------------------------------ the query helpers */

START_TEST(query_rename)
{
#define RENAMED(args, want) ck_assert_str_eq(ingest_query_rename(unit_pool, args, "team_id", "team"), want)
    ck_assert_ptr_null(ingest_query_rename(unit_pool, NULL, "team_id", "team"));
    RENAMED("", "");
    /* first, middle, last, alone */
    RENAMED("team_id=ml-platform", "team=ml-platform");
    RENAMED("team_id=ml-platform&skip=0&limit=10", "team=ml-platform&skip=0&limit=10");
    RENAMED("skip=0&team_id=ml-platform&limit=10", "skip=0&team=ml-platform&limit=10");
    RENAMED("skip=0&limit=10&team_id=ml-platform", "skip=0&limit=10&team=ml-platform");
    /* every occurrence: the endpoint then refuses the repetition */
    RENAMED("team_id=a&status=completed&team_id=b", "team=a&status=completed&team=b");
    /* a prefix of another name, or another name a prefix of it */
    RENAMED("team_idx=1&team=2&team_i=3&xteam_id=4", "team_idx=1&team=2&team_i=3&xteam_id=4");
    RENAMED("team=2&team_id=3", "team=2&team=3");
    /* the name in a value */
    RENAMED("status=team_id&provider=team_id=1", "status=team_id&provider=team_id=1");
    /* '=' in the value, no value, an empty value */
    RENAMED("team_id=a=b&limit=1", "team=a=b&limit=1");
    RENAMED("team_id", "team");
    RENAMED("limit=5&team_id", "limit=5&team");
    RENAMED("team_id=&limit=5", "team=&limit=5");
    /* empty parameters are kept as they are */
    RENAMED("&team_id=a&&limit=1&", "&team=a&&limit=1&");
    /* case matters, as the endpoint's names */
    RENAMED("TEAM_ID=a", "TEAM_ID=a");
    /* into a longer name */
    ck_assert_str_eq(ingest_query_rename(unit_pool, "a=1&b=2&a", "a", "alpha"), "alpha=1&b=2&alpha");
#undef RENAMED
}
END_TEST

START_TEST(query_default)
{
    const char *args;
#define DEFAULTED(args, want) ck_assert_str_eq(ingest_query_default(unit_pool, args, "limit", "100"), want)
    DEFAULTED(NULL, "limit=100");
    DEFAULTED("", "limit=100");
    DEFAULTED("status=queued", "status=queued&limit=100");
    DEFAULTED("status=queued&offset=20", "status=queued&offset=20&limit=100");
    /* present: first, middle, last, alone, without a value or with an empty one, repeated */
    DEFAULTED("limit=5", "limit=5");
    DEFAULTED("limit=5&status=queued", "limit=5&status=queued");
    DEFAULTED("status=queued&limit=5&offset=0", "status=queued&limit=5&offset=0");
    DEFAULTED("status=queued&limit=5", "status=queued&limit=5");
    DEFAULTED("limit", "limit");
    DEFAULTED("status=queued&limit", "status=queued&limit");
    DEFAULTED("limit=", "limit=");
    DEFAULTED("limit=1&limit=2", "limit=1&limit=2");
    DEFAULTED("limit=a=b", "limit=a=b");
    /* a name that starts with it, or that it starts, is another name */
    DEFAULTED("limits=5", "limits=5&limit=100");
    DEFAULTED("limit_max=5", "limit_max=5&limit=100");
    DEFAULTED("xlimit=5", "xlimit=5&limit=100");
    DEFAULTED("lim=5", "lim=5&limit=100");
    /* the name in a value */
    DEFAULTED("status=limit", "status=limit&limit=100");
    DEFAULTED("sort=limit=5", "sort=limit=5&limit=100");
    DEFAULTED("status=queued&", "status=queued&&limit=100");
#undef DEFAULTED
    /* present: the string itself */
    args = "offset=0&limit=5";
    ck_assert_ptr_eq(ingest_query_default(unit_pool, args, "limit", "100"), args);
    ck_assert_str_eq(ingest_query_default(unit_pool, "skip=0", "limit", "50"), "skip=0&limit=50");
}
END_TEST

/* ------------------------------------------------------------ statuses */

START_TEST(profile_status)
{
    static const char *const words[5] = {"w-pending", "w-queued", "w-running", "w-completed", "w-failed"};
    json_t *in, *out;
    int i;

    for (i = 0; i < 5; ++i) {
        in = native_job(native_statuses[i]);
        out = unit_json_own(ingest_profile_status(in, words));
        ck_assert_ptr_nonnull(out);
        ck_assert_ptr_ne(out, in);
        ck_assert_str_eq(str_member(out, "status"), words[i]);
        /* the native job unchanged */
        ck_assert_str_eq(str_member(in, "status"), native_statuses[i]);
        /* the rest as it was */
        json_object_set_new(out, "status", json_string(native_statuses[i]));
        ck_assert_msg(json_equal(out, in), "%s: %s", native_statuses[i], dump(out));
    }
    /* a deep copy: the copy's members are its own */
    in = native_job("completed");
    out = unit_json_own(ingest_profile_status(in, words));
    json_object_set_new(json_object_get(out, "result_data"), "columns", json_integer(0));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(in, "result_data"), "columns")), 12);

    /* an unknown status, none, or not a string: as it is */
    out = unit_json_own(
        ingest_profile_status(unit_json("{\"job_id\":\"" JOB_ID "\",\"status\":\"cancelled\"}"), words));
    expect_json(out, "{\"job_id\":\"" JOB_ID "\",\"status\":\"cancelled\"}");
    out = unit_json_own(ingest_profile_status(unit_json("{\"status\":\"Running\"}"), words));
    expect_json(out, "{\"status\":\"Running\"}");
    out = unit_json_own(ingest_profile_status(unit_json("{\"status\":\"\"}"), words));
    expect_json(out, "{\"status\":\"\"}");
    out = unit_json_own(ingest_profile_status(unit_json("{\"job_id\":\"" JOB_ID "\"}"), words));
    expect_json(out, "{\"job_id\":\"" JOB_ID "\"}");
    out = unit_json_own(ingest_profile_status(unit_json("{\"status\":3}"), words));
    expect_json(out, "{\"status\":3}");
    out = unit_json_own(ingest_profile_status(unit_json("{\"status\":null}"), words));
    expect_json(out, "{\"status\":null}");
    ck_assert_ptr_null(ingest_profile_status(NULL, words));
}
END_TEST

/* ------------------------------------------------------------ seed000 */

static const char *const seed000_words[5] = {"pending", "pending", "processing", "completed", "failed"};

/* A native job as seed000 shows it in data.job. */
static json_t *seed000_job(json_t *native, const char *word)
{
    json_t *want = unit_json_own(json_deep_copy(native));
    json_object_set_new(want, "status", json_string(word));
    json_object_set(want, "started_processing_at", json_object_get(native, "started_at"));
    json_object_set(want, "error_message", json_object_get(native, "error"));
    return want;
}

/* Under unit_core_san, LeakSanitizer also checks that the shape releases
 * what it builds (in httpd, a leak per request): a leak ends the test's
 * process with "Early exit with return value 1". */
START_TEST(seed000_init)
{
    json_t *native, *got;
    int status, i;

    /* as POST /api/ingest/init answers: the job, its status_url and its
     * upload_url; pending (waiting for its file) or queued (simulate) */
    for (i = 0; i < 2; ++i) {
        native = native_job(native_statuses[i]);
        json_object_set_new(native, "status_url", json_string("/api/ingest/status/" JOB_ID));
        json_object_set_new(native, "upload_url",
                            json_string("/api/ingest/upload/" JOB_ID "?expires=1737374400&sig=3q2-7w"));
        status = 201;
        got = shape(INGEST_PROFILE_SEED000, "POST", "/api/ingest/init", &status, native);
        ck_assert_int_eq(status, 201);
        expect_json(got, "{\"success\":true,\"message\":\"Upload initiated successfully\",\"data\":{"
                         "\"job_id\":\"" JOB_ID "\",\"upload_url\":\"/api/ingest/upload/" JOB_ID
                         "?expires=1737374400&sig=3q2-7w\",\"status\":\"pending\","
                         "\"expires_at\":\"2025-01-20T12:00:00.000Z\"}}");
    }

    /* a replay (200), on a server without an upload secret: no upload_url */
    native = native_job("queued");
    status = 200;
    got = shape(INGEST_PROFILE_SEED000, "POST", "/api/ingest/init", &status, native);
    ck_assert_int_eq(status, 200);
    expect_json(got, "{\"success\":true,\"message\":\"Upload initiated successfully\",\"data\":{"
                     "\"job_id\":\"" JOB_ID "\",\"upload_url\":null,\"status\":\"pending\","
                     "\"expires_at\":\"2025-01-20T12:00:00.000Z\"}}");
    /* the native answer untouched */
    ck_assert_str_eq(str_member(native, "status"), "queued");
}
END_TEST

START_TEST(seed000_status)
{
    int i;
    for (i = 0; i < 5; ++i) {
        json_t *native = native_job(native_statuses[i]), *got, *job;
        int status = 200;

        got = shape(INGEST_PROFILE_SEED000, "GET", "/api/ingest/status/{}", &status, native);
        ck_assert_int_eq(status, 200);
        ck_assert_ptr_nonnull(got);
        ck_assert_msg(json_is_true(json_object_get(got, "success")), "%s", dump(got));
        ck_assert_uint_eq(json_object_size(got), 2); /* success, data */
        ck_assert_uint_eq(json_object_size(json_object_get(got, "data")), 1);
        job = json_object_get(json_object_get(got, "data"), "job");
        ck_assert_msg(json_equal(job, seed000_job(native, seed000_words[i])), "%s: %s", native_statuses[i],
                      dump(job));
        ck_assert_str_eq(str_member(job, "status"), seed000_words[i]);
        ck_assert_uint_eq(json_object_size(job), json_object_size(native) + 2);
        ck_assert_str_eq(str_member(native, "status"), native_statuses[i]);
    }

    /* the members the seed's tab reads, by value */
    {
        int status = 200;
        json_t *got =
            shape(INGEST_PROFILE_SEED000, "GET", "/api/ingest/status/{}", &status, native_job("running"));
        json_t *job = json_object_get(json_object_get(got, "data"), "job");
        ck_assert_str_eq(str_member(job, "job_id"), JOB_ID);
        ck_assert_str_eq(str_member(job, "filename"), "project_data.csv");
        ck_assert_str_eq(str_member(job, "status"), "processing");
        ck_assert_str_eq(str_member(job, "created_at"), "2025-01-20T10:00:00.000Z");
        ck_assert_str_eq(str_member(job, "started_processing_at"), "2025-01-20T10:00:05.000Z");
        ck_assert(json_is_null(json_object_get(job, "error_message")));
        ck_assert(json_is_null(json_object_get(job, "completed_at")));
        ck_assert_int_eq(json_integer_value(json_object_get(job, "progress")), 50);

        got = shape(INGEST_PROFILE_SEED000, "GET", "/api/ingest/status/{}", &status, native_job("completed"));
        job = json_object_get(json_object_get(got, "data"), "job");
        ck_assert_str_eq(str_member(job, "status"), "completed");
        expect_json(json_object_get(job, "result_data"), "{\"rows_processed\":1500,\"columns\":12}");
        ck_assert_str_eq(str_member(job, "completed_at"), "2025-01-20T10:00:15.000Z");
        ck_assert_int_eq(json_integer_value(json_object_get(job, "progress")), 100);

        got = shape(INGEST_PROFILE_SEED000, "GET", "/api/ingest/status/{}", &status, native_job("failed"));
        job = json_object_get(json_object_get(got, "data"), "job");
        ck_assert_str_eq(str_member(job, "status"), "failed");
        ck_assert_str_eq(str_member(job, "error_message"),
                         "malformed CSV: a quoted field is not closed at the end of the file");
        ck_assert_str_eq(str_member(job, "started_processing_at"), "2025-01-20T10:00:05.000Z");
    }
}
END_TEST

START_TEST(seed000_list)
{
    json_t *page, *got, *jobs;
    int status = 200, i;

    /* one job in each status */
    page = unit_json_own(json_pack("{s:[O,O,O,O,O], s:I, s:i, s:i, s:b}", "jobs",
                                   native_job_id(JOB_ID, "pending"), native_job_id(JOB_ID2, "queued"),
                                   native_job("running"), native_job("completed"), native_job("failed"),
                                   "total", (json_int_t)5, "limit", 100, "offset", 0, "has_more", 0));
    got = shape(INGEST_PROFILE_SEED000, "GET", "/api/ingest/jobs", &status, page);
    ck_assert_int_eq(status, 200);
    ck_assert_msg(json_is_true(json_object_get(got, "success")), "%s", dump(got));
    ck_assert_uint_eq(json_object_size(got), 2);
    ck_assert_uint_eq(json_object_size(json_object_get(got, "data")), 2); /* jobs, count */
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(got, "data"), "count")), 5);
    jobs = json_object_get(json_object_get(got, "data"), "jobs");
    ck_assert_uint_eq(json_array_size(jobs), 5);
    for (i = 0; i < 5; ++i) {
        json_t *native = json_array_get(json_object_get(page, "jobs"), (size_t)i);
        ck_assert_msg(json_equal(json_array_get(jobs, (size_t)i), seed000_job(native, seed000_words[i])),
                      "job %d: %s", i, dump(json_array_get(jobs, (size_t)i)));
    }
    ck_assert_str_eq(str_member(json_array_get(jobs, 1), "job_id"), JOB_ID2);

    /* count is the total, not the page's length */
    status = 200;
    got = shape(INGEST_PROFILE_SEED000, "GET", "/api/ingest/jobs", &status, native_jobs_page());
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(got, "data"), "count")), 7);
    ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(got, "data"), "jobs")), 2);
    ck_assert_str_eq(
        str_member(json_array_get(json_object_get(json_object_get(got, "data"), "jobs"), 0), "status"),
        "processing");

    /* none */
    status = 200;
    got = shape(INGEST_PROFILE_SEED000, "GET", "/api/ingest/jobs", &status,
                unit_json("{\"jobs\":[],\"total\":0,\"limit\":100,\"offset\":0,\"has_more\":false}"));
    expect_json(got, "{\"success\":true,\"data\":{\"jobs\":[],\"count\":0}}");

    /* the seed listed every job: the most a page holds, unless asked */
    ck_assert_str_eq(query(INGEST_PROFILE_SEED000, "GET", "/api/ingest/jobs", NULL), "limit=100");
    ck_assert_str_eq(query(INGEST_PROFILE_SEED000, "GET", "/api/ingest/jobs", ""), "limit=100");
    ck_assert_str_eq(query(INGEST_PROFILE_SEED000, "GET", "/api/ingest/jobs", "status=failed"),
                     "status=failed&limit=100");
    ck_assert_str_eq(query(INGEST_PROFILE_SEED000, "GET", "/api/ingest/jobs", "limit=10&offset=10"),
                     "limit=10&offset=10");
}
END_TEST

START_TEST(seed000_stats)
{
    int status = 200;
    json_t *got = shape(INGEST_PROFILE_SEED000, "GET", "/api/ingest/stats", &status,
                        unit_json("{\"total\":10,\"pending\":1,\"queued\":1,\"running\":1,\"completed\":6,"
                                  "\"failed\":1}"));
    ck_assert_int_eq(status, 200);
    expect_json(got, "{\"success\":true,\"data\":{\"stats\":{\"total\":10,\"pending\":2,\"processing\":1,"
                     "\"completed\":6,\"failed\":1}}}");

    got = shape(
        INGEST_PROFILE_SEED000, "GET", "/api/ingest/stats", &status,
        unit_json("{\"total\":0,\"pending\":0,\"queued\":0,\"running\":0,\"completed\":0,\"failed\":0}"));
    expect_json(got, "{\"success\":true,\"data\":{\"stats\":{\"total\":0,\"pending\":0,\"processing\":0,"
                     "\"completed\":0,\"failed\":0}}}");

    got = shape(INGEST_PROFILE_SEED000, "GET", "/api/ingest/stats", &status,
                unit_json("{\"total\":1234567,\"pending\":1000000,\"queued\":200000,\"running\":30000,"
                          "\"completed\":4000,\"failed\":567}"));
    expect_json(got, "{\"success\":true,\"data\":{\"stats\":{\"total\":1234567,\"pending\":1200000,"
                     "\"processing\":30000,\"completed\":4000,\"failed\":567}}}");
    ck_assert_int_eq(status, 200);
}
END_TEST

START_TEST(seed000_delete)
{
    /* the native 204 has no body; the envelope is the answer */
    int status = 204;
    json_t *got = shape(INGEST_PROFILE_SEED000, "DELETE", "/api/ingest/{}", &status, NULL);
    ck_assert_int_eq(status, 200);
    expect_json(got, "{\"success\":true,\"message\":\"Job deleted successfully\"}");
}
END_TEST

/* The module's other /api/ingest/ answers, in the envelope as they are. */
START_TEST(seed000_wrap)
{
    json_t *native, *got;
    int status;

    native = native_job("queued");
    json_object_set_new(native, "status_url", json_string("/api/ingest/status/" JOB_ID));
    json_object_set_new(native, "results_url", json_string("/api/ingest/status/" JOB_ID "/results"));
    status = 202;
    got = shape(INGEST_PROFILE_SEED000, "POST", "/api/ingest/json", &status, native);
    ck_assert_int_eq(status, 202);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(json_object_size(got), 2);
    ck_assert(json_is_true(json_object_get(got, "success")));
    ck_assert_msg(json_equal(json_object_get(got, "data"), native), "%s", dump(got));

    native = native_results_page("completed");
    status = 200;
    got = shape(INGEST_PROFILE_SEED000, "GET", "/api/ingest/status/{}/results", &status, native);
    ck_assert_int_eq(status, 200);
    ck_assert_uint_eq(json_object_size(got), 2);
    ck_assert(json_is_true(json_object_get(got, "success")));
    ck_assert_msg(json_equal(json_object_get(got, "data"), native), "%s", dump(got));

    native = native_job("queued");
    status = 200;
    got = shape(INGEST_PROFILE_SEED000, "PUT", "/api/ingest/upload/{}", &status, native);
    ck_assert_int_eq(status, 200);
    ck_assert(json_is_true(json_object_get(got, "success")));
    ck_assert_msg(json_equal(json_object_get(got, "data"), native), "%s", dump(got));

    native = native_health_ok();
    status = 200;
    got = shape(INGEST_PROFILE_SEED000, "GET", "/api/ingest/health", &status, native);
    ck_assert_int_eq(status, 200);
    ck_assert_uint_eq(json_object_size(got), 2);
    ck_assert(json_is_true(json_object_get(got, "success")));
    ck_assert_msg(json_equal(json_object_get(got, "data"), native), "%s", dump(got));

    /* without a body: an empty data */
    status = 204;
    got = shape(INGEST_PROFILE_SEED000, "PUT", "/api/ingest/upload/{}", &status, NULL);
    expect_json(got, "{\"success\":true,\"data\":{}}");
}
END_TEST

/* An unhealthy server (503) answers through the health route's shape
 * (mod_ingest_router.c sends a health answer of any status there, so
 * seed002 can word its "unhealthy"): in seed000's envelope an error is
 * {"success": false, "message"}, whatever the route. */
START_TEST(seed000_health_unhealthy)
{
    json_t *got;
    int status = 503;

    got = shape(INGEST_PROFILE_SEED000, "GET", "/api/ingest/health", &status,
                native_health_down("/api/ingest/health"));
    ck_assert_int_eq(status, 503);
    ck_assert_ptr_nonnull(got);
    ck_assert_msg(json_is_false(json_object_get(got, "success")), "a 503 that says success: %s", dump(got));
    ck_assert_str_eq(str_member(got, "message"), "the database cannot be reached");

    status = 503;
    got = shape(INGEST_PROFILE_SEED000, "GET", "/api/ingest/health", &status,
                native_health_stale("/api/ingest/health"));
    ck_assert_int_eq(status, 503);
    ck_assert_msg(json_is_false(json_object_get(got, "success")), "a 503 that says success: %s", dump(got));
    ck_assert_str_eq(str_member(got, "message"), "the background worker has not run lately");
}
END_TEST

START_TEST(seed000_errors)
{
    static const char *const messages[P_COUNT] = {"no such job", "limit must be an integer from 1 to 100",
                                                  "'[' or '{' expected near 'mappings' at line 1, column 8",
                                                  "a bearer token is required",
                                                  "the database cannot be reached; retry later"};
    int i;

    for (i = 0; i < P_COUNT; ++i) {
        int status = problem_status[i];
        json_t *got = error_of(INGEST_PROFILE_SEED000, i == P_400 ? "POST" : "GET", &status,
                               native_problem(i, "limit", "/api/ingest/status/" JOB_ID));
        ck_assert_int_eq(status, problem_status[i]); /* the native codes */
        expect_json(got, apr_psprintf(unit_pool, "{\"success\":false,\"message\":\"%s\"}", messages[i]));
    }
    /* a 404 of the router, a 405 */
    {
        int status = 404;
        json_t *got = error_of(INGEST_PROFILE_SEED000, "GET", &status,
                               problem(404, "no-route", "Not found", "no API endpoint at /api/ingest/nope",
                                       NULL, "/api/ingest/nope"));
        expect_json(got, "{\"success\":false,\"message\":\"no API endpoint at /api/ingest/nope\"}");
        status = 405;
        got = error_of(INGEST_PROFILE_SEED000, "PUT", &status,
                       problem(405, "method-not-allowed", "Method not allowed",
                               "PUT is not allowed here; allowed: GET, HEAD", NULL, "/api/ingest/jobs"));
        ck_assert_int_eq(status, 405);
        expect_json(got, "{\"success\":false,\"message\":\"PUT is not allowed here; allowed: GET, HEAD\"}");
        /* no detail: the title */
        status = 500;
        got = error_of(INGEST_PROFILE_SEED000, "GET", &status,
                       problem(500, "internal", "Internal server error", NULL, NULL, "/api/ingest/stats"));
        expect_json(got, "{\"success\":false,\"message\":\"Internal server error\"}");
        ck_assert_int_eq(status, 500);
    }
}
END_TEST

/* ------------------------------------------------------------ seed001 */

static const char *const seed001_words[5] = {"queued", "queued", "running", "completed", "failed"};

START_TEST(seed001_status)
{
    static const char *const want[5] = {
        "{\"job_id\":\"" JOB_ID "\",\"status\":\"queued\",\"submitted_at\":\"2025-01-20T10:00:00.000Z\","
        "\"started_at\":null,\"completed_at\":null,\"records_processed\":0,\"error\":null}",
        "{\"job_id\":\"" JOB_ID "\",\"status\":\"queued\",\"submitted_at\":\"2025-01-20T10:00:00.000Z\","
        "\"started_at\":null,\"completed_at\":null,\"records_processed\":0,\"error\":null}",
        "{\"job_id\":\"" JOB_ID "\",\"status\":\"running\",\"submitted_at\":\"2025-01-20T10:00:00.000Z\","
        "\"started_at\":\"2025-01-20T10:00:05.000Z\",\"completed_at\":null,\"records_processed\":750,"
        "\"error\":null}",
        "{\"job_id\":\"" JOB_ID "\",\"status\":\"completed\",\"submitted_at\":\"2025-01-20T10:00:00.000Z\","
        "\"started_at\":\"2025-01-20T10:00:05.000Z\",\"completed_at\":\"2025-01-20T10:00:15.000Z\","
        "\"records_processed\":1500,\"error\":null}",
        "{\"job_id\":\"" JOB_ID "\",\"status\":\"failed\",\"submitted_at\":\"2025-01-20T10:00:00.000Z\","
        "\"started_at\":\"2025-01-20T10:00:05.000Z\",\"completed_at\":\"2025-01-20T10:00:07.000Z\","
        "\"records_processed\":0,\"error\":\"malformed CSV: a quoted field is not closed at the end of the "
        "file\"}",
    };
    int i;

    for (i = 0; i < 5; ++i) {
        json_t *native = native_job(native_statuses[i]);
        int status = 200;
        json_t *got = shape(INGEST_PROFILE_SEED001, "GET", "/api/job/{}", &status, native);
        ck_assert_int_eq(status, 200);
        expect_json(got, want[i]);
        ck_assert_str_eq(str_member(got, "status"), seed001_words[i]);
        ck_assert_str_eq(str_member(native, "status"), native_statuses[i]);
    }
    /* HEAD as GET */
    {
        int status = 200;
        json_t *got = shape(INGEST_PROFILE_SEED001, "GET", "/api/job/{}", &status, native_job("running"));
        json_t *head = unit_json_own(route_of(INGEST_PROFILE_SEED001, "GET", "/api/job/{}")
                                         ->shape(unit_pool, "HEAD", &status, native_job("running")));
        ck_assert(json_equal(got, head));
        ck_assert_int_eq(status, 200);
    }
}
END_TEST

START_TEST(seed001_list)
{
    json_t *page, *got;
    int status = 200;

    page = unit_json_own(json_pack("{s:[O,O,O,O,O], s:I, s:i, s:i, s:b}", "jobs",
                                   native_job_id(JOB_ID2, "pending"), native_job("queued"),
                                   native_job("running"), native_job("completed"), native_job("failed"),
                                   "total", (json_int_t)12, "limit", 5, "offset", 5, "has_more", 1));
    got = shape(INGEST_PROFILE_SEED001, "GET", "/api/jobs", &status, page);
    ck_assert_int_eq(status, 200);
    expect_json(
        got,
        "{\"results\":["
        "{\"job_id\":\"" JOB_ID2 "\",\"status\":\"queued\",\"submitted_at\":\"2025-01-20T10:00:00.000Z\","
        "\"completed_at\":null,\"records_processed\":0},"
        "{\"job_id\":\"" JOB_ID "\",\"status\":\"queued\",\"submitted_at\":\"2025-01-20T10:00:00.000Z\","
        "\"completed_at\":null,\"records_processed\":0},"
        "{\"job_id\":\"" JOB_ID "\",\"status\":\"running\",\"submitted_at\":\"2025-01-20T10:00:00.000Z\","
        "\"completed_at\":null,\"records_processed\":750},"
        "{\"job_id\":\"" JOB_ID "\",\"status\":\"completed\",\"submitted_at\":"
        "\"2025-01-20T10:00:00.000Z\",\"completed_at\":\"2025-01-20T10:00:15.000Z\","
        "\"records_processed\":1500},"
        "{\"job_id\":\"" JOB_ID "\",\"status\":\"failed\",\"submitted_at\":\"2025-01-20T10:00:00.000Z\","
        "\"completed_at\":\"2025-01-20T10:00:07.000Z\",\"records_processed\":0}],"
        "\"offset\":5,\"limit\":5}");

    status = 200;
    got = shape(INGEST_PROFILE_SEED001, "GET", "/api/jobs", &status,
                unit_json("{\"jobs\":[],\"total\":0,\"limit\":20,\"offset\":0,\"has_more\":false}"));
    expect_json(got, "{\"results\":[],\"offset\":0,\"limit\":20}");
    ck_assert_int_eq(status, 200);
}
END_TEST

START_TEST(seed001_errors)
{
    json_t *got;
    int status;

    status = 404;
    got = error_of(INGEST_PROFILE_SEED001, "GET", &status, native_problem(P_404, NULL, "/api/job/" JOB_ID));
    ck_assert_int_eq(status, 404);
    expect_json(got, "{\"detail\":\"Job not found\"}");

    /* GET /api/jobs?limit=500 */
    status = 422;
    got = error_of(INGEST_PROFILE_SEED001, "GET", &status, native_problem(P_422, "limit", "/api/jobs"));
    ck_assert_int_eq(status, 422);
    expect_json(got,
                "{\"detail\":[{\"loc\":[\"query\",\"limit\"],\"msg\":\"must be an integer from 1 to 100\","
                "\"type\":\"value_error\"}]}");
    status = 422;
    got = error_of(INGEST_PROFILE_SEED001, "GET", &status,
                   problem(422, "invalid-field", "Invalid request field",
                           "status must be one of pending, queued, running, completed, failed", "status",
                           "/api/jobs"));
    expect_json(got, "{\"detail\":[{\"loc\":[\"query\",\"status\"],\"msg\":\"must be one of pending, queued, "
                     "running, completed, failed\",\"type\":\"value_error\"}]}");

    status = 400;
    got = error_of(INGEST_PROFILE_SEED001, "GET", &status, native_problem(P_400, NULL, "/api/jobs"));
    ck_assert_int_eq(status, 400);
    expect_json(got, "{\"detail\":\"'[' or '{' expected near 'mappings' at line 1, column 8\"}");

    status = 401;
    got = error_of(INGEST_PROFILE_SEED001, "GET", &status, native_problem(P_401, NULL, "/api/jobs"));
    ck_assert_int_eq(status, 401);
    expect_json(got, "{\"detail\":\"a bearer token is required\"}");

    status = 503;
    got = error_of(INGEST_PROFILE_SEED001, "GET", &status, native_problem(P_503, NULL, "/api/jobs"));
    ck_assert_int_eq(status, 503);
    expect_json(got, "{\"detail\":\"the database cannot be reached; retry later\"}");
}
END_TEST

/* ------------------------------------------------------------ seed002 */

static const char *const seed002_words[5] = {"pending", "pending", "in_progress", "completed", "failed"};

START_TEST(seed002_created)
{
    json_t *native = native_job("queued"), *got;
    int status = 202;

    json_object_set_new(native, "source_type", json_string("mappings"));
    json_object_set_new(native, "status_url", json_string("/api/ingest/status/" JOB_ID));
    json_object_set_new(native, "results_url", json_string("/api/ingest/status/" JOB_ID "/results"));
    got = shape(INGEST_PROFILE_SEED002, "POST", "/ingest", &status, native);
    ck_assert_int_eq(status, 200); /* FastAPI's */
    expect_json(got, "{\"request_id\":\"" JOB_ID "\",\"status\":\"pending\","
                     "\"message\":\"Ingestion request created successfully\"}");

    /* a replay (200) */
    status = 200;
    got = shape(INGEST_PROFILE_SEED002, "POST", "/ingest", &status, native);
    ck_assert_int_eq(status, 200);
    ck_assert_str_eq(str_member(got, "request_id"), JOB_ID);
}
END_TEST

START_TEST(seed002_status)
{
    static const char *const want[5] = {
        "{\"request_id\":\"" JOB_ID "\",\"status\":\"pending\",\"progress\":0,\"total_mappings\":0,"
        "\"processed_mappings\":0,\"failed_mappings\":0,\"details\":null}",
        "{\"request_id\":\"" JOB_ID "\",\"status\":\"pending\",\"progress\":0,\"total_mappings\":0,"
        "\"processed_mappings\":0,\"failed_mappings\":0,\"details\":null}",
        "{\"request_id\":\"" JOB_ID "\",\"status\":\"in_progress\",\"progress\":50,\"total_mappings\":1500,"
        "\"processed_mappings\":750,\"failed_mappings\":3,\"details\":null}",
        "{\"request_id\":\"" JOB_ID "\",\"status\":\"completed\",\"progress\":100,\"total_mappings\":1500,"
        "\"processed_mappings\":1500,\"failed_mappings\":0,\"details\":null}",
        "{\"request_id\":\"" JOB_ID "\",\"status\":\"failed\",\"progress\":0,\"total_mappings\":0,"
        "\"processed_mappings\":0,\"failed_mappings\":0,\"details\":\"malformed CSV: a quoted field is not "
        "closed at the end of the file\"}",
    };
    int i;

    for (i = 0; i < 5; ++i) {
        json_t *native = native_job(native_statuses[i]);
        int status = 200;
        json_t *got = shape(INGEST_PROFILE_SEED002, "GET", "/status/{}", &status, native);
        ck_assert_int_eq(status, 200);
        expect_json(got, want[i]);
        ck_assert_str_eq(str_member(got, "status"), seed002_words[i]);
        ck_assert_str_eq(str_member(native, "status"), native_statuses[i]);
    }
}
END_TEST

START_TEST(seed002_results)
{
    static const char *const items =
        "[{\"index\":0,\"id\":\"map_001\",\"source\":\"source_1\",\"target\":\"target_1\",\"transformation\":"
        "null,"
        "\"status\":\"success\",\"error\":null,\"processed_at\":\"2025-06-05T10:00:01.000Z\"},{\"index\":1,"
        "\"id\":"
        "\"map_002\",\"source\":\"source_2\",\"target\":\"target_2\",\"transformation\":{\"field1\":"
        "\"value1\"},"
        "\"status\":\"failed\",\"error\":\"the external API answered 502\",\"processed_at\":"
        "\"2025-06-05T10:00:02.000Z\"}]";
    int i;

    for (i = 0; i < 5; ++i) {
        int status = 200;
        json_t *got = shape(INGEST_PROFILE_SEED002, "GET", "/status/{}/results", &status,
                            native_results_page(native_statuses[i]));
        ck_assert_int_eq(status, 200);
        expect_json(got, apr_psprintf(unit_pool,
                                      "{\"request_id\":\"" JOB_ID "\",\"status\":\"%s\",\"total_mappings\":2,"
                                      "\"processed_mappings\":2,\"failed_mappings\":1,\"results\":%s}",
                                      seed002_words[i], items));
    }
    /* no items yet */
    {
        int status = 200;
        json_t *got =
            shape(INGEST_PROFILE_SEED002, "GET", "/status/{}/results", &status,
                  unit_json("{\"status\":\"queued\",\"total_items\":2,\"processed_items\":0,"
                            "\"failed_items\":0,\"job_id\":\"" JOB_ID2 "\",\"results\":[],\"total\":0,"
                            "\"limit\":100,\"offset\":0,\"has_more\":false}"));
        expect_json(got, "{\"request_id\":\"" JOB_ID2 "\",\"status\":\"pending\",\"total_mappings\":2,"
                         "\"processed_mappings\":0,\"failed_mappings\":0,\"results\":[]}");
    }
    /* all the results, unless asked */
    ck_assert_str_eq(query(INGEST_PROFILE_SEED002, "GET", "/status/{}/results", NULL), "limit=100");
    ck_assert_str_eq(query(INGEST_PROFILE_SEED002, "GET", "/status/{}/results", ""), "limit=100");
    ck_assert_str_eq(query(INGEST_PROFILE_SEED002, "GET", "/status/{}/results", "status=failed"),
                     "status=failed&limit=100");
    ck_assert_str_eq(query(INGEST_PROFILE_SEED002, "GET", "/status/{}/results", "offset=2&limit=2"),
                     "offset=2&limit=2");
}
END_TEST

/* "YYYY-MM-DDTHH:MM:SSZ", within a minute of now */
static void recent_timestamp(const char *ts)
{
    apr_time_exp_t t;
    apr_time_t when;
    int y, mo, d, h, mi, s;
    char z;

    ck_assert_msg(strlen(ts) == 20, "timestamp %s", ts);
    ck_assert_msg(sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &z) == 7 && z == 'Z',
                  "timestamp %s", ts);
    ck_assert_msg(ts[4] == '-' && ts[7] == '-' && ts[10] == 'T' && ts[13] == ':' && ts[16] == ':',
                  "timestamp %s", ts);
    memset(&t, 0, sizeof(t));
    t.tm_year = y - 1900;
    t.tm_mon = mo - 1;
    t.tm_mday = d;
    t.tm_hour = h;
    t.tm_min = mi;
    t.tm_sec = s;
    ck_assert_int_eq(apr_time_exp_gmt_get(&when, &t), APR_SUCCESS);
    ck_assert_msg(when <= apr_time_now() + apr_time_from_sec(1)
                      && when >= apr_time_now() - apr_time_from_sec(60),
                  "timestamp %s is not now", ts);
}

START_TEST(seed002_health)
{
    json_t *got;
    int status;

    status = 200;
    got = shape(INGEST_PROFILE_SEED002, "GET", "/health", &status, native_health_ok());
    ck_assert_int_eq(status, 200);
    ck_assert_ptr_nonnull(got);
    recent_timestamp(str_member(got, "timestamp"));
    json_object_del(got, "timestamp");
    expect_json(got, "{\"status\":\"healthy\",\"active_requests\":5}");

    /* 503: the database down (no counts), the worker stale (counts) */
    status = 503;
    got = shape(INGEST_PROFILE_SEED002, "GET", "/health", &status, native_health_down("/health"));
    ck_assert_int_eq(status, 503);
    recent_timestamp(str_member(got, "timestamp"));
    json_object_del(got, "timestamp");
    expect_json(got, "{\"status\":\"unhealthy\",\"active_requests\":0}");

    status = 503;
    got = shape(INGEST_PROFILE_SEED002, "GET", "/health", &status, native_health_stale("/health"));
    ck_assert_int_eq(status, 503);
    recent_timestamp(str_member(got, "timestamp"));
    json_object_del(got, "timestamp");
    expect_json(got, "{\"status\":\"unhealthy\",\"active_requests\":5}");
}
END_TEST

START_TEST(seed002_errors)
{
    json_t *got;
    int status;

    status = 404;
    got = error_of(INGEST_PROFILE_SEED002, "GET", &status, native_problem(P_404, NULL, "/status/" JOB_ID));
    ck_assert_int_eq(status, 404);
    expect_json(got, "{\"detail\":\"Request not found\"}");
    status = 404;
    got = error_of(INGEST_PROFILE_SEED002, "GET", &status,
                   native_problem(P_404, NULL, "/status/" JOB_ID "/results"));
    expect_json(got, "{\"detail\":\"Request not found\"}");

    /* POST /ingest: the body's fields */
    status = 422;
    got = error_of(INGEST_PROFILE_SEED002, "POST", &status,
                   problem(422, "invalid-field", "Invalid request field", "mappings[0].id is required",
                           "mappings[0].id", "/ingest"));
    ck_assert_int_eq(status, 422);
    expect_json(got, "{\"detail\":[{\"loc\":[\"body\",\"mappings[0].id\"],\"msg\":\"is required\","
                     "\"type\":\"value_error\"}]}");
    status = 422;
    got = error_of(INGEST_PROFILE_SEED002, "POST", &status,
                   problem(422, "invalid-field", "Invalid request field",
                           "priority must be one of HIGH, MEDIUM, LOW", "priority", "/ingest"));
    expect_json(got,
                "{\"detail\":[{\"loc\":[\"body\",\"priority\"],\"msg\":\"must be one of HIGH, MEDIUM, LOW\","
                "\"type\":\"value_error\"}]}");
    /* GET .../results?limit=0: the query's */
    status = 422;
    got = error_of(INGEST_PROFILE_SEED002, "GET", &status,
                   native_problem(P_422, "limit", "/status/" JOB_ID "/results"));
    expect_json(got,
                "{\"detail\":[{\"loc\":[\"query\",\"limit\"],\"msg\":\"must be an integer from 1 to 100\","
                "\"type\":\"value_error\"}]}");
    /* the body as a whole: no field */
    status = 422;
    got = error_of(INGEST_PROFILE_SEED002, "POST", &status,
                   problem(422, "invalid-field", "Invalid request field",
                           "the request body must be a JSON object", NULL, "/ingest"));
    ck_assert_int_eq(status, 422);
    expect_json(got, "{\"detail\":\"the request body must be a JSON object\"}");

    status = 400;
    got = error_of(INGEST_PROFILE_SEED002, "POST", &status, native_problem(P_400, NULL, "/ingest"));
    ck_assert_int_eq(status, 400);
    expect_json(got, "{\"detail\":\"'[' or '{' expected near 'mappings' at line 1, column 8\"}");

    status = 401;
    got = error_of(INGEST_PROFILE_SEED002, "POST", &status, native_problem(P_401, NULL, "/ingest"));
    ck_assert_int_eq(status, 401);
    expect_json(got, "{\"detail\":\"a bearer token is required\"}");

    status = 503;
    got = error_of(INGEST_PROFILE_SEED002, "POST", &status, native_problem(P_503, NULL, "/ingest"));
    ck_assert_int_eq(status, 503);
    expect_json(got, "{\"detail\":\"the database cannot be reached; retry later\"}");

    status = 500;
    got = error_of(INGEST_PROFILE_SEED002, "GET", &status,
                   problem(500, "internal", "Internal server error",
                           "the request could not be completed; the server log has details", NULL,
                           "/status/x"));
    ck_assert_int_eq(status, 500);
    expect_json(got, "{\"detail\":\"the request could not be completed; the server log has details\"}");
}
END_TEST

/* ------------------------------------------------------------ seed003 */

START_TEST(seed003_query)
{
    /* the seed's documented requests */
    ck_assert_str_eq(query(INGEST_PROFILE_SEED003, "GET", "/api/v1/jobs", "skip=0&limit=10"),
                     "skip=0&limit=10");
    ck_assert_str_eq(
        query(INGEST_PROFILE_SEED003, "GET", "/api/v1/jobs", "skip=0&limit=50&team_id=ml-platform"),
        "skip=0&limit=50&team=ml-platform");
    ck_assert_str_eq(query(INGEST_PROFILE_SEED003, "GET", "/api/v1/jobs",
                           "team_id=nlp&status=completed&provider=aws&skip=20&limit=10"),
                     "team=nlp&status=completed&provider=aws&skip=20&limit=10");
    ck_assert_ptr_null(query(INGEST_PROFILE_SEED003, "GET", "/api/v1/jobs", NULL));
    ck_assert_str_eq(query(INGEST_PROFILE_SEED003, "GET", "/api/v1/jobs", ""), "");
    ck_assert_str_eq(query(INGEST_PROFILE_SEED003, "GET", "/api/v1/jobs", "team=nlp"), "team=nlp");
}
END_TEST

START_TEST(seed003_errors)
{
    json_t *got;
    int status;

    status = 422;
    got = error_of(INGEST_PROFILE_SEED003, "GET", &status,
                   problem(422, "invalid-field", "Invalid request field", "start must be a date (YYYY-MM-DD)",
                           "start", "/api/v1/analytics/cost/by-model"));
    ck_assert_int_eq(status, 422);
    expect_json(got, "{\"detail\":[{\"loc\":[\"query\",\"start\"],\"msg\":\"must be a date (YYYY-MM-DD)\","
                     "\"type\":\"value_error\"}]}");
    status = 422;
    got = error_of(INGEST_PROFILE_SEED003, "GET", &status, native_problem(P_422, "limit", "/api/v1/jobs"));
    expect_json(got,
                "{\"detail\":[{\"loc\":[\"query\",\"limit\"],\"msg\":\"must be an integer from 1 to 100\","
                "\"type\":\"value_error\"}]}");

    status = 404;
    got = error_of(
        INGEST_PROFILE_SEED003, "GET", &status,
        problem(404, "no-route", "Not found", "no API endpoint at /api/v1/nope", NULL, "/api/v1/nope"));
    ck_assert_int_eq(status, 404);
    expect_json(got, "{\"detail\":\"no API endpoint at /api/v1/nope\"}");

    status = 400;
    got = error_of(INGEST_PROFILE_SEED003, "POST", &status,
                   native_problem(P_400, NULL, "/api/v1/admin/ingest/jobs/mock"));
    ck_assert_int_eq(status, 400);
    expect_json(got, "{\"detail\":\"'[' or '{' expected near 'mappings' at line 1, column 8\"}");

    status = 401;
    got = error_of(INGEST_PROFILE_SEED003, "GET", &status, native_problem(P_401, NULL, "/api/v1/jobs"));
    ck_assert_int_eq(status, 401);
    expect_json(got, "{\"detail\":\"a bearer token is required\"}");

    status = 403;
    got = error_of(INGEST_PROFILE_SEED003, "POST", &status,
                   problem(403, "forbidden", "Forbidden", NULL, NULL, "/api/v1/admin/ingest/jobs/mock"));
    ck_assert_int_eq(status, 403);
    expect_json(got, "{\"detail\":\"Forbidden\"}");

    status = 503;
    got = error_of(INGEST_PROFILE_SEED003, "GET", &status, native_problem(P_503, NULL, "/api/v1/jobs"));
    ck_assert_int_eq(status, 503);
    expect_json(got, "{\"detail\":\"the database cannot be reached; retry later\"}");
}
END_TEST

/* ------------------------------------------------------------ FastAPI's errors */

START_TEST(fastapi_error)
{
    json_t *got, *pb;
    int status;

    /* where the field is: the query for GET, HEAD and DELETE, the body otherwise */
    {
        static const char *const methods[] = {"GET", "HEAD", "DELETE", "POST", "PUT"};
        static const char *const locs[] = {"query", "query", "query", "body", "body"};
        size_t i;
        for (i = 0; i < 5; ++i) {
            status = 422;
            got = unit_json_own(ingest_profile_fastapi_error(unit_pool, methods[i], &status,
                                                             native_problem(P_422, "limit", "/x")));
            ck_assert_int_eq(status, 422);
            expect_json(got,
                        apr_psprintf(unit_pool,
                                     "{\"detail\":[{\"loc\":[\"%s\",\"limit\"],\"msg\":\"must be an integer "
                                     "from 1 to 100\",\"type\":\"value_error\"}]}",
                                     locs[i]));
        }
    }

    /* a detail that does not start with the field: as it is */
    status = 422;
    pb = problem(422, "invalid-field", "Invalid request field", "limitless is not a number", "limit", "/x");
    got = unit_json_own(ingest_profile_fastapi_error(unit_pool, "GET", &status, pb));
    expect_json(got, "{\"detail\":[{\"loc\":[\"query\",\"limit\"],\"msg\":\"limitless is not a number\","
                     "\"type\":\"value_error\"}]}");
    /* the field alone */
    pb = problem(422, "invalid-field", "Invalid request field", "limit", "limit", "/x");
    got = unit_json_own(ingest_profile_fastapi_error(unit_pool, "GET", &status, pb));
    expect_json(got,
                "{\"detail\":[{\"loc\":[\"query\",\"limit\"],\"msg\":\"limit\",\"type\":\"value_error\"}]}");
    /* no detail */
    pb = problem(422, "invalid-field", "Invalid request field", NULL, "limit", "/x");
    got = unit_json_own(ingest_profile_fastapi_error(unit_pool, "GET", &status, pb));
    expect_json(got, "{\"detail\":[{\"loc\":[\"query\",\"limit\"],\"msg\":\"is not valid\",\"type\":"
                     "\"value_error\"}]}");
    /* a name that was not UTF-8, escaped alike in field and detail */
    pb = problem(422, "invalid-field", "Invalid request field", "\xff unknown query parameter", "\xff", "/x");
    got = unit_json_own(ingest_profile_fastapi_error(unit_pool, "GET", &status, pb));
    expect_json(got, "{\"detail\":[{\"loc\":[\"query\",\"%FF\"],\"msg\":\"unknown query parameter\",\"type\":"
                     "\"value_error\"}]}");

    /* a 422 without a field, any other status: the detail, else the title */
    status = 422;
    pb = problem(422, "idempotency-key-reused", "Idempotency-Key reused",
                 "Idempotency-Key was already used for a different ingestion", NULL, "/ingest");
    got = unit_json_own(ingest_profile_fastapi_error(unit_pool, "POST", &status, pb));
    ck_assert_int_eq(status, 422);
    expect_json(got, "{\"detail\":\"Idempotency-Key was already used for a different ingestion\"}");
    status = 413;
    pb = problem(413, "too-large", "Request body too large", NULL, "body", "/ingest");
    got = unit_json_own(ingest_profile_fastapi_error(unit_pool, "POST", &status, pb));
    ck_assert_int_eq(status, 413);
    expect_json(got, "{\"detail\":\"Request body too large\"}");
    status = 404;
    got = unit_json_own(
        ingest_profile_fastapi_error(unit_pool, "GET", &status, native_problem(P_404, NULL, "/x")));
    ck_assert_int_eq(status, 404);
    expect_json(got, "{\"detail\":\"no such job\"}");
    status = 500;
    got = unit_json_own(ingest_profile_fastapi_error(unit_pool, "GET", &status, unit_json("{}")));
    expect_json(got, "{\"detail\":\"error\"}");
}
END_TEST

/* ------------------------------------------------------------ suite */

Suite *suite_profile(void)
{
    Suite *s = suite_create("profile");
    TCase *tc = unit_tcase("profile");
    tcase_add_test(tc, parse_names);
    tcase_add_test(tc, get_each);
    tcase_add_test(tc, match_literal);
    tcase_add_test(tc, match_param);
    tcase_add_test(tc, tables_wellformed);
    tcase_add_test(tc, tables_exact);
    tcase_add_test(tc, tables_resolve);
    tcase_add_test(tc, endpoint_identity);
    tcase_add_test(tc, query_rename);
    tcase_add_test(tc, query_default);
    tcase_add_test(tc, profile_status);
    tcase_add_test(tc, seed000_init);
    tcase_add_test(tc, seed000_status);
    tcase_add_test(tc, seed000_list);
    tcase_add_test(tc, seed000_stats);
    tcase_add_test(tc, seed000_delete);
    tcase_add_test(tc, seed000_wrap);
    tcase_add_test(tc, seed000_health_unhealthy);
    tcase_add_test(tc, seed000_errors);
    tcase_add_test(tc, seed001_status);
    tcase_add_test(tc, seed001_list);
    tcase_add_test(tc, seed001_errors);
    tcase_add_test(tc, seed002_created);
    tcase_add_test(tc, seed002_status);
    tcase_add_test(tc, seed002_results);
    tcase_add_test(tc, seed002_health);
    tcase_add_test(tc, seed002_errors);
    tcase_add_test(tc, seed003_query);
    tcase_add_test(tc, seed003_errors);
    tcase_add_test(tc, fastapi_error);
    suite_add_tcase(s, tc);
    return s;
}
