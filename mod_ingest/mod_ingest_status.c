/* mod_ingest's section of mod_status's server-status page (and of its
 * ?auto form), through mod_status's optional status_hook, as mod_md does:
 * the worker (which child holds the singleton, its last pass), the queue
 * (from the database, if a connection can be had) and the status cache's
 * hit rate. Never fails the page: what cannot be read is said so. */

#include <errno.h>
#include <signal.h>

#include <apr_optional.h>
#include <apr_strings.h>
#include <http_protocol.h>
#include <mod_status.h>

#include "mod_ingest_config.h"
#include "mod_ingest_metrics.h"
#include "mod_ingest_status.h"
#include "mod_ingest_store.h"

typedef struct {
    const char *processor;
    int db_up;
    apr_int64_t queued, running;
    ingest_metrics_counters_t c;
} status_t;

static void read_queue(request_rec *r, status_t *st)
{
    json_t *pairs = NULL, *pair;
    ap_dbd_t *dbd;
    size_t i;

    if (ingest_db_acquire(r, &dbd) != APR_SUCCESS
        || ingest_store_jobs_by_status(r->pool, r->server, dbd, &pairs) != APR_SUCCESS) {
        return;
    }
    st->db_up = 1;
    json_array_foreach(pairs, i, pair)
    {
        const char *name = json_string_value(json_array_get(pair, 0));
        apr_int64_t n = (apr_int64_t)json_integer_value(json_array_get(pair, 1));
        if (name && !strcmp(name, "queued")) {
            st->queued = n;
        } else if (name && !strcmp(name, "running")) {
            st->running = n;
        }
    }
}

static const char *hit_rate(apr_pool_t *p, const ingest_metrics_counters_t *c)
{
    double ratio = ingest_metrics_cache_hit_ratio(c);
    return ratio < 0 ? "n/a" : apr_psprintf(p, "%.3f", ratio);
}

static const char *last_pass_age(apr_pool_t *p, const ingest_metrics_counters_t *c)
{
    apr_time_t now = apr_time_now();
    if (!c->last_pass_end) {
        return NULL;
    }
    return ingest_metrics_seconds(
        p, now > (apr_time_t)c->last_pass_end ? (apr_uint64_t)(now - c->last_pass_end) : 0);
}

static apr_uint64_t passes(const ingest_metrics_counters_t *c)
{
    return c->counter[INGEST_M_PASS_OK] + c->counter[INGEST_M_PASS_ERROR];
}

/* ?auto: one "Key: value" line each */
static void print_short(request_rec *r, const status_t *st)
{
    const char *age = last_pass_age(r->pool, &st->c);
    ap_rprintf(r, "IngestProcessor: %s\n", st->processor);
    ap_rprintf(r, "IngestWorkerPid: %" APR_UINT64_T_FMT "\n", st->c.worker_pid);
    ap_rprintf(r, "IngestWorkerPasses: %" APR_UINT64_T_FMT "\n", passes(&st->c));
    if (age) {
        ap_rprintf(r, "IngestWorkerLastPassAge: %s\n", age);
        ap_rprintf(r, "IngestWorkerLastPassDuration: %s\n",
                   ingest_metrics_seconds(r->pool, st->c.last_pass_usec));
    }
    ap_rprintf(r, "IngestDatabase: %s\n", st->db_up ? "ok" : "unavailable");
    if (st->db_up) {
        ap_rprintf(r, "IngestQueued: %" APR_INT64_T_FMT "\n", st->queued);
        ap_rprintf(r, "IngestRunning: %" APR_INT64_T_FMT "\n", st->running);
        ap_rprintf(r, "IngestQueueDepth: %" APR_INT64_T_FMT "\n", st->queued + st->running);
    }
    ap_rprintf(r, "IngestCacheHits: %" APR_UINT64_T_FMT "\n", st->c.counter[INGEST_M_CACHE_HIT]);
    ap_rprintf(r, "IngestCacheMisses: %" APR_UINT64_T_FMT "\n", st->c.counter[INGEST_M_CACHE_MISS]);
    ap_rprintf(r, "IngestCacheHitRate: %s\n", hit_rate(r->pool, &st->c));
}

static void row(request_rec *r, const char *name, const char *value)
{
    ap_rprintf(r, "<tr><th style=\"text-align:left\">%s</th><td>%s</td></tr>\n", name,
               ap_escape_html(r->pool, value));
}

static void print_html(request_rec *r, const status_t *st)
{
    apr_pool_t *p = r->pool;
    const char *age = last_pass_age(p, &st->c);
    const char *worker;

    if (!strcmp(st->processor, "none")) {
        worker = "off (IngestProcessor none)";
    } else if (st->c.worker_pid) {
        worker = apr_psprintf(p, "running in process %" APR_UINT64_T_FMT " since %s", st->c.worker_pid,
                              ap_ht_time(p, (apr_time_t)st->c.worker_since, "%Y-%m-%d %H:%M:%S %Z", 0));
    } else {
        worker = "no process holds the worker now";
    }
    ap_rputs("<hr />\n<h2>mod_ingest</h2>\n<table>\n", r);
    row(r, "Processor", st->processor);
    row(r, "Worker", worker);
    row(r, "Worker passes", apr_psprintf(p, "%" APR_UINT64_T_FMT, passes(&st->c)));
    row(r, "Last pass",
        age ? apr_psprintf(p, "%s s ago, took %s s", age, ingest_metrics_seconds(p, st->c.last_pass_usec))
            : "never");
    row(r, "Queue depth",
        st->db_up ? apr_psprintf(
            p, "%" APR_INT64_T_FMT " (queued %" APR_INT64_T_FMT ", running %" APR_INT64_T_FMT ")",
            st->queued + st->running, st->queued, st->running)
                  : "database unavailable");
    row(r, "Status cache hit rate",
        apr_psprintf(
            p, "%s (%" APR_UINT64_T_FMT " hits, %" APR_UINT64_T_FMT " misses, %" APR_UINT64_T_FMT " errors)",
            hit_rate(p, &st->c), st->c.counter[INGEST_M_CACHE_HIT], st->c.counter[INGEST_M_CACHE_MISS],
            st->c.counter[INGEST_M_CACHE_ERROR]));
    ap_rputs("</table>\n", r);
}

static int status_hook(request_rec *r, int flags)
{
    status_t st = {0};

    st.processor = ingest_conf_processor_name(ingest_sconf(r->server));
    ingest_metrics_read(&st.c);
    /* a child killed outside httpd's control never said it stopped */
    if (st.c.worker_pid && kill((pid_t)st.c.worker_pid, 0) != 0 && errno == ESRCH) {
        st.c.worker_pid = 0;
    }
    read_queue(r, &st);
    if (flags & AP_STATUS_SHORT) {
        print_short(r, &st);
    } else {
        print_html(r, &st);
    }
    return OK;
}

void ingest_status_register_hooks(apr_pool_t *p)
{
    (void)p;
    /* a no-op without mod_status */
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL, APR_HOOK_MIDDLE);
}
