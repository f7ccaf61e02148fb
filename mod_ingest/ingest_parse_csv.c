#include <string.h>

#include "ingest_parse_internal.h"

/* libcsv is given at most this much at a time (and never past a newline),
 * so that a field growing without end is caught after each slice. */
#define CSV_SLICE (64 * 1024)

/* libcsv grows its field buffer by this much (its default, 128 bytes,
 * means thousands of reallocs for a long field). */
#define CSV_BLOCK (64 * 1024)

/* A field is measured exactly when it ends (the field callback); while it
 * is still being read, a buffer past this bound means it is too long
 * already. The buffer only grows when full, so it holds at most the
 * longest field allowed plus a block until a field really is too long. */
#define CSV_BUFFER_BOUND (2 * INGEST_PARSE_MAX_RECORD)

static apr_status_t too_long(ingest_parser_t *ps)
{
    ingest_csv_state_t *cs = &ps->u.csv;
    apr_int64_t line = cs->row_line ? cs->row_line : cs->seg_line;

    if (!cs->have_header) {
        return ingest_parse_fail(ps, line, 0, "a field of the header is longer than 1 MiB");
    }
    return ingest_parse_fail(ps, line, 0, "a field of row %" APR_INT64_T_FMT " is longer than 1 MiB",
                             ps->records + 1);
}

static void on_field(void *field, size_t len, void *data)
{
    ingest_parser_t *ps = data;
    ingest_csv_state_t *cs = &ps->u.csv;
    json_t *name;

    /* libcsv cannot be stopped from a callback: after an error, the rest
     * of the slice is ignored */
    if (ps->error) {
        return;
    }
    if (len > INGEST_PARSE_MAX_RECORD) {
        too_long(ps);
        return;
    }
    if (!cs->have_header) {
        /* names are kept as given, duplicates too */
        if (json_array_append_new(ps->names, ingest_parse_string(field, len, INGEST_PARSE_UNCUT))) {
            ingest_parse_fail(ps, 0, 0, "out of memory");
        }
    } else if (ps->records < INGEST_PARSE_PREVIEW && cs->nfields < (apr_int64_t)json_array_size(ps->names)) {
        /* a row with too many fields fails at its end: the extra ones are
         * not previewed */
        name = json_array_get(ps->names, (size_t)cs->nfields);
        if (!cs->row) {
            cs->row = json_object();
        }
        /* with duplicate names, the last value of the row wins */
        if (!cs->row
            || json_object_setn_new_nocheck(cs->row, json_string_value(name), json_string_length(name),
                                            ingest_parse_cell(field, len))) {
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
    apr_int64_t header = (apr_int64_t)json_array_size(ps->names);

    (void)c;
    if (ps->error) {
        return;
    }
    if (!cs->have_header) {
        cs->have_header = 1;
    } else if (cs->nfields != header) {
        ingest_parse_fail(ps, line, 1,
                          "row %" APR_INT64_T_FMT " has %" APR_INT64_T_FMT
                          " fields, the header has %" APR_INT64_T_FMT,
                          ps->records + 1, cs->nfields, header);
        return;
    } else {
        if (cs->row) {
            if (json_array_append_new(ps->preview, cs->row)) {
                ingest_parse_fail(ps, 0, 0, "out of memory");
            }
            cs->row = NULL;
        }
        ps->records++;
    }
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
    json_decref(cs->row);
    cs->row = NULL;
}

/* What libcsv skips between rows: a line of these is no row. */
static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

apr_status_t ingest_parse_csv_feed(ingest_parser_t *ps, const char *buf, apr_size_t len)
{
    ingest_csv_state_t *cs = &ps->u.csv;
    apr_int64_t line, col;
    apr_size_t off = 0, seg, n, i;
    const char *nl;

    cs->seg_line = ps->nl + 1;
    while (off < len) {
        /* one line at a time, so that the callbacks know which line they
         * are on: that a row is not over at the end of a line, and where
         * it began, libcsv does not say */
        nl = memchr(buf + off, '\n', len - off);
        seg = nl ? (apr_size_t)(nl - (buf + off)) + 1 : len - off;
        if (seg > CSV_SLICE) {
            seg = CSV_SLICE;
        }
        /* a row begins on the first line that is not blank once the row
         * before has ended (a line break inside quotes does not end it) */
        for (i = 0; !cs->row_line && i < seg; ++i) {
            if (!is_blank(buf[off + i])) {
                cs->row_line = cs->seg_line;
            }
        }
        n = csv_parse(&cs->p, buf + off, seg, on_field, on_row, ps);
        if (ps->error) {
            return APR_EINVAL;
        }
        if (n < seg) {
            if (csv_error(&cs->p) != CSV_EPARSE) {
                return ingest_parse_fail(ps, 0, 0, "CSV: %s", csv_strerror(csv_error(&cs->p)));
            }
            /* libcsv stops on the offending byte */
            ingest_parse_locate(ps, buf, (apr_ssize_t)(off + n), &line, &col);
            return ingest_parse_fail(ps, line, col, "malformed CSV: %s", csv_strerror(CSV_EPARSE));
        }
        if (csv_get_buffer_size(&cs->p) > CSV_BUFFER_BOUND) {
            return too_long(ps);
        }
        off += seg;
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
