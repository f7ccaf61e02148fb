/* GET /api/ingest/health: no identity; 200 when the database answers with
 * a current schema, 503 otherwise, so a load balancer can take this host
 * out of rotation. */

#include <apr_strings.h>

#include "ingest_problem.h"
#include "ingest_version.h"
#include "mod_ingest_api.h"
#include "mod_ingest_config.h"
#include "mod_ingest_http.h"
#include "mod_ingest_store.h"

int ingest_api_health(request_rec *r, const ingest_identity_t *id, const char *param)
{
    ap_dbd_t *dbd;
    apr_status_t rv;
    int version = ingest_db_schema_version();
    const char *database = "ok";
    json_t *out;

    (void)id;
    (void)param;
    rv = ingest_db_acquire(r, &dbd);
    if (rv == APR_SUCCESS) {
        rv = ingest_store_ping(r->pool, r->server, dbd, &version);
    }
    if (rv == APR_SUCCESS && version < INGEST_SCHEMA_VERSION) {
        rv = INGEST_EDB_SCHEMA;
    }
    if (rv == INGEST_EDB_SCHEMA) {
        database = "schema_outdated";
    } else if (rv != APR_SUCCESS) {
        database = "unreachable";
    }

    if (rv == APR_SUCCESS) {
        out = ingest_json_pool_own(r->pool, json_object());
        json_object_set_new(out, "status", json_string("ok"));
    } else {
        ingest_problem_t pb = {0};
        pb.status = HTTP_SERVICE_UNAVAILABLE;
        pb.type = INGEST_PROBLEM_BASE "unhealthy";
        pb.title = "Service unhealthy";
        pb.detail = rv == INGEST_EDB_SCHEMA ? "the database schema is older than this server needs"
                                            : "the database cannot be reached";
        out = ingest_json_pool_own(r->pool, ingest_problem_json(&pb));
        json_object_set_new(out, "health", json_string("unhealthy"));
        apr_table_setn(r->headers_out, "Retry-After",
                       apr_itoa(r->pool, ingest_conf_retry_after(ingest_dconf(r))));
    }
    json_object_set_new(out, "database", json_string(database));
    json_object_set_new(out, "schema_version", json_integer(version));
    json_object_set_new(out, "schema_required", json_integer(INGEST_SCHEMA_VERSION));
    json_object_set_new(out, "version", json_string(INGEST_VERSION));
    if (rv == APR_SUCCESS) {
        return ingest_send_json(r, HTTP_OK, out);
    }
    json_object_set_new(out, "instance", json_string(r->uri));
    return ingest_send_document(r, HTTP_SERVICE_UNAVAILABLE, "application/problem+json", out);
}
