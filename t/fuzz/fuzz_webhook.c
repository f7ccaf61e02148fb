/* fuzz_webhook: the pipeline callback as it arrives, its Standard
 * Webhooks headers (ingest_webhook.c) and its body (ingest_callback.c).
 *
 * Input: four fields separated by newlines: webhook-id, webhook-timestamp,
 * webhook-signature, then the body (bytes, to the end). The clock is
 * FUZZ_NOW, the tolerance 300 s, and two secrets are configured (a
 * "whsec_" one and a plain one). The first field is also parsed as a
 * secret, as IngestCallbackSecret would be.
 *
 * Promises checked (ingest_webhook.h, ingest_callback.h):
 *  - a refusal is one of the documented reasons; an acceptance means the
 *    header holds the right signature of one of the secrets;
 *  - the header with a genuine "v1,..." entry added after it is accepted
 *    exactly when only the signature was wrong or missing, and refused for
 *    the same reason otherwise; with no secrets nothing is accepted;
 *  - nothing is accepted unless webhook-id is 1..255 printable ASCII
 *    characters and webhook-timestamp 1..19 digits within the tolerance;
 *  - a secret parsed is non-empty, at least 16 bytes after "whsec_", and
 *    the text itself otherwise;
 *  - a callback body refused says why in the problem document; one
 *    accepted has a lower-case UUID, a status the pipeline
 *    may report, counts that agree, and optional members within their
 *    rules (result_data reads back as JSON, error only with failed). */

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include "fuzz.h"
#include "ingest_callback.h"
#include "ingest_validate.h"
#include "ingest_webhook.h"

#define T "webhook"

#define TOLERANCE 300

static const char *const secret_texts[] = {
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", /* 24 bytes */
    "a plain secret of some length",
};

#define R_ID     "missing or invalid webhook-id"
#define R_TS     "missing or invalid webhook-timestamp"
#define R_TOL    "webhook-timestamp is outside the tolerance"
#define R_NOSIG  "missing webhook-signature"
#define R_BADSIG "no valid signature"

static int documented(const char *why)
{
    return why
           && (!strcmp(why, R_ID) || !strcmp(why, R_TS) || !strcmp(why, R_TOL) || !strcmp(why, R_NOSIG)
               || !strcmp(why, R_BADSIG));
}

/* The rules of the two headers, said again independently. */
static int headers_valid(const char *id, const char *ts)
{
    size_t n = strlen(id), i;
    double v = 0;

    if (n < 1 || n > INGEST_WEBHOOK_ID_MAX) {
        return 0;
    }
    for (i = 0; i < n; ++i) {
        if (id[i] < 0x20 || id[i] > 0x7E) {
            return 0;
        }
    }
    n = strlen(ts);
    if (n < 1 || n > INGEST_WEBHOOK_TS_MAX) {
        return 0;
    }
    for (i = 0; i < n; ++i) {
        if (ts[i] < '0' || ts[i] > '9') {
            return 0;
        }
        v = v * 10 + (ts[i] - '0');
    }
    return v >= FUZZ_NOW_SEC - TOLERANCE && v <= FUZZ_NOW_SEC + TOLERANCE;
}

static void check_secret(apr_pool_t *p, const char *text)
{
    ingest_webhook_secret_t s;
    const char *why = NULL;

    if (ingest_webhook_secret_parse(p, text, &s, &why) != APR_SUCCESS) {
        FUZZ_CHECK(T, why != NULL && s.key == NULL && s.len == 0);
        return;
    }
    FUZZ_CHECK(T, s.key != NULL && s.len > 0);
    if (!strncmp(text, "whsec_", 6)) {
        FUZZ_CHECK(T, s.len >= INGEST_WEBHOOK_MIN_KEY);
    } else {
        FUZZ_CHECK(T, s.len == strlen(text) && !memcmp(s.key, text, s.len));
    }
}

