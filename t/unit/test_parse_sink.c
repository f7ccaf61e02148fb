/* The record sinks of the streaming parsers (ingest_parser_add_sink): each
 * record handed over once, whole, in file order, with its seq and line;
 * the same records however the input is cut; a sink that refuses a record
 * stops the parse; the summary is the same with a sink attached. Uses only
 * ingest_parse.h. */

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "ingest_parse.h"
#include "unit.h"

/* What a sink saw: each record written out as text (seq@line, then the
 * fields as len:bytes, the value as compact JSON, or the line as
 * len:bytes), and the columns the parser said it had at the first one. */
typedef struct {
    apr_array_header_t *recs; /* char *, NUL-terminated (the records tested have no NUL) */
    apr_int64_t fail_at;      /* refuse this seq (0: none) */
    int fail_quietly;         /* ... without a message */
    apr_size_t columns_at_first;
} sink_t;

typedef struct {
    int failed; /* 0; 1: a feed failed; 2: finish did */
    const char *error;
    int line, col;
    apr_int64_t records;
    json_t *summary; /* owned by unit_pool */
    sink_t sink;
} run_t;

static void put(apr_array_header_t *a, const char *s, apr_size_t n)
{
    while (n--) {
        APR_ARRAY_PUSH(a, char) = *s++;
    }
}

static void put_bytes(apr_array_header_t *a, const char *s, apr_size_t n)
{
    const char *len = apr_psprintf(unit_pool, "%" APR_SIZE_T_FMT ":", n);
    put(a, len, strlen(len));
    put(a, s, n);
}

static apr_status_t collect(void *baton, const ingest_parser_t *ps, const ingest_record_t *rec)
{
    sink_t *sk = baton;
    apr_array_header_t *a = apr_array_make(unit_pool, 64, 1);
    const char *head =
        apr_psprintf(unit_pool, "%" APR_INT64_T_FMT "@%" APR_INT64_T_FMT " ", rec->seq, rec->line);
    const char *const *names;
    const apr_size_t *lens;
    char *dumped;
    apr_size_t i;

    ck_assert_int_eq(rec->seq, sk->recs->nelts + 1);
    ck_assert_int_eq(rec->seq, ingest_parser_records(ps) + 1);
    if (rec->seq == 1) {
        sk->columns_at_first = ingest_parser_columns(ps, &names, &lens);
    }
    if (rec->seq == sk->fail_at) {
        if (sk->fail_quietly) {
            return APR_EGENERAL;
        }
        return ingest_parser_fail_record(ps, rec->line, 7, "record %" APR_INT64_T_FMT " refused", rec->seq);
    }
    put(a, head, strlen(head));
    if (rec->fields) {
        ck_assert_ptr_null(rec->value);
        ck_assert_ptr_null(rec->text);
        for (i = 0; i < rec->nfields; ++i) {
            /* each field is a C string too */
            ck_assert_int_eq(rec->fields[i][rec->field_lens[i]], '\0');
            put_bytes(a, rec->fields[i], rec->field_lens[i]);
            put(a, i + 1 < rec->nfields ? "," : "", i + 1 < rec->nfields);
        }
    } else if (rec->value) {
        ck_assert_ptr_null(rec->text);
        ck_assert(json_is_object(rec->value));
        dumped = json_dumps(rec->value, JSON_COMPACT | JSON_ENCODE_ANY);
        ck_assert_ptr_nonnull(dumped);
        put(a, dumped, strlen(dumped));
        free(dumped);
    } else {
        ck_assert_ptr_nonnull(rec->text);
        put_bytes(a, rec->text, rec->text_len);
    }
    APR_ARRAY_PUSH(a, char) = '\0';
    APR_ARRAY_PUSH(sk->recs, char *) = a->elts;
    return APR_SUCCESS;
}

/* Feeds s in chunks of step bytes (0: whole), each from an allocation of
 * exactly its size, with the collecting sink attached (or not), then
 * finishes. */
