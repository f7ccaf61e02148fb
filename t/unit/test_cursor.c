#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "ingest_cursor.h"
#include "ingest_sign.h"
#include "ingest_validate.h"
#include "unit.h"

#define JOB "0b6c2d9e-4f1a-4c3b-9d2e-7a8b9c0d1e2f"

static const char *b64(const char *text)
{
    return ingest_b64url(unit_pool, (const unsigned char *)text, strlen(text));
}

static void cursor_bad(const char *s, const char *want_why)
{
    ingest_cursor_t c;
    const char *why = NULL;
    ck_assert_int_eq(ingest_cursor_parse(unit_pool, s, &c, &why), APR_EINVAL);
    ck_assert_ptr_nonnull(why);
    ck_assert_str_eq(why, want_why);
}

/* ---------------------------------------------------------------- base64url */

START_TEST(b64url_decode_round_trip)
{
    unsigned char d[256];
    apr_size_t i, n, len;
    for (i = 0; i < sizeof(d); ++i) {
        d[i] = (unsigned char)(255 - i);
    }
    /* every length mod 3 and every byte value */
    for (n = 0; n <= sizeof(d); n += 1 + n / 7) {
        const char *s = ingest_b64url(unit_pool, d, n);
        unsigned char *back = ingest_b64url_decode(unit_pool, s, &len);
        ck_assert_ptr_nonnull(back);
        ck_assert_uint_eq(len, n);
        ck_assert_int_eq(memcmp(back, d, n), 0);
        ck_assert_int_eq(back[n], '\0');
    }
}
END_TEST

START_TEST(b64url_decode_strict)
{
    apr_size_t len = 99;
    /* RFC 4648 section 10 vectors, unpadded */
    ck_assert_str_eq((char *)ingest_b64url_decode(unit_pool, "Zm9vYmE", &len), "fooba");
    ck_assert_uint_eq(len, 5);
    ck_assert_str_eq((char *)ingest_b64url_decode(unit_pool, "", &len), "");
    ck_assert_uint_eq(len, 0);
    /* padding, the standard alphabet, spaces, a lone character */
    ck_assert_ptr_null(ingest_b64url_decode(unit_pool, "Zm9vYg==", &len));
    ck_assert_ptr_null(ingest_b64url_decode(unit_pool, "a+b/", &len));
    ck_assert_ptr_null(ingest_b64url_decode(unit_pool, "Zm9v Yg", &len));
    ck_assert_ptr_null(ingest_b64url_decode(unit_pool, "Zm9vY", &len));
    /* a second spelling of "f" (Zg): non-zero unused bits */
    ck_assert_ptr_null(ingest_b64url_decode(unit_pool, "Zh", &len));
    ck_assert_str_eq((char *)ingest_b64url_decode(unit_pool, "Zg", &len), "f");
}
END_TEST

/* ---------------------------------------------------------------- cursor */

START_TEST(cursor_round_trip)
{
    static const apr_int64_t times[] = {0, 1, 1767477600123456LL, -62135596800000000LL, 253402300799999999LL};
    size_t i;
    for (i = 0; i < sizeof(times) / sizeof(times[0]); ++i) {
        ingest_cursor_t c;
        const char *why = NULL;
        const char *s = ingest_cursor_format(unit_pool, times[i], JOB);
        ck_assert_ptr_nonnull(s);
        ck_assert_uint_le(strlen(s), INGEST_CURSOR_MAX);
        ck_assert_msg(ingest_cursor_parse(unit_pool, s, &c, &why) == APR_SUCCESS, "%s: %s", s, why);
        ck_assert_int_eq(c.created_us, times[i]);
        ck_assert_str_eq(c.job_id, JOB);
    }
}
END_TEST

START_TEST(cursor_text_form)
{
    ingest_cursor_t c;
    const char *why = NULL;
    const char *s =
        ingest_cursor_format(unit_pool, 1767477600123456LL, "0B6C2D9E-4F1A-4C3B-9D2E-7A8B9C0D1E2F");
    /* what the cursor is, so that a client's log of one can be read */
    ck_assert_str_eq(s, b64("2026-01-03T22:00:00.123456Z~" JOB));
    ck_assert_ptr_null(ingest_cursor_format(unit_pool, 0, "not-a-uuid"));
    /* an offset and 9 digits inside are read to the microsecond, in UTC */
    ck_assert_int_eq(
        ingest_cursor_parse(unit_pool, b64("2026-01-04T00:00:00.123456789+02:00~" JOB), &c, &why),
        APR_SUCCESS);
    ck_assert_int_eq(c.created_us, 1767477600123456LL);
    ck_assert_str_eq(c.created_at, "2026-01-03T22:00:00.123456Z");
    /* the job id comes back lowercase */
    ck_assert_int_eq(ingest_cursor_parse(unit_pool,
                                         b64("2026-01-03T22:00:00Z~0B6C2D9E-4F1A-4C3B-9D2E-7A8B9C0D1E2F"), &c,
                                         &why),
                     APR_SUCCESS);
    ck_assert_str_eq(c.job_id, JOB);
}
END_TEST

