#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <yajl/yajl_parse.h>

#include "ingest_parse_internal.h"
#include "ingest_records.h"

/* yajl's events drive a small state machine: depth 0 is outside the
 * top-level value, 1 inside the top-level array, 2 inside an element.
 * Each element a sink wants (ingest_parse_wanted: every one, when a sink
 * other than the summary is attached) is built whole as a jansson value
 * and handed over once it has ended; the others are counted. An element
 * is measured from its '{' as it is read, and yajl is fed a slice at a
 * time, so that neither an element nor a token of it (which yajl buffers
 * whole) grows past record_bytes and a slice; a value at the top that is
 * not an array, or an element that is not an object, fails as soon as
 * its first byte is seen. */

/* What the bytes after the last value at the top hold. */
typedef enum {
    EXPECT_NONE,    /* nothing looked for */
    EXPECT_ELEMENT, /* after '[' or ',': an element or ']' */
    EXPECT_COMMA,   /* after an element: ',' or ']' */
} expect_e;

typedef struct {
    yajl_handle h;
    int depth;              /* 1 inside the top-level array */
    int building;           /* the current element is built */
    apr_int64_t first_line; /* where the top-level value begins; 0 before */
    apr_int64_t first_col;
    char first_char;                 /* ... and its first byte */
    json_t *elem;                    /* the element built, owned */
    apr_array_header_t *stack;       /* json_t *: its open containers, itself first */
    json_t *key;                     /* the pending object key, owned */
    const char *cb_error;            /* set by a callback before it cancels */
    apr_int64_t cb_line, cb_col;     /* ... where, when the callback knows (0: where yajl stopped) */
    int cb_too_long;                 /* ... cb_error names an element too long */
    const char *chunk;               /* the chunk being fed */
    apr_int64_t elem_start;          /* offset of the open element's first byte */
    apr_int64_t elem_line, elem_col; /* ... and its position */
    expect_e expect;                 /* what the bytes from scan_k on hold */
    apr_size_t scan_k;               /* in the chunk being fed */
    ingest_parse_cursor_t cur;       /* a cursor that only moves forward in that chunk */
    /* Where the token after the last value begins (see next_token()):
     * the end of that value in the chunk being fed, whether it is in this
     * chunk, whether the token is still to be found, and where it was
     * found. */
    apr_size_t value_end;
    int value_end_here;
    int next_pending;
    apr_int64_t next_line, next_col;
} json_state_t;

static json_state_t *state(const ingest_parser_t *ps)
{
    return ps->state;
}

/* A callback's verdict: it cancels the parse, and the feed that called
 * yajl turns the message into an error at line:col, or (0) where yajl
 * stopped. */
static int cancel_at(ingest_parser_t *ps, apr_int64_t line, apr_int64_t col, const char *msg)
{
    state(ps)->cb_error = msg;
    state(ps)->cb_line = line;
    state(ps)->cb_col = col;
    return 0;
}

static int cancel(ingest_parser_t *ps, const char *msg)
{
    return cancel_at(ps, 0, 0, msg);
}

static int not_array(ingest_parser_t *ps)
{
    return cancel_at(ps, state(ps)->first_line, state(ps)->first_col,
                     "a JSON file must be an array of objects");
}

static const char *not_object(ingest_parser_t *ps)
{
    return apr_psprintf(ps->pool, "element %" APR_INT64_T_FMT " is not an object", ps->records + 1);
}

/* The open element is too long: said where it begins. */
static int too_long(ingest_parser_t *ps)
{
    state(ps)->cb_too_long = 1;
    return cancel_at(ps, state(ps)->elem_line, state(ps)->elem_col,
                     apr_psprintf(ps->pool, "element %" APR_INT64_T_FMT, ps->records + 1));
}

