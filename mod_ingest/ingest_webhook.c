#include <string.h>

#include <apr_base64.h>
#include <apr_strings.h>
#include <openssl/crypto.h>

#include "ingest_sign.h"
#include "ingest_webhook.h"

#define WHSEC_PREFIX "whsec_"

static int b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* apr_base64_decode stops quietly at the first byte outside the alphabet,
 * so "whsec_abc def" would become a shorter key than the operator wrote;
 * the text is checked in full first. Non-zero bits in the last character
 * are not refused, as the spec's reference libraries do not refuse them. */
static int b64_std_valid(const char *s)
{
    apr_size_t len = strlen(s), pad = 0, i;

    while (pad < 2 && len > pad && s[len - 1 - pad] == '=') {
        pad++;
    }
    if (pad ? len % 4 != 0 : len % 4 == 1) {
        return 0;
    }
    for (i = 0; i < len - pad; ++i) {
        if (!b64_char(s[i])) {
            return 0;
        }
    }
    return 1;
}

apr_status_t ingest_webhook_secret_parse(apr_pool_t *p, const char *text, ingest_webhook_secret_t *out,
                                         const char **why)
{
    const char *b64;
    unsigned char *key;
    int klen;

    out->key = NULL;
    out->len = 0;
    if (!text || !*text) {
        *why = "the webhook secret must not be empty";
        return APR_EINVAL;
    }
    if (strncmp(text, WHSEC_PREFIX, sizeof(WHSEC_PREFIX) - 1) != 0) {
        out->key = (const unsigned char *)apr_pstrdup(p, text);
        out->len = strlen(text);
        return APR_SUCCESS;
    }
    b64 = text + sizeof(WHSEC_PREFIX) - 1;
    if (!b64_std_valid(b64)) {
        *why = "the webhook secret is not valid base64 after whsec_";
        return APR_EINVAL;
    }
    key = apr_palloc(p, (apr_size_t)apr_base64_decode_len(b64));
    klen = apr_base64_decode_binary(key, b64);
    if (klen < INGEST_WEBHOOK_MIN_KEY) {
        *why = "the webhook secret must decode to at least 16 bytes";
        return APR_EINVAL;
    }
    out->key = key;
    out->len = (apr_size_t)klen;
    return APR_SUCCESS;
}

char *ingest_webhook_signature(apr_pool_t *p, const ingest_webhook_secret_t *s, const char *id,
                               const char *ts, const char *body, apr_size_t blen)
{
    apr_size_t ilen = strlen(id), tlen = strlen(ts);
    unsigned char mac[INGEST_SHA256_LEN];
    char *msg, *out;

    /* memcpy, not a string function: the body may hold NULs */
    msg = apr_palloc(p, ilen + 1 + tlen + 1 + blen + 1);
    memcpy(msg, id, ilen);
    msg[ilen] = '.';
    memcpy(msg + ilen + 1, ts, tlen);
    msg[ilen + 1 + tlen] = '.';
    if (blen) {
        memcpy(msg + ilen + 1 + tlen + 1, body, blen);
    }
    if (ingest_hmac_sha256(s->key, s->len, msg, ilen + 1 + tlen + 1 + blen, mac) != APR_SUCCESS) {
        return NULL;
    }
    out = apr_palloc(p, 3 + (apr_size_t)apr_base64_encode_len(sizeof(mac)));
    memcpy(out, "v1,", 3);
    apr_base64_encode_binary(out + 3, mac, sizeof(mac));
    return out;
}

static int id_valid(const char *id)
{
    apr_size_t n = 0;
    if (!id) {
        return 0;
    }
    for (; id[n]; ++n) {
        if (n >= INGEST_WEBHOOK_ID_MAX || id[n] < 0x20 || id[n] > 0x7E) {
            return 0;
        }
    }
    return n > 0;
}

/* Unsigned: 19 digits can exceed INT64_MAX, and such a timestamp is
 * simply far outside any tolerance rather than malformed. */
static int ts_parse(const char *ts, apr_uint64_t *out)
{
    apr_uint64_t v = 0;
    apr_size_t n;
    if (!ts) {
        return 0;
    }
    for (n = 0; ts[n]; ++n) {
        if (n >= INGEST_WEBHOOK_TS_MAX || ts[n] < '0' || ts[n] > '9') {
            return 0;
        }
        v = v * 10 + (apr_uint64_t)(ts[n] - '0');
    }
    *out = v;
    return n > 0;
}

static int ts_within(apr_uint64_t ts, apr_time_t now, int tolerance_s)
{
    apr_int64_t now_s = apr_time_sec(now);
    apr_uint64_t tol = tolerance_s > 0 ? (apr_uint64_t)tolerance_s : 0, diff;

    if (now_s < 0) {
        now_s = 0;
    }
    /* both are non-negative, so the difference of the larger and the
     * smaller cannot wrap */
    diff = ts >= (apr_uint64_t)now_s ? ts - (apr_uint64_t)now_s : (apr_uint64_t)now_s - ts;
    return diff <= tol;
}

apr_status_t ingest_webhook_verify(apr_pool_t *p, const ingest_webhook_secret_t *secrets, int nsecrets,
                                   const char *id, const char *ts, const char *sig_header, const char *body,
                                   apr_size_t blen, apr_time_t now, int tolerance_s, const char **why)
{
    const char **want;
    apr_uint64_t tsv;
    const char *c;
    int i;

    if (!id_valid(id)) {
        *why = "missing or invalid webhook-id";
        return APR_EACCES;
    }
    if (!ts_parse(ts, &tsv)) {
        *why = "missing or invalid webhook-timestamp";
        return APR_EACCES;
    }
    if (!ts_within(tsv, now, tolerance_s)) {
        *why = "webhook-timestamp is outside the tolerance";
        return APR_EACCES;
    }
    if (!sig_header || !*sig_header) {
        *why = "missing webhook-signature";
        return APR_EACCES;
    }

    /* one HMAC per secret, however many entries the header carries */
    want = apr_pcalloc(p, sizeof(*want) * (apr_size_t)(nsecrets > 0 ? nsecrets : 1));
    for (i = 0; i < nsecrets; ++i) {
        const char *sig = ingest_webhook_signature(p, &secrets[i], id, ts, body, blen);
        want[i] = sig ? sig + 3 : NULL; /* past "v1," */
    }

    c = sig_header;
    while (*c) {
        const char *start, *comma = NULL;
        apr_size_t vlen;

        while (*c == ' ') {
            c++;
        }
        start = c;
        while (*c && *c != ' ') {
            if (*c == ',' && !comma) {
                comma = c;
            }
            c++;
        }
        if (!comma || comma - start != 2 || strncmp(start, "v1", 2) != 0) {
            continue;
        }
        vlen = (apr_size_t)(c - (comma + 1));
        for (i = 0; i < nsecrets; ++i) {
            /* only the length can leak, and every valid signature has
             * the same one */
            if (want[i] && strlen(want[i]) == vlen && CRYPTO_memcmp(want[i], comma + 1, vlen) == 0) {
                return APR_SUCCESS;
            }
        }
    }
    *why = "no valid signature";
    return APR_EACCES;
}
