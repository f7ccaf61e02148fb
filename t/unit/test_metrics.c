#include <string.h>
#include <apr_strings.h>

#include "ingest_metrics.h"
#include "unit.h"

/* Every family, in order, for an all-zero snapshot with the database down. */
static const char zero_text[] =
    "# HELP ingest_database_up 1 if this scrape could read the database, 0 otherwise.\n"
    "# TYPE ingest_database_up gauge\n"
    "ingest_database_up 0\n"
    "# HELP ingest_worker_passes_total Passes of the background worker, by outcome.\n"
    "# TYPE ingest_worker_passes_total counter\n"
    "ingest_worker_passes_total{outcome=\"ok\"} 0\n"
    "ingest_worker_passes_total{outcome=\"error\"} 0\n"
    "# HELP ingest_worker_pass_duration_seconds How long the background worker's passes took.\n"
    "# TYPE ingest_worker_pass_duration_seconds histogram\n"
    "ingest_worker_pass_duration_seconds_bucket{le=\"0.001\"} 0\n"
    "ingest_worker_pass_duration_seconds_bucket{le=\"0.005\"} 0\n"
    "ingest_worker_pass_duration_seconds_bucket{le=\"0.01\"} 0\n"
    "ingest_worker_pass_duration_seconds_bucket{le=\"0.025\"} 0\n"
    "ingest_worker_pass_duration_seconds_bucket{le=\"0.05\"} 0\n"
    "ingest_worker_pass_duration_seconds_bucket{le=\"0.1\"} 0\n"
    "ingest_worker_pass_duration_seconds_bucket{le=\"0.25\"} 0\n"
    "ingest_worker_pass_duration_seconds_bucket{le=\"0.5\"} 0\n"
    "ingest_worker_pass_duration_seconds_bucket{le=\"1\"} 0\n"
    "ingest_worker_pass_duration_seconds_bucket{le=\"2.5\"} 0\n"
    "ingest_worker_pass_duration_seconds_bucket{le=\"5\"} 0\n"
    "ingest_worker_pass_duration_seconds_bucket{le=\"10\"} 0\n"
    "ingest_worker_pass_duration_seconds_bucket{le=\"+Inf\"} 0\n"
    "ingest_worker_pass_duration_seconds_sum 0.000000\n"
    "ingest_worker_pass_duration_seconds_count 0\n"
    "# HELP ingest_worker_claims_total Jobs the background worker claimed (queued to running).\n"
    "# TYPE ingest_worker_claims_total counter\n"
    "ingest_worker_claims_total 0\n"
    "# HELP ingest_worker_finishes_total Jobs the background worker ended, by outcome.\n"
    "# TYPE ingest_worker_finishes_total counter\n"
    "ingest_worker_finishes_total{outcome=\"completed\"} 0\n"
    "ingest_worker_finishes_total{outcome=\"failed\"} 0\n"
    "# HELP ingest_worker_retries_total Failed job steps given back to the queue, or failed after "
    "IngestMaxAttempts.\n"
    "# TYPE ingest_worker_retries_total counter\n"
    "ingest_worker_retries_total 0\n"
    "# HELP ingest_worker_rescues_total Running jobs whose lease expired, requeued or failed by a worker.\n"
    "# TYPE ingest_worker_rescues_total counter\n"
    "ingest_worker_rescues_total 0\n"
    "# HELP ingest_callbacks_total Pipeline callbacks received, by outcome.\n"
    "# TYPE ingest_callbacks_total counter\n"
    "ingest_callbacks_total{outcome=\"applied\"} 0\n"
    "ingest_callbacks_total{outcome=\"duplicate\"} 0\n"
    "ingest_callbacks_total{outcome=\"conflict\"} 0\n"
    "ingest_callbacks_total{outcome=\"not_found\"} 0\n"
    "ingest_callbacks_total{outcome=\"bad_signature\"} 0\n"
    "ingest_callbacks_total{outcome=\"unconfigured\"} 0\n"
    "ingest_callbacks_total{outcome=\"invalid\"} 0\n"
    "ingest_callbacks_total{outcome=\"error\"} 0\n"
    "# HELP ingest_uploads_total Presigned uploads stored.\n"
    "# TYPE ingest_uploads_total counter\n"
    "ingest_uploads_total 0\n"
    "# HELP ingest_upload_bytes_total Bytes of the presigned uploads stored.\n"
    "# TYPE ingest_upload_bytes_total counter\n"
    "ingest_upload_bytes_total 0\n"
    "# HELP ingest_cache_hits_total Status cache look-ups answered from the cache.\n"
    "# TYPE ingest_cache_hits_total counter\n"
    "ingest_cache_hits_total 0\n"
    "# HELP ingest_cache_misses_total Status cache look-ups that found nothing and went to the database.\n"
    "# TYPE ingest_cache_misses_total counter\n"
    "ingest_cache_misses_total 0\n"
    "# HELP ingest_cache_errors_total Status cache operations that failed (the database answered instead).\n"
    "# TYPE ingest_cache_errors_total counter\n"
    "ingest_cache_errors_total 0\n"
    "# HELP ingest_database_errors_total Database failures: no connection, an unusable session (schema too "
    "old) or a failed statement.\n"
    "# TYPE ingest_database_errors_total counter\n"
    "ingest_database_errors_total 0\n";

