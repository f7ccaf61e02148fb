/* fuzz_identity: bearer tokens and their claims (ingest_identity.c).
 *
 * Input: byte 0, less 't', picks what the rest is (modulo 3) and the
 * token policy (divided by 3, modulo 4):
 *   't' a bearer token, verified with a fixed secret;
 *   'u' a claims object (JSON), mapped as a verified token's would be;
 *   'v' the same claims, made into a token the server signed (HS256), or
 *       signed with HS384, or left unsigned ("none"), as byte 1 says
 *       ((byte - '0') modulo 3: '0' HS256, '1' HS384, '2' none; the
 *       claims follow it);
 * with the policy of IngestJWTRequireExp On and nothing else; 'w' 'x' 'y'
 * the same without exp required; 'z' '{' '|' with exp required, a leeway
 * of 60 s, an issuer and an audience; '}' '~' DEL with those but exp not
 * required. The clock is FUZZ_NOW; the tenant claim is org_id, the user
 * claim sub.
 *
 * Promises checked (ingest_identity.h):
 *  - a refusal says why; an identity has a tenant that passes the tenant
 *    rules and a user of at most 255 bytes of UTF-8;
 *  - claims are accepted only within the policy: exp present when
 *    required, exp and nbf around the clock within the leeway, iss the
 *    issuer and aud naming the audience when they are configured;
 *  - a token is accepted only when signed with the secret and HS256, and
 *    then exactly when its claims map to an identity, the same one. */

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz.h"
#include "ingest_identity.h"
#include "ingest_sign.h"
#include "ingest_validate.h"

#define T "identity"

static const unsigned char SECRET[] = "fuzz-jwt-secret-of-thirty-two-by";
#define SECRET_LEN (sizeof(SECRET) - 1)

#define ISSUER   "https://idp.example"
#define AUDIENCE "mod-ingest"

static void policy(int n, ingest_jwt_params_t *prm)
{
    memset(prm, 0, sizeof(*prm));
    prm->secret = SECRET;
    prm->secret_len = SECRET_LEN;
    prm->tenant_claim = "org_id";
    prm->user_claim = "sub";
    prm->now = FUZZ_NOW;
    prm->require_exp = n == 0 || n == 2;
    if (n >= 2) {
        prm->leeway = apr_time_from_sec(60);
        prm->issuer = ISSUER;
        prm->audience = AUDIENCE;
    }
}

/* The policy said again independently, for claims that were accepted. */
static void within_policy(const ingest_jwt_params_t *prm, json_t *claims)
{
    double now = FUZZ_NOW_SEC, leeway = (double)apr_time_sec(prm->leeway);
    json_t *exp = json_object_get(claims, "exp"), *nbf = json_object_get(claims, "nbf");
    json_t *iss = json_object_get(claims, "iss"), *aud = json_object_get(claims, "aud"), *v;
    int named = 0;
    size_t i;

    FUZZ_CHECK(T, exp || !prm->require_exp);
    FUZZ_CHECK(T, !exp || (json_is_number(exp) && json_number_value(exp) + leeway > now));
    FUZZ_CHECK(T, !nbf || (json_is_number(nbf) && json_number_value(nbf) - leeway <= now));
    FUZZ_CHECK(T, !prm->issuer || (json_is_string(iss) && !strcmp(json_string_value(iss), prm->issuer)));
    if (prm->audience) {
        if (json_is_string(aud)) {
            named = !strcmp(json_string_value(aud), prm->audience);
        }
        json_array_foreach(aud, i, v)
        {
            named |= json_is_string(v) && !strcmp(json_string_value(v), prm->audience);
        }
        FUZZ_CHECK(T, named);
    }
}

static void check_identity(apr_status_t rv, const ingest_identity_t *id, const char *why)
{
    const char *twhy;

    if (rv != APR_SUCCESS) {
        FUZZ_CHECK(T, why != NULL);
        return;
    }
    FUZZ_CHECK(T, id->tenant && ingest_identity_check_tenant(id->tenant, &twhy) == APR_SUCCESS);
    FUZZ_CHECK(T, id->user && *id->user && strlen(id->user) <= INGEST_USER_MAX);
    FUZZ_CHECK(T, ingest_utf8_valid(id->user, strlen(id->user)));
}

static apr_status_t from_jwt(apr_pool_t *p, const ingest_jwt_params_t *prm, const char *token,
                             ingest_identity_t *id, const char **why)
{
    apr_status_t rv;

    *why = NULL;
    rv = ingest_identity_from_jwt(p, token, prm, id, why);
    check_identity(rv, id, *why);
    return rv;
}

