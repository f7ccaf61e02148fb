#ifndef INGEST_SCHEMA_H
#define INGEST_SCHEMA_H

/* A job's optional record schema (issue 13, "types and validation"):
 *   {"fields": {"<name>": {"type": "string|integer|number|boolean|date|timestamp",
 *                          "required": true|false}},
 *    "additional": true|false}
 * parsed once with precise errors, then applied to every record: the
 * declared fields converted to their types (a CSV file's strings:
 * "12.50" -> 12.5), or the record refused with the field and the reason.
 * Pure: no httpd, no database. */

#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#include "ingest_validate.h"

typedef enum {
    INGEST_FT_STRING,
    INGEST_FT_INTEGER,
    INGEST_FT_NUMBER,
    INGEST_FT_BOOLEAN,
    INGEST_FT_DATE,
    INGEST_FT_TIMESTAMP,
} ingest_field_type_e;

/* The type's name ("integer"); NULL for none. */
const char *ingest_field_type_name(ingest_field_type_e t);

typedef struct {
    const char *name;
    ingest_field_type_e type;
    int required;
} ingest_schema_field_t;

typedef struct {
    apr_array_header_t *fields; /* ingest_schema_field_t, in the order given */
    apr_hash_t *by_name;        /* name -> ingest_schema_field_t * */
    int additional;             /* fields not declared are allowed (the default) */
} ingest_schema_t;

/* At most this many fields, each name at most 255 bytes. */
#define INGEST_SCHEMA_MAX_FIELDS 1000

/* j is the value of "schema". APR_EINVAL with err filled ("schema.fields.price.type"
 * must be one of ...) when it is not a schema. */
apr_status_t ingest_schema_parse(apr_pool_t *p, const json_t *j, ingest_schema_t **out, ingest_verr_t *err);

/* One record (an object) checked and converted: a new object (the caller
 * owns it) with every declared field of its type, the others as they are
 * (with "additional": true), or NULL with err naming the field and why:
 *  - a required field missing, null or "" is refused ("is required"); a
 *    field that is not required may be missing (it stays so), and null or
 *    "" makes it null (a string field keeps "");
 *  - integer: a JSON integer, or a string of an optional sign and digits
 *    within 64 bits;
 *  - number: a JSON number, or a string in JSON's number syntax (an
 *    integer within 64 bits stays an integer: "6" is 6, "6.0" is 6.0);
 *  - boolean: true or false, or the strings "true" and "false" (any case);
 *  - date: "YYYY-MM-DD" (calendar-valid), kept as that string;
 *  - timestamp: RFC 3339 with an offset, given back in UTC
 *    ("2026-12-02T10:00:00.000000Z");
 *  - string: a JSON string;
 *  - with "additional": false, a field that is not declared is refused.
 * Strings of err are allocated from p. */
json_t *ingest_schema_apply(apr_pool_t *p, const ingest_schema_t *s, const json_t *rec, ingest_verr_t *err);

#endif
