#include <httpd.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <apr_portable.h>
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>
#include <util_filter.h>

#include "mod_ingest.h"
#include "mod_ingest_config.h"
#include "mod_ingest_db.h"
#include "mod_ingest_http.h"
#include "mod_ingest_router.h"
#include "mod_ingest_storage.h"

#ifndef POLLRDHUP
#define POLLRDHUP 0 /* Linux's, with _GNU_SOURCE; POLLIN and a peek tell too */
#endif

char *ingest_render_document(request_rec *r, int *status, const char **ctype, json_t *body)
{
    /* in the words of the location's API profile (IngestAPIProfile) */
    json_t *worded = ingest_route_shape(r, status, body);
    if (worded) {
        body = ingest_json_pool_own(r->pool, worded);
        *ctype = "application/json";
    }
    /* 15 significant digits: what a double holds exactly, so 12.3 is
     * written 12.3 and not 12.300000000000001 */
    return json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15));
}

int ingest_send_text(request_rec *r, int status, const char *ctype, const char *text, apr_size_t len)
{
    r->status = status;
    ap_set_content_type(r, ctype);
    /* job state changes under the client's feet; nothing here is cacheable */
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_length(r, (apr_off_t)len);
    if (!r->header_only) {
        ap_rwrite(text, (int)len, r);
    }
    return OK;
}

int ingest_send_document(request_rec *r, int status, const char *ctype, json_t *body)
{
    char *text = ingest_render_document(r, &status, &ctype, body);
    int rc;
    if (!text) {
        r->status = status;
        apr_table_setn(r->headers_out, "Cache-Control", "no-store");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rc = ingest_send_text(r, status, ctype, text, strlen(text));
    free(text);
    return rc;
}

int ingest_send_json(request_rec *r, int status, json_t *body)
{
    return ingest_send_document(r, status, "application/json", body);
}

json_t *ingest_page_json(request_rec *r, json_t *out, json_t *page, const char *items_key, int limit,
                         const char *offset_key, apr_int64_t offset)
{
    json_t *items = json_object_get(page, items_key);
    apr_int64_t total = json_integer_value(json_object_get(page, "total"));

    if (!out) {
        out = ingest_json_pool_own(r->pool, json_object());
    }
    json_object_set(out, items_key, items);
    json_object_set_new(out, "total", json_integer(total));
    json_object_set_new(out, "limit", json_integer(limit));
    json_object_set_new(out, offset_key, json_integer(offset));
    json_object_set_new(out, "has_more", json_boolean(offset + (apr_int64_t)json_array_size(items) < total));
    return out;
}

int ingest_send_page(request_rec *r, json_t *out, json_t *page, const char *items_key, int limit,
                     const char *offset_key, apr_int64_t offset)
{
    return ingest_send_json(r, HTTP_OK, ingest_page_json(r, out, page, items_key, limit, offset_key, offset));
}

int ingest_send_problem(request_rec *r, const ingest_problem_t *pb)
{
    json_t *doc = ingest_problem_json(pb);
    int rc;
    json_object_set_new(doc, "instance", ingest_problem_string(r->uri));
    rc = ingest_send_document(r, pb->status, "application/problem+json", doc);
    json_decref(doc);
    return rc;
}

int ingest_send_error(request_rec *r, int status, const char *type_code, const char *title,
                      const char *detail)
{
    ingest_problem_t pb = {0};
    pb.status = status;
    pb.type = type_code ? apr_pstrcat(r->pool, INGEST_PROBLEM_BASE, type_code, NULL) : NULL;
    pb.title = title ? title : ap_get_status_line(status) + 4;
    pb.detail = detail;
    return ingest_send_problem(r, &pb);
}

int ingest_send_invalid(request_rec *r, const char *field, const char *detail)
{
    ingest_problem_t pb = {0};
    pb.status = HTTP_UNPROCESSABLE_ENTITY;
    pb.type = INGEST_PROBLEM_BASE "invalid-field";
    pb.title = "Invalid request field";
    pb.field = field;
    pb.detail = field ? apr_pstrcat(r->pool, field, " ", detail, NULL) : detail;
    return ingest_send_problem(r, &pb);
}

int ingest_send_not_found(request_rec *r)
{
    return ingest_send_error(r, HTTP_NOT_FOUND, "not-found", "Not found", "no such job");
}

int ingest_send_storage_error(request_rec *r, apr_status_t rv, const char *title, const char *detail)
{
    if (rv == INGEST_ESTORAGE_DOWN) {
        apr_table_setn(r->headers_out, "Retry-After",
                       apr_itoa(r->pool, ingest_conf_retry_after(ingest_dconf(r))));
        return ingest_send_error(r, HTTP_SERVICE_UNAVAILABLE, "storage-unavailable", "Storage unavailable",
                                 "the file storage cannot be reached; retry later");
    }
    return ingest_send_error(r, HTTP_INSUFFICIENT_STORAGE, "storage-error", title, detail);
}

int ingest_send_db_error(request_rec *r, apr_status_t rv)
{
    const ingest_dir_conf *dc = ingest_dconf(r);
    if (rv == INGEST_EDB_DOWN || rv == INGEST_EDB_SCHEMA) {
        apr_table_setn(r->headers_out, "Retry-After", apr_itoa(r->pool, ingest_conf_retry_after(dc)));
        if (rv == INGEST_EDB_SCHEMA) {
            return ingest_send_error(r, HTTP_SERVICE_UNAVAILABLE, "schema-outdated",
                                     "Database schema outdated",
                                     "the database schema is older than this server needs; "
                                     "the operator must run the migrations");
        }
        return ingest_send_error(r, HTTP_SERVICE_UNAVAILABLE, "database-unavailable", "Database unavailable",
                                 "the database cannot be reached; retry later");
    }
    return ingest_send_error(r, HTTP_INTERNAL_SERVER_ERROR, "internal", "Internal server error",
                             "the request could not be completed; the server log has details");
}

static int is_json_type(const char *ct)
{
    apr_size_t n;
    if (!ct) {
        return 0;
    }
    while (*ct == ' ')
        ++ct;
    n = strlen("application/json");
    if (strncasecmp(ct, "application/json", n)) {
        return 0;
    }
    ct += n;
    while (*ct == ' ')
        ++ct;
    return *ct == '\0' || *ct == ';';
}

int ingest_stream_body(request_rec *r, apr_size_t chunk, ingest_body_fn *fn, void *ctx)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    int seen_eos = 0, rc = OK;

    while (!seen_eos && rc == OK) {
        apr_bucket *b;
        apr_status_t rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES, APR_BLOCK_READ, chunk);
        if (rv != APR_SUCCESS) {
            rc = ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
            break;
        }
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb) && rc == OK; b = APR_BUCKET_NEXT(b)) {
            const char *data;
            apr_size_t n;
            if (APR_BUCKET_IS_EOS(b)) {
                seen_eos = 1;
                break;
            }
            if (APR_BUCKET_IS_METADATA(b)) {
                continue;
            }
            if (apr_bucket_read(b, &data, &n, APR_BLOCK_READ) != APR_SUCCESS) {
                rc = HTTP_BAD_REQUEST;
                break;
            }
            rc = fn(ctx, data, n);
        }
        /* every read's buckets are freed before the next: bounded memory */
        apr_brigade_cleanup(bb);
    }
    apr_brigade_destroy(bb);
    return rc;
}

