/* mod_ingest: the module record and its hooks. Everything else lives in a
 * file named for its concern (config, router, api_*, db, store_*). */

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_core.h>

#include "ingest_version.h"
#include "mod_ingest.h"
#include "mod_ingest_cache.h"
#include "mod_ingest_events.h"
#include "mod_ingest_config.h"
#include "mod_ingest_db.h"
#include "mod_ingest_deliver.h"
#include "mod_ingest_metrics.h"
#include "mod_ingest_router.h"
#include "mod_ingest_status.h"
#include "mod_ingest_store.h"
#include "mod_ingest_worker.h"

static int ingest_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    ingest_cache_pre_config(pconf);
    return OK;
}

static int ingest_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    server_rec *vs;
    (void)plog;
    (void)ptemp;
    /* httpd runs post_config twice at start-up; the first is a dry run in
     * a process that is about to go away. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    if (ingest_config_post_config(pconf, s) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ingest_metrics_post_config(pconf, s) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ingest_db_init(s) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ingest_cache_post_config(pconf, s) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ingest_worker_post_config(pconf, s) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ingest_deliver_post_config(pconf, s) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (vs = s; vs; vs = vs->next) {
        if (!ingest_conf_callback_auth(ingest_sconf(vs))) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, vs,
                         IGLOGNO(00002) "IngestCallbackAuth none: anyone who can reach "
                                        "/api/pipeline/callback can change any job; for demos only");
        }
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 IGLOGNO(00001) "mod_ingest %s ready (needs database schema %d)", INGEST_VERSION,
                 INGEST_SCHEMA_VERSION);
    return OK;
}

static int ingest_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, "ingest")) {
        return DECLINED;
    }
    return ingest_route(r);
}

static void ingest_child_init(apr_pool_t *p, server_rec *s)
{
    ingest_cache_child_init(p, s);
    ingest_worker_child_init(p, s);
    ingest_events_child_init(p, s);
    ingest_deliver_child_init(p, s);
}

static void ingest_register_hooks(apr_pool_t *p)
{
    /* mod_watchdog starts its threads in its own post_config: the worker
     * must be registered before that */
    static const char *const before_watchdog[] = {"mod_watchdog.c", NULL};
    ingest_db_register(ingest_job_statements);
    ingest_db_register(ingest_worker_statements);
    ingest_db_register(ingest_callback_statements);
    ingest_db_register(ingest_upload_statements);
    ingest_db_register(ingest_item_statements);
    ingest_db_register(ingest_jobmeta_statements);
    ingest_db_register(ingest_metrics_statements);
    ingest_db_register(ingest_quota_statements);
    ingest_db_register(ingest_record_statements);
    ingest_db_register(ingest_event_statements);
    ingest_db_register(ingest_delivery_statements);
    ap_hook_pre_config(ingest_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(ingest_post_config, NULL, before_watchdog, APR_HOOK_MIDDLE);
    ap_hook_child_init(ingest_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(ingest_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ingest_metrics_register_hooks(p);
    ingest_status_register_hooks(p);
}

/* APLOG_USE_MODULE(ingest) already comes from mod_ingest.h */
module AP_MODULE_DECLARE_DATA ingest_module = {
    STANDARD20_MODULE_STUFF,     ingest_create_dir_conf, ingest_merge_dir_conf,
    ingest_create_srv_conf,      ingest_merge_srv_conf,  ingest_cmds,
    ingest_register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    AP_MODULE_FLAG_ALWAYS_MERGE,
#endif
};
