#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <yajl/yajl_parse.h>

#include "ingest_records.h"
#include "ingest_validate.h"

/* Nesting inside a record past this is refused (a record is a flat object;
 * this only bounds the builder's stack). */
#define MAX_DEPTH 64

struct ingest_records {
    apr_pool_t *pool;
    int ndjson, build;
    const char *member;
    apr_size_t record_bytes;
    ingest_records_fn *fn;
    void *ctx;
    apr_int64_t count;
    const char *error;
    apr_status_t cb_rv; /* the callback's own failure */
    int failed;

    /* where the slice being read begins */
    apr_int64_t offset, line, col;

    /* JSON */
    yajl_handle h;
    const char *slice;
    int depth;       /* open containers */
    int arr_depth;   /* depth inside the records' array; 0 until it opens */
    int wrapped;     /* the top level is an object */
    int member_next; /* the member's key was read: its value comes */
    int member_seen; /* the member's array was read */
    int in_rec;      /* a record (a container) is open */
    apr_int64_t rec_start, rec_line, rec_col, last_event;
    /* Where errors are put, whatever the slices: the first byte that is not
     * whitespace after the last event (tok_seen once it is found), and the
     * start of the token the running callback is about (cb_line:cb_col) */
    apr_int64_t tok_line, tok_col, cb_line, cb_col;
    int tok_seen;
    json_t *stack[MAX_DEPTH + 1];
    int sp;
    char *key;
    apr_size_t key_len, key_cap;

    /* NDJSON: the line not yet ended */
    char *buf;
    apr_size_t len, cap;
};

/* ------------------------------------------------------------ positions */

/* The line and column of byte k of the slice. */
static void locate(const ingest_records_t *rr, const char *buf, apr_size_t k, apr_int64_t *line,
                   apr_int64_t *col)
{
    apr_size_t i;
    *line = rr->line;
    *col = rr->col;
    for (i = 0; i < k; ++i) {
        if (buf[i] == '\n') {
            ++*line;
            *col = 1;
        } else if (((unsigned char)buf[i] & 0xC0) != 0x80) {
            ++*col; /* a column is a character */
        }
    }
}

static void advance(ingest_records_t *rr, const char *buf, apr_size_t n)
{
    locate(rr, buf, n, &rr->line, &rr->col);
    rr->offset += (apr_int64_t)n;
}

static apr_status_t fail_at(ingest_records_t *rr, apr_int64_t line, apr_int64_t col, const char *msg)
{
    rr->failed = 1;
    rr->error = line > 0 ? apr_psprintf(
                    rr->pool, "line %" APR_INT64_T_FMT ", column %" APR_INT64_T_FMT ": %s", line, col, msg)
                         : msg;
    return APR_EINVAL;
}

/* Text quoted from the input (a library's message) as ASCII. */
static const char *ascii(apr_pool_t *p, const char *s, apr_size_t len)
{
    char *o = apr_pstrmemdup(p, s, len);
    apr_size_t i;
    for (i = 0; i < len; ++i) {
        if ((unsigned char)o[i] < 0x20 || (unsigned char)o[i] > 0x7E) {
            o[i] = '?';
        }
    }
    return o;
}

static const char *too_long(const ingest_records_t *rr, const char *what)
{
    return apr_psprintf(rr->pool, "%s is longer than IngestMaxRecordSize (%" APR_SIZE_T_FMT " bytes)", what,
                        rr->record_bytes);
}

/* ------------------------------------------------------------ handing over */

static apr_status_t hand_over(ingest_records_t *rr, apr_int64_t line, json_t *rec, const char *bad)
{
    apr_status_t rv = rr->fn ? rr->fn(rr->ctx, rr->count, line, rec, bad) : APR_SUCCESS;
    rr->count++;
    if (rv != APR_SUCCESS) {
        rr->failed = 1;
        rr->cb_rv = rv;
    }
    return rv;
}

/* ------------------------------------------------------------ JSON */

/* A callback's verdict on the structure: the parse stops, and the feed
 * reports msg where yajl stands. */
static int refuse(ingest_records_t *rr, const char *msg)
{
    if (!rr->error) {
        rr->error = msg;
    }
    return 0;
}

static const char *shape(const ingest_records_t *rr)
{
    return apr_psprintf(rr->pool, "the file must be an array of records or an object {\"%s\": [...]}",
                        rr->member);
}

static apr_int64_t here(const ingest_records_t *rr)
{
    return rr->offset + (apr_int64_t)yajl_get_bytes_consumed(rr->h);
}

