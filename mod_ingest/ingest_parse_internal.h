#ifndef INGEST_PARSE_INTERNAL_H
#define INGEST_PARSE_INTERNAL_H

/* What the formats of ingest_parse_*.c share: the parser, the table of
 * operations each format defines, and the helpers of ingest_parse.c and
 * ingest_parse_summary.c. Not for callers: they use ingest_parse.h. */

#include <apr_tables.h>

#include "ingest_parse.h"

/* The keys of this many records (JSON, NDJSON) make the "keys" union. */
#define INGEST_PARSE_KEYS_RECORDS 100

/* The deepest nesting of a JSON record, as jansson's own limit
 * (JSON_PARSER_MAX_DEPTH), so that JSON and NDJSON agree and a record
 * never holds a value too deep for jansson's recursive free and copy. */
#define INGEST_PARSE_MAX_DEPTH 2048

/* ingest_parser_feed hands a format at most this much at a time, so that
 * a record growing past its limit is caught within this many bytes,
 * however large the caller's chunks. */
#define INGEST_PARSE_SLICE (64 * 1024)

/* A format: its operations, as mod_md's md_store_t. Each is defined in
 * the format's own file (ingest_parse_<name>.c), with its state private
 * there; one table in ingest_parse.c maps file types and kinds to them.
 * The state is state_size bytes from the parser's pool, zeroed, at
 * ps->state before init. An operation left NULL does nothing (a format
 * without feed reads nothing: binary). */
typedef struct {
    const char *name;      /* the summary's "format" */
    const char *names_key; /* the summary's member listing names ("columns", "keys"), or NULL */
    apr_size_t state_size;
    apr_status_t (*init)(ingest_parser_t *ps);
    /* a slice of at most INGEST_PARSE_SLICE bytes (and room), not yet
     * counted in the position (ingest_parse_advance follows a success) */
    apr_status_t (*feed)(ingest_parser_t *ps, const char *buf, apr_size_t len);
    apr_status_t (*finish)(ingest_parser_t *ps);
    /* library state and memory outside the pool; run once */
    void (*release)(ingest_parser_t *ps);
    /* optional: how many bytes feed may be given next (at least 1) */
    apr_size_t (*room)(const ingest_parser_t *ps);
    /* optional: the records so far, when not those handed over */
    apr_int64_t (*records)(const ingest_parser_t *ps);
    /* optional: ingest_parser_columns */
    apr_size_t (*columns)(const ingest_parser_t *ps, const char *const **names, const apr_size_t **lens);
} ingest_parse_format_t;

extern const ingest_parse_format_t ingest_parse_format_csv;
extern const ingest_parse_format_t ingest_parse_format_json;
extern const ingest_parse_format_t ingest_parse_format_ndjson;
extern const ingest_parse_format_t ingest_parse_format_text;

/* A position in the chunk being fed: byte k is at line:col. */
typedef struct {
    apr_size_t k;
    apr_int64_t line, col;
} ingest_parse_cursor_t;

/* Told that the header has been read (CSV): ingest_parser_columns has it. */
typedef apr_status_t (*ingest_parse_header_fn)(void *baton, const ingest_parser_t *ps);

/* An attached sink; on_header is the summary's only. */
typedef struct {
    ingest_record_fn fn;
    ingest_parse_header_fn on_header;
    void *baton;
} ingest_parse_sink_t;

typedef struct ingest_parse_summary ingest_parse_summary_t;

struct ingest_parser {
    apr_pool_t *pool;
    const ingest_parse_format_t *fmt;
    void *state; /* the format's */
    ingest_parse_limits_t lim;
    apr_int64_t records; /* records handed over (or counted: ingest_parse_record) */

    /* Where the input stands: bytes and newlines fed, characters (UTF-8
     * sequences, as jansson counts columns) after the last newline,
     * whether bytes follow the last newline, and the position of the last
     * byte fed. */
    apr_int64_t offset;
    apr_int64_t nl;
    apr_int64_t col;
    int partial;
    apr_int64_t last_line, last_col;

    int fed;      /* feed was called: no more sinks */
    int at_end;   /* finish was called */
    int finished; /* ... and succeeded */
    int released; /* library state and JSON values are gone */

    const char *error;
    apr_int64_t err_line, err_col;

    apr_int64_t bad;             /* bad records stepped over */
    ingest_bad_record_fn on_bad; /* NULL: a bad record fails the parse */
    void *bad_baton;

    apr_array_header_t *sinks;       /* ingest_parse_sink_t, the summary's first */
    ingest_parse_summary_t *summary; /* the summary sink's state */
};

/* ---------------------------------------------------- ingest_parse.c */

/* Records the first error (a later one does not replace it) and answers
 * APR_EINVAL. line and col are 1-based, 0 when not known. */
