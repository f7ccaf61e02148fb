#include <string.h>

#include <apr_strings.h>

#include "ingest_cache.h"
#include "unit.h"

static ingest_cache_entry_t sample(void)
{
    ingest_cache_entry_t e;
    memset(&e, 0, sizeof(e));
    e.boot = 0x0102030405060708ULL;
    e.gen = 0xa0b0c0d0u;
    e.variant = 2u << 16 | 7u;
    e.status = 200;
    e.ctype = "application/json";
    e.tenant = "acme";
    e.body = "{\"job_id\":\"x\"}";
    e.body_len = strlen(e.body);
    return e;
}

START_TEST(key_from_uuid)
{
    unsigned char k[INGEST_CACHE_KEY_LEN], k2[INGEST_CACHE_KEY_LEN];
    static const unsigned char want[INGEST_CACHE_KEY_LEN] = {0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78,
                                                             0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0};
    ck_assert_int_eq(ingest_cache_key("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", k), APR_SUCCESS);
    ck_assert_mem_eq(k, want, sizeof(want));
    /* the case of the hex digits does not make another key */
    ck_assert_int_eq(ingest_cache_key("0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0", k2), APR_SUCCESS);
    ck_assert_mem_eq(k2, want, sizeof(want));
}
END_TEST

START_TEST(key_refuses_non_uuids)
{
    unsigned char k[INGEST_CACHE_KEY_LEN];
    static const char *const bad[] = {
        NULL,
        "",
        "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f",   /* short */
        "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f00", /* long */
        "0f1e2d3c4b5a-6978-8796-a5b4c3d2e1f0a",  /* dash moved */
        "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg",  /* not hex */
        "0f1e2d3-c4b5a-6978-8796-a5b4c3d2e1f0",  /* dash inside a byte */
        "0f1e2d3c-4b5a-6978-8796+a5b4c3d2e1f0",
    };
    apr_size_t i;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        ck_assert_msg(ingest_cache_key(bad[i], k) == APR_EINVAL, "accepted %s", bad[i] ? bad[i] : "NULL");
    }
}
END_TEST

START_TEST(slot_in_range_and_spread)
{
    unsigned char k[INGEST_CACHE_KEY_LEN];
    unsigned seen[16] = {0};
    int i;
    for (i = 0; i < 1600; ++i) {
        const char *id = apr_psprintf(unit_pool, "00000000-0000-4000-8000-%012x", i);
        apr_uint32_t s;
        ck_assert_int_eq(ingest_cache_key(id, k), APR_SUCCESS);
        s = ingest_cache_slot(k, 16);
        ck_assert_uint_lt(s, 16);
        seen[s]++;
    }
    /* ids that differ in their last bytes only still spread over the slots */
    for (i = 0; i < 16; ++i) {
        ck_assert_msg(seen[i] > 50 && seen[i] < 150, "slot %d got %u of 1600", i, seen[i]);
    }
    ck_assert_int_eq(ingest_cache_key("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", k), APR_SUCCESS);
    ck_assert_uint_eq(ingest_cache_slot(k, 65536), ingest_cache_slot(k, 65536));
    ck_assert_uint_eq(ingest_cache_slot(k, 1), 0);
}
END_TEST

START_TEST(encode_decode_round_trip)
{
    ingest_cache_entry_t e = sample(), d;
    unsigned char *buf;
    apr_size_t len;
    ck_assert_int_eq(ingest_cache_encode(unit_pool, &e, &buf, &len), APR_SUCCESS);
    ck_assert_uint_eq(len, 29 + strlen(e.ctype) + strlen(e.tenant) + e.body_len);
    ck_assert_mem_eq(buf, "IGC1", 4);
    ck_assert_int_eq(ingest_cache_decode(unit_pool, buf, len, &d), APR_SUCCESS);
    ck_assert(d.boot == e.boot);
    ck_assert_uint_eq(d.gen, e.gen);
    ck_assert_uint_eq(d.variant, e.variant);
    ck_assert_int_eq(d.status, 200);
    ck_assert_str_eq(d.ctype, "application/json");
    ck_assert_str_eq(d.tenant, "acme");
    ck_assert_uint_eq(d.body_len, e.body_len);
    ck_assert_mem_eq(d.body, e.body, e.body_len);
}
END_TEST

