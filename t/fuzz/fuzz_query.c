/* fuzz_query: query strings (ingest_query.c) and the listings' query
 * validators (ingest_validate_list, ingest_validate_results).
 *
 * Input: the query string, as r->args holds it (up to a NUL).
 *
 * Promises checked (ingest_query.h, ingest_validate.h):
 *  - a refusal names the offending key, and the 422 problem document
 *    (ingest_problem_json) carries that name and the reason, whatever
 *    bytes the key holds;
 *  - every key parsed is non-empty, and the table, written out again with
 *    every byte %-escaped, parses back to the same pairs in the same order;
 *  - what the listings accept is within their bounds: limit 1..100
 *    (20 when absent), offset 0..2^31-1, both written in plain digits,
 *    status and user as documented;
 *  - an accepted cursor (ingest_cursor.h) is a UUID and a time that
 *    ingest_cursor_format writes back to a cursor read as the same
 *    position, and it never comes with an offset. */

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "fuzz.h"
#include "ingest_cursor.h"
#include "ingest_query.h"
#include "ingest_validate.h"

#define T "query"

/* Every byte as %XX: nothing is left for the decoder to read as it is. */
static char *escaped(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s), i;
    char *out = apr_palloc(p, 3 * n + 1);

    for (i = 0; i < n; ++i) {
        out[3 * i] = '%';
        out[3 * i + 1] = hex[(unsigned char)s[i] >> 4];
        out[3 * i + 2] = hex[(unsigned char)s[i] & 15];
    }
    out[3 * n] = '\0';
    return out;
}

static void round_trip(apr_pool_t *p, apr_table_t *t)
{
    const apr_array_header_t *arr = apr_table_elts(t);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts, *e2;
    apr_array_header_t *parts = apr_array_make(p, arr->nelts, sizeof(char *));
    const char *again, *bad = NULL;
    apr_table_t *t2;
    int i;

    for (i = 0; i < arr->nelts; ++i) {
        FUZZ_CHECK(T, e[i].key && *e[i].key && e[i].val);
        APR_ARRAY_PUSH(parts, char *) = apr_pstrcat(p, escaped(p, e[i].key), "=", escaped(p, e[i].val), NULL);
    }
    again = apr_array_pstrcat(p, parts, '&');
    FUZZ_CHECK(T, ingest_query_parse(p, again, &t2, &bad) == APR_SUCCESS && bad == NULL);
    FUZZ_CHECK(T, apr_table_elts(t2)->nelts == arr->nelts);
    e2 = (const apr_table_entry_t *)apr_table_elts(t2)->elts;
    for (i = 0; i < arr->nelts; ++i) {
        FUZZ_CHECK(T, !strcmp(e[i].key, e2[i].key) && !strcmp(e[i].val, e2[i].val));
    }
}

/* The value of a number accepted: plain digits that say n, or absent. */
static int digits_say(const char *v, apr_int64_t n)
{
    apr_int64_t got = 0;

    if (!v) {
        return 1;
    }
    if (!*v || strlen(v) > 18) {
        return 0;
    }
    for (; *v; ++v) {
        if (*v < '0' || *v > '9') {
            return 0;
        }
        got = got * 10 + (*v - '0');
    }
    return got == n;
}

static void listings(apr_pool_t *p, apr_table_t *t)
{
    ingest_list_req_t list;
    ingest_results_req_t results;
    ingest_verr_t err = {NULL, NULL};
    const char *v;

    if (ingest_validate_list(p, t, &list, &err) == APR_SUCCESS) {
        FUZZ_CHECK(T, list.limit >= 1 && list.limit <= INGEST_LIST_LIMIT_MAX);
        FUZZ_CHECK(T, apr_table_get(t, "limit") || list.limit == INGEST_LIST_LIMIT_DEFAULT);
        FUZZ_CHECK(T, digits_say(apr_table_get(t, "limit"), list.limit));
        FUZZ_CHECK(T, digits_say(apr_table_get(t, "offset"), list.offset));
        FUZZ_CHECK(T, list.offset >= 0 && list.offset <= INGEST_LIST_OFFSET_MAX);
        FUZZ_CHECK(T, list.has_status == (apr_table_get(t, "status") != NULL));
        FUZZ_CHECK(T,
                   !list.has_status || (list.status >= INGEST_ST_PENDING && list.status < INGEST_ST_COUNT));
        v = apr_table_get(t, "user");
        FUZZ_CHECK(T, list.mine == (v != NULL) && (!v || !strcmp(v, "me")));
        FUZZ_CHECK(T, list.has_cursor == (apr_table_get(t, "cursor") != NULL));
        if (list.has_cursor) {
            ingest_cursor_t again;
            const char *why = NULL;
            const char *c = ingest_cursor_format(p, list.cursor.created_us, list.cursor.job_id);
            FUZZ_CHECK(T, !apr_table_get(t, "offset") && list.offset == 0);
            FUZZ_CHECK(T, c && ingest_cursor_parse(p, c, &again, &why) == APR_SUCCESS);
            FUZZ_CHECK(T, again.created_us == list.cursor.created_us
                              && !strcmp(again.job_id, list.cursor.job_id));
            FUZZ_CHECK(T, !strcmp(again.created_at, list.cursor.created_at));
        }
    } else {
        FUZZ_CHECK(T, err.field && err.detail);
        fuzz_reportable(T, err.field, err.detail);
    }
    err.field = err.detail = NULL;
    if (ingest_validate_results(p, t, &results, &err) == APR_SUCCESS) {
        FUZZ_CHECK(T, results.limit >= 1 && results.limit <= INGEST_LIST_LIMIT_MAX);
        FUZZ_CHECK(T, results.offset >= 0 && results.offset <= INGEST_LIST_OFFSET_MAX);
        FUZZ_CHECK(T, digits_say(apr_table_get(t, "limit"), results.limit));
        FUZZ_CHECK(T, digits_say(apr_table_get(t, "offset"), results.offset));
        FUZZ_CHECK(T, !results.status || !strcmp(results.status, "pending")
                          || !strcmp(results.status, "success") || !strcmp(results.status, "failed"));
    } else {
        FUZZ_CHECK(T, err.field && err.detail);
        fuzz_reportable(T, err.field, err.detail);
    }
}

int fuzz_query(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *bad = "untouched";
    apr_table_t *t = NULL;
    fuzz_field_t f;

    fuzz_split(data, size, &f, 1);
    if (ingest_query_parse(p, f.s, &t, &bad) == APR_SUCCESS) {
        FUZZ_CHECK(T, t != NULL && bad == NULL);
        round_trip(p, t);
        listings(p, t);
    } else {
        FUZZ_CHECK(T, bad != NULL);
        fuzz_reportable(T, bad, "is not correctly %-encoded");
    }
    fuzz_split_free(&f, 1);
    apr_pool_destroy(p);
    return 0;
}