apr_status_t ingest_parse_fail(ingest_parser_t *ps, apr_int64_t line, apr_int64_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A bad record at line:col (field NULL: the record as a whole), for the
 * reason formatted: stepped over (APR_SUCCESS, counted as bad) when the
 * handler of bad records takes it, else the parse fails (APR_EINVAL). */
apr_status_t ingest_parse_bad(ingest_parser_t *ps, apr_int64_t line, apr_int64_t col, const char *field,
                              const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The seq the next record, good or bad, takes. */
#define INGEST_PARSE_NEXT_SEQ(ps) ((ps)->records + (ps)->bad + 1)

/* The error of a record (what, e.g. "row 3") longer than record_bytes. */
apr_status_t ingest_parse_too_long(ingest_parser_t *ps, apr_int64_t line, apr_int64_t col, const char *what);

/* The line and column of byte k of the chunk being fed (buf, not yet
 * counted by ingest_parse_advance): k == -1 is the last byte of the chunks
 * before, k == len the byte after this chunk. */
void ingest_parse_locate(const ingest_parser_t *ps, const char *buf, apr_ssize_t k, apr_int64_t *line,
                         apr_int64_t *col);

/* A cursor at byte 0 of the chunk being fed, and moved forward to byte k
 * (k >= its own): locating many bytes of a chunk in order costs one pass. */
void ingest_parse_cursor_start(const ingest_parser_t *ps, ingest_parse_cursor_t *c);
void ingest_parse_cursor_move(ingest_parse_cursor_t *c, const char *buf, apr_size_t k);

/* Counts a chunk into the running position, after it has been parsed. */
void ingest_parse_advance(ingest_parser_t *ps, const char *buf, apr_size_t len);

/* Attaches a sink, as ingest_parser_add_sink, with an on_header (NULL:
 * none). */
apr_status_t ingest_parse_attach(ingest_parser_t *ps, ingest_record_fn fn, ingest_parse_header_fn on_header,
                                 void *baton);

/* A new JSON string of s: at most max bytes, cut on a character boundary
 * (*cut, when not NULL, says whether it was), every byte that is not part
 * of valid UTF-8 (overlong forms, surrogates, past U+10FFFF), and NUL
 * unless keep_nul, replaced by U+FFFD (three bytes for one). */
json_t *ingest_parse_string(const char *s, apr_size_t len, apr_size_t max, int keep_nul, int *cut);

/* Whether a sink other than the summary is attached. */
int ingest_parse_has_sinks(const ingest_parser_t *ps);

/* Whether the next record (seq records + 1) goes to a sink: always with a
 * sink other than the summary, else while the summary reads records. A
 * format may leave a record it is not wanted unbuilt, and only count it. */
int ingest_parse_wanted(const ingest_parser_t *ps);

/* Hands rec (its seq set here) to every sink in turn, when it is wanted,
 * and counts it: APR_SUCCESS, or APR_EINVAL with the error set when a
 * sink refused it (it is not counted then). */
apr_status_t ingest_parse_record(ingest_parser_t *ps, ingest_record_t *rec);

/* Tells the sinks the header is read (CSV). */
apr_status_t ingest_parse_header(ingest_parser_t *ps);

/* Lines, one at a time (NDJSON, text with a sink): a line not ended in
 * the chunk fed is kept (malloc), at most record_bytes of it. */
typedef struct {
    char *buf;
    apr_size_t len, cap;
} ingest_parse_linebuf_t;

/* A whole line (without its line feed), the lineno-th. */
typedef apr_status_t (*ingest_parse_line_fn)(ingest_parser_t *ps, const char *s, apr_size_t len,
                                             apr_int64_t lineno);

/* Hands fn each line that ends in buf, and keeps the one that does not; a
 * line longer than record_bytes fails ("line N exceeds ..."). finish hands
 * the last line, without a line feed. */
apr_status_t ingest_parse_lines_feed(ingest_parser_t *ps, ingest_parse_linebuf_t *lb, const char *buf,
                                     apr_size_t len, ingest_parse_line_fn fn);
apr_status_t ingest_parse_lines_finish(ingest_parser_t *ps, ingest_parse_linebuf_t *lb,
                                       ingest_parse_line_fn fn);
void ingest_parse_lines_release(ingest_parse_linebuf_t *lb);

/* -------------------------------------------- ingest_parse_summary.c */

/* Attaches the summary sink (ingest_parser_create, before any other). */
apr_status_t ingest_parse_summary_attach(ingest_parser_t *ps);

/* How many records, from the first, the summary reads. */
apr_int64_t ingest_parse_summary_reads(const ingest_parser_t *ps);

/* The summary (ingest_parser_summary), and its JSON values released. */
json_t *ingest_parse_summary_json(const ingest_parser_t *ps);
void ingest_parse_summary_release(ingest_parser_t *ps);

#endif
