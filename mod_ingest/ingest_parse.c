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

/* The limits with every member left 0 set to its default; 0 when they
 * cannot hold even an empty list. */
static int limits_of(const ingest_parse_limits_t *in, ingest_parse_limits_t *out)
{
    static const ingest_parse_limits_t none = {0, 0, 0, 0, 0};

    *out = in ? *in : none;
    out->record_bytes = out->record_bytes ? out->record_bytes : INGEST_PARSE_DEFAULT_RECORD;
    out->names = out->names ? out->names : INGEST_PARSE_DEFAULT_NAMES;
    out->names_json = out->names_json ? out->names_json : INGEST_PARSE_DEFAULT_NAMES_JSON;
    out->cell_bytes = out->cell_bytes ? out->cell_bytes : INGEST_PARSE_DEFAULT_CELL;
    out->preview_json = out->preview_json ? out->preview_json : INGEST_PARSE_DEFAULT_PREVIEW_JSON;
    /* "[]" */
    return out->names_json >= 2 && out->preview_json >= 2;
}

apr_status_t ingest_parser_create(apr_pool_t *p, ingest_parse_kind_e kind,
                                  const ingest_parse_limits_t *limits, ingest_parser_t **out)
{
    ingest_parse_limits_t lim;
    ingest_parser_t *ps;
    apr_status_t rv = APR_SUCCESS;

    *out = NULL;
    if (kind < INGEST_PARSE_CSV || kind > INGEST_PARSE_BINARY || !limits_of(limits, &lim)) {
        return APR_EINVAL;
    }
    ps = apr_pcalloc(p, sizeof(*ps));
    ps->pool = p;
    ps->kind = kind;
    ps->lim = lim;
    ps->preview = json_array();
    ps->preview_len = 2;
    ps->names = json_array();
    ps->names_len = 2;
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
    } else if (kind == INGEST_PARSE_TEXT) {
        rv = ingest_parse_text_init(ps);
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

/* Messages quote the file (jansson's "near '...'" holds the bytes at the
 * fault, which may be part of a character): the job's error is text the
 * database and the API must take, so a byte that does not begin a valid
 * UTF-8 character becomes '?'. */
static void scrub_utf8(char *e)
{
    apr_size_t i = 0, n = strlen(e), k;
    while (i < n) {
        if ((k = ingest_utf8_char(e, i, n)) == 0) {
            e[i] = '?';
            k = 1;
        }
        i += k;
    }
}

apr_status_t ingest_parse_fail(ingest_parser_t *ps, apr_int64_t line, apr_int64_t col, const char *fmt, ...)
{
    va_list ap;

    if (ps->error) {
        return APR_EINVAL;
    }
    va_start(ap, fmt);
    ps->error = apr_pvsprintf(ps->pool, fmt, ap);
    va_end(ap);
    scrub_utf8((char *)ps->error);
    ps->err_line = line > 0 ? line : 0;
    ps->err_col = col > 0 ? col : 0;
    return APR_EINVAL;
}

apr_status_t ingest_parse_too_long(ingest_parser_t *ps, apr_int64_t line, apr_int64_t col, const char *what)
{
    return ingest_parse_fail(ps, line, col, "%s exceeds IngestMaxRecordSize (%" APR_SIZE_T_FMT " bytes)",
                             what, ps->lim.record_bytes);
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

void ingest_parse_cursor_start(const ingest_parser_t *ps, ingest_parse_cursor_t *c)
{
    /* on the line the running count ended on, its characters come first */
    c->k = 0;
    c->line = ps->nl + 1;
    c->col = ps->col + 1;
}

void ingest_parse_cursor_move(ingest_parse_cursor_t *c, const char *buf, apr_size_t k)
{
    const char *p = buf + c->k, *end = buf + k, *nl;

    while (p < end && (nl = memchr(p, '\n', (apr_size_t)(end - p))) != NULL) {
        c->line++;
        c->col = 1;
        p = nl + 1;
    }
    c->col += count_chars(p, (apr_size_t)(end - p));
    c->k = k;
}

void ingest_parse_locate(const ingest_parser_t *ps, const char *buf, apr_ssize_t k, apr_int64_t *line,
                         apr_int64_t *col)
{
    ingest_parse_cursor_t c;

    if (k < 0) {
        /* nothing before: the start of the input */
        *line = ps->last_line ? ps->last_line : 1;
        *col = ps->last_line ? ps->last_col : 1;
        return;
    }
    ingest_parse_cursor_start(ps, &c);
    ingest_parse_cursor_move(&c, buf, (apr_size_t)k);
    *line = c.line;
    *col = c.col;
}

void ingest_parse_advance(ingest_parser_t *ps, const char *buf, apr_size_t len)
{
    const char *p = buf, *last = buf + len - 1, *nl;
    apr_int64_t n = 0, before;

    if (!len) {
        return;
    }
    ps->offset += (apr_int64_t)len;
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

json_t *ingest_parse_string(const char *s, apr_size_t len, apr_size_t max, int *cut)
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
    if (cut) {
        *cut = 0;
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
    if (cut) {
        *cut = i < len;
    }
    j = json_stringn_nocheck(buf, out);
    free(buf);
    return j;
}

json_t *ingest_parse_cell(ingest_parser_t *ps, const char *s, apr_size_t len)
{
    int cut = 0;
    json_t *j = ingest_parse_string(s, len, ps->lim.cell_bytes, &cut);

    ps->truncated |= cut;
    return j;
}

/* ------------------------------------------------- names and preview */

/* The length of a scalar's JSON text, as the summary is written; an empty
 * container's is its brackets. */
static apr_size_t text_len(const json_t *v)
{
    if (json_is_object(v) || json_is_array(v)) {
        return 2;
    }
    return json_dumpb(v, NULL, 0, JSON_ENCODE_ANY | JSON_COMPACT);
}

static apr_size_t members(const json_t *c)
{
    return json_is_object(c) ? json_object_size(c) : json_array_size(c);
}

int ingest_parse_preview_put(ingest_parser_t *ps, json_t *c, const char *key, apr_size_t key_len, json_t *v)
{
    json_t *k = NULL;
    apr_size_t need;
    int rc;

    if (!v) {
        return -1;
    }
    if (ps->preview_full) {
        json_decref(v);
        return 0;
    }
    /* a comma before it, its key and a colon, itself */
    need = members(c) ? 1 : 0;
    if (json_is_object(c)) {
        if (!(k = ingest_parse_cell(ps, key, key_len))) {
            json_decref(v);
            return -1;
        }
        need += text_len(k) + 1;
    }
    need += text_len(v);
    if (need > ps->lim.preview_json - ps->preview_len) {
        ps->preview_full = ps->truncated = 1;
        json_decref(k);
        json_decref(v);
        return 0;
    }
    ps->preview_len += need;
    rc = k ? json_object_setn_new_nocheck(c, json_string_value(k), json_string_length(k), v)
           : json_array_append_new(c, v);
    json_decref(k);
    return rc ? -1 : 1;
}

int ingest_parse_preview_copy(ingest_parser_t *ps, json_t *c, const char *key, apr_size_t key_len, json_t *v)
{
    json_t *copy, *item;
    const char *k;
    apr_size_t k_len, i;
    int rc;

    switch (json_typeof(v)) {
    case JSON_STRING:
        return ingest_parse_preview_put(ps, c, key, key_len,
                                        ingest_parse_cell(ps, json_string_value(v), json_string_length(v)));
    case JSON_OBJECT:
        copy = json_object();
        if ((rc = ingest_parse_preview_put(ps, c, key, key_len, copy)) != 1) {
            return rc;
        }
        json_object_keylen_foreach(v, k, k_len, item)
        {
            if ((rc = ingest_parse_preview_copy(ps, copy, k, k_len, item)) != 1) {
                return rc;
            }
        }
        return 1;
    case JSON_ARRAY:
        copy = json_array();
        if ((rc = ingest_parse_preview_put(ps, c, key, key_len, copy)) != 1) {
            return rc;
        }
        json_array_foreach(v, i, item)
        {
            if ((rc = ingest_parse_preview_copy(ps, copy, NULL, 0, item)) != 1) {
                return rc;
            }
        }
        return 1;
    default: return ingest_parse_preview_put(ps, c, key, key_len, json_copy(v));
    }
}

apr_status_t ingest_parse_add_name(ingest_parser_t *ps, const char *name, apr_size_t len, int unique)
{
    json_t *s;
    const char *v;
    apr_size_t v_len, need;

    /* once one was left out, the others are too: the list is a prefix */
    if (ps->names_full) {
        return APR_SUCCESS;
    }
    if (!(s = ingest_parse_cell(ps, name, len))) {
        return ingest_parse_fail(ps, 0, 0, "out of memory");
    }
    v = json_string_value(s);
    v_len = json_string_length(s);
    if (unique && apr_hash_get(ps->names_seen, v, (apr_ssize_t)v_len)) {
        json_decref(s);
        return APR_SUCCESS;
    }
    need = (json_array_size(ps->names) ? 1 : 0) + text_len(s);
    if (json_array_size(ps->names) >= ps->lim.names || need > ps->lim.names_json - ps->names_len) {
        ps->names_full = ps->truncated = 1;
        json_decref(s);
        return APR_SUCCESS;
    }
    if (unique) {
        v = apr_pmemdup(ps->pool, v, v_len);
        apr_hash_set(ps->names_seen, v, (apr_ssize_t)v_len, v);
    }
    if (json_array_append_new(ps->names, s)) {
        return ingest_parse_fail(ps, 0, 0, "out of memory");
    }
    ps->names_len += need;
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
    if (ps->kind == INGEST_PARSE_BINARY) {
        return APR_SUCCESS;
    }
    while (len) {
        apr_size_t n = len < INGEST_PARSE_SLICE ? len : INGEST_PARSE_SLICE;
        if (ps->kind == INGEST_PARSE_JSON && n > ingest_parse_json_room(ps)) {
            n = ingest_parse_json_room(ps);
        }
        switch (ps->kind) {
        case INGEST_PARSE_CSV: rv = ingest_parse_csv_feed(ps, buf, n); break;
        case INGEST_PARSE_JSON: rv = ingest_parse_json_feed(ps, buf, n); break;
        case INGEST_PARSE_NDJSON: rv = ingest_parse_ndjson_feed(ps, buf, n); break;
        case INGEST_PARSE_TEXT: rv = ingest_parse_text_feed(ps, buf, n); break;
        default: break;
        }
        /* the parsers locate their errors from the position before the
         * slice */
        if (rv != APR_SUCCESS) {
            return rv;
        }
        ingest_parse_advance(ps, buf, n);
        buf += n;
        len -= n;
    }
    return APR_SUCCESS;
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
    if (ps->truncated) {
        bad |= json_object_set_new(s, "truncated", json_true());
    }
    if (bad) {
        json_decref(s);
        return NULL;
    }
    return s;
}
