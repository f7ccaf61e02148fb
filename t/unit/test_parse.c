#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>

#include <apr_strings.h>

#include "ingest_parse.h"
#include "unit.h"

/* Every parse is checked whole, then in every split into two chunks and in
 * chunks of every size from 1 byte to the whole input: the result (summary
 * or error, line and column, records and lines) must never depend on where
 * the chunks end. Each chunk is fed from its own allocation of exactly its
 * size, so that ASan and valgrind catch a parser reading past a chunk. */

typedef struct {
    int failed; /* 0; 1: a feed failed; 2: finish did */
    const char *error;
    int line, col;
    apr_int64_t records, lines;
    json_t *summary; /* owned by unit_pool */
} result_t;

static apr_status_t feed_copy(ingest_parser_t *ps, const char *s, apr_size_t n)
{
    char *copy = malloc(n ? n : 1);
    apr_status_t rv;
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, s, n);
    rv = ingest_parser_feed(ps, copy, n);
    free(copy);
    return rv;
}

/* Feeds the first `first` bytes, then pieces of `step` bytes (0: the rest
 * at once), then finishes; the parser lives in a pool of its own, which is
 * destroyed at the end (the cleanup frees the libraries' state). */
static void parse_pieces(ingest_parse_kind_e kind, const ingest_parse_limits_t *lim, const char *s,
                         apr_size_t len, apr_size_t first, apr_size_t step, result_t *r)
{
    apr_pool_t *p = NULL;
    ingest_parser_t *ps = NULL;
    apr_size_t off, n;
    const char *e;

    memset(r, 0, sizeof(*r));
    ck_assert_int_eq(apr_pool_create(&p, unit_pool), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_create(p, kind, lim, &ps), APR_SUCCESS);
    n = first < len ? first : len;
    if (feed_copy(ps, s, n) != APR_SUCCESS) {
        r->failed = 1;
    }
    for (off = n; !r->failed && off < len; off += n) {
        n = step && step < len - off ? step : len - off;
        if (feed_copy(ps, s + off, n) != APR_SUCCESS) {
            r->failed = 1;
        }
    }
    if (!r->failed && ingest_parser_finish(ps) != APR_SUCCESS) {
        r->failed = 2;
    }
    e = ingest_parser_error(ps, &r->line, &r->col);
    r->error = e ? apr_pstrdup(unit_pool, e) : NULL;
    r->records = ingest_parser_records(ps);
    r->lines = ingest_parser_lines(ps);
    r->summary = unit_json_own(ingest_parser_summary(ps));
    if (r->failed) {
        /* every later call fails the same way */
        ck_assert_int_eq(ingest_parser_feed(ps, "x", 1), APR_EINVAL);
        ck_assert_int_eq(ingest_parser_finish(ps), APR_EINVAL);
        ck_assert_str_eq(ingest_parser_error(ps, NULL, NULL), r->error);
        ck_assert_ptr_null(r->summary);
    } else {
        ck_assert_ptr_null(e);
        ck_assert_int_eq(r->line, 0);
        ck_assert_ptr_nonnull(r->summary);
    }
    apr_pool_destroy(p);
}

static const char *dump(json_t *j)
{
    return j ? unit_str_own(json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)) : "(null)";
}

static void same(const result_t *got, const result_t *want, const char *how, apr_size_t k)
{
    ck_assert_msg(got->failed == want->failed, "%s %zu: failed %d, want %d (%s)", how, (size_t)k, got->failed,
                  want->failed, got->error ? got->error : "no error");
    ck_assert_msg((!got->error && !want->error)
                      || (got->error && want->error && !strcmp(got->error, want->error)),
                  "%s %zu: error \"%s\", want \"%s\"", how, (size_t)k, got->error ? got->error : "(none)",
                  want->error ? want->error : "(none)");
    ck_assert_msg(got->line == want->line && got->col == want->col, "%s %zu: at %d:%d, want %d:%d", how,
                  (size_t)k, got->line, got->col, want->line, want->col);
    /* the lines counted when a chunk fails depend on the chunks before it */
    ck_assert_msg(got->records == want->records && (got->failed || got->lines == want->lines),
                  "%s %zu: %" APR_INT64_T_FMT " records %" APR_INT64_T_FMT " lines, want %" APR_INT64_T_FMT
                  " and %" APR_INT64_T_FMT,
                  how, (size_t)k, got->records, got->lines, want->records, want->lines);
    ck_assert_msg((!got->summary && !want->summary) || json_equal(got->summary, want->summary),
                  "%s %zu: summary %s, want %s", how, (size_t)k, dump(got->summary), dump(want->summary));
}

/* The same result whole, in every split into two, in chunks of every size. */
static void all_splits(ingest_parse_kind_e kind, const ingest_parse_limits_t *lim, const char *s,
                       apr_size_t len, const result_t *want)
{
    result_t r;
    apr_size_t k;

    for (k = 0; k <= len; ++k) {
        parse_pieces(kind, lim, s, len, k, 0, &r);
        same(&r, want, "split at", k);
    }
    for (k = 1; k <= len; ++k) {
        parse_pieces(kind, lim, s, len, k, k, &r);
        same(&r, want, "chunks of", k);
    }
}

/* Parses s whole (with limits lim, NULL: the defaults) and expects the
 * summary want (JSON text). */
static void expect_ok_n(ingest_parse_kind_e kind, const ingest_parse_limits_t *lim, const char *s,
                        apr_size_t len, const char *want)
{
    result_t r;
    json_t *w = unit_json(want);

    parse_pieces(kind, lim, s, len, len, 0, &r);
    ck_assert_msg(!r.failed, "failed: %s at %d:%d", r.error, r.line, r.col);
    ck_assert_msg(json_equal(r.summary, w), "summary %s, want %s", dump(r.summary), dump(w));
    if (kind != INGEST_PARSE_BINARY) {
        ck_assert_int_eq(r.records, json_integer_value(json_object_get(w, "records")));
        ck_assert_int_eq(r.lines, json_integer_value(json_object_get(w, "lines")));
    }
    all_splits(kind, lim, s, len, &r);
}

static void expect_ok(ingest_parse_kind_e kind, const ingest_parse_limits_t *lim, const char *s,
                      const char *want)
{
    expect_ok_n(kind, lim, s, strlen(s), want);
}

/* Parses s whole and expects the error, found by a feed (at_finish 0) or
 * by finish (1), at line:col. */
static void expect_err_n(ingest_parse_kind_e kind, const ingest_parse_limits_t *lim, const char *s,
                         apr_size_t len, int at_finish, const char *error, int line, int col)
{
    result_t r;

    parse_pieces(kind, lim, s, len, len, 0, &r);
    ck_assert_msg(r.failed == (at_finish ? 2 : 1), "failed %d (%s), want %d", r.failed,
                  r.error ? r.error : "no error", at_finish ? 2 : 1);
    ck_assert_str_eq(r.error, error);
    ck_assert_msg(r.line == line && r.col == col, "\"%s\" at %d:%d, want %d:%d", r.error, r.line, r.col, line,
                  col);
    all_splits(kind, lim, s, len, &r);
}

static void expect_err(ingest_parse_kind_e kind, const ingest_parse_limits_t *lim, const char *s,
                       int at_finish, const char *error, int line, int col)
{
    expect_err_n(kind, lim, s, strlen(s), at_finish, error, line, col);
}

static char *repeat(const char *unit, apr_size_t n)
{
    apr_size_t ul = strlen(unit), i;
    char *s = apr_palloc(unit_pool, ul * n + 1);
    for (i = 0; i < n; ++i) {
        memcpy(s + i * ul, unit, ul);
    }
    s[ul * n] = '\0';
    return s;
}

/* ------------------------------------------------------------- common */

START_TEST(kind_by_file_type)
{
    ck_assert_int_eq(ingest_parse_kind("csv"), INGEST_PARSE_CSV);
    ck_assert_int_eq(ingest_parse_kind("json"), INGEST_PARSE_JSON);
    ck_assert_int_eq(ingest_parse_kind("ndjson"), INGEST_PARSE_NDJSON);
    ck_assert_int_eq(ingest_parse_kind("txt"), INGEST_PARSE_TEXT);
    ck_assert_int_eq(ingest_parse_kind("log"), INGEST_PARSE_TEXT);
    ck_assert_int_eq(ingest_parse_kind("xml"), INGEST_PARSE_TEXT);
    ck_assert_int_eq(ingest_parse_kind("pdf"), INGEST_PARSE_BINARY);
    ck_assert_int_eq(ingest_parse_kind("xlsx"), INGEST_PARSE_BINARY);
    ck_assert_int_eq(ingest_parse_kind("exe"), INGEST_PARSE_BINARY);
    ck_assert_int_eq(ingest_parse_kind(""), INGEST_PARSE_BINARY);
    ck_assert_int_eq(ingest_parse_kind(NULL), INGEST_PARSE_BINARY);
}
END_TEST

