#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <jwt.h>

#include "ingest_identity.h"
#include "ingest_validate.h"

apr_status_t ingest_identity_check_tenant(const char *tenant, const char **why)
{
    const char *c;
    if (!tenant || !*tenant) {
        *why = "tenant is empty";
        return APR_EINVAL;
    }
    if (strlen(tenant) > INGEST_TENANT_MAX) {
        *why = "tenant is longer than 128 characters";
        return APR_EINVAL;
    }
    for (c = tenant; *c; ++c) {
        if (*c <= 0x20 || *c > 0x7E) {
            *why = "tenant must be printable ASCII without spaces";
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

/* A claim as an id: a non-empty string, or an integer (seed systems number
 * their organizations). Anything else is refused rather than stringified. */
static const char *claim_as_id(apr_pool_t *p, json_t *v)
{
    if (json_is_string(v) && json_string_length(v) > 0) {
        return apr_pstrdup(p, json_string_value(v));
    }
    if (json_is_integer(v)) {
        /* APR's formatter has no %lld, which JSON_INTEGER_FORMAT may be */
        return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(v));
    }
    return NULL;
}

/* A claim that is the string want, or an array that holds it: aud (RFC
 * 7519 §4.1.3) and the admin claim. */
static int audience_names(json_t *aud, const char *want)
{
    json_t *v;
    size_t i;
    if (json_is_string(aud)) {
        return !strcmp(json_string_value(aud), want);
    }
    json_array_foreach(aud, i, v)
    {
        if (json_is_string(v) && !strcmp(json_string_value(v), want)) {
            return 1;
        }
    }
    return 0;
}

apr_status_t ingest_identity_from_claims(apr_pool_t *p, json_t *claims, const ingest_jwt_params_t *prm,
                                         ingest_identity_t *out, const char **why)
{
    const char *tenant_claim = prm->tenant_claim, *user_claim = prm->user_claim;
    double now_s = (double)apr_time_sec(prm->now), leeway = (double)apr_time_sec(prm->leeway);
    json_t *v;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(claims)) {
        *why = "the token has no claims object";
        return APR_EINVAL;
    }
    if ((v = json_object_get(claims, "exp")) != NULL) {
        if (!json_is_number(v)) {
            *why = "the exp claim is not a number";
            return APR_EINVAL;
        }
        /* compared as doubles: casting a huge real to an integer is
         * undefined and would turn "far future" into "long ago" */
        if (json_number_value(v) + leeway <= now_s) {
            *why = "the token has expired";
            return APR_EINVAL;
        }
    } else if (prm->require_exp) {
        *why = "the token has no exp claim";
        return APR_EINVAL;
    }
    if ((v = json_object_get(claims, "nbf")) != NULL) {
        if (!json_is_number(v)) {
            *why = "the nbf claim is not a number";
            return APR_EINVAL;
        }
        if (json_number_value(v) - leeway > now_s) {
            *why = "the token is not valid yet (nbf)";
            return APR_EINVAL;
        }
    }
    if (prm->issuer) {
        v = json_object_get(claims, "iss");
        if (!json_is_string(v) || strcmp(json_string_value(v), prm->issuer)) {
            *why = "the token's iss claim is not the expected issuer";
            return APR_EINVAL;
        }
    }
    if (prm->audience && !audience_names(json_object_get(claims, "aud"), prm->audience)) {
        *why = "the token's aud claim does not name this service";
        return APR_EINVAL;
    }
    out->tenant = claim_as_id(p, json_object_get(claims, tenant_claim));
    if (!out->tenant) {
        *why = apr_psprintf(p, "the token has no usable %s claim", tenant_claim);
        return APR_EINVAL;
    }
    if (ingest_identity_check_tenant(out->tenant, why) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    out->user = claim_as_id(p, json_object_get(claims, user_claim));
    if (!out->user) {
        *why = apr_psprintf(p, "the token has no usable %s claim", user_claim);
        return APR_EINVAL;
    }
    if (strlen(out->user) > INGEST_USER_MAX || !ingest_utf8_valid(out->user, strlen(out->user))) {
        *why = apr_psprintf(p, "the %s claim is longer than 255 bytes or not UTF-8", user_claim);
        return APR_EINVAL;
    }
    out->admin = prm->admin_claim && prm->admin_value
                 && audience_names(json_object_get(claims, prm->admin_claim), prm->admin_value);
    return APR_SUCCESS;
}

/* libjwt 1.10 writes past a zero-byte buffer when a segment decodes to
 * nothing ("..", "a.b.c"), and it is handed whatever a client sends. So
 * the token's shape is checked first: header.payload.signature in
 * base64url without padding, no segment of a length base64 cannot have,
 * and a non-empty signature (whose algorithm is judged after decoding, so
 * the answer can say what was wrong). */
static int token_well_formed(const char *token)
{
    apr_size_t seglen[3] = {0, 0, 0};
    int seg = 0;
    const char *c;

    if (strlen(token) > INGEST_TOKEN_MAX) {
        return 0;
    }
    for (c = token; *c; ++c) {
        if (*c == '.') {
            if (++seg > 2) {
                return 0;
            }
            continue;
        }
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'
              || *c == '_')) {
            return 0;
        }
        seglen[seg]++;
    }
    return seg == 2 && seglen[0] >= 2 && seglen[0] % 4 != 1 && seglen[1] >= 2 && seglen[1] % 4 != 1
           && seglen[2] >= 2 && seglen[2] % 4 != 1;
}

apr_status_t ingest_identity_from_jwt(apr_pool_t *p, const char *token, const ingest_jwt_params_t *prm,
                                      ingest_identity_t *out, const char **why)
{
    jwt_t *jwt = NULL;
    char *grants;
    json_t *claims;
    json_error_t jerr;
    apr_status_t rv;

    if (!token || !*token) {
        *why = "no token";
        return APR_EINVAL;
    }
    if (!prm->secret || prm->secret_len == 0) {
        *why = "no secret to verify tokens with";
        return APR_EINVAL;
    }
    if (!token_well_formed(token)) {
        *why = "the token is malformed or its signature does not verify";
        return APR_EINVAL;
    }
    /* libjwt verifies the signature when given a key; it is the header's
     * "alg" that picks the algorithm, so the algorithm is checked after:
     * "none" and anything but HS256 are refused whatever libjwt accepted. */
    if (jwt_decode(&jwt, token, prm->secret, (int)prm->secret_len) != 0 || !jwt) {
        *why = "the token is malformed or its signature does not verify";
        return APR_EINVAL;
    }
    if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
        jwt_free(jwt);
        *why = "the token is not signed with HS256";
        return APR_EINVAL;
    }
    grants = jwt_get_grants_json(jwt, NULL);
    jwt_free(jwt);
    if (!grants) {
        *why = "the token has no claims";
        return APR_EINVAL;
    }
    claims = json_loads(grants, JSON_REJECT_DUPLICATES, &jerr);
    free(grants);
    if (!claims) {
        *why = "the token's claims are not a JSON object";
        return APR_EINVAL;
    }
    rv = ingest_identity_from_claims(p, claims, prm, out, why);
    json_decref(claims);
    return rv;
}
