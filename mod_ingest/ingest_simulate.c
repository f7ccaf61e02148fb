#include "ingest_simulate.h"

static apr_uint64_t splitmix(apr_uint64_t *x)
{
    apr_uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void ingest_rng_seed(ingest_rng_t *r, apr_uint64_t seed)
{
    /* splitmix expands one seed into a state that is never all zero */
    r->s[0] = splitmix(&seed);
    r->s[1] = splitmix(&seed);
    if (!r->s[0] && !r->s[1]) {
        r->s[1] = 1;
    }
}

apr_uint64_t ingest_rng_next(ingest_rng_t *r)
{
    apr_uint64_t s1 = r->s[0];
    const apr_uint64_t s0 = r->s[1];
    r->s[0] = s0;
    s1 ^= s1 << 23;
    r->s[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return r->s[1] + s0;
}

double ingest_rng_unit(ingest_rng_t *r)
{
    return (double)(ingest_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

apr_int64_t ingest_rng_range(ingest_rng_t *r, apr_int64_t lo, apr_int64_t hi)
{
    apr_uint64_t span;
    if (hi <= lo) {
        return lo;
    }
    span = (apr_uint64_t)(hi - lo) + 1;
    return lo + (apr_int64_t)(ingest_rng_next(r) % span);
}

static const char *const failure_reasons[] = {
    "simulated failure: the file could not be parsed",
    "simulated failure: validation rejected the data",
    "simulated failure: the downstream store timed out",
};

void ingest_simulate_outcome(ingest_rng_t *r, double failure_rate, apr_int64_t elapsed_ms,
                             ingest_sim_outcome_t *out)
{
    json_t *preview;
    apr_int64_t columns;
    int i;

    out->result_data = NULL;
    out->error = NULL;
    out->rows = 0;
    /* rate 1 must always fail and 0 never: unit() is in [0, 1) */
    out->success = !(ingest_rng_unit(r) < failure_rate);
    if (!out->success) {
        out->error = failure_reasons[ingest_rng_range(r, 0, 2)];
        return;
    }
    out->rows = ingest_rng_range(r, 100, 10000);
    columns = ingest_rng_range(r, 5, 20);
    preview = json_array();
    for (i = 1; i <= 3; ++i) {
        json_array_append_new(preview, json_pack("{s:i, s:s+, s:I}", "id", i, "name", "Sample Data ",
                                                 i == 1   ? "1"
                                                 : i == 2 ? "2"
                                                          : "3",
                                                 "value", (json_int_t)ingest_rng_range(r, 100, 999)));
    }
    out->result_data = json_pack(
        "{s:I, s:I, s:I, s:s, s:o, s:b}", "rows_processed", (json_int_t)out->rows, "columns",
        (json_int_t)columns, "processing_time_ms", (json_int_t)(elapsed_ms > 0 ? elapsed_ms : 0), "summary",
        "File processed successfully (simulated)", "data_preview", preview, "simulated", 1);
}