START_TEST(lifetime)
{
    ingest_parser_t *ps = (ingest_parser_t *)1;
    int line = -1, col = -1;

    ck_assert_int_eq(ingest_parser_create(unit_pool, (ingest_parse_kind_e)99, NULL, &ps), APR_EINVAL);
    ck_assert_ptr_null(ps);

    /* destroyed early (twice), then by the pool again: once is enough */
    ck_assert_int_eq(ingest_parser_create(unit_pool, INGEST_PARSE_JSON, NULL, &ps), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_feed(ps, "[{\"a\":", 6), APR_SUCCESS);
    ck_assert_ptr_null(ingest_parser_error(ps, &line, &col));
    ck_assert_int_eq(line, 0);
    ck_assert_int_eq(col, 0);
    ck_assert_ptr_null(ingest_parser_summary(ps));
    ingest_parser_destroy(ps);
    ingest_parser_destroy(ps);
    ck_assert_int_eq(ingest_parser_feed(ps, "1}]", 3), APR_EINVAL);
    ck_assert_str_eq(ingest_parser_error(ps, NULL, NULL), "the parser was destroyed");
    ingest_parser_destroy(NULL);

    /* finish twice is fine; input after it is not */
    ck_assert_int_eq(ingest_parser_create(unit_pool, INGEST_PARSE_CSV, NULL, &ps), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_feed(ps, "a\n1\n", 4), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_finish(ps), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_finish(ps), APR_SUCCESS);
    ck_assert_ptr_nonnull(unit_json_own(ingest_parser_summary(ps)));
    ck_assert_int_eq(ingest_parser_feed(ps, "2\n", 2), APR_EINVAL);
    ck_assert_str_eq(ingest_parser_error(ps, NULL, NULL), "input after the end");
    ck_assert_ptr_null(ingest_parser_summary(ps));

    /* left to the pool, with every kind's state allocated */
    ck_assert_int_eq(ingest_parser_create(unit_pool, INGEST_PARSE_CSV, NULL, &ps), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_feed(ps, "a,b\n1,\"long", 11), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_create(unit_pool, INGEST_PARSE_JSON, NULL, &ps), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_feed(ps, "[{\"k\":[1,{\"x\":", 14), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_create(unit_pool, INGEST_PARSE_NDJSON, NULL, &ps), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_feed(ps, "{\"a\":1}\n{\"b\":", 13), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_create(unit_pool, INGEST_PARSE_TEXT, NULL, &ps), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_feed(ps, "one\ntw", 6), APR_SUCCESS);
}
END_TEST

/* ---------------------------------------------------------------- CSV */

START_TEST(csv_quoted_fields)
{
    /* commas, doubled quotes and line breaks inside quotes; a quoted empty
     * field; spaces around unquoted fields are trimmed by libcsv */
    expect_ok(INGEST_PARSE_CSV, NULL,
              "id,name,note\n"
              "1,\"Smith, John\",\"He said \"\"hi\"\"\"\n"
              "2,\"two\nlines\",\"\"\n"
              "3, plain ,\"a,b\"\n"
              "4,last,\"end\"\n",
              "{\"format\":\"csv\",\"records\":4,\"lines\":6,\"columns\":[\"id\",\"name\",\"note\"],"
              "\"preview\":[{\"id\":\"1\",\"name\":\"Smith, John\",\"note\":\"He said \\\"hi\\\"\"},"
              "{\"id\":\"2\",\"name\":\"two\\nlines\",\"note\":\"\"},"
              "{\"id\":\"3\",\"name\":\"plain\",\"note\":\"a,b\"}]}");
}
END_TEST

START_TEST(csv_crlf)
{
    expect_ok(INGEST_PARSE_CSV, NULL, "a,b\r\n1,2\r\n3,\"x\r\ny\"\r\n",
              "{\"format\":\"csv\",\"records\":2,\"lines\":4,\"columns\":[\"a\",\"b\"],"
              "\"preview\":[{\"a\":\"1\",\"b\":\"2\"},{\"a\":\"3\",\"b\":\"x\\r\\ny\"}]}");
    /* no line break at the end: the last line still counts, once */
    expect_ok(INGEST_PARSE_CSV, NULL, "a,b\r\n1,2\r\n3,4",
              "{\"format\":\"csv\",\"records\":2,\"lines\":3,\"columns\":[\"a\",\"b\"],"
              "\"preview\":[{\"a\":\"1\",\"b\":\"2\"},{\"a\":\"3\",\"b\":\"4\"}]}");
}
END_TEST

START_TEST(csv_header_only)
{
    expect_ok(
        INGEST_PARSE_CSV, NULL, "a,b,c\n",
        "{\"format\":\"csv\",\"records\":0,\"lines\":1,\"columns\":[\"a\",\"b\",\"c\"],\"preview\":[]}");
    expect_ok(
        INGEST_PARSE_CSV, NULL, "a,b,c",
        "{\"format\":\"csv\",\"records\":0,\"lines\":1,\"columns\":[\"a\",\"b\",\"c\"],\"preview\":[]}");
    /* blank lines first: the header is the first row */
    expect_ok(INGEST_PARSE_CSV, NULL, "\n  \n\"only\"\n",
              "{\"format\":\"csv\",\"records\":0,\"lines\":3,\"columns\":[\"only\"],\"preview\":[]}");
}
END_TEST

START_TEST(csv_blank_lines)
{
    /* a blank trailing line (or one of spaces) is no record; a blank line
     * between rows neither */
    expect_ok(INGEST_PARSE_CSV, NULL, "a\n1\n\n2\n\n",
              "{\"format\":\"csv\",\"records\":2,\"lines\":5,\"columns\":[\"a\"],"
              "\"preview\":[{\"a\":\"1\"},{\"a\":\"2\"}]}");
    expect_ok(
        INGEST_PARSE_CSV, NULL, "a\n1\n   ",
        "{\"format\":\"csv\",\"records\":1,\"lines\":3,\"columns\":[\"a\"],\"preview\":[{\"a\":\"1\"}]}");
}
END_TEST

START_TEST(csv_preview_three)
{
    /* five rows, three previewed; duplicate names are kept in the columns,
     * and the last of them wins in a preview object */
    expect_ok(INGEST_PARSE_CSV, NULL, "k,v,k\n1,a,x\n2,b,y\n3,c,z\n4,d,w\n5,e,v\n",
              "{\"format\":\"csv\",\"records\":5,\"lines\":6,\"columns\":[\"k\",\"v\",\"k\"],"
              "\"preview\":[{\"k\":\"x\",\"v\":\"a\"},{\"k\":\"y\",\"v\":\"b\"},{\"k\":\"z\",\"v\":\"c\"}]}");
}
END_TEST

START_TEST(csv_wrong_field_count)
{
    expect_err(INGEST_PARSE_CSV, NULL, "a,b\n1,2\n3\n4,5\n", 0, "row 2 has 1 fields, the header has 2", 3, 1);
    expect_err(INGEST_PARSE_CSV, NULL, "a,b\n\n\n1,2,3\n", 0, "row 1 has 3 fields, the header has 2", 4, 1);
    /* the line where the row begins, though it ends later */
    expect_err(INGEST_PARSE_CSV, NULL, "a,b\n1,2\n\"x\ny\nz\",1,2\n", 0,
               "row 2 has 3 fields, the header has 2", 3, 1);
    expect_err(INGEST_PARSE_CSV, NULL, "a,b\r\n1,2\r\n3,4,5\r\n", 0, "row 2 has 3 fields, the header has 2",
               3, 1);
    /* the last row, without a line break, is checked by finish */
    expect_err(INGEST_PARSE_CSV, NULL, "a,b\n1,2\n3", 1, "row 2 has 1 fields, the header has 2", 3, 1);
}
END_TEST

START_TEST(csv_bad_quote)
{
    const char *strict = "malformed CSV: error parsing data while strict checking enabled";

    /* a quote inside an unquoted field, at the quote */
    expect_err(INGEST_PARSE_CSV, NULL, "a,b\n1,x\"y\n", 0, strict, 2, 4);
    /* text after a closing quote, at the text */
    expect_err(INGEST_PARSE_CSV, NULL, "a,b\n1,2\n\"ab\"c,1\n", 0, strict, 3, 5);
    /* columns count characters: é is one */
    expect_err(INGEST_PARSE_CSV, NULL, "a,b\n\xC3\xA9,\xC3\xA9x\"\n", 0, strict, 2, 5);
    /* after a quoted line break, the line and column are the real ones */
    expect_err(INGEST_PARSE_CSV, NULL, "a,b\n\"1\n22\"x,2\n", 0, strict, 3, 4);
    /* a quote left open is only known at the end: the row's line */
    expect_err(INGEST_PARSE_CSV, NULL, "a,b\n1,2\n3,\"open\n4,5\n", 1,
               "malformed CSV: a quoted field is not closed at the end of the file", 3, 0);
}
END_TEST

START_TEST(csv_empty)
{
    expect_err(INGEST_PARSE_CSV, NULL, "", 1, "empty CSV: no header row", 0, 0);
    expect_err(INGEST_PARSE_CSV, NULL, "\n \r\n\t\n", 1, "empty CSV: no header row", 0, 0);
}
END_TEST

