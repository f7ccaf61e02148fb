/* Bad records in skip mode (ingest_parser_on_bad_record): a CSV row with
 * the wrong field count, an NDJSON line that is not JSON or not an object,
 * and a record a sink refuses with ingest_parser_skip_record are handed to
 * the handler with their seq, line, column, field and reason, and the
 * parse goes on with the next record, however the input is cut; without a
 * handler, or when it refuses, the parse fails as it always did. Uses only
 * ingest_parse.h. */

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "ingest_parse.h"
#include "unit.h"

typedef struct {
    apr_array_header_t
        *got;    /* char *: "seq@line" of each good record, "!seq@line:col field|reason" of each bad one */
    int handler; /* set a handler of bad records */
    int refuse_after;     /* the handler refuses once it saw this many (0: never) */
    int refuse_loudly;    /* ... with its own message */
    apr_int64_t skip_seq; /* the first sink skips this seq (0: none) */
    int second_saw;       /* records the second sink was handed */
    int bad_seen;
    int failed;
    const char *error;
    int line, col;
    apr_int64_t records, bad;
    json_t *summary;
} bad_run_t;

static void push(bad_run_t *r, const char *s)
{
    APR_ARRAY_PUSH(r->got, const char *) = s;
}

static apr_status_t on_bad(void *baton, const ingest_parser_t *ps, const ingest_bad_record_t *bad)
{
    bad_run_t *r = baton;

    ck_assert_int_eq(bad->seq, ingest_parser_records(ps) + ingest_parser_bad_records(ps) + 1);
    if (r->refuse_after && r->bad_seen >= r->refuse_after) {
        if (r->refuse_loudly) {
            return ingest_parser_fail_record(ps, bad->line, 0, "more than %d bad records", r->refuse_after);
        }
        return APR_EGENERAL;
    }
    r->bad_seen++;
    push(r, apr_psprintf(unit_pool, "!%" APR_INT64_T_FMT "@%" APR_INT64_T_FMT ":%" APR_INT64_T_FMT " %s|%s",
                         bad->seq, bad->line, bad->col, bad->field ? bad->field : "-", bad->reason));
    return APR_SUCCESS;
}

static apr_status_t first_sink(void *baton, const ingest_parser_t *ps, const ingest_record_t *rec)
{
    bad_run_t *r = baton;

    if (rec->seq == r->skip_seq) {
        return ingest_parser_skip_record(ps, rec->line, "price", "must be a number");
    }
    push(r, apr_psprintf(unit_pool, "%" APR_INT64_T_FMT "@%" APR_INT64_T_FMT, rec->seq, rec->line));
    return APR_SUCCESS;
}

static apr_status_t second_sink(void *baton, const ingest_parser_t *ps, const ingest_record_t *rec)
{
    bad_run_t *r = baton;
    (void)ps;
    ck_assert_int_ne(rec->seq, r->skip_seq);
    r->second_saw++;
    return APR_SUCCESS;
}

/* Parses s in chunks of step bytes (0: whole) with the two sinks and,
 * as r says, the handler. */
static void bad_run(ingest_parse_kind_e kind, const char *s, apr_size_t step, bad_run_t *r)
{
    ingest_parser_t *ps = NULL;
    apr_size_t len = strlen(s), off, n;
    const char *e;

    r->got = apr_array_make(unit_pool, 8, sizeof(const char *));
    r->bad_seen = r->second_saw = r->failed = 0;
    ck_assert_int_eq(ingest_parser_create(unit_pool, kind, NULL, &ps), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_add_sink(ps, first_sink, r), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_add_sink(ps, second_sink, r), APR_SUCCESS);
    if (r->handler) {
        ck_assert_int_eq(ingest_parser_on_bad_record(ps, on_bad, r), APR_SUCCESS);
    }
    for (off = 0; !r->failed && off < len; off += n) {
        n = step && step < len - off ? step : len - off;
        r->failed = ingest_parser_feed(ps, s + off, n) != APR_SUCCESS;
    }
    if (!r->failed && ingest_parser_finish(ps) != APR_SUCCESS) {
        r->failed = 2;
    }
    e = ingest_parser_error(ps, &r->line, &r->col);
    r->error = e ? apr_pstrdup(unit_pool, e) : NULL;
    r->records = ingest_parser_records(ps);
    r->bad = ingest_parser_bad_records(ps);
    r->summary = unit_json_own(ingest_parser_summary(ps));
    /* no handler once fed */
    ck_assert_int_eq(ingest_parser_on_bad_record(ps, on_bad, r), APR_EINVAL);
    ingest_parser_destroy(ps);
}

static const char *joined(const bad_run_t *r)
{
    const char *s = "";
    int i;
    for (i = 0; i < r->got->nelts; ++i) {
        s = apr_pstrcat(unit_pool, s, i ? "\n" : "", APR_ARRAY_IDX(r->got, i, const char *), NULL);
    }
    return s;
}

/* Whole and in chunks of 1, 2, 3 and 7 bytes: the same records, bad
 * records and counts. */
static void expect_skip(ingest_parse_kind_e kind, const char *s, apr_int64_t skip_seq, const char *want,
                        apr_int64_t records, apr_int64_t bad)
{
    static const apr_size_t steps[] = {0, 1, 2, 3, 7};
    apr_size_t i;

    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); ++i) {
        bad_run_t r = {.handler = 1, .skip_seq = skip_seq};
        bad_run(kind, s, steps[i], &r);
        ck_assert_msg(!r.failed, "chunks of %zu: failed: %s", (size_t)steps[i], r.error);
        ck_assert_str_eq(joined(&r), want);
        ck_assert_int_eq(r.records, records);
        ck_assert_int_eq(r.second_saw, records);
        ck_assert_int_eq(r.bad, bad);
        ck_assert_int_eq(json_integer_value(json_object_get(r.summary, "records")), records);
        ck_assert_int_eq(json_integer_value(json_object_get(r.summary, "bad_records")), bad);
    }
}

