#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "ingest_parse_internal.h"
#include "ingest_validate.h"

/* Reads nothing: every operation is left out. */
static const ingest_parse_format_t format_binary = {.name = "binary"};

/* The one table of formats: file types and kinds to formats. A kind's
 * first row is its format; a file type not listed reads as binary, which
 * is always safe. */
static const struct {
    const char *file_type;
    ingest_parse_kind_e kind;
    const ingest_parse_format_t *fmt;
} formats[] = {
    {"csv", INGEST_PARSE_CSV, &ingest_parse_format_csv},
    {"json", INGEST_PARSE_JSON, &ingest_parse_format_json},
    {"ndjson", INGEST_PARSE_NDJSON, &ingest_parse_format_ndjson},
    {"txt", INGEST_PARSE_TEXT, &ingest_parse_format_text},
    {"log", INGEST_PARSE_TEXT, &ingest_parse_format_text},
    {"xml", INGEST_PARSE_TEXT, &ingest_parse_format_text},
    {"pdf", INGEST_PARSE_BINARY, &format_binary},
    {"xlsx", INGEST_PARSE_BINARY, &format_binary},
};

#define FORMATS (sizeof(formats) / sizeof(formats[0]))

ingest_parse_kind_e ingest_parse_kind(const char *file_type)
{
    apr_size_t i;

    for (i = 0; file_type && i < FORMATS; ++i) {
        if (!strcmp(file_type, formats[i].file_type)) {
            return formats[i].kind;
        }
    }
    return INGEST_PARSE_BINARY;
}

