#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "ingest_parse_internal.h"
#include "ingest_validate.h"

ingest_parse_kind_e ingest_parse_kind(const char *file_type)
{
    if (!file_type) {
        return INGEST_PARSE_BINARY;
    }
    if (!strcmp(file_type, "csv")) {
        return INGEST_PARSE_CSV;
    }
    if (!strcmp(file_type, "json")) {
        return INGEST_PARSE_JSON;
    }
    if (!strcmp(file_type, "ndjson")) {
        return INGEST_PARSE_NDJSON;
    }
    if (!strcmp(file_type, "txt") || !strcmp(file_type, "log") || !strcmp(file_type, "xml")) {
        return INGEST_PARSE_TEXT;
    }
    /* pdf, xlsx, and anything unknown: reading nothing is always safe */
    return INGEST_PARSE_BINARY;
}

/* ------------------------------------------------------------ lifetime */

static apr_status_t parser_cleanup(void *data)
{
    ingest_parser_t *ps = data;

    /* run by ingest_parser_destroy and again by the pool, or only by it */
    if (ps->released) {
        return APR_SUCCESS;
    }
    ps->released = 1;
    switch (ps->kind) {
    case INGEST_PARSE_CSV: ingest_parse_csv_release(ps); break;
    case INGEST_PARSE_JSON: ingest_parse_json_release(ps); break;
    case INGEST_PARSE_NDJSON: ingest_parse_ndjson_release(ps); break;
    default: break;
    }
    json_decref(ps->preview);
    ps->preview = NULL;
    json_decref(ps->names);
    ps->names = NULL;
    return APR_SUCCESS;
}

apr_status_t ingest_parser_create(apr_pool_t *p, ingest_parse_kind_e kind, ingest_parser_t **out)
{
    ingest_parser_t *ps;
    apr_status_t rv = APR_SUCCESS;

    *out = NULL;
    if (kind < INGEST_PARSE_CSV || kind > INGEST_PARSE_BINARY) {
        return APR_EINVAL;
    }
    ps = apr_pcalloc(p, sizeof(*ps));
    ps->pool = p;
    ps->kind = kind;
    ps->preview = json_array();
    ps->names = json_array();
    ps->names_seen = apr_hash_make(p);
    /* registered before the libraries allocate, so that a failure below
     * is cleaned up by the pool too */
    apr_pool_cleanup_register(p, ps, parser_cleanup, apr_pool_cleanup_null);
    if (!ps->preview || !ps->names) {
        rv = APR_ENOMEM;
    } else if (kind == INGEST_PARSE_CSV) {
        rv = ingest_parse_csv_init(ps);
    } else if (kind == INGEST_PARSE_JSON) {
        rv = ingest_parse_json_init(ps);
    }
    if (rv != APR_SUCCESS) {
        ingest_parser_destroy(ps);
        return rv;
    }
    *out = ps;
    return APR_SUCCESS;
}

void ingest_parser_destroy(ingest_parser_t *ps)
{
    if (ps) {
        apr_pool_cleanup_run(ps->pool, ps, parser_cleanup);
    }
}

/* ------------------------------------------------------------- errors */

apr_status_t ingest_parse_fail(ingest_parser_t *ps, apr_int64_t line, apr_int64_t col, const char *fmt, ...)
{
    va_list ap;

    if (ps->error) {
        return APR_EINVAL;
    }
    va_start(ap, fmt);
    ps->error = apr_pvsprintf(ps->pool, fmt, ap);
    va_end(ap);
    ps->err_line = line > 0 ? line : 0;
    ps->err_col = col > 0 ? col : 0;
    return APR_EINVAL;
}

const char *ingest_parser_error(const ingest_parser_t *ps, int *line, int *column)
{
    if (line) {
        *line = ps && ps->error ? (int)(ps->err_line > INT_MAX ? INT_MAX : ps->err_line) : 0;
    }
    if (column) {
        *column = ps && ps->error ? (int)(ps->err_col > INT_MAX ? INT_MAX : ps->err_col) : 0;
    }
    return ps ? ps->error : NULL;
}

/* ----------------------------------------------------------- position */

/* A UTF-8 continuation byte: not the start of a character, so not a column. */
#define IS_CONT(c) (((unsigned char)(c)&0xC0) == 0x80)

static apr_int64_t count_chars(const char *s, apr_size_t n)
{
    apr_int64_t chars = 0;
    apr_size_t i;
    for (i = 0; i < n; ++i) {
        chars += !IS_CONT(s[i]);
    }
    return chars;
}

