#ifndef INGEST_IDENTITY_H
#define INGEST_IDENTITY_H

/* Who is asking: a tenant and a user, from a bearer JWT (HS256, verified
 * with libjwt) or from values another auth module already established.
 * Pure: the glue passes the token and the clock in. */

#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>

#define INGEST_TENANT_MAX 128
#define INGEST_USER_MAX   255
#define INGEST_TOKEN_MAX  8192

typedef struct {
    const char *tenant;
    const char *user; /* may be NULL when the auth source names no user */
    int admin;        /* may use the admin endpoints (of its own tenant) */
} ingest_identity_t;

typedef struct {
    const unsigned char *secret;
    apr_size_t secret_len;
    const char *tenant_claim;
    const char *user_claim;
    apr_time_t now;
    int require_exp;            /* a token without exp is refused */
    apr_interval_time_t leeway; /* clock skew allowed on exp and nbf */
    const char *issuer;         /* when set, iss must equal it */
    const char *audience;       /* when set, aud (a string, or an array of
                                 * strings) must name it */
    const char *admin_claim;    /* when set, the token is an admin's if this
                                 * claim is admin_value, or an array holding it */
    const char *admin_value;
} ingest_jwt_params_t;

/* Verifies signature and algorithm (HS256 and nothing else), then maps the
 * claims. On failure *why says what was wrong, in words fit for an
 * RFC 6750 error_description. */
apr_status_t ingest_identity_from_jwt(apr_pool_t *p, const char *token, const ingest_jwt_params_t *prm,
                                      ingest_identity_t *out, const char **why);

/* Claims to identity under prm's policy (its secret is not used): exp
 * (required when prm->require_exp) and nbf against now, within the
 * leeway; iss and aud when prm names them; the tenant claim and the user
 * claim as non-empty strings or integers. */
apr_status_t ingest_identity_from_claims(apr_pool_t *p, json_t *claims, const ingest_jwt_params_t *prm,
                                         ingest_identity_t *out, const char **why);

/* A tenant id: 1..128 printable ASCII characters. */
apr_status_t ingest_identity_check_tenant(const char *tenant, const char **why);

#endif