/* What begins a scalar: a string, a number, true, false, null. */
static int is_scalar_start(char c)
{
    return c == '"' || c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n';
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Reads the bytes [scan_k, k) of the chunk, after the last value at depth
 * 1: 1 when an element that is a scalar begins there (its position is
 * then elem_line:elem_col). Whatever else is there ('{', '[', ']', a stray
 * byte) yajl reports. */
static int scalar_begins(ingest_parser_t *ps, const char *buf, apr_size_t k)
{
    json_state_t *js = ps->state;
    apr_size_t i;
    char c;

    for (i = js->scan_k; i < k && js->expect != EXPECT_NONE; ++i) {
        c = buf[i];
        if (is_ws(c)) {
            continue;
        }
        if (js->expect == EXPECT_COMMA) {
            js->expect = c == ',' ? EXPECT_ELEMENT : EXPECT_NONE;
            continue;
        }
        js->expect = EXPECT_NONE;
        if (is_scalar_start(c)) {
            ingest_parse_cursor_move(&js->cur, buf, i);
            js->elem_line = js->cur.line;
            js->elem_col = js->cur.col;
            return 1;
        }
    }
    js->scan_k = i;
    return 0;
}

/* Whether the open element is longer than a record may be at offset end
 * (the bytes before it are the element's so far). */
static int over(const ingest_parser_t *ps, apr_int64_t end)
{
    return state(ps)->depth >= 2 && end - state(ps)->elem_start > (apr_int64_t)ps->lim.record_bytes;
}

/* How many bytes yajl may be given next: never past the byte that makes
 * the open element too long, so that whether an element is too long or
 * wrong does not depend on how the input is cut. */
static apr_size_t json_room(const ingest_parser_t *ps)
{
    const json_state_t *js = ps->state;
    apr_int64_t left;

    /* an element that opens in the slice gets at most the byte past its
     * limit in it; one that is open gets up to that byte. yajl reads a
     * token whole before it says what is wrong with it (a number ends
     * only at the byte after it): fed past that byte, it would report a
     * fault that, fed byte by byte, comes after the element was found too
     * long. */
    if (js->depth < 2) {
        return ps->lim.record_bytes + 1;
    }
    left = js->elem_start + (apr_int64_t)ps->lim.record_bytes + 1 - ps->offset;
    return left > 0 ? (apr_size_t)left : 1;
}

/* Where yajl stands in the chunk. */
static apr_size_t consumed(const ingest_parser_t *ps)
{
    return yajl_get_bytes_consumed(state(ps)->h);
}

/* Whether a value may begin here: not at the top (the file must be an
 * array) and not as an element (elements must be objects). */
static int value_allowed(ingest_parser_t *ps)
{
    json_state_t *js = ps->state;

    if (js->depth == 0) {
        return not_array(ps);
    }
    if (js->depth == 1) {
        /* a scalar: where it began, found by scanning (a scalar element
         * is found by the feed before it can end at finish); an array:
         * here */
        if (js->chunk && scalar_begins(ps, js->chunk, consumed(ps))) {
            return cancel_at(ps, js->elem_line, js->elem_col, not_object(ps));
        }
        return cancel(ps, not_object(ps));
    }
    return 1;
}

/* Puts v (a new reference, consumed) into the container being built,
 * under the pending key when it is an object. */
static int attach(ingest_parser_t *ps, json_t *v)
{
    json_state_t *js = ps->state;
    json_t *top = APR_ARRAY_IDX(js->stack, js->stack->nelts - 1, json_t *);
    int rc;

    if (!v) {
        return cancel(ps, "out of memory");
    }
    /* the key came just before: values follow their keys at once; a key
     * said twice keeps its place and its last value, as jansson does */
    rc = json_is_object(top)
             ? json_object_setn_new_nocheck(top, json_string_value(js->key), json_string_length(js->key), v)
             : json_array_append_new(top, v);
    return rc ? cancel(ps, "out of memory") : 1;
}

/* A value has ended here (the token after it is looked for later). */
static void value_ended(ingest_parser_t *ps)
{
    state(ps)->value_end = consumed(ps);
    state(ps)->value_end_here = 1;
}

/* A scalar: v is NULL when the element is not built (or out of memory). */
static int scalar(ingest_parser_t *ps, json_t *v)
{
    value_ended(ps);
    if (!value_allowed(ps)) {
        json_decref(v);
        return 0;
    }
    if (!state(ps)->building) {
        json_decref(v);
        return 1;
    }
    return attach(ps, v);
}

static int on_null(void *ctx)
{
    ingest_parser_t *ps = ctx;
    return scalar(ps, state(ps)->building ? json_null() : NULL);
}

static int on_boolean(void *ctx, int b)
{
    ingest_parser_t *ps = ctx;
    return scalar(ps, state(ps)->building ? json_boolean(b) : NULL);
}

/* yajl's own integer callback fails on what does not fit a long long: the
 * raw number is converted here instead; one beyond a double stays text. */
static json_t *number(const char *s, size_t len)
{
    json_t *v = ingest_json_number(s, len);
    return v ? v : json_stringn_nocheck(s, len);
}

static int on_number(void *ctx, const char *s, size_t len)
{
    ingest_parser_t *ps = ctx;
    return scalar(ps, state(ps)->building ? number(s, len) : NULL);
}

/* A string or key as yajl hands it over. yajl lets overlong forms,
 * surrogates ("\udc00" alone) and code points past U+10FFFF through, which
 * jansson would not dump (nor PostgreSQL take): each of their bytes
 * becomes U+FFFD, as in the summary, which then cuts the string the same.
 * A NUL ("\u0000") stays. */
static json_t *string_of(const char *s, apr_size_t len)
{
    return ingest_parse_string(s, len, (apr_size_t)-1, 1, NULL);
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    ingest_parser_t *ps = ctx;
    return scalar(ps, state(ps)->building ? string_of((const char *)s, len) : NULL);
}

static int open_container(ingest_parser_t *ps, int is_map)
{
    json_state_t *js = ps->state;
    json_t *c;

    if (js->depth == 0) {
        if (is_map) {
            return not_array(ps);
        }
        js->depth = 1;
        js->expect = EXPECT_ELEMENT;
        js->scan_k = consumed(ps);
        return 1;
    }
    if (js->depth == 1) {
        if (!is_map) {
            return value_allowed(ps);
        }
        /* a new element, from its '{' */
        js->expect = EXPECT_NONE;
        js->elem_start = ps->offset + (apr_int64_t)consumed(ps) - 1;
        ingest_parse_cursor_move(&js->cur, js->chunk, consumed(ps) - 1);
        js->elem_line = js->cur.line;
        js->elem_col = js->cur.col;
        js->building = ingest_parse_wanted(ps);
        js->depth = 2;
        if (js->building) {
            if (!(js->elem = json_object())) {
                return cancel(ps, "out of memory");
            }
            APR_ARRAY_PUSH(js->stack, json_t *) = js->elem;
        }
        return 1;
    }
    if (js->depth - 1 >= INGEST_PARSE_MAX_DEPTH) {
        return cancel(ps,
                      apr_psprintf(ps->pool, "element %" APR_INT64_T_FMT " is nested deeper than %d levels",
                                   ps->records + 1, INGEST_PARSE_MAX_DEPTH));
    }
    js->depth++;
    if (js->building) {
        c = is_map ? json_object() : json_array();
        /* attached at once, so that the element owns it whatever happens */
        if (!attach(ps, c)) {
            return 0;
        }
        APR_ARRAY_PUSH(js->stack, json_t *) = c;
    }
    return 1;
}

/* The element has ended: handed over (when built), and counted. */
static int element_ended(ingest_parser_t *ps)
{
    json_state_t *js = ps->state;
    ingest_record_t rec = {0};
    apr_status_t rv;

    rec.line = js->elem_line;
    rec.value = js->elem;
    rv = ingest_parse_record(ps, &rec);
    json_decref(js->elem);
    js->elem = NULL;
    js->building = 0;
    /* the error is set: the message is not used */
    return rv == APR_SUCCESS ? 1 : cancel(ps, "a record sink failed");
}

static int close_container(ingest_parser_t *ps)
{
    json_state_t *js = ps->state;

    value_ended(ps);
    if (js->depth == 2 && over(ps, ps->offset + (apr_int64_t)consumed(ps))) {
        return too_long(ps);
    }
    js->depth--;
    if (js->depth == 0) {
        /* the top-level array: yajl refuses anything after it */
        js->expect = EXPECT_NONE;
        return 1;
    }
    if (js->building) {
        apr_array_pop(js->stack);
    }
    if (js->depth == 1) {
        js->expect = EXPECT_COMMA;
        js->scan_k = consumed(ps);
        return element_ended(ps);
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
    json_state_t *js = ps->state;

    if (js->building) {
        json_decref(js->key);
        if (!(js->key = string_of((const char *)key, len))) {
            return cancel(ps, "out of memory");
        }
    }
    return 1;
}

static const yajl_callbacks callbacks = {
    on_null,      on_boolean, NULL,   NULL,           on_number, on_string,
    on_start_map, on_map_key, on_end, on_start_array, on_end,
};

static apr_status_t json_init(ingest_parser_t *ps)
{
    json_state_t *js = ps->state;

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

static void json_release(ingest_parser_t *ps)
{
    json_state_t *js = ps->state;

    if (js->h) {
        yajl_free(js->h);
        js->h = NULL;
    }
    json_decref(js->elem);
    js->elem = NULL;
    json_decref(js->key);
    js->key = NULL;
}

/* Looks for the first token after the last value, once yajl is through
 * with a chunk. yajl reports most errors after the offending token, but
 * "after key and value, inside map, I expect ',' or '}'" at its start,
 * and at 0 when the token began in a chunk before: this finds that start
 * whatever the chunks. One scan (and one locate) per chunk at most. */
static void next_token(ingest_parser_t *ps, const char *buf, apr_size_t len)
{
    json_state_t *js = ps->state;
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
    json_state_t *js = ps->state;
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

/* A callback cancelled the parse, at k in the chunk. */
static apr_status_t cancelled(ingest_parser_t *ps, const char *buf, apr_size_t k)
{
    json_state_t *js = ps->state;
    apr_int64_t line = js->cb_line, col = js->cb_col;

    if (!js->cb_too_long && over(ps, ps->offset + (apr_int64_t)k)) {
        /* past the limit, the element was too long before it was wrong */
        too_long(ps);
        line = js->cb_line;
        col = js->cb_col;
    }
    if (!line) {
        ingest_parse_locate(ps, buf, (apr_ssize_t)k - 1, &line, &col);
    }
    if (js->cb_too_long) {
        return ingest_parse_too_long(ps, line, col, js->cb_error);
    }
    return ingest_parse_fail(ps, line, col, "%s", js->cb_error);
}

static apr_status_t json_feed(ingest_parser_t *ps, const char *buf, apr_size_t len)
{
    json_state_t *js = ps->state;
    apr_int64_t line, col;
    apr_size_t i, k;
    yajl_status st;

    /* where the top-level value begins, for the error when it is not an
     * array: the callback that finds out may come much later (a number
     * ends only where the next token begins) */
    for (i = 0; !js->first_line && i < len; ++i) {
        if (!is_ws(buf[i])) {
            ingest_parse_locate(ps, buf, (apr_ssize_t)i, &js->first_line, &js->first_col);
            js->first_char = buf[i];
        }
    }
    js->chunk = buf;
    js->scan_k = 0;
    ingest_parse_cursor_start(ps, &js->cur);
    st = yajl_parse(js->h, (const unsigned char *)buf, len);
    js->chunk = NULL;
    k = consumed(ps);
    if (st == yajl_status_client_canceled) {
        return cancelled(ps, buf, k);
    }
    /* a scalar where a value must be an array or an object is wrong from
     * its first byte: said so there, before yajl has read (and buffered)
     * it whole, or reported something about it */
    if (js->depth == 0 && js->first_line && is_scalar_start(js->first_char)) {
        return ingest_parse_fail(ps, js->first_line, js->first_col,
                                 "a JSON file must be an array of objects");
    }
    if (js->depth == 1 && scalar_begins(ps, buf, st == yajl_status_ok ? len : k)) {
        return ingest_parse_fail(ps, js->elem_line, js->elem_col, "%s", not_object(ps));
    }
    if (over(ps, ps->offset + (apr_int64_t)(st == yajl_status_ok ? len : k))) {
        too_long(ps);
        return cancelled(ps, buf, k);
    }
    if (st == yajl_status_ok) {
        next_token(ps, buf, len);
        return APR_SUCCESS;
    }
    /* yajl has read up to the end of the offending token; when that is 0,
     * the token ended the chunk before (a number, known to end only when
     * the next byte came) */
    ingest_parse_locate(ps, buf, (apr_ssize_t)k - 1, &line, &col);
    return yajl_failure(ps, buf, len, line, col);
}

static apr_status_t json_finish(ingest_parser_t *ps)
{
    json_state_t *js = ps->state;
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
        return ingest_parse_fail(ps, js->cb_line ? js->cb_line : ps->last_line,
                                 js->cb_line ? js->cb_col : ps->last_col, "%s", js->cb_error);
    }
    /* more was expected: the error is where the input stopped */
    return yajl_failure(ps, NULL, 0, ps->nl + 1, ps->col + 1);
}

const ingest_parse_format_t ingest_parse_format_json = {
    .name = "json",
    .names_key = "keys",
    .state_size = sizeof(json_state_t),
    .init = json_init,
    .feed = json_feed,
    .finish = json_finish,
    .release = json_release,
    .room = json_room,
};
