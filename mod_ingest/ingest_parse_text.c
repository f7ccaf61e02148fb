#include <string.h>

#include <apr_pools.h>

#include "ingest_parse_internal.h"

/* Lines are counted by ingest_parse.c for every kind, and are the records
 * here. With a sink other than the summary attached, each whole line is
 * kept (ingest_parse_lines_feed, so at most record_bytes of it) and handed
 * over. With only the summary, only the start of each of the first lines
 * is kept, enough of it to cut to a preview cell, never the whole line,
 * and handed to the summary as if it were the line: a line has no limit
 * then. */

typedef struct {
    ingest_parse_linebuf_t lb; /* with a sink: the line not yet ended */
    /* only the summary: the start of the line being read, while it reads
     * lines: cell_bytes and a few more, to cut on a character boundary
     * (pool) */
    char *cell;
    apr_size_t cell_cap;
    apr_size_t cell_len;
    apr_size_t line_len; /* bytes of that line so far, at most cell_cap + 1 */
} text_state_t;

static apr_status_t text_init(ingest_parser_t *ps)
{
    text_state_t *ts = ps->state;

    ts->cell_cap = ps->lim.cell_bytes + 8;
    ts->cell = apr_palloc(ps->pool, ts->cell_cap);
    return APR_SUCCESS;
}

/* A whole line, without its line feed (and without the CR before it). */
static apr_status_t one_line(ingest_parser_t *ps, const char *s, apr_size_t len, apr_int64_t lineno)
{
    ingest_record_t rec = {0};

    if (len && s[len - 1] == '\r') {
        len--;
    }
    rec.line = lineno;
    rec.text = s;
    rec.text_len = len;
    return ingest_parse_record(ps, &rec);
}

/* Only the summary: the start of a line has been kept, to its end. A CR
 * it ends with is the line's when it was kept whole; else it is past what
 * a cell keeps of it, whether it is taken off or not. */
static apr_status_t end_line(ingest_parser_t *ps)
{
    text_state_t *ts = ps->state;
    apr_size_t len = ts->cell_len;

    ts->cell_len = ts->line_len = 0;
    /* the lines so far are the records so far */
    return one_line(ps, ts->cell, len, ps->records + 1);
}

static void keep(text_state_t *ts, const char *s, apr_size_t len)
{
    apr_size_t room = ts->cell_cap - ts->cell_len;
    apr_size_t n = len < room ? len : room;

    memcpy(ts->cell + ts->cell_len, s, n);
    ts->cell_len += n;
    /* only whether the line is longer than what is kept matters */
    ts->line_len = len > ts->cell_cap ? ts->cell_cap + 1 : ts->line_len + len;
    if (ts->line_len > ts->cell_cap) {
        ts->line_len = ts->cell_cap + 1;
    }
}

static apr_status_t text_feed(ingest_parser_t *ps, const char *buf, apr_size_t len)
{
    text_state_t *ts = ps->state;
    apr_size_t off = 0, seg;
    const char *nl;
    apr_status_t rv;

    if (ingest_parse_has_sinks(ps)) {
        return ingest_parse_lines_feed(ps, &ts->lb, buf, len, one_line);
    }
    /* the summary reads the first lines; the others are only counted */
    while (off < len && ingest_parse_wanted(ps)) {
        nl = memchr(buf + off, '\n', len - off);
        seg = nl ? (apr_size_t)(nl - (buf + off)) : len - off;
        keep(ts, buf + off, seg);
        if (!nl) {
            break;
        }
        if ((rv = end_line(ps)) != APR_SUCCESS) {
            return rv;
        }
        off += seg + 1;
    }
    return APR_SUCCESS;
}

static apr_status_t text_finish(ingest_parser_t *ps)
{
    text_state_t *ts = ps->state;

    if (ingest_parse_has_sinks(ps)) {
        return ingest_parse_lines_finish(ps, &ts->lb, one_line);
    }
    /* a last line without a line feed is a line too */
    if (ps->partial && ingest_parse_wanted(ps)) {
        return end_line(ps);
    }
    return APR_SUCCESS;
}

static void text_release(ingest_parser_t *ps)
{
    text_state_t *ts = ps->state;
    ingest_parse_lines_release(&ts->lb);
}

/* Every line is a record: with a sink, those handed over (so that a sink
 * sees them counted as they are, and a line too long fails after the
 * same count however the input is cut); else the lines counted, whether
 * the summary read them or not. */
static apr_int64_t text_records(const ingest_parser_t *ps)
{
    return ingest_parse_has_sinks(ps) ? ps->records : ingest_parser_lines(ps);
}

const ingest_parse_format_t ingest_parse_format_text = {
    .name = "text",
    .state_size = sizeof(text_state_t),
    .init = text_init,
    .feed = text_feed,
    .finish = text_finish,
    .release = text_release,
    .records = text_records,
};