/* Looks for the first byte that is not whitespace after the last event, in
 * bytes [0, end) of the slice being read. */
static void find_token(ingest_records_t *rr, const char *buf, apr_size_t end)
{
    apr_int64_t from = rr->last_event - rr->offset;
    apr_size_t i;

    if (rr->tok_seen) {
        return;
    }
    for (i = from > 0 ? (apr_size_t)from : 0; i < end; ++i) {
        if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\r') {
            locate(rr, buf, i, &rr->tok_line, &rr->tok_col);
            rr->tok_seen = 1;
            return;
        }
    }
}

/* A callback has come: the token it is about began at the first byte after
 * the previous event; the next token is looked for from here. */
static void event(ingest_records_t *rr)
{
    find_token(rr, rr->slice, yajl_get_bytes_consumed(rr->h));
    rr->cb_line = rr->tok_seen ? rr->tok_line : rr->line;
    rr->cb_col = rr->tok_seen ? rr->tok_col : rr->col;
    rr->last_event = here(rr);
    rr->tok_seen = 0;
}

/* A record that is a scalar, or a container that just closed back to the
 * records' array: handed over. */
static int record_ended(ingest_records_t *rr, json_t *v)
{
    apr_int64_t line = rr->in_rec ? rr->rec_line : 0, col;
    apr_status_t rv;

    if (!line) {
        locate(rr, rr->slice, yajl_get_bytes_consumed(rr->h), &line, &col);
    }
    rr->in_rec = 0;
    rv = hand_over(rr, line, v, NULL);
    json_decref(v);
    return rv == APR_SUCCESS;
}

/* A value (scalar or container) begins or is a whole scalar: where does it
 * go? 1: into a record, 2: it is a record, 0: refused. */
static int place(ingest_records_t *rr)
{
    event(rr);
    if (rr->arr_depth && rr->depth == rr->arr_depth) {
        return 2;
    }
    if (rr->arr_depth && rr->depth > rr->arr_depth) {
        return 1;
    }
    if (rr->depth == 1 && rr->wrapped && rr->member_next) {
        return refuse(rr, apr_psprintf(rr->pool, "\"%s\" must be an array", rr->member));
    }
    return refuse(rr, shape(rr));
}

/* Adds v (a new reference) to the container being built. */
static int attach(ingest_records_t *rr, json_t *v)
{
    json_t *top = rr->stack[rr->sp - 1];
    int bad;
    if (!v) {
        return refuse(rr, "out of memory");
    }
    bad = json_is_object(top) ? json_object_setn_new_nocheck(top, rr->key, rr->key_len, v)
                              : json_array_append_new(top, v);
    return bad ? refuse(rr, "out of memory") : 1;
}

static int scalar(ingest_records_t *rr, json_t *v)
{
    switch (place(rr)) {
    case 2: return record_ended(rr, v);
    case 1:
        if (rr->build) {
            return attach(rr, v);
        }
        json_decref(v);
        return 1;
    default: json_decref(v); return 0;
    }
}

static int on_null(void *ctx)
{
    ingest_records_t *rr = ctx;
    return scalar(rr, rr->build ? json_null() : NULL);
}

static int on_boolean(void *ctx, int b)
{
    ingest_records_t *rr = ctx;
    return scalar(rr, rr->build ? json_boolean(b) : NULL);
}

json_t *ingest_json_number(const char *s, size_t len)
{
    char small[64], *text = small, *end;
    json_t *v = NULL;
    long long ll;
    double d;

    if (len >= sizeof(small) && !(text = malloc(len + 1))) {
        return NULL;
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
        v = isfinite(d) ? json_real(d) : NULL;
    }
    if (text != small) {
        free(text);
    }
    return v;
}

/* A number beyond a double stays text (jansson has no infinity). */
static json_t *number(const char *s, size_t len)
{
    json_t *v = ingest_json_number(s, len);
    return v ? v : json_stringn(s, len);
}

static int on_number(void *ctx, const char *s, size_t len)
{
    ingest_records_t *rr = ctx;
    return scalar(rr, rr->build ? number(s, len) : NULL);
}

/* yajl lets overlong forms, surrogates and code points past U+10FFFF
 * through; jansson (and PostgreSQL) would not take them later. */
