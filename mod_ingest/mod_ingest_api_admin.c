/* POST /api/admin/ingest/jobs/mock: loads the bundled ML job metadata
 * (IngestMockDataset) into the caller's tenant, through the same ingestion
 * as POST /api/ingest/json with {"jobs": [...]}: 202 with the ingestion
 * job. Loading it again changes no data (every record is an upsert). Needs
 * an admin identity (IngestJWTAdminClaim, IngestTenantEnvAdmin). */

#include <apr_strings.h>

#include "mod_ingest_api.h"
#include "mod_ingest_config.h"
#include "mod_ingest_db.h"
#include "mod_ingest_http.h"

int ingest_api_admin_mock(request_rec *r, const ingest_identity_t *id, const char *param)
{
    const char *path = ingest_conf_mock_dataset(ingest_sconf(r->server));
    json_error_t jerr;
    json_t *body;

    (void)param;
    if (!id->admin) {
        return ingest_send_error(r, HTTP_FORBIDDEN, "forbidden", "Forbidden",
                                 "loading the mock dataset needs an admin identity");
    }
    /* a body, if any, is not read: the request names nothing but itself */
    body = ingest_json_pool_own(r->pool, json_load_file(path, JSON_REJECT_DUPLICATES, &jerr));
    if (json_is_array(body)) {
        body = ingest_json_pool_own(r->pool, json_pack("{s:O}", "jobs", body));
    }
    /* the operator's file, so its fault is the server's: a 500, not a 422 */
    if (!body || json_object_size(body) != 1 || !json_is_array(json_object_get(body, "jobs"))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, IGLOGNO(00610) "IngestMockDataset %s cannot be loaded: %s",
                      path,
                      !body ? (jerr.line > 0 ? apr_psprintf(r->pool, "%s (line %d, column %d)", jerr.text,
                                                            jerr.line, jerr.column)
                                             : jerr.text)
                            : "it is not {\"jobs\": [...]} or an array of job records");
        return ingest_send_error(r, HTTP_INTERNAL_SERVER_ERROR, "mock-dataset-unavailable",
                                 "Mock dataset unavailable", "the server's mock dataset cannot be loaded");
    }
    return ingest_json_ingest(r, id, body);
}
