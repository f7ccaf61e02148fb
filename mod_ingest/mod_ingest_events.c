/* The per-child listener and ring of job events (mod_ingest_events.h).
 *
 * Threads: the listener thread writes the ring; request threads read it,
 * under `mu`, and wait on `more` (broadcast whenever the head moves, and
 * when the child stops). The ring holds every event in (floor, head] as
 * far as the database's final events go: a stream at a cursor >= floor
 * finds all it needs here.
 *
 * Memory: the hub lives in an unmanaged pool of its own (as the worker's
 * step threads do): the child's exit waits for the listener only so long,
 * and a listener still in a query after that must not find its memory
 * freed. Events are malloc'd and freed as the ring overwrites them. */

#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <ap_mpm.h>

#include "ingest_job.h"
#include "mod_ingest_config.h"
#include "mod_ingest_db.h"
#include "mod_ingest_events.h"
#include "mod_ingest_notify.h"

#define CHANNEL "ingest_events"
/* how long the listener waits for a notification before it reads anyway;
 * how soon it reads again after a read that found events, or saw events
 * not yet final (a notification skipped for a concurrent one, sql/017) */
#define POLL_EVERY  apr_time_from_sec(1)
#define AGAIN_AFTER apr_time_from_msec(25)
/* a stream waits in slices of this, to notice the child stopping */
#define SLICE apr_time_from_msec(500)
/* events one read takes at most */
#define READ_LIMIT "1000"
#define EXIT_WAIT  apr_time_from_sec(10)

/* The events that became final after $1: the horizon, whether any event
 * above it is visible already (not final yet: read again soon), and the
 * events below it, oldest first. One statement, one snapshot. */
static const char read_sql[] =
    "WITH h AS (SELECT ingest_events_horizon() AS h)"
    " SELECT h.h, EXISTS (SELECT 1 FROM ingest_job_events x WHERE x.id >= h.h),"
    "        e.id, e.tenant_id, e.job_id, e.terminal, e.job"
    " FROM h LEFT JOIN LATERAL (SELECT id, tenant_id, job_id, terminal, job FROM ingest_job_events"
    "                           WHERE id > $1::bigint AND id < h.h ORDER BY id LIMIT " READ_LIMIT
    ") e ON true"
    " ORDER BY e.id";

typedef struct {
    apr_int64_t id;
    char *tenant, *job_id, *data;
    int terminal;
} slot_t;

typedef struct {
    server_rec *s;
    apr_pool_t *pool;
    apr_thread_mutex_t *mu;
    apr_thread_cond_t *more;
    apr_thread_t *thread;
    ingest_notify_t *listen;
    volatile apr_uint32_t stopping, exited;
    int started, live;
    apr_int64_t floor, head;
    slot_t ring[INGEST_EVENTS_RING];
    size_t first, count; /* oldest slot, slots in use */
    volatile apr_uint32_t streams;
    int max_streams;
} hub_t;

static hub_t *hub;

static const ingest_notify_spec_t events_listen = {
    CHANNEL,
    "mod_ingest events LISTEN",
    IGLOGNO(00440) "events: no LISTEN connection for job events",
    "; open streams wait (sending heartbeats) and new ones are answered 503 until it is back",
    IGLOGNO(00441) "events: listening for job events again",
    IGLOGNO(00442) "events: reading job events"};

char *ingest_events_render(const char *job, apr_size_t len)
{
    json_t *j = json_loadb(job, len, 0, NULL);
    char *text;
    if (!j) {
        return NULL;
    }
    ingest_job_add_derived(j);
    /* as ingest_render_document writes the native profile's answers */
    text = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15));
    json_decref(j);
    return text;
}

static int child_stopping(void)
{
    int state = AP_MPMQ_STARTING;
    return (hub && apr_atomic_read32(&hub->stopping)) || ingest_db_closing()
           || (ap_mpm_query(AP_MPMQ_MPM_STATE, &state) == APR_SUCCESS && state == AP_MPMQ_STOPPING);
}

static void slot_free(slot_t *sl)
{
    free(sl->tenant);
    free(sl->job_id);
    free(sl->data);
    memset(sl, 0, sizeof(*sl));
}

/* under mu */
static void push(hub_t *h, apr_int64_t id, const char *tenant, const char *job_id, int terminal, char *data)
{
    slot_t *sl;
    if (h->count == INGEST_EVENTS_RING) {
        sl = &h->ring[h->first];
        h->floor = sl->id;
        slot_free(sl);
        h->first = (h->first + 1) % INGEST_EVENTS_RING;
        h->count--;
    }
    sl = &h->ring[(h->first + h->count) % INGEST_EVENTS_RING];
    sl->id = id;
    sl->tenant = strdup(tenant);
    sl->job_id = strdup(job_id);
    sl->terminal = terminal;
    sl->data = data;
    h->count++;
}

static apr_int64_t cell_int64(PGresult *res, int row, int col)
{
    return apr_atoi64(PQgetvalue(res, row, col));
}

/* One read: 1 when it found events or saw some not final yet (read again
 * soon), 0 when it found nothing, -1 when it could not read. */
