#ifndef INGEST_VALIDATE_H
#define INGEST_VALIDATE_H

/* Request validation. Pure: every function takes parsed input and answers
 * either a typed request or the field that is wrong and why, which the
 * glue turns into a 422 problem. Nothing here touches the database. */

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#include "ingest_cursor.h"
#include "ingest_job.h"

#define INGEST_FILENAME_MAX        255
#define INGEST_IDEMPOTENCY_KEY_MAX 255
#define INGEST_LIST_LIMIT_DEFAULT  20
#define INGEST_LIST_LIMIT_MAX      100
#define INGEST_LIST_OFFSET_MAX     2147483647LL

/* Which field is wrong and what is wrong with it. field is NULL when the
 * problem is the body as a whole. */
typedef struct {
    const char *field;
    const char *detail;
} ingest_verr_t;

typedef struct {
    const char *source_type; /* file_upload (the default) or job_metadata */
    const char *filename;
    const char *file_type;
    apr_int64_t file_size;
    const char *schema;        /* the record schema as JSON text (ingest_schema.h), NULL for none */
    const char *on_bad_record; /* "fail" or "skip"; NULL: IngestOnBadRecord decides */
    const char *notify_url;    /* where to notify when the job ends, NULL for none (the policy: the glue) */
} ingest_init_req_t;

typedef struct {
    int has_status;
    ingest_status_e status;
    int limit;
    apr_int64_t offset;
    int mine;       /* user=me */
    int has_cursor; /* cursor=: the page after it (offset is then 0) */
    ingest_cursor_t cursor;
} ingest_list_req_t;

/* The members of a body that say how its records land, when present:
 * "schema" (checked, given back as compact JSON text) and "on_bad_record"
 * ("fail" or "skip"); NULL for those absent. */
apr_status_t ingest_validate_record_options(apr_pool_t *p, json_t *body, const char **schema,
                                            const char **on_bad_record, ingest_verr_t *err);

/* The body's "notify_url" when present: a string (its policy,
 * ingest_notify_url.h, is the glue's to apply, with the configuration);
 * *url NULL when absent. */
apr_status_t ingest_validate_notify_url(apr_pool_t *p, json_t *body, const char **url, ingest_verr_t *err);

/* Fills *err and returns APR_EINVAL: every validator's way to say no. */
apr_status_t ingest_verr(ingest_verr_t *err, const char *field, const char *detail);

/* The length of the valid UTF-8 character at s[i] (1..4), or 0: no
 * overlong forms, no surrogates, nothing past U+10FFFF, and no NUL. */
apr_size_t ingest_utf8_char(const char *s, apr_size_t i, apr_size_t len);

/* Whether s holds a C0 control, DEL or a C1 control (U+0080..U+009F). */
int ingest_has_control(const char *s, apr_size_t len);

/* 1..255 bytes of valid UTF-8, without '/', '\\' or control characters. */
apr_status_t ingest_validate_filename(const char *s, const char **why);

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
int ingest_utf8_valid(const char *s, apr_size_t len);

apr_status_t ingest_validate_init(apr_pool_t *p, json_t *body, apr_int64_t max_file_size,
                                  ingest_init_req_t *out, ingest_verr_t *err);

apr_status_t ingest_validate_list(apr_pool_t *p, apr_table_t *args, ingest_list_req_t *out,
                                  ingest_verr_t *err);

typedef struct {
    const char *status; /* pending, success, failed; NULL for all */
    int limit;
    apr_int64_t offset;
} ingest_results_req_t;

/* GET /api/ingest/status/{id}/results: status, limit (1..100, default 20),
 * offset; anything else is refused by name, like the jobs listing. */
apr_status_t ingest_validate_results(apr_pool_t *p, apr_table_t *args, ingest_results_req_t *out,
                                     ingest_verr_t *err);

#define INGEST_RECORDS_LIMIT_DEFAULT 100
#define INGEST_RECORDS_LIMIT_MAX     1000

typedef struct {
    int limit;         /* 1..1000, default 100 */
    apr_int64_t after; /* the seq the page starts after, 0: the first */
} ingest_records_req_t;

/* GET /api/ingest/status/{id}/records: limit and after; anything else is
 * refused by name. */
apr_status_t ingest_validate_records(apr_pool_t *p, apr_table_t *args, ingest_records_req_t *out,
                                     ingest_verr_t *err);

typedef struct {
    const char *job_id; /* NULL: every job of the tenant */
    apr_int64_t after;  /* an event id, when has_after */
    int has_after;
} ingest_events_req_t;

/* GET /api/ingest/events: job_id (a UUID) and after (an event id: digits),
 * each at most once; anything else is refused by name. The Last-Event-ID
 * header, which takes precedence over after, is the caller's to read. */
apr_status_t ingest_validate_events(apr_pool_t *p, apr_table_t *args, ingest_events_req_t *out,
                                    ingest_verr_t *err);

/* What every listing's query shares: only the allowed names (anything
 * else is refused with expected as the detail), each at most once; limit
 * (1..100, default_limit) and offset (0..2^31-1), which may also be
 * called skip when allowed names it. */
apr_status_t ingest_validate_page(apr_pool_t *p, apr_table_t *args, const char *const *allowed,
                                  const char *expected, int default_limit, int *limit, apr_int64_t *offset,
                                  ingest_verr_t *err);

/* Parses a plain decimal (digits only, no sign, no spaces) into [min, max]. */
apr_status_t ingest_parse_int(const char *s, apr_int64_t min, apr_int64_t max, apr_int64_t *out);

/* Canonical 8-4-4-4-12 hex UUID, any case. */
int ingest_is_uuid(const char *s);

/* 1..255 printable ASCII characters. */
apr_status_t ingest_validate_idempotency_key(const char *k, const char **why);

#endif
