#include <string.h>

#include "ingest_problem.h"
#include "unit.h"

static const char *str_member(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    ck_assert_msg(json_is_string(v), "member %s missing or not a string", k);
    return json_string_value(v);
}

static json_int_t int_member(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    ck_assert_msg(json_is_integer(v), "member %s missing or not an integer", k);
    return json_integer_value(v);
}

START_TEST(problem_minimal)
{
    ingest_problem_t pb;
    json_t *o;
    memset(&pb, 0, sizeof(pb));
    pb.status = 404;
    pb.title = "Not found";
    o = unit_json_own(ingest_problem_json(&pb));
    ck_assert(json_is_object(o));
    ck_assert_str_eq(str_member(o, "type"), "about:blank");
    ck_assert_str_eq(str_member(o, "title"), "Not found");
    ck_assert_int_eq(int_member(o, "status"), 404);
    ck_assert_ptr_null(json_object_get(o, "detail"));
    ck_assert_ptr_null(json_object_get(o, "field"));
    ck_assert_ptr_null(json_object_get(o, "line"));
    ck_assert_ptr_null(json_object_get(o, "column"));
    ck_assert_uint_eq(json_object_size(o), 3);
}
END_TEST

START_TEST(problem_full)
{
    ingest_problem_t pb;
    json_t *o;
    memset(&pb, 0, sizeof(pb));
    pb.status = 422;
    pb.type = INGEST_PROBLEM_BASE "invalid-field";
    pb.title = "Invalid request field";
    pb.detail = "limit must be an integer from 1 to 100";
    pb.field = "limit";
    pb.line = 3;
    pb.column = 17;
    o = unit_json_own(ingest_problem_json(&pb));
    ck_assert_str_eq(str_member(o, "type"), "urn:mod-ingest:problem:invalid-field");
    ck_assert_str_eq(str_member(o, "title"), "Invalid request field");
    ck_assert_int_eq(int_member(o, "status"), 422);
    ck_assert_str_eq(str_member(o, "detail"), "limit must be an integer from 1 to 100");
    ck_assert_str_eq(str_member(o, "field"), "limit");
    ck_assert_int_eq(int_member(o, "line"), 3);
    ck_assert_int_eq(int_member(o, "column"), 17);
    ck_assert_uint_eq(json_object_size(o), 7);
}
END_TEST

START_TEST(problem_line_only_when_positive)
{
    ingest_problem_t pb;
    json_t *o;
    memset(&pb, 0, sizeof(pb));
    pb.status = 400;
    pb.title = "Malformed JSON";
    pb.detail = "unexpected end";
    pb.column = 5; /* without a line, no position at all */
    o = unit_json_own(ingest_problem_json(&pb));
    ck_assert_ptr_null(json_object_get(o, "line"));
    ck_assert_ptr_null(json_object_get(o, "column"));
    ck_assert_str_eq(str_member(o, "detail"), "unexpected end");
    ck_assert_uint_eq(json_object_size(o), 4);

    pb.line = -1;
    o = unit_json_own(ingest_problem_json(&pb));
    ck_assert_ptr_null(json_object_get(o, "line"));
    ck_assert_ptr_null(json_object_get(o, "column"));

    pb.line = 1;
    pb.column = 0; /* a line with column 0 keeps the column */
    o = unit_json_own(ingest_problem_json(&pb));
    ck_assert_int_eq(int_member(o, "line"), 1);
    ck_assert_int_eq(int_member(o, "column"), 0);
    ck_assert_uint_eq(json_object_size(o), 6);
}
END_TEST

START_TEST(problem_field_without_detail)
{
    ingest_problem_t pb;
    json_t *o;
    char *text;
    memset(&pb, 0, sizeof(pb));
    pb.status = 500;
    pb.field = "x";
    o = unit_json_own(ingest_problem_json(&pb));
    ck_assert_str_eq(str_member(o, "field"), "x");
    ck_assert_ptr_null(json_object_get(o, "detail"));
    /* a missing title gets a generic one rather than null */
    ck_assert_str_eq(str_member(o, "title"), "Error");
    ck_assert_int_eq(int_member(o, "status"), 500);
    text = unit_str_own(json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT));
    ck_assert_str_eq(text, "{\"field\":\"x\",\"status\":500,\"title\":\"Error\",\"type\":\"about:blank\"}");
}
END_TEST

/* Names the client sent that are not UTF-8 (a query key "%FF") stay in
 * the answer, their bad bytes as %XX; found by fuzz_query
 * (t/fuzz/regressions/query/key-not-utf8): the member was missing. */
START_TEST(problem_not_utf8)
{
    ingest_problem_t pb;
    json_t *o;
    memset(&pb, 0, sizeof(pb));
    pb.status = 422;
    pb.field = "\xff";
    pb.detail = "\xff unknown query parameter";
    o = unit_json_own(ingest_problem_json(&pb));
    ck_assert_str_eq(str_member(o, "field"), "%FF");
    ck_assert_str_eq(str_member(o, "detail"), "%FF unknown query parameter");

    /* valid characters are kept, only the bytes outside one are escaped:
     * a lone continuation byte, an overlong '/', a surrogate, a sequence
     * cut short at the end */
    o = unit_json_own(ingest_problem_string("caf\xc3\xa9 \x80 \xc0\xaf \xed\xa0\x80 \xe2\x82"));
    ck_assert_str_eq(json_string_value(o), "caf\xc3\xa9 %80 %C0%AF %ED%A0%80 %E2%82");
    o = unit_json_own(ingest_problem_string("plain \xf0\x9f\x98\x80"));
    ck_assert_str_eq(json_string_value(o), "plain \xf0\x9f\x98\x80");
    o = unit_json_own(ingest_problem_string(""));
    ck_assert_str_eq(json_string_value(o), "");
    ck_assert_ptr_null(ingest_problem_string(NULL));
}
END_TEST

Suite *suite_problem(void)
{
    Suite *s = suite_create("ingest_problem");
    TCase *tc = unit_tcase("problem_json");
    tcase_add_test(tc, problem_minimal);
    tcase_add_test(tc, problem_not_utf8);
    tcase_add_test(tc, problem_full);
    tcase_add_test(tc, problem_line_only_when_positive);
    tcase_add_test(tc, problem_field_without_detail);
    suite_add_tcase(s, tc);
    return s;
}
