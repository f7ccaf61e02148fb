#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "ingest_schema.h"
#include "ingest_sse.h"
#include "ingest_validate.h"

apr_size_t ingest_utf8_char(const char *str, apr_size_t i, apr_size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned char c = s[i];
    apr_uint32_t cp;
    apr_size_t n, k;

    if (c < 0x80) {
        return c != 0;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 1;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n >= len - i) {
        return 0;
    }
    for (k = 1; k <= n; ++k) {
        if ((s[i + k] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF
        || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return n + 1;
}

int ingest_utf8_valid(const char *str, apr_size_t len)
{
    apr_size_t i = 0, n;
    while (i < len) {
        /* a NUL is valid UTF-8 here; callers that mind it say so */
        if (!(n = str[i] ? ingest_utf8_char(str, i, len) : 1)) {
            return 0;
        }
        i += n;
    }
    return 1;
}

int ingest_has_control(const char *s, apr_size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t i;
    for (i = 0; i < len; ++i) {
        if (u[i] < 0x20 || u[i] == 0x7F) {
            return 1;
        }
        /* C1 controls are C2 80..C2 9F in UTF-8 */
        if (u[i] == 0xC2 && i + 1 < len && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F) {
            return 1;
        }
    }
    return 0;
}

apr_status_t ingest_verr(ingest_verr_t *err, const char *field, const char *detail)
{
    err->field = field;
    err->detail = detail;
    return APR_EINVAL;
}

apr_status_t ingest_validate_filename(const char *s, const char **why)
{
    apr_size_t len;

    if (!s || !*s) {
        *why = "must not be empty";
        return APR_EINVAL;
    }
    len = strlen(s);
    if (len > INGEST_FILENAME_MAX) {
        *why = "must be at most 255 bytes";
        return APR_EINVAL;
    }
    if (!ingest_utf8_valid(s, len)) {
        *why = "must be valid UTF-8";
        return APR_EINVAL;
    }
    if (strpbrk(s, "/\\")) {
        *why = "must not contain '/' or '\\'";
        return APR_EINVAL;
    }
    if (ingest_has_control(s, len)) {
        *why = "must not contain control characters";
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t ingest_validate_init(apr_pool_t *p, json_t *body, apr_int64_t max_file_size,
                                  ingest_init_req_t *out, ingest_verr_t *err)
{
    const char *key, *why;
    json_t *v;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(body)) {
        return ingest_verr(err, NULL, "the request body must be a JSON object");
    }
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "filename") && strcmp(key, "file_type") && strcmp(key, "file_size")
            && strcmp(key, "source_type") && strcmp(key, "schema") && strcmp(key, "on_bad_record")
            && strcmp(key, "notify_url")) {
            return ingest_verr(err, apr_pstrdup(p, key), "unknown field");
        }
    }

    out->source_type = "file_upload";
    if ((v = json_object_get(body, "source_type")) != NULL) {
        if (!json_is_string(v)
            || (strcmp(json_string_value(v), "file_upload")
                && strcmp(json_string_value(v), "job_metadata"))) {
            return ingest_verr(err, "source_type", "must be one of file_upload, job_metadata");
        }
        out->source_type = apr_pstrdup(p, json_string_value(v));
    }

    v = json_object_get(body, "filename");
    if (!v)
        return ingest_verr(err, "filename", "is required");
    if (!json_is_string(v))
        return ingest_verr(err, "filename", "must be a string");
    /* jansson refuses \u0000 unless asked, so the C string is the whole
     * value and the byte checks below see everything */
    if (ingest_validate_filename(json_string_value(v), &why) != APR_SUCCESS) {
        return ingest_verr(err, "filename", why);
    }
    out->filename = apr_pstrdup(p, json_string_value(v));

    v = json_object_get(body, "file_type");
    if (!v)
        return ingest_verr(err, "file_type", "is required");
    if (!json_is_string(v) || !ingest_file_type_valid(json_string_value(v))) {
        return ingest_verr(err, "file_type", "must be one of csv, json, ndjson, xml, pdf, xlsx, txt, log");
    }
    out->file_type = apr_pstrdup(p, json_string_value(v));
    if (!strcmp(out->source_type, "job_metadata") && strcmp(out->file_type, "json")
        && strcmp(out->file_type, "ndjson")) {
        return ingest_verr(err, "file_type", "must be json or ndjson for source_type job_metadata");
    }

    v = json_object_get(body, "file_size");
    if (!v)
        return ingest_verr(err, "file_size", "is required");
    if (!json_is_integer(v))
        return ingest_verr(err, "file_size", "must be an integer");
    if (json_integer_value(v) < 0)
        return ingest_verr(err, "file_size", "must not be negative");
    if (json_integer_value(v) > max_file_size) {
        return ingest_verr(err, "file_size",
                           apr_psprintf(p, "must be at most %" APR_INT64_T_FMT " bytes (IngestMaxUploadSize)",
                                        max_file_size));
    }
    out->file_size = (apr_int64_t)json_integer_value(v);

    if (ingest_validate_record_options(p, body, &out->schema, &out->on_bad_record, err) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if (!strcmp(out->source_type, "job_metadata") && (out->schema || out->on_bad_record)) {
        return ingest_verr(err, out->schema ? "schema" : "on_bad_record",
                           "is for records, not for source_type job_metadata");
    }
    return ingest_validate_notify_url(p, body, &out->notify_url, err);
}

apr_status_t ingest_validate_notify_url(apr_pool_t *p, json_t *body, const char **url, ingest_verr_t *err)
{
    json_t *v = json_object_get(body, "notify_url");
    *url = NULL;
    if (!v) {
        return APR_SUCCESS;
    }
    if (!json_is_string(v)) {
        return ingest_verr(err, "notify_url", "must be a string");
    }
    *url = apr_pstrdup(p, json_string_value(v));
    return APR_SUCCESS;
}

apr_status_t ingest_validate_record_options(apr_pool_t *p, json_t *body, const char **schema,
                                            const char **on_bad_record, ingest_verr_t *err)
{
    json_t *v;

    *schema = *on_bad_record = NULL;
    if ((v = json_object_get(body, "schema")) != NULL) {
        ingest_schema_t *parsed;
        char *text;
        if (ingest_schema_parse(p, v, &parsed, err) != APR_SUCCESS) {
            return APR_EINVAL;
        }
        text = json_dumps(v, JSON_COMPACT);
        *schema = apr_pstrdup(p, text);
        free(text);
    }
    if ((v = json_object_get(body, "on_bad_record")) != NULL) {
        if (!json_is_string(v)
            || (strcmp(json_string_value(v), "fail") && strcmp(json_string_value(v), "skip"))) {
            return ingest_verr(err, "on_bad_record", "must be one of fail, skip");
        }
        *on_bad_record = json_string_value(v)[0] == 'f' ? "fail" : "skip";
    }
    return APR_SUCCESS;
}

apr_status_t ingest_parse_int(const char *s, apr_int64_t min, apr_int64_t max, apr_int64_t *out)
{
    apr_int64_t v = 0;
    const char *c;
    if (!s || !*s || strlen(s) > 18) {
        return APR_EINVAL;
    }
    for (c = s; *c; ++c) {
        if (*c < '0' || *c > '9')
            return APR_EINVAL;
        v = v * 10 + (*c - '0');
    }
    if (v < min || v > max) {
        return APR_ERANGE;
    }
    *out = v;
    return APR_SUCCESS;
}

typedef struct {
    apr_pool_t *p;
    ingest_verr_t *err;
    const char *const *allowed;
    const char *unknown;
    const char *repeated;
    apr_table_t *seen;
} list_scan_t;

static int scan_arg(void *ctx, const char *key, const char *val)
{
    list_scan_t *sc = ctx;
    const char *const *a;
    (void)val;
    for (a = sc->allowed; *a && strcmp(*a, key); ++a) {
    }
    if (!*a) {
        sc->unknown = key;
        return 0;
    }
    if (apr_table_get(sc->seen, key)) {
        sc->repeated = key;
        return 0;
    }
    apr_table_setn(sc->seen, key, "1");
    return 1;
}

/* Only the allowed names, each at most once; expected is the detail for
 * an unknown one. */
static apr_status_t only_allowed(apr_pool_t *p, apr_table_t *args, const char *const *allowed,
                                 const char *expected, ingest_verr_t *err)
{
    list_scan_t sc;

    memset(&sc, 0, sizeof(sc));
    sc.p = p;
    sc.err = err;
    sc.allowed = allowed;
    sc.seen = apr_table_make(p, 4);
    apr_table_do(scan_arg, &sc, args, NULL);
    if (sc.unknown) {
        return ingest_verr(err, apr_pstrdup(p, sc.unknown), expected);
    }
    if (sc.repeated) {
        return ingest_verr(err, apr_pstrdup(p, sc.repeated), "must be given at most once");
    }
    return APR_SUCCESS;
}

apr_status_t ingest_validate_page(apr_pool_t *p, apr_table_t *args, const char *const *allowed,
                                  const char *expected, int default_limit, int *limit, apr_int64_t *offset,
                                  ingest_verr_t *err)
{
    const char *skip_or_offset = "offset";
    const char *v;
    apr_int64_t n;

    *limit = default_limit;
    *offset = 0;
    if (only_allowed(p, args, allowed, expected, err) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if ((v = apr_table_get(args, "limit")) != NULL) {
        if (ingest_parse_int(v, 1, INGEST_LIST_LIMIT_MAX, &n) != APR_SUCCESS) {
            return ingest_verr(err, "limit", "must be an integer from 1 to 100");
        }
        *limit = (int)n;
    }
    if ((v = apr_table_get(args, "skip")) != NULL) {
        if (apr_table_get(args, "offset")) {
            return ingest_verr(err, "skip", "cannot be given together with offset (they are the same)");
        }
        skip_or_offset = "skip";
    } else {
        v = apr_table_get(args, "offset");
    }
    if (v) {
        if (ingest_parse_int(v, 0, INGEST_LIST_OFFSET_MAX, &n) != APR_SUCCESS) {
            return ingest_verr(err, skip_or_offset, "must be an integer from 0 to 2147483647");
        }
        *offset = n;
    }
    return APR_SUCCESS;
}

apr_status_t ingest_validate_list(apr_pool_t *p, apr_table_t *args, ingest_list_req_t *out,
                                  ingest_verr_t *err)
{
    static const char *const allowed[] = {"status", "limit", "offset", "cursor", "user", NULL};
    const char *v, *why;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    rv = ingest_validate_page(p, args, allowed,
                              "unknown query parameter (expected status, limit, offset, cursor, user)",
                              INGEST_LIST_LIMIT_DEFAULT, &out->limit, &out->offset, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((v = apr_table_get(args, "cursor")) != NULL) {
        if (apr_table_get(args, "offset")) {
            return ingest_verr(err, "cursor", "cannot be given together with offset");
        }
        if (ingest_cursor_parse(p, v, &out->cursor, &why) != APR_SUCCESS) {
            return ingest_verr(err, "cursor", why);
        }
        out->has_cursor = 1;
    }
    if ((v = apr_table_get(args, "status")) != NULL) {
        if (ingest_status_parse(v, &out->status) != APR_SUCCESS) {
            return ingest_verr(err, "status", "must be one of pending, queued, running, completed, failed");
        }
        out->has_status = 1;
    }
    if ((v = apr_table_get(args, "user")) != NULL) {
        if (strcmp(v, "me")) {
            return ingest_verr(err, "user", "must be \"me\"");
        }
        out->mine = 1;
    }
    return APR_SUCCESS;
}

int ingest_is_uuid(const char *s)
{
    int i;
    if (!s || strlen(s) != 36) {
        return 0;
    }
    for (i = 0; i < 36; ++i) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return 1;
}

apr_status_t ingest_validate_idempotency_key(const char *k, const char **why)
{
    const char *c;
    if (!k || !*k) {
        *why = "must not be empty";
        return APR_EINVAL;
    }
    if (strlen(k) > INGEST_IDEMPOTENCY_KEY_MAX) {
        *why = "must be at most 255 characters";
        return APR_EINVAL;
    }
    for (c = k; *c; ++c) {
        if (*c < 0x20 || *c > 0x7E) {
            *why = "must be printable ASCII";
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

apr_status_t ingest_validate_records(apr_pool_t *p, apr_table_t *args, ingest_records_req_t *out,
                                     ingest_verr_t *err)
{
    static const char *const allowed[] = {"limit", "after", NULL};
    const char *v;
    apr_int64_t n;

    out->limit = INGEST_RECORDS_LIMIT_DEFAULT;
    out->after = 0;
    if (only_allowed(p, args, allowed, "unknown query parameter (expected limit, after)", err)
        != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if ((v = apr_table_get(args, "limit")) != NULL) {
        if (ingest_parse_int(v, 1, INGEST_RECORDS_LIMIT_MAX, &n) != APR_SUCCESS) {
            return ingest_verr(err, "limit", "must be an integer from 1 to 1000");
        }
        out->limit = (int)n;
    }
    if ((v = apr_table_get(args, "after")) != NULL) {
        if (ingest_parse_int(v, 0, APR_INT64_MAX, &n) != APR_SUCCESS) {
            return ingest_verr(err, "after", "must be a record's seq: an integer from 0");
        }
        out->after = n;
    }
    return APR_SUCCESS;
}

apr_status_t ingest_validate_events(apr_pool_t *p, apr_table_t *args, ingest_events_req_t *out,
                                    ingest_verr_t *err)
{
    static const char *const allowed[] = {"job_id", "after", NULL};
    const char *v;

    memset(out, 0, sizeof(*out));
    if (only_allowed(p, args, allowed, "unknown query parameter (expected job_id, after)", err)
        != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if ((v = apr_table_get(args, "job_id")) != NULL) {
        if (!ingest_is_uuid(v)) {
            return ingest_verr(err, "job_id", "must be a job id (a UUID)");
        }
        out->job_id = v;
    }
    if ((v = apr_table_get(args, "after")) != NULL) {
        if (ingest_sse_parse_id(v, &out->after) != APR_SUCCESS) {
            return ingest_verr(err, "after", "must be an event id this service sent (digits)");
        }
        out->has_after = 1;
    }
    return APR_SUCCESS;
}

apr_status_t ingest_validate_results(apr_pool_t *p, apr_table_t *args, ingest_results_req_t *out,
                                     ingest_verr_t *err)
{
    static const char *const allowed[] = {"status", "limit", "offset", NULL};
    const char *v;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    rv = ingest_validate_page(p, args, allowed, "unknown query parameter (expected status, limit, offset)",
                              INGEST_LIST_LIMIT_DEFAULT, &out->limit, &out->offset, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((v = apr_table_get(args, "status")) != NULL) {
        if (strcmp(v, "pending") && strcmp(v, "success") && strcmp(v, "failed")) {
            return ingest_verr(err, "status", "must be one of pending, success, failed");
        }
        out->status = apr_pstrdup(p, v);
    }
    return APR_SUCCESS;
}