START_TEST(csv_cells)
{
    /* a long value is cut on a character boundary: 255 bytes of 'a' and a
     * two-byte é do not fit in 256; 254 and é do. Bytes that are not UTF-8
     * become U+FFFD; a long column name is cut too, and the summary says
     * so. */
    char *in = apr_pstrcat(unit_pool, "h\xff,", repeat("n", 300), "\n", repeat("a", 255), "\xC3\xA9,",
                           repeat("a", 254), "\xC3\xA9\n", "x\xC3,\xF0\x9F\x98\x80\n", NULL);
    char *want = apr_pstrcat(
        unit_pool, "{\"format\":\"csv\",\"records\":2,\"lines\":3,\"columns\":[\"h\xEF\xBF\xBD\",\"",
        repeat("n", 256), "\"],\"preview\":[{\"h\xEF\xBF\xBD\":\"", repeat("a", 255), "\",\"",
        repeat("n", 256), "\":\"", repeat("a", 254), "\xC3\xA9\"},{\"h\xEF\xBF\xBD\":\"x\xEF\xBF\xBD\",\"",
        repeat("n", 256), "\":\"\xF0\x9F\x98\x80\"}],\"truncated\":true}", NULL);
    expect_ok(INGEST_PARSE_CSV, NULL, in, want);
}
END_TEST

/* "a,b\n1,\"xxx…\"\n" (closed) or without its closing quote: the data row
 * is field_len + 4 bytes long. */
static char *csv_with_field(apr_size_t field_len, int closed)
{
    char *s = malloc(field_len + 32);
    apr_size_t n;
    ck_assert_ptr_nonnull(s);
    unit_str_own(s);
    memcpy(s, "a,b\n1,\"", 7);
    memset(s + 7, 'x', field_len);
    n = 7 + field_len;
    if (closed) {
        memcpy(s + n, "\"\n", 3);
    } else {
        s[n] = '\0';
    }
    return s;
}

START_TEST(csv_record_bound)
{
    static const apr_size_t steps[] = {0, 1000, 64 * 1024, 100003};
    const char *msg = "row 1 exceeds IngestMaxRecordSize (1048576 bytes)";
    result_t r;
    char *s;
    size_t i;

    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); ++i) {
        /* a row of exactly 1 MiB, quotes and comma included, is fine */
        s = csv_with_field(INGEST_PARSE_DEFAULT_RECORD - 4, 1);
        parse_pieces(INGEST_PARSE_CSV, NULL, s, strlen(s), steps[i] ? steps[i] : strlen(s), steps[i], &r);
        ck_assert_msg(!r.failed, "%s", r.error);
        ck_assert_int_eq(r.records, 1);

        s = csv_with_field(INGEST_PARSE_DEFAULT_RECORD - 3, 1);
        parse_pieces(INGEST_PARSE_CSV, NULL, s, strlen(s), steps[i] ? steps[i] : strlen(s), steps[i], &r);
        ck_assert_int_eq(r.failed, 1);
        ck_assert_str_eq(r.error, msg);
        ck_assert_int_eq(r.line, 2);

        /* never closed: caught while it is read, not at the end */
        s = csv_with_field(3 * INGEST_PARSE_DEFAULT_RECORD, 0);
        parse_pieces(INGEST_PARSE_CSV, NULL, s, strlen(s), steps[i] ? steps[i] : strlen(s), steps[i], &r);
        ck_assert_int_eq(r.failed, 1);
        ck_assert_str_eq(r.error, msg);
    }
}
END_TEST

START_TEST(csv_large)
{
    /* 200,000 rows in 64 KiB chunks: counted as they pass, three kept */
    const apr_size_t rows = 200000, chunk = 64 * 1024;
    apr_size_t cap = 32 + rows * 40, len, off, n;
    char *s = unit_str_own(malloc(cap));
    ingest_parser_t *ps;
    apr_int64_t seen = 0;
    json_t *sum, *pv;
    apr_size_t i;

    ck_assert_ptr_nonnull(s);
    len = (apr_size_t)snprintf(s, cap, "id,name,amount\n");
    for (i = 1; i <= rows; ++i) {
        len += (apr_size_t)snprintf(s + len, cap - len, "%zu,\"name %zu\",%zu.%02zu\n", (size_t)i, (size_t)i,
                                    (size_t)(i * 7), (size_t)(i % 100));
    }
    ck_assert_int_eq(ingest_parser_create(unit_pool, INGEST_PARSE_CSV, NULL, &ps), APR_SUCCESS);
    for (off = 0; off < len; off += n) {
        n = len - off < chunk ? len - off : chunk;
        ck_assert_int_eq(ingest_parser_feed(ps, s + off, n), APR_SUCCESS);
        ck_assert(ingest_parser_records(ps) >= seen);
        seen = ingest_parser_records(ps);
        /* the rows of a chunk are counted by the time it has been fed
         * (but the one it cuts) */
        ck_assert_int_eq(seen, ingest_parser_lines(ps) - 1);
    }
    ck_assert_int_eq(ingest_parser_finish(ps), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_records(ps), (apr_int64_t)rows);
    ck_assert_int_eq(ingest_parser_lines(ps), (apr_int64_t)rows + 1);
    sum = unit_json_own(ingest_parser_summary(ps));
    pv = json_object_get(sum, "preview");
    ck_assert_int_eq(json_array_size(pv), 3);
    ck_assert(json_equal(json_array_get(pv, 2),
                         unit_json("{\"id\":\"3\",\"name\":\"name 3\",\"amount\":\"21.03\"}")));
    ck_assert_int_eq(json_integer_value(json_object_get(sum, "records")), (json_int_t)rows);
}
END_TEST

/* --------------------------------------------------------------- JSON */

START_TEST(json_five_objects)
{
    expect_ok(INGEST_PARSE_JSON, NULL,
              "[\n"
              "  {\"id\": 1, \"name\": \"a\"},\n"
              "  {\"id\": 2, \"tags\": []},\n"
              "  {\"name\": \"c\", \"ok\": true, \"id\": 3},\n"
              "  {\"id\": 4, \"none\": null},\n"
              "  {\"id\": 5, \"late\": 1.5}\n"
              "]\n",
              "{\"format\":\"json\",\"records\":5,\"lines\":7,"
              "\"keys\":[\"id\",\"name\",\"tags\",\"ok\",\"none\",\"late\"],"
              "\"preview\":[{\"id\":1,\"name\":\"a\"},{\"id\":2,\"tags\":[]},{\"name\":\"c\",\"ok\":true,"
              "\"id\":3}]}");
}
END_TEST

START_TEST(json_nested)
{
    /* nested objects and arrays; integers that fit are integers, the
     * others reals; escapes; keys of nested objects are not record keys */
    expect_ok(INGEST_PARSE_JSON, NULL,
              "[{\"a\":{\"b\":[1,[2,{\"c\":null}],{}],\"d\":\"x\\\"y\\u00e9\\n\"},"
              "\"big\":9223372036854775807,\"bigger\":9223372036854775808,\"neg\":-12,\"e\":1e3,\"f\":-0.25,"
              "\"\":false},\n"
              "{\"z\":[[],[[]]]}]",
              "{\"format\":\"json\",\"records\":2,\"lines\":2,"
              "\"keys\":[\"a\",\"big\",\"bigger\",\"neg\",\"e\",\"f\",\"\",\"z\"],"
              "\"preview\":[{\"a\":{\"b\":[1,[2,{\"c\":null}],{}],\"d\":\"x\\\"y\\u00e9\\n\"},"
              "\"big\":9223372036854775807,\"bigger\":9223372036854775808.0,\"neg\":-12,\"e\":1000.0,"
              "\"f\":-0.25,\"\":false},"
              "{\"z\":[[],[[]]]}]}");
}
END_TEST

START_TEST(json_empty_array)
{
    expect_ok(INGEST_PARSE_JSON, NULL, " [ ] ",
              "{\"format\":\"json\",\"records\":0,\"lines\":1,\"keys\":[],\"preview\":[]}");
    expect_err(INGEST_PARSE_JSON, NULL, "", 1, "empty JSON: no array of objects", 0, 0);
    expect_err(INGEST_PARSE_JSON, NULL, " \n\t", 1, "empty JSON: no array of objects", 0, 0);
}
END_TEST

START_TEST(json_not_array)
{
    const char *msg = "a JSON file must be an array of objects";
    /* at the first value, wherever it is found out */
    expect_err(INGEST_PARSE_JSON, NULL, "\n  {\"a\": 1}", 0, msg, 2, 3);
    expect_err(INGEST_PARSE_JSON, NULL, "\"text\"", 0, msg, 1, 1);
    /* a scalar is known as soon as its first byte is read */
    expect_err(INGEST_PARSE_JSON, NULL, " 12", 0, msg, 1, 2);
    expect_err(INGEST_PARSE_JSON, NULL, "\"unterminated", 0, msg, 1, 1);
    expect_err(INGEST_PARSE_JSON, NULL, "tru", 0, msg, 1, 1);
    expect_err(INGEST_PARSE_JSON, NULL, "trux", 0, msg, 1, 1);
    expect_err(INGEST_PARSE_JSON, NULL, "null ", 0, msg, 1, 1);
}
END_TEST

