#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "ingest_metrics.h"

const apr_int64_t ingest_metrics_pass_le_usec[INGEST_M_PASS_BUCKETS] = {
    1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

/* the same bounds as the text format writes them */
static const char *const pass_le_text[INGEST_M_PASS_BUCKETS] = {
    "0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
};

#define MAX_LABEL_VALUES 8

/* A counter family: one sample per label value, or one unlabelled. */
typedef struct {
    const char *name;
    const char *help;
    const char *label; /* NULL: one sample, v[0] */
    int n;
    struct {
        const char *value;
        ingest_metric_e m;
    } v[MAX_LABEL_VALUES];
} counter_family_t;

static const counter_family_t worker_families[] = {
    {"ingest_worker_claims_total",
     "Jobs the background worker claimed (queued to running).",
     NULL,
     1,
     {{NULL, INGEST_M_CLAIMS}}},
    {"ingest_worker_finishes_total",
     "Jobs the background worker ended, by outcome.",
     "outcome",
     2,
     {{"completed", INGEST_M_FINISH_COMPLETED}, {"failed", INGEST_M_FINISH_FAILED}}},
    {"ingest_worker_retries_total",
     "Failed job steps given back to the queue, or failed after IngestMaxAttempts.",
     NULL,
     1,
     {{NULL, INGEST_M_RETRIES}}},
    {"ingest_worker_rescues_total",
     "Running jobs whose lease expired, requeued or failed by a worker.",
     NULL,
     1,
     {{NULL, INGEST_M_RESCUES}}},
};

static const counter_family_t request_families[] = {
    {"ingest_callbacks_total",
     "Pipeline callbacks received, by outcome.",
     "outcome",
     8,
     {{"applied", INGEST_M_CALLBACK_APPLIED},
      {"duplicate", INGEST_M_CALLBACK_DUPLICATE},
      {"conflict", INGEST_M_CALLBACK_CONFLICT},
      {"not_found", INGEST_M_CALLBACK_NOT_FOUND},
      {"bad_signature", INGEST_M_CALLBACK_BAD_SIGNATURE},
      {"unconfigured", INGEST_M_CALLBACK_UNCONFIGURED},
      {"invalid", INGEST_M_CALLBACK_INVALID},
      {"error", INGEST_M_CALLBACK_ERROR}}},
    {"ingest_uploads_total", "Presigned uploads stored.", NULL, 1, {{NULL, INGEST_M_UPLOADS}}},
    {"ingest_upload_bytes_total",
     "Bytes of the presigned uploads stored.",
     NULL,
     1,
     {{NULL, INGEST_M_UPLOAD_BYTES}}},
    {"ingest_cache_hits_total",
     "Status cache look-ups answered from the cache.",
     NULL,
     1,
     {{NULL, INGEST_M_CACHE_HIT}}},
    {"ingest_cache_misses_total",
     "Status cache look-ups that found nothing and went to the database.",
     NULL,
     1,
     {{NULL, INGEST_M_CACHE_MISS}}},
    {"ingest_cache_errors_total",
     "Status cache operations that failed (the database answered instead).",
     NULL,
     1,
     {{NULL, INGEST_M_CACHE_ERROR}}},
    {"ingest_database_errors_total",
     "Database failures: no connection, an unusable session (schema too old) or a failed statement.",
     NULL,
     1,
     {{NULL, INGEST_M_DB_ERRORS}}},
};

int ingest_metrics_pass_bucket(apr_int64_t usec)
{
    int i;
    for (i = 0; i < INGEST_M_PASS_BUCKETS; ++i) {
        if (usec <= ingest_metrics_pass_le_usec[i]) {
            return i;
        }
    }
    return INGEST_M_PASS_BUCKETS;
}

const char *ingest_metrics_escape_label(apr_pool_t *p, const char *v)
{
    apr_size_t n = 0;
    const char *s;
    char *out, *o;

    for (s = v; *s; ++s) {
        n += (*s == '\\' || *s == '"' || *s == '\n') ? 2 : 1;
    }
    if (n == (apr_size_t)(s - v)) {
        return v;
    }
    o = out = apr_palloc(p, n + 1);
    for (s = v; *s; ++s) {
        if (*s == '\\' || *s == '"') {
            *o++ = '\\';
            *o++ = *s;
        } else if (*s == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

const char *ingest_metrics_seconds(apr_pool_t *p, apr_uint64_t usec)
{
    return apr_psprintf(p, "%" APR_UINT64_T_FMT ".%06" APR_UINT64_T_FMT, usec / 1000000, usec % 1000000);
}

double ingest_metrics_cache_hit_ratio(const ingest_metrics_counters_t *c)
{
    apr_uint64_t hits = c->counter[INGEST_M_CACHE_HIT], misses = c->counter[INGEST_M_CACHE_MISS];
    if (hits + misses == 0) {
        return -1;
    }
    return (double)hits / (double)(hits + misses);
}

typedef struct {
    apr_pool_t *p;
    apr_array_header_t *lines;
} out_t;

static void add(out_t *o, const char *line)
{
    APR_ARRAY_PUSH(o->lines, const char *) = line;
}

static void head(out_t *o, const char *name, const char *type, const char *help)
{
    add(o, apr_psprintf(o->p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type));
}

static void counters(out_t *o, const counter_family_t *f, int nf, const ingest_metrics_counters_t *c)
{
    int i, j;
    for (i = 0; i < nf; ++i) {
        head(o, f[i].name, "counter", f[i].help);
        for (j = 0; j < f[i].n; ++j) {
            apr_uint64_t v = c->counter[f[i].v[j].m];
            if (f[i].label) {
                add(o, apr_psprintf(o->p, "%s{%s=\"%s\"} %" APR_UINT64_T_FMT "\n", f[i].name, f[i].label,
                                    ingest_metrics_escape_label(o->p, f[i].v[j].value), v));
            } else {
                add(o, apr_psprintf(o->p, "%s %" APR_UINT64_T_FMT "\n", f[i].name, v));
            }
        }
    }
}

static void pass_histogram(out_t *o, const ingest_metrics_counters_t *c)
{
    static const char name[] = "ingest_worker_pass_duration_seconds";
    apr_uint64_t cumulative = 0;
    int i;

    head(o, name, "histogram", "How long the background worker's passes took.");
    for (i = 0; i <= INGEST_M_PASS_BUCKETS; ++i) {
        cumulative += c->pass_bucket[i];
        add(o, apr_psprintf(o->p, "%s_bucket{le=\"%s\"} %" APR_UINT64_T_FMT "\n", name,
                            i < INGEST_M_PASS_BUCKETS ? pass_le_text[i] : "+Inf", cumulative));
    }
    add(o, apr_psprintf(o->p, "%s_sum %s\n%s_count %" APR_UINT64_T_FMT "\n", name,
                        ingest_metrics_seconds(o->p, c->pass_sum_usec), name, cumulative));
}

char *ingest_metrics_render(apr_pool_t *p, const ingest_metrics_scrape_t *s)
{
    const ingest_metrics_counters_t *c = s->c;
    out_t o;
    int i;

    o.p = p;
    o.lines = apr_array_make(p, 64, sizeof(const char *));

    head(&o, "ingest_database_up", "gauge", "1 if this scrape could read the database, 0 otherwise.");
    add(&o, apr_psprintf(p, "ingest_database_up %d\n", s->database_up ? 1 : 0));
    if (s->database_up) {
        head(&o, "ingest_jobs", "gauge", "Jobs of all tenants, by status.");
        for (i = 0; i < s->njobs; ++i) {
            add(&o, apr_psprintf(p, "ingest_jobs{status=\"%s\"} %" APR_INT64_T_FMT "\n",
                                 ingest_metrics_escape_label(p, s->jobs[i].status), s->jobs[i].n));
        }
    }

    head(&o, "ingest_worker_passes_total", "counter", "Passes of the background worker, by outcome.");
    add(&o, apr_psprintf(p, "ingest_worker_passes_total{outcome=\"ok\"} %" APR_UINT64_T_FMT "\n",
                         c->counter[INGEST_M_PASS_OK]));
    add(&o, apr_psprintf(p, "ingest_worker_passes_total{outcome=\"error\"} %" APR_UINT64_T_FMT "\n",
                         c->counter[INGEST_M_PASS_ERROR]));
    pass_histogram(&o, c);
    if (c->last_pass_end) {
        head(&o, "ingest_worker_last_pass_timestamp_seconds", "gauge",
             "When the background worker's last pass ended (Unix time).");
        add(&o, apr_psprintf(p, "ingest_worker_last_pass_timestamp_seconds %s\n",
                             ingest_metrics_seconds(p, c->last_pass_end)));
    }
    counters(&o, worker_families, (int)(sizeof(worker_families) / sizeof(worker_families[0])), c);
    counters(&o, request_families, (int)(sizeof(request_families) / sizeof(request_families[0])), c);
    return apr_array_pstrcat(p, o.lines, 0);
}
