#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_optional.h>
#include <apr_strings.h>
#include <libpq-fe.h>
#include <poll.h>

#include "ingest_version.h"
#include "mod_ingest.h"
#include "mod_ingest_db.h"
#include "mod_ingest_metrics.h"

#define MAX_STMT_LISTS 16
#define CONN_MARK_KEY  "mod_ingest:session"

static const ingest_stmt_t *stmt_lists[MAX_STMT_LISTS];
static int stmt_list_count;

static APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) * dbd_acquire_fn;
static APR_OPTIONAL_FN_TYPE(ap_dbd_open) * dbd_open_fn;
static APR_OPTIONAL_FN_TYPE(ap_dbd_close) * dbd_close_fn;

/* The gate in front of ap_dbd_open(): the number of connections this
 * process's threads hold outside requests, and a bit that says the child's
 * exit has begun. mod_dbd's resource list asserts (and aborts the child)
 * when it is destroyed with a connection out, and it is destroyed with the
 * child pool; threads that mod_watchdog runs live on past that (a child
 * never joins them: mod_ingest_watchdog.h). So once the bit is set nobody
 * opens a connection again, and the exit waits for the holders. Static
 * storage: it outlives every pool, and each child has its own copy. */
#define GATE_CLOSED 0x80000000u
static volatile apr_uint32_t gate;

static volatile apr_uint32_t schema_seen;      /* last version read, any thread */
static volatile apr_uint32_t schema_complaint; /* logged the "too old" error */

/* What this module knows about the server session behind a pooled
 * connection. Stored in the connection's own `prepared` hash (allocated
 * from its pool), so it lives and dies with the connection; a connection
 * is held by one thread at a time, so no lock is needed. */
typedef struct {
    int backend_pid; /* the session the statements below were prepared in */
    int ready;
    int list, idx; /* how far preparation got in that session */
} conn_mark_t;

void ingest_db_register(const ingest_stmt_t *stmts)
{
    int i;
    for (i = 0; i < stmt_list_count; ++i) {
        if (stmt_lists[i] == stmts) {
            return; /* register_hooks runs again on every (re)load */
        }
    }
    if (stmt_list_count < MAX_STMT_LISTS) {
        stmt_lists[stmt_list_count++] = stmts;
    }
}

apr_status_t ingest_db_init(server_rec *s)
{
    dbd_acquire_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    dbd_open_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    dbd_close_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    if (!dbd_acquire_fn || !dbd_open_fn || !dbd_close_fn) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     IGLOGNO(00201) "mod_dbd is not loaded: add LoadModule dbd_module and DBDriver pgsql");
        return APR_ENOTIMPL;
    }
    return APR_SUCCESS;
}

ap_dbd_t *ingest_db_open(apr_pool_t *p, server_rec *s)
{
    ap_dbd_t *dbd;
    apr_uint32_t v;
    do {
        v = apr_atomic_read32(&gate);
        if ((v & GATE_CLOSED) || !dbd_open_fn) {
            return NULL;
        }
    } while (apr_atomic_cas32(&gate, v + 1, v) != v);
    dbd = dbd_open_fn(p, s);
    if (!dbd) {
        apr_atomic_dec32(&gate);
        ingest_metrics_inc(INGEST_M_DB_ERRORS);
    }
    return dbd;
}

void ingest_db_close(server_rec *s, ap_dbd_t *dbd)
{
    if (dbd) {
        dbd_close_fn(s, dbd);
        apr_atomic_dec32(&gate);
    }
}

int ingest_db_closing(void)
{
    return (apr_atomic_read32(&gate) & GATE_CLOSED) != 0;
}

void ingest_db_drain(server_rec *s, void (*last)(ap_dbd_t *dbd, apr_pool_t *p, void *data), void *data)
{
    apr_uint32_t v;
    apr_pool_t *p;
    int waited;

    do {
        v = apr_atomic_read32(&gate);
        if (v & GATE_CLOSED) {
            return; /* drained already */
        }
    } while (apr_atomic_cas32(&gate, v | GATE_CLOSED, v) != v);
    /* A holder gives its connection back within a statement or two (the
     * worker checks its stopping flag between statements). There is no
     * safe way on: the child pool must not go while one is out. */
    for (waited = 1; apr_atomic_read32(&gate) & ~GATE_CLOSED; ++waited) {
        apr_sleep(apr_time_from_msec(10));
        if (waited % 1000 == 0) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         IGLOGNO(00212) "child exit: still waiting for %u database connection(s) "
                                        "held by background threads (%d s)",
                         apr_atomic_read32(&gate) & ~GATE_CLOSED, waited / 100);
        }
    }
    /* the last user: nobody else can open one now, and the pool is whole */
    if (last && dbd_open_fn && apr_pool_create(&p, NULL) == APR_SUCCESS) {
        ap_dbd_t *dbd = dbd_open_fn(p, s);
        if (dbd) {
            last(dbd, p, data);
            dbd_close_fn(s, dbd);
        }
        apr_pool_destroy(p);
    }
}