START_TEST(cursor_rejected)
{
    char big[INGEST_CURSOR_MAX + 2];
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    cursor_bad("", "must not be empty");
    cursor_bad(big, "is not a cursor of this listing: longer than 128 characters");
    cursor_bad("abc=", "is not a cursor of this listing: not base64url");
    cursor_bad("a.b", "is not a cursor of this listing: not base64url");
    cursor_bad(b64("2026-01-03T22:00:00Z " JOB),
               "is not a cursor of this listing: expected <created_at>~<job_id>");
    cursor_bad(b64("2026-01-03T22:00:00Z~" JOB "~x"),
               "is not a cursor of this listing: expected <created_at>~<job_id>");
    cursor_bad(b64("~"), "is not a cursor of this listing: created_at is not an RFC 3339 time");
    cursor_bad(b64("2026-02-30T22:00:00Z~" JOB),
               "is not a cursor of this listing: created_at is not an RFC 3339 time");
    cursor_bad(b64("2026-01-03 22:00~" JOB),
               "is not a cursor of this listing: created_at is not an RFC 3339 time");
    cursor_bad(b64("2026-01-03T22:00:00Z~"), "is not a cursor of this listing: job_id is not a UUID");
    cursor_bad(b64("2026-01-03T22:00:00Z~0b6c2d9e4f1a4c3b9d2e7a8b9c0d1e2f"),
               "is not a cursor of this listing: job_id is not a UUID");
    /* a NUL hidden in the decoded bytes */
    cursor_bad(ingest_b64url(unit_pool, (const unsigned char *)"2026-01-03T22:00:00Z\0~" JOB, 58),
               "is not a cursor of this listing: expected <created_at>~<job_id>");
}
END_TEST

/* ---------------------------------------------------------------- the listing's parameter */

static apr_table_t *args2(const char *k1, const char *v1, const char *k2, const char *v2)
{
    apr_table_t *t = apr_table_make(unit_pool, 2);
    apr_table_set(t, k1, v1);
    if (k2) {
        apr_table_set(t, k2, v2);
    }
    return t;
}

START_TEST(list_cursor)
{
    ingest_list_req_t req;
    ingest_verr_t err = {NULL, NULL};
    const char *c = ingest_cursor_format(unit_pool, 1767477600123456LL, JOB);

    ck_assert_int_eq(ingest_validate_list(unit_pool, args2("cursor", c, "status", "queued"), &req, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(req.has_cursor, 1);
    ck_assert_int_eq(req.has_status, 1);
    ck_assert_int_eq(req.offset, 0);
    ck_assert_int_eq(req.cursor.created_us, 1767477600123456LL);
    ck_assert_str_eq(req.cursor.created_at, "2026-01-03T22:00:00.123456Z");
    ck_assert_str_eq(req.cursor.job_id, JOB);

    ck_assert_int_eq(ingest_validate_list(unit_pool, args2("limit", "5", NULL, NULL), &req, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(req.has_cursor, 0);

    /* with offset, even offset=0: one way to say where the page starts */
    ck_assert_int_eq(ingest_validate_list(unit_pool, args2("cursor", c, "offset", "0"), &req, &err),
                     APR_EINVAL);
    ck_assert_str_eq(err.field, "cursor");
    ck_assert_str_eq(err.detail, "cannot be given together with offset");

    ck_assert_int_eq(ingest_validate_list(unit_pool, args2("cursor", "x", NULL, NULL), &req, &err),
                     APR_EINVAL);
    ck_assert_str_eq(err.field, "cursor");
    ck_assert_str_eq(err.detail, "is not a cursor of this listing: not base64url");
    ck_assert_int_eq(ingest_validate_list(unit_pool, args2("cursor", "", NULL, NULL), &req, &err),
                     APR_EINVAL);
    ck_assert_str_eq(err.detail, "must not be empty");
}
END_TEST

Suite *suite_cursor(void)
{
    Suite *s = suite_create("cursor");
    TCase *tc = unit_tcase("base64url");
    tcase_add_test(tc, b64url_decode_round_trip);
    tcase_add_test(tc, b64url_decode_strict);
    suite_add_tcase(s, tc);

    tc = unit_tcase("cursor");
    tcase_add_test(tc, cursor_round_trip);
    tcase_add_test(tc, cursor_text_form);
    tcase_add_test(tc, cursor_rejected);
    tcase_add_test(tc, list_cursor);
    suite_add_tcase(s, tc);
    return s;
}
