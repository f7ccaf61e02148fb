#include <stdlib.h>
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_network_io.h>
#include <apr_optional.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <apr_portable.h>
#include <apr_dbd.h>
#include <mod_dbd.h>
#include <mod_watchdog.h>

#include "ingest_simulate.h"
#include "mod_ingest.h"
#include "mod_ingest_config.h"
#include "mod_ingest_db.h"
#include "mod_ingest_metrics.h"
#include "mod_ingest_notify.h"
#include "mod_ingest_processor.h"
#include "mod_ingest_storage.h"
#include "mod_ingest_store.h"
#include "mod_ingest_watchdog.h"
#include "mod_ingest_worker.h"
#include "mod_ingest_worker_threads.h"

/* A pass keeps going while work is due, but hands the thread back to
 * mod_watchdog at least this often, so httpd can stop it promptly. */
#define PASS_BUDGET apr_time_from_msec(1000)
#define PRUNE_EVERY apr_time_from_sec(5)
/* How long the child's exit waits for the step threads before it goes on
 * to the drain (which still waits for any database connection they hold):
 * a step stops at its next progress report, every 250 ms. */
#define STEPS_STOP_WAIT apr_time_from_sec(5)
/* With IngestWorkerNotify: after a pass that a notification started and
 * that found work, the next comes at least this soon (sql/012 lets one of
 * several concurrent transactions notify for all; the others may commit
 * just after the pass it started). */
#define NOTIFY_LINGER apr_time_from_msec(20)
/* a job whose file storage cannot be reached is due again after this */
#define STORAGE_RETRY apr_time_from_sec(5)

typedef struct {
    server_rec *s;
    const ingest_srv_conf *conf;
    /* the lease owner (worker name, child pid, thread): written by the
     * watchdog thread at STARTING, in place, so a hand-over allocates
     * nothing from a pool the thread does not own */
    char owner[256];
    ingest_rng_t rng;
    apr_time_t last_prune;
    int sweeping;         /* the last sweep of records left some: sweep on every pass */
    apr_time_t last_work; /* last pass that claimed or advanced a job */
    /* delivery records older than this can go: twice the largest
     * IngestCallbackTolerance of any virtual host (the margin is for
     * clocks that disagree) */
    apr_interval_time_t deliveries_kept;
    int db_complaint;
    /* Child exit. The child pool (and mod_dbd's resource list with it) is
     * destroyed while mod_watchdog's thread may still be in a pass, or in
     * its STOPPING call. A pre-cleanup on the child pool sets stopping (a
     * pass ends at its next statement), waits for the pass under way
     * (tick, bounded: mod_ingest_watchdog.h), then drains the database
     * gate (ingest_db_drain): no connection can be opened after that, and
     * it waits for the ones out before it gives the running jobs back. */
    volatile apr_uint32_t stopping; /* no new pass may start */
    ingest_tick_t tick;             /* a STARTING or RUNNING call is under way */
    volatile apr_uint32_t released; /* leases given back (once) */
    /* IngestWorkerThreads > 0: the long steps' threads, started at
     * STARTING in the child that holds the singleton (NULL elsewhere, and
     * with 0: the steps run in the pass, on the watchdog thread) */
    ingest_wthreads_t *volatile threads;
    ingest_notify_t *notify; /* IngestWorkerNotify; NULL when off */
} worker_t;

static worker_t *the_worker; /* per generation, set in post_config */

/* the worker's wake-up (sql/012) */
static const ingest_notify_spec_t worker_listen = {
    INGEST_NOTIFY_CHANNEL,
    "mod_ingest worker LISTEN",
    IGLOGNO(00414) "worker: no LISTEN connection for queued jobs",
    "; they are picked up every IngestWorkerInterval until it is back",
    IGLOGNO(00415) "worker: listening for queued jobs again",
    IGLOGNO(00414) "worker: LISTEN connection"};

static APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) * wd_get_instance;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) * wd_register_callback;

static apr_time_t server_started;

apr_time_t ingest_worker_started(void)
{
    return server_started;
}

/* Computed where it is needed rather than stored at child_init: the
 * watchdog thread may start before this module's child_init has run. */
const char *ingest_worker_name(apr_pool_t *p)
{
    char host[APRMAXHOSTLEN + 1];
    if (apr_gethostname(host, sizeof(host), p) != APR_SUCCESS) {
        apr_cpystrn(host, "localhost", sizeof(host));
    }
    /* the parent's pid: stable across graceful restarts, distinct for two
     * httpd instances on one host */
    return apr_psprintf(p, "%s:%ld", host, (long)getppid());
}

