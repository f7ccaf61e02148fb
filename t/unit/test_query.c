#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "ingest_query.h"
#include "unit.h"

static int count_cb(void *ctx, const char *key, const char *val)
{
    (void)key;
    (void)val;
    ++*(int *)ctx;
    return 1;
}

/* How many entries the table has for key (case-insensitive, as apr). */
static int count_key(apr_table_t *t, const char *key)
{
    int n = 0;
    apr_table_do(count_cb, &n, t, key, NULL);
    return n;
}

static int entries(apr_table_t *t)
{
    return apr_table_elts(t)->nelts;
}

START_TEST(parse_basic)
{
    apr_table_t *t = NULL;
    const char *bad = "untouched";
    ck_assert_int_eq(ingest_query_parse(unit_pool, "a=1&b=x%20y&c=+plus", &t, &bad), APR_SUCCESS);
    ck_assert_ptr_null(bad);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(entries(t), 3);
    ck_assert_str_eq(apr_table_get(t, "a"), "1");
    ck_assert_str_eq(apr_table_get(t, "b"), "x y");
    ck_assert_str_eq(apr_table_get(t, "c"), " plus");
}
END_TEST

START_TEST(parse_decodes_keys_and_values)
{
    apr_table_t *t = NULL;
    const char *bad = "untouched";
    ck_assert_int_eq(ingest_query_parse(unit_pool, "my+key=a%2Bb%26c%3Dd&k%65y=%C3%A9", &t, &bad),
                     APR_SUCCESS);
    ck_assert_ptr_null(bad);
    ck_assert_int_eq(entries(t), 2);
    ck_assert_str_eq(apr_table_get(t, "my key"), "a+b&c=d");
    ck_assert_str_eq(apr_table_get(t, "key"), "\xc3\xa9");
    /* only the first '=' splits */
    ck_assert_int_eq(ingest_query_parse(unit_pool, "x=1=2", &t, &bad), APR_SUCCESS);
    ck_assert_str_eq(apr_table_get(t, "x"), "1=2");
}
END_TEST

START_TEST(parse_does_not_modify_input)
{
    char qs[] = "a=x%20y&b=+";
    apr_table_t *t = NULL;
    const char *bad = NULL;
    ck_assert_int_eq(ingest_query_parse(unit_pool, qs, &t, &bad), APR_SUCCESS);
    ck_assert_str_eq(qs, "a=x%20y&b=+");
    ck_assert_str_eq(apr_table_get(t, "b"), " ");
}
END_TEST

START_TEST(parse_empty_and_null)
{
    apr_table_t *t = NULL;
    const char *bad = "untouched";
    ck_assert_int_eq(ingest_query_parse(unit_pool, "", &t, &bad), APR_SUCCESS);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_null(bad);
    ck_assert_int_eq(entries(t), 0);

    t = NULL;
    bad = "untouched";
    ck_assert_int_eq(ingest_query_parse(unit_pool, NULL, &t, &bad), APR_SUCCESS);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_null(bad);
    ck_assert_int_eq(entries(t), 0);
}
END_TEST

START_TEST(parse_empty_pairs_skipped)
{
    apr_table_t *t = NULL;
    const char *bad = NULL;
    ck_assert_int_eq(ingest_query_parse(unit_pool, "a=1&&b=2", &t, &bad), APR_SUCCESS);
    ck_assert_int_eq(entries(t), 2);
    ck_assert_str_eq(apr_table_get(t, "a"), "1");
    ck_assert_str_eq(apr_table_get(t, "b"), "2");

    ck_assert_int_eq(ingest_query_parse(unit_pool, "&&&a=1&", &t, &bad), APR_SUCCESS);
    ck_assert_int_eq(entries(t), 1);
    ck_assert_str_eq(apr_table_get(t, "a"), "1");

    /* an empty key is dropped, with its value */
    ck_assert_int_eq(ingest_query_parse(unit_pool, "=5&b=2", &t, &bad), APR_SUCCESS);
    ck_assert_int_eq(entries(t), 1);
    ck_assert_str_eq(apr_table_get(t, "b"), "2");
}
END_TEST

