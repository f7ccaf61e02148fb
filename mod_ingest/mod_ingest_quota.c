/* IngestTenantMaxActiveJobs and IngestTenantMaxStorage: judged under the
 * tenant's lock, in the transaction of the write they guard. */

#include <apr_strings.h>
#include <http_protocol.h>

#include "mod_ingest_config.h"
#include "mod_ingest_http.h"
#include "mod_ingest_quota.h"
#include "mod_ingest_store.h"

int ingest_quota_enter(request_rec *r, ap_dbd_t *dbd, ingest_quota_t *q)
{
    const ingest_dir_conf *dc = ingest_dconf(r);
    int max_active = q->new_job ? ingest_conf_tenant_max_active(dc) : 0;
    apr_off_t max_storage = q->bytes > 0 ? ingest_conf_tenant_max_storage(dc) : 0;
    ingest_quota_usage_t u;
    apr_status_t rv;

    q->in_txn = 0;
    if (!max_active && !max_storage) {
        return DECLINED;
    }
    if ((rv = ingest_db_begin(r->server, dbd)) != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    rv = ingest_store_quota_usage(r->pool, r->server, dbd, q->tenant, q->key, q->job_id, &u);
    if (rv != APR_SUCCESS) {
        ingest_db_end(r->server, dbd, rv);
        return ingest_send_db_error(r, rv);
    }
    /* an Idempotency-Key replay answers its existing job */
    if (!u.replay && max_active && u.active >= max_active) {
        ingest_db_end(r->server, dbd, INGEST_EDB_CONFLICT);
        apr_table_setn(r->headers_out, "Retry-After", apr_itoa(r->pool, ingest_conf_retry_after(dc)));
        return ingest_send_error(r, HTTP_TOO_MANY_REQUESTS, "tenant-quota-exceeded", "Tenant quota exceeded",
                                 apr_psprintf(r->pool,
                                              "IngestTenantMaxActiveJobs: this tenant has %" APR_INT64_T_FMT
                                              " active jobs (pending, queued or running), the most allowed "
                                              "is %d",
                                              u.active, max_active));
    }
    if (!u.replay && max_storage && u.stored + u.reserved + q->bytes > max_storage) {
        ingest_db_end(r->server, dbd, INGEST_EDB_CONFLICT);
        return ingest_send_error(
            r, HTTP_INSUFFICIENT_STORAGE, "tenant-storage-exceeded", "Tenant storage quota exceeded",
            apr_psprintf(r->pool,
                         "IngestTenantMaxStorage: this tenant stores %" APR_INT64_T_FMT
                         " bytes and has %" APR_INT64_T_FMT " more announced; %" APR_OFF_T_FMT
                         " more would pass the quota of %" APR_OFF_T_FMT " bytes",
                         u.stored, u.reserved, q->bytes, max_storage));
    }
    q->in_txn = 1;
    return DECLINED;
}

apr_status_t ingest_quota_leave(request_rec *r, ap_dbd_t *dbd, ingest_quota_t *q, apr_status_t rv)
{
    if (!q->in_txn) {
        return rv;
    }
    q->in_txn = 0;
    return ingest_db_end(r->server, dbd, rv);
}
