#include <string.h>

#include "ingest_copy.h"
#include "ingest_record_json.h"
#include "unit.h"

/* ---------------------------------------------------------------- copy */

START_TEST(copy_layout)
{
    static const unsigned char want[] = {
        'P',  'G', 'C', 'O', 'P', 'Y', '\n', 0xFF, '\r', '\n', 0,    /* signature */
        0,    0,   0,   0,   0,   0,   0,    0,                      /* flags, extension */
        0,    3,                                                     /* 3 fields */
        0,    0,   0,   8,   0,   0,   0,    0,    0,    0,    1, 2, /* int8 258 */
        0,    0,   0,   2,   'h', 'i',                               /* text */
        0,    0,   0,   3,   1,   '{', '}',                          /* jsonb */
        0xFF, 0xFF};                                                 /* trailer */
    ingest_copy_t b = {0};
    apr_size_t at;

    ingest_copy_start(&b);
    ingest_copy_tuple(&b, 3);
    ingest_copy_int8(&b, 258);
    ingest_copy_text(&b, "hi", 2);
    at = ingest_copy_jsonb_open(&b);
    ingest_copy_put(&b, "{}", 2);
    ingest_copy_jsonb_close(&b, at);
    ingest_copy_finish(&b);
    ck_assert_int_eq(b.failed, 0);
    ck_assert_uint_eq(b.len, sizeof(want));
    ck_assert_int_eq(memcmp(b.data, want, sizeof(want)), 0);
    /* start empties it again */
    ingest_copy_start(&b);
    ck_assert_uint_eq(b.len, 19);
    ingest_copy_free(&b);
}
END_TEST

START_TEST(copy_uuid)
{
    unsigned char id[16];
    ingest_copy_t b = {0};

    ck_assert_int_eq(ingest_copy_uuid_parse("01a23632-5D7B-7abc-8def-0123456789ab", id), 1);
    ck_assert_int_eq(id[0], 0x01);
    ck_assert_int_eq(id[5], 0x7b);
    ck_assert_int_eq(id[15], 0xab);
    ck_assert_int_eq(ingest_copy_uuid_parse("01a236325d7b7abc8def0123456789ab", id), 0);
    ck_assert_int_eq(ingest_copy_uuid_parse("01a23632-5d7b-7abc-8def-0123456789ag", id), 0);
    ck_assert_int_eq(ingest_copy_uuid_parse(NULL, id), 0);
    ingest_copy_uuid(&b, id);
    ck_assert_uint_eq(b.len, 20);
    ck_assert_int_eq(b.data[3], 16);
    ingest_copy_free(&b);
}
END_TEST

/* ------------------------------------------------------------ records */

/* The buffer's text as JSON, checked to be valid and equal to want. */
static void json_is(ingest_copy_t *b, const char *want)
{
    json_error_t e;
    json_t *got = json_loadb(b->data, b->len, JSON_DECODE_ANY, &e),
           *w = json_loads(want, JSON_DECODE_ANY, NULL);
    ck_assert_msg(got != NULL, "not JSON: %.*s (%s)", (int)b->len, b->data, e.text);
    ck_assert_msg(json_equal(got, w), "got %.*s", (int)b->len, b->data);
    json_decref(got);
    json_decref(w);
    b->len = 0;
}

START_TEST(record_strings)
{
    ingest_copy_t b = {0};

    ingest_record_json_string(&b, "a\"b\\c\n\t\r\x01", 9);
    ck_assert_int_eq(strncmp(b.data, "\"a\\\"b\\\\c\\n\\t\\r\\u0001\"", b.len), 0);
    json_is(&b, "\"a\\\"b\\\\c\\n\\t\\r\\u0001\"");
    /* UTF-8 kept; a stray byte and NUL become U+FFFD */
    ingest_record_json_string(&b, "\xC3\xA9t\xC3\xA9 \xFF!\0.", 10);
    json_is(&b, "\"\xC3\xA9t\xC3\xA9 \xEF\xBF\xBD!\xEF\xBF\xBD.\"");
    ingest_record_json_string(&b, "", 0);
    json_is(&b, "\"\"");
    ingest_copy_free(&b);
}
END_TEST

START_TEST(record_csv_and_line)
{
    const char *names[] = {"id", "name", "note"}, *fields[] = {"1", "Ann \"A\"", ""};
    const apr_size_t nl[] = {2, 4, 4}, fl[] = {1, 7, 0};
    ingest_copy_t b = {0};

    ingest_record_json_csv(&b, 3, names, nl, fields, fl);
    json_is(&b, "{\"id\":\"1\",\"name\":\"Ann \\\"A\\\"\",\"note\":\"\"}");
    ingest_record_json_line(&b, "GET / 200", 9);
    json_is(&b, "{\"line\":\"GET / 200\"}");
    ingest_copy_free(&b);
}
END_TEST

START_TEST(record_values)
{
    const char *in = "{\"a\":[1,-2,12.5,1e300,true,false,null],\"b\":{\"c\":\"x\\u0000y\"},\"\":{}}";
    json_t *v = json_loads(in, JSON_ALLOW_NUL, NULL);
    ingest_copy_t b = {0};

    ck_assert_ptr_nonnull(v);
    ingest_record_json_value(&b, v);
    json_is(&b, "{\"a\":[1,-2,12.5,1e300,true,false,null],\"b\":{\"c\":\"x\xEF\xBF\xBDy\"},\"\":{}}");
    json_decref(v);
    ingest_copy_free(&b);
}
END_TEST

Suite *suite_copy(void)
{
    Suite *s = suite_create("ingest_copy");
    TCase *tc = unit_tcase("copy");

    tcase_add_test(tc, copy_layout);
    tcase_add_test(tc, copy_uuid);
    tcase_add_test(tc, record_strings);
    tcase_add_test(tc, record_csv_and_line);
    tcase_add_test(tc, record_values);
    suite_add_tcase(s, tc);
    return s;
}