START_TEST(parse_empty_value)
{
    apr_table_t *t = NULL;
    const char *bad = NULL;
    ck_assert_int_eq(ingest_query_parse(unit_pool, "empty=&b=2&c=", &t, &bad), APR_SUCCESS);
    ck_assert_ptr_null(bad);
    ck_assert_int_eq(entries(t), 3);
    ck_assert_str_eq(apr_table_get(t, "empty"), "");
    ck_assert_str_eq(apr_table_get(t, "b"), "2");
    ck_assert_str_eq(apr_table_get(t, "c"), "");
}
END_TEST

/* BUG demonstration (see the report): for a pair without '=' the value is
 * the string literal "" (ingest_query.c, char *val = ""), which
 * ingest_url_decode() then writes its terminating NUL into: a write to
 * read-only memory, SIGSEGV. "?flag" on GET /api/ingest/jobs would crash
 * the httpd child. Expected: the key with an empty value. */
START_TEST(parse_key_without_equals)
{
    apr_table_t *t = NULL;
    const char *bad = NULL;
    ck_assert_int_eq(ingest_query_parse(unit_pool, "flag&b=2", &t, &bad), APR_SUCCESS);
    ck_assert_ptr_null(bad);
    ck_assert_int_eq(entries(t), 2);
    ck_assert_str_eq(apr_table_get(t, "flag"), "");
    ck_assert_str_eq(apr_table_get(t, "b"), "2");
}
END_TEST

START_TEST(parse_repeated_keys_kept)
{
    apr_table_t *t = NULL;
    const char *bad = NULL;
    ck_assert_int_eq(ingest_query_parse(unit_pool, "limit=5&x=1&limit=6&limit=5", &t, &bad), APR_SUCCESS);
    ck_assert_int_eq(entries(t), 4);
    ck_assert_int_eq(count_key(t, "limit"), 3);
    ck_assert_int_eq(count_key(t, "x"), 1);
    ck_assert_str_eq(apr_table_getm(unit_pool, t, "limit"), "5,6,5");
    /* apr_table_get sees the first */
    ck_assert_str_eq(apr_table_get(t, "limit"), "5");
}
END_TEST

static void parse_bad(const char *qs, const char *want_bad)
{
    apr_table_t *t = NULL;
    const char *bad = NULL;
    ck_assert_msg(ingest_query_parse(unit_pool, qs, &t, &bad) == APR_EINVAL, "\"%s\" accepted", qs);
    ck_assert_msg(bad != NULL, "\"%s\": *bad not set", qs);
    ck_assert_msg(!strcmp(bad, want_bad), "\"%s\": *bad is \"%s\", expected \"%s\"", qs, bad, want_bad);
}

START_TEST(parse_bad_escapes_in_value)
{
    parse_bad("a=%zz", "a");
    parse_bad("a=1&b=%2", "b");
    parse_bad("a=1&b=%", "b");
    parse_bad("c=%00", "c");
    parse_bad("c=x%00y&d=1", "c");
    parse_bad("a=ok&key=%g1", "key");
    parse_bad("a=ok&key=%1g", "key");
    /* the key is named decoded */
    parse_bad("my+k%65y=%zz", "my key");
}
END_TEST

START_TEST(parse_bad_escapes_in_key)
{
    parse_bad("%zz=1", "%zz");
    parse_bad("a=1&k%2", "k%2");
    parse_bad("k%00=1", "k%00");
    parse_bad("%=1", "%");
}
END_TEST

/* BUG demonstration (see the report): ingest_url_decode() works in place
 * and stops at the bad escape without restoring what it already decoded,
 * so *bad names a half-decoded mix of the key: "x%41%zz" is reported as
 * "xA41%zz", which is neither the raw key nor a decoding of it. */
