#ifndef MOD_INGEST_HTTP_H
#define MOD_INGEST_HTTP_H

/* Reading JSON bodies and writing JSON and problem+json answers. The send
 * functions return what a handler returns (OK: the body is written). */

#include <jansson.h>

#include "ingest_problem.h"
#include "mod_ingest.h"

int ingest_send_json(request_rec *r, int status, json_t *body);
/* A page of a listing: out (NULL: a new object) gets page's items_key
 * array and its total, limit, offset_key (offset or skip) and has_more;
 * answers out. */
json_t *ingest_page_json(request_rec *r, json_t *out, json_t *page, const char *items_key, int limit,
                         const char *offset_key, apr_int64_t offset);
/* 200 with ingest_page_json's object. */
int ingest_send_page(request_rec *r, json_t *out, json_t *page, const char *items_key, int limit,
                     const char *offset_key, apr_int64_t offset);
int ingest_send_document(request_rec *r, int status, const char *ctype, json_t *body);
/* ingest_send_document in two steps: the text it sends (worded for the
 * route; *status and *ctype may change; free() it, NULL on failure), and
 * sending a text as it is. */
char *ingest_render_document(request_rec *r, int *status, const char **ctype, json_t *body);
int ingest_send_text(request_rec *r, int status, const char *ctype, const char *text, apr_size_t len);
int ingest_send_problem(request_rec *r, const ingest_problem_t *pb);
int ingest_send_error(request_rec *r, int status, const char *type_code, const char *title,
                      const char *detail);
int ingest_send_invalid(request_rec *r, const char *field, const char *detail);
int ingest_send_not_found(request_rec *r);
/* 503 (with Retry-After) for an unreachable database or an old schema,
 * 500 for anything else. */
int ingest_send_db_error(request_rec *r, apr_status_t rv);
/* A storage failure (mod_ingest_storage.h): 503 storage-unavailable with
 * Retry-After when the backend cannot be reached (INGEST_ESTORAGE_DOWN),
 * else 507 storage-error with detail. */
int ingest_send_storage_error(request_rec *r, apr_status_t rv, const char *title, const char *detail);

/* Hands the request body to fn chunk by chunk as it arrives (at most
 * chunk bytes a read), freeing each read's buckets before the next, so
 * memory stays bounded whatever the body's size. fn returns OK to go on,
 * or an HTTP status to stop with. Returns OK at the end of the body, the
 * status fn stopped with, or the status for a body httpd could not read
 * (400, or 413 past LimitRequestBody). */
typedef int ingest_body_fn(void *ctx, const char *data, apr_size_t len);
int ingest_stream_body(request_rec *r, apr_size_t chunk, ingest_body_fn *fn, void *ctx);

/* Whether the client of an HTTP/1 connection has closed it (its FIN
 * came), looked at without reading or waiting: a stream that only writes
 * would find out at its next write. 0 when it cannot tell (an HTTP/2
 * stream shares its connection). */
int ingest_client_gone(conn_rec *c);

/* Reads a JSON body of at most limit bytes (415, 413, 400 otherwise, with
 * *pb filled). The value is released with the request pool. */
apr_status_t ingest_read_json(request_rec *r, apr_off_t limit, json_t **out, ingest_problem_t *pb);

/* The two halves of ingest_read_json, for a caller that needs the raw
 * bytes too (a signature is over the body as sent, not as re-serialized).
 * The body is NUL-terminated and lives in the request pool. */
apr_status_t ingest_read_body(request_rec *r, apr_off_t limit, const char **body, apr_size_t *blen,
                              ingest_problem_t *pb);
apr_status_t ingest_parse_json(request_rec *r, const char *buf, apr_size_t len, json_t **out,
                               ingest_problem_t *pb);

#endif
