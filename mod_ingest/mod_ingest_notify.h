#ifndef MOD_INGEST_NOTIFY_H
#define MOD_INGEST_NOTIFY_H

/* The worker's wake-up (issue 12, pick-up latency): a PostgreSQL
 * connection of its own that LISTENs on the channel ingest_queued, which
 * sql/012_notify.sql notifies once per statement that leaves a job queued.
 * After a pass, the worker waits on it for up to IngestWorkerInterval and
 * starts the next pass as soon as a notification arrives; the interval
 * stays the fallback poll. IngestWorkerNotify off: none of this. */

#include <apr_atomic.h>
#include <libpq-fe.h>

#include "mod_ingest.h"

#define INGEST_NOTIFY_CHANNEL "ingest_queued"

typedef struct ingest_notify_t ingest_notify_t;

/* What a LISTEN connection is for: its channel, its application_name in
 * pg_stat_activity, and its log lines (each starting with its IGLOGNO tag):
 * "<lost> (<why>)<lost_then>; retrying every 5 s" when it cannot be made or
 * is lost, <back> when it is made again, "<failed>: <why>" when a query
 * through ingest_notify_exec() fails on a live connection. */
typedef struct {
    const char *channel, *application_name;
    const char *lost, *lost_then, *back, *failed;
} ingest_notify_spec_t;

/* From post_config (per generation) or child_init; the connection itself
 * is opened by the thread that waits on it, on first use. spec's strings
 * must live as long as pconf. */
ingest_notify_t *ingest_notify_create(apr_pool_t *pconf, server_rec *s, const ingest_notify_spec_t *spec);

/* What ingest_notify_wait() answers. */
#define INGEST_NOTIFY_HANDBACK 0 /* back to mod_watchdog */
#define INGEST_NOTIFY_WOKEN    1 /* pass now: notified, or a new LISTEN */
#define INGEST_NOTIFY_TIMEOUT  2 /* pass now: the whole timeout passed */

/* From the worker thread, after a pass. Waits for a notification for up
 * to timeout, in slices, noticing *stopping and the child's exit within
 * one slice. Answers WOKEN when a job was queued (or the LISTEN connection
 * is new and may have missed one), TIMEOUT when the whole timeout passed
 * (the fallback poll): the next pass should run now. HANDBACK when the
 * worker should hand the thread back to mod_watchdog: n is NULL, the
 * child is stopping, or there is no LISTEN connection (made again at most
 * every few seconds; the interval goes on meanwhile). */
int ingest_notify_wait(ingest_notify_t *n, apr_pool_t *p, apr_interval_time_t timeout,
                       volatile apr_uint32_t *stopping);

/* A query on the LISTEN connection, from the thread that waits on it
 * (between waits): the result (PGRES_TUPLES_OK or COMMAND_OK, PQclear it),
 * or NULL when there is no connection or the query failed (logged; a lost
 * connection is dropped and made again by the next wait). */
PGresult *ingest_notify_exec(ingest_notify_t *n, apr_pool_t *p, const char *sql, int nparams,
                             const char *const *values);

/* Closes the LISTEN connection for good in this process: from the worker
 * thread at STOPPING, or from the child-exit cleanup (after the worker's
 * stopping flag is set; it waits for the worker thread to leave the
 * connection, which it does within a slice). NULL is a no-op; only the
 * first call does anything. */
void ingest_notify_close(ingest_notify_t *n);

#endif