START_TEST(csv_wrong_field_counts)
{
    static const char csv[] = "a,b\n1,2\n3\n4,5,6\n\"x\ny\",8\n9,10";
    bad_run_t r = {0};

    expect_skip(INGEST_PARSE_CSV, csv, 0,
                "1@2\n"
                "!2@3:1 -|row 2 has 1 fields, the header has 2\n"
                "!3@4:1 -|row 3 has 3 fields, the header has 2\n"
                "4@5\n"
                "5@7",
                3, 2);
    /* without a handler: the first one fails the parse, as it always did */
    bad_run(INGEST_PARSE_CSV, csv, 0, &r);
    ck_assert_int_eq(r.failed, 1);
    ck_assert_str_eq(r.error, "row 2 has 1 fields, the header has 2");
    ck_assert_int_eq(r.line, 3);
    ck_assert_int_eq(r.records, 1);
    ck_assert_int_eq(r.bad, 0);
    ck_assert(!json_object_get(r.summary, "bad_records"));
}
END_TEST

START_TEST(ndjson_bad_lines)
{
    static const char nd[] = "{\"a\":1}\n[1,2]\nnot json\n\n  7\n{\"b\":2}\n{\"c\":";
    bad_run_t r = {0};

    expect_skip(INGEST_PARSE_NDJSON, nd, 0,
                "1@1\n"
                "!2@2:1 -|line 2 is not a JSON object\n"
                "!3@3:3 -|malformed JSON: invalid token near 'not'\n"
                "!4@5:3 -|line 5 is not a JSON object\n"
                "5@6\n"
                "!6@7:5 -|malformed JSON: unexpected token near end of file",
                2, 4);
    bad_run(INGEST_PARSE_NDJSON, nd, 0, &r);
    ck_assert_int_eq(r.failed, 1);
    ck_assert_str_eq(r.error, "line 2 is not a JSON object");
}
END_TEST

START_TEST(sink_skips_a_record)
{
    bad_run_t r = {.skip_seq = 2};

    /* the second sink never sees it; the next record keeps its place */
    expect_skip(INGEST_PARSE_CSV, "p,q\n1,2\n3,4\n5,6\n", 2, "1@2\n!2@3:0 price|must be a number\n3@4", 2, 1);
    expect_skip(INGEST_PARSE_TEXT, "a\nb\nc", 2, "1@1\n!2@2:0 price|must be a number\n3@3", 2, 1);
    /* without a handler, the sink's skip fails the parse with its reason */
    bad_run(INGEST_PARSE_NDJSON, "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n", 0, &r);
    ck_assert_int_eq(r.failed, 1);
    ck_assert_str_eq(r.error, "must be a number");
    ck_assert_int_eq(r.line, 2);
    ck_assert_int_eq(r.records, 1);
}
END_TEST

START_TEST(handler_refuses)
{
    static const char csv[] = "a,b\n1\n2\n3,4\n";
    bad_run_t quiet = {.handler = 1, .refuse_after = 1},
              loud = {.handler = 1, .refuse_after = 1, .refuse_loudly = 1};

    /* the second bad record fails the parse: with the record's reason, or
     * the handler's own */
    bad_run(INGEST_PARSE_CSV, csv, 0, &quiet);
    ck_assert_int_eq(quiet.failed, 1);
    ck_assert_str_eq(quiet.error, "row 2 has 1 fields, the header has 2");
    ck_assert_int_eq(quiet.line, 3);
    ck_assert_int_eq(quiet.bad, 1);
    bad_run(INGEST_PARSE_CSV, csv, 0, &loud);
    ck_assert_int_eq(loud.failed, 1);
    ck_assert_str_eq(loud.error, "more than 1 bad records");
    ck_assert_int_eq(loud.line, 3);
}
END_TEST

START_TEST(not_stepped_over)
{
    bad_run_t r = {.handler = 1};

    /* an element of a JSON array that is not an object: the file is not
     * an array of objects */
    bad_run(INGEST_PARSE_JSON, "[{\"a\":1}, 2, {\"a\":3}]", 0, &r);
    ck_assert_int_eq(r.failed, 1);
    ck_assert_str_eq(r.error, "element 2 is not an object");
    /* a quote left open in CSV */
    bad_run(INGEST_PARSE_CSV, "a,b\n1,2\n\"3,4\n", 0, &r);
    ck_assert_int_ne(r.failed, 0);
    ck_assert_int_eq(r.bad, 0);
    ck_assert_int_eq(r.bad_seen, 0);
}
END_TEST

/* Declared here and in unit_main.c (not in unit.h). */
Suite *suite_parse_bad(void);

Suite *suite_parse_bad(void)
{
    Suite *s = suite_create("parse_bad");
    TCase *tc = unit_tcase("parse_bad");

    tcase_add_test(tc, csv_wrong_field_counts);
    tcase_add_test(tc, ndjson_bad_lines);
    tcase_add_test(tc, sink_skips_a_record);
    tcase_add_test(tc, handler_refuses);
    tcase_add_test(tc, not_stepped_over);
    suite_add_tcase(s, tc);
    return s;
}
