#ifndef INGEST_PARSE_INTERNAL_H
#define INGEST_PARSE_INTERNAL_H

/* What the parsers of ingest_parse_*.c share: the parser's state and the
 * helpers of ingest_parse.c. Not for callers: they use ingest_parse.h. */

#include <apr_hash.h>
#include <apr_tables.h>
#include <csv.h>
#include <yajl/yajl_parse.h>

#include "ingest_parse.h"

/* The keys of this many records (JSON, NDJSON) make the "keys" union. */
#define INGEST_PARSE_KEYS_RECORDS 100

/* The deepest nesting of a JSON record, as jansson's own limit
 * (JSON_PARSER_MAX_DEPTH), so that JSON and NDJSON agree and a preview
 * never holds a value too deep for jansson's recursive free and copy. */
#define INGEST_PARSE_MAX_DEPTH 2048

typedef struct {
    struct csv_parser p;
    int initialised;
    int have_header;
    apr_int64_t nfields;  /* fields of the current row so far */
    apr_int64_t row_line; /* line the current row began on; 0 before it has */
    apr_int64_t seg_line; /* line of the slice libcsv is parsing */
    json_t *row;          /* preview object of the current row, owned */
} ingest_csv_state_t;

typedef struct {
    yajl_handle h;
    int depth;              /* 1 inside the top-level array */
    int building;           /* the current element goes to the preview */
    int collecting;         /* its keys go to the "keys" union */
    apr_int64_t first_line; /* where the top-level value begins; 0 before */
    apr_int64_t first_col;
    apr_array_header_t *stack; /* json_t *: the open containers of the element built */
    char *key;                 /* the pending object key (malloc) */
    apr_size_t key_len, key_cap;
    const char *cb_error; /* set by a callback before it cancels */
    int cb_at_first;      /* ... and it is about the top-level value */
    /* Where the token after the last value begins (see next_token() in
     * ingest_parse_json.c): the end of that value in the chunk being fed,
     * whether it is in this chunk, whether the token is still to be
     * found, and where it was found. */
    apr_size_t value_end;
    int value_end_here;
    int next_pending;
    apr_int64_t next_line, next_col;
} ingest_json_state_t;

typedef struct {
    char *buf; /* the line not yet ended (malloc), at most INGEST_PARSE_MAX_RECORD */
    apr_size_t len, cap;
} ingest_ndjson_state_t;

typedef struct {
    /* the start of the line being read, while the preview is not full */
    char cell[INGEST_PARSE_PREVIEW_CELL + 8];
    apr_size_t cell_len;
    apr_size_t line_len; /* bytes of that line so far, at most sizeof(cell) + 1 */
} ingest_text_state_t;

struct ingest_parser {
    apr_pool_t *pool;
    ingest_parse_kind_e kind;
    apr_int64_t records;

    /* Where the input stands: newlines fed, characters (UTF-8 sequences,
     * as jansson counts columns) after the last one, whether bytes follow
     * the last newline, and the position of the last byte fed. */
    apr_int64_t nl;
    apr_int64_t col;
    int partial;
    apr_int64_t last_line, last_col;

    int at_end;   /* finish was called */
    int finished; /* ... and succeeded */
    int released; /* library state and JSON values are gone */

    const char *error;
    apr_int64_t err_line, err_col;

    json_t *preview;        /* array, owned */
    json_t *names;          /* CSV: the columns; JSON, NDJSON: the keys; owned */
    apr_hash_t *names_seen; /* JSON, NDJSON: the keys already in names */

    union {
        ingest_csv_state_t csv;
        ingest_json_state_t json;
        ingest_ndjson_state_t ndjson;
        ingest_text_state_t text;
    } u;
};

/* ---------------------------------------------------- ingest_parse.c */

/* Records the first error (a later one does not replace it) and answers
 * APR_EINVAL. line and col are 1-based, 0 when not known. */
apr_status_t ingest_parse_fail(ingest_parser_t *ps, apr_int64_t line, apr_int64_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The line and column of byte k of the chunk being fed (buf, not yet
 * counted by ingest_parse_advance): k == -1 is the last byte of the chunks
 * before, k == len the byte after this chunk. */
void ingest_parse_locate(const ingest_parser_t *ps, const char *buf, apr_ssize_t k, apr_int64_t *line,
                         apr_int64_t *col);

/* Counts a chunk into the running position, after it has been parsed. */
void ingest_parse_advance(ingest_parser_t *ps, const char *buf, apr_size_t len);

/* A new JSON string of s: at most max bytes, cut on a character boundary,
 * every byte that is not part of valid UTF-8, and NUL, replaced by U+FFFD (three
 * bytes for one: INGEST_PARSE_UNCUT, not len, to keep it all). */
json_t *ingest_parse_string(const char *s, apr_size_t len, apr_size_t max);
#define INGEST_PARSE_UNCUT ((apr_size_t)-1)

/* The same cut to INGEST_PARSE_PREVIEW_CELL: a string of the preview. */
json_t *ingest_parse_cell(const char *s, apr_size_t len);

/* obj[key] = v (a new reference, consumed), the key made a valid string
 * as by ingest_parse_string, uncut. 0 or -1 as jansson's setters. */
int ingest_parse_set(json_t *obj, const char *key, apr_size_t len, json_t *v);

/* A copy of v for the preview: strings cut as by ingest_parse_cell, keys
 * made valid as by ingest_parse_set. */
json_t *ingest_parse_preview_copy(json_t *v);

/* Adds a key to the "keys" union unless it is there already. */
apr_status_t ingest_parse_add_key(ingest_parser_t *ps, const char *key, apr_size_t len);

/* ------------------------------------------------------ one per kind */

apr_status_t ingest_parse_csv_init(ingest_parser_t *ps);
apr_status_t ingest_parse_csv_feed(ingest_parser_t *ps, const char *buf, apr_size_t len);
apr_status_t ingest_parse_csv_finish(ingest_parser_t *ps);
void ingest_parse_csv_release(ingest_parser_t *ps);

apr_status_t ingest_parse_json_init(ingest_parser_t *ps);
apr_status_t ingest_parse_json_feed(ingest_parser_t *ps, const char *buf, apr_size_t len);
apr_status_t ingest_parse_json_finish(ingest_parser_t *ps);
void ingest_parse_json_release(ingest_parser_t *ps);

apr_status_t ingest_parse_ndjson_feed(ingest_parser_t *ps, const char *buf, apr_size_t len);
apr_status_t ingest_parse_ndjson_finish(ingest_parser_t *ps);
void ingest_parse_ndjson_release(ingest_parser_t *ps);

apr_status_t ingest_parse_text_feed(ingest_parser_t *ps, const char *buf, apr_size_t len);
apr_status_t ingest_parse_text_finish(ingest_parser_t *ps);

#endif
