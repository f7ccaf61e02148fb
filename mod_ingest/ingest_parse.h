#ifndef INGEST_PARSE_H
#define INGEST_PARSE_H

/* Streaming parsers for uploaded files: fed chunk by chunk, whatever the
 * file's size, in memory bounded by the limits below (not by the file, nor
 * by its shape). CSV with libcsv (RFC 4180, header row), JSON arrays of
 * objects with yajl's event parser, NDJSON one line at a time with jansson,
 * and plain text (lines). Each record is handed, once it has ended, to the
 * record sinks attached (ingest_parser_add_sink); the summary is built by
 * one of them. Pure: the worker reads the file and feeds it here. */

#include <apr_pools.h>
#include <jansson.h>

typedef enum {
    INGEST_PARSE_CSV,
    INGEST_PARSE_JSON,   /* a top-level array of objects */
    INGEST_PARSE_NDJSON, /* one JSON object per line; blank lines skipped */
    INGEST_PARSE_TEXT,   /* txt, log, xml: lines */
    INGEST_PARSE_BINARY, /* pdf, xlsx: nothing is read into */
} ingest_parse_kind_e;

/* The parser for a file_type (csv, json, ndjson, xml, pdf, xlsx, txt, log). */
ingest_parse_kind_e ingest_parse_kind(const char *file_type);

typedef struct ingest_parser ingest_parser_t;

/* What a parser keeps is bounded, whatever the input:
 *  - a record (a CSV row, the header included, from its first character
 *    to its line end; a JSON element from its '{' to its '}'; an NDJSON
 *    line without its line feed; a text line without its line feed, but
 *    only when a sink is attached, see ingest_parser_add_sink) may be at
 *    most record_bytes long: a longer one fails the parse, naming the
 *    record and where it begins;
 *  - columns (CSV) and keys (JSON, NDJSON) are listed up to names of them,
 *    and up to names_json bytes of JSON text;
 *  - every listed name, and every key and string of the preview, is cut to
 *    cell_bytes (on a UTF-8 character boundary);
 *  - the preview holds the first INGEST_PARSE_PREVIEW records, up to
 *    preview_json bytes of JSON text: values past that are left out.
 * What is cut or left out makes the summary say "truncated": true; its
 * JSON text stays under names_json + preview_json + INGEST_PARSE_SUMMARY_FIXED
 * bytes. A member left 0 takes its default. */
typedef struct {
    apr_size_t record_bytes;
    apr_size_t names;
    apr_size_t names_json;
    apr_size_t cell_bytes;
    apr_size_t preview_json;
} ingest_parse_limits_t;

#define INGEST_PARSE_DEFAULT_RECORD       (1024 * 1024)
#define INGEST_PARSE_DEFAULT_NAMES        1000
#define INGEST_PARSE_DEFAULT_NAMES_JSON   (64 * 1024)
#define INGEST_PARSE_DEFAULT_CELL         256
#define INGEST_PARSE_DEFAULT_PREVIEW_JSON (64 * 1024)
/* Records kept for the preview. */
#define INGEST_PARSE_PREVIEW 3
/* The summary's members other than the names and the preview (format,
 * counts, the flag, punctuation) take less than this. */
#define INGEST_PARSE_SUMMARY_FIXED 256

/* Allocates from p; library state is released when p is (a cleanup is
 * registered), or earlier with ingest_parser_destroy. limits may be NULL
 * (every default); it is copied. */
apr_status_t ingest_parser_create(apr_pool_t *p, ingest_parse_kind_e kind,
                                  const ingest_parse_limits_t *limits, ingest_parser_t **out);
void ingest_parser_destroy(ingest_parser_t *ps);

/* APR_SUCCESS, or APR_EINVAL once the input is malformed (every later call
 * then fails the same way; ingest_parser_error says what and where). */
apr_status_t ingest_parser_feed(ingest_parser_t *ps, const char *buf, apr_size_t len);

/* End of input: catches what only the end reveals (an unclosed array, a
 * quote left open, a last line that is not JSON). */
apr_status_t ingest_parser_finish(ingest_parser_t *ps);

/* Records so far: CSV data rows (the header excluded), JSON array
 * elements, NDJSON non-blank lines, text lines (with a sink attached, the
 * lines handed over: the same once finished); 0 for binary. A record a
 * sink refused is not counted. */
apr_int64_t ingest_parser_records(const ingest_parser_t *ps);

/* Lines so far (newlines seen, plus a last line without one at finish). */
apr_int64_t ingest_parser_lines(const ingest_parser_t *ps);

/* The error after APR_EINVAL: a sentence, and the 1-based line and column
 * of the offending input (0 where not known). NULL when there is none. */
const char *ingest_parser_error(const ingest_parser_t *ps, int *line, int *column);

/* After a successful finish, a new object the caller owns:
 *   CSV:    {"format":"csv","records":N,"lines":L,"columns":[names],"preview":[objects name->value]}
 *   JSON:   {"format":"json","records":N,"lines":L,"keys":[union of the keys of the first 100
 *            records],"preview":[records]}
 *   NDJSON: {"format":"ndjson", ... as JSON}
 *   TEXT:   {"format":"text","records":L,"lines":L,"preview":[first lines]}
 *   BINARY: {"format":"binary"}
 * with "bad_records":B after "lines" when bad records were stepped over
 * (ingest_parser_on_bad_record), and
 * bounded as the limits say, with "truncated":true when anything was cut
 * or left out (absent otherwise). Bytes that are not valid UTF-8, and
 * NUL, become U+FFFD. The summary is built by a record sink of its own
 * (below), attached by ingest_parser_create before any other. */
json_t *ingest_parser_summary(const ingest_parser_t *ps);

/* ------------------------------------------------------------ records */

