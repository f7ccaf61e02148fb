#ifndef MOD_INGEST_ROUTER_H
#define MOD_INGEST_ROUTER_H

#include "mod_ingest.h"

/* Finds the route for r->uri and r->method: 404 for an unknown path, 405
 * with Allow for a known path and another method, 401 where identity is
 * required and missing; otherwise runs the endpoint's handler. */
int ingest_route(request_rec *r);

#endif
