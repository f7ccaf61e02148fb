#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "ingest_parse_internal.h"

/* JSON's whitespace but the line feed, which ends the line. */
static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static apr_status_t too_long(ingest_parser_t *ps, apr_int64_t lineno)
{
    return ingest_parse_too_long(ps, lineno, 1, apr_psprintf(ps->pool, "line %" APR_INT64_T_FMT, lineno));
}

/* One whole line, without its line feed. */
static apr_status_t one_line(ingest_parser_t *ps, const char *s, apr_size_t len, apr_int64_t lineno)
{
    json_error_t jerr;
    json_t *j, *item;
    const char *key;
    apr_size_t i, key_len;
    apr_status_t rv = APR_SUCCESS;

    if (len > ps->lim.record_bytes) {
        return too_long(ps, lineno);
    }
    for (i = 0; i < len && is_space(s[i]); ++i) {
    }
    if (i == len) {
        return APR_SUCCESS;
    }
    /* DECODE_ANY: a line that is valid JSON but not an object gets its own
     * message; ALLOW_NUL: as yajl, for the JSON format, allows "\u0000" */
    j = json_loadb(s, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!j) {
        /* the line is jansson's whole input: its column is the line's */
        /* the position travels separately (line, column), as for JSON */
        return ingest_parse_fail(ps, lineno, jerr.column, "malformed JSON: %s", jerr.text);
    }
    if (!json_is_object(j)) {
        json_decref(j);
        /* leading whitespace is ASCII: one byte, one column */
        return ingest_parse_fail(ps, lineno, (apr_int64_t)i + 1,
                                 "line %" APR_INT64_T_FMT " is not a JSON object", lineno);
    }
    if (ps->records < INGEST_PARSE_PREVIEW && ingest_parse_preview_copy(ps, ps->preview, NULL, 0, j) < 0) {
        rv = ingest_parse_fail(ps, 0, 0, "out of memory");
    }
    if (rv == APR_SUCCESS && ps->records < INGEST_PARSE_KEYS_RECORDS) {
        json_object_keylen_foreach(j, key, key_len, item)
        {
            if ((rv = ingest_parse_add_name(ps, key, key_len, 1)) != APR_SUCCESS) {
                break;
            }
        }
    }
    json_decref(j);
    ps->records += rv == APR_SUCCESS;
    return rv;
}

/* Adds to the line not yet ended, in a buffer that grows as needed, up to
 * the longest line allowed. */
static apr_status_t keep(ingest_parser_t *ps, const char *s, apr_size_t len, apr_int64_t lineno)
{
    ingest_ndjson_state_t *ns = &ps->u.ndjson;
    apr_size_t cap;
    char *grown;

    if (len > ps->lim.record_bytes - ns->len) {
        return too_long(ps, lineno);
    }
    if (ns->len + len > ns->cap) {
        cap = ns->cap ? ns->cap : 4096;
        while (cap < ns->len + len) {
            cap *= 2;
        }
        if (cap > ps->lim.record_bytes) {
            cap = ps->lim.record_bytes;
        }
        grown = realloc(ns->buf, cap);
        if (!grown) {
            return ingest_parse_fail(ps, 0, 0, "out of memory");
        }
        ns->buf = grown;
        ns->cap = cap;
    }
    memcpy(ns->buf + ns->len, s, len);
    ns->len += len;
    return APR_SUCCESS;
}

apr_status_t ingest_parse_ndjson_feed(ingest_parser_t *ps, const char *buf, apr_size_t len)
{
    ingest_ndjson_state_t *ns = &ps->u.ndjson;
    apr_int64_t lineno = ps->nl + 1;
    apr_size_t off = 0, seg;
    const char *nl;
    apr_status_t rv;

    while (off < len) {
        nl = memchr(buf + off, '\n', len - off);
        if (!nl) {
            return keep(ps, buf + off, len - off, lineno);
        }
        seg = (apr_size_t)(nl - (buf + off));
        if (ns->len) {
            /* the line began in a chunk before */
            if ((rv = keep(ps, buf + off, seg, lineno)) != APR_SUCCESS) {
                return rv;
            }
            rv = one_line(ps, ns->buf, ns->len, lineno);
            ns->len = 0;
        } else {
            rv = one_line(ps, buf + off, seg, lineno);
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        off += seg + 1;
        lineno++;
    }
    return APR_SUCCESS;
}

apr_status_t ingest_parse_ndjson_finish(ingest_parser_t *ps)
{
    ingest_ndjson_state_t *ns = &ps->u.ndjson;
    apr_status_t rv = APR_SUCCESS;

    /* the last line, without a line feed */
    if (ns->len) {
        rv = one_line(ps, ns->buf, ns->len, ps->nl + 1);
        ns->len = 0;
    }
    return rv;
}

void ingest_parse_ndjson_release(ingest_parser_t *ps)
{
    ingest_ndjson_state_t *ns = &ps->u.ndjson;

    free(ns->buf);
    ns->buf = NULL;
    ns->len = ns->cap = 0;
}