START_TEST(json_element_not_object)
{
    /* where the element begins, as soon as its first byte is read */
    expect_err(INGEST_PARSE_JSON, NULL, "[{\"a\":1}, 5]", 0, "element 2 is not an object", 1, 11);
    expect_err(INGEST_PARSE_JSON, NULL, "[{\"a\":1},\n [1]]", 0, "element 2 is not an object", 2, 2);
    expect_err(INGEST_PARSE_JSON, NULL, "[\"x\xC3\xA9y\"]", 0, "element 1 is not an object", 1, 2);
    expect_err(INGEST_PARSE_JSON, NULL, "[{},{},123]", 0, "element 3 is not an object", 1, 8);
    expect_err(INGEST_PARSE_JSON, NULL, "[{},\n42", 0, "element 2 is not an object", 2, 1);
    /* also when it is not even valid, or not over */
    expect_err(INGEST_PARSE_JSON, NULL, "[{} ,\t\"a\\qb\"]", 0, "element 2 is not an object", 1, 7);
    expect_err(INGEST_PARSE_JSON, NULL, "[nul", 0, "element 1 is not an object", 1, 2);
    expect_err(INGEST_PARSE_JSON, NULL, "[{},fals", 0, "element 2 is not an object", 1, 5);
    /* what is no value at all is yajl's to say */
    expect_err(INGEST_PARSE_JSON, NULL, "[{} \"x\"]", 0,
               "malformed JSON: parse error: after array element, I expect ',' or ']'", 1, 7);
    expect_err(INGEST_PARSE_JSON, NULL, "[{}, x]", 0,
               "malformed JSON: lexical error: invalid char in json text.", 1, 6);
    expect_err(INGEST_PARSE_JSON, NULL, "[{},]", 0,
               "malformed JSON: parse error: unallowed token at this point in JSON text", 1, 5);
}
END_TEST

START_TEST(json_truncated)
{
    /* what is missing is known at the end: the position after the input */
    expect_err(INGEST_PARSE_JSON, NULL, "[{\"a\":1},{\"b\":2}", 1,
               "malformed JSON: parse error: premature EOF", 1, 17);
    expect_err(INGEST_PARSE_JSON, NULL, "[{\"a\":1},\n{\"b\":\n", 1,
               "malformed JSON: parse error: premature EOF", 3, 1);
    expect_err(INGEST_PARSE_JSON, NULL, "[{\"a\":\"unterminated", 1,
               "malformed JSON: parse error: premature EOF", 1, 20);
}
END_TEST

START_TEST(json_malformed)
{
    expect_err(INGEST_PARSE_JSON, NULL, "[\n {\"a\": 1},\n {\"b\" 2}\n]", 0,
               "malformed JSON: parse error: object key and value must be separated by a colon (':')", 3, 7);
    expect_err(INGEST_PARSE_JSON, NULL, "[{\"a\":1},\n{\"a\": tru}]", 0,
               "malformed JSON: lexical error: invalid string in json text.", 2, 9);
    expect_err(INGEST_PARSE_JSON, NULL, "[{\"\xC3\xA9\":1,}]", 0,
               "malformed JSON: parse error: invalid object key (must be a string)", 1, 9);
    expect_err(INGEST_PARSE_JSON, NULL, "[{\"a\":1}]\n x", 0, "malformed JSON: parse error: trailing garbage",
               2, 2);
    expect_err(
        INGEST_PARSE_JSON, NULL, "[{\"a\":\"b\\qc\"}]", 0,
        "malformed JSON: lexical error: inside a string, '\\' occurs before a character which it may not.", 1,
        9);
    /* yajl reports this one at the start of the token, also when the
     * token began in a chunk before */
    expect_err(INGEST_PARSE_JSON, NULL, "[{\"a\":01}]", 0,
               "malformed JSON: parse error: after key and value, inside map, I expect ',' or '}'", 1, 8);
    expect_err(INGEST_PARSE_JSON, NULL, "[{\"a\":1 \"bcd\"}]", 0,
               "malformed JSON: parse error: after key and value, inside map, I expect ',' or '}'", 1, 9);
    expect_err(INGEST_PARSE_JSON, NULL, "[{\"a\":{\"b\":[]}\n  12345}]", 0,
               "malformed JSON: parse error: after key and value, inside map, I expect ',' or '}'", 2, 3);
    expect_err(INGEST_PARSE_JSON, NULL, "[{\"a\":\"x\"   true}]", 0,
               "malformed JSON: parse error: after key and value, inside map, I expect ',' or '}'", 1, 13);
    /* and the others after it */
    expect_err(INGEST_PARSE_JSON, NULL, "[{\"a\":[1 \"bcd\"]}]", 0,
               "malformed JSON: parse error: after array element, I expect ',' or ']'", 1, 14);
    expect_err(INGEST_PARSE_JSON, NULL, "[{\"a\":\"\xFF\"}]", 0,
               "malformed JSON: lexical error: invalid bytes in UTF8 string.", 1, 8);
}
END_TEST

START_TEST(json_cells)
{
    /* keys and strings of the preview are cut on a character boundary, and
     * so are the listed keys */
    char *in = apr_pstrcat(unit_pool, "[{\"", repeat("k", 300), "\":\"", repeat("a", 255),
                           "\xC3\xA9\"},{\"v\":[\"", repeat("\xE2\x82\xAC", 90), "\"]}]", NULL);
    char *want = apr_pstrcat(unit_pool, "{\"format\":\"json\",\"records\":2,\"lines\":1,\"keys\":[\"",
                             repeat("k", 256), "\",\"v\"],\"preview\":[{\"", repeat("k", 256), "\":\"",
                             repeat("a", 255), "\"},{\"v\":[\"", repeat("\xE2\x82\xAC", 85),
                             "\"]}],\"truncated\":true}", NULL);
    expect_ok(INGEST_PARSE_JSON, NULL, in, want);
}
END_TEST

START_TEST(json_depth)
{
    /* a record may be nested 2048 levels deep (itself the first), as
     * jansson allows for NDJSON; one more is an error */
    char *ok = apr_pstrcat(unit_pool, "[{\"a\":", repeat("[", 2047), repeat("]", 2047), "}]", NULL);
    char *deep = apr_pstrcat(unit_pool, "[{}, {\"a\":", repeat("[", 2048), repeat("]", 2048), "}]", NULL);
    result_t r;

    parse_pieces(INGEST_PARSE_JSON, NULL, ok, strlen(ok), 100, 100, &r);
    ck_assert_msg(!r.failed, "%s", r.error);
    parse_pieces(INGEST_PARSE_JSON, NULL, deep, strlen(deep), 100, 100, &r);
    ck_assert_int_eq(r.failed, 1);
    ck_assert_str_eq(r.error, "element 2 is nested deeper than 2048 levels");
    ck_assert_int_eq(r.col, 10 + 2048);
}
END_TEST

START_TEST(json_keys_first_100)
{
    /* 150 records; the keys of the 101st on are not looked at */
    char *s = apr_pstrdup(unit_pool, "[");
    result_t r;
    json_t *keys;
    int i;

    for (i = 1; i <= 150; ++i) {
        s = apr_psprintf(unit_pool, "%s%s{\"id\":%d,\"k%d\":true}", s, i > 1 ? "," : "", i, i % 2 ? 1 : i);
    }
    s = apr_pstrcat(unit_pool, s, "]", NULL);
    parse_pieces(INGEST_PARSE_JSON, NULL, s, strlen(s), 97, 97, &r);
    ck_assert_msg(!r.failed, "%s", r.error);
    ck_assert_int_eq(r.records, 150);
    keys = json_object_get(r.summary, "keys");
    /* id, k1, then k2, k4, ... k100 */
    ck_assert_int_eq(json_array_size(keys), 52);
    ck_assert_str_eq(json_string_value(json_array_get(keys, 1)), "k1");
    ck_assert_str_eq(json_string_value(json_array_get(keys, 51)), "k100");
}
END_TEST

START_TEST(json_large)
{
    const int n = 100000;
    char *s = unit_str_own(malloc((size_t)n * 40 + 8));
    apr_size_t len = 0, off, k;
    ingest_parser_t *ps;
    int i;

    ck_assert_ptr_nonnull(s);
    s[len++] = '[';
    for (i = 1; i <= n; ++i) {
        len += (apr_size_t)sprintf(s + len, "%s{\"i\":%d,\"s\":\"v%d\"}\n", i > 1 ? "," : "", i, i);
    }
    s[len++] = ']';
    ck_assert_int_eq(ingest_parser_create(unit_pool, INGEST_PARSE_JSON, NULL, &ps), APR_SUCCESS);
    for (off = 0; off < len; off += k) {
        k = len - off < 65536 ? len - off : 65536;
        ck_assert_int_eq(ingest_parser_feed(ps, s + off, k), APR_SUCCESS);
    }
    ck_assert_int_eq(ingest_parser_finish(ps), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_records(ps), n);
    ck_assert_int_eq(ingest_parser_lines(ps), n + 1);
    ck_assert(json_equal(
        unit_json_own(ingest_parser_summary(ps)),
        unit_json("{\"format\":\"json\",\"records\":100000,\"lines\":100001,\"keys\":[\"i\",\"s\"],"
                  "\"preview\":[{\"i\":1,\"s\":\"v1\"},{\"i\":2,\"s\":\"v2\"},{\"i\":3,\"s\":\"v3\"}]}")));
}
END_TEST

/* ------------------------------------------------------------- NDJSON */