static const ingest_parse_format_t *format_of(ingest_parse_kind_e kind)
{
    apr_size_t i;

    for (i = 0; i < FORMATS; ++i) {
        if (formats[i].kind == kind) {
            return formats[i].fmt;
        }
    }
    return NULL;
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
    if (ps->fmt->release) {
        ps->fmt->release(ps);
    }
    ingest_parse_summary_release(ps);
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
    const ingest_parse_format_t *fmt = format_of(kind);
    ingest_parse_limits_t lim;
    ingest_parser_t *ps;
    apr_status_t rv = APR_SUCCESS;

    *out = NULL;
    if (!fmt || !limits_of(limits, &lim)) {
        return APR_EINVAL;
    }
    ps = apr_pcalloc(p, sizeof(*ps));
    ps->pool = p;
    ps->fmt = fmt;
    ps->lim = lim;
    ps->state = fmt->state_size ? apr_pcalloc(p, fmt->state_size) : NULL;
    ps->sinks = apr_array_make(p, 2, sizeof(ingest_parse_sink_t));
    /* registered before the libraries allocate, so that a failure below
     * is cleaned up by the pool too */
    apr_pool_cleanup_register(p, ps, parser_cleanup, apr_pool_cleanup_null);
    rv = ingest_parse_summary_attach(ps);
    if (rv == APR_SUCCESS && fmt->init) {
        rv = fmt->init(ps);
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

static apr_status_t fail_v(ingest_parser_t *ps, apr_int64_t line, apr_int64_t col, const char *fmt,
                           va_list ap)
{
    if (ps->error) {
        return APR_EINVAL;
    }
    ps->error = apr_pvsprintf(ps->pool, fmt, ap);
    scrub_utf8((char *)ps->error);
    ps->err_line = line > 0 ? line : 0;
    ps->err_col = col > 0 ? col : 0;
    return APR_EINVAL;
}

apr_status_t ingest_parse_fail(ingest_parser_t *ps, apr_int64_t line, apr_int64_t col, const char *fmt, ...)
{
    va_list ap;
    apr_status_t rv;

    va_start(ap, fmt);
    rv = fail_v(ps, line, col, fmt, ap);
    va_end(ap);
    return rv;
}

apr_status_t ingest_parser_fail_record(const ingest_parser_t *ps, apr_int64_t line, apr_int64_t col,
                                       const char *fmt, ...)
{
    va_list ap;
    apr_status_t rv;

    if (!ps) {
        return APR_EINVAL;
    }
    /* the sink is handed the parser const, so that it cannot feed it; its
     * error is the parser's to record */
    va_start(ap, fmt);
    rv = fail_v((ingest_parser_t *)ps, line, col, fmt, ap);
    va_end(ap);
    return rv;
}

/* The bad record handed to the handler; the parse fails with its reason
 * when there is none or it refuses (with the handler's own message if it
 * set one). */
static apr_status_t bad_v(ingest_parser_t *ps, apr_int64_t line, apr_int64_t col, const char *field,
                          const char *fmt, va_list ap)
{
    ingest_bad_record_t bad;
    char *reason;

    if (ps->error) {
        return APR_EINVAL;
    }
    reason = apr_pvsprintf(ps->pool, fmt, ap);
    scrub_utf8(reason);
    if (ps->on_bad) {
        bad.seq = INGEST_PARSE_NEXT_SEQ(ps);
        bad.line = line > 0 ? line : 0;
        bad.col = col > 0 ? col : 0;
        bad.field = field;
        bad.reason = reason;
        if (ps->on_bad(ps->bad_baton, ps, &bad) == APR_SUCCESS && !ps->error) {
            ps->bad++;
            return APR_SUCCESS;
        }
    }
    return ingest_parse_fail(ps, line, col, "%s", reason);
}

apr_status_t ingest_parse_bad(ingest_parser_t *ps, apr_int64_t line, apr_int64_t col, const char *field,
                              const char *fmt, ...)
{
    va_list ap;
    apr_status_t rv;

    va_start(ap, fmt);
    rv = bad_v(ps, line, col, field, fmt, ap);
    va_end(ap);
    return rv;
}

apr_status_t ingest_parser_skip_record(const ingest_parser_t *ps, apr_int64_t line, const char *field,
                                       const char *fmt, ...)
{
    va_list ap;
    apr_status_t rv;

    if (!ps) {
        return APR_EINVAL;
    }
    va_start(ap, fmt);
    rv = bad_v((ingest_parser_t *)ps, line, 0, field, fmt, ap);
    va_end(ap);
    return rv == APR_SUCCESS ? INGEST_PARSE_SKIPPED : rv;
}

apr_status_t ingest_parser_on_bad_record(ingest_parser_t *ps, ingest_bad_record_fn fn, void *baton)
{
    if (!ps || !fn || ps->fed) {
        return APR_EINVAL;
    }
    ps->on_bad = fn;
    ps->bad_baton = baton;
    return APR_SUCCESS;
}

apr_int64_t ingest_parser_bad_records(const ingest_parser_t *ps)
{
    return ps ? ps->bad : 0;
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

/* The length of the character at s[i], 0 when it is not valid UTF-8. */
static apr_size_t char_len(const char *s, apr_size_t i, apr_size_t len, int keep_nul)
{
    return keep_nul && !s[i] ? 1 : ingest_utf8_char(s, i, len);
}

/* A new JSON string of s: at most max bytes, cut on a character boundary
 * (*cut, when not NULL, says whether it was), every byte that is not part
 * of valid UTF-8, and NUL unless keep_nul, replaced by U+FFFD (three
 * bytes for one). */
json_t *ingest_parse_string(const char *s, apr_size_t len, apr_size_t max, int keep_nul, int *cut)
{
    static const char replacement[] = "\xEF\xBF\xBD";
    apr_size_t i = 0, out = 0, cap, n;
    char *buf;
    json_t *j;

    /* most strings are short and valid: no copy */
    while (i < len && i < max && (n = char_len(s, i, len, keep_nul)) != 0 && i + n <= max) {
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
        n = char_len(s, i, len, keep_nul);
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

/* -------------------------------------------------------------- sinks */

apr_status_t ingest_parse_attach(ingest_parser_t *ps, ingest_record_fn fn, ingest_parse_header_fn on_header,
                                 void *baton)
{
    ingest_parse_sink_t *sink;

    if (!ps || !fn || ps->fed || ps->at_end || ps->released) {
        return APR_EINVAL;
    }
    sink = apr_array_push(ps->sinks);
    sink->fn = fn;
    sink->on_header = on_header;
    sink->baton = baton;
    return APR_SUCCESS;
}

apr_status_t ingest_parser_add_sink(ingest_parser_t *ps, ingest_record_fn fn, void *baton)
{
    return ingest_parse_attach(ps, fn, NULL, baton);
}

int ingest_parse_has_sinks(const ingest_parser_t *ps)
{
    return ps->sinks->nelts > 1;
}

int ingest_parse_wanted(const ingest_parser_t *ps)
{
    return ingest_parse_has_sinks(ps) || ps->records < ingest_parse_summary_reads(ps);
}

apr_status_t ingest_parse_record(ingest_parser_t *ps, ingest_record_t *rec)
{
    const ingest_parse_sink_t *sink;
    apr_status_t rv;
    int i;

    rec->seq = INGEST_PARSE_NEXT_SEQ(ps);
    for (i = 0; ingest_parse_wanted(ps) && i < ps->sinks->nelts; ++i) {
        sink = &APR_ARRAY_IDX(ps->sinks, i, ingest_parse_sink_t);
        rv = sink->fn(sink->baton, ps, rec);
        if (rv == INGEST_PARSE_SKIPPED && !ps->error) {
            return APR_SUCCESS; /* a bad record, stepped over and counted so */
        }
        /* a sink that set an error and answered success fails too */
        if (rv != APR_SUCCESS || ps->error) {
            return ingest_parse_fail(ps, rec->line, 0, "a record sink failed");
        }
    }
    ps->records++;
    return APR_SUCCESS;
}

apr_status_t ingest_parse_header(ingest_parser_t *ps)
{
    const ingest_parse_sink_t *sink;
    int i;

    for (i = 0; i < ps->sinks->nelts; ++i) {
        sink = &APR_ARRAY_IDX(ps->sinks, i, ingest_parse_sink_t);
        if (sink->on_header && (sink->on_header(sink->baton, ps) != APR_SUCCESS || ps->error)) {
            return ingest_parse_fail(ps, 0, 0, "a record sink failed");
        }
    }
    return APR_SUCCESS;
}

apr_size_t ingest_parser_columns(const ingest_parser_t *ps, const char *const **names,
                                 const apr_size_t **lens)
{
    *names = NULL;
    *lens = NULL;
    return ps && ps->fmt->columns ? ps->fmt->columns(ps, names, lens) : 0;
}

/* -------------------------------------------------------------- lines */

static apr_status_t line_too_long(ingest_parser_t *ps, apr_int64_t lineno)
{
    return ingest_parse_too_long(ps, lineno, 1, apr_psprintf(ps->pool, "line %" APR_INT64_T_FMT, lineno));
}

/* Adds to the line not yet ended, in a buffer that grows as needed, up to
 * the longest line allowed. */
static apr_status_t keep_line(ingest_parser_t *ps, ingest_parse_linebuf_t *lb, const char *s, apr_size_t len,
                              apr_int64_t lineno)
{
    apr_size_t cap;
    char *grown;

    if (len > ps->lim.record_bytes - lb->len) {
        return line_too_long(ps, lineno);
    }
    if (lb->len + len > lb->cap) {
        cap = lb->cap ? lb->cap : 4096;
        while (cap < lb->len + len) {
            cap *= 2;
        }
        if (cap > ps->lim.record_bytes) {
            cap = ps->lim.record_bytes;
        }
        grown = realloc(lb->buf, cap);
        if (!grown) {
            return ingest_parse_fail(ps, 0, 0, "out of memory");
        }
        lb->buf = grown;
        lb->cap = cap;
    }
    memcpy(lb->buf + lb->len, s, len);
    lb->len += len;
    return APR_SUCCESS;
}

static apr_status_t one_line(ingest_parser_t *ps, const char *s, apr_size_t len, apr_int64_t lineno,
                             ingest_parse_line_fn fn)
{
    if (len > ps->lim.record_bytes) {
        return line_too_long(ps, lineno);
    }
    return fn(ps, s, len, lineno);
}

apr_status_t ingest_parse_lines_feed(ingest_parser_t *ps, ingest_parse_linebuf_t *lb, const char *buf,
                                     apr_size_t len, ingest_parse_line_fn fn)
{
    apr_int64_t lineno = ps->nl + 1;
    apr_size_t off = 0, seg;
    const char *nl;
    apr_status_t rv;

    while (off < len) {
        nl = memchr(buf + off, '\n', len - off);
        if (!nl) {
            return keep_line(ps, lb, buf + off, len - off, lineno);
        }
        seg = (apr_size_t)(nl - (buf + off));
        if (lb->len) {
            /* the line began in a chunk before */
            if ((rv = keep_line(ps, lb, buf + off, seg, lineno)) != APR_SUCCESS) {
                return rv;
            }
            rv = one_line(ps, lb->buf, lb->len, lineno, fn);
            lb->len = 0;
        } else {
            rv = one_line(ps, buf + off, seg, lineno, fn);
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        off += seg + 1;
        lineno++;
    }
    return APR_SUCCESS;
}

apr_status_t ingest_parse_lines_finish(ingest_parser_t *ps, ingest_parse_linebuf_t *lb,
                                       ingest_parse_line_fn fn)
{
    apr_status_t rv = APR_SUCCESS;

    /* the last line, without a line feed */
    if (lb->len) {
        rv = one_line(ps, lb->buf, lb->len, ps->nl + 1, fn);
        lb->len = 0;
    }
    return rv;
}

void ingest_parse_lines_release(ingest_parse_linebuf_t *lb)
{
    free(lb->buf);
    lb->buf = NULL;
    lb->len = lb->cap = 0;
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
    ps->fed = 1;
    if (!ps->fmt->feed) {
        return APR_SUCCESS;
    }
    while (len) {
        apr_size_t n = len < INGEST_PARSE_SLICE ? len : INGEST_PARSE_SLICE;
        if (ps->fmt->room && n > ps->fmt->room(ps)) {
            n = ps->fmt->room(ps);
        }
        rv = ps->fmt->feed(ps, buf, n);
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
    if (ps->fmt->finish) {
        rv = ps->fmt->finish(ps);
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
    return ps->fmt->records ? ps->fmt->records(ps) : ps->records;
}

json_t *ingest_parser_summary(const ingest_parser_t *ps)
{
    if (!ps || !ps->finished || ps->error || ps->released) {
        return NULL;
    }
    return ingest_parse_summary_json(ps);
}
