#ifndef INGEST_PARSE_H
#define INGEST_PARSE_H

/* Streaming parsers for uploaded files: fed chunk by chunk, whatever the
 * file's size, in memory bounded by the largest record (not the file).
 * CSV with libcsv (RFC 4180, header row), JSON arrays of objects with yajl's
 * event parser, NDJSON one line at a time with jansson, and plain text
 * (lines). Pure: the worker reads the file and feeds it here. */

#include <apr_pools.h>
#include <jansson.h>

typedef enum {
    INGEST_PARSE_CSV,
    INGEST_PARSE_JSON,   /* a top-level array of objects */
    INGEST_PARSE_NDJSON, /* one JSON object per line; blank lines skipped */
    INGEST_PARSE_TEXT,   /* txt, log, xml: lines are counted */
    INGEST_PARSE_BINARY, /* pdf, xlsx: nothing is read into */
} ingest_parse_kind_e;

/* The parser for a file_type (csv, json, ndjson, xml, pdf, xlsx, txt, log). */
ingest_parse_kind_e ingest_parse_kind(const char *file_type);

typedef struct ingest_parser ingest_parser_t;

/* The longest NDJSON line and the longest CSV field accepted: a bound on
 * memory, whatever the input. */
#define INGEST_PARSE_MAX_RECORD (1024 * 1024)
/* Records kept for the preview, and the longest string kept in it. */
#define INGEST_PARSE_PREVIEW      3
#define INGEST_PARSE_PREVIEW_CELL 256

/* Allocates from p; library state is released when p is (a cleanup is
 * registered), or earlier with ingest_parser_destroy. */
apr_status_t ingest_parser_create(apr_pool_t *p, ingest_parse_kind_e kind, ingest_parser_t **out);
void ingest_parser_destroy(ingest_parser_t *ps);

/* APR_SUCCESS, or APR_EINVAL once the input is malformed (every later call
 * then fails the same way; ingest_parser_error says what and where). */
apr_status_t ingest_parser_feed(ingest_parser_t *ps, const char *buf, apr_size_t len);

/* End of input: catches what only the end reveals (an unclosed array, a
 * quote left open, a last line that is not JSON). */
apr_status_t ingest_parser_finish(ingest_parser_t *ps);

/* Records so far: CSV data rows (the header excluded), JSON array
 * elements, NDJSON non-blank lines, text lines; 0 for binary. */
apr_int64_t ingest_parser_records(const ingest_parser_t *ps);

/* Lines so far (newlines seen, plus a last line without one at finish). */
apr_int64_t ingest_parser_lines(const ingest_parser_t *ps);

/* The error after APR_EINVAL: a sentence, and the 1-based line and column
 * of the offending input (0 where not known). NULL when there is none. */
const char *ingest_parser_error(const ingest_parser_t *ps, int *line, int *column);

/* After a successful finish, a new object the caller owns:
 *   CSV:    {"format":"csv","records":N,"lines":L,"columns":[names],"preview":[3 objects header->value]}
 *   JSON:   {"format":"json","records":N,"lines":L,"keys":[union of keys of the first 100
 * records],"preview":[3 records]} NDJSON: {"format":"ndjson", ... as JSON} TEXT:
 * {"format":"text","records":L,"lines":L,"preview":[first 3 lines]} BINARY: {"format":"binary"} Strings in
 * the preview are cut to INGEST_PARSE_PREVIEW_CELL bytes (on a UTF-8 character boundary). */
json_t *ingest_parser_summary(const ingest_parser_t *ps);

#endif
