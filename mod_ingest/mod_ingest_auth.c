#include <httpd.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <http_protocol.h>

#include "mod_ingest.h"
#include "mod_ingest_auth.h"
#include "mod_ingest_config.h"

static apr_status_t unauthorized(request_rec *r, ingest_problem_t *pb, const char *why, int token_seen)
{
    /* RFC 6750: no error attribute when no token was presented */
    const char *challenge = token_seen ? apr_psprintf(r->pool,
                                                      "Bearer realm=\"ingest\", error=\"invalid_token\", "
                                                      "error_description=\"%s\"",
                                                      why)
                                       : "Bearer realm=\"ingest\"";
    apr_table_setn(r->err_headers_out, "WWW-Authenticate", challenge);
    pb->status = HTTP_UNAUTHORIZED;
    pb->type = INGEST_PROBLEM_BASE "unauthorized";
    pb->title = "Unauthorized";
    pb->detail = why;
    return APR_EACCES;
}

static const char *bearer_token(request_rec *r)
{
    const char *h = apr_table_get(r->headers_in, "Authorization");
    if (!h || strncasecmp(h, "Bearer", 6) || !apr_isspace(h[6])) {
        return NULL;
    }
    h += 6;
    while (apr_isspace(*h))
        ++h;
    return *h ? h : NULL;
}

apr_status_t ingest_auth_identify(request_rec *r, ingest_identity_t *id, ingest_problem_t *pb)
{
    const ingest_dir_conf *dc = ingest_dconf(r);
    const char *env = ingest_conf_tenant_env(dc);
    const char *why = NULL;

    memset(id, 0, sizeof(*id));
    memset(pb, 0, sizeof(*pb));

    if (env) {
        const char *tenant = apr_table_get(r->subprocess_env, env);
        if (tenant) {
            if (ingest_identity_check_tenant(tenant, &why) != APR_SUCCESS) {
                ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                              IGLOGNO(00301) "IngestTenantEnv %s holds an unusable tenant: %s", env, why);
                return unauthorized(r, pb, why, 0);
            }
            id->tenant = tenant;
            id->user = r->user;
            /* httpd's Require guards where this is on */
            id->admin = ingest_conf_tenant_env_admin(dc);
            return APR_SUCCESS;
        }
    }

    if (dc->jwt_secret) {
        ingest_jwt_params_t prm = {0};
        const char *token = bearer_token(r);
        if (!token) {
            return unauthorized(r, pb, "a bearer token is required", 0);
        }
        prm.secret = dc->jwt_secret;
        prm.secret_len = dc->jwt_secret_len;
        prm.tenant_claim = ingest_conf_tenant_claim(dc);
        prm.user_claim = ingest_conf_user_claim(dc);
        prm.now = apr_time_now();
        prm.require_exp = ingest_conf_jwt_require_exp(dc);
        prm.leeway = ingest_conf_jwt_leeway(dc);
        prm.issuer = ingest_conf_jwt_issuer(dc);
        prm.audience = ingest_conf_jwt_audience(dc);
        prm.admin_claim = ingest_conf_admin_claim(dc);
        prm.admin_value = ingest_conf_admin_value(dc);
        if (ingest_identity_from_jwt(r->pool, token, &prm, id, &why) != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, IGLOGNO(00302) "bearer token refused: %s", why);
            return unauthorized(r, pb, why, 1);
        }
        return APR_SUCCESS;
    }

    if (env) {
        return unauthorized(r, pb, apr_psprintf(r->pool, "not authenticated (no %s)", env), 0);
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  IGLOGNO(00303) "no identity source for %s: set IngestJWTSecret or IngestTenantEnv", r->uri);
    pb->status = HTTP_INTERNAL_SERVER_ERROR;
    pb->type = INGEST_PROBLEM_BASE "misconfigured";
    pb->title = "Server misconfigured";
    pb->detail = "this location has no identity source configured";
    return APR_EGENERAL;
}
