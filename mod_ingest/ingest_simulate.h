#ifndef INGEST_SIMULATE_H
#define INGEST_SIMULATE_H

/* The "simulate" processor's decisions: the seeds' mock outcome (success
 * with mock results, or failure, at a configured rate). Pure, with an
 * explicit random state so the unit tests are deterministic. */

#include <apr.h>
#include <apr_pools.h>
#include <jansson.h>

typedef struct {
    apr_uint64_t s[2];
} ingest_rng_t;

/* xorshift128+: fast, and good enough to draw delays and outcomes. */
void ingest_rng_seed(ingest_rng_t *r, apr_uint64_t seed);
apr_uint64_t ingest_rng_next(ingest_rng_t *r);
/* Uniform in [0, 1). */
double ingest_rng_unit(ingest_rng_t *r);
/* Uniform in [lo, hi], both included; lo when hi <= lo. */
apr_int64_t ingest_rng_range(ingest_rng_t *r, apr_int64_t lo, apr_int64_t hi);

typedef struct {
    int success;
    json_t *result_data; /* on success: a new reference the caller owns */
    const char *error;   /* on failure */
    apr_int64_t rows;    /* rows_processed, also the job's item counts */
} ingest_sim_outcome_t;

/* Draws one outcome: failure with probability failure_rate (0 never, 1
 * always), otherwise result_data with rows_processed 100..10000, columns
 * 5..20, processing_time_ms = elapsed_ms (the real time the job ran), a
 * summary and a three-row data_preview. */
void ingest_simulate_outcome(ingest_rng_t *r, double failure_rate, apr_int64_t elapsed_ms,
                             ingest_sim_outcome_t *out);

#endif
