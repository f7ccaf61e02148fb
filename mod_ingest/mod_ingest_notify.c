/* The worker's LISTEN connection (issue 12, pick-up latency).
 *
 * Why a connection of its own (PQconnectStartParams), not one of mod_dbd's:
 *  - LISTEN belongs to a session, and a notification is only delivered to
 *    a session that is listening when the notifying transaction commits.
 *    A pooled connection is shared with requests and the worker's passes
 *    (ap_dbd_open hands out whichever is free), so it would have to be held
 *    for as long as the worker listens: for the life of the child.
 *  - A pooled connection held that long breaks the child's exit. mod_dbd's
 *    resource list asserts, and aborts the child, when it is destroyed with
 *    a connection out; ingest_db_drain() therefore waits for every
 *    connection opened through the gate before the child pool goes, and
 *    once the exit has begun nobody may open one. A held LISTEN connection
 *    would have to be given back from the cleanup while the worker thread
 *    may still be polling on it.
 *  - ap_dbd_open answers NULL while the database is down, and the
 *    watchdog singleton moves between child processes: the connection has
 *    to be made again, by whichever child holds the worker, at any time.
 * So the worker owns a plain libpq connection that mod_dbd never sees,
 * opened with the very parameters of DBDParams (read once per process from
 * a pooled connection through PQconninfo(), which gives back exactly what
 * apr_dbd_pgsql passed to PQconnectdb, password included), and closed at
 * STOPPING or in the child-exit cleanup. It costs one PostgreSQL session
 * per httpd instance (in the child holding the worker), outside DBDMax.
 *
 * Threads: only the worker thread waits on the connection; the child-exit
 * cleanup closes it from another thread. `use` says who may touch it: the
 * worker takes it for one slice (at most SLICE) at a time, so the cleanup
 * waits at most that long for it. */

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <apr_dbd.h>
#include <apr_strings.h>
#include <ap_mpm.h>
#include <libpq-fe.h>

#include "mod_ingest.h"
#include "mod_ingest_db.h"
#include "mod_ingest_notify.h"

/* how soon a stopping child is noticed while the worker waits */
#define SLICE apr_time_from_msec(50)
/* a lost or refused LISTEN connection is tried again at most this often */
#define RETRY_EVERY   apr_time_from_sec(5)
#define RETRY_SECONDS 5
/* a connection attempt gives up after this (unless DBDParams' own
 * connect_timeout ends it first) */
#define CONNECT_LIMIT apr_time_from_sec(10)
/* how long the child-exit cleanup waits for the worker thread to let go */
#define CLOSE_WAIT apr_time_from_sec(10)

enum { USE_IDLE = 0, USE_BUSY = 1, USE_CLOSED = 2 };

struct ingest_notify_t {
    server_rec *s;
    ingest_notify_spec_t spec;
    volatile apr_uint32_t use;
    PGconn *conn; /* listening, or NULL */
    /* DBDParams as libpq keywords and values, NULL-terminated; allocated
     * once per process (malloc: no pool of the worker's lives that long) */
    const char **keys, **values;
    apr_time_t next_try;
    int outage; /* IG00414 logged, IG00415 not yet */
    /* the last message the server sent on its own (the FATAL before it
     * ends the session), for IG00414 rather than libpq's stderr */
    char notice[256];
};

ingest_notify_t *ingest_notify_create(apr_pool_t *pconf, server_rec *s, const ingest_notify_spec_t *spec)
{
    ingest_notify_t *n = apr_pcalloc(pconf, sizeof(*n));
    n->s = s;
    n->spec = *spec;
    return n;
}

/* The worker's stopping flag, or the MPM's state: event and prefork both
 * set AP_MPMQ_STOPPING before anything of the child's exit runs, so this
 * holds even when mod_watchdog's own cleanup (which joins the worker
 * thread) runs before the one that sets the flag. */
static int child_stopping(volatile apr_uint32_t *stopping)
{
    int state = AP_MPMQ_STARTING;
    if (stopping && apr_atomic_read32(stopping)) {
        return 1;
    }
    if (ingest_db_closing()) {
        return 1;
    }
    return ap_mpm_query(AP_MPMQ_MPM_STATE, &state) == APR_SUCCESS && state == AP_MPMQ_STOPPING;
}

static int has_key(const char **keys, size_t k, const char *key)
{
    size_t i;
    for (i = 0; i < k; ++i) {
        if (!strcmp(keys[i], key)) {
            return 1;
        }
    }
    return 0;
}

