#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "ingest_parse_internal.h"

/* The summary (ingest_parser_summary) is a record sink like any other,
 * attached first: it lists the names (CSV: the header's, told by
 * on_header; JSON, NDJSON: the keys of the first INGEST_PARSE_KEYS_RECORDS
 * records) and previews the first INGEST_PARSE_PREVIEW records, cut and
 * left out within the limits (ingest_parse.h). */

struct ingest_parse_summary {
    ingest_parser_t *ps;
    json_t *preview;        /* array, owned */
    apr_size_t preview_len; /* its JSON text's length */
    int preview_full;       /* a value was left out: nothing more goes in */
    json_t *names;          /* CSV: the columns; JSON, NDJSON: the keys; owned */
    apr_size_t names_len;   /* its JSON text's length */
    int names_full;         /* a name was left out: nothing more goes in */
    apr_hash_t *names_seen; /* JSON, NDJSON: the keys already in names, as listed */
    int truncated;          /* something was cut or left out */
};

/* A string cut to cell_bytes (ingest_parse_string, NUL replaced): a
 * listed name, or a key or string of the preview. A cut makes the summary
 * say truncated. */
static json_t *cell(ingest_parse_summary_t *sm, const char *s, apr_size_t len)
{
    int cut = 0;
    json_t *j = ingest_parse_string(s, len, sm->ps->lim.cell_bytes, 0, &cut);

    sm->truncated |= cut;
    return j;
}

/* ------------------------------------------------- names and preview */

/* The length of a scalar's JSON text, as the summary is written; an empty
 * container's is its brackets. */
static apr_size_t text_len(const json_t *v)
{
    if (json_is_object(v) || json_is_array(v)) {
        return 2;
    }
    return json_dumpb(v, NULL, 0, JSON_ENCODE_ANY | JSON_COMPACT);
}

static apr_size_t members(const json_t *c)
{
    return json_is_object(c) ? json_object_size(c) : json_array_size(c);
}

/* Puts v (a new reference, consumed) into c, the preview or a container
 * in it, under key (cut as a cell) when c is an object. v is a scalar (a
 * string cut as a cell) or an empty container, which the preview's budget
 * counts as its two brackets. 1: added; 0: over the budget, so v is
 * dropped, and so is every value offered after it (the summary says
 * truncated); -1: out of memory. */
static int preview_put(ingest_parse_summary_t *sm, json_t *c, const char *key, apr_size_t key_len, json_t *v)
{
    json_t *k = NULL;
    apr_size_t need;
    int rc;

    if (!v) {
        return -1;
    }
    if (sm->preview_full) {
        json_decref(v);
        return 0;
    }
    /* a comma before it, its key and a colon, itself */
    need = members(c) ? 1 : 0;
    if (json_is_object(c)) {
        if (!(k = cell(sm, key, key_len))) {
            json_decref(v);
            return -1;
        }
        need += text_len(k) + 1;
    }
    need += text_len(v);
    if (need > sm->ps->lim.preview_json - sm->preview_len) {
        sm->preview_full = sm->truncated = 1;
        json_decref(k);
        json_decref(v);
        return 0;
    }
    sm->preview_len += need;
    rc = k ? json_object_setn_new_nocheck(c, json_string_value(k), json_string_length(k), v)
           : json_array_append_new(c, v);
    json_decref(k);
    return rc ? -1 : 1;
}

/* A copy of v put into c as by preview_put, member by member while the
 * budget lasts: strings cut as cells. 1, 0 or -1 as that. */
static int preview_copy(ingest_parse_summary_t *sm, json_t *c, const char *key, apr_size_t key_len, json_t *v)
{
    json_t *copy, *item;
    const char *k;
    apr_size_t k_len, i;
    int rc;

    switch (json_typeof(v)) {
    case JSON_STRING:
        return preview_put(sm, c, key, key_len, cell(sm, json_string_value(v), json_string_length(v)));
    case JSON_OBJECT:
        copy = json_object();
        if ((rc = preview_put(sm, c, key, key_len, copy)) != 1) {
            return rc;
        }
        json_object_keylen_foreach(v, k, k_len, item)
        {
            if ((rc = preview_copy(sm, copy, k, k_len, item)) != 1) {
                return rc;
            }
        }
        return 1;
    case JSON_ARRAY:
        copy = json_array();
        if ((rc = preview_put(sm, c, key, key_len, copy)) != 1) {
            return rc;
        }
        json_array_foreach(v, i, item)
        {
            if ((rc = preview_copy(sm, copy, NULL, 0, item)) != 1) {
                return rc;
            }
        }
        return 1;
    default: return preview_put(sm, c, key, key_len, json_copy(v));
    }
}

/* Lists a name (CSV: a column, duplicates too; JSON, NDJSON, unique: a key,
 * once), cut as a cell, while the list has room. */
static apr_status_t add_name(ingest_parse_summary_t *sm, const char *name, apr_size_t len, int unique)
{
    json_t *s;
    const char *v;
    apr_size_t v_len, need;

    /* once one was left out, the others are too: the list is a prefix */
    if (sm->names_full) {
        return APR_SUCCESS;
    }
    if (!(s = cell(sm, name, len))) {
        return ingest_parse_fail(sm->ps, 0, 0, "out of memory");
    }
    v = json_string_value(s);
    v_len = json_string_length(s);
    if (unique && apr_hash_get(sm->names_seen, v, (apr_ssize_t)v_len)) {
        json_decref(s);
        return APR_SUCCESS;
    }
    need = (json_array_size(sm->names) ? 1 : 0) + text_len(s);
    if (json_array_size(sm->names) >= sm->ps->lim.names || need > sm->ps->lim.names_json - sm->names_len) {
        sm->names_full = sm->truncated = 1;
        json_decref(s);
        return APR_SUCCESS;
    }
    if (unique) {
        v = apr_pmemdup(sm->ps->pool, v, v_len);
        apr_hash_set(sm->names_seen, v, (apr_ssize_t)v_len, v);
    }
    if (json_array_append_new(sm->names, s)) {
        return ingest_parse_fail(sm->ps, 0, 0, "out of memory");
    }
    sm->names_len += need;
    return APR_SUCCESS;
}

