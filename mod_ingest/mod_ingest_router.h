#ifndef MOD_INGEST_ROUTER_H
#define MOD_INGEST_ROUTER_H

#include "mod_ingest.h"

/* Finds the route for r->uri and r->method: 404 for an unknown path, 405
 * with Allow for a known path and another method, 401 where identity is
 * required and missing; otherwise runs the endpoint's handler. */
int ingest_route(request_rec *r);

/* The answer (or the error) of r in its profile's words: a new reference,
 * or NULL to send body as it is; *status may change. For the send
 * functions. */
#include <jansson.h>
json_t *ingest_route_shape(request_rec *r, int *status, json_t *body);

/* Which words r's answers are in (its profile and route), as a number the
 * same on every host: answers with the same variant are worded alike. */
apr_uint32_t ingest_route_variant(request_rec *r);

#endif
