#include <string.h>

#include "ingest_job.h"
#include "ingest_validate.h"
#include "unit.h"

static const char *const all_status_names[INGEST_ST_COUNT] = {
    "pending", "queued", "running", "completed", "failed",
};

START_TEST(status_names)
{
    ck_assert_str_eq(ingest_status_name(INGEST_ST_PENDING), "pending");
    ck_assert_str_eq(ingest_status_name(INGEST_ST_QUEUED), "queued");
    ck_assert_str_eq(ingest_status_name(INGEST_ST_RUNNING), "running");
    ck_assert_str_eq(ingest_status_name(INGEST_ST_COMPLETED), "completed");
    ck_assert_str_eq(ingest_status_name(INGEST_ST_FAILED), "failed");
    ck_assert_ptr_null(ingest_status_name(INGEST_ST_COUNT));
}
END_TEST

START_TEST(status_round_trip)
{
    int i;
    for (i = 0; i < INGEST_ST_COUNT; ++i) {
        ingest_status_e st = INGEST_ST_COUNT;
        const char *name = ingest_status_name((ingest_status_e)i);
        ck_assert_ptr_nonnull(name);
        ck_assert_str_eq(name, all_status_names[i]);
        ck_assert_int_eq(ingest_status_parse(name, &st), APR_SUCCESS);
        ck_assert_int_eq(st, i);
    }
}
END_TEST

START_TEST(status_parse_rejects_unknown)
{
    static const char *const bad[] = {
        "", "PENDING", "Running", "done", "cancelled", "pending ", " pending", "complete", "fail",
    };
    apr_size_t i;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        ingest_status_e st = INGEST_ST_RUNNING;
        ck_assert_msg(ingest_status_parse(bad[i], &st) == APR_EINVAL, "\"%s\" accepted", bad[i]);
        ck_assert_msg(st == INGEST_ST_RUNNING, "\"%s\" wrote the output", bad[i]);
    }
    {
        ingest_status_e st = INGEST_ST_RUNNING;
        ck_assert_int_eq(ingest_status_parse(NULL, &st), APR_EINVAL);
        ck_assert_int_eq(st, INGEST_ST_RUNNING);
    }
}
END_TEST

START_TEST(status_is_terminal)
{
    ck_assert_int_eq(ingest_status_is_terminal(INGEST_ST_PENDING), 0);
    ck_assert_int_eq(ingest_status_is_terminal(INGEST_ST_QUEUED), 0);
    ck_assert_int_eq(ingest_status_is_terminal(INGEST_ST_RUNNING), 0);
    ck_assert_int_eq(ingest_status_is_terminal(INGEST_ST_COMPLETED), 1);
    ck_assert_int_eq(ingest_status_is_terminal(INGEST_ST_FAILED), 1);
}
END_TEST

/* expected[from][to], in enum order pending, queued, running, completed, failed */
/* clang-format off */
static const int expected_edges[INGEST_ST_COUNT][INGEST_ST_COUNT] = {
    /*              pend qued runn comp fail */
    /* pending   */ { 0,   1,   1,   1,   1 },
    /* queued    */ { 0,   0,   1,   1,   1 },
    /* running   */ { 0,   1,   1,   1,   1 },
    /* completed */ { 0,   0,   0,   0,   0 },
    /* failed    */ { 0,   0,   0,   0,   0 },
};
/* clang-format on */

/* Loop test: _i runs over the 25 (from, to) pairs, one TAP line each. */
START_TEST(transition_matrix)
{
    ingest_status_e from = (ingest_status_e)(_i / INGEST_ST_COUNT);
    ingest_status_e to = (ingest_status_e)(_i % INGEST_ST_COUNT);
    int want = expected_edges[from][to];
    int got = ingest_status_can_transition(from, to);
    ck_assert_msg(got == want, "%s -> %s: expected %s, got %d", all_status_names[from], all_status_names[to],
                  want ? "allowed" : "refused", got);
}
END_TEST

START_TEST(transition_terminal_is_final)
{
    int to;
    for (to = 0; to < INGEST_ST_COUNT; ++to) {
        ck_assert_int_eq(ingest_status_can_transition(INGEST_ST_COMPLETED, (ingest_status_e)to), 0);
        ck_assert_int_eq(ingest_status_can_transition(INGEST_ST_FAILED, (ingest_status_e)to), 0);
        /* nothing ever goes back to pending */
        ck_assert_int_eq(ingest_status_can_transition((ingest_status_e)to, INGEST_ST_PENDING), 0);
    }
}
END_TEST