int ingest_db_schema_version(void)
{
    return (int)apr_atomic_read32(&schema_seen);
}

static apr_status_t json_release(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

json_t *ingest_json_pool_own(apr_pool_t *p, json_t *j)
{
    if (j) {
        apr_pool_cleanup_register(p, j, json_release, apr_pool_cleanup_null);
    }
    return j;
}

static PGconn *pg(ap_dbd_t *dbd)
{
    return (PGconn *)apr_dbd_native_handle(dbd->driver, dbd->handle);
}

static int conn_ok(ap_dbd_t *dbd)
{
    PGconn *c = pg(dbd);
    return c && PQstatus(c) == CONNECTION_OK;
}

static apr_status_t check_schema(apr_pool_t *p, ap_dbd_t *dbd, int *version)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *v;

    *version = 0;
    if (apr_dbd_select(dbd->driver, p, dbd->handle, &res,
                       "SELECT coalesce(max(version), 0) FROM schema_migrations", 1)
        != 0) {
        if (!conn_ok(dbd)) {
            return INGEST_EDB_DOWN;
        }
        return APR_SUCCESS; /* no schema_migrations table: version 0 */
    }
    if (apr_dbd_get_row(dbd->driver, p, res, &row, -1) == 0 && (v = apr_dbd_get_entry(dbd->driver, row, 0))) {
        *version = atoi(v);
        /* drain, so the result is released */
        while (apr_dbd_get_row(dbd->driver, p, res, &row, -1) == 0) {
        }
    }
    return APR_SUCCESS;
}

/* A pooled connection whose server went away (restart, failover) still
 * says CONNECTION_OK until libpq trips over the EOF, which it does only
 * while running a statement: a write would then be lost with a 503 on every
 * stale connection in the pool. An idle session has nothing to say, so
 * anything readable on its socket now is the server's goodbye (a FATAL
 * message, then the FIN). poll() with no timeout costs one syscall and no
 * round trip. */
static int session_alive(PGconn *c)
{
    struct pollfd pfd;
    int i;

    for (i = 0; i < 4 && PQstatus(c) == CONNECTION_OK; ++i) {
        pfd.fd = PQsocket(c);
        pfd.events = POLLIN | POLLRDHUP;
        pfd.revents = 0;
        if (pfd.fd < 0) {
            return 0;
        }
        if (poll(&pfd, 1, 0) <= 0) {
            return 1; /* nothing pending: the session is idle and well */
        }
        if (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) {
            return 0;
        }
        if (!PQconsumeInput(c)) {
            return 0;
        }
    }
    return PQstatus(c) == CONNECTION_OK;
}

/* ingest_db_ready() without counting a failure: after_failure() uses it
 * on a statement whose failure is counted once, by run(). */
