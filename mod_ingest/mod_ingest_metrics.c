/* The counters' shared memory, the updates every process makes to it, and
 * the "ingest-metrics" handler that serves them as Prometheus text. The
 * text itself is the pure core's (ingest_metrics.c). */

#include <apr_atomic.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <http_protocol.h>
#include <http_request.h>

#include "mod_ingest_http.h"
#include "mod_ingest_metrics.h"
#include "mod_ingest_store.h"

#define METRICS_HANDLER "ingest-metrics"
#define SEGMENT_MAGIC   APR_UINT64_C(0x494e4745535431) /* "INGEST1" */
/* the layout is part of the key: another build's segment is not ours */
#define SEGMENT_KEY "mod_ingest:metrics:" APR_STRINGIFY(INGEST_METRICS_LAYOUT)

typedef struct {
    apr_uint64_t magic;
    apr_uint64_t size;
    ingest_metrics_counters_t c;
} segment_t;

/* Set in the parent's post_config, before the children are forked: each
 * inherits the mapping and the pointer. A new generation (graceful
 * restart, with this DSO loaded afresh) finds the segment again in the
 * process pool. */
static segment_t *seg;

apr_status_t ingest_metrics_post_config(apr_pool_t *pconf, server_rec *s)
{
    apr_pool_t *proc = s->process->pool;
    apr_shm_t *shm = NULL;
    segment_t *found;
    apr_status_t rv;

    (void)pconf;
    apr_pool_userdata_get((void **)&shm, SEGMENT_KEY, proc);
    if (shm) {
        found = apr_shm_baseaddr_get(shm);
        if (apr_shm_size_get(shm) >= sizeof(segment_t) && found->magic == SEGMENT_MAGIC
            && found->size == sizeof(segment_t)) {
            seg = found;
            return APR_SUCCESS;
        }
    }
    /* anonymous: inherited by the children, gone with the last process */
    if ((rv = apr_shm_create(&shm, sizeof(segment_t), NULL, proc)) != APR_SUCCESS) {
        seg = NULL;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     IGLOGNO(00801) "cannot create the metrics' shared memory; metrics stay at 0");
        return APR_SUCCESS; /* metrics are not worth refusing to start */
    }
    found = apr_shm_baseaddr_get(shm);
    memset(found, 0, sizeof(*found));
    found->magic = SEGMENT_MAGIC;
    found->size = sizeof(segment_t);
    apr_pool_userdata_set(shm, SEGMENT_KEY, apr_pool_cleanup_null, proc);
    seg = found;
    return APR_SUCCESS;
}

void ingest_metrics_add(ingest_metric_e m, apr_uint64_t n)
{
    if (seg && (unsigned)m < INGEST_M_COUNT) {
        apr_atomic_add64(&seg->c.counter[m], n);
    }
}

void ingest_metrics_inc(ingest_metric_e m)
{
    ingest_metrics_add(m, 1);
}

void ingest_metrics_worker_pass(apr_time_t start, apr_time_t end, int ok)
{
    apr_uint64_t usec = end > start ? (apr_uint64_t)(end - start) : 0;
    if (!seg) {
        return;
    }
    apr_atomic_inc64(&seg->c.pass_bucket[ingest_metrics_pass_bucket((apr_int64_t)usec)]);
    apr_atomic_add64(&seg->c.pass_sum_usec, usec);
    apr_atomic_set64(&seg->c.last_pass_end, (apr_uint64_t)end);
    apr_atomic_set64(&seg->c.last_pass_usec, usec);
    /* counted last: a scrape never sees more passes than observations */
    apr_atomic_inc64(&seg->c.counter[ok ? INGEST_M_PASS_OK : INGEST_M_PASS_ERROR]);
}

void ingest_metrics_worker_holder(pid_t pid, int holds)
{
    if (!seg) {
        return;
    }
    if (holds) {
        apr_atomic_set64(&seg->c.worker_pid, (apr_uint64_t)pid);
        apr_atomic_set64(&seg->c.worker_since, (apr_uint64_t)apr_time_now());
    } else {
        /* a new holder may have taken over already */
        apr_atomic_cas64(&seg->c.worker_pid, 0, (apr_uint64_t)pid);
    }
}

void ingest_metrics_read(ingest_metrics_counters_t *out)
{
    int i;
    memset(out, 0, sizeof(*out));
    if (!seg) {
        return;
    }
    for (i = 0; i < INGEST_M_COUNT; ++i) {
        out->counter[i] = apr_atomic_read64(&seg->c.counter[i]);
    }
    for (i = 0; i <= INGEST_M_PASS_BUCKETS; ++i) {
        out->pass_bucket[i] = apr_atomic_read64(&seg->c.pass_bucket[i]);
    }
    out->pass_sum_usec = apr_atomic_read64(&seg->c.pass_sum_usec);
    out->worker_pid = apr_atomic_read64(&seg->c.worker_pid);
    out->worker_since = apr_atomic_read64(&seg->c.worker_since);
    out->last_pass_end = apr_atomic_read64(&seg->c.last_pass_end);
    out->last_pass_usec = apr_atomic_read64(&seg->c.last_pass_usec);
}

/* Jobs by status from the database; 0 when it cannot be read. */
static int read_jobs(request_rec *r, ingest_metrics_scrape_t *sc)
{
    ingest_metrics_jobs_t *jobs;
    json_t *pairs = NULL, *pair;
    ap_dbd_t *dbd;
    size_t i;

    if (ingest_db_acquire(r, &dbd) != APR_SUCCESS
        || ingest_store_jobs_by_status(r->pool, r->server, dbd, &pairs) != APR_SUCCESS) {
        return 0;
    }
    jobs = apr_pcalloc(r->pool, (json_array_size(pairs) + 1) * sizeof(*jobs));
    json_array_foreach(pairs, i, pair)
    {
        jobs[i].status = apr_pstrdup(r->pool, json_string_value(json_array_get(pair, 0)));
        jobs[i].n = (apr_int64_t)json_integer_value(json_array_get(pair, 1));
    }
    sc->jobs = jobs;
    sc->njobs = (int)json_array_size(pairs);
    return 1;
}

static int metrics_handler(request_rec *r)
{
    ingest_metrics_counters_t c;
    ingest_metrics_scrape_t sc = {0};
    const char *text;

    if (!r->handler || strcmp(r->handler, METRICS_HANDLER)) {
        return DECLINED;
    }
    if (r->method_number != M_GET) { /* HEAD too */
        apr_table_setn(r->headers_out, "Allow", "GET, HEAD");
        return ingest_send_error(
            r, HTTP_METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed",
            apr_psprintf(r->pool, "%s is not allowed here; allowed: GET, HEAD", r->method));
    }
    /* the database first, so that a failure to reach it is in this very
     * scrape's ingest_database_errors_total */
    sc.database_up = read_jobs(r, &sc);
    ingest_metrics_read(&c);
    sc.c = &c;
    text = ingest_metrics_render(r->pool, &sc);
    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_length(r, (apr_off_t)strlen(text));
    if (!r->header_only) {
        ap_rputs(text, r);
    }
    return OK;
}

void ingest_metrics_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_handler(metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
