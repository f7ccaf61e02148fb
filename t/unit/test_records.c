#include <string.h>

#include <apr_strings.h>

#include "ingest_records.h"
#include "unit.h"

/* What the callback saw: each record as compact JSON (or "!" and the
 * reason for an NDJSON line that is not JSON, or "-" when not building),
 * with its line, one per line of the text. */
typedef struct {
    char *seen;
    apr_int64_t stop_at; /* the callback fails on this record (-1: never) */
} seen_t;

static apr_status_t collect(void *ctx, apr_int64_t idx, apr_int64_t line, json_t *rec, const char *bad)
{
    seen_t *s = ctx;
    char *text = rec ? unit_str_own(json_dumps(rec, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS)) : NULL;

    if (idx == s->stop_at) {
        return APR_EGENERAL;
    }
    s->seen = apr_psprintf(unit_pool, "%s%" APR_INT64_T_FMT "@%" APR_INT64_T_FMT " %s\n", s->seen, idx, line,
                           bad    ? apr_pstrcat(unit_pool, "! ", bad, NULL)
                           : text ? text
                                  : "-");
    return APR_SUCCESS;
}

/* Reads text fed in slices of chunk bytes (0: whole). *error gets the
 * reader's error or NULL. */
static const char *read_all(int ndjson, int build, const char *text, apr_size_t chunk,
                            apr_size_t record_bytes, apr_status_t *rv, const char **error)
{
    seen_t s = {"", -1};
    ingest_records_t *rr;
    apr_size_t len = strlen(text), i, n;

    ck_assert_int_eq(ingest_records_create(unit_pool, ndjson, "jobs", record_bytes, build, collect, &s, &rr),
                     APR_SUCCESS);
    *rv = APR_SUCCESS;
    for (i = 0; i < len && *rv == APR_SUCCESS; i += n) {
        n = chunk && chunk < len - i ? chunk : len - i;
        *rv = ingest_records_feed(rr, text + i, n);
    }
    if (*rv == APR_SUCCESS) {
        *rv = ingest_records_finish(rr);
    }
    *error = ingest_records_error(rr);
    return s.seen;
}

/* The same records, and the same verdict, whole and byte by byte. */
static const char *read_ok(int ndjson, const char *text)
{
    apr_status_t rv;
    const char *err, *whole = read_all(ndjson, 1, text, 0, 0, &rv, &err), *bytes;

    ck_assert_msg(rv == APR_SUCCESS, "refused %s: %s", text, err ? err : "(callback)");
    bytes = read_all(ndjson, 1, text, 1, 0, &rv, &err);
    ck_assert_msg(rv == APR_SUCCESS, "refused byte by byte %s: %s", text, err ? err : "(callback)");
    ck_assert_str_eq(bytes, whole);
    return whole;
}

static void read_bad(int ndjson, const char *text, apr_size_t record_bytes, const char *want)
{
    apr_status_t rv;
    const char *err;
    apr_size_t chunks[] = {0, 1, 7};
    int i;

    for (i = 0; i < 3; ++i) {
        read_all(ndjson, 1, text, chunks[i], record_bytes, &rv, &err);
        ck_assert_msg(rv == APR_EINVAL, "accepted (chunk %d): %s", (int)chunks[i], text);
        ck_assert_ptr_nonnull(err);
        ck_assert_msg(strstr(err, want), "chunk %d: %s: got \"%s\", want \"%s\"", (int)chunks[i], text, err,
                      want);
    }
}

START_TEST(json_bare_array)
{
    ck_assert_str_eq(read_ok(0, "[{\"a\":1,\"b\":[true,null,{\"c\":\"x\"}]},\n {\"a\":2.5}, 3, \"s\"]"),
                     "0@1 {\"a\":1,\"b\":[true,null,{\"c\":\"x\"}]}\n"
                     "1@2 {\"a\":2.5}\n"
                     "2@2 3\n"
                     "3@2 \"s\"\n");
    ck_assert_str_eq(read_ok(0, " [ ] "), "");
}
END_TEST

START_TEST(json_wrapped)
{
    ck_assert_str_eq(read_ok(0, "{\"jobs\": [{\"job_id\":\"a\"},\n{\"job_id\":\"b\",\"n\":12345678901234}]}"),
                     "0@1 {\"job_id\":\"a\"}\n1@2 {\"job_id\":\"b\",\"n\":12345678901234}\n");
    read_bad(0, "{\"jobs\": [], \"other\": 1}", 0, "unexpected member \"other\"");
    read_bad(0, "{\"other\": []}", 0, "unexpected member \"other\"");
    read_bad(0, "{\"jobs\": {}}", 0, "\"jobs\" must be an array");
    read_bad(0, "{\"jobs\": 5}", 0, "\"jobs\" must be an array");
    read_bad(0, "{}", 0, "the object has no \"jobs\" member");
}
END_TEST

START_TEST(json_broken)
{
    read_bad(0, "5", 0, "the file must be an array of records or an object {\"jobs\": [...]}");
    read_bad(0, "[{\"a\":1},\n {\"a\":}]", 0, "line 2, column");
    read_bad(0, "[{\"a\":1}", 0, "malformed JSON");
    read_bad(0, "[] []", 0, "malformed JSON");
    read_bad(0, "", 0, "malformed JSON");
}
END_TEST

