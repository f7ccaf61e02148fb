#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <csv.h>

#include "ingest_parse_internal.h"

/* libcsv grows its field buffer by this much (its default, 128 bytes,
 * means thousands of reallocs for a long field). */
#define CSV_BLOCK (64 * 1024)

/* The fields of a row, as libcsv hands them over one at a time (malloc):
 * their bytes, each followed by a NUL, and where each begins. A row is
 * bounded by record_bytes (and a slice), so is this. */
typedef struct {
    char *buf;
    apr_size_t len, cap;
    apr_size_t *offs;  /* where each field begins in buf */
    apr_size_t *lens;  /* ... and its length */
    const char **ptrs; /* ... and where that is, once the row has ended */
    apr_size_t n, ncap;
} csv_row_t;

typedef struct {
    struct csv_parser p;
    int initialised;
    int have_header;
    apr_int64_t header_fields; /* fields of the header */
    apr_int64_t nfields;       /* fields of the current row so far */
    apr_int64_t row_line;      /* line the current row began on; 0 before it has */
    apr_int64_t row_start;     /* ... and its offset in the input */
    apr_int64_t seg_line;      /* line of the slice libcsv is parsing */
    apr_int64_t seg_end;       /* offset of the end of that slice */
    int collect;               /* the current row's fields are kept: a sink wants it */
    csv_row_t row;             /* ... here */
    csv_row_t header;          /* the header's, once read */
} csv_state_t;

/* Adds a field to the row. */
static apr_status_t row_add(csv_row_t *r, const char *field, apr_size_t len)
{
    apr_size_t cap, *offs, *lens;
    const char **ptrs;
    char *buf;

    if (r->len + len + 1 > r->cap) {
        cap = r->cap ? r->cap : 256;
        while (cap < r->len + len + 1) {
            cap *= 2;
        }
        if (!(buf = realloc(r->buf, cap))) {
            return APR_ENOMEM;
        }
        r->buf = buf;
        r->cap = cap;
    }
    if (r->n == r->ncap) {
        cap = r->ncap ? r->ncap * 2 : 16;
        if (!(offs = realloc(r->offs, cap * sizeof(*offs)))) {
            return APR_ENOMEM;
        }
        r->offs = offs;
        if (!(lens = realloc(r->lens, cap * sizeof(*lens)))) {
            return APR_ENOMEM;
        }
        r->lens = lens;
        if (!(ptrs = realloc(r->ptrs, cap * sizeof(*ptrs)))) {
            return APR_ENOMEM;
        }
        r->ptrs = ptrs;
        r->ncap = cap;
    }
    memcpy(r->buf + r->len, field, len);
    r->buf[r->len + len] = '\0';
    r->offs[r->n] = r->len;
    r->lens[r->n] = len;
    r->n++;
    r->len += len + 1;
    return APR_SUCCESS;
}

/* The row has ended: where its fields are (the buffer moves no more). */
static void row_end(csv_row_t *r)
{
    apr_size_t i;

    for (i = 0; i < r->n; ++i) {
        r->ptrs[i] = r->buf + r->offs[i];
    }
}

static void row_free(csv_row_t *r)
{
    free(r->buf);
    free(r->offs);
    free(r->lens);
    free(r->ptrs);
    memset(r, 0, sizeof(*r));
}

/* A row is measured in the file's bytes, from its first character that
 * is not blank to its line end (the CR or LF that libcsv ends it on,
 * excluded): it ends exactly there, or while it is read once it is past
 * the limit, which bounds libcsv's field buffer too. */
static apr_status_t too_long(ingest_parser_t *ps)
{
    csv_state_t *cs = ps->state;
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
    const csv_state_t *cs = ps->state;
    return cs->row_line && end - cs->row_start > (apr_int64_t)ps->lim.record_bytes;
}

static void on_field(void *field, size_t len, void *data)
{
    ingest_parser_t *ps = data;
    csv_state_t *cs = ps->state;

    /* libcsv cannot be stopped from a callback: after an error, the rest
     * of the slice is ignored */
    if (ps->error) {
        return;
    }
    /* the header is kept, whole; a row while a sink wants it. A row with
     * too many fields fails at its end. */
    if (cs->nfields == 0) {
        cs->collect = !cs->have_header || ingest_parse_wanted(ps);
    }
    if (cs->collect && row_add(&cs->row, field, len) != APR_SUCCESS) {
        ingest_parse_fail(ps, 0, 0, "out of memory");
        return;
    }
    cs->nfields++;
}

static void on_row(int c, void *data)
{
    ingest_parser_t *ps = data;
    csv_state_t *cs = ps->state;
    apr_int64_t line = cs->row_line ? cs->row_line : cs->seg_line;
    ingest_record_t rec = {0};

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
        cs->header = cs->row;
        memset(&cs->row, 0, sizeof(cs->row));
        row_end(&cs->header);
        if (ingest_parse_header(ps) != APR_SUCCESS) {
            return;
        }
    } else if (cs->nfields != cs->header_fields) {
        /* stepped over in skip mode: the row's fields are dropped below */
        if (ingest_parse_bad(ps, line, 1, NULL,
                             "row %" APR_INT64_T_FMT " has %" APR_INT64_T_FMT
                             " fields, the header has %" APR_INT64_T_FMT,
                             INGEST_PARSE_NEXT_SEQ(ps), cs->nfields, cs->header_fields)
            != APR_SUCCESS) {
            return;
        }
    } else {
        if (cs->collect) {
            row_end(&cs->row);
            rec.nfields = cs->row.n;
            rec.fields = cs->row.ptrs;
            rec.field_lens = cs->row.lens;
        }
        rec.line = line;
        if (ingest_parse_record(ps, &rec) != APR_SUCCESS) {
            return;
        }
    }
    cs->row.n = cs->row.len = 0;
    cs->nfields = 0;
    cs->row_line = 0;
}

static apr_status_t csv_init_state(ingest_parser_t *ps)
{
    csv_state_t *cs = ps->state;

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

static void csv_release(ingest_parser_t *ps)
{
    csv_state_t *cs = ps->state;

    if (cs->initialised) {
        csv_free(&cs->p);
        cs->initialised = 0;
    }
    row_free(&cs->row);
    row_free(&cs->header);
}

static apr_size_t csv_columns(const ingest_parser_t *ps, const char *const **names, const apr_size_t **lens)
{
    const csv_state_t *cs = ps->state;

    *names = cs->header.ptrs;
    *lens = cs->header.lens;
    return cs->header.n;
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

static apr_status_t csv_feed(ingest_parser_t *ps, const char *buf, apr_size_t len)
{
    csv_state_t *cs = ps->state;
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

static apr_status_t csv_finish(ingest_parser_t *ps)
{
    csv_state_t *cs = ps->state;

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

const ingest_parse_format_t ingest_parse_format_csv = {
    .name = "csv",
    .names_key = "columns",
    .state_size = sizeof(csv_state_t),
    .init = csv_init_state,
    .feed = csv_feed,
    .finish = csv_finish,
    .release = csv_release,
    .columns = csv_columns,
};
