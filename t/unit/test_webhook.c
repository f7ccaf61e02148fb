#include <string.h>

#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ingest_webhook.h"
#include "unit.h"

/* The example of the Standard Webhooks specification. */
#define SPEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SPEC_KEYHEX "31f290f6bf06298aab4f08d43c3f082cf648a362da2da4b0"
#define SPEC_ID     "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SPEC_TS     "1614265330"
#define SPEC_TSN    1614265330
#define SPEC_BODY   "{\"test\": 2432232314}"
#define SPEC_SIG    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define SPEC_B64    "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

#define RAW_SECRET "this-is-a-raw-secret"
#define OTHER      "whsec_MDEyMzQ1Njc4OWFiY2RlZg=="

#define TOL 300

static const char *hex(const unsigned char *d, apr_size_t n)
{
    char *out = apr_palloc(unit_pool, 2 * n + 1);
    apr_size_t i;
    for (i = 0; i < n; ++i) {
        apr_snprintf(out + 2 * i, 3, "%02x", d[i]);
    }
    out[2 * n] = '\0';
    return out;
}

static ingest_webhook_secret_t secret(const char *text)
{
    ingest_webhook_secret_t s;
    const char *why = NULL;
    ck_assert_msg(ingest_webhook_secret_parse(unit_pool, text, &s, &why) == APR_SUCCESS, "%s refused: %s",
                  text, why ? why : "(no reason)");
    return s;
}

static void secret_bad(const char *text, const char *want_why)
{
    ingest_webhook_secret_t s;
    const char *why = NULL;
    ck_assert_msg(ingest_webhook_secret_parse(unit_pool, text, &s, &why) == APR_EINVAL, "%s accepted",
                  text ? text : "(null)");
    ck_assert_ptr_nonnull(why);
    ck_assert_str_eq(why, want_why);
}

#define WHY_EMPTY "the webhook secret must not be empty"
#define WHY_B64   "the webhook secret is not valid base64 after whsec_"
#define WHY_SHORT "the webhook secret must decode to at least 16 bytes"

/* ------------------------------------------------------------------ secrets */

START_TEST(secret_whsec_spec)
{
    ingest_webhook_secret_t s = secret(SPEC_SECRET);
    ck_assert_uint_eq(s.len, 24);
    ck_assert_str_eq(hex(s.key, s.len), SPEC_KEYHEX);
}
END_TEST

START_TEST(secret_whsec_padding)
{
    ingest_webhook_secret_t s;

    s = secret("whsec_MDEyMzQ1Njc4OWFiY2RlZg==");
    ck_assert_uint_eq(s.len, 16);
    ck_assert_int_eq(memcmp(s.key, "0123456789abcdef", 16), 0);
    s = secret("whsec_MDEyMzQ1Njc4OWFiY2RlZg");
    ck_assert_uint_eq(s.len, 16);
    ck_assert_int_eq(memcmp(s.key, "0123456789abcdef", 16), 0);

    s = secret("whsec_MDEyMzQ1Njc4OWFiY2RlZmc=");
    ck_assert_uint_eq(s.len, 17);
    ck_assert_int_eq(memcmp(s.key, "0123456789abcdefg", 17), 0);
    s = secret("whsec_MDEyMzQ1Njc4OWFiY2RlZmc");
    ck_assert_uint_eq(s.len, 17);
    ck_assert_int_eq(memcmp(s.key, "0123456789abcdefg", 17), 0);

    /* binary keys: every byte value survives, including NUL and 0xff */
    s = secret("whsec_AP8A/wD/AP8A/wD/AP8A/w==");
    ck_assert_uint_eq(s.len, 16);
    ck_assert_str_eq(hex(s.key, s.len), "00ff00ff00ff00ff00ff00ff00ff00ff");
}
END_TEST

