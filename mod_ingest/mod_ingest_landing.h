#ifndef MOD_INGEST_LANDING_H
#define MOD_INGEST_LANDING_H

/* Landing a parse job's records in ingest_records (sql/014): a record sink
 * of the parser (ingest_parse.h) that encodes each record as a COPY tuple
 * and sends them in batches, each batch its own transaction under the
 * job's lease (mod_ingest_store_records.c), so records_processed moves as
 * batches commit and a worker that lost the job writes nothing more. */

#include "ingest_parse.h"
#include "mod_ingest_processor.h"

typedef struct ingest_landing ingest_landing_t;

/* How a job's records land. */
typedef struct {
    const json_t *schema; /* the job's record schema (checked by POST), NULL for none */
    int skip;             /* step over bad records (skip mode) rather than fail the job */
    apr_int64_t max_bad;  /* skip mode: fail once more than this many are bad; -1: no limit */
} ingest_landing_opts_t;

/* The bad records of a job kept in ingest_record_errors; the others are
 * counted only. */
#define INGEST_LANDING_ERRORS_KEPT 1000

/* Clears what an earlier run of the job landed (records and bad records),
 * then attaches the sink to ps (and, in skip mode, its handler of bad
 * records). *held 0: the job is no longer this worker's (nothing to do). */
apr_status_t ingest_landing_start(const ingest_step_t *st, ingest_parser_t *ps, const char *job_id,
                                  const char *tenant, const ingest_landing_opts_t *opts,
                                  ingest_landing_t **out, int *held);

/* Before each chunk is parsed: the bytes read before it, of the file's
 * size. A batch's commit shows total_items as the records committed scaled
 * by the share of the file read, so progress follows the bytes and never
 * goes back. */
void ingest_landing_position(ingest_landing_t *l, apr_off_t read, apr_off_t size);
/* The records committed, bad records stepped over included, and the total
 * shown with them (0 and 0 before the first batch). */
void ingest_landing_progress(const ingest_landing_t *l, apr_int64_t *processed, apr_int64_t *total);
/* Commits the open batch, if any: at the end, and before anything else
 * runs on the worker's connection (a progress report). *held as above. */
apr_status_t ingest_landing_commit(ingest_landing_t *l, int *held);
/* Rolls the open batch back (the parse failed, or stops): before the
 * connection runs anything else. Also run when the step's pool goes. */
void ingest_landing_abort(ingest_landing_t *l);
/* Why the sink stopped the parse: a database error (rv), or the lease
 * lost (*held 0); APR_SUCCESS with *held 1 when it did not. */
apr_status_t ingest_landing_status(const ingest_landing_t *l, int *held);

#endif
