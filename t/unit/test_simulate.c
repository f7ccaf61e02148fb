#include <string.h>

#include "ingest_simulate.h"
#include "unit.h"

START_TEST(rng_deterministic)
{
    ingest_rng_t a, b;
    int i;
    ingest_rng_seed(&a, 42);
    ingest_rng_seed(&b, 42);
    for (i = 0; i < 100; ++i) {
        ck_assert_uint_eq(ingest_rng_next(&a), ingest_rng_next(&b));
    }
    ingest_rng_seed(&b, 43);
    ck_assert_uint_ne(ingest_rng_next(&a), ingest_rng_next(&b));
}
END_TEST

START_TEST(rng_ranges)
{
    ingest_rng_t r;
    int i, seen_lo = 0, seen_hi = 0;
    ingest_rng_seed(&r, 7);
    for (i = 0; i < 10000; ++i) {
        apr_int64_t v = ingest_rng_range(&r, 5, 20);
        double u = ingest_rng_unit(&r);
        ck_assert(v >= 5 && v <= 20);
        ck_assert(u >= 0.0 && u < 1.0);
        seen_lo |= v == 5;
        seen_hi |= v == 20;
    }
    ck_assert(seen_lo && seen_hi);
    ck_assert_int_eq(ingest_rng_range(&r, 9, 9), 9);
    ck_assert_int_eq(ingest_rng_range(&r, 9, 3), 9);
}
END_TEST

START_TEST(outcome_rates)
{
    ingest_rng_t r;
    ingest_sim_outcome_t o;
    int i, failures = 0;
    ingest_rng_seed(&r, 1);
    for (i = 0; i < 1000; ++i) {
        ingest_simulate_outcome(&r, 0.0, 10, &o);
        ck_assert(o.success);
        json_decref(o.result_data);
        ingest_simulate_outcome(&r, 1.0, 10, &o);
        ck_assert(!o.success);
        ck_assert_ptr_null(o.result_data);
        ck_assert(strncmp(o.error, "simulated failure: ", 19) == 0);
    }
    for (i = 0; i < 10000; ++i) {
        ingest_simulate_outcome(&r, 0.1, 10, &o);
        failures += !o.success;
        json_decref(o.result_data);
    }
    /* 10% of 10000, with a wide margin: the draw is fixed by the seed */
    ck_assert(failures > 850 && failures < 1150);
}
END_TEST

START_TEST(outcome_fields)
{
    ingest_rng_t r;
    ingest_sim_outcome_t o;
    json_t *rd, *pv;
    ingest_rng_seed(&r, 99);
    ingest_simulate_outcome(&r, 0.0, 2345, &o);
    ck_assert(o.success);
    rd = unit_json_own(o.result_data);
    ck_assert_int_eq(json_integer_value(json_object_get(rd, "rows_processed")), o.rows);
    ck_assert(o.rows >= 100 && o.rows <= 10000);
    ck_assert(json_integer_value(json_object_get(rd, "columns")) >= 5);
    ck_assert(json_integer_value(json_object_get(rd, "columns")) <= 20);
    ck_assert_int_eq(json_integer_value(json_object_get(rd, "processing_time_ms")), 2345);
    ck_assert_str_eq(json_string_value(json_object_get(rd, "summary")),
                     "File processed successfully (simulated)");
    pv = json_object_get(rd, "data_preview");
    ck_assert_int_eq(json_array_size(pv), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(pv, 2), "name")), "Sample Data 3");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(pv, 0), "id")), 1);
    ck_assert(json_is_true(json_object_get(rd, "simulated")));
    ingest_simulate_outcome(&r, 0.0, -5, &o);
    ck_assert_int_eq(json_integer_value(json_object_get(unit_json_own(o.result_data), "processing_time_ms")),
                     0);
}
END_TEST

Suite *suite_simulate(void)
{
    Suite *s = suite_create("simulate");
    TCase *tc = unit_tcase("simulate");
    tcase_add_test(tc, rng_deterministic);
    tcase_add_test(tc, rng_ranges);
    tcase_add_test(tc, outcome_rates);
    tcase_add_test(tc, outcome_fields);
    suite_add_tcase(s, tc);
    return s;
}
