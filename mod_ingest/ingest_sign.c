#include <string.h>

#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "ingest_query.h"
#include "ingest_sign.h"
#include "ingest_validate.h"

apr_status_t ingest_hmac_sha256(const void *key, apr_size_t klen, const void *msg, apr_size_t mlen,
                                unsigned char out[INGEST_SHA256_LEN])
{
    unsigned int olen = 0;
    if (!HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &olen) || olen != INGEST_SHA256_LEN) {
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *ingest_b64url(apr_pool_t *p, const unsigned char *data, apr_size_t len)
{
    const char *tbl = B64URL;
    char *out = apr_palloc(p, (len + 2) / 3 * 4 + 1), *w = out;
    apr_size_t i;

    for (i = 0; i + 2 < len; i += 3) {
        *w++ = tbl[data[i] >> 2];
        *w++ = tbl[((data[i] & 3) << 4) | (data[i + 1] >> 4)];
        *w++ = tbl[((data[i + 1] & 15) << 2) | (data[i + 2] >> 6)];
        *w++ = tbl[data[i + 2] & 63];
    }
    if (len - i == 1) {
        *w++ = tbl[data[i] >> 2];
        *w++ = tbl[(data[i] & 3) << 4];
    } else if (len - i == 2) {
        *w++ = tbl[data[i] >> 2];
        *w++ = tbl[((data[i] & 3) << 4) | (data[i + 1] >> 4)];
        *w++ = tbl[(data[i + 1] & 15) << 2];
    }
    *w = '\0';
    return out;
}

static int b64url_value(char c)
{
    const char *at = c ? strchr(B64URL, c) : NULL;
    return at ? (int)(at - B64URL) : -1;
}

unsigned char *ingest_b64url_decode(apr_pool_t *p, const char *s, apr_size_t *len)
{
    apr_size_t n = strlen(s), i, o = 0;
    unsigned char *out;
    unsigned int acc = 0;
    int bits = 0, v;

    if (n % 4 == 1) {
        return NULL;
    }
    out = apr_palloc(p, n / 4 * 3 + 3);
    for (i = 0; i < n; ++i) {
        if ((v = b64url_value(s[i])) < 0) {
            return NULL;
        }
        acc = (acc << 6) | (unsigned int)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* the 2 or 4 bits left over must be zero: one spelling per byte string */
    if (acc != 0) {
        return NULL;
    }
    out[o] = '\0';
    *len = o;
    return out;
}

char *ingest_upload_sig(apr_pool_t *p, const unsigned char *key, apr_size_t klen, const char *method,
                        const char *job_id, apr_int64_t expires)
{
    unsigned char mac[INGEST_SHA256_LEN];
    const char *msg = apr_psprintf(p, "%s\n%s\n%" APR_INT64_T_FMT, method, job_id, expires);
    if (ingest_hmac_sha256(key, klen, msg, strlen(msg), mac) != APR_SUCCESS) {
        return NULL;
    }
    return ingest_b64url(p, mac, sizeof(mac));
}

char *ingest_upload_url(apr_pool_t *p, const unsigned char *key, apr_size_t klen, const char *job_id,
                        apr_int64_t expires)
{
    const char *sig = ingest_upload_sig(p, key, klen, "PUT", job_id, expires);
    if (!sig) {
        return NULL;
    }
    return apr_psprintf(p, "/api/ingest/upload/%s?expires=%" APR_INT64_T_FMT "&sig=%s", job_id, expires, sig);
}

/* The latest expiry a URL may carry: ten digits, as the URLs are made. */
#define UPLOAD_EXPIRES_MAX APR_INT64_C(9999999999)

apr_status_t ingest_upload_verify(apr_pool_t *p, const unsigned char *key, apr_size_t klen,
                                  const char *method, const char *job_id, const char *query, apr_time_t now,
                                  const char **why)
{
    const char *bad, *exp_s, *sig;
    apr_table_t *args;
    apr_int64_t expires;

    if (ingest_query_parse(p, query, &args, &bad) != APR_SUCCESS || !(exp_s = apr_table_get(args, "expires"))
        || !(sig = apr_table_get(args, "sig"))
        || ingest_parse_int(exp_s, 0, UPLOAD_EXPIRES_MAX, &expires) != APR_SUCCESS) {
        *why = "the upload URL lacks a valid expires and sig";
        return APR_EACCES;
    }
    if (!ingest_const_equal(sig, ingest_upload_sig(p, key, klen, method, job_id, expires))) {
        *why = "the upload URL's signature does not match";
        return APR_EACCES;
    }
    /* expires is expires_at rounded down: the URL dies no later than it */
    if (apr_time_sec(now) >= expires) {
        *why = "the upload URL has expired";
        return APR_EACCES;
    }
    return APR_SUCCESS;
}

int ingest_const_equal(const char *a, const char *b)
{
    apr_size_t la, lb;
    if (!a || !b) {
        return 0;
    }
    la = strlen(a);
    lb = strlen(b);
    if (la != lb) {
        return 0;
    }
    return CRYPTO_memcmp(a, b, la) == 0;
}

char *ingest_sha256_hex(apr_pool_t *p, const void *data, apr_size_t len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];
    char *out = apr_palloc(p, SHA256_DIGEST_LENGTH * 2 + 1);
    int i;
    SHA256(data, len, md);
    for (i = 0; i < SHA256_DIGEST_LENGTH; ++i) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[SHA256_DIGEST_LENGTH * 2] = '\0';
    return out;
}
