#ifndef INGEST_JOBMETA_H
#define INGEST_JOBMETA_H

/* Seed 003's ML job metadata: one record of a POST /api/ingest/json body
 * checked against its schema, its cost attributed to UTC calendar days, and
 * the row the worker's batch statement takes. RFC 3339 date-times and
 * calendar dates without libc time zones. Pure: APR and jansson only. */

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#include "ingest_validate.h"

#define INGEST_JOBMETA_ID_MAX    100  /* job_id, team, gpu_type, provider: bytes */
#define INGEST_JOBMETA_MODEL_MAX 200  /* model_name: bytes */
#define INGEST_JOBMETA_SPAN_MAX  3660 /* days from started_at to ended_at at most */

typedef struct {
    const char *job_id, *team, *model_name, *gpu_type, *provider, *status; /* status may be NULL (absent) */
    apr_int64_t started_us; /* microseconds since the epoch, UTC */
    apr_int64_t ended_us;   /* valid when has_ended */
    int has_ended;
    double gpu_hours; /* valid when has_gpu_hours */
    int has_gpu_hours;
    double cost_usd;
} ingest_jobmeta_t;

typedef struct {
    apr_int64_t day; /* days since 1970-01-01 (UTC calendar day) */
    double cost_usd;
    double gpu_hours; /* 0 when the record has none */
} ingest_jobmeta_day_t;

/* One record (any JSON value) against the schema:
 *   job_id, team, gpu_type, provider  string of 1..100 bytes, required
 *   model_name                        string of 1..200 bytes, required
 *   status                            queued, running, completed, failed or cancelled; optional
 *   started_at                        RFC 3339 date-time with an offset, required
 *   ended_at                          the same, optional, not before started_at and at most
 *                                     3660 days after it
 *   gpu_hours                         number >= 0, optional
 *   cost_usd                          number >= 0, required
 * checked in that order, so the first wrong field is the one reported.
 * Strings are valid UTF-8 without control characters; JSON null in an
 * optional field means absent; unknown fields are ignored. On failure
 * APR_EINVAL with err->field the field's name (NULL when the record is not
 * an object) and err->detail why, in words. The strings of *out are in p. */
apr_status_t ingest_jobmeta_parse(apr_pool_t *p, json_t *rec, ingest_jobmeta_t *out, ingest_verr_t *err);

/* cost_usd and gpu_hours spread over the UTC calendar days of [started,
 * ended) in proportion to the microseconds of that interval on each day
 * (a job ending at midnight has nothing on the day after). Without ended_at,
 * or when ended == started, everything goes to the day of started. An
 * array of ingest_jobmeta_day_t in day order; every share is >= 0 and a
 * multiple of the unit in the last place of the total, the last day has the
 * remainder, and so the days summed as doubles, in any order, give
 * cost_usd (and gpu_hours) exactly. A share is at most that one unit off
 * its exact proportion. */
apr_array_header_t *ingest_jobmeta_days(apr_pool_t *p, const ingest_jobmeta_t *m);

/* The JSON row the worker's batch statement takes for record idx:
 * valid: {"idx", "ok": true, "job_id", "team", "model_name", "gpu_type",
 *         "provider", "status" (or null), "started_at", "ended_at" (or null)
 *         as "2026-01-03T22:00:00.000000Z", "gpu_hours" (or null),
 *         "cost_usd", "days": [{"day": "YYYY-MM-DD", "cost_usd", "gpu_hours"}]}
 * invalid: {"idx", "ok": false, "job_id" (the record's when it is a valid
 *           job_id, else null), "error": "<field>: <detail>" or the detail}.
 * A new reference; NULL only when out of memory. */
json_t *ingest_jobmeta_row(apr_pool_t *p, apr_size_t idx, json_t *rec);

/* Strict RFC 3339 date-time, YYYY-MM-DDTHH:MM:SS[.fraction]OFFSET with
 * 'T', 't' or ' ' between date and time, OFFSET 'Z', 'z' or +hh:mm/-hh:mm,
 * years 0001..9999, calendar-valid, seconds 00..59 (no leap second), a
 * fraction of 1..9 digits truncated to the microsecond. Nothing may follow.
 * -> microseconds since the epoch, UTC; APR_EINVAL otherwise. */
apr_status_t ingest_rfc3339_parse(const char *s, apr_int64_t *us);

/* "YYYY-MM-DD", years 0001..9999, calendar-valid -> days since the epoch. */
apr_status_t ingest_date_parse(const char *s, apr_int64_t *day);

/* days since the epoch -> "YYYY-MM-DD" in p. */
const char *ingest_date_format(apr_pool_t *p, apr_int64_t day);

/* microseconds since the epoch -> "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" in p. */
const char *ingest_rfc3339_format(apr_pool_t *p, apr_int64_t us);

#endif
