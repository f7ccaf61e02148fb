#ifndef MOD_INGEST_CACHE_H
#define MOD_INGEST_CACHE_H

/* The status cache (IngestStatusCache): GET /api/ingest/status/{id}
 * answers kept in an ap_socache provider (shmcb on one host; redis or
 * memcache shared by several), cache first, then the database.
 *
 * Whoever changes a job forgets its entry after the commit (the store
 * functions do, for every statement that changes what the status answer
 * shows). On one host an answer is never older than the last change
 * committed before the request: each job hashes to a generation counter
 * in shared memory that a change bumps before removing the entry, and an
 * entry read before the bump is never used. Across hosts an entry another
 * host wrote is trusted until IngestStatusCacheTTL. A cache that fails
 * is left alone for a while (the database answers) with one log line. */

#include <httpd.h>
#include <http_config.h>
#include <jansson.h>

#include "ingest_cache.h"

#define INGEST_DEFAULT_CACHE_TTL apr_time_from_sec(30)

/* What a lookup learnt, for the store that follows a miss. */
typedef struct {
    int active; /* 0: nothing to store (no cache, or it is failing) */
    unsigned char key[INGEST_CACHE_KEY_LEN];
    apr_uint32_t slot, gen, variant;
} ingest_cache_ticket_t;

/* Directives (in ingest_cmds). */
const char *ingest_cache_cmd_provider(cmd_parms *cmd, void *dc, const char *arg);
const char *ingest_cache_cmd_ttl(cmd_parms *cmd, void *dc, const char *arg);

void ingest_cache_pre_config(apr_pool_t *pconf);
apr_status_t ingest_cache_post_config(apr_pool_t *pconf, server_rec *s);
void ingest_cache_child_init(apr_pool_t *p, server_rec *s);

/* A usable entry of this tenant's job, worded for this request's route:
 * APR_SUCCESS. Otherwise APR_NOTFOUND (t says what to store), or another
 * status when there is no cache to use. */
apr_status_t ingest_cache_lookup(request_rec *r, const char *tenant, const char *job_id,
                                 ingest_cache_ticket_t *t, ingest_cache_entry_t *e);

/* Keeps an answer after a miss (only a 200). */
void ingest_cache_store(request_rec *r, const ingest_cache_ticket_t *t, const char *tenant, int status,
                        const char *ctype, const char *body, apr_size_t len);

/* A job changed (committed): its entry must not answer again. */
void ingest_cache_forget(server_rec *s, apr_pool_t *p, const char *job_id);
/* ids: an array of job id strings (NULL: none). */
void ingest_cache_forget_all(server_rec *s, apr_pool_t *p, json_t *ids);

#endif
