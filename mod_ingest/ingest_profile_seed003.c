/* seed003: the ML job metadata service's calls under /api/v1/ (seed 003):
 * its ML jobs listing (team_id, skip), the cost analytics and the admin's
 * mock loader, over the native cost-analytics endpoints; FastAPI's errors. */

#include "ingest_profile.h"

/* The seed filters by team_id; this module names teams by name, which
 * team_id takes here. */
static const char *jobs_query(apr_pool_t *p, const char *args)
{
    return ingest_query_rename(p, args, "team_id", "team");
}

static const ingest_profile_route_t routes[] = {
    {"GET", "/api/v1/jobs", INGEST_EP_ML_JOBS, jobs_query, NULL},
    {"GET", "/api/v1/analytics/cost/by-model", INGEST_EP_COST_BY_MODEL, NULL, NULL},
    {"GET", "/api/v1/analytics/cost/by-team", INGEST_EP_COST_BY_TEAM, NULL, NULL},
    {"POST", "/api/v1/admin/ingest/jobs/mock", INGEST_EP_ADMIN_MOCK, NULL, NULL},
    {NULL, NULL, 0, NULL, NULL},
};

const ingest_profile_t ingest_profile_seed003 = {"seed003", routes, ingest_profile_fastapi_error};
