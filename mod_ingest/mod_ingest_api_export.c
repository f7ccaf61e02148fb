/* GET /api/ingest/status/{job_id}/records.ndjson: a job's records (their
 * data, one JSON object per line, in file order), streamed from the
 * database a piece at a time: memory stays bounded by a piece (1,000
 * records, about 4 MiB), and no database connection is held while the
 * client reads: each piece takes one from the pool and gives it back. */

#include "mod_ingest_api.h"
#include "mod_ingest_db.h"
#include "mod_ingest_http.h"
#include "mod_ingest_store.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <http_log.h>
#include <http_protocol.h>
#include <util_filter.h>

#include "ingest_query.h"

/* What tells the two exports apart. */
typedef struct {
    const char *ext; /* appended to the download's name */
    const char *ctype;
    int csv;
} export_format_t;

static const export_format_t export_ndjson = {".records.ndjson", "application/x-ndjson", 0};
static const export_format_t export_csv = {".records.csv", "text/csv; charset=utf-8", 1};

/* The download's name: the file's, or the job's id, then the format's
 * ending; only characters no header needs to quote. */
static const char *download_name(apr_pool_t *p, const char *filename, const char *job_id, const char *ext)
{
    char *n = apr_pstrcat(p, filename ? filename : job_id, ext, NULL), *c;
    for (c = n; *c; c++) {
        if (!apr_isalnum(*c) && *c != '.' && *c != '-' && *c != '_') {
            *c = '_';
        }
    }
    return n;
}

/* One piece, on a pooled connection taken for the time of the query and
 * given back before the piece is sent (ingest_db_take). */
static apr_status_t piece(request_rec *r, apr_pool_t *p, const ingest_identity_t *id, const char *job_id,
                          const export_format_t *f, apr_int64_t after, ingest_records_piece_t *out)
{
    ap_dbd_t *dbd;
    apr_status_t rv = ingest_db_take(r, &dbd);

    if (rv == APR_SUCCESS) {
        rv = ingest_store_records_export(p, r->server, dbd, id, job_id, f->csv, after, out);
    }
    ingest_db_release(r);
    return rv;
}

/* The body was begun: an error can only cut it short, which the client
 * sees as a chunked body that never ends properly. */
static int cut_short(request_rec *r, apr_status_t rv, apr_int64_t after)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);

    ap_log_rerror(
        APLOG_MARK, APLOG_ERR, rv, r,
        IGLOGNO(00902) "records export cut short after seq %" APR_INT64_T_FMT ": the database failed", after);
    APR_BRIGADE_INSERT_TAIL(
        bb, ap_bucket_error_create(HTTP_INTERNAL_SERVER_ERROR, NULL, r->pool, r->connection->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(r->connection->bucket_alloc));
    ap_pass_brigade(r->output_filters, bb);
    return OK;
}

static int export_records(request_rec *r, const ingest_identity_t *id, const char *job_id,
                          const export_format_t *f)
{
    apr_table_t *args;
    const char *bad;
    ingest_records_piece_t pc;
    apr_pool_t *p;
    apr_int64_t after = 0;
    apr_status_t rv;
    int started = 0;

    if (ingest_query_parse(r->pool, r->args, &args, &bad) != APR_SUCCESS) {
        return ingest_send_invalid(r, bad, "is not correctly %-encoded");
    }
    if (!apr_is_empty_table(args)) {
        return ingest_send_invalid(r, APR_ARRAY_IDX(apr_table_elts(args), 0, apr_table_entry_t).key,
                                   "unknown query parameter (the export takes none)");
    }
    apr_pool_create(&p, r->pool);
    apr_pool_tag(p, "ingest_export");
    for (;;) {
        apr_pool_clear(p);
        rv = piece(r, p, id, job_id, f, after, &pc);
        if (rv != APR_SUCCESS) {
            return started ? cut_short(r, rv, after) : ingest_send_db_error(r, rv);
        }
        if (!started) {
            if (!pc.exists) {
                return ingest_send_not_found(r);
            }
            started = 1;
            ap_set_content_type(r, f->ctype);
            apr_table_setn(r->headers_out, "Cache-Control", "no-store");
            apr_table_setn(r->headers_out, "Content-Disposition",
                           apr_psprintf(r->pool, "attachment; filename=\"%s\"",
                                        download_name(r->pool, pc.filename, job_id, f->ext)));
            if (r->header_only) {
                return OK;
            }
            if (pc.header) {
                ap_rputs(pc.header, r);
                ap_rputs("\n", r);
            }
        }
        if (!pc.records) {
            return OK;
        }
        ap_rwrite(pc.text, (int)pc.text_len, r);
        ap_rputs("\n", r);
        if (ap_rflush(r) < 0 || r->connection->aborted) {
            return OK;
        }
        after = pc.last;
    }
}

int ingest_api_records_ndjson(request_rec *r, const ingest_identity_t *id, const char *job_id)
{
    return export_records(r, id, job_id, &export_ndjson);
}

int ingest_api_records_csv(request_rec *r, const ingest_identity_t *id, const char *job_id)
{
    return export_records(r, id, job_id, &export_csv);
}