/* --------------------------------------------------------------- sink */

/* CSV: the columns, as given, duplicates too. */
static apr_status_t on_header(void *baton, const ingest_parser_t *ps)
{
    ingest_parse_summary_t *sm = baton;
    const char *const *names;
    const apr_size_t *lens;
    apr_size_t n = ingest_parser_columns(ps, &names, &lens), i;
    apr_status_t rv = APR_SUCCESS;

    for (i = 0; rv == APR_SUCCESS && i < n; ++i) {
        rv = add_name(sm, names[i], lens[i], 0);
    }
    return rv;
}

/* A CSV row: an object of the listed columns' values; a column not listed
 * is not previewed; with duplicate names, the last value of the row wins. */
static int preview_row(ingest_parse_summary_t *sm, const ingest_record_t *rec)
{
    json_t *row = json_object(), *name;
    apr_size_t i;
    int rc = preview_put(sm, sm->preview, NULL, 0, row);

    for (i = 0; rc == 1 && i < rec->nfields && i < json_array_size(sm->names); ++i) {
        name = json_array_get(sm->names, i);
        rc = preview_put(sm, row, json_string_value(name), json_string_length(name),
                         cell(sm, rec->fields[i], rec->field_lens[i]));
    }
    return rc;
}

static apr_status_t on_record(void *baton, const ingest_parser_t *ps, const ingest_record_t *rec)
{
    ingest_parse_summary_t *sm = baton;
    const char *key;
    json_t *item;
    apr_size_t key_len;
    apr_status_t rv = APR_SUCCESS;
    int rc = 1;

    (void)ps;
    if (rec->seq <= INGEST_PARSE_PREVIEW) {
        if (rec->value) {
            rc = preview_copy(sm, sm->preview, NULL, 0, rec->value);
        } else if (rec->text) {
            rc = preview_put(sm, sm->preview, NULL, 0, cell(sm, rec->text, rec->text_len));
        } else {
            rc = preview_row(sm, rec);
        }
    }
    if (rc < 0) {
        return ingest_parse_fail(sm->ps, 0, 0, "out of memory");
    }
    if (rec->value && rec->seq <= INGEST_PARSE_KEYS_RECORDS) {
        json_object_keylen_foreach(rec->value, key, key_len, item)
        {
            if ((rv = add_name(sm, key, key_len, 1)) != APR_SUCCESS) {
                break;
            }
        }
    }
    return rv;
}

apr_status_t ingest_parse_summary_attach(ingest_parser_t *ps)
{
    ingest_parse_summary_t *sm = apr_pcalloc(ps->pool, sizeof(*sm));

    sm->ps = ps;
    sm->preview = json_array();
    sm->preview_len = 2;
    sm->names = json_array();
    sm->names_len = 2;
    sm->names_seen = apr_hash_make(ps->pool);
    ps->summary = sm;
    if (!sm->preview || !sm->names) {
        return APR_ENOMEM;
    }
    return ingest_parse_attach(ps, on_record, on_header, sm);
}

apr_int64_t ingest_parse_summary_reads(const ingest_parser_t *ps)
{
    /* keys are those of the first records; columns are the header's */
    return ps->fmt->names_key && !strcmp(ps->fmt->names_key, "keys") ? INGEST_PARSE_KEYS_RECORDS
                                                                     : INGEST_PARSE_PREVIEW;
}

void ingest_parse_summary_release(ingest_parser_t *ps)
{
    if (ps->summary) {
        json_decref(ps->summary->preview);
        ps->summary->preview = NULL;
        json_decref(ps->summary->names);
        ps->summary->names = NULL;
    }
}

json_t *ingest_parse_summary_json(const ingest_parser_t *ps)
{
    const ingest_parse_summary_t *sm = ps->summary;
    const ingest_parse_format_t *fmt = ps->fmt;
    json_t *s = json_object();
    int bad = 0;

    if (!s) {
        return NULL;
    }
    bad |= json_object_set_new(s, "format", json_string(fmt->name));
    /* a format that reads nothing has nothing more to say */
    if (fmt->feed) {
        bad |= json_object_set_new(s, "records", json_integer(ingest_parser_records(ps)));
        bad |= json_object_set_new(s, "lines", json_integer(ingest_parser_lines(ps)));
        /* skip mode only: the bad records stepped over */
        if (ps->bad) {
            bad |= json_object_set_new(s, "bad_records", json_integer(ps->bad));
        }
        if (fmt->names_key) {
            bad |= json_object_set_new(s, fmt->names_key, json_deep_copy(sm->names));
        }
        bad |= json_object_set_new(s, "preview", json_deep_copy(sm->preview));
    }
    if (sm->truncated) {
        bad |= json_object_set_new(s, "truncated", json_true());
    }
    if (bad) {
        json_decref(s);
        return NULL;
    }
    return s;
}