START_TEST(secret_raw)
{
    ingest_webhook_secret_t s;
    char text[] = RAW_SECRET;

    s = secret(text);
    ck_assert_uint_eq(s.len, strlen(RAW_SECRET));
    ck_assert_int_eq(memcmp(s.key, RAW_SECRET, s.len), 0);
    /* a copy: the configuration string may go away */
    text[0] = 'X';
    ck_assert_int_eq(memcmp(s.key, RAW_SECRET, s.len), 0);

    /* only the exact prefix means base64 */
    s = secret("WHSEC_MDEyMzQ1Njc4OWFiY2RlZg==");
    ck_assert_uint_eq(s.len, 30);
    ck_assert_int_eq(memcmp(s.key, "WHSEC_MDEyMzQ1Njc4OWFiY2RlZg==", 30), 0);
    s = secret("whsec");
    ck_assert_uint_eq(s.len, 5);
    /* raw text is taken as given, short or not */
    s = secret("k");
    ck_assert_uint_eq(s.len, 1);
    ck_assert_int_eq(s.key[0], 'k');
}
END_TEST

START_TEST(secret_bad_base64)
{
    secret_bad("whsec_MDEyMzQ1Njc4!WFiY2RlZg==", WHY_B64);
    secret_bad("whsec_MDEyMzQ1Njc4 OWFiY2RlZg==", WHY_B64);
    secret_bad("whsec_MDEyMzQ1Njc4OWFiY2RlZg==\n", WHY_B64);
    secret_bad("whsec_ MDEyMzQ1Njc4OWFiY2RlZg==", WHY_B64);
    /* base64url is not standard base64 */
    secret_bad("whsec_MDEyMzQ1Njc4OWFiY2RlZg-_", WHY_B64);
    /* padding: wrong amount, too much, in the middle */
    secret_bad("whsec_MDEyMzQ1Njc4OWFiY2RlZg=", WHY_B64);
    secret_bad("whsec_MDEyMzQ1Njc4OWFiY2RlZg===", WHY_B64);
    secret_bad("whsec_MDEyMzQ1Njc4OWFiY2RlZmc==", WHY_B64);
    secret_bad("whsec_MDEy=zQ1Njc4OWFiY2RlZg==", WHY_B64);
    secret_bad("whsec_====", WHY_B64);
    /* 4n+1 characters cannot be base64 */
    secret_bad("whsec_MDEyMzQ1Njc4OWFiY2RlZmcx0", WHY_B64);
}
END_TEST

START_TEST(secret_short_or_empty)
{
    secret_bad("", WHY_EMPTY);
    secret_bad(NULL, WHY_EMPTY);
    /* 15 bytes */
    secret_bad("whsec_MDEyMzQ1Njc4OWFiY2Rl", WHY_SHORT);
    secret_bad("whsec_", WHY_SHORT);
    secret_bad("whsec_AA==", WHY_SHORT);
}
END_TEST

/* --------------------------------------------------------------- signature */

/* The same signature by a second route: OpenSSL's one-shot HMAC over a
 * message built here, and OpenSSL's base64 instead of APR's. */
static const char *sig_openssl(const unsigned char *key, apr_size_t klen, const char *id, const char *ts,
                               const char *body, apr_size_t blen)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    char *msg = apr_psprintf(unit_pool, "%s.%s.", id, ts);
    apr_size_t hlen = strlen(msg);
    char *full = apr_palloc(unit_pool, hlen + blen + 1);
    unsigned char b64[64];

    memcpy(full, msg, hlen);
    memcpy(full + hlen, body, blen);
    ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, (int)klen, (unsigned char *)full, hlen + blen, mac, &mlen));
    ck_assert_uint_eq(mlen, 32);
    ck_assert_int_eq(EVP_EncodeBlock(b64, mac, (int)mlen), 44);
    return apr_pstrcat(unit_pool, "v1,", (const char *)b64, NULL);
}