void ingest_parse_locate(const ingest_parser_t *ps, const char *buf, apr_ssize_t k, apr_int64_t *line,
                         apr_int64_t *col)
{
    const char *p = buf, *end, *nl;
    apr_int64_t l = ps->nl + 1;

    if (k < 0) {
        /* nothing before: the start of the input */
        *line = ps->last_line ? ps->last_line : 1;
        *col = ps->last_line ? ps->last_col : 1;
        return;
    }
    end = buf + k;
    while (p < end && (nl = memchr(p, '\n', (apr_size_t)(end - p))) != NULL) {
        l++;
        p = nl + 1;
    }
    *line = l;
    /* on the line the running count ended on, its characters come first */
    *col = (p == buf ? ps->col : 0) + count_chars(p, (apr_size_t)(end - p)) + 1;
}

void ingest_parse_advance(ingest_parser_t *ps, const char *buf, apr_size_t len)
{
    const char *p = buf, *last = buf + len - 1, *nl;
    apr_int64_t n = 0, before;

    if (!len) {
        return;
    }
    /* the newlines before the last byte, then the characters after them */
    while (p < last && (nl = memchr(p, '\n', (apr_size_t)(last - p))) != NULL) {
        n++;
        p = nl + 1;
    }
    before = (n ? 0 : ps->col) + count_chars(p, (apr_size_t)(last - p));
    ps->last_line = ps->nl + n + 1;
    ps->last_col = before + 1;
    if (*last == '\n') {
        ps->nl += n + 1;
        ps->col = 0;
        ps->partial = 0;
    } else {
        ps->nl += n;
        ps->col = before + !IS_CONT(*last);
        ps->partial = 1;
    }
}

/* ------------------------------------------------------------ strings */

json_t *ingest_parse_string(const char *s, apr_size_t len, apr_size_t max)
{
    const unsigned char *u = (const unsigned char *)s;
    static const char replacement[] = "\xEF\xBF\xBD";
    apr_size_t i = 0, out = 0, cap, n;
    char *buf;
    json_t *j;

    /* most strings are short and valid: no copy */
    while (i < len && i < max && (n = ingest_utf8_char((const char *)u, i, len)) != 0 && i + n <= max) {
        i += n;
    }
    if (i == len) {
        return json_stringn_nocheck(s, len);
    }
    /* a replacement is three bytes for one */
    cap = len - i < (max - i) / 3 ? i + 3 * (len - i) : max;
    buf = malloc(cap + 1);
    if (!buf) {
        return NULL;
    }
    memcpy(buf, s, i);
    out = i;
    while (i < len) {
        n = ingest_utf8_char((const char *)u, i, len);
        if (n) {
            if (n > max - out) {
                break;
            }
            memcpy(buf + out, s + i, n);
            i += n;
        } else {
            if (3 > max - out) {
                break;
            }
            memcpy(buf + out, replacement, 3);
            i++;
        }
        out += n ? n : 3;
    }
    j = json_stringn_nocheck(buf, out);
    free(buf);
    return j;
}

json_t *ingest_parse_cell(const char *s, apr_size_t len)
{
    return ingest_parse_string(s, len, INGEST_PARSE_PREVIEW_CELL);
}

int ingest_parse_set(json_t *obj, const char *key, apr_size_t len, json_t *v)
{
    json_t *k = ingest_parse_string(key, len, INGEST_PARSE_UNCUT);
    int rc;

    if (!k) {
        json_decref(v);
        return -1;
    }
    rc = json_object_setn_new_nocheck(obj, json_string_value(k), json_string_length(k), v);
    json_decref(k);
    return rc;
}

json_t *ingest_parse_preview_copy(json_t *v)
{
    json_t *c, *item;
    const char *key;
    apr_size_t key_len, i;

    switch (json_typeof(v)) {
    case JSON_STRING: return ingest_parse_cell(json_string_value(v), json_string_length(v));
    case JSON_OBJECT:
        c = json_object();
        json_object_keylen_foreach(v, key, key_len, item)
        {
            if (!c || ingest_parse_set(c, key, key_len, ingest_parse_preview_copy(item))) {
                json_decref(c);
                return NULL;
            }
        }
        return c;
    case JSON_ARRAY:
        c = json_array();
        json_array_foreach(v, i, item)
        {
            if (!c || json_array_append_new(c, ingest_parse_preview_copy(item))) {
                json_decref(c);
                return NULL;
            }
        }
        return c;
    default: return json_copy(v);
    }
}

