#ifndef INGEST_QUERY_H
#define INGEST_QUERY_H

/* application/x-www-form-urlencoded query strings. Pure. */

#include <apr_pools.h>
#include <apr_tables.h>

/* Parses "a=1&b=x%20y" into a table (apr_table_add, so a repeated key keeps
 * every value and the validator can refuse it). A malformed %-escape or a
 * decoded NUL fails with APR_EINVAL and *bad names the offending key. */
apr_status_t ingest_query_parse(apr_pool_t *p, const char *qs, apr_table_t **out, const char **bad);

/* Decodes %XX and '+' in place; APR_EINVAL on a bad escape or a NUL. */
apr_status_t ingest_url_decode(char *s);

#endif