START_TEST(ndjson_blank_lines)
{
    expect_ok(INGEST_PARSE_NDJSON, NULL,
              "{\"a\":1}\n\n  \t\n{\"b\":[1,{\"x\":2}]}\r\n{\"a\":3,\"c\":\"\xC3\xA9\"}\n{\"d\":4}\n\n",
              "{\"format\":\"ndjson\",\"records\":4,\"lines\":7,\"keys\":[\"a\",\"b\",\"c\",\"d\"],"
              "\"preview\":[{\"a\":1},{\"b\":[1,{\"x\":2}]},{\"a\":3,\"c\":\"\xC3\xA9\"}]}");
    expect_ok(INGEST_PARSE_NDJSON, NULL, "",
              "{\"format\":\"ndjson\",\"records\":0,\"lines\":0,\"keys\":[],\"preview\":[]}");
}
END_TEST

START_TEST(ndjson_no_trailing_newline)
{
    expect_ok(INGEST_PARSE_NDJSON, NULL, "{\"a\":1}\n{\"b\":2}",
              "{\"format\":\"ndjson\",\"records\":2,\"lines\":2,\"keys\":[\"a\",\"b\"],"
              "\"preview\":[{\"a\":1},{\"b\":2}]}");
    expect_ok(INGEST_PARSE_NDJSON, NULL, "{\"a\":1}\n   ",
              "{\"format\":\"ndjson\",\"records\":1,\"lines\":2,\"keys\":[\"a\"],\"preview\":[{\"a\":1}]}");
}
END_TEST

START_TEST(ndjson_bad_line)
{
    /* jansson's message and column, on the file's line */
    expect_err(INGEST_PARSE_NDJSON, NULL, "{\"a\":1}\n\n{\"a\":}\n{\"b\":2}\n", 0,
               "malformed JSON: unexpected token near '}'", 3, 6);
    expect_err(INGEST_PARSE_NDJSON, NULL, "{\"a\":1}\n{\"\xC3\xA9\":1,\"b\":tru}\n", 0,
               "malformed JSON: invalid token near 'tru'", 2, 14);
    expect_err(INGEST_PARSE_NDJSON, NULL, "{\"a\":1,\"a\":2}\n", 0,
               "malformed JSON: duplicate object key near '\"a\"'", 1, 10);
    expect_err(INGEST_PARSE_NDJSON, NULL, "{\"a\":1} {\"b\":2}\n", 0,
               "malformed JSON: end of file expected near '{'", 1, 9);
    /* the last line, without a line feed, is read at the end */
    expect_err(INGEST_PARSE_NDJSON, NULL, "{\"a\":1}\n{\"a\":", 1,
               "malformed JSON: unexpected token near end of file", 2, 5);
}
END_TEST

START_TEST(ndjson_not_object)
{
    expect_err(INGEST_PARSE_NDJSON, NULL, "{\"a\":1}\n  [1,2]\n", 0, "line 2 is not a JSON object", 2, 3);
    expect_err(INGEST_PARSE_NDJSON, NULL, "\n\"text\"", 1, "line 2 is not a JSON object", 2, 1);
    expect_err(INGEST_PARSE_NDJSON, NULL, "null\n", 0, "line 1 is not a JSON object", 1, 1);
}
END_TEST

START_TEST(ndjson_long_line)
{
    static const apr_size_t steps[] = {0, 4096, 65536};
    apr_size_t n = INGEST_PARSE_DEFAULT_RECORD, i;
    char *s = unit_str_own(malloc(n + 64));
    result_t r;

    /* {"a":"xxx..."} of exactly 1 MiB is fine, one byte more is not */
    memcpy(s, "{}\n{\"a\":\"", 9);
    memset(s + 9, 'x', n - 8);
    memcpy(s + 9 + n - 8, "\"}\n", 4);
    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); ++i) {
        parse_pieces(INGEST_PARSE_NDJSON, NULL, s, strlen(s), steps[i] ? steps[i] : strlen(s), steps[i], &r);
        ck_assert_msg(!r.failed, "%s", r.error);
        ck_assert_int_eq(r.records, 2);
    }
    s[9 + n - 8] = 'x';
    memcpy(s + 9 + n - 7, "\"}\n", 4);
    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); ++i) {
        parse_pieces(INGEST_PARSE_NDJSON, NULL, s, strlen(s), steps[i] ? steps[i] : strlen(s), steps[i], &r);
        ck_assert_int_eq(r.failed, 1);
        ck_assert_str_eq(r.error, "line 2 exceeds IngestMaxRecordSize (1048576 bytes)");
        ck_assert_int_eq(r.line, 2);
        ck_assert_int_eq(r.col, 1);
    }
    /* and without a line feed: found before the end */
    s[strlen(s) - 1] = '\0';
    parse_pieces(INGEST_PARSE_NDJSON, NULL, s, strlen(s), 4096, 4096, &r);
    ck_assert_int_eq(r.failed, 1);
    ck_assert_str_eq(r.error, "line 2 exceeds IngestMaxRecordSize (1048576 bytes)");
}
END_TEST

START_TEST(ndjson_cells)
{
    char *in = apr_pstrcat(unit_pool, "{\"s\":\"", repeat("\xF0\x9F\x98\x80", 70), "\",\"n\":[\"",
                           repeat("b", 300), "\"]}\n", NULL);
    char *want = apr_pstrcat(unit_pool,
                             "{\"format\":\"ndjson\",\"records\":1,\"lines\":1,\"keys\":[\"s\",\"n\"],"
                             "\"preview\":[{\"s\":\"",
                             repeat("\xF0\x9F\x98\x80", 64), "\",\"n\":[\"", repeat("b", 256),
                             "\"]}],\"truncated\":true}", NULL);
    expect_ok(INGEST_PARSE_NDJSON, NULL, in, want);
}
END_TEST

/* --------------------------------------------------------------- text */

START_TEST(text_lines)
{
    expect_ok(INGEST_PARSE_TEXT, NULL, "one\ntwo\r\nthree\nfour\n",
              "{\"format\":\"text\",\"records\":4,\"lines\":4,\"preview\":[\"one\",\"two\",\"three\"]}");
    expect_ok(INGEST_PARSE_TEXT, NULL, "one\r\ntwo",
              "{\"format\":\"text\",\"records\":2,\"lines\":2,\"preview\":[\"one\",\"two\"]}");
    expect_ok(INGEST_PARSE_TEXT, NULL, "\n\na\rb\n",
              "{\"format\":\"text\",\"records\":3,\"lines\":3,\"preview\":[\"\",\"\",\"a\\rb\"]}");
    expect_ok(INGEST_PARSE_TEXT, NULL, "", "{\"format\":\"text\",\"records\":0,\"lines\":0,\"preview\":[]}");
    expect_ok(INGEST_PARSE_TEXT, NULL, "x",
              "{\"format\":\"text\",\"records\":1,\"lines\":1,\"preview\":[\"x\"]}");
}
END_TEST

START_TEST(text_cells)
{
    /* cut at 256 bytes on a character boundary (a three-byte € would end
     * at 258); a line of exactly 256 bytes and a CR is whole; bad bytes
     * become U+FFFD */
    char *in = apr_pstrcat(unit_pool, repeat("a", 255), "\xE2\x82\xAC", repeat("z", 1000), "\n",
                           repeat("b", 256), "\r\n", "\xC0\xAFok\xFF\n", "last\n", NULL);
    char *want = apr_pstrcat(unit_pool, "{\"format\":\"text\",\"records\":4,\"lines\":4,\"preview\":[\"",
                             repeat("a", 255), "\",\"", repeat("b", 256),
                             "\",\"\xEF\xBF\xBD\xEF\xBF\xBDok\xEF\xBF\xBD\"],\"truncated\":true}", NULL);
    expect_ok(INGEST_PARSE_TEXT, NULL, in, want);
}
END_TEST

START_TEST(nul_bytes)
{
    /* NUL, which jsonb refuses, never reaches a summary: U+FFFD instead */
    static const char csv[] = "a\0b,c\n\"x\0\",y\n";
    static const char text[] = "p\0q\n";

    expect_ok_n(INGEST_PARSE_CSV, NULL, csv, sizeof(csv) - 1,
                "{\"format\":\"csv\",\"records\":1,\"lines\":2,\"columns\":[\"a\xEF\xBF\xBD\x62\",\"c\"],"
                "\"preview\":[{\"a\xEF\xBF\xBD\x62\":\"x\xEF\xBF\xBD\",\"c\":\"y\"}]}");
    expect_ok_n(INGEST_PARSE_TEXT, NULL, text, sizeof(text) - 1,
                "{\"format\":\"text\",\"records\":1,\"lines\":1,\"preview\":[\"p\xEF\xBF\xBDq\"]}");
    expect_ok(INGEST_PARSE_JSON, NULL, "[{\"n\\u0000k\":{\"\\u0000\":\"a\\u0000b\"}}]",
              "{\"format\":\"json\",\"records\":1,\"lines\":1,\"keys\":[\"n\xEF\xBF\xBDk\"],"
              "\"preview\":[{\"n\xEF\xBF\xBDk\":{\"\xEF\xBF\xBD\":\"a\xEF\xBF\xBD\x62\"}}]}");
    expect_ok(INGEST_PARSE_NDJSON, NULL, "{\"k\":[\"a\\u0000b\"]}\n",
              "{\"format\":\"ndjson\",\"records\":1,\"lines\":1,\"keys\":[\"k\"],"
              "\"preview\":[{\"k\":[\"a\xEF\xBF\xBD\x62\"]}]}");
    /* jansson takes NUL in strings (JSON_ALLOW_NUL), never in keys */
    expect_err(INGEST_PARSE_NDJSON, NULL, "{\"n\\u0000k\":1}\n", 0,
               "malformed JSON: NUL byte in object key not supported near '\"n\\u0000k\"'", 1, 11);
}
END_TEST