START_TEST(signature_spec_vector)
{
    ingest_webhook_secret_t s = secret(SPEC_SECRET);
    const char *sig = ingest_webhook_signature(unit_pool, &s, SPEC_ID, SPEC_TS, SPEC_BODY, strlen(SPEC_BODY));
    ck_assert_ptr_nonnull(sig);
    ck_assert_str_eq(sig, SPEC_SIG);
    ck_assert_str_eq(sig_openssl(s.key, s.len, SPEC_ID, SPEC_TS, SPEC_BODY, strlen(SPEC_BODY)), SPEC_SIG);
}
END_TEST

START_TEST(signature_raw_key_nul_body)
{
    /* computed with printf 'msg_1.1700000000.a\0b' | openssl dgst -sha256
     * -mac HMAC -macopt key:this-is-a-raw-secret -binary | base64 */
    ingest_webhook_secret_t s = secret(RAW_SECRET);
    const char *sig = ingest_webhook_signature(unit_pool, &s, "msg_1", "1700000000", "a\0b", 3);
    ck_assert_str_eq(sig, "v1,U79uwmobc5IrlMsyLNHN46QYhEEEcZl7nEJQLiyy2sk=");
    ck_assert_str_eq(sig_openssl(s.key, s.len, "msg_1", "1700000000", "a\0b", 3), sig);
    /* the bytes after the NUL count */
    ck_assert_str_ne(ingest_webhook_signature(unit_pool, &s, "msg_1", "1700000000", "a\0c", 3), sig);
    ck_assert_str_ne(ingest_webhook_signature(unit_pool, &s, "msg_1", "1700000000", "a", 1), sig);

    sig = ingest_webhook_signature(unit_pool, &s, "msg_1", "1700000000", "{}", 2);
    ck_assert_str_eq(sig, "v1,T7I5wsbjW3UE8Gc9fWv4f1dJnG4t5ydLO6sTvvb6U6I=");
}
END_TEST

START_TEST(signature_empty_body)
{
    ingest_webhook_secret_t s = secret(SPEC_SECRET);
    const char *a = ingest_webhook_signature(unit_pool, &s, SPEC_ID, SPEC_TS, "", 0);
    const char *b = ingest_webhook_signature(unit_pool, &s, SPEC_ID, SPEC_TS, NULL, 0);
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(a, b);
    ck_assert_str_eq(a, sig_openssl(s.key, s.len, SPEC_ID, SPEC_TS, "", 0));
    ck_assert_uint_eq(strlen(a), 3 + 44);
}
END_TEST

/* ------------------------------------------------------------------ verify */

static apr_time_t spec_now(void)
{
    return apr_time_from_sec(SPEC_TSN);
}

static void verify_ok(const ingest_webhook_secret_t *s, int n, const char *id, const char *ts,
                      const char *sig, const char *body, apr_size_t blen, apr_time_t now, int tol)
{
    const char *why = NULL;
    apr_status_t rv = ingest_webhook_verify(unit_pool, s, n, id, ts, sig, body, blen, now, tol, &why);
    ck_assert_msg(rv == APR_SUCCESS, "refused (%s): %s", sig ? sig : "(null)", why ? why : "(no reason)");
}

static void verify_bad(const ingest_webhook_secret_t *s, int n, const char *id, const char *ts,
                       const char *sig, const char *body, apr_size_t blen, apr_time_t now, int tol,
                       const char *want)
{
    const char *why = NULL;
    apr_status_t rv = ingest_webhook_verify(unit_pool, s, n, id, ts, sig, body, blen, now, tol, &why);
    ck_assert_msg(rv == APR_EACCES, "accepted (id %s, ts %s, sig %s)", id ? id : "(null)", ts ? ts : "(null)",
                  sig ? sig : "(null)");
    ck_assert_ptr_nonnull(why);
    ck_assert_str_eq(why, want);
}

#define SPEC_OK(s, n, sig)                                                                                   \
    verify_ok(s, n, SPEC_ID, SPEC_TS, sig, SPEC_BODY, strlen(SPEC_BODY), spec_now(), TOL)
