#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "ingest_parse_internal.h"

/* yajl's events drive a small state machine: depth 0 is outside the
 * top-level value, 1 inside the top-level array, 2 inside an element.
 * Only the first INGEST_PARSE_PREVIEW elements are built (as jansson
 * values, for the preview) and only the keys of the first
 * INGEST_PARSE_KEYS_RECORDS are looked at; the others are counted, so the
 * memory does not grow with the file. */

/* A callback's verdict: it cancels the parse, and the feed that called
 * yajl turns the message into an error with a position. */
static int cancel(ingest_parser_t *ps, int at_first, const char *msg)
{
    ps->u.json.cb_error = msg;
    ps->u.json.cb_at_first = at_first;
    return 0;
}

/* Whether a value may begin here: not at the top (the file must be an
 * array) and not as an element (elements must be objects). */
static int value_allowed(ingest_parser_t *ps)
{
    ingest_json_state_t *js = &ps->u.json;

    if (js->depth == 0) {
        return cancel(ps, 1, "a JSON file must be an array of objects");
    }
    if (js->depth == 1) {
        return cancel(
            ps, 0, apr_psprintf(ps->pool, "element %" APR_INT64_T_FMT " is not an object", ps->records + 1));
    }
    return 1;
}

/* Puts v (a new reference) into the container being built. */
static int attach(ingest_parser_t *ps, json_t *v)
{
    ingest_json_state_t *js = &ps->u.json;
    json_t *top = APR_ARRAY_IDX(js->stack, js->stack->nelts - 1, json_t *);
    int rc;

    if (!v) {
        return cancel(ps, 0, "out of memory");
    }
    if (json_is_array(top)) {
        rc = json_array_append_new(top, v);
    } else {
        /* the key came just before: values follow their keys at once */
        rc = ingest_parse_set(top, js->key, js->key_len, v);
    }
    return rc ? cancel(ps, 0, "out of memory") : 1;
}

/* A value has ended here (the token after it is looked for later). */
static void value_ended(ingest_parser_t *ps)
{
    ps->u.json.value_end = yajl_get_bytes_consumed(ps->u.json.h);
    ps->u.json.value_end_here = 1;
}

static int scalar(ingest_parser_t *ps, json_t *v)
{
    value_ended(ps);
    if (!value_allowed(ps)) {
        json_decref(v);
        return 0;
    }
    if (!ps->u.json.building) {
        json_decref(v);
        return 1;
    }
    return attach(ps, v);
}

static int on_null(void *ctx)
{
    ingest_parser_t *ps = ctx;
    return scalar(ps, ps->u.json.building ? json_null() : NULL);
}

static int on_boolean(void *ctx, int b)
{
    ingest_parser_t *ps = ctx;
    return scalar(ps, ps->u.json.building ? json_boolean(b) : NULL);
}

/* yajl's own integer callback fails on what does not fit a long long: the
 * raw number is converted here instead, to an integer when it is one that
 * fits, else to a real. */
static json_t *number(const char *s, size_t len)
{
    char small[64], *text = small, *end;
    json_t *v = NULL;
    long long ll;
    double d;

    if (len >= sizeof(small)) {
        text = malloc(len + 1);
        if (!text) {
            return NULL;
        }
    }
    memcpy(text, s, len);
    text[len] = '\0';
    if (!strpbrk(text, ".eE")) {
        errno = 0;
        ll = strtoll(text, &end, 10);
        if (!errno && !*end) {
            v = json_integer((json_int_t)ll);
        }
    }
    if (!v) {
        /* httpd runs in the C locale: '.' is the decimal point */
        d = strtod(text, &end);
        /* jansson has no infinity: a number beyond a double stays text */
        v = isfinite(d) ? json_real(d) : ingest_parse_cell(s, len);
    }
    if (text != small) {
        free(text);
    }
    return v;
}

static int on_number(void *ctx, const char *s, size_t len)
{
    ingest_parser_t *ps = ctx;
    return scalar(ps, ps->u.json.building ? number(s, len) : NULL);
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    ingest_parser_t *ps = ctx;
    return scalar(ps, ps->u.json.building ? ingest_parse_cell((const char *)s, len) : NULL);
}

