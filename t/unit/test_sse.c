/* ingest_sse.c: the text of an event (one data line per line of data,
 * whichever line ending), and the event ids taken back from clients. */

#include "ingest_query.h"
#include "ingest_sse.h"
#include "ingest_validate.h"
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

/* GET /api/ingest/events' query: the field at fault, or NULL */
static const char *events_query(const char *query, ingest_events_req_t *req)
{
    apr_table_t *args;
    const char *bad = NULL;
    ingest_verr_t err;
    ck_assert_int_eq(ingest_query_parse(unit_pool, query, &args, &bad), APR_SUCCESS);
    if (ingest_validate_events(unit_pool, args, req, &err) != APR_SUCCESS) {
        return err.field;
    }
    return NULL;
}

START_TEST(events_query_params)
{
    ingest_events_req_t req;
    ck_assert_ptr_null(events_query(NULL, &req));
    ck_assert_ptr_null(req.job_id);
    ck_assert_int_eq(req.has_after, 0);
    ck_assert_ptr_null(events_query("job_id=123e4567-e89b-12d3-a456-426614174000&after=77", &req));
    ck_assert_str_eq(req.job_id, "123e4567-e89b-12d3-a456-426614174000");
    ck_assert_int_eq(req.has_after, 1);
    ck_assert_int_eq(req.after, 77);
    ck_assert_ptr_null(events_query("after=0", &req));
    ck_assert_int_eq(req.has_after, 1);
    ck_assert_int_eq(req.after, 0);
    ck_assert_str_eq(events_query("job_id=nope", &req), "job_id");
    ck_assert_str_eq(events_query("after=-1", &req), "after");
    ck_assert_str_eq(events_query("after=", &req), "after");
    ck_assert_str_eq(events_query("after=1&after=2", &req), "after");
    ck_assert_str_eq(events_query("status=running", &req), "status");
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
    tcase_add_test(tc, events_query_params);
    suite_add_tcase(s, tc);
    return s;
}