typedef struct {
    apr_pool_t *p;
    char *buf;
    apr_size_t len, cap;
    apr_size_t expect; /* Content-Length + 1, or 0 */
    apr_off_t limit;
} accumulator_t;

static int accumulate(void *ctx, const char *data, apr_size_t n)
{
    accumulator_t *a = ctx;
    if ((apr_off_t)(a->len + n) > a->limit) {
        return HTTP_REQUEST_ENTITY_TOO_LARGE; /* a chunked body gets this far; stop at once */
    }
    if (a->len + n + 1 > a->cap) {
        char *grown;
        while (a->len + n + 1 > a->cap)
            a->cap *= 2;
        /* the announced size is the last growth, never the first */
        if (a->expect >= a->len + n + 1 && a->cap > a->expect) {
            a->cap = a->expect;
        }
        grown = apr_palloc(a->p, a->cap);
        memcpy(grown, a->buf, a->len);
        a->buf = grown;
    }
    memcpy(a->buf + a->len, data, n);
    a->len += n;
    return OK;
}

/* 413, with the connection closed rather than the rest of the body read */
static apr_status_t too_large(request_rec *r, ingest_problem_t *pb, apr_off_t limit)
{
    r->connection->keepalive = AP_CONN_CLOSE;
    pb->status = HTTP_REQUEST_ENTITY_TOO_LARGE;
    pb->type = INGEST_PROBLEM_BASE "body-too-large";
    pb->title = "Request body too large";
    pb->detail = apr_psprintf(r->pool, "the body may be at most %" APR_OFF_T_FMT " bytes", limit);
    return APR_EINVAL;
}