static int open_container(ingest_parser_t *ps, int is_map)
{
    ingest_json_state_t *js = &ps->u.json;
    json_t *c;

    if (js->depth == 0) {
        if (is_map) {
            return cancel(ps, 1, "a JSON file must be an array of objects");
        }
        js->depth = 1;
        return 1;
    }
    if (js->depth == 1) {
        if (!is_map) {
            return value_allowed(ps);
        }
        /* a new element */
        js->building = ps->records < INGEST_PARSE_PREVIEW;
        js->collecting = ps->records < INGEST_PARSE_KEYS_RECORDS;
        js->depth = 2;
        if (js->building) {
            c = json_object();
            if (!c || json_array_append_new(ps->preview, c)) {
                return cancel(ps, 0, "out of memory");
            }
            APR_ARRAY_PUSH(js->stack, json_t *) = c;
        }
        return 1;
    }
    if (js->depth - 1 >= INGEST_PARSE_MAX_DEPTH) {
        return cancel(ps, 0,
                      apr_psprintf(ps->pool, "element %" APR_INT64_T_FMT " is nested deeper than %d levels",
                                   ps->records + 1, INGEST_PARSE_MAX_DEPTH));
    }
    js->depth++;
    if (js->building) {
        c = is_map ? json_object() : json_array();
        /* attached at once, so that the preview owns it whatever happens */
        if (!attach(ps, c)) {
            return 0;
        }
        APR_ARRAY_PUSH(js->stack, json_t *) = c;
    }
    return 1;
}

static int close_container(ingest_parser_t *ps)
{
    ingest_json_state_t *js = &ps->u.json;

    value_ended(ps);
    js->depth--;
    if (js->depth == 0) {
        /* the top-level array: yajl refuses anything after it */
        return 1;
    }
    if (js->building) {
        apr_array_pop(js->stack);
    }
    if (js->depth == 1) {
        ps->records++;
        js->building = js->collecting = 0;
    }
    return 1;
}

static int on_start_map(void *ctx)
{
    return open_container(ctx, 1);
}

static int on_start_array(void *ctx)
{
    return open_container(ctx, 0);
}

static int on_end(void *ctx)
{
    return close_container(ctx);
}

static int on_map_key(void *ctx, const unsigned char *key, size_t len)
{
    ingest_parser_t *ps = ctx;
    ingest_json_state_t *js = &ps->u.json;
    char *grown;

    if (js->depth == 2 && js->collecting && ingest_parse_add_key(ps, (const char *)key, len) != APR_SUCCESS) {
        return cancel(ps, 0, "out of memory");
    }
    if (js->building) {
        /* never NULL, also for the key "": jansson refuses a NULL key */
        if (!js->key || len > js->key_cap) {
            grown = realloc(js->key, len ? len : 1);
            if (!grown) {
                return cancel(ps, 0, "out of memory");
            }
            js->key = grown;
            js->key_cap = len ? len : 1;
        }
        if (len) {
            memcpy(js->key, key, len);
        }
        js->key_len = len;
    }
    return 1;
}

static const yajl_callbacks callbacks = {
    on_null,      on_boolean, NULL,   NULL,           on_number, on_string,
    on_start_map, on_map_key, on_end, on_start_array, on_end,
};

apr_status_t ingest_parse_json_init(ingest_parser_t *ps)
{
    ingest_json_state_t *js = &ps->u.json;

    js->stack = apr_array_make(ps->pool, 16, sizeof(json_t *));
    js->h = yajl_alloc(&callbacks, NULL, ps);
    if (!js->h) {
        return APR_ENOMEM;
    }
    /* one value per file; comments and partial values stay refused, as
     * by default */
    yajl_config(js->h, yajl_allow_multiple_values, 0);
    return APR_SUCCESS;
}