START_TEST(binary)
{
    static const char bytes[] = "%PDF-1.7\n\0\xff\xfe binary\n\n";
    expect_ok_n(INGEST_PARSE_BINARY, NULL, bytes, sizeof(bytes) - 1, "{\"format\":\"binary\"}");
    expect_ok(INGEST_PARSE_BINARY, NULL, "", "{\"format\":\"binary\"}");
}
END_TEST

/* ------------------------------------------------------------- limits */

START_TEST(limits_checked)
{
    ingest_parse_limits_t lim = {0, 0, 0, 0, 0};
    ingest_parser_t *ps = (ingest_parser_t *)1;

    /* a list's budget must hold its brackets */
    lim.names_json = 1;
    ck_assert_int_eq(ingest_parser_create(unit_pool, INGEST_PARSE_CSV, &lim, &ps), APR_EINVAL);
    ck_assert_ptr_null(ps);
    lim.names_json = 0;
    lim.preview_json = 1;
    ck_assert_int_eq(ingest_parser_create(unit_pool, INGEST_PARSE_CSV, &lim, &ps), APR_EINVAL);
    /* 0 is the default: a 1 MiB row passes with these, as with NULL */
    lim.preview_json = 0;
    ck_assert_int_eq(ingest_parser_create(unit_pool, INGEST_PARSE_CSV, &lim, &ps), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_feed(ps, "a\n", 2), APR_SUCCESS);
    ck_assert_int_eq(ingest_parser_finish(ps), APR_SUCCESS);
}
END_TEST

START_TEST(csv_record_limit)
{
    ingest_parse_limits_t lim = {.record_bytes = 10};
    const char *row1 = "row 1 exceeds IngestMaxRecordSize (10 bytes)";

    /* from the row's first character to its line end: 10 bytes pass, 11
     * do not, wherever the chunks end */
    expect_ok(INGEST_PARSE_CSV, &lim, "a,b\n1234,12345\n",
              "{\"format\":\"csv\",\"records\":1,\"lines\":2,\"columns\":[\"a\",\"b\"],"
              "\"preview\":[{\"a\":\"1234\",\"b\":\"12345\"}]}");
    expect_err(INGEST_PARSE_CSV, &lim, "a,b\n1234,123456\n", 0, row1, 2, 0);
    /* the line end is not counted, CR or CRLF; blanks before the row are
     * not either */
    expect_ok(INGEST_PARSE_CSV, &lim, "a\r\n\r\n  \"12345678\"\r\n",
              "{\"format\":\"csv\",\"records\":1,\"lines\":3,\"columns\":[\"a\"],\"preview\":[{\"a\":"
              "\"12345678\"}]}");
    expect_err(INGEST_PARSE_CSV, &lim, "a\r\n\r\n  \"123456789\"\r\n", 0, row1, 3, 0);
    /* the last row, without a line end, is measured at the end */
    expect_ok(INGEST_PARSE_CSV, &lim, "a\n1234567890",
              "{\"format\":\"csv\",\"records\":1,\"lines\":2,\"columns\":[\"a\"],\"preview\":[{\"a\":"
              "\"1234567890\"}]}");
    expect_err(INGEST_PARSE_CSV, &lim, "a\n12345678901", 0, row1, 2, 0);
    /* a quoted line break is part of the row; a quote never closed is
     * caught as it grows */
    expect_err(INGEST_PARSE_CSV, &lim, "a\n\"12\n4567890\"\n", 0, row1, 2, 0);
    expect_err(INGEST_PARSE_CSV, &lim, "a\n\"123456789012345", 0, row1, 2, 0);
    /* the header too */
    expect_err(INGEST_PARSE_CSV, &lim, "abcde,fghij\n1,2\n", 0,
               "the header exceeds IngestMaxRecordSize (10 bytes)", 1, 0);
    /* a row too long is that, not a wrong field count, nor malformed past
     * the limit; before it, it is malformed */
    expect_err(INGEST_PARSE_CSV, &lim, "a\n1,2,3,4,5,6\n", 0, row1, 2, 0);
    expect_err(INGEST_PARSE_CSV, &lim, "a\n12345678901\"x\n", 0, row1, 2, 0);
    expect_err(INGEST_PARSE_CSV, &lim, "a\n123456789\"x\n", 0,
               "malformed CSV: error parsing data while strict checking enabled", 2, 10);
}
END_TEST

START_TEST(json_record_limit)
{
    ingest_parse_limits_t lim = {.record_bytes = 10};
    const char *long1 = "element 1 exceeds IngestMaxRecordSize (10 bytes)";

    /* from its '{' to its '}': 10 bytes pass, 11 do not; the whitespace
     * around an element is not counted */
    expect_ok(INGEST_PARSE_JSON, &lim, "[ {\"a\":1234} ,\n     {\"b\":5678}  ]",
              "{\"format\":\"json\",\"records\":2,\"lines\":2,\"keys\":[\"a\",\"b\"],"
              "\"preview\":[{\"a\":1234},{\"b\":5678}]}");
    expect_err(INGEST_PARSE_JSON, &lim, "[{\"a\":12345}]", 0, long1, 1, 2);
    expect_err(INGEST_PARSE_JSON, &lim, "[{},\n {\"bb\":\"123\"}]", 0,
               "element 2 exceeds IngestMaxRecordSize (10 bytes)", 2, 2);
    /* caught as it grows, in a string (which yajl buffers whole) or not */
    expect_err(INGEST_PARSE_JSON, &lim, "[{\"a\":\"123456789012", 0, long1, 1, 2);
    expect_err(INGEST_PARSE_JSON, &lim, "[{\"a\":[1,2,3,4,5,6", 0, long1, 1, 2);
    /* past the limit, it was too long before it was wrong */
    expect_err(INGEST_PARSE_JSON, &lim, "[{\"a\":\"12345\\q\"}]", 0, long1, 1, 2);
    expect_err(INGEST_PARSE_JSON, &lim, "[{\"a\":\"12\\q\"}]", 0,
               "malformed JSON: lexical error: inside a string, '\\' occurs before a character which it may "
               "not.",
               1, 10);
}
END_TEST

START_TEST(ndjson_record_limit)
{
    ingest_parse_limits_t lim = {.record_bytes = 10};

    expect_ok(
        INGEST_PARSE_NDJSON, &lim, "{\"a\":1234}\n",
        "{\"format\":\"ndjson\",\"records\":1,\"lines\":1,\"keys\":[\"a\"],\"preview\":[{\"a\":1234}]}");
    expect_err(INGEST_PARSE_NDJSON, &lim, "{}\n{\"a\":12345}\n", 0,
               "line 2 exceeds IngestMaxRecordSize (10 bytes)", 2, 1);
}
END_TEST

START_TEST(names_limit)
{
    ingest_parse_limits_t three = {.names = 3}, text = {.names_json = 13};

    /* at most 3 names; columns not listed are not previewed */
    expect_ok(INGEST_PARSE_CSV, &three, "a,b,c,d,e\n1,2,3,4,5\n",
              "{\"format\":\"csv\",\"records\":1,\"lines\":2,\"columns\":[\"a\",\"b\",\"c\"],"
              "\"preview\":[{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}],\"truncated\":true}");
    expect_ok(INGEST_PARSE_CSV, &three, "a,b,c\n1,2,3\n",
              "{\"format\":\"csv\",\"records\":1,\"lines\":2,\"columns\":[\"a\",\"b\",\"c\"],"
              "\"preview\":[{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}]}");
    /* at most 13 bytes of JSON text: ["aaa","bbb"] is 13, ["aaa","bbb","c"] is not */
    expect_ok(INGEST_PARSE_CSV, &text, "aaa,bbb,c\n",
              "{\"format\":\"csv\",\"records\":0,\"lines\":1,\"columns\":[\"aaa\",\"bbb\"],\"preview\":[],"
              "\"truncated\":true}");
    /* escapes count as written: "\n" is 4 bytes of text */
    expect_ok(INGEST_PARSE_CSV, &text, "\"a\nb\",cc,d\n",
              "{\"format\":\"csv\",\"records\":0,\"lines\":2,\"columns\":[\"a\\nb\",\"cc\"],\"preview\":[],"
              "\"truncated\":true}");
    /* a key seen again is no new name; a new one past the limit is, and
     * the list stays a prefix */
    expect_ok(INGEST_PARSE_JSON, &three, "[{\"a\":1,\"b\":2},{\"b\":3,\"a\":4,\"c\":5}]",
              "{\"format\":\"json\",\"records\":2,\"lines\":1,\"keys\":[\"a\",\"b\",\"c\"],"
              "\"preview\":[{\"a\":1,\"b\":2},{\"b\":3,\"a\":4,\"c\":5}]}");
    expect_ok(INGEST_PARSE_JSON, &three, "[{\"a\":1,\"b\":2},{\"c\":3,\"d\":4,\"a\":5}]",
              "{\"format\":\"json\",\"records\":2,\"lines\":1,\"keys\":[\"a\",\"b\",\"c\"],"
              "\"preview\":[{\"a\":1,\"b\":2},{\"c\":3,\"d\":4,\"a\":5}],\"truncated\":true}");
    expect_ok(INGEST_PARSE_NDJSON, &three, "{\"a\":1,\"b\":2}\n{\"c\":3,\"d\":4}\n",
              "{\"format\":\"ndjson\",\"records\":2,\"lines\":2,\"keys\":[\"a\",\"b\",\"c\"],"
              "\"preview\":[{\"a\":1,\"b\":2},{\"c\":3,\"d\":4}],\"truncated\":true}");
}
END_TEST