START_TEST(encode_binary_body_and_limits)
{
    ingest_cache_entry_t e = sample(), d;
    unsigned char *buf;
    apr_size_t len;
    char *big = apr_palloc(unit_pool, INGEST_CACHE_MAX_BODY + 1);
    memset(big, 'x', INGEST_CACHE_MAX_BODY + 1);
    /* bytes, not a string: a NUL inside is kept */
    e.body = "a\0b";
    e.body_len = 3;
    ck_assert_int_eq(ingest_cache_encode(unit_pool, &e, &buf, &len), APR_SUCCESS);
    ck_assert_int_eq(ingest_cache_decode(unit_pool, buf, len, &d), APR_SUCCESS);
    ck_assert_uint_eq(d.body_len, 3);
    ck_assert_mem_eq(d.body, "a\0b", 3);
    /* the largest body kept, and one byte more */
    e.body = big;
    e.body_len = INGEST_CACHE_MAX_BODY;
    ck_assert_int_eq(ingest_cache_encode(unit_pool, &e, &buf, &len), APR_SUCCESS);
    ck_assert_uint_le(len, INGEST_CACHE_MAX_ENTRY);
    e.body_len = INGEST_CACHE_MAX_BODY + 1;
    ck_assert_int_eq(ingest_cache_encode(unit_pool, &e, &buf, &len), APR_ENOSPC);
    ck_assert_ptr_null(buf);
    e = sample();
    e.ctype = apr_pstrndup(unit_pool, big, 256);
    ck_assert_int_eq(ingest_cache_encode(unit_pool, &e, &buf, &len), APR_ENOSPC);
    e = sample();
    e.status = 99;
    ck_assert_int_eq(ingest_cache_encode(unit_pool, &e, &buf, &len), APR_ENOSPC);
}
END_TEST

START_TEST(decode_refuses_damage)
{
    ingest_cache_entry_t e = sample(), d;
    unsigned char *buf, *copy;
    apr_size_t len, cut;
    ck_assert_int_eq(ingest_cache_encode(unit_pool, &e, &buf, &len), APR_SUCCESS);
    /* every truncation, and one byte too many */
    for (cut = 0; cut < len; ++cut) {
        ck_assert_msg(ingest_cache_decode(unit_pool, buf, cut, &d) == APR_EINVAL, "accepted %u bytes of %u",
                      (unsigned)cut, (unsigned)len);
    }
    copy = apr_palloc(unit_pool, len + 1);
    memcpy(copy, buf, len);
    copy[len] = 'x';
    ck_assert_int_eq(ingest_cache_decode(unit_pool, copy, len + 1, &d), APR_EINVAL);
    /* another magic (a format to come, or someone else's value) */
    memcpy(copy, buf, len);
    copy[3] = '2';
    ck_assert_int_eq(ingest_cache_decode(unit_pool, copy, len, &d), APR_EINVAL);
    /* a body length past the limit */
    memcpy(copy, buf, len);
    copy[25] = 0x7f;
    ck_assert_int_eq(ingest_cache_decode(unit_pool, copy, len, &d), APR_EINVAL);
}
END_TEST

START_TEST(usable_rules)
{
    ingest_cache_entry_t e = sample();
    /* this host wrote it: only while the job's generation is the same */
    ck_assert(ingest_cache_usable(&e, "acme", e.variant, e.boot, e.gen));
    ck_assert(!ingest_cache_usable(&e, "acme", e.variant, e.boot, e.gen + 1));
    /* another tenant, another route's words, no tenant */
    ck_assert(!ingest_cache_usable(&e, "acme2", e.variant, e.boot, e.gen));
    ck_assert(!ingest_cache_usable(&e, "acm", e.variant, e.boot, e.gen));
    ck_assert(!ingest_cache_usable(&e, NULL, e.variant, e.boot, e.gen));
    ck_assert(!ingest_cache_usable(&e, "acme", e.variant + 1, e.boot, e.gen));
    /* another host wrote it: trusted until it expires, whatever our counter */
    ck_assert(ingest_cache_usable(&e, "acme", e.variant, e.boot + 1, e.gen + 5));
}
END_TEST

Suite *suite_cache(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = unit_tcase("entries");
    tcase_add_test(tc, key_from_uuid);
    tcase_add_test(tc, key_refuses_non_uuids);
    tcase_add_test(tc, slot_in_range_and_spread);
    tcase_add_test(tc, encode_decode_round_trip);
    tcase_add_test(tc, encode_binary_body_and_limits);
    tcase_add_test(tc, decode_refuses_damage);
    tcase_add_test(tc, usable_rules);
    suite_add_tcase(s, tc);
    return s;
}
