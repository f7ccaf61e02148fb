#ifndef INGEST_JOB_H
#define INGEST_JOB_H

/* The job model: statuses, priorities, file types and the state machine.
 * Pure: no httpd headers, so the unit tests link it alone. */

#include <apr_errno.h>
#include <apr.h>
#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>

typedef enum {
    INGEST_ST_PENDING = 0,
    INGEST_ST_QUEUED,
    INGEST_ST_RUNNING,
    INGEST_ST_COMPLETED,
    INGEST_ST_FAILED,
    INGEST_ST_COUNT
} ingest_status_e;

typedef enum {
    INGEST_PRIO_HIGH = 0,
    INGEST_PRIO_MEDIUM,
    INGEST_PRIO_LOW,
    INGEST_PRIO_COUNT
} ingest_priority_e;

const char *ingest_status_name(ingest_status_e st);
apr_status_t ingest_status_parse(const char *s, ingest_status_e *out);
int ingest_status_is_terminal(ingest_status_e st);

/* Whether the state machine allows from -> to. The database enforces the
 * same edges with guarded UPDATEs; this is what callers consult before
 * asking it. */
int ingest_status_can_transition(ingest_status_e from, ingest_status_e to);

const char *ingest_priority_name(ingest_priority_e p);
apr_status_t ingest_priority_parse(const char *s, ingest_priority_e *out);

/* File types accepted by POST /api/ingest/init; NULL-terminated. */
extern const char *const ingest_file_types[];
int ingest_file_type_valid(const char *s);

/* Progress in whole percent, 0..100, never more than 99 until the job is
 * completed, so a bar never shows "done" for a job that can still fail. */
int ingest_job_progress(ingest_status_e st, apr_int64_t total, apr_int64_t processed);

/* A time-ordered (version 7, RFC 9562) UUID made at `now`: 48 bits of Unix
 * milliseconds, then 74 random bits; the same form as sql/013's
 * ingest_uuid_v7(), for ids chosen before the row exists (a file is stored
 * under its job's id before the job is inserted). */
const char *ingest_uuid_v7(apr_pool_t *p, apr_time_t now);

/* Adds what the API shows but does not store ("progress") to a job
 * document as ingest_job_json() in SQL renders it. */
void ingest_job_add_derived(json_t *job);

#endif
