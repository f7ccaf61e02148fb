#include <string.h>

#include <apr_strings.h>

#include "ingest_sse.h"

char *ingest_sse_event(apr_pool_t *p, apr_int64_t id, const char *event, const char *data)
{
    const char *head = apr_pstrcat(p, id >= 0 ? apr_psprintf(p, "id: %" APR_INT64_T_FMT "\n", id) : "",
                                   event ? apr_pstrcat(p, "event: ", event, "\n", NULL) : "", NULL);
    apr_size_t hlen = strlen(head), dlen = data ? strlen(data) : 0, lines = 1, i, k;
    char *out, *o;

    for (i = 0; i < dlen; ++i) {
        if (data[i] == '\n' || (data[i] == '\r' && (i + 1 >= dlen || data[i + 1] != '\n'))) {
            lines++;
        }
    }
    /* "data: " and "\n" per line, the blank line, the NUL */
    out = apr_palloc(p, hlen + dlen + lines * 7 + 2);
    memcpy(out, head, hlen);
    o = out + hlen;
    for (i = 0, k = 0; k < lines; ++k) {
        memcpy(o, "data: ", 6);
        o += 6;
        while (i < dlen && data[i] != '\n' && data[i] != '\r') {
            *o++ = data[i++];
        }
        if (i < dlen && data[i] == '\r') {
            i++;
        }
        if (i < dlen && data[i] == '\n') {
            i++;
        }
        *o++ = '\n';
    }
    *o++ = '\n';
    *o = '\0';
    return out;
}

apr_status_t ingest_sse_parse_id(const char *text, apr_int64_t *out)
{
    apr_uint64_t v = 0;
    size_t n;
    if (!text || !(n = strlen(text)) || n > 19 || strspn(text, "0123456789") != n) {
        return APR_EINVAL;
    }
    for (; *text; ++text) {
        v = v * 10 + (apr_uint64_t)(*text - '0');
    }
    if (v > (apr_uint64_t)APR_INT64_MAX) {
        return APR_EINVAL;
    }
    *out = (apr_int64_t)v;
    return APR_SUCCESS;
}
