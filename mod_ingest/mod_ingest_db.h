#ifndef MOD_INGEST_DB_H
#define MOD_INGEST_DB_H

/* PostgreSQL through mod_dbd's pooled connections.
 *
 * Statements are prepared by label, once per database session, by this
 * layer rather than with ap_dbd_prepare(), for two reasons:
 *  - mod_dbd prepares at connection construction; against a database whose
 *    schema is older than this build, every connection would then fail with
 *    an opaque PREPARE error. Here the schema version is checked first, and
 *    nothing is prepared or run against the wrong schema.
 *  - after PostgreSQL restarts, apr_dbd_pgsql's check_conn() PQreset()s the
 *    pooled connection in place: a new server session with none of the
 *    labelled statements. mod_dbd does not notice; this layer does, by the
 *    backend pid, and prepares them again. */

#include <apr_dbd.h>
#include <mod_dbd.h>
#include <jansson.h>

#include "mod_ingest.h"

#define INGEST_EDB_DOWN     (APR_OS_START_USERERR + 101) /* unreachable: 503 */
#define INGEST_EDB_SCHEMA   (APR_OS_START_USERERR + 102) /* schema too old: 503 */
#define INGEST_EDB_QUERY    (APR_OS_START_USERERR + 103) /* a statement failed: 500 */
#define INGEST_EDB_CONFLICT (APR_OS_START_USERERR + 104) /* unique violation (23505) */

typedef struct {
    const char *label; /* unique, "ingest_" prefixed */
    const char *sql;   /* apr_dbd syntax: %s placeholders, %% for a literal % */
    int retry_safe;    /* may run again after a lost connection */
} ingest_stmt_t;

/* Called from register_hooks: adds a NULL-terminated statement list. */
void ingest_db_register(const ingest_stmt_t *stmts);

/* Looks up mod_dbd's optional functions; APR_ENOTIMPL without mod_dbd. */
apr_status_t ingest_db_init(server_rec *s);

/* The request's pooled connection, ready (schema checked, statements
 * prepared). INGEST_EDB_DOWN or INGEST_EDB_SCHEMA otherwise. */
apr_status_t ingest_db_acquire(request_rec *r, ap_dbd_t **out);

/* Connections outside requests (background threads): ap_dbd_open() and
 * ap_dbd_close() behind a gate. NULL when the database is unreachable or
 * the child's exit has begun (ingest_db_closing() tells which). */
ap_dbd_t *ingest_db_open(apr_pool_t *p, server_rec *s);
void ingest_db_close(server_rec *s, ap_dbd_t *dbd);
int ingest_db_closing(void);

/* For the child's exit, before the child pool (and mod_dbd's resource list
 * with it) is destroyed: closes the gate, waits until every connection
 * opened through it is closed, then runs last() with a connection of its
 * own, as the only user left. Only the first call does anything. */
void ingest_db_drain(server_rec *s, void (*last)(ap_dbd_t *dbd, apr_pool_t *p, void *data), void *data);

/* For a request that must not hold a connection while it waits on its
 * client (an upload streams its body, an export sends a piece): a pooled
 * connection, ready, that ingest_db_release() gives back at once (the
 * request's end does otherwise). One at a time per request. mod_dbd has no acquire timeout:
 * a connection held through a slow body would stall every request of the
 * child once DBDMax are out. */
apr_status_t ingest_db_take(request_rec *r, ap_dbd_t **out);
void ingest_db_release(request_rec *r);

/* Makes any connection ready; for the worker's ap_dbd_open() ones too. */
apr_status_t ingest_db_ready(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd);

/* The schema version found on the last ready connection (0 if none). */
int ingest_db_schema_version(void);

apr_status_t ingest_db_select(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *label, int nargs,
                              const char **args, apr_dbd_results_t **res);
/* A statement argument of a 64-bit integer, allocated from p. */
const char *ingest_db_i64(apr_pool_t *p, apr_int64_t v);

apr_status_t ingest_db_exec(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *label, int nargs,
                            const char **args, int *nrows);

/* The first column of the first row parsed as JSON; APR_NOTFOUND without a
 * row. The JSON is released with p. */
apr_status_t ingest_db_select_json(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd, const char *label, int nargs,
                                   const char **args, json_t **out);

/* An explicit transaction, for the few paths that need more than one
 * statement's atomicity (the tenant quotas). ingest_db_end() COMMITs when
 * rv is APR_SUCCESS and answers COMMIT's outcome; otherwise it ROLLBACKs
 * and answers rv. Statements run inside one should not be retry_safe: a
 * rerun after a reconnect would run outside the transaction. */
apr_status_t ingest_db_begin(server_rec *s, ap_dbd_t *dbd);
apr_status_t ingest_db_end(server_rec *s, ap_dbd_t *dbd, apr_status_t rv);

/* The last error on dbd's session, one line ("54000: total size of ..."),
 * at most 400 characters, for a job's error or a log line. */
const char *ingest_db_error(apr_pool_t *p, ap_dbd_t *dbd);

/* Releases a jansson value when p is cleared. */
json_t *ingest_json_pool_own(apr_pool_t *p, json_t *j);

#endif