static void run_in(ingest_parse_kind_e kind, const ingest_parse_limits_t *lim, const char *s, apr_size_t len,
                   apr_size_t step, int with_sink, apr_int64_t fail_at, run_t *r)
{
    ingest_parser_t *ps = NULL;
    apr_size_t off, n;
    const char *e;
    char *copy;

    memset(r, 0, sizeof(*r));
    r->sink.recs = apr_array_make(unit_pool, 8, sizeof(char *));
    r->sink.fail_at = fail_at;
    ck_assert_int_eq(ingest_parser_create(unit_pool, kind, lim, &ps), APR_SUCCESS);
    if (with_sink) {
        ck_assert_int_eq(ingest_parser_add_sink(ps, collect, &r->sink), APR_SUCCESS);
    }
    for (off = 0; !r->failed && off < len; off += n) {
        n = step && step < len - off ? step : len - off;
        copy = malloc(n);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, s + off, n);
        r->failed = ingest_parser_feed(ps, copy, n) != APR_SUCCESS;
        free(copy);
    }
    if (!r->failed && ingest_parser_finish(ps) != APR_SUCCESS) {
        r->failed = 2;
    }
    e = ingest_parser_error(ps, &r->line, &r->col);
    r->error = e ? apr_pstrdup(unit_pool, e) : NULL;
    r->records = ingest_parser_records(ps);
    r->summary = unit_json_own(ingest_parser_summary(ps));
    if (r->failed) {
        ck_assert_int_eq(ingest_parser_feed(ps, "x", 1), APR_EINVAL);
        ck_assert_int_eq(ingest_parser_finish(ps), APR_EINVAL);
        ck_assert_ptr_null(r->summary);
    }
    ingest_parser_destroy(ps);
}

static void same_records(const run_t *got, const run_t *want, apr_size_t step)
{
    int i;

    ck_assert_msg(got->failed == want->failed && got->records == want->records
                      && got->sink.recs->nelts == want->sink.recs->nelts,
                  "chunks of %zu: failed %d, %d records handed over, want %d, %d", (size_t)step, got->failed,
                  got->sink.recs->nelts, want->failed, want->sink.recs->nelts);
    for (i = 0; i < want->sink.recs->nelts; ++i) {
        ck_assert_str_eq(APR_ARRAY_IDX(got->sink.recs, i, char *), APR_ARRAY_IDX(want->sink.recs, i, char *));
    }
    ck_assert_msg((!got->error && !want->error)
                      || (got->error && want->error && !strcmp(got->error, want->error)),
                  "chunks of %zu: error \"%s\", want \"%s\"", (size_t)step,
                  got->error ? got->error : "(none)", want->error ? want->error : "(none)");
    ck_assert_int_eq(got->line, want->line);
    ck_assert_int_eq(got->col, want->col);
}

/* Parses s with a sink, whole, and expects the records want (NULL
 * ended); then the same in chunks of 1, 2, 3 and 7 bytes, and the same
 * summary as without the sink. */
static void expect_records_lim(ingest_parse_kind_e kind, const ingest_parse_limits_t *lim, const char *s,
                               apr_size_t len, const char *const *want, run_t *out)
{
    static const apr_size_t steps[] = {1, 2, 3, 7};
    run_t whole, r;
    apr_size_t i;
    int n;

    run_in(kind, lim, s, len, 0, 1, 0, &whole);
    ck_assert_msg(!whole.failed, "failed: %s at %d:%d", whole.error, whole.line, whole.col);
    for (n = 0; want[n]; ++n) {
        ck_assert_msg(n < whole.sink.recs->nelts, "record %d was not handed over", n + 1);
        ck_assert_str_eq(APR_ARRAY_IDX(whole.sink.recs, n, char *), want[n]);
    }
    ck_assert_int_eq(whole.sink.recs->nelts, n);
    ck_assert_int_eq(whole.records, n);
    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); ++i) {
        run_in(kind, lim, s, len, steps[i], 1, 0, &r);
        same_records(&r, &whole, steps[i]);
        ck_assert(json_equal(r.summary, whole.summary));
    }
    /* the summary does not depend on the sinks */
    run_in(kind, lim, s, len, 0, 0, 0, &r);
    ck_assert_int_eq(r.failed, 0);
    ck_assert_msg(json_equal(r.summary, whole.summary), "summary %s with a sink, %s without",
                  json_dumps(whole.summary, JSON_COMPACT), json_dumps(r.summary, JSON_COMPACT));
    if (out) {
        *out = whole;
    }
}

#define EXPECT_RECORDS(kind, lim, s, out, ...)                                                               \
    do {                                                                                                     \
        static const char *const want_[] = {__VA_ARGS__, NULL};                                              \
        expect_records_lim(kind, lim, s, sizeof(s) - 1, want_, out);                                         \
    } while (0)

