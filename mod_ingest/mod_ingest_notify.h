#ifndef MOD_INGEST_NOTIFY_H
#define MOD_INGEST_NOTIFY_H

/* The worker's wake-up (issue 12, pick-up latency): a PostgreSQL
 * connection of its own that LISTENs on the channel ingest_queued, which
 * sql/012_notify.sql notifies once per statement that leaves a job queued.
 * After a pass, the worker waits on it for up to IngestWorkerInterval and
 * starts the next pass as soon as a notification arrives; the interval
 * stays the fallback poll. IngestWorkerNotify off: none of this. */

#include <apr_atomic.h>

#include "mod_ingest.h"

#define INGEST_NOTIFY_CHANNEL "ingest_queued"

typedef struct ingest_notify_t ingest_notify_t;

/* From post_config, per generation; the connection itself is opened by the
 * worker thread of the child that holds the singleton, on first use. */
ingest_notify_t *ingest_notify_create(apr_pool_t *pconf, server_rec *s);

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

/* Closes the LISTEN connection for good in this process: from the worker
 * thread at STOPPING, or from the child-exit cleanup (after the worker's
 * stopping flag is set; it waits for the worker thread to leave the
 * connection, which it does within a slice). NULL is a no-op; only the
 * first call does anything. */
void ingest_notify_close(ingest_notify_t *n);

#endif
