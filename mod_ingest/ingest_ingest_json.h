#ifndef INGEST_INGEST_JSON_H
#define INGEST_INGEST_JSON_H

/* POST /api/ingest/json bodies: {"records": [...], "schema": {...},
 * "on_bad_record": "fail|skip"} (seed 001's JSON ingest; schema and
 * on_bad_record optional, as for POST init), {"mappings": [...], "priority": ...} (seed 002) or
 * {"jobs": [...]} (seed 003's ML job metadata, each record checked by the
 * worker, so that a bad one fails alone). Pure. */

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#include "ingest_job.h"
#include "ingest_validate.h"

#define INGEST_RECORDS_MAX     100000
#define INGEST_MAPPINGS_MAX    10000
#define INGEST_JOBS_MAX        100000
#define INGEST_MAPPING_ID_MAX  255
#define INGEST_MAPPING_STR_MAX 1024

typedef enum { INGEST_JSON_RECORDS = 1, INGEST_JSON_MAPPINGS = 2, INGEST_JSON_JOBS = 3 } ingest_json_kind_e;

typedef struct {
    const char *id;
    const char *source;
    const char *target;
    const char *transformation; /* compact JSON text of the object, or NULL */
} ingest_mapping_t;

typedef struct {
    ingest_json_kind_e kind;
    ingest_priority_e priority;   /* MEDIUM when absent */
    apr_array_header_t *mappings; /* of ingest_mapping_t, for MAPPINGS */
    json_t *records;              /* borrowed: the body's array, for RECORDS and JOBS */
    apr_size_t count;             /* records, mappings or jobs */
    const char *schema;           /* RECORDS: the record schema as JSON text, NULL for none */
    const char *on_bad_record;    /* RECORDS: "fail" or "skip", NULL: IngestOnBadRecord */
    const char *notify_url;       /* where to notify when the job ends, NULL for none */
} ingest_json_req_t;

/* APR_SUCCESS or APR_EINVAL with err->field naming the place, e.g.
 * "mappings[3].target", "records[0]", "jobs", "priority", or NULL for the body. */
apr_status_t ingest_validate_json_ingest(apr_pool_t *p, json_t *body, ingest_json_req_t *out,
                                         ingest_verr_t *err);

/* The records as NDJSON text (one compact object per line), in p. */
char *ingest_records_ndjson(apr_pool_t *p, json_t *records, apr_size_t *len);

#endif
