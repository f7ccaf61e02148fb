#include <apr_atomic.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "ingest_copy.h"
#include "ingest_record_json.h"
#include "ingest_schema.h"
#include "mod_ingest_landing.h"
#include "mod_ingest_store.h"

/* A batch is one transaction, streamed as the file is parsed: the COPY
 * stream goes to PostgreSQL every LANDING_SEND bytes (so PostgreSQL works
 * on the records while the parser reads the next ones), and the batch
 * commits after LANDING_RECORDS records, or LANDING_BYTES of them, or at
 * the next progress report (every 250 ms), whichever comes first. */
#define LANDING_SEND    (256 * 1024)
#define LANDING_RECORDS 100000
#define LANDING_BYTES   (64 * 1024 * 1024)
/* JSON and NDJSON records: the keys kept as the export's CSV columns */
#define LANDING_KEYS      1000
#define LANDING_KEYS_JSON (64 * 1024)

struct ingest_landing {
    const ingest_step_t *st;
    const char *job_id;
    const char *tenant;
    apr_size_t tenant_len;
    unsigned char id[16];
    ingest_copy_t buf;     /* the COPY stream not sent yet */
    int open;              /* a batch's transaction is open */
    apr_size_t sent;       /* bytes of the open batch sent */
    apr_int64_t pending;   /* records of the open batch */
    apr_int64_t committed; /* records committed */
    apr_int64_t total;     /* estimate shown with each batch */
    apr_off_t size;        /* the file's size */
    apr_off_t read;        /* bytes read before the chunk being parsed */
    apr_status_t rv;       /* the first failure */
    int held;
    /* the records' column names, as a JSON array not closed yet, and
     * whether the next batch is to store them */
    ingest_copy_t cols;
    int cols_known, cols_dirty;
    apr_hash_t *keys;
    const ingest_schema_t *schema; /* the job's record schema, NULL for none */
    /* skip mode: the bad records committed and in the open batch, how
     * many were kept, and those of the open batch to keep, as a JSON
     * array not closed yet (empty: none) */
    int skip;
    apr_int64_t max_bad;
    apr_int64_t failed, pending_failed;
    apr_int64_t kept;
    ingest_copy_t errs;
};

static apr_status_t landing_cleanup(void *data)
{
    ingest_landing_t *l = data;
    ingest_landing_abort(l);
    ingest_copy_free(&l->buf);
    ingest_copy_free(&l->cols);
    ingest_copy_free(&l->errs);
    return APR_SUCCESS;
}

static ingest_records_batch_t batch_of(const ingest_landing_t *l, apr_int64_t processed)
{
    ingest_records_batch_t b;
    b.job_id = l->job_id;
    b.owner = l->st->owner;
    b.lease = ingest_conf_lease_time(l->st->conf);
    b.failed = l->failed + l->pending_failed;
    b.processed = processed + b.failed;
    b.total = l->total > b.processed ? l->total : b.processed;
    b.columns = NULL;
    b.errors = NULL;
    return b;
}

/* Sends what buf holds of the open batch. */
static apr_status_t send_piece(ingest_landing_t *l)
{
    if (l->buf.failed) {
        return l->rv = APR_ENOMEM;
    }
    l->rv = ingest_store_records_send(l->st->s, l->st->dbd, l->buf.data, l->buf.len);
    l->sent += l->buf.len;
    l->buf.len = 0;
    return l->rv;
}