START_TEST(csv_records)
{
    /* quoted fields, a quoted comma, a doubled quote, a line break inside
     * quotes (the row's line is where it begins), UTF-8, an empty field,
     * CRLF, and a last row without a line end */
    static const char csv[] = "name,note,city\r\n"
                              "\"Smith, J\",\"line1\nline2\",Z\xC3\xBCrich\r\n"
                              "\"say \"\"hi\"\"\",,K\xC3\xB6ln\r\n"
                              "\r\n"
                              "x,\"\",y";
    run_t r;

    EXPECT_RECORDS(INGEST_PARSE_CSV, NULL, csv, &r, "1@2 8:Smith, J,11:line1\nline2,7:Z\xC3\xBCrich",
                   "2@4 8:say \"hi\",0:,5:K\xC3\xB6ln", "3@6 1:x,0:,1:y");
    /* the header was read before the first row */
    ck_assert_int_eq(r.sink.columns_at_first, 3);
    /* spaces and tabs around a field, outside its quotes, are libcsv's to
     * take off */
    EXPECT_RECORDS(INGEST_PARSE_CSV, NULL, "h1,h2,h3\n a b ,\t\"q \" , x\n", NULL, "1@2 3:a b,2:q ,1:x");
}
END_TEST

START_TEST(csv_columns)
{
    static const char csv[] = "a,\"b \"\"q\"\"\",\xC3\xA9t\xC3\xA9\nz,y,x\n";
    ingest_parser_t *ps = NULL;
    const char *const *names;
    const apr_size_t *lens;
    json_t *s;

    ck_assert_int_eq(ingest_parser_create(unit_pool, INGEST_PARSE_CSV, NULL, &ps), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_columns(ps, &names, &lens), 0);
    ck_assert_ptr_null(names);
    /* the header, not yet ended */
    ck_assert_int_eq(ingest_parser_feed(ps, csv, 5), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_columns(ps, &names, &lens), 0);
    ck_assert_int_eq(ingest_parser_feed(ps, csv + 5, sizeof(csv) - 1 - 5), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_columns(ps, &names, &lens), 3);
    ck_assert_int_eq(lens[0], 1);
    ck_assert_str_eq(names[0], "a");
    ck_assert_int_eq(lens[1], 5);
    ck_assert_str_eq(names[1], "b \"q\"");
    ck_assert_int_eq(lens[2], 5);
    ck_assert_str_eq(names[2], "\xC3\xA9t\xC3\xA9");
    ck_assert_int_eq(ingest_parser_finish(ps), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_columns(ps, &names, &lens), 3);

    /* not CSV: none */
    ck_assert_int_eq(ingest_parser_create(unit_pool, INGEST_PARSE_JSON, NULL, &ps), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_feed(ps, "[]", 2), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_columns(ps, &names, &lens), 0);

    /* a header and no rows: its columns are listed, no record handed over */
    EXPECT_RECORDS(INGEST_PARSE_CSV, NULL, "a,b,c\n", NULL, NULL);
    ck_assert_int_eq(ingest_parser_create(unit_pool, INGEST_PARSE_CSV, NULL, &ps), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_feed(ps, "a,b,c", 5), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_finish(ps), APR_SUCCESS);
    s = unit_json_own(ingest_parser_summary(ps));
    ck_assert(json_equal(s, unit_json("{\"format\":\"csv\",\"records\":0,\"lines\":1,"
                                      "\"columns\":[\"a\",\"b\",\"c\"],\"preview\":[]}")));
}
END_TEST

