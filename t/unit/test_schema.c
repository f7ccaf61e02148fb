#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "ingest_schema.h"
#include "unit.h"

static ingest_schema_t *schema_of(const char *text, ingest_verr_t *err)
{
    ingest_schema_t *s = NULL;
    json_t *j = unit_json(text);
    ingest_schema_parse(unit_pool, j, &s, err);
    return s;
}

/* The error of parsing text: "field: detail". */
static const char *parse_error(const char *text)
{
    ingest_verr_t err = {0};
    if (schema_of(text, &err)) {
        return "parsed";
    }
    return apr_psprintf(unit_pool, "%s: %s", err.field ? err.field : "-", err.detail);
}

START_TEST(parse_refuses_precisely)
{
    ck_assert_str_eq(parse_error("[]"), "schema: must be an object with fields");
    ck_assert_str_eq(parse_error("{}"), "schema.fields: must be an object of at least one field");
    ck_assert_str_eq(parse_error("{\"fields\":{}}"),
                     "schema.fields: must be an object of at least one field");
    ck_assert_str_eq(parse_error("{\"fields\":{\"a\":{\"type\":\"string\"}},\"x\":1}"),
                     "schema.x: is not a member of a schema (fields, additional)");
    ck_assert_str_eq(
        parse_error("{\"fields\":{\"price\":{\"type\":\"money\"}}}"),
        "schema.fields.price.type: must be one of string, integer, number, boolean, date, timestamp");
    ck_assert_str_eq(parse_error("{\"fields\":{\"price\":\"number\"}}"),
                     "schema.fields.price: must be an object with a type");
    ck_assert_str_eq(parse_error("{\"fields\":{\"a\":{\"type\":\"date\",\"required\":1}}}"),
                     "schema.fields.a.required: must be true or false");
    ck_assert_str_eq(parse_error("{\"fields\":{\"a\":{\"type\":\"date\",\"min\":1}}}"),
                     "schema.fields.a.min: is not a member of a field (type, required)");
    ck_assert_str_eq(parse_error("{\"fields\":{\"a\":{\"type\":\"date\"}},\"additional\":\"no\"}"),
                     "schema.additional: must be true or false");
    ck_assert_str_eq(parse_error("{\"fields\":{\"\":{\"type\":\"date\"}}}"),
                     "schema.fields: a field's name must be 1 to 255 bytes");
    ck_assert_str_eq(
        parse_error("{\"fields\":{\"a\":{\"type\":\"date\",\"required\":true}},\"additional\":false}"),
        "parsed");
}
END_TEST

/* The record text converted by the schema text, as compact JSON, or
 * "field: reason". */
static const char *applied(const char *schema, const char *record)
{
    ingest_verr_t err = {0};
    ingest_schema_t *s = schema_of(schema, &err);
    json_t *out;
    char *text;
    const char *r;

    ck_assert_ptr_nonnull(s);
    out = ingest_schema_apply(unit_pool, s, unit_json(record), &err);
    if (!out) {
        return apr_psprintf(unit_pool, "%s: %s", err.field ? err.field : "-", err.detail);
    }
    text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    r = apr_pstrdup(unit_pool, text);
    free(text);
    json_decref(out);
    return r;
}

#define TYPES                                                                                                \
    "{\"fields\":{\"i\":{\"type\":\"integer\"},\"n\":{\"type\":\"number\"},\"b\":{\"type\":\"boolean\"},"    \
    "\"d\":{\"type\":\"date\"},\"t\":{\"type\":\"timestamp\"},\"s\":{\"type\":\"string\"}}}"