static int utf8_ok(ingest_records_t *rr, const unsigned char *s, size_t len)
{
    if (ingest_utf8_valid((const char *)s, len)) {
        return 1;
    }
    event(rr);
    return refuse(rr, "malformed JSON: a string is not valid UTF-8");
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    ingest_records_t *rr = ctx;
    if (!utf8_ok(rr, s, len)) {
        return 0;
    }
    return scalar(rr, rr->build ? json_stringn_nocheck((const char *)s, len) : NULL);
}

static int open_container(ingest_records_t *rr, int is_map)
{
    json_t *c = NULL;
    int where;

    if (rr->depth == 0) {
        /* the top: the records' array, or the object that wraps it */
        event(rr);
        rr->depth = 1;
        rr->wrapped = is_map;
        rr->arr_depth = is_map ? 0 : 1;
        return 1;
    }
    if (rr->depth == 1 && rr->wrapped && rr->member_next && !is_map) {
        event(rr);
        rr->member_next = 0;
        rr->depth = 2;
        rr->arr_depth = 2;
        return 1;
    }
    if (!(where = place(rr))) {
        return 0;
    }
    if (rr->depth - rr->arr_depth >= MAX_DEPTH) {
        return refuse(rr,
                      apr_psprintf(rr->pool, "record %" APR_INT64_T_FMT " is nested deeper than %d levels",
                                   rr->count + 1, MAX_DEPTH));
    }
    if (where == 2) {
        /* a record begins, at its '{' or '[' */
        rr->in_rec = 1;
        rr->rec_start = here(rr) - 1;
        locate(rr, rr->slice, yajl_get_bytes_consumed(rr->h) - 1, &rr->rec_line, &rr->rec_col);
        rr->sp = 0;
    }
    rr->depth++;
    if (rr->build) {
        c = is_map ? json_object() : json_array();
        if (!c) {
            return refuse(rr, "out of memory");
        }
        if (where == 1 && !attach(rr, json_incref(c))) {
            json_decref(c);
            return 0;
        }
        rr->stack[rr->sp++] = c;
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
    ingest_records_t *rr = ctx;
    json_t *c = NULL;

    event(rr);
    rr->depth--;
    if (rr->arr_depth && rr->depth >= rr->arr_depth) {
        if (rr->build) {
            c = rr->stack[--rr->sp];
        }
        if (rr->depth == rr->arr_depth) {
            if (here(rr) - rr->rec_start > (apr_int64_t)rr->record_bytes) {
                json_decref(c);
                return refuse(
                    rr, too_long(rr, apr_psprintf(rr->pool, "record %" APR_INT64_T_FMT, rr->count + 1)));
            }
            return record_ended(rr, c);
        }
        json_decref(c); /* the parent holds its own reference */
        return 1;
    }
    if (rr->arr_depth && rr->depth == rr->arr_depth - 1) {
        /* the records' array closed */
        rr->arr_depth = 0;
        rr->member_seen = 1;
    }
    return 1;
}

static int on_map_key(void *ctx, const unsigned char *key, size_t len)
{
    ingest_records_t *rr = ctx;

    if (!utf8_ok(rr, key, len)) {
        return 0;
    }
    event(rr);
    if (rr->depth == 1 && rr->wrapped) {
        if (rr->member_seen || strlen(rr->member) != len || memcmp(key, rr->member, len)) {
            return refuse(rr,
                          apr_psprintf(rr->pool, "unexpected member \"%s\": %s",
                                       ascii(rr->pool, (const char *)key, len > 64 ? 64 : len), shape(rr)));
        }
        rr->member_next = 1;
        return 1;
    }
    if (rr->build) {
        /* bounded by the record's size: the feed never gives yajl more */
        if (len + 1 > rr->key_cap) {
            rr->key_cap = len + 1 > 256 ? len + 1 : 256;
            rr->key = apr_palloc(rr->pool, rr->key_cap);
        }
        memcpy(rr->key, key, len);
        rr->key[len] = '\0';
        rr->key_len = len;
    }
    return 1;
}

static const yajl_callbacks callbacks = {
    on_null,      on_boolean, NULL,   NULL,           on_number, on_string,
    on_start_map, on_map_key, on_end, on_start_array, on_end,
};

static apr_status_t release(void *data)
{
    ingest_records_t *rr = data;
    int i;
    for (i = 0; i < rr->sp; ++i) {
        json_decref(rr->stack[i]);
    }
    rr->sp = 0;
    if (rr->h) {
        yajl_free(rr->h);
        rr->h = NULL;
    }
    free(rr->buf);
    rr->buf = NULL;
    return APR_SUCCESS;
}

/* yajl's own message, one line, ASCII. */
static const char *yajl_message(ingest_records_t *rr)
{
    unsigned char *msg = yajl_get_error(rr->h, 0, NULL, 0);
    apr_size_t len = msg ? strlen((char *)msg) : 0;
    const char *out;
    while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' ')) {
        len--;
    }
    out = apr_pstrcat(rr->pool, "malformed JSON: ", msg ? ascii(rr->pool, (char *)msg, len) : "", NULL);
    if (msg) {
        yajl_free_error(rr->h, msg);
    }
    return out;
}