/* DBDParams, as a live pooled connection reports them. NULL, or why not. */
static const char *load_params(ingest_notify_t *n, apr_pool_t *p)
{
    /* for a session that would otherwise idle for hours: a server that
     * vanished without a FIN (a network partition) is noticed in about a
     * minute, unless DBDParams says otherwise */
    const char *const extra[][2] = {{"application_name", n->spec.application_name},
                                    {"keepalives", "1"},
                                    {"keepalives_idle", "30"},
                                    {"keepalives_interval", "10"},
                                    {"keepalives_count", "3"}};
    PQconninfoOption *opts, *o;
    const char **keys, **values;
    const char *why = NULL;
    ap_dbd_t *dbd;
    PGconn *c;
    size_t count = 0, k = 0, i;

    if (n->keys) {
        return NULL;
    }
    if (!(dbd = ingest_db_open(p, n->s))) {
        return "no connection from mod_dbd's pool";
    }
    if (strcmp(apr_dbd_name(dbd->driver), "pgsql")
        || !(c = (PGconn *)apr_dbd_native_handle(dbd->driver, dbd->handle)) || !(opts = PQconninfo(c))) {
        ingest_db_close(n->s, dbd);
        return "DBDriver is not pgsql, or its connection parameters cannot be read";
    }
    for (o = opts; o->keyword; ++o) {
        count++;
    }
    count += sizeof(extra) / sizeof(extra[0]) + 1;
    keys = calloc(count, sizeof(*keys));
    values = calloc(count, sizeof(*values));
    if (!keys || !values) {
        why = "out of memory";
    }
    for (o = opts; !why && o->keyword; ++o) {
        if (o->val && *o->val) {
            keys[k] = strdup(o->keyword);
            values[k] = strdup(o->val);
            if (!keys[k] || !values[k]) {
                why = "out of memory";
                break;
            }
            k++;
        }
    }
    for (i = 0; !why && i < sizeof(extra) / sizeof(extra[0]); ++i) {
        if (!has_key(keys, k, extra[i][0])) {
            keys[k] = extra[i][0];
            values[k] = extra[i][1];
            k++;
        }
    }
    PQconninfoFree(opts);
    ingest_db_close(n->s, dbd);
    if (why) {
        /* a partial copy stays allocated: out of memory is not survivable
         * for long anyway, and this runs once per process */
        return why;
    }
    n->keys = keys;
    n->values = values;
    return NULL;
}

static void keep_notice(void *arg, const char *message)
{
    ingest_notify_t *n = arg;
    apr_size_t len = strcspn(message, "\n");
    apr_cpystrn(n->notice, message, len + 1 < sizeof(n->notice) ? len + 1 : sizeof(n->notice));
}

static const char *pq_error(apr_pool_t *p, PGconn *c)
{
    const char *msg = c ? PQerrorMessage(c) : NULL;
    apr_size_t len;
    if (!msg || !*msg) {
        return "no message from libpq";
    }
    len = strcspn(msg, "\n");
    return apr_pstrndup(p, msg, len > 400 ? 400 : len);
}

/* Connects without blocking longer than a slice at a time, then LISTENs.
 * APR_SUCCESS; APR_EINTR when the child began to stop; otherwise *why. */
static apr_status_t connect_listen(ingest_notify_t *n, apr_pool_t *p, volatile apr_uint32_t *stopping,
                                   const char **why)
{
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    apr_time_t until = apr_time_now() + CONNECT_LIMIT;
    PGresult *res;
    PGconn *c;

    if ((*why = load_params(n, p))) {
        return child_stopping(stopping) ? APR_EINTR : APR_EGENERAL;
    }
    c = PQconnectStartParams(n->keys, n->values, 0);
    if (!c) {
        *why = "out of memory";
        return APR_ENOMEM;
    }
    PQsetNoticeProcessor(c, keep_notice, n);
    n->notice[0] = '\0';
    while (PQstatus(c) != CONNECTION_BAD && st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        struct pollfd pfd;
        apr_time_t now = apr_time_now();
        int r;
        if (child_stopping(stopping)) {
            PQfinish(c);
            return APR_EINTR;
        }
        if (now >= until) {
            PQfinish(c);
            *why = "connecting timed out";
            return APR_TIMEUP;
        }
        pfd.fd = PQsocket(c);
        pfd.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        pfd.revents = 0;
        r = poll(&pfd, 1, (int)apr_time_as_msec(SLICE));
        if (r < 0 && errno != EINTR) {
            *why = apr_psprintf(p, "poll: %s", strerror(errno));
            PQfinish(c);
            return APR_EGENERAL;
        }
        if (r > 0) {
            st = PQconnectPoll(c);
        }
    }
    if (PQstatus(c) != CONNECTION_OK) {
        *why = pq_error(p, c);
        PQfinish(c);
        return APR_EGENERAL;
    }
    res = PQexec(c, apr_pstrcat(p, "LISTEN ", n->spec.channel, NULL));
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        *why = apr_pstrcat(p, "LISTEN failed: ", pq_error(p, c), NULL);
        PQclear(res);
        PQfinish(c);
        return APR_EGENERAL;
    }
    PQclear(res);
    n->conn = c;
    return APR_SUCCESS;
}

static void outage(ingest_notify_t *n, apr_pool_t *p, const char *why)
{
    if (!n->outage) {
        n->outage = 1;
        if (n->notice[0]) {
            why = apr_pstrcat(p, why, "; the server said: ", n->notice, NULL);
        }
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, n->s, "%s (%s)%s; retrying every %d s", n->spec.lost, why,
                     n->spec.lost_then, RETRY_SECONDS);
    }
}

