#include <string.h>

#include <apr_strings.h>

#include "ingest_parse_internal.h"

/* libcsv grows its field buffer by this much (its default, 128 bytes,
 * means thousands of reallocs for a long field). */
#define CSV_BLOCK (64 * 1024)

/* A row is measured in the file's bytes, from its first character that
 * is not blank to its line end (the CR or LF that libcsv ends it on,
 * excluded): it ends exactly there, or while it is read once it is past
 * the limit, which bounds libcsv's field buffer too. */
static apr_status_t too_long(ingest_parser_t *ps)
{
    ingest_csv_state_t *cs = &ps->u.csv;
    apr_int64_t line = cs->row_line ? cs->row_line : cs->seg_line;

    if (!cs->have_header) {
        return ingest_parse_too_long(ps, line, 0, "the header");
    }
    return ingest_parse_too_long(ps, line, 0,
                                 apr_psprintf(ps->pool, "row %" APR_INT64_T_FMT, ps->records + 1));
}

/* Whether the open row is longer than a record may be, at offset end (the
 * bytes before it are the row's so far). */
static int over(const ingest_parser_t *ps, apr_int64_t end)
{
    const ingest_csv_state_t *cs = &ps->u.csv;
    return cs->row_line && end - cs->row_start > (apr_int64_t)ps->lim.record_bytes;
}

static void on_field(void *field, size_t len, void *data)
{
    ingest_parser_t *ps = data;
    ingest_csv_state_t *cs = &ps->u.csv;
    json_t *name, *row;
    int rc = 1;

    /* libcsv cannot be stopped from a callback: after an error, the rest
     * of the slice is ignored */
    if (ps->error) {
        return;
    }
    if (!cs->have_header) {
        /* names are kept as given, duplicates too */
        ingest_parse_add_name(ps, field, len, 0);
    } else if (ps->records < INGEST_PARSE_PREVIEW) {
        /* a row with too many fields fails at its end: the extra ones are
         * not previewed, nor those of columns not listed; with duplicate
         * names, the last value of the row wins */
        if (cs->nfields == 0) {
            row = json_object();
            rc = ingest_parse_preview_put(ps, ps->preview, NULL, 0, row);
            cs->row = rc == 1 ? row : NULL;
        }
        if (cs->row && cs->nfields < (apr_int64_t)json_array_size(ps->names)) {
            name = json_array_get(ps->names, (size_t)cs->nfields);
            rc = ingest_parse_preview_put(ps, cs->row, json_string_value(name), json_string_length(name),
                                          ingest_parse_cell(ps, field, len));
            cs->row = rc == 1 ? cs->row : NULL;
        }
        if (rc < 0) {
            ingest_parse_fail(ps, 0, 0, "out of memory");
        }
    }
    cs->nfields++;
}

static void on_row(int c, void *data)
{
    ingest_parser_t *ps = data;
    ingest_csv_state_t *cs = &ps->u.csv;
    apr_int64_t line = cs->row_line ? cs->row_line : cs->seg_line;

    (void)c;
    if (ps->error) {
        return;
    }
    /* it ends on the last byte of the slice (slices end at CR and LF), or
     * at the end of the input */
    if (over(ps, ps->at_end ? cs->seg_end : cs->seg_end - 1)) {
        too_long(ps);
        return;
    }
    if (!cs->have_header) {
        cs->have_header = 1;
        cs->header_fields = cs->nfields;
    } else if (cs->nfields != cs->header_fields) {
        ingest_parse_fail(ps, line, 1,
                          "row %" APR_INT64_T_FMT " has %" APR_INT64_T_FMT
                          " fields, the header has %" APR_INT64_T_FMT,
                          ps->records + 1, cs->nfields, cs->header_fields);
        return;
    } else {
        ps->records++;
    }
    cs->row = NULL;
    cs->nfields = 0;
    cs->row_line = 0;
}