/* A step failed on this job's own account (a result the database refused,
 * a statement error): the job gets an attempt counted and goes back to the
 * queue with backoff, or fails after IngestMaxAttempts, with a readable
 * error; the rest of the batch goes on. Only a lost connection ends the
 * pass. */
static apr_status_t step_failed(worker_t *w, apr_pool_t *p, ap_dbd_t *dbd, json_t *job, apr_status_t why)
{
    const char *job_id = json_string_value(json_object_get(job, "job_id"));
    const char *error = why == INGEST_EDB_QUERY || why == INGEST_EDB_CONFLICT
                            ? apr_pstrcat(p, "the database refused the step: ", ingest_db_error(p, dbd), NULL)
                            : apr_psprintf(p, "the step failed: %pm", &why);
    apr_status_t rv;
    int done = 0;

    if (why == INGEST_ESTORAGE_DOWN) {
        /* not the job's fault: again later, no attempt counted */
        error = apr_psprintf(p, "the file storage (%s) cannot be reached; will retry",
                             ingest_storage_describe(ingest_conf_storage(w->conf)));
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, w->s, IGLOGNO(00425) "worker: job %s: %s", job_id, error);
        rv = ingest_store_worker_defer(p, w->s, dbd, job_id, w->owner, STORAGE_RETRY, error, &done);
        return rv == INGEST_EDB_DOWN ? rv : APR_SUCCESS;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, w->s, IGLOGNO(00413) "worker: job %s: %s", job_id, error);
    rv = ingest_store_worker_retry(p, w->s, dbd, job_id, w->owner, ingest_conf_max_attempts(w->conf), error,
                                   &done);
    if (rv == INGEST_EDB_QUERY) {
        /* in case the error text is what the database refuses: once more without it */
        rv = ingest_store_worker_retry(p, w->s, dbd, job_id, w->owner, ingest_conf_max_attempts(w->conf),
                                       "the step failed", &done);
    }
    return rv == INGEST_EDB_DOWN ? rv : APR_SUCCESS;
}

/* The step of a job that is not simulated: a mappings batch, job
 * metadata, a parse; NULL for a simulated one. */
static ingest_step_fn *long_step(const worker_t *w, json_t *job)
{
    const char *source = json_string_value(json_object_get(job, "source_type"));
    if (source && !strcmp(source, "mappings")) {
        return ingest_processor_mappings;
    }
    if (source && !strcmp(source, "job_metadata")) {
        return ingest_processor_jobmeta;
    }
    return ingest_conf_processor(w->conf) == INGEST_PROC_PARSE ? ingest_processor_parse : NULL;
}

static void step_init(worker_t *w, ingest_step_t *st, apr_pool_t *p, ap_dbd_t *dbd, ingest_rng_t *rng)
{
    st->p = p;
    st->s = w->s;
    st->dbd = dbd;
    st->conf = w->conf;
    st->owner = w->owner;
    st->rng = rng;
    st->stopping = &w->stopping;
    st->lease_lock = ingest_wthreads_lease_lock(w->threads);
}

/* One long step on a step thread, with a connection of its own through
 * the gate (the pass's stays with the pass). A step the child's exit
 * interrupts, or that finds no connection, leaves its job running under
 * the lease: the pass hands it over again, or the release at exit gives
 * it back to the queue. */
static void step_task(apr_pool_t *p, ingest_rng_t *rng, json_t *job, void *baton)
{
    worker_t *w = baton;
    ingest_step_t st;
    ap_dbd_t *dbd;
    apr_status_t rv;
    int ended = 0;

    if (apr_atomic_read32(&w->stopping) || !(dbd = ingest_db_open(p, w->s))) {
        return;
    }
    if (ingest_db_ready(p, w->s, dbd) == APR_SUCCESS) {
        step_init(w, &st, p, dbd, rng);
        rv = long_step(w, job)(&st, job, &ended);
        if (rv != APR_SUCCESS && rv != INGEST_EDB_DOWN) {
            step_failed(w, p, dbd, job, rv);
        }
    }
    ingest_db_close(w->s, dbd);
}

/* Runs the due step of every running job this worker holds, or hands it
 * to a step thread. */
