#ifndef MOD_INGEST_METRICS_H
#define MOD_INGEST_METRICS_H

/* The operator's counters, in one anonymous shared-memory segment that the
 * parent creates once and every child inherits, so each child's requests
 * and whichever child holds the worker add to the same numbers; kept in
 * the process pool, so a graceful restart keeps them. Served as
 * Prometheus text by the handler "ingest-metrics" (GET
 * /api/ingest/metrics where the operator's <Location> says so) and shown
 * in mod_status's page (mod_ingest_status.c).
 *
 * Counting is lock-free (apr_atomic_*64) and safe from any thread; before
 * post_config, or where the segment could not be made, it does nothing. */

#include <unistd.h>

#include "ingest_metrics.h"
#include "mod_ingest.h"

/* From register_hooks: the "ingest-metrics" handler. */
void ingest_metrics_register_hooks(apr_pool_t *p);

/* From post_config: finds the segment of an earlier generation in
 * s->process->pool, or creates it. */
apr_status_t ingest_metrics_post_config(apr_pool_t *pconf, server_rec *s);

/* One event, or n (bytes). The status cache counts its look-ups with
 * ingest_metrics_inc(INGEST_M_CACHE_HIT), INGEST_M_CACHE_MISS and
 * INGEST_M_CACHE_ERROR. */
void ingest_metrics_inc(ingest_metric_e m);
void ingest_metrics_add(ingest_metric_e m, apr_uint64_t n);

/* The worker: a pass from start to end (ok: not ended by a database
 * error); the child that took the singleton, or gave it up (pid 0: only
 * if it is still the one recorded). */
void ingest_metrics_worker_pass(apr_time_t start, apr_time_t end, int ok);
void ingest_metrics_worker_holder(pid_t pid, int holds);

/* A snapshot of every counter, each read atomically. */
void ingest_metrics_read(ingest_metrics_counters_t *out);

#endif