START_TEST(preview_limit)
{
    ingest_parse_limits_t lim = {.preview_json = 30};
    result_t r;

    /* [{"a":[1,2,3,4,5,6,7,8,9,10]}] is 30 bytes: the 11 after it is
     * left out, and so is everything after that */
    expect_ok(INGEST_PARSE_JSON, &lim, "[{\"a\":[1,2,3,4,5,6,7,8,9,10,11,12]},{\"b\":1}]",
              "{\"format\":\"json\",\"records\":2,\"lines\":1,\"keys\":[\"a\",\"b\"],"
              "\"preview\":[{\"a\":[1,2,3,4,5,6,7,8,9,10]}],\"truncated\":true}");
    expect_ok(INGEST_PARSE_NDJSON, &lim, "{\"a\":[1,2,3,4,5,6,7,8,9,10,11,12]}\n{\"b\":1}\n",
              "{\"format\":\"ndjson\",\"records\":2,\"lines\":2,\"keys\":[\"a\",\"b\"],"
              "\"preview\":[{\"a\":[1,2,3,4,5,6,7,8,9,10]}],\"truncated\":true}");
    /* exactly at the limit is whole */
    expect_ok(INGEST_PARSE_JSON, &lim, "[{\"a\":[1,2,3,4,5,6,7,8,9,10]}]",
              "{\"format\":\"json\",\"records\":1,\"lines\":1,\"keys\":[\"a\"],"
              "\"preview\":[{\"a\":[1,2,3,4,5,6,7,8,9,10]}]}");
    parse_pieces(INGEST_PARSE_JSON, &lim, "[{\"a\":[1,2,3,4,5,6,7,8,9,10]}]", 30, 30, 0, &r);
    ck_assert_int_eq(strlen(dump(json_object_get(r.summary, "preview"))), 30);
    /* nested containers, keys: a container that does not fit is left out
     * whole */
    expect_ok(INGEST_PARSE_JSON, &lim, "[{\"k\":\"vvvvvvvvvvvvvv\",\"o\":{\"x\":1}}]",
              "{\"format\":\"json\",\"records\":1,\"lines\":1,\"keys\":[\"k\",\"o\"],"
              "\"preview\":[{\"k\":\"vvvvvvvvvvvvvv\"}],\"truncated\":true}");
    lim.preview_json = 20;
    /* [{"a":"1","b":"2"}] is 19 bytes; a second row would be 3 more */
    expect_ok(INGEST_PARSE_CSV, &lim, "a,b\n1,2\n3,4\n",
              "{\"format\":\"csv\",\"records\":2,\"lines\":3,\"columns\":[\"a\",\"b\"],"
              "\"preview\":[{\"a\":\"1\",\"b\":\"2\"}],\"truncated\":true}");
    lim.preview_json = 12;
    expect_ok(INGEST_PARSE_TEXT, &lim, "abc\ndefg\nhi\n",
              "{\"format\":\"text\",\"records\":3,\"lines\":3,\"preview\":[\"abc\"],\"truncated\":true}");
    /* cells: 4 bytes of a value, and of a key */
    lim.preview_json = 0;
    lim.cell_bytes = 4;
    expect_ok(INGEST_PARSE_JSON, &lim, "[{\"abcdef\":\"123456\",\"ab\":\"12\"}]",
              "{\"format\":\"json\",\"records\":1,\"lines\":1,\"keys\":[\"abcd\",\"ab\"],"
              "\"preview\":[{\"abcd\":\"1234\",\"ab\":\"12\"}],\"truncated\":true}");
}
END_TEST

/* ------------------------------------------------------ hostile shapes */

/* jansson's allocations, counted while a hostile input is parsed: what the
 * parser keeps as JSON values (names, preview, NDJSON records) stays
 * bounded. malloc_usable_size, so that a value allocated before (or freed
 * after) the count does not upset it. */
static long jansson_live, jansson_peak;

static void *counted_malloc(size_t n)
{
    void *p = malloc(n);
    if (p) {
        jansson_live += (long)malloc_usable_size(p);
        if (jansson_live > jansson_peak) {
            jansson_peak = jansson_live;
        }
    }
    return p;
}

static void counted_free(void *p)
{
    if (p) {
        jansson_live -= (long)malloc_usable_size(p);
    }
    free(p);
}

/* Parses s in 64 KiB chunks, as the worker does; the peak of jansson's
 * bytes in *peak. */
static void parse_counted(ingest_parse_kind_e kind, const char *s, apr_size_t len, result_t *r, long *peak)
{
    jansson_live = jansson_peak = 0;
    json_set_alloc_funcs(counted_malloc, counted_free);
    parse_pieces(kind, NULL, s, len, 65536, 65536, r);
    json_set_alloc_funcs(malloc, free);
    *peak = jansson_peak;
}

/* A malloc'd string (owned by unit_pool) of head, then unit repeated until
 * the whole is at least total bytes, then tail. */
static char *hostile(const char *head, const char *unit, apr_size_t total, const char *tail, apr_size_t *len)
{
    apr_size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail), n = 0, i;
    apr_size_t count = (total - hl + ul - 1) / ul;
    char *s = unit_str_own(malloc(hl + count * ul + tl + 1));

    ck_assert_ptr_nonnull(s);
    memcpy(s, head, hl);
    n = hl;
    for (i = 0; i < count; ++i, n += ul) {
        memcpy(s + n, unit, ul);
    }
    memcpy(s + n, tail, tl + 1);
    *len = n + tl;
    return s;
}

#define MiB (1024 * 1024)

/* The summary's JSON text is under the documented bound. */
static void summary_bounded(json_t *summary)
{
    size_t n = json_dumpb(summary, NULL, 0, JSON_COMPACT);
    ck_assert_msg(n < INGEST_PARSE_DEFAULT_NAMES_JSON + INGEST_PARSE_DEFAULT_PREVIEW_JSON
                          + INGEST_PARSE_SUMMARY_FIXED,
                  "summary of %zu bytes", n);
}

START_TEST(hostile_csv_header)
{
    char *s, *row;
    apr_size_t len, i, n = 0;
    result_t r;
    long peak;

    /* 8 MiB of a,a,a…: one record, far over the limit, found at 1 MiB */
    s = hostile("", "a,", 8 * MiB, "a\n1\n", &len);
    parse_counted(INGEST_PARSE_CSV, s, len, &r, &peak);
    ck_assert_int_eq(r.failed, 1);
    ck_assert_str_eq(r.error, "the header exceeds IngestMaxRecordSize (1048576 bytes)");
    ck_assert_int_eq(r.line, 1);
    ck_assert_msg(peak < MiB, "jansson held %ld bytes", peak);

    /* 100,000 distinct columns in 0.7 MiB, and a row: 1000 listed and
     * previewed, a bounded summary that says it was cut */
    s = unit_str_own(malloc(2 * MiB));
    ck_assert_ptr_nonnull(s);
    for (i = 0; i < 100000; ++i) {
        n += (apr_size_t)sprintf(s + n, "%sc%zu", i ? "," : "", (size_t)i);
    }
    s[n++] = '\n';
    row = hostile("", "1,", 2 * 99999, "1\n", &len);
    memcpy(s + n, row, len + 1);
    parse_counted(INGEST_PARSE_CSV, s, n + len, &r, &peak);
    ck_assert_msg(!r.failed, "%s", r.error);
    ck_assert_int_eq(r.records, 1);
    ck_assert_int_eq(json_array_size(json_object_get(r.summary, "columns")), INGEST_PARSE_DEFAULT_NAMES);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(r.summary, "columns"), 999)), "c999");
    ck_assert_int_eq(json_object_size(json_array_get(json_object_get(r.summary, "preview"), 0)),
                     INGEST_PARSE_DEFAULT_NAMES);
    ck_assert(json_is_true(json_object_get(r.summary, "truncated")));
    summary_bounded(r.summary);
    ck_assert_msg(peak < 2 * MiB, "jansson held %ld bytes", peak);
}
END_TEST

START_TEST(hostile_csv_field)
{
    apr_size_t len;
    result_t r;
    long peak;
    char *s = hostile("a\n\"", "x", 10 * MiB, "\"\n", &len);

    parse_counted(INGEST_PARSE_CSV, s, len, &r, &peak);
    ck_assert_int_eq(r.failed, 1);
    ck_assert_str_eq(r.error, "row 1 exceeds IngestMaxRecordSize (1048576 bytes)");
    ck_assert_int_eq(r.line, 2);
}
END_TEST

