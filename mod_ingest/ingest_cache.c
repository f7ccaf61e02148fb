/* Keys and entries of the status cache: see ingest_cache.h. */

#include <string.h>

#include <apr_strings.h>

#include "ingest_cache.h"

static const unsigned char magic[4] = {'I', 'G', 'C', '1'};
/* magic, boot, gen, variant, status, ctype length, tenant length, body length */
#define HEADER_LEN (4 + 8 + 4 + 4 + 2 + 1 + 2 + 4)

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

apr_status_t ingest_cache_key(const char *uuid, unsigned char key[INGEST_CACHE_KEY_LEN])
{
    apr_size_t i, n = 0;

    if (!uuid || strlen(uuid) != 36) {
        return APR_EINVAL;
    }
    for (i = 0; i < 36; ++i) {
        int hi, lo;
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (uuid[i] != '-') {
                return APR_EINVAL;
            }
            continue;
        }
        hi = hexval(uuid[i]);
        lo = hexval(uuid[i + 1]);
        if (hi < 0 || lo < 0 || i + 1 == 8 || i + 1 == 13 || i + 1 == 18 || i + 1 == 23) {
            return APR_EINVAL;
        }
        key[n++] = (unsigned char)(hi << 4 | lo);
        ++i;
    }
    return n == INGEST_CACHE_KEY_LEN ? APR_SUCCESS : APR_EINVAL;
}

apr_uint32_t ingest_cache_slot(const unsigned char key[INGEST_CACHE_KEY_LEN], apr_uint32_t slots)
{
    /* FNV-1a: ids made by SQL (gen_random_uuid) or by hand spread too */
    apr_uint32_t h = 2166136261u;
    int i;
    for (i = 0; i < INGEST_CACHE_KEY_LEN; ++i) {
        h = (h ^ key[i]) * 16777619u;
    }
    return h & (slots - 1);
}

static unsigned char *put_be(unsigned char *p, apr_uint64_t v, int bytes)
{
    int i;
    for (i = bytes - 1; i >= 0; --i) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
    return p + bytes;
}

static apr_uint64_t get_be(const unsigned char *p, int bytes)
{
    apr_uint64_t v = 0;
    int i;
    for (i = 0; i < bytes; ++i) {
        v = v << 8 | p[i];
    }
    return v;
}

apr_status_t ingest_cache_encode(apr_pool_t *p, const ingest_cache_entry_t *e, unsigned char **out,
                                 apr_size_t *len)
{
    apr_size_t clen = strlen(e->ctype), tlen = strlen(e->tenant);
    unsigned char *buf, *w;

    *out = NULL;
    *len = 0;
    if (clen > 0xff || tlen > 0xffff || e->body_len > INGEST_CACHE_MAX_BODY || e->status < 100
        || e->status > 999) {
        return APR_ENOSPC;
    }
    *len = HEADER_LEN + clen + tlen + e->body_len;
    w = buf = apr_palloc(p, *len);
    memcpy(w, magic, sizeof(magic));
    w += sizeof(magic);
    w = put_be(w, e->boot, 8);
    w = put_be(w, e->gen, 4);
    w = put_be(w, e->variant, 4);
    w = put_be(w, (apr_uint64_t)e->status, 2);
    w = put_be(w, clen, 1);
    w = put_be(w, tlen, 2);
    w = put_be(w, e->body_len, 4);
    memcpy(w, e->ctype, clen);
    w += clen;
    memcpy(w, e->tenant, tlen);
    w += tlen;
    memcpy(w, e->body, e->body_len);
    *out = buf;
    return APR_SUCCESS;
}

apr_status_t ingest_cache_decode(apr_pool_t *p, const unsigned char *buf, apr_size_t len,
                                 ingest_cache_entry_t *e)
{
    apr_size_t clen, tlen, blen;

    memset(e, 0, sizeof(*e));
    if (len < HEADER_LEN || memcmp(buf, magic, sizeof(magic))) {
        return APR_EINVAL;
    }
    e->boot = get_be(buf + 4, 8);
    e->gen = (apr_uint32_t)get_be(buf + 12, 4);
    e->variant = (apr_uint32_t)get_be(buf + 16, 4);
    e->status = (int)get_be(buf + 20, 2);
    clen = (apr_size_t)get_be(buf + 22, 1);
    tlen = (apr_size_t)get_be(buf + 23, 2);
    blen = (apr_size_t)get_be(buf + 25, 4);
    if (blen > INGEST_CACHE_MAX_BODY || len != HEADER_LEN + clen + tlen + blen || e->status < 100
        || e->status > 999) {
        return APR_EINVAL;
    }
    e->ctype = apr_pstrmemdup(p, (const char *)buf + HEADER_LEN, clen);
    e->tenant = apr_pstrmemdup(p, (const char *)buf + HEADER_LEN + clen, tlen);
    e->body = (const char *)buf + HEADER_LEN + clen + tlen;
    e->body_len = blen;
    return APR_SUCCESS;
}

int ingest_cache_usable(const ingest_cache_entry_t *e, const char *tenant, apr_uint32_t variant,
                        apr_uint64_t boot, apr_uint32_t gen_now)
{
    if (!tenant || strcmp(e->tenant, tenant) || e->variant != variant) {
        return 0;
    }
    return e->boot != boot || e->gen == gen_now;
}