static apr_status_t from_claims(apr_pool_t *p, const ingest_jwt_params_t *prm, json_t *claims,
                                ingest_identity_t *id, const char **why)
{
    apr_status_t rv;

    *why = NULL;
    rv = ingest_identity_from_claims(p, claims, prm, id, why);
    check_identity(rv, id, *why);
    if (rv == APR_SUCCESS) {
        within_policy(prm, claims);
    }
    return rv;
}

/* header.payload.signature, the payload being the claims as sent. */
static const char *make_token(apr_pool_t *p, int alg, const fuzz_field_t *claims)
{
    static const char *const headers[] = {
        "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
        "{\"alg\":\"HS384\",\"typ\":\"JWT\"}",
        "{\"alg\":\"none\",\"typ\":\"JWT\"}",
    };
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    const char *signing;

    signing = apr_pstrcat(p, ingest_b64url(p, (const unsigned char *)headers[alg], strlen(headers[alg])), ".",
                          ingest_b64url(p, (const unsigned char *)claims->s, claims->len), NULL);
    if (alg == 2) {
        return apr_pstrcat(p, signing, ".", NULL);
    }
    if (!HMAC(alg == 0 ? EVP_sha256() : EVP_sha384(), SECRET, (int)SECRET_LEN, (const unsigned char *)signing,
              strlen(signing), mac, &mlen)) {
        fuzz_fail(T, "HMAC failed");
    }
    return apr_pstrcat(p, signing, ".", ingest_b64url(p, mac, mlen), NULL);
}

static void signed_claims(apr_pool_t *p, const ingest_jwt_params_t *prm, int alg, const fuzz_field_t *f)
{
    ingest_identity_t by_token, by_claims;
    const char *why;
    json_error_t jerr;
    json_t *claims;
    apr_status_t rv;

    rv = from_jwt(p, prm, make_token(p, alg, f), &by_token, &why);
    if (alg != 0) {
        FUZZ_CHECK(T, rv != APR_SUCCESS);
        return;
    }
    /* what the verified token says, read as libjwt reads it (a repeated
     * claim: the last one counts, as RFC 7519 allows); libjwt reads the
     * payload as a C string, so one with a NUL is not compared */
    if (memchr(f->s, '\0', f->len)) {
        return;
    }
    claims = json_loadb(f->s, f->len, 0, &jerr);
    if (!claims || !json_is_object(claims)) {
        FUZZ_CHECK(T, rv != APR_SUCCESS);
        json_decref(claims);
        return;
    }
    if (from_claims(p, prm, claims, &by_claims, &why) == APR_SUCCESS) {
        if (rv != APR_SUCCESS) {
            fuzz_fail(T, "signed claims that map to %s/%s were refused as a token", by_claims.tenant,
                      by_claims.user);
        }
        FUZZ_CHECK(T, !strcmp(by_token.tenant, by_claims.tenant) && !strcmp(by_token.user, by_claims.user));
    } else {
        FUZZ_CHECK(T, rv != APR_SUCCESS);
    }
    json_decref(claims);
}

int fuzz_identity(const uint8_t *data, size_t size)
{
    ingest_jwt_params_t prm;
    apr_pool_t *p;
    ingest_identity_t id;
    fuzz_field_t f;
    json_error_t jerr;
    json_t *claims;
    const char *why;
    int mode;

    if (size < 1) {
        return 0;
    }
    mode = (uint8_t)(data[0] - 't') % 3;
    if (mode == 2 && size < 2) {
        return 0;
    }
    policy((uint8_t)(data[0] - 't') / 3 % 4, &prm);
    p = fuzz_pool();
    if (mode == 0) {
        fuzz_split(data + 1, size - 1, &f, 1);
        from_jwt(p, &prm, f.s, &id, &why);
    } else if (mode == 1) {
        fuzz_split(data + 1, size - 1, &f, 1);
        claims = json_loadb(f.s, f.len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        if (claims) {
            from_claims(p, &prm, claims, &id, &why);
            json_decref(claims);
        }
    } else {
        fuzz_split(data + 2, size - 2, &f, 1);
        signed_claims(p, &prm, (uint8_t)(data[1] - '0') % 3, &f);
    }
    fuzz_split_free(&f, 1);
    apr_pool_destroy(p);
    return 0;
}