START_TEST(json_records)
{
    /* nested values whole, strings longer than a cell not cut, numbers as
     * the summary has them (an integer, a real, one beyond a double as
     * text), a NUL, and the line each element begins on */
    static const char json[] = "[{\"a\":1,\"b\":{\"c\":[1,2.5,\"0123456789abcdef\",[]],\"d\":{}}},\n"
                               "\n"
                               "  {\"big\":123456789012345678901234,\"huge\":1e400,\n"
                               "   \"t\":true,\"f\":false,\"n\":null,\"z\":\"a\\u0000b\"}, {}\n"
                               "]";
    ingest_parse_limits_t lim = {.cell_bytes = 4};
    json_t *c;
    run_t r;

    EXPECT_RECORDS(INGEST_PARSE_JSON, &lim, json, &r,
                   "1@1 {\"a\":1,\"b\":{\"c\":[1,2.5,\"0123456789abcdef\",[]],\"d\":{}}}",
                   "2@3 {\"big\":1.2345678901234569e23,\"huge\":\"1e400\",\"t\":true,\"f\":false,\"n\":null,"
                   "\"z\":\"a\\u0000b\"}",
                   "3@4 {}");
    /* the summary cut what the sink had whole */
    c = json_object_get(json_object_get(json_array_get(json_object_get(r.summary, "preview"), 0), "b"), "c");
    ck_assert_str_eq(json_string_value(json_array_get(c, 2)), "0123");
}
END_TEST

/* yajl lets a lone surrogate through, which jansson would not dump: its
 * bytes become U+FFFD, as in the summary; a NUL stays. */
START_TEST(json_invalid_utf8)
{
    static const char json[] = "[{\"s\":\"a\\udc00b\",\"k\\u0000\":\"\\u0000\"}]";

    EXPECT_RECORDS(INGEST_PARSE_JSON, NULL, json, NULL,
                   "1@1 {\"s\":\"a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                   "b\",\"k\\u0000\":\"\\u0000\"}");
}
END_TEST

/* Past the records the summary reads (its keys come from the first 100),
 * every element is still handed over. */
START_TEST(json_many_records)
{
    apr_array_header_t *a = apr_array_make(unit_pool, 4096, 1);
    const char **want = apr_pcalloc(unit_pool, 151 * sizeof(*want));
    const char *el;
    int i;
    run_t r;

    put(a, "[", 1);
    for (i = 1; i <= 150; ++i) {
        el = apr_psprintf(unit_pool, "{\"i\":%d,\"k%d\":[%d]}", i, i, i);
        put(a, el, strlen(el));
        put(a, i < 150 ? ",\n" : "]", i < 150 ? 2 : 1);
        want[i - 1] = apr_psprintf(unit_pool, "%d@%d %s", i, i, el);
    }
    expect_records_lim(INGEST_PARSE_JSON, NULL, a->elts, (apr_size_t)a->nelts, want, &r);
    ck_assert_int_eq(json_array_size(json_object_get(r.summary, "keys")), 101);
}
END_TEST

START_TEST(ndjson_records)
{
    /* blank lines are no records; CRLF; a last line without LF */
    static const char nd[] = "{\"a\":1}\n"
                             "\n"
                             "  \t\r\n"
                             "{\"b\":[1,{\"c\":\"0123456789\"}]}\r\n"
                             " {\"d\":\"\xC3\xA9\"}";
    ingest_parse_limits_t lim = {.cell_bytes = 3};

    EXPECT_RECORDS(INGEST_PARSE_NDJSON, &lim, nd, NULL, "1@1 {\"a\":1}",
                   "2@4 {\"b\":[1,{\"c\":\"0123456789\"}]}", "3@5 {\"d\":\"\xC3\xA9\"}");
}
END_TEST

START_TEST(text_records)
{
    /* CRLF and LF; an empty line; a CR alone inside a line stays; a last
     * line without LF */
    EXPECT_RECORDS(INGEST_PARSE_TEXT, NULL, "one\r\ntwo\n\na\rb\nlast", NULL, "1@1 3:one", "2@2 3:two",
                   "3@3 0:", "4@4 3:a\rb", "5@5 4:last");
    /* a CR the input ends with is a line end too */
    EXPECT_RECORDS(INGEST_PARSE_TEXT, NULL, "x\ny\r", NULL, "1@1 1:x", "2@2 1:y");
    /* lines longer than a cell are handed over whole; the summary cuts */
    {
        ingest_parse_limits_t lim = {.cell_bytes = 2};
        EXPECT_RECORDS(INGEST_PARSE_TEXT, &lim, "abcdef\r\n\xC3\xA9\xC3\xA9\n", NULL, "1@1 6:abcdef",
                       "2@2 4:\xC3\xA9\xC3\xA9");
    }
}
END_TEST

/* A text line longer than record_bytes fails only when a sink would be
 * handed it: with only the summary, text lines have no limit. */