START_TEST(metrics_zero)
{
    ingest_metrics_counters_t c;
    ingest_metrics_scrape_t s = {0};
    memset(&c, 0, sizeof(c));
    s.c = &c;
    ck_assert_str_eq(ingest_metrics_render(unit_pool, &s), zero_text);
}
END_TEST

/* text has this whole line */
static void has_line(const char *text, const char *line)
{
    const char *at = text;
    apr_size_t n = strlen(line);
    while (at && (strncmp(at, line, n) || at[n] != '\n')) {
        at = strchr(at, '\n');
        at = at ? at + 1 : NULL;
    }
    ck_assert_msg(at != NULL, "no line \"%s\" in\n%s", line, text);
}

START_TEST(metrics_values)
{
    ingest_metrics_counters_t c;
    ingest_metrics_scrape_t s = {0};
    ingest_metrics_jobs_t jobs[] = {
        {"pending", 3}, {"queued", 0}, {"running", 2}, {"completed", 12345678901LL}, {"failed", 1}};
    const char *text;

    memset(&c, 0, sizeof(c));
    c.counter[INGEST_M_PASS_OK] = 4;
    c.counter[INGEST_M_PASS_ERROR] = 1;
    c.counter[INGEST_M_CALLBACK_BAD_SIGNATURE] = 2;
    c.counter[INGEST_M_UPLOAD_BYTES] = APR_UINT64_C(18446744073709551615);
    c.counter[INGEST_M_DB_ERRORS] = 7;
    /* 0.0005 s, 0.001 s (le is inclusive), 0.3 s, 11 s, 1 h */
    c.pass_bucket[ingest_metrics_pass_bucket(500)]++;
    c.pass_bucket[ingest_metrics_pass_bucket(1000)]++;
    c.pass_bucket[ingest_metrics_pass_bucket(300000)]++;
    c.pass_bucket[ingest_metrics_pass_bucket(11000000)]++;
    c.pass_bucket[ingest_metrics_pass_bucket(3600000000LL)]++;
    c.pass_sum_usec = 500 + 1000 + 300000 + 11000000 + APR_UINT64_C(3600000000);
    c.last_pass_end = APR_UINT64_C(1767225600123456);
    s.c = &c;
    s.database_up = 1;
    s.jobs = jobs;
    s.njobs = 5;
    text = ingest_metrics_render(unit_pool, &s);

    has_line(text, "ingest_database_up 1");
    ck_assert_ptr_nonnull(strstr(text, "# HELP ingest_jobs Jobs of all tenants, by status.\n"
                                       "# TYPE ingest_jobs gauge\n"
                                       "ingest_jobs{status=\"pending\"} 3\n"
                                       "ingest_jobs{status=\"queued\"} 0\n"
                                       "ingest_jobs{status=\"running\"} 2\n"
                                       "ingest_jobs{status=\"completed\"} 12345678901\n"
                                       "ingest_jobs{status=\"failed\"} 1\n"
                                       "# HELP ingest_worker_passes_total "));
    has_line(text, "ingest_worker_passes_total{outcome=\"ok\"} 4");
    has_line(text, "ingest_worker_passes_total{outcome=\"error\"} 1");
    /* cumulative buckets */
    has_line(text, "ingest_worker_pass_duration_seconds_bucket{le=\"0.001\"} 2");
    has_line(text, "ingest_worker_pass_duration_seconds_bucket{le=\"0.25\"} 2");
    has_line(text, "ingest_worker_pass_duration_seconds_bucket{le=\"0.5\"} 3");
    has_line(text, "ingest_worker_pass_duration_seconds_bucket{le=\"10\"} 3");
    has_line(text, "ingest_worker_pass_duration_seconds_bucket{le=\"+Inf\"} 5");
    has_line(text, "ingest_worker_pass_duration_seconds_sum 3611.301500");
    has_line(text, "ingest_worker_pass_duration_seconds_count 5");
    ck_assert_ptr_nonnull(strstr(text, "# HELP ingest_worker_last_pass_timestamp_seconds When the background "
                                       "worker's last pass ended (Unix time).\n"
                                       "# TYPE ingest_worker_last_pass_timestamp_seconds gauge\n"
                                       "ingest_worker_last_pass_timestamp_seconds 1767225600.123456\n"
                                       "# HELP ingest_worker_claims_total "));
    has_line(text, "ingest_callbacks_total{outcome=\"bad_signature\"} 2");
    has_line(text, "ingest_upload_bytes_total 18446744073709551615");
    has_line(text, "ingest_database_errors_total 7");
}
END_TEST

