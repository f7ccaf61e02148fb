#ifndef MOD_INGEST_DELIVER_H
#define MOD_INGEST_DELIVER_H

/* Signed notifications when a job ends (issue 15, sql/017 part B).
 *
 * The sender runs on a mod_watchdog singleton of its own
 * ("mod_ingest_notify", every second), apart from the job worker's, so a
 * slow receiver never delays a job. It is registered whenever the main
 * server has an IngestNotifySecret (without one no notify_url is
 * accepted, and nothing could be signed), whatever IngestProcessor says:
 * jobs also end through the pipeline's callback. */

#include "ingest_notify_url.h"
#include "mod_ingest.h"
#include "mod_ingest_config.h"

/* A notify_url checked against the policy (ingest_notify_url.h) with its
 * host resolved: every address public, unless the host is in
 * IngestNotifyAllow. resolve: the CURLOPT_RESOLVE entry that pins the
 * addresses checked ("host:port:addr,..."), NULL for an IP literal. */
typedef struct {
    ingest_notify_url_t url;
    const char *resolve;
} ingest_notify_target_t;

/* APR_SUCCESS, or with *why (a sentence after "notify_url: "):
 * APR_EINVAL (form, scheme), APR_ENOENT (the host does not resolve),
 * APR_EACCES (an address that is not public). */
apr_status_t ingest_notify_vet(apr_pool_t *p, const ingest_srv_conf *c, const char *url,
                               ingest_notify_target_t *t, const char **why);

/* For POST init and POST json: DECLINED when the request's notify_url (may
 * be NULL) can be accepted; otherwise the 422 is sent and its return
 * value answered. */
int ingest_notify_accept(request_rec *r, const char *url);

/* From post_config (ordered before mod_watchdog's) and child_init. */
apr_status_t ingest_deliver_post_config(apr_pool_t *pconf, server_rec *s);
void ingest_deliver_child_init(apr_pool_t *pchild, server_rec *s);

#endif