static apr_status_t finish_due(worker_t *w, apr_pool_t *p, ap_dbd_t *dbd, int *finished)
{
    ingest_wthreads_t *wt = w->threads;
    ingest_step_t st;
    json_t *jobs = NULL, *job, *simulated;
    apr_status_t rv;
    size_t i;
    int n = 0, batch = ingest_conf_worker_batch(w->conf);

    *finished = 0;
    if (wt) {
        /* Steps that ended on the threads count as work done. A job in
         * flight is running and due, so the query returns it: the threads'
         * set of job ids, not the database, says it was handed over (it is
         * this process's own state, gone with it like the threads, while
         * the lease covers the job). A step that ended after this call
         * stays in the set until the next pass, since the query may read
         * its row from before its last statement committed. */
        *finished = ingest_wthreads_forget_ended(wt);
        batch += ingest_wthreads_inflight(wt); /* room for a batch besides them */
    }
    rv = ingest_store_worker_due(p, w->s, dbd, w->owner, batch, &jobs);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    step_init(w, &st, p, dbd, &w->rng);
    /* simulated files end together, in one statement, after the rest */
    simulated = ingest_json_pool_own(p, json_array());
    json_array_foreach(jobs, i, job)
    {
        ingest_step_fn *fn = long_step(w, job);
        int ended = 0;
        if (apr_atomic_read32(&w->stopping)) {
            return APR_SUCCESS;
        }
        if (!fn) {
            json_array_append(simulated, job);
            continue;
        }
        if (wt) {
            /* APR_EEXIST: in flight already */
            if (ingest_wthreads_dispatch(wt, job) == APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, w->s,
                             IGLOGNO(00423) "worker: job %s: step handed to a step thread",
                             json_string_value(json_object_get(job, "job_id")));
                *finished += 1;
            }
            continue;
        }
        rv = fn(&st, job, &ended);
        if (rv == INGEST_EDB_DOWN) {
            return rv; /* the connection is gone: nothing more this pass */
        }
        if (rv != APR_SUCCESS && (rv = step_failed(w, p, dbd, job, rv)) != APR_SUCCESS) {
            return rv;
        }
        /* a step that advanced without ending still counts as work done */
        *finished += 1;
    }
    if ((rv = ingest_processor_simulate(&st, simulated, &n)) != APR_SUCCESS) {
        return rv;
    }
    *finished += (int)json_array_size(simulated);
    return APR_SUCCESS;
}

