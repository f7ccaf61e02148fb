#ifndef INGEST_PROFILE_H
#define INGEST_PROFILE_H

/* API profiles: the routes a location answers and the words its answers
 * are in. The native profile is this module's own API; the seed profiles
 * speak the contracts of the systems it replaces (IngestAPIProfile). A
 * profile is a table of routes onto the native endpoints, each with an
 * optional rewrite of the query string and of the answer; the endpoints
 * themselves (identity, tenant rules, validation, limits, commits) are the
 * native ones, whatever the profile. Pure. */

#include <apr_pools.h>
#include <jansson.h>

typedef enum {
    INGEST_PROFILE_NATIVE = 0,
    INGEST_PROFILE_SEED000,
    INGEST_PROFILE_SEED001,
    INGEST_PROFILE_SEED002,
    INGEST_PROFILE_SEED003,
    INGEST_PROFILE_COUNT
} ingest_profile_e;

/* The native endpoints, which the glue maps to handlers. */
typedef enum {
    INGEST_EP_INIT = 0,
    INGEST_EP_JOBS,
    INGEST_EP_STATS,
    INGEST_EP_HEALTH,
    INGEST_EP_CALLBACK,
    INGEST_EP_JSON,
    INGEST_EP_STATUS,
    INGEST_EP_RESULTS,
    INGEST_EP_UPLOAD,
    INGEST_EP_DELETE,
    INGEST_EP_COST_BY_MODEL,
    INGEST_EP_COST_BY_TEAM,
    INGEST_EP_ML_JOBS,
    INGEST_EP_ADMIN_MOCK,
    INGEST_EP_RECORDS,
    INGEST_EP_RECORDS_NDJSON,
    INGEST_EP_RECORDS_CSV,
    INGEST_EP_RECORD_ERRORS,
    INGEST_EP_EVENTS,
    INGEST_EP_DELIVERIES,
    INGEST_EP_REDELIVER,
    INGEST_EP_COUNT
} ingest_endpoint_e;

/* An answer in the profile's words: body is the native answer (NULL for
 * one without a body, such as a 204), *status its HTTP status, which the
 * shape may change; method the request's. A new reference, or NULL to
 * send body as it is. */
typedef json_t *ingest_shape_fn(apr_pool_t *p, const char *method, int *status, json_t *body);

/* The profile's query string as the native endpoint reads it (parameter
 * names, status words, defaults); args may be NULL. */
typedef const char *ingest_query_fn(apr_pool_t *p, const char *args);

typedef struct {
    const char *method;  /* GET (HEAD too), POST, PUT, DELETE */
    const char *pattern; /* "{}" stands for one path segment holding a UUID */
    ingest_endpoint_e endpoint;
    ingest_query_fn *query; /* NULL: as sent */
    ingest_shape_fn *shape; /* NULL: the native answer */
} ingest_profile_route_t;

typedef struct {
    const char *name;
    /* literal paths before parameterised ones; ends with a NULL pattern */
    const ingest_profile_route_t *routes;
    /* the errors in the profile's words (native: NULL, problem+json) */
    ingest_shape_fn *error;
} ingest_profile_t;

const ingest_profile_t *ingest_profile_get(ingest_profile_e which);

/* "native", "seed000".. (case-insensitive); APR_EINVAL otherwise. */
apr_status_t ingest_profile_parse(const char *name, ingest_profile_e *out);

/* Matches uri against a route's pattern; *param gets the "{}" segment,
 * which must be a UUID. */
int ingest_profile_match(apr_pool_t *p, const char *pattern, const char *uri, const char **param);

/* Whether the endpoint needs an identity (all but health, the callback and
 * the presigned upload, which carry their own credentials). */
int ingest_endpoint_identity(ingest_endpoint_e ep);

/* ---- helpers the profiles share */

/* A query string with a parameter renamed (every occurrence), or with one
 * added when absent (add_if_absent "name=value"). */
const char *ingest_query_rename(apr_pool_t *p, const char *args, const char *from, const char *to);
const char *ingest_query_default(apr_pool_t *p, const char *args, const char *name, const char *value);

/* A copy of job with its status in other words: each of the five native
 * statuses (pending, queued, running, completed, failed) to words[i]. */
json_t *ingest_profile_status(json_t *job, const char *const words[5]);

/* FastAPI's errors (seeds 001 to 003): {"detail": "..."}, and for a 422
 * naming a field {"detail": [{"loc": ["query"|"body", field], "msg",
 * "type"}]}. */
json_t *ingest_profile_fastapi_error(apr_pool_t *p, const char *method, int *status, json_t *problem);
/* The same, with the seed's own words for a 404 ({"detail": not_found}). */
json_t *ingest_profile_fastapi_error_404(apr_pool_t *p, const char *method, int *status, json_t *problem,
                                         const char *not_found);

/* The seed profiles' tables (ingest_profile_seed00N.c). */
extern const ingest_profile_t ingest_profile_seed000, ingest_profile_seed001, ingest_profile_seed002,
    ingest_profile_seed003;

#endif