START_TEST(priority_names_and_parse)
{
    ingest_priority_e p = INGEST_PRIO_COUNT;
    ck_assert_str_eq(ingest_priority_name(INGEST_PRIO_HIGH), "HIGH");
    ck_assert_str_eq(ingest_priority_name(INGEST_PRIO_MEDIUM), "MEDIUM");
    ck_assert_str_eq(ingest_priority_name(INGEST_PRIO_LOW), "LOW");
    ck_assert_ptr_null(ingest_priority_name(INGEST_PRIO_COUNT));

    ck_assert_int_eq(ingest_priority_parse("HIGH", &p), APR_SUCCESS);
    ck_assert_int_eq(p, INGEST_PRIO_HIGH);
    ck_assert_int_eq(ingest_priority_parse("MEDIUM", &p), APR_SUCCESS);
    ck_assert_int_eq(p, INGEST_PRIO_MEDIUM);
    ck_assert_int_eq(ingest_priority_parse("LOW", &p), APR_SUCCESS);
    ck_assert_int_eq(p, INGEST_PRIO_LOW);

    p = INGEST_PRIO_MEDIUM;
    ck_assert_int_eq(ingest_priority_parse("high", &p), APR_EINVAL);
    ck_assert_int_eq(ingest_priority_parse("Low", &p), APR_EINVAL);
    ck_assert_int_eq(ingest_priority_parse("", &p), APR_EINVAL);
    ck_assert_int_eq(ingest_priority_parse("URGENT", &p), APR_EINVAL);
    ck_assert_int_eq(ingest_priority_parse("HIGH ", &p), APR_EINVAL);
    ck_assert_int_eq(ingest_priority_parse(NULL, &p), APR_EINVAL);
    ck_assert_int_eq(p, INGEST_PRIO_MEDIUM);
}
END_TEST

START_TEST(file_types_valid)
{
    static const char *const want[] = {"csv", "json", "ndjson", "xml", "pdf", "xlsx", "txt", "log"};
    apr_size_t i, n = 0;
    for (i = 0; i < sizeof(want) / sizeof(want[0]); ++i) {
        ck_assert_msg(ingest_file_type_valid(want[i]) == 1, "%s refused", want[i]);
    }
    /* the exported list is exactly these 8, in this order, NULL-terminated */
    while (ingest_file_types[n]) {
        ck_assert_uint_lt(n, sizeof(want) / sizeof(want[0]));
        ck_assert_str_eq(ingest_file_types[n], want[n]);
        ++n;
    }
    ck_assert_uint_eq(n, 8);
}
END_TEST

START_TEST(file_types_invalid)
{
    ck_assert_int_eq(ingest_file_type_valid("CSV"), 0);
    ck_assert_int_eq(ingest_file_type_valid("Json"), 0);
    ck_assert_int_eq(ingest_file_type_valid(""), 0);
    ck_assert_int_eq(ingest_file_type_valid("exe"), 0);
    ck_assert_int_eq(ingest_file_type_valid("csv "), 0);
    ck_assert_int_eq(ingest_file_type_valid(".csv"), 0);
    ck_assert_int_eq(ingest_file_type_valid("xls"), 0);
    ck_assert_int_eq(ingest_file_type_valid(NULL), 0);
}
END_TEST

START_TEST(progress_values)
{
    /* completed is always 100, whatever the counters say */
    ck_assert_int_eq(ingest_job_progress(INGEST_ST_COMPLETED, 0, 0), 100);
    ck_assert_int_eq(ingest_job_progress(INGEST_ST_COMPLETED, 200, 50), 100);
    ck_assert_int_eq(ingest_job_progress(INGEST_ST_COMPLETED, -1, -1), 100);
    /* total 0: nothing known yet */
    ck_assert_int_eq(ingest_job_progress(INGEST_ST_RUNNING, 0, 0), 0);
    ck_assert_int_eq(ingest_job_progress(INGEST_ST_RUNNING, 0, 10), 0);
    /* done counting but not completed: at most 99 */
    ck_assert_int_eq(ingest_job_progress(INGEST_ST_RUNNING, 200, 200), 99);
    ck_assert_int_eq(ingest_job_progress(INGEST_ST_RUNNING, 200, 500), 99);
    ck_assert_int_eq(ingest_job_progress(INGEST_ST_FAILED, 10, 10), 99);
    ck_assert_int_eq(ingest_job_progress(INGEST_ST_RUNNING, 1000, 999), 99);
    ck_assert_int_eq(ingest_job_progress(INGEST_ST_RUNNING, 1000, 995), 99);
    /* plain percentages, rounded down */
    ck_assert_int_eq(ingest_job_progress(INGEST_ST_RUNNING, 200, 50), 25);
    ck_assert_int_eq(ingest_job_progress(INGEST_ST_RUNNING, 3, 1), 33);
    ck_assert_int_eq(ingest_job_progress(INGEST_ST_QUEUED, 3, 2), 66);
    ck_assert_int_eq(ingest_job_progress(INGEST_ST_RUNNING, 1000, 1), 0);
    /* negative counters are nonsense: 0 */
    ck_assert_int_eq(ingest_job_progress(INGEST_ST_RUNNING, -5, 3), 0);
    ck_assert_int_eq(ingest_job_progress(INGEST_ST_RUNNING, 100, -3), 0);
    ck_assert_int_eq(ingest_job_progress(INGEST_ST_RUNNING, -100, -300), 0);
}
END_TEST

