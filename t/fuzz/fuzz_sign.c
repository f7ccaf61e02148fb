/* fuzz_sign: presigned upload URLs (ingest_sign.c), checked as the upload
 * handler checks them: PUT /api/ingest/upload/{job_id}?{query}.
 *
 * Input: the job id, a newline, then the query string (up to a NUL). The
 * clock is FUZZ_NOW and the key a fixed one.
 *
 * Promises checked (ingest_sign.h):
 *  - a refusal is one of the three documented reasons; an acceptance means
 *    the query holds the right signature;
 *  - the URL ingest_upload_url makes for this job is accepted until it
 *    expires and not at or after its expiry, not under another key or
 *    method, and still accepted with the query sent appended to it
 *    (the first of a repeated parameter counts) unless that query does
 *    not decode;
 *  - base64url of the input is unpadded, of the expected length and
 *    alphabet; const_equal agrees with strcmp. */

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "fuzz.h"
#include "ingest_query.h"
#include "ingest_sign.h"

#define T "sign"

static const unsigned char KEY[] = "fuzz-upload-signing-key";
#define KLEN (sizeof(KEY) - 1)

#define R_LACKS    "the upload URL lacks a valid expires and sig"
#define R_MISMATCH "the upload URL's signature does not match"
#define R_EXPIRED  "the upload URL has expired"

static apr_status_t verify(apr_pool_t *p, apr_size_t klen, const char *method, const char *job,
                           const char *query, apr_time_t now, const char **why)
{
    apr_status_t rv;

    *why = NULL;
    rv = ingest_upload_verify(p, KEY, klen, method, job, query, now, why);
    if (rv != APR_SUCCESS) {
        FUZZ_CHECK(T,
                   rv == APR_EACCES && *why
                       && (!strcmp(*why, R_LACKS) || !strcmp(*why, R_MISMATCH) || !strcmp(*why, R_EXPIRED)));
    }
    return rv;
}

static void check_made_url(apr_pool_t *p, const char *job, const char *sent, apr_int64_t expires)
{
    const char *url = ingest_upload_url(p, KEY, KLEN, job, expires), *q, *why, *bad;
    apr_table_t *t;

    /* after the last '?': the job id is the input's, '?' and all */
    FUZZ_CHECK(T, url && strrchr(url, '?'));
    q = strrchr(url, '?') + 1;
    FUZZ_CHECK(T, verify(p, KLEN, "PUT", job, q, FUZZ_NOW, &why) == APR_SUCCESS);
    FUZZ_CHECK(T, verify(p, KLEN, "PUT", job, q, apr_time_from_sec(expires) - 1, &why) == APR_SUCCESS);
    FUZZ_CHECK(T, verify(p, KLEN, "PUT", job, q, apr_time_from_sec(expires), &why) == APR_EACCES
                      && !strcmp(why, R_EXPIRED));
    FUZZ_CHECK(T,
               verify(p, KLEN - 1, "PUT", job, q, FUZZ_NOW, &why) == APR_EACCES && !strcmp(why, R_MISMATCH));
    FUZZ_CHECK(T, verify(p, KLEN, "GET", job, q, FUZZ_NOW, &why) == APR_EACCES && !strcmp(why, R_MISMATCH));
    if (ingest_query_parse(p, sent, &t, &bad) == APR_SUCCESS) {
        FUZZ_CHECK(T, verify(p, KLEN, "PUT", job, apr_pstrcat(p, q, "&", sent, NULL), FUZZ_NOW, &why)
                          == APR_SUCCESS);
    } else {
        FUZZ_CHECK(T, verify(p, KLEN, "PUT", job, apr_pstrcat(p, q, "&", sent, NULL), FUZZ_NOW, &why)
                              == APR_EACCES
                          && !strcmp(why, R_LACKS));
    }
}

static int b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static void check_encodings(apr_pool_t *p, const uint8_t *data, size_t size)
{
    const char *b = ingest_b64url(p, data, size), *c;
    const char *h = ingest_sha256_hex(p, data, size);
    char *a, *z;

    FUZZ_CHECK(T, b && strlen(b) == size / 3 * 4 + (size % 3 ? size % 3 + 1 : 0));
    for (c = b; *c; ++c) {
        FUZZ_CHECK(T, b64url_char(*c));
    }
    FUZZ_CHECK(T, h && strlen(h) == 64);
    a = apr_pstrndup(p, (const char *)data, size);
    z = apr_pstrdup(p, b);
    FUZZ_CHECK(T, ingest_const_equal(a, z) == !strcmp(a, z));
    FUZZ_CHECK(T, ingest_const_equal(a, a) == 1);
}

int fuzz_sign(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    fuzz_field_t f[2];
    const char *why, *sig;
    apr_table_t *t;

    fuzz_split(data, size, f, 2);
    if (verify(p, KLEN, "PUT", f[0].s, f[1].s, FUZZ_NOW, &why) == APR_SUCCESS) {
        /* only with the signature the key gives */
        FUZZ_CHECK(T, ingest_query_parse(p, f[1].s, &t, &why) == APR_SUCCESS);
        sig = apr_table_get(t, "sig");
        FUZZ_CHECK(T, sig && strlen(sig) == 43);
    }
    /* an expiry that depends on the input, in the future */
    check_made_url(p, f[0].s, f[1].s, FUZZ_NOW_SEC + 1 + (apr_int64_t)(size % 100000));
    check_encodings(p, data, size);
    fuzz_split_free(f, 2);
    apr_pool_destroy(p);
    return 0;
}