START_TEST(hostile_json_array)
{
    apr_size_t len;
    result_t r;
    long peak;
    json_t *a;
    /* [{"a":[0,0,0,…]}] of 8 MiB: its first element, built for the
     * preview, was the whole file. Every element is now built whole (for
     * the record sinks): jansson holds an element in up to 16 times its
     * text when it is an array of one-digit numbers (a 24-byte integer and
     * an 8-byte slot for every 2 bytes), so the bound is record_bytes
     * times that, not the file (the whole file would be 128 MiB). It was
     * 4 MiB when only a preview's worth was built. */
    char *s = hostile("[{\"a\":[", "0,", 8 * MiB, "0]}]", &len);

    parse_counted(INGEST_PARSE_JSON, s, len, &r, &peak);
    ck_assert_int_eq(r.failed, 1);
    ck_assert_str_eq(r.error, "element 1 exceeds IngestMaxRecordSize (1048576 bytes)");
    ck_assert_int_eq(r.line, 1);
    ck_assert_int_eq(r.col, 2);
    ck_assert_msg(peak < 24 * MiB, "jansson held %ld bytes", peak);

    /* three elements of just under 1 MiB each: they pass, the preview is
     * cut to its budget; one element is held at a time (three would be
     * 48 MiB) */
    s = hostile("[{\"a\":[", "0,", MiB - 16, "0]}", &len);
    s = apr_pstrcat(unit_pool, s, ",", s + 1, ",", s + 1, "]", NULL);
    parse_counted(INGEST_PARSE_JSON, s, strlen(s), &r, &peak);
    ck_assert_msg(!r.failed, "%s", r.error);
    ck_assert_int_eq(r.records, 3);
    a = json_object_get(json_array_get(json_object_get(r.summary, "preview"), 0), "a");
    ck_assert_int_gt(json_array_size(a), 1000);
    ck_assert_int_lt(json_array_size(a), INGEST_PARSE_DEFAULT_PREVIEW_JSON / 2);
    ck_assert(json_is_true(json_object_get(r.summary, "truncated")));
    summary_bounded(r.summary);
    ck_assert_msg(peak < 24 * MiB, "jansson held %ld bytes", peak);
}
END_TEST

START_TEST(hostile_json_string)
{
    apr_size_t len;
    result_t r;
    long peak;
    char *s;

    /* one string token of 10 MB, which yajl would buffer whole: in an
     * element, as an element, as the file */
    s = hostile("[{\"a\":\"", "x", 10 * MiB, "\"}]", &len);
    parse_counted(INGEST_PARSE_JSON, s, len, &r, &peak);
    ck_assert_int_eq(r.failed, 1);
    ck_assert_str_eq(r.error, "element 1 exceeds IngestMaxRecordSize (1048576 bytes)");
    s = hostile("[\"", "x", 10 * MiB, "\"]", &len);
    parse_counted(INGEST_PARSE_JSON, s, len, &r, &peak);
    ck_assert_int_eq(r.failed, 1);
    ck_assert_str_eq(r.error, "element 1 is not an object");
    s = hostile("\"", "x", 10 * MiB, "\"", &len);
    parse_counted(INGEST_PARSE_JSON, s, len, &r, &peak);
    ck_assert_int_eq(r.failed, 1);
    ck_assert_str_eq(r.error, "a JSON file must be an array of objects");
    /* and a key */
    s = hostile("[{\"", "k", 10 * MiB, "\":1}]", &len);
    parse_counted(INGEST_PARSE_JSON, s, len, &r, &peak);
    ck_assert_int_eq(r.failed, 1);
    ck_assert_str_eq(r.error, "element 1 exceeds IngestMaxRecordSize (1048576 bytes)");
    ck_assert_msg(peak < MiB, "jansson held %ld bytes", peak);
}
END_TEST

START_TEST(hostile_ndjson_keys)
{
    /* 100 records of 1000 keys never seen before: 100,000 keys */
    char *s = unit_str_own(malloc(100 * 1000 * 16 + 16));
    apr_size_t n = 0, i, j;
    result_t r;
    long peak;

    ck_assert_ptr_nonnull(s);
    for (i = 0; i < 100; ++i) {
        for (j = 0; j < 1000; ++j) {
            n += (apr_size_t)sprintf(s + n, "%s\"k%zu\":0", j ? "," : "{", (size_t)(i * 1000 + j));
        }
        n += (apr_size_t)sprintf(s + n, "}\n");
    }
    parse_counted(INGEST_PARSE_NDJSON, s, n, &r, &peak);
    ck_assert_msg(!r.failed, "%s", r.error);
    ck_assert_int_eq(r.records, 100);
    ck_assert_int_eq(json_array_size(json_object_get(r.summary, "keys")), INGEST_PARSE_DEFAULT_NAMES);
    ck_assert(json_is_true(json_object_get(r.summary, "truncated")));
    summary_bounded(r.summary);
    ck_assert_msg(peak < 2 * MiB, "jansson held %ld bytes", peak);
}
END_TEST

START_TEST(summary_bound)
{
    /* every name and cell as long as allowed, and all of it escaped (a
     * control byte is six bytes of JSON text): the lists stop at their
     * budgets, not at their counts */
    apr_size_t n = 0, i, len;
    char *cell = hostile("", "\x01", INGEST_PARSE_DEFAULT_CELL, "", &len);
    char *s = unit_str_own(malloc(4 * MiB));
    result_t r;
    long peak;

    ck_assert_ptr_nonnull(s);
    for (i = 0; i < 1000; ++i) {
        n += (apr_size_t)sprintf(s + n, "%s%04zu%s", i ? "," : "", (size_t)i, cell);
    }
    s[n++] = '\n';
    for (i = 0; i < 1000; ++i) {
        n += (apr_size_t)sprintf(s + n, "%s%s", i ? "," : "", cell);
    }
    s[n++] = '\n';
    parse_counted(INGEST_PARSE_CSV, s, n, &r, &peak);
    ck_assert_msg(!r.failed, "%s", r.error);
    ck_assert_int_lt(json_array_size(json_object_get(r.summary, "columns")), 100);
    ck_assert_int_le(strlen(dump(json_object_get(r.summary, "columns"))), INGEST_PARSE_DEFAULT_NAMES_JSON);
    ck_assert_int_le(strlen(dump(json_object_get(r.summary, "preview"))), INGEST_PARSE_DEFAULT_PREVIEW_JSON);
    ck_assert(json_is_true(json_object_get(r.summary, "truncated")));
    summary_bounded(r.summary);
}
END_TEST

Suite *suite_parse(void)
{
    Suite *s = suite_create("parse");
    TCase *tc = unit_tcase("parse");
    TCase *big = unit_tcase("parse_large");

    /* thousands of parses each (every split, every chunk size): under the
     * sanitizers, next to valgrind in `prove -j2`, more than check's
     * default four seconds */
    tcase_set_timeout(tc, 60);

    tcase_add_test(tc, kind_by_file_type);
    tcase_add_test(tc, lifetime);
    tcase_add_test(tc, csv_quoted_fields);
    tcase_add_test(tc, csv_crlf);
    tcase_add_test(tc, csv_header_only);
    tcase_add_test(tc, csv_blank_lines);
    tcase_add_test(tc, csv_preview_three);
    tcase_add_test(tc, csv_wrong_field_count);
    tcase_add_test(tc, csv_bad_quote);
    tcase_add_test(tc, csv_empty);
    tcase_add_test(tc, csv_cells);
    tcase_add_test(tc, json_five_objects);
    tcase_add_test(tc, json_nested);
    tcase_add_test(tc, json_empty_array);
    tcase_add_test(tc, json_not_array);
    tcase_add_test(tc, json_element_not_object);
    tcase_add_test(tc, json_truncated);
    tcase_add_test(tc, json_malformed);
    tcase_add_test(tc, json_cells);
    tcase_add_test(tc, json_depth);
    tcase_add_test(tc, json_keys_first_100);
    tcase_add_test(tc, ndjson_blank_lines);
    tcase_add_test(tc, ndjson_no_trailing_newline);
    tcase_add_test(tc, ndjson_bad_line);
    tcase_add_test(tc, ndjson_not_object);
    tcase_add_test(tc, ndjson_cells);
    tcase_add_test(tc, text_lines);
    tcase_add_test(tc, text_cells);
    tcase_add_test(tc, nul_bytes);
    tcase_add_test(tc, binary);
    tcase_add_test(tc, limits_checked);
    tcase_add_test(tc, csv_record_limit);
    tcase_add_test(tc, json_record_limit);
    tcase_add_test(tc, ndjson_record_limit);
    tcase_add_test(tc, names_limit);
    tcase_add_test(tc, preview_limit);
    suite_add_tcase(s, tc);

    /* megabytes of input: under the sanitizers, more than check's default
     * four seconds */
    tcase_set_timeout(big, 120);
    tcase_add_test(big, csv_record_bound);
    tcase_add_test(big, csv_large);
    tcase_add_test(big, json_large);
    tcase_add_test(big, ndjson_long_line);
    tcase_add_test(big, hostile_csv_header);
    tcase_add_test(big, hostile_csv_field);
    tcase_add_test(big, hostile_json_array);
    tcase_add_test(big, hostile_json_string);
    tcase_add_test(big, hostile_ndjson_keys);
    tcase_add_test(big, summary_bound);
    suite_add_tcase(s, big);
    return s;
}
