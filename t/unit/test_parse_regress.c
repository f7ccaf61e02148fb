/* Regressions found by fuzz_parse (t/fuzz/fuzz_parse.c), each with its
 * input in t/fuzz/regressions/parse/. Kept apart from test_parse.c so that
 * they survive a rewrite of the parsers: they use only ingest_parse.h. */

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "ingest_parse.h"
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

Suite *suite_parse_regress(void)
{
    Suite *s = suite_create("ingest_parse_regressions");
    TCase *tc = unit_tcase("fuzz_parse");

    tcase_add_test(tc, csv_row_after_bare_cr);
    suite_add_tcase(s, tc);
    return s;
}
