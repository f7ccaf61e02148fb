#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "ingest_validate.h"
#include "unit.h"

/* ---------------------------------------------------------------- filename */

static void filename_ok(const char *name)
{
    const char *why = NULL;
    ck_assert_msg(ingest_validate_filename(name, &why) == APR_SUCCESS, "\"%s\" refused: %s", name,
                  why ? why : "(no reason)");
}

static void filename_bad(const char *name, const char *want_why)
{
    const char *why = NULL;
    ck_assert_msg(ingest_validate_filename(name, &why) == APR_EINVAL, "filename accepted");
    ck_assert_ptr_nonnull(why);
    ck_assert_str_eq(why, want_why);
}

static char *repeat(char c, apr_size_t n)
{
    char *s = apr_palloc(unit_pool, n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

START_TEST(filename_plain)
{
    filename_ok("report.csv");
    filename_ok("a");
    filename_ok("my data (final) v2.json");
    filename_ok("..hidden");
    filename_ok("~");
}
END_TEST

START_TEST(filename_empty)
{
    filename_bad("", "must not be empty");
    filename_bad(NULL, "must not be empty");
}
END_TEST

START_TEST(filename_length)
{
    filename_ok(repeat('a', 255));
    filename_bad(repeat('a', 256), "must be at most 255 bytes");
    filename_bad(repeat('a', 4096), "must be at most 255 bytes");
    /* bytes, not characters: 127 two-byte characters + 1 = 255 bytes ok,
     * 128 two-byte characters = 256 bytes too long */
    {
        char *s = apr_palloc(unit_pool, 257);
        int i;
        for (i = 0; i < 128; ++i) {
            s[2 * i] = (char)0xC3;
            s[2 * i + 1] = (char)0xA9; /* é */
        }
        s[256] = '\0';
        filename_bad(s, "must be at most 255 bytes");
        s[254] = 'x';
        s[255] = '\0';
        filename_ok(s);
    }
}
END_TEST

START_TEST(filename_separators)
{
    filename_bad("a/b.csv", "must not contain '/' or '\\'");
    filename_bad("/etc/passwd", "must not contain '/' or '\\'");
    filename_bad("a\\b.csv", "must not contain '/' or '\\'");
    filename_bad("..\\..\\boot.ini", "must not contain '/' or '\\'");
    filename_bad("x/", "must not contain '/' or '\\'");
}
END_TEST

START_TEST(filename_controls)
{
    filename_bad("a\x01.csv", "must not contain control characters");
    filename_bad("a\x1f", "must not contain control characters");
    filename_bad("a\tb", "must not contain control characters");
    filename_bad("line\nbreak", "must not contain control characters");
    filename_bad("del\x7f", "must not contain control characters");
    /* C1 controls: U+0085 (NEL) is C2 85, U+0080 is C2 80, U+009F is C2 9F */
    filename_bad("a\xc2\x85z", "must not contain control characters");
    filename_bad("\xc2\x80", "must not contain control characters");
    filename_bad("end\xc2\x9f", "must not contain control characters");
    /* U+00A0 (C2 A0) is not a control */
    filename_ok("a\xc2\xa0z");
}
END_TEST

START_TEST(filename_utf8)
{
    filename_bad("\xff", "must be valid UTF-8");
    filename_bad("abc\xff.csv", "must be valid UTF-8");
    filename_bad("\xc0\xaf", "must be valid UTF-8");     /* overlong '/' */
    filename_bad("\xe0\x80\xaf", "must be valid UTF-8"); /* overlong '/' */
    filename_bad("\xed\xa0\x80", "must be valid UTF-8"); /* surrogate U+D800 */
    filename_bad("a\xc3", "must be valid UTF-8");        /* truncated */
    filename_bad("\x80", "must be valid UTF-8");         /* lone continuation */
    filename_ok("r\xc3\xa9sum\xc3\xa9.csv");             /* résumé.csv */
    filename_ok("\xe6\x97\xa5\xe6\x9c\xac.txt");         /* 日本.txt */
    filename_ok("\xf0\x9f\x98\x80.log");                 /* U+1F600 */
    filename_ok("\xf4\x8f\xbf\xbf");                     /* U+10FFFF */
}
END_TEST

/* ---------------------------------------------------------------- utf8 */

#define U8(lit) ingest_utf8_valid(lit, sizeof(lit) - 1)

START_TEST(utf8_valid_direct)
{
    ck_assert_int_eq(ingest_utf8_valid("", 0), 1);
    ck_assert_int_eq(U8("plain ascii"), 1);
    ck_assert_int_eq(U8("\x7f"), 1);
    ck_assert_int_eq(U8("\xc2\x80"), 1);         /* U+0080, smallest 2-byte */
    ck_assert_int_eq(U8("\xdf\xbf"), 1);         /* U+07FF */
    ck_assert_int_eq(U8("\xe0\xa0\x80"), 1);     /* U+0800, smallest 3-byte */
    ck_assert_int_eq(U8("\xed\x9f\xbf"), 1);     /* U+D7FF */
    ck_assert_int_eq(U8("\xee\x80\x80"), 1);     /* U+E000 */
    ck_assert_int_eq(U8("\xef\xbf\xbf"), 1);     /* U+FFFF */
    ck_assert_int_eq(U8("\xf0\x90\x80\x80"), 1); /* U+10000, smallest 4-byte */
    ck_assert_int_eq(U8("\xf4\x8f\xbf\xbf"), 1); /* U+10FFFF */
    ck_assert_int_eq(U8("r\xc3\xa9sum\xc3\xa9"), 1);
    /* an embedded NUL is a valid code point; len decides */
    ck_assert_int_eq(ingest_utf8_valid("a\0b", 3), 1);
    /* only len bytes are looked at */
    ck_assert_int_eq(ingest_utf8_valid("ab\xff", 2), 1);
}
END_TEST

START_TEST(utf8_invalid_direct)
{
    ck_assert_int_eq(U8("\xff"), 0);
    ck_assert_int_eq(U8("\xfe"), 0);
    ck_assert_int_eq(U8("\x80"), 0); /* continuation first */
    ck_assert_int_eq(U8("\xbf"), 0);
    ck_assert_int_eq(U8("\xc0\xaf"), 0); /* overlong 2-byte */
    ck_assert_int_eq(U8("\xc1\xbf"), 0);
    ck_assert_int_eq(U8("\xe0\x80\xaf"), 0);     /* overlong 3-byte */
    ck_assert_int_eq(U8("\xe0\x9f\xbf"), 0);     /* U+07FF as 3 bytes */
    ck_assert_int_eq(U8("\xf0\x8f\xbf\xbf"), 0); /* U+FFFF as 4 bytes */
    ck_assert_int_eq(U8("\xed\xa0\x80"), 0);     /* U+D800 */
    ck_assert_int_eq(U8("\xed\xbf\xbf"), 0);     /* U+DFFF */
    ck_assert_int_eq(U8("\xf4\x90\x80\x80"), 0); /* U+110000 */
    ck_assert_int_eq(U8("\xf5\x80\x80\x80"), 0);
    ck_assert_int_eq(U8("\xf8\x88\x80\x80\x80"), 0); /* 5-byte form */
    ck_assert_int_eq(U8("\xc3\x28"), 0);             /* bad continuation */
    ck_assert_int_eq(U8("\xe2\x28\xa1"), 0);
    ck_assert_int_eq(U8("\xf0\x9f\x98\x28"), 0);
}
END_TEST

START_TEST(utf8_truncated)
{
    ck_assert_int_eq(U8("\xc3"), 0);
    ck_assert_int_eq(U8("a\xc3"), 0);
    ck_assert_int_eq(U8("\xe2\x82"), 0);
    ck_assert_int_eq(U8("\xe2"), 0);
    ck_assert_int_eq(U8("\xf0\x9f\x98"), 0);
    ck_assert_int_eq(U8("\xf0\x9f"), 0);
    ck_assert_int_eq(U8("\xf0"), 0);
    /* truncated by len although the bytes continue in memory */
    ck_assert_int_eq(ingest_utf8_valid("\xc3\xa9", 1), 0);
    ck_assert_int_eq(ingest_utf8_valid("\xe2\x82\xac", 2), 0);
    ck_assert_int_eq(ingest_utf8_valid("\xf0\x9f\x98\x80", 3), 0);
    ck_assert_int_eq(ingest_utf8_valid("\xf0\x9f\x98\x80", 4), 1);
}
END_TEST

/* ---------------------------------------------------------------- init */

#define MAXSZ ((apr_int64_t)1000000)

static void init_bad(const char *body, const char *want_field, const char *want_detail)
{
    ingest_init_req_t req;
    ingest_verr_t err = {"untouched", "untouched"};
    json_t *j = unit_json(body);
    ck_assert_msg(ingest_validate_init(unit_pool, j, MAXSZ, &req, &err) == APR_EINVAL, "%s accepted", body);
    if (want_field) {
        ck_assert_ptr_nonnull(err.field);
        ck_assert_str_eq(err.field, want_field);
    } else {
        ck_assert_ptr_null(err.field);
    }
    ck_assert_ptr_nonnull(err.detail);
    ck_assert_str_eq(err.detail, want_detail);
}

#define TYPE_DETAIL "must be one of csv, json, ndjson, xml, pdf, xlsx, txt, log"

START_TEST(init_good)
{
    ingest_init_req_t req;
    ingest_verr_t err = {NULL, NULL};
    json_t *j =
        unit_json("{\"filename\":\"r\\u00e9sum\\u00e9.csv\",\"file_type\":\"csv\",\"file_size\":1234}");
    ck_assert_int_eq(ingest_validate_init(unit_pool, j, MAXSZ, &req, &err), APR_SUCCESS);
    ck_assert_str_eq(req.filename, "r\xc3\xa9sum\xc3\xa9.csv");
    ck_assert_str_eq(req.file_type, "csv");
    ck_assert_int_eq(req.file_size, 1234);
    /* the request is the caller's: copied into the pool, not borrowed */
    ck_assert_ptr_ne(req.filename, json_string_value(json_object_get(j, "filename")));

    /* boundaries: 0 and exactly the maximum */
    j = unit_json("{\"file_size\":0,\"file_type\":\"log\",\"filename\":\"x\"}");
    ck_assert_int_eq(ingest_validate_init(unit_pool, j, MAXSZ, &req, &err), APR_SUCCESS);
    ck_assert_int_eq(req.file_size, 0);
    ck_assert_str_eq(req.file_type, "log");
    j = unit_json("{\"filename\":\"x\",\"file_type\":\"xlsx\",\"file_size\":1000000}");
    ck_assert_int_eq(ingest_validate_init(unit_pool, j, MAXSZ, &req, &err), APR_SUCCESS);
    ck_assert_int_eq(req.file_size, MAXSZ);
}
END_TEST

START_TEST(init_missing_fields)
{
    init_bad("{\"file_type\":\"csv\",\"file_size\":1}", "filename", "is required");
    init_bad("{\"filename\":\"a.csv\",\"file_size\":1}", "file_type", "is required");
    init_bad("{\"filename\":\"a.csv\",\"file_type\":\"csv\"}", "file_size", "is required");
    init_bad("{}", "filename", "is required");
}
END_TEST

START_TEST(init_wrong_types)
{
    init_bad("{\"filename\":7,\"file_type\":\"csv\",\"file_size\":1}", "filename", "must be a string");
    init_bad("{\"filename\":null,\"file_type\":\"csv\",\"file_size\":1}", "filename", "must be a string");
    init_bad("{\"filename\":[\"a\"],\"file_type\":\"csv\",\"file_size\":1}", "filename", "must be a string");
    init_bad("{\"filename\":\"a.csv\",\"file_type\":1,\"file_size\":1}", "file_type", TYPE_DETAIL);
    init_bad("{\"filename\":\"a.csv\",\"file_type\":\"CSV\",\"file_size\":1}", "file_type", TYPE_DETAIL);
    init_bad("{\"filename\":\"a.csv\",\"file_type\":\"exe\",\"file_size\":1}", "file_type", TYPE_DETAIL);
    init_bad("{\"filename\":\"a.csv\",\"file_type\":\"\",\"file_size\":1}", "file_type", TYPE_DETAIL);
    init_bad("{\"filename\":\"a.csv\",\"file_type\":\"csv\",\"file_size\":1.5}", "file_size",
             "must be an integer");
    init_bad("{\"filename\":\"a.csv\",\"file_type\":\"csv\",\"file_size\":1.0}", "file_size",
             "must be an integer");
    init_bad("{\"filename\":\"a.csv\",\"file_type\":\"csv\",\"file_size\":\"10\"}", "file_size",
             "must be an integer");
    init_bad("{\"filename\":\"a.csv\",\"file_type\":\"csv\",\"file_size\":true}", "file_size",
             "must be an integer");
    init_bad("{\"filename\":\"a.csv\",\"file_type\":\"csv\",\"file_size\":null}", "file_size",
             "must be an integer");
}
END_TEST

START_TEST(init_bad_values)
{
    init_bad("{\"filename\":\"\",\"file_type\":\"csv\",\"file_size\":1}", "filename", "must not be empty");
    init_bad("{\"filename\":\"a/b\",\"file_type\":\"csv\",\"file_size\":1}", "filename",
             "must not contain '/' or '\\'");
    init_bad("{\"filename\":\"a\\u0001b\",\"file_type\":\"csv\",\"file_size\":1}", "filename",
             "must not contain control characters");
    init_bad("{\"filename\":\"a\\u0085b\",\"file_type\":\"csv\",\"file_size\":1}", "filename",
             "must not contain control characters");
    init_bad("{\"filename\":\"a.csv\",\"file_type\":\"csv\",\"file_size\":-1}", "file_size",
             "must not be negative");
    init_bad("{\"filename\":\"a.csv\",\"file_type\":\"csv\",\"file_size\":1000001}", "file_size",
             "must be at most 1000000 bytes (IngestMaxUploadSize)");
    init_bad("{\"filename\":\"a.csv\",\"file_type\":\"csv\",\"file_size\":9223372036854775807}", "file_size",
             "must be at most 1000000 bytes (IngestMaxUploadSize)");
}
END_TEST

START_TEST(init_unknown_field)
{
    init_bad("{\"filename\":\"a.csv\",\"file_type\":\"csv\",\"file_size\":1,\"owner\":\"x\"}", "owner",
             "unknown field");
    /* unknown fields are refused before anything else is looked at */
    init_bad("{\"bogus\":1}", "bogus", "unknown field");
    init_bad("{\"Filename\":\"a.csv\",\"file_type\":\"csv\",\"file_size\":1}", "Filename", "unknown field");
}
END_TEST

START_TEST(init_not_object)
{
    init_bad("[]", NULL, "the request body must be a JSON object");
    init_bad("[{\"filename\":\"a.csv\",\"file_type\":\"csv\",\"file_size\":1}]", NULL,
             "the request body must be a JSON object");
    init_bad("\"a\"", NULL, "the request body must be a JSON object");
    init_bad("42", NULL, "the request body must be a JSON object");
    init_bad("null", NULL, "the request body must be a JSON object");
    {
        ingest_init_req_t req;
        ingest_verr_t err = {"untouched", "untouched"};
        ck_assert_int_eq(ingest_validate_init(unit_pool, NULL, MAXSZ, &req, &err), APR_EINVAL);
        ck_assert_ptr_null(err.field);
        ck_assert_str_eq(err.detail, "the request body must be a JSON object");
    }
}
END_TEST

/* ---------------------------------------------------------------- list */

static apr_table_t *args_of(const char *const *kv)
{
    apr_table_t *t = apr_table_make(unit_pool, 4);
    for (; kv && kv[0]; kv += 2) {
        apr_table_add(t, kv[0], kv[1]);
    }
    return t;
}

static void list_bad(const char *const *kv, const char *want_field, const char *want_detail)
{
    ingest_list_req_t req;
    ingest_verr_t err = {"untouched", "untouched"};
    ck_assert_int_eq(ingest_validate_list(unit_pool, args_of(kv), &req, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(err.field);
    ck_assert_str_eq(err.field, want_field);
    ck_assert_str_eq(err.detail, want_detail);
}

#define LIMIT_DETAIL  "must be an integer from 1 to 100"
#define OFFSET_DETAIL "must be an integer from 0 to 2147483647"

START_TEST(list_defaults)
{
    ingest_list_req_t req;
    ingest_verr_t err = {NULL, NULL};
    memset(&req, 0x5a, sizeof(req));
    ck_assert_int_eq(ingest_validate_list(unit_pool, apr_table_make(unit_pool, 1), &req, &err), APR_SUCCESS);
    ck_assert_int_eq(req.limit, 20);
    ck_assert_int_eq(req.offset, 0);
    ck_assert_int_eq(req.has_status, 0);
    ck_assert_int_eq(req.mine, 0);
}
END_TEST

START_TEST(list_all_given)
{
    static const char *const kv[] = {"status",     "running", "limit", "100", "offset",
                                     "2147483647", "user",    "me",    NULL};
    ingest_list_req_t req;
    ingest_verr_t err = {NULL, NULL};
    ck_assert_int_eq(ingest_validate_list(unit_pool, args_of(kv), &req, &err), APR_SUCCESS);
    ck_assert_int_eq(req.has_status, 1);
    ck_assert_int_eq(req.status, INGEST_ST_RUNNING);
    ck_assert_int_eq(req.limit, 100);
    ck_assert_int_eq(req.offset, 2147483647LL);
    ck_assert_int_eq(req.mine, 1);
}
END_TEST

START_TEST(list_limit_bounds)
{
    ingest_list_req_t req;
    ingest_verr_t err = {NULL, NULL};
    static const char *const one[] = {"limit", "1", NULL};
    static const char *const zero_padded[] = {"limit", "007", NULL};
    ck_assert_int_eq(ingest_validate_list(unit_pool, args_of(one), &req, &err), APR_SUCCESS);
    ck_assert_int_eq(req.limit, 1);
    ck_assert_int_eq(ingest_validate_list(unit_pool, args_of(zero_padded), &req, &err), APR_SUCCESS);
    ck_assert_int_eq(req.limit, 7);
}
END_TEST

START_TEST(list_limit_rejected)
{
    static const char *const bad_values[] = {
        "0", "101", "abc", "+5", "1 ", " 1", "-1", "", "1.5", "0x10", "99999999999999999999", NULL};
    const char *const *v;
    for (v = bad_values; *v; ++v) {
        const char *kv[] = {"limit", *v, NULL};
        list_bad(kv, "limit", LIMIT_DETAIL);
    }
}
END_TEST

START_TEST(list_offset)
{
    static const char *const ok[] = {"offset", "0", NULL};
    static const char *const neg[] = {"offset", "-1", NULL};
    static const char *const big[] = {"offset", "2147483648", NULL};
    static const char *const word[] = {"offset", "ten", NULL};
    ingest_list_req_t req;
    ingest_verr_t err = {NULL, NULL};
    ck_assert_int_eq(ingest_validate_list(unit_pool, args_of(ok), &req, &err), APR_SUCCESS);
    ck_assert_int_eq(req.offset, 0);
    list_bad(neg, "offset", OFFSET_DETAIL);
    list_bad(big, "offset", OFFSET_DETAIL);
    list_bad(word, "offset", OFFSET_DETAIL);
}
END_TEST

START_TEST(list_status)
{
    static const char *const names[] = {"pending", "queued", "running", "completed", "failed"};
    static const char *const unknown[] = {"status", "done", NULL};
    static const char *const upper[] = {"status", "RUNNING", NULL};
    static const char *const empty[] = {"status", "", NULL};
    int i;
    for (i = 0; i < 5; ++i) {
        const char *kv[] = {"status", names[i], NULL};
        ingest_list_req_t req;
        ingest_verr_t err = {NULL, NULL};
        ck_assert_int_eq(ingest_validate_list(unit_pool, args_of(kv), &req, &err), APR_SUCCESS);
        ck_assert_int_eq(req.has_status, 1);
        ck_assert_int_eq(req.status, i);
    }
    list_bad(unknown, "status", "must be one of pending, queued, running, completed, failed");
    list_bad(upper, "status", "must be one of pending, queued, running, completed, failed");
    list_bad(empty, "status", "must be one of pending, queued, running, completed, failed");
}
END_TEST

START_TEST(list_user)
{
    static const char *const me[] = {"user", "me", NULL};
    static const char *const other[] = {"user", "alice", NULL};
    static const char *const upper[] = {"user", "ME", NULL};
    static const char *const empty[] = {"user", "", NULL};
    ingest_list_req_t req;
    ingest_verr_t err = {NULL, NULL};
    ck_assert_int_eq(ingest_validate_list(unit_pool, args_of(me), &req, &err), APR_SUCCESS);
    ck_assert_int_eq(req.mine, 1);
    list_bad(other, "user", "must be \"me\"");
    list_bad(upper, "user", "must be \"me\"");
    list_bad(empty, "user", "must be \"me\"");
}
END_TEST

START_TEST(list_unknown_parameter)
{
    static const char *const a[] = {"sort", "asc", NULL};
    static const char *const b[] = {"limit", "5", "page", "2", NULL};
    static const char *const c[] = {"Limit", "5", NULL};
    list_bad(a, "sort", "unknown query parameter (expected status, limit, offset, cursor, user)");
    list_bad(b, "page", "unknown query parameter (expected status, limit, offset, cursor, user)");
    /* parameter names are case-sensitive although apr tables are not */
    list_bad(c, "Limit", "unknown query parameter (expected status, limit, offset, cursor, user)");
}
END_TEST

START_TEST(list_repeated_parameter)
{
    apr_table_t *t = apr_table_make(unit_pool, 4);
    ingest_list_req_t req;
    ingest_verr_t err = {NULL, NULL};
    apr_table_add(t, "limit", "5");
    apr_table_add(t, "limit", "6");
    ck_assert_int_eq(ingest_validate_list(unit_pool, t, &req, &err), APR_EINVAL);
    ck_assert_str_eq(err.field, "limit");
    ck_assert_str_eq(err.detail, "must be given at most once");

    /* even when both values are the same and valid */
    t = apr_table_make(unit_pool, 4);
    apr_table_add(t, "status", "running");
    apr_table_add(t, "offset", "1");
    apr_table_add(t, "status", "running");
    ck_assert_int_eq(ingest_validate_list(unit_pool, t, &req, &err), APR_EINVAL);
    ck_assert_str_eq(err.field, "status");
    ck_assert_str_eq(err.detail, "must be given at most once");
}
END_TEST

/* ---------------------------------------------------------------- parse_int */

START_TEST(parse_int_bounds)
{
    apr_int64_t v = -42;
    ck_assert_int_eq(ingest_parse_int("0", 0, 10, &v), APR_SUCCESS);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(ingest_parse_int("10", 0, 10, &v), APR_SUCCESS);
    ck_assert_int_eq(v, 10);
    ck_assert_int_eq(ingest_parse_int("5", 5, 5, &v), APR_SUCCESS);
    ck_assert_int_eq(v, 5);
    ck_assert_int_eq(ingest_parse_int("000012", 0, 100, &v), APR_SUCCESS);
    ck_assert_int_eq(v, 12);
    ck_assert_int_eq(ingest_parse_int("999999999999999999", 0, APR_INT64_MAX, &v), APR_SUCCESS);
    ck_assert_int_eq(v, 999999999999999999LL);

    v = -42;
    ck_assert_int_eq(ingest_parse_int("11", 0, 10, &v), APR_ERANGE);
    ck_assert_int_eq(ingest_parse_int("4", 5, 10, &v), APR_ERANGE);
    ck_assert_int_eq(ingest_parse_int("0", 1, 10, &v), APR_ERANGE);
    ck_assert_int_eq(v, -42); /* untouched on failure */
}
END_TEST

START_TEST(parse_int_syntax)
{
    apr_int64_t v = -42;
    ck_assert_int_eq(ingest_parse_int(NULL, 0, 10, &v), APR_EINVAL);
    ck_assert_int_eq(ingest_parse_int("", 0, 10, &v), APR_EINVAL);
    ck_assert_int_eq(ingest_parse_int("-1", -10, 10, &v), APR_EINVAL);
    ck_assert_int_eq(ingest_parse_int("+1", 0, 10, &v), APR_EINVAL);
    ck_assert_int_eq(ingest_parse_int(" 1", 0, 10, &v), APR_EINVAL);
    ck_assert_int_eq(ingest_parse_int("1 ", 0, 10, &v), APR_EINVAL);
    ck_assert_int_eq(ingest_parse_int("1a", 0, 10, &v), APR_EINVAL);
    ck_assert_int_eq(ingest_parse_int("0x1", 0, 10, &v), APR_EINVAL);
    ck_assert_int_eq(ingest_parse_int("1e2", 0, 1000, &v), APR_EINVAL);
    /* more than 18 digits never parses, so nothing can overflow */
    ck_assert_int_eq(ingest_parse_int("1000000000000000000", 0, APR_INT64_MAX, &v), APR_EINVAL);
    ck_assert_int_eq(ingest_parse_int("99999999999999999999999", 0, APR_INT64_MAX, &v), APR_EINVAL);
    ck_assert_int_eq(v, -42);
}
END_TEST

/* ---------------------------------------------------------------- uuid */

START_TEST(uuid_checks)
{
    ck_assert_int_eq(ingest_is_uuid("123e4567-e89b-12d3-a456-426614174000"), 1);
    ck_assert_int_eq(ingest_is_uuid("123E4567-E89B-12D3-A456-426614174ABC"), 1);
    ck_assert_int_eq(ingest_is_uuid("00000000-0000-0000-0000-000000000000"), 1);
    ck_assert_int_eq(ingest_is_uuid("ffffffff-FFFF-ffff-FFFF-ffffffffffff"), 1);

    ck_assert_int_eq(ingest_is_uuid(NULL), 0);
    ck_assert_int_eq(ingest_is_uuid(""), 0);
    ck_assert_int_eq(ingest_is_uuid("123e4567-e89b-12d3-a456-42661417400"), 0);   /* 35 */
    ck_assert_int_eq(ingest_is_uuid("123e4567-e89b-12d3-a456-4266141740000"), 0); /* 37 */
    ck_assert_int_eq(ingest_is_uuid("123e4567e89b12d3a456426614174000"), 0);      /* no dashes */
    ck_assert_int_eq(ingest_is_uuid("{23e4567-e89b-12d3-a456-42661417400}"), 0);
    ck_assert_int_eq(ingest_is_uuid("123e456-7e89b-12d3-a456-426614174000"), 0); /* dash moved */
    ck_assert_int_eq(ingest_is_uuid("123e4567-e89b-12d3-a4564-26614174000"), 0);
    ck_assert_int_eq(ingest_is_uuid("123e4567-e89b-12d3-a456-42661417400-"), 0);
    ck_assert_int_eq(ingest_is_uuid("123e4567-e89b-12d3-a456-42661417400g"), 0); /* non-hex */
    ck_assert_int_eq(ingest_is_uuid("z23e4567-e89b-12d3-a456-426614174000"), 0);
    ck_assert_int_eq(ingest_is_uuid("123e4567 e89b 12d3 a456 426614174000"), 0);
    ck_assert_int_eq(ingest_is_uuid("123e4567-e89b-12d3-a456-42661417400\xff"), 0);
}
END_TEST

/* ---------------------------------------------------------------- idempotency key */

START_TEST(idempotency_key)
{
    const char *why = NULL;
    char *k255 = repeat('k', 255), *k256 = repeat('k', 256);

    ck_assert_int_eq(ingest_validate_idempotency_key("a", &why), APR_SUCCESS);
    ck_assert_int_eq(ingest_validate_idempotency_key("req-2024-01-01T00:00:00Z ~!@#$%^&*()", &why),
                     APR_SUCCESS);
    ck_assert_int_eq(ingest_validate_idempotency_key(k255, &why), APR_SUCCESS);

    why = NULL;
    ck_assert_int_eq(ingest_validate_idempotency_key("", &why), APR_EINVAL);
    ck_assert_str_eq(why, "must not be empty");
    why = NULL;
    ck_assert_int_eq(ingest_validate_idempotency_key(NULL, &why), APR_EINVAL);
    ck_assert_str_eq(why, "must not be empty");
    why = NULL;
    ck_assert_int_eq(ingest_validate_idempotency_key(k256, &why), APR_EINVAL);
    ck_assert_str_eq(why, "must be at most 255 characters");
    why = NULL;
    ck_assert_int_eq(ingest_validate_idempotency_key("a\tb", &why), APR_EINVAL);
    ck_assert_str_eq(why, "must be printable ASCII");
    why = NULL;
    ck_assert_int_eq(ingest_validate_idempotency_key("a\x7f", &why), APR_EINVAL);
    ck_assert_str_eq(why, "must be printable ASCII");
    why = NULL;
    ck_assert_int_eq(ingest_validate_idempotency_key("caf\xc3\xa9", &why), APR_EINVAL);
    ck_assert_str_eq(why, "must be printable ASCII");
    why = NULL;
    ck_assert_int_eq(ingest_validate_idempotency_key("\n", &why), APR_EINVAL);
    ck_assert_str_eq(why, "must be printable ASCII");
}
END_TEST

Suite *suite_validate(void)
{
    Suite *s = suite_create("ingest_validate");
    TCase *tc;

    tc = unit_tcase("filename");
    tcase_add_test(tc, filename_plain);
    tcase_add_test(tc, filename_empty);
    tcase_add_test(tc, filename_length);
    tcase_add_test(tc, filename_separators);
    tcase_add_test(tc, filename_controls);
    tcase_add_test(tc, filename_utf8);
    suite_add_tcase(s, tc);

    tc = unit_tcase("utf8");
    tcase_add_test(tc, utf8_valid_direct);
    tcase_add_test(tc, utf8_invalid_direct);
    tcase_add_test(tc, utf8_truncated);
    suite_add_tcase(s, tc);

    tc = unit_tcase("init");
    tcase_add_test(tc, init_good);
    tcase_add_test(tc, init_missing_fields);
    tcase_add_test(tc, init_wrong_types);
    tcase_add_test(tc, init_bad_values);
    tcase_add_test(tc, init_unknown_field);
    tcase_add_test(tc, init_not_object);
    suite_add_tcase(s, tc);

    tc = unit_tcase("list");
    tcase_add_test(tc, list_defaults);
    tcase_add_test(tc, list_all_given);
    tcase_add_test(tc, list_limit_bounds);
    tcase_add_test(tc, list_limit_rejected);
    tcase_add_test(tc, list_offset);
    tcase_add_test(tc, list_status);
    tcase_add_test(tc, list_user);
    tcase_add_test(tc, list_unknown_parameter);
    tcase_add_test(tc, list_repeated_parameter);
    suite_add_tcase(s, tc);

    tc = unit_tcase("scalars");
    tcase_add_test(tc, parse_int_bounds);
    tcase_add_test(tc, parse_int_syntax);
    tcase_add_test(tc, uuid_checks);
    tcase_add_test(tc, idempotency_key);
    suite_add_tcase(s, tc);
    return s;
}