static apr_status_t session_ready(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd)
{
    conn_mark_t *mark;
    PGconn *c;
    int pid, version;
    apr_status_t rv;

    if (!dbd || !dbd->handle) {
        return INGEST_EDB_DOWN;
    }
    if (strcmp(apr_dbd_name(dbd->driver), "pgsql")) {
        static volatile apr_uint32_t told;
        if (apr_atomic_cas32(&told, 1, 0) == 0) /* once, not per request */
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                         IGLOGNO(00202) "DBDriver is %s; mod_ingest needs pgsql", apr_dbd_name(dbd->driver));
        return INGEST_EDB_DOWN;
    }
    c = pg(dbd);
    if (c && PQstatus(c) == CONNECTION_OK && !session_alive(c)) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     IGLOGNO(00210) "pooled database connection was closed by the server; reconnecting");
        /* what apr_dbd_pgsql's check_conn() would do once libpq noticed */
        PQreset(c);
    }
    if (!c || PQstatus(c) != CONNECTION_OK) {
        /* apr_dbd_pgsql's check_conn() PQreset()s in place */
        if (apr_dbd_check_conn(dbd->driver, p, dbd->handle) != APR_SUCCESS) {
            return INGEST_EDB_DOWN;
        }
        c = pg(dbd);
        if (!c || PQstatus(c) != CONNECTION_OK) {
            return INGEST_EDB_DOWN;
        }
    }
    pid = PQbackendPID(c);
    mark = apr_hash_get(dbd->prepared, CONN_MARK_KEY, APR_HASH_KEY_STRING);
    if (!mark) {
        mark = apr_pcalloc(dbd->pool, sizeof(*mark));
        apr_hash_set(dbd->prepared, CONN_MARK_KEY, APR_HASH_KEY_STRING, mark);
    }
    if (mark->backend_pid == pid && mark->ready) {
        return APR_SUCCESS;
    }
    if (mark->backend_pid != pid) {
        /* a new session (first use, or PQreset after a server restart):
         * nothing of ours is prepared in it yet */
        mark->backend_pid = pid;
        mark->ready = 0;
        mark->list = mark->idx = 0;
        /* error texts carry the SQLSTATE, which is not translated */
        PQsetErrorVerbosity(c, PQERRORS_VERBOSE);
    }

    rv = check_schema(p, dbd, &version);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_atomic_set32(&schema_seen, (apr_uint32_t)version);
    if (version < INGEST_SCHEMA_VERSION) {
        if (apr_atomic_cas32(&schema_complaint, 1, 0) == 0) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         IGLOGNO(00203) "database schema is version %d, this mod_ingest needs %d: "
                                        "run sql/migrate.sh; answering 503 until then",
                         version, INGEST_SCHEMA_VERSION);
        }
        return INGEST_EDB_SCHEMA;
    }
    apr_atomic_set32(&schema_complaint, 0);

    /* Resume where a previous attempt in this same session stopped, so no
     * label is PREPAREd twice in one session (that is an error). */
    for (; mark->list < stmt_list_count; mark->list++, mark->idx = 0) {
        const ingest_stmt_t *st = stmt_lists[mark->list];
        for (; st[mark->idx].label; mark->idx++) {
            apr_dbd_prepared_t *stmt = apr_hash_get(dbd->prepared, st[mark->idx].label, APR_HASH_KEY_STRING);
            /* reusing the struct keeps a reconnect from growing the pool by
             * more than the label strings */
            if (apr_dbd_prepare(dbd->driver, dbd->pool, dbd->handle, st[mark->idx].sql, st[mark->idx].label,
                                &stmt)
                != 0) {
                if (!conn_ok(dbd)) {
                    return INGEST_EDB_DOWN;
                }
                ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, IGLOGNO(00204) "cannot prepare %s: %s",
                             st[mark->idx].label, apr_dbd_error(dbd->driver, dbd->handle, 0));
                return INGEST_EDB_QUERY;
            }
            apr_hash_set(dbd->prepared, st[mark->idx].label, APR_HASH_KEY_STRING, stmt);
        }
    }
    mark->ready = 1;
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                 IGLOGNO(00205) "database session %d ready (schema version %d)", pid, version);
    return APR_SUCCESS;
}

/* Every database failure of a request or the worker is counted once,
 * here (no connection, an unusable session) or in run() (a statement). */
apr_status_t ingest_db_ready(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd)
{
    apr_status_t rv = session_ready(p, s, dbd);
    if (rv != APR_SUCCESS) {
        ingest_metrics_inc(INGEST_M_DB_ERRORS);
    }
    return rv;
}

apr_status_t ingest_db_acquire(request_rec *r, ap_dbd_t **out)
{
    ap_dbd_t *dbd;
    *out = NULL;
    if (!dbd_acquire_fn) {
        return INGEST_EDB_DOWN;
    }
    dbd = dbd_acquire_fn(r);
    if (!dbd) {
        ingest_metrics_inc(INGEST_M_DB_ERRORS);
        return INGEST_EDB_DOWN;
    }
    *out = dbd;
    return ingest_db_ready(r->pool, r->server, dbd);
}

/* A connection a request takes for a while and gives back, rather than the
 * one ap_dbd_acquire() ties to the request until it ends. */
#define HELD_KEY "mod_ingest:held"
typedef struct {
    server_rec *s;
    ap_dbd_t *dbd;
} held_t;