/* Commits the open batch, if any. */
static apr_status_t flush(ingest_landing_t *l)
{
    ingest_records_batch_t b;
    const ingest_step_t *st = l->st;
    apr_int64_t done;

    if (!l->open || l->rv != APR_SUCCESS || !l->held) {
        return l->rv;
    }
    ingest_copy_finish(&l->buf);
    if (send_piece(l) != APR_SUCCESS) {
        ingest_landing_abort(l);
        return l->rv;
    }
    /* the total, estimated so that progress is the share of the file
     * read before the last committed record: it never goes back */
    done = l->committed + l->pending + l->failed + l->pending_failed;
    if (l->size > 0) {
        double t = (double)done * (double)l->size / (double)(l->read > 0 ? l->read : 1);
        l->total = t > (double)APR_INT64_MAX / 2 ? APR_INT64_MAX / 2 : (apr_int64_t)t;
    }
    if (l->total <= done) {
        l->total = done + 1;
    }
    b = batch_of(l, l->committed + l->pending);
    if (l->cols_dirty && !l->cols.failed) {
        b.columns = apr_pstrcat(st->p, apr_pstrmemdup(st->p, l->cols.data, l->cols.len), "]", NULL);
    }
    if (l->errs.failed) {
        l->rv = APR_ENOMEM;
        ingest_landing_abort(l);
        return l->rv;
    }
    if (l->errs.len) {
        b.errors = apr_pstrcat(st->p, "[", apr_pstrmemdup(st->p, l->errs.data, l->errs.len), "]", NULL);
    }
    l->open = 0;
    l->rv = ingest_store_records_close(st->p, st->s, st->dbd, &b, &l->held);
    if (l->rv == APR_SUCCESS && l->held) {
        l->committed += l->pending;
        l->failed += l->pending_failed;
        l->cols_dirty &= b.columns == NULL;
    }
    l->pending = l->pending_failed = 0;
    l->errs.len = 0;
    return l->rv;
}

void ingest_landing_abort(ingest_landing_t *l)
{
    if (l->open) {
        l->open = 0;
        ingest_store_records_abort(l->st->s, l->st->dbd);
    }
    l->pending = l->pending_failed = 0;
    l->buf.len = 0;
    l->errs.len = 0;
}

apr_status_t ingest_landing_commit(ingest_landing_t *l, int *held)
{
    apr_status_t rv = flush(l);
    *held = l->held;
    return rv;
}

/* Adds a name to the column list. */
static void add_column(ingest_landing_t *l, const char *name, apr_size_t len)
{
    if (l->cols.len > 1) {
        ingest_copy_put(&l->cols, ",", 1);
    }
    ingest_record_json_string(&l->cols, name, len);
    l->cols_dirty = 1;
}

/* The export's CSV columns: a CSV file's header, the keys of JSON records
 * in the order first seen (bounded), "line" for text. */
static void note_columns(ingest_landing_t *l, const ingest_parser_t *ps, const ingest_record_t *rec)
{
    const char *const *names;
    const apr_size_t *lens;
    const char *key;
    apr_size_t n, i, key_len;
    json_t *v;

    if (!l->cols_known) {
        l->cols_known = 1;
        ingest_copy_put(&l->cols, "[", 1);
        if (rec->text) {
            add_column(l, "line", 4);
        } else if (!rec->value) {
            n = ingest_parser_columns(ps, &names, &lens);
            for (i = 0; i < n; i++) {
                add_column(l, names[i], lens[i]);
            }
        }
    }
    if (!json_is_object(rec->value)) {
        return;
    }
    json_object_keylen_foreach(rec->value, key, key_len, v)
    {
        (void)v;
        if (apr_hash_count(l->keys) >= LANDING_KEYS || l->cols.len + key_len >= LANDING_KEYS_JSON) {
            return;
        }
        if (!apr_hash_get(l->keys, key, (apr_ssize_t)key_len)) {
            apr_hash_set(l->keys, apr_pstrmemdup(l->st->p, key, key_len), (apr_ssize_t)key_len, l);
            add_column(l, key, key_len);
        }
    }
}

/* The record as a JSON object, for the schema: a CSV row keyed by the
 * header (a repeated name: the last value), a text line as {"line"}. */