#define SPEC_BAD(s, n, sig, want)                                                                            \
    verify_bad(s, n, SPEC_ID, SPEC_TS, sig, SPEC_BODY, strlen(SPEC_BODY), spec_now(), TOL, want)

#define WHY_ID    "missing or invalid webhook-id"
#define WHY_TS    "missing or invalid webhook-timestamp"
#define WHY_TOL   "webhook-timestamp is outside the tolerance"
#define WHY_NOSIG "missing webhook-signature"
#define WHY_SIG   "no valid signature"

START_TEST(verify_valid)
{
    ingest_webhook_secret_t s = secret(SPEC_SECRET);
    SPEC_OK(&s, 1, SPEC_SIG);
    /* sub-second parts of now do not matter */
    verify_ok(&s, 1, SPEC_ID, SPEC_TS, SPEC_SIG, SPEC_BODY, strlen(SPEC_BODY), spec_now() + 999999, 0);
}
END_TEST

START_TEST(verify_wrong_secret)
{
    ingest_webhook_secret_t s = secret(OTHER);
    ingest_webhook_secret_t r = secret(RAW_SECRET);
    SPEC_BAD(&s, 1, SPEC_SIG, WHY_SIG);
    SPEC_BAD(&r, 1, SPEC_SIG, WHY_SIG);
    /* the base64 text is not the key: "whsec_" was what made it bytes */
    r = secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    SPEC_BAD(&r, 1, SPEC_SIG, WHY_SIG);
    /* no secrets at all */
    SPEC_BAD(&s, 0, SPEC_SIG, WHY_SIG);
}
END_TEST

START_TEST(verify_rotation)
{
    ingest_webhook_secret_t two[INGEST_WEBHOOK_MAX_SECRETS];

    two[0] = secret(OTHER);
    two[1] = secret(SPEC_SECRET);
    SPEC_OK(two, 2, SPEC_SIG);
    /* nsecrets bounds the search */
    SPEC_BAD(two, 1, SPEC_SIG, WHY_SIG);

    two[0] = secret(SPEC_SECRET);
    two[1] = secret(OTHER);
    SPEC_OK(two, 2, SPEC_SIG);
    SPEC_OK(two, 1, SPEC_SIG);

    /* a header signed with both, as a sender does while rotating */
    {
        const char *both = apr_pstrcat(
            unit_pool,
            ingest_webhook_signature(unit_pool, &two[1], SPEC_ID, SPEC_TS, SPEC_BODY, strlen(SPEC_BODY)), " ",
            SPEC_SIG, NULL);
        SPEC_OK(&two[0], 1, both);
        SPEC_OK(&two[1], 1, both);
    }
}
END_TEST