START_TEST(csv_strings_convert)
{
    ck_assert_str_eq(applied(TYPES, "{\"i\":\"-42\",\"n\":\"12.50\",\"b\":\"TRUE\",\"d\":\"2026-02-28\","
                                    "\"t\":\"2026-12-02T11:00:00+01:00\",\"s\":\"x\",\"other\":\"kept\"}"),
                     "{\"b\":true,\"d\":\"2026-02-28\",\"i\":-42,\"n\":12.5,\"other\":\"kept\",\"s\":\"x\","
                     "\"t\":\"2026-12-02T10:00:00.000000Z\"}");
    /* a whole number stays whole, as written: the CSV export gives it back */
    ck_assert_str_eq(applied(TYPES, "{\"n\":\"6\"}"), "{\"n\":6}");
    ck_assert_str_eq(applied(TYPES, "{\"n\":\"-6.0\"}"), "{\"n\":-6.0}");
    ck_assert_str_eq(applied(TYPES, "{\"n\":\"99999999999999999999\"}"), "{\"n\":1e20}");
    /* JSON values of the type pass as they are */
    ck_assert_str_eq(applied(TYPES, "{\"i\":7,\"n\":1,\"b\":false}"), "{\"b\":false,\"i\":7,\"n\":1}");
    /* empty CSV fields are null unless the type is string; absent stays absent */
    ck_assert_str_eq(applied(TYPES, "{\"i\":\"\",\"s\":\"\"}"), "{\"i\":null,\"s\":\"\"}");
}
END_TEST

START_TEST(bad_values_named)
{
    ck_assert_str_eq(applied(TYPES, "{\"i\":\"12.5\"}"), "i: must be an integer");
    ck_assert_str_eq(applied(TYPES, "{\"i\":\" 1\"}"), "i: must be an integer");
    ck_assert_str_eq(applied(TYPES, "{\"i\":\"99999999999999999999\"}"), "i: must be an integer");
    ck_assert_str_eq(applied(TYPES, "{\"i\":1.5}"), "i: must be an integer");
    ck_assert_str_eq(applied(TYPES, "{\"n\":\"1,5\"}"), "n: must be a number");
    ck_assert_str_eq(applied(TYPES, "{\"n\":\"0x10\"}"), "n: must be a number");
    ck_assert_str_eq(applied(TYPES, "{\"n\":\"007\"}"), "n: must be a number");
    ck_assert_str_eq(applied(TYPES, "{\"n\":\"+7\"}"), "n: must be a number");
    ck_assert_str_eq(applied(TYPES, "{\"n\":\"1e999\"}"), "n: must be a number");
    ck_assert_str_eq(applied(TYPES, "{\"b\":\"yes\"}"), "b: must be true or false");
    ck_assert_str_eq(applied(TYPES, "{\"d\":\"2026-02-30\"}"), "d: must be a date (YYYY-MM-DD)");
    ck_assert_str_eq(applied(TYPES, "{\"t\":\"2026-12-02 11:00\"}"),
                     "t: must be an RFC 3339 timestamp with an offset");
    ck_assert_str_eq(applied(TYPES, "{\"s\":5}"), "s: must be a string");
}
END_TEST

START_TEST(required_and_additional)
{
    const char *strict = "{\"fields\":{\"id\":{\"type\":\"integer\",\"required\":true},"
                         "\"name\":{\"type\":\"string\",\"required\":true}},\"additional\":false}";
    ck_assert_str_eq(applied(strict, "{\"id\":\"1\",\"name\":\"a\"}"), "{\"id\":1,\"name\":\"a\"}");
    ck_assert_str_eq(applied(strict, "{\"name\":\"a\"}"), "id: is required");
    ck_assert_str_eq(applied(strict, "{\"id\":null,\"name\":\"a\"}"), "id: is required");
    ck_assert_str_eq(applied(strict, "{\"id\":\"1\",\"name\":\"\"}"), "name: is required");
    ck_assert_str_eq(applied(strict, "{\"id\":\"1\",\"name\":\"a\",\"extra\":1}"),
                     "extra: is not in the schema");
    ck_assert_str_eq(applied(strict, "[1]"), "-: the record is not an object");
}
END_TEST

Suite *suite_schema(void)
{
    Suite *s = suite_create("ingest_schema");
    TCase *tc = unit_tcase("schema");

    tcase_add_test(tc, parse_refuses_precisely);
    tcase_add_test(tc, csv_strings_convert);
    tcase_add_test(tc, bad_values_named);
    tcase_add_test(tc, required_and_additional);
    suite_add_tcase(s, tc);
    return s;
}
