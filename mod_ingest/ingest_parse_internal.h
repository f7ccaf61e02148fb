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

/* ingest_parser_feed hands a format at most this much at a time, so that
 * a record growing past its limit is caught within this many bytes,
 * however large the caller's chunks. */
#define INGEST_PARSE_SLICE (64 * 1024)

/* A position in the chunk being fed: byte k is at line:col. */
typedef struct {
    apr_size_t k;
    apr_int64_t line, col;
} ingest_parse_cursor_t;

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
    json_t *row;               /* preview object of the current row, owned by the preview */
} ingest_csv_state_t;

/* What the bytes after the last value at the top hold (JSON). */
typedef enum {
    INGEST_JSON_EXPECT_NONE,    /* nothing looked for */
    INGEST_JSON_EXPECT_ELEMENT, /* after '[' or ',': an element or ']' */
    INGEST_JSON_EXPECT_COMMA,   /* after an element: ',' or ']' */
} ingest_json_expect_e;

typedef struct {
    yajl_handle h;
    int depth;              /* 1 inside the top-level array */
    int building;           /* the current element goes to the preview */
    int collecting;         /* its keys go to the "keys" union */
    apr_int64_t first_line; /* where the top-level value begins; 0 before */
    apr_int64_t first_col;
    char first_char;                 /* ... and its first byte */
    apr_array_header_t *stack;       /* json_t *: the open containers of the element built */
    char *key;                       /* the pending object key, at most cell_bytes + 4 of it */
    apr_size_t key_len;              /* its length (the whole key's) */
    const char *cb_error;            /* set by a callback before it cancels */
    apr_int64_t cb_line, cb_col;     /* ... where, when the callback knows (0: where yajl stopped) */
    int cb_too_long;                 /* ... cb_error names an element too long */
    const char *chunk;               /* the chunk being fed */
    apr_int64_t elem_start;          /* offset of the open element's first byte */
    apr_int64_t elem_line, elem_col; /* ... and its position */
    ingest_json_expect_e expect;     /* what the bytes from scan_k on hold */
    apr_size_t scan_k;               /* in the chunk being fed */
    ingest_parse_cursor_t cur;       /* a cursor that only moves forward in that chunk */
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
    char *buf; /* the line not yet ended (malloc), at most record_bytes */
    apr_size_t len, cap;
} ingest_ndjson_state_t;

typedef struct {
    /* the start of the line being read, while the preview is not full:
     * cell_bytes and a few more, to cut on a character boundary (pool) */
    char *cell;
    apr_size_t cell_cap;
    apr_size_t cell_len;
    apr_size_t line_len; /* bytes of that line so far, at most cell_cap + 1 */
    apr_size_t lines;    /* lines offered to the preview */
} ingest_text_state_t;

struct ingest_parser {
    apr_pool_t *pool;
    ingest_parse_kind_e kind;
    ingest_parse_limits_t lim;
    apr_int64_t records;

    /* Where the input stands: bytes and newlines fed, characters (UTF-8
     * sequences, as jansson counts columns) after the last newline,
     * whether bytes follow the last newline, and the position of the last
     * byte fed. */
    apr_int64_t offset;
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
    apr_size_t preview_len; /* its JSON text's length */
    int preview_full;       /* a value was left out: nothing more goes in */
    json_t *names;          /* CSV: the columns; JSON, NDJSON: the keys; owned */
    apr_size_t names_len;   /* its JSON text's length */
    int names_full;         /* a name was left out: nothing more goes in */
    apr_hash_t *names_seen; /* JSON, NDJSON: the keys already in names, as listed */
    int truncated;          /* something was cut or left out */

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

/* A new JSON string of s: at most max bytes, cut on a character boundary
 * (*cut, when not NULL, says whether it was), every byte that is not part
 * of valid UTF-8, and NUL, replaced by U+FFFD (three bytes for one). */
json_t *ingest_parse_string(const char *s, apr_size_t len, apr_size_t max, int *cut);

/* The same cut to cell_bytes: a listed name, or a key or string of the
 * preview. A cut makes the summary say truncated. */
json_t *ingest_parse_cell(ingest_parser_t *ps, const char *s, apr_size_t len);

/* Puts v (a new reference, consumed) into c, the preview or a container
 * in it, under key (cut as a cell) when c is an object. v is a scalar (a
 * string cut as a cell) or an empty container, which the preview's budget
 * counts as its two brackets. 1: added; 0: over the budget, so v is
 * dropped, and so is every value offered after it (the summary says
 * truncated); -1: out of memory. */
int ingest_parse_preview_put(ingest_parser_t *ps, json_t *c, const char *key, apr_size_t key_len, json_t *v);

/* A copy of v put into c as by ingest_parse_preview_put, member by member
 * while the budget lasts: strings cut as cells. 1, 0 or -1 as that. */
int ingest_parse_preview_copy(ingest_parser_t *ps, json_t *c, const char *key, apr_size_t key_len, json_t *v);

/* Lists a name (CSV: a column, duplicates too; JSON, NDJSON, unique: a key,
 * once), cut as a cell, while the list has room. */
apr_status_t ingest_parse_add_name(ingest_parser_t *ps, const char *name, apr_size_t len, int unique);

/* ------------------------------------------------------ one per kind */

apr_status_t ingest_parse_csv_init(ingest_parser_t *ps);
apr_status_t ingest_parse_csv_feed(ingest_parser_t *ps, const char *buf, apr_size_t len);
apr_status_t ingest_parse_csv_finish(ingest_parser_t *ps);
void ingest_parse_csv_release(ingest_parser_t *ps);

apr_status_t ingest_parse_json_init(ingest_parser_t *ps);
apr_status_t ingest_parse_json_feed(ingest_parser_t *ps, const char *buf, apr_size_t len);
apr_status_t ingest_parse_json_finish(ingest_parser_t *ps);
/* How many bytes yajl may be given next: never past the byte that makes
 * the open element too long, so that whether an element is too long or
 * wrong does not depend on how the input is cut. */
apr_size_t ingest_parse_json_room(const ingest_parser_t *ps);
void ingest_parse_json_release(ingest_parser_t *ps);

apr_status_t ingest_parse_ndjson_feed(ingest_parser_t *ps, const char *buf, apr_size_t len);
apr_status_t ingest_parse_ndjson_finish(ingest_parser_t *ps);
void ingest_parse_ndjson_release(ingest_parser_t *ps);

apr_status_t ingest_parse_text_init(ingest_parser_t *ps);
apr_status_t ingest_parse_text_feed(ingest_parser_t *ps, const char *buf, apr_size_t len);
apr_status_t ingest_parse_text_finish(ingest_parser_t *ps);

#endif