START_TEST(json_record_size)
{
    char *big = apr_psprintf(unit_pool, "[{\"a\":1},\n{\"a\":\"%0200d\"}]", 0);
    apr_status_t rv;
    const char *err;

    read_bad(0, big, 100, "line 2, column 1: record 2 is longer than IngestMaxRecordSize (100 bytes)");
    /* one long scalar record, and a long key outside the records */
    read_bad(0, apr_psprintf(unit_pool, "[\"%0200d\"]", 0), 100, "IngestMaxRecordSize (100 bytes)");
    read_bad(0, apr_psprintf(unit_pool, "{\"%0200d\": []}", 0), 100, "IngestMaxRecordSize (100 bytes)");
    /* exactly at the limit is fine */
    read_all(0, 1, "[{\"a\":\"xyz\"}]", 0, 11, &rv, &err);
    ck_assert_int_eq(rv, APR_SUCCESS);
    read_all(0, 1, "[{\"a\":\"xyz\"}]", 0, 10, &rv, &err);
    ck_assert_int_eq(rv, APR_EINVAL);
}
END_TEST

START_TEST(json_counting)
{
    apr_status_t rv;
    const char *err;
    ck_assert_str_eq(read_all(0, 0, "{\"jobs\":[{\"a\":1},{\"b\":[2]},null]}", 3, 0, &rv, &err),
                     "0@1 -\n1@1 -\n2@1 -\n");
    ck_assert_int_eq(rv, APR_SUCCESS);
}
END_TEST

START_TEST(ndjson_lines)
{
    ck_assert_str_eq(read_ok(1, "{\"a\":1}\n\n  \r\n{\"a\":\"\\u00e9\"}\r\nnot json\n[1]"),
                     "0@1 {\"a\":1}\n"
                     "1@4 {\"a\":\"\xc3\xa9\"}\n"
                     "2@5 ! line 5, column 3: malformed JSON: invalid token near 'not'\n"
                     "3@6 [1]\n");
    read_bad(1, apr_psprintf(unit_pool, "{}\n{\"a\":\"%0200d\"}\n", 0), 100,
             "line 2, column 1: line 2 is longer than IngestMaxRecordSize (100 bytes)");
}
END_TEST

START_TEST(callback_failure_ends_the_read)
{
    seen_t s = {"", 1};
    ingest_records_t *rr;
    ck_assert_int_eq(ingest_records_create(unit_pool, 0, "jobs", 0, 1, collect, &s, &rr), APR_SUCCESS);
    ck_assert_int_eq(ingest_records_feed(rr, "[1,2,3]", 7), APR_EGENERAL);
    ck_assert_ptr_null(ingest_records_error(rr));
    ck_assert_int_eq(ingest_records_finish(rr), APR_EGENERAL);
    ck_assert_str_eq(s.seen, "0@1 1\n");

    s.seen = "";
    ck_assert_int_eq(ingest_records_create(unit_pool, 1, "jobs", 0, 1, collect, &s, &rr), APR_SUCCESS);
    ck_assert_int_eq(ingest_records_feed(rr, "1\n2\n3", 5), APR_EGENERAL);
    ck_assert_str_eq(s.seen, "0@1 1\n");
}
END_TEST

/* An error quoted from the input stays ASCII, whatever the bytes. */
START_TEST(errors_are_ascii)
{
    apr_status_t rv;
    const char *err, *seen = read_all(1, 1, "\"\\\xd3\x87\"\n", 0, 0, &rv, &err);
    const char *c;
    ck_assert_int_eq(rv, APR_SUCCESS);
    for (c = seen; *c; ++c) {
        ck_assert_msg((unsigned char)*c < 0x80, "not ASCII: %s", seen);
    }
    read_all(0, 1, "[\"\xff\"]", 0, 0, &rv, &err);
    ck_assert_int_eq(rv, APR_EINVAL);
    for (c = err; *c; ++c) {
        ck_assert_msg((unsigned char)*c < 0x80, "not ASCII: %s", err);
    }
}
END_TEST

/* Found by fuzz_records: where an error is put does not depend on the
 * slices (yajl stops at different places in the offending token); and
 * strings yajl lets through that are not UTF-8 are refused. */
START_TEST(error_position_and_utf8)
{
    read_bad(0, "[\"\x01\"]", 0, "line 1, column 2: malformed JSON");
    read_bad(0, "[{\"\":0\n0\"", 0, "line 2, column 1: malformed JSON: parse error: after key and value");
    read_bad(0, "[{\"a\":1} {}]", 0, "line 1, column 10: malformed JSON");
    read_bad(0, "[\"\xc0\xab\"]", 0, "line 1, column 2: malformed JSON: a string is not valid UTF-8");
    read_bad(0, "[{\"\xed\xa0\x80\":1}]", 0, "line 1, column 3: malformed JSON: a string is not valid UTF-8");
    read_bad(0, "[\"\xf4\x90\x80\x80\"]", 0, "a string is not valid UTF-8");
    read_bad(0, "[1, 5 6]", 0, "line 1, column 7: malformed JSON");
}
END_TEST

Suite *suite_records(void)
{
    Suite *s = suite_create("records");
    TCase *tc = unit_tcase("records");
    tcase_add_test(tc, json_bare_array);
    tcase_add_test(tc, json_wrapped);
    tcase_add_test(tc, json_broken);
    tcase_add_test(tc, json_record_size);
    tcase_add_test(tc, json_counting);
    tcase_add_test(tc, ndjson_lines);
    tcase_add_test(tc, callback_failure_ends_the_read);
    tcase_add_test(tc, errors_are_ascii);
    tcase_add_test(tc, error_position_and_utf8);
    suite_add_tcase(s, tc);
    return s;
}