START_TEST(text_record_limit)
{
    static const char txt[] = "short\nthis line is long\nok\n";
    ingest_parse_limits_t lim = {.record_bytes = 8};
    static const apr_size_t steps[] = {0, 1, 5};
    run_t r;
    apr_size_t i;

    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); ++i) {
        run_in(INGEST_PARSE_TEXT, &lim, txt, sizeof(txt) - 1, steps[i], 0, 0, &r);
        ck_assert_int_eq(r.failed, 0);
        ck_assert_int_eq(r.records, 3);
        run_in(INGEST_PARSE_TEXT, &lim, txt, sizeof(txt) - 1, steps[i], 1, 0, &r);
        ck_assert_int_eq(r.failed, 1);
        ck_assert_str_eq(r.error, "line 2 exceeds IngestMaxRecordSize (8 bytes)");
        ck_assert_int_eq(r.line, 2);
        ck_assert_int_eq(r.col, 1);
        ck_assert_int_eq(r.sink.recs->nelts, 1);
    }
    /* a line of exactly the limit, and a last line over it */
    EXPECT_RECORDS(INGEST_PARSE_TEXT, &lim, "12345678\n", NULL, "1@1 8:12345678");
    run_in(INGEST_PARSE_TEXT, &lim, "a\n123456789", 11, 1, 1, 0, &r);
    ck_assert_int_eq(r.failed, 1);
    ck_assert_str_eq(r.error, "line 2 exceeds IngestMaxRecordSize (8 bytes)");
}
END_TEST

/* A sink that refuses a record stops the parse, with its message, and
 * the record is not counted; fed whole or byte by byte. */
static void expect_refused(ingest_parse_kind_e kind, const char *s, int quietly, const char *error, int line,
                           int col)
{
    static const apr_size_t steps[] = {0, 1};
    run_t r;
    apr_size_t i;

    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); ++i) {
        memset(&r, 0, sizeof(r));
        {
            ingest_parser_t *ps = NULL;
            apr_size_t off, n;
            sink_t second = {0};

            r.sink.recs = apr_array_make(unit_pool, 4, sizeof(char *));
            r.sink.fail_at = 2;
            r.sink.fail_quietly = quietly;
            second.recs = apr_array_make(unit_pool, 4, sizeof(char *));
            ck_assert_int_eq(ingest_parser_create(unit_pool, kind, NULL, &ps), APR_SUCCESS);
            ck_assert_int_eq(ingest_parser_add_sink(ps, collect, &r.sink), APR_SUCCESS);
            ck_assert_int_eq(ingest_parser_add_sink(ps, collect, &second), APR_SUCCESS);
            for (off = 0; !r.failed && off < strlen(s); off += n) {
                n = steps[i] && steps[i] < strlen(s) - off ? steps[i] : strlen(s) - off;
                r.failed = ingest_parser_feed(ps, s + off, n) != APR_SUCCESS;
            }
            if (!r.failed && ingest_parser_finish(ps) != APR_SUCCESS) {
                r.failed = 2;
            }
            ck_assert_msg(r.failed, "the parse went on");
            ck_assert_str_eq(ingest_parser_error(ps, &r.line, &r.col), error);
            ck_assert_int_eq(r.line, line);
            ck_assert_int_eq(r.col, col);
            /* the first record went to both sinks, the second to neither */
            ck_assert_int_eq(r.sink.recs->nelts, 1);
            ck_assert_int_eq(second.recs->nelts, 1);
            ck_assert_int_eq(kind == INGEST_PARSE_TEXT ? 1 : ingest_parser_records(ps), 1);
            ck_assert_ptr_null(ingest_parser_summary(ps));
            ck_assert_int_eq(ingest_parser_feed(ps, "\n", 1), APR_EINVAL);
            ck_assert_int_eq(ingest_parser_finish(ps), APR_EINVAL);
            ck_assert_str_eq(ingest_parser_error(ps, NULL, NULL), error);
            ingest_parser_destroy(ps);
        }
    }
}

