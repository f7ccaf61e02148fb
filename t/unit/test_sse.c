/* ingest_sse.c: the text of an event (one data line per line of data,
 * whichever line ending), and the event ids taken back from clients. */

#include "ingest_sse.h"
#include "unit.h"

START_TEST(events)
{
    ck_assert_str_eq(ingest_sse_event(unit_pool, 42, "job", "{\"a\":1}"),
                     "id: 42\nevent: job\ndata: {\"a\":1}\n\n");
    ck_assert_str_eq(ingest_sse_event(unit_pool, -1, NULL, "x"), "data: x\n\n");
    ck_assert_str_eq(ingest_sse_event(unit_pool, 0, "reload", ""), "id: 0\nevent: reload\ndata: \n\n");
    ck_assert_str_eq(ingest_sse_event(unit_pool, -1, "e", NULL), "event: e\ndata: \n\n");
    /* LF, CRLF and a lone CR each end a line; a trailing one makes an
     * empty last line, so the client's data ends with the same newline */
    ck_assert_str_eq(ingest_sse_event(unit_pool, -1, NULL, "a\nb\r\nc\rd"),
                     "data: a\ndata: b\ndata: c\ndata: d\n\n");
    ck_assert_str_eq(ingest_sse_event(unit_pool, -1, NULL, "a\n"), "data: a\ndata: \n\n");
    ck_assert_str_eq(ingest_sse_event(unit_pool, -1, NULL, "\r\n\r\n"), "data: \ndata: \ndata: \n\n");
    ck_assert_str_eq(ingest_sse_event(unit_pool, APR_INT64_MAX, NULL, "z"),
                     "id: 9223372036854775807\ndata: z\n\n");
}
END_TEST

START_TEST(ids)
{
    apr_int64_t v = -1;
    ck_assert_int_eq(ingest_sse_parse_id("0", &v), APR_SUCCESS);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(ingest_sse_parse_id("1234567890123", &v), APR_SUCCESS);
    ck_assert_int_eq(v, 1234567890123LL);
    ck_assert_int_eq(ingest_sse_parse_id("9223372036854775807", &v), APR_SUCCESS);
    ck_assert_int_eq(v, APR_INT64_MAX);
    v = 7;
    ck_assert_int_eq(ingest_sse_parse_id("9223372036854775808", &v), APR_EINVAL);
    ck_assert_int_eq(ingest_sse_parse_id("99999999999999999999", &v), APR_EINVAL);
    ck_assert_int_eq(ingest_sse_parse_id("", &v), APR_EINVAL);
    ck_assert_int_eq(ingest_sse_parse_id(NULL, &v), APR_EINVAL);
    ck_assert_int_eq(ingest_sse_parse_id("-1", &v), APR_EINVAL);
    ck_assert_int_eq(ingest_sse_parse_id("+1", &v), APR_EINVAL);
    ck_assert_int_eq(ingest_sse_parse_id(" 1", &v), APR_EINVAL);
    ck_assert_int_eq(ingest_sse_parse_id("1 ", &v), APR_EINVAL);
    ck_assert_int_eq(ingest_sse_parse_id("0x10", &v), APR_EINVAL);
    ck_assert_int_eq(v, 7);
}
END_TEST

/* Declared here and in unit_main.c (not in unit.h). */
Suite *suite_sse(void);

Suite *suite_sse(void)
{
    Suite *s = suite_create("sse");
    TCase *tc = unit_tcase("sse");

    tcase_add_test(tc, events);
    tcase_add_test(tc, ids);
    suite_add_tcase(s, tc);
    return s;
}