apr_status_t ingest_parse_csv_init(ingest_parser_t *ps)
{
    ingest_csv_state_t *cs = &ps->u.csv;

    /* STRICT: a quote inside an unquoted field, or text after a closing
     * quote, is an error, not data; STRICT_FINI: so is a quote left open
     * at the end; APPEND_NULL: fields are C strings too */
    if (csv_init(&cs->p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        return APR_ENOMEM;
    }
    csv_set_blk_size(&cs->p, CSV_BLOCK);
    cs->initialised = 1;
    return APR_SUCCESS;
}

void ingest_parse_csv_release(ingest_parser_t *ps)
{
    ingest_csv_state_t *cs = &ps->u.csv;

    if (cs->initialised) {
        csv_free(&cs->p);
        cs->initialised = 0;
    }
    cs->row = NULL;
}

/* What libcsv skips between rows: a line of these is no row. */
static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The end of the slice that begins at buf[off]: just after the first CR
 * or LF, or at len. *cr caches where the next CR is (len: none). */
static apr_size_t slice_end(const char *buf, apr_size_t off, apr_size_t len, apr_size_t *cr)
{
    const char *nl = memchr(buf + off, '\n', len - off), *r;
    apr_size_t end = nl ? (apr_size_t)(nl - buf) + 1 : len;

    if (*cr < off) {
        r = memchr(buf + off, '\r', len - off);
        *cr = r ? (apr_size_t)(r - buf) : len;
    }
    return *cr < end ? *cr + 1 : end;
}

apr_status_t ingest_parse_csv_feed(ingest_parser_t *ps, const char *buf, apr_size_t len)
{
    ingest_csv_state_t *cs = &ps->u.csv;
    apr_int64_t line, col;
    const char *r = memchr(buf, '\r', len);
    apr_size_t off = 0, end, n, i, cr = r ? (apr_size_t)(r - buf) : len;

    cs->seg_line = ps->nl + 1;
    while (off < len) {
        /* one line at a time, so that the callbacks know which line they
         * are on and where a row ends: that a row is not over at the end
         * of a line, and where it began, libcsv does not say */
        end = slice_end(buf, off, len, &cr);
        cs->seg_end = ps->offset + (apr_int64_t)end;
        /* a row begins on the first line that is not blank once the row
         * before has ended (a line break inside quotes does not end it) */
        for (i = off; !cs->row_line && i < end; ++i) {
            if (!is_blank(buf[i])) {
                cs->row_line = cs->seg_line;
                cs->row_start = ps->offset + (apr_int64_t)i;
            }
        }
        n = csv_parse(&cs->p, buf + off, end - off, on_field, on_row, ps);
        if (ps->error) {
            return APR_EINVAL;
        }
        if (n < end - off) {
            /* libcsv stops on the offending byte: past the limit, the row
             * was too long before it was wrong */
            if (over(ps, ps->offset + (apr_int64_t)(off + n) + 1)) {
                return too_long(ps);
            }
            if (csv_error(&cs->p) != CSV_EPARSE) {
                return ingest_parse_fail(ps, 0, 0, "CSV: %s", csv_strerror(csv_error(&cs->p)));
            }
            ingest_parse_locate(ps, buf, (apr_ssize_t)(off + n), &line, &col);
            return ingest_parse_fail(ps, line, col, "malformed CSV: %s", csv_strerror(CSV_EPARSE));
        }
        if (over(ps, cs->seg_end)) {
            return too_long(ps);
        }
        off = end;
        if (buf[off - 1] == '\n') {
            cs->seg_line++;
        }
    }
    return APR_SUCCESS;
}

apr_status_t ingest_parse_csv_finish(ingest_parser_t *ps)
{
    ingest_csv_state_t *cs = &ps->u.csv;

    /* the last row, when the file does not end with a line break */
    cs->seg_line = ps->nl + 1;
    cs->seg_end = ps->offset;
    if (csv_fini(&cs->p, on_field, on_row, ps) != 0) {
        /* where the row began: the quote may be anywhere after it */
        return ingest_parse_fail(ps, cs->row_line, 0,
                                 "malformed CSV: a quoted field is not closed at the end of the file");
    }
    if (ps->error) {
        return APR_EINVAL;
    }
    if (!cs->have_header) {
        return ingest_parse_fail(ps, 0, 0, "empty CSV: no header row");
    }
    return APR_SUCCESS;
}
