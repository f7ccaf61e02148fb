#include <string.h>

#include <apr_pools.h>

#include "ingest_parse_internal.h"

/* Lines are counted by ingest_parse.c for every kind; what is left here is
 * the preview: the start of each of the first lines, enough of it to cut
 * to a preview cell, never the whole line. */

apr_status_t ingest_parse_text_init(ingest_parser_t *ps)
{
    ingest_text_state_t *ts = &ps->u.text;

    ts->cell_cap = ps->lim.cell_bytes + 8;
    ts->cell = apr_palloc(ps->pool, ts->cell_cap);
    return APR_SUCCESS;
}

static apr_status_t end_line(ingest_parser_t *ps)
{
    ingest_text_state_t *ts = &ps->u.text;
    apr_size_t len = ts->cell_len;

    /* CRLF: the line ends before the CR (when it was kept, the whole line
     * was) */
    if (ts->line_len == len && len && ts->cell[len - 1] == '\r') {
        len--;
    }
    ts->cell_len = ts->line_len = 0;
    if (ingest_parse_preview_put(ps, ps->preview, NULL, 0, ingest_parse_cell(ps, ts->cell, len)) < 0) {
        return ingest_parse_fail(ps, 0, 0, "out of memory");
    }
    return APR_SUCCESS;
}

static void keep(ingest_text_state_t *ts, const char *s, apr_size_t len)
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

/* The preview is full (or a line was left out of it, and so are the
 * others): lines are only counted. */
static int full(const ingest_parser_t *ps)
{
    return ps->preview_full || ps->u.text.lines >= INGEST_PARSE_PREVIEW;
}

apr_status_t ingest_parse_text_feed(ingest_parser_t *ps, const char *buf, apr_size_t len)
{
    ingest_text_state_t *ts = &ps->u.text;
    apr_size_t off = 0, seg;
    const char *nl;
    apr_status_t rv;

    while (off < len && !full(ps)) {
        nl = memchr(buf + off, '\n', len - off);
        seg = nl ? (apr_size_t)(nl - (buf + off)) : len - off;
        keep(ts, buf + off, seg);
        if (!nl) {
            break;
        }
        ts->lines++;
        if ((rv = end_line(ps)) != APR_SUCCESS) {
            return rv;
        }
        off += seg + 1;
    }
    return APR_SUCCESS;
}

apr_status_t ingest_parse_text_finish(ingest_parser_t *ps)
{
    /* a last line without a line feed is a line too */
    if (ps->partial && !full(ps)) {
        ps->u.text.lines++;
        return end_line(ps);
    }
    return APR_SUCCESS;
}
