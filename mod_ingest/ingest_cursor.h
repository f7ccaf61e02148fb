#ifndef INGEST_CURSOR_H
#define INGEST_CURSOR_H

/* The keyset cursor of GET /api/ingest/jobs. Pure.
 *
 * A page is the tenant's jobs newest first, ordered by (created_at DESC,
 * job_id DESC); a cursor is the position of a page's last job, and the next
 * page is the jobs strictly after it in that order. On the wire it is the
 * base64url (no padding) of "<created_at>~<job_id>", created_at in UTC with
 * microseconds ("2026-01-03T22:00:00.123456Z", what PostgreSQL stores) and
 * job_id a lowercase UUID. Clients treat it as opaque; it carries no tenant
 * and no secret: the query is always the caller's own jobs, so a cursor
 * from elsewhere can only move a position within them. */

#include <apr_pools.h>

/* ingest_cursor_format writes 86 characters (27 + 1 + 36 bytes); 128
 * leaves room for the other RFC 3339 spellings parse accepts (96 at most) */
#define INGEST_CURSOR_MAX 128

typedef struct {
    apr_int64_t created_us; /* microseconds since the epoch, UTC */
    const char *created_at; /* the same as RFC 3339 with microseconds */
    const char *job_id;     /* canonical lowercase */
} ingest_cursor_t;

/* The cursor after the job created at created_us (microseconds since the
 * epoch) with job_id (a UUID, any case); NULL when job_id is not one. */
const char *ingest_cursor_format(apr_pool_t *p, apr_int64_t created_us, const char *job_id);

/* Reads a cursor as ingest_cursor_format writes it (any RFC 3339 offset and
 * 1..9 fraction digits are also accepted inside, and read to the
 * microsecond). APR_SUCCESS, or APR_EINVAL with *why, a detail that follows
 * the parameter's name:
 *   "must not be empty"
 *   "is not a cursor of this listing: longer than 128 characters"
 *   "is not a cursor of this listing: not base64url"
 *   "is not a cursor of this listing: expected <created_at>~<job_id>"
 *   "is not a cursor of this listing: created_at is not an RFC 3339 time"
 *   "is not a cursor of this listing: job_id is not a UUID" */
apr_status_t ingest_cursor_parse(apr_pool_t *p, const char *s, ingest_cursor_t *out, const char **why);

#endif
