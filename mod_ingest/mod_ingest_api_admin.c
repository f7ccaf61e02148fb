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
    body = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      IGLOGNO(00610) "IngestMockDataset %s cannot be loaded: %s (line %d)", path, jerr.text,
                      jerr.line);
        return ingest_send_error(r, HTTP_INTERNAL_SERVER_ERROR, "mock-dataset-unavailable",
                                 "Mock dataset unavailable", "the server's mock dataset cannot be loaded");
    }
    ingest_json_pool_own(r->pool, body);
    if (json_is_array(body)) {
        body = ingest_json_pool_own(r->pool, json_pack("{s:O}", "jobs", body));
    }
    return ingest_json_ingest(r, id, body);
}