START_TEST(sink_refuses)
{
    expect_refused(INGEST_PARSE_CSV, "h\n1\n\"2\n2\"\n3\n", 0, "record 2 refused", 3, 7);
    expect_refused(INGEST_PARSE_CSV, "h\n1\n2", 1, "a record sink failed", 3, 0);
    expect_refused(INGEST_PARSE_JSON, "[{},\n {\"a\":[1]}, {}]", 0, "record 2 refused", 2, 7);
    expect_refused(INGEST_PARSE_JSON, "[{},\n {\"a\":[1]}, {}]", 1, "a record sink failed", 2, 0);
    expect_refused(INGEST_PARSE_NDJSON, "{}\n\n{}\n{}", 0, "record 2 refused", 3, 7);
    expect_refused(INGEST_PARSE_NDJSON, "{}\n\n{}", 1, "a record sink failed", 3, 0);
    expect_refused(INGEST_PARSE_TEXT, "a\nb\nc\n", 0, "record 2 refused", 2, 7);
    expect_refused(INGEST_PARSE_TEXT, "a\nb", 1, "a record sink failed", 2, 0);
}
END_TEST

START_TEST(sink_attaching)
{
    ingest_parser_t *ps = NULL;
    sink_t sk = {0};
    json_t *s;

    sk.recs = apr_array_make(unit_pool, 4, sizeof(char *));
    ck_assert_int_eq(ingest_parser_create(unit_pool, INGEST_PARSE_TEXT, NULL, &ps), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_add_sink(ps, NULL, &sk), APR_EINVAL);
    ck_assert_int_eq(ingest_parser_add_sink(NULL, collect, &sk), APR_EINVAL);
    ck_assert_int_eq(ingest_parser_feed(ps, "", 0), APR_SUCCESS);
    /* too late: the records so far would have been missed */
    ck_assert_int_eq(ingest_parser_add_sink(ps, collect, &sk), APR_EINVAL);
    ck_assert_int_eq(ingest_parser_feed(ps, "a\n", 2), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_finish(ps), APR_SUCCESS);
    ck_assert_int_eq(sk.recs->nelts, 0);

    /* binary: nothing is read, nothing handed over */
    ck_assert_int_eq(ingest_parser_create(unit_pool, INGEST_PARSE_BINARY, NULL, &ps), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_add_sink(ps, collect, &sk), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_feed(ps, "a\nb\n", 4), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_finish(ps), APR_SUCCESS);
    ck_assert_int_eq(sk.recs->nelts, 0);
    s = unit_json_own(ingest_parser_summary(ps));
    ck_assert(json_equal(s, unit_json("{\"format\":\"binary\"}")));
}
END_TEST

/* A record too long fails as without a sink, and what came before it was
 * handed over. */
START_TEST(record_limit_with_sink)
{
    ingest_parse_limits_t lim = {.record_bytes = 10};
    run_t r;

    run_in(INGEST_PARSE_CSV, &lim, "a,b\n1,2\n12345,67890\n", 20, 1, 1, 0, &r);
    ck_assert_str_eq(r.error, "row 2 exceeds IngestMaxRecordSize (10 bytes)");
    ck_assert_int_eq(r.sink.recs->nelts, 1);
    run_in(INGEST_PARSE_JSON, &lim, "[{\"a\":1},{\"b\":\"12345\"}]", 23, 1, 1, 0, &r);
    ck_assert_str_eq(r.error, "element 2 exceeds IngestMaxRecordSize (10 bytes)");
    ck_assert_int_eq(r.sink.recs->nelts, 1);
    run_in(INGEST_PARSE_NDJSON, &lim, "{\"a\":1}\n{\"b\":\"12345\"}\n", 22, 3, 1, 0, &r);
    ck_assert_str_eq(r.error, "line 2 exceeds IngestMaxRecordSize (10 bytes)");
    ck_assert_int_eq(r.sink.recs->nelts, 1);
}
END_TEST

/* Declared here and in unit_main.c (not in unit.h). */
Suite *suite_parse_sink(void);

Suite *suite_parse_sink(void)
{
    Suite *s = suite_create("parse_sink");
    TCase *tc = unit_tcase("parse_sink");

    tcase_add_test(tc, csv_records);
    tcase_add_test(tc, csv_columns);
    tcase_add_test(tc, json_records);
    tcase_add_test(tc, json_invalid_utf8);
    tcase_add_test(tc, json_many_records);
    tcase_add_test(tc, ndjson_records);
    tcase_add_test(tc, text_records);
    tcase_add_test(tc, text_record_limit);
    tcase_add_test(tc, sink_refuses);
    tcase_add_test(tc, sink_attaching);
    tcase_add_test(tc, record_limit_with_sink);
    suite_add_tcase(s, tc);
    return s;
}
