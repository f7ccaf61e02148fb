/* Regressions found by fuzz_parse (t/fuzz/fuzz_parse.c), each with its
 * input in t/fuzz/regressions/parse/. Kept apart from test_parse.c so that
 * they survive a rewrite of the parsers: they use only ingest_parse.h. */

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "ingest_parse.h"
#include "ingest_validate.h"
#include "unit.h"

typedef struct {
    int failed; /* 0; 1: a feed failed; 2: finish did */
    const char *error;
    int line, col;
} outcome_t;

/* Feeds s in chunks of step bytes (0: whole), each from an allocation of
 * its own, and finishes, under lim (NULL: the defaults). */
static void parse_in(ingest_parse_kind_e kind, const ingest_parse_limits_t *lim, const char *s,
                     apr_size_t len, apr_size_t step, outcome_t *o)
{
    ingest_parser_t *ps = NULL;
    apr_size_t off, n;
    const char *e;
    char *copy;

    memset(o, 0, sizeof(*o));
    ck_assert_int_eq(ingest_parser_create(unit_pool, kind, lim, &ps), APR_SUCCESS);
    for (off = 0; !o->failed && off < len; off += n) {
        n = step && step < len - off ? step : len - off;
        copy = malloc(n);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, s + off, n);
        o->failed = ingest_parser_feed(ps, copy, n) != APR_SUCCESS;
        free(copy);
    }
    if (!o->failed && ingest_parser_finish(ps) != APR_SUCCESS) {
        o->failed = 2;
    }
    e = ingest_parser_error(ps, &o->line, &o->col);
    o->error = e ? apr_pstrdup(unit_pool, e) : NULL;
    ingest_parser_destroy(ps);
}

/* The error, at line:col, whole and byte by byte. */
static void expect_error(const char *s, int failed, const char *error, int line, int col)
{
    static const apr_size_t steps[] = {0, 1};
    outcome_t o;
    size_t i;

    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); ++i) {
        parse_in(INGEST_PARSE_CSV, NULL, s, strlen(s), steps[i], &o);
        ck_assert_msg(
            o.failed == failed && o.error && !strcmp(o.error, error) && o.line == line && o.col == col,
            "chunks of %zu: failed %d \"%s\" at %d:%d; want failed %d \"%s\" at %d:%d", (size_t)steps[i],
            o.failed, o.error ? o.error : "(none)", o.line, o.col, failed, error, line, col);
    }
}

/* A row that begins after a row ended by a bare CR (a row end to libcsv,
 * not a line end) on the same line: its errors belong to the line it
 * began on, however the input is split. Fed whole, the unclosed quote
 * was reported without a line (0) and the wrong field count on the next
 * line (2); fed byte by byte, both on line 1.
 * t/fuzz/regressions/parse/csv-row-after-bare-cr-{quote,fields} */
START_TEST(csv_row_after_bare_cr)
{
    expect_error(",\r\"", 2, "malformed CSV: a quoted field is not closed at the end of the file", 1, 0);
    expect_error("a\r1,\"x\ny\",2\n", 1, "row 1 has 3 fields, the header has 1", 1, 1);
}
END_TEST

/* An NDJSON line that jansson refuses with its own words and the bytes
 * near the fault: "invalid escape near '\"\\<D3>'" holds the first byte of
 * a two-byte character and not the second. The error goes to the job's
 * error column, which PostgreSQL refuses when it is not UTF-8: the job
 * failed with "the database refused the step: 22021: invalid byte
 * sequence" after IngestMaxAttempts parses instead of the line and column.
 * t/fuzz/regressions/parse/ndjson-error-not-utf8 */
START_TEST(ndjson_error_is_utf8)
{
    static const char line[] = "\"\\\xd3\x87\"\n";
    outcome_t o;

    parse_in(INGEST_PARSE_NDJSON, NULL, line, strlen(line), 0, &o);
    ck_assert_int_eq(o.failed, 1);
    ck_assert_ptr_nonnull(o.error);
    ck_assert_int_eq(o.line, 1);
    ck_assert_msg(ingest_utf8_valid(o.error, strlen(o.error)), "the error is not UTF-8: %s", o.error);
    ck_assert_msg(!strncmp(o.error, "malformed JSON: ", 16), "error \"%s\"", o.error);
}
END_TEST

/* A JSON element whose syntax error is in a token (a number) that is
 * still open when the element passes IngestMaxRecordSize: fed whole, yajl
 * reads the token to its end and the answer is the syntax error where the
 * token begins (1:9); fed byte by byte, the token is still open at a
 * chunk's end, the size check comes first, and the answer is "element 1
 * exceeds IngestMaxRecordSize (64 bytes)" at 1:2. Either may be right (the
 * fault yajl can only see past the limit, or the first fault in the
 * file); it must not depend on the chunks.
 * t/fuzz/regressions/parse/json-record-limit-inside-open-token */
START_TEST(json_record_limit_inside_open_token)
{
    static const apr_size_t steps[] = {1, 7, 32, 64};
    ingest_parse_limits_t lim;
    outcome_t whole, o;
    char digits[71];
    const char *s;
    size_t i;

    memset(&lim, 0, sizeof(lim));
    lim.record_bytes = 64;
    memset(digits, '2', sizeof(digits) - 1);
    digits[sizeof(digits) - 1] = '\0';
    s = apr_pstrcat(unit_pool, "[{\"c\":0 ", digits, "}]", NULL);
    parse_in(INGEST_PARSE_JSON, &lim, s, strlen(s), 0, &whole);
    ck_assert_int_eq(whole.failed, 1);
    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); ++i) {
        parse_in(INGEST_PARSE_JSON, &lim, s, strlen(s), steps[i], &o);
        ck_assert_msg(o.failed == whole.failed && !strcmp(o.error, whole.error) && o.line == whole.line
                          && o.col == whole.col,
                      "chunks of %zu: \"%s\" at %d:%d; whole: \"%s\" at %d:%d", (size_t)steps[i], o.error,
                      o.line, o.col, whole.error, whole.line, whole.col);
    }
}
END_TEST

Suite *suite_parse_regress(void)
{
    Suite *s = suite_create("ingest_parse_regressions");
    TCase *tc = unit_tcase("fuzz_parse");

    tcase_add_test(tc, csv_row_after_bare_cr);
    tcase_add_test(tc, ndjson_error_is_utf8);
    tcase_add_test(tc, json_record_limit_inside_open_token);
    suite_add_tcase(s, tc);
    return s;
}