/* How much yajl may be given next: never more than makes the open record,
 * or the bytes since the last event (a long key, a long scalar), longer
 * than a record may be, so that yajl never buffers more than that. */
static apr_size_t room(const ingest_records_t *rr)
{
    apr_int64_t from = rr->in_rec ? rr->rec_start : rr->last_event;
    apr_int64_t left = from + (apr_int64_t)rr->record_bytes + 1 - rr->offset;
    return left > 0 ? (apr_size_t)left : 1;
}

static apr_status_t json_feed(ingest_records_t *rr, const char *buf, apr_size_t len)
{
    yajl_status st;
    apr_size_t n;

    while (len) {
        n = len < room(rr) ? len : room(rr);
        rr->slice = buf;
        st = yajl_parse(rr->h, (const unsigned char *)buf, n);
        if (st != yajl_status_ok) {
            if (rr->cb_rv != APR_SUCCESS) {
                return rr->cb_rv;
            }
            if (st == yajl_status_client_canceled) {
                return fail_at(rr, rr->cb_line, rr->cb_col, rr->error);
            }
            /* yajl stops somewhere in or after the offending token, which
             * depends on the slices: the error is put where that token
             * begins, the first byte after the last event */
            find_token(rr, buf, n);
            return fail_at(rr, rr->tok_seen ? rr->tok_line : rr->line, rr->tok_seen ? rr->tok_col : rr->col,
                           yajl_message(rr));
        }
        find_token(rr, buf, n);
        advance(rr, buf, n);
        if (rr->in_rec ? rr->offset - rr->rec_start > (apr_int64_t)rr->record_bytes
                       : rr->offset - rr->last_event > (apr_int64_t)rr->record_bytes) {
            if (rr->in_rec) {
                return fail_at(
                    rr, rr->rec_line, rr->rec_col,
                    too_long(rr, apr_psprintf(rr->pool, "record %" APR_INT64_T_FMT, rr->count + 1)));
            }
            return fail_at(rr, rr->line, rr->col, too_long(rr, "a value outside the records"));
        }
        buf += n;
        len -= n;
    }
    return APR_SUCCESS;
}

static apr_status_t json_finish(ingest_records_t *rr)
{
    yajl_status st;

    /* yajl finishes on a buffer of its own */
    rr->slice = " ";
    st = yajl_complete_parse(rr->h);

    if (rr->cb_rv != APR_SUCCESS) {
        return rr->cb_rv;
    }
    if (st == yajl_status_client_canceled) {
        return fail_at(rr, rr->cb_line, rr->cb_col, rr->error);
    }
    if (st != yajl_status_ok) {
        return fail_at(rr, rr->tok_seen ? rr->tok_line : rr->line, rr->tok_seen ? rr->tok_col : rr->col,
                       yajl_message(rr));
    }
    if (rr->depth != 0) {
        return fail_at(rr, rr->line, rr->col, "the file ended inside its JSON value");
    }
    if (!rr->wrapped && !rr->member_seen) {
        return fail_at(rr, 0, 0, apr_pstrcat(rr->pool, "the file is empty: ", shape(rr), NULL));
    }
    if (rr->wrapped && !rr->member_seen) {
        return fail_at(rr, 0, 0,
                       apr_psprintf(rr->pool, "the object has no \"%s\" member: %s", rr->member, shape(rr)));
    }
    return APR_SUCCESS;
}

/* ------------------------------------------------------------ NDJSON */