static apr_status_t worker_pass(worker_t *w, apr_pool_t *p)
{
    const ingest_srv_conf *c = w->conf;
    ingest_processor_e proc = ingest_conf_processor(c);
    apr_time_t until = apr_time_now() + PASS_BUDGET;
    ap_dbd_t *dbd;
    apr_status_t rv;
    int n = 0, claimed = 0, finished = 0, housekeeping = 0;

    dbd = ingest_db_open(p, w->s);
    if (!dbd) {
        if (ingest_db_closing()) {
            return APR_SUCCESS; /* the child is exiting */
        }
        if (!w->db_complaint++) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, w->s,
                         IGLOGNO(00401) "worker: database unavailable; retrying every pass");
        }
        return INGEST_EDB_DOWN;
    }
    if ((rv = ingest_db_ready(p, w->s, dbd)) != APR_SUCCESS) {
        ingest_db_close(w->s, dbd);
        return rv;
    }
    if (w->db_complaint) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, w->s, IGLOGNO(00402) "worker: database reachable again");
        w->db_complaint = 0;
    }

    rv = ingest_store_worker_heartbeat(p, w->s, dbd, ingest_worker_name(p), w->owner,
                                       ingest_conf_processor_name(c), apr_time_now() - w->last_work);
    if (rv == APR_SUCCESS) {
        apr_thread_mutex_t *lease_lock = ingest_wthreads_lease_lock(w->threads);
        ingest_lease_enter(lease_lock);
        rv = ingest_store_worker_renew(p, w->s, dbd, w->owner, ingest_conf_lease_time(c));
        ingest_lease_leave(lease_lock);
    }
    if (rv == APR_SUCCESS) {
        rv = ingest_store_worker_expire_uploads(p, w->s, dbd, &n);
        if (rv == APR_SUCCESS && n) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, w->s,
                         IGLOGNO(00411) "worker: %d pending job(s) failed: their upload window closed", n);
        }
    }
    if (rv == APR_SUCCESS) {
        rv = ingest_store_worker_rescue(p, w->s, dbd, ingest_conf_worker_batch(c),
                                        ingest_conf_max_attempts(c), &n);
        if (rv == APR_SUCCESS && n) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, w->s,
                         IGLOGNO(00403) "worker: %d job(s) whose lease expired were requeued or failed", n);
        }
    }
    /* Loop while work is due: jobs advance by due time, so one thread
     * drives any number of jobs and never sleeps for one of them. */
    while (rv == APR_SUCCESS) {
        int own = 0;
        claimed = 0;
        if (w->threads && ingest_wthreads_inflight(w->threads) >= ingest_conf_worker_batch(c)) {
            /* a batch waits for the step threads already: no more jobs
             * taken from the queue (and from other hosts) until they get
             * through it */
        } else if (proc == INGEST_PROC_EXTERNAL) {
            /* the pipeline gets every job but job metadata, which lands in
             * this database and so is this worker's */
            rv =
                ingest_store_worker_claim(p, w->s, dbd, ingest_conf_worker_batch(c), INGEST_CLAIM_NOT_JOBMETA,
                                          "external", ingest_conf_external_deadline(c), 0, &claimed);
            if (rv == APR_SUCCESS) {
                rv =
                    ingest_store_worker_claim(p, w->s, dbd, ingest_conf_worker_batch(c), INGEST_CLAIM_JOBMETA,
                                              w->owner, ingest_conf_lease_time(c), 0, &own);
            }
        } else {
            /* simulate's running phase is its duration; parse starts at once */
            rv = ingest_store_worker_claim(p, w->s, dbd, ingest_conf_worker_batch(c), INGEST_CLAIM_ALL,
                                           w->owner, ingest_conf_lease_time(c),
                                           proc == INGEST_PROC_PARSE ? 0 : ingest_conf_sim_duration(c), &own);
        }
        claimed += own;
        if (rv == APR_SUCCESS) {
            rv = finish_due(w, p, dbd, &finished);
        }
        if (claimed + finished > 0) {
            w->last_work = apr_time_now();
        }
        if (claimed + finished == 0 || apr_time_now() >= until || apr_atomic_read32(&w->stopping)) {
            break;
        }
    }
    if (rv == APR_SUCCESS && apr_time_now() - w->last_prune >= PRUNE_EVERY) {
        housekeeping = 1;
        w->last_prune = apr_time_now();
        rv = ingest_store_worker_prune_deliveries(p, w->s, dbd, w->deliveries_kept, &n);
        /* job events past IngestEventsHistory, a batch at a time */
        do {
            if (rv == APR_SUCCESS) {
                rv = ingest_store_events_prune(p, w->s, dbd, ingest_conf_events_history(c), &n);
            }
        } while (rv == APR_SUCCESS && n >= 5000 && apr_time_now() < until);
        while (rv == APR_SUCCESS && ingest_conf_retention_days(c) > 0) {
            json_t *files = NULL, *f;
            size_t k;
            rv = ingest_store_worker_prune(p, w->s, dbd, ingest_conf_retention_days(c), &n, &files);
            /* the rows are gone first: a leftover file is garbage, never
             * a job without its data */
            json_array_foreach(files, k, f)
            {
                apr_status_t frv = ingest_storage_remove(p, ingest_conf_storage(c), json_string_value(f));
                if (frv != APR_SUCCESS) {
                    ap_log_error(APLOG_MARK, APLOG_WARNING, frv, w->s,
                                 IGLOGNO(00412) "worker: pruned a job but could not remove its file %s",
                                 json_string_value(f));
                }
            }
            if (rv == APR_SUCCESS && n) {
                ap_log_error(APLOG_MARK, APLOG_INFO, 0, w->s,
                             IGLOGNO(00404) "worker: pruned %d job(s) past IngestRetention", n);
            }
            if (!n || apr_time_now() >= until) {
                break;
            }
        }
    }
    /* the records of deleted and failed jobs, a batch at a time, while the
     * pass has time: looked for with the pruning, then on every pass
     * until none are left */
    if (rv == APR_SUCCESS && (w->sweeping || housekeeping)) {
        int more = 1; /* the loop may not run: stay as before */
        while (rv == APR_SUCCESS && apr_time_now() < until) {
            apr_int64_t swept = 0;
            rv = ingest_store_records_sweep(p, w->s, dbd, &swept, &more);
            if (rv == APR_SUCCESS && swept) {
                ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, w->s,
                             IGLOGNO(00424) "worker: removed %" APR_INT64_T_FMT
                                            " record(s) of a deleted or failed job",
                             swept);
            }
            if (!more) {
                break;
            }
        }
        w->sweeping = rv == APR_SUCCESS && more;
    }
    ingest_db_close(w->s, dbd);
    return rv;
}