static void check_headers(apr_pool_t *p, const fuzz_field_t *f)
{
    ingest_webhook_secret_t secrets[2];
    const char *why = NULL, *why2 = NULL, *want[2], *genuine, *header2;
    apr_status_t rv, rv2;
    int i;

    for (i = 0; i < 2; ++i) {
        if (ingest_webhook_secret_parse(p, secret_texts[i], &secrets[i], &why) != APR_SUCCESS) {
            fuzz_fail(T, "the test secret %d does not parse: %s", i, why);
        }
        want[i] = ingest_webhook_signature(p, &secrets[i], f[0].s, f[1].s, f[3].s, f[3].len);
        FUZZ_CHECK(T, want[i] && !strncmp(want[i], "v1,", 3));
    }
    why = NULL;
    rv = ingest_webhook_verify(p, secrets, 2, f[0].s, f[1].s, f[2].s, f[3].s, f[3].len, FUZZ_NOW, TOLERANCE,
                               &why);
    if (rv == APR_SUCCESS) {
        FUZZ_CHECK(T, strstr(f[2].s, want[0] + 3) || strstr(f[2].s, want[1] + 3));
    } else {
        FUZZ_CHECK(T, rv == APR_EACCES && documented(why));
    }

    /* a genuine entry after whatever was sent */
    genuine = want[1];
    header2 = apr_pstrcat(p, f[2].s, " ", genuine, NULL);
    rv2 = ingest_webhook_verify(p, secrets, 2, f[0].s, f[1].s, header2, f[3].s, f[3].len, FUZZ_NOW, TOLERANCE,
                                &why2);
    FUZZ_CHECK(T, (rv2 == APR_SUCCESS) == headers_valid(f[0].s, f[1].s));
    if (rv == APR_SUCCESS || !strcmp(why, R_NOSIG) || !strcmp(why, R_BADSIG)) {
        FUZZ_CHECK(T, rv2 == APR_SUCCESS);
    } else {
        FUZZ_CHECK(T, rv2 == APR_EACCES && why2 && !strcmp(why2, why));
    }
    /* ... but not under the other secret alone, nor under none */
    why2 = NULL;
    rv2 = ingest_webhook_verify(p, secrets, 1, f[0].s, f[1].s, header2, f[3].s, f[3].len, FUZZ_NOW, TOLERANCE,
                                &why2);
    FUZZ_CHECK(T, rv2 != APR_SUCCESS || strstr(f[2].s, want[0] + 3));
    why2 = NULL;
    rv2 = ingest_webhook_verify(p, secrets, 0, f[0].s, f[1].s, header2, f[3].s, f[3].len, FUZZ_NOW, TOLERANCE,
                                &why2);
    FUZZ_CHECK(T, rv2 == APR_EACCES && documented(why2));
}

static int lower_uuid(const char *s)
{
    const char *c;

    if (!ingest_is_uuid(s)) {
        return 0;
    }
    for (c = s; *c; ++c) {
        if (*c >= 'A' && *c <= 'Z') {
            return 0;
        }
    }
    return 1;
}

static void check_body(apr_pool_t *p, const fuzz_field_t *body)
{
    ingest_callback_t cb;
    ingest_verr_t err = {NULL, NULL};
    json_error_t jerr;
    json_t *json, *back;

    json = json_loadb(body->s, body->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json) {
        return;
    }
    if (ingest_callback_parse(p, json, &cb, &err) != APR_SUCCESS) {
        fuzz_reportable(T, err.field, err.detail);
        json_decref(json);
        return;
    }
    json_decref(json); /* nothing of the body is kept */
    FUZZ_CHECK(T, lower_uuid(cb.job_id));
    FUZZ_CHECK(T, cb.status == INGEST_ST_RUNNING || cb.status == INGEST_ST_COMPLETED
                      || cb.status == INGEST_ST_FAILED);
    FUZZ_CHECK(T, !cb.has_processed || cb.processed >= 0);
    FUZZ_CHECK(T, !cb.has_total || cb.total >= 0);
    FUZZ_CHECK(T, !cb.has_processed || !cb.has_total || cb.processed <= cb.total);
    if (cb.result_url) {
        FUZZ_CHECK(T, *cb.result_url && strlen(cb.result_url) <= INGEST_CALLBACK_URL_MAX);
        FUZZ_CHECK(T, !ingest_has_control(cb.result_url, strlen(cb.result_url)));
    }
    if (cb.result_data) {
        back = json_loads(cb.result_data, 0, &jerr);
        FUZZ_CHECK(T, json_is_object(back) || json_is_array(back));
        json_decref(back);
    }
    if (cb.error) {
        FUZZ_CHECK(T, cb.status == INGEST_ST_FAILED && strlen(cb.error) <= INGEST_CALLBACK_ERROR_MAX);
    }
}

int fuzz_webhook(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    fuzz_field_t f[4];

    fuzz_split(data, size, f, 4);
    check_secret(p, f[0].s);
    check_headers(p, f);
    check_body(p, &f[3]);
    fuzz_split_free(f, 4);
    apr_pool_destroy(p);
    return 0;
}