static apr_status_t held_close(void *data)
{
    held_t *h = data;
    if (h->dbd) {
        ingest_db_close(h->s, h->dbd);
        h->dbd = NULL;
    }
    return APR_SUCCESS;
}

apr_status_t ingest_db_take(request_rec *r, ap_dbd_t **out)
{
    void *v = NULL;
    held_t *h;

    *out = NULL;
    apr_pool_userdata_get(&v, HELD_KEY, r->pool);
    if (!(h = v)) {
        /* once per request, however often it takes one (an export takes
         * one per piece): given back when the request ends, if not before */
        h = apr_pcalloc(r->pool, sizeof(*h));
        h->s = r->server;
        apr_pool_userdata_setn(h, HELD_KEY, NULL, r->pool);
        apr_pool_cleanup_register(r->pool, h, held_close, apr_pool_cleanup_null);
    }
    held_close(h); /* one at a time */
    if (!(h->dbd = ingest_db_open(r->pool, r->server))) {
        return INGEST_EDB_DOWN;
    }
    *out = h->dbd;
    return ingest_db_ready(r->pool, r->server, h->dbd);
}

void ingest_db_release(request_rec *r)
{
    void *h = NULL;
    apr_pool_userdata_get(&h, HELD_KEY, r->pool);
    if (h) {
        held_close(h);
    }
}

static const ingest_stmt_t *find_stmt(const char *label)
{
    int i, j;
    for (i = 0; i < stmt_list_count; ++i) {
        for (j = 0; stmt_lists[i][j].label; ++j) {
            if (!strcmp(stmt_lists[i][j].label, label)) {
                return &stmt_lists[i][j];
            }
        }
    }
    return NULL;
}

/* After a failed statement: was it the connection? If the statement may
 * run again, reconnect (PQreset through check_conn), prepare, and say so. */
static apr_status_t after_failure(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *label, int *again)
{
    const ingest_stmt_t *st = find_stmt(label);
    *again = 0;
    if (conn_ok(dbd)) {
        const char *msg = apr_dbd_error(dbd->driver, dbd->handle, 0);
        /* 26000: our statements are gone from a session we had prepared
         * (DEALLOCATE ALL, DISCARD ALL, or a server restart that handed
         * the new session the old backend pid). The statement did not
         * run: prepare everything again and run it once more. */
        if (msg && strstr(msg, " 26000:")) {
            conn_mark_t *mark = apr_hash_get(dbd->prepared, CONN_MARK_KEY, APR_HASH_KEY_STRING);
            int n;
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                         IGLOGNO(00213) "statement %s is no longer prepared in its session; preparing again",
                         label);
            if (mark) {
                mark->ready = 0;
                mark->list = mark->idx = 0;
            }
            if (apr_dbd_query(dbd->driver, dbd->handle, &n, "DEALLOCATE ALL") == 0
                && session_ready(p, s, dbd) == APR_SUCCESS) {
                *again = 1;
                return INGEST_EDB_QUERY;
            }
        }
        /* sessions report SQLSTATEs (verbose errors): a unique violation
         * is a conflict the caller resolves, not a server error */
        if (msg && strstr(msg, " 23505:")) {
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, IGLOGNO(00211) "statement %s conflicted: %s", label,
                         msg);
            return INGEST_EDB_CONFLICT;
        }
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, IGLOGNO(00206) "statement %s failed: %s", label, msg);
        return INGEST_EDB_QUERY;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, IGLOGNO(00207) "database connection lost during %s: %s",
                 label, apr_dbd_error(dbd->driver, dbd->handle, 0));
    if (st && st->retry_safe && apr_dbd_check_conn(dbd->driver, p, dbd->handle) == APR_SUCCESS
        && session_ready(p, s, dbd) == APR_SUCCESS) {
        *again = 1;
    }
    return INGEST_EDB_DOWN;
}

const char *ingest_db_error(apr_pool_t *p, ap_dbd_t *dbd)
{
    const char *msg = dbd ? apr_dbd_error(dbd->driver, dbd->handle, 0) : NULL;
    const char *text;
    apr_size_t len;
    if (!msg || !*msg) {
        return "no message from the database";
    }
    /* verbose errors: "ERROR:  54000: text\nLOCATION: ..."; keep the text */
    text = strstr(msg, ":  ");
    text = text ? text + 3 : msg;
    len = strcspn(text, "\n");
    return apr_pstrndup(p, text, len > 400 ? 400 : len);
}

