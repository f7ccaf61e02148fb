#include <stdlib.h>
#include <string.h>

#include "ingest_copy.h"

/* "PGCOPY\n\377\r\n\0", then flags and the header extension's length */
static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";

static int grow(ingest_copy_t *b, apr_size_t need)
{
    apr_size_t cap;
    char *d;

    if (b->failed) {
        return 0;
    }
    if (need <= b->cap - b->len) {
        return 1;
    }
    cap = b->cap ? b->cap : 64 * 1024;
    while (cap - b->len < need) {
        cap *= 2;
    }
    if (!(d = realloc(b->data, cap))) {
        b->failed = 1;
        return 0;
    }
    b->data = d;
    b->cap = cap;
    return 1;
}

void ingest_copy_put(ingest_copy_t *b, const void *s, apr_size_t len)
{
    if (len && grow(b, len)) {
        memcpy(b->data + b->len, s, len);
        b->len += len;
    }
}

static void be(ingest_copy_t *b, apr_uint64_t v, int bytes)
{
    unsigned char out[8];
    int i;
    for (i = 0; i < bytes; i++) {
        out[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    }
    ingest_copy_put(b, out, (apr_size_t)bytes);
}

void ingest_copy_start(ingest_copy_t *b)
{
    b->len = 0;
    ingest_copy_put(b, header, sizeof(header));
}

void ingest_copy_tuple(ingest_copy_t *b, int nfields)
{
    be(b, (apr_uint64_t)nfields, 2);
}

void ingest_copy_uuid(ingest_copy_t *b, const unsigned char id[16])
{
    be(b, 16, 4);
    ingest_copy_put(b, id, 16);
}

void ingest_copy_int8(ingest_copy_t *b, apr_int64_t v)
{
    be(b, 8, 4);
    be(b, (apr_uint64_t)v, 8);
}

void ingest_copy_text(ingest_copy_t *b, const char *s, apr_size_t len)
{
    be(b, (apr_uint64_t)len, 4);
    ingest_copy_put(b, s, len);
}

apr_size_t ingest_copy_jsonb_open(ingest_copy_t *b)
{
    apr_size_t at = b->len;
    be(b, 0, 4); /* the length, set at close */
    be(b, 1, 1); /* jsonb's binary format version */
    return at;
}

void ingest_copy_jsonb_close(ingest_copy_t *b, apr_size_t opened)
{
    apr_size_t n;
    unsigned char *p;

    if (b->failed) {
        return;
    }
    n = b->len - opened - 4;
    p = (unsigned char *)b->data + opened;
    p[0] = (unsigned char)(n >> 24);
    p[1] = (unsigned char)(n >> 16);
    p[2] = (unsigned char)(n >> 8);
    p[3] = (unsigned char)n;
}

void ingest_copy_finish(ingest_copy_t *b)
{
    be(b, 0xFFFF, 2); /* a field count of -1 */
}

void ingest_copy_free(ingest_copy_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

static int hex(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

int ingest_copy_uuid_parse(const char *text, unsigned char id[16])
{
    int i = 0, hi, lo;
    const char *p = text;

    if (!text || strlen(text) != 36) {
        return 0;
    }
    while (i < 16) {
        if (p - text == 8 || p - text == 13 || p - text == 18 || p - text == 23) {
            if (*p++ != '-') {
                return 0;
            }
            continue;
        }
        if ((hi = hex(p[0])) < 0 || (lo = hex(p[1])) < 0) {
            return 0;
        }
        id[i++] = (unsigned char)(hi << 4 | lo);
        p += 2;
    }
    return 1;
}