static json_t *record_object(const ingest_parser_t *ps, const ingest_record_t *rec)
{
    const char *const *names;
    const apr_size_t *lens;
    json_t *o;
    apr_size_t i, n;

    if (rec->value) {
        return json_incref(rec->value);
    }
    o = json_object();
    if (rec->text) {
        json_object_set_new_nocheck(o, "line", json_stringn_nocheck(rec->text, rec->text_len));
        return o;
    }
    n = ingest_parser_columns(ps, &names, &lens);
    for (i = 0; i < n && i < rec->nfields; i++) {
        json_object_setn_new_nocheck(o, names[i], lens[i],
                                     json_stringn_nocheck(rec->fields[i], rec->field_lens[i]));
    }
    return o;
}

/* A batch open for what comes: 0 when none can be (the parse is to
 * stop: the database failed, or the lease was lost). */
static int batch_open(ingest_landing_t *l)
{
    if (!l->open && l->rv == APR_SUCCESS && l->held) {
        if ((l->rv = ingest_store_records_open(l->st->s, l->st->dbd)) == APR_SUCCESS) {
            l->open = 1;
            l->sent = 0;
            ingest_copy_start(&l->buf);
        }
    }
    return l->open;
}

static apr_status_t stopped(ingest_landing_t *l, const ingest_parser_t *ps)
{
    return ingest_parser_fail_record(
        ps, 0, 0, l->held ? "the records could not be written to the database" : "the job's lease was lost");
}

/* The handler of bad records (skip mode): counted with the open batch,
 * the first INGEST_LANDING_ERRORS_KEPT kept with it; one more than
 * max_bad fails the job. */
static apr_status_t on_bad(void *baton, const ingest_parser_t *ps, const ingest_bad_record_t *bad)
{
    ingest_landing_t *l = baton;
    apr_int64_t n = l->failed + l->pending_failed + 1;
    ingest_copy_t *e = &l->errs;
    char num[64];

    if (!batch_open(l)) {
        return stopped(l, ps);
    }
    if (l->max_bad >= 0 && n > l->max_bad) {
        return ingest_parser_fail_record(ps, bad->line, bad->col,
                                         "more than %" APR_INT64_T_FMT " bad records (IngestMaxBadRecords); "
                                         "record %" APR_INT64_T_FMT ": %s%s%s",
                                         l->max_bad, bad->seq, bad->field ? bad->field : "",
                                         bad->field ? " " : "", bad->reason);
    }
    l->pending_failed++;
    if (l->kept < INGEST_LANDING_ERRORS_KEPT) {
        l->kept++;
        apr_snprintf(num, sizeof(num),
                     "%s{\"seq\":%" APR_INT64_T_FMT ",\"line\":%" APR_INT64_T_FMT ",\"field\":",
                     e->len ? "," : "", bad->seq, bad->line);
        ingest_copy_put(e, num, strlen(num));
        if (bad->field) {
            ingest_record_json_string(e, bad->field, strlen(bad->field));
        } else {
            ingest_copy_put(e, "null", 4);
        }
        ingest_copy_put(e, ",\"reason\":", 10);
        ingest_record_json_string(e, bad->reason, strlen(bad->reason));
        ingest_copy_put(e, "}", 1);
    }
    return APR_SUCCESS;
}

