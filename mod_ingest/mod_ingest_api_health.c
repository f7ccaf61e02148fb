/* GET /api/ingest/health: no identity; 200 when the database answers with
 * a current schema and, where this server runs a worker, the worker has
 * ticked lately; 503 otherwise, so a load balancer can take the host out. */

#include <apr_strings.h>

#include "ingest_problem.h"
#include "ingest_version.h"
#include "mod_ingest_api.h"
#include "mod_ingest_config.h"
#include "mod_ingest_http.h"
#include "mod_ingest_store.h"
#include "mod_ingest_worker.h"

/* A worker silent for longer than this is reported stale; one that ticks
 * but got nothing done for as long while work has been due as long, stuck. The singleton
 * can take ~10 s to move to another child when its child exits (that is
 * mod_watchdog's own back-off), so this leaves room for that, and for a
 * long IngestWorkerInterval. */
#define WORKER_STALE_MIN apr_time_from_sec(30)

int ingest_api_health(request_rec *r, const ingest_identity_t *id, const char *param)
{
    const ingest_srv_conf *sc = ingest_sconf(r->server);
    apr_interval_time_t stale = 3 * ingest_conf_worker_interval(sc) > WORKER_STALE_MIN
                                    ? 3 * ingest_conf_worker_interval(sc)
                                    : WORKER_STALE_MIN;
    int worker_on = ingest_conf_processor(sc) != INGEST_PROC_NONE;
    const char *database = "ok", *worker_state = NULL, *detail = NULL;
    int version = ingest_db_schema_version();
    json_t *ping = NULL, *out, *worker = NULL;
    ap_dbd_t *dbd;
    apr_status_t rv;

    (void)id;
    (void)param;
    rv = ingest_db_acquire(r, &dbd);
    if (rv == APR_SUCCESS) {
        rv = ingest_store_ping(r->pool, r->server, dbd, ingest_worker_name(r->pool), stale, &ping);
    }
    if (rv == APR_SUCCESS) {
        version = (int)json_integer_value(json_object_get(ping, "schema_version"));
    }
    if (rv == APR_SUCCESS && version < INGEST_SCHEMA_VERSION) {
        rv = INGEST_EDB_SCHEMA;
    }
    if (rv == INGEST_EDB_SCHEMA) {
        database = "schema_outdated";
        detail = "the database schema is older than this server needs";
    } else if (rv == INGEST_EDB_QUERY) {
        database = "error";
        detail = "the database answers, but a statement failed; the server log has details";
    } else if (rv != APR_SUCCESS) {
        database = "unreachable";
        detail = "the database cannot be reached";
    }

    if (worker_on) {
        json_t *age = rv == APR_SUCCESS ? json_object_get(ping, "worker_age_ms") : NULL;
        worker = json_object();
        json_object_set_new(worker, "processor", json_string(ingest_conf_processor_name(sc)));
        if (json_is_integer(age)) {
            json_t *progress = json_object_get(ping, "worker_progress_age_ms");
            worker_state = apr_time_from_msec(json_integer_value(age)) > stale ? "stale"
                           /* ticking, but nothing done while work waits */
                           : json_is_true(json_object_get(ping, "due_waiting"))
                                   && apr_time_from_msec(json_integer_value(progress)) > stale
                               ? "stuck"
                               : "ok";
            json_object_set(worker, "last_tick_age_ms", age);
            json_object_set(worker, "last_progress_age_ms", progress);
        } else if (rv == APR_SUCCESS) {
            worker_state = apr_time_now() - ingest_worker_started() <= stale ? "starting" : "missing";
            json_object_set_new(worker, "last_tick_age_ms", json_null());
        } else {
            worker_state = "unknown";
        }
        json_object_set_new(worker, "state", json_string(worker_state));
        if (rv == APR_SUCCESS && strcmp(worker_state, "ok") && strcmp(worker_state, "starting")) {
            rv = APR_EGENERAL;
            detail = !strcmp(worker_state, "stuck")
                         ? "the background worker runs, but has got nothing done lately while work is due"
                         : "the background worker has not run lately";
        }
    }

    if (rv == APR_SUCCESS) {
        out = ingest_json_pool_own(r->pool, json_object());
        json_object_set_new(out, "status", json_string("ok"));
    } else {
        ingest_problem_t pb = {0};
        pb.status = HTTP_SERVICE_UNAVAILABLE;
        pb.type = INGEST_PROBLEM_BASE "unhealthy";
        pb.title = "Service unhealthy";
        pb.detail = detail;
        out = ingest_json_pool_own(r->pool, ingest_problem_json(&pb));
        json_object_set_new(out, "health", json_string("unhealthy"));
        apr_table_setn(r->headers_out, "Retry-After",
                       apr_itoa(r->pool, ingest_conf_retry_after(ingest_dconf(r))));
        json_object_set_new(out, "instance", json_string(r->uri));
    }
    json_object_set_new(out, "database", json_string(database));
    json_object_set_new(out, "schema_version", json_integer(version));
    json_object_set_new(out, "schema_required", json_integer(INGEST_SCHEMA_VERSION));
    json_object_set_new(out, "version", json_string(INGEST_VERSION));
    if (ping) {
        json_object_set_new(out, "queue_depth",
                            json_integer(json_integer_value(json_object_get(ping, "queued"))));
        json_object_set_new(out, "running",
                            json_integer(json_integer_value(json_object_get(ping, "running"))));
    }
    if (worker) {
        json_object_set_new(out, "worker", worker);
    }
    if (rv == APR_SUCCESS) {
        return ingest_send_json(r, HTTP_OK, out);
    }
    return ingest_send_document(r, HTTP_SERVICE_UNAVAILABLE, "application/problem+json", out);
}