static int read_events(hub_t *h, apr_pool_t *p)
{
    const char *args[1];
    PGresult *res;
    int rows, i, again = 0, taken = 0;
    apr_int64_t horizon, last = 0;

    args[0] = apr_psprintf(p, "%" APR_INT64_T_FMT, h->started > 1 ? h->head : APR_INT64_MAX);
    if (!(res = ingest_notify_exec(h->listen, p, read_sql, 1, args))) {
        return -1;
    }
    rows = PQntuples(res);
    if (rows < 1) {
        PQclear(res);
        return -1;
    }
    horizon = cell_int64(res, 0, 0);
    again = !strcmp(PQgetvalue(res, 0, 1), "t");
    apr_thread_mutex_lock(h->mu);
    if (h->started == 1) {
        /* the first read: live from here (the ring starts empty; older
         * events are the database's to replay) */
        h->floor = h->head = horizon - 1;
        h->started = 2;
    } else {
        for (i = 0; i < rows; ++i) {
            char *data;
            if (PQgetisnull(res, i, 2)) {
                continue;
            }
            last = cell_int64(res, i, 2);
            taken++;
            if (!(data = ingest_events_render(PQgetvalue(res, i, 6), (apr_size_t)PQgetlength(res, i, 6)))) {
                ap_log_error(
                    APLOG_MARK, APLOG_ERR, 0, h->s,
                    IGLOGNO(00443) "events: event %" APR_INT64_T_FMT " has no valid job JSON; skipped", last);
                continue;
            }
            push(h, last, PQgetvalue(res, i, 3), PQgetvalue(res, i, 4), !strcmp(PQgetvalue(res, i, 5), "t"),
                 data);
        }
        /* a full read ends at its last event; otherwise every final event
         * below the horizon has been read */
        if (taken >= atoi(READ_LIMIT)) {
            h->head = last;
            again = 1;
        } else if (horizon - 1 > h->head) {
            h->head = horizon - 1;
        }
    }
    h->live = 1;
    apr_thread_cond_broadcast(h->more);
    apr_thread_mutex_unlock(h->mu);
    PQclear(res);
    return again || taken;
}

static void set_down(hub_t *h)
{
    apr_thread_mutex_lock(h->mu);
    h->live = 0;
    apr_thread_mutex_unlock(h->mu);
}

static void *APR_THREAD_FUNC listener(apr_thread_t *t, void *data)
{
    hub_t *h = data;
    apr_pool_t *p = NULL;
    apr_interval_time_t wait = 0;

    while (!child_stopping()) {
        int w, got;
        if (p) {
            apr_pool_clear(p);
        } else if (apr_pool_create(&p, h->pool) != APR_SUCCESS) {
            break;
        }
        w = ingest_notify_wait(h->listen, p, wait, &h->stopping);
        if (w == INGEST_NOTIFY_HANDBACK) {
            /* no connection (tried again at most every 5 s) or stopping */
            set_down(h);
            apr_sleep(apr_time_from_msec(100));
            wait = 0;
            continue;
        }
        got = read_events(h, p);
        if (got < 0) {
            set_down(h);
        }
        wait = got > 0 ? AGAIN_AFTER : POLL_EVERY;
    }
    apr_atomic_set32(&h->exited, 1);
    apr_thread_mutex_lock(h->mu);
    apr_thread_cond_broadcast(h->more);
    apr_thread_mutex_unlock(h->mu);
    /* a return, not apr_thread_exit(): pthread_exit() leaves this frame's
     * stack poisoned under ASan, as the worker's step threads found */
    (void)t;
    return NULL;
}

/* Before the child pool goes: streams end, the listener lets go of its
 * session, and is waited for (at most EXIT_WAIT). */
static apr_status_t hub_exit(void *data)
{
    hub_t *h = data;
    apr_time_t until = apr_time_now() + EXIT_WAIT;
    int started;

    apr_atomic_set32(&h->stopping, 1);
    apr_thread_mutex_lock(h->mu);
    started = h->started;
    apr_thread_cond_broadcast(h->more);
    apr_thread_mutex_unlock(h->mu);
    ingest_notify_close(h->listen);
    if (!started) {
        return APR_SUCCESS;
    }
    while (!apr_atomic_read32(&h->exited) && apr_time_now() < until) {
        apr_sleep(apr_time_from_msec(10));
    }
    if (apr_atomic_read32(&h->exited)) {
        apr_status_t trv;
        apr_thread_join(&trv, h->thread);
        /* the ring's events; the pool itself is freed by the exit */
        while (h->count) {
            slot_free(&h->ring[h->first]);
            h->first = (h->first + 1) % INGEST_EVENTS_RING;
            h->count--;
        }
    }
    return APR_SUCCESS;
}

