#ifndef INGEST_SIGN_H
#define INGEST_SIGN_H

/* HMAC-SHA256 signatures (OpenSSL), presigned upload URLs and constant-time
 * comparison. Pure. */

#include <apr_pools.h>
#include <apr_time.h>

#define INGEST_SHA256_LEN 32

apr_status_t ingest_hmac_sha256(const void *key, apr_size_t klen, const void *msg, apr_size_t mlen,
                                unsigned char out[INGEST_SHA256_LEN]);

/* The lowercase hex SHA-256 of data. */
char *ingest_sha256_hex(apr_pool_t *p, const void *data, apr_size_t len);

/* base64url without padding, as in JWTs and presigned URLs. */
char *ingest_b64url(apr_pool_t *p, const unsigned char *data, apr_size_t len);

/* The inverse, strict: only the base64url alphabet, no padding, no length
 * that is 1 mod 4, and the unused low bits of the last character zero, so
 * that each byte string has exactly one accepted spelling. The decoded
 * bytes, NUL-terminated, in p with *len; NULL when s is not so written. */
unsigned char *ingest_b64url_decode(apr_pool_t *p, const char *s, apr_size_t *len);

/* The signature of a presigned upload: HMAC over "METHOD\njob_id\nexpires". */
char *ingest_upload_sig(apr_pool_t *p, const unsigned char *key, apr_size_t klen, const char *method,
                        const char *job_id, apr_int64_t expires);

/* The presigned URL path, /api/ingest/upload/{job}?expires=E&sig=S. */
char *ingest_upload_url(apr_pool_t *p, const unsigned char *key, apr_size_t klen, const char *job_id,
                        apr_int64_t expires);

/* Checks a presigned URL's query string (expires=E&sig=S, as
 * ingest_upload_url writes it, in any order, other parameters ignored) for
 * method and job_id at now. APR_SUCCESS, or APR_EACCES with *why (a short
 * sentence for a 403 detail):
 *   "the upload URL lacks a valid expires and sig"  a bad %-escape, no
 *                                                   expires or sig, or an
 *                                                   expires that is not
 *                                                   0..9999999999
 *   "the upload URL's signature does not match"
 *   "the upload URL has expired"                    now >= expires (seconds)
 * The signature is checked before the expiry, so an expired URL is only
 * called expired when it is genuine. */
apr_status_t ingest_upload_verify(apr_pool_t *p, const unsigned char *key, apr_size_t klen,
                                  const char *method, const char *job_id, const char *query, apr_time_t now,
                                  const char **why);

/* 1 when equal; the time taken depends only on the lengths. */
int ingest_const_equal(const char *a, const char *b);

#endif