void ingest_parse_json_release(ingest_parser_t *ps)
{
    ingest_json_state_t *js = &ps->u.json;

    if (js->h) {
        yajl_free(js->h);
        js->h = NULL;
    }
    free(js->key);
    js->key = NULL;
    js->key_cap = js->key_len = 0;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Looks for the first token after the last value, once yajl is through
 * with a chunk. yajl reports most errors after the offending token, but
 * "after key and value, inside map, I expect ',' or '}'" at its start,
 * and at 0 when the token began in a chunk before: this finds that start
 * whatever the chunks. One scan (and one locate) per chunk at most. */
static void next_token(ingest_parser_t *ps, const char *buf, apr_size_t len)
{
    ingest_json_state_t *js = &ps->u.json;
    apr_size_t i;

    if (js->value_end_here) {
        i = js->value_end;
        js->value_end_here = 0;
        js->next_pending = 1;
    } else if (js->next_pending) {
        i = 0;
    } else {
        return;
    }
    for (; i < len; ++i) {
        if (!is_ws(buf[i])) {
            ingest_parse_locate(ps, buf, (apr_ssize_t)i, &js->next_line, &js->next_col);
            js->next_pending = 0;
            return;
        }
    }
}

/* yajl's message, without the line break it ends with. */
static apr_status_t yajl_failure(ingest_parser_t *ps, const char *buf, apr_size_t buf_len, apr_int64_t line,
                                 apr_int64_t col)
{
    ingest_json_state_t *js = &ps->u.json;
    unsigned char *msg = yajl_get_error(js->h, 0, NULL, 0);
    apr_size_t len = msg ? strlen((char *)msg) : 0;
    apr_status_t rv;

    if (buf && msg && strstr((char *)msg, "after key and value")) {
        next_token(ps, buf, buf_len);
        if (!js->next_pending) {
            line = js->next_line;
            col = js->next_col;
        }
    }

    while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' ')) {
        len--;
    }
    rv = ingest_parse_fail(ps, line, col, "malformed JSON: %.*s", (int)len, msg ? (char *)msg : "");
    if (msg) {
        yajl_free_error(js->h, msg);
    }
    return rv;
}

apr_status_t ingest_parse_json_feed(ingest_parser_t *ps, const char *buf, apr_size_t len)
{
    ingest_json_state_t *js = &ps->u.json;
    apr_int64_t line, col;
    apr_size_t i, consumed;
    yajl_status st;

    /* where the top-level value begins, for the error when it is not an
     * array: the callback that finds out may come much later (a number
     * ends only where the next token begins) */
    for (i = 0; !js->first_line && i < len; ++i) {
        if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\r') {
            ingest_parse_locate(ps, buf, (apr_ssize_t)i, &js->first_line, &js->first_col);
        }
    }
    st = yajl_parse(js->h, (const unsigned char *)buf, len);
    if (st == yajl_status_ok) {
        next_token(ps, buf, len);
        return APR_SUCCESS;
    }
    if (st == yajl_status_client_canceled && js->cb_at_first) {
        return ingest_parse_fail(ps, js->first_line, js->first_col, "%s", js->cb_error);
    }
    /* yajl has read up to the end of the offending token; when that is 0,
     * the token ended the chunk before (a number, known to end only when
     * the next byte came) */
    consumed = yajl_get_bytes_consumed(js->h);
    ingest_parse_locate(ps, buf, (apr_ssize_t)consumed - 1, &line, &col);
    if (st == yajl_status_client_canceled) {
        return ingest_parse_fail(ps, line, col, "%s", js->cb_error);
    }
    return yajl_failure(ps, buf, len, line, col);
}

apr_status_t ingest_parse_json_finish(ingest_parser_t *ps)
{
    ingest_json_state_t *js = &ps->u.json;
    yajl_status st;

    if (!js->first_line) {
        return ingest_parse_fail(ps, 0, 0, "empty JSON: no array of objects");
    }
    st = yajl_complete_parse(js->h);
    if (st == yajl_status_ok) {
        return APR_SUCCESS;
    }
    if (st == yajl_status_client_canceled) {
        /* a number that ended with the input: the last byte is its end */
        return ingest_parse_fail(ps, js->cb_at_first ? js->first_line : ps->last_line,
                                 js->cb_at_first ? js->first_col : ps->last_col, "%s", js->cb_error);
    }
    /* more was expected: the error is where the input stopped */
    return yajl_failure(ps, NULL, 0, ps->nl + 1, ps->col + 1);
}
