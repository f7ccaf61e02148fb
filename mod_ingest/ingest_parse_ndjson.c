#include <string.h>

#include "ingest_parse_internal.h"

/* One JSON object a line, read with jansson once the line has ended; the
 * lines are split by ingest_parse_lines_feed. */

typedef struct {
    ingest_parse_linebuf_t lb; /* the line not yet ended */
} ndjson_state_t;

/* JSON's whitespace but the line feed, which ends the line. */
static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* One whole line, without its line feed. */
static apr_status_t one_line(ingest_parser_t *ps, const char *s, apr_size_t len, apr_int64_t lineno)
{
    ingest_record_t rec = {0};
    json_error_t jerr;
    json_t *j;
    apr_size_t i;
    apr_status_t rv;

    for (i = 0; i < len && is_space(s[i]); ++i) {
    }
    if (i == len) {
        return APR_SUCCESS;
    }
    /* DECODE_ANY: a line that is valid JSON but not an object gets its own
     * message; ALLOW_NUL: as yajl, for the JSON format, allows "\u0000" */
    j = json_loadb(s, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!j) {
        /* the line is jansson's whole input: its column is the line's */
        /* the position travels separately (line, column), as for JSON */
        return ingest_parse_bad(ps, lineno, jerr.column, NULL, "malformed JSON: %s", jerr.text);
    }
    if (!json_is_object(j)) {
        json_decref(j);
        /* leading whitespace is ASCII: one byte, one column */
        return ingest_parse_bad(ps, lineno, (apr_int64_t)i + 1, NULL,
                                "line %" APR_INT64_T_FMT " is not a JSON object", lineno);
    }
    rec.line = lineno;
    rec.value = j;
    rv = ingest_parse_record(ps, &rec);
    json_decref(j);
    return rv;
}

static apr_status_t ndjson_feed(ingest_parser_t *ps, const char *buf, apr_size_t len)
{
    ndjson_state_t *ns = ps->state;
    return ingest_parse_lines_feed(ps, &ns->lb, buf, len, one_line);
}

static apr_status_t ndjson_finish(ingest_parser_t *ps)
{
    ndjson_state_t *ns = ps->state;
    return ingest_parse_lines_finish(ps, &ns->lb, one_line);
}

static void ndjson_release(ingest_parser_t *ps)
{
    ndjson_state_t *ns = ps->state;
    ingest_parse_lines_release(&ns->lb);
}

const ingest_parse_format_t ingest_parse_format_ndjson = {
    .name = "ndjson",
    .names_key = "keys",
    .state_size = sizeof(ndjson_state_t),
    .feed = ndjson_feed,
    .finish = ndjson_finish,
    .release = ndjson_release,
};
