#include <string.h>

#include <apr_strings.h>

#include "ingest_sign.h"
#include "unit.h"

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

START_TEST(hmac_rfc4231_case2)
{
    unsigned char mac[INGEST_SHA256_LEN];
    const char *data = "what do ya want for nothing?";
    memset(mac, 0, sizeof(mac));
    ck_assert_int_eq(ingest_hmac_sha256("Jefe", 4, data, strlen(data), mac), APR_SUCCESS);
    ck_assert_str_eq(hex(mac, sizeof(mac)),
                     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
END_TEST

START_TEST(hmac_rfc4231_case1)
{
    unsigned char key[20], mac[INGEST_SHA256_LEN];
    memset(key, 0x0b, sizeof(key));
    ck_assert_int_eq(ingest_hmac_sha256(key, sizeof(key), "Hi There", 8, mac), APR_SUCCESS);
    ck_assert_str_eq(hex(mac, sizeof(mac)),
                     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}
END_TEST

static void b64(const char *in, apr_size_t len, const char *want)
{
    const char *got = ingest_b64url(unit_pool, (const unsigned char *)in, len);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want);
}

START_TEST(b64url_rfc4648)
{
    b64("", 0, "");
    b64("f", 1, "Zg");
    b64("fo", 2, "Zm8");
    b64("foo", 3, "Zm9v");
    b64("foob", 4, "Zm9vYg");
    b64("fooba", 5, "Zm9vYmE");
    b64("foobar", 6, "Zm9vYmFy");
}
END_TEST

START_TEST(b64url_alphabet)
{
    /* standard base64 would give "+/8=" */
    b64("\xfb\xff", 2, "-_8");
    b64("\xfb\xef\xbe", 3, "----");
    b64("\xff\xff\xff", 3, "____");
    b64("\x00\x00\x00", 3, "AAAA");
    b64("\x00", 1, "AA");
    /* 32 bytes (a SHA-256) are 43 characters, never padded */
    {
        unsigned char d[INGEST_SHA256_LEN];
        const char *s;
        memset(d, 0xff, sizeof(d));
        s = ingest_b64url(unit_pool, d, sizeof(d));
        ck_assert_uint_eq(strlen(s), 43);
        ck_assert_ptr_null(strchr(s, '='));
        ck_assert_str_eq(s, "__________________________________________8");
    }
}
END_TEST

static const unsigned char KEY[] = "upload-signing-key";
#define KLEN (sizeof(KEY) - 1)
#define JOB  "123e4567-e89b-12d3-a456-426614174000"

START_TEST(upload_sig_deterministic)
{
    char *a = ingest_upload_sig(unit_pool, KEY, KLEN, "PUT", JOB, 1700000000);
    char *b = ingest_upload_sig(unit_pool, KEY, KLEN, "PUT", JOB, 1700000000);
    unsigned char mac[INGEST_SHA256_LEN];
    const char *msg = "PUT\n" JOB "\n1700000000";
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(a, b);
    ck_assert_uint_eq(strlen(a), 43);
    /* it is the b64url HMAC of "METHOD\njob\nexpires" */
    ck_assert_int_eq(ingest_hmac_sha256(KEY, KLEN, msg, strlen(msg), mac), APR_SUCCESS);
    ck_assert_str_eq(a, ingest_b64url(unit_pool, mac, sizeof(mac)));
}
END_TEST

START_TEST(upload_sig_changes)
{
    static const unsigned char other_key[] = "upload-signing-kez";
    const char *base = ingest_upload_sig(unit_pool, KEY, KLEN, "PUT", JOB, 1700000000);
    const char *m = ingest_upload_sig(unit_pool, KEY, KLEN, "GET", JOB, 1700000000);
    const char *j =
        ingest_upload_sig(unit_pool, KEY, KLEN, "PUT", "123e4567-e89b-12d3-a456-426614174001", 1700000000);
    const char *e = ingest_upload_sig(unit_pool, KEY, KLEN, "PUT", JOB, 1700000001);
    const char *k = ingest_upload_sig(unit_pool, other_key, sizeof(other_key) - 1, "PUT", JOB, 1700000000);
    const char *kl = ingest_upload_sig(unit_pool, KEY, KLEN - 1, "PUT", JOB, 1700000000);
    ck_assert_str_ne(base, m);
    ck_assert_str_ne(base, j);
    ck_assert_str_ne(base, e);
    ck_assert_str_ne(base, k);
    ck_assert_str_ne(base, kl);
    ck_assert_str_ne(m, j);
    ck_assert_str_ne(j, e);
}
END_TEST

START_TEST(upload_url_format)
{
    const char *sig = ingest_upload_sig(unit_pool, KEY, KLEN, "PUT", JOB, 1700000000);
    const char *url = ingest_upload_url(unit_pool, KEY, KLEN, JOB, 1700000000);
    ck_assert_ptr_nonnull(url);
    ck_assert_str_eq(url,
                     apr_pstrcat(unit_pool, "/api/ingest/upload/" JOB "?expires=1700000000&sig=", sig, NULL));
    /* the URL is signed for PUT, not for anything else */
    ck_assert_str_ne(url, apr_pstrcat(unit_pool, "/api/ingest/upload/" JOB "?expires=1700000000&sig=",
                                      ingest_upload_sig(unit_pool, KEY, KLEN, "GET", JOB, 1700000000), NULL));
    /* 64-bit expiry printed in full */
    url = ingest_upload_url(unit_pool, KEY, KLEN, JOB, APR_INT64_C(9999999999));
    ck_assert_int_eq(strncmp(url, "/api/ingest/upload/" JOB "?expires=9999999999&sig=",
                             strlen("/api/ingest/upload/" JOB "?expires=9999999999&sig=")),
                     0);
    ck_assert_uint_eq(strlen(url), strlen("/api/ingest/upload/" JOB "?expires=9999999999&sig=") + 43);
}
END_TEST

/* The query string of the URL ingest_upload_url makes. */
static const char *url_query(const unsigned char *key, apr_size_t klen, const char *job, apr_int64_t expires)
{
    const char *url = ingest_upload_url(unit_pool, key, klen, job, expires);
    ck_assert_ptr_nonnull(url);
    ck_assert_ptr_nonnull(strchr(url, '?'));
    return strchr(url, '?') + 1;
}

static void verify_refused(const char *job, const char *query, apr_time_t now, const char *want)
{
    const char *why = NULL;
    ck_assert_int_eq(ingest_upload_verify(unit_pool, KEY, KLEN, "PUT", job, query, now, &why), APR_EACCES);
    ck_assert_ptr_nonnull(why);
    ck_assert_str_eq(why, want);
}

#define LACKS    "the upload URL lacks a valid expires and sig"
#define MISMATCH "the upload URL's signature does not match"
#define EXPIRED  "the upload URL has expired"

START_TEST(upload_verify)
{
    const apr_time_t now = apr_time_from_sec(1700000000);
    const char *q = url_query(KEY, KLEN, JOB, 1700000100), *why = "untouched";
    const char *sig = strstr(q, "sig=") + 4;

    ck_assert_int_eq(ingest_upload_verify(unit_pool, KEY, KLEN, "PUT", JOB, q, now, &why), APR_SUCCESS);
    ck_assert_str_eq(why, "untouched");
    /* in any order, with other parameters, and %-escaped */
    ck_assert_int_eq(ingest_upload_verify(
                         unit_pool, KEY, KLEN, "PUT", JOB,
                         apr_pstrcat(unit_pool, "x=1&sig=", sig, "&expires=%31700000100", NULL), now, &why),
                     APR_SUCCESS);
    /* the first of a repeated parameter counts, as for every query */
    ck_assert_int_eq(ingest_upload_verify(unit_pool, KEY, KLEN, "PUT", JOB,
                                          apr_pstrcat(unit_pool, q, "&expires=1&sig=x", NULL), now, &why),
                     APR_SUCCESS);
    verify_refused(JOB, apr_pstrcat(unit_pool, "expires=1&sig=x&", q, NULL), now, MISMATCH);

    /* another method, job, key or expiry */
    ck_assert_int_eq(ingest_upload_verify(unit_pool, KEY, KLEN, "GET", JOB, q, now, &why), APR_EACCES);
    ck_assert_str_eq(why, MISMATCH);
    verify_refused("123e4567-e89b-12d3-a456-426614174001", q, now, MISMATCH);
    ck_assert_int_eq(ingest_upload_verify(unit_pool, KEY, KLEN - 1, "PUT", JOB, q, now, &why), APR_EACCES);
    ck_assert_str_eq(why, MISMATCH);
    verify_refused(JOB, apr_pstrcat(unit_pool, "expires=1700000101&sig=", sig, NULL), now, MISMATCH);
    /* the number is signed, not its spelling */
    ck_assert_int_eq(ingest_upload_verify(unit_pool, KEY, KLEN, "PUT", JOB,
                                          apr_pstrcat(unit_pool, "expires=01700000100&sig=", sig, NULL), now,
                                          &why),
                     APR_SUCCESS);
    verify_refused(JOB, apr_pstrcat(unit_pool, "expires=1700000100&sig=", sig, "A", NULL), now, MISMATCH);
    verify_refused(JOB,
                   apr_pstrcat(unit_pool, "expires=1700000100&sig=", apr_pstrndup(unit_pool, sig, 42), NULL),
                   now, MISMATCH);
    verify_refused(JOB, "expires=1700000100&sig=", now, MISMATCH);

    /* malformed */
    verify_refused(JOB, NULL, now, LACKS);
    verify_refused(JOB, "", now, LACKS);
    verify_refused(JOB, "expires=1700000100", now, LACKS);
    verify_refused(JOB, apr_pstrcat(unit_pool, "sig=", sig, NULL), now, LACKS);
    verify_refused(JOB, apr_pstrcat(unit_pool, "expires=abc&sig=", sig, NULL), now, LACKS);
    verify_refused(JOB, apr_pstrcat(unit_pool, "expires=-1&sig=", sig, NULL), now, LACKS);
    verify_refused(JOB, apr_pstrcat(unit_pool, "expires=10000000000&sig=", sig, NULL), now, LACKS);
    verify_refused(JOB, apr_pstrcat(unit_pool, q, "&x=%zz", NULL), now, LACKS);

    /* genuine but expired: at expires exactly, and after */
    verify_refused(JOB, q, apr_time_from_sec(1700000100), EXPIRED);
    ck_assert_int_eq(
        ingest_upload_verify(unit_pool, KEY, KLEN, "PUT", JOB, q, apr_time_from_sec(1700000100) - 1, &why),
        APR_SUCCESS);
    /* an expired URL that is not genuine is called so */
    verify_refused(JOB, apr_pstrcat(unit_pool, "expires=1600000000&sig=", sig, NULL), now, MISMATCH);
}
END_TEST

START_TEST(const_equal)
{
    char a[] = "signature", b[] = "signature";
    ck_assert_int_eq(ingest_const_equal(a, b), 1);
    ck_assert_int_eq(ingest_const_equal("", ""), 1);
    ck_assert_int_eq(ingest_const_equal("signature", "signaturE"), 0);
    ck_assert_int_eq(ingest_const_equal("Signature", "signature"), 0);
    ck_assert_int_eq(ingest_const_equal("sig", "signature"), 0);
    ck_assert_int_eq(ingest_const_equal("signature", "sig"), 0);
    ck_assert_int_eq(ingest_const_equal("", "x"), 0);
    ck_assert_int_eq(ingest_const_equal(NULL, "x"), 0);
    ck_assert_int_eq(ingest_const_equal("x", NULL), 0);
    ck_assert_int_eq(ingest_const_equal(NULL, NULL), 0);
    ck_assert_int_eq(ingest_const_equal(NULL, ""), 0);
}
END_TEST

START_TEST(sha256_hex_vectors)
{
    /* FIPS 180-2 examples */
    ck_assert_str_eq(ingest_sha256_hex(unit_pool, "abc", 3),
                     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_str_eq(ingest_sha256_hex(unit_pool, "", 0),
                     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

Suite *suite_sign(void)
{
    Suite *s = suite_create("ingest_sign");
    TCase *tc;

    tc = unit_tcase("hmac_b64");
    tcase_add_test(tc, hmac_rfc4231_case2);
    tcase_add_test(tc, hmac_rfc4231_case1);
    tcase_add_test(tc, b64url_rfc4648);
    tcase_add_test(tc, b64url_alphabet);
    suite_add_tcase(s, tc);

    tc = unit_tcase("upload");
    tcase_add_test(tc, upload_sig_deterministic);
    tcase_add_test(tc, upload_sig_changes);
    tcase_add_test(tc, upload_url_format);
    tcase_add_test(tc, upload_verify);
    tcase_add_test(tc, const_equal);
    tcase_add_test(tc, sha256_hex_vectors);
    suite_add_tcase(s, tc);
    return s;
}
