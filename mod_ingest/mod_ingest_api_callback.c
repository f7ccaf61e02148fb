/* POST /api/pipeline/callback: an external pipeline reports progress or the
 * end of a job. Not tenant-scoped: the pipeline proves itself with a
 * Standard Webhooks signature instead. */

#include <apr_atomic.h>
#include <apr_strings.h>
#include <http_protocol.h>

#include "ingest_callback.h"
#include "ingest_job.h"
#include "ingest_webhook.h"
#include "mod_ingest_api.h"
#include "mod_ingest_config.h"
#include "mod_ingest_http.h"
#include "mod_ingest_metrics.h"
#include "mod_ingest_store.h"

static int unauthorized(request_rec *r, const char *why)
{
    /* 401 must name a scheme; this one says what the pipeline must do */
    apr_table_setn(r->err_headers_out, "WWW-Authenticate", "Webhook-Signature realm=\"pipeline\"");
    return ingest_send_error(r, HTTP_UNAUTHORIZED, "unauthorized", "Unauthorized", why);
}

/* rc, once the callback's outcome is counted */
static int counted(ingest_metric_e m, int rc)
{
    ingest_metrics_inc(m);
    return rc;
}

/* The answer for an outcome, first delivery or replay alike; a replay
 * counts as a duplicate whatever it answers. */
static int answer(request_rec *r, json_t *outcome, int replay)
{
    int code = (int)json_integer_value(json_object_get(outcome, "http_status"));
    json_t *resp = json_object_get(outcome, "response");

    ingest_metrics_inc(replay                  ? INGEST_M_CALLBACK_DUPLICATE
                       : code == HTTP_OK       ? INGEST_M_CALLBACK_APPLIED
                       : code == HTTP_CONFLICT ? INGEST_M_CALLBACK_CONFLICT
                                               : INGEST_M_CALLBACK_NOT_FOUND);

    if (code == HTTP_OK && json_is_object(resp)) {
        json_t *job = json_deep_copy(resp);
        ingest_job_add_derived(job);
        ingest_json_pool_own(r->pool, job);
        return ingest_send_json(r, HTTP_OK, job);
    }
    if (code == HTTP_CONFLICT) {
        return ingest_send_error(r, HTTP_CONFLICT, "job-terminal", "Job already finished",
                                 apr_psprintf(r->pool, "the job is already %s and cannot change",
                                              json_string_value(json_object_get(resp, "status"))));
    }
    return ingest_send_not_found(r);
}

int ingest_api_callback(request_rec *r, const ingest_identity_t *id, const char *param)
{
    const ingest_dir_conf *dc = ingest_dconf(r);
    const ingest_srv_conf *sc = ingest_sconf(r->server);
    const char *wid = apr_table_get(r->headers_in, "webhook-id");
    const char *body, *why = NULL;
    apr_size_t blen;
    ingest_problem_t pb;
    ingest_callback_t cb;
    ingest_verr_t verr;
    json_t *json, *outcome = NULL;
    ap_dbd_t *dbd;
    apr_status_t rv;

    (void)id;
    (void)param;
    if (ingest_read_body(r, ingest_conf_max_body(dc), &body, &blen, &pb) != APR_SUCCESS) {
        return counted(INGEST_M_CALLBACK_INVALID, ingest_send_problem(r, &pb));
    }
    if (ingest_conf_callback_auth(sc)) {
        if (!sc->callback_secret_count) {
            static volatile apr_uint32_t told;
            if (apr_atomic_cas32(&told, 1, 0) == 0) {
                ap_log_rerror(
                    APLOG_MARK, APLOG_ERR, 0, r,
                    IGLOGNO(00501) "a pipeline callback arrived but no IngestCallbackSecret is set; "
                                   "refusing every callback");
            }
            return counted(INGEST_M_CALLBACK_UNCONFIGURED,
                           unauthorized(r, "callbacks are not configured on this server"));
        }
        if (ingest_webhook_verify(r->pool, sc->callback_secrets, sc->callback_secret_count, wid,
                                  apr_table_get(r->headers_in, "webhook-timestamp"),
                                  apr_table_get(r->headers_in, "webhook-signature"), body, blen,
                                  apr_time_now(), (int)apr_time_sec(ingest_conf_callback_tolerance(sc)), &why)
            != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, IGLOGNO(00502) "pipeline callback refused: %s", why);
            return counted(INGEST_M_CALLBACK_BAD_SIGNATURE, unauthorized(r, why));
        }
    } else if (wid && (!*wid || strlen(wid) > INGEST_WEBHOOK_ID_MAX)) {
        wid = NULL; /* unsigned demo mode: an unusable id just disables replay detection */
    }
    if (ingest_parse_json(r, body, blen, &json, &pb) != APR_SUCCESS) {
        return counted(INGEST_M_CALLBACK_INVALID, ingest_send_problem(r, &pb));
    }
    if (ingest_callback_parse(r->pool, json, &cb, &verr) != APR_SUCCESS) {
        return counted(INGEST_M_CALLBACK_INVALID, ingest_send_invalid(r, verr.field, verr.detail));
    }
    if ((rv = ingest_db_acquire(r, &dbd)) != APR_SUCCESS) {
        return counted(INGEST_M_CALLBACK_ERROR, ingest_send_db_error(r, rv));
    }
    if (wid) {
        rv = ingest_store_callback_delivery(r->pool, r->server, dbd, wid, &outcome);
        if (rv == APR_SUCCESS) {
            return answer(r, outcome, 1); /* a replay: as the first time, changing nothing */
        }
        if (rv != APR_NOTFOUND) {
            return counted(INGEST_M_CALLBACK_ERROR, ingest_send_db_error(r, rv));
        }
    }
    rv = ingest_store_callback_apply(r->pool, r->server, dbd, wid, &cb, ingest_conf_external_deadline(sc),
                                     &outcome);
    if (rv == INGEST_EDB_CONFLICT && wid
        && ingest_store_callback_delivery(r->pool, r->server, dbd, wid, &outcome) == APR_SUCCESS) {
        return answer(r, outcome, 1); /* lost the race to a concurrent copy of this delivery */
    }
    if (rv != APR_SUCCESS) {
        return counted(INGEST_M_CALLBACK_ERROR, ingest_send_db_error(r, rv));
    }
    return answer(r, outcome, 0);
}