static void drop(ingest_notify_t *n)
{
    if (n->conn) {
        PQfinish(n->conn);
        n->conn = NULL;
    }
}

/* One slice of a wait: an INGEST_NOTIFY_ answer, or -1 (wait on). The
 * caller holds `use`. */
static int wait_slice(ingest_notify_t *n, apr_pool_t *p, apr_time_t until, volatile apr_uint32_t *stopping)
{
    struct pollfd pfd;
    PGnotify *note;
    apr_interval_time_t left;
    int got = 0, r;

    if (child_stopping(stopping)) {
        return INGEST_NOTIFY_HANDBACK;
    }
    if (!n->conn) {
        const char *why = NULL;
        apr_status_t rv;
        if (apr_time_now() < n->next_try) {
            return INGEST_NOTIFY_HANDBACK; /* the interval goes on through mod_watchdog */
        }
        n->next_try = apr_time_now() + RETRY_EVERY;
        rv = connect_listen(n, p, stopping, &why);
        if (rv == APR_EINTR) {
            return INGEST_NOTIFY_HANDBACK;
        }
        if (rv != APR_SUCCESS) {
            outage(n, p, why);
            return INGEST_NOTIFY_HANDBACK;
        }
        if (n->outage) {
            n->outage = 0;
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, n->s, "%s", n->spec.back);
        }
        /* whatever was queued before the LISTEN took effect was not heard */
        return INGEST_NOTIFY_WOKEN;
    }
    if (!PQconsumeInput(n->conn) || PQstatus(n->conn) != CONNECTION_OK) {
        outage(n, p, pq_error(p, n->conn));
        drop(n);
        return INGEST_NOTIFY_HANDBACK;
    }
    while ((note = PQnotifies(n->conn))) {
        got = 1;
        PQfreemem(note);
    }
    if (got) {
        return INGEST_NOTIFY_WOKEN;
    }
    left = until - apr_time_now();
    if (left <= 0) {
        return INGEST_NOTIFY_TIMEOUT; /* the fallback poll */
    }
    pfd.fd = PQsocket(n->conn);
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (pfd.fd < 0) {
        outage(n, p, "the connection has no socket");
        drop(n);
        return INGEST_NOTIFY_HANDBACK;
    }
    r = poll(&pfd, 1, (int)((left < SLICE ? left : SLICE) + 999) / 1000);
    if (r < 0 && errno != EINTR) {
        outage(n, p, apr_psprintf(p, "poll: %s", strerror(errno)));
        drop(n);
        return INGEST_NOTIFY_HANDBACK;
    }
    return -1; /* PQconsumeInput reads whatever arrived */
}

int ingest_notify_wait(ingest_notify_t *n, apr_pool_t *p, apr_interval_time_t timeout,
                       volatile apr_uint32_t *stopping)
{
    apr_time_t until = apr_time_now() + timeout;
    int result = -1;

    if (!n) {
        return INGEST_NOTIFY_HANDBACK;
    }
    while (result < 0) {
        if (apr_atomic_cas32(&n->use, USE_BUSY, USE_IDLE) != USE_IDLE) {
            return INGEST_NOTIFY_HANDBACK; /* closed */
        }
        result = wait_slice(n, p, until, stopping);
        apr_atomic_cas32(&n->use, USE_IDLE, USE_BUSY);
    }
    return result;
}

PGresult *ingest_notify_exec(ingest_notify_t *n, apr_pool_t *p, const char *sql, int nparams,
                             const char *const *values)
{
    PGresult *res = NULL;
    if (!n || apr_atomic_cas32(&n->use, USE_BUSY, USE_IDLE) != USE_IDLE) {
        return NULL;
    }
    if (n->conn) {
        res = PQexecParams(n->conn, sql, nparams, NULL, values, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
            if (PQstatus(n->conn) != CONNECTION_OK) {
                outage(n, p, pq_error(p, n->conn));
                drop(n);
            } else {
                ap_log_error(APLOG_MARK, APLOG_ERR, 0, n->s, "%s: %s", n->spec.failed, pq_error(p, n->conn));
            }
            PQclear(res);
            res = NULL;
        }
    }
    apr_atomic_cas32(&n->use, USE_IDLE, USE_BUSY);
    return res;
}

void ingest_notify_close(ingest_notify_t *n)
{
    apr_time_t until = apr_time_now() + CLOSE_WAIT;
    apr_uint32_t v;

    if (!n) {
        return;
    }
    while ((v = apr_atomic_cas32(&n->use, USE_CLOSED, USE_IDLE)) == USE_BUSY) {
        if (apr_time_now() >= until) {
            /* a LISTEN or a connection attempt that does not return: the
             * process's exit closes the socket */
            return;
        }
        apr_sleep(apr_time_from_msec(5));
    }
    if (v == USE_IDLE) {
        drop(n); /* PQfinish says goodbye to the server (Terminate) */
    }
}
