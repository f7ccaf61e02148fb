#ifndef INGEST_RECORD_JSON_H
#define INGEST_RECORD_JSON_H

/* A record of a parsed file as the JSON text PostgreSQL stores in
 * ingest_records.data, appended to a COPY buffer (ingest_copy.h):
 *   a CSV row:        {"<column>": "<field>", ...} in header order (with a
 *                     repeated column name, jsonb keeps the last value)
 *   a text line:      {"line": "<the line>"}
 *   a JSON value:     as it is (JSON and NDJSON elements)
 * Strings are escaped as JSON requires; bytes that are not valid UTF-8 and
 * NUL (which jsonb refuses, as "\u0000") become U+FFFD. Pure. */

#include <jansson.h>

#include "ingest_copy.h"

void ingest_record_json_string(ingest_copy_t *b, const char *s, apr_size_t len);
void ingest_record_json_csv(ingest_copy_t *b, apr_size_t n, const char *const *names,
                            const apr_size_t *name_lens, const char *const *fields,
                            const apr_size_t *field_lens);
void ingest_record_json_line(ingest_copy_t *b, const char *s, apr_size_t len);
void ingest_record_json_value(ingest_copy_t *b, const json_t *v);

#endif
