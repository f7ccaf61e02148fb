#ifndef INGEST_WEBHOOK_H
#define INGEST_WEBHOOK_H

/* Standard Webhooks (standardwebhooks.com) signatures, which the pipeline
 * puts on its callbacks: webhook-id, webhook-timestamp and
 * webhook-signature headers over an HMAC-SHA256 of "id.ts.body". Pure. */

#include <apr_pools.h>
#include <apr_time.h>

/* Two, so a secret can be rotated: the new one is configured next to the
 * old one until the pipeline signs with the new one. */
#define INGEST_WEBHOOK_MAX_SECRETS 2

/* Whatever the spec's libraries accept as "whsec_" secrets is at least
 * this long; shorter keys are a configuration mistake, not a choice. */
#define INGEST_WEBHOOK_MIN_KEY 16

/* Longest webhook-id accepted, and longest webhook-timestamp in digits
 * (19 digits are every positive 64-bit value and then some). */
#define INGEST_WEBHOOK_ID_MAX 255
#define INGEST_WEBHOOK_TS_MAX 19

typedef struct {
    const unsigned char *key;
    apr_size_t len;
} ingest_webhook_secret_t;

/* "whsec_<base64>" -> the decoded bytes (standard base64, padding
 * optional); any other text -> its bytes as given. APR_EINVAL (with *why)
 * for an empty secret, bad base64 after whsec_, or a decoded key shorter
 * than 16 bytes. The key is allocated in p. */
apr_status_t ingest_webhook_secret_parse(apr_pool_t *p, const char *text, ingest_webhook_secret_t *out,
                                         const char **why);

/* "v1,<standard base64 of HMAC-SHA256(key, id + "." + ts + "." + body)>";
 * NULL only if OpenSSL fails. */
char *ingest_webhook_signature(apr_pool_t *p, const ingest_webhook_secret_t *s, const char *id,
                               const char *ts, const char *body, apr_size_t blen);

/* APR_SUCCESS, or APR_EACCES with *why (a short sentence for a 401 detail):
 *   "missing or invalid webhook-id"       id NULL, empty, longer than 255
 *                                         or not printable ASCII
 *   "missing or invalid webhook-timestamp" ts NULL or not 1..19 digits
 *   "webhook-timestamp is outside the tolerance"
 *                                         |now in seconds - ts| > tolerance_s
 *   "missing webhook-signature"           sig_header NULL or empty
 *   "no valid signature"                  no "v1,..." entry of the
 *                                         space-separated sig_header matches
 *                                         any of the nsecrets secrets
 * Entries of another version than v1 are ignored, so a sender may add
 * newer schemes next to v1. The body is raw bytes (blen of them, NULs
 * included). */
apr_status_t ingest_webhook_verify(apr_pool_t *p, const ingest_webhook_secret_t *secrets, int nsecrets,
                                   const char *id, const char *ts, const char *sig_header, const char *body,
                                   apr_size_t blen, apr_time_t now, int tolerance_s, const char **why);

#endif