/* One record, as a sink is handed it: borrowed for the call only (copy
 * what is to be kept), and not to be changed. Which members are set
 * depends on the format; the others are 0 and NULL. */
typedef struct {
    /* 1-based, in file order: the records so far, this one included, bad
     * records stepped over counted too (see ingest_parser_on_bad_record) */
    apr_int64_t seq;
    apr_int64_t line; /* the line the record begins on, 1-based */
    /* CSV: the row's fields in column order (nfields is the header's
     * count), each with its length: the bytes as libcsv unquotes them
     * (spaces and tabs around a field, outside its quotes, are not kept),
     * NUL and invalid UTF-8 included, each followed by a NUL that is not
     * counted */
    apr_size_t nfields;
    const char *const *fields;
    const apr_size_t *field_lens;
    /* JSON, NDJSON: the element (an object), whole, not cut. JSON: numbers
     * as jansson integers when they fit one, else reals, or strings when
     * beyond a double (as in the summary); in strings and keys, the bytes
     * of what yajl lets through but is not UTF-8 (a lone surrogate, an
     * overlong form) are U+FFFD each, and "\u0000" is a NUL. NDJSON: as
     * jansson reads the line. */
    json_t *value;
    /* TEXT: the whole line without its line end (LF, or CR LF; a last line
     * without LF loses a CR it ends with too); never NULL */
    const char *text;
    apr_size_t text_len;
} ingest_record_t;

/* A sink: any status but APR_SUCCESS stops the parse (see
 * ingest_parser_add_sink). */
typedef apr_status_t (*ingest_record_fn)(void *baton, const ingest_parser_t *ps, const ingest_record_t *rec);

/* Attaches a sink: each record, once it has ended and is known good (a CSV
 * row once its field count is checked), is handed to every sink in the
 * order they were attached, the summary's first, once, in file order.
 * Only before the first feed (APR_EINVAL after it, or without fn). A sink
 * that answers other than APR_SUCCESS stops the parse: the feed or finish
 * that handed the record answers APR_EINVAL, as does every later call,
 * the record is not counted, and ingest_parser_error gives the message the
 * sink set with ingest_parser_fail_record, or "a record sink failed" at
 * the record's line when it set none.
 *
 * What a sink changes: a text line is then kept whole to be handed over,
 * so a line (without its line feed) longer than record_bytes fails the
 * parse ("line N exceeds IngestMaxRecordSize (... bytes)") as a record of
 * the other formats does; with only the summary, text lines have no limit
 * and nothing beyond the preview's cells is kept. And every JSON element
 * is then built whole as a jansson value (otherwise only those the
 * summary reads, the first 100): one at a time, in
 * up to about 16 times its text (an array of one-digit numbers), which
 * record_bytes bounds. */
apr_status_t ingest_parser_add_sink(ingest_parser_t *ps, ingest_record_fn fn, void *baton);

/* For a sink, during its call: records why the record is refused, at the
 * 1-based line and column given (0: not known), unless an error was
 * recorded before. Answers APR_EINVAL, for the sink to return. */
apr_status_t ingest_parser_fail_record(const ingest_parser_t *ps, apr_int64_t line, apr_int64_t col,
                                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ------------------------------------------------------- bad records */

/* A record that is bad but can be stepped over: a CSV row whose field
 * count is not the header's, an NDJSON line that is not JSON or not an
 * object, or a record a sink refused with ingest_parser_skip_record (a
 * value that does not fit the job's schema). seq is the record's place
 * among the file's records, good and bad (so the good ones keep theirs);
 * field is NULL when the record as a whole is bad. Borrowed for the call. */
typedef struct {
    apr_int64_t seq;
    apr_int64_t line; /* 1-based, where the record begins */
    apr_int64_t col;  /* 1-based, 0 when not known */
    const char *field;
    const char *reason;
} ingest_bad_record_t;

/* Answers APR_SUCCESS to step over the record (it is counted as bad, not
 * as a record, and the parse goes on), anything else to fail the parse:
 * with the message the handler set through ingest_parser_fail_record, or
 * else the bad record's own reason at its line and column. */
typedef apr_status_t (*ingest_bad_record_fn)(void *baton, const ingest_parser_t *ps,
                                             const ingest_bad_record_t *bad);

/* Sets the handler of bad records (skip mode), only before the first feed
 * (APR_EINVAL after it). Without one, a bad record fails the parse, as any
 * malformed input does. What cannot be stepped over fails the parse either
 * way: a record longer than record_bytes, CSV that is malformed (a quote
 * left open), JSON that is not an array of objects (an element of a JSON
 * array that is not an object included: the file is not the array of
 * objects it must be), a JSON array that is malformed. */
apr_status_t ingest_parser_on_bad_record(ingest_parser_t *ps, ingest_bad_record_fn fn, void *baton);

/* For a sink, during its call: the record is bad, at the line and field
 * given (field NULL: the record as a whole), for the reason formatted.
 * Answers INGEST_PARSE_SKIPPED when the handler stepped over it (the sink
 * returns that: the record goes to no later sink, and is counted as bad),
 * or APR_EINVAL with the parse failed (no handler, or it refused). */
#define INGEST_PARSE_SKIPPED (APR_OS_START_USERERR + 301)
apr_status_t ingest_parser_skip_record(const ingest_parser_t *ps, apr_int64_t line, const char *field,
                                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Bad records stepped over so far. */
apr_int64_t ingest_parser_bad_records(const ingest_parser_t *ps);

/* CSV: the header's names, whole, as in the file (as the fields of a
 * record are), once the header row has been read; 0 (and NULLs) before,
 * and for the other formats. Valid as long as the parser is. */
apr_size_t ingest_parser_columns(const ingest_parser_t *ps, const char *const **names,
                                 const apr_size_t **lens);

#endif