static apr_dbd_prepared_t *stmt_of(server_rec *s, ap_dbd_t *dbd, const char *label)
{
    apr_dbd_prepared_t *stmt = apr_hash_get(dbd->prepared, label, APR_HASH_KEY_STRING);
    if (!stmt) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, IGLOGNO(00208) "statement %s is not registered", label);
    }
    return stmt;
}

/* Runs a statement, once more after a lost connection when it is safe to
 * (after_failure reconnects and prepares). res for a select, else nrows. */
static apr_status_t run(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *label, int nargs,
                        const char **args, apr_dbd_results_t **res, int *nrows)
{
    int attempt, again = 0;
    apr_status_t rv = INGEST_EDB_QUERY;

    for (attempt = 0; attempt < 2; ++attempt) {
        apr_dbd_prepared_t *stmt = stmt_of(s, dbd, label);
        int failed;
        if (!stmt) {
            ingest_metrics_inc(INGEST_M_DB_ERRORS);
            return INGEST_EDB_QUERY;
        }
        if (res) {
            *res = NULL;
            failed = apr_dbd_pselect(dbd->driver, p, dbd->handle, res, stmt, 1, nargs, args);
        } else {
            *nrows = 0;
            failed = apr_dbd_pquery(dbd->driver, p, dbd->handle, nrows, stmt, nargs, args);
        }
        if (!failed) {
            return APR_SUCCESS;
        }
        rv = after_failure(p, s, dbd, label, &again);
        if (!again) {
            break;
        }
    }
    /* a unique violation is an answer (a conflict the caller resolves) */
    if (rv != APR_SUCCESS && rv != INGEST_EDB_CONFLICT) {
        ingest_metrics_inc(INGEST_M_DB_ERRORS);
    }
    return rv;
}

apr_status_t ingest_db_select(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *label, int nargs,
                              const char **args, apr_dbd_results_t **res)
{
    return run(p, s, dbd, label, nargs, args, res, NULL);
}

apr_status_t ingest_db_exec(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *label, int nargs,
                            const char **args, int *nrows)
{
    return run(p, s, dbd, label, nargs, args, NULL, nrows);
}

apr_status_t ingest_db_select_json(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *label, int nargs,
                                   const char **args, json_t **out)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *text = NULL;
    json_error_t jerr;
    apr_status_t rv;

    *out = NULL;
    rv = ingest_db_select(p, s, dbd, label, nargs, args, &res);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    while (apr_dbd_get_row(dbd->driver, p, res, &row, -1) == 0) {
        if (!text) {
            text = apr_pstrdup(p, apr_dbd_get_entry(dbd->driver, row, 0));
        }
    }
    if (!text) {
        return APR_NOTFOUND;
    }
    *out = ingest_json_pool_own(p, json_loads(text, 0, &jerr));
    if (!*out) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, IGLOGNO(00209) "%s returned invalid JSON: %s", label,
                     jerr.text);
        ingest_metrics_inc(INGEST_M_DB_ERRORS);
        return INGEST_EDB_QUERY;
    }
    return APR_SUCCESS;
}

/* Transaction control, not prepared (PREPARE takes no BEGIN): one plain
 * round trip each. A failure of BEGIN or COMMIT is the connection's or
 * the transaction's; ROLLBACK leaves a pooled session clean for its next
 * user even after a statement in the transaction failed. */
static apr_status_t plain(server_rec *s, ap_dbd_t *dbd, const char *sql)
{
    int n = 0;
    if (apr_dbd_query(dbd->driver, dbd->handle, &n, sql) == 0) {
        return APR_SUCCESS;
    }
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, IGLOGNO(00214) "%s failed: %s", sql,
                 apr_dbd_error(dbd->driver, dbd->handle, 0));
    ingest_metrics_inc(INGEST_M_DB_ERRORS);
    return conn_ok(dbd) ? INGEST_EDB_QUERY : INGEST_EDB_DOWN;
}

const char *ingest_db_i64(apr_pool_t *p, apr_int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

apr_status_t ingest_db_begin(server_rec *s, ap_dbd_t *dbd)
{
    return plain(s, dbd, "BEGIN");
}

apr_status_t ingest_db_end(server_rec *s, ap_dbd_t *dbd, apr_status_t rv)
{
    if (rv == APR_SUCCESS) {
        return plain(s, dbd, "COMMIT");
    }
    if (conn_ok(dbd)) {
        plain(s, dbd, "ROLLBACK");
    }
    return rv;
}
