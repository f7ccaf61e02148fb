/* GET /api/ingest/status/{job_id}/deliveries: the notifications of a job
 * that asked for one (notify_url), with every attempt. POST
 * .../deliveries/redeliver: send it again (same webhook-id, attempts
 * counting on, a fresh IngestNotifyMaxAttempts budget). */

#include <apr_strings.h>
#include <http_protocol.h>

#include "mod_ingest_api.h"
#include "mod_ingest_http.h"
#include "mod_ingest_store.h"

int ingest_api_deliveries(request_rec *r, const ingest_identity_t *id, const char *job_id)
{
    ap_dbd_t *dbd;
    json_t *out = NULL;
    apr_status_t rv;

    if ((rv = ingest_db_acquire(r, &dbd)) != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    rv = ingest_store_deliveries_list(r->pool, r->server, dbd, id, job_id, &out);
    if (rv == APR_NOTFOUND) {
        return ingest_send_not_found(r);
    }
    if (rv != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    return ingest_send_json(r, HTTP_OK, out);
}

int ingest_api_redeliver(request_rec *r, const ingest_identity_t *id, const char *job_id)
{
    ap_dbd_t *dbd;
    json_t *res = NULL, *delivery, *out;
    const char *status;
    apr_status_t rv;

    if ((rv = ingest_db_acquire(r, &dbd)) != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    rv = ingest_store_deliveries_redeliver(r->pool, r->server, dbd, id, job_id, &res);
    if (rv == APR_NOTFOUND) {
        return ingest_send_not_found(r);
    }
    if (rv != APR_SUCCESS) {
        return ingest_send_db_error(r, rv);
    }
    delivery = json_object_get(res, "delivery");
    if (!json_is_object(delivery)) {
        if (!json_is_string(json_object_get(res, "notify_url"))) {
            return ingest_send_error(r, HTTP_CONFLICT, "no-notify-url", "Nothing to redeliver",
                                     "the job was created without a notify_url");
        }
        status = json_string_value(json_object_get(res, "status"));
        return ingest_send_error(r, HTTP_CONFLICT, "job-not-ended", "Nothing to redeliver",
                                 apr_psprintf(r->pool,
                                              "the job is %s; its notification is sent when it is completed "
                                              "or failed",
                                              status ? status : "not ended"));
    }
    out = ingest_json_pool_own(r->pool, json_object());
    json_object_set(out, "job_id", json_object_get(res, "job_id"));
    json_object_set(out, "notify_url", json_object_get(res, "notify_url"));
    json_object_set(out, "delivery", delivery);
    return ingest_send_json(r, HTTP_ACCEPTED, out);
}