void ingest_events_child_init(apr_pool_t *pchild, server_rec *s)
{
    const ingest_srv_conf *c = ingest_sconf(s);
    apr_thread_mutex_t *amx;
    apr_pool_t *pool;
    hub_t *h;
    int threads = 0;

    if (apr_pool_create_unmanaged_ex(&pool, NULL, NULL) != APR_SUCCESS) {
        return;
    }
    apr_pool_tag(pool, "ingest_events");
    if (apr_thread_mutex_create(&amx, APR_THREAD_MUTEX_DEFAULT, pool) != APR_SUCCESS) {
        return;
    }
    apr_allocator_mutex_set(apr_pool_allocator_get(pool), amx);
    h = apr_pcalloc(pool, sizeof(*h));
    h->s = s;
    h->pool = pool;
    if (apr_thread_mutex_create(&h->mu, APR_THREAD_MUTEX_DEFAULT, pool) != APR_SUCCESS
        || apr_thread_cond_create(&h->more, pool) != APR_SUCCESS) {
        return;
    }
    h->listen = ingest_notify_create(pool, s, &events_listen);
    h->max_streams = ingest_conf_events_max_streams(c);
    if (h->max_streams < 0) {
        ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
        h->max_streams = threads > 1 ? threads / 2 : 1;
    }
    hub = h;
    apr_pool_pre_cleanup_register(pchild, h, hub_exit);
}

apr_status_t ingest_events_enter(request_rec *r)
{
    (void)r;
    if (!hub) {
        return APR_EBUSY;
    }
    if (apr_atomic_inc32(&hub->streams) >= (apr_uint32_t)hub->max_streams) {
        apr_atomic_dec32(&hub->streams);
        return APR_EBUSY;
    }
    return APR_SUCCESS;
}

void ingest_events_leave(void)
{
    if (hub) {
        apr_atomic_dec32(&hub->streams);
    }
}

apr_status_t ingest_events_live(apr_interval_time_t wait, apr_int64_t *head)
{
    hub_t *h = hub;
    apr_time_t until = apr_time_now() + wait;
    apr_status_t rv = APR_SUCCESS;

    if (!h || child_stopping()) {
        return APR_EAGAIN;
    }
    apr_thread_mutex_lock(h->mu);
    /* stopping is read again under mu: hub_exit sets it before it takes mu
     * to see whether a listener is to be waited for, so a listener is
     * either started before that look or not at all */
    if (apr_atomic_read32(&h->stopping)) {
        apr_thread_mutex_unlock(h->mu);
        return APR_EAGAIN;
    }
    if (!h->started) {
        apr_threadattr_t *attr;
        h->started = 1;
        if ((rv = apr_threadattr_create(&attr, h->pool)) == APR_SUCCESS) {
            rv = apr_thread_create(&h->thread, attr, listener, h, h->pool);
        }
        if (rv != APR_SUCCESS) {
            h->started = 0;
            apr_thread_mutex_unlock(h->mu);
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, h->s,
                         IGLOGNO(00444) "events: could not start the listener thread");
            return APR_EAGAIN;
        }
    }
    while (!(h->live && h->started > 1) && !apr_atomic_read32(&h->stopping)) {
        apr_time_t now = apr_time_now();
        if (now >= until) {
            break;
        }
        apr_thread_cond_timedwait(h->more, h->mu, until - now);
    }
    rv = h->live && h->started > 1 ? APR_SUCCESS : APR_EAGAIN;
    *head = h->head;
    apr_thread_mutex_unlock(h->mu);
    return rv;
}

/* under mu: the first slot with an id above cursor (count when none) */
static size_t first_after(const hub_t *h, apr_int64_t cursor)
{
    size_t lo = 0, hi = h->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->ring[(h->first + mid) % INGEST_EVENTS_RING].id <= cursor) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

ingest_events_take_e ingest_events_take(apr_pool_t *p, const char *tenant, const char *job_id,
                                        apr_int64_t *cursor, apr_interval_time_t wait,
                                        apr_array_header_t *out)
{
    hub_t *h = hub;
    apr_time_t until = apr_time_now() + wait;
    ingest_events_take_e answer = INGEST_EVENTS_OK;

    if (!h) {
        return INGEST_EVENTS_STOPPING;
    }
    apr_thread_mutex_lock(h->mu);
    for (;;) {
        apr_time_t now;
        size_t i;
        if (child_stopping()) {
            answer = INGEST_EVENTS_STOPPING;
            break;
        }
        if (*cursor < h->floor) {
            answer = INGEST_EVENTS_BEHIND;
            break;
        }
        if (*cursor < h->head) {
            for (i = first_after(h, *cursor); i < h->count; ++i) {
                const slot_t *sl = &h->ring[(h->first + i) % INGEST_EVENTS_RING];
                ingest_event_t *ev;
                if (strcmp(sl->tenant, tenant) || (job_id && strcmp(sl->job_id, job_id))) {
                    continue;
                }
                ev = &APR_ARRAY_PUSH(out, ingest_event_t);
                ev->id = sl->id;
                ev->job_id = apr_pstrdup(p, sl->job_id);
                ev->terminal = sl->terminal;
                ev->data = apr_pstrdup(p, sl->data);
            }
            *cursor = h->head;
        }
        now = apr_time_now();
        if (out->nelts || now >= until) {
            break;
        }
        apr_thread_cond_timedwait(h->more, h->mu, until - now < SLICE ? until - now : SLICE);
    }
    apr_thread_mutex_unlock(h->mu);
    return answer;
}
