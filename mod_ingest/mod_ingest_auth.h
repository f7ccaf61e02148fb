#ifndef MOD_INGEST_AUTH_H
#define MOD_INGEST_AUTH_H

/* The request's identity: IngestTenantEnv (set by another auth module)
 * when configured and present, else a bearer JWT when IngestJWTSecret is
 * set. Fails with a 401 problem in *pb (and WWW-Authenticate set), or a
 * 500 when the location has no identity source at all. */

#include "ingest_identity.h"
#include "ingest_problem.h"
#include "mod_ingest.h"

apr_status_t ingest_auth_identify(request_rec *r, ingest_identity_t *id, ingest_problem_t *pb);

#endif
