#ifndef MOD_INGEST_QUOTA_H
#define MOD_INGEST_QUOTA_H

/* Per-tenant quotas of a location: IngestTenantMaxActiveJobs and
 * IngestTenantMaxStorage. With neither set, nothing happens here and the
 * write keeps its single autocommitted statement. With one set, the write
 * runs in a transaction that first takes the tenant's advisory lock and
 * reads its usage, so concurrent requests of one tenant are judged one
 * after the other and the limit is exact.
 *
 *     if ((rc = ingest_quota_enter(r, dbd, &q)) != DECLINED) return rc;
 *     rv = <the write>;
 *     rv = ingest_quota_leave(r, dbd, &q, rv);   COMMIT or ROLLBACK
 */

#include <httpd.h>

#include "mod_ingest_db.h"

typedef struct {
    const char *tenant;
    const char *key;    /* the request's Idempotency-Key: a replay is never refused */
    const char *job_id; /* an upload's job (its own reservation is not counted), or NULL */
    int new_job;        /* the write creates a job: IngestTenantMaxActiveJobs applies */
    apr_off_t bytes;    /* bytes the write stores (or announces) */
    int in_txn;         /* set by ingest_quota_enter */
} ingest_quota_t;

/* DECLINED: go on with the write (in a transaction when q->in_txn).
 * Otherwise the response has been sent (429, 507, or a database error) and nothing
 * is held. */
int ingest_quota_enter(request_rec *r, ap_dbd_t *dbd, ingest_quota_t *q);

/* Ends the transaction, if any: COMMIT when rv is APR_SUCCESS (and answers
 * its outcome), ROLLBACK otherwise (and answers rv). */
apr_status_t ingest_quota_leave(request_rec *r, ap_dbd_t *dbd, ingest_quota_t *q, apr_status_t rv);

#endif