START_TEST(verify_tampered)
{
    ingest_webhook_secret_t s = secret(SPEC_SECRET);
    const char *body2 = "{\"test\": 2432232315}";
    const char *body3 = "{\"test\": 2432232314} ";

    verify_bad(&s, 1, SPEC_ID, SPEC_TS, SPEC_SIG, body2, strlen(body2), spec_now(), TOL, WHY_SIG);
    verify_bad(&s, 1, SPEC_ID, SPEC_TS, SPEC_SIG, body3, strlen(body3), spec_now(), TOL, WHY_SIG);
    verify_bad(&s, 1, SPEC_ID, SPEC_TS, SPEC_SIG, SPEC_BODY, strlen(SPEC_BODY) - 1, spec_now(), TOL, WHY_SIG);
    verify_bad(&s, 1, "msg_p5jXN8AQM9LWM0D4loKWxJeK", SPEC_TS, SPEC_SIG, SPEC_BODY, strlen(SPEC_BODY),
               spec_now(), TOL, WHY_SIG);
    verify_bad(&s, 1, SPEC_ID "x", SPEC_TS, SPEC_SIG, SPEC_BODY, strlen(SPEC_BODY), spec_now(), TOL, WHY_SIG);
    /* well inside the tolerance, so only the signature can refuse it */
    verify_bad(&s, 1, SPEC_ID, "1614265331", SPEC_SIG, SPEC_BODY, strlen(SPEC_BODY), spec_now(), TOL,
               WHY_SIG);
    /* the same number spelt differently is a different message */
    verify_bad(&s, 1, SPEC_ID, "01614265330", SPEC_SIG, SPEC_BODY, strlen(SPEC_BODY), spec_now(), TOL,
               WHY_SIG);
    /* the signature itself */
    SPEC_BAD(&s, 1, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=", WHY_SIG);
    SPEC_BAD(&s, 1, "v1,G0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", WHY_SIG);
    SPEC_BAD(&s, 1, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE", WHY_SIG);
    SPEC_BAD(&s, 1, "v1,g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE", WHY_SIG);
    SPEC_BAD(&s, 1, SPEC_SIG "=", WHY_SIG);
    SPEC_BAD(&s, 1, SPEC_SIG ",v1", WHY_SIG);
}
END_TEST

/* A freshly signed message at timestamp ts, checked at spec_now(). */
static void at(const ingest_webhook_secret_t *s, apr_int64_t ts, int tol, const char *want)
{
    const char *tss = apr_psprintf(unit_pool, "%" APR_INT64_T_FMT, ts);
    const char *sig = ingest_webhook_signature(unit_pool, s, SPEC_ID, tss, SPEC_BODY, strlen(SPEC_BODY));
    if (want) {
        verify_bad(s, 1, SPEC_ID, tss, sig, SPEC_BODY, strlen(SPEC_BODY), spec_now(), tol, want);
    } else {
        verify_ok(s, 1, SPEC_ID, tss, sig, SPEC_BODY, strlen(SPEC_BODY), spec_now(), tol);
    }
}

START_TEST(verify_tolerance)
{
    ingest_webhook_secret_t s = secret(SPEC_SECRET);

    at(&s, SPEC_TSN - TOL, TOL, NULL);
    at(&s, SPEC_TSN - TOL - 1, TOL, WHY_TOL);
    at(&s, SPEC_TSN + TOL, TOL, NULL);
    at(&s, SPEC_TSN + TOL + 1, TOL, WHY_TOL);
    at(&s, 0, TOL, WHY_TOL);
    at(&s, SPEC_TSN, 0, NULL);
    at(&s, SPEC_TSN - 1, 0, WHY_TOL);
    at(&s, SPEC_TSN + 1, 0, WHY_TOL);
    /* a negative tolerance is no tolerance, not an unsigned huge one */
    at(&s, SPEC_TSN, -1, NULL);
    at(&s, SPEC_TSN + 1, -1, WHY_TOL);
    at(&s, 0, -1, WHY_TOL);
    /* the tolerance is checked before the signature */
    verify_bad(&s, 1, SPEC_ID, "1614265631", SPEC_SIG, SPEC_BODY, strlen(SPEC_BODY), spec_now(), TOL,
               WHY_TOL);
    /* 19 digits are allowed, even past INT64_MAX, and are simply far off */
    verify_bad(&s, 1, SPEC_ID, "9999999999999999999", SPEC_SIG, SPEC_BODY, strlen(SPEC_BODY), spec_now(), TOL,
               WHY_TOL);
    verify_bad(&s, 1, SPEC_ID, "9223372036854775807", SPEC_SIG, SPEC_BODY, strlen(SPEC_BODY), spec_now(),
               APR_INT32_MAX, WHY_TOL);
    /* leading zeros are still the number */
    verify_ok(
        &s, 1, SPEC_ID, "0000000001614265330",
        ingest_webhook_signature(unit_pool, &s, SPEC_ID, "0000000001614265330", SPEC_BODY, strlen(SPEC_BODY)),
        SPEC_BODY, strlen(SPEC_BODY), spec_now(), TOL);
}
END_TEST

static char *repeat(char c, apr_size_t n)
{
    char *s = apr_palloc(unit_pool, n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

START_TEST(verify_id)
{
    ingest_webhook_secret_t s = secret(SPEC_SECRET);
    static const char *const bad[] = {
        "", "msg\x01", "msg\n", "msg\x7f", "msg_\xc3\xa9", "\t",
    };
    const char *id255 = repeat('i', 255);
    apr_size_t i;

    verify_bad(&s, 1, NULL, SPEC_TS, SPEC_SIG, SPEC_BODY, strlen(SPEC_BODY), spec_now(), TOL, WHY_ID);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        /* each is signed correctly: the id itself is what is refused */
        const char *sig =
            ingest_webhook_signature(unit_pool, &s, bad[i], SPEC_TS, SPEC_BODY, strlen(SPEC_BODY));
        verify_bad(&s, 1, bad[i], SPEC_TS, sig, SPEC_BODY, strlen(SPEC_BODY), spec_now(), TOL, WHY_ID);
    }
    verify_ok(&s, 1, id255, SPEC_TS,
              ingest_webhook_signature(unit_pool, &s, id255, SPEC_TS, SPEC_BODY, strlen(SPEC_BODY)),
              SPEC_BODY, strlen(SPEC_BODY), spec_now(), TOL);
    {
        const char *id256 = repeat('i', 256);
        verify_bad(&s, 1, id256, SPEC_TS,
                   ingest_webhook_signature(unit_pool, &s, id256, SPEC_TS, SPEC_BODY, strlen(SPEC_BODY)),
                   SPEC_BODY, strlen(SPEC_BODY), spec_now(), TOL, WHY_ID);
    }
    /* printable ASCII includes the space and '~' */
    verify_ok(&s, 1, "a b~", SPEC_TS,
              ingest_webhook_signature(unit_pool, &s, "a b~", SPEC_TS, SPEC_BODY, strlen(SPEC_BODY)),
              SPEC_BODY, strlen(SPEC_BODY), spec_now(), TOL);
    /* the id is checked first, before a missing timestamp or signature */
    verify_bad(&s, 1, NULL, NULL, NULL, SPEC_BODY, strlen(SPEC_BODY), spec_now(), TOL, WHY_ID);
}
END_TEST

START_TEST(verify_timestamp_format)
{
    ingest_webhook_secret_t s = secret(SPEC_SECRET);
    static const char *const bad[] = {
        "",           "-1614265330", "+1614265330", " 1614265330",          "1614265330 ", "1614265330.0",
        "16142653a0", "0x60380c72",  "1.6e9",       "00000000001614265330", /* 20 digits */
    };
    apr_size_t i;

    verify_bad(&s, 1, SPEC_ID, NULL, SPEC_SIG, SPEC_BODY, strlen(SPEC_BODY), spec_now(), TOL, WHY_TS);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        const char *sig =
            ingest_webhook_signature(unit_pool, &s, SPEC_ID, bad[i], SPEC_BODY, strlen(SPEC_BODY));
        verify_bad(&s, 1, SPEC_ID, bad[i], sig, SPEC_BODY, strlen(SPEC_BODY), spec_now(), TOL, WHY_TS);
    }
    /* the timestamp is checked before a missing signature */
    verify_bad(&s, 1, SPEC_ID, "", NULL, SPEC_BODY, strlen(SPEC_BODY), spec_now(), TOL, WHY_TS);
}
END_TEST

START_TEST(verify_missing_signature)
{
    ingest_webhook_secret_t s = secret(SPEC_SECRET);
    SPEC_BAD(&s, 1, NULL, WHY_NOSIG);
    SPEC_BAD(&s, 1, "", WHY_NOSIG);
    /* present but with nothing usable */
    SPEC_BAD(&s, 1, " ", WHY_SIG);
    SPEC_BAD(&s, 1, "v1", WHY_SIG);
    SPEC_BAD(&s, 1, "v1,", WHY_SIG);
    SPEC_BAD(&s, 1, ",", WHY_SIG);
}
END_TEST

START_TEST(verify_multiple_entries)
{
    ingest_webhook_secret_t s = secret(SPEC_SECRET);

    SPEC_OK(&s, 1, "v1,bad " SPEC_SIG);
    SPEC_OK(&s, 1, SPEC_SIG " v1,bad");
    SPEC_OK(&s, 1, "v1,bad v1,worse " SPEC_SIG " v1,worst");
    SPEC_OK(&s, 1, "v1a,x v1 , " SPEC_SIG);
    SPEC_OK(&s, 1, "  v1,bad   " SPEC_SIG "  ");
    SPEC_BAD(&s, 1, "v1,bad v1,worse", WHY_SIG);
    /* other versions are ignored, even when their value would match */
    SPEC_BAD(&s, 1, "v2," SPEC_B64, WHY_SIG);
    SPEC_BAD(&s, 1, "V1," SPEC_B64, WHY_SIG);
    SPEC_BAD(&s, 1, "v1a," SPEC_B64, WHY_SIG);
    SPEC_BAD(&s, 1, "v10," SPEC_B64, WHY_SIG);
    SPEC_BAD(&s, 1, "," SPEC_B64, WHY_SIG);
    SPEC_BAD(&s, 1, SPEC_B64, WHY_SIG);
    SPEC_OK(&s, 1, "v2," SPEC_B64 " " SPEC_SIG);
    SPEC_OK(&s, 1, "v1a,whatever v2," SPEC_B64 " " SPEC_SIG);
    /* entries are separated by spaces only */
    SPEC_BAD(&s, 1, "v1,bad," SPEC_B64, WHY_SIG);
    SPEC_BAD(&s, 1, "v1,bad\t" SPEC_SIG, WHY_SIG);
}
END_TEST

START_TEST(verify_nul_body)
{
    ingest_webhook_secret_t s = secret(RAW_SECRET);
    const char *sig = "v1,U79uwmobc5IrlMsyLNHN46QYhEEEcZl7nEJQLiyy2sk=";
    apr_time_t now = apr_time_from_sec(1700000000);

    verify_ok(&s, 1, "msg_1", "1700000000", sig, "a\0b", 3, now, TOL);
    verify_bad(&s, 1, "msg_1", "1700000000", sig, "a\0c", 3, now, TOL, WHY_SIG);
    verify_bad(&s, 1, "msg_1", "1700000000", sig, "a\0b\0", 4, now, TOL, WHY_SIG);
    verify_bad(&s, 1, "msg_1", "1700000000", sig, "a", 1, now, TOL, WHY_SIG);
    verify_bad(&s, 1, "msg_1", "1700000000", sig, "a\0", 2, now, TOL, WHY_SIG);
}
END_TEST

Suite *suite_webhook(void)
{
    Suite *s = suite_create("ingest_webhook");
    TCase *tc;

    tc = unit_tcase("secret");
    tcase_add_test(tc, secret_whsec_spec);
    tcase_add_test(tc, secret_whsec_padding);
    tcase_add_test(tc, secret_raw);
    tcase_add_test(tc, secret_bad_base64);
    tcase_add_test(tc, secret_short_or_empty);
    suite_add_tcase(s, tc);

    tc = unit_tcase("signature");
    tcase_add_test(tc, signature_spec_vector);
    tcase_add_test(tc, signature_raw_key_nul_body);
    tcase_add_test(tc, signature_empty_body);
    suite_add_tcase(s, tc);

    tc = unit_tcase("verify");
    tcase_add_test(tc, verify_valid);
    tcase_add_test(tc, verify_wrong_secret);
    tcase_add_test(tc, verify_rotation);
    tcase_add_test(tc, verify_tampered);
    tcase_add_test(tc, verify_tolerance);
    tcase_add_test(tc, verify_id);
    tcase_add_test(tc, verify_timestamp_format);
    tcase_add_test(tc, verify_missing_signature);
    tcase_add_test(tc, verify_multiple_entries);
    tcase_add_test(tc, verify_nul_body);
    suite_add_tcase(s, tc);
    return s;
}
