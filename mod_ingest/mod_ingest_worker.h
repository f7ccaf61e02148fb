#ifndef MOD_INGEST_WORKER_H
#define MOD_INGEST_WORKER_H

/* The background worker: one mod_watchdog singleton per httpd server.
 * It keeps no job state of its own (all of it is in PostgreSQL), because
 * the singleton moves to another child process whenever its child exits. */

#include "mod_ingest.h"

/* From post_config (ordered before mod_watchdog's): registers the
 * callback when IngestProcessor is not none. */
apr_status_t ingest_worker_post_config(apr_pool_t *pconf, server_rec *s);

/* From child_init: arranges for the worker to stop cleanly, and give its
 * running jobs back, before the child's pools go away. */
void ingest_worker_child_init(apr_pool_t *pchild, server_rec *s);

/* This server's worker name ("host:pid of the httpd parent"). */
const char *ingest_worker_name(apr_pool_t *p);

/* When this server (re)started, for the health check's grace period. */
apr_time_t ingest_worker_started(void);

#endif