/* Gives the running jobs back to the queue, once, whoever comes first:
 * the STOPPING call or the child-exit cleanup. */
static void release_leases(ap_dbd_t *dbd, apr_pool_t *p, void *data)
{
    worker_t *w = data;
    int n = 0;
    if (!w->owner[0] || apr_atomic_cas32(&w->released, 1, 0) != 0) {
        return; /* never held the singleton, or already done */
    }
    if (ingest_db_ready(p, w->s, dbd) == APR_SUCCESS
        && ingest_store_worker_release(p, w->s, dbd, w->owner, &n) == APR_SUCCESS && n) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, w->s,
                     IGLOGNO(00405) "worker: stopping; gave %d running job(s) back to the queue", n);
    }
}

/* With stopping set: no step starts any more, and the running ones end at
 * their next progress report; waits for them (bounded) so that they are
 * done before the leases go back. Past the bound the drain still waits
 * for any connection a step holds. */
static void stop_steps(worker_t *w)
{
    ingest_wthreads_t *wt = __atomic_load_n(&w->threads, __ATOMIC_SEQ_CST);
    int left;
    if (wt && (left = ingest_wthreads_stop(wt, STEPS_STOP_WAIT)) > 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, w->s,
                     IGLOGNO(00421) "worker: stopping; %d step thread(s) still running after %d s", left,
                     (int)apr_time_sec(STEPS_STOP_WAIT));
    }
}

static apr_status_t worker_child_exit(void *data)
{
    worker_t *w = data;
    apr_atomic_set32(&w->stopping, 1);
    /* the worker thread lets go of it within a slice of its wait */
    ingest_notify_close(w->notify);
    /* whether or not mod_watchdog says STOPPING first: if this child held
     * the singleton, it no longer does */
    ingest_metrics_worker_holder(getpid(), 0);
    stop_steps(w);
    ingest_tick_wait(&w->tick, INGEST_TICK_EXIT_WAIT);
    ingest_db_drain(w->s, release_leases, w);
    return APR_SUCCESS;
}

void ingest_worker_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)s;
    if (the_worker) {
        apr_pool_pre_cleanup_register(pchild, the_worker, worker_child_exit);
    }
}

/* At STARTING: the step threads of this child, which holds the
 * singleton now. Without them (IngestWorkerThreads 0, or none could
 * start) the pass runs the steps itself. */
static void start_steps(worker_t *w)
{
    int n = ingest_conf_worker_threads(w->conf);
    ingest_wthreads_t *wt = NULL;
    if (n <= 0 || w->threads || apr_atomic_read32(&w->stopping)) {
        return;
    }
    if (ingest_wthreads_create(&wt, w->s, n, step_task, w) != APR_SUCCESS || !wt) {
        ap_log_error(
            APLOG_MARK, APLOG_ERR, 0, w->s,
            IGLOGNO(00422) "worker: no step thread could start; steps run on the worker's own thread");
        return;
    }
    __atomic_store_n(&w->threads, wt, __ATOMIC_SEQ_CST);
    /* the child's exit may have begun meanwhile, and found no threads */
    if (apr_atomic_read32(&w->stopping)) {
        stop_steps(w);
    }
}

/* Passes, each in a pool of its own. With IngestWorkerNotify, the thread
 * stays here: after each pass it waits on the LISTEN connection for up to
 * the interval, and the next pass starts as soon as a job is queued (or
 * the interval is over; 20 ms when a woken pass found work). It goes back
 * to mod_watchdog, whose next call comes one interval later, when the
 * child stops or there is no LISTEN connection. */
