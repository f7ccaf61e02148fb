#include <string.h>

#include "ingest_parse_internal.h"

/* Lines are counted by ingest_parse.c for every kind; what is left here is
 * the preview: the start of each of the first lines, enough of it to cut
 * to a preview cell, never the whole line. */

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
    if (json_array_append_new(ps->preview, ingest_parse_cell(ts->cell, len))) {
        return ingest_parse_fail(ps, 0, 0, "out of memory");
    }
    return APR_SUCCESS;
}

static void keep(ingest_text_state_t *ts, const char *s, apr_size_t len)
{
    apr_size_t room = sizeof(ts->cell) - ts->cell_len;
    apr_size_t n = len < room ? len : room;

    memcpy(ts->cell + ts->cell_len, s, n);
    ts->cell_len += n;
    /* only whether the line is longer than what is kept matters */
    ts->line_len = len > sizeof(ts->cell) ? sizeof(ts->cell) + 1 : ts->line_len + len;
    if (ts->line_len > sizeof(ts->cell)) {
        ts->line_len = sizeof(ts->cell) + 1;
    }
}

apr_status_t ingest_parse_text_feed(ingest_parser_t *ps, const char *buf, apr_size_t len)
{
    ingest_text_state_t *ts = &ps->u.text;
    apr_size_t off = 0, seg;
    const char *nl;
    apr_status_t rv;

    while (off < len && json_array_size(ps->preview) < INGEST_PARSE_PREVIEW) {
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

apr_status_t ingest_parse_text_finish(ingest_parser_t *ps)
{
    /* a last line without a line feed is a line too */
    if (ps->partial && json_array_size(ps->preview) < INGEST_PARSE_PREVIEW) {
        return end_line(ps);
    }
    return APR_SUCCESS;
}
