#ifndef MOD_INGEST_EVENTS_H
#define MOD_INGEST_EVENTS_H

/* The job events of this child process, for GET /api/ingest/events
 * (issue 15; the event log is sql/017).
 *
 * One listener per child: a thread of its own with a PostgreSQL session of
 * its own (mod_ingest_notify.c, outside mod_dbd's pool) that LISTENs on
 * ingest_events, reads the events that became final (ids below
 * ingest_events_horizon()) after each notification, shortly after, and at
 * least every second, and keeps the newest INGEST_EVENTS_RING of them,
 * rendered as GET status shows a job, in a ring. Streams (request threads)
 * take what they need from the ring; a stream whose position is older than
 * the ring reads the database (ingest_store_events_replay) until it catches
 * up. So the database sees one session and one query per child, however
 * many browsers follow their jobs.
 *
 * The listener starts with the first stream and runs until the child
 * exits; a lost session is made again (IG00440, IG00441) from where it
 * left off, so nothing is skipped. */

#include <apr_tables.h>

#include "mod_ingest.h"

#define INGEST_EVENTS_RING 4096

typedef struct {
    apr_int64_t id;
    const char *job_id;
    int terminal;
    const char *data; /* the job's status JSON */
} ingest_event_t;

/* From child_init. */
void ingest_events_child_init(apr_pool_t *pchild, server_rec *s);

/* A seat for a stream: APR_SUCCESS (give it back with ingest_events_leave),
 * or APR_EBUSY when this child has IngestEventsMaxStreams open already. */
apr_status_t ingest_events_enter(request_rec *r);
void ingest_events_leave(void);

/* Starts the listener if it is not running, and waits up to `wait` for it
 * to be reading: APR_SUCCESS with the position the stream is live from
 * (every final event up to it has been read), or APR_EAGAIN. */
apr_status_t ingest_events_live(apr_interval_time_t wait, apr_int64_t *head);

/* What ingest_events_take() answers. */
typedef enum {
    INGEST_EVENTS_OK,       /* *out has the events after *cursor (maybe none: the wait ended) */
    INGEST_EVENTS_BEHIND,   /* *cursor is older than the ring: read the database */
    INGEST_EVENTS_STOPPING, /* the child is stopping: end the stream */
} ingest_events_take_e;

/* The tenant's events (one job's when job_id is not NULL) after *cursor,
 * appended to out (ingest_event_t, copied into p), waiting up to `wait`
 * for one. *cursor moves to the last event read (not only those sent). */
ingest_events_take_e ingest_events_take(apr_pool_t *p, const char *tenant, const char *job_id,
                                        apr_int64_t *cursor, apr_interval_time_t wait,
                                        apr_array_header_t *out);

/* An event row's job (ingest_job_json) as GET status shows it; NULL when
 * it is not valid JSON. malloc'd: free() it. */
char *ingest_events_render(const char *job, apr_size_t len);

#endif