static void worker_run(worker_t *w, apr_pool_t *pool)
{
    apr_pool_t *p;
    int next = INGEST_NOTIFY_TIMEOUT;

    if (apr_pool_create(&p, pool) != APR_SUCCESS) {
        return;
    }
    while (next != INGEST_NOTIFY_HANDBACK && !apr_atomic_read32(&w->stopping)) {
        apr_time_t start = apr_time_now(), worked = w->last_work;
        apr_interval_time_t wait = ingest_conf_worker_interval(w->conf);
        apr_status_t rv = worker_pass(w, p);
        ingest_metrics_worker_pass(start, apr_time_now(), rv == APR_SUCCESS);
        apr_pool_clear(p);
        if (next == INGEST_NOTIFY_WOKEN && w->last_work != worked && wait > NOTIFY_LINGER) {
            wait = NOTIFY_LINGER;
        }
        next = ingest_notify_wait(w->notify, p, wait, &w->stopping);
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
}

static apr_status_t worker_callback(int state, void *data, apr_pool_t *pool)
{
    worker_t *w = data;
    apr_os_thread_t tid = apr_os_thread_current();
    apr_uint64_t seed = 0;

    switch (state) {
    case AP_WATCHDOG_STATE_STARTING:
        ingest_tick_enter(&w->tick);
        /* a fresh owner per child and thread: a lease held by a dead child
         * is never mistaken for ours */
        apr_snprintf(w->owner, sizeof(w->owner), "%s:%ld:%lu", ingest_worker_name(pool), (long)getpid(),
                     (unsigned long)tid);
        w->last_work = apr_time_now();
        apr_generate_random_bytes((unsigned char *)&seed, sizeof(seed));
        ingest_rng_seed(&w->rng, seed ^ (apr_uint64_t)apr_time_now());
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, w->s, IGLOGNO(00406) "worker %s started (processor %s)",
                     w->owner, ingest_conf_processor_name(w->conf));
        ingest_metrics_worker_holder(getpid(), 1);
        start_steps(w);
        ingest_tick_leave(&w->tick);
        break;
    case AP_WATCHDOG_STATE_RUNNING:
        ingest_tick_enter(&w->tick);
        worker_run(w, pool);
        ingest_tick_leave(&w->tick);
        break;
    case AP_WATCHDOG_STATE_STOPPING: {
        /* From the watchdog thread (one that stopped waiting for the
         * singleton's mutex) or from the destruction of mod_watchdog's
         * pool, before or after the child-exit cleanup: through the gate,
         * which is closed once that cleanup has begun. */
        ap_dbd_t *dbd;
        apr_atomic_set32(&w->stopping, 1);
        ingest_notify_close(w->notify);
        ingest_metrics_worker_holder(getpid(), 0);
        stop_steps(w);
        if ((dbd = ingest_db_open(pool, w->s))) {
            release_leases(dbd, pool, w);
            ingest_db_close(w->s, dbd);
        }
        break;
    }
    default: break;
    }
    /* anything but success and mod_watchdog never calls us again: a
     * database outage must not end the worker */
    return APR_SUCCESS;
}

apr_status_t ingest_worker_post_config(apr_pool_t *pconf, server_rec *s)
{
    const ingest_srv_conf *c = ingest_sconf(s);
    ap_watchdog_t *wd;
    server_rec *vs;
    worker_t *w;
    apr_status_t rv;

    server_started = apr_time_now();
    the_worker = NULL;
    if (ingest_conf_processor(c) == INGEST_PROC_NONE) {
        return APR_SUCCESS;
    }
    wd_get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    wd_register_callback = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!wd_get_instance || !wd_register_callback) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     IGLOGNO(00407) "IngestProcessor %s needs mod_watchdog, which is not loaded",
                     ingest_conf_processor_name(c));
        return APR_ENOTIMPL;
    }
    /* singleton: one worker per httpd server, whichever child holds it */
    if ((rv = wd_get_instance(&wd, "mod_ingest", 0, 1, pconf)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, IGLOGNO(00408) "cannot create the worker's watchdog");
        return rv;
    }
    w = apr_pcalloc(pconf, sizeof(*w));
    the_worker = w;
    w->s = s;
    w->conf = c;
    w->last_prune = 0;
    w->notify = ingest_conf_worker_notify(c) ? ingest_notify_create(pconf, s, &worker_listen) : NULL;
    for (vs = s; vs; vs = vs->next) {
        apr_interval_time_t tol = ingest_conf_callback_tolerance(ingest_sconf(vs));
        if (2 * tol > w->deliveries_kept) {
            w->deliveries_kept = 2 * tol;
        }
    }
    if ((rv = wd_register_callback(wd, ingest_conf_worker_interval(c), w, worker_callback)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, IGLOGNO(00409) "cannot register the worker");
        return rv;
    }
    return APR_SUCCESS;
}