/* BUG demonstration (see the report): processed * 100 overflows apr_int64_t
 * once processed > INT64_MAX / 100, although processed < total is a valid
 * input; the result should be 50. Under UBSan this aborts the test. */
START_TEST(progress_large_counters)
{
    const apr_int64_t total = APR_INT64_MAX;
    const apr_int64_t half = APR_INT64_MAX / 2;
    ck_assert_int_eq(ingest_job_progress(INGEST_ST_RUNNING, total, half), 50);
}
END_TEST

START_TEST(add_derived_progress)
{
    json_t *job = unit_json("{\"status\":\"running\",\"total_items\":200,\"processed_items\":50}");
    ingest_job_add_derived(job);
    ck_assert(json_is_integer(json_object_get(job, "progress")));
    ck_assert_int_eq(json_integer_value(json_object_get(job, "progress")), 25);
    /* the rest is untouched */
    ck_assert_uint_eq(json_object_size(job), 4);
    ck_assert_str_eq(json_string_value(json_object_get(job, "status")), "running");

    job = unit_json("{\"status\":\"completed\",\"total_items\":0,\"processed_items\":0}");
    ingest_job_add_derived(job);
    ck_assert_int_eq(json_integer_value(json_object_get(job, "progress")), 100);

    /* counters missing or not integers count as 0 */
    job = unit_json("{\"status\":\"running\",\"total_items\":null,\"processed_items\":\"5\"}");
    ingest_job_add_derived(job);
    ck_assert_int_eq(json_integer_value(json_object_get(job, "progress")), 0);

    job = unit_json("{\"status\":\"queued\"}");
    ingest_job_add_derived(job);
    ck_assert_int_eq(json_integer_value(json_object_get(job, "progress")), 0);

    /* an existing progress is replaced, not duplicated */
    job = unit_json("{\"status\":\"failed\",\"total_items\":4,\"processed_items\":4,\"progress\":7}");
    ingest_job_add_derived(job);
    ck_assert_int_eq(json_integer_value(json_object_get(job, "progress")), 99);
}
END_TEST

START_TEST(add_derived_ignores_unusable)
{
    json_t *job = unit_json("{\"status\":\"bogus\",\"total_items\":10,\"processed_items\":5}");
    json_t *arr = unit_json("[1,2]");
    ingest_job_add_derived(job);
    ck_assert_ptr_null(json_object_get(job, "progress"));
    ck_assert_uint_eq(json_object_size(job), 3);

    job = unit_json("{\"total_items\":10,\"processed_items\":5}");
    ingest_job_add_derived(job);
    ck_assert_ptr_null(json_object_get(job, "progress"));

    ingest_job_add_derived(arr);
    ck_assert_uint_eq(json_array_size(arr), 2);
    ingest_job_add_derived(NULL); /* must not crash */
}
END_TEST

/* ---------------------------------------------------------------- ids */

START_TEST(uuid_v7_layout)
{
    /* 2026-12-02T10:00:00.123Z = 1796205600123 ms = 0x01a236325d7b */
    apr_time_t at = apr_time_from_msec(1796205600123LL);
    const char *a = ingest_uuid_v7(unit_pool, at), *b = ingest_uuid_v7(unit_pool, at);
    ck_assert_int_eq(ingest_is_uuid(a), 1);
    ck_assert_int_eq(strncmp(a, "01a23632-5d7b-7", 15), 0); /* time, then version 7 */
    ck_assert(strchr("89ab", a[19]) != NULL);               /* RFC variant */
    ck_assert_str_ne(a, b);                                 /* 74 random bits */
    /* a later millisecond sorts after */
    ck_assert_int_lt(strcmp(a, ingest_uuid_v7(unit_pool, at + apr_time_from_msec(1))), 0);
}
END_TEST

Suite *suite_job(void)
{
    Suite *s = suite_create("ingest_job");
    TCase *tc;

    tc = unit_tcase("status");
    tcase_add_test(tc, status_names);
    tcase_add_test(tc, status_round_trip);
    tcase_add_test(tc, status_parse_rejects_unknown);
    tcase_add_test(tc, uuid_v7_layout);
    tcase_add_test(tc, status_is_terminal);
    suite_add_tcase(s, tc);

    tc = unit_tcase("transitions");
    tcase_add_loop_test(tc, transition_matrix, 0, INGEST_ST_COUNT * INGEST_ST_COUNT);
    tcase_add_test(tc, transition_terminal_is_final);
    suite_add_tcase(s, tc);

    tc = unit_tcase("priority_and_type");
    tcase_add_test(tc, priority_names_and_parse);
    tcase_add_test(tc, file_types_valid);
    tcase_add_test(tc, file_types_invalid);
    suite_add_tcase(s, tc);

    tc = unit_tcase("progress");
    tcase_add_test(tc, progress_values);
    tcase_add_test(tc, progress_large_counters);
    tcase_add_test(tc, add_derived_progress);
    tcase_add_test(tc, add_derived_ignores_unusable);
    suite_add_tcase(s, tc);
    return s;
}