static apr_status_t on_record(void *baton, const ingest_parser_t *ps, const ingest_record_t *rec)
{
    ingest_landing_t *l = baton;
    const char *const *names;
    const apr_size_t *name_lens;
    apr_size_t at, tuple_at;

    if (!batch_open(l)) {
        return stopped(l, ps);
    }
    note_columns(l, ps, rec);
    tuple_at = l->buf.len;
    ingest_copy_tuple(&l->buf, 5);
    ingest_copy_uuid(&l->buf, l->id);
    ingest_copy_int8(&l->buf, rec->seq);
    ingest_copy_int8(&l->buf, rec->line);
    ingest_copy_text(&l->buf, l->tenant, l->tenant_len);
    at = ingest_copy_jsonb_open(&l->buf);
    if (l->schema) {
        ingest_verr_t err = {0};
        json_t *in = record_object(ps, rec), *out = ingest_schema_apply(l->st->p, l->schema, in, &err);
        json_decref(in);
        if (!out) {
            /* the tuple is taken back: in skip mode the batch goes on
             * without it; otherwise it is rolled back */
            l->buf.len = tuple_at;
            if (l->skip) {
                return ingest_parser_skip_record(ps, rec->line, err.field, "%s", err.detail);
            }
            return ingest_parser_fail_record(ps, rec->line, 0, "record %" APR_INT64_T_FMT ": %s%s%s",
                                             rec->seq, err.field ? err.field : "", err.field ? " " : "",
                                             err.detail);
        }
        ingest_record_json_value(&l->buf, out);
        json_decref(out);
    } else if (rec->value) {
        ingest_record_json_value(&l->buf, rec->value);
    } else if (rec->text) {
        ingest_record_json_line(&l->buf, rec->text, rec->text_len);
    } else {
        ingest_parser_columns(ps, &names, &name_lens);
        ingest_record_json_csv(&l->buf, rec->nfields, names, name_lens, rec->fields, rec->field_lens);
    }
    ingest_copy_jsonb_close(&l->buf, at);
    l->pending++;
    if (l->pending >= LANDING_RECORDS || l->sent + l->buf.len >= LANDING_BYTES) {
        flush(l);
    } else if (l->buf.len >= LANDING_SEND && send_piece(l) != APR_SUCCESS) {
        ingest_landing_abort(l);
    }
    if (l->rv != APR_SUCCESS || !l->held) {
        return stopped(l, ps);
    }
    return APR_SUCCESS;
}

apr_status_t ingest_landing_start(const ingest_step_t *st, ingest_parser_t *ps, const char *job_id,
                                  const char *tenant, const ingest_landing_opts_t *opts,
                                  ingest_landing_t **out, int *held)
{
    ingest_landing_t *l = apr_pcalloc(st->p, sizeof(*l));
    ingest_records_batch_t b;
    apr_status_t rv;
    int more;

    *out = NULL;
    if (!ingest_copy_uuid_parse(job_id, l->id) || !tenant) {
        return APR_EINVAL;
    }
    l->st = st;
    l->job_id = job_id;
    l->tenant = tenant;
    l->tenant_len = strlen(tenant);
    l->held = 1;
    l->keys = apr_hash_make(st->p);
    l->skip = opts->skip;
    l->max_bad = opts->max_bad;
    if (json_is_object(opts->schema)) {
        ingest_schema_t *sc;
        ingest_verr_t err;
        if (ingest_schema_parse(st->p, opts->schema, &sc, &err) != APR_SUCCESS) {
            return APR_EINVAL; /* POST init checked it */
        }
        l->schema = sc;
    }
    apr_pool_cleanup_register(st->p, l, landing_cleanup, apr_pool_cleanup_null);
    /* a re-run replaces what an earlier one committed, a batch at a time,
     * as long as the child is not exiting (the job is given back then) */
    b = batch_of(l, 0);
    do {
        rv = ingest_store_records_clear(st->p, st->s, st->dbd, &b, held, &more);
        if (rv != APR_SUCCESS || !*held) {
            return rv;
        }
        if (apr_atomic_read32(st->stopping)) {
            *held = 0;
            return APR_SUCCESS;
        }
    } while (more);
    if ((rv = ingest_parser_add_sink(ps, on_record, l)) != APR_SUCCESS
        || (l->skip && (rv = ingest_parser_on_bad_record(ps, on_bad, l)) != APR_SUCCESS)) {
        return rv;
    }
    *out = l;
    return APR_SUCCESS;
}

void ingest_landing_position(ingest_landing_t *l, apr_off_t read, apr_off_t size)
{
    l->read = read;
    l->size = size;
}

void ingest_landing_progress(const ingest_landing_t *l, apr_int64_t *processed, apr_int64_t *total)
{
    *processed = l->committed + l->failed;
    *total = *processed ? l->total : 0;
}

apr_status_t ingest_landing_status(const ingest_landing_t *l, int *held)
{
    *held = l->held;
    return l->rv;
}
