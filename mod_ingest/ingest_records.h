#ifndef INGEST_RECORDS_H
#define INGEST_RECORDS_H

/* A stream of JSON records, read a slice at a time, each record handed to
 * a callback as soon as it has ended, so that a file of any size is read
 * in memory bounded by its largest record. The shapes:
 *  - JSON: an array of records, or an object whose only member is such an
 *    array (the member's name is the reader's, e.g. "jobs");
 *  - NDJSON: one record a line; blank lines are skipped.
 * A record is any JSON value (what it must be is the callback's to say).
 * A record longer than record_bytes, or JSON that is not well formed
 * (NDJSON: a line; JSON: anywhere), fails the read with a message that
 * names the line and column. A reader that does not build hands NULL for
 * every record and only counts them and checks the syntax and the sizes:
 * a first pass, so that a broken file changes nothing. Pure. */

#include <apr_pools.h>
#include <jansson.h>

typedef struct ingest_records ingest_records_t;

/* rec is borrowed (NULL when not building). For an NDJSON line that is not
 * JSON, rec is NULL and bad says why ("malformed JSON: ..."): the line is
 * a record that failed, not a broken file. A status other than
 * APR_SUCCESS ends the read with it. */
typedef apr_status_t ingest_records_fn(void *ctx, apr_int64_t idx, apr_int64_t line, json_t *rec,
                                       const char *bad);

/* member: the wrapping object's member (JSON). build: build each record
 * as a jansson value. The reader's state lives in p. */
apr_status_t ingest_records_create(apr_pool_t *p, int ndjson, const char *member, apr_size_t record_bytes,
                                   int build, ingest_records_fn *fn, void *ctx, ingest_records_t **out);
apr_status_t ingest_records_feed(ingest_records_t *rr, const char *buf, apr_size_t len);
apr_status_t ingest_records_finish(ingest_records_t *rr);

/* yajl's raw number as jansson's: an integer when it is one that fits a
 * json_int_t, else a real; NULL when it is beyond a double (or out of
 * memory), for the caller to keep as text. */
json_t *ingest_json_number(const char *s, size_t len);

/* Records handed over so far. */
apr_int64_t ingest_records_count(const ingest_records_t *rr);

/* Why the read failed ("line 3, column 7: malformed JSON: ..."), or NULL
 * when it failed in the callback or has not failed. */
const char *ingest_records_error(const ingest_records_t *rr);

#endif