START_TEST(parse_bad_key_named_verbatim)
{
    parse_bad("x%41%zz=1", "x%41%zz");
    parse_bad("a+b%zz=1", "a+b%zz");
}
END_TEST

START_TEST(url_decode_direct)
{
    char s1[] = "x%20y", s2[] = "+plus+", s3[] = "%41%62%7e%7E", s4[] = "plain", s5[] = "", s6[] = "%C3%a9",
         s7[] = "100%25", s8[] = "%2B";
    ck_assert_int_eq(ingest_url_decode(s1), APR_SUCCESS);
    ck_assert_str_eq(s1, "x y");
    ck_assert_int_eq(ingest_url_decode(s2), APR_SUCCESS);
    ck_assert_str_eq(s2, " plus ");
    ck_assert_int_eq(ingest_url_decode(s3), APR_SUCCESS);
    ck_assert_str_eq(s3, "Ab~~");
    ck_assert_int_eq(ingest_url_decode(s4), APR_SUCCESS);
    ck_assert_str_eq(s4, "plain");
    ck_assert_int_eq(ingest_url_decode(s5), APR_SUCCESS);
    ck_assert_str_eq(s5, "");
    ck_assert_int_eq(ingest_url_decode(s6), APR_SUCCESS);
    ck_assert_str_eq(s6, "\xc3\xa9");
    ck_assert_int_eq(ingest_url_decode(s7), APR_SUCCESS);
    ck_assert_str_eq(s7, "100%");
    ck_assert_int_eq(ingest_url_decode(s8), APR_SUCCESS);
    ck_assert_str_eq(s8, "+");
}
END_TEST

START_TEST(url_decode_rejects)
{
    char b1[] = "%zz", b2[] = "%2", b3[] = "%", b4[] = "%00", b5[] = "a%0", b6[] = "%g0", b7[] = "%0g",
         b8[] = "ok%00ok", b9[] = "% 1";
    ck_assert_int_eq(ingest_url_decode(b1), APR_EINVAL);
    ck_assert_int_eq(ingest_url_decode(b2), APR_EINVAL);
    ck_assert_int_eq(ingest_url_decode(b3), APR_EINVAL);
    ck_assert_int_eq(ingest_url_decode(b4), APR_EINVAL);
    ck_assert_int_eq(ingest_url_decode(b5), APR_EINVAL);
    ck_assert_int_eq(ingest_url_decode(b6), APR_EINVAL);
    ck_assert_int_eq(ingest_url_decode(b7), APR_EINVAL);
    ck_assert_int_eq(ingest_url_decode(b8), APR_EINVAL);
    ck_assert_int_eq(ingest_url_decode(b9), APR_EINVAL);
}
END_TEST

Suite *suite_query(void)
{
    Suite *s = suite_create("ingest_query");
    TCase *tc;

    tc = unit_tcase("parse");
    tcase_add_test(tc, parse_basic);
    tcase_add_test(tc, parse_decodes_keys_and_values);
    tcase_add_test(tc, parse_does_not_modify_input);
    tcase_add_test(tc, parse_empty_and_null);
    tcase_add_test(tc, parse_empty_pairs_skipped);
    tcase_add_test(tc, parse_empty_value);
    tcase_add_test(tc, parse_key_without_equals);
    tcase_add_test(tc, parse_repeated_keys_kept);
    tcase_add_test(tc, parse_bad_escapes_in_value);
    tcase_add_test(tc, parse_bad_escapes_in_key);
    tcase_add_test(tc, parse_bad_key_named_verbatim);
    suite_add_tcase(s, tc);

    tc = unit_tcase("url_decode");
    tcase_add_test(tc, url_decode_direct);
    tcase_add_test(tc, url_decode_rejects);
    suite_add_tcase(s, tc);
    return s;
}