apr_status_t ingest_parse_add_key(ingest_parser_t *ps, const char *key, apr_size_t len)
{
    char *copy;

    if (apr_hash_get(ps->names_seen, key, (apr_ssize_t)len)) {
        return APR_SUCCESS;
    }
    copy = apr_pmemdup(ps->pool, key, len);
    apr_hash_set(ps->names_seen, copy, (apr_ssize_t)len, copy);
    if (json_array_append_new(ps->names, ingest_parse_string(key, len, INGEST_PARSE_UNCUT))) {
        return ingest_parse_fail(ps, 0, 0, "out of memory");
    }
    return APR_SUCCESS;
}

/* ------------------------------------------------------------ driving */

apr_status_t ingest_parser_feed(ingest_parser_t *ps, const char *buf, apr_size_t len)
{
    apr_status_t rv = APR_SUCCESS;

    if (ps->error) {
        return APR_EINVAL;
    }
    if (ps->released) {
        return ingest_parse_fail(ps, 0, 0, "the parser was destroyed");
    }
    if (ps->at_end) {
        return ingest_parse_fail(ps, 0, 0, "input after the end");
    }
    if (!len || ps->kind == INGEST_PARSE_BINARY) {
        return APR_SUCCESS;
    }
    switch (ps->kind) {
    case INGEST_PARSE_CSV: rv = ingest_parse_csv_feed(ps, buf, len); break;
    case INGEST_PARSE_JSON: rv = ingest_parse_json_feed(ps, buf, len); break;
    case INGEST_PARSE_NDJSON: rv = ingest_parse_ndjson_feed(ps, buf, len); break;
    case INGEST_PARSE_TEXT: rv = ingest_parse_text_feed(ps, buf, len); break;
    default: break;
    }
    /* the parsers locate their errors from the position before the chunk */
    if (rv == APR_SUCCESS) {
        ingest_parse_advance(ps, buf, len);
    }
    return rv;
}

apr_status_t ingest_parser_finish(ingest_parser_t *ps)
{
    apr_status_t rv = APR_SUCCESS;

    if (ps->error) {
        return APR_EINVAL;
    }
    if (ps->released) {
        return ingest_parse_fail(ps, 0, 0, "the parser was destroyed");
    }
    if (ps->finished) {
        return APR_SUCCESS;
    }
    ps->at_end = 1;
    switch (ps->kind) {
    case INGEST_PARSE_CSV: rv = ingest_parse_csv_finish(ps); break;
    case INGEST_PARSE_JSON: rv = ingest_parse_json_finish(ps); break;
    case INGEST_PARSE_NDJSON: rv = ingest_parse_ndjson_finish(ps); break;
    case INGEST_PARSE_TEXT: rv = ingest_parse_text_finish(ps); break;
    default: break;
    }
    if (rv == APR_SUCCESS) {
        ps->finished = 1;
    }
    return rv;
}

apr_int64_t ingest_parser_lines(const ingest_parser_t *ps)
{
    return ps->nl + (ps->at_end && ps->partial);
}

apr_int64_t ingest_parser_records(const ingest_parser_t *ps)
{
    switch (ps->kind) {
    case INGEST_PARSE_TEXT: return ingest_parser_lines(ps);
    case INGEST_PARSE_BINARY: return 0;
    default: return ps->records;
    }
}

json_t *ingest_parser_summary(const ingest_parser_t *ps)
{
    static const char *const formats[] = {"csv", "json", "ndjson", "text", "binary"};
    json_t *s;
    int bad = 0;

    if (!ps || !ps->finished || ps->error || ps->released) {
        return NULL;
    }
    s = json_object();
    if (!s) {
        return NULL;
    }
    bad |= json_object_set_new(s, "format", json_string(formats[ps->kind]));
    if (ps->kind != INGEST_PARSE_BINARY) {
        bad |= json_object_set_new(s, "records", json_integer(ingest_parser_records(ps)));
        bad |= json_object_set_new(s, "lines", json_integer(ingest_parser_lines(ps)));
    }
    if (ps->kind == INGEST_PARSE_CSV) {
        bad |= json_object_set_new(s, "columns", json_deep_copy(ps->names));
    } else if (ps->kind == INGEST_PARSE_JSON || ps->kind == INGEST_PARSE_NDJSON) {
        bad |= json_object_set_new(s, "keys", json_deep_copy(ps->names));
    }
    if (ps->kind != INGEST_PARSE_BINARY) {
        bad |= json_object_set_new(s, "preview", json_deep_copy(ps->preview));
    }
    if (bad) {
        json_decref(s);
        return NULL;
    }
    return s;
}