START_TEST(metrics_buckets)
{
    ck_assert_int_eq(ingest_metrics_pass_bucket(0), 0);
    ck_assert_int_eq(ingest_metrics_pass_bucket(1000), 0);
    ck_assert_int_eq(ingest_metrics_pass_bucket(1001), 1);
    ck_assert_int_eq(ingest_metrics_pass_bucket(10000000), INGEST_M_PASS_BUCKETS - 1);
    ck_assert_int_eq(ingest_metrics_pass_bucket(10000001), INGEST_M_PASS_BUCKETS);
    ck_assert_int_eq(ingest_metrics_pass_bucket(-5), 0);
}
END_TEST

START_TEST(metrics_escape)
{
    const char *plain = "completed";
    ck_assert_ptr_eq(ingest_metrics_escape_label(unit_pool, plain), plain);
    ck_assert_str_eq(ingest_metrics_escape_label(unit_pool, ""), "");
    ck_assert_str_eq(ingest_metrics_escape_label(unit_pool, "a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    ck_assert_str_eq(ingest_metrics_escape_label(unit_pool, "\n\n"), "\\n\\n");
}
END_TEST

START_TEST(metrics_escaped_in_output)
{
    ingest_metrics_counters_t c;
    ingest_metrics_scrape_t s = {0};
    ingest_metrics_jobs_t jobs[] = {{"we\"ird\\\n", 1}};
    memset(&c, 0, sizeof(c));
    s.c = &c;
    s.database_up = 1;
    s.jobs = jobs;
    s.njobs = 1;
    ck_assert_ptr_nonnull(
        strstr(ingest_metrics_render(unit_pool, &s), "\ningest_jobs{status=\"we\\\"ird\\\\\\n\"} 1\n"));
}
END_TEST

START_TEST(metrics_hit_ratio_and_seconds)
{
    ingest_metrics_counters_t c;
    memset(&c, 0, sizeof(c));
    ck_assert(ingest_metrics_cache_hit_ratio(&c) < 0);
    c.counter[INGEST_M_CACHE_MISS] = 1;
    ck_assert(ingest_metrics_cache_hit_ratio(&c) == 0.0);
    c.counter[INGEST_M_CACHE_HIT] = 3;
    ck_assert(ingest_metrics_cache_hit_ratio(&c) == 0.75);
    c.counter[INGEST_M_CACHE_ERROR] = 100; /* errors are neither */
    ck_assert(ingest_metrics_cache_hit_ratio(&c) == 0.75);
    ck_assert_str_eq(ingest_metrics_seconds(unit_pool, 0), "0.000000");
    ck_assert_str_eq(ingest_metrics_seconds(unit_pool, 1), "0.000001");
    ck_assert_str_eq(ingest_metrics_seconds(unit_pool, 12345678), "12.345678");
}
END_TEST

Suite *suite_metrics(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = unit_tcase("core");
    tcase_add_test(tc, metrics_zero);
    tcase_add_test(tc, metrics_values);
    tcase_add_test(tc, metrics_buckets);
    tcase_add_test(tc, metrics_escape);
    tcase_add_test(tc, metrics_escaped_in_output);
    tcase_add_test(tc, metrics_hit_ratio_and_seconds);
    suite_add_tcase(s, tc);
    return s;
}
