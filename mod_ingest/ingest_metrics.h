#ifndef INGEST_METRICS_H
#define INGEST_METRICS_H

/* The operator's metrics: the counters every child process adds to (the
 * layout of the shared-memory segment, mod_ingest_metrics.c), and their
 * rendering in the Prometheus text exposition format (version 0.0.4).
 * Pure: no httpd headers, no shared memory; the glue reads a snapshot of
 * the segment into an ingest_metrics_counters_t and hands it here. */

#include <apr_pools.h>

/* One counter each; a family with a label has one counter per label
 * value (ingest_callbacks_total{outcome="applied"} ...). Append only:
 * the numbers are the segment's layout (INGEST_METRICS_LAYOUT). */
typedef enum {
    INGEST_M_PASS_OK = 0, /* worker passes that ended well */
    INGEST_M_PASS_ERROR,  /* worker passes ended by a database error */
    INGEST_M_CLAIMS,      /* jobs claimed (queued -> running) */
    INGEST_M_FINISH_COMPLETED,
    INGEST_M_FINISH_FAILED,
    INGEST_M_RETRIES, /* failed steps: back to the queue, or failed after IngestMaxAttempts */
    INGEST_M_RESCUES, /* running jobs whose lease expired, requeued or failed */
    INGEST_M_CALLBACK_APPLIED,
    INGEST_M_CALLBACK_DUPLICATE,     /* a replayed webhook-id: answered as the first time */
    INGEST_M_CALLBACK_CONFLICT,      /* 409: the job had finished already */
    INGEST_M_CALLBACK_NOT_FOUND,     /* 404 */
    INGEST_M_CALLBACK_BAD_SIGNATURE, /* 401: signature, timestamp or webhook-id refused */
    INGEST_M_CALLBACK_UNCONFIGURED,  /* 401: no IngestCallbackSecret on this server */
    INGEST_M_CALLBACK_INVALID,       /* 400, 413, 415, 422: the body */
    INGEST_M_CALLBACK_ERROR,         /* 5xx: the database */
    INGEST_M_UPLOADS,                /* presigned uploads stored (200) */
    INGEST_M_UPLOAD_BYTES,           /* their bytes */
    INGEST_M_CACHE_HIT,              /* status cache */
    INGEST_M_CACHE_MISS,
    INGEST_M_CACHE_ERROR,
    INGEST_M_DB_ERRORS, /* no connection, an unusable session, a failed statement */
    INGEST_M_COUNT
} ingest_metric_e;

/* The worker pass duration histogram's upper bounds, in microseconds
 * (0.001 s to 10 s); an implicit +Inf bucket follows. */
#define INGEST_M_PASS_BUCKETS 12
extern const apr_int64_t ingest_metrics_pass_le_usec[INGEST_M_PASS_BUCKETS];

/* Bump when the struct below changes: a graceful restart into a build
 * with another layout starts a new segment instead of misreading the old. */
#define INGEST_METRICS_LAYOUT 1

/* Everything counted, as kept in shared memory: every field is only ever
 * updated with apr_atomic_*64 by the glue. */
typedef struct {
    apr_uint64_t counter[INGEST_M_COUNT];
    /* observations per bucket (not cumulative); the last is above the
     * largest bound */
    apr_uint64_t pass_bucket[INGEST_M_PASS_BUCKETS + 1];
    apr_uint64_t pass_sum_usec;
    /* the worker: the pid of the child holding the mod_watchdog singleton
     * (0: none), its last pass's end (apr_time_t) and duration */
    apr_uint64_t worker_pid;
    apr_uint64_t worker_since;
    apr_uint64_t last_pass_end;
    apr_uint64_t last_pass_usec;
} ingest_metrics_counters_t;

/* Jobs by status, as read from the database (status names need no
 * escaping, but they are escaped anyway). */
typedef struct {
    const char *status;
    apr_int64_t n;
} ingest_metrics_jobs_t;

typedef struct {
    const ingest_metrics_counters_t *c;
    int database_up; /* the jobs below could be read */
    const ingest_metrics_jobs_t *jobs;
    int njobs;
} ingest_metrics_scrape_t;

/* The histogram bucket of a pass of usec microseconds (Prometheus's le is
 * inclusive): 0 .. INGEST_M_PASS_BUCKETS (the +Inf bucket). */
int ingest_metrics_pass_bucket(apr_int64_t usec);

/* A label value as the text format wants it: \, " and newline escaped. */
const char *ingest_metrics_escape_label(apr_pool_t *p, const char *v);

/* The whole exposition, every family with its HELP and TYPE lines,
 * counters as integers, seconds with six decimals. */
char *ingest_metrics_render(apr_pool_t *p, const ingest_metrics_scrape_t *s);

/* hits / (hits + misses) of the status cache, or -1 before any look-up. */
double ingest_metrics_cache_hit_ratio(const ingest_metrics_counters_t *c);

/* usec as seconds with six decimals ("0.012345"), for the status page too. */
const char *ingest_metrics_seconds(apr_pool_t *p, apr_uint64_t usec);

#endif