apr_status_t ingest_read_body(request_rec *r, apr_off_t limit, const char **body, apr_size_t *blen,
                              ingest_problem_t *pb)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    accumulator_t acc = {0};
    char *buf;
    apr_size_t len = 0, cap = 8192;
    int rc;

    *body = NULL;
    *blen = 0;
    memset(pb, 0, sizeof(*pb));
    if (!is_json_type(apr_table_get(r->headers_in, "Content-Type"))) {
        pb->status = HTTP_UNSUPPORTED_MEDIA_TYPE;
        pb->type = INGEST_PROBLEM_BASE "unsupported-media-type";
        pb->title = "Unsupported media type";
        pb->detail = "the request body must be application/json";
        return APR_EINVAL;
    }
    /* Refuse an announced oversize body before reading a byte of it; the
     * connection is closed rather than drained. */
    if (cl) {
        char *end;
        apr_off_t n;
        if (apr_strtoff(&n, cl, &end, 10) == APR_SUCCESS && !*end && n >= 0) {
            if (n > limit) {
                return too_large(r, pb, limit);
            }
            acc.expect = (apr_size_t)n + 1;
        }
    }

    /* The buffer grows as data arrives (by doubling, so it never holds
     * more than twice the body), whatever Content-Length announced: a
     * client that announces the limit and sends nothing costs 8 KiB. */
    acc.buf = apr_palloc(r->pool, cap);
    acc.cap = cap;
    acc.len = 0;
    acc.limit = limit;
    acc.p = r->pool;
    rc = ingest_stream_body(r, HUGE_STRING_LEN, accumulate, &acc);
    if (rc == HTTP_REQUEST_ENTITY_TOO_LARGE) {
        /* ours (a chunked body past IngestMaxBodySize) or LimitRequestBody */
        return too_large(r, pb, limit);
    }
    if (rc != OK) {
        pb->status = rc;
        pb->type = INGEST_PROBLEM_BASE "body-unreadable";
        pb->title = "Request body unreadable";
        pb->detail = "the request body could not be read";
        return APR_EINVAL;
    }
    buf = acc.buf;
    len = acc.len;
    buf[len] = '\0';
    *body = buf;
    *blen = len;
    return APR_SUCCESS;
}

apr_status_t ingest_parse_json(request_rec *r, const char *buf, apr_size_t len, json_t **out,
                               ingest_problem_t *pb)
{
    json_error_t jerr;

    memset(pb, 0, sizeof(*pb));
    *out = ingest_json_pool_own(r->pool, json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr));
    if (!*out) {
        pb->status = HTTP_BAD_REQUEST;
        pb->type = INGEST_PROBLEM_BASE "malformed-json";
        pb->title = "Malformed JSON";
        pb->detail = apr_psprintf(r->pool, "%s at line %d, column %d", jerr.text, jerr.line, jerr.column);
        pb->line = jerr.line > 0 ? jerr.line : 1;
        pb->column = jerr.column;
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t ingest_read_json(request_rec *r, apr_off_t limit, json_t **out, ingest_problem_t *pb)
{
    const char *body;
    apr_size_t blen;
    apr_status_t rv;

    *out = NULL;
    if ((rv = ingest_read_body(r, limit, &body, &blen, pb)) != APR_SUCCESS) {
        return rv;
    }
    return ingest_parse_json(r, body, blen, out, pb);
}

int ingest_client_gone(conn_rec *c)
{
    apr_socket_t *sock;
    apr_os_sock_t fd;
    struct pollfd pfd;
    char byte;

    if (c->aborted) {
        return 1;
    }
    if (c->master || !(sock = ap_get_conn_socket(c)) || apr_os_sock_get(&fd, sock) != APR_SUCCESS || fd < 0) {
        return 0;
    }
    pfd.fd = fd;
    pfd.events = POLLIN | POLLRDHUP;
    pfd.revents = 0;
    if (poll(&pfd, 1, 0) != 1) {
        return 0;
    }
    if (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) {
        return 1;
    }
    /* readable: the end of the stream (0 bytes), or bytes the client sent
     * on (left for whoever reads the connection next) */
    return (pfd.revents & POLLIN) && recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}