static apr_status_t one_line(ingest_records_t *rr, const char *s, apr_size_t len, apr_int64_t lineno)
{
    json_error_t jerr;
    json_t *j;
    apr_size_t i;
    apr_status_t rv;

    if (len > rr->record_bytes) {
        return fail_at(rr, lineno, 1, too_long(rr, apr_psprintf(rr->pool, "line %" APR_INT64_T_FMT, lineno)));
    }
    for (i = 0; i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'); ++i) {
    }
    if (i == len) {
        return APR_SUCCESS;
    }
    if (!rr->build) {
        return hand_over(rr, lineno, NULL, NULL);
    }
    j = json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!j) {
        return hand_over(rr, lineno, NULL,
                         apr_psprintf(rr->pool, "line %" APR_INT64_T_FMT ", column %d: malformed JSON: %s",
                                      lineno, jerr.column, ascii(rr->pool, jerr.text, strlen(jerr.text))));
    }
    rv = hand_over(rr, lineno, j, NULL);
    json_decref(j);
    return rv;
}

static apr_status_t ndjson_feed(ingest_records_t *rr, const char *buf, apr_size_t len)
{
    const char *nl;
    apr_size_t n;
    apr_status_t rv;

    while (len) {
        nl = memchr(buf, '\n', len);
        n = nl ? (apr_size_t)(nl - buf) : len;
        if (rr->len + n > rr->record_bytes) {
            return fail_at(rr, rr->line, 1,
                           too_long(rr, apr_psprintf(rr->pool, "line %" APR_INT64_T_FMT, rr->line)));
        }
        if (!nl || rr->len) {
            /* kept until its line feed comes */
            if (rr->len + n > rr->cap) {
                apr_size_t cap = rr->cap ? rr->cap : 4096;
                char *grown;
                while (cap < rr->len + n) {
                    cap *= 2;
                }
                if (!(grown = realloc(rr->buf, cap))) {
                    return fail_at(rr, 0, 0, "out of memory");
                }
                rr->buf = grown;
                rr->cap = cap;
            }
            memcpy(rr->buf + rr->len, buf, n);
            rr->len += n;
        }
        if (!nl) {
            rr->offset += (apr_int64_t)n;
            return APR_SUCCESS;
        }
        rv = rr->len ? one_line(rr, rr->buf, rr->len, rr->line) : one_line(rr, buf, n, rr->line);
        rr->len = 0;
        if (rv != APR_SUCCESS) {
            return rr->cb_rv != APR_SUCCESS ? rr->cb_rv : rv;
        }
        rr->line++;
        rr->offset += (apr_int64_t)n + 1;
        buf += n + 1;
        len -= n + 1;
    }
    return APR_SUCCESS;
}

/* ------------------------------------------------------------ driving */

apr_status_t ingest_records_create(apr_pool_t *p, int ndjson, const char *member, apr_size_t record_bytes,
                                   int build, ingest_records_fn *fn, void *ctx, ingest_records_t **out)
{
    ingest_records_t *rr = apr_pcalloc(p, sizeof(*rr));

    rr->pool = p;
    rr->ndjson = ndjson;
    rr->member = member ? member : "records";
    rr->record_bytes = record_bytes ? record_bytes : 1024 * 1024;
    rr->build = build;
    rr->fn = fn;
    rr->ctx = ctx;
    rr->line = rr->col = 1;
    if (!ndjson) {
        if (!(rr->h = yajl_alloc(&callbacks, NULL, rr))) {
            return APR_ENOMEM;
        }
        yajl_config(rr->h, yajl_allow_multiple_values, 0);
    }
    apr_pool_cleanup_register(p, rr, release, apr_pool_cleanup_null);
    *out = rr;
    return APR_SUCCESS;
}

apr_status_t ingest_records_feed(ingest_records_t *rr, const char *buf, apr_size_t len)
{
    if (rr->failed) {
        return rr->cb_rv != APR_SUCCESS ? rr->cb_rv : APR_EINVAL;
    }
    return rr->ndjson ? ndjson_feed(rr, buf, len) : json_feed(rr, buf, len);
}

apr_status_t ingest_records_finish(ingest_records_t *rr)
{
    apr_status_t rv;
    if (rr->failed) {
        return rr->cb_rv != APR_SUCCESS ? rr->cb_rv : APR_EINVAL;
    }
    if (!rr->ndjson) {
        return json_finish(rr);
    }
    if (rr->len) {
        rv = one_line(rr, rr->buf, rr->len, rr->line);
        rr->len = 0;
        return rv != APR_SUCCESS && rr->cb_rv != APR_SUCCESS ? rr->cb_rv : rv;
    }
    return APR_SUCCESS;
}

apr_int64_t ingest_records_count(const ingest_records_t *rr)
{
    return rr->count;
}

const char *ingest_records_error(const ingest_records_t *rr)
{
    return rr->cb_rv != APR_SUCCESS ? NULL : rr->error;
}
